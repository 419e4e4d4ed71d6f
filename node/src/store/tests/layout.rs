//! Layout versions, migration, reopening and locking.

use super::*;

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
    assert_eq!(store.events().get(&post.id()).unwrap().map(|e| e.id()), Some(post.id()));
    assert_eq!(store.counts().unwrap().events, counts.events);
    drop(store);
    let other = Genesis::new("Other", genesis.roots.clone(), Timestamp::from_millis(1));
    assert!(matches!(Store::open(dir.path(), other), Err(StoreError::WrongNetwork { .. })));
}

#[test]
fn a_store_of_the_first_layout_is_refused_with_its_version() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        db.open_tree("meta").unwrap().insert(keys::LAYOUT_1_SCHEMA, &1u32.to_be_bytes()).unwrap();
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
    n.store.tree.insert(keys::schema(), &2u32.to_be_bytes()).unwrap();
    n.store.flush().unwrap();
    drop(n.store);
    let err = Store::open(dir.path(), genesis).unwrap_err();
    assert!(matches!(err, StoreError::Schema { found: 2, expected: SCHEMA_VERSION }), "{err}");
    assert!(err.to_string().contains("move the store directory aside"), "says what to do: {err}");
}

/// Rolling back: a store that a newer build migrated is refused by an
/// older one (here, this build given a store one version past its own),
/// with both versions and what to do, and is left as it was, so the newer
/// build still opens it. docs/UPGRADE.md quotes this refusal.
#[test]
fn a_store_from_a_newer_build_is_refused_and_left_as_it_was() {
    let (_fed, n, _drs) = setup();
    let (dir, genesis) = (n._dir, n.store.genesis().clone());
    let newer = SCHEMA_VERSION + 1;
    n.store.tree.insert(keys::schema(), &newer.to_be_bytes()).unwrap();
    n.store.flush().unwrap();
    let tree_name = n.store.tree.name();
    drop(n.store);
    let err = Store::open(dir.path(), genesis).unwrap_err();
    assert!(
        matches!(err, StoreError::Schema { found, expected } if found == newer && expected == SCHEMA_VERSION),
        "{err}"
    );
    let text = err.to_string();
    let says =
        format!("the store is schema version {newer}; this build reads version {SCHEMA_VERSION}");
    assert!(text.starts_with(&says), "{text}");
    assert!(text.contains("A newer build of curbside migrated this store"), "{text}");
    assert!(text.contains("restore the data directory from the backup"), "{text}");
    assert!(!text.contains("move the store directory aside"), "{text}");
    // sled lets go of the directory's lock a moment after the refusal.
    let db = (0..100)
        .find_map(|_| {
            let db = sled::Config::new().path(dir.path()).open().ok();
            if db.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            db
        })
        .unwrap();
    let schema = db.open_tree(tree_name).unwrap().get(keys::schema()).unwrap().unwrap();
    assert_eq!(schema.as_ref(), newer.to_be_bytes(), "the refused store was not rewritten");
}

/// Removes every key of `spaces`.
fn remove_spaces(tree: &sled::Tree, spaces: &[Space]) {
    for space in spaces {
        for item in tree.scan_prefix(space.all()) {
            tree.remove(item.unwrap().0).unwrap();
        }
    }
}

/// Removes what schema 6 added (the `authored` and `mentions` indexes),
/// as a schema-5 store is.
fn downgrade_to_layout_5(tree: &sled::Tree, network: &NetworkId) {
    downgrade_to_layout_6(tree, network);
    remove_spaces(tree, &[Space::Authored, Space::Mentions]);
    tree.insert(keys::schema(), &5u32.to_be_bytes()).unwrap();
}

/// Removes what schemas 5 and 6 added, as a schema-4 store is.
fn downgrade_to_layout_4(tree: &sled::Tree, network: &NetworkId) {
    downgrade_to_layout_5(tree, network);
    remove_spaces(tree, &[Space::Moderation]);
    tree.insert(keys::schema(), &4u32.to_be_bytes()).unwrap();
}

