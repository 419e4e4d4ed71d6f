//! What moderation keeps: the public record of appointments, their ends
//! and takedowns (paged, indexed by time), and reports (bounded).

use super::*;
use crate::store::{ReportError, ReportLimits, keys::Space};
use curbside_protocol::{EventId, TakedownReason};

/// The store tests' federation and node, with the rules raised to 2
/// (appointments and takedowns are valid from rules 2 on), `drs[0]`
/// appointed for every hub, and the events stored in the record's order.
fn setup() -> (Federation, Node, Vec<curbside_protocol::SecretKey>, Vec<EventId>) {
    let (mut fed, n, drs) = super::setup();
    let rules = fed.raise_rules(2);
    let appointment = fed.appoint(&drs[0].public(), None);
    assert!(put(&n, &fed, &[rules, appointment.clone()]).iter().all(Outcome::is_stored));
    let mut record = vec![appointment.id()];
    // Five takedowns, and a revocation of an attestation between them,
    // which is not moderation.
    for i in 0..5 {
        let post = fed.post(&drs[1], &format!("Leaked name {i}"));
        let takedown = fed.take_down(&drs[0], &post);
        let outcomes = put(&n, &fed, &[post, takedown.clone()]);
        assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
        record.push(takedown.id());
        if i == 2 {
            let revocation = revocation_of(&n, &mut fed, &drs[5], "left the register");
            assert!(put(&n, &fed, &[revocation]).iter().all(Outcome::is_stored));
        }
    }
    // The appointment ends: that is moderation.
    let end = fed.sign(
        &fed.root().clone(),
        Body::Revocation(curbside_protocol::Revocation {
            target: appointment.id(),
            reason: "appointment ended".into(),
            effective_at: fed.now(),
        }),
    );
    assert!(put(&n, &fed, std::slice::from_ref(&end)).iter().all(Outcome::is_stored));
    record.push(end.id());
    (fed, n, drs, record)
}

/// Every page of the record, `limit` at a time.
fn read_all(store: &Store, limit: usize) -> Vec<EventId> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.events().moderation_page(after, limit).unwrap();
        assert!(page.events.len() <= limit);
        out.extend(page.events.iter().map(|e| e.id()));
        match page.next {
            Some(next) => after = Some(next),
            None => return out,
        }
    }
}

#[test]
fn the_moderation_record_is_read_a_page_at_a_time_oldest_first() {
    let (_fed, n, _drs, record) = setup();
    for limit in [1, 2, 3, 7, 200] {
        assert_eq!(read_all(&n.store, limit), record, "pages of {limit}");
    }
    assert!(n.store.check().unwrap().is_sound(), "{:?}", n.store.check().unwrap());
}

#[test]
fn a_schema_4_store_is_migrated_with_its_moderation_record() {
    let (_fed, n, _drs, record) = setup();
    let (dir, genesis) = (n._dir, n.store.genesis().clone());
    // What schema 4 had: no moderation index, and records as schema 6 wrote them.
    downgrade_to_layout_6(&n.store.tree, &n.store.network());
    for item in n.store.tree.scan_prefix(Space::Moderation.all()) {
        n.store.tree.remove(item.unwrap().0).unwrap();
    }
    n.store.tree.insert(keys::schema(), &4u32.to_be_bytes()).unwrap();
    n.store.db.flush().unwrap();
    drop(n.store);

    let store = Store::open(dir.path(), genesis).unwrap();
    let schema = store.tree.get(keys::schema()).unwrap().unwrap();
    assert_eq!(schema.as_ref(), SCHEMA_VERSION.to_be_bytes());
    assert_eq!(read_all(&store, 2), record);
    assert!(store.check().unwrap().is_sound(), "{:?}", store.check().unwrap());
}

fn report(event: EventId, reporter: &curbside_protocol::SecretKey, at: Timestamp) -> Report {
    Report {
        event,
        reporter: reporter.public(),
        hub: None,
        reason: TakedownReason::Phi,
        note: String::new(),
        at,
    }
}

