//! `validate(event, trust_view, now)`: the one decision every node makes
//! about every event, at the API, at gossip and at sync.
//!
//! Pure and deterministic: the same event, view and [`Arrival`] give the
//! same outcome on every node. The checks run in this order, cheapest and
//! most fundamental first, and stop at the first failure:
//!
//! 1. size limit (the network's `max_event_bytes`)
//! 2. canonical decoding (already proven by the [`SignedEvent`] type) and version
//! 3. network id
//! 4. duplicate (already held: ignored, not rejected)
//! 5. signature ([`crate::PublicKey::verify`]: strict encodings, cofactored equation)
//! 6. time: `created_at` at most `max_clock_skew_ms` after `now` and after
//!    its receipt, and (but for a root's charters and hubs) at most that
//!    long before its receipt
//! 7. the author's authority at `created_at`, and at its receipt
//! 8. the body's own rules
//!
//! `created_at` is what the signer claims. The receipt ([`Arrival`]) is
//! what a node saw: when it (or, for history it syncs, the peer that
//! vouches for the event) first received the event. Authority must hold at
//! both, so a signer cannot date an event back past its own revocation,
//! expiry or charter revocation once a node knows of it.
//!
//! The outcome is acceptance, or a [`NotAccepted`]: invalid (a
//! [`Rejection`]), missing a dependency, or a duplicate.

mod afterword;
mod dependency;
mod edit;
mod rejection;
mod rules;
mod takeback;
mod text;
mod trust;

pub use dependency::Dependency;
pub use rejection::{GossipVerdict, NotAccepted, Rejection, RejectionCode};
pub use rules::{attestation_standing, charters_in_force};
pub use trust::{
    AppointmentRecord, AttestationRecord, CharterRecord, EventSummary, LogEntry, MemoryTrust,
    PollRecord, ThreadLink, Tombstone, TreeHeadRecord, TrustView,
};

use crate::{Body, EVENT_VERSION, EventId, Kind, PublicKey, SignedEvent, Timestamp};

/// On whose authority an accepted event stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Authority {
    /// A genesis root (charters, hubs, and any revocation).
    Root,
    /// A node chartered at the event's time, by this charter.
    Chartered {
        /// The charter that was valid.
        charter: EventId,
    },
    /// The issuer of the charter or attestation being revoked.
    Issuer,
    /// A physician attested at the event's time, by this attestation.
    Physician(AttestationRecord),
}

/// An event that passed [`validate`]: the only way to make one.
///
/// Storage, gossip and the API accept only this type, so nothing unchecked
/// can be stored or relayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvent {
    event: SignedEvent,
    authority: Authority,
    received_at: Option<Timestamp>,
}

impl VerifiedEvent {
    /// The signed event.
    pub fn signed(&self) -> &SignedEvent {
        &self.event
    }

    /// Gives back the signed event.
    pub fn into_signed(self) -> SignedEvent {
        self.event
    }

    /// On whose authority it was accepted.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// When it was first received, by the node that validated it or by the
    /// peer that vouched for it ([`Arrival::received_at`]); `None` for
    /// history judged by its own time alone ([`Arrival::historical`]).
    pub fn received_at(&self) -> Option<Timestamp> {
        self.received_at
    }

    /// Rebuilds a verified event from a store record, trusting that the
    /// event was validated (with this authority) before it was stored.
    ///
    /// This is the one way to make a [`VerifiedEvent`] other than
    /// [`validate`], and its name says what the caller vouches for: only the
    /// node's store may call it, on records it wrote itself after
    /// validation, so that reading an event back does not run validation
    /// (and its trust lookups) again. Anything from outside goes through
    /// [`validate`].
    ///
    /// Why not a distinct `StoredEvent` type: what the store reads back
    /// goes where validated events go (the API's views, the trust view the
    /// store rebuilds at open, its own integrity check), so each of those
    /// would take both types while proving nothing more; and Rust has no way
    /// to let one caller in another crate, and no other, build a type. A
    /// plainly named constructor that a reviewer can grep for is the
    /// honest boundary.
    pub fn validated_before_storing(
        event: SignedEvent,
        authority: Authority,
        received_at: Option<Timestamp>,
    ) -> Self {
        Self { event, authority, received_at }
    }
}

