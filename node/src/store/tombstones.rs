//! Events taken back: what is kept of them ([`Tombstone`]s), read. The
//! commit that takes one back is in `write/retract.rs`.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use curbside_protocol::{EventId, Kind, Timestamp, Tombstone};

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

impl Events<'_> {
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

    /// Every id taken back (durable), for the sync sets: they are left out
    /// of them and never fetched.
    pub fn taken_back_ids(&self) -> HashSet<EventId> {
        read(&self.store.trust).tombstones.keys().copied().collect()
    }

    /// The events taken back since the last call, as `(created_at, id,
    /// kind)`: what the sync sets must drop. Filled when a commit that
    /// took them back is durable.
    pub fn drain_taken_back(&self) -> Vec<(Timestamp, EventId, Kind)> {
        std::mem::take(&mut *lock(&self.store.taken_back))
    }
}
