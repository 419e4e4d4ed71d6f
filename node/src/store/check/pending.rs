//! The check of the pending set: its counter, its records and their
//! indexes by dependency and by author.

use std::collections::HashMap;

use super::{CheckReport, hex};
use crate::store::keys::{self, Space, u64_value};
use crate::store::pending::PendingRecord;
use crate::store::{Store, StoreError, decode};

impl Store {
    /// The pending counter and the dependency index agree with the records.
    pub(super) fn check_pending(&self, report: &mut CheckReport) -> Result<(), StoreError> {
        report.pending = self.check_pending_records(report)?;
        let counted = u64_value(self.tree.get(keys::pending_count())?);
        if counted != report.pending {
            report.problem(
                "count_mismatch",
                format!(
                    "the pending counter says {counted}, but {} events are held",
                    report.pending
                ),
            );
        }
        Ok(())
    }

    /// For [`Store::check`]: the number of pending records; each must
    /// decode and be indexed under its dependency and its author, and each
    /// index entry must name a record held under it.
    fn check_pending_records(&self, report: &mut CheckReport) -> Result<u64, StoreError> {
        let mut held = HashMap::new();
        for item in self.tree.scan_prefix(Space::Pending.all()) {
            let (key, bytes) = item?;
            let id = key.get(1..).unwrap_or_default().to_vec();
            match decode::<PendingRecord>(Space::Pending, &bytes) {
                Ok(record) => {
                    let author = record.author_key(&id);
                    held.insert(id, (record.dep().to_vec(), false, author, false));
                }
                Err(e) => report.problem("bad_record", e.to_string()),
            }
        }
        for item in self.tree.scan_prefix(Space::PendingDeps.all()) {
            let (key, _) = item?;
            report.index_entries += 1;
            let rest = key.get(1..).unwrap_or_default();
            let (dep, id) = rest.split_at(rest.len().saturating_sub(32));
            match held.get_mut(id) {
                Some((want, seen, _, _)) if want.as_slice() == dep => *seen = true,
                _ => report.problem(
                    "dangling_index_entry",
                    format!("pending_deps: {} waits for nothing held", hex(id)),
                ),
            }
        }
        for item in self.tree.scan_prefix(Space::PendingAuthors.all()) {
            let (key, _) = item?;
            report.index_entries += 1;
            let id = key.get(33..).unwrap_or_default();
            match held.get_mut(id) {
                Some((_, _, Some(want), seen)) if want.as_slice() == key.as_ref() => *seen = true,
                _ => report.problem(
                    "dangling_index_entry",
                    format!("pending_authors: {} is not held by its author", hex(id)),
                ),
            }
        }
        for (id, (_, by_dep, author, by_author)) in &held {
            if !by_dep || (author.is_some() && !by_author) {
                report.problem(
                    "missing_index_entry",
                    format!("pending: held event {} is not indexed", hex(id)),
                );
            }
        }
        Ok(held.len() as u64)
    }
}
