//! The node's store, on sled. All sled code lives in this module.
//!
//! Callers reach it through a narrow handle per concern, so that a caller
//! shows which part of the store it touches: [`Store::events`] (events and
//! their indexes: by id, hub, thread, poll, subject, time),
//! [`Store::audit`] (verifiers' audit logs, tree heads, cosignatures),
//! [`Store::pending`] (events waiting for a dependency) and
//! [`Store::peers`] (addresses kept across restarts). The [`Store`] owns
//! them all, and itself opens, commits, flushes, fails, checks and counts.
//!
//! The submodules depend on each other one way only (an arrow points at
//! what a module uses; `Store` itself, its fields and its helpers belong to
//! this file, which every submodule uses):
//!
//! ```text
//! keys   batch   memory   durable        layouts, batches, memory: no other submodule
//!   ↑      ↑
//! reads  pending                          events and their indexes read; the pending set
//!   ↑      ↑
//!   audit ─┘                              audit logs (a log growing releases what waits on it)
//!   ↑
//! index                                   the index entries of an event, made once
//!   ↑
//! write   check   view   thread   authors   ids   commits   peers   afterwords   migrate ← open ← export
//! ```
//!
//! So the commit (`write`) and the integrity check (`check`) both build an
//! event's index entries with [`index::entries`], and every key is made by
//! a function of [`keys`].
//!
//! One sled tree holds everything; each key starts with the byte of its
//! collection ([`keys::Space`]):
//!
//! ```text
//! meta          name → value                          schema, network, counters
//! events        id → { authority, wire bytes less the network id, thread root of a comment } ‖ receipt
//! timeline      commit → packed (created_at, id, kind) of what it stored     (sync)
//! feed          hub ‖ 0 ‖ created_at ‖ id → the event's record (a copy; posts, cases, polls)
//! ballots       poll ‖ voter → Ballot                   (each voter's current ballot)
//! tallies       poll → Counts                           (running counts)
//! attestations  subject ‖ id → AttestationRecord
//! charters      node ‖ id → CharterRecord
//! revocations   target → effective_at                   (earliest)
//! hubs          hub → title                             (genesis hubs and Hub events)
//! polls         poll → PollRecord
//! rules         id → RulesChange                        (the bodies of Rules events)
//! pending       id → PendingRecord                      (waiting for a dependency: held at, receipt, wire)
//! pending_deps  dependency ‖ id → ()
//! openings      attestation id → LicenceOpening          (this node's own attestations; private)
//! peers         PeerId → addresses
//! heads         verifier ‖ created_at ‖ id → HeadRecord  (tree heads; see `audit.rs`)
//! head_queue    verifier ‖ created_at ‖ id → ()          (tree heads not yet checked)
//! cosignatures  head ‖ cosigner → cosignature id
//! revoked_by    target ‖ revocation id → ()             (the revocation events themselves)
//! log_leaves    verifier ‖ index → leaf id              (verifiers' audit logs, `audit.rs`)
//! log_state     verifier → LogState
//! log_evidence  verifier ‖ found_at ‖ n → Evidence
//! own_entries   index → wire bytes                      (this node's own log, until published)
//! threads       root ‖ commit → packed (created_at, id, parent) of the comments in that commit
//! appointments  moderator ‖ id → AppointmentRecord
//! hidden        id → the operator's note                (hidden on this node only)
//! reports       event ‖ reporter → Report               (local: never gossiped)
//! tombstones    id → StoredTombstone                    (an event taken back: summary, parent, thread root, retraction)
//! moderation    created_at ‖ id → kind                  (appointments, takedowns, revocations: the public record, by time)
//! afterwords    target ‖ kind → packed (created_at, id)  (36: a case's outcome, a thread's accept, a poll's answer in force)
//! authored      author ‖ created_at ‖ id → kind [‖ poll]  (posts, cases, comments, polls, votes by author; `mine`, the inbox)
//! mentions      handle ‖ 0 ‖ created_at ‖ id → ()        (events whose text names @handle; the inbox)
//! marks         physician ‖ f|h|b ‖ target → added_at   (follows of threads and hubs, bookmarks: local, never gossiped)
//! inbox_read    physician ‖ item → read_at              (inbox items read: local, never gossiped)
//! operators     h ‖ hash → OperatorRecord; n ‖ name → hash; u ‖ hash → last used  (named operators: local)
//! admin_log     at ‖ n → LogEntry                         (every admin call: who, what, outcome; local)
//! ```
//!
//! `operators` (48) and `admin_log` (49) came without a schema bump too: a
//! store written before them has no named operator and an empty log,
//! which is what it had.
//!
//! Spaces 32–35 are reserved for other work; `afterwords` (36) came
//! without a schema bump: a store written before it simply has none of
//! its keys, and holds no outcome, accept or answer either (rules 3 bring
//! them).
//!
//! Invariants:
//!
//! - **Atomic.** An event and all its index entries are written by one
//!   sled `apply_batch` (with every other event of its commit), which sled
//!   recovers all or nothing after a crash.
//! - **Idempotent.** Writing an event twice changes nothing: a commit skips
//!   ids already stored.
//! - **One writer** at a time (a lock), so index updates computed from
//!   reads just before the batch cannot race.
//! - **Durability is separate**: [`Store::flush`] makes every commit so far
//!   durable, so many commits share one sync: sled's flush hands the log
//!   to the kernel, then `fdatasync` of `db` (and of any new blob file,
//!   and `fsync` of its directory) puts it on the disk ([`durable`] says
//!   which files and why). Nothing is acknowledged before that returns.
//! - **Memory agrees with the disk** ([`memory`]): the trust records
//!   validation reads (charters, attestations, revocations, hubs, polls) are
//!   kept in memory, loaded at open and updated only after the fsync that
//!   made them durable; the id and ballot filters may over-approximate but
//!   never miss. A commit or flush that fails leaves the memory as it was
//!   and the store refuses further writes ([`StoreError::Failed`]) until it
//!   is opened again, which reloads the memory from the disk.
//! - **Copied between batches** ([`export`]): every batch write goes through
//!   [`Store::apply`] (or holds [`Store::quiet`]), so a backup's scan never
//!   sees half of one.
//!
//! Why packed records for the timeline and threads: sled 0.34 spends about
//! 10 µs on every key it writes, whatever its size (it copies and relinks a
//! tree node per insert), so the store writes as few keys per event as its
//! reads allow. A feed page needs per-event keys (it is read in time order
//! from a cursor); the timeline is only ever read whole (to build the sync
//! sets at start), and a thread reads all of its comments' places (to walk
//! them depth first), so those two are written as one record per commit
//! (and per thread), not one key per event.
//!
//! Why reads cost lookups, not bytes: every sled lookup walks the tree
//! from its root (and a range read clones the leaf it starts in), which at
//! a million events is several microseconds however little it returns. So
//! a feed entry holds a copy of its event's record, and a page is one
//! range read over neighbouring leaves rather than fifty lookups; it costs
//! the posts', cases' and polls' bytes a second time (comments and votes,
//! the bulk, have no feed entry) and no extra key. And comments are
//! indexed by thread root, not by parent: a thread's shape is one range
//! read, where by parent it took one per event in it (most of them
//! finding no replies), and a commit writes one key per thread it adds
//! to rather than one per parent. A comment's root is its parent's (from
//! this commit, the writer's [`memory::Roots`] of recent commits, or the
//! parent's record), so a comment's record names its root.
//!
//! ## Adding a collection
//!
//! 1. Add a variant to [`keys::Space`] with the next unused byte and a
//!    name, and document its key and value layout there and in the table
//!    above. Never renumber an existing one.
//! 2. Write a function in [`keys`] that builds its keys with
//!    `Space::X.key(&[...])` (big-endian numbers, fixed widths or a
//!    terminator, so prefixes stay unambiguous); nothing else lays out
//!    key bytes. If its entries follow from events, add them to
//!    [`index::entries`], which both the commit and the check use. Write them
//!    through the same `sled::Batch` as the rest of a commit
//!    ([`batch::Writes`]) when they must be atomic with events, or with one
//!    `apply_batch` of their own otherwise.
//! 3. Read with `self.tree.get(...)` / `scan_prefix(...)` in a file of its
//!    own under `store/`, decoding values with [`decode`] so that damage is
//!    reported as [`StoreError::Corrupt`] naming the collection.
//! 4. A store written before the collection existed simply has none of its
//!    keys. If the change alters existing keys or values, bump
//!    [`SCHEMA_VERSION`] so old stores are refused at open rather than
//!    misread.

