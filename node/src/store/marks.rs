//! What one physician keeps on their own node about what they read: the
//! threads and hubs they follow, their bookmarks, the inbox items they
//! have read ([`Personal`]), and the list of what they wrote (`authored`).
//!
//! This state is the physician's alone: it is written here when their
//! session asks, never gossiped nor synced, and read only for the session
//! of the physician it belongs to (the API takes the key from the session,
//! never from the request). It is bounded per physician: at most
//! [`MAX_FOLLOWS`] follows, [`MAX_BOOKMARKS`] bookmarks and [`MAX_READ`]
//! read marks (the oldest read marks are forgotten first).

use std::collections::HashSet;

use curbside_protocol::{EventId, HubId, Kind, PublicKey, Timestamp};

use super::keys::{self, Space};
use super::{Store, StoreError, lock};

/// Most threads and hubs one physician may follow (together).
pub const MAX_FOLLOWS: usize = 200;
/// Most bookmarks one physician may keep.
pub const MAX_BOOKMARKS: usize = 1000;
/// Most read marks kept for one physician; past it the oldest are
/// forgotten. The inbox considers at most [`super::inbox::WINDOW`] items,
/// so a physician must read this many newer ones before an old read item
/// could show as unread again.
pub const MAX_READ: usize = 2000;

/// The mark byte of a followed thread.
const THREAD: u8 = b'f';
/// The mark byte of a followed hub.
const HUB: u8 = b'h';
/// The mark byte of a bookmark.
const BOOKMARK: u8 = b'b';

/// What a physician follows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Follow {
    /// A thread, by its root (a post, case or poll).
    Thread(EventId),
    /// A hub: its new posts, cases and polls.
    Hub(HubId),
}

impl Follow {
    fn mark(&self) -> (u8, Vec<u8>) {
        match self {
            Follow::Thread(id) => (THREAD, id.as_bytes().to_vec()),
            Follow::Hub(hub) => (HUB, hub.as_str().as_bytes().to_vec()),
        }
    }
}

/// Why a mark was not kept.
#[derive(Debug, thiserror::Error)]
pub enum MarkError {
    /// The physician's list is full.
    #[error(
        "{what} holds {limit} entries already, the most one physician may keep: remove one first"
    )]
    Full {
        /// Which list.
        what: &'static str,
        /// Its cap.
        limit: usize,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a page ends: its last `(created_at, id)`.
pub type Cursor = (Timestamp, EventId);

/// One entry of what a physician wrote: `(created_at, id, kind)`.
pub type Written = (Timestamp, EventId, Kind);

/// One physician's own state on this node ([`Store::personal`]).
#[derive(Debug, Clone, Copy)]
pub struct Personal<'s> {
    pub(super) store: &'s Store,
}

impl Store {
    /// Physicians' own follows, bookmarks, inbox and writings.
    pub fn personal(&self) -> Personal<'_> {
        Personal { store: self }
    }
}

/// A big-endian time value (a mark's `added_at`, a read mark's `read_at`).
fn time_value(space: Space, bytes: &[u8]) -> Result<Timestamp, StoreError> {
    <[u8; 8]>::try_from(bytes)
        .map(|b| Timestamp::from_millis(u64::from_be_bytes(b)))
        .map_err(|_| StoreError::Corrupt { tree: space.name(), detail: "not a time".into() })
}

