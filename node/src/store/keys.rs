//! The store's collections and the byte layouts of their keys.
//!
//! Everything lives in one sled tree; a key's first byte names its
//! collection ([`Space`]), so one collection's keys form one contiguous
//! range and one atomic `apply_batch` can write to all of them. Numbers are
//! big-endian, so sled's lexicographic order is time (or sequence) order.
//!
//! This is the one place that makes keys: every other file of the store
//! names the key it wants (`keys::event(&id)`, `keys::ballot(&poll,
//! &voter)`) and never lays out bytes itself, so a layout is read, changed
//! and checked against the table in `store/mod.rs` here alone.

use curbside_protocol::{Dependency, EventId, Handle, HubId, PublicKey, Timestamp};

/// A keyed collection: the first byte of each of its keys. The values are
/// part of the on-disk layout: never reuse or renumber one (add a new
/// variant, and bump `SCHEMA_VERSION` if old stores must be refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Space {
    /// `name` → value: schema version, network id, counters.
    Meta = 0,
    /// `id` → the event's record (`event_record`: authority, thread root,
    /// wire form without the network id; receipt).
    Events = 1,
    /// `commit (8)` → packed `created_at (8) ‖ id (32) ‖ kind (1)` of every
    /// event that commit stored.
    Timeline = 2,
    /// `hub ‖ 0x00 ‖ created_at (8) ‖ id` → a copy of the event's
    /// record: posts, cases, polls.
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
    /// `id (32)` → `RulesChange`: every `Rules` event's body.
    Rules = 27,
    /// `id (32)` → `StoredTombstone`: what is kept of an event taken back.
    Tombstones = 28,
    /// `moderator (32) ‖ id (32)` → `AppointmentRecord`.
    Appointments = 29,
    /// `id (32)` → the operator's note: hidden on this node only.
    Hidden = 30,
    /// `event (32) ‖ reporter (32)` → `Report`: local, never gossiped.
    Reports = 31,
    /// `author (32) ‖ created_at (8) ‖ id (32)` → `kind (1)` (‖ `poll (32)`
    /// for a vote): every post, case, comment, poll and vote by its author.
    Authored = 32,
    /// `handle ‖ 0x00 ‖ created_at (8) ‖ id (32)` → `()`: the events whose
    /// text names `@handle`.
    Mentions = 33,
    /// `physician (32) ‖ mark (1) ‖ target` → `added_at (8)`: what a
    /// physician follows (`f` a thread by its root's id, `h` a hub by
    /// name) and bookmarks (`b` an event id). Local to this node, never
    /// gossiped.
    Marks = 34,
    /// `physician (32) ‖ item (32)` → `read_at (8)`: the inbox items the
    /// physician has read. Local to this node, never gossiped.
    InboxRead = 35,
    /// `target (32) ‖ kind (1)` → packed `created_at (8) ‖ id (32)`: the
    /// outcome of a case, the accept of a thread (keyed by its root) and
    /// the answer of a poll in force (the latest by `(created_at, id)`).
    Afterwords = 36,
    /// `created_at (8) ‖ id (32)` → kind (1): every appointment, takedown
    /// and revocation, in time order: the public record of moderation,
    /// read a page at a time (schema 5; built from the timeline when a
    /// schema-4 store is migrated).
    Moderation = 40,
    /// `h ‖ credential hash (32)` → `OperatorRecord`; `n ‖ name` → the
    /// credential hash; `u ‖ credential hash (32)` → last used (8): the
    /// node's named operators ([`super::operators`]). Local, never gossiped.
    Operators = 48,
    /// `at (8) ‖ n (8)` → `LogEntry`: every admin call, who made it, on what,
    /// and how it ended ([`super::operators`]). Local, never gossiped.
    AdminLog = 49,
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
            Space::Rules => "rules",
            Space::Tombstones => "tombstones",
            Space::Appointments => "appointments",
            Space::Hidden => "hidden",
            Space::Reports => "reports",
            Space::Afterwords => "afterwords",
            Space::Moderation => "moderation",
            Space::Authored => "authored",
            Space::Mentions => "mentions",
            Space::Marks => "marks",
            Space::InboxRead => "inbox_read",
            Space::Operators => "operators",
            Space::AdminLog => "admin_log",
        }
    }

    /// Every collection, in byte order.
    pub(super) const ALL: [Space; 39] = [
        Space::Meta,
        Space::Events,
        Space::Timeline,
        Space::Feed,
        Space::Ballots,
        Space::Tallies,
        Space::Attestations,
        Space::Charters,
        Space::Revocations,
        Space::Hubs,
        Space::Polls,
        Space::Pending,
        Space::PendingDeps,
        Space::Openings,
        Space::Peers,
        Space::Heads,
        Space::HeadQueue,
        Space::Cosigs,
        Space::RevokedBy,
        Space::LogLeaves,
        Space::LogState,
        Space::LogEvidence,
        Space::OwnEntries,
        Space::Threads,
        Space::PendingAuthors,
        Space::PendingExpired,
        Space::Rules,
        Space::Tombstones,
        Space::Appointments,
        Space::Hidden,
        Space::Reports,
        Space::Authored,
        Space::Mentions,
        Space::Marks,
        Space::InboxRead,
        Space::Afterwords,
        Space::Moderation,
        Space::Operators,
        Space::AdminLog,
    ];

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