mod afterwords;
pub mod audit;
mod authored;
mod authors;
mod batch;
mod check;
mod commits;
mod durable;
mod export;
mod ids;
mod inbox;
mod index;
mod keys;
mod marks;
mod memory;
mod migrate;
mod moderation;
mod open;
mod operators;
mod peers;
mod pending;
mod reads;
mod thread;
mod tombstones;
mod view;
mod write;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use curbside_protocol::{EventId, EventSummary, Genesis, HubId, NetworkId, Timestamp};
use serde::{Deserialize, Serialize};

use keys::Space;
use memory::{Delta, Filters, Recent, Trust};

pub use afterwords::Afterwords;
pub use audit::AuditLogs;
pub use check::{CheckReport, LogCheck, Problem};
pub(crate) use durable::sync_dir;
pub use export::{Exported, MAGIC as RECORDS_MAGIC, RecordsError, Stopped, import};
pub use ids::IdPrefix;
pub use inbox::{InboxItem, ItemKind};
pub use marks::{
    Cursor, Follow, MAX_BOOKMARKS, MAX_FOLLOWS, MAX_READ, MarkError, Personal, Written,
};
pub use moderation::{ModerationPage, Report, ReportError, ReportLimits};
pub use operators::{
    AdminLog, LOG_SCAN, ListedOperator, LogCursor, LogEntry, LogFilter, LogPage, MAX_OPERATORS,
    OperatorError, OperatorRecord, Operators,
};
pub use peers::Peers;
pub use pending::{Expired, Held, Holder, PendingEvent, PendingLimits, PendingSet, Waiting};
pub use reads::{
    AttestationStatus, Events, HeldAttestation, NotCounted, SpaceUsage, StoreCounts, StoreUsage,
    WireAndReceipt,
};
pub use thread::{ThreadEntry, ThreadError, ThreadPage};
use tombstones::StoredTombstone;
pub use tombstones::TakenBack;
pub use view::StoreView;
pub use write::Committed;

