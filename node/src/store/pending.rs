//! Events waiting for a dependency: held in the store so a restart keeps
//! them, indexed by what they wait for so its arrival releases them.

use curbside_protocol::{Dependency, EventId, HubId, PublicKey, SignedEvent, Timestamp};
use serde::{Deserialize, Serialize};

use super::keys::{Space, u64_value};
use super::{META_PENDING, Store, StoreError, decode, encode, meta};

/// An event released from, or held in, the pending set.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    /// The event.
    pub event: SignedEvent,
    /// When it was first received (by this node, or by the peer that
    /// vouched for it): what it is judged at when released.
    pub received_at: Option<Timestamp>,
}

/// What [`Store::hold`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Held from now on.
    Now,
    /// It was already held.
    Already,
    /// The pending set is full: not held.
    Full,
}

/// A held event (schema 4; [`PendingRecordV3`] before).
#[derive(Serialize, Deserialize)]
pub(super) struct PendingRecord {
    /// When this node began to hold it: how long it may wait counts from here.
    held_at: Timestamp,
    /// When it was first received, for judging it once released.
    received_at: Option<Timestamp>,
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
            dep: old.dep,
            wire: old.wire,
        }
    }
}

pub(super) fn dep_key_event(id: &EventId) -> Vec<u8> {
    [&[1u8][..], id.as_bytes()].concat()
}
pub(super) fn dep_key_attestation(key: &PublicKey) -> Vec<u8> {
    [&[2u8][..], key.as_bytes()].concat()
}
pub(super) fn dep_key_charter(key: &PublicKey) -> Vec<u8> {
    [&[3u8][..], key.as_bytes()].concat()
}
pub(super) fn dep_key_hub(hub: &HubId) -> Vec<u8> {
    [&[4u8][..], hub.as_str().as_bytes(), &[0u8]].concat()
}
/// Everything waiting on one verifier's log waits on the log as a whole:
/// each time this node learns more of it, they are all tried again.
pub(super) fn dep_key_log(verifier: &PublicKey) -> Vec<u8> {
    [&[5u8][..], verifier.as_bytes()].concat()
}

fn dep_key(dep: &Dependency) -> Vec<u8> {
    match dep {
        Dependency::Event(id) => dep_key_event(id),
        Dependency::Attestation(k) => dep_key_attestation(k),
        Dependency::Charter(k) => dep_key_charter(k),
        Dependency::Hub(h) => dep_key_hub(h),
        Dependency::LogEntry { verifier, .. } => dep_key_log(verifier),
    }
}

impl Store {
    /// Number of events held pending.
    pub fn pending_count(&self) -> Result<u64, StoreError> {
        Ok(u64_value(self.tree.get(meta(META_PENDING))?))
    }

    /// Holds `event`, first received at `received_at`, from `now` until
    /// `dep` arrives, unless it is already held or the set already holds
    /// `max` events.
    pub fn hold(
        &self,
        event: &SignedEvent,
        dep: &Dependency,
        received_at: Option<Timestamp>,
        now: Timestamp,
        max: u64,
    ) -> Result<Held, StoreError> {
        let _writer = self.writer()?;
        let id = event.id();
        let key = Space::Pending.key(&[id.as_bytes()]);
        if self.tree.contains_key(&key)? {
            return Ok(Held::Already);
        }
        let count = self.pending_count()?;
        if count >= max {
            return Ok(Held::Full);
        }
        let dep = dep_key(dep);
        let record =
            PendingRecord { held_at: now, received_at, dep: dep.clone(), wire: event.to_bytes() };
        let mut batch = sled::Batch::default();
        batch.insert(key, encode(&record));
        batch.insert(Space::PendingDeps.key(&[&dep, id.as_bytes()]), &[]);
        batch.insert(meta(META_PENDING), &(count + 1).to_be_bytes());
        self.apply(batch)?;
        Ok(Held::Now)
    }

