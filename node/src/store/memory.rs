//! What the store keeps in memory so that ingest need not ask sled.
//!
//! Three kinds of thing, with different rules:
//!
//! - **The trust records** ([`Trust`]: charters, attestations, revocations,
//!   hubs, polls) are answers validation relies on, so they are exactly
//!   what is durable: loaded from disk at open, and changed only by
//!   [`Store::flush`](super::Store::flush) after the fsync that made a
//!   commit durable succeeded ([`Delta`]s wait in the store until then). A
//!   commit that fails, or a flush that fails, never reaches them.
//! - **The filters** ([`Filters`]: the first eight bytes of every stored
//!   event id, and of every ballot key) only ever say "certainly not
//!   stored" or "ask sled". They may hold more than the disk (a commit's
//!   keys are added as soon as it is applied, and a prefix may be shared),
//!   never less, so a "no" is always exact and a "maybe" costs one sled read.
//! - **The caches** ([`Recent`] summaries, [`Roots`] thread roots) hold
//!   facts that never change once an event is stored, for the latest
//!   events only: they may miss (sled is asked then), never disagree.

use std::collections::{HashMap, HashSet, VecDeque};

use curbside_protocol::rules::RulesChange;
use curbside_protocol::{
    AppointmentRecord, AttestationRecord, Body, CharterRecord, EventId, EventSummary, Handle,
    HubId, PollRecord, PublicKey, Timestamp, Tombstone, VerifiedEvent,
};

/// The trust records of every durable event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Trust {
    pub(super) charters: HashMap<PublicKey, Vec<CharterRecord>>,
    pub(super) attestations: HashMap<PublicKey, Vec<AttestationRecord>>,
    /// Earliest `effective_at` of each revoked target.
    pub(super) revocations: HashMap<EventId, Timestamp>,
    pub(super) hubs: HashSet<HubId>,
    pub(super) polls: HashMap<EventId, PollRecord>,
    /// How many keys hold an attestation naming each handle (a key counted
    /// once, whoever attested it and whether or not it is still in
    /// force), so that a reader can be told in O(1) that a handle alone
    /// does not say who wrote an event: nothing stops two verifiers (or
    /// one) attesting two keys with the same handle.
    pub(super) handle_keys: HashMap<Handle, u32>,
    /// Every rules change (the bodies of `Rules` events).
    pub(super) rules: Vec<RulesChange>,
    /// Every event taken back: validation refuses it if it comes again,
    /// and reads its summary for replies to it.
    pub(super) tombstones: HashMap<EventId, Tombstone>,
    /// Every moderator's appointments.
    pub(super) appointments: HashMap<PublicKey, Vec<AppointmentRecord>>,
}

/// What one commit adds to [`Trust`], applied once it is durable.
#[derive(Debug, Default)]
pub(super) struct Delta {
    pub(super) charters: Vec<(PublicKey, CharterRecord)>,
    pub(super) attestations: Vec<(PublicKey, AttestationRecord)>,
    /// The new earliest time of each target (already the minimum with what
    /// was stored).
    pub(super) revocations: Vec<(EventId, Timestamp)>,
    pub(super) hubs: Vec<HubId>,
    pub(super) polls: Vec<(EventId, PollRecord)>,
    /// Every event's summary, for [`Recent`].
    pub(super) summaries: Vec<(EventId, EventSummary)>,
    pub(super) rules: Vec<RulesChange>,
    /// Events taken back (their polls forgotten too).
    pub(super) tombstones: Vec<(EventId, Tombstone)>,
    /// Tombstones an event of that id but another author, kind or time
    /// replaced (the retraction had named it falsely).
    pub(super) untombed: Vec<EventId>,
    pub(super) appointments: Vec<(PublicKey, AppointmentRecord)>,
}

impl Delta {
    pub(super) fn is_empty(&self) -> bool {
        self.charters.is_empty()
            && self.attestations.is_empty()
            && self.revocations.is_empty()
            && self.hubs.is_empty()
            && self.polls.is_empty()
            && self.summaries.is_empty()
            && self.rules.is_empty()
            && self.tombstones.is_empty()
            && self.untombed.is_empty()
            && self.appointments.is_empty()
    }

    /// Notes what `event`, being committed, adds to the trust records by
    /// itself: its summary and its poll, attestation or charter record.
    /// (Hubs and revocations depend on what is stored already: the commit
    /// adds those.)
    pub(super) fn remember(&mut self, event: &VerifiedEvent) {
        let id = event.id();
        self.summaries.push((id, event.summary()));
        if let Some(record) = event.poll_record() {
            self.polls.push((id, record));
        }
        if let Some(attestation) = event.attestation_record() {
            self.attestations.push(attestation);
        }
        if let Some(charter) = event.charter_record() {
            self.charters.push(charter);
        }
        if let Some(appointment) = event.appointment_record() {
            self.appointments.push(appointment);
        }
        if let Body::Rules(r) = event.body() {
            self.rules.push(*r);
        }
    }
}

