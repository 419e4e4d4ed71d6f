//! Verifiers' audit logs, as this node holds them.
//!
//! ```text
//! heads         verifier ‖ created_at ‖ head id → HeadRecord     (written with the event)
//! head_queue    verifier ‖ created_at ‖ head id → ()             (heads not yet checked)
//! cosignatures  head id ‖ cosigner → cosignature id              (written with the event)
//! log_leaves    verifier ‖ index (8, BE) → leaf id               (the mirror, or this node's own log)
//! log_state     verifier → LogState                              (the latest checked head, a fork)
//! log_evidence  verifier ‖ found_at ‖ n → Evidence               (proof of misbehaviour)
//! own_entries   index (8, BE) → wire bytes of the leaf event     (this node's own log, for recovery)
//! ```
//!
//! All are collections of the store's one tree ([`super::keys::Space`]).
//! The first three are index entries of events and go in the event's own
//! batch (`write.rs`); the rest are written here by the audit module, each
//! change in one atomic batch. Every verifier's leaves are also held in memory as a
//! [`MerkleLog`], so validation asks "is this attestation logged?" without
//! touching the disk and proofs cost O(log² n) hashes.

use std::collections::HashMap;
use std::sync::RwLock;

use curbside_protocol::merkle::{self, Hash, MerkleLog};
use curbside_protocol::{Digest, EventId, LogEntry, PublicKey, Timestamp};
use serde::{Deserialize, Serialize};

use super::keys::Space;
use super::{Store, StoreError, decode, encode, keys, pending};

/// The key of this node's latest own head in `own_entries` (entries are
/// keyed by 8-byte indexes, so a 4-byte key cannot collide).
const OWN_HEAD: &[u8] = b"head";

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
struct LogState {
    /// The checked head of the largest size (the one the leaves reach).
    latest: Option<CheckedHead>,
    /// The latest receipt of any head checked consistent (for heads stored
    /// before receipts were kept, its `created_at`).
    checked_through: Option<Timestamp>,
    /// When the verifier forked its log, if this node has proof.
    forked_at: Option<Timestamp>,
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
pub struct Evidence {
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

/// One verifier's log in memory.
#[derive(Debug, Default)]
struct MemLog {
    tree: MerkleLog,
    index: HashMap<EventId, u64>,
    state: LogState,
}

/// The in-memory part of every verifier's log.
#[derive(Debug, Default)]
pub(super) struct AuditMemory {
    logs: RwLock<HashMap<PublicKey, MemLog>>,
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

fn leaf_key(verifier: &PublicKey, index: u64) -> Vec<u8> {
    Space::LogLeaves.key(&[verifier.as_bytes(), &index.to_be_bytes()])
}

fn state_key(verifier: &PublicKey) -> Vec<u8> {
    Space::LogState.key(&[verifier.as_bytes()])
}

fn leaf_hash(id: &EventId) -> Hash {
    merkle::leaf_hash(id.as_bytes())
}

fn corrupt(tree: &'static str, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt { tree, detail: detail.into() }
}

impl AuditMemory {
    /// Loads every log from the store.
    pub(super) fn load(tree: &sled::Tree) -> Result<Self, StoreError> {
        const STATE: &str = "log_state";
        const LEAVES: &str = "log_leaves";
        let mut logs: HashMap<PublicKey, MemLog> = HashMap::new();
        for item in tree.scan_prefix(Space::LogState.all()) {
            let (key, value) = item?;
            let key: [u8; 32] = key
                .get(1..)
                .and_then(|k| k.try_into().ok())
                .ok_or_else(|| corrupt(STATE, "key"))?;
            let state: LogState = decode(Space::LogState, &value)?;
            logs.insert(PublicKey::from_bytes(key), MemLog { state, ..MemLog::default() });
        }
        for item in tree.scan_prefix(Space::LogLeaves.all()) {
            let (key, value) = item?;
            let (verifier, index) = match (key.get(1..33), key.get(33..41)) {
                (Some(v), Some(i)) => (
                    PublicKey::from_bytes(v.try_into().map_err(|_| corrupt(LEAVES, "key"))?),
                    u64::from_be_bytes(i.try_into().map_err(|_| corrupt(LEAVES, "key"))?),
                ),
                _ => return Err(corrupt(LEAVES, "short key")),
            };
            let id = EventId::from_bytes(
                value.as_ref().try_into().map_err(|_| corrupt(LEAVES, "leaf is not 32 bytes"))?,
            );
            let log = logs.entry(verifier).or_default();
            if index != log.tree.len() {
                return Err(corrupt(LEAVES, format!("leaf {index} of {verifier} out of order")));
            }
            log.tree.push(leaf_hash(&id));
            log.index.insert(id, index);
        }
        for (verifier, log) in &logs {
            if let Some(latest) = log.state.latest
                && log.tree.root_at(latest.size) != Some(*latest.root.as_bytes())
            {
                return Err(corrupt(
                    STATE,
                    format!("the leaves of {verifier} do not hash to its checked head"),
                ));
            }
        }
        Ok(Self { logs: RwLock::new(logs) })
    }