/// The name of the collection whose keys start with `byte` (`"unknown"`
/// for a byte no collection has).
pub(super) fn space_name(byte: u8) -> &'static str {
    Space::ALL.iter().find(|s| **s as u8 == byte).map_or("unknown", |s| s.name())
}

/// Where layout 1 kept its version: `"schema"` in a tree named `meta` of
/// its own (read only to name the version when refusing such a store).
pub(super) const LAYOUT_1_SCHEMA: &[u8] = b"schema";

/// `Meta ‖ "schema"` → the layout version (`u32`, big-endian).
pub(super) fn schema() -> Vec<u8> {
    Space::Meta.key(&[b"schema"])
}

/// `Meta ‖ "network"` → the network id.
pub(super) fn network() -> Vec<u8> {
    Space::Meta.key(&[b"network"])
}

/// `Meta ‖ "events"` → the number of events stored (`u64`).
pub(super) fn event_count() -> Vec<u8> {
    Space::Meta.key(&[b"events"])
}

/// `Meta ‖ "pending"` → the number of events held pending (`u64`).
pub(super) fn pending_count() -> Vec<u8> {
    Space::Meta.key(&[b"pending"])
}

/// `Events ‖ id`.
pub(super) fn event(id: &EventId) -> Vec<u8> {
    Space::Events.key(&[id.as_bytes()])
}

/// `Timeline ‖ commit`.
pub(super) fn timeline(commit: u64) -> Vec<u8> {
    Space::Timeline.key(&[&commit.to_be_bytes()])
}

/// `Threads ‖ root ‖ commit`.
pub(super) fn thread(root: &EventId, commit: u64) -> Vec<u8> {
    Space::Threads.key(&[root.as_bytes(), &commit.to_be_bytes()])
}

/// `Threads ‖ root`: the prefix of every record of `root`'s thread.
pub(super) fn thread_prefix(root: &EventId) -> Vec<u8> {
    Space::Threads.key(&[root.as_bytes()])
}

/// `Appointments ‖ moderator ‖ id`.
pub(super) fn appointment(moderator: &PublicKey, id: &EventId) -> Vec<u8> {
    Space::Appointments.key(&[moderator.as_bytes(), id.as_bytes()])
}

/// `Hidden ‖ id`.
pub(super) fn hidden(id: &EventId) -> Vec<u8> {
    Space::Hidden.key(&[id.as_bytes()])
}

/// `Afterwords ‖ target ‖ kind`: the outcome, accept or poll answer of
/// `target` in force.
pub(super) fn afterword(target: &EventId, kind: curbside_protocol::Kind) -> Vec<u8> {
    Space::Afterwords.key(&[target.as_bytes(), &[kind as u8]])
}

