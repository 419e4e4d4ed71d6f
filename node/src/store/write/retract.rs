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
//!
//! An author's edit (rules 4) takes its original's text away the same
//! way: the original's tombstone names the edit in force as its
//! `retraction`, which is all a node keeps of which edit is current (so no
//! new store space). A later edit (by `(created_at, id)`) replaces it,
//! and the superseded edit's text is deleted and tombstoned in turn; an
//! earlier edit arriving late is deleted as soon as it is written. A
//! retraction or takedown of an edited original deletes the edit in force
//! too. Every order of arrival leaves the same records.

use curbside_protocol::{
    Authority, Ballot, Body, EventId, HubId, Kind, Timestamp, Tombstone, VerifiedEvent,
    edit_supersedes, tally,
};

use super::super::keys::{self, Space};
use super::super::memory::ballot_prefix;
use super::super::{StoreError, StoredTombstone, decode, encode, index};
use super::Commit;

use super::super::index::WITHDRAWN;

/// The edit in force of an original: its time and id, and the edit.
pub(super) type InForce = ((Timestamp, EventId), VerifiedEvent);

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
        if let Some(old) = self.existing_tombstone(&target)? {
            return match self.edit_in_force(&target, &old)? {
                Some(current) => self.retake(retraction, target, old, current),
                None => Ok(()), // taken back already
            };
        }
        let held = match self.store.tree.get(keys::event(&target))? {
            Some(bytes) => {
                let (stored, _) = super::super::reads::record(&self.store.network, &bytes)?;
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
        if retraction.kind() == Kind::Edit {
            let current = (retraction.created_at(), retraction.id());
            self.edits.insert(target, (current, retraction.clone()));
            self.place_in_feed(retraction);
        }
        self.entomb(target, tombstone, thread);
        Ok(())
    }

    /// Writes `target`'s tombstone (replacing any earlier one).
    fn entomb(&mut self, target: EventId, tombstone: Tombstone, thread: Option<EventId>) {
        let stored = StoredTombstone { tombstone, thread };
        self.w.put(keys::tombstone(&target), encode(&stored));
        self.tombstones.insert(target, tombstone);
        self.delta.tombstones.push((target, tombstone));
        self.new_ids.push(keys::id_prefix(&target));
        // Replies waiting for the target can be judged by its tombstone.
        self.deps.push(keys::dep::event(&target));
    }

    /// The tombstone of `target` and its thread, from this commit or the
    /// store.
    fn existing_tombstone(
        &self,
        target: &EventId,
    ) -> Result<Option<(Tombstone, Option<EventId>)>, StoreError> {
        if let Some(t) = self.tombstones.get(target) {
            let thread = match self.store.events().stored_tombstone(target)? {
                Some(stored) => stored.thread,
                None => self.roots.get(target).copied(),
            };
            return Ok(Some((*t, thread)));
        }
        Ok(self.store.events().stored_tombstone(target)?.map(|s| (s.tombstone, s.thread)))
    }

    /// The edit in force of `target`, if its tombstone was left by an
    /// edit (not by a retraction or a takedown): its time and id, and the
    /// edit itself.
    fn edit_in_force(
        &self,
        target: &EventId,
        (old, _): &(Tombstone, Option<EventId>),
    ) -> Result<Option<InForce>, StoreError> {
        if old.taken_down() {
            return Ok(None);
        }
        if let Some((current, edit)) = self.edits.get(target)
            && current.1 == old.retraction
        {
            return Ok(Some((*current, edit.clone())));
        }
        let Some(bytes) = self.store.tree.get(keys::event(&old.retraction))? else {
            return Ok(None);
        };
        let edit = self.store.load(&old.retraction, &bytes)?;
        Ok((edit.kind() == Kind::Edit).then(|| ((edit.created_at(), edit.id()), edit)))
    }

    /// Applies `event` (an edit, a retraction or a takedown) to `target`,
    /// whose text an edit already replaced (`current` is the edit in
    /// force): a later edit replaces it, an earlier one goes at once, and
    /// a retraction or takedown takes the original back with its edit.
    fn retake(
        &mut self,
        event: &VerifiedEvent,
        target: EventId,
        (old, thread): (Tombstone, Option<EventId>),
        (current, edit): InForce,
    ) -> Result<(), StoreError> {
        // What the original was is what the edit in force says of it (and
        // was checked against the original where it was held).
        let Some(tombstone) = Tombstone::of(event, Some((old.summary, old.parent))) else {
            return Ok(()); // it named its target falsely: inert
        };
        if event.kind() == Kind::Edit {
            let new = (event.created_at(), event.id());
            if !edit_supersedes(new, current) {
                self.superseded.insert(event.id());
                self.entomb_edit(event, current.1, false);
                return Ok(());
            }
            self.retire(&edit, event.id(), false);
            self.edits.insert(target, (new, event.clone()));
            self.place_in_feed(event);
        } else {
            // A takedown applies only in the hub its moderator moderates:
            // the original's, as its edit places it.
            if let Body::Takedown(t) = event.body()
                && self.edited_hub(&edit)?.as_ref() != Some(&t.hub)
            {
                return Ok(());
            }
            self.retire(&edit, event.id(), event.kind() == Kind::Takedown);
            self.edits.remove(&target);
        }
        self.entomb(target, tombstone, thread);
        Ok(())
    }

    /// Deletes the text of `edit`, no longer in force (replaced by the
    /// edit, or taken back with its original by the retraction or
    /// takedown, `by`).
    fn retire(&mut self, edit: &VerifiedEvent, by: EventId, takedown: bool) {
        // An edit's own index keys do not depend on its record.
        self.erase(edit, &[]);
        for (_, key, _) in index::edit_entries(edit) {
            self.w.del(key);
        }
        if let Some(key) = index::edited_feed_key(edit) {
            self.w.del(key);
        }
        self.entomb_edit(edit, by, takedown);
    }

    /// Shows the edit in force in the feed at its original's place.
    fn place_in_feed(&mut self, edit: &VerifiedEvent) {
        if let Some(key) = index::edited_feed_key(edit) {
            self.w.put(key, edit.id().as_bytes());
        }
        // After the erasure of what it replaces, which deleted the same keys.
        for (_, key, value) in index::edit_entries(edit) {
            self.w.put(key, value);
        }
    }

    /// The tombstone of an edit no longer in force.
    fn entomb_edit(&mut self, edit: &VerifiedEvent, by: EventId, takedown: bool) {
        let tombstone = Tombstone {
            summary: edit.summary(),
            parent: None,
            retraction: by,
            by: *edit.author(),
            takedown,
        };
        self.entomb(edit.id(), tombstone, None);
    }

    /// The hub an edit places its original in.
    fn edited_hub(&self, edit: &VerifiedEvent) -> Result<Option<HubId>, StoreError> {
        let Body::Edit(e) = edit.body() else { return Ok(None) };
        match e.content.hub() {
            Some(hub) => Ok(Some(hub.clone())),
            None => match e.content.parent() {
                Some(parent) => self.store.events().thread_hub(&parent),
                None => Ok(None),
            },
        }
    }

    /// Deletes a held event's record and the entries it put in the indexes.
    pub(super) fn erase(&mut self, event: &VerifiedEvent, record: &[u8]) {
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
