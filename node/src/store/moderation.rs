//! What moderation keeps on this node alone: events its operator hides
//! here (a legal hold, local policy: no network effect), and reports its
//! physicians file for their hubs' moderators (not gossiped, not public).
//! Appointments and takedowns are events, stored like any other.

use std::collections::HashSet;

use curbside_protocol::{
    Body, EventId, HubId, PublicKey, TakedownReason, Timestamp, VerifiedEvent,
};
use serde::{Deserialize, Serialize};

use super::keys::{self, Space};
use super::reads::Events;
use super::{StoreError, decode, encode, read};

/// A physician's report of an event to its hub's moderators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The event reported.
    pub event: EventId,
    /// Who reported it.
    pub reporter: PublicKey,
    /// The hub of its thread, if this node could tell.
    pub hub: Option<HubId>,
    /// Why.
    pub reason: TakedownReason,
    /// More, for the moderator.
    pub note: String,
    /// When.
    pub at: Timestamp,
}

/// A day, in milliseconds.
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// How many reports this node keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportLimits {
    /// Reports one physician may file here in a day.
    pub per_day: usize,
    /// Reports of one physician waiting for moderators here.
    pub open_per_reporter: usize,
    /// Reports waiting for moderators here, from everyone.
    pub open: usize,
}

impl Default for ReportLimits {
    fn default() -> Self {
        Self { per_day: 20, open_per_reporter: 100, open: 10_000 }
    }
}

/// Why a report was not filed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The reporter's budget is spent.
    #[error("{0}")]
    Budget(String),
    /// The node holds as many open reports as it keeps.
    #[error("this node holds {0} reports waiting for moderators, as many as it keeps")]
    Full(usize),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sled::Error> for ReportError {
    fn from(e: sled::Error) -> Self {
        ReportError::Store(e.into())
    }
}

/// The ids hidden on this node (loaded at open).
pub(super) fn load_hidden(tree: &sled::Tree) -> Result<HashSet<EventId>, StoreError> {
    let mut hidden = HashSet::new();
    for item in tree.scan_prefix(Space::Hidden.all()) {
        let (key, _) = item?;
        hidden.insert(EventId::from_bytes(super::key_part(Space::Hidden, &key, 1)?));
    }
    Ok(hidden)
}

