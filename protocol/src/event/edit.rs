//! An author's edit of their own post, case or comment (rules 4).
//!
//! An [`Edit`] names the original it replaces and carries the whole new
//! content, of the original's own shape ([`Revision`]): a post's title and
//! text, every field of a case, a comment's text. It never names an
//! earlier edit: every edit of an original names the original, and the one
//! in force is the latest by `(created_at, id)` ([`edit_supersedes`], the
//! rule outcomes follow), so that every node shows the same text whatever
//! order the edits reached it in.
//!
//! Like a [`crate::Retraction`], it repeats what a node needs to place the
//! original without holding it: the original's time, and (inside the
//! revision) its hub or its parent. A node deletes the original's text
//! when the edit applies and keeps only a tombstone, so a node that syncs
//! later never receives the original: the edit must stand on its own
//! there. Why a revision of the original's shape rather than one free
//! text: a case's fields are validated (and guarded) one by one, and the
//! same functions then judge the new content as they judged the old.

use serde::{Deserialize, Serialize};

use super::{Body, Case, Comment, Kind, Post, SignedEvent};
use crate::{EventId, HubId, Timestamp};

/// The new content of an edited event, of the original's kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Revision {
    /// A post's new title and text (its hub repeated: the original's).
    Post(Post),
    /// A case's new fields (its hub repeated: the original's).
    Case(Case),
    /// A comment's new text (its parent repeated: the original's).
    Comment(Comment),
}

impl Revision {
    /// The kind of the original this revises.
    pub const fn kind(&self) -> Kind {
        match self {
            Revision::Post(_) => Kind::Post,
            Revision::Case(_) => Kind::Case,
            Revision::Comment(_) => Kind::Comment,
        }
    }

    /// The original's hub, for a post or a case.
    pub fn hub(&self) -> Option<&HubId> {
        match self {
            Revision::Post(p) => Some(&p.hub),
            Revision::Case(c) => Some(&c.hub),
            Revision::Comment(_) => None,
        }
    }

    /// The original's parent, for a comment.
    pub fn parent(&self) -> Option<EventId> {
        match self {
            Revision::Comment(c) => Some(c.parent),
            _ => None,
        }
    }

    /// The revised content as the body of its original's kind: what is
    /// shown, searched and indexed in the original's place.
    pub fn to_body(&self) -> Body {
        match self {
            Revision::Post(p) => Body::Post(p.clone()),
            Revision::Case(c) => Body::Case(c.clone()),
            Revision::Comment(c) => Body::Comment(c.clone()),
        }
    }
}

/// An author's replacement of the content of their own post, case or
/// comment; see the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    /// The original post, case or comment (never an earlier edit).
    pub target: EventId,
    /// The original's `created_at`.
    pub target_created_at: Timestamp,
    /// The new content, of the original's kind, hub and parent.
    pub content: Revision,
}

impl Edit {
    /// An edit of `original` to `content`, or `None` if `original` is not a
    /// post, case or comment.
    pub fn of(original: &SignedEvent, content: Revision) -> Option<Self> {
        let editable = matches!(original.kind(), Kind::Post | Kind::Case | Kind::Comment);
        editable.then(|| Self {
            target: original.id(),
            target_created_at: original.created_at(),
            content,
        })
    }
}

/// Whether an edit made at `a` with id `a_id` replaces one made at `b`
/// with id `b_id` of the same original: the later one, the larger id on a
/// tie ([`super::afterword_supersedes`]'s order).
pub fn edit_supersedes(a: (Timestamp, EventId), b: (Timestamp, EventId)) -> bool {
    a > b
}
