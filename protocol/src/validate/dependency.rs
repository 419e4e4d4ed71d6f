//! [`Dependency`]: what an event waits for.

use crate::{EventId, Handle, HubId, PublicKey};

/// Something an event needs that the validator does not hold yet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dependency {
    /// An event by id: a comment's parent, a vote's poll, a revocation's target.
    Event(EventId),
    /// Any attestation of this physician key.
    Attestation(PublicKey),
    /// Any charter of this node key.
    Charter(PublicKey),
    /// A hub added by a `Hub` event.
    Hub(HubId),
    /// The entry of this attestation in its verifier's audit log (or proof
    /// that the log left it out): learnt when the node checks the
    /// verifier's next tree head.
    LogEntry {
        /// The verifier.
        verifier: PublicKey,
        /// The attestation.
        attestation: EventId,
    },
    /// Any attestation giving this handle to a physician: what a mention
    /// of `@handle` in text needs from rules 4. Attestations are never
    /// deleted, so once one is known the mention stays valid.
    Handle(Handle),
}

impl std::fmt::Display for Dependency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dependency::Event(id) => write!(f, "event {id}"),
            Dependency::Attestation(key) => write!(f, "an attestation of {key}"),
            Dependency::Charter(key) => write!(f, "a charter of node {key}"),
            Dependency::Hub(hub) => write!(f, "hub {hub}"),
            Dependency::LogEntry { verifier, attestation } => {
                write!(f, "the entry of attestation {attestation} in the audit log of {verifier}")
            }
            Dependency::Handle(handle) => write!(f, "an attestation of a physician @{handle}"),
        }
    }
}
