//! Group commit across submissions: requests that arrive while a commit
//! and its sync are under way share the next one, and each submitter hears
//! its own events' outcomes.

use std::sync::atomic::Ordering;

use curbside_protocol::SecretKey;
use curbside_protocol::TrustView as _;
use curbside_protocol::testkit::Federation;

use super::*;

/// Three events in a new store (stored before the test's own): a charter,
/// the attestation of a physician (returned) and its log's head.
fn a_store_with_a_physician() -> (Federation, tempfile::TempDir, Arc<Store>, SecretKey) {
    let mut fed = Federation::new();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), fed.view().genesis().clone()).unwrap());
    let charter = fed.charter(&fed.verifier().public(), &["GB"]);
    fed.accept(&charter);
    let dr = curbside_protocol::testkit::key("dr-group");
    let attestation = fed.attestation(&dr, "dr-group", &["cardiology"], "GB");
    fed.accept(&attestation);
    let head = fed.log(&attestation);
    let setup: Vec<Incoming> =
        [charter, attestation, head].into_iter().map(Incoming::when_made).collect();
    let now = fed.now();
    let outcomes = ingest(&store, &IngestConfig::default(), setup, now).unwrap().outcomes;
    assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
    (fed, dir, store, dr)
}

/// 32 single-event submissions at once, one of them with a broken
/// signature, while each sync takes 100 ms: far fewer syncs than
/// submissions, every answer durable and about its own event.
#[test]
fn submissions_that_arrive_together_share_a_sync_and_each_hears_its_own_outcome() {
    let (mut fed, _dir, store, dr) = a_store_with_a_physician();

    let mut events: Vec<SignedEvent> =
        (0..32).map(|i| fed.post(&dr, &format!("post {i}"))).collect();
    // One with its signature's last byte changed: refused, alone.
    let mut bytes = events[7].to_bytes();
    *bytes.last_mut().unwrap() ^= 1;
    events[7] = SignedEvent::decode(&bytes).unwrap();

    store.faults.slow_sync_ms.store(100, Ordering::SeqCst);
    let syncs = store.syncs();
    let (ingester, thread) =
        Ingester::builder(store.clone(), IngestConfig::default(), crate::now).start().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let answers: Vec<(EventId, Vec<Outcome>, u64)> = rt.block_on(async {
        let tasks: Vec<_> = events
            .iter()
            .map(|event| {
                let (ingester, store, event) = (ingester.clone(), store.clone(), event.clone());
                tokio::spawn(async move {
                    let id = event.id();
                    let incoming = vec![Incoming::when_made(event)];
                    let outcomes = ingester.submit_received(Source::Local, incoming).await.unwrap();
                    (id, outcomes, store.faults.durable_events.load(Ordering::SeqCst))
                })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        answers
    });
    drop(ingester);
    thread.join();

    let stored_before = 3;
    for (i, (id, outcomes, durable)) in answers.iter().enumerate() {
        assert_eq!(outcomes.len(), 1, "answer {i}: {outcomes:?}");
        let outcome = &outcomes[0];
        if i == 7 {
            let Outcome::Rejected { id: theirs, refusal: Refusal::Invalid(_) } = outcome else {
                panic!("the forged event: {outcome:?}")
            };
            assert_eq!(theirs, id);
            assert!(!store.events().contains(id).unwrap());
        } else {
            assert_eq!(outcome, &Outcome::Stored { id: *id }, "answer {i}");
            // Its commit was synced before it was answered.
            assert!(*durable > stored_before, "answer {i} came before any sync: {durable}");
            assert!(store.events().contains(id).unwrap());
        }
    }
    assert_eq!(store.counts().unwrap().events, stored_before + 31);
    let used = store.syncs() - syncs;
    assert!(used <= 8, "32 submissions at once took {used} syncs");
}

/// Gossip is answered once judged and committed, before the sync: a hop
/// does not hold up what it forwards for its own disk. What arrives
/// through the API is still answered only once durable, and the gossiped
/// event is durable once its group's sync ends.
#[test]
fn gossip_is_answered_before_its_sync_and_the_api_only_after_its_own() {
    let (mut fed, _dir, store, dr) = a_store_with_a_physician();
    let (gossiped, local) = (fed.post(&dr, "by gossip"), fed.post(&dr, "by the API"));
    let slow = Duration::from_millis(300);
    store.faults.slow_sync_ms.store(slow.as_millis() as u64, Ordering::SeqCst);
    let durable = || store.faults.durable_events.load(Ordering::SeqCst);
    let stored_before = 3;
    // Gossip is stamped with the ingester's clock: the federation's time.
    fn clock() -> Timestamp {
        Federation::new().now().plus_millis(60_000)
    }
    let (ingester, thread) =
        Ingester::builder(store.clone(), IngestConfig::default(), clock).start().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let asked = Instant::now();
        let peer = Holder::Peer(curbside_protocol::testkit::key("a peer").public());
        let outcomes = ingester.judge_gossip(peer, vec![gossiped.clone()]).await.unwrap();
        assert_eq!(outcomes, vec![Outcome::Stored { id: gossiped.id() }]);
        assert!(asked.elapsed() < slow, "gossip waited {:?} for the sync", asked.elapsed());
        assert_eq!(durable(), stored_before, "the gossiped event was synced before its answer");
        assert!(store.events().contains(&gossiped.id()).unwrap(), "committed when answered");

        let asked = Instant::now();
        let incoming = vec![Incoming::when_made(local.clone())];
        let outcomes = ingester.submit_received(Source::Local, incoming).await.unwrap();
        assert_eq!(outcomes, vec![Outcome::Stored { id: local.id() }]);
        assert!(asked.elapsed() >= slow, "answered after {:?}", asked.elapsed());
        assert_eq!(durable(), stored_before + 2, "both are durable when the API is answered");
    });
    drop(ingester);
    thread.join();
}
