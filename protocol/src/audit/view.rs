//! [`Overlay`]: the auditor's trust (genesis, charters, their revocations)
//! plus what one log adds while it is checked — its attestations, so
//! that its revocations find their targets, and a head, so that its
//! cosignatures find it. Validation stays the one `validate` every node
//! runs; only the view it reads differs.

use std::collections::HashMap;

use crate::{
    AttestationRecord, CharterRecord, EventId, EventSummary, Genesis, HubId, LogEntry, MemoryTrust,
    NetworkId, PollRecord, PublicKey, Timestamp, TreeHeadRecord, TrustView,
};

/// A [`MemoryTrust`] with a few events of one log laid over it.
#[derive(Debug)]
pub(crate) struct Overlay<'a> {
    base: &'a MemoryTrust,
    pub(crate) summaries: HashMap<EventId, EventSummary>,
    pub(crate) revoked: HashMap<EventId, Timestamp>,
    pub(crate) heads: HashMap<EventId, TreeHeadRecord>,
}

impl<'a> Overlay<'a> {
    pub(crate) fn new(base: &'a MemoryTrust) -> Self {
        Self { base, summaries: HashMap::new(), revoked: HashMap::new(), heads: HashMap::new() }
    }

    /// Records a revocation taking effect at `at` (the earliest one counts).
    pub(crate) fn revoke(&mut self, target: EventId, at: Timestamp) {
        let when = self.revoked.entry(target).or_insert(at);
        *when = (*when).min(at);
    }
}

impl TrustView for Overlay<'_> {
    fn genesis(&self) -> &Genesis {
        self.base.genesis()
    }
    fn network_id(&self) -> NetworkId {
        self.base.network_id()
    }
    fn contains(&self, id: &EventId) -> bool {
        self.summaries.contains_key(id) || self.base.contains(id)
    }
    fn charters(&self, node: &PublicKey) -> Vec<CharterRecord> {
        self.base.charters(node)
    }
    fn attestations(&self, subject: &PublicKey) -> Vec<AttestationRecord> {
        self.base.attestations(subject)
    }
    fn handle_attested(&self, handle: &crate::Handle) -> bool {
        // An auditor validates only trust events, which mention nobody.
        self.base.handle_attested(handle)
    }
    fn revoked_at(&self, target: &EventId) -> Option<Timestamp> {
        match (self.revoked.get(target).copied(), self.base.revoked_at(target)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
    fn hub_exists(&self, hub: &HubId) -> bool {
        self.base.hub_exists(hub)
    }
    fn summary(&self, id: &EventId) -> Option<EventSummary> {
        self.summaries.get(id).copied().or_else(|| self.base.summary(id))
    }
    fn tombstone(&self, id: &EventId) -> Option<crate::Tombstone> {
        self.base.tombstone(id)
    }
    fn appointments(&self, moderator: &PublicKey) -> Vec<crate::AppointmentRecord> {
        self.base.appointments(moderator)
    }
    fn thread_hub(&self, id: &EventId) -> Option<HubId> {
        self.base.thread_hub(id)
    }
    fn takedown_hub(&self, id: &EventId) -> Option<HubId> {
        self.base.takedown_hub(id)
    }
    fn poll(&self, id: &EventId) -> Option<PollRecord> {
        self.base.poll(id)
    }
    fn tree_head(&self, id: &EventId) -> Option<TreeHeadRecord> {
        self.heads.get(id).copied().or_else(|| self.base.tree_head(id))
    }
    fn log_entry(&self, verifier: &PublicKey, attestation: &EventId) -> LogEntry {
        self.base.log_entry(verifier, attestation)
    }
    fn log_forked_at(&self, verifier: &PublicKey) -> Option<Timestamp> {
        self.base.log_forked_at(verifier)
    }
    fn thread_root(&self, id: &EventId) -> Option<EventId> {
        self.base.thread_root(id)
    }
    fn rules_changes(&self) -> Vec<crate::rules::RulesChange> {
        self.base.rules_changes()
    }
}
