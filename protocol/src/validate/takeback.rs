//! The rules of taking content back: an author's [`Retraction`], a
//! moderator's [`Takedown`], and the root's [`Appointment`] of moderators.
//! All three are kinds of rules 2. A retraction or takedown repeats what
//! it takes back, so its validity never depends on whether the target is
//! held (docs/PROTOCOL.md, Retractions).

use super::rules::{expires_after, hub, invalid};
use super::text::{free_text, text};
use super::{Arrival, Dependency, NotAccepted, Rejection, TrustView};
use crate::rules::RuleSet;
use crate::{
    Appointment, EventId, HubId, Kind, Params, PublicKey, Retraction, SignedEvent, Takedown,
    Timestamp, limits,
};

/// Refuses `kind` before rules 2 are in force at `at`.
fn in_force(kind: Kind, view: &impl TrustView, at: Timestamp) -> Result<RuleSet, NotAccepted> {
    let rules = view.rules_at(at);
    if rules < RuleSet::V2 {
        return Err(Rejection::KindNotInForce {
            kind,
            since: RuleSet::V2.version(),
            rules: rules.version(),
        }
        .into());
    }
    Ok(rules)
}

/// What a retraction and a takedown say of their target: a retractable
/// kind, a parent exactly for a comment or a vote (waited for, as the
/// reply or vote itself was), a time not after the event saying it.
fn target(
    target: EventId,
    kind: Kind,
    created_at: Timestamp,
    parent: Option<EventId>,
    at: Timestamp,
    view: &impl TrustView,
    params: Params,
) -> Result<(), NotAccepted> {
    if !kind.is_retractable() {
        return Err(Rejection::NotRetractable { target, kind }.into());
    }
    if parent.is_some() != matches!(kind, Kind::Comment | Kind::Vote) {
        return Err(invalid(
            "parent",
            "names the parent of a comment or the poll of a vote, and nothing for other kinds",
        ));
    }
    if created_at > at.plus_millis(params.max_clock_skew_ms) {
        return Err(invalid("target_created_at", "is after the event taking it back"));
    }
    if let Some(parent) = parent
        && view.summary(&parent).is_none()
    {
        return Err(NotAccepted::Missing(Dependency::Event(parent)));
    }
    Ok(())
}

/// A retraction: rules 2, its target's description, an optional reason
/// that passes the guard. Its author must be the target's: that is what
/// its effect checks ([`crate::Tombstone::of`]), not its validity.
pub(super) fn retraction(
    r: &Retraction,
    at: Timestamp,
    view: &impl TrustView,
    params: Params,
) -> Result<(), NotAccepted> {
    let rules = in_force(Kind::Retraction, view, at)?;
    target(r.target, r.target_kind, r.target_created_at, r.parent, at, view, params)?;
    if !r.reason.is_empty() {
        free_text(view, rules, "retraction.reason", &r.reason, 1, limits::REASON)?;
    }
    Ok(())
}

/// A takedown: rules 2, its target's description, a note that passes the
/// guard, a hub that exists, and an author who moderates that hub when
/// the takedown was made and when it was received.
pub(super) fn takedown(
    event: &SignedEvent,
    t: &Takedown,
    view: &impl TrustView,
    arrival: Arrival,
    params: Params,
) -> Result<(), NotAccepted> {
    let at = event.created_at();
    let rules = in_force(Kind::Takedown, view, at)?;
    target(t.target, t.target_kind, t.target_created_at, t.parent, at, view, params)?;
    if !t.note.is_empty() {
        free_text(view, rules, "takedown.note", &t.note, 1, limits::REASON)?;
    }
    hub(view, &t.hub)?;
    for when in [Some(at), arrival.received_at()].into_iter().flatten() {
        moderates(view, event.author(), &t.hub, when)?;
    }
    Ok(())
}

/// An appointment (a root's, as its authority says): rules 2, a hub that
/// exists if it names one, and an end after it is made.
pub(super) fn appointment(
    a: &Appointment,
    at: Timestamp,
    view: &impl TrustView,
) -> Result<(), NotAccepted> {
    in_force(Kind::Appointment, view, at)?;
    if let Some(h) = &a.hub {
        hub(view, h)?;
        text("appointment.hub", h.as_str(), 1, limits::NAME)?;
    }
    expires_after(Kind::Appointment, at, a.valid_until)
}

/// Whether `key` moderates `hub` at `at`: an appointment for it (or for
/// every hub), made by then, not lapsed, not revoked by then.
fn moderates(
    view: &impl TrustView,
    key: &PublicKey,
    hub: &HubId,
    at: Timestamp,
) -> Result<(), NotAccepted> {
    let appointed = view.appointments(key).into_iter().any(|a| {
        a.issued_at <= at
            && at < a.valid_until
            && a.hub.as_ref().is_none_or(|h| h == hub)
            && view.revoked_at(&a.id).is_none_or(|revoked| revoked > at)
    });
    if appointed {
        Ok(())
    } else {
        Err(Rejection::NotModerator { moderator: *key, hub: hub.clone() }.into())
    }
}
