//! Writing accepted events: every key of a commit in one atomic sled batch.

mod retract;

use std::collections::{BTreeMap, HashMap, HashSet};

use curbside_protocol::{
    Authority, Ballot, Body, Counts, EventId, Kind, PublicKey, Timestamp, Tombstone, VerifiedEvent,
    tally,
};

use super::batch::Writes;
use super::index::{self, Entry};
use super::keys::{self, Space};
use super::memory::{Delta, Filters, Roots, ballot_prefix};
use super::{
    Store, StoreError, StoredAuthority, StoredEvent, StoredTombstone, decode, encode, lock, read,
    write,
};

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
    /// Each voter's ballot on each poll, as this commit leaves it.
    ballots: HashMap<(EventId, PublicKey), Option<Ballot>>,
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
    /// Events this commit took back.
    tombstones: HashMap<EventId, Tombstone>,
    /// Polls this commit took back: votes on them count nowhere.
    retracted_polls: HashSet<EventId>,
    /// How many stored events this commit deleted.
    erased: u64,
    /// Id filter entries for the tombstones (so a later copy of a taken
    /// back event is checked against its tombstone).
    new_ids: Vec<u64>,
    /// The outcome, accept or poll answer in force per target and kind,
    /// as this commit leaves it (`created_at`, id).
    afterwords: HashMap<(EventId, Kind), (Timestamp, EventId)>,
    /// The edit in force of each original this commit edited
    /// (`created_at`, id), the event itself kept while its record is only
    /// in the batch (`write/retract.rs`).
    edits: HashMap<EventId, retract::InForce>,
    /// Edits that arrived after a later edit of their original: their
    /// text is deleted as soon as it is written.
    superseded: HashSet<EventId>,
}

impl Store {
    /// Stores `events` (all their keys, one atomic batch) and releases
    /// pending events that were waiting for them. Not yet durable, nor seen
    /// by validation: call [`Store::flush`] before acknowledging.
    pub fn commit(&self, events: &[VerifiedEvent]) -> Result<Committed, StoreError> {
        // A retraction or takedown of an event of the same batch is
        // committed after it: it deletes what is stored, not what is still
        // in the batch.
        if let Some(split) = retraction_of_earlier(events) {
            let (before, after) = events.split_at(split);
            let mut first = self.commit(before)?;
            let second = self.commit(after)?;
            first.stored.extend(second.stored);
            first.released.extend(second.released);
            return Ok(first);
        }
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
            tombstones: HashMap::new(),
            retracted_polls: HashSet::new(),
            erased: 0,
            new_ids: Vec::new(),
            afterwords: HashMap::new(),
            edits: HashMap::new(),
            superseded: HashSet::new(),
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
        let erased = c.erased;
        let new_ids = std::mem::take(&mut c.new_ids);
        let gone: Vec<EventId> = c.tombstones.keys().copied().collect();
        let Finished { mut writes, delta, deps, new_ballots, roots } = c.finish(writer.next_commit);
        drop(filters);
        let total = (keys::u64_value(self.tree.get(keys::event_count())?)
            + committed.stored.len() as u64)
            .saturating_sub(erased);
        writes.put(keys::event_count(), total.to_be_bytes());
        committed.released = self.release_pending(&mut writes, &deps)?;

        self.apply(writes.into_batch())?;
        self.released_from_budget(&committed.released);
        writer.next_commit += 1;
        writer.roots.extend(roots);
        {
            let mut filters = write(&self.filters);
            filters.ids.extend(committed.stored.iter().map(keys::id_prefix));
            filters.ids.extend(new_ids);
            filters.ballots.extend(new_ballots);
        }
        lock(&self.unflushed).push(delta);
        drop(writer);
        // An event taken back while it waited for a dependency is dropped
        // from the pending set too: no copy of it stays.
        for id in &gone {
            self.pending().remove(id)?;
        }
        Ok(committed)
    }
}