/// The on-disk layout version this build reads and writes.
///
/// 1: one sled tree per collection, written by a multi-tree transaction.
/// 2: one tree with a collection byte before each key; the timeline and
/// replies packed per commit; the authority of a physician's event stored
/// as its attestation's id.
/// 3: a feed entry holds a copy of its event's record (it held nothing);
/// comments are indexed by thread root (`threads`, packed per commit with
/// each comment's parent) instead of by parent (`replies`, retired), and a
/// comment's record names its root.
/// 4: receipts: an event's record ends with when it was first received,
/// an attestation record holds the same, and a pending record when it was
/// held apart from when it was received. A schema-3 store is migrated at
/// open ([`migrate`]).
/// 5: the moderation record (appointments, takedowns, revocations) is
/// indexed by time (`moderation`), so it is read a page at a time. A
/// schema-4 store is migrated at open.
/// 6: what a physician reads about themselves: events by author
/// (`authored`) and by the handles their text mentions (`mentions`), and
/// each physician's own follows, bookmarks and read inbox items (`marks`,
/// `inbox_read`, local). A schema-5 store is migrated at open: the two
/// indexes are built from the events stored.
/// 7: an event's record holds its wire form without the network id and
/// no summary (both are in the wire form), so an event and its feed copy
/// take about 70 bytes less each (issue 18). A schema-6 store is migrated
/// at open: every event record and feed entry is rewritten.
pub const SCHEMA_VERSION: u32 = 7;