impl Events<'_> {
    /// Hides `id` on this node (it is still stored, synced and relayed:
    /// only this node's readers stop seeing it), with the operator's note.
    pub fn hide(&self, id: &EventId, note: &str) -> Result<(), StoreError> {
        self.store.tree.insert(keys::hidden(id), note.as_bytes())?;
        self.store.flush()?;
        self.hidden_set().insert(*id);
        Ok(())
    }

    /// Shows `id` again; whether it was hidden.
    pub fn unhide(&self, id: &EventId) -> Result<bool, StoreError> {
        let was = self.store.tree.remove(keys::hidden(id))?.is_some();
        self.store.flush()?;
        self.hidden_set().remove(id);
        Ok(was)
    }

    /// The hidden ids, to change (a lock poisoned by a panic is taken as it is).
    fn hidden_set(&self) -> std::sync::RwLockWriteGuard<'_, HashSet<EventId>> {
        self.store.hidden.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether `id` is hidden on this node.
    pub fn is_hidden(&self, id: &EventId) -> bool {
        read(&self.store.hidden).contains(id)
    }

    /// Every id hidden here, with its note.
    pub fn hidden(&self) -> Result<Vec<(EventId, String)>, StoreError> {
        let mut out = Vec::new();
        for item in self.store.tree.scan_prefix(Space::Hidden.all()) {
            let (key, note) = item?;
            let id = EventId::from_bytes(super::key_part(Space::Hidden, &key, 1)?);
            out.push((id, String::from_utf8_lossy(&note).into_owned()));
        }
        Ok(out)
    }

    /// Files `report` (one per reporter and event: a second replaces it),
    /// within `limits`: a reporter's reports of the last day, their open
    /// reports and the node's open reports are each bounded, so a
    /// physician's key (or a few) cannot fill the disk or bury a hub's
    /// queue. Reports of events taken back since are dropped on the way:
    /// nothing is left to moderate.
    pub fn report(&self, report: &Report, limits: &ReportLimits) -> Result<(), ReportError> {
        let day_ago = Timestamp::from_millis(report.at.as_millis().saturating_sub(DAY_MS));
        let (mut open, mut theirs, mut today) = (0usize, 0usize, 0usize);
        let mut batch = sled::Batch::default();
        let mut changed = false;
        let key = keys::report(&report.event, &report.reporter);
        for item in self.store.tree.scan_prefix(Space::Reports.all()) {
            let (k, value) = item?;
            let filed: Report = decode(Space::Reports, &value)?;
            if self.tombstone(&filed.event)?.is_some() {
                batch.remove(k);
                changed = true;
                continue;
            }
            if k == key {
                // Replaced below: a second report of the same event by the
                // same physician counts once.
                continue;
            }
            open += 1;
            if filed.reporter == report.reporter {
                theirs += 1;
                if filed.at > day_ago {
                    today += 1;
                }
            }
        }
        let refusal = if today >= limits.per_day {
            Some(ReportError::Budget(format!(
                "{} filed {today} reports in the last day, as many as one physician may",
                report.reporter
            )))
        } else if theirs >= limits.open_per_reporter {
            Some(ReportError::Budget(format!(
                "{} has {theirs} reports waiting for moderators here, as many as one physician may",
                report.reporter
            )))
        } else if open >= limits.open {
            Some(ReportError::Full(open))
        } else {
            batch.insert(key, encode(report));
            changed = true;
            None
        };
        if changed {
            let quiet = self.store.quiet();
            self.store.tree.apply_batch(batch)?;
            drop(quiet);
            self.store.flush()?;
        }
        refusal.map_or(Ok(()), Err)
    }

    /// Every report filed here, oldest first (then by event and reporter),
    /// but those of events taken back since (nothing is left to moderate).
    /// Bounded by [`ReportLimits::open`].
    pub fn reports(&self) -> Result<Vec<Report>, StoreError> {
        let mut out = Vec::new();
        for item in self.store.tree.scan_prefix(Space::Reports.all()) {
            let (_, value) = item?;
            let report: Report = decode(Space::Reports, &value)?;
            if self.tombstone(&report.event)?.is_none() {
                out.push(report);
            }
        }
        out.sort_by_key(|r| (r.at, r.event, r.reporter));
        Ok(out)
    }

    /// The hubs `key` moderates at `at` (`None`: every hub), by the
    /// appointments durable here.
    pub fn moderated_hubs(&self, key: &PublicKey, at: Timestamp) -> Vec<Option<HubId>> {
        let trust = read(&self.store.trust);
        let Some(list) = trust.appointments.get(key) else { return Vec::new() };
        list.iter()
            .filter(|a| a.issued_at <= at && at < a.valid_until)
            .filter(|a| trust.revocations.get(&a.id).is_none_or(|r| *r > at))
            .map(|a| a.hub.clone())
            .collect()
    }

    /// A page of the public record of moderation, oldest first: up to
    /// `limit` appointments, ends of appointments (revocations whose target
    /// is one) and takedowns stored here, after the `(created_at, id)`
    /// cursor `after`, and the cursor of the next page if there may be one.
    /// Revocations of other things (attestations, charters) share the
    /// index and are skipped: they are signed by roots and verifiers, so
    /// their number stays small.
    pub fn moderation_page(
        &self,
        after: Option<(Timestamp, EventId)>,
        limit: usize,
    ) -> Result<ModerationPage, StoreError> {
        let appointments: HashSet<EventId> =
            read(&self.store.trust).appointments.values().flatten().map(|a| a.id).collect();
        let start = match after {
            // Just past the cursor's key: keys are fixed-width.
            Some((at, id)) => {
                let mut key = keys::moderation(at, &id);
                key.push(0);
                key
            }
            None => Space::Moderation.all().to_vec(),
        };
        let end = [Space::Moderation as u8 + 1];
        let mut events = Vec::new();
        let mut next = None;
        for item in self.store.tree.range(start..end.to_vec()) {
            let (key, _) = item?;
            let (_, id) = keys::unpack_timed(key.get(1..).unwrap_or_default())
                .ok_or(StoreError::Corrupt { tree: "moderation", detail: "short key".into() })?;
            if events.len() == limit {
                next = events.last().map(|e: &VerifiedEvent| (e.created_at(), e.id()));
                break;
            }
            let Some(event) = self.get(&id)? else { continue };
            if let Body::Revocation(r) = event.body()
                && !appointments.contains(&r.target)
            {
                continue;
            }
            events.push(event);
        }
        Ok(ModerationPage { events, next })
    }
}

/// A page of the moderation record.
#[derive(Debug)]
pub struct ModerationPage {
    /// Appointments, their ends and takedowns, oldest first.
    pub events: Vec<VerifiedEvent>,
    /// Where the next page starts (`None`: this was the last).
    pub next: Option<(Timestamp, EventId)>,
}