    fn read<R>(&self, f: impl FnOnce(&HashMap<PublicKey, MemLog>) -> R) -> R {
        f(&self.logs.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn write<R>(&self, f: impl FnOnce(&mut HashMap<PublicKey, MemLog>) -> R) -> R {
        f(&mut self.logs.write().unwrap_or_else(|p| p.into_inner()))
    }

    /// Where `attestation` stands in `verifier`'s log.
    pub(super) fn entry(&self, verifier: &PublicKey, attestation: &EventId) -> LogEntry {
        self.read(|logs| match logs.get(verifier) {
            Some(log) if log.index.contains_key(attestation) => LogEntry::Logged,
            Some(log) => LogEntry::Absent { checked_through: log.state.checked_through },
            None => LogEntry::Absent { checked_through: None },
        })
    }

    /// When `verifier` forked its log.
    pub(super) fn forked_at(&self, verifier: &PublicKey) -> Option<Timestamp> {
        self.read(|logs| logs.get(verifier).and_then(|l| l.state.forked_at))
    }
}

impl Store {
    fn put_state(&self, verifier: &PublicKey, state: &LogState) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        batch.insert(state_key(verifier), encode(state));
        self.apply(batch)
    }

    /// The size and root `verifier`'s log would have with `leaves` appended.
    pub fn log_extended_root(&self, verifier: &PublicKey, leaves: &[EventId]) -> (u64, Digest) {
        self.audit.read(|logs| {
            let mut tree = logs.get(verifier).map(|l| l.tree.clone()).unwrap_or_default();
            for id in leaves {
                tree.push(leaf_hash(id));
            }
            (tree.len(), Digest::from_bytes(tree.root()))
        })
    }

    /// Appends `leaves` to `verifier`'s log, which must hold exactly `start`
    /// leaves, and records `head` (whose size and root the caller checked
    /// the extended log against, and which was received at `received_at`)
    /// as its checked head. `own` carries the
    /// wire bytes of the leaf events and of the head when the log is this
    /// node's own, so that a crash between logging and publishing loses
    /// nothing ([`Store::own_unpublished`]).
    ///
    /// Returns the pending events that were waiting for this log (to be
    /// ingested again). Not yet durable: flush before relying on it.
    pub fn log_append(
        &self,
        verifier: &PublicKey,
        start: u64,
        leaves: &[EventId],
        head: CheckedHead,
        received_at: Timestamp,
        own: Option<OwnRecords<'_>>,
    ) -> Result<Vec<super::PendingEvent>, StoreError> {
        let writer = self.writer()?;
        let (mut tree, mut state) = self.audit.read(|logs| {
            logs.get(verifier).map_or((MerkleLog::new(), LogState::default()), |l| {
                (l.tree.clone(), l.state.clone())
            })
        });
        if tree.len() != start {
            return Err(StoreError::Internal("a log append does not start at the log's end"));
        }
        for id in leaves {
            tree.push(leaf_hash(id));
        }
        if tree.root_at(head.size) != Some(*head.root.as_bytes()) || head.size != tree.len() {
            return Err(StoreError::Internal("appended leaves do not hash to the head"));
        }
        state.latest = Some(head);
        state.checked_through =
            Some(state.checked_through.map_or(received_at, |t| t.max(received_at)));

        let mut batch = sled::Batch::default();
        for (i, id) in leaves.iter().enumerate() {
            let index = start + i as u64;
            batch.insert(leaf_key(verifier, index), id.as_bytes());
            if let Some(records) = &own
                && let Some(wire) = records.entries.get(i)
            {
                batch.insert(Space::OwnEntries.key(&[&index.to_be_bytes()]), wire.as_slice());
            }
        }
        if let Some(records) = &own {
            batch.insert(Space::OwnEntries.key(&[OWN_HEAD]), records.head);
        }
        batch.insert(state_key(verifier), encode(&state));
        self.apply(batch)?;
        self.audit.write(|logs| {
            let log = logs.entry(*verifier).or_default();
            for (i, id) in leaves.iter().enumerate() {
                log.index.insert(*id, start + i as u64);
            }
            log.tree = tree;
            log.state = state;
        });
        drop(writer);
        self.release_waiting(&[pending::dep_key_log(verifier)])
    }

    /// Records that a head of `verifier` no larger than its log, received
    /// at `received_at`, was checked consistent with it: moves "checked
    /// through" forward, which may decide events waiting for an attestation
    /// the log left out.
    pub fn log_checked(
        &self,
        verifier: &PublicKey,
        received_at: Timestamp,
    ) -> Result<Vec<super::PendingEvent>, StoreError> {
        let writer = self.writer()?;
        let mut state =
            self.audit.read(|logs| logs.get(verifier).map(|l| l.state.clone()).unwrap_or_default());
        if state.checked_through.is_some_and(|t| t >= received_at) {
            return Ok(Vec::new());
        }
        state.checked_through = Some(received_at);
        self.put_state(verifier, &state)?;
        self.audit.write(|logs| logs.entry(*verifier).or_default().state = state);
        drop(writer);
        self.release_waiting(&[pending::dep_key_log(verifier)])
    }

    /// Keeps proof that `evidence.verifier` forked its log at `forked_at`
    /// (the time of the head that contradicts what this node had checked);
    /// from then on its attestations
    /// issued at or after that time stop counting.
    pub fn log_fork(&self, evidence: &Evidence, forked_at: Timestamp) -> Result<(), StoreError> {
        let _writer = self.writer()?;
        let verifier = evidence.verifier;
        let held = self.tree.scan_prefix(Space::LogEvidence.key(&[verifier.as_bytes()])).count();
        let key = Space::LogEvidence.key(&[
            verifier.as_bytes(),
            &evidence.found_at.as_millis().to_be_bytes(),
            &(held as u64).to_be_bytes(),
        ]);
        let mut state = self
            .audit
            .read(|logs| logs.get(&verifier).map(|l| l.state.clone()).unwrap_or_default());
        state.forked_at = Some(state.forked_at.map_or(forked_at, |t| t.min(forked_at)));
        let mut batch = sled::Batch::default();
        batch.insert(key, encode(evidence));
        batch.insert(state_key(&verifier), encode(&state));
        self.apply(batch)?;
        self.audit.write(|logs| logs.entry(verifier).or_default().state = state);
        Ok(())
    }

    /// Every proof of misbehaviour held, of `verifier` or of all.
    pub fn log_evidence(&self, verifier: Option<&PublicKey>) -> Result<Vec<Evidence>, StoreError> {
        let prefix: &[u8] = verifier.map_or(&[], |v| v.as_bytes());
        self.tree
            .scan_prefix(Space::LogEvidence.key(&[prefix]))
            .map(|item| {
                let (_, v) = item?;
                decode(Space::LogEvidence, &v)
            })
            .collect()
    }

    /// The number of leaves held of `verifier`'s log.
    pub fn log_size(&self, verifier: &PublicKey) -> u64 {
        self.audit.read(|logs| logs.get(verifier).map_or(0, |l| l.tree.len()))
    }

    /// The checked head the leaves of `verifier`'s log reach.
    pub fn log_latest(&self, verifier: &PublicKey) -> Option<CheckedHead> {
        self.audit.read(|logs| logs.get(verifier).and_then(|l| l.state.latest))
    }

    /// The root of the first `size` leaves of `verifier`'s log.
    pub fn log_root_at(&self, verifier: &PublicKey, size: u64) -> Option<Digest> {
        self.audit.read(|logs| {
            logs.get(verifier)
                .map_or_else(|| (size == 0).then(merkle::empty_root), |l| l.tree.root_at(size))
                .map(Digest::from_bytes)
        })
    }

    /// Summaries of every log held.
    pub fn log_summaries(&self) -> Vec<LogSummary> {
        let mut all = self.audit.read(|logs| {
            logs.iter()
                .map(|(verifier, l)| LogSummary {
                    verifier: *verifier,
                    size: l.tree.len(),
                    latest: l.state.latest,
                    forked_at: l.state.forked_at,
                })
                .collect::<Vec<_>>()
        });
        all.sort_by_key(|s| s.verifier);
        all
    }

    /// Leaves `start..end` of `verifier`'s log (fewer if it is shorter).
    pub fn log_leaves(
        &self,
        verifier: &PublicKey,
        start: u64,
        end: u64,
    ) -> Result<Vec<EventId>, StoreError> {
        self.tree
            .range(leaf_key(verifier, start)..leaf_key(verifier, end.max(start)))
            .map(|item| {
                let (_, v) = item?;
                Ok(EventId::from_bytes(
                    v.as_ref()
                        .try_into()
                        .map_err(|_| corrupt("log_leaves", "leaf is not 32 bytes"))?,
                ))
            })
            .collect()
    }

    /// The consistency proof from size `old` to size `new` of `verifier`'s log.
    pub fn log_consistency(
        &self,
        verifier: &PublicKey,
        old: u64,
        new: u64,
    ) -> Result<Vec<Digest>, merkle::MerkleError> {
        self.audit.read(|logs| {
            let empty = MerkleLog::new();
            let tree = logs.get(verifier).map_or(&empty, |l| &l.tree);
            merkle::consistency_proof(tree, old, new)
                .map(|p| p.into_iter().map(Digest::from_bytes).collect())
        })
    }

    /// Where `leaf` sits in `verifier`'s log, and its inclusion proof in
    /// the tree of the first `size` leaves.
    pub fn log_inclusion(
        &self,
        verifier: &PublicKey,
        leaf: &EventId,
        size: u64,
    ) -> Option<Result<(u64, Vec<Digest>), merkle::MerkleError>> {
        self.audit.read(|logs| {
            let log = logs.get(verifier)?;
            let index = *log.index.get(leaf)?;
            Some(
                merkle::inclusion_proof(&log.tree, index, size)
                    .map(|p| (index, p.into_iter().map(Digest::from_bytes).collect())),
            )
        })
    }

    /// The wire bytes of this node's own log entries and latest head that
    /// are not stored as events: what a crash between logging and
    /// publishing left behind, to be ingested at start.
    pub fn own_unpublished(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(Space::OwnEntries.all()) {
            let (_, wire) = item?;
            let id = EventId::of_wire(&wire);
            if !self.contains(&id)? {
                out.push(wire.to_vec());
            }
        }
        Ok(out)
    }

    /// Every tree head of `verifier` held, in time order.
    pub fn heads_of(
        &self,
        verifier: &PublicKey,
    ) -> Result<Vec<(Timestamp, EventId, HeadRecord)>, StoreError> {
        self.tree
            .scan_prefix(Space::Heads.key(&[verifier.as_bytes()]))
            .map(|item| {
                let (k, v) = item?;
                match (keys::trailing_time(&k), keys::trailing_id(&k)) {
                    (Some(at), Some(id)) => Ok((at, id, decode(Space::Heads, &v)?)),
                    _ => Err(corrupt("heads", "short key")),
                }
            })
            .collect()
    }

    /// Every verifier with a tree head held.
    pub fn head_verifiers(&self) -> Result<Vec<PublicKey>, StoreError> {
        let mut out = Vec::new();
        let mut from = Space::Heads.key(&[]);
        let end = Space::HeadQueue.key(&[]);
        while let Some(item) = self.tree.range(from.as_slice()..end.as_slice()).next() {
            let (k, _) = item?;
            let key: [u8; 32] = k
                .get(1..33)
                .and_then(|b| b.try_into().ok())
                .ok_or(corrupt("heads", "short key"))?;
            out.push(PublicKey::from_bytes(key));
            // The next key past every key starting with this verifier.
            from = Space::Heads.key(&[&key, &[0xff; 49]]);
        }
        Ok(out)
    }

    /// Heads not yet checked, by verifier and then time, at most `limit`.
    pub fn queued_heads(&self, limit: usize) -> Result<Vec<QueuedHead>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(Space::HeadQueue.all()).take(limit) {
            let (k, _) = item?;
            let verifier: [u8; 32] = k
                .get(1..33)
                .and_then(|b| b.try_into().ok())
                .ok_or(corrupt("head_queue", "short key"))?;
            let (Some(created_at), Some(id)) = (keys::trailing_time(&k), keys::trailing_id(&k))
            else {
                return Err(corrupt("head_queue", "short key"));
            };
            let verifier = PublicKey::from_bytes(verifier);
            let Some(record) =
                self.tree.get(keys::head(Space::Heads, &verifier, created_at, &id))?
            else {
                return Err(corrupt("heads", "a queued head is not indexed"));
            };
            let record: HeadRecord = decode(Space::Heads, &record)?;
            let received_at = match self.get_received(&id)? {
                Some((_, received_at)) => received_at.unwrap_or(created_at),
                None => return Err(corrupt("heads", "a queued head is not stored")),
            };
            out.push(QueuedHead {
                verifier,
                created_at,
                received_at,
                id,
                size: record.size,
                root: record.root,
            });
        }
        Ok(out)
    }

