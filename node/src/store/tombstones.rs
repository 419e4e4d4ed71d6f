//! Events taken back: what is kept of them ([`Tombstone`]s), read. The
//! commit that takes one back is in `write/retract.rs`.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use curbside_protocol::{EventId, HubId, Kind, Timestamp, Tombstone, VerifiedEvent};

use super::keys::{self, Space};
use super::reads::Events;
use super::{StoreError, decode, lock, read};

/// What `tombstones` holds for an event taken back: the tombstone, and a
/// comment's thread root (so that its replies find their thread).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct StoredTombstone {
    pub(super) tombstone: Tombstone,
    pub(super) thread: Option<EventId>,
}

/// An event taken back, as the sync sets see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakenBack {
    /// Its time and id: its place in a sync set.
    pub created_at: Timestamp,
    /// Its id.
    pub id: EventId,
    /// Its kind (which set).
    pub kind: Kind,
    /// Whether a moderator's takedown took it (not its author).
    pub taken_down: bool,
}

impl Events<'_> {
    /// The hub of the thread `id` is in, if it can be told (see
    /// [`curbside_protocol::TrustView::thread_hub`]): a held event's own or
    /// its root's; a comment taken back, its thread root's.
    pub fn thread_hub(&self, id: &EventId) -> Result<Option<HubId>, StoreError> {
        // Held: its own hub or its root's (one read of it, one of the root).
        if let Some(hub) = self.hub_of(id)? {
            return Ok(Some(hub));
        }
        match self.stored_tombstone(id)? {
            Some(StoredTombstone { thread: Some(root), .. }) if root != *id => self.hub_of(&root),
            _ => Ok(None),
        }
    }

    /// The edit in force of `id`, if an edit replaced its text (and it
    /// was not taken back since): what readers show in its place.
    pub fn edit_in_force(&self, id: &EventId) -> Result<Option<VerifiedEvent>, StoreError> {
        let Some(t) = self.tombstone(id)? else { return Ok(None) };
        if t.taken_down() {
            return Ok(None);
        }
        Ok(self.get(&t.retraction)?.filter(|e| e.kind() == Kind::Edit))
    }

    /// What readers see as `id`: the event if it is stored, else the edit
    /// in force that replaced its text (shown in its place, under its id).
    pub fn shown(&self, id: &EventId) -> Result<Option<VerifiedEvent>, StoreError> {
        match self.get(id)? {
            Some(event) => Ok(Some(event)),
            None => self.edit_in_force(id),
        }
    }

    /// The hub the held takedown `id` names.
    pub fn takedown_hub(&self, id: &EventId) -> Result<Option<HubId>, StoreError> {
        Ok(self.get(id)?.and_then(|e| match e.body() {
            curbside_protocol::Body::Takedown(t) => Some(t.hub.clone()),
            _ => None,
        }))
    }

    /// The thread root of `id` as the store holds it: a stored or taken
    /// back (or edited) comment's recorded root, or `id` itself for another
    /// kind; `None` if the store knows nothing of `id`.
    pub fn thread_root(&self, id: &EventId) -> Result<Option<EventId>, StoreError> {
        if let Some(bytes) = self.store.tree.get(keys::event(id))? {
            let (stored, _) = super::reads::record(&self.store.network, &bytes)?;
            return Ok(match stored.summary.kind {
                Kind::Comment => stored.thread,
                _ => Some(*id),
            });
        }
        Ok(match self.stored_tombstone(id)? {
            Some(t) if t.tombstone.summary.kind == Kind::Comment => t.thread,
            Some(_) => Some(*id),
            None => None,
        })
    }

    /// The tombstone of `id`, if it was taken back (durable or not).
    pub fn tombstone(&self, id: &EventId) -> Result<Option<Tombstone>, StoreError> {
        Ok(self.stored_tombstone(id)?.map(|s| s.tombstone))
    }

    /// The tombstone of `id` and, for a comment, its thread root.
    pub(super) fn stored_tombstone(
        &self,
        id: &EventId,
    ) -> Result<Option<StoredTombstone>, StoreError> {
        match self.store.tree.get(keys::tombstone(id))? {
            Some(bytes) => Ok(Some(decode(Space::Tombstones, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Every id taken back (durable): what the sync sets leave out.
    pub fn taken_back_ids(&self) -> HashSet<EventId> {
        read(&self.store.trust).tombstones.keys().copied().collect()
    }

    /// Every id its author retracted (durable): never fetched again. (A
    /// takedown's target stays fetchable: where this node never held it,
    /// only the target itself can show whether the takedown named its hub;
    /// see `takedown_holds` in the protocol.)
    pub fn retracted_ids(&self) -> HashSet<EventId> {
        read(&self.store.trust)
            .tombstones
            .iter()
            .filter(|(_, t)| !t.taken_down())
            .map(|(id, _)| *id)
            .collect()
    }

    /// The events taken back since the last call: what the sync sets must
    /// drop. Filled when a commit that took them back is durable.
    pub fn drain_taken_back(&self) -> Vec<TakenBack> {
        std::mem::take(&mut *lock(&self.store.taken_back))
    }
}