/// When a node judges an event: its own clock, and when the event was
/// first received.
///
/// `created_at` is the signer's claim; the receipt is not: it is the time
/// a node saw the event. On the live paths (the API, gossip) that is this
/// node, now ([`Arrival::live`]). An event held for a dependency is judged
/// at the time it was first received, not when it is released. History
/// that arrives by sync is judged at the time the peer serving it says it
/// first received it ([`Arrival::received`]): the peer is a chartered node
/// (the connection proves which), so a node that was merely fooled — one
/// that had not yet heard of a revocation when a revoked signer reached it —
/// passes on a receipt that gives the forgery away, and only a chartered
/// node that lies can launder one (docs/SECURITY.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    now: Timestamp,
    received_at: Option<Timestamp>,
}

impl Arrival {
    /// Received by this node at `now` (API and gossip).
    pub fn live(now: Timestamp) -> Self {
        Self { now, received_at: Some(now) }
    }

    /// First received at `received_at` (by this node, or by the peer that
    /// vouches for it), judged at `now`. A receipt later than `now` is
    /// taken as `now`: nothing is received in the future.
    pub fn received(received_at: Timestamp, now: Timestamp) -> Self {
        Self { now, received_at: Some(received_at.min(now)) }
    }

    /// With no receipt: judged at its own `created_at` alone, as every
    /// event was before receipts existed. For events stored before then,
    /// which keep the standing they were accepted with, and for an
    /// auditor asking whether an entry was valid when it was issued.
    pub fn historical(now: Timestamp) -> Self {
        Self { now, received_at: None }
    }

    /// The validator's clock.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// When the event was first received, if known.
    pub fn received_at(&self) -> Option<Timestamp> {
        self.received_at
    }
}

impl std::ops::Deref for VerifiedEvent {
    type Target = SignedEvent;
    fn deref(&self) -> &SignedEvent {
        &self.event
    }
}

/// A signed event whose signatures have been checked (by
/// [`crate::verify_batch`] or [`SignatureVerified::check`]), so that
/// validation need not check them again.
///
/// For an attestation that is two signatures: the verifier's over the
/// event and the physician's proof of possession inside it. The proof's
/// verdict is kept rather than acted on, so that validation still reports
/// it where it always does, after the body's other rules: an event gets the
/// same rejection whichever path it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureVerified {
    event: SignedEvent,
    /// `Some(verdict)` for an attestation's proof of possession.
    possession: Option<bool>,
}

impl SignatureVerified {
    /// Checks one event's signature ([`crate::PublicKey::verify`]), and an
    /// attestation's proof of possession.
    pub fn check(event: SignedEvent) -> Result<Self, (SignedEvent, Rejection)> {
        match event.verify_signature() {
            Ok(()) => {
                let possession = match event.body() {
                    crate::Body::Attestation(a) => {
                        Some(a.verify_possession(&event.event().network).is_ok())
                    }
                    _ => None,
                };
                Ok(Self { event, possession })
            }
            Err(_) => Err((event, Rejection::BadSignature)),
        }
    }

    /// Made by the batch verifier after the batch equation held, with the
    /// verdict on an attestation's proof of possession.
    pub(crate) fn assume_checked(event: SignedEvent, possession: Option<bool>) -> Self {
        Self { event, possession }
    }

    /// The event.
    pub fn event(&self) -> &SignedEvent {
        &self.event
    }

    /// Gives back the event.
    pub fn into_inner(self) -> SignedEvent {
        self.event
    }