#[test]
fn reports_are_bounded_per_physician_a_day_per_physician_open_and_per_node() {
    let (mut fed, n, drs) = super::setup();
    let rules = fed.raise_rules(2);
    let posts: Vec<SignedEvent> = (0..6).map(|i| fed.post(&drs[1], &format!("post {i}"))).collect();
    let mut all = vec![rules];
    all.extend(posts.iter().cloned());
    assert!(put(&n, &fed, &all).iter().all(Outcome::is_stored));
    let limits = ReportLimits { per_day: 2, open_per_reporter: 3, open: 4 };
    let events = n.store.events();
    let day = 24 * 60 * 60 * 1000;
    let t0 = fed.now();
    let later = Timestamp::from_millis(t0.as_millis() + day + 1);
    let budget = |r: Result<(), ReportError>| matches!(r, Err(ReportError::Budget(_)));

    events.report(&report(posts[0].id(), &drs[2], t0), &limits).unwrap();
    events.report(&report(posts[1].id(), &drs[2], t0), &limits).unwrap();
    // The same report again replaces itself: it does not count twice.
    events.report(&report(posts[1].id(), &drs[2], t0), &limits).unwrap();
    assert!(budget(events.report(&report(posts[2].id(), &drs[2], t0), &limits)), "2 a day");
    events.report(&report(posts[2].id(), &drs[2], later), &limits).unwrap();
    assert!(budget(events.report(&report(posts[3].id(), &drs[2], later), &limits)), "3 open");
    events.report(&report(posts[3].id(), &drs[3], later), &limits).unwrap();
    assert!(matches!(
        events.report(&report(posts[4].id(), &drs[4], later), &limits),
        Err(ReportError::Full(4))
    ));
    assert_eq!(events.reports().unwrap().len(), 4, "nothing refused was kept");

    // A reported post taken back by its author leaves nothing to moderate:
    // its reports go, and make room.
    let retraction = fed.retract(&drs[1], &posts[0]);
    assert!(put(&n, &fed, &[retraction]).iter().all(Outcome::is_stored));
    let events = n.store.events();
    events.report(&report(posts[4].id(), &drs[4], later), &limits).unwrap();
    let left: Vec<EventId> = events.reports().unwrap().iter().map(|r| r.event).collect();
    assert_eq!(left.len(), 4);
    assert!(!left.contains(&posts[0].id()));
    let filed = n.store.tree.scan_prefix(Space::Reports.all()).count();
    assert_eq!(filed, 4, "the taken-back post's report is deleted, not only hidden");
}

/// A fresh node syncing gets a post and its takedown in one batch: the
/// post must not be stored beside its tombstone (it was, served to readers,
/// until takedowns were committed after their targets as retractions are).
#[test]
fn a_takedown_in_the_same_batch_as_its_target_deletes_it() {
    let (mut fed, n, drs) = super::setup();
    let rules = fed.raise_rules(2);
    let appointment = fed.appoint(&drs[0].public(), None);
    assert!(put(&n, &fed, &[rules, appointment]).iter().all(Outcome::is_stored));
    let post = fed.post(&drs[1], "Leaked name");
    let takedown = fed.take_down(&drs[0], &post);
    let outcomes = put(&n, &fed, &[post.clone(), takedown]);
    assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
    assert!(n.store.events().get(&post.id()).unwrap().is_none(), "the post is gone");
    let hub = "general".parse().unwrap();
    assert!(n.store.events().feed(&hub, None, 50).unwrap().is_empty());
    assert!(n.store.check().unwrap().is_sound(), "{:?}", n.store.check().unwrap());
}

