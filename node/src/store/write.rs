//! Writing accepted events: every index entry of a batch in one transaction.

use std::collections::{BTreeMap, HashMap, HashSet};

use curbside_protocol::{
    Authority, Ballot, Body, Counts, EventId, Timestamp, VerifiedEvent, tally,
};
use sled::Transactional as _;

use super::{
    META_EVENTS, Store, StoreError, StoredEvent, T, decode, encode, keys, pending, u64_value,
};

/// One sled batch per tree, built before the transaction.
pub(super) struct Writes {
    batches: Vec<sled::Batch>,
    touched: Vec<bool>,
}

impl Writes {
    pub(super) fn new() -> Self {
        Self {
            batches: T::ALL.iter().map(|_| sled::Batch::default()).collect(),
            touched: vec![false; T::ALL.len()],
        }
    }

    pub(super) fn put(&mut self, t: T, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.batches[t as usize].insert(key.as_ref(), value.as_ref());
        self.touched[t as usize] = true;
    }

    pub(super) fn del(&mut self, t: T, key: impl AsRef<[u8]>) {
        self.batches[t as usize].remove(key.as_ref());
        self.touched[t as usize] = true;
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

impl Store {
    /// Stores `events` (all index entries, one transaction) and releases
    /// pending events that were waiting for them. Not yet durable: call
    /// [`Store::flush`] before acknowledging.
    pub fn commit(&self, events: &[VerifiedEvent]) -> Result<Committed, StoreError> {
        let _writer = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut w = Writes::new();
        let mut seen = HashSet::new();
        let mut ballots: HashMap<[u8; 64], Option<Ballot>> = HashMap::new();
        let mut tallies: HashMap<EventId, Counts> = HashMap::new();
        let mut revocations: BTreeMap<EventId, Timestamp> = BTreeMap::new();
        let mut hubs = HashSet::new();
        let mut committed = Committed::default();
        let mut deps = Vec::new();

        for event in events {
            let id = event.id();
            if !seen.insert(id) || self.tree(T::Events).contains_key(id.as_bytes())? {
                continue;
            }
            committed.stored.push(id);
            let stored = StoredEvent {
                summary: event.summary(),
                authority: event.authority().clone(),
                wire: event.to_bytes(),
            };
            w.put(T::Events, id.as_bytes(), encode(&stored));
            w.put(T::Timeline, keys::timed(&[], event.created_at(), &id), [event.kind() as u8]);
            deps.push(pending::dep_key_event(&id));
            if let Some(hub) = event.body().hub() {
                w.put(T::Feed, keys::feed(hub, event.created_at(), &id), []);
            }
            match event.body() {
                Body::Comment(c) => {
                    w.put(
                        T::Replies,
                        keys::timed(c.parent.as_bytes(), event.created_at(), &id),
                        [],
                    );
                }
                Body::Poll(p) => {
                    if let Some(record) = event.poll_record() {
                        w.put(T::Polls, id.as_bytes(), encode(&record));
                    }
                    tallies.insert(id, Counts::new(p.options.len()));
                }
                Body::Vote(v) => {
                    let Authority::Physician(att) = event.authority() else { continue };
                    let ballot = Ballot {
                        voter: *event.author(),
                        vote: id,
                        option: v.option,
                        cast_at: event.created_at(),
                        specialties: att.specialties.clone(),
                        jurisdiction: att.jurisdiction.clone(),
                    };
                    self.count_vote(&mut ballots, &mut tallies, v.poll, ballot)?;
                }
                Body::Attestation(a) => {
                    if let Some((subject, record)) = event.attestation_record() {
                        w.put(
                            T::Attestations,
                            keys::pair(subject.as_bytes(), id.as_bytes()),
                            encode(&record),
                        );
                    }
                    deps.push(pending::dep_key_attestation(&a.subject));
                }
                Body::Charter(c) => {
                    if let Some((node, record)) = event.charter_record() {
                        w.put(
                            T::Charters,
                            keys::pair(node.as_bytes(), id.as_bytes()),
                            encode(&record),
                        );
                    }
                    deps.push(pending::dep_key_charter(&c.node));
                }
                Body::Revocation(r) => {
                    w.put(T::RevokedBy, keys::pair(r.target.as_bytes(), id.as_bytes()), []);
                    let existing = match revocations.get(&r.target) {
                        Some(at) => Some(*at),
                        None => self.revoked_at(&r.target)?,
                    };
                    let at = existing.map_or(r.effective_at, |e| e.min(r.effective_at));
                    revocations.insert(r.target, at);
                }
                Body::Hub(h) => {
                    // A hub added twice keeps the name it was first stored with.
                    if !self.tree(T::Hubs).contains_key(h.id.as_str())? && hubs.insert(h.id.clone())
                    {
                        w.put(T::Hubs, h.id.as_str(), h.title.as_bytes());
                    }
                    deps.push(pending::dep_key_hub(&h.id));
                }
                Body::TreeHead(h) => {
                    let key = keys::timed(event.author().as_bytes(), event.created_at(), &id);
                    let record = super::audit::HeadRecord { size: h.size, root: h.root };
                    w.put(T::Heads, &key, encode(&record));
                    w.put(T::HeadQueue, &key, []);
                }
                Body::Cosignature(c) => {
                    w.put(
                        T::Cosigs,
                        keys::pair(c.head.as_bytes(), event.author().as_bytes()),
                        id.as_bytes(),
                    );
                }
                Body::Post(_) | Body::Case(_) => {}
            }
        }
        if committed.stored.is_empty() {
            return Ok(committed);
        }
        for (key, ballot) in ballots {
            if let Some(ballot) = ballot {
                w.put(T::Ballots, key, encode(&ballot));
            }
        }
        for (poll, counts) in tallies {
            w.put(T::Tallies, poll.as_bytes(), encode(&counts));
        }
        for (target, at) in revocations {
            w.put(T::Revocations, target.as_bytes(), at.as_millis().to_be_bytes());
        }
        let total = u64_value(self.tree(T::Meta).get(META_EVENTS)?) + committed.stored.len() as u64;
        w.put(T::Meta, META_EVENTS, total.to_be_bytes());
        committed.released = self.release_pending(&mut w, &deps)?;

        self.apply(w)?;
        Ok(committed)
    }

    /// Applies every tree's batch in one transaction.
    pub(super) fn apply(&self, w: Writes) -> Result<(), StoreError> {
        let trees: Vec<&sled::Tree> = self.trees.iter().collect();
        trees.as_slice().transaction(|tx| {
            for (i, batch) in w.batches.iter().enumerate() {
                if w.touched[i] {
                    tx[i].apply_batch(batch)?;
                }
            }
            Ok::<(), sled::transaction::ConflictableTransactionError<StoreError>>(())
        })?;
        Ok(())
    }

    /// Updates a poll's running counts with a voter's new ballot.
    fn count_vote(
        &self,
        ballots: &mut HashMap<[u8; 64], Option<Ballot>>,
        tallies: &mut HashMap<EventId, Counts>,
        poll: EventId,
        ballot: Ballot,
    ) -> Result<(), StoreError> {
        let key = keys::pair(poll.as_bytes(), ballot.voter.as_bytes());
        let previous = match ballots.get(&key) {
            Some(b) => b.clone(),
            None => match self.tree(T::Ballots).get(key)? {
                Some(bytes) => Some(decode::<Ballot>(T::Ballots, &bytes)?),
                None => None,
            },
        };
        let counts = match tallies.get_mut(&poll) {
            Some(c) => c,
            None => {
                let counts = match self.tree(T::Tallies).get(poll.as_bytes())? {
                    Some(bytes) => decode::<Counts>(T::Tallies, &bytes)?,
                    None => return Ok(()), // validation guarantees the poll is stored
                };
                tallies.entry(poll).or_insert(counts)
            }
        };
        match previous {
            Some(old) if !tally::supersedes(&ballot, &old) => {
                counts.discard();
                ballots.insert(key, Some(old));
            }
            Some(old) => {
                counts.replace(&old);
                counts.add(&ballot);
                ballots.insert(key, Some(ballot));
            }
            None => {
                counts.add(&ballot);
                ballots.insert(key, Some(ballot));
            }
        }
        Ok(())
    }

    /// The earliest time `target` is revoked from, if it is.
    pub(crate) fn revoked_at(&self, target: &EventId) -> Result<Option<Timestamp>, StoreError> {
        Ok(self
            .tree(T::Revocations)
            .get(target.as_bytes())?
            .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map(|b| Timestamp::from_millis(u64::from_be_bytes(b))))
    }
}