impl Trust {
    /// Applies `delta`; the summaries go to `recent`.
    pub(super) fn apply(&mut self, delta: Delta, recent: &mut Recent) {
        recent.extend(delta.summaries);
        for (node, record) in delta.charters {
            let list = self.charters.entry(node).or_default();
            if !list.iter().any(|r| r.id == record.id) {
                list.push(record);
            }
        }
        for (subject, record) in delta.attestations {
            self.add_attestation(subject, record);
        }
        for (target, at) in delta.revocations {
            let earliest = self.revocations.entry(target).or_insert(at);
            *earliest = (*earliest).min(at);
        }
        self.hubs.extend(delta.hubs);
        self.polls.extend(delta.polls);
        self.rules.extend(delta.rules);
        for (moderator, record) in delta.appointments {
            let list = self.appointments.entry(moderator).or_default();
            if !list.iter().any(|r| r.id == record.id) {
                list.push(record);
            }
        }
        for id in delta.untombed {
            self.tombstones.remove(&id);
        }
        for (id, tombstone) in delta.tombstones {
            self.polls.remove(&id);
            self.tombstones.insert(id, tombstone);
        }
    }

    /// Adds `subject`'s attestation `record` (once), counting the key
    /// under its handle if no other attestation of the key names it.
    pub(super) fn add_attestation(&mut self, subject: PublicKey, record: AttestationRecord) {
        let list = self.attestations.entry(subject).or_default();
        if list.iter().any(|r| r.id == record.id) {
            return;
        }
        if !list.iter().any(|r| r.handle == record.handle) {
            *self.handle_keys.entry(record.handle.clone()).or_default() += 1;
        }
        list.push(record);
    }

    /// The same records in a canonical order, for comparing two loads.
    #[cfg(test)]
    pub(super) fn sorted(mut self) -> Self {
        for list in self.charters.values_mut() {
            list.sort_by_key(|r| r.id);
        }
        for list in self.attestations.values_mut() {
            list.sort_by_key(|r| r.id);
        }
        self
    }
}

/// Over-approximations of the stored event ids and ballot keys.
#[derive(Debug, Default)]
pub(super) struct Filters {
    /// [`super::keys::id_prefix`] of every stored event.
    pub(super) ids: HashSet<u64>,
    /// The same prefix of `poll ‖ voter` hashed with the voter: see
    /// [`ballot_prefix`].
    pub(super) ballots: HashSet<u64>,
}

/// What the ballot filter holds for a `(poll, voter)` pair.
pub(super) fn ballot_prefix(poll: &EventId, voter: &PublicKey) -> u64 {
    let p = poll.as_bytes();
    let v = voter.as_bytes();
    let a = u64::from_be_bytes([p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]]);
    let b = u64::from_be_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]]);
    a ^ b.rotate_left(17)
}

/// The last `capacity` entries put in, first in first out: the caches
/// below, whose entries never change once put in, so the only policy is
/// which to forget.
#[derive(Debug)]
pub(super) struct Latest<V> {
    map: HashMap<EventId, V>,
    order: VecDeque<EventId>,
    capacity: usize,
}

impl<V: Copy> Latest<V> {
    /// Entries kept by the caches: 65,536 events.
    pub(super) const CAPACITY: usize = 1 << 16;

    pub(super) fn new(capacity: usize) -> Self {
        Self { map: HashMap::new(), order: VecDeque::new(), capacity }
    }

    pub(super) fn get(&self, id: &EventId) -> Option<V> {
        self.map.get(id).copied()
    }

    pub(super) fn extend(&mut self, entries: impl IntoIterator<Item = (EventId, V)>) {
        for (id, value) in entries {
            if self.map.insert(id, value).is_none() {
                self.order.push_back(id);
            }
        }
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    /// Every entry held, for tests that check them against the disk.
    #[cfg(test)]
    pub(super) fn all(&self) -> Vec<(EventId, V)> {
        self.map.iter().map(|(id, v)| (*id, *v)).collect()
    }
}

/// The summaries of the most recently stored (durable) events: replies and
/// votes mostly name recent events, so validation finds their parent here
/// instead of reading it from sled. A summary never changes once stored, so
/// the only rule is the trust records' one: in here only once durable.
/// About 8 MB at [`Latest::CAPACITY`].
pub(super) type Recent = Latest<EventSummary>;

/// The thread root of the events the latest commits stored that can be
/// replied to (a post, case or poll is its own root; a comment's is its
/// parent's), so that a commit finds the thread of a reply to a recent
/// event without reading the parent from sled. Kept by the single writer
/// and filled as each commit is applied: a root never changes, and what
/// validation accepts next may already reply to it. About 6 MB at
/// [`Latest::CAPACITY`].
pub(super) type Roots = Latest<EventId>;