/// `Afterwords ‖ target`: every kind of addition to `target`.
pub(super) fn afterwords_of(target: &EventId) -> Vec<u8> {
    Space::Afterwords.key(&[target.as_bytes()])
}

/// `Reports ‖ event ‖ reporter`.
pub(super) fn report(event: &EventId, reporter: &PublicKey) -> Vec<u8> {
    Space::Reports.key(&[event.as_bytes(), reporter.as_bytes()])
}

/// `Moderation ‖ created_at ‖ id`.
pub(super) fn moderation(at: Timestamp, id: &EventId) -> Vec<u8> {
    Space::Moderation.key(&[&at.as_millis().to_be_bytes(), id.as_bytes()])
}

/// `Operators ‖ h ‖ hash`: an operator's record, by its credential's hash.
pub(super) fn operator(hash: &[u8; 32]) -> Vec<u8> {
    Space::Operators.key(&[b"h", hash])
}

/// `Operators ‖ h`: the prefix of every operator's record.
pub(super) fn operators() -> Vec<u8> {
    Space::Operators.key(&[b"h"])
}

/// `Operators ‖ n ‖ name`: the credential hash of the operator `name`.
pub(super) fn operator_name(name: &str) -> Vec<u8> {
    Space::Operators.key(&[b"n", name.as_bytes()])
}

/// `Operators ‖ u ‖ hash`: when the operator last made an admin call.
pub(super) fn operator_used(hash: &[u8; 32]) -> Vec<u8> {
    Space::Operators.key(&[b"u", hash])
}

/// `AdminLog ‖ at ‖ n`.
pub(super) fn admin_log(at: Timestamp, n: u64) -> Vec<u8> {
    Space::AdminLog.key(&[&at.as_millis().to_be_bytes(), &n.to_be_bytes()])
}

/// `Authored ‖ author ‖ created_at ‖ id`.
pub(super) fn authored(author: &PublicKey, at: Timestamp, id: &EventId) -> Vec<u8> {
    Space::Authored.key(&[author.as_bytes(), &at.as_millis().to_be_bytes(), id.as_bytes()])
}

/// `Authored ‖ author`: the prefix of everything `author` wrote.
pub(super) fn authored_by(author: &PublicKey) -> Vec<u8> {
    Space::Authored.key(&[author.as_bytes()])
}

/// `Mentions ‖ handle ‖ 0x00 ‖ created_at ‖ id`. Handles never contain
/// 0x00, so one handle's range never runs into another's.
pub(super) fn mention(handle: &Handle, at: Timestamp, id: &EventId) -> Vec<u8> {
    Space::Mentions.key(&[
        handle.as_str().as_bytes(),
        &[0],
        &at.as_millis().to_be_bytes(),
        id.as_bytes(),
    ])
}

/// `Mentions ‖ handle ‖ 0x00`: the prefix of every mention of `handle`.
pub(super) fn mentions_of(handle: &Handle) -> Vec<u8> {
    Space::Mentions.key(&[handle.as_str().as_bytes(), &[0]])
}

/// `Marks ‖ physician ‖ mark ‖ target`.
pub(super) fn mark(physician: &PublicKey, mark: u8, target: &[u8]) -> Vec<u8> {
    Space::Marks.key(&[physician.as_bytes(), &[mark], target])
}

/// `Marks ‖ physician ‖ mark`: the prefix of one kind of a physician's marks.
pub(super) fn marks_of(physician: &PublicKey, mark: u8) -> Vec<u8> {
    Space::Marks.key(&[physician.as_bytes(), &[mark]])
}

/// `InboxRead ‖ physician ‖ item`.
pub(super) fn inbox_read(physician: &PublicKey, item: &EventId) -> Vec<u8> {
    Space::InboxRead.key(&[physician.as_bytes(), item.as_bytes()])
}

