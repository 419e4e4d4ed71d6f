//! The store, through the ingest path, against a testkit federation.

use curbside_protocol::testkit::{Federation, key};
use curbside_protocol::{Body, Cell, Genesis, SignedEvent, Timestamp, TrustView as _};

use super::*;
use crate::ingest::{Incoming, IngestConfig, Outcome, ingest};
use crate::store::{Holder, PendingLimits};

struct Node {
    _dir: tempfile::TempDir,
    store: Store,
}

fn node(fed: &Federation) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), fed.view().genesis().clone()).unwrap();
    Node { _dir: dir, store }
}

fn put(node: &Node, fed: &Federation, events: &[SignedEvent]) -> Vec<Outcome> {
    ingest(&node.store, &IngestConfig::default(), on_time(events), fed.now()).unwrap()
}

/// The federation's events, each received when it was made: its history.
fn on_time(events: &[SignedEvent]) -> Vec<Incoming> {
    events.iter().cloned().map(Incoming::when_made).collect()
}

/// Everything the federation's own view has accepted, in order: charters and attestations.
fn trust_events(fed: &mut Federation, doctors: &[&str]) -> Vec<SignedEvent> {
    let mut out = Vec::new();
    for name in doctors {
        let key = key(name);
        let att = fed.attestation(&key, name, &["cardiology"], "GB");
        fed.accept(&att);
        out.push(att);
    }
    out
}

fn setup() -> (Federation, Node, Vec<curbside_protocol::SecretKey>) {
    let mut fed = Federation::new();
    let n = node(&fed);
    // The verifier's charter is the first thing the federation accepted.
    let verifier = fed.verifier().public();
    let charter = fed.charter(&verifier, &["GB", "DEV"]);
    let names = ["dr-a", "dr-b", "dr-c", "dr-d", "dr-e", "dr-f"];
    let mut events = vec![charter.clone()];
    fed.accept(&charter);
    events.extend(trust_events(&mut fed, &names));
    let outcomes = put(&n, &fed, &events);
    assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
    let keys = names.iter().map(|n| key(n)).collect();
    (fed, n, keys)
}

#[test]
fn events_are_stored_once_with_their_indexes() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "Hyponatraemia");
    let reply = fed.comment(&drs[1], &post, "Check osmolality");
    let nested = fed.comment(&drs[0], &reply, "620 mOsm/kg");
    // Parent and replies in one batch: the batch view sees earlier events.
    let outcomes = put(&n, &fed, &[post.clone(), reply.clone(), nested.clone()]);
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Stored { .. })), "{outcomes:?}");
    let before = n.store.counts().unwrap().events;
    assert_eq!(
        put(&n, &fed, std::slice::from_ref(&post)),
        vec![Outcome::Duplicate { id: post.id() }]
    );
    assert_eq!(n.store.counts().unwrap().events, before, "a duplicate changes nothing");

    let feed = n.store.feed(&"general".parse().unwrap(), None, 50).unwrap();
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].id(), post.id());
    let thread = n.store.thread(&post.id(), None, 100).unwrap();
    assert!(!thread.more);
    let shape: Vec<(usize, _)> = thread.entries.iter().map(|e| (e.depth, e.event.id())).collect();
    assert_eq!(shape, vec![(0, post.id()), (1, reply.id()), (2, nested.id())]);
}

#[test]
fn feed_pages_follow_the_cursor_newest_first() {
    let (mut fed, n, drs) = setup();
    let posts: Vec<_> = (0..25).map(|i| fed.post(&drs[i % 6], &format!("post {i}"))).collect();
    put(&n, &fed, &posts);
    let hub = "general".parse().unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = n.store.feed(&hub, cursor, 10).unwrap();
        if page.is_empty() {
            break;
        }
        cursor = page.last().map(|e| (e.created_at(), e.id()));
        seen.extend(page.into_iter().map(|e| e.id()));
    }
    let expected: Vec<_> = posts.iter().rev().map(|p| p.id()).collect();
    assert_eq!(seen, expected);
}

/// A post and a branching discussion under it, stored in two commits:
/// `(depth, id)` depth first, each parent's replies oldest first.
fn discussion(
    fed: &mut Federation,
    n: &Node,
    drs: &[curbside_protocol::SecretKey],
) -> Vec<(usize, curbside_protocol::EventId)> {
    let post = fed.post(&drs[0], "Refractory hypertension");
    let a = fed.comment(&drs[1], &post, "Spironolactone next?");
    let b = fed.comment(&drs[2], &post, "Check adherence first");
    let c = fed.comment(&drs[3], &post, "Renal artery imaging?");
    let a1 = fed.comment(&drs[0], &a, "K is 5.1");
    let a2 = fed.comment(&drs[4], &a, "Amiloride then");
    let c1 = fed.comment(&drs[5], &c, "Duplex was normal");
    let a1x = fed.comment(&drs[1], &a1, "Then a low dose, and recheck");
    put(n, fed, &[post.clone(), a.clone(), b.clone(), c.clone()]);
    put(n, fed, &[a1.clone(), a2.clone(), c1.clone(), a1x.clone()]);
    [(0, &post), (1, &a), (2, &a1), (3, &a1x), (2, &a2), (1, &b), (1, &c), (2, &c1)]
        .into_iter()
        .map(|(depth, e)| (depth, e.id()))
        .collect()
}

/// Every page of `root`'s thread of `limit` entries, concatenated, and
/// whether each page but the last said more remained.
fn pages(
    n: &Node,
    root: &curbside_protocol::EventId,
    limit: usize,
) -> Vec<(usize, curbside_protocol::EventId)> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = n.store.thread(root, after.as_ref(), limit).unwrap();
        assert!(page.entries.len() <= limit, "a page holds at most its limit");
        all.extend(page.entries.iter().map(|e| (e.depth, e.event.id())));
        if !page.more {
            return all;
        }
        assert_eq!(page.entries.len(), limit, "only a full page leaves more");
        after = page.entries.last().map(|e| e.event.id());
    }
}

