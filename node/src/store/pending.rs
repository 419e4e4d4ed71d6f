//! Events waiting for a dependency: held in the store so a restart keeps
//! them, indexed by what they wait for (so its arrival releases them) and
//! by author (so a physician can see theirs), and budgeted: in all, per
//! holder (whoever sent them), and against a disk reserve, so that nobody
//! can fill the set or the disk with what may never be valid. An event
//! that waits too long is dropped, and remembered for a week as expired.

use std::collections::HashMap;
use std::net::IpAddr;

use curbside_protocol::{Dependency, EventId, Kind, PublicKey, SignedEvent, Timestamp};
use serde::{Deserialize, Serialize};

use super::batch::Writes;
use super::keys::{self, Space, dep::describe, u64_value};
use super::{Store, StoreError, decode, encode, lock};

/// Who sent an event that is held, as the pending set's budget counts it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Holder {
    /// This node itself: its own log entries, what it re-submits.
    Node,
    /// The institution's operator (the admin token).
    Operator,
    /// A physician, by the key of their session.
    Physician(PublicKey),
    /// A caller with no credentials, by address (an IPv4 address or an
    /// IPv6 /64).
    Stranger(IpAddr),
    /// A chartered peer (gossip, sync, fetches), by node key.
    Peer(PublicKey),
    /// Held before holders were recorded (a migrated store).
    Unrecorded,
}

impl Holder {
    /// Whether this holder's share is limited: the node's own and the
    /// operator's are not (they count against the whole set only).
    fn has_share(&self) -> bool {
        !matches!(self, Holder::Node | Holder::Operator | Holder::Unrecorded)
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Holder::Node => f.write_str("this node"),
            Holder::Operator => f.write_str("the operator"),
            Holder::Physician(key) => write!(f, "physician {}", key.short()),
            Holder::Stranger(ip) => write!(f, "{ip}"),
            Holder::Peer(key) => write!(f, "peer {}", key.short()),
            Holder::Unrecorded => f.write_str("an earlier version"),
        }
    }
}

/// How much the pending set may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingLimits {
    /// Events in all.
    pub max_events: u64,
    /// Bytes (events' wire forms) in all.
    pub max_bytes: u64,
    /// Events one holder may have held.
    pub per_holder_events: u64,
    /// Bytes one holder may have held.
    pub per_holder_bytes: u64,
    /// Free space the store's disk must keep: below it nothing new is held.
    pub min_free_disk: u64,
}

impl Default for PendingLimits {
    fn default() -> Self {
        Self {
            max_events: 10_000,
            max_bytes: 64 << 20,
            per_holder_events: 1_000,
            per_holder_bytes: 8 << 20,
            min_free_disk: 256 << 20,
        }
    }
}

/// What [`PendingSet::hold`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Held from now on.
    Now,
    /// It was already held.
    Already,
    /// The pending set is full (events or bytes): not held.
    Full,
    /// Its holder has used up its share of the set: not held.
    HolderFull,
    /// The disk is below its reserve: not held.
    LowDisk,
}

/// An event released from, or held in, the pending set.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    /// The event.
    pub event: SignedEvent,
    /// When it was first received (by this node, or by the peer that
    /// vouched for it): what it is judged at when released.
    pub received_at: Option<Timestamp>,
    /// Who sent it.
    pub holder: Holder,
}

/// A held event, as a physician sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Waiting {
    /// The event.
    pub id: EventId,
    /// Its kind.
    pub kind: Kind,
    /// What it waits for.
    pub waiting_for: String,
    /// When it was first received.
    pub received_at: Option<Timestamp>,
    /// When this node began to hold it.
    pub held_at: Timestamp,
}

/// An event dropped from the pending set because what it waited for never
/// came, as a physician sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Expired {
    /// The event.
    pub id: EventId,
    /// Its kind.
    pub kind: Kind,
    /// What it waited for.
    pub waiting_for: String,
    /// When this node began to hold it.
    pub held_at: Timestamp,
    /// When it was dropped.
    pub expired_at: Timestamp,
}

/// A held event (schema 4; [`PendingRecordV3`] before).
#[derive(Serialize, Deserialize)]
pub(super) struct PendingRecord {
    /// When this node began to hold it: how long it may wait counts from here.
    held_at: Timestamp,
    /// When it was first received, for judging it once released.
    received_at: Option<Timestamp>,
    /// Who sent it, for the budget.
    holder: Holder,
    dep: Vec<u8>,
    wire: Vec<u8>,
}

/// A held event as schema 3 wrote it: the time it arrived here was both.
#[derive(Serialize, Deserialize)]
pub(super) struct PendingRecordV3 {
    received_at: Timestamp,
    dep: Vec<u8>,
    wire: Vec<u8>,
}

