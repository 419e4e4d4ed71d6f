//! Taking an event back, within a commit: the target's record and every
//! index entry it made are deleted in the commit's batch, and its
//! tombstone written in their place (`tombstones.rs` reads it).
//!
//! What goes: the `events` record, the feed entry (a copy of the record),
//! a poll's record, tally and ballots, and a vote's ballot (replaced by one
//! that counts for nothing, so that the tally is the same whatever order
//! a node learnt the vote and its retraction in). What stays: the
//! tombstone, and the target's id and time in the timeline and its thread's
//! shape (no content: what the tombstone says too).

use curbside_protocol::{Authority, Ballot, Body, EventId, Kind, Tombstone, VerifiedEvent, tally};

use super::super::keys::{self, Space};
use super::super::memory::ballot_prefix;
use super::super::{StoreError, StoredTombstone, decode, encode, index};
use super::Commit;

use super::super::index::WITHDRAWN;

/// A comment's parent or a vote's poll.
fn parent_of(event: &VerifiedEvent) -> Option<EventId> {
    match event.body() {
        Body::Comment(c) => Some(c.parent),
        Body::Vote(v) => Some(v.poll),
        _ => None,
    }
}

impl Commit<'_> {
    /// Applies `retraction` (of `target`, whose parent it names as
    /// `parent`), if it applies: see [`Tombstone::of`].
    pub(super) fn retract(
        &mut self,
        retraction: &VerifiedEvent,
        target: EventId,
        parent: Option<EventId>,
    ) -> Result<(), StoreError> {
        if self.tombstones.contains_key(&target)
            || self.store.tree.contains_key(keys::tombstone(&target))?
        {
            return Ok(()); // taken back already
        }
        let held = match self.store.tree.get(keys::event(&target))? {
            Some(bytes) => {
                let (stored, _) = super::super::reads::record(&bytes)?;
                let thread = stored.thread;
                Some((self.store.load(&target, &bytes)?, thread, bytes))
            }
            None => None,
        };
        let Some(tombstone) =
            Tombstone::of(retraction, held.as_ref().map(|(e, _, _)| (e.summary(), parent_of(e))))
        else {
            return Ok(()); // it named its target falsely: inert
        };
        // A takedown applies only in the hub its moderator moderates.
        if let (Body::Takedown(t), Some(_)) = (retraction.body(), &held)
            && self.store.events().thread_hub(&target)?.as_ref() != Some(&t.hub)
        {
            return Ok(());
        }
        let thread = match (&held, parent) {
            (Some((_, thread, _)), _) => *thread,
            (None, Some(parent)) if tombstone.summary.kind == Kind::Comment => {
                // Never held here: its place in its thread comes from the
                // retraction, so that the replies under it hang from it.
                let root = self.root_of(&parent)?;
                let packed = self.threads.entry(root).or_default();
                keys::pack_thread(packed, tombstone.summary.created_at, &target, &parent);
                self.roots.insert(target, root);
                Some(root)
            }
            _ => None,
        };
        if let Some((event, _, bytes)) = &held {
            self.erase(event, bytes);
        }
        match (tombstone.summary.kind, parent) {
            (Kind::Vote, Some(poll)) => {
                self.withdraw_vote(retraction, &tombstone, target, poll, held.is_some())?
            }
            (Kind::Poll, _) => self.erase_poll(target)?,
            _ => {}
        }
        let stored = StoredTombstone { tombstone, thread };
        self.w.put(keys::tombstone(&target), encode(&stored));
        self.tombstones.insert(target, tombstone);
        self.delta.tombstones.push((target, tombstone));
        self.new_ids.push(keys::id_prefix(&target));
        // Replies waiting for the target can be judged by its tombstone.
        self.deps.push(keys::dep::event(&target));
        Ok(())
    }

    /// Deletes a held event's record and the entries it put in the indexes.
    fn erase(&mut self, event: &VerifiedEvent, record: &[u8]) {
        self.w.del(keys::event(&event.id()));
        for entry in index::entries(event, record) {
            if let index::Entry::Put { key, .. } = entry {
                self.w.del(key);
            }
        }
        self.erased += 1;
    }

    /// Deletes a poll's tally and every ballot in it.
    fn erase_poll(&mut self, poll: EventId) -> Result<(), StoreError> {
        self.retracted_polls.insert(poll);
        self.tallies.remove(&poll);
        self.ballots.retain(|(p, _), _| *p != poll);
        self.w.del(keys::tally(&poll));
        self.w.del(keys::poll(&poll));
        for item in self.store.tree.scan_prefix(keys::ballots_of(&poll)) {
            let (key, _) = item?;
            self.w.del(key);
        }
        Ok(())
    }

    /// Takes a retracted vote out of its poll's tally: the voter's ballot
    /// becomes one that counts for nothing, cast when the vote was, which
    /// replaces the voter's earlier ballots and is replaced by later ones,
    /// as the vote itself was.
    fn withdraw_vote(
        &mut self,
        retraction: &VerifiedEvent,
        tombstone: &Tombstone,
        vote: EventId,
        poll: EventId,
        held: bool,
    ) -> Result<(), StoreError> {
        let Authority::Physician(att) = retraction.authority() else { return Ok(()) };
        let withdrawn = Ballot {
            voter: tombstone.summary.author,
            vote,
            option: WITHDRAWN,
            cast_at: tombstone.summary.created_at,
            specialties: Vec::new(),
            jurisdiction: att.jurisdiction.clone(),
        };
        let key = (poll, withdrawn.voter);
        let previous = match self.ballots.get(&key) {
            Some(b) => b.clone(),
            None => match self.store.tree.get(keys::ballot(&poll, &withdrawn.voter))? {
                Some(bytes) => Some(decode::<Ballot>(Space::Ballots, &bytes)?),
                None => None,
            },
        };
        let Some(counts) = self.counts_of(&poll)? else { return Ok(()) };
        // A vote held here was counted among the ballots seen once; a node
        // that never held it did not count it.
        let current = previous.as_ref().is_some_and(|old| old.vote == vote);
        if held && let Some(old) = &previous {
            let counted = if current { old.clone() } else { withdrawn.clone() };
            counts.forget(&counted, current);
        }
        match previous {
            Some(_) if current => {
                self.ballots.insert(key, Some(withdrawn));
            }
            Some(old) if tally::supersedes(&withdrawn, &old) => {
                counts.replace(&old);
                self.ballots.insert(key, Some(withdrawn));
            }
            Some(_) => {} // already replaced by a later vote
            None => {
                self.new_ballots.push(ballot_prefix(&poll, &withdrawn.voter));
                self.ballots.insert(key, Some(withdrawn));
            }
        }
        Ok(())
    }
}