/// Rewrites every record schema 4 changed as schema 3 wrote it.
fn downgrade_to_layout_3(tree: &sled::Tree, network: &NetworkId) {
    downgrade_to_layout_4(tree, network);
    for space in [Space::Events, Space::Feed] {
        for item in tree.scan_prefix(space.all()) {
            let (key, value) = item.unwrap();
            let (stored, _) = super::split_record_v6(&value).unwrap();
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
        let record: crate::store::pending::PendingRecord = decode(Space::Pending, &value).unwrap();
        tree.insert(key, encode(&crate::store::pending::PendingRecordV3::from(record))).unwrap();
    }
    tree.insert(keys::schema(), &3u32.to_be_bytes()).unwrap();
}

#[test]
fn a_store_of_layout_3_is_migrated_and_keeps_everything() {
    let (mut fed, n, drs) = setup();
    let parent = fed.post(&drs[0], "a parent that arrives later");
    let orphan = fed.comment(&drs[1], &parent, "waits for its parent");
    assert!(matches!(put(&n, &fed, std::slice::from_ref(&orphan))[0], Outcome::Pending { .. }));
    let before = n.store.counts().unwrap();
    let ids: Vec<EventId> =
        n.store.events().timeline(Timestamp::from_millis(0)).map(|r| r.unwrap().1).collect();
    let (dir, genesis) = (n._dir, n.store.genesis().clone());
    downgrade_to_layout_3(&n.store.tree, &n.store.network());
    n.store.db.flush().unwrap();
    drop(n.store);

    let store = Store::open(dir.path(), genesis.clone()).unwrap();
    let schema = store.tree.get(keys::schema()).unwrap().unwrap();
    assert_eq!(schema.as_ref(), SCHEMA_VERSION.to_be_bytes());
    let report = store.check().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!(store.counts().unwrap().events, before.events);
    assert_eq!(store.counts().unwrap().pending, 1);
    for id in &ids {
        let event = store.events().get(id).unwrap().expect("every event is still there");
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
    assert!(
        store.events().contains(&orphan.id()).unwrap(),
        "the held reply was released and stored"
    );
    assert_eq!(
        store.events().get(&parent.id()).unwrap().unwrap().received_at(),
        Some(parent.created_at())
    );
    assert!(store.check().unwrap().is_sound());
    // Reopened, it is the current schema and opens without migrating again.
    drop(store);
    let store = Store::open(dir.path(), genesis).unwrap();
    assert!(store.check().unwrap().is_sound());
}

#[test]
fn a_store_of_layout_5_is_migrated_with_its_authors_and_mentions_indexed() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "Refractory hyponatraemia");
    let reply = fed.comment(&drs[1], &post, "@dr-a have you tried tolvaptan? cc @dr-c.");
    let poll = fed.poll(&drs[0], &["yes", "no"], &[]);
    let vote = fed.vote(&drs[1], &poll, 0);
    put(&n, &fed, &[post.clone(), reply.clone(), poll.clone(), vote.clone()]);
    let (dir, genesis) = (n._dir, n.store.genesis().clone());
    let entries = |store: &Store, space: Space| store.tree.scan_prefix(space.all()).count();
    let (authored, mentions) =
        (entries(&n.store, Space::Authored), entries(&n.store, Space::Mentions));
    assert_eq!((authored, mentions), (4, 2), "a post, a reply, a poll and a vote; two handles");
    downgrade_to_layout_5(&n.store.tree, &n.store.network());
    n.store.db.flush().unwrap();
    assert!(!n.store.check().unwrap().is_sound(), "the check misses the indexes");
    drop(n.store);

    let store = Store::open(dir.path(), genesis.clone()).unwrap();
    let schema = store.tree.get(keys::schema()).unwrap().unwrap();
    assert_eq!(schema.as_ref(), SCHEMA_VERSION.to_be_bytes());
    assert_eq!((entries(&store, Space::Authored), entries(&store, Space::Mentions)), (4, 2));
    let report = store.check().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    let (mine, _) = store.personal().written(&drs[0].public(), None, 50).unwrap();
    let ids: Vec<EventId> = mine.iter().map(|(_, id, _)| *id).collect();
    assert_eq!(ids, vec![poll.id(), post.id()], "newest first, no votes");
    let (theirs, _) = store.personal().written(&drs[1].public(), None, 50).unwrap();
    assert_eq!(theirs.iter().map(|w| w.1).collect::<Vec<_>>(), vec![reply.id()]);
    // dr-a's inbox has the reply (to their post, naming them: one item).
    let inbox = store.personal().inbox(&drs[0].public(), fed.now()).unwrap();
    let items: Vec<_> = inbox.iter().map(|i| (i.event.id(), i.kind)).collect();
    assert_eq!(items, vec![(reply.id(), crate::store::ItemKind::Reply)]);
    // dr-c is only mentioned.
    let inbox = store.personal().inbox(&drs[2].public(), fed.now()).unwrap();
    let items: Vec<_> = inbox.iter().map(|i| (i.event.id(), i.kind)).collect();
    assert_eq!(items, vec![(reply.id(), crate::store::ItemKind::Mention)]);
    drop(store);
    let store = Store::open(dir.path(), genesis).unwrap();
    assert!(store.check().unwrap().is_sound(), "reopened without migrating again");
}

