//! The rules of an author's [`Edit`] of their own post, case or comment
//! (rules 4).
//!
//! The new content is judged as the original's kind is, at the edit's
//! time: the same shape rules and the same guard. What it says of the
//! original (kind, author, time, hub or parent) is checked against the
//! original where the original is held; where it is not (a node that
//! synced after every peer replaced its text) the edit stands on its own,
//! as a [`crate::Retraction`] does, and its effect is decided by what it
//! claims ([`crate::Tombstone::of`]). The verdicts, by what a node holds
//! of the original:
//!
//! | held | verdict |
//! | --- | --- |
//! | the original | valid if it is a post, case or comment of the revision's kind, by the edit's author, at the time and in the hub the edit names |
//! | a tombstone left by an edit | valid if the tombstone is what the edit claims; else waits for the original |
//! | a tombstone left by a retraction, or a takedown that holds | `target_taken_back` if it is what the edit claims; else waits for the original |
//! | nothing | valid on its own |
//!
//! "Waits for the original": a node that never held it knows it only by
//! what was claimed of it, perhaps falsely by another key, so the original
//! itself settles it if it ever comes (and the edit expires from the
//! pending set, stored nowhere, if it never does). That keeps every node's
//! verdict the same or "not stored", whatever order things arrived in.

use super::rules::{case, comment, invalid, post};
use super::{Dependency, NotAccepted, Rejection, TrustView};
use crate::rules::RuleSet;
use crate::{Edit, EventSummary, HubId, Kind, Params, Revision, SignedEvent};

/// An edit: rules 4, a revision valid as its kind at the edit's time, an
/// original dated no later than the edit, and an original that is the
/// author's own and not taken back.
pub(super) fn edit(
    event: &SignedEvent,
    e: &Edit,
    view: &impl TrustView,
    params: Params,
) -> Result<(), NotAccepted> {
    let at = event.created_at();
    let rules = view.rules_at(at);
    if rules < RuleSet::V4 {
        return Err(Rejection::KindNotInForce {
            kind: Kind::Edit,
            since: RuleSet::V4.version(),
            rules: rules.version(),
        }
        .into());
    }
    if e.target_created_at > at.plus_millis(params.max_clock_skew_ms) {
        return Err(invalid("edit.target_created_at", "is after the edit"));
    }
    match &e.content {
        Revision::Post(p) => post(p, at, view)?,
        Revision::Case(c) => case(c, at, view)?,
        Revision::Comment(c) => {
            comment(c, at, view, params)?;
            // The original replied no earlier than its parent either.
            if let Some(parent) = view.summary(&c.parent)
                && e.target_created_at.plus_millis(params.max_clock_skew_ms) < parent.created_at
            {
                return Err(invalid("edit.target_created_at", "is before the comment's parent"));
            }
        }
    }
    original(event, e, view)
}

/// What the edit says of its original, against what is held of it.
fn original(event: &SignedEvent, e: &Edit, view: &impl TrustView) -> Result<(), NotAccepted> {
    let target = e.target;
    let claimed = EventSummary {
        kind: e.content.kind(),
        author: *event.author(),
        created_at: e.target_created_at,
    };
    let hub = place(&e.content, view);
    if let Some(t) = view.tombstone(&target) {
        // A takedown naming another hub than the original's took nothing
        // down where the original was held (`takedown_holds`).
        if t.taken_down() && (hub.is_none() || view.takedown_hub(&t.retraction) != hub) {
            return Ok(());
        }
        if !t.matches(&claimed) || t.parent != e.content.parent() {
            return Err(NotAccepted::Missing(Dependency::Event(target)));
        }
        let by_edit =
            !t.taken_down() && view.summary(&t.retraction).is_some_and(|s| s.kind == Kind::Edit);
        if by_edit {
            return Ok(());
        }
        return Err(Rejection::TargetTakenBack { target, by: t.retraction }.into());
    }
    let Some(held) = view.summary(&target) else {
        return Ok(()); // never held here: the edit stands on its own
    };
    if held.kind != claimed.kind {
        let expected = match claimed.kind {
            Kind::Post => "a post (the revision's kind)",
            Kind::Case => "a case (the revision's kind)",
            _ => "a comment (the revision's kind)",
        };
        return Err(Rejection::WrongTargetKind {
            kind: Kind::Edit,
            target,
            found: held.kind,
            expected,
        }
        .into());
    }
    if held.author != claimed.author {
        return Err(
            Rejection::NotTargetAuthor { kind: Kind::Edit, target, owner: held.author }.into()
        );
    }
    if held.created_at != claimed.created_at {
        return Err(invalid("edit.target_created_at", "is not the original's time"));
    }
    if let (Some(own), Some(named)) = (view.thread_hub(&target), hub)
        && own != named
    {
        return Err(invalid("edit.content", "places the original in another hub than its own"));
    }
    Ok(())
}

/// The hub the revision places its original in: a post's or case's own,
/// a comment's thread's (if the validator can tell).
fn place(content: &Revision, view: &impl TrustView) -> Option<HubId> {
    match content {
        Revision::Post(p) => Some(p.hub.clone()),
        Revision::Case(c) => Some(c.hub.clone()),
        Revision::Comment(c) => view.thread_hub(&c.parent),
    }
}
