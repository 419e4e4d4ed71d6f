//! The records of the audit logs: what the store keeps of each verifier's
//! log and what it answers about them.

use curbside_protocol::{Digest, EventId, PublicKey, Timestamp};
use serde::{Deserialize, Serialize};

/// The wire bytes a verifier keeps of what it logs, until published.
#[derive(Debug, Clone, Copy)]
pub struct OwnRecords<'a> {
    /// The leaf events, in order.
    pub entries: &'a [Vec<u8>],
    /// The tree head signed over them.
    pub head: &'a [u8],
}

/// A tree head as the `heads` index keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadRecord {
    /// Leaves.
    pub size: u64,
    /// Their root.
    pub root: Digest,
}

/// A tree head this node has checked against the leaves it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedHead {
    /// The head event.
    pub id: EventId,
    /// Its size.
    pub size: u64,
    /// Its root.
    pub root: Digest,
    /// When the verifier signed it.
    pub created_at: Timestamp,
}

/// What this node knows of one verifier's log, persisted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(in crate::store) struct LogState {
    /// The checked head of the largest size (the one the leaves reach).
    pub(in crate::store) latest: Option<CheckedHead>,
    /// The latest receipt of any head checked consistent (for heads stored
    /// before receipts were kept, its `created_at`).
    pub(in crate::store) checked_through: Option<Timestamp>,
    /// When the verifier forked its log, if this node has proof.
    pub(in crate::store) forked_at: Option<Timestamp>,
}

/// How a verifier's two heads contradict each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Contradiction {
    /// Same size, different roots.
    SameSizeDifferentRoots,
    /// The smaller head is not a prefix of the larger: `leaves` (which hash
    /// to the larger head's root) hash to something else at the smaller size.
    NotAPrefix,
    /// A later head claims fewer leaves than an earlier one: the log was
    /// rolled back.
    Rollback,
}

impl Contradiction {
    /// Stable code.
    pub const fn code(self) -> &'static str {
        match self {
            Contradiction::SameSizeDifferentRoots => "same_size_different_roots",
            Contradiction::NotAPrefix => "not_a_prefix",
            Contradiction::Rollback => "rollback",
        }
    }
}

/// Proof that a verifier showed two inconsistent histories of its log:
/// two heads it signed and, where needed, the leaves that tie them
/// together. Anyone can check it without trusting this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkProof {
    /// Whose log.
    pub verifier: PublicKey,
    /// How the heads contradict each other.
    pub contradiction: Contradiction,
    /// One signed head (wire bytes).
    pub first: Vec<u8>,
    /// The other signed head (wire bytes).
    pub second: Vec<u8>,
    /// Leaves that hash to the larger head's root (empty when the two heads
    /// alone prove it).
    pub leaves: Vec<EventId>,
    /// When this node found it.
    pub found_at: Timestamp,
}

/// A tree head waiting to be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuedHead {
    /// Whose.
    pub verifier: PublicKey,
    /// When it was signed.
    pub created_at: Timestamp,
    /// When it was first received (when it was signed, for a head stored
    /// before receipts were kept): what "checked through" moves to once it
    /// is checked, since a verifier chooses its heads' dates.
    pub received_at: Timestamp,
    /// The head event.
    pub id: EventId,
    /// Its size.
    pub size: u64,
    /// Its root.
    pub root: Digest,
}

/// A summary of one verifier's log, for status and the API.
#[derive(Debug, Clone, Serialize)]
pub struct LogSummary {
    /// The verifier.
    pub verifier: PublicKey,
    /// Leaves held.
    pub size: u64,
    /// The checked head the leaves reach.
    pub latest: Option<CheckedHead>,
    /// When the verifier forked its log, if it did.
    pub forked_at: Option<Timestamp>,
}