#[test]
fn a_store_of_layout_6_is_migrated_to_smaller_records_that_read_back_the_same() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "Hyperkalaemia after an ACE inhibitor");
    let reply = fed.comment(&drs[1], &post, "Check the sample was not haemolysed.");
    let nested = fed.comment(&drs[0], &reply, "It was not; 6.1 on repeat.");
    let poll = fed.poll(&drs[0], &["yes", "no"], &[]);
    let vote = fed.vote(&drs[1], &poll, 1);
    let events = [post, reply, nested, poll, vote];
    put(&n, &fed, &events);
    let (dir, genesis, network) = (n._dir, n.store.genesis().clone(), n.store.network());
    let records = |store: &Store| -> Vec<(Vec<u8>, usize)> {
        [Space::Events, Space::Feed]
            .iter()
            .flat_map(|space| store.tree.scan_prefix(space.all()))
            .map(|item| item.map(|(k, v)| (k.to_vec(), v.len())).unwrap())
            .collect()
    };
    let current = records(&n.store);
    downgrade_to_layout_6(&n.store.tree, &network);
    n.store.db.flush().unwrap();
    let old = records(&n.store);
    assert_eq!(old.len(), current.len());
    for ((key, before), (_, now)) in old.iter().zip(&current) {
        // The summary (kind 1, author 32, time) and the network id (32).
        assert!(before >= &(now + 70), "{key:?}: {before} bytes in layout 6, {now} in 7");
    }
    drop(n.store);

    let store = Store::open(dir.path(), genesis.clone()).unwrap();
    let schema = store.tree.get(keys::schema()).unwrap().unwrap();
    assert_eq!(schema.as_ref(), SCHEMA_VERSION.to_be_bytes());
    assert_eq!(records(&store), current, "the records a new store writes");
    let report = store.check().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    for event in &events {
        let read = store.events().get(&event.id()).unwrap().expect("still stored");
        assert_eq!(read.signed().to_bytes(), event.to_bytes(), "the same wire form");
        let (wire, received_at) = store.events().get_received(&event.id()).unwrap().unwrap();
        assert_eq!((wire, received_at), (event.to_bytes(), Some(event.created_at())));
    }
    let feed = store.events().feed(events[0].body().hub().unwrap(), None, 10).unwrap();
    assert!(feed.iter().any(|e| e.id() == events[0].id()), "the post is in its hub's feed");
    drop(store);
    let store = Store::open(dir.path(), genesis).unwrap();
    assert!(store.check().unwrap().is_sound(), "reopened without migrating again");
}

#[test]
fn a_record_reads_its_summary_from_the_wire_form_for_every_kind() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "a post");
    let reply = fed.comment(&drs[1], &post, "a reply");
    let poll = fed.poll(&drs[0], &["yes", "no"], &[]);
    let vote = fed.vote(&drs[1], &poll, 0);
    put(&n, &fed, &[post, reply, poll, vote]);
    let network = n.store.network();
    let mut kinds = std::collections::BTreeSet::new();
    for item in n.store.tree.scan_prefix(Space::Events.all()) {
        let (key, value) = item.unwrap();
        let id = EventId::from_bytes(super::key_part(Space::Events, &key, 1).unwrap());
        let event = n.store.events().get(&id).unwrap().unwrap();
        assert_eq!(super::record_summary(&value).unwrap(), event.summary(), "{id}");
        let (stored, _) = super::split_record(&network, &value).unwrap();
        assert_eq!(stored.summary, event.summary());
        kinds.insert(event.kind());
    }
    // Charters, attestations, tree heads, posts, comments, polls, votes.
    assert!(kinds.len() >= 6, "{kinds:?}");
}

/// Named operators and the admin log came without a schema bump: a store
/// written before them (here, one of layout 4, migrated at open) opens
/// with neither and takes both at once; what an operator did before a
/// migration is still there after it, and the integrity check is sound.
#[test]
fn an_older_store_opens_without_operators_and_keeps_them_through_a_migration() {
    use crate::store::{LogEntry, LogFilter};
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "before operators");
    put(&n, &fed, std::slice::from_ref(&post));
    let (dir, genesis) = (n._dir, n.store.genesis().clone());
    downgrade_to_layout_4(&n.store.tree, &n.store.network());
    n.store.db.flush().unwrap();
    drop(n.store);

    let store = Store::open(dir.path(), genesis.clone()).unwrap();
    assert!(store.operators().list().unwrap().is_empty());
    let log = store.admin_log().page(&LogFilter::default(), None, 50).unwrap();
    assert!(log.entries.is_empty() && log.next.is_none());
    let at = fed.now();
    store.operators().add("ada", &[7; 32], "owner", at).unwrap();
    let entry = LogEntry {
        at,
        operator: "ada".into(),
        action: "attest".into(),
        target: vec![("attestation".into(), post.id().to_string())],
        status: 200,
        code: None,
    };
    store.admin_log().append(&entry, Some(&[7; 32])).unwrap();
    // Another migration (the store taken back to layout 5) leaves them alone.
    downgrade_to_layout_5(&store.tree, &store.network());
    store.db.flush().unwrap();
    drop(store);
    let store = Store::open(dir.path(), genesis).unwrap();
    assert_eq!(store.operators().list().unwrap()[0].last_used, Some(at));
    let log = store.admin_log().page(&LogFilter::default(), None, 50).unwrap();
    assert_eq!(log.entries, vec![entry]);
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
