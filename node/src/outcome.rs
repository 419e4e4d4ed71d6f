//! What happened to one submitted event ([`Outcome`]) and, when it was
//! refused, why ([`Refusal`]): typed all the way, so the API, gossip, sync,
//! metrics and the audit log branch on variants, not on strings. The API's
//! JSON for an outcome is made from these in one place
//! (`api::types::EventOutcome::answer`).

use curbside_protocol::{Dependency, EventId, Handle, HubId, Kind, PublicKey, Rejection};

use crate::codes::Code;
use crate::store::{Holder, PendingLimits};

/// What happened to one submitted event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Valid, stored and durable.
    Stored {
        /// The event id.
        id: EventId,
    },
    /// Already stored; nothing changed.
    Duplicate {
        /// The event id.
        id: EventId,
    },
    /// Held until what it needs arrives.
    Pending {
        /// The event id.
        id: EventId,
        /// What it waits for: what the network fetches from the peer that
        /// sent the event, and what the API says it waits for.
        dependency: Dependency,
    },
    /// Refused: invalid, or not held.
    Rejected {
        /// The event id.
        id: EventId,
        /// Why.
        refusal: Refusal,
    },
}

impl Outcome {
    /// Refused as invalid.
    pub(crate) fn invalid(id: EventId, rejection: Rejection) -> Self {
        Outcome::Rejected { id, refusal: Refusal::Invalid(rejection) }
    }

    /// The event's id.
    pub fn id(&self) -> EventId {
        match self {
            Outcome::Stored { id }
            | Outcome::Duplicate { id }
            | Outcome::Pending { id, .. }
            | Outcome::Rejected { id, .. } => *id,
        }
    }

    /// Whether the event is now stored (newly or before).
    pub fn is_stored(&self) -> bool {
        matches!(self, Outcome::Stored { .. } | Outcome::Duplicate { .. })
    }
}

/// Why an event was refused: the protocol's verdict, or one of the node's
/// own refusals to hold (or take) it. Its `Display` is the message for
/// people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Invalid.
    Invalid(Rejection),
    /// From a caller without a session, an event whose author no
    /// attestation (or charter) here names: not held.
    UnknownAuthor {
        /// The author (or node) nobody attested.
        author: PublicKey,
    },
    /// From the API, an event in a hub this network does not have.
    UnknownHub {
        /// The hub named.
        hub: HubId,
        /// The hubs the network has.
        hubs: Vec<HubId>,
    },
    /// From the API, text mentioning `@handle` where no attestation known
    /// here gives that handle to a physician (rules 4).
    UnknownMention {
        /// The handle mentioned.
        handle: Handle,
    },
    /// From the API, a comment or vote naming an event that neither this
    /// node nor any peer it asked holds.
    UnknownEvent {
        /// The kind of the refused event.
        kind: Kind,
        /// The event it names.
        wanted: EventId,
    },
    /// The pending set is full.
    PendingFull {
        /// What the event waits for.
        dependency: Dependency,
        /// The pending set's budget.
        limits: PendingLimits,
    },
    /// The sender has as many events waiting as one sender may.
    PendingQuota {
        /// Who sent it.
        holder: Holder,
        /// What the event waits for.
        dependency: Dependency,
        /// The pending set's budget.
        limits: PendingLimits,
    },
    /// The disk is below its reserve: nothing new is held.
    LowDisk {
        /// What the event waits for.
        dependency: Dependency,
        /// The pending set's budget.
        limits: PendingLimits,
    },
    /// A physician submitted more through this node than it takes from one.
    RateLimited {
        /// The physician.
        author: PublicKey,
        /// Events a minute.
        per_minute: u32,
        /// Bursts of.
        burst: u32,
        /// Seconds until there is room again (at least 1).
        wait_secs: u64,
    },
}

impl Refusal {
    /// The stable code.
    pub const fn code(&self) -> Code {
        match self {
            Refusal::Invalid(r) => Code::of(r),
            Refusal::UnknownAuthor { .. } => Code::UnknownAuthor,
            Refusal::UnknownHub { .. } => Code::UnknownHub,
            Refusal::UnknownMention { .. } => Code::UnknownMention,
            Refusal::UnknownEvent { .. } => Code::UnknownEvent,
            Refusal::PendingFull { .. } => Code::PendingFull,
            Refusal::PendingQuota { .. } => Code::PendingQuota,
            Refusal::LowDisk { .. } => Code::LowDisk,
            Refusal::RateLimited { .. } => Code::RateLimited,
        }
    }

    /// Whether the peer that sent it misbehaved: the rejection is
    /// intrinsic, not one an honest peer could reach with other trust
    /// records ([`Rejection::is_contextual`]). The node's own refusals to
    /// hold never blame the sender.
    pub const fn blames_sender(&self) -> bool {
        match self {
            Refusal::Invalid(r) => !r.is_contextual(),
            _ => false,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Invalid(r) => r.fmt(f),
            Refusal::UnknownAuthor { author } => write!(
                f,
                "{author} is not attested (or chartered) as far as this node knows, and events \
                 of unknown authors are not held for callers without a session"
            ),
            Refusal::UnknownHub { hub, hubs } => {
                let hubs: Vec<String> = hubs.iter().map(ToString::to_string).collect();
                write!(f, "there is no hub {hub} on this network; its hubs are {}", hubs.join(", "))
            }
            Refusal::UnknownMention { handle } => write!(
                f,
                "@{handle} is no physician's handle on this network; if it is a patient's \
                 social-media handle, remove it"
            ),
            Refusal::UnknownEvent { kind, wanted } => write!(
                f,
                "the {kind} names {wanted}, which neither this node nor any peer it asked holds; \
                 check the id"
            ),
            Refusal::PendingFull { dependency, limits } => write!(
                f,
                "this node holds as many events waiting for what they need as it can ({} \
                 events, {} MiB); {dependency} is not known here yet — try again later",
                limits.max_events,
                limits.max_bytes >> 20
            ),
            Refusal::PendingQuota { holder, dependency, limits } => write!(
                f,
                "{holder} already has as many events waiting here as one sender may ({} \
                 events, {} MiB); {dependency} is not known here yet — try again once they \
                 resolve",
                limits.per_holder_events,
                limits.per_holder_bytes >> 20
            ),
            Refusal::LowDisk { dependency, limits } => write!(
                f,
                "this node's disk is below its reserve ({} MiB free at least), so it holds \
                 nothing new; {dependency} is not known here yet",
                limits.min_free_disk >> 20
            ),
            Refusal::RateLimited { author, per_minute, burst, wait_secs } => write!(
                f,
                "{author} has submitted more than {per_minute} events a minute (bursts of \
                 {burst}) through this node; try again in {wait_secs} s"
            ),
        }
    }
}