#[test]
fn thread_pages_concatenated_are_the_whole_thread_with_depths() {
    let (mut fed, n, drs) = setup();
    let expected = discussion(&mut fed, &n, &drs);
    let whole = n.store.thread(&expected[0].1, None, 100).unwrap();
    assert!(!whole.more);
    let shape: Vec<_> = whole.entries.iter().map(|e| (e.depth, e.event.id())).collect();
    assert_eq!(shape, expected);
    for limit in 1..=expected.len() + 1 {
        assert_eq!(pages(&n, &expected[0].1, limit), expected, "pages of {limit}");
    }
    // A reply's own thread is its subtree, its depths counted from it.
    let (a, a_subtree) = (expected[1].1, &expected[1..5]);
    let from_a: Vec<_> = a_subtree.iter().map(|(d, id)| (d - 1, *id)).collect();
    for limit in 1..=4 {
        assert_eq!(pages(&n, &a, limit), from_a, "pages of {limit} from a reply");
    }
}

#[test]
fn a_reply_after_a_restart_finds_its_thread_from_its_parents_record() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "Hyperkalaemia on trimethoprim");
    let reply = fed.comment(&drs[1], &post, "Stop it");
    let nested = fed.comment(&drs[2], &reply, "K back to 4.8");
    put(&n, &fed, &[post.clone(), reply.clone(), nested.clone()]);
    let (dir, genesis) = (n._dir, n.store.genesis().clone());
    drop(n.store);
    // Reopened, the writer remembers no roots: the parent's record names it.
    let n = Node { store: Store::open(dir.path(), genesis).unwrap(), _dir: dir };
    let late = fed.comment(&drs[3], &nested, "Recheck in a week");
    assert!(put(&n, &fed, std::slice::from_ref(&late)).iter().all(Outcome::is_stored));
    let page = n.store.thread(&post.id(), None, 100).unwrap();
    let shape: Vec<_> = page.entries.iter().map(|e| (e.depth, e.event.id())).collect();
    let ids = [&post, &reply, &nested, &late].map(|e| e.id());
    assert_eq!(shape, vec![(0, ids[0]), (1, ids[1]), (2, ids[2]), (3, ids[3])]);
    assert!(n.store.check().unwrap().is_sound());
}

#[test]
fn a_thread_cursor_outside_the_thread_is_refused_by_name() {
    let (mut fed, n, drs) = setup();
    let expected = discussion(&mut fed, &n, &drs);
    let root = expected[0].1;
    let other = fed.post(&drs[1], "Another thread");
    let elsewhere = fed.comment(&drs[2], &other, "Unrelated");
    put(&n, &fed, &[other.clone(), elsewhere.clone()]);
    let missing = fed.post(&drs[0], "Never stored").id();

    let err = n.store.thread(&root, Some(&missing), 10).unwrap_err();
    assert!(matches!(err, ThreadError::CursorNotStored(id) if id == missing), "{err}");
    for outside in [other.id(), elsewhere.id()] {
        let err = n.store.thread(&root, Some(&outside), 10).unwrap_err();
        assert!(
            matches!(err, ThreadError::CursorNotInThread { cursor, .. } if cursor == outside),
            "{err}"
        );
    }
    // The subtree of `a` does not hold `b`, though both are in the post's thread.
    let (a, b) = (expected[1].1, expected[5].1);
    let err = n.store.thread(&a, Some(&b), 10).unwrap_err();
    assert!(matches!(err, ThreadError::CursorNotInThread { .. }), "{err}");
    let err = n.store.thread(&missing, None, 10).unwrap_err();
    assert!(matches!(err, ThreadError::NoRoot(id) if id == missing), "{err}");
    let err = n.store.thread(&missing, Some(&root), 10).unwrap_err();
    assert!(matches!(err, ThreadError::NoRoot(_)), "{err}");
}

#[test]
fn tallies_keep_each_voters_latest_ballot() {
    let (mut fed, n, drs) = setup();
    // Three options: a row with one small cell beside a large one would
    // have both suppressed (complementary suppression).
    let poll = fed.poll(&drs[0], &["a", "b", "c"], &[]);
    put(&n, &fed, std::slice::from_ref(&poll));
    let mut votes = Vec::new();
    for dr in &drs {
        votes.push(fed.vote(dr, &poll, 0));
    }
    // dr-a changes their mind.
    votes.push(fed.vote(&drs[0], &poll, 1));
    // Split across two commits, to exercise stored and in-batch ballots.
    put(&n, &fed, &votes[..3]);
    put(&n, &fed, &votes[3..]);
    let (_, tally) = n.store.tally(&poll.id()).unwrap().unwrap();
    assert_eq!(tally.counts, vec![5, 1, 0]);
    assert_eq!(tally.voters, 6);
    assert_eq!(tally.discarded, 1);
    let row = &tally.by_specialty.rows[0];
    assert_eq!(row.group, "cardiology");
    assert_eq!(row.cells, vec![Cell::Count(5), Cell::Suppressed, Cell::Suppressed]);

    // The running counts equal the pure tally over every ballot.
    let Body::Poll(p) = poll.body() else { unreachable!() };
    let ballots = votes.iter().map(|v| {
        let Body::Vote(vote) = v.body() else { unreachable!() };
        curbside_protocol::Ballot {
            voter: *v.author(),
            vote: v.id(),
            option: vote.option,
            cast_at: v.created_at(),
            specialties: vec!["cardiology".parse().unwrap()],
            jurisdiction: "GB".parse().unwrap(),
        }
    });
    assert_eq!(tally, curbside_protocol::tally::tally(p, ballots, 5));
}

#[test]
fn out_of_order_events_wait_and_are_released() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "parent");
    let reply = fed.comment(&drs[1], &post, "child");
    let newcomer = key("dr-new");
    let att = fed.attestation(&newcomer, "dr-new", &["oncology"], "GB");
    fed.accept(&att);
    let early = fed.post(&newcomer, "before my attestation arrived");

    let outcomes = put(&n, &fed, &[reply.clone(), early.clone()]);
    assert!(matches!(outcomes[0], Outcome::Pending { .. }), "{outcomes:?}");
    assert!(matches!(outcomes[1], Outcome::Pending { .. }), "{outcomes:?}");
    assert_eq!(n.store.counts().unwrap().pending, 2);
    // Sent again while waiting: still pending, held once (regression: this
    // was reported as `pending_full`).
    let again = put(&n, &fed, std::slice::from_ref(&reply));
    assert!(matches!(again[0], Outcome::Pending { .. }), "{again:?}");
    assert_eq!(n.store.counts().unwrap().pending, 2);

    put(&n, &fed, &[post, att]);
    assert!(n.store.contains(&reply.id()).unwrap(), "the comment followed its parent in");
    assert!(
        n.store.contains(&early.id()).unwrap(),
        "the post followed its author's attestation in"
    );
    assert_eq!(n.store.counts().unwrap().pending, 0);
}

