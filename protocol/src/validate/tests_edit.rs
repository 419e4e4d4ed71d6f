//! Edits (rules 4): only the original's author, only a post, case or
//! comment, the revision judged as its kind, standing on its own where the
//! original is not held, refused once the original is taken back, and no
//! earlier than rules 4.

use super::*;
use crate::testkit::Federation;
use crate::{Body, Edit, HubId, Post, Revision, edit_supersedes};

/// A federation whose rules (4) have edits.
fn federation() -> Federation {
    let mut fed = Federation::new();
    fed.raise_rules(4);
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
fn the_author_edits_a_post_a_case_and_a_comment() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    let case = fed.case(&a, "Chest tightness on exertion");
    fed.accept(&post);
    fed.accept(&case);
    let reply = fed.comment(&a, &case, "CTCA first.");
    fed.accept(&reply);
    for original in [&post, &case, &reply] {
        let edit = fed.edit(&a, original, "Corrected: a stress test first.");
        assert_eq!(verdict(&fed, &edit), Ok(()), "an edit of a {}", original.kind());
    }
}

#[test]
fn no_one_else_edits_it() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let b = fed.physician("dr-b");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    fed.accept(&post);
    let theirs = fed.edit(&b, &post, "Nothing to see here.");
    assert_eq!(code(&fed, &theirs), "not_target_author");
    assert!(
        !matches!(verdict(&fed, &theirs), Err(NotAccepted::Invalid(ref r)) if r.is_contextual())
    );
}

#[test]
fn polls_votes_and_edits_are_not_edited() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let poll = fed.poll(&a, &["Metformin", "SGLT2 inhibitor"], &[]);
    fed.accept(&poll);
    // A revision of a post naming the poll: the poll is not a post.
    let post = fed.post(&a, "Which first?");
    let Body::Post(content) = post.body().clone() else { unreachable!() };
    let edit = Edit {
        target: poll.id(),
        target_created_at: poll.created_at(),
        content: Revision::Post(content),
    };
    let of_poll = fed.sign(&a, Body::Edit(edit));
    assert_eq!(code(&fed, &of_poll), "wrong_target_kind");
    assert_eq!(
        Edit::of(
            &poll,
            Revision::Post(Post {
                hub: HubId::new("general").unwrap(),
                title: "t".into(),
                body: "b".into()
            })
        ),
        None
    );
    // An edit names the original, never an earlier edit.
    let original = fed.post(&a, "Hyponatraemia after a marathon");
    fed.accept(&original);
    let first = fed.edit(&a, &original, "Na 128.");
    fed.accept(&first);
    let Body::Edit(e) = first.body().clone() else { unreachable!() };
    let of_edit = fed.sign(
        &a,
        Body::Edit(Edit { target: first.id(), target_created_at: first.created_at(), ..e }),
    );
    assert_eq!(code(&fed, &of_edit), "wrong_target_kind");
}

#[test]
fn the_revision_passes_the_guard_and_the_shape_rules_of_its_kind() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    let case = fed.case(&a, "Chest tightness on exertion");
    fed.accept(&post);
    fed.accept(&case);
    let phone = fed.edit(&a, &post, "Call her on 617-555-0142.");
    assert_eq!(code(&fed, &phone), "identifying_text");
    let mrn = fed.edit(&a, &case, "Seen on MRN 12345678.");
    assert_eq!(code(&fed, &mrn), "identifying_text");
    let empty = fed.edit(&a, &post, " ");
    assert_eq!(code(&fed, &empty), "invalid_field");
    // Its hub is the original's.
    let Body::Post(p) = post.body().clone() else { unreachable!() };
    let moved = Post { hub: HubId::new("cardiology").unwrap(), ..p };
    let edit = Edit::of(&post, Revision::Post(moved)).unwrap();
    let elsewhere = fed.sign(&a, Body::Edit(edit));
    assert_eq!(code(&fed, &elsewhere), "invalid_field");
}

#[test]
fn what_it_says_of_the_original_must_be_true() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    fed.accept(&post);
    let Body::Edit(mut e) = fed.edit(&a, &post, "Na 128.").body().clone() else { unreachable!() };
    e.target_created_at = post.created_at().plus_millis(1);
    let wrong_time = fed.sign(&a, Body::Edit(e.clone()));
    assert_eq!(code(&fed, &wrong_time), "invalid_field");
    e.target_created_at = fed.now().plus_millis(3_600_000);
    let future = fed.sign(&a, Body::Edit(e));
    assert_eq!(code(&fed, &future), "invalid_field");
}

