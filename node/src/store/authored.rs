//! What a physician's event adds to the indexes a physician reads about
//! themselves: `authored` (every post, case, comment, poll and vote by its
//! author, newest last) and `mentions` (every `@handle` written in a
//! post's, case's, comment's or poll's text).
//!
//! Both follow from the signed event alone, so [`entries`] is a pure
//! function: the commit writes what it returns (through `index::entries`,
//! so a retraction deletes them with the rest), the integrity check expects
//! it, and the migration from schema 5 builds it from the events already
//! stored.

use curbside_protocol::{Body, Handle, Kind, SignedEvent};

use super::keys::{self, Space};

/// Most distinct handles one event is indexed under: a text naming more
/// is not a conversation with each of them, and the keys an event writes
/// stay bounded.
pub(super) const MAX_MENTIONS: usize = 8;

/// An index entry: its space, key and value.
pub(super) type IndexEntry = (Space, Vec<u8>, Vec<u8>);

/// The `(space, key, value)` entries `event` adds to `authored` and
/// `mentions`: none for trust events.
pub(super) fn entries(event: &SignedEvent) -> Vec<IndexEntry> {
    entries_as(event.author(), event.created_at(), event.id(), event.kind(), event.body())
}

/// The entries the edit in force `edit` stands for: its original's place
/// (the original's id, time and kind) with the edit's text, so that the
/// author's list and the replies to it in their inbox keep the original,
/// and the mentions are those of the text now shown. Written when the
/// edit comes into force and deleted when it leaves it (a later edit, a
/// retraction, a takedown), never from the edit's own index entries: every
/// edit of one original would write the same `authored` key, and erasing a
/// superseded one would delete the entry of the one in force.
pub(super) fn edit_entries(edit: &SignedEvent) -> Vec<IndexEntry> {
    let Body::Edit(e) = edit.body() else { return Vec::new() };
    let content = e.content.to_body();
    entries_as(edit.author(), e.target_created_at, e.target, e.content.kind(), &content)
}

fn entries_as(
    author: &curbside_protocol::PublicKey,
    at: curbside_protocol::Timestamp,
    id: curbside_protocol::EventId,
    kind: Kind,
    body: &Body,
) -> Vec<IndexEntry> {
    let mut value = vec![kind as u8];
    let texts: Vec<&str> = match body {
        Body::Post(p) => vec![&p.title, &p.body],
        Body::Case(c) => {
            vec![&c.title, &c.presentation, &c.history, &c.findings, &c.question]
        }
        Body::Comment(c) => vec![&c.body],
        Body::Poll(p) => {
            let mut t = vec![p.question.as_str()];
            t.extend(p.options.iter().map(String::as_str));
            t
        }
        Body::Vote(v) => {
            // The poll voted in: what the inbox needs to tell when it closes.
            value.extend_from_slice(v.poll.as_bytes());
            Vec::new()
        }
        _ => return Vec::new(),
    };
    let mut out = vec![(Space::Authored, keys::authored(author, at, &id), value)];
    let mut handles: Vec<Handle> = Vec::new();
    for text in texts {
        for handle in mentions(text) {
            if handles.len() < MAX_MENTIONS && !handles.contains(&handle) {
                handles.push(handle);
            }
        }
    }
    for handle in handles {
        out.push((Space::Mentions, keys::mention(&handle, at, &id), Vec::new()));
    }
    out
}

/// Whether `kind` is one `curbside mine` lists (votes are indexed, for the
/// inbox's closed polls, but are not something one "wrote").
pub(crate) fn is_writing(kind: Kind) -> bool {
    matches!(kind, Kind::Post | Kind::Case | Kind::Comment | Kind::Poll)
}

/// The handles `@named` in `text`, in order (repeats included), as
/// [`curbside_protocol::mention::mentions`] reads them: the same reading
/// validation uses from rules 4 to let a physician's mention through the
/// content guard, so what the inbox lists is what the guard let through.
pub(crate) fn mentions(text: &str) -> Vec<Handle> {
    curbside_protocol::mention::mentions(text).into_iter().map(|m| m.handle).collect()
}
