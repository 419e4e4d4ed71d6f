//! `validate(event, trust_view, now)`: the one decision every node makes
//! about every event, at the API, at gossip and at sync.
//!
//! Pure and deterministic: the same event, view and `now` give the same
//! outcome on every node. The checks run in this order, cheapest and most
//! fundamental first, and stop at the first failure:
//!
//! 1. size limit (the network's `max_event_bytes`)
//! 2. canonical decoding (already proven by the [`SignedEvent`] type) and version
//! 3. network id
//! 4. duplicate (already held: ignored, not rejected)
//! 5. signature ([`crate::PublicKey::verify`]: strict encodings, cofactored equation)
//! 6. clock skew (`created_at` at most `max_clock_skew_ms` after `now`)
//! 7. the author's authority at `created_at`
//! 8. the body's own rules
//!
//! The outcome is acceptance, or a [`NotAccepted`]: invalid (a
//! [`Rejection`]), missing a dependency, or a duplicate.

mod rejection;
mod rules;
mod trust;

pub use rejection::{Dependency, GossipVerdict, NotAccepted, Rejection};
pub use rules::charters_in_force;
pub use trust::{
    AttestationRecord, CharterRecord, EventSummary, LogEntry, MemoryTrust, PollRecord,
    TreeHeadRecord, TrustView,
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

    /// Rebuilds a verified event that this process's own store wrote after
    /// validating it. Only the node's store calls this, on its own records;
    /// anything from outside goes through [`validate`].
    pub fn from_trusted_store(event: SignedEvent, authority: Authority) -> Self {
        Self { event, authority }
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
        now: Timestamp,
    ) -> Result<VerifiedEvent, (SignedEvent, NotAccepted)> {
        let checked = Signature::AlreadyVerified { possession: self.possession };
        match check(&self.event, view, now, checked) {
            Ok(authority) => Ok(VerifiedEvent { event: self.event, authority }),
            Err(e) => Err((self.event, e)),
        }
    }
}

/// The result of [`validate`]: the event, borrowed, and its authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted<'e> {
    event: &'e SignedEvent,
    authority: Authority,
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
        VerifiedEvent { event: self.event.clone(), authority: self.authority.clone() }
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

/// Decides whether `event` is acceptable given what `view` knows, at `now`.
pub fn validate<'e>(
    event: &'e SignedEvent,
    view: &impl TrustView,
    now: Timestamp,
) -> Result<Accepted<'e>, NotAccepted> {
    let authority = check(event, view, now, Signature::Verify)?;
    Ok(Accepted { event, authority })
}

/// [`validate`], taking and giving back ownership.
pub fn validate_owned(
    event: SignedEvent,
    view: &impl TrustView,
    now: Timestamp,
) -> Result<VerifiedEvent, (SignedEvent, NotAccepted)> {
    match check(&event, view, now, Signature::Verify) {
        Ok(authority) => Ok(VerifiedEvent { event, authority }),
        Err(e) => Err((event, e)),
    }
}

/// Decodes `bytes` and validates the event: the whole path for wire input.
pub fn validate_bytes(
    bytes: &[u8],
    view: &impl TrustView,
    now: Timestamp,
) -> Result<VerifiedEvent, NotAccepted> {
    let limit = view.genesis().params.max_event_bytes as usize;
    if bytes.len() > limit {
        return Err(Rejection::TooLarge { size: bytes.len(), limit }.into());
    }
    let event = SignedEvent::decode(bytes)?;
    validate_owned(event, view, now).map_err(|(_, e)| e)
}

fn check(
    event: &SignedEvent,
    view: &impl TrustView,
    now: Timestamp,
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
    if signature == Signature::Verify && event.verify_signature().is_err() {
        return Err(Rejection::BadSignature.into());
    }
    if e.created_at > now.plus_millis(params.max_clock_skew_ms) {
        return Err(Rejection::FutureTimestamp {
            created_at: e.created_at,
            now,
            max_skew_ms: params.max_clock_skew_ms,
        }
        .into());
    }
    let authority = rules::authority(event, view)?;
    rules::body(event, view, &authority, signature)?;
    Ok(authority)
}

/// Whether `key` may act as a root.
pub(crate) fn is_root(view: &impl TrustView, key: &PublicKey) -> bool {
    view.genesis().is_root(key)
}

/// Kinds only a root may sign.
pub(crate) const fn root_only(kind: Kind) -> bool {
    matches!(kind, Kind::Charter | Kind::Hub)
}

/// Whether the body is physicians' content (needs an attestation).
pub(crate) const fn physician_content(body: &Body) -> bool {
    matches!(body, Body::Post(_) | Body::Case(_) | Body::Comment(_) | Body::Poll(_) | Body::Vote(_))
}

#[cfg(test)]
mod tests;