/// `events` sent by `holder`, each received when it was made.
fn from(holder: &Holder, events: &[SignedEvent]) -> Vec<Incoming> {
    on_time(events).into_iter().map(|i| i.from(holder.clone())).collect()
}

fn code(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Rejected { refusal, .. } => refusal.code().as_str(),
        Outcome::Pending { .. } => "pending",
        Outcome::Stored { .. } => "stored",
        Outcome::Duplicate { .. } => "duplicate",
    }
}

#[test]
fn pending_is_bounded_in_count_and_age() {
    let (mut fed, n, drs) = setup();
    let parents: Vec<_> = (0..3).map(|i| fed.post(&drs[0], &format!("p{i}"))).collect();
    let orphans: Vec<_> = parents.iter().map(|p| fed.comment(&drs[1], p, "orphan")).collect();
    let pending = PendingLimits { max_events: 2, ..PendingLimits::default() };
    let config = IngestConfig { pending, ..IngestConfig::default() };
    let outcomes = ingest(&n.store, &config, on_time(&orphans), fed.now()).unwrap();
    assert!(code(&outcomes[2]) == "pending_full", "{outcomes:?}");
    assert_eq!(n.store.counts().unwrap().pending, 2);
    let dropped = n.store.prune_pending(fed.now().plus_millis(1), fed.now()).unwrap();
    assert_eq!(dropped, 2);
    assert_eq!(n.store.counts().unwrap().pending, 0);
    assert_eq!(n.store.pending_bytes(), 0);
}

#[test]
fn the_pending_set_is_budgeted_in_bytes_per_sender_and_against_the_disk() {
    let (mut fed, n, drs) = setup();
    let parents: Vec<_> = (0..6).map(|i| fed.post(&drs[0], &format!("p{i}"))).collect();
    let orphans: Vec<_> = parents.iter().map(|p| fed.comment(&drs[1], p, "orphan")).collect();
    let size = orphans[0].encoded_len() as u64 + 64;
    let one = Holder::Physician(drs[1].public());
    let other = Holder::Peer(key("a-peer").public());
    // Each sender may have two held; the set as a whole, room for four.
    let pending = PendingLimits {
        per_holder_events: 2,
        max_bytes: 4 * size + size / 2,
        min_free_disk: 0,
        ..PendingLimits::default()
    };
    let config = IngestConfig { pending, ..IngestConfig::default() };
    let codes = |outcomes: Vec<Outcome>| outcomes.iter().map(code).collect::<Vec<_>>();
    let first = ingest(&n.store, &config, from(&one, &orphans[..3]), fed.now()).unwrap();
    assert_eq!(codes(first), ["pending", "pending", "pending_quota"]);
    let second = ingest(&n.store, &config, from(&other, &orphans[2..5]), fed.now()).unwrap();
    assert_eq!(codes(second), ["pending", "pending", "pending_full"], "the bytes in all");
    // The operator has no share of its own, but the whole set still bounds it.
    let third = ingest(&n.store, &config, from(&Holder::Operator, &orphans[5..]), fed.now());
    assert_eq!(codes(third.unwrap()), ["pending_full"]);
    // Released events give their room back.
    assert!(put(&n, &fed, &parents[..1]).iter().all(Outcome::is_stored));
    assert_eq!(n.store.counts().unwrap().pending, 3);
    let again = ingest(&n.store, &config, from(&one, &orphans[5..]), fed.now()).unwrap();
    assert_eq!(codes(again), ["pending"]);
    // And the budget survives a reopen (it is loaded from the records).
    let bytes = n.store.pending_bytes();
    let (dir, genesis) = (n._dir, n.store.genesis().clone());
    drop(n.store);
    let store = Store::open(dir.path(), genesis).unwrap();
    assert_eq!(store.pending_bytes(), bytes);
    // Below the disk reserve nothing new is held.
    let reserve = PendingLimits { min_free_disk: u64::MAX, ..PendingLimits::default() };
    let config = IngestConfig { pending: reserve, ..IngestConfig::default() };
    let late = fed.comment(&drs[2], &parents[5], "too late");
    let outcomes = ingest(&store, &config, from(&other, &[late]), fed.now()).unwrap();
    assert_eq!(codes(outcomes), ["low_disk"]);
    assert!(store.check().unwrap().is_sound());
}

#[test]
fn unknown_authors_from_strangers_and_unknown_hubs_from_the_api_are_refused_not_held() {
    let (mut fed, n, drs) = setup();
    let stranger = Holder::Stranger("192.0.2.7".parse().unwrap());
    let nobody = key("never-attested");
    let post = fed.post(&nobody, "who am I");
    let config = IngestConfig::default();
    let outcomes =
        ingest(&n.store, &config, from(&stranger, std::slice::from_ref(&post)), fed.now()).unwrap();
    assert_eq!(code(&outcomes[0]), "unknown_author");
    // From a peer, the same event waits: its author's attestation may be on its way.
    let peer = Holder::Peer(key("a-peer").public());
    let outcomes =
        ingest(&n.store, &config, from(&peer, std::slice::from_ref(&post)), fed.now()).unwrap();
    assert_eq!(code(&outcomes[0]), "pending");
    // A post to a hub this node does not know, from the API: refused.
    let typo = fed.sign(
        &drs[0],
        Body::Post(curbside_protocol::Post {
            hub: "cardiolgy".parse().unwrap(),
            title: "typo".into(),
            body: "b".into(),
        }),
    );
    let physician = Holder::Physician(drs[0].public());
    let outcomes =
        ingest(&n.store, &config, from(&physician, std::slice::from_ref(&typo)), fed.now())
            .unwrap();
    assert_eq!(code(&outcomes[0]), "unknown_hub");
    assert_eq!(n.store.counts().unwrap().pending, 1, "only the peer's event is held");
}