/// The oldest layout this build migrates; older ones are refused.
pub const OLDEST_MIGRATED: u32 = 3;

/// What to do with a store of schema `found` that this build (`expected`)
/// cannot read: a newer one was migrated by a newer build, so moving it
/// aside would lose what only it holds; an older one cannot be read at all.
fn schema_advice(found: u32, expected: u32) -> &'static str {
    if found > expected {
        "A newer build of curbside migrated this store: run that build, or, to roll back, \
         restore the data directory from the backup taken before the upgrade (docs/UPGRADE.md, \
         \"Rolling back\"). Do not move this store aside: it holds this node's own audit log \
         and licence openings"
    } else {
        "A store this old cannot be read: move the store directory aside and start the node, \
         which fetches the network's history from its peers (this node's own audit log and \
         licence openings are in the old store: keep it)"
    }
}

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled reported an I/O or corruption error.
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    /// Syncing the store's files to disk failed.
    #[error("syncing the store to disk: {0}")]
    Sync(std::io::Error),
    /// The directory holds a store of another layout version.
    #[error(
        "the store is schema version {found}; this build reads version {expected} and migrates \
         versions from {OLDEST_MIGRATED}. {}",
        schema_advice(*found, *expected)
    )]
    Schema {
        /// The version on disk.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// The directory holds another network's store.
    #[error("the store belongs to network {stored}, but the genesis given is network {given}")]
    WrongNetwork {
        /// The network on disk.
        stored: NetworkId,
        /// The network of the genesis given.
        given: NetworkId,
    },
    /// An earlier commit or flush failed, so what is in memory may no longer
    /// match the disk: the store refuses writes until it is opened again.
    #[error("an earlier write to the store failed; restart the node to reopen it")]
    Failed,
    /// Another process (most likely another node) has the directory open.
    #[error("the store in {0} is in use by another process; is another node running on it?")]
    Busy(String),
    /// A bug: an invariant of the node did not hold.
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// A record does not decode: the store is damaged.
    #[error("damaged record in {tree}: {detail}")]
    Corrupt {
        /// Which collection.
        tree: &'static str,
        /// What failed.
        detail: String,
    },
}

/// How the store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreConfig {
    /// Most bytes sled keeps in its page cache (the OS page cache comes on
    /// top). sled's own default is 1 GiB.
    pub cache_bytes: u64,
}

impl StoreConfig {
    /// The node's default page cache: 1 GiB, sled's own default. At a
    /// million events a 256 MiB cache took the process from 1.2 GiB to
    /// 0.65 GiB resident but, in layout 2, feed and thread reads from about
    /// 1 ms to 18 ms at p99 under load; layout 3's reads, which make far
    /// fewer lookups, stayed under 2 ms (docs/BENCHMARKS.md). A smaller
    /// cache is an operator's choice (`store_cache_mb`), not the default.
    pub const DEFAULT_CACHE_BYTES: u64 = 1 << 30;
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { cache_bytes: Self::DEFAULT_CACHE_BYTES }
    }
}

/// How a physician's, a chartered node's or a root's event is recorded:
/// like [`curbside_protocol::Authority`], but a physician's attestation by
/// its id (the record itself is under `attestations`), which saves about
/// 120 bytes on every physician's event.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum StoredAuthority {
    Root,
    Chartered { charter: EventId },
    Issuer,
    Physician { attestation: EventId },
}