/// `InboxRead ‖ physician`: the prefix of a physician's read items.
pub(super) fn inbox_read_of(physician: &PublicKey) -> Vec<u8> {
    Space::InboxRead.key(&[physician.as_bytes()])
}

/// `Tombstones ‖ id`.
pub(super) fn tombstone(id: &EventId) -> Vec<u8> {
    Space::Tombstones.key(&[id.as_bytes()])
}

/// `Ballots ‖ poll`: the prefix of every ballot in `poll`.
pub(super) fn ballots_of(poll: &EventId) -> Vec<u8> {
    Space::Ballots.key(&[poll.as_bytes()])
}

/// `Ballots ‖ poll ‖ voter`.
pub(super) fn ballot(poll: &EventId, voter: &PublicKey) -> Vec<u8> {
    Space::Ballots.key(&[poll.as_bytes(), voter.as_bytes()])
}

/// `Tallies ‖ poll`.
pub(super) fn tally(poll: &EventId) -> Vec<u8> {
    Space::Tallies.key(&[poll.as_bytes()])
}

/// `Polls ‖ poll`.
pub(super) fn rules(id: &EventId) -> Vec<u8> {
    Space::Rules.key(&[id.as_bytes()])
}

/// `Polls ‖ poll`.
pub(super) fn poll(poll: &EventId) -> Vec<u8> {
    Space::Polls.key(&[poll.as_bytes()])
}

/// `Attestations ‖ subject ‖ id`.
pub(super) fn attestation(subject: &PublicKey, id: &EventId) -> Vec<u8> {
    Space::Attestations.key(&[subject.as_bytes(), id.as_bytes()])
}

/// `Attestations ‖ subject`: the prefix of every attestation of `subject`.
pub(super) fn attestations_of(subject: &PublicKey) -> Vec<u8> {
    Space::Attestations.key(&[subject.as_bytes()])
}

/// `Charters ‖ node ‖ id`.
pub(super) fn charter(node: &PublicKey, id: &EventId) -> Vec<u8> {
    Space::Charters.key(&[node.as_bytes(), id.as_bytes()])
}

/// `Revocations ‖ target`.
pub(super) fn revocation(target: &EventId) -> Vec<u8> {
    Space::Revocations.key(&[target.as_bytes()])
}

/// `RevokedBy ‖ target ‖ revocation`.
pub(super) fn revoked_by(target: &EventId, revocation: &EventId) -> Vec<u8> {
    Space::RevokedBy.key(&[target.as_bytes(), revocation.as_bytes()])
}

/// `RevokedBy ‖ target`: the prefix of every revocation of `target`.
pub(super) fn revoked_by_prefix(target: &EventId) -> Vec<u8> {
    Space::RevokedBy.key(&[target.as_bytes()])
}

/// `Hubs ‖ hub`.
pub(super) fn hub(hub: &HubId) -> Vec<u8> {
    Space::Hubs.key(&[hub.as_str().as_bytes()])
}

/// `Cosigs ‖ head ‖ cosigner`.
pub(super) fn cosignature(head: &EventId, cosigner: &PublicKey) -> Vec<u8> {
    Space::Cosigs.key(&[head.as_bytes(), cosigner.as_bytes()])
}

/// `Cosigs ‖ head`: the prefix of every cosignature of `head`.
pub(super) fn cosignatures_of(head: &EventId) -> Vec<u8> {
    Space::Cosigs.key(&[head.as_bytes()])
}

/// `Heads ‖ verifier`: the prefix of every head of `verifier`.
pub(super) fn heads_of(verifier: &PublicKey) -> Vec<u8> {
    Space::Heads.key(&[verifier.as_bytes()])
}

/// The first key past every `Heads` key of `verifier` (heads are keyed
/// `verifier (32) ‖ created_at (8) ‖ id (32)`, so 49 bytes of 0xff pass
/// all of them).
pub(super) fn heads_after(verifier: &PublicKey) -> Vec<u8> {
    Space::Heads.key(&[verifier.as_bytes(), &[0xff; 49]])
}

