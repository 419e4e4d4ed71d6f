//! The pending set: held, released, budgeted, expired.

use super::*;

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
    assert!(n.store.events().contains(&reply.id()).unwrap(), "the comment followed its parent in");
    assert!(
        n.store.events().contains(&early.id()).unwrap(),
        "the post followed its author's attestation in"
    );
    assert_eq!(n.store.counts().unwrap().pending, 0);
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
    let dropped = n.store.pending().prune(fed.now().plus_millis(1), fed.now()).unwrap();
    assert_eq!(dropped, 2);
    assert_eq!(n.store.counts().unwrap().pending, 0);
    assert_eq!(n.store.pending().bytes(), 0);
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
    let bytes = n.store.pending().bytes();
    let (dir, genesis) = (n._dir, n.store.genesis().clone());
    drop(n.store);
    let store = Store::open(dir.path(), genesis).unwrap();
    assert_eq!(store.pending().bytes(), bytes);
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
    let waiting = n.store.pending().waiting_by(&drs[1].public()).unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].id, reply.id());
    assert_eq!(waiting[0].waiting_for, format!("event {}", parent.id()));
    assert!(n.store.pending().waiting_by(&drs[0].public()).unwrap().is_empty(), "by author");
    let expired_at = fed.now().plus_millis(16 * 60 * 1000);
    assert_eq!(n.store.pending().prune(fed.now().plus_millis(1), expired_at).unwrap(), 1);
    assert!(n.store.pending().waiting_by(&drs[1].public()).unwrap().is_empty());
    let expired = n.store.pending().expired_by(&drs[1].public()).unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!((expired[0].id, expired[0].expired_at), (reply.id(), expired_at));
    assert_eq!(expired[0].kind, curbside_protocol::Kind::Comment);
    assert!(n.store.check().unwrap().is_sound());
    // Forgotten after a week.
    let week_on = expired_at.plus_days(8);
    n.store.pending().prune(week_on, week_on).unwrap();
    assert!(n.store.pending().expired_by(&drs[1].public()).unwrap().is_empty());
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
    let stored = n.store.events().get(&reply.id()).unwrap().expect("released and stored");
    assert_eq!(stored.received_at(), Some(received));
}
