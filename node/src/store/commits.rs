//! The store's commits, in order: what the search index (a cache of the
//! store, `crate::search`) reads to catch up with the store, and the count
//! it records to know how far it has.

use curbside_protocol::{EventId, Kind, Timestamp};

use super::keys::{self, Space};
use super::reads::Events;
use super::{Store, StoreError, lock};

impl Store {
    /// How many commits that stored something the store has made: a count
    /// that only grows, read after a commit to say "everything up to here".
    pub fn commits_made(&self) -> u64 {
        lock(&self.writer).next_commit
    }
}

impl Events<'_> {
    /// `(created_at, id, kind)` of every event stored by the commits from
    /// number `from` on, in commit order (then in the order each commit
    /// stored them). Events since taken back are listed too: the timeline
    /// keeps their place; their records are gone.
    pub fn stored_in_commits(
        &self,
        from: u64,
    ) -> Result<Vec<(Timestamp, EventId, Kind)>, StoreError> {
        let corrupt = || StoreError::Corrupt { tree: "timeline", detail: "short entry".into() };
        let mut out = Vec::new();
        for item in self.store.tree.range(keys::timeline(from)..Space::Timeline.key(&[&[0xff; 9]]))
        {
            let (_, packed) = item?;
            for entry in packed.chunks(keys::TIMELINE_ENTRY) {
                let (at, id) = keys::unpack_timed(entry).ok_or_else(corrupt)?;
                let byte = *entry.get(40).ok_or_else(corrupt)?;
                let kind =
                    Kind::ALL.iter().copied().find(|k| *k as u8 == byte).ok_or_else(|| {
                        StoreError::Corrupt {
                            tree: "timeline",
                            detail: format!("unknown kind {byte}"),
                        }
                    })?;
                out.push((at, id, kind));
            }
        }
        Ok(out)
    }
}
