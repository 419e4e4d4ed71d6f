//! The store as validation sees it: [`TrustView`] over what is durable,
//! plus the events of the batch being validated (so a comment may follow
//! its parent in the same batch). The trust records come from the store's
//! memory ([`super::memory`]); only a parent's summary, and an id the
//! filter cannot rule out, are read from sled.
//!
//! `TrustView` cannot fail, but a disk can. A read error is recorded, the
//! answer given is the cautious one, and the ingest path checks
//! [`StoreView::take_error`] and discards any verdict reached while it was set.

use std::cell::RefCell;
use std::collections::HashSet;

use curbside_protocol::rules::RulesChange;
use curbside_protocol::{
    AttestationRecord, Body, CharterRecord, EventId, EventSummary, Genesis, Handle, HubId, Kind,
    LogEntry, MemoryTrust, NetworkId, PollRecord, PublicKey, ThreadLink, Timestamp, Tombstone,
    TreeHeadRecord, TrustView, VerifiedEvent,
};

use super::keys;
use super::{Store, StoreError, read};

/// A validation view: the store, overlaid with a batch's accepted events.
#[derive(Debug)]
pub struct StoreView<'s> {
    store: &'s Store,
    batch: MemoryTrust,
    absent: HashSet<EventId>,
    error: RefCell<Option<StoreError>>,
}

impl<'s> StoreView<'s> {
    /// A view of `store` with an empty batch.
    pub fn new(store: &'s Store) -> Self {
        Self {
            store,
            batch: MemoryTrust::new(store.genesis.clone()),
            absent: HashSet::new(),
            error: RefCell::new(None),
        }
    }

    /// Notes ids the caller has just found absent from the store (under the
    /// single writer), so that duplicate checks need not read it again.
    pub fn assume_absent(&mut self, ids: impl IntoIterator<Item = EventId>) {
        self.absent.extend(ids);
    }

    /// Adds an accepted event of the batch being validated.
    pub fn add(&mut self, event: &VerifiedEvent) {
        self.batch.insert(event);
    }

    /// The first storage error met since the last call, if any.
    pub fn take_error(&self) -> Option<StoreError> {
        self.error.borrow_mut().take()
    }

    fn or_note<V>(&self, result: Result<V, StoreError>, cautious: V) -> V {
        result.unwrap_or_else(|e| {
            self.error.borrow_mut().get_or_insert(e);
            cautious
        })
    }
}

