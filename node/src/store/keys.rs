//! The store's collections and the byte layouts of their keys.
//!
//! Everything lives in one sled tree; a key's first byte names its
//! collection ([`Space`]), so one collection's keys form one contiguous
//! range and one atomic `apply_batch` can write to all of them. Numbers are
//! big-endian, so sled's lexicographic order is time (or sequence) order.

use curbside_protocol::{EventId, HubId, PublicKey, Timestamp};

/// A keyed collection: the first byte of each of its keys. The values are
/// part of the on-disk layout: never reuse or renumber one (add a new
/// variant, and bump `SCHEMA_VERSION` if old stores must be refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Space {
    /// `name` → value: schema version, network id, counters.
    Meta = 0,
    /// `id` → `StoredEvent`.
    Events = 1,
    /// `commit (8)` → packed `created_at (8) ‖ id (32) ‖ kind (1)` of every
    /// event that commit stored.
    Timeline = 2,
    /// `hub ‖ 0x00 ‖ created_at (8) ‖ id` → a copy of the event's
    /// `StoredEvent` record: posts, cases, polls.
    Feed = 3,
    // 4 was `Replies` (by parent) up to layout 2; never to be reused.
    /// `poll (32) ‖ voter (32)` → `Ballot`: each voter's current ballot.
    Ballots = 5,
    /// `poll (32)` → `Counts`: running counts.
    Tallies = 6,
    /// `subject (32) ‖ id (32)` → `AttestationRecord`.
    Attestations = 7,
    /// `node (32) ‖ id (32)` → `CharterRecord`.
    Charters = 8,
    /// `target (32)` → earliest `effective_at (8)`.
    Revocations = 9,
    /// `hub` → title: genesis hubs and `Hub` events.
    Hubs = 10,
    /// `poll (32)` → `PollRecord`.
    Polls = 11,
    /// `id (32)` → `PendingRecord`: events waiting for a dependency.
    Pending = 12,
    /// `dependency ‖ id (32)` → `()`.
    PendingDeps = 13,
    /// `attestation id (32)` → `LicenceOpening`: this node's own, private.
    Openings = 14,
    /// `PeerId text` → addresses, one a line.
    Peers = 15,
    /// `verifier (32) ‖ created_at (8) ‖ id (32)` → `HeadRecord`: every tree
    /// head held (written with the event).
    Heads = 16,
    /// Same keys as `Heads` → `()`: the heads not yet checked by the witness.
    HeadQueue = 17,
    /// `head (32) ‖ cosigner (32)` → cosignature id (written with the event).
    Cosigs = 18,
    /// `target (32) ‖ revocation id (32)` → `()` (written with the event).
    RevokedBy = 19,
    /// `verifier (32) ‖ index (8)` → leaf id: each verifier's audit log.
    LogLeaves = 20,
    /// `verifier (32)` → `LogState`: its checked head, a fork.
    LogState = 21,
    /// `verifier (32) ‖ found_at (8) ‖ n (8)` → `Evidence` of misbehaviour.
    LogEvidence = 22,
    /// `index (8)` → wire bytes of this node's own log entry; `"head"` → its
    /// latest own head: what it logged, kept until published.
    OwnEntries = 23,
    /// `root (32) ‖ commit (8)` → packed `created_at (8) ‖ id (32) ‖
    /// parent (32)` of the comments in `root`'s thread that commit stored
    /// (`root` is the post, case or poll the thread starts from).
    Threads = 24,
    /// `author (32) ‖ id (32)` → `()`: held events by author.
    PendingAuthors = 25,
    /// `author (32) ‖ expired_at (8) ‖ id (32)` → `ExpiredRecord`: held
    /// events dropped in the last week, so their authors can learn it.
    PendingExpired = 26,
}

impl Space {
    /// For error messages.
    pub(super) const fn name(self) -> &'static str {
        match self {
            Space::Meta => "meta",
            Space::Events => "events",
            Space::Timeline => "timeline",
            Space::Feed => "feed",
            Space::Ballots => "ballots",
            Space::Tallies => "tallies",
            Space::Attestations => "attestations",
            Space::Charters => "charters",
            Space::Revocations => "revocations",
            Space::Hubs => "hubs",
            Space::Polls => "polls",
            Space::Pending => "pending",
            Space::PendingDeps => "pending_deps",
            Space::Openings => "openings",
            Space::Peers => "peers",
            Space::Heads => "heads",
            Space::HeadQueue => "head_queue",
            Space::Cosigs => "cosignatures",
            Space::RevokedBy => "revoked_by",
            Space::LogLeaves => "log_leaves",
            Space::LogState => "log_state",
            Space::LogEvidence => "log_evidence",
            Space::OwnEntries => "own_entries",
            Space::Threads => "threads",
            Space::PendingAuthors => "pending_authors",
            Space::PendingExpired => "pending_expired",
        }
    }

    /// The key `self ‖ parts…`.
    pub(super) fn key(self, parts: &[&[u8]]) -> Vec<u8> {
        let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
        k.push(self as u8);
        for part in parts {
            k.extend_from_slice(part);
        }
        k
    }

    /// The one-byte prefix of every key of the collection.
    pub(super) fn all(self) -> [u8; 1] {
        [self as u8]
    }
}

