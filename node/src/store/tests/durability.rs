//! Memory agrees with the disk; failed writes change neither; every file is synced.

use super::*;

#[test]
fn memory_equals_disk_after_each_kind_of_event_and_after_reopening() {
    let (mut fed, n, drs) = setup();
    let poll = fed.poll(&drs[0], &["a", "b"], &[]);
    let vote = fed.vote(&drs[1], &poll, 1);
    let post = fed.post(&drs[2], "a post");
    let revocation = revocation_of(&n, &mut fed, &drs[3], "moved abroad");
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

    assert!(!n.store.events().contains(&att.id()).unwrap(), "nothing reached sled");
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
    assert!(!store.events().contains(&att.id()).unwrap());
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
    assert!(n.store.events().contains(&att.id()).unwrap(), "committed");
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
    assert_eq!(in_memory, store.events().contains(&att.id()).unwrap());
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
    let (_, tally) = n.store.events().tally(&poll.id()).unwrap().unwrap();
    assert_eq!((tally.voters, tally.discarded), (1, 0));
    let timeline: Vec<_> = n.store.events().timeline(Timestamp::from_millis(0)).collect();
    assert_eq!(timeline.len() as u64, n.store.counts().unwrap().events);
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