#[cfg(test)]
impl From<PendingRecord> for PendingRecordV3 {
    fn from(r: PendingRecord) -> Self {
        Self { received_at: r.held_at, dep: r.dep, wire: r.wire }
    }
}

impl From<PendingRecordV3> for PendingRecord {
    fn from(old: PendingRecordV3) -> Self {
        Self {
            held_at: old.received_at,
            received_at: Some(old.received_at),
            holder: Holder::Unrecorded,
            dep: old.dep,
            wire: old.wire,
        }
    }
}

impl PendingRecord {
    /// The dependency key it waits for.
    pub(super) fn dep(&self) -> &[u8] {
        &self.dep
    }

    /// The index entry by author (`author ‖ id`), if the wire decodes.
    pub(super) fn author_key(&self, id: &[u8]) -> Option<Vec<u8>> {
        let event = SignedEvent::decode(&self.wire).ok()?;
        Some(keys::pending_author(event.author(), id))
    }
}

/// An expired event's record under `author ‖ expired_at ‖ id`.
#[derive(Serialize, Deserialize)]
struct ExpiredRecord {
    kind: Kind,
    waiting_for: String,
    held_at: Timestamp,
}

/// What one held event counts for in the budget: its wire bytes and the
/// keys and record around them.
fn held_size(wire_len: usize) -> u64 {
    wire_len as u64 + 64
}

/// How long an expired event is remembered.
const EXPIRED_KEPT_MS: u64 = 7 * Timestamp::DAY;
/// Most expired events remembered per author (the newest).
const EXPIRED_PER_AUTHOR: usize = 100;

/// What the pending set holds, in bytes and per holder: kept in memory,
/// loaded at open, changed with every hold, release and drop (under the
/// store's writer lock, after the batch that changed the disk).
#[derive(Debug, Default)]
pub(super) struct PendingBudget {
    bytes: u64,
    holders: HashMap<Holder, (u64, u64)>,
}

impl PendingBudget {
    /// Reads every pending record.
    pub(super) fn load(tree: &sled::Tree) -> Result<Self, StoreError> {
        let mut budget = Self::default();
        for item in tree.scan_prefix(Space::Pending.all()) {
            let (_, bytes) = item?;
            let record: PendingRecord = decode(Space::Pending, &bytes)?;
            budget.add(&record.holder, held_size(record.wire.len()));
        }
        Ok(budget)
    }

    fn add(&mut self, holder: &Holder, bytes: u64) {
        self.bytes += bytes;
        let share = self.holders.entry(holder.clone()).or_default();
        share.0 += 1;
        share.1 += bytes;
    }

    fn remove(&mut self, holder: &Holder, bytes: u64) {
        self.bytes = self.bytes.saturating_sub(bytes);
        if let Some(share) = self.holders.get_mut(holder) {
            share.0 = share.0.saturating_sub(1);
            share.1 = share.1.saturating_sub(bytes);
            if share.0 == 0 {
                self.holders.remove(holder);
            }
        }
    }

    /// Bytes held in all.
    pub(super) fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// The pending set ([`Store::pending`]): events held until what they
/// wait for arrives, and what a physician is told of theirs.
#[derive(Debug, Clone, Copy)]
pub struct PendingSet<'s> {
    store: &'s Store,
}

impl Store {
    /// The pending set.
    pub fn pending(&self) -> PendingSet<'_> {
        PendingSet { store: self }
    }

    /// Outside a commit: removes the pending events waiting on any of
    /// `deps` and returns them, to be ingested again.
    pub(super) fn release_waiting(
        &self,
        deps: &[Vec<u8>],
    ) -> Result<Vec<PendingEvent>, StoreError> {
        let _writer = self.writer()?;
        let mut w = Writes::new();
        let released = self.release_pending(&mut w, deps)?;
        if !released.is_empty() {
            self.apply(w.into_batch())?;
            self.released_from_budget(&released);
        }
        Ok(released)
    }

    /// Once the batch that released `events` is applied: their room in the
    /// budget is free again.
    pub(super) fn released_from_budget(&self, events: &[PendingEvent]) {
        let mut budget = lock(&self.pending_budget);
        for p in events {
            budget.remove(&p.holder, held_size(p.event.encoded_len()));
        }
    }

    /// Inside a commit: removes the pending events waiting on any of `deps`
    /// and returns them. The caller frees their budget once the batch is
    /// applied ([`Store::released_from_budget`]).
    pub(super) fn release_pending(
        &self,
        w: &mut Writes,
        deps: &[Vec<u8>],
    ) -> Result<Vec<PendingEvent>, StoreError> {
        let count = self.pending().count()?;
        if count == 0 {
            return Ok(Vec::new());
        }
        let mut released = Vec::new();
        // Two attestations of one key in a commit name the same dependency.
        let deps: std::collections::BTreeSet<&Vec<u8>> = deps.iter().collect();
        let mut removed = 0u64;
        for dep in deps {
            let prefix = keys::pending_deps_of(dep);
            for item in self.tree.scan_prefix(&prefix) {
                let (index_key, _) = item?;
                let Some(id) = index_key.get(prefix.len()..) else { continue };
                let pending_key = keys::pending(id);
                w.del(&index_key);
                if let Some(bytes) = self.tree.get(&pending_key)? {
                    let record: PendingRecord = decode(Space::Pending, &bytes)?;
                    if let Some(author) = record.author_key(id) {
                        w.del(author);
                    }
                    removed += 1;
                    if let Ok(event) = SignedEvent::decode(&record.wire) {
                        released.push(PendingEvent {
                            event,
                            received_at: record.received_at,
                            holder: record.holder,
                        });
                    }
                }
                w.del(pending_key);
            }
        }
        if removed > 0 {
            w.put(keys::pending_count(), count.saturating_sub(removed).to_be_bytes());
        }
        Ok(released)
    }
}

