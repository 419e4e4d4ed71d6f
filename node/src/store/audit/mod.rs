//! Verifiers' audit logs, as this node holds them.
//!
//! ```text
//! heads         verifier ‖ created_at ‖ head id → HeadRecord     (written with the event)
//! head_queue    verifier ‖ created_at ‖ head id → ()             (heads not yet checked)
//! cosignatures  head id ‖ cosigner → cosignature id              (written with the event)
//! log_leaves    verifier ‖ index (8, BE) → leaf id               (the mirror, or this node's own log)
//! log_state     verifier → LogState                              (the latest checked head, a fork)
//! log_evidence  verifier ‖ found_at ‖ n → ForkProof               (proof of misbehaviour)
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

mod records;

pub(super) use records::LogState;
pub use records::{
    CheckedHead, Contradiction, ForkProof, HeadRecord, LogSummary, OwnRecords, QueuedHead,
};

use super::keys::Space;
use super::{Store, StoreError, decode, encode, keys};

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

/// The Merkle leaf of an attestation id.
pub(super) fn leaf_hash(id: &EventId) -> Hash {
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

/// The audit logs ([`Store::audit`]): every verifier's log this node
/// mirrors (and its own, with the licence openings of the attestations it
/// logged), the tree heads and cosignatures held, and the evidence of
/// forks.
#[derive(Debug, Clone, Copy)]
pub struct AuditLogs<'s> {
    store: &'s Store,
}

impl Store {
    /// The audit logs.
    pub fn audit(&self) -> AuditLogs<'_> {
        AuditLogs { store: self }
    }
}