impl Personal<'_> {
    /// Keeps a mark if the physician's list has room; whether it is new.
    /// Durable when it returns.
    fn add(
        &self,
        me: &PublicKey,
        key: Vec<u8>,
        marks: &[u8],
        (what, limit): (&'static str, usize),
        now: Timestamp,
    ) -> Result<bool, MarkError> {
        let _one_at_a_time = lock(&self.store.marks_lock);
        self.store.healthy()?;
        if self.store.tree.contains_key(&key).map_err(StoreError::from)? {
            return Ok(false);
        }
        let mut held = 0;
        for mark in marks {
            held += self.store.tree.scan_prefix(keys::marks_of(me, *mark)).count();
        }
        if held >= limit {
            return Err(MarkError::Full { what, limit });
        }
        self.store.tree.insert(key, &now.as_millis().to_be_bytes()).map_err(StoreError::from)?;
        self.store.flush()?;
        Ok(true)
    }

    /// Drops a mark; whether it was there. Durable when it returns.
    fn remove(&self, key: Vec<u8>) -> Result<bool, StoreError> {
        let _one_at_a_time = lock(&self.store.marks_lock);
        self.store.healthy()?;
        let was = self.store.tree.remove(key)?.is_some();
        self.store.flush()?;
        Ok(was)
    }

    /// `me` follows `what` from `now`; whether it is new.
    pub fn follow(&self, me: &PublicKey, what: &Follow, now: Timestamp) -> Result<bool, MarkError> {
        let (mark, target) = what.mark();
        self.add(me, keys::mark(me, mark, &target), &[THREAD, HUB], ("follows", MAX_FOLLOWS), now)
    }

    /// `me` stops following `what`; whether they did.
    pub fn unfollow(&self, me: &PublicKey, what: &Follow) -> Result<bool, StoreError> {
        let (mark, target) = what.mark();
        self.remove(keys::mark(me, mark, &target))
    }

    /// What `me` follows, and since when, newest first.
    pub fn follows(&self, me: &PublicKey) -> Result<Vec<(Follow, Timestamp)>, StoreError> {
        let mut out = Vec::new();
        for mark in [THREAD, HUB] {
            let prefix = keys::marks_of(me, mark);
            for item in self.store.tree.scan_prefix(&prefix) {
                let (key, value) = item?;
                let target = &key[prefix.len()..];
                let corrupt = || StoreError::Corrupt { tree: "marks", detail: "bad target".into() };
                let follow = if mark == THREAD {
                    Follow::Thread(EventId::from_bytes(target.try_into().map_err(|_| corrupt())?))
                } else {
                    let name = std::str::from_utf8(target).map_err(|_| corrupt())?;
                    Follow::Hub(HubId::new(name).map_err(|_| corrupt())?)
                };
                out.push((follow, time_value(Space::Marks, &value)?));
            }
        }
        out.sort_by_key(|f| std::cmp::Reverse(f.1));
        Ok(out)
    }

    /// `me` bookmarks `id`; whether it is new.
    pub fn bookmark(
        &self,
        me: &PublicKey,
        id: &EventId,
        now: Timestamp,
    ) -> Result<bool, MarkError> {
        let key = keys::mark(me, BOOKMARK, id.as_bytes());
        self.add(me, key, &[BOOKMARK], ("bookmarks", MAX_BOOKMARKS), now)
    }

    /// `me` drops the bookmark of `id`; whether there was one.
    pub fn unbookmark(&self, me: &PublicKey, id: &EventId) -> Result<bool, StoreError> {
        self.remove(keys::mark(me, BOOKMARK, id.as_bytes()))
    }

    /// `me`'s bookmarks, newest first: `(id, added_at)`.
    pub fn bookmarks(&self, me: &PublicKey) -> Result<Vec<(EventId, Timestamp)>, StoreError> {
        let prefix = keys::marks_of(me, BOOKMARK);
        let mut out = Vec::new();
        for item in self.store.tree.scan_prefix(&prefix) {
            let (key, value) = item?;
            let id = EventId::from_bytes(super::key_part(Space::Marks, &key, prefix.len())?);
            out.push((id, time_value(Space::Marks, &value)?));
        }
        out.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
        Ok(out)
    }

    /// Marks `items` read by `me` at `now`, forgetting the oldest read
    /// marks past [`MAX_READ`]. Durable when it returns.
    pub fn mark_read(
        &self,
        me: &PublicKey,
        items: &[EventId],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let _one_at_a_time = lock(&self.store.marks_lock);
        self.store.healthy()?;
        let mut batch = sled::Batch::default();
        let fresh: HashSet<&EventId> = items.iter().collect();
        for id in &fresh {
            batch.insert(keys::inbox_read(me, id), &now.as_millis().to_be_bytes());
        }
        let mut held = Vec::new();
        for item in self.store.tree.scan_prefix(keys::inbox_read_of(me)) {
            let (key, value) = item?;
            let id = EventId::from_bytes(super::key_part(Space::InboxRead, &key, 33)?);
            if !fresh.contains(&id) {
                held.push((time_value(Space::InboxRead, &value)?, key));
            }
        }
        let excess = (held.len() + fresh.len()).saturating_sub(MAX_READ);
        if excess > 0 {
            held.sort();
            for (_, key) in held.into_iter().take(excess) {
                batch.remove(key);
            }
        }
        self.store.apply(batch)?;
        self.store.flush()
    }

    /// The inbox items `me` has read.
    pub fn read_items(&self, me: &PublicKey) -> Result<HashSet<EventId>, StoreError> {
        let mut out = HashSet::new();
        for item in self.store.tree.scan_prefix(keys::inbox_read_of(me)) {
            let (key, _) = item?;
            out.insert(EventId::from_bytes(super::key_part(Space::InboxRead, &key, 33)?));
        }
        Ok(out)
    }

    /// What `me` wrote (posts, cases, comments, polls), newest first, at
    /// most `limit`, strictly older than the cursor `before` (a previous
    /// page's last `(created_at, id)`), and the cursor of the next page if
    /// there may be one. One range read of `authored`, of at most
    /// `limit` + [`SKIP_VOTES`] entries (votes are indexed too, and
    /// skipped), so a page costs the same however many votes come first.
    pub fn written(
        &self,
        me: &PublicKey,
        before: Option<(Timestamp, EventId)>,
        limit: usize,
    ) -> Result<(Vec<Written>, Option<Cursor>), StoreError> {
        let start = keys::authored_by(me);
        let end = match before {
            Some((at, id)) => keys::authored(me, at, &id),
            None => keys::authored(
                me,
                Timestamp::from_millis(u64::MAX),
                &EventId::from_bytes([0xff; 32]),
            ),
        };
        let mut out = Vec::new();
        let mut last = None;
        for (scanned, item) in self.store.tree.range(start..end).rev().enumerate() {
            if out.len() >= limit || scanned >= limit + SKIP_VOTES {
                return Ok((out, last));
            }
            let (key, value) = item?;
            let (at, id, kind, _) = authored_entry(&key, &value)?;
            last = Some((at, id));
            if super::authored::is_writing(kind) {
                out.push((at, id, kind));
            }
        }
        Ok((out, None))
    }
}

