//! What moderation keeps on this node alone: events its operator hides
//! here (a legal hold, local policy: no network effect), and reports its
//! physicians file for their hubs' moderators (not gossiped, not public).
//! Appointments and takedowns are events, stored like any other.

use std::collections::HashSet;

use curbside_protocol::{EventId, HubId, Kind, PublicKey, TakedownReason, Timestamp};
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

    /// Files `report` (one per reporter and event: a second replaces it).
    pub fn report(&self, report: &Report) -> Result<(), StoreError> {
        self.store.tree.insert(keys::report(&report.event, &report.reporter), encode(report))?;
        self.store.flush()
    }

    /// Every report filed here, oldest first, but those of events taken
    /// back since (nothing is left to moderate).
    pub fn reports(&self) -> Result<Vec<Report>, StoreError> {
        let mut out = Vec::new();
        for item in self.store.tree.scan_prefix(Space::Reports.all()) {
            let (_, value) = item?;
            let report: Report = decode(Space::Reports, &value)?;
            if self.tombstone(&report.event)?.is_none() {
                out.push(report);
            }
        }
        out.sort_by_key(|r| r.at);
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

    /// Every appointment, revocation of one and takedown stored here, in
    /// time order: the public record of moderation.
    pub fn moderation_record(&self) -> Result<Vec<curbside_protocol::VerifiedEvent>, StoreError> {
        let appointments: HashSet<EventId> =
            read(&self.store.trust).appointments.values().flatten().map(|a| a.id).collect();
        let mut out = Vec::new();
        for item in self.timeline_kinds(Timestamp::from_millis(0)) {
            let (_, id, kind) = item?;
            let wanted = [Kind::Appointment as u8, Kind::Takedown as u8, Kind::Revocation as u8];
            if !wanted.contains(&kind) {
                continue;
            }
            let Some(event) = self.get(&id)? else { continue };
            if let curbside_protocol::Body::Revocation(r) = event.body()
                && !appointments.contains(&r.target)
            {
                continue;
            }
            out.push(event);
        }
        Ok(out)
    }
}