    /// Takes a head off the queue once it has been checked (either way).
    pub fn dequeue_head(
        &self,
        verifier: &PublicKey,
        at: Timestamp,
        id: &EventId,
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        batch.remove(keys::head(Space::HeadQueue, verifier, at, id));
        self.apply(batch)
    }

    /// The cosigners of the head `head`, with their cosignature ids.
    pub fn cosigners(&self, head: &EventId) -> Result<Vec<(PublicKey, EventId)>, StoreError> {
        self.tree
            .scan_prefix(Space::Cosigs.key(&[head.as_bytes()]))
            .map(|item| {
                let (k, v) = item?;
                let key: [u8; 32] = k
                    .get(33..65)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(corrupt("cosignatures", "short key"))?;
                let id: [u8; 32] =
                    v.as_ref().try_into().map_err(|_| corrupt("cosignatures", "short value"))?;
                Ok((PublicKey::from_bytes(key), EventId::from_bytes(id)))
            })
            .collect()
    }

    /// The ids of every charter held.
    pub fn charter_ids(&self) -> Result<Vec<EventId>, StoreError> {
        self.tree
            .scan_prefix(Space::Charters.all())
            .map(|item| {
                let (k, _) = item?;
                keys::trailing_id(&k).ok_or(corrupt("charters", "short key"))
            })
            .collect()
    }

