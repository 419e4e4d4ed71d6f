//! Writing accepted events: every key of a commit in one atomic sled batch.

use std::collections::{BTreeMap, HashMap, HashSet};

use curbside_protocol::{
    Authority, Ballot, Body, Counts, EventId, Kind, Timestamp, VerifiedEvent, tally,
};

use super::keys::{self, Space};
use super::memory::{Delta, Filters, Roots, ballot_prefix};
use super::{
    META_EVENTS, Store, StoreError, StoredAuthority, StoredEvent, decode, encode, lock, meta,
    pending, read, write,
};

/// The keys one commit writes, as one sled batch.
pub(super) struct Writes {
    batch: sled::Batch,
}

impl Writes {
    pub(super) fn new() -> Self {
        Self { batch: sled::Batch::default() }
    }

    pub(super) fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.batch.insert(key.as_ref(), value.as_ref());
    }

    pub(super) fn del(&mut self, key: impl AsRef<[u8]>) {
        self.batch.remove(key.as_ref());
    }

    pub(super) fn into_batch(self) -> sled::Batch {
        self.batch
    }
}

/// What a commit stored.
#[derive(Debug, Default)]
pub struct Committed {
    /// Ids newly stored (duplicates are skipped).
    pub stored: Vec<EventId>,
    /// Pending events whose dependency arrived in this commit; removed from
    /// the pending set, to be validated again.
    pub released: Vec<super::PendingEvent>,
}

impl StoredAuthority {
    fn of(authority: &Authority) -> Self {
        match authority {
            Authority::Root => StoredAuthority::Root,
            Authority::Chartered { charter } => StoredAuthority::Chartered { charter: *charter },
            Authority::Issuer => StoredAuthority::Issuer,
            Authority::Physician(record) => StoredAuthority::Physician { attestation: record.id },
        }
    }
}

/// A commit's running state.
struct Commit<'a> {
    store: &'a Store,
    filters: &'a Filters,
    w: Writes,
    delta: Delta,
    ballots: HashMap<[u8; 64], Option<Ballot>>,
    tallies: HashMap<EventId, Counts>,
    revocations: BTreeMap<EventId, Timestamp>,
    /// Packed `created_at ‖ id ‖ kind` of every event stored.
    timeline: Vec<u8>,
    /// Packed `created_at ‖ id ‖ parent` of the comments, by thread root.
    threads: BTreeMap<EventId, Vec<u8>>,
    /// The thread root of each event of this commit that can be replied to.
    roots: HashMap<EventId, EventId>,
    /// The roots of recent commits' events.
    recent_roots: &'a Roots,
    /// Pending-set keys this commit's events satisfy.
    deps: Vec<Vec<u8>>,
    /// Filter entries to add once applied.
    new_ballots: Vec<u64>,
}

impl Store {
    /// Stores `events` (all their keys, one atomic batch) and releases
    /// pending events that were waiting for them. Not yet durable, nor seen
    /// by validation: call [`Store::flush`] before acknowledging.
    pub fn commit(&self, events: &[VerifiedEvent]) -> Result<Committed, StoreError> {
        let mut writer = self.writer()?;
        let filters = read(&self.filters);
        let mut c = Commit {
            store: self,
            filters: &filters,
            w: Writes::new(),
            delta: Delta::default(),
            ballots: HashMap::new(),
            tallies: HashMap::new(),
            revocations: BTreeMap::new(),
            timeline: Vec::with_capacity(events.len() * keys::TIMELINE_ENTRY),
            threads: BTreeMap::new(),
            roots: HashMap::new(),
            recent_roots: &writer.roots,
            deps: Vec::new(),
            new_ballots: Vec::new(),
        };
        let mut committed = Committed::default();
        let mut seen = HashSet::with_capacity(events.len());
        for event in events {
            let id = event.id();
            if !seen.insert(id) || self.is_stored(&filters, &id)? {
                continue;
            }
            committed.stored.push(id);
            c.add(event)?;
        }
        if committed.stored.is_empty() {
            return Ok(committed);
        }
        let number = writer.next_commit.to_be_bytes();
        let Finished { mut writes, delta, deps, new_ballots, roots } = c.finish(&number);
        drop(filters);
        let total =
            keys::u64_value(self.tree.get(meta(META_EVENTS))?) + committed.stored.len() as u64;
        writes.put(meta(META_EVENTS), total.to_be_bytes());
        committed.released = self.release_pending(&mut writes, &deps)?;

        self.apply(writes.into_batch())?;
        self.released_from_budget(&committed.released);
        writer.next_commit += 1;
        writer.roots.extend(roots);
        {
            let mut filters = write(&self.filters);
            filters.ids.extend(committed.stored.iter().map(keys::id_prefix));
            filters.ballots.extend(new_ballots);
        }
        lock(&self.unflushed).push(delta);
        Ok(committed)
    }