/// `moderator`'s takedown of `target` naming `hub` (not yet accepted).
fn take_down_in(
    fed: &mut Federation,
    moderator: &curbside_protocol::SecretKey,
    target: &SignedEvent,
    hub: &str,
) -> SignedEvent {
    let parent = match target.body() {
        Body::Comment(c) => Some(c.parent),
        _ => None,
    };
    let body = Body::Takedown(curbside_protocol::Takedown {
        target: target.id(),
        target_kind: target.kind(),
        target_author: *target.author(),
        target_created_at: target.created_at(),
        parent,
        hub: hub.parse().unwrap(),
        reason: TakedownReason::Phi,
        note: String::new(),
    });
    fed.sign(moderator, body)
}

/// A moderator of `cardiology` signs takedowns of a post in `general` and
/// of a reply to it, naming `cardiology`. A node that held them when the
/// takedowns came keeps them (the takedowns name another hub); a node that
/// got the takedowns first must keep them too when they come, or the two
/// nodes would hold different content for ever. (The second node refused
/// them as `taken_down`, and sync never fetched them, until a takedown's
/// tombstone was checked against the hub of the event it names.)
#[test]
fn a_takedown_naming_another_hub_takes_nothing_down_in_either_order() {
    let (mut fed, a, drs) = super::setup();
    let (_, b, _) = super::setup();
    let rules = fed.raise_rules(2);
    let appointment = fed.appoint(&drs[0].public(), Some("cardiology"));
    let post = fed.post(&drs[1], "A post in general");
    let reply = fed.comment(&drs[2], &post, "A reply in general");
    let takedowns = [
        take_down_in(&mut fed, &drs[0], &post, "cardiology"),
        take_down_in(&mut fed, &drs[0], &reply, "cardiology"),
    ];
    for n in [&a, &b] {
        assert!(put(n, &fed, &[rules.clone(), appointment.clone()]).iter().all(Outcome::is_stored));
    }
    // A: the content, then the takedowns.
    assert!(put(&a, &fed, &[post.clone(), reply.clone()]).iter().all(Outcome::is_stored));
    assert!(put(&a, &fed, &takedowns).iter().all(Outcome::is_stored));
    // B: the takedowns, then the content.
    assert!(put(&b, &fed, &takedowns).iter().all(Outcome::is_stored));
    let outcomes = put(&b, &fed, &[post.clone(), reply.clone()]);
    assert!(outcomes.iter().all(Outcome::is_stored), "B refused what A keeps: {outcomes:?}");
    for n in [&a, &b] {
        for e in [&post, &reply] {
            assert!(n.store.events().get(&e.id()).unwrap().is_some());
            assert!(n.store.events().tombstone(&e.id()).unwrap().is_none());
        }
        assert!(n.store.check().unwrap().is_sound(), "{:?}", n.store.check().unwrap());
    }
}

/// The control: a takedown naming the right hub holds in either order.
#[test]
fn a_takedown_naming_the_hub_holds_in_either_order() {
    let (mut fed, a, drs) = super::setup();
    let (_, b, _) = super::setup();
    let rules = fed.raise_rules(2);
    let appointment = fed.appoint(&drs[0].public(), Some("general"));
    let post = fed.post(&drs[1], "A post in general");
    let reply = fed.comment(&drs[2], &post, "A reply in general");
    let takedown = take_down_in(&mut fed, &drs[0], &reply, "general");
    for n in [&a, &b] {
        assert!(
            put(n, &fed, &[rules.clone(), appointment.clone(), post.clone()])
                .iter()
                .all(Outcome::is_stored)
        );
    }
    assert!(put(&a, &fed, std::slice::from_ref(&reply)).iter().all(Outcome::is_stored));
    assert!(put(&a, &fed, std::slice::from_ref(&takedown)).iter().all(Outcome::is_stored));
    assert!(put(&b, &fed, std::slice::from_ref(&takedown)).iter().all(Outcome::is_stored));
    assert_eq!(code(&put(&b, &fed, std::slice::from_ref(&reply))[0]), "taken_down");
    for n in [&a, &b] {
        assert!(n.store.events().get(&reply.id()).unwrap().is_none());
        assert!(n.store.events().tombstone(&reply.id()).unwrap().is_some());
    }
}
