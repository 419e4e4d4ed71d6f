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
    downgrade_to_layout_3(&n.store.tree);
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
fn a_store_in_use_is_refused_as_busy() {
    let (_fed, n, _drs) = setup();
    let genesis = n.store.genesis().clone();
    match Store::open(n._dir.path(), genesis) {
        Err(StoreError::Busy(dir)) => assert!(dir.contains(n._dir.path().to_str().unwrap())),
        Err(other) => panic!("refused otherwise: {other}"),
        Ok(_) => panic!("a second open must fail"),
    }
}