#[test]
fn a_physician_sees_what_waits_and_what_expired() {
    let (mut fed, n, drs) = setup();
    let parent = fed.post(&drs[0], "never arrives");
    let reply = fed.comment(&drs[1], &parent, "waits");
    let physician = Holder::Physician(drs[1].public());
    let config = IngestConfig::default();
    let outcomes =
        ingest(&n.store, &config, from(&physician, std::slice::from_ref(&reply)), fed.now())
            .unwrap();
    assert_eq!(code(&outcomes[0]), "pending");
    let waiting = n.store.waiting_by(&drs[1].public()).unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].id, reply.id());
    assert_eq!(waiting[0].waiting_for, format!("event {}", parent.id()));
    assert!(n.store.waiting_by(&drs[0].public()).unwrap().is_empty(), "by author");
    let expired_at = fed.now().plus_millis(16 * 60 * 1000);
    assert_eq!(n.store.prune_pending(fed.now().plus_millis(1), expired_at).unwrap(), 1);
    assert!(n.store.waiting_by(&drs[1].public()).unwrap().is_empty());
    let expired = n.store.expired_by(&drs[1].public()).unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!((expired[0].id, expired[0].expired_at), (reply.id(), expired_at));
    assert_eq!(expired[0].kind, curbside_protocol::Kind::Comment);
    assert!(n.store.check().unwrap().is_sound());
    // Forgotten after a week.
    let week_on = expired_at.plus_days(8);
    n.store.prune_pending(week_on, week_on).unwrap();
    assert!(n.store.expired_by(&drs[1].public()).unwrap().is_empty());
}

#[test]
fn bad_events_are_refused_with_their_code_and_nothing_is_stored() {
    let (mut fed, n, drs) = setup();
    let good = fed.post(&drs[0], "fine");
    let mut tampered = fed.post(&drs[0], "tampered").event().clone();
    tampered.created_at = Timestamp::from_millis(tampered.created_at.as_millis() + 1);
    let tampered = SignedEvent::from_parts(tampered, *good.signature());
    let identifying = fed.sign(
        &drs[0],
        Body::Post(curbside_protocol::Post {
            hub: "general".parse().unwrap(),
            title: "t".into(),
            body: "call 020 7946 0958".into(),
        }),
    );
    let outcomes = put(&n, &fed, &[good.clone(), tampered, identifying]);
    assert!(matches!(outcomes[0], Outcome::Stored { .. }));
    assert!(code(&outcomes[1]) == "bad_signature");
    assert!(code(&outcomes[2]) == "identifying_text");
    assert_eq!(n.store.feed(&"general".parse().unwrap(), None, 10).unwrap().len(), 1);
}

#[test]
fn reopening_keeps_everything_and_refuses_another_network() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "durable");
    put(&n, &fed, std::slice::from_ref(&post));
    let dir = n._dir;
    let genesis = n.store.genesis().clone();
    let counts = n.store.counts().unwrap();
    drop(n.store);
    let store = Store::open(dir.path(), genesis.clone()).unwrap();
    assert_eq!(store.get(&post.id()).unwrap().map(|e| e.id()), Some(post.id()));
    assert_eq!(store.counts().unwrap().events, counts.events);
    drop(store);
    let other = Genesis::new("Other", genesis.roots.clone(), Timestamp::from_millis(1));
    assert!(matches!(Store::open(dir.path(), other), Err(StoreError::WrongNetwork { .. })));
}

#[test]
fn revocations_and_attestation_status() {
    let (mut fed, n, drs) = setup();
    let status = n.store.attestation_status(&drs[0].public(), fed.now()).unwrap();
    assert!(status.attested);
    let att_id = status.attestations[0].0.id;
    let verifier = fed.verifier().clone();
    let at = fed.tick();
    let revocation = fed.sign_at(
        &verifier,
        at,
        Body::Revocation(curbside_protocol::Revocation {
            target: att_id,
            reason: "licence suspended".into(),
            effective_at: at,
        }),
    );
    fed.accept(&revocation);
    put(&n, &fed, &[revocation]);
    assert!(!n.store.attestation_status(&drs[0].public(), fed.now()).unwrap().attested);
    let post = fed.post(&drs[0], "after revocation");
    let outcome = put(&n, &fed, &[post]);
    assert!(code(&outcome[0]) == "attestation_revoked");
}

/// The trust records and id filter in memory equal a fresh load from disk.
fn assert_memory_is_disk(store: &Store) {
    let (memory, disk) = store.memory_and_disk().unwrap();
    assert_eq!(memory, disk, "memory and disk disagree");
}

fn verified(
    store: &Store,
    fed: &Federation,
    event: &SignedEvent,
) -> curbside_protocol::VerifiedEvent {
    let arrival = curbside_protocol::Arrival::live(fed.now());
    curbside_protocol::validate_owned(event.clone(), &StoreView::new(store), arrival).unwrap()
}

#[test]
fn memory_equals_disk_after_each_kind_of_event_and_after_reopening() {
    let (mut fed, n, drs) = setup();
    let poll = fed.poll(&drs[0], &["a", "b"], &[]);
    let vote = fed.vote(&drs[1], &poll, 1);
    let post = fed.post(&drs[2], "a post");
    let status = n.store.attestation_status(&drs[3].public(), fed.now()).unwrap();
    let verifier = fed.verifier().clone();
    let at = fed.tick();
    let revocation = fed.sign_at(
        &verifier,
        at,
        Body::Revocation(curbside_protocol::Revocation {
            target: status.attestations[0].0.id,
            reason: "moved abroad".into(),
            effective_at: at,
        }),
    );
    fed.accept(&revocation);
    let outcomes = put(&n, &fed, &[poll, vote, post, revocation]);
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Stored { .. })), "{outcomes:?}");
    assert_memory_is_disk(&n.store);
    let (memory, _) = n.store.memory_and_disk().unwrap();
    assert_eq!(memory.0.polls.len(), 1);
    assert_eq!(memory.0.revocations.len(), 1);
    assert_eq!(memory.1 as u64, n.store.counts().unwrap().events);

    let dir = n._dir;
    let genesis = n.store.genesis().clone();
    drop(n.store);
    let store = Store::open(dir.path(), genesis).unwrap();
    assert_eq!(store.memory_and_disk().unwrap().0, memory, "reopening loads the same memory");
}