    /// The earliest time `target` is revoked from, if it is (on disk,
    /// durable or not).
    pub(crate) fn revoked_at(&self, target: &EventId) -> Result<Option<Timestamp>, StoreError> {
        Ok(self
            .tree
            .get(Space::Revocations.key(&[target.as_bytes()]))?
            .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map(|b| Timestamp::from_millis(u64::from_be_bytes(b))))
    }
}

impl Commit<'_> {
    /// Every key of one new event.
    fn add(&mut self, event: &VerifiedEvent) -> Result<(), StoreError> {
        let id = event.id();
        let at = event.created_at();
        self.delta.summaries.push((id, event.summary()));
        let thread = match event.body() {
            Body::Comment(c) => {
                let root = self.root_of(&c.parent)?;
                keys::pack_thread(self.threads.entry(root).or_default(), at, &id, &c.parent);
                self.roots.insert(id, root);
                Some(root)
            }
            // Posts, cases and polls start threads.
            body if body.hub().is_some() => {
                self.roots.insert(id, id);
                None
            }
            _ => None,
        };
        let stored = StoredEvent {
            summary: event.summary(),
            authority: StoredAuthority::of(event.authority()),
            wire: event.to_bytes(),
            thread,
        };
        let record = super::event_record(&stored, event.received_at());
        if let Some(hub) = event.body().hub() {
            // A copy of the record, so that a feed page is one range read.
            self.w.put(keys::feed(hub, at, &id), &record);
        }
        self.w.put(Space::Events.key(&[id.as_bytes()]), record);
        keys::pack_timed(&mut self.timeline, at, &id);
        self.timeline.push(event.kind() as u8);
        self.deps.push(pending::dep_key_event(&id));
        match event.body() {
            Body::Poll(p) => {
                if let Some(record) = event.poll_record() {
                    self.w.put(Space::Polls.key(&[id.as_bytes()]), encode(&record));
                    self.delta.polls.push((id, record));
                }
                self.tallies.insert(id, Counts::new(p.options.len()));
            }
            Body::Vote(v) => {
                let Authority::Physician(att) = event.authority() else { return Ok(()) };
                let ballot = Ballot {
                    voter: *event.author(),
                    vote: id,
                    option: v.option,
                    cast_at: at,
                    specialties: att.specialties.clone(),
                    jurisdiction: att.jurisdiction.clone(),
                };
                self.count_vote(v.poll, ballot)?;
            }
            Body::Attestation(a) => {
                if let Some((subject, record)) = event.attestation_record() {
                    self.w.put(
                        Space::Attestations.key(&[subject.as_bytes(), id.as_bytes()]),
                        encode(&record),
                    );
                    self.delta.attestations.push((subject, record));
                }
                self.deps.push(pending::dep_key_attestation(&a.subject));
            }
            Body::Charter(c) => {
                if let Some((node, record)) = event.charter_record() {
                    self.w.put(
                        Space::Charters.key(&[node.as_bytes(), id.as_bytes()]),
                        encode(&record),
                    );
                    self.delta.charters.push((node, record));
                }
                self.deps.push(pending::dep_key_charter(&c.node));
            }
            Body::Revocation(r) => {
                self.w.put(Space::RevokedBy.key(&[r.target.as_bytes(), id.as_bytes()]), []);
                // Read from sled, not memory: an earlier commit may not be
                // durable (nor in memory) yet, and its time must not be lost.
                let existing = match self.revocations.get(&r.target) {
                    Some(at) => Some(*at),
                    None => self.store.revoked_at(&r.target)?,
                };
                let at = existing.map_or(r.effective_at, |e| e.min(r.effective_at));
                self.revocations.insert(r.target, at);
            }
            Body::Hub(h) => {
                // A hub added twice keeps the name it was first stored with.
                if !self.store.hub_exists(&h.id)? && !self.delta.hubs.contains(&h.id) {
                    self.w.put(Space::Hubs.key(&[h.id.as_str().as_bytes()]), h.title.as_bytes());
                    self.delta.hubs.push(h.id.clone());
                }
                self.deps.push(pending::dep_key_hub(&h.id));
            }
            Body::TreeHead(h) => {
                let record = super::audit::HeadRecord { size: h.size, root: h.root };
                self.w.put(keys::head(Space::Heads, event.author(), at, &id), encode(&record));
                self.w.put(keys::head(Space::HeadQueue, event.author(), at, &id), []);
            }
            Body::Cosignature(c) => {
                self.w.put(
                    Space::Cosigs.key(&[c.head.as_bytes(), event.author().as_bytes()]),
                    id.as_bytes(),
                );
            }
            Body::Post(_) | Body::Case(_) | Body::Comment(_) => {}
        }
        Ok(())
    }

    /// The root of the thread `parent` is in (itself, for a post, case or
    /// poll): from this commit, from recent commits, else from the
    /// parent's record, which names its root if it is a comment.
    /// Validation saw the parent stored (or earlier in the batch) before
    /// it accepted the reply.
    fn root_of(&self, parent: &EventId) -> Result<EventId, StoreError> {
        if let Some(root) =
            self.roots.get(parent).copied().or_else(|| self.recent_roots.get(parent))
        {
            return Ok(root);
        }
        let bytes = self
            .store
            .tree
            .get(Space::Events.key(&[parent.as_bytes()]))?
            .ok_or(StoreError::Internal("a reply was accepted without its parent"))?;
        let (record, _) = super::reads::record(&bytes)?;
        match record.summary.kind {
            Kind::Comment => record.thread.ok_or_else(|| StoreError::Corrupt {
                tree: "events",
                detail: format!("comment {parent} names no thread"),
            }),
            _ => Ok(*parent),
        }
    }

    /// Updates a poll's running counts with a voter's new ballot.
    fn count_vote(&mut self, poll: EventId, ballot: Ballot) -> Result<(), StoreError> {
        let key = keys_pair(&poll, &ballot);
        let previous = match self.ballots.get(&key) {
            Some(b) => b.clone(),
            None if self.filters.ballots.contains(&ballot_prefix(&poll, &ballot.voter)) => {
                match self.store.tree.get(Space::Ballots.key(&[&key]))? {
                    Some(bytes) => Some(decode::<Ballot>(Space::Ballots, &bytes)?),
                    None => None,
                }
            }
            None => None,
        };
        let counts = match self.tallies.get_mut(&poll) {
            Some(c) => c,
            None => {
                let counts = match self.store.tree.get(Space::Tallies.key(&[poll.as_bytes()]))? {
                    Some(bytes) => decode::<Counts>(Space::Tallies, &bytes)?,
                    None => return Ok(()), // validation guarantees the poll is stored
                };
                self.tallies.entry(poll).or_insert(counts)
            }
        };
        match previous {
            Some(old) if !tally::supersedes(&ballot, &old) => {
                counts.discard();
                self.ballots.insert(key, Some(old));
            }
            Some(old) => {
                counts.replace(&old);
                counts.add(&ballot);
                self.ballots.insert(key, Some(ballot));
            }
            None => {
                self.new_ballots.push(ballot_prefix(&poll, &ballot.voter));
                counts.add(&ballot);
                self.ballots.insert(key, Some(ballot));
            }
        }
        Ok(())
    }

    /// The per-commit keys: ballots, tallies, revocations, the timeline
    /// record and the thread records, numbered `number`.
    fn finish(mut self, number: &[u8; 8]) -> Finished {
        for (key, ballot) in self.ballots {
            if let Some(ballot) = ballot {
                self.w.put(Space::Ballots.key(&[&key]), encode(&ballot));
            }
        }
        for (poll, counts) in self.tallies {
            self.w.put(Space::Tallies.key(&[poll.as_bytes()]), encode(&counts));
        }
        for (target, at) in self.revocations {
            self.w.put(Space::Revocations.key(&[target.as_bytes()]), at.as_millis().to_be_bytes());
            self.delta.revocations.push((target, at));
        }
        self.w.put(Space::Timeline.key(&[number]), &self.timeline);
        for (root, packed) in self.threads {
            self.w.put(Space::Threads.key(&[root.as_bytes(), number]), packed);
        }
        Finished {
            writes: self.w,
            delta: self.delta,
            deps: self.deps,
            new_ballots: self.new_ballots,
            roots: self.roots,
        }
    }
}

/// A commit's keys, ready to apply, and what to do once applied.
struct Finished {
    writes: Writes,
    delta: Delta,
    /// Pending-set keys the commit's events satisfy.
    deps: Vec<Vec<u8>>,
    /// Ballot filter entries.
    new_ballots: Vec<u64>,
    /// The thread roots of the commit's events, for the next commits.
    roots: HashMap<EventId, EventId>,
}

/// `poll ‖ voter`.
fn keys_pair(poll: &EventId, ballot: &Ballot) -> [u8; 64] {
    let mut k = [0u8; 64];
    k[..32].copy_from_slice(poll.as_bytes());
    k[32..].copy_from_slice(ballot.voter.as_bytes());
    k
}
