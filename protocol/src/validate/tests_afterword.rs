//! Outcomes, accepts and poll answers (rules 3): only the target's
//! author, the right kind of target, waited for when not held, the
//! guard on the outcome's text, and no earlier than rules 3.

use super::*;
use crate::testkit::Federation;
use crate::{Body, Outcome, afterword_supersedes};

/// A federation whose rules (3) have outcomes.
fn federation() -> Federation {
    let mut fed = Federation::new();
    fed.raise_rules(3);
    fed
}

fn verdict(fed: &Federation, event: &SignedEvent) -> Result<(), NotAccepted> {
    validate(event, fed.view(), Arrival::live(fed.now())).map(|_| ())
}

fn code(fed: &Federation, event: &SignedEvent) -> &'static str {
    match verdict(fed, event) {
        Err(NotAccepted::Invalid(r)) => r.code(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn the_cases_author_adds_its_outcome_and_no_one_else_can() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let b = fed.physician("dr-b");
    let case = fed.case(&a, "Chest tightness on exertion");
    fed.accept(&case);
    let outcome = fed.outcome(&a, &case, "Stable angina; LAD stenosis on CTCA");
    fed.accept(&outcome);
    let theirs = fed.outcome(&b, &case, "Costochondritis");
    assert_eq!(code(&fed, &theirs), "not_target_author");
    assert!(!matches!(
        verdict(&fed, &theirs),
        Err(NotAccepted::Invalid(ref r)) if r.is_contextual()
    ));
}

#[test]
fn an_outcome_names_a_case_and_waits_for_it() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    fed.accept(&post);
    let on_post = fed.outcome(&a, &post, "SIADH");
    assert_eq!(code(&fed, &on_post), "wrong_target_kind");
    let case = fed.case(&a, "Chest tightness on exertion");
    let early = fed.outcome(&a, &case, "Stable angina");
    assert_eq!(verdict(&fed, &early), Err(NotAccepted::Missing(Dependency::Event(case.id()))));
    fed.accept(&case);
    fed.accept(&early);
}

#[test]
fn the_guard_applies_to_the_diagnosis_and_the_text() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let case = fed.case(&a, "Chest tightness on exertion");
    fed.accept(&case);
    let phone = fed.outcome(&a, &case, "Angina; call her on 617-555-0142");
    assert_eq!(code(&fed, &phone), "identifying_text");
    let body = Outcome {
        case: case.id(),
        diagnosis: "Stable angina".into(),
        text: "Seen again on MRN 12345678 after PCI.".into(),
    };
    let in_text = fed.sign(&a, Body::Outcome(body));
    assert_eq!(code(&fed, &in_text), "identifying_text");
    let two_lines = fed.outcome(&a, &case, "Stable angina\nand anxiety");
    assert_eq!(code(&fed, &two_lines), "invalid_field");
    let empty = fed.outcome(&a, &case, " ");
    assert_eq!(code(&fed, &empty), "invalid_field");
    let long = fed.outcome(&a, &case, &"a".repeat(crate::limits::TITLE + 1));
    assert_eq!(code(&fed, &long), "invalid_field");
}

#[test]
fn the_new_kinds_are_refused_before_rules_3() {
    let mut fed = Federation::new();
    fed.raise_rules(2);
    let a = fed.physician("dr-a");
    let case = fed.case(&a, "Chest tightness on exertion");
    fed.accept(&case);
    let outcome = fed.outcome(&a, &case, "Stable angina");
    let reply = fed.comment(&a, &case, "Thanks all.");
    fed.accept(&reply);
    let accept = fed.accept_answer(&a, &reply, &case);
    let poll = fed.poll(&a, &["yes", "no"], &[]);
    fed.accept(&poll);
    let answer = fed.poll_answer(&a, &poll, 0, fed.now().plus_days(2));
    for event in [&outcome, &accept] {
        match verdict(&fed, event) {
            Err(NotAccepted::Invalid(Rejection::KindNotInForce { since: 3, rules: 2, .. })) => {}
            other => panic!("{}: expected kind_not_in_force, got {other:?}", event.kind()),
        }
    }
    let later = Arrival::live(fed.now().plus_days(2));
    match validate(&answer, fed.view(), later) {
        Err(NotAccepted::Invalid(r)) => assert_eq!(r.code(), "kind_not_in_force"),
        other => panic!("expected kind_not_in_force, got {other:?}"),
    }
    // The same events once rules 3 are in force.
    fed.raise_rules(3);
    let outcome = fed.outcome(&a, &case, "Stable angina");
    fed.accept(&outcome);
}