#[test]
fn a_failed_commit_leaves_neither_disk_nor_memory_changed() {
    let (mut fed, n, _) = setup();
    let newcomer = key("dr-late");
    let att = fed.attestation(&newcomer, "dr-late", &["oncology"], "GB");
    fed.accept(&att);
    let before = n.store.counts().unwrap();
    n.store.faults.apply.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(
        ingest(&n.store, &IngestConfig::default(), on_time(std::slice::from_ref(&att)), fed.now())
            .is_err()
    );

    assert!(!n.store.contains(&att.id()).unwrap(), "nothing reached sled");
    assert!(StoreView::new(&n.store).attestations(&newcomer.public()).is_empty());
    assert_eq!(n.store.counts().unwrap().events, before.events);
    assert_memory_is_disk(&n.store);
    // Until reopened, the store takes no more writes.
    assert!(matches!(n.store.commit(&[]), Err(StoreError::Failed)));
    assert!(matches!(n.store.flush(), Err(StoreError::Failed)));

    let dir = n._dir;
    let genesis = n.store.genesis().clone();
    drop(n.store);
    let store = Store::open(dir.path(), genesis).unwrap();
    assert!(!store.contains(&att.id()).unwrap());
    let outcomes = ingest(&store, &IngestConfig::default(), on_time(&[att]), fed.now()).unwrap();
    assert!(matches!(outcomes[0], Outcome::Stored { .. }), "{outcomes:?}");
    assert_memory_is_disk(&store);
}

#[test]
fn validation_sees_a_commit_only_once_its_flush_succeeded() {
    let (mut fed, n, _) = setup();
    let newcomer = key("dr-flush");
    let att = fed.attestation(&newcomer, "dr-flush", &["oncology"], "GB");
    fed.accept(&att);
    let v = verified(&n.store, &fed, &att);
    n.store.commit(std::slice::from_ref(&v)).unwrap();
    assert!(n.store.contains(&att.id()).unwrap(), "committed");
    assert!(
        StoreView::new(&n.store).attestations(&newcomer.public()).is_empty(),
        "not durable yet, so not in memory"
    );
    n.store.faults.flush.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(n.store.flush().is_err());
    assert!(
        StoreView::new(&n.store).attestations(&newcomer.public()).is_empty(),
        "a failed flush publishes nothing"
    );
    assert!(matches!(n.store.commit(&[]), Err(StoreError::Failed)));

    // Reopened, the memory is what the disk holds, whatever that is.
    let dir = n._dir;
    let genesis = n.store.genesis().clone();
    drop(n.store);
    let store = Store::open(dir.path(), genesis).unwrap();
    assert_memory_is_disk(&store);
    let in_memory = !StoreView::new(&store).attestations(&newcomer.public()).is_empty();
    assert_eq!(in_memory, store.contains(&att.id()).unwrap());
}

#[test]
fn committing_the_same_events_twice_before_a_flush_changes_nothing() {
    let (mut fed, n, drs) = setup();
    // Three options: a row with one small cell beside a large one would
    // have both suppressed (complementary suppression).
    let poll = fed.poll(&drs[0], &["a", "b", "c"], &[]);
    put(&n, &fed, std::slice::from_ref(&poll));
    let vote = fed.vote(&drs[1], &poll, 0);
    let post = fed.post(&drs[1], "twice");
    let events = [verified(&n.store, &fed, &vote), verified(&n.store, &fed, &post)];
    let first = n.store.commit(&events).unwrap();
    let second = n.store.commit(&events).unwrap();
    n.store.flush().unwrap();
    assert_eq!(first.stored.len(), 2);
    assert!(second.stored.is_empty(), "{:?}", second.stored);
    let (_, tally) = n.store.tally(&poll.id()).unwrap().unwrap();
    assert_eq!((tally.voters, tally.discarded), (1, 0));
    let timeline: Vec<_> = n.store.timeline(Timestamp::from_millis(0)).collect();
    assert_eq!(timeline.len() as u64, n.store.counts().unwrap().events);
}

#[test]
fn timeline_and_replies_come_back_in_time_order_across_commits() {
    let (mut fed, n, drs) = setup();
    let root = fed.post(&drs[0], "root");
    let replies: Vec<_> =
        (0..6).map(|i| fed.comment(&drs[i % 6], &root, &format!("r{i}"))).collect();
    put(&n, &fed, std::slice::from_ref(&root));
    // Later replies first, one commit each, then the earlier ones together.
    put(&n, &fed, &replies[5..]);
    put(&n, &fed, &replies[3..5]);
    put(&n, &fed, &replies[..3]);
    let thread = n.store.thread(&root.id(), None, 100).unwrap();
    let ids: Vec<_> = thread.entries.iter().skip(1).map(|e| e.event.id()).collect();
    assert_eq!(ids, replies.iter().map(SignedEvent::id).collect::<Vec<_>>());
    let timeline: Vec<_> =
        n.store.timeline(Timestamp::from_millis(0)).map(Result::unwrap).collect();
    assert!(timeline.windows(2).all(|w| w[0] < w[1]), "sorted");
    assert_eq!(timeline.len() as u64, n.store.counts().unwrap().events);
    let from = replies[3].created_at();
    assert_eq!(n.store.timeline(from).count(), 3, "from a time on");
}

#[test]
fn a_store_of_the_first_layout_is_refused_with_its_version() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        db.open_tree("meta").unwrap().insert(META_SCHEMA, &1u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let fed = Federation::new();
    let err = Store::open(dir.path(), fed.view().genesis().clone()).unwrap_err();
    assert!(matches!(err, StoreError::Schema { found: 1, expected: SCHEMA_VERSION }), "{err}");
}

