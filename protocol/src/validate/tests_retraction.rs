//! Retractions: who may take back what, and what a node refuses after.

use super::*;
use crate::testkit::Federation;
use crate::{Body, Retraction};

/// A federation whose rules (2) have retractions.
fn federation() -> Federation {
    let mut fed = Federation::new();
    fed.raise_rules(2);
    fed
}

fn rejected(fed: &Federation, event: &SignedEvent) -> Rejection {
    match validate(event, fed.view(), Arrival::live(fed.now())) {
        Err(NotAccepted::Invalid(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn a_retracted_post_is_refused_when_it_comes_again() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    fed.accept(&post);
    let retraction = fed.retract(&a, &post);
    fed.accept(&retraction);
    assert!(!fed.view().contains(&post.id()));
    let r = rejected(&fed, &post);
    assert_eq!(r, Rejection::Retracted { id: post.id(), retraction: retraction.id() });
    assert_eq!(r.code(), "retracted");
    assert!(r.is_contextual(), "a slow peer relaying it is not at fault");
}

#[test]
fn a_node_that_never_held_the_target_refuses_it_after_the_retraction() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    let retraction = fed.retract(&a, &post);
    // The post never reached this view: the retraction stands on its own.
    fed.accept(&retraction);
    assert_eq!(rejected(&fed, &post).code(), "retracted");
    // Replies under it are still taken (they stay under the placeholder).
    let b = fed.physician("dr-b");
    let reply = fed.comment(&b, &post, "Check urine osmolality.");
    fed.accept(&reply);
}

#[test]
fn a_retraction_of_someone_elses_event_takes_nothing_back() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let b = fed.physician("dr-b");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    fed.accept(&post);
    // B names A's post as its own: valid as an event, but it applies to
    // nothing, on a node holding the post or not.
    let false_claim = fed.retract(&b, &post);
    fed.accept(&false_claim);
    assert!(fed.view().contains(&post.id()));
    assert!(fed.view().tombstone(&post.id()).is_none());

    let mut fresh = federation();
    let a2 = fresh.physician("dr-a");
    let b2 = fresh.physician("dr-b");
    let post2 = fresh.post(&a2, "Hyponatraemia after a marathon");
    let claim2 = fresh.retract(&b2, &post2);
    fresh.accept(&claim2);
    // Where the post was never held, the claim makes a tombstone naming B;
    // A's post does not match it and is accepted when it comes.
    fresh.accept(&post2);
}

#[test]
fn only_contents_can_be_retracted_and_the_parent_must_be_named() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    fed.accept(&post);
    let mut r = Retraction::of(&post, "");
    r.target_kind = Kind::Charter;
    let bad = fed.sign(&a, Body::Retraction(r));
    assert_eq!(rejected(&fed, &bad).code(), "not_retractable");

    let mut r = Retraction::of(&post, "");
    r.parent = Some(post.id());
    let bad = fed.sign(&a, Body::Retraction(r));
    assert_eq!(rejected(&fed, &bad).code(), "invalid_field");

    let r = Retraction::of(&post, "call 617-555-0142 for the notes");
    let bad = fed.sign(&a, Body::Retraction(r));
    assert_eq!(rejected(&fed, &bad).code(), "identifying_text");
}

#[test]
fn a_retracted_comment_waits_for_its_parent_and_a_stranger_cannot_retract() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    let reply = fed.comment(&a, &post, "Na 128 mmol/L");
    let retraction = fed.retract(&a, &reply);
    match validate(&retraction, fed.view(), Arrival::live(fed.now())) {
        Err(NotAccepted::Missing(Dependency::Event(id))) => assert_eq!(id, post.id()),
        other => panic!("expected to wait for the parent, got {other:?}"),
    }
    fed.accept(&post);
    fed.accept(&retraction);
    let stranger = crate::testkit::key("stranger");
    let theirs = fed.retract(&stranger, &post);
    assert!(matches!(
        validate(&theirs, fed.view(), Arrival::live(fed.now())),
        Err(NotAccepted::Missing(Dependency::Attestation(_)))
    ));
}

#[test]
fn a_vote_on_a_retracted_poll_is_kept_but_counts_nowhere() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let b = fed.physician("dr-b");
    let poll = fed.poll(&a, &["yes", "no"], &[]);
    fed.accept(&poll);
    let vote = fed.vote(&b, &poll, 0);
    let retraction = fed.retract(&a, &poll);
    fed.accept(&retraction);
    assert!(fed.view().poll(&poll.id()).is_none());
    fed.accept(&vote);
}

#[test]
fn a_retraction_counts_only_from_rules_2() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    fed.accept(&post);
    let early = fed.retract(&a, &post);
    let r = rejected(&fed, &early);
    assert_eq!(r, Rejection::KindNotInForce { kind: Kind::Retraction, since: 2, rules: 1 });
    assert_eq!(r.code(), "kind_not_in_force");
    assert!(r.is_contextual(), "a node may not hold the rules change yet");
    fed.raise_rules(2);
    // Still refused: it is dated before the rules took effect.
    assert_eq!(rejected(&fed, &early).code(), "kind_not_in_force");
    let now = fed.retract(&a, &post);
    fed.accept(&now);
}

#[test]
fn a_moderator_takes_down_and_a_non_moderator_is_refused() {
    let mut fed = federation();
    let author = fed.physician("dr-a");
    let moderator = fed.physician("dr-mod");
    let other = fed.physician("dr-other");
    let post = fed.post(&author, "Hyponatraemia after a marathon");
    fed.accept(&post);
    // Not (yet) a moderator: refused with its own code.
    let early = fed.take_down(&moderator, &post);
    let r = rejected(&fed, &early);
    assert_eq!(r.code(), "not_moderator");
    assert!(r.is_contextual(), "the appointment may not have reached this node");
    // Appointed for another hub: still refused.
    fed.appoint(&other.public(), Some("cardiology"));
    let elsewhere = fed.take_down(&other, &post);
    assert_eq!(rejected(&fed, &elsewhere).code(), "not_moderator");
    fed.appoint(&moderator.public(), Some("general"));
    let takedown = fed.take_down(&moderator, &post);
    fed.accept(&takedown);
    assert!(!fed.view().contains(&post.id()));
    let r = rejected(&fed, &post);
    assert_eq!(r, Rejection::TakenDown { id: post.id(), takedown: takedown.id() });
    assert_eq!(r.code(), "taken_down");
}

#[test]
fn only_a_root_appoints_and_an_appointment_can_be_ended() {
    let mut fed = federation();
    let moderator = fed.physician("dr-mod");
    let author = fed.physician("dr-a");
    let body = Body::Appointment(crate::Appointment {
        moderator: moderator.public(),
        hub: None,
        valid_until: fed.now().plus_days(1),
    });
    let by_physician = fed.sign(&author, body);
    assert_eq!(rejected(&fed, &by_physician).code(), "not_root");
    let appointment = fed.appoint(&moderator.public(), None);
    // The root ends it: later takedowns are refused.
    let at = fed.tick();
    let end = fed.sign_at(
        &crate::testkit::key("root"),
        at,
        Body::Revocation(crate::Revocation {
            target: appointment.id(),
            reason: "term ended".into(),
            effective_at: at,
        }),
    );
    fed.accept(&end);
    let post = fed.post(&author, "Hyponatraemia after a marathon");
    fed.accept(&post);
    let after_end = fed.take_down(&moderator, &post);
    assert_eq!(rejected(&fed, &after_end).code(), "not_moderator");
}