    /// Validates everything but the (already checked) signatures, keeping
    /// ownership: the path ingest takes after batch verification.
    pub fn validate(
        self,
        view: &impl TrustView,
        arrival: Arrival,
    ) -> Result<VerifiedEvent, (SignedEvent, NotAccepted)> {
        let checked = Signature::AlreadyVerified { possession: self.possession };
        match check(&self.event, view, arrival, checked) {
            Ok(authority) => {
                Ok(VerifiedEvent { event: self.event, authority, received_at: arrival.received_at })
            }
            Err(e) => Err((self.event, e)),
        }
    }
}

/// The result of [`validate`]: the event, borrowed, and its authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted<'e> {
    event: &'e SignedEvent,
    authority: Authority,
    received_at: Option<Timestamp>,
}

impl<'e> Accepted<'e> {
    /// The accepted event.
    pub fn event(&self) -> &'e SignedEvent {
        self.event
    }

    /// On whose authority.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// An owned [`VerifiedEvent`] (clones the event).
    pub fn to_verified(&self) -> VerifiedEvent {
        VerifiedEvent {
            event: self.event.clone(),
            authority: self.authority.clone(),
            received_at: self.received_at,
        }
    }
}

/// Whether validation must check the signatures.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Signature {
    Verify,
    /// Checked before; `possession` is the verdict on an attestation's
    /// proof of possession.
    AlreadyVerified {
        possession: Option<bool>,
    },
}

/// Decides whether `event`, arriving as `arrival` says, is acceptable given
/// what `view` knows.
pub fn validate<'e>(
    event: &'e SignedEvent,
    view: &impl TrustView,
    arrival: Arrival,
) -> Result<Accepted<'e>, NotAccepted> {
    let authority = check(event, view, arrival, Signature::Verify)?;
    Ok(Accepted { event, authority, received_at: arrival.received_at })
}

/// [`validate`], taking and giving back ownership.
pub fn validate_owned(
    event: SignedEvent,
    view: &impl TrustView,
    arrival: Arrival,
) -> Result<VerifiedEvent, (SignedEvent, NotAccepted)> {
    match check(&event, view, arrival, Signature::Verify) {
        Ok(authority) => Ok(VerifiedEvent { event, authority, received_at: arrival.received_at }),
        Err(e) => Err((event, e)),
    }
}

/// Decodes `bytes` and validates the event: the whole path for wire input.
pub fn validate_bytes(
    bytes: &[u8],
    view: &impl TrustView,
    arrival: Arrival,
) -> Result<VerifiedEvent, NotAccepted> {
    let limit = view.genesis().params.max_event_bytes as usize;
    if bytes.len() > limit {
        return Err(Rejection::TooLarge { size: bytes.len(), limit }.into());
    }
    let event = SignedEvent::decode(bytes)?;
    validate_owned(event, view, arrival).map_err(|(_, e)| e)
}

