//! The rules of what an author adds to their own case, thread or poll
//! (rules 3): an [`Outcome`], an [`Accept`] and a [`PollAnswer`].
//!
//! Each names its target, which must be held (it is waited for, as a
//! comment's parent is) and must be the author's own. A target that was
//! taken back still has its summary (its tombstone's), so these rules
//! give the same verdict on a node that learnt of the retraction first
//! and on one that learnt of it last; what is shown of a target taken
//! back is nothing, whatever is added to it.

use super::rules::invalid;
use super::text::free_text;
use super::{Dependency, NotAccepted, Rejection, TrustView};
use crate::rules::RuleSet;
use crate::{Accept, EventId, EventSummary, Kind, Outcome, PollAnswer, SignedEvent, limits};

/// Refuses `kind` before rules 3 are in force at `at`.
fn in_force(
    kind: Kind,
    view: &impl TrustView,
    event: &SignedEvent,
) -> Result<RuleSet, NotAccepted> {
    let rules = view.rules_at(event.created_at());
    if rules < RuleSet::V3 {
        return Err(Rejection::KindNotInForce {
            kind,
            since: RuleSet::V3.version(),
            rules: rules.version(),
        }
        .into());
    }
    Ok(rules)
}

/// The target's summary (waited for if not held), of one of `expected`
/// kinds, by the event's author.
fn own_target(
    event: &SignedEvent,
    target: EventId,
    expected: &[Kind],
    expected_text: &'static str,
    view: &impl TrustView,
) -> Result<EventSummary, NotAccepted> {
    let kind = event.kind();
    let summary = view.summary(&target).ok_or(NotAccepted::Missing(Dependency::Event(target)))?;
    let fits = expected.contains(&summary.kind) && summary.author == *event.author();
    if !fits && view.tombstone(&target).is_some() {
        // A node that never held a target taken back knows it only from
        // what the retraction claims, which may be another's false claim:
        // the target itself settles it, if it ever comes (else the event
        // expires from the pending set, stored nowhere).
        return Err(NotAccepted::Missing(Dependency::Event(target)));
    }
    if !expected.contains(&summary.kind) {
        return Err(Rejection::WrongTargetKind {
            kind,
            target,
            found: summary.kind,
            expected: expected_text,
        }
        .into());
    }
    if summary.author != *event.author() {
        return Err(Rejection::NotTargetAuthor { kind, target, owner: summary.author }.into());
    }
    Ok(summary)
}

/// An outcome: rules 3, a case by the same author, a one-line diagnosis
/// and an optional text, both through the guard.
pub(super) fn outcome(
    event: &SignedEvent,
    o: &Outcome,
    view: &impl TrustView,
) -> Result<(), NotAccepted> {
    let rules = in_force(Kind::Outcome, view, event)?;
    free_text(view, rules, "outcome.diagnosis", &o.diagnosis, 1, limits::TITLE)?;
    if o.diagnosis.contains('\n') {
        return Err(invalid("outcome.diagnosis", "is one line"));
    }
    free_text(view, rules, "outcome.text", &o.text, 0, limits::TEXT)?;
    own_target(event, o.case, &[Kind::Case], "a case", view)?;
    Ok(())
}

/// An accept: rules 3, a post or case by the same author as its thread,
/// and a comment in that thread. A comment taken back has no thread a
/// node can be sure of: the accept stands on its thread alone then, and
/// marks nothing.
pub(super) fn accept(
    event: &SignedEvent,
    a: &Accept,
    view: &impl TrustView,
) -> Result<(), NotAccepted> {
    in_force(Kind::Accept, view, event)?;
    own_target(event, a.thread, &[Kind::Post, Kind::Case], "a post or a case", view)?;
    let comment =
        view.summary(&a.comment).ok_or(NotAccepted::Missing(Dependency::Event(a.comment)))?;
    if comment.kind != Kind::Comment {
        return Err(Rejection::WrongTargetKind {
            kind: Kind::Accept,
            target: a.comment,
            found: comment.kind,
            expected: "a comment",
        }
        .into());
    }
    if view.tombstone(&a.comment).is_some() {
        return Ok(());
    }
    match view.thread_root(&a.comment) {
        Some(root) if root == a.thread => Ok(()),
        Some(root) => {
            Err(Rejection::NotInThread { comment: a.comment, thread: a.thread, root }.into())
        }
        // Held but its root not known yet: a parent is still on its way.
        None => Err(NotAccepted::Missing(Dependency::Event(a.comment))),
    }
}

/// A poll answer: rules 3, a poll by the same author, closed by the
/// answer's time, and one of its options. A poll taken back has no
/// options left to check: the answer is kept and counts nowhere, as a
/// vote on it is.
pub(super) fn poll_answer(
    event: &SignedEvent,
    p: &PollAnswer,
    view: &impl TrustView,
) -> Result<(), NotAccepted> {
    in_force(Kind::PollAnswer, view, event)?;
    own_target(event, p.poll, &[Kind::Poll], "a poll", view)?;
    if view.tombstone(&p.poll).is_some() {
        return Ok(());
    }
    let Some(poll) = view.poll(&p.poll) else {
        return Err(NotAccepted::Missing(Dependency::Event(p.poll)));
    };
    if event.created_at() < poll.closes_at {
        return Err(Rejection::PollStillOpen {
            poll: p.poll,
            closes_at: poll.closes_at,
            answered_at: event.created_at(),
        }
        .into());
    }
    if usize::from(p.option) >= poll.options {
        return Err(Rejection::NoSuchOption { option: p.option, options: poll.options }.into());
    }
    Ok(())
}