#[test]
fn an_original_never_held_is_edited_on_the_edits_word() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    // The original never reaches this view (its text was replaced
    // everywhere before this node synced).
    let edit = fed.edit(&a, &post, "Na 128; urine osmolality 620.");
    assert_eq!(verdict(&fed, &edit), Ok(()));
    fed.accept(&edit);
    // The original, if it still comes, is refused: its text was replaced.
    assert_eq!(code(&fed, &post), "edited");
    // A later edit by the same author stands too; another's claim waits
    // for the original, which alone can settle it.
    let later = fed.edit(&a, &post, "Na 126 the next day.");
    assert_eq!(verdict(&fed, &later), Ok(()));
    let b = fed.physician("dr-b");
    let theirs = fed.edit(&b, &post, "Forged.");
    assert_eq!(verdict(&fed, &theirs), Err(NotAccepted::Missing(Dependency::Event(post.id()))));
}

#[test]
fn an_edited_original_arriving_late_is_refused_as_edited() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    fed.accept(&post);
    let edit = fed.edit(&a, &post, "Na 128.");
    fed.accept(&edit);
    // Its text was deleted when the edit applied: a copy is refused.
    assert_eq!(code(&fed, &post), "edited");
    assert!(matches!(verdict(&fed, &post), Err(NotAccepted::Invalid(ref r)) if r.is_contextual()));
}

#[test]
fn an_original_taken_back_is_not_edited() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    fed.accept(&post);
    let edit = fed.edit(&a, &post, "Na 128.");
    fed.accept(&edit);
    let retraction = fed.retract(&a, &post);
    assert_eq!(verdict(&fed, &retraction), Ok(()));
    fed.accept(&retraction);
    let after = fed.edit(&a, &post, "Na 126.");
    assert_eq!(code(&fed, &after), "target_taken_back");
    // And the original itself stays refused, now as retracted.
    assert_eq!(code(&fed, &post), "retracted");
    // Never held and retracted first: the same.
    let other = fed.post(&a, "Hypokalaemia");
    let retraction = fed.retract(&a, &other);
    fed.accept(&retraction);
    let edit = fed.edit(&a, &other, "Hypokalaemia on diuretics.");
    assert_eq!(code(&fed, &edit), "target_taken_back");
}

#[test]
fn edits_are_not_in_force_before_rules_4() {
    let mut fed = Federation::new();
    fed.raise_rules(3);
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    fed.accept(&post);
    let edit = fed.edit(&a, &post, "Na 128.");
    assert_eq!(code(&fed, &edit), "kind_not_in_force");
    assert!(matches!(verdict(&fed, &edit), Err(NotAccepted::Invalid(ref r)) if r.is_contextual()));
}

#[test]
fn the_latest_edit_wins_whatever_the_order() {
    let early = (Timestamp::from_millis(1), EventId::from_bytes([9; 32]));
    let late = (Timestamp::from_millis(2), EventId::from_bytes([1; 32]));
    let tie = (Timestamp::from_millis(2), EventId::from_bytes([2; 32]));
    assert!(edit_supersedes(late, early));
    assert!(!edit_supersedes(early, late));
    assert!(edit_supersedes(tie, late));
    assert!(!edit_supersedes(late, tie));
}

#[test]
fn the_retraction_of_an_edit_shown_in_its_originals_place_retracts_the_original() {
    let mut fed = federation();
    let a = fed.physician("dr-a");
    let case = fed.case(&a, "Chest tightness on exertion");
    fed.accept(&case);
    let reply = fed.comment(&a, &case, "CTCA first.");
    fed.accept(&reply);
    for original in [&case, &reply] {
        let edit = fed.edit(&a, original, "Corrected: a stress test first.");
        fed.accept(&edit);
        // What a reader holds of an edited event is its edit in force.
        let from_edit = crate::Retraction::of(&edit, "wrong hub");
        assert_eq!(from_edit, crate::Retraction::of(original, "wrong hub"));
        let retraction = fed.sign(&a, Body::Retraction(from_edit));
        assert_eq!(verdict(&fed, &retraction), Ok(()), "retracting an edited {}", original.kind());
    }
}
