//! The integrity check: a sound store passes, each kind of damage is named.

use super::*;

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
    let revocation = revocation_of(&n, &mut fed, &drs[3], "moved abroad");
    let verifier = fed.verifier().clone();
    let events = [post.clone(), reply, poll, first, second, other, revocation.clone()];
    let outcomes = put(&n, &fed, &events);
    assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");

    // The verifier logs its revocation and signs the head over it.
    let (size, root) = n.store.audit().extended_root(&verifier.public(), &[revocation.id()]);
    let head = fed.sign(&verifier, Body::TreeHead(curbside_protocol::TreeHead { size, root }));
    let checked = audit::CheckedHead { id: head.id(), size, root, created_at: head.created_at() };
    let wire = head.to_bytes();
    let own = audit::OwnRecords { entries: &[revocation.to_bytes()], head: &wire };
    let at = head.created_at();
    n.store
        .audit()
        .append(&verifier.public(), 0, &[revocation.id()], checked, at, Some(own))
        .unwrap();
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
    let comment_key = keys::event(&comment);
    let record = tree.get(&comment_key).unwrap().unwrap();
    let network = n.store.network();
    let (mut wrong, received_at) = super::split_record(&network, &record).unwrap();
    wrong.thread = Some(EventId::from_bytes([5; 32]));
    tree.insert(&comment_key, super::event_record(&network, &wrong, received_at).unwrap()).unwrap();
    assert_eq!(codes(&n.store), vec!["index_value_mismatch"]);
    tree.insert(&comment_key, record).unwrap();

    // The counter off by one.
    let events = keys::u64_value(tree.get(keys::event_count()).unwrap());
    tree.insert(keys::event_count(), &(events + 1).to_be_bytes()).unwrap();
    assert_eq!(codes(&n.store), vec!["count_mismatch"]);
    tree.insert(keys::event_count(), &events.to_be_bytes()).unwrap();

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
