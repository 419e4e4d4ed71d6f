//! Retractions: the target's content leaves the store and every index,
//! its tombstone stays, and it is never stored again.

use super::*;

/// The store tests' federation and node, with the rules raised to 2
/// (retractions are valid from rules 2 on).
fn setup() -> (Federation, Node, Vec<curbside_protocol::SecretKey>) {
    let (mut fed, n, drs) = super::setup();
    let rules = fed.raise_rules(2);
    assert!(put(&n, &fed, &[rules]).iter().all(Outcome::is_stored));
    (fed, n, drs)
}

fn refused_code(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            Outcome::Rejected { refusal, .. } => refusal.code().as_str().to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn a_retracted_post_is_deleted_and_its_replies_stay_under_the_placeholder() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "Hyponatraemia");
    let reply = fed.comment(&drs[1], &post, "Check osmolality");
    put(&n, &fed, &[post.clone(), reply.clone()]);
    let events_before = n.store.counts().unwrap().events;
    let retraction = fed.retract(&drs[0], &post);
    let outcomes = put(&n, &fed, std::slice::from_ref(&retraction));
    assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");

    assert!(n.store.events().get(&post.id()).unwrap().is_none());
    assert!(!n.store.events().contains(&post.id()).unwrap());
    assert!(n.store.events().get_received(&post.id()).unwrap().is_none());
    let hub = "general".parse().unwrap();
    assert!(n.store.events().feed(&hub, None, 50).unwrap().is_empty());
    // One event in, one out.
    assert_eq!(n.store.counts().unwrap().events, events_before);
    // The post's bytes are nowhere in the store.
    let title = b"Hyponatraemia";
    for item in n.store.tree.iter() {
        let (_, value) = item.unwrap();
        assert!(!value.windows(title.len()).any(|w| w == title), "a copy of the post remains");
    }

    let thread = n.store.events().thread(&post.id(), None, 100).unwrap();
    let shape: Vec<_> = thread.entries.iter().map(|e| (e.depth, e.id, e.event.is_some())).collect();
    assert_eq!(shape, vec![(0, post.id(), false), (1, reply.id(), true)]);
    let t = thread.entries[0].tombstone.unwrap();
    assert_eq!((t.retraction, t.summary.author), (retraction.id(), drs[0].public()));

    // The post again (a replay, a slow peer): refused, with its own code.
    let again = put(&n, &fed, std::slice::from_ref(&post));
    assert_eq!(refused_code(&again), vec!["retracted"]);
    assert!(n.store.check().unwrap().is_sound(), "{:?}", n.store.check().unwrap());
}

#[test]
fn a_store_that_never_held_the_target_refuses_it_and_takes_its_replies() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "Hyponatraemia");
    let reply = fed.comment(&drs[1], &post, "Check osmolality");
    let nested = fed.comment(&drs[2], &reply, "620 mOsm/kg");
    let retract_post = fed.retract(&drs[0], &post);
    let retract_reply = fed.retract(&drs[1], &reply);
    // A new node, after every peer deleted both: only the retractions
    // and the nested reply reach it.
    let outcomes = put(&n, &fed, &[retract_post, retract_reply, nested.clone()]);
    assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
    let refused = put(&n, &fed, &[post.clone(), reply.clone()]);
    assert_eq!(refused_code(&refused), vec!["retracted", "retracted"]);
    let thread = n.store.events().thread(&post.id(), None, 100).unwrap();
    let shape: Vec<_> = thread.entries.iter().map(|e| (e.depth, e.id, e.event.is_some())).collect();
    assert_eq!(shape, vec![(0, post.id(), false), (1, reply.id(), false), (2, nested.id(), true)]);
    assert!(n.store.check().unwrap().is_sound(), "{:?}", n.store.check().unwrap());
}

#[test]
fn a_retraction_of_an_event_in_the_same_batch_deletes_it() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "Hyponatraemia");
    let retraction = fed.retract(&drs[0], &post);
    put(&n, &fed, &[post.clone(), retraction]);
    assert!(n.store.events().get(&post.id()).unwrap().is_none());
    let hub = "general".parse().unwrap();
    assert!(n.store.events().feed(&hub, None, 50).unwrap().is_empty());
}

#[test]
fn a_retraction_naming_anothers_event_deletes_nothing() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "Hyponatraemia");
    put(&n, &fed, std::slice::from_ref(&post));
    let false_claim = fed.retract(&drs[1], &post);
    let outcomes = put(&n, &fed, std::slice::from_ref(&false_claim));
    assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
    assert!(n.store.events().get(&post.id()).unwrap().is_some());
    assert!(n.store.events().tombstone(&post.id()).unwrap().is_none());
}