/// Most votes one page of [`Personal::written`] reads past.
pub(super) const SKIP_VOTES: usize = 1000;

/// An `authored` entry: `(created_at, id, kind, the poll of a vote)`.
pub(super) fn authored_entry(
    key: &[u8],
    value: &[u8],
) -> Result<(Timestamp, EventId, Kind, Option<EventId>), StoreError> {
    let corrupt = |detail: &str| StoreError::Corrupt { tree: "authored", detail: detail.into() };
    let (at, id) =
        keys::trailing_time(key).zip(keys::trailing_id(key)).ok_or_else(|| corrupt("short key"))?;
    let kind = value
        .first()
        .and_then(|b| {
            [Kind::Post, Kind::Case, Kind::Comment, Kind::Poll, Kind::Vote]
                .into_iter()
                .find(|k| *k as u8 == *b)
        })
        .ok_or_else(|| corrupt("not a physician's kind"))?;
    let poll = value.get(1..33).and_then(|b| <[u8; 32]>::try_from(b).ok()).map(EventId::from_bytes);
    Ok((at, id, kind, poll))
}

impl Personal<'_> {
    /// The root of the thread `id` is in (itself for a post, case or poll),
    /// if `id` is shown here (stored, or edited: its edit in force): what
    /// following an event follows.
    pub fn thread_of(&self, id: &EventId) -> Result<Option<EventId>, StoreError> {
        if self.store.events().shown(id)?.is_none() {
            return Ok(None);
        }
        self.store.events().thread_root(id)
    }
}