impl TrustView for StoreView<'_> {
    fn rules_changes(&self) -> Vec<RulesChange> {
        let mut all = read(&self.store.trust).rules.clone();
        all.extend(self.batch.rules_changes());
        all
    }

    fn genesis(&self) -> &Genesis {
        &self.store.genesis
    }

    fn network_id(&self) -> NetworkId {
        self.store.network
    }

    fn contains(&self, id: &EventId) -> bool {
        if self.batch.contains(id) {
            return true;
        }
        if self.absent.contains(id) {
            return false;
        }
        self.or_note(
            self.store.is_stored(&read(&self.store.filters), id),
            // Cautious: "held" makes the event a duplicate, never stored twice.
            true,
        )
    }

    fn charters(&self, node: &PublicKey) -> Vec<CharterRecord> {
        let mut all = read(&self.store.trust).charters.get(node).cloned().unwrap_or_default();
        all.extend(self.batch.charters(node));
        all
    }

    fn attestations(&self, subject: &PublicKey) -> Vec<AttestationRecord> {
        let mut all =
            read(&self.store.trust).attestations.get(subject).cloned().unwrap_or_default();
        all.extend(self.batch.attestations(subject));
        all
    }

    /// From the handles the store keeps in memory with every attestation
    /// (loaded at open from the attestations, changed only once durable,
    /// as every trust record), so a mention costs a hash lookup and no
    /// sled read. Why no index on disk: the store already holds every
    /// attestation record in memory for validation, and its handle count
    /// ([`super::memory::Trust`]'s `handle_keys`) is exactly "some
    /// attestation gives this handle"; a second copy on disk would have to
    /// be kept in step with it and migrated, and would answer nothing the
    /// memory cannot.
    fn handle_attested(&self, handle: &Handle) -> bool {
        read(&self.store.trust).handle_keys.contains_key(handle)
            || self.batch.handle_attested(handle)
    }

    fn revoked_at(&self, target: &EventId) -> Option<Timestamp> {
        let stored = read(&self.store.trust).revocations.get(target).copied();
        match (stored, self.batch.revoked_at(target)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn hub_exists(&self, hub: &HubId) -> bool {
        self.batch.hub_exists(hub) || read(&self.store.trust).hubs.contains(hub)
    }

    fn summary(&self, id: &EventId) -> Option<EventSummary> {
        if let Some(s) = self.batch.summary(id) {
            return Some(s);
        }
        if let Some(s) = read(&self.store.recent).get(id) {
            return Some(s);
        }
        let read = || -> Result<Option<EventSummary>, StoreError> {
            let Some(bytes) = self.store.tree.get(keys::event(id))? else {
                return Ok(read(&self.store.trust).tombstones.get(id).map(|t| t.summary));
            };
            // Read from the start of the record's wire form, the rest left.
            Ok(Some(super::record_summary(&bytes)?))
        };
        self.or_note(read(), None)
    }

    fn appointments(&self, moderator: &PublicKey) -> Vec<curbside_protocol::AppointmentRecord> {
        let mut all =
            read(&self.store.trust).appointments.get(moderator).cloned().unwrap_or_default();
        all.extend(self.batch.appointments(moderator));
        all
    }

    fn thread_hub(&self, id: &EventId) -> Option<HubId> {
        // Through the batch first (a reply may follow its parent in it),
        // then the store from the first event the batch does not hold.
        let mut at = *id;
        for _ in 0..=self.batch.len() {
            match self.batch.thread_link(&at) {
                Some(ThreadLink::Hub(hub)) => return Some(hub),
                Some(ThreadLink::Parent(parent)) => at = parent,
                None => break,
            }
        }
        self.or_note(self.store.events().thread_hub(&at), None)
    }

    fn takedown_hub(&self, id: &EventId) -> Option<HubId> {
        self.batch
            .takedown_hub(id)
            .or_else(|| self.or_note(self.store.events().takedown_hub(id), None))
    }

    fn tombstone(&self, id: &EventId) -> Option<Tombstone> {
        self.batch.tombstone(id).or_else(|| read(&self.store.trust).tombstones.get(id).copied())
    }

    fn poll(&self, id: &EventId) -> Option<PollRecord> {
        if let Some(p) = self.batch.poll(id) {
            return Some(p);
        }
        read(&self.store.trust).polls.get(id).cloned()
    }

    fn tree_head(&self, id: &EventId) -> Option<TreeHeadRecord> {
        if let Some(h) = self.batch.tree_head(id) {
            return Some(h);
        }
        let read = || -> Result<Option<TreeHeadRecord>, StoreError> {
            let Some(event) = self.store.events().get(id)? else { return Ok(None) };
            let Body::TreeHead(h) = event.body() else { return Ok(None) };
            Ok(Some(TreeHeadRecord {
                verifier: *event.author(),
                size: h.size,
                root: h.root,
                created_at: event.created_at(),
            }))
        };
        self.or_note(read(), None)
    }

    fn thread_root(&self, id: &EventId) -> Option<EventId> {
        let Some(mut at) = self.batch.parent_of(id) else {
            // Not a comment of this batch: a stored comment names its root.
            return match self.or_note(self.store.events().thread_root(id), None) {
                Some(root) if root != *id => Some(root),
                _ => None,
            };
        };
        // Up through this batch's comments (each step to an earlier event).
        while let Some(parent) = self.batch.parent_of(&at) {
            at = parent;
        }
        match self.batch.summary(&at) {
            Some(s) if s.kind != Kind::Comment => Some(at),
            _ => self.or_note(self.store.events().thread_root(&at), None),
        }
    }

    fn log_entry(&self, verifier: &PublicKey, attestation: &EventId) -> LogEntry {
        self.store.logs.entry(verifier, attestation)
    }

    fn log_forked_at(&self, verifier: &PublicKey) -> Option<Timestamp> {
        self.store.logs.forked_at(verifier)
    }
}