#[test]
fn a_store_of_layout_2_is_refused_with_its_version() {
    let (_fed, n, _drs) = setup();
    let (dir, genesis) = (n._dir, n.store.genesis().clone());
    // Layout 2's feed entries held no copy of their events: read as 3
    // they would not decode, so the version alone must refuse the store.
    n.store.tree.insert(meta(META_SCHEMA), &2u32.to_be_bytes()).unwrap();
    n.store.flush().unwrap();
    drop(n.store);
    let err = Store::open(dir.path(), genesis).unwrap_err();
    assert!(matches!(err, StoreError::Schema { found: 2, expected: SCHEMA_VERSION }), "{err}");
    assert!(err.to_string().contains("move the store directory aside"), "says what to do: {err}");
}

/// Rewrites every record schema 4 changed as schema 3 wrote it.
fn downgrade_to_layout_3(tree: &sled::Tree) {
    for space in [Space::Events, Space::Feed] {
        for item in tree.scan_prefix(space.all()) {
            let (key, value) = item.unwrap();
            let (stored, _): (StoredEvent, _) = super::split_record(&value).unwrap();
            tree.insert(key, encode(&stored)).unwrap();
        }
    }
    for item in tree.scan_prefix(Space::Attestations.all()) {
        let (key, value) = item.unwrap();
        let record: curbside_protocol::AttestationRecord =
            decode(Space::Attestations, &value).unwrap();
        tree.insert(key, encode(&migrate::AttestationRecordV3::from(record))).unwrap();
    }
    for item in tree.scan_prefix(Space::Pending.all()) {
        let (key, value) = item.unwrap();
        let record: pending::PendingRecord = decode(Space::Pending, &value).unwrap();
        tree.insert(key, encode(&pending::PendingRecordV3::from(record))).unwrap();
    }
    tree.insert(meta(META_SCHEMA), &3u32.to_be_bytes()).unwrap();
}

#[test]
fn a_store_of_layout_3_is_migrated_and_keeps_everything() {
    let (mut fed, n, drs) = setup();
    let parent = fed.post(&drs[0], "a parent that arrives later");
    let orphan = fed.comment(&drs[1], &parent, "waits for its parent");
    assert!(matches!(put(&n, &fed, std::slice::from_ref(&orphan))[0], Outcome::Pending { .. }));
    let before = n.store.counts().unwrap();
    let ids: Vec<EventId> =
        n.store.timeline(Timestamp::from_millis(0)).map(|r| r.unwrap().1).collect();
    let (dir, genesis) = (n._dir, n.store.genesis().clone());
    downgrade_to_layout_3(&n.store.tree);
    n.store.db.flush().unwrap();
    drop(n.store);

    let store = Store::open(dir.path(), genesis.clone()).unwrap();
    let schema = store.tree.get(meta(META_SCHEMA)).unwrap().unwrap();
    assert_eq!(schema.as_ref(), SCHEMA_VERSION.to_be_bytes());
    let report = store.check().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!(store.counts().unwrap().events, before.events);
    assert_eq!(store.counts().unwrap().pending, 1);
    for id in &ids {
        let event = store.get(id).unwrap().expect("every event is still there");
        assert_eq!(event.received_at(), None, "stored before receipts were kept");
    }
    for list in read(&store.trust).attestations.values() {
        assert!(list.iter().all(|a| a.received_at.is_none()));
    }
    assert_memory_is_disk(&store);
    // It takes new events, with receipts, and releases what was waiting.
    let outcomes =
        ingest(&store, &IngestConfig::default(), on_time(std::slice::from_ref(&parent)), fed.now())
            .unwrap();
    assert!(matches!(outcomes[0], Outcome::Stored { .. }), "{outcomes:?}");
    assert!(store.contains(&orphan.id()).unwrap(), "the held reply was released and stored");
    assert_eq!(store.get(&parent.id()).unwrap().unwrap().received_at(), Some(parent.created_at()));
    assert!(store.check().unwrap().is_sound());
    // Reopened, it is schema 4 and opens without migrating again.
    drop(store);
    let store = Store::open(dir.path(), genesis).unwrap();
    assert!(store.check().unwrap().is_sound());
}

#[test]
fn a_store_in_use_is_refused_as_busy() {
    let (_fed, n, _drs) = setup();
    let genesis = n.store.genesis().clone();
    match Store::open(n._dir.path(), genesis) {
        Err(StoreError::Busy(dir)) => assert!(dir.contains(n._dir.path().to_str().unwrap())),
        Err(other) => panic!("refused otherwise: {other}"),
        Ok(_) => panic!("a second open must fail"),
    }
}

#[test]
fn replies_ahead_of_their_parents_in_one_batch_are_stored() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "Hypokalaemia");
    let reply = fed.comment(&drs[1], &post, "Check magnesium");
    let nested = fed.comment(&drs[0], &reply, "0.5 mmol/L");
    // The deepest first: each waits for the next one in the same batch.
    let outcomes = put(&n, &fed, &[nested.clone(), reply.clone(), post.clone()]);
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Stored { .. })), "{outcomes:?}");
    for e in [&post, &reply, &nested] {
        assert!(n.store.get(&e.id()).unwrap().is_some());
    }
    assert_eq!(n.store.counts().unwrap().pending, 0, "nothing is left waiting");
}

/// A store holding every kind of index entry: a thread, a poll with a
/// replaced vote, a revocation, and the verifier's own audit log of one
/// attestation with its head (logged, then published).
fn checked_store() -> (Federation, Node, Vec<curbside_protocol::SecretKey>, SignedEvent) {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "Hyponatraemia");
    let reply = fed.comment(&drs[1], &post, "Check osmolality");
    let poll = fed.poll(&drs[0], &["a", "b"], &[]);
    let first = fed.vote(&drs[1], &poll, 0);
    let second = fed.vote(&drs[1], &poll, 1);
    let other = fed.vote(&drs[2], &poll, 0);
    let status = n.store.attestation_status(&drs[3].public(), fed.now()).unwrap();
    let verifier = fed.verifier().clone();
    let at = fed.tick();
    let revocation = fed.sign_at(
        &verifier,
        at,
        Body::Revocation(curbside_protocol::Revocation {
            target: status.attestations[0].0.id,
            reason: "moved abroad".into(),
            effective_at: at,
        }),
    );
    fed.accept(&revocation);
    let events = [post.clone(), reply, poll, first, second, other, revocation.clone()];
    let outcomes = put(&n, &fed, &events);
    assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");

    // The verifier logs its revocation and signs the head over it.
    let (size, root) = n.store.log_extended_root(&verifier.public(), &[revocation.id()]);
    let head = fed.sign(&verifier, Body::TreeHead(curbside_protocol::TreeHead { size, root }));
    let checked = audit::CheckedHead { id: head.id(), size, root, created_at: head.created_at() };
    let wire = head.to_bytes();
    let own = audit::OwnRecords { entries: &[revocation.to_bytes()], head: &wire };
    let at = head.created_at();
    n.store.log_append(&verifier.public(), 0, &[revocation.id()], checked, at, Some(own)).unwrap();
    n.store.flush().unwrap();
    (fed, n, drs, head)
}