    /// Drops pending events held since before `cutoff`; returns how many.
    pub fn prune_pending(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        let _writer = self.writer()?;
        let mut w = super::write::Writes::new();
        let mut dropped = 0u64;
        for item in self.tree.scan_prefix(Space::Pending.all()) {
            let (key, bytes) = item?;
            let record: PendingRecord = decode(Space::Pending, &bytes)?;
            if record.held_at < cutoff {
                let id = key.get(1..).unwrap_or_default();
                w.del(Space::PendingDeps.key(&[&record.dep, id]));
                w.del(key);
                dropped += 1;
            }
        }
        if dropped > 0 {
            let left = self.pending_count()?.saturating_sub(dropped);
            w.put(meta(META_PENDING), left.to_be_bytes());
            self.apply(w.into_batch())?;
        }
        Ok(dropped)
    }

    /// Outside a commit: removes the pending events waiting on any of
    /// `deps` and returns them, to be ingested again.
    pub(super) fn release_waiting(
        &self,
        deps: &[Vec<u8>],
    ) -> Result<Vec<PendingEvent>, StoreError> {
        let _writer = self.writer()?;
        let mut w = super::write::Writes::new();
        let released = self.release_pending(&mut w, deps)?;
        if !released.is_empty() {
            self.apply(w.into_batch())?;
        }
        Ok(released)
    }

    /// Inside a commit: removes the pending events waiting on any of `deps`
    /// and returns them.
    pub(super) fn release_pending(
        &self,
        w: &mut super::write::Writes,
        deps: &[Vec<u8>],
    ) -> Result<Vec<PendingEvent>, StoreError> {
        let count = self.pending_count()?;
        if count == 0 {
            return Ok(Vec::new());
        }
        let mut released = Vec::new();
        // Two attestations of one key in a commit name the same dependency.
        let deps: std::collections::BTreeSet<&Vec<u8>> = deps.iter().collect();
        for dep in deps {
            let prefix = Space::PendingDeps.key(&[dep]);
            for item in self.tree.scan_prefix(&prefix) {
                let (index_key, _) = item?;
                let Some(id) = index_key.get(prefix.len()..) else { continue };
                let pending_key = Space::Pending.key(&[id]);
                w.del(&index_key);
                if let Some(bytes) = self.tree.get(&pending_key)? {
                    let record: PendingRecord = decode(Space::Pending, &bytes)?;
                    if let Ok(event) = SignedEvent::decode(&record.wire) {
                        released.push(PendingEvent { event, received_at: record.received_at });
                    }
                }
                w.del(pending_key);
            }
        }
        if !released.is_empty() {
            w.put(meta(META_PENDING), count.saturating_sub(released.len() as u64).to_be_bytes());
        }
        Ok(released)
    }
}

impl Store {
    /// For [`Store::check`]: the number of pending records; each must
    /// decode and be indexed under its dependency, and each dependency
    /// entry must name a record waiting on it.
    pub(super) fn check_pending_records(
        &self,
        report: &mut super::check::CheckReport,
    ) -> Result<u64, StoreError> {
        let mut held = std::collections::HashMap::new();
        for item in self.tree.scan_prefix(Space::Pending.all()) {
            let (key, bytes) = item?;
            let id = key.get(1..).unwrap_or_default().to_vec();
            match decode::<PendingRecord>(Space::Pending, &bytes) {
                Ok(record) => {
                    held.insert(id, (record.dep, false));
                }
                Err(e) => report.problem("bad_record", e.to_string()),
            }
        }
        for item in self.tree.scan_prefix(Space::PendingDeps.all()) {
            let (key, _) = item?;
            report.index_entries += 1;
            let rest = key.get(1..).unwrap_or_default();
            let (dep, id) = rest.split_at(rest.len().saturating_sub(32));
            match held.get_mut(id) {
                Some((want, seen)) if want.as_slice() == dep => *seen = true,
                _ => report.problem(
                    "dangling_index_entry",
                    format!("pending_deps: {} waits for nothing held", super::check::hex(id)),
                ),
            }
        }
        for (id, (_, seen)) in &held {
            if !seen {
                report.problem(
                    "missing_index_entry",
                    format!("pending_deps: held event {} is not indexed", super::check::hex(id)),
                );
            }
        }
        Ok(held.len() as u64)
    }
}