fn check(
    event: &SignedEvent,
    view: &impl TrustView,
    arrival: Arrival,
    signature: Signature,
) -> Result<Authority, NotAccepted> {
    let params = view.genesis().params;
    let limit = params.max_event_bytes as usize;
    if event.encoded_len() > limit {
        return Err(Rejection::TooLarge { size: event.encoded_len(), limit }.into());
    }
    let e = event.event();
    if e.version != EVENT_VERSION {
        return Err(Rejection::UnsupportedVersion { version: e.version }.into());
    }
    let expected = view.network_id();
    if e.network != expected {
        return Err(Rejection::WrongNetwork { expected, got: e.network }.into());
    }
    if view.contains(&event.id()) {
        return Err(NotAccepted::Duplicate(event.id()));
    }
    if let Some(tombstone) = view.tombstone(&event.id()) {
        let summary =
            EventSummary { kind: event.kind(), author: *event.author(), created_at: e.created_at };
        if tombstone.matches(&summary)
            && (!tombstone.taken_down() || takedown_holds(event, &tombstone, view))
        {
            let (id, by) = (event.id(), tombstone.retraction);
            let edited =
                !tombstone.taken_down() && view.summary(&by).is_some_and(|s| s.kind == Kind::Edit);
            return Err(if tombstone.taken_down() {
                Rejection::TakenDown { id, takedown: by }
            } else if edited {
                Rejection::Edited { id, edit: by }
            } else {
                Rejection::Retracted { id, retraction: by }
            }
            .into());
        }
    }
    if signature == Signature::Verify && event.verify_signature().is_err() {
        return Err(Rejection::BadSignature.into());
    }
    let skew = params.max_clock_skew_ms;
    // Not after the validator's clock, nor after its receipt (a receipt a
    // peer vouches for cannot precede the event it vouches for).
    for now in [Some(arrival.now), arrival.received_at].into_iter().flatten() {
        if e.created_at > now.plus_millis(skew) {
            return Err(Rejection::FutureTimestamp {
                created_at: e.created_at,
                now,
                max_skew_ms: skew,
            }
            .into());
        }
    }
    // Not long before its receipt either: a signer's own time is bounded
    // on both sides by the time a node saw the event. A root's charters and
    // hubs are exempt: a root is never revoked, and signs them offline.
    if let Some(received_at) = arrival.received_at
        && !root_only(event.kind())
        && e.created_at.plus_millis(skew) < received_at
    {
        return Err(
            Rejection::Stale { created_at: e.created_at, received_at, max_skew_ms: skew }.into()
        );
    }
    let authority = rules::authority(event, view, event.created_at(), arrival.received_at)?;
    if let Some(received_at) = arrival.received_at
        && !matches!(authority, Authority::Root | Authority::Issuer)
    {
        // Authority must hold when the event was received too: a
        // revocation, a charter revocation or an expiry takes effect at a
        // node from the moment it knows of it, whatever `created_at` an
        // event that arrives after it claims.
        rules::authority(event, view, received_at, Some(received_at))?;
    }
    rules::body(event, view, &authority, signature, arrival)?;
    Ok(authority)
}

/// Whether `key` may act as a root.
pub(crate) fn is_root(view: &impl TrustView, key: &PublicKey) -> bool {
    view.genesis().is_root(key)
}

/// Kinds only a root may sign (and, signed offline, exempt from the
/// staleness bound).
pub(crate) const fn root_only(kind: Kind) -> bool {
    matches!(kind, Kind::Charter | Kind::Hub | Kind::Rules | Kind::Appointment)
}

/// Whether the body is physicians' content (needs an attestation).
pub(crate) const fn physician_content(body: &Body) -> bool {
    matches!(
        body,
        Body::Post(_)
            | Body::Case(_)
            | Body::Comment(_)
            | Body::Poll(_)
            | Body::Vote(_)
            | Body::Retraction(_)
            | Body::Takedown(_)
            | Body::Outcome(_)
            | Body::Accept(_)
            | Body::PollAnswer(_)
            | Body::Edit(_)
    )
}

#[cfg(test)]
mod mentions_tests;
#[cfg(test)]
mod rules_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_afterword;
#[cfg(test)]
mod tests_edit;
#[cfg(test)]
mod tests_retraction;

/// Whether a takedown's tombstone holds for `event`, the event it names:
/// only if the hub the takedown names is the event's (its thread's, for a
/// comment or a vote). A node that held the event when the takedown came
/// checked that then (a takedown naming another hub took nothing down); a
/// node that did not checks it now, with the same answer, so that where
/// the event is kept never depends on the order it and the takedown
/// arrived in. Where the thread's hub cannot be told (its root is not
/// held), it holds on neither.
fn takedown_holds(event: &SignedEvent, tombstone: &Tombstone, view: &impl TrustView) -> bool {
    let hub = match ThreadLink::of(event.body()) {
        Some(ThreadLink::Hub(hub)) => Some(hub),
        Some(ThreadLink::Parent(parent)) => view.thread_hub(&parent),
        None => None,
    };
    hub.is_some() && hub == view.takedown_hub(&tombstone.retraction)
}