#[test]
fn the_threads_author_accepts_a_comment_in_that_thread_only() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let b = fed.physician("dr-b");
    let case = fed.case(&a, "Chest tightness on exertion");
    let other = fed.case(&a, "Syncope on standing");
    fed.accept(&case);
    fed.accept(&other);
    let reply = fed.comment(&b, &case, "CTCA first: low pretest probability.");
    fed.accept(&reply);
    let nested = fed.comment(&b, &reply, "And a lipid panel.");
    fed.accept(&nested);
    // B wrote the comment, not the case.
    let by_b = fed.accept_answer(&b, &reply, &case);
    assert_eq!(code(&fed, &by_b), "not_target_author");
    // The comment is not in that thread.
    let wrong = fed.accept_answer(&a, &reply, &other);
    assert_eq!(code(&fed, &wrong), "not_in_thread");
    // A case is not a comment.
    let not_comment = fed.accept_answer(&a, &other, &case);
    assert_eq!(code(&fed, &not_comment), "wrong_target_kind");
    // A nested reply is in the thread too.
    let accept = fed.accept_answer(&a, &nested, &case);
    fed.accept(&accept);
}

#[test]
fn an_accept_waits_for_its_comment_and_its_thread() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let b = fed.physician("dr-b");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    let reply = fed.comment(&b, &post, "Fluid restrict.");
    let accept = fed.accept_answer(&a, &reply, &post);
    assert_eq!(verdict(&fed, &accept), Err(NotAccepted::Missing(Dependency::Event(post.id()))));
    fed.accept(&post);
    assert_eq!(verdict(&fed, &accept), Err(NotAccepted::Missing(Dependency::Event(reply.id()))));
    fed.accept(&reply);
    fed.accept(&accept);
}

#[test]
fn a_poll_answer_comes_from_the_polls_author_after_it_closed() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let b = fed.physician("dr-b");
    let poll = fed.poll(&a, &["Metformin", "Insulin"], &[]);
    fed.accept(&poll);
    let Body::Poll(p) = poll.body() else { unreachable!() };
    let closes_at = p.closes_at;
    let after = Arrival::live(closes_at.plus_millis(1_000));
    let check = |fed: &Federation, e: &SignedEvent| match validate(e, fed.view(), after) {
        Err(NotAccepted::Invalid(r)) => r.code(),
        Err(other) => panic!("expected a rejection, got {other:?}"),
        Ok(_) => "accepted",
    };
    let early = fed.poll_answer(&a, &poll, 0, closes_at.plus_millis(0).minus_millis(1));
    assert_eq!(check(&fed, &early), "poll_still_open");
    let theirs = fed.poll_answer(&b, &poll, 0, closes_at);
    assert_eq!(check(&fed, &theirs), "not_target_author");
    let no_option = fed.poll_answer(&a, &poll, 2, closes_at);
    assert_eq!(check(&fed, &no_option), "no_such_option");
    let answer = fed.poll_answer(&a, &poll, 1, closes_at);
    assert_eq!(check(&fed, &answer), "accepted");
}

#[test]
fn additions_to_a_retracted_target_stay_valid_whatever_the_order() {
    // Node 1 holds the case and then its retraction; node 2 got the
    // retraction first and the case never. Both accept the outcome.
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let case = fed.case(&a, "Chest tightness on exertion");
    let outcome = fed.outcome(&a, &case, "Stable angina");
    let retraction = fed.retract(&a, &case);
    let mut second = fed.view().clone();
    fed.accept(&case);
    fed.accept(&retraction);
    fed.accept(&outcome);
    let arrival = Arrival::live(fed.now());
    let r = validate(&retraction, &second, arrival).expect("the retraction stands alone");
    second.insert(&r.to_verified());
    assert!(validate(&outcome, &second, arrival).is_ok());
}

#[test]
fn the_latest_addition_wins_whatever_the_order() {
    let id = |b: u8| EventId::from_bytes([b; 32]);
    let t = Timestamp::from_millis;
    let events = [(t(5), id(1)), (t(7), id(0)), (t(7), id(9)), (t(6), id(200))];
    let winner = |order: &[usize]| {
        let mut best: Option<(Timestamp, EventId)> = None;
        for &i in order {
            if best.is_none_or(|b| afterword_supersedes(events[i], b)) {
                best = Some(events[i]);
            }
        }
        best
    };
    let expected = Some((t(7), id(9)));
    for order in [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1], [1, 3, 0, 2]] {
        assert_eq!(winner(&order), expected, "order {order:?}");
    }
    assert!(!afterword_supersedes(events[2], events[2]), "an event does not replace itself");
}

#[test]
fn a_false_retraction_does_not_decide_who_may_add_an_outcome() {
    // B names A's case in a retraction of its own; a node that never held
    // the case has only B's claim. A's outcome waits for the case itself
    // rather than being refused on the strength of that claim.
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let b = fed.physician("dr-b");
    let case = fed.case(&a, "Chest tightness on exertion");
    let false_claim = fed.retract(&b, &case);
    fed.accept(&false_claim);
    let outcome = fed.outcome(&a, &case, "Stable angina");
    assert_eq!(verdict(&fed, &outcome), Err(NotAccepted::Missing(Dependency::Event(case.id()))));
    // The case arrives (the false tombstone does not match it): A's
    // outcome is then judged on the case.
    fed.accept(&case);
    fed.accept(&outcome);
}