impl PendingSet<'_> {
    /// Number of events held pending.
    pub fn count(&self) -> Result<u64, StoreError> {
        Ok(u64_value(self.store.tree.get(keys::pending_count())?))
    }

    /// Bytes of events held pending.
    pub fn bytes(&self) -> u64 {
        lock(&self.store.pending_budget).bytes()
    }

    /// Free bytes on the disk that holds the store, if the system says.
    pub fn free_disk(&self) -> Option<u64> {
        let stat = nix::sys::statvfs::statvfs(self.store.dir.as_path()).ok()?;
        Some(stat.blocks_available().saturating_mul(stat.fragment_size()))
    }

    /// Bytes of the disk that holds the store, in all, if the system says.
    pub fn disk_size(&self) -> Option<u64> {
        let stat = nix::sys::statvfs::statvfs(self.store.dir.as_path()).ok()?;
        Some(stat.blocks().saturating_mul(stat.fragment_size()))
    }

    /// Holds `event`, sent by `holder` and first received at `received_at`,
    /// from `now` until `dep` arrives, unless it is already held, or the
    /// set, the holder's share of it or the disk's reserve has no room.
    pub fn hold(
        &self,
        event: &SignedEvent,
        dep: &Dependency,
        received_at: Option<Timestamp>,
        holder: &Holder,
        now: Timestamp,
        limits: &PendingLimits,
    ) -> Result<Held, StoreError> {
        let _writer = self.store.writer()?;
        let id = event.id();
        let key = keys::pending(id.as_bytes());
        if self.store.tree.contains_key(&key)? {
            return Ok(Held::Already);
        }
        let count = self.count()?;
        let size = held_size(event.encoded_len());
        {
            let budget = lock(&self.store.pending_budget);
            if count >= limits.max_events || budget.bytes + size > limits.max_bytes {
                return Ok(Held::Full);
            }
            let (events, bytes) = budget.holders.get(holder).copied().unwrap_or_default();
            if holder.has_share()
                && (events >= limits.per_holder_events || bytes + size > limits.per_holder_bytes)
            {
                return Ok(Held::HolderFull);
            }
        }
        if self.free_disk().is_some_and(|free| free < limits.min_free_disk) {
            return Ok(Held::LowDisk);
        }
        let dep = keys::dep::of(dep);
        let record = PendingRecord {
            held_at: now,
            received_at,
            holder: holder.clone(),
            dep: dep.clone(),
            wire: event.to_bytes(),
        };
        let mut batch = sled::Batch::default();
        batch.insert(keys::pending_dep(&dep, id.as_bytes()), &[]);
        batch.insert(keys::pending_author(event.author(), id.as_bytes()), &[]);
        batch.insert(key, encode(&record));
        batch.insert(keys::pending_count(), &(count + 1).to_be_bytes());
        self.store.apply(batch)?;
        lock(&self.store.pending_budget).add(holder, size);
        Ok(Held::Now)
    }

    /// Takes the held event `id` out of the pending set without releasing
    /// it (it was refused after all). Whether it was held.
    pub fn remove(&self, id: &EventId) -> Result<bool, StoreError> {
        let _writer = self.store.writer()?;
        let key = keys::pending(id.as_bytes());
        let Some(bytes) = self.store.tree.get(&key)? else { return Ok(false) };
        let record: PendingRecord = decode(Space::Pending, &bytes)?;
        let mut w = Writes::new();
        self.unhold(&mut w, id.as_bytes(), &record);
        w.put(keys::pending_count(), self.count()?.saturating_sub(1).to_be_bytes());
        self.store.apply(w.into_batch())?;
        lock(&self.store.pending_budget).remove(&record.holder, held_size(record.wire.len()));
        Ok(true)
    }

    /// The deletions that take a held event out of the set.
    fn unhold(&self, w: &mut Writes, id: &[u8], record: &PendingRecord) {
        w.del(keys::pending_dep(&record.dep, id));
        if let Some(author) = record.author_key(id) {
            w.del(author);
        }
        w.del(keys::pending(id));
    }

    /// Drops pending events held since before `cutoff`, remembering each as
    /// expired at `now` (for a week, at most 100 an author); returns how
    /// many were dropped.
    pub fn prune(&self, cutoff: Timestamp, now: Timestamp) -> Result<u64, StoreError> {
        let _writer = self.store.writer()?;
        let mut w = Writes::new();
        let mut dropped = Vec::new();
        for item in self.store.tree.scan_prefix(Space::Pending.all()) {
            let (key, bytes) = item?;
            let record: PendingRecord = decode(Space::Pending, &bytes)?;
            if record.held_at >= cutoff {
                continue;
            }
            let id = key.get(1..).unwrap_or_default();
            self.unhold(&mut w, id, &record);
            if let (Ok(event), Ok(id)) =
                (SignedEvent::decode(&record.wire), <[u8; 32]>::try_from(id))
            {
                let expired = ExpiredRecord {
                    kind: event.kind(),
                    waiting_for: describe(&record.dep),
                    held_at: record.held_at,
                };
                w.put(keys::pending_expired(event.author(), now, &id), encode(&expired));
            }
            dropped.push(record);
        }
        // Forget what expired more than a week ago.
        let forget_before = now.minus_millis(EXPIRED_KEPT_MS).as_millis();
        let mut per_author: HashMap<Vec<u8>, Vec<sled::IVec>> = HashMap::new();
        for item in self.store.tree.scan_prefix(Space::PendingExpired.all()) {
            let (key, _) = item?;
            let at =
                key.get(33..41).and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_be_bytes);
            if at.is_none_or(|at| at < forget_before) {
                w.del(&key);
            } else {
                per_author
                    .entry(key.get(1..33).unwrap_or_default().to_vec())
                    .or_default()
                    .push(key);
            }
        }
        for keys in per_author.values() {
            // Oldest first (the keys sort by time): keep the newest.
            for key in keys.iter().take(keys.len().saturating_sub(EXPIRED_PER_AUTHOR)) {
                w.del(key);
            }
        }
        if !dropped.is_empty() {
            let left = self.count()?.saturating_sub(dropped.len() as u64);
            w.put(keys::pending_count(), left.to_be_bytes());
        }
        self.store.apply(w.into_batch())?;
        let mut budget = lock(&self.store.pending_budget);
        for record in &dropped {
            budget.remove(&record.holder, held_size(record.wire.len()));
        }
        Ok(dropped.len() as u64)
    }

    /// The events by `author` held here, and what each waits for.
    pub fn waiting_by(&self, author: &PublicKey) -> Result<Vec<Waiting>, StoreError> {
        let prefix = keys::pending_authors_of(author);
        let mut out = Vec::new();
        for item in self.store.tree.scan_prefix(&prefix) {
            let (key, _) = item?;
            let Some(id) = key.get(prefix.len()..).and_then(|b| <[u8; 32]>::try_from(b).ok())
            else {
                continue;
            };
            let Some(bytes) = self.store.tree.get(keys::pending(&id))? else { continue };
            let record: PendingRecord = decode(Space::Pending, &bytes)?;
            let Ok(event) = SignedEvent::decode(&record.wire) else { continue };
            out.push(Waiting {
                id: EventId::from_bytes(id),
                kind: event.kind(),
                waiting_for: describe(&record.dep),
                received_at: record.received_at,
                held_at: record.held_at,
            });
        }
        out.sort_by_key(|w| (w.held_at, w.id));
        Ok(out)
    }

    /// The events by `author` dropped from the pending set in the last week
    /// (at most 100), newest first.
    pub fn expired_by(&self, author: &PublicKey) -> Result<Vec<Expired>, StoreError> {
        let prefix = keys::pending_expired_of(author);
        let mut out = Vec::new();
        for item in self.store.tree.scan_prefix(&prefix) {
            let (key, bytes) = item?;
            let record: ExpiredRecord = decode(Space::PendingExpired, &bytes)?;
            let (Some(at), Some(id)) = (keys::trailing_time(&key), keys::trailing_id(&key)) else {
                continue;
            };
            out.push(Expired {
                id,
                kind: record.kind,
                waiting_for: record.waiting_for,
                held_at: record.held_at,
                expired_at: at,
            });
        }
        out.reverse();
        Ok(out)
    }
}