/// The `Heads` key of the queued head whose `HeadQueue` key is `queued`.
pub(super) fn head_of_queued(queued: &[u8]) -> Vec<u8> {
    let mut key = queued.to_vec();
    if let Some(first) = key.first_mut() {
        *first = Space::Heads as u8;
    }
    key
}

/// `LogLeaves ‖ verifier ‖ index`.
pub(super) fn log_leaf(verifier: &PublicKey, index: u64) -> Vec<u8> {
    Space::LogLeaves.key(&[verifier.as_bytes(), &index.to_be_bytes()])
}

/// `LogState ‖ verifier`.
pub(super) fn log_state(verifier: &PublicKey) -> Vec<u8> {
    Space::LogState.key(&[verifier.as_bytes()])
}

/// `LogEvidence ‖ verifier ‖ found_at ‖ n`.
pub(super) fn log_evidence(verifier: &PublicKey, found_at: Timestamp, n: u64) -> Vec<u8> {
    Space::LogEvidence.key(&[
        verifier.as_bytes(),
        &found_at.as_millis().to_be_bytes(),
        &n.to_be_bytes(),
    ])
}

/// `LogEvidence ‖ verifier`, or every verifier's evidence with `None`.
pub(super) fn log_evidence_of(verifier: Option<&PublicKey>) -> Vec<u8> {
    Space::LogEvidence.key(&[verifier.map_or(&[][..], |v| v.as_bytes())])
}

/// The name of this node's latest own head in `own_entries` (entries are
/// keyed by 8-byte indexes, so a 4-byte name cannot collide).
pub(super) const OWN_HEAD: &[u8] = b"head";

/// `OwnEntries ‖ index`.
pub(super) fn own_entry(index: u64) -> Vec<u8> {
    Space::OwnEntries.key(&[&index.to_be_bytes()])
}

/// `OwnEntries ‖ "head"`.
pub(super) fn own_head() -> Vec<u8> {
    Space::OwnEntries.key(&[OWN_HEAD])
}

/// `Openings ‖ attestation`.
pub(super) fn opening(attestation: &EventId) -> Vec<u8> {
    Space::Openings.key(&[attestation.as_bytes()])
}

/// `Peers ‖ PeerId text`.
pub(super) fn peer(peer: &str) -> Vec<u8> {
    Space::Peers.key(&[peer.as_bytes()])
}

/// `Pending ‖ id` (the id as its raw bytes, as the indexes hold it).
pub(super) fn pending(id: &[u8]) -> Vec<u8> {
    Space::Pending.key(&[id])
}

/// `PendingDeps ‖ dependency ‖ id`.
pub(super) fn pending_dep(dep: &[u8], id: &[u8]) -> Vec<u8> {
    Space::PendingDeps.key(&[dep, id])
}

/// `PendingDeps ‖ dependency`: the prefix of everything waiting on `dep`.
pub(super) fn pending_deps_of(dep: &[u8]) -> Vec<u8> {
    Space::PendingDeps.key(&[dep])
}

/// `PendingAuthors ‖ author ‖ id`.
pub(super) fn pending_author(author: &PublicKey, id: &[u8]) -> Vec<u8> {
    Space::PendingAuthors.key(&[author.as_bytes(), id])
}

/// `PendingAuthors ‖ author`: the prefix of `author`'s held events.
pub(super) fn pending_authors_of(author: &PublicKey) -> Vec<u8> {
    Space::PendingAuthors.key(&[author.as_bytes()])
}

/// `PendingExpired ‖ author ‖ expired_at ‖ id`.
pub(super) fn pending_expired(author: &PublicKey, at: Timestamp, id: &[u8]) -> Vec<u8> {
    Space::PendingExpired.key(&[author.as_bytes(), &at.as_millis().to_be_bytes(), id])
}

/// `PendingExpired ‖ author`: the prefix of `author`'s expired events.
pub(super) fn pending_expired_of(author: &PublicKey) -> Vec<u8> {
    Space::PendingExpired.key(&[author.as_bytes()])
}