    /// The ids of the revocations of `target`.
    pub fn revocations_of(&self, target: &EventId) -> Result<Vec<EventId>, StoreError> {
        self.tree
            .scan_prefix(Space::RevokedBy.key(&[target.as_bytes()]))
            .map(|item| {
                let (k, _) = item?;
                keys::trailing_id(&k).ok_or(corrupt("revoked_by", "short key"))
            })
            .collect()
    }
}

impl Store {
    /// For [`Store::check`]: every verifier's log as the disk holds it. Its
    /// leaves run from 0 without a gap and hash to the root of its checked
    /// head, which the verifier signed (a held head, or this node's own
    /// latest head, kept in `own_entries` until it is published); every
    /// held head already checked agrees with the leaves unless the log is
    /// known to be forked; this node's own entries are its leaves.
    pub(super) fn check_logs(
        &self,
        report: &mut super::check::CheckReport,
    ) -> Result<(), StoreError> {
        use std::collections::BTreeMap;
        let mut states: BTreeMap<PublicKey, LogState> = BTreeMap::new();
        for item in self.tree.scan_prefix(Space::LogState.all()) {
            let (key, value) = item?;
            report.index_entries += 1;
            let Some(verifier) = key.get(1..).and_then(|k| <[u8; 32]>::try_from(k).ok()) else {
                report.problem("bad_key", "log_state key is not a key");
                continue;
            };
            match decode(Space::LogState, &value) {
                Ok(state) => {
                    states.insert(PublicKey::from_bytes(verifier), state);
                }
                Err(e) => report.problem("bad_record", e.to_string()),
            }
        }
        let mut leaves: BTreeMap<PublicKey, Vec<EventId>> = BTreeMap::new();
        for item in self.tree.scan_prefix(Space::LogLeaves.all()) {
            let (key, value) = item?;
            report.index_entries += 1;
            let parsed = key.get(1..33).and_then(|v| <[u8; 32]>::try_from(v).ok()).zip(
                key.get(33..41).and_then(|i| <[u8; 8]>::try_from(i).ok()).map(u64::from_be_bytes),
            );
            let (Some((verifier, index)), Ok(id)) = (parsed, <[u8; 32]>::try_from(value.as_ref()))
            else {
                report.problem("bad_record", "a log_leaves entry is cut short");
                continue;
            };
            let log = leaves.entry(PublicKey::from_bytes(verifier)).or_default();
            if index != log.len() as u64 {
                report.problem(
                    "log_leaves_gap",
                    format!(
                        "leaf {index} of {} follows {} leaves",
                        PublicKey::from_bytes(verifier),
                        log.len()
                    ),
                );
            }
            log.push(EventId::from_bytes(id));
        }
        let (own, own_head, own_entries) = self.own_records(report)?;
        let verifiers: std::collections::BTreeSet<PublicKey> =
            states.keys().chain(leaves.keys()).copied().collect();
        for verifier in verifiers {
            let state = states.remove(&verifier).unwrap_or_default();
            let leaves = leaves.remove(&verifier).unwrap_or_default();
            let is_own = own == Some(verifier);
            let tree = MerkleLog::from_leaves(leaves.iter().map(leaf_hash));
            let mut check = super::check::LogCheck {
                verifier,
                leaves: tree.len(),
                head_size: state.latest.map(|h| h.size),
                forked: state.forked_at.is_some(),
                own: is_own,
                heads_checked: 0,
            };
            match state.latest {
                None if !leaves.is_empty() => report.problem(
                    "log_without_head",
                    format!("{} leaves of {verifier} but no checked head", leaves.len()),
                ),
                None => {}
                Some(head) => {
                    if head.size != tree.len()
                        || tree.root_at(head.size) != Some(*head.root.as_bytes())
                    {
                        report.problem(
                            "log_root_mismatch",
                            format!(
                                "the {} leaves of {verifier} do not hash to its checked head {} (size {})",
                                tree.len(),
                                head.id,
                                head.size
                            ),
                        );
                    }
                    let held = self
                        .tree
                        .get(keys::head(Space::Heads, &verifier, head.created_at, &head.id))?
                        .map(|b| decode::<HeadRecord>(Space::Heads, &b))
                        .transpose()?;
                    let signed = match held {
                        Some(r) => r == HeadRecord { size: head.size, root: head.root },
                        None => is_own && own_head == Some((head.id, head.size, head.root)),
                    };
                    if !signed {
                        report.problem(
                            "log_head_unsigned",
                            format!(
                                "the checked head {} of {verifier} is no head it signed",
                                head.id
                            ),
                        );
                    }
                }
            }
            if !check.forked {
                for (at, id, record) in self.heads_of(&verifier)? {
                    let queued =
                        self.tree.contains_key(keys::head(Space::HeadQueue, &verifier, at, &id))?;
                    if queued || record.size > tree.len() {
                        continue;
                    }
                    check.heads_checked += 1;
                    if tree.root_at(record.size) != Some(*record.root.as_bytes()) {
                        report.problem(
                            "log_head_inconsistent",
                            format!(
                                "head {id} of {verifier} (size {}) disagrees with its leaves",
                                record.size
                            ),
                        );
                    }
                }
            }
            if is_own {
                for (index, id) in &own_entries {
                    if leaves.get(*index as usize) != Some(id) {
                        report.problem(
                            "own_entry_unlogged",
                            format!("own log entry {index} ({id}) is not leaf {index}"),
                        );
                    }
                }
            }
            report.logs.push(check);
        }
        if own.is_none() && !own_entries.is_empty() {
            report.problem("own_entry_unlogged", "own log entries but no own head");
        }
        Ok(())
    }

