//! Outcomes, accepts and poll answers: the one in force per target is
//! the latest by `(created_at, id)`, whatever order a node received them
//! in; each waits for what it names; the integrity check agrees.

use super::*;

/// The store tests' federation and node, with the rules raised to 3.
fn setup() -> (Federation, Node, Vec<curbside_protocol::SecretKey>) {
    let (mut fed, n, drs) = super::setup();
    let rules = fed.raise_rules(3);
    assert!(put(&n, &fed, &[rules]).iter().all(Outcome::is_stored));
    (fed, n, drs)
}

#[test]
fn the_latest_outcome_is_in_force_whatever_the_order_of_arrival() {
    let (mut fed, first, drs) = setup();
    let second = node(&fed);
    // The second node gets the same history.
    let history: Vec<SignedEvent> = {
        let mut events = Vec::new();
        for item in first.store.events().timeline(Timestamp::from_millis(0)) {
            let (_, id) = item.unwrap();
            events.push(first.store.events().get(&id).unwrap().unwrap().into_signed());
        }
        events
    };
    assert!(put(&second, &fed, &history).iter().all(|o| o.is_stored()));
    let case = fed.case(&drs[0], "Chest tightness on exertion");
    let older = fed.outcome(&drs[0], &case, "Costochondritis");
    let newer = fed.outcome(&drs[0], &case, "Stable angina");
    for (n, order) in [(&first, [&older, &newer]), (&second, [&newer, &older])] {
        put(n, &fed, std::slice::from_ref(&case));
        for outcome in order {
            let outcomes = put(n, &fed, std::slice::from_ref(outcome));
            assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
        }
        let added = n.store.events().afterwords(&case.id()).unwrap();
        assert_eq!(added.outcome.map(|e| e.id()), Some(newer.id()));
        // Both are stored: the earlier one is history, not shown.
        assert!(n.store.events().contains(&older.id()).unwrap());
        let report = n.store.check().unwrap();
        assert!(report.is_sound(), "{:?}", report.problems);
    }
}

#[test]
fn an_accept_waits_for_its_comment_and_marks_it_in_its_thread() {
    let (mut fed, n, drs) = setup();
    let case = fed.case(&drs[0], "Chest tightness on exertion");
    put(&n, &fed, std::slice::from_ref(&case));
    let reply = fed.comment(&drs[1], &case, "CTCA first.");
    let nested = fed.comment(&drs[2], &reply, "Agree, with a lipid panel.");
    let accept = fed.accept_answer(&drs[0], &nested, &case);
    // The accept arrives before the comments it names.
    let outcomes = put(&n, &fed, std::slice::from_ref(&accept));
    assert_eq!(code(&outcomes[0]), "pending");
    let outcomes = put(&n, &fed, &[reply.clone(), nested.clone()]);
    assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
    assert!(n.store.events().contains(&accept.id()).unwrap(), "released once they arrived");
    let added = n.store.events().afterwords(&case.id()).unwrap();
    assert_eq!(added.accepted_comment(), Some(nested.id()));
    assert_eq!(n.store.events().root_of_comment(&nested.id()).unwrap(), Some(case.id()));
    // Another author's accept is refused.
    let theirs = fed.accept_answer(&drs[1], &reply, &case);
    assert_eq!(code(&put(&n, &fed, &[theirs])[0]), "not_target_author");
    let report = n.store.check().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
}

#[test]
fn a_poll_answer_after_closing_is_in_force_and_the_check_finds_a_changed_one() {
    let (mut fed, n, drs) = setup();
    // A poll closing a second after it opens (well within the audit
    // log's merge window, so no tree head is needed yet).
    let at = fed.now().plus_millis(1_000);
    let poll = fed.sign(
        &drs[0],
        Body::Poll(curbside_protocol::Poll {
            hub: "general".parse().unwrap(),
            question: "First-line treatment?".into(),
            options: vec!["a".into(), "b".into(), "c".into()],
            closes_at: at,
            eligible: Vec::new(),
        }),
    );
    put(&n, &fed, std::slice::from_ref(&poll));
    let answer = fed.poll_answer(&drs[0], &poll, 2, at);
    let config = IngestConfig::default();
    let later = at.plus_millis(1_000);
    let outcomes =
        ingest(&n.store, &config, on_time(std::slice::from_ref(&answer)), later).unwrap();
    assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
    assert_eq!(n.store.events().afterwords(&poll.id()).unwrap().answer_option(), Some(2));
    // An entry that names another event is damage the check reports.
    n.store
        .tree
        .insert(keys::afterword(&poll.id(), curbside_protocol::Kind::PollAnswer), {
            let mut v = Vec::new();
            keys::pack_timed(&mut v, at, &poll.id());
            v
        })
        .unwrap();
    let report = n.store.check().unwrap();
    assert!(!report.is_sound());
    assert!(
        report.problems.iter().any(|p| p.code == "index_value_mismatch"),
        "{:?}",
        report.problems
    );
}