/// A dependency, as `pending_deps` keys and pending records name it: a tag
/// byte, then what it names. Everything waiting on one verifier's log waits
/// on the log as a whole: each time this node learns more of it, they are
/// all tried again.
pub(super) mod dep {
    use super::{Dependency, EventId, Handle, HubId, PublicKey};

    /// Waits for the event `id`.
    pub(in crate::store) fn event(id: &EventId) -> Vec<u8> {
        [&[1u8][..], id.as_bytes()].concat()
    }

    /// Waits for an attestation of `key`.
    pub(in crate::store) fn attestation(key: &PublicKey) -> Vec<u8> {
        [&[2u8][..], key.as_bytes()].concat()
    }

    /// Waits for a charter of `key`.
    pub(in crate::store) fn charter(key: &PublicKey) -> Vec<u8> {
        [&[3u8][..], key.as_bytes()].concat()
    }

    /// Waits for the hub `hub`.
    pub(in crate::store) fn hub(hub: &HubId) -> Vec<u8> {
        [&[4u8][..], hub.as_str().as_bytes(), &[0u8]].concat()
    }

    /// Waits for more of `verifier`'s audit log.
    pub(in crate::store) fn log(verifier: &PublicKey) -> Vec<u8> {
        [&[5u8][..], verifier.as_bytes()].concat()
    }

    /// Waits for an attestation giving `handle` (a mention, rules 4).
    pub(in crate::store) fn handle(handle: &Handle) -> Vec<u8> {
        [&[6u8][..], handle.as_str().as_bytes(), &[0u8]].concat()
    }

    /// The key of `dep`.
    pub(in crate::store) fn of(dep: &Dependency) -> Vec<u8> {
        match dep {
            Dependency::Event(id) => event(id),
            Dependency::Attestation(k) => attestation(k),
            Dependency::Charter(k) => charter(k),
            Dependency::Hub(h) => hub(h),
            Dependency::LogEntry { verifier, .. } => log(verifier),
            Dependency::Handle(h) => handle(h),
        }
    }

    /// What a dependency key names, for people.
    pub(in crate::store) fn describe(dep: &[u8]) -> String {
        let key32 = |b: &[u8]| <[u8; 32]>::try_from(b).ok();
        match dep.split_first() {
            Some((1, rest)) => key32(rest).map(|b| format!("event {}", EventId::from_bytes(b))),
            Some((2, rest)) => {
                key32(rest).map(|b| format!("an attestation of {}", PublicKey::from_bytes(b)))
            }
            Some((3, rest)) => {
                key32(rest).map(|b| format!("a charter of node {}", PublicKey::from_bytes(b)))
            }
            Some((4, rest)) => rest
                .strip_suffix(&[0])
                .and_then(|h| std::str::from_utf8(h).ok())
                .map(|h| format!("hub {h}")),
            Some((5, rest)) => key32(rest)
                .map(|b| format!("an entry in the audit log of {}", PublicKey::from_bytes(b))),
            Some((6, rest)) => rest
                .strip_suffix(&[0])
                .and_then(|h| std::str::from_utf8(h).ok())
                .map(|h| format!("an attestation of a physician @{h}")),
            _ => None,
        }
        .unwrap_or_else(|| "something this node could not name".into())
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

/// `Heads ‖ verifier ‖ created_at ‖ id`: a tree head held.
pub(super) fn head(verifier: &PublicKey, at: Timestamp, id: &EventId) -> Vec<u8> {
    Space::Heads.key(&[verifier.as_bytes(), &at.as_millis().to_be_bytes(), id.as_bytes()])
}

/// `HeadQueue ‖ verifier ‖ created_at ‖ id`: the same key as the head's
/// under `Heads`, queueing it for checking.
pub(super) fn queued_head(verifier: &PublicKey, at: Timestamp, id: &EventId) -> Vec<u8> {
    Space::HeadQueue.key(&[verifier.as_bytes(), &at.as_millis().to_be_bytes(), id.as_bytes()])
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