impl AuditLogs<'_> {
    /// Keeps the licence opening of an attestation this node issued.
    /// Written before the attestation is published, and flushed with it.
    pub fn put_opening(
        &self,
        attestation: &EventId,
        opening: &curbside_protocol::LicenceOpening,
    ) -> Result<(), StoreError> {
        self.store.healthy()?;
        let mut batch = sled::Batch::default();
        batch.insert(keys::opening(attestation), encode(opening));
        self.store.apply(batch)
    }

    /// The licence opening of an attestation this node issued.
    pub fn opening(
        &self,
        attestation: &EventId,
    ) -> Result<Option<curbside_protocol::LicenceOpening>, StoreError> {
        match self.store.tree.get(keys::opening(attestation))? {
            Some(bytes) => Ok(Some(decode(Space::Openings, &bytes)?)),
            None => Ok(None),
        }
    }

    /// The licence openings this node holds (one per attestation it
    /// issued), in attestation-id order after `after`, at most `limit`.
    pub fn openings(
        &self,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<(EventId, curbside_protocol::LicenceOpening)>, StoreError> {
        let start = match after {
            // The next key after `after`'s: its own key with a 0 appended.
            Some(id) => {
                let mut k = keys::opening(id);
                k.push(0);
                k
            }
            None => Space::Openings.all().to_vec(),
        };
        let end = [Space::Openings as u8 + 1];
        let mut out = Vec::new();
        for item in self.store.tree.range(start..end[..].to_vec()).take(limit) {
            let (key, value) = item?;
            let id = key
                .get(1..)
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map(EventId::from_bytes)
                .ok_or(StoreError::Internal("an opening's key is not an event id"))?;
            out.push((id, decode(Space::Openings, &value)?));
        }
        Ok(out)
    }

    fn put_state(&self, verifier: &PublicKey, state: &LogState) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        batch.insert(keys::log_state(verifier), encode(state));
        self.store.apply(batch)
    }

    /// The size and root `verifier`'s log would have with `leaves` appended.
    pub fn extended_root(&self, verifier: &PublicKey, leaves: &[EventId]) -> (u64, Digest) {
        self.store.logs.read(|logs| {
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
    /// nothing ([`AuditLogs::own_unpublished`]).
    ///
    /// Returns the pending events that were waiting for this log (to be
    /// ingested again). Not yet durable: flush before relying on it.
    pub fn append(
        &self,
        verifier: &PublicKey,
        start: u64,
        leaves: &[EventId],
        head: CheckedHead,
        received_at: Timestamp,
        own: Option<OwnRecords<'_>>,
    ) -> Result<Vec<super::PendingEvent>, StoreError> {
        let writer = self.store.writer()?;
        let (mut tree, mut state) = self.store.logs.read(|logs| {
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
            batch.insert(keys::log_leaf(verifier, index), id.as_bytes());
            if let Some(records) = &own
                && let Some(wire) = records.entries.get(i)
            {
                batch.insert(keys::own_entry(index), wire.as_slice());
            }
        }
        if let Some(records) = &own {
            batch.insert(keys::own_head(), records.head);
        }
        batch.insert(keys::log_state(verifier), encode(&state));
        self.store.apply(batch)?;
        self.store.logs.write(|logs| {
            let log = logs.entry(*verifier).or_default();
            for (i, id) in leaves.iter().enumerate() {
                log.index.insert(*id, start + i as u64);
            }
            log.tree = tree;
            log.state = state;
        });
        drop(writer);
        self.store.release_waiting(&[keys::dep::log(verifier)])
    }

    /// Records that a head of `verifier` no larger than its log, received
    /// at `received_at`, was checked consistent with it: moves "checked
    /// through" forward, which may decide events waiting for an attestation
    /// the log left out.
    pub fn checked(
        &self,
        verifier: &PublicKey,
        received_at: Timestamp,
    ) -> Result<Vec<super::PendingEvent>, StoreError> {
        let writer = self.store.writer()?;
        let mut state = self
            .store
            .logs
            .read(|logs| logs.get(verifier).map(|l| l.state.clone()).unwrap_or_default());
        if state.checked_through.is_some_and(|t| t >= received_at) {
            return Ok(Vec::new());
        }
        state.checked_through = Some(received_at);
        self.put_state(verifier, &state)?;
        self.store.logs.write(|logs| logs.entry(*verifier).or_default().state = state);
        drop(writer);
        self.store.release_waiting(&[keys::dep::log(verifier)])
    }

    /// Keeps proof that `evidence.verifier` forked its log at `forked_at`
    /// (the time of the head that contradicts what this node had checked);
    /// from then on its attestations
    /// issued at or after that time stop counting.
    pub fn fork(&self, evidence: &ForkProof, forked_at: Timestamp) -> Result<(), StoreError> {
        let _writer = self.store.writer()?;
        let verifier = evidence.verifier;
        // The same two heads found again (by the witness and by the
        // issuer's guard, or from either side) are one proof, kept once.
        let mut held = 0u64;
        let mut known = false;
        for item in self.store.tree.scan_prefix(keys::log_evidence_of(Some(&verifier))) {
            let (_, v) = item?;
            let proof: ForkProof = decode(Space::LogEvidence, &v)?;
            held += 1;
            known |= (proof.first == evidence.first && proof.second == evidence.second)
                || (proof.first == evidence.second && proof.second == evidence.first);
        }
        let key = keys::log_evidence(&verifier, evidence.found_at, held);
        let mut state = self
            .store
            .logs
            .read(|logs| logs.get(&verifier).map(|l| l.state.clone()).unwrap_or_default());
        state.forked_at = Some(state.forked_at.map_or(forked_at, |t| t.min(forked_at)));
        let mut batch = sled::Batch::default();
        if !known {
            batch.insert(key, encode(evidence));
        }
        batch.insert(keys::log_state(&verifier), encode(&state));
        self.store.apply(batch)?;
        self.store.logs.write(|logs| logs.entry(verifier).or_default().state = state);
        Ok(())
    }

    /// When `verifier` forked its log, if this node holds proof.
    pub fn forked_at(&self, verifier: &PublicKey) -> Option<Timestamp> {
        self.store.logs.forked_at(verifier)
    }

    /// How many proofs of misbehaviour this node holds, per verifier.
    pub fn evidence_counts(&self) -> Result<Vec<(PublicKey, u64)>, StoreError> {
        let mut out: Vec<(PublicKey, u64)> = Vec::new();
        for item in self.store.tree.scan_prefix(keys::log_evidence_of(None)) {
            let (k, _) = item?;
            let key: [u8; 32] = k
                .get(1..33)
                .and_then(|b| b.try_into().ok())
                .ok_or(corrupt("log_evidence", "short key"))?;
            let verifier = PublicKey::from_bytes(key);
            match out.last_mut() {
                Some((v, n)) if *v == verifier => *n += 1,
                _ => out.push((verifier, 1)),
            }
        }
        Ok(out)
    }

    /// Every proof of misbehaviour held, of `verifier` or of all.
    pub fn evidence(&self, verifier: Option<&PublicKey>) -> Result<Vec<ForkProof>, StoreError> {
        self.store
            .tree
            .scan_prefix(keys::log_evidence_of(verifier))
            .map(|item| {
                let (_, v) = item?;
                decode(Space::LogEvidence, &v)
            })
            .collect()
    }

    /// The number of leaves held of `verifier`'s log.
    pub fn size(&self, verifier: &PublicKey) -> u64 {
        self.store.logs.read(|logs| logs.get(verifier).map_or(0, |l| l.tree.len()))
    }

    /// The checked head the leaves of `verifier`'s log reach.
    pub fn latest(&self, verifier: &PublicKey) -> Option<CheckedHead> {
        self.store.logs.read(|logs| logs.get(verifier).and_then(|l| l.state.latest))
    }

    /// The root of the first `size` leaves of `verifier`'s log.
    pub fn root_at(&self, verifier: &PublicKey, size: u64) -> Option<Digest> {
        self.store.logs.read(|logs| {
            logs.get(verifier)
                .map_or_else(|| (size == 0).then(merkle::empty_root), |l| l.tree.root_at(size))
                .map(Digest::from_bytes)
        })
    }

    /// Summaries of every log held.
    pub fn summaries(&self) -> Vec<LogSummary> {
        let mut all = self.store.logs.read(|logs| {
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
    pub fn leaves(
        &self,
        verifier: &PublicKey,
        start: u64,
        end: u64,
    ) -> Result<Vec<EventId>, StoreError> {
        self.store
            .tree
            .range(keys::log_leaf(verifier, start)..keys::log_leaf(verifier, end.max(start)))
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
    pub fn consistency(
        &self,
        verifier: &PublicKey,
        old: u64,
        new: u64,
    ) -> Result<Vec<Digest>, merkle::MerkleError> {
        self.store.logs.read(|logs| {
            let empty = MerkleLog::new();
            let tree = logs.get(verifier).map_or(&empty, |l| &l.tree);
            merkle::consistency_proof(tree, old, new)
                .map(|p| p.into_iter().map(Digest::from_bytes).collect())
        })
    }

    /// Where `leaf` sits in `verifier`'s log, and its inclusion proof in
    /// the tree of the first `size` leaves.
    pub fn inclusion(
        &self,
        verifier: &PublicKey,
        leaf: &EventId,
        size: u64,
    ) -> Option<Result<(u64, Vec<Digest>), merkle::MerkleError>> {
        self.store.logs.read(|logs| {
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
        for item in self.store.tree.scan_prefix(Space::OwnEntries.all()) {
            let (_, wire) = item?;
            let id = EventId::of_wire(&wire);
            if !self.store.events().contains(&id)? {
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
        self.store
            .tree
            .scan_prefix(keys::heads_of(verifier))
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
        let mut from = Space::Heads.all().to_vec();
        let end = Space::HeadQueue.all();
        while let Some(item) = self.store.tree.range(from.as_slice()..end.as_slice()).next() {
            let (k, _) = item?;
            let key: [u8; 32] = k
                .get(1..33)
                .and_then(|b| b.try_into().ok())
                .ok_or(corrupt("heads", "short key"))?;
            let verifier = PublicKey::from_bytes(key);
            out.push(verifier);
            from = keys::heads_after(&verifier);
        }
        Ok(out)
    }

    /// Heads not yet checked, by verifier and then time, at most `limit`.
    pub fn queued_heads(&self, limit: usize) -> Result<Vec<QueuedHead>, StoreError> {
        let mut out = Vec::new();
        for item in self.store.tree.scan_prefix(Space::HeadQueue.all()).take(limit) {
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
            let Some(record) = self.store.tree.get(keys::head(&verifier, created_at, &id))? else {
                return Err(corrupt("heads", "a queued head is not indexed"));
            };
            let record: HeadRecord = decode(Space::Heads, &record)?;
            let received_at = match self.store.events().get_received(&id)? {
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

    /// The largest size among `verifier`'s heads held but not yet checked
    /// (0 if none): for this node's own key, a head it cannot account for
    /// until its witness has fetched the leaves.
    pub fn largest_queued(&self, verifier: &PublicKey) -> Result<u64, StoreError> {
        let mut largest = 0;
        for item in self.store.tree.scan_prefix(Space::HeadQueue.key(&[verifier.as_bytes()])) {
            let (k, _) = item?;
            let (Some(created_at), Some(id)) = (keys::trailing_time(&k), keys::trailing_id(&k))
            else {
                return Err(corrupt("head_queue", "short key"));
            };
            if let Some(record) = self.store.tree.get(keys::head(verifier, created_at, &id))? {
                let record: HeadRecord = decode(Space::Heads, &record)?;
                largest = largest.max(record.size);
            }
        }
        Ok(largest)
    }

    /// Takes a head off the queue once it has been checked (either way).
    pub fn dequeue_head(
        &self,
        verifier: &PublicKey,
        at: Timestamp,
        id: &EventId,
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        batch.remove(keys::queued_head(verifier, at, id));
        self.store.apply(batch)
    }

    /// The cosigners of the head `head`, with their cosignature ids.
    pub fn cosigners(&self, head: &EventId) -> Result<Vec<(PublicKey, EventId)>, StoreError> {
        self.store
            .tree
            .scan_prefix(keys::cosignatures_of(head))
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
}