/// An event as the store holds it: its summary, its authority, its wire
/// form and (a comment's) thread root. In memory only since layout 7: the
/// record on disk ([`event_record`]) holds the authority, the thread root
/// and the wire form without its network id, and the summary is read from
/// the wire form. Its serde form is the record of layouts 2 to 6
/// ([`split_record_v6`]), which a migration reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredEvent {
    summary: EventSummary,
    authority: StoredAuthority,
    wire: Vec<u8>,
    /// A comment's thread root (the post, case or poll its thread starts
    /// from), which keys its entry under `threads`.
    thread: Option<EventId>,
}

/// An `events` record's fields as layout 7 writes them. `wire` is the
/// event's wire form without the network id every event of the store
/// carries (32 bytes after the version byte): [`event_record`] checks it
/// is the store's before leaving it out, and [`split_record`] puts it back.
#[derive(Serialize)]
struct RecordOut<'a> {
    authority: &'a StoredAuthority,
    thread: &'a Option<EventId>,
    wire: &'a [u8],
}

/// [`RecordOut`] as reads decode it, the wire form borrowed from the
/// record (postcard writes a byte slice as a length and the bytes).
#[derive(Deserialize)]
struct RecordIn<'a> {
    authority: StoredAuthority,
    thread: Option<EventId>,
    #[serde(borrow)]
    wire: &'a [u8],
}

/// Where the network id lies in an event's wire form: after the one byte
/// of the format version (postcard writes a `u8` as one byte).
const NETWORK_AT: usize = 1;

/// An `events` record (or a feed entry's copy of one), layout 7: the
/// authority, the thread root and the wire form without its network id
/// ([`RecordOut`]), then when the event was first received
/// (`Option<Timestamp>`), which
/// [`VerifiedEvent::received_at`](curbside_protocol::VerifiedEvent::received_at)
/// gives back and sync passes on to peers.
///
/// Layouts 2 to 6 wrote the summary too (kind, author, time: all in the
/// wire form) and the network id in every record: 70-odd bytes of about
/// 400 an event, and a copy in each feed entry (docs/BENCHMARKS.md, "Disk
/// per event").
fn event_record(
    network: &NetworkId,
    stored: &StoredEvent,
    received_at: Option<Timestamp>,
) -> Result<Vec<u8>, StoreError> {
    let net = encode(network);
    let wire = &stored.wire;
    if wire.get(NETWORK_AT..NETWORK_AT + net.len()) != Some(net.as_slice()) {
        // Validation refuses an event of another network.
        return Err(StoreError::Internal("an event of another network reached the store"));
    }
    let mut compact = Vec::with_capacity(wire.len() - net.len());
    compact.extend_from_slice(&wire[..NETWORK_AT]);
    compact.extend_from_slice(&wire[NETWORK_AT + net.len()..]);
    let mut record =
        encode(&RecordOut { authority: &stored.authority, thread: &stored.thread, wire: &compact });
    record.extend(encode(&received_at));
    Ok(record)
}

/// Splits an `events` record ([`event_record`]) into what it stores
/// (the wire form whole again, with `network`'s id) and the receipt.
fn split_record(
    network: &NetworkId,
    bytes: &[u8],
) -> Result<(StoredEvent, Option<Timestamp>), StoreError> {
    let (record, received_at) = split_any::<RecordIn<'_>>(bytes)?;
    let summary = wire_summary(record.wire)?;
    let net = encode(network);
    let head = record.wire.get(..NETWORK_AT).ok_or_else(|| corrupt_record("an empty wire form"))?;
    let mut wire = Vec::with_capacity(record.wire.len() + net.len());
    wire.extend_from_slice(head);
    wire.extend_from_slice(&net);
    wire.extend_from_slice(&record.wire[NETWORK_AT..]);
    let stored = StoredEvent { summary, authority: record.authority, wire, thread: record.thread };
    Ok((stored, received_at))
}

/// The summary of the event an `events` record holds, read from the start
/// of its wire form (what validation asks of a stored parent), without
/// copying the rest.
fn record_summary(bytes: &[u8]) -> Result<EventSummary, StoreError> {
    let (record, _) = split_any::<RecordIn<'_>>(bytes)?;
    wire_summary(record.wire)
}

