//! A copy of the store as records (backups): whole, between batches, and
//! read back into a store that passes its check.

use super::*;
use crate::store::export::{Exported, import};
use curbside_protocol::PublicKey;

/// Exports `store` as `own`'s, imports the copy into a new directory and
/// opens it: the copy's summary and the store made from it.
fn copy(store: &Store, own: &PublicKey, genesis: &Genesis) -> (Exported, tempfile::TempDir, Store) {
    let mut records = Vec::new();
    let exported = store.export(own, &mut records).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let count = import(&dir.path().join("store"), &mut records.as_slice()).unwrap();
    assert_eq!(count, exported.records);
    let copy = Store::open(&dir.path().join("store"), genesis.clone()).unwrap();
    (exported, dir, copy)
}

#[test]
fn a_copy_holds_every_record_and_the_own_log_and_passes_the_check() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "Hyponatraemia");
    let reply = fed.comment(&drs[1], &post, "Check osmolality");
    let revocation = revocation_of(&n, &mut fed, &drs[3], "moved abroad");
    let outcomes = put(&n, &fed, &[post.clone(), reply.clone(), revocation.clone()]);
    assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
    let verifier = fed.verifier().clone();
    let me = verifier.public();
    let (size, root) = n.store.audit().extended_root(&me, &[revocation.id()]);
    let head = fed.sign(&verifier, Body::TreeHead(curbside_protocol::TreeHead { size, root }));
    let checked = audit::CheckedHead { id: head.id(), size, root, created_at: head.created_at() };
    let wire = head.to_bytes();
    let own = audit::OwnRecords { entries: &[revocation.to_bytes()], head: &wire };
    n.store
        .audit()
        .append(&me, 0, &[revocation.id()], checked, head.created_at(), Some(own))
        .unwrap();
    n.store.flush().unwrap();

    let genesis = fed.view().genesis().clone();
    let (exported, _dir, restored) = copy(&n.store, &me, &genesis);
    assert_eq!((exported.own_log_size, exported.own_log_root), (1, *root.as_bytes()));
    assert_eq!(exported.schema, SCHEMA_VERSION);
    assert_eq!(exported.network, genesis.network_id());
    assert_eq!(restored.counts().unwrap().events, n.store.counts().unwrap().events);
    for id in [post.id(), reply.id(), revocation.id()] {
        assert!(restored.events().get_wire(&id).unwrap().is_some(), "{id} came back");
    }
    assert_eq!(restored.audit().size(&me), 1);
    let report = restored.check().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!(report.unpublished_own, 1, "the logged, unpublished head came back too");

    // Another key's log is not this node's: a copy says so.
    let (other, _d, _s) = copy(&n.store, &drs[0].public(), &genesis);
    assert_eq!(other.own_log_size, 0);
}

/// Regression guard for the reason the quiet lock exists: sled's iterator
/// is no snapshot, so a scan beside a writer could copy half of a batch.
#[test]
fn copies_taken_while_events_are_written_hold_whole_batches() {
    let (mut fed, n, drs) = setup();
    let posts: Vec<_> = (0..150).map(|i| fed.post(&drs[i % 3], &format!("Case {i}"))).collect();
    let comments: Vec<_> =
        posts.iter().map(|p| fed.comment(&drs[4], p, "Seen this before")).collect();
    let genesis = fed.view().genesis().clone();
    let me = fed.verifier().public();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for (post, comment) in posts.iter().zip(&comments) {
                let outcomes = put(&n, &fed, &[post.clone(), comment.clone()]);
                assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut copies = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) || copies < 2 {
            let (_, _dir, restored) = copy(&n.store, &me, &genesis);
            let report = restored.check().unwrap();
            assert!(report.is_sound(), "copy {copies}: {:?}", report.problems);
            copies += 1;
        }
    });
}
