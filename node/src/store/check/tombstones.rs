//! The check of what retractions leave: each tombstone decodes, names no
//! event still stored, and stands in the indexes where its event stood (in
//! its thread, as its voter's ballot that counts for nothing); the
//! timeline may keep the id and time of an event taken back.

use curbside_protocol::{EventId, Kind};

use super::{CastVote, CheckReport, Derived};
use crate::store::index::WITHDRAWN;
use crate::store::keys::Space;
use crate::store::{Store, StoreError, StoredTombstone, decode, key_part};

impl Store {
    /// Reads every tombstone into `derived`: what the indexes must hold
    /// for it.
    pub(super) fn check_tombstones(
        &self,
        derived: &mut Derived,
        report: &mut CheckReport,
    ) -> Result<(), StoreError> {
        for item in self.tree.scan_prefix(Space::Tombstones.all()) {
            let (key, bytes) = item?;
            report.index_entries += 1;
            let Ok(id) = key_part(Space::Tombstones, &key, 1) else {
                report.problem("bad_key", "tombstones key is cut short");
                continue;
            };
            let id = EventId::from_bytes(id);
            match decode::<StoredTombstone>(Space::Tombstones, &bytes) {
                Ok(stored) => derived.add_tombstone(id, stored, report),
                Err(e) => report.problem("bad_record", e.to_string()),
            }
        }
        Ok(())
    }
}

impl Derived {
    fn add_tombstone(&mut self, id: EventId, stored: StoredTombstone, report: &mut CheckReport) {
        let summary = stored.tombstone.summary;
        if self.events.contains_key(&id) {
            report.problem("retracted_but_stored", format!("{id} has a tombstone and is stored"));
            return;
        }
        self.gone.insert(id, (summary.created_at, summary.kind as u8));
        let by = stored.tombstone.retraction;
        if let Some(Some(key)) = self.edits.get(&by).cloned().filter(|_| summary.kind != Kind::Edit)
        {
            self.expect(Space::Feed, key, Some(by.as_bytes().to_vec()));
        }
        // The original's place in its author's list and mentions, with the
        // text of the edit in force.
        if summary.kind != Kind::Edit
            && let Some(entries) = self.edit_entries.get(&by).cloned()
        {
            for (space, key, value) in entries {
                self.expect(space, key, Some(value));
            }
        }
        match (summary.kind, stored.tombstone.parent) {
            (Kind::Comment, Some(parent)) => {
                self.comments.insert(id, (parent, summary.created_at));
                self.named.insert(id, stored.thread);
            }
            (Kind::Vote, Some(poll)) => {
                let cast = CastVote {
                    voter: summary.author,
                    cast_at: summary.created_at,
                    id,
                    option: WITHDRAWN,
                };
                self.votes.entry(poll).or_default().push(cast);
            }
            (Kind::Post | Kind::Case | Kind::Poll, _) => {
                self.starts.insert(id);
            }
            // An edit superseded by a later one (or taken back with its
            // original): nothing of it stands in the indexes.
            (Kind::Edit, None) => {}
            _ => report.problem("bad_record", format!("tombstone of {id} names no parent")),
        }
    }
}