/// The kind, author and time at the start of a wire form without its
/// network id: the version byte, the author, the time, then the body,
/// whose variant index is its [`Kind`](curbside_protocol::Kind)'s (both
/// enums list the kinds in one order; the store's tests check it).
fn wire_summary(compact: &[u8]) -> Result<EventSummary, StoreError> {
    let corrupt = |e: postcard::Error| corrupt_record(&e.to_string());
    let ((_, author, created_at), rest) =
        postcard::take_from_bytes::<(u8, curbside_protocol::PublicKey, Timestamp)>(compact)
            .map_err(corrupt)?;
    let (kind, _) = postcard::take_from_bytes::<curbside_protocol::Kind>(rest).map_err(corrupt)?;
    Ok(EventSummary { kind, author, created_at })
}

fn corrupt_record(detail: &str) -> StoreError {
    StoreError::Corrupt { tree: "events", detail: detail.to_owned() }
}

/// Splits a record of layouts 2 to 6 (a [`StoredEvent`], then the receipt
/// from layout 4 on): what the migration to layout 7 reads.
fn split_record_v6(bytes: &[u8]) -> Result<(StoredEvent, Option<Timestamp>), StoreError> {
    split_any::<StoredEvent>(bytes)
}

/// `T`, then an optional receipt: records written before schema 4 end
/// after `T` (those events were stored before receipts were kept, and read
/// as having none).
fn split_any<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
) -> Result<(T, Option<Timestamp>), StoreError> {
    let corrupt = |e: postcard::Error| corrupt_record(&e.to_string());
    let (stored, rest) = postcard::take_from_bytes::<T>(bytes).map_err(corrupt)?;
    let received_at =
        if rest.is_empty() { None } else { postcard::from_bytes(rest).map_err(corrupt)? };
    Ok((stored, received_at))
}

/// The single writer's state.
#[derive(Debug)]
struct Writer {
    /// Number of the next commit that stores something (keys of the
    /// timeline and thread records).
    next_commit: u64,
    /// Thread roots of recently stored events.
    roots: memory::Roots,
}

/// Failures the store's tests inject where sled cannot be made to fail,
/// and what they observe of the syncs.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// The next `apply_batch` fails without writing.
    pub(crate) apply: AtomicBool,
    /// The next flush fails (after sled has the writes in memory).
    pub(crate) flush: AtomicBool,
    /// A slow disk: each sync of the store's files takes this many
    /// milliseconds more (before it starts).
    pub(crate) slow_sync_ms: std::sync::atomic::AtomicU64,
    /// Events committed before the sled flush of the latest completed
    /// sync of `db` began: how many events are durable.
    pub(crate) durable_events: std::sync::atomic::AtomicU64,
    /// Blob files synced so far.
    pub(crate) synced_blobs: Mutex<Vec<std::ffi::OsString>>,
}

/// The store's failed state: latched by the first write or sync that
/// fails, never cleared (the store must be opened again).
#[derive(Debug, Default)]
struct Failure {
    failed: AtomicBool,
    /// What failed first, for the operator.
    first: std::sync::OnceLock<String>,
    /// Wakes [`Store::failed`].
    notify: tokio::sync::Notify,
}

