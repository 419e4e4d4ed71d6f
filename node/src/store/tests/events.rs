//! Events and their indexes: storing, feeds, tallies, revocations, authors.

use super::*;

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

    let feed = n.store.events().feed(&"general".parse().unwrap(), None, 50).unwrap();
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].id(), post.id());
    let thread = n.store.events().thread(&post.id(), None, 100).unwrap();
    assert!(!thread.more);
    let shape: Vec<(usize, _)> = thread.entries.iter().map(|e| (e.depth, e.id)).collect();
    assert_eq!(shape, vec![(0, post.id()), (1, reply.id()), (2, nested.id())]);
    // The thread's comments at any depth, counted without reading them.
    assert_eq!(n.store.events().replies_in(&post.id()).unwrap(), 2);
    assert_eq!(n.store.events().replies_in(&nested.id()).unwrap(), 0);
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
        let page = n.store.events().feed(&hub, cursor, 10).unwrap();
        if page.is_empty() {
            break;
        }
        cursor = page.last().map(|e| (e.created_at(), e.id()));
        seen.extend(page.into_iter().map(|e| e.id()));
    }
    let expected: Vec<_> = posts.iter().rev().map(|p| p.id()).collect();
    assert_eq!(seen, expected);
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
    let (_, tally) = n.store.events().tally(&poll.id()).unwrap().unwrap();
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
    assert_eq!(n.store.events().feed(&"general".parse().unwrap(), None, 10).unwrap().len(), 1);
}

#[test]
fn revocations_and_attestation_status() {
    let (mut fed, n, drs) = setup();
    let status = n.store.events().attestation_status(&drs[0].public(), fed.now()).unwrap();
    assert!(status.attested);
    assert!(status.attestations[0].not_counted.is_none());
    let revocation = revocation_of(&n, &mut fed, &drs[0], "licence suspended");
    put(&n, &fed, &[revocation]);
    let status = n.store.events().attestation_status(&drs[0].public(), fed.now()).unwrap();
    assert!(!status.attested);
    let why = status.attestations[0]
        .not_counted
        .as_ref()
        .expect("a revoked attestation says why it does not count");
    assert_eq!(why.code, "attestation_revoked");
    let post = fed.post(&drs[0], "after revocation");
    let outcome = put(&n, &fed, &[post]);
    assert!(code(&outcome[0]) == "attestation_revoked");
}

#[test]
fn a_handle_attested_to_several_keys_is_counted_once_per_key_and_reloaded() {
    let (mut fed, n, drs) = setup();
    let handle = |h: &str| curbside_protocol::Handle::new(h).unwrap();
    assert_eq!(n.store.events().handle_keys(&handle("dr-a")), 1);
    // A second key attested as dr-a (an impostor), and the first key
    // attested again under the same handle (a renewal): two keys, not three.
    let impostor = key("impostor");
    let second = fed.attestation(&impostor, "dr-a", &["cardiology"], "GB");
    fed.accept(&second);
    let renewal = fed.attestation(&drs[0], "dr-a", &["cardiology"], "GB");
    fed.accept(&renewal);
    let outcomes = put(&n, &fed, &[second, renewal]);
    assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
    assert_eq!(n.store.events().handle_keys(&handle("dr-a")), 2);
    assert_eq!(n.store.events().handle_keys(&handle("dr-b")), 1);
    assert_memory_is_disk(&n.store);

    let dir = n._dir;
    let genesis = n.store.genesis().clone();
    drop(n.store);
    let store = Store::open(dir.path(), genesis).unwrap();
    assert_eq!(store.events().handle_keys(&handle("dr-a")), 2, "the count is rebuilt at open");
}