#[test]
fn a_store_with_every_kind_of_index_passes_its_check() {
    let (fed, n, _, head) = checked_store();
    let report = n.store.check().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!(report.events, n.store.counts().unwrap().events);
    assert_eq!(report.unpublished_own, 1, "the head is logged but not yet published");
    let log = &report.logs[0];
    assert_eq!((log.leaves, log.head_size, log.own, log.forked), (1, Some(1), true, false));

    let outcomes = put(&n, &fed, &[head]);
    assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
    let report = n.store.check().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!(report.unpublished_own, 0);
    assert!(report.index_entries > report.events, "every index was compared");
}

#[test]
fn the_check_names_each_kind_of_damage() {
    let codes = |store: &Store| -> Vec<&'static str> {
        let report = store.check().unwrap();
        assert_eq!(report.problem_count as usize, report.problems.len());
        report.problems.iter().map(|p| p.code).collect()
    };
    let (_, n, _, _) = checked_store();
    let tree = &n.store.tree;
    let n_key = |space: Space| tree.scan_prefix(space.all()).next().unwrap().unwrap();

    // A feed entry lost.
    let (feed_key, feed_value) = n_key(Space::Feed);
    tree.remove(&feed_key).unwrap();
    assert_eq!(codes(&n.store), vec!["missing_index_entry"]);
    // A feed entry whose copy of the event is not the event's record.
    let mut changed = feed_value.to_vec();
    *changed.last_mut().unwrap() ^= 1;
    tree.insert(&feed_key, changed).unwrap();
    assert_eq!(codes(&n.store), vec!["index_value_mismatch"]);
    tree.insert(&feed_key, feed_value).unwrap();

    // A comment's thread entry lost, then a thread record for a root that has none.
    let (thread_key, thread_value) = n_key(Space::Threads);
    tree.remove(&thread_key).unwrap();
    let found = codes(&n.store);
    assert!(!found.is_empty() && found.iter().all(|c| *c == "missing_index_entry"), "{found:?}");
    let mut elsewhere = thread_key.to_vec();
    elsewhere[1] ^= 1;
    tree.insert(&elsewhere, thread_value.clone()).unwrap();
    let found = codes(&n.store);
    assert!(!found.is_empty() && found.iter().all(|c| *c == "dangling_index_entry"), "{found:?}");
    tree.remove(&elsewhere).unwrap();
    tree.insert(&thread_key, thread_value.clone()).unwrap();
    // A comment's record naming another thread than its ancestors lead to.
    let comment = EventId::from_bytes(thread_value[8..40].try_into().unwrap());
    let comment_key = Space::Events.key(&[comment.as_bytes()]);
    let record = tree.get(&comment_key).unwrap().unwrap();
    let (mut wrong, received_at): (StoredEvent, _) = super::split_record(&record).unwrap();
    wrong.thread = Some(EventId::from_bytes([5; 32]));
    tree.insert(&comment_key, super::event_record(&wrong, received_at)).unwrap();
    assert_eq!(codes(&n.store), vec!["index_value_mismatch"]);
    tree.insert(&comment_key, record).unwrap();

    // The counter off by one.
    let events = keys::u64_value(tree.get(meta(META_EVENTS)).unwrap());
    tree.insert(meta(META_EVENTS), &(events + 1).to_be_bytes()).unwrap();
    assert_eq!(codes(&n.store), vec!["count_mismatch"]);
    tree.insert(meta(META_EVENTS), &events.to_be_bytes()).unwrap();

    // A tally that forgot a vote.
    let (tally_key, tally) = n_key(Space::Tallies);
    let poll: Vec<u8> = tally_key[1..].to_vec();
    let mut counts = curbside_protocol::Counts::new(2);
    counts.add(&curbside_protocol::Ballot {
        voter: key("dr-z").public(),
        vote: EventId::from_bytes([9; 32]),
        option: 0,
        cast_at: Timestamp::from_millis(1),
        specialties: vec![],
        jurisdiction: "GB".parse().unwrap(),
    });
    tree.insert(&tally_key, encode(&counts)).unwrap();
    assert_eq!(codes(&n.store), vec!["tally_mismatch"], "poll {poll:?}");
    tree.insert(&tally_key, tally).unwrap();

    // A leaf of the audit log changed: the log no longer hashes to its head.
    let (leaf_key, leaf) = n_key(Space::LogLeaves);
    tree.insert(&leaf_key, &[7u8; 32]).unwrap();
    assert_eq!(codes(&n.store), vec!["log_root_mismatch", "own_entry_unlogged"]);
    tree.insert(&leaf_key, leaf).unwrap();

    // An event whose timeline entry points nowhere.
    let (event_key, event) = n_key(Space::Events);
    tree.remove(&event_key).unwrap();
    let found = codes(&n.store);
    assert!(found.contains(&"dangling_index_entry"), "{found:?}");
    assert!(found.contains(&"count_mismatch"), "{found:?}");
    tree.insert(&event_key, event).unwrap();

    assert!(n.store.check().unwrap().is_sound(), "every damage undone");
}

