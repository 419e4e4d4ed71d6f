//! Moderation: a root appoints moderators; a moderator takes an event
//! down ([`Takedown`]), with the same effect everywhere as its author's
//! retraction.

use serde::{Deserialize, Serialize};

use crate::{EventId, HubId, Kind, PublicKey, Timestamp};

/// A root's appointment of a moderator for one hub, or for all hubs. It
/// ends at `valid_until`, or earlier by the root's [`crate::Revocation`] of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    /// The moderator's key (an attested physician's).
    pub moderator: PublicKey,
    /// The hub, or `None` for every hub.
    pub hub: Option<HubId>,
    /// The appointment lapses at this time.
    pub valid_until: Timestamp,
}

/// Why a moderator took an event down: a closed list, so that an audit
/// can count them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TakedownReason {
    /// It identifies a patient (protected health information).
    Phi,
    /// It is defamatory.
    Defamation,
    /// Spam or advertising.
    Spam,
    /// It harasses someone.
    Harassment,
    /// It does not belong in the hub.
    OffTopic,
    /// Another reason, in the note.
    Other,
}

impl TakedownReason {
    /// Every reason.
    pub const ALL: [TakedownReason; 6] = [
        TakedownReason::Phi,
        TakedownReason::Defamation,
        TakedownReason::Spam,
        TakedownReason::Harassment,
        TakedownReason::OffTopic,
        TakedownReason::Other,
    ];

    /// The stable name (`phi`, `off_topic`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            TakedownReason::Phi => "phi",
            TakedownReason::Defamation => "defamation",
            TakedownReason::Spam => "spam",
            TakedownReason::Harassment => "harassment",
            TakedownReason::OffTopic => "off_topic",
            TakedownReason::Other => "other",
        }
    }
}

impl std::str::FromStr for TakedownReason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|r| r.as_str() == s.trim()).ok_or_else(|| {
            format!("{s:?} is not one of phi, defamation, spam, harassment, off_topic, other")
        })
    }
}

impl std::fmt::Display for TakedownReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A moderator's takedown of an event in a hub they moderate: every node
/// deletes it and keeps a tombstone, as for a retraction. Like a
/// retraction it says what it takes down (kind, author, time, parent, and
/// the hub of its thread), so that a node that never held the target can
/// place the tombstone and refuse the target; it applies to a held target
/// only if these are the target's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Takedown {
    /// The event taken down.
    pub target: EventId,
    /// Its kind: post, case, comment, poll or vote.
    pub target_kind: Kind,
    /// Its author.
    pub target_author: PublicKey,
    /// Its `created_at`.
    pub target_created_at: Timestamp,
    /// A comment's parent, or a vote's poll; `None` for the other kinds.
    pub parent: Option<EventId>,
    /// The hub its thread is in: the moderator must moderate it.
    pub hub: HubId,
    /// Why.
    pub reason: TakedownReason,
    /// A note for the audit (may be empty; passes the guard).
    pub note: String,
}