impl Commit<'_> {
    /// Every key of one new event: its record, its timeline entry and the
    /// index entries [`index::entries`] derives from it.
    fn add(&mut self, event: &VerifiedEvent) -> Result<(), StoreError> {
        let id = event.id();
        let at = event.created_at();
        self.delta.remember(event);
        // Where a tombstone of a comment never held already placed it in
        // its thread, as the event itself would be placed.
        let mut placed = false;
        if self.filters.ids.contains(&keys::id_prefix(&id))
            && let Some(bytes) = self.store.tree.get(keys::tombstone(&id))?
        {
            // Validation refuses what a tombstone matches: this one the
            // retraction named falsely (or a takedown named another hub
            // than the event's), and the event replaces it.
            let old: StoredTombstone = decode(Space::Tombstones, &bytes)?;
            placed = old.thread.is_some()
                && matches!(event.body(), Body::Comment(c)
                    if old.tombstone.parent == Some(c.parent)
                        && old.tombstone.summary.created_at == at);
            self.w.del(keys::tombstone(&id));
            self.delta.untombed.push(id);
        }
        let thread = match event.body() {
            Body::Comment(c) => Some(self.root_of(&c.parent)?),
            _ => None,
        };
        let stored = StoredEvent {
            summary: event.summary(),
            authority: StoredAuthority::of(event.authority()),
            wire: event.to_bytes(),
            thread,
        };
        let record = super::event_record(&self.store.network, &stored, event.received_at())?;
        keys::pack_timed(&mut self.timeline, at, &id);
        self.timeline.push(event.kind() as u8);
        for entry in index::entries(event, &record) {
            if placed && matches!(entry, Entry::Comment { .. }) {
                let root = thread.ok_or(StoreError::Internal("a comment without its thread"))?;
                self.roots.insert(id, root);
                continue;
            }
            self.index(event, entry, thread)?;
        }
        if self.superseded.remove(&id) {
            // A later edit of its original is in force: its text goes now,
            // as it would have had it arrived first.
            self.erase(event, &record);
        } else {
            self.w.put(keys::event(&id), record);
        }
        Ok(())
    }

    /// Writes (or counts towards the commit's per-commit keys) one index
    /// entry of `event`, a comment of the thread `thread` if it is one.
    fn index(
        &mut self,
        event: &VerifiedEvent,
        entry: Entry<'_>,
        thread: Option<EventId>,
    ) -> Result<(), StoreError> {
        let id = event.id();
        match entry {
            Entry::Put { key, value, .. } => self.w.put(key, value),
            Entry::Queue(key) => self.w.put(key, []),
            Entry::Starts => {
                self.roots.insert(id, id);
            }
            Entry::Comment { parent } => {
                let root = thread.ok_or(StoreError::Internal("a comment without its thread"))?;
                let packed = self.threads.entry(root).or_default();
                keys::pack_thread(packed, event.created_at(), &id, &parent);
                self.roots.insert(id, root);
            }
            Entry::Poll { options } => {
                self.tallies.insert(id, Counts::new(options));
            }
            Entry::Vote { poll, option, physician: Some(att) } => {
                let ballot = Ballot {
                    voter: *event.author(),
                    vote: id,
                    option,
                    cast_at: event.created_at(),
                    specialties: att.specialties.clone(),
                    jurisdiction: att.jurisdiction.clone(),
                };
                self.count_vote(poll, ballot)?;
            }
            Entry::Vote { physician: None, .. } => {}
            Entry::Revocation { target, effective_at } => {
                // Read from sled, not memory: an earlier commit may not be
                // durable (nor in memory) yet, and its time must not be lost.
                let existing = match self.revocations.get(&target) {
                    Some(at) => Some(*at),
                    None => self.store.revoked_at(&target)?,
                };
                let at = existing.map_or(effective_at, |e| e.min(effective_at));
                self.revocations.insert(target, at);
            }
            Entry::Hub { id: hub, key, title } => {
                // A hub added twice keeps the name it was first stored with.
                if !self.store.tree.contains_key(&key)? && !self.delta.hubs.contains(hub) {
                    self.w.put(key, title.as_bytes());
                    self.delta.hubs.push(hub.clone());
                }
            }
            Entry::Cosignature { head, cosigner } => {
                self.w.put(keys::cosignature(&head, &cosigner), id.as_bytes());
            }
            Entry::Satisfies(dep) => self.deps.push(dep),
            Entry::Retract { target, parent } | Entry::Edit { target, parent } => {
                self.retract(event, target, parent)?
            }
            Entry::Afterword { target, kind } => {
                let new = (event.created_at(), id);
                let current = match self.afterwords.get(&(target, kind)) {
                    Some(current) => Some(*current),
                    None => match self.store.tree.get(keys::afterword(&target, kind))? {
                        Some(bytes) => {
                            Some(keys::unpack_timed(&bytes).ok_or_else(|| StoreError::Corrupt {
                                tree: Space::Afterwords.name(),
                                detail: format!("a value of {} bytes", bytes.len()),
                            })?)
                        }
                        None => None,
                    },
                };
                // The latest wins whatever the order of arrival: an
                // earlier one arriving late is stored and changes nothing.
                if current.is_none_or(|c| curbside_protocol::afterword_supersedes(new, c)) {
                    self.afterwords.insert((target, kind), new);
                }
            }
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
        let Some(bytes) = self.store.tree.get(keys::event(parent))? else {
            // A parent taken back: its tombstone names its thread.
            return match self.store.events().stored_tombstone(parent)? {
                Some(t) => Ok(t.thread.unwrap_or(*parent)),
                None if self.tombstones.contains_key(parent) => Ok(*parent),
                None => Err(StoreError::Internal("a reply was accepted without its parent")),
            };
        };
        let (record, _) = super::reads::record(&self.store.network, &bytes)?;
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
        let key = (poll, ballot.voter);
        let previous = match self.ballots.get(&key) {
            Some(b) => b.clone(),
            None if self.filters.ballots.contains(&ballot_prefix(&poll, &ballot.voter)) => {
                match self.store.tree.get(keys::ballot(&poll, &ballot.voter))? {
                    Some(bytes) => Some(decode::<Ballot>(Space::Ballots, &bytes)?),
                    None => None,
                }
            }
            None => None,
        };
        // Validation guarantees the poll is stored, or was taken back.
        let Some(counts) = self.counts_of(&poll)? else { return Ok(()) };
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
                counts.add(&ballot);
                self.new_ballots.push(ballot_prefix(&poll, &ballot.voter));
                self.ballots.insert(key, Some(ballot));
            }
        }
        Ok(())
    }

    /// The running counts of `poll`, from this commit or the store; `None`
    /// for a poll taken back.
    fn counts_of(&mut self, poll: &EventId) -> Result<Option<&mut Counts>, StoreError> {
        if self.retracted_polls.contains(poll) {
            return Ok(None);
        }
        if !self.tallies.contains_key(poll) {
            let Some(bytes) = self.store.tree.get(keys::tally(poll))? else { return Ok(None) };
            self.tallies.insert(*poll, decode::<Counts>(Space::Tallies, &bytes)?);
        }
        Ok(self.tallies.get_mut(poll))
    }

    /// The per-commit keys: ballots, tallies, revocations, the timeline
    /// record and the thread records, numbered `number`.
    fn finish(mut self, number: u64) -> Finished {
        for ((poll, voter), ballot) in self.ballots {
            if let Some(ballot) = ballot {
                self.w.put(keys::ballot(&poll, &voter), encode(&ballot));
            }
        }
        for (poll, counts) in self.tallies {
            self.w.put(keys::tally(&poll), encode(&counts));
        }
        for (target, at) in self.revocations {
            self.w.put(keys::revocation(&target), at.as_millis().to_be_bytes());
            self.delta.revocations.push((target, at));
        }
        self.w.put(keys::timeline(number), &self.timeline);
        for (root, packed) in self.threads {
            self.w.put(keys::thread(&root, number), packed);
        }
        for ((target, kind), (at, id)) in self.afterwords {
            let mut value = Vec::with_capacity(40);
            keys::pack_timed(&mut value, at, &id);
            self.w.put(keys::afterword(&target, kind), value);
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

/// The position of the first retraction, takedown or edit in `events` whose target comes
/// before it in `events`, if any.
fn retraction_of_earlier(events: &[VerifiedEvent]) -> Option<usize> {
    let mut seen = HashSet::new();
    for (i, event) in events.iter().enumerate() {
        let target = match event.body() {
            Body::Retraction(r) => Some(r.target),
            Body::Takedown(t) => Some(t.target),
            Body::Edit(e) => Some(e.target),
            _ => None,
        };
        if target.is_some_and(|t| seen.contains(&t)) {
            return Some(i);
        }
        seen.insert(event.id());
    }
    None
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
