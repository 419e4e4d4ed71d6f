//! The node's sync sets: every stored event's `(created_at, id)`, split by
//! scope, in memory, kept current by the ingest thread and read by sync.

use std::collections::HashSet;
use std::sync::RwLock;

use curbside_protocol::recon::{Item, SyncSet};
use curbside_protocol::{EventId, Timestamp};

use crate::ingest::StoredKey;
use crate::store::{Store, StoreError, TakenBack};
use crate::wire::Scope;

/// Out-of-order events in one batch above which merging the batch (one
/// pass over the set) beats inserting each (one move of the set's tail
/// each).
const MERGE_ABOVE: usize = 4;

/// Both scopes' sets.
///
/// An event taken back leaves its set. A retracted one's id is kept in
/// `gone`: a peer that still holds it shows it as a difference, and this
/// node does not fetch it (the peer fetches the retraction instead). A
/// taken-down one's is not: where the takedown named another hub than the
/// event's, the event is valid and is fetched; where it named the right
/// one, validation refuses it (`taken_down`, no penalty) until the peer
/// has the takedown too.
#[derive(Debug)]
pub struct SyncIndex {
    sets: [RwLock<SyncSet>; 2],
    gone: RwLock<HashSet<EventId>>,
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
        // Drained: everything taken back so far is in `gone` already.
        store.events().drain_taken_back();
        let taken_back = store.events().taken_back_ids();
        for item in store.events().timeline_kinds(Timestamp::from_millis(0)) {
            let (at, id, kind) = item?;
            // The timeline keeps the place of what was taken back; the
            // sets hold only what is stored.
            if taken_back.contains(&id) {
                continue;
            }
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
            gone: RwLock::new(store.events().retracted_ids()),
        })
    }

    /// Drops events taken back from their sets, and remembers their ids
    /// so that they are never fetched again.
    pub fn forget(&self, taken_back: &[TakenBack]) {
        if taken_back.is_empty() {
            return;
        }
        for t in taken_back {
            let mut set = match self.set(Scope::of(t.kind)).write() {
                Ok(set) => set,
                Err(poisoned) => poisoned.into_inner(),
            };
            set.remove(&Item::new(t.created_at.as_millis(), *t.id.as_bytes()));
        }
        let mut gone = match self.gone.write() {
            Ok(gone) => gone,
            Err(poisoned) => poisoned.into_inner(),
        };
        // A takedown's target stays fetchable (`Events::taken_back_ids`).
        gone.extend(taken_back.iter().filter(|t| !t.taken_down).map(|t| t.id));
    }

    /// Whether `id` was taken back here (so is not to be fetched).
    pub fn is_gone(&self, id: &EventId) -> bool {
        match self.gone.read() {
            Ok(gone) => gone.contains(id),
            Err(poisoned) => poisoned.into_inner().contains(id),
        }
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
        let index = SyncIndex { sets: Default::default(), gone: Default::default() };
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

    #[test]
    fn an_event_taken_back_leaves_its_set_and_is_never_fetched() {
        let index = SyncIndex { sets: Default::default(), gone: Default::default() };
        let posts: Vec<StoredKey> = (0..300).map(|i| key(i, i as u8, Kind::Post)).collect();
        index.insert(&posts);
        let rebuilt = SyncSet::from_items(
            posts
                .iter()
                .filter(|k| **k != posts[7] && **k != posts[9])
                .map(|(at, id, _)| Item::new(at.as_millis(), *id.as_bytes())),
        );
        let taken = |(created_at, id, kind): StoredKey, taken_down| TakenBack {
            created_at,
            id,
            kind,
            taken_down,
        };
        index.forget(&[taken(posts[7], false), taken(posts[9], true)]);
        assert!(index.is_gone(&posts[7].1));
        assert!(!index.is_gone(&posts[8].1));
        // Taken down: out of the set, but fetchable (only the event can
        // show whether the takedown named its hub).
        assert!(!index.is_gone(&posts[9].1));
        index.read(Scope::Content, |set| {
            assert_eq!(set.len(), 298);
            // The same fingerprint as a set built without it: peers that
            // never held it agree.
            assert_eq!(set.fingerprint(), rebuilt.fingerprint());
        });
    }
}