#[test]
fn a_verifier_is_named_by_the_institution_of_its_charter_in_force() {
    let (fed, n, drs) = setup();
    let verifier = fed.verifier().public();
    let record =
        n.store.events().attestation_status(&drs[0].public(), fed.now()).unwrap().attestations[0]
            .record
            .clone();
    let charter = n.store.events().charter_of(&verifier, record.issued_at).unwrap();
    assert_eq!(n.store.events().institution(&charter).unwrap().as_deref(), Some("Test Hospital"));
    // A key no charter names, and an id that is no charter.
    assert_eq!(n.store.events().charter_of(&drs[0].public(), record.issued_at), None);
    assert_eq!(n.store.events().institution(&record.id).unwrap(), None);
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
    let stored = n.store.events().get(&backdated.id()).unwrap().unwrap();
    assert_eq!(stored.received_at(), Some(before), "and vouched for onward as received then");
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
        assert!(n.store.events().get(&e.id()).unwrap().is_some());
    }
    assert_eq!(n.store.counts().unwrap().pending, 0, "nothing is left waiting");
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
    let thread = n.store.events().thread(&root.id(), None, 100).unwrap();
    let ids: Vec<_> = thread.entries.iter().skip(1).map(|e| e.id).collect();
    assert_eq!(ids, replies.iter().map(SignedEvent::id).collect::<Vec<_>>());
    let timeline: Vec<_> =
        n.store.events().timeline(Timestamp::from_millis(0)).map(Result::unwrap).collect();
    assert!(timeline.windows(2).all(|w| w[0] < w[1]), "sorted");
    assert_eq!(timeline.len() as u64, n.store.counts().unwrap().events);
    let from = replies[3].created_at();
    assert_eq!(n.store.events().timeline(from).count(), 3, "from a time on");
}

#[test]
fn ids_are_found_by_their_first_digits_at_most_a_limit_of_them() {
    let (mut fed, n, drs) = setup();
    let posts: Vec<_> = (0..40).map(|i| fed.post(&drs[i % 6], &format!("post {i}"))).collect();
    put(&n, &fed, &posts);
    let events = n.store.events();
    let prefix = |text: &str| IdPrefix::new(text).unwrap();

    // The whole id, and its first 8 digits, find the one event.
    let id = posts[0].id();
    let found = events.with_id_prefix(&prefix(&id.to_string()), 10).unwrap();
    assert_eq!(found.iter().map(|e| e.id()).collect::<Vec<_>>(), [id]);
    let found = events.with_id_prefix(&prefix(&id.to_string()[..8]), 10).unwrap();
    assert_eq!(found.iter().map(|e| e.id()).collect::<Vec<_>>(), [id]);

    // Two posts whose ids share their first two digits: both found by them,
    // in id order, and nothing else that does not start with them.
    let mut by_first: std::collections::BTreeMap<String, Vec<EventId>> = Default::default();
    for p in &posts {
        by_first.entry(p.id().to_string()[..2].to_owned()).or_default().push(p.id());
    }
    let (shared, mut ids) = by_first.into_iter().find(|(_, ids)| ids.len() > 1).unwrap();
    ids.sort();
    let found: Vec<EventId> =
        events.with_id_prefix(&prefix(&shared), 10).unwrap().iter().map(|e| e.id()).collect();
    assert!(found.iter().all(|f| f.to_string().starts_with(&shared)), "{found:?}");
    assert!(ids.iter().all(|i| found.contains(i)), "{ids:?} in {found:?}");
    assert!(found.windows(2).all(|w| w[0] < w[1]), "id order");

    // An odd number of digits bounds by the half byte.
    let odd = &id.to_string()[..3];
    let found = events.with_id_prefix(&prefix(odd), 100).unwrap();
    assert!(found.iter().all(|e| e.id().to_string().starts_with(odd)));
    assert!(found.iter().any(|e| e.id() == id));

    // A limit bounds the answer: one digit matches more than two of 40 posts.
    let first = &id.to_string()[..1];
    assert_eq!(events.with_id_prefix(&prefix(first), 2).unwrap().len(), 2);
    // No match: nothing.
    let none = if id.to_string().starts_with("0000") { "ffff" } else { "0000" };
    assert!(events.with_id_prefix(&prefix(none), 10).unwrap().is_empty());
}