/// A node's store.
#[derive(Debug)]
pub struct Store {
    db: sled::Db,
    /// The one tree (sled's default).
    tree: sled::Tree,
    genesis: Genesis,
    network: NetworkId,
    writer: Mutex<Writer>,
    /// Trust records of every durable event.
    trust: RwLock<Trust>,
    /// Summaries of the latest durable events.
    recent: RwLock<Recent>,
    /// Filters of stored ids and ballots.
    filters: RwLock<Filters>,
    /// What committed batches add to `trust`, waiting for their fsync.
    unflushed: Mutex<Vec<Delta>>,
    /// One flush at a time, so a commit's delta reaches `trust` before any
    /// flush that started after it returns.
    flushing: Mutex<()>,
    /// sled's files, synced after each flush.
    files: durable::Files,
    /// Set when a commit or flush failed.
    failure: Failure,
    /// Every verifier's audit log, in memory.
    logs: audit::AuditMemory,
    /// What the pending set holds, in bytes and per holder.
    pending_budget: Mutex<pending::PendingBudget>,
    /// The store's directory (for the free space on its disk).
    dir: std::path::PathBuf,
    /// Events taken back since [`Events::drain_taken_back`] was last
    /// called: `(created_at, id, kind)` as their tombstones say, for the
    /// sync sets.
    taken_back: Mutex<Vec<TakenBack>>,
    /// Events hidden on this node by its operator.
    hidden: RwLock<std::collections::HashSet<EventId>>,
    /// One change of physicians' own marks at a time, so a list's cap
    /// cannot be passed by two requests at once ([`marks`]).
    marks_lock: Mutex<()>,
    /// Held for reading by every batch write, for writing by an export,
    /// which so copies the store between two batches ([`export`]).
    quiet: RwLock<()>,
    #[cfg(test)]
    pub(crate) faults: Faults,
}

fn decode<V: serde::de::DeserializeOwned>(space: Space, bytes: &[u8]) -> Result<V, StoreError> {
    postcard::from_bytes(bytes)
        .map_err(|e| StoreError::Corrupt { tree: space.name(), detail: e.to_string() })
}

