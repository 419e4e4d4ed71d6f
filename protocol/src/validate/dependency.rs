//! [`Dependency`]: what an event waits for.

use crate::{EventId, HubId, PublicKey};

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
        }
    }
}
