//! The node's sync sets: every stored event's `(created_at, id)`, split by
//! scope, in memory, kept current by the ingest thread and read by sync.

use std::sync::RwLock;

use curbside_protocol::Timestamp;
use curbside_protocol::recon::{Item, SyncSet};

use crate::ingest::StoredKey;
use crate::store::{Store, StoreError};
use crate::wire::Scope;

/// Out-of-order events in one batch above which merging the batch (one
/// pass over the set) beats inserting each (one move of the set's tail
/// each).
const MERGE_ABOVE: usize = 4;

/// Both scopes' sets.
#[derive(Debug)]
pub struct SyncIndex {
    sets: [RwLock<SyncSet>; 2],
}

impl SyncIndex {
    fn set(&self, scope: Scope) -> &RwLock<SyncSet> {
        match scope {
            Scope::Trust => &self.sets[0],
            Scope::Content => &self.sets[1],
        }
    }

    /// Builds the sets from everything in `store`.
    pub fn load(store: &Store) -> Result<Self, StoreError> {
        let mut trust = Vec::new();
        let mut content = Vec::new();
        for item in store.events().timeline_kinds(Timestamp::from_millis(0)) {
            let (at, id, kind) = item?;
            let entry = Item::new(at.as_millis(), *id.as_bytes());
            match Scope::of_byte(kind) {
                Scope::Trust => trust.push(entry),
                Scope::Content => content.push(entry),
            }
        }
        Ok(Self {
            sets: [
                RwLock::new(SyncSet::from_items(trust)),
                RwLock::new(SyncSet::from_items(content)),
            ],
        })
    }

    /// Adds events just stored. Events usually arrive in time order near
    /// the end of a set, where an insert is cheap; a batch with more than a
    /// few older events (a partition healing, say) is merged in one pass.
    pub fn insert(&self, stored: &[StoredKey]) {
        for scope in Scope::ALL {
            let items: Vec<Item> = stored
                .iter()
                .filter(|(_, _, kind)| Scope::of(*kind) == scope)
                .map(|(at, id, _)| Item::new(at.as_millis(), *id.as_bytes()))
                .collect();
            if items.is_empty() {
                continue;
            }
            let mut set = match self.set(scope).write() {
                Ok(set) => set,
                Err(poisoned) => poisoned.into_inner(),
            };
            let last = set.items().last().copied();
            let older = items.iter().filter(|i| last.is_some_and(|l| **i < l)).count();
            if older > MERGE_ABOVE {
                set.extend(items);
            } else {
                for item in items {
                    set.insert(item);
                }
            }
        }
    }

    /// Runs `f` over a scope's set (holding it for reading meanwhile: keep
    /// `f` short).
    pub fn read<R>(&self, scope: Scope, f: impl FnOnce(&SyncSet) -> R) -> R {
        let set = match self.set(scope).read() {
            Ok(set) => set,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&set)
    }

    /// How many events a scope holds.
    pub fn len(&self, scope: Scope) -> usize {
        self.read(scope, SyncSet::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curbside_protocol::{EventId, Kind};

    fn key(at: u64, n: u8, kind: Kind) -> StoredKey {
        (Timestamp::from_millis(at), EventId::from_bytes([n; 32]), kind)
    }

    #[test]
    fn events_land_in_their_scope_in_order_or_not() {
        let index = SyncIndex { sets: Default::default() };
        index.insert(&[key(10, 1, Kind::Charter), key(20, 2, Kind::Post), key(30, 3, Kind::Vote)]);
        assert_eq!((index.len(Scope::Trust), index.len(Scope::Content)), (1, 2));
        // Older events, one at a time and as a batch big enough to merge.
        index.insert(&[key(5, 4, Kind::Comment)]);
        let older: Vec<StoredKey> = (0..10).map(|i| key(i, 100 + i as u8, Kind::Post)).collect();
        index.insert(&older);
        index.insert(&older); // twice changes nothing
        assert_eq!(index.len(Scope::Content), 13);
        index.read(Scope::Content, |set| {
            assert!(set.items().windows(2).all(|w| w[0] < w[1]));
        });
    }
}