    /// This node's own log records: its key (the author of its latest own
    /// head), that head's (id, size, root), and each entry's (index, id).
    /// Counts those not yet stored as events in `report.unpublished_own`.
    #[allow(clippy::type_complexity)]
    fn own_records(
        &self,
        report: &mut super::check::CheckReport,
    ) -> Result<(Option<PublicKey>, Option<(EventId, u64, Digest)>, Vec<(u64, EventId)>), StoreError>
    {
        let mut own = None;
        let mut head = None;
        let mut entries = Vec::new();
        for item in self.tree.scan_prefix(Space::OwnEntries.all()) {
            let (key, wire) = item?;
            report.index_entries += 1;
            let event = match curbside_protocol::SignedEvent::decode(&wire) {
                Ok(e) if e.verify_signature().is_ok() => e,
                _ => {
                    report.problem("bad_record", "an own_entries record is not a signed event");
                    continue;
                }
            };
            if !self.contains(&event.id())? {
                report.unpublished_own += 1;
            }
            let name = key.get(1..).unwrap_or_default();
            if name == OWN_HEAD {
                match event.body() {
                    curbside_protocol::Body::TreeHead(h) => {
                        own = Some(*event.author());
                        head = Some((event.id(), h.size, h.root));
                    }
                    _ => report.problem("bad_record", "the own head is not a tree head"),
                }
            } else if let Ok(index) = <[u8; 8]>::try_from(name) {
                entries.push((u64::from_be_bytes(index), event.id()));
            } else {
                report.problem("bad_key", "an own_entries key is neither an index nor the head");
            }
        }
        Ok((own, head, entries))
    }
}
