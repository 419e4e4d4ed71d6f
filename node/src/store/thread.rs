//! Threads, a page at a time: an event and its replies, depth first, each
//! parent's replies oldest first.
//!
//! A page ends after at most `limit` entries; the next page starts just
//! after the last entry of the one before (its id is the cursor). The
//! cursor is an event id rather than a position so that a page costs the
//! same however deep into a long thread it starts: resuming walks from the
//! cursor up to the root (one read per level) and takes, at each level,
//! the replies after the branch it came down, which is exactly the walk's
//! stack at the moment the previous page stopped. Replies stored between
//! two pages appear if they sort after the cursor, as in a feed.

use curbside_protocol::{Body, EventId, VerifiedEvent};

use super::{Store, StoreError};

/// One event of a thread and how deep it sits (the root is depth 0).
#[derive(Debug, Clone)]
pub struct ThreadEntry {
    /// Replies to the root are depth 1, and so on.
    pub depth: usize,
    /// The event.
    pub event: VerifiedEvent,
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
    /// The root is not stored here.
    #[error("no event {0} here")]
    NoRoot(EventId),
    /// The cursor names no stored event.
    #[error("the cursor {0} names no event stored here")]
    CursorNotStored(EventId),
    /// The cursor is stored but not in this thread.
    #[error("the cursor {cursor} is not in the thread of {root}")]
    CursorNotInThread {
        /// The thread's root.
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

impl Store {
    /// At most `limit` (at least one) entries of `root`'s thread, depth
    /// first in time order: from the root itself, or from just after
    /// `after` (the last entry of an earlier page).
    pub fn thread(
        &self,
        root: &EventId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<ThreadPage, ThreadError> {
        let limit = limit.max(1);
        let mut entries = Vec::with_capacity(limit.min(256));
        let mut stack = match after {
            None => {
                let event = self.get(root)?.ok_or(ThreadError::NoRoot(*root))?;
                entries.push(ThreadEntry { depth: 0, event });
                self.children(root, 1)?
            }
            Some(cursor) => {
                if !self.contains(root)? {
                    return Err(ThreadError::NoRoot(*root));
                }
                self.resume(root, cursor)?
            }
        };
        while entries.len() < limit {
            let Some((depth, id)) = stack.pop() else { break };
            // A reply listed but not stored would be damage; `check` reports it.
            if let Some(event) = self.get(&id)? {
                entries.push(ThreadEntry { depth, event });
                stack.extend(self.children(&id, depth + 1)?);
            }
        }
        Ok(ThreadPage { entries, more: !stack.is_empty() })
    }

    /// The replies to `parent`, at `depth`, for the stack (the oldest last).
    fn children(&self, parent: &EventId, depth: usize) -> Result<Stack, StoreError> {
        Ok(self.replies(parent)?.into_iter().rev().map(|id| (depth, id)).collect())
    }

    /// The walk's stack just after it visited `cursor`: the cursor's
    /// replies, then at each level up to the root the replies that follow
    /// the branch the cursor is on.
    fn resume(&self, root: &EventId, cursor: &EventId) -> Result<Stack, ThreadError> {
        // `cursor`, its parent, ..., `root`.
        let mut path = vec![*cursor];
        let mut at = *cursor;
        while at != *root {
            let Some(event) = self.get(&at)? else {
                if at == *cursor {
                    return Err(ThreadError::CursorNotStored(*cursor));
                }
                return Err(StoreError::Corrupt {
                    tree: "events",
                    detail: format!("a stored comment replies to {at}, which is not stored"),
                }
                .into());
            };
            let Body::Comment(comment) = event.body() else {
                return Err(ThreadError::CursorNotInThread { root: *root, cursor: *cursor });
            };
            at = comment.parent;
            path.push(at);
        }
        let mut stack = Stack::new();
        // From the root down, so that the levels nearest the cursor come off first.
        for level in (1..path.len()).rev() {
            let (parent, child) = (path[level], path[level - 1]);
            let siblings = self.replies(&parent)?;
            let Some(pos) = siblings.iter().position(|id| *id == child) else {
                return Err(StoreError::Corrupt {
                    tree: "replies",
                    detail: format!("{child} replies to {parent} but is not among its replies"),
                }
                .into());
            };
            let depth = path.len() - level;
            stack.extend(siblings[pos + 1..].iter().rev().map(|id| (depth, *id)));
        }
        stack.extend(self.children(cursor, path.len())?);
        Ok(stack)
    }
}