fn encode<V: Serialize>(value: &V) -> Vec<u8> {
    curbside_protocol::encoding::to_vec(value)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Store {
    /// The network's genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The network id.
    pub fn network(&self) -> NetworkId {
        self.network
    }

    /// Makes every commit so far durable (one sync for all of them), then
    /// lets validation see what they stored.
    pub fn flush(&self) -> Result<(), StoreError> {
        let _flushing = lock(&self.flushing);
        self.healthy()?;
        // Taken before the sync: everything committed up to here is covered.
        let deltas = std::mem::take(&mut *lock(&self.unflushed));
        if let Err(e) = self.sync_to_disk() {
            self.fail(&e);
            return Err(e);
        }
        if deltas.iter().any(|d| !d.is_empty()) {
            let mut trust = write(&self.trust);
            let mut recent = write(&self.recent);
            let mut taken_back = lock(&self.taken_back);
            for delta in deltas {
                taken_back.extend(delta.tombstones.iter().map(|(id, t)| TakenBack {
                    created_at: t.summary.created_at,
                    id: *id,
                    kind: t.summary.kind,
                    taken_down: t.taken_down(),
                }));
                trust.apply(delta, &mut recent);
            }
        }
        Ok(())
    }

    /// sled's flush (the log handed to the kernel), then the sync of the
    /// files it wrote ([`durable`]).
    fn sync_to_disk(&self) -> Result<(), StoreError> {
        #[cfg(test)]
        if self.faults.flush.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Sled(sled::Error::Io(std::io::Error::other("injected"))));
        }
        #[cfg(test)]
        let (committed, syncs) =
            (keys::u64_value(self.tree.get(keys::event_count())?), self.files.syncs());
        self.db.flush()?;
        #[cfg(test)]
        std::thread::sleep(std::time::Duration::from_millis(
            self.faults.slow_sync_ms.load(Ordering::SeqCst),
        ));
        let _new_blobs = self.files.sync().map_err(StoreError::Sync)?;
        #[cfg(test)]
        if self.files.syncs() > syncs {
            self.faults.durable_events.fetch_max(committed, Ordering::SeqCst);
            lock(&self.faults.synced_blobs).extend(_new_blobs);
        }
        Ok(())
    }

    /// Applies `batch` atomically; on failure the store refuses further
    /// writes, since sled may hold part of it in memory.
    fn apply(&self, batch: sled::Batch) -> Result<(), StoreError> {
        #[cfg(test)]
        if self.faults.apply.swap(false, Ordering::SeqCst) {
            let e = StoreError::Sled(sled::Error::Io(std::io::Error::other("injected")));
            self.fail(&e);
            return Err(e);
        }
        let _quiet = self.quiet();
        self.tree.apply_batch(batch).map_err(|e| {
            let e = StoreError::from(e);
            self.fail(&e);
            e
        })
    }

    /// Latches the failed state (the first error is kept for the operator).
    fn fail(&self, error: &StoreError) {
        let _ = self.failure.first.set(error.to_string());
        if !self.failure.failed.swap(true, Ordering::SeqCst) {
            tracing::error!(error = %error, "the store failed; it takes no more writes until reopened");
        }
        self.failure.notify.notify_waiters();
    }

    /// `Err(Failed)` once a write has failed.
    fn healthy(&self) -> Result<(), StoreError> {
        if self.has_failed() { Err(StoreError::Failed) } else { Ok(()) }
    }

    /// How many times the store's log was synced to disk since it was
    /// opened (each flush that acknowledges events syncs it once).
    pub fn syncs(&self) -> u64 {
        self.files.syncs()
    }

    /// Whether a write or sync has failed, so the store takes no more
    /// writes until it is opened again.
    pub fn has_failed(&self) -> bool {
        self.failure.failed.load(Ordering::SeqCst)
    }

    /// What failed first, once the store has failed.
    pub fn failure(&self) -> Option<&str> {
        self.failure.first.get().map(String::as_str)
    }

    /// Resolves once the store has failed (at once if it has).
    pub async fn failed(&self) {
        loop {
            let notified = self.failure.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.has_failed() {
                return;
            }
            notified.await;
        }
    }

    /// The single writer's lock, if the store still takes writes.
    fn writer(&self) -> Result<MutexGuard<'_, Writer>, StoreError> {
        let writer = lock(&self.writer);
        self.healthy()?;
        Ok(writer)
    }

    /// Whether `id` is stored: the filter answers "no" at once, sled the rest.
    fn is_stored(&self, filters: &Filters, id: &EventId) -> Result<bool, StoreError> {
        if !filters.ids.contains(&keys::id_prefix(id)) {
            return Ok(false);
        }
        Ok(self.tree.contains_key(keys::event(id))?)
    }

    /// The trust records and filters as loaded from the disk now, beside
    /// those kept in memory: for tests that check the two agree.
    #[cfg(test)]
    fn memory_and_disk(&self) -> Result<(MemoryImage, MemoryImage), StoreError> {
        let (disk, filters, _) = open::load_memory(&self.tree)?;
        for (id, summary) in read(&self.recent).all() {
            let bytes = self.tree.get(keys::event(&id))?;
            let stored: Option<StoredEvent> =
                bytes.map(|b| split_record(&self.network, &b).map(|(s, _)| s)).transpose()?;
            assert_eq!(stored.map(|s| s.summary), Some(summary), "recent summary of {id}");
        }
        let mem = read(&self.trust).clone();
        let mem_ids = read(&self.filters).ids.len();
        Ok(((mem.sorted(), mem_ids), (disk.sorted(), filters.ids.len())))
    }
}

/// The trust records and the number of ids in the filter, for comparing.
#[cfg(test)]
type MemoryImage = (Trust, usize);

/// The 32 bytes of `key` from `at`.
fn key_part(space: Space, key: &[u8], at: usize) -> Result<[u8; 32], StoreError> {
    key.get(at..at + 32)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or(StoreError::Corrupt { tree: space.name(), detail: "short key".into() })
}

/// The hub a `hubs` key names.
fn hub_of_key(key: &[u8]) -> Result<HubId, StoreError> {
    key.get(1..)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| HubId::new(s).ok())
        .ok_or(StoreError::Corrupt { tree: "hubs", detail: "bad hub id".into() })
}

#[cfg(test)]
mod tests;
