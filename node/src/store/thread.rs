//! Threads, a page at a time: an event and its replies, depth first, each
//! parent's replies oldest first.
//!
//! A thread's shape (every comment's time, id and parent) is one range read
//! of its root's `threads` records; only the events of the page asked for
//! are then read. A page ends after at most `limit` entries, and the next
//! starts just after the last entry of the one before (its id is the
//! cursor): the walk's stack at that moment is rebuilt from the shape, by
//! going up from the cursor to where the walk began and taking, at each
//! level, the replies after the branch it came down. So a page deep in a
//! long thread costs what the first one does. Replies stored between two
//! pages appear if they sort after the cursor, as in a feed.

use std::collections::HashMap;

use curbside_protocol::{EventId, Timestamp, Tombstone, VerifiedEvent};

use super::StoreError;
use super::keys;
use super::reads::Events;

/// One event of a thread and how deep it sits (the root is depth 0).
#[derive(Debug, Clone)]
pub struct ThreadEntry {
    /// Replies to the root are depth 1, and so on.
    pub depth: usize,
    /// The event's id.
    pub id: EventId,
    /// The event, or `None` where it was taken back.
    pub event: Option<VerifiedEvent>,
    /// What is kept of it, where it was taken back: the thread shows a
    /// placeholder there, and the replies under it stay.
    pub tombstone: Option<Tombstone>,
}

impl ThreadEntry {
    fn of(depth: usize, event: VerifiedEvent) -> Self {
        Self { depth, id: event.id(), event: Some(event), tombstone: None }
    }

    fn gone(depth: usize, id: EventId, tombstone: Tombstone) -> Self {
        Self { depth, id, event: None, tombstone: Some(tombstone) }
    }
}

/// One page of a thread.
#[derive(Debug, Clone)]
pub struct ThreadPage {
    /// At most the `limit` asked for, depth first.
    pub entries: Vec<ThreadEntry>,
    /// Whether the thread goes on after the last entry (pass its id as the
    /// cursor for the next page).
    pub more: bool,
}

/// Why a thread page cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ThreadError {
    /// The event the thread is asked from is not stored here.
    #[error("no event {0} here")]
    NoRoot(EventId),
    /// The cursor names no stored event.
    #[error("the cursor {0} names no event stored here")]
    CursorNotStored(EventId),
    /// The cursor is stored but not in this thread.
    #[error("the cursor {cursor} is not in the thread of {root}")]
    CursorNotInThread {
        /// The event the thread is asked from.
        root: EventId,
        /// The cursor given.
        cursor: EventId,
    },
    /// A read failed or a record is damaged.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Events still to visit, as `(depth, id)`, the next one last.
type Stack = Vec<(usize, EventId)>;

/// The shape of one thread, from its `threads` records.
#[derive(Default)]
struct Shape {
    /// Each event's replies, oldest first.
    replies: HashMap<EventId, Vec<(Timestamp, EventId)>>,
    /// Each comment's parent.
    parents: HashMap<EventId, EventId>,
}

impl Shape {
    /// The replies to `parent`, at `depth`, for the stack (the oldest last).
    fn children(&self, parent: &EventId, depth: usize) -> impl Iterator<Item = (usize, EventId)> {
        let list = self.replies.get(parent).map_or(&[][..], Vec::as_slice);
        list.iter().rev().map(move |&(_, id)| (depth, id))
    }

    /// The walk from `top`'s stack just after it visited `cursor`: the
    /// cursor's replies, then at each level up to `top` the replies that
    /// follow the branch the cursor is on. `None` if `cursor` is not under
    /// `top`.
    fn resume(&self, top: &EventId, cursor: &EventId) -> Option<Stack> {
        // `cursor`, its parent, ..., `top`; no longer than the thread.
        let mut path = vec![*cursor];
        while path.last() != Some(top) {
            if path.len() > self.parents.len() {
                return None;
            }
            path.push(*self.parents.get(path.last()?)?);
        }
        let mut stack = Stack::new();
        // From the top down, so that the levels nearest the cursor come off first.
        for level in (1..path.len()).rev() {
            let (parent, child) = (&path[level], &path[level - 1]);
            let siblings = self.replies.get(parent)?;
            let pos = siblings.iter().position(|(_, id)| id == child)?;
            let depth = path.len() - level;
            stack.extend(siblings[pos + 1..].iter().rev().map(|&(_, id)| (depth, id)));
        }
        stack.extend(self.children(cursor, path.len()));
        Some(stack)
    }
}

impl Events<'_> {
    /// How many comments the thread that starts at `root` holds (at any
    /// depth): the entries of its packed `threads` records, one range read
    /// of them, no event read.
    pub fn replies_in(&self, root: &EventId) -> Result<u64, StoreError> {
        let mut n = 0;
        for item in self.store.tree.scan_prefix(keys::thread_prefix(root)) {
            n += (item?.1.len() / keys::THREAD_ENTRY) as u64;
        }
        Ok(n)
    }

    /// At most `limit` (at least one) entries of the thread from `top` (a
    /// post, case or poll, or a comment for its part of the thread), depth
    /// first in time order: from `top` itself, or from just after `after`
    /// (the last entry of an earlier page).
    pub fn thread(
        &self,
        top: &EventId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<ThreadPage, ThreadError> {
        let limit = limit.max(1);
        let (first, root) = match self.store.get_with_root(top)? {
            Some((event, root)) => (ThreadEntry::of(0, event), root),
            None => {
                let t = self.stored_tombstone(top)?.ok_or(ThreadError::NoRoot(*top))?;
                (ThreadEntry::gone(0, *top, t.tombstone), t.thread.unwrap_or(*top))
            }
        };
        let shape = self.shape(&root)?;
        let mut entries = Vec::with_capacity(limit.min(256));
        let mut stack = match after {
            None => {
                entries.push(first);
                shape.children(top, 1).collect()
            }
            Some(cursor) => match shape.resume(top, cursor) {
                Some(stack) => stack,
                None if self.contains(cursor)? => {
                    return Err(ThreadError::CursorNotInThread { root: *top, cursor: *cursor });
                }
                None => return Err(ThreadError::CursorNotStored(*cursor)),
            },
        };
        while entries.len() < limit {
            let Some((depth, id)) = stack.pop() else { break };
            // A comment in the shape but neither stored nor taken back
            // would be damage; `check` reports it.
            let entry = match self.get(&id)? {
                Some(event) => ThreadEntry::of(depth, event),
                None => match self.stored_tombstone(&id)? {
                    Some(t) => ThreadEntry::gone(depth, id, t.tombstone),
                    None => continue,
                },
            };
            entries.push(entry);
            stack.extend(shape.children(&id, depth + 1));
        }
        Ok(ThreadPage { entries, more: !stack.is_empty() })
    }

    /// The shape of `root`'s thread.
    fn shape(&self, root: &EventId) -> Result<Shape, StoreError> {
        let mut shape = Shape::default();
        for item in self.store.tree.scan_prefix(keys::thread_prefix(root)) {
            let (_, packed) = item?;
            for entry in packed.chunks(keys::THREAD_ENTRY) {
                let (at, id, parent) = keys::unpack_thread(entry)
                    .ok_or(StoreError::Corrupt { tree: "threads", detail: "short entry".into() })?;
                shape.replies.entry(parent).or_default().push((at, id));
                shape.parents.insert(id, parent);
            }
        }
        // A commit packs its comments in the order it stored them.
        for list in shape.replies.values_mut() {
            list.sort_unstable();
        }
        Ok(shape)
    }
}