/// `Feed ‖ hub ‖ 0x00 ‖ created_at ‖ id`. Hub ids never contain 0x00, so
/// one hub's range never runs into another's.
pub(super) fn feed(hub: &HubId, at: Timestamp, id: &EventId) -> Vec<u8> {
    Space::Feed.key(&[hub.as_str().as_bytes(), &[0], &at.as_millis().to_be_bytes(), id.as_bytes()])
}

/// `Feed ‖ hub ‖ 0x00`, and the key just past that hub's range.
pub(super) fn feed_range(hub: &HubId) -> (Vec<u8>, Vec<u8>) {
    (
        Space::Feed.key(&[hub.as_str().as_bytes(), &[0]]),
        Space::Feed.key(&[hub.as_str().as_bytes(), &[1]]),
    )
}

/// The id at the end of a feed key.
pub(super) fn trailing_id(key: &[u8]) -> Option<EventId> {
    let bytes: [u8; 32] = key.get(key.len().checked_sub(32)?..)?.try_into().ok()?;
    Some(EventId::from_bytes(bytes))
}

/// `Heads ‖ verifier ‖ created_at ‖ id` (the same key, under `HeadQueue`,
/// queues the head for checking).
pub(super) fn head(space: Space, verifier: &PublicKey, at: Timestamp, id: &EventId) -> Vec<u8> {
    space.key(&[verifier.as_bytes(), &at.as_millis().to_be_bytes(), id.as_bytes()])
}

/// The time before the trailing id of a key ending `created_at ‖ id`.
pub(super) fn trailing_time(key: &[u8]) -> Option<Timestamp> {
    let start = key.len().checked_sub(40)?;
    let bytes: [u8; 8] = key.get(start..start + 8)?.try_into().ok()?;
    Some(Timestamp::from_millis(u64::from_be_bytes(bytes)))
}

/// Length of one packed timeline entry: `created_at (8) ‖ id (32) ‖ kind (1)`.
pub(super) const TIMELINE_ENTRY: usize = 41;

/// Length of one packed thread entry: `created_at (8) ‖ id (32) ‖ parent (32)`.
pub(super) const THREAD_ENTRY: usize = 72;

/// Appends `created_at ‖ id` to a packed record.
pub(super) fn pack_timed(out: &mut Vec<u8>, at: Timestamp, id: &EventId) {
    out.extend_from_slice(&at.as_millis().to_be_bytes());
    out.extend_from_slice(id.as_bytes());
}

/// The `created_at ‖ id` at the start of a packed entry.
pub(super) fn unpack_timed(entry: &[u8]) -> Option<(Timestamp, EventId)> {
    let at: [u8; 8] = entry.get(..8)?.try_into().ok()?;
    let id: [u8; 32] = entry.get(8..40)?.try_into().ok()?;
    Some((Timestamp::from_millis(u64::from_be_bytes(at)), EventId::from_bytes(id)))
}

/// Appends a thread entry `created_at ‖ id ‖ parent` to a packed record.
pub(super) fn pack_thread(out: &mut Vec<u8>, at: Timestamp, id: &EventId, parent: &EventId) {
    pack_timed(out, at, id);
    out.extend_from_slice(parent.as_bytes());
}

/// The `(created_at, id, parent)` of a packed thread entry.
pub(super) fn unpack_thread(entry: &[u8]) -> Option<(Timestamp, EventId, EventId)> {
    let (at, id) = unpack_timed(entry)?;
    let parent: [u8; 32] = entry.get(40..72)?.try_into().ok()?;
    Some((at, id, EventId::from_bytes(parent)))
}

/// The first eight bytes of an id: what the in-memory filters hold.
pub(super) fn id_prefix(id: &EventId) -> u64 {
    let b = id.as_bytes();
    u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// A big-endian `u64` value (0 if absent or malformed).
pub(super) fn u64_value(bytes: Option<sled::IVec>) -> u64 {
    bytes.and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok()).map(u64::from_be_bytes).unwrap_or(0)
}
