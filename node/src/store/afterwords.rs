//! What an author added to their own case, thread or poll, read: the
//! outcome, the accepted answer and the poll's answer in force
//! (`afterwords`, written by the commit: the latest by `(created_at, id)`
//! whatever the order they arrived in).

use curbside_protocol::{Body, EventId, Kind, VerifiedEvent};

use super::StoreError;
use super::keys::{self, Space};
use super::reads::Events;

/// The additions in force to one case, thread or poll: each the event
/// itself, as stored.
#[derive(Debug, Clone, Default)]
pub struct Afterwords {
    /// A case's outcome.
    pub outcome: Option<VerifiedEvent>,
    /// A thread's accept (keyed by the thread's root).
    pub accept: Option<VerifiedEvent>,
    /// A poll's answer.
    pub answer: Option<VerifiedEvent>,
}

impl Afterwords {
    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.outcome.is_none() && self.accept.is_none() && self.answer.is_none()
    }

    /// Drops what `author` did not sign.
    pub fn keep_by(&mut self, author: &curbside_protocol::PublicKey) {
        for slot in [&mut self.outcome, &mut self.accept, &mut self.answer] {
            if slot.as_ref().is_some_and(|e| e.author() != author) {
                *slot = None;
            }
        }
    }

    /// The comment the accept marks.
    pub fn accepted_comment(&self) -> Option<EventId> {
        match self.accept.as_ref()?.body() {
            Body::Accept(a) => Some(a.comment),
            _ => None,
        }
    }

    /// The poll's right option.
    pub fn answer_option(&self) -> Option<u8> {
        match self.answer.as_ref()?.body() {
            Body::PollAnswer(p) => Some(p.option),
            _ => None,
        }
    }
}

impl Events<'_> {
    /// The outcome, accept and answer in force for `target` (a case, a
    /// thread's root, a poll): one range read, and one lookup per
    /// addition found.
    pub fn afterwords(&self, target: &EventId) -> Result<Afterwords, StoreError> {
        let mut out = Afterwords::default();
        for item in self.store.tree.scan_prefix(keys::afterwords_of(target)) {
            let (key, value) = item?;
            let corrupt =
                |detail: String| StoreError::Corrupt { tree: Space::Afterwords.name(), detail };
            let (_, id) = keys::unpack_timed(&value)
                .ok_or_else(|| corrupt(format!("a value of {} bytes", value.len())))?;
            // Named but not held: its event was taken back with its target.
            let Some(event) = self.get(&id)? else { continue };
            match key.last().copied() {
                Some(k) if k == Kind::Outcome as u8 => out.outcome = Some(event),
                Some(k) if k == Kind::Accept as u8 => out.accept = Some(event),
                Some(k) if k == Kind::PollAnswer as u8 => out.answer = Some(event),
                _ => return Err(corrupt(format!("a key of {} bytes", key.len()))),
            }
        }
        Ok(out)
    }
}

impl Events<'_> {
    /// The root of the thread a held comment is in (`None` for another
    /// kind, or an event not held).
    pub fn root_of_comment(&self, id: &EventId) -> Result<Option<EventId>, StoreError> {
        let Some(bytes) = self.store.tree.get(keys::event(id))? else {
            // An edited comment: its tombstone keeps its thread.
            return Ok(self.stored_tombstone(id)?.and_then(|t| t.thread));
        };
        let (stored, _) = super::reads::record(&self.store.network, &bytes)?;
        Ok(stored.thread)
    }
}