#[test]
fn a_retracted_vote_leaves_the_tally_whatever_the_order() {
    let (mut fed, a, drs) = setup();
    let poll = fed.poll(&drs[0], &["a", "b"], &[]);
    let v1 = fed.vote(&drs[1], &poll, 0);
    let v2 = fed.vote(&drs[2], &poll, 1);
    let later = fed.vote(&drs[2], &poll, 0);
    let retraction = fed.retract(&drs[1], &v1);
    // Node a: the votes, then the retraction.
    put(&a, &fed, &[poll.clone(), v1.clone(), v2.clone()]);
    assert_eq!(a.store.events().tally(&poll.id()).unwrap().unwrap().1.counts, vec![1, 1]);
    put(&a, &fed, std::slice::from_ref(&retraction));
    let tally_a = a.store.events().tally(&poll.id()).unwrap().unwrap().1;
    assert_eq!((tally_a.counts.clone(), tally_a.voters), (vec![0, 1], 1));
    assert!(a.store.check().unwrap().is_sound(), "{:?}", a.store.check().unwrap());

    // Node b: the retraction first; the vote refused when it comes.
    let b = node(&fed);
    put(&b, &fed, &trust_of(&fed, &a));
    put(&b, &fed, &[poll.clone(), retraction.clone(), v2.clone()]);
    assert_eq!(refused_code(&put(&b, &fed, std::slice::from_ref(&v1))), vec!["retracted"]);
    let tally_b = b.store.events().tally(&poll.id()).unwrap().unwrap().1;
    assert_eq!(
        (tally_b.counts, tally_b.voters, tally_b.discarded),
        (tally_a.counts, tally_a.voters, tally_a.discarded)
    );
    assert!(b.store.check().unwrap().is_sound(), "{:?}", b.store.check().unwrap());

    // A later vote of a voter still counts, replacing the earlier one.
    put(&a, &fed, std::slice::from_ref(&later));
    let tally = a.store.events().tally(&poll.id()).unwrap().unwrap().1;
    assert_eq!((tally.counts, tally.voters), (vec![1, 0], 1));
}

#[test]
fn a_retracted_poll_takes_its_tally_with_it_and_survives_a_restart() {
    let (mut fed, n, drs) = setup();
    let poll = fed.poll(&drs[0], &["a", "b"], &[]);
    let v1 = fed.vote(&drs[1], &poll, 0);
    put(&n, &fed, &[poll.clone(), v1]);
    let retraction = fed.retract(&drs[0], &poll);
    put(&n, &fed, std::slice::from_ref(&retraction));
    assert!(n.store.events().tally(&poll.id()).unwrap().is_none());
    // A vote on it is kept, and counts nowhere.
    let v2 = fed.vote(&drs[2], &poll, 1);
    assert!(put(&n, &fed, std::slice::from_ref(&v2)).iter().all(Outcome::is_stored));
    assert!(n.store.events().tally(&poll.id()).unwrap().is_none());
    assert!(n.store.check().unwrap().is_sound(), "{:?}", n.store.check().unwrap());

    let Node { _dir, store } = n;
    drop(store);
    let reopened = Store::open(_dir.path(), fed.view().genesis().clone()).unwrap();
    let n = Node { _dir, store: reopened };
    assert_eq!(refused_code(&put(&n, &fed, std::slice::from_ref(&poll))), vec!["retracted"]);
    assert_eq!(n.store.events().taken_back_ids().len(), 1);
}

/// The charters and attestations `a` holds, for a second node.
fn trust_of(_fed: &Federation, a: &Node) -> Vec<SignedEvent> {
    a.store
        .events()
        .timeline(Timestamp::from_millis(0))
        .map(|item| item.unwrap().1)
        .filter_map(|id| a.store.events().get(&id).unwrap())
        .filter(|e| e.kind().is_trust())
        .map(|e| e.into_signed())
        .collect()
}

#[test]
fn a_retracted_event_leaves_its_authors_list_and_the_mentions() {
    // Written under rules 1: guard v2 (rules 2) refuses `@word` in clinical
    // text as a possible social-media handle, mentions included.
    let (mut fed, n, drs) = super::setup();
    let post = fed.post(&drs[0], "Hyponatraemia");
    let reply = fed.comment(&drs[1], &post, "@dr-c might know");
    let outcomes = put(&n, &fed, &[post.clone(), reply.clone()]);
    assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
    let written = |who: &curbside_protocol::SecretKey| -> Vec<EventId> {
        let (list, _) = n.store.personal().written(&who.public(), None, 50).unwrap();
        list.into_iter().map(|(_, id, _)| id).collect()
    };
    let inbox = |who: &curbside_protocol::SecretKey, now: Timestamp| -> Vec<EventId> {
        let items = n.store.personal().inbox(&who.public(), now).unwrap();
        items.into_iter().map(|i| i.event.id()).collect()
    };
    assert_eq!(written(&drs[1]), vec![reply.id()]);
    assert_eq!(inbox(&drs[2], fed.now()), vec![reply.id()], "mentioned");
    assert_eq!(inbox(&drs[0], fed.now()), vec![reply.id()], "replied to");

    let rules = fed.raise_rules(2);
    assert!(put(&n, &fed, &[rules]).iter().all(Outcome::is_stored));
    let retraction = fed.retract(&drs[1], &reply);
    assert!(put(&n, &fed, std::slice::from_ref(&retraction)).iter().all(Outcome::is_stored));
    assert!(written(&drs[1]).is_empty(), "no longer listed as written");
    let now = fed.now();
    assert!(inbox(&drs[2], now).is_empty() && inbox(&drs[0], now).is_empty(), "nor in any inbox");
    for space in [Space::Authored, Space::Mentions] {
        let left: Vec<_> = n
            .store
            .tree
            .scan_prefix(space.all())
            .map(|i| i.unwrap().0)
            .filter(|k| k.windows(32).any(|w| w == reply.id().as_bytes()))
            .collect();
        assert!(left.is_empty(), "{} still names the reply", space.name());
    }
    assert_eq!(written(&drs[0]), vec![post.id()]);
    assert!(n.store.check().unwrap().is_sound(), "{:?}", n.store.check().unwrap());
}