#[test]
fn a_handle_attested_to_several_keys_is_counted_once_per_key_and_reloaded() {
    let (mut fed, n, drs) = setup();
    let handle = |h: &str| curbside_protocol::Handle::new(h).unwrap();
    assert_eq!(n.store.handle_keys(&handle("dr-a")), 1);
    // A second key attested as dr-a (an impostor), and the first key
    // attested again under the same handle (a renewal): two keys, not three.
    let impostor = key("impostor");
    let second = fed.attestation(&impostor, "dr-a", &["cardiology"], "GB");
    fed.accept(&second);
    let renewal = fed.attestation(&drs[0], "dr-a", &["cardiology"], "GB");
    fed.accept(&renewal);
    let outcomes = put(&n, &fed, &[second, renewal]);
    assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
    assert_eq!(n.store.handle_keys(&handle("dr-a")), 2);
    assert_eq!(n.store.handle_keys(&handle("dr-b")), 1);
    assert_memory_is_disk(&n.store);

    let dir = n._dir;
    let genesis = n.store.genesis().clone();
    drop(n.store);
    let store = Store::open(dir.path(), genesis).unwrap();
    assert_eq!(store.handle_keys(&handle("dr-a")), 2, "the count is rebuilt at open");
}

#[test]
fn a_verifier_is_named_by_the_institution_of_its_charter_in_force() {
    let (fed, n, drs) = setup();
    let verifier = fed.verifier().public();
    let record =
        n.store.attestation_status(&drs[0].public(), fed.now()).unwrap().attestations[0].0.clone();
    let charter = n.store.charter_of(&verifier, record.issued_at).unwrap();
    assert_eq!(n.store.institution(&charter).unwrap().as_deref(), Some("Test Hospital"));
    // A key no charter names, and an id that is no charter.
    assert_eq!(n.store.charter_of(&drs[0].public(), record.issued_at), None);
    assert_eq!(n.store.institution(&record.id).unwrap(), None);
}

/// What is left undefended (docs/SECURITY.md): history is judged at the
/// receipt the serving peer vouches for, and a chartered peer that lies
/// about it is believed. The same post refused live is stored as history
/// "received" before the revocation; the receipt is kept, so the node that
/// stored it passes the lie on as its own.
#[test]
fn a_receipt_a_chartered_peer_lies_about_is_believed() {
    let (mut fed, n, _) = setup();
    let dr = key("dr-revoked");
    let att = fed.attestation(&dr, "dr-revoked", &["cardiology"], "GB");
    fed.accept(&att);
    assert!(put(&n, &fed, std::slice::from_ref(&att))[0].is_stored());
    let before = fed.tick();
    let verifier = fed.verifier().clone();
    let revocation = fed.sign(
        &verifier,
        Body::Revocation(curbside_protocol::Revocation {
            target: att.id(),
            reason: "suspended".into(),
            effective_at: fed.now(),
        }),
    );
    fed.accept(&revocation);
    assert!(put(&n, &fed, std::slice::from_ref(&revocation))[0].is_stored());
    fed.advance(60_000);
    let backdated = fed.sign_at(
        &dr,
        before,
        Body::Post(curbside_protocol::Post {
            hub: "general".parse().unwrap(),
            title: "Dated back".into(),
            body: "Posted after the revocation.".into(),
        }),
    );
    let config = IngestConfig::default();
    let live = vec![Incoming::live(backdated.clone(), fed.now())];
    let outcomes = ingest(&n.store, &config, live, fed.now()).unwrap();
    assert!(code(&outcomes[0]) == "attestation_revoked", "{outcomes:?}");
    let lie = vec![Incoming::received(backdated.clone(), Some(before))];
    let outcomes = ingest(&n.store, &config, lie, fed.now()).unwrap();
    assert!(matches!(outcomes[0], Outcome::Stored { .. }), "{outcomes:?}");
    let stored = n.store.get(&backdated.id()).unwrap().unwrap();
    assert_eq!(stored.received_at(), Some(before), "and vouched for onward as received then");
}

/// An event held for a dependency is judged as of when it first arrived:
/// released ten minutes later (past the clock skew), it is not stale.
#[test]
fn a_held_event_is_judged_at_its_first_receipt_not_at_its_release() {
    let (mut fed, n, drs) = setup();
    let parent = fed.post(&drs[0], "arrives late");
    let reply = fed.comment(&drs[1], &parent, "arrives first");
    let config = IngestConfig::default();
    let received = fed.now();
    let outcomes =
        ingest(&n.store, &config, vec![Incoming::live(reply.clone(), received)], received).unwrap();
    assert!(matches!(outcomes[0], Outcome::Pending { .. }), "{outcomes:?}");
    fed.advance(10 * 60 * 1000);
    let outcomes = put(&n, &fed, std::slice::from_ref(&parent));
    assert!(outcomes[0].is_stored(), "{outcomes:?}");
    let stored = n.store.get(&reply.id()).unwrap().expect("released and stored");
    assert_eq!(stored.received_at(), Some(received));
}

/// sled writes a page over a quarter of a segment (128 KiB) to a file of
/// its own under `blobs/`, with no sync; a commit of 3,500 events makes
/// its timeline record one. The flush that returns has synced it, and the
/// store directory holds no file the sync does not know of.
#[test]
fn every_file_sled_writes_is_synced_before_a_flush_returns() {
    let (mut fed, n, drs) = setup();
    let posts: Vec<_> = (0..3500).map(|i| fed.post(&drs[i % 6], &format!("post {i}"))).collect();
    let outcomes = put(&n, &fed, &posts);
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Stored { .. })));

    let names = |dir: &std::path::Path| -> Vec<std::ffi::OsString> {
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect()
    };
    let blobs = names(&n._dir.path().join("blobs"));
    assert!(!blobs.is_empty(), "a commit this large writes a blob");
    let synced = lock(&n.store.faults.synced_blobs).clone();
    for blob in &blobs {
        assert!(synced.contains(blob), "blob {blob:?} was not synced: {synced:?}");
    }
    for name in names(n._dir.path()) {
        let name = name.to_string_lossy().into_owned();
        assert!(
            ["db", "conf", "blobs"].contains(&name.as_str()) || name.starts_with("snap."),
            "sled wrote {name}, which store/durable.rs does not sync"
        );
    }
    assert_eq!(
        n.store.faults.durable_events.load(Ordering::SeqCst),
        n.store.counts().unwrap().events,
        "every committed event is durable once the flush returned"
    );
}
