//! Reading: events, feeds, threads, tallies, attestation status, counts.

use curbside_protocol::{
    AttestationRecord, Body, Counts, EventId, HubId, Poll, PublicKey, SignedEvent, Tally,
    Timestamp, VerifiedEvent,
};
use serde::Serialize;

use super::{META_EVENTS, Store, StoreError, StoredEvent, T, decode, keys, u64_value};

/// One event of a thread and how deep it sits (the root is depth 0).
#[derive(Debug, Clone)]
pub struct ThreadEntry {
    /// Replies to the root are depth 1, and so on.
    pub depth: usize,
    /// The event.
    pub event: VerifiedEvent,
}

/// A key's attestations and whether any is in force now.
#[derive(Debug, Clone, Serialize)]
pub struct AttestationStatus {
    /// The key.
    pub subject: PublicKey,
    /// Whether an attestation is in force at the time asked about.
    pub attested: bool,
    /// Every attestation of the key, with its revocation time if revoked.
    pub attestations: Vec<(AttestationRecord, Option<Timestamp>)>,
}

/// Sizes, for status and metrics.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StoreCounts {
    /// Events stored.
    pub events: u64,
    /// Events waiting for a dependency.
    pub pending: u64,
    /// Bytes sled uses on disk.
    pub bytes_on_disk: u64,
}

impl Store {
    fn load(&self, bytes: &[u8]) -> Result<VerifiedEvent, StoreError> {
        let stored: StoredEvent = decode(T::Events, bytes)?;
        let event = SignedEvent::decode(&stored.wire)
            .map_err(|e| StoreError::Corrupt { tree: "events", detail: e.to_string() })?;
        Ok(VerifiedEvent::from_trusted_store(event, stored.authority))
    }

    /// The event `id`, if stored.
    pub fn get(&self, id: &EventId) -> Result<Option<VerifiedEvent>, StoreError> {
        match self.tree(T::Events).get(id.as_bytes())? {
            Some(bytes) => Ok(Some(self.load(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Whether `id` is stored.
    pub fn contains(&self, id: &EventId) -> Result<bool, StoreError> {
        Ok(self.tree(T::Events).contains_key(id.as_bytes())?)
    }

    /// Up to `limit` posts, cases and polls of `hub`, newest first, strictly
    /// older than the cursor `before` (a previous page's last `(created_at, id)`).
    pub fn feed(
        &self,
        hub: &HubId,
        before: Option<(Timestamp, EventId)>,
        limit: usize,
    ) -> Result<Vec<VerifiedEvent>, StoreError> {
        let start = keys::feed_prefix(hub);
        let end = match before {
            Some((at, id)) => keys::feed(hub, at, &id),
            None => {
                let mut end = start.clone();
                if let Some(last) = end.last_mut() {
                    *last = 1;
                }
                end
            }
        };
        let mut out = Vec::with_capacity(limit.min(1000));
        for item in self.tree(T::Feed).range(start..end).rev().take(limit) {
            let (key, _) = item?;
            if let Some(id) = keys::trailing_id(&key)
                && let Some(event) = self.get(&id)?
            {
                out.push(event);
            }
        }
        Ok(out)
    }

    /// Direct replies to `parent`, oldest first.
    pub fn replies(&self, parent: &EventId) -> Result<Vec<EventId>, StoreError> {
        self.tree(T::Replies)
            .scan_prefix(parent.as_bytes())
            .map(|item| {
                let (key, _) = item?;
                keys::trailing_id(&key)
                    .ok_or(StoreError::Corrupt { tree: "replies", detail: "short key".into() })
            })
            .collect()
    }

    /// `root` and its replies, depth first in time order, at most `max`
    /// events. `None` if `root` is not stored.
    pub fn thread(
        &self,
        root: &EventId,
        max: usize,
    ) -> Result<Option<Vec<ThreadEntry>>, StoreError> {
        let Some(event) = self.get(root)? else { return Ok(None) };
        let mut out = vec![ThreadEntry { depth: 0, event }];
        let mut stack: Vec<(usize, EventId)> =
            self.replies(root)?.into_iter().rev().map(|id| (1, id)).collect();
        while let Some((depth, id)) = stack.pop() {
            if out.len() >= max {
                break;
            }
            if let Some(event) = self.get(&id)? {
                out.push(ThreadEntry { depth, event });
                stack.extend(self.replies(&id)?.into_iter().rev().map(|id| (depth + 1, id)));
            }
        }
        Ok(Some(out))
    }

    /// The poll `id` and its tally, if it is a stored poll.
    pub fn tally(&self, id: &EventId) -> Result<Option<(Poll, Tally)>, StoreError> {
        let Some(event) = self.get(id)? else { return Ok(None) };
        let Body::Poll(poll) = event.body() else { return Ok(None) };
        let counts = match self.tree(T::Tallies).get(id.as_bytes())? {
            Some(bytes) => decode::<Counts>(T::Tallies, &bytes)?,
            None => Counts::new(poll.options.len()),
        };
        Ok(Some((poll.clone(), counts.finish(self.genesis.params.min_cell_size))))
    }

    /// `subject`'s attestations, and whether one is in force at `at`.
    pub fn attestation_status(
        &self,
        subject: &PublicKey,
        at: Timestamp,
    ) -> Result<AttestationStatus, StoreError> {
        let mut attestations = Vec::new();
        for item in self.tree(T::Attestations).scan_prefix(subject.as_bytes()) {
            let (_, bytes) = item?;
            let record: AttestationRecord = decode(T::Attestations, &bytes)?;
            let revoked = self.revoked_at(&record.id)?;
            attestations.push((record, revoked));
        }
        let attested = attestations.iter().any(|(r, revoked)| {
            r.issued_at <= at && at < r.valid_until && revoked.is_none_or(|when| when > at)
        });
        Ok(AttestationStatus { subject: *subject, attested, attestations })
    }

    /// The hubs, with their titles.
    pub fn hubs(&self) -> Result<Vec<(HubId, String)>, StoreError> {
        self.tree(T::Hubs)
            .iter()
            .map(|item| {
                let (k, v) = item?;
                let id = std::str::from_utf8(&k)
                    .ok()
                    .and_then(|s| HubId::new(s).ok())
                    .ok_or(StoreError::Corrupt { tree: "hubs", detail: "bad hub id".into() })?;
                Ok((id, String::from_utf8_lossy(&v).into_owned()))
            })
            .collect()
    }

    /// Sizes.
    pub fn counts(&self) -> Result<StoreCounts, StoreError> {
        Ok(StoreCounts {
            events: u64_value(self.tree(T::Meta).get(META_EVENTS)?),
            pending: self.pending_count()?,
            bytes_on_disk: self.db.size_on_disk()?,
        })
    }

    /// Every stored event in `(created_at, id)` order, from `from` on.
    pub fn timeline(
        &self,
        from: Timestamp,
    ) -> impl Iterator<Item = Result<(Timestamp, EventId), StoreError>> + '_ {
        self.tree(T::Timeline).range(from.as_millis().to_be_bytes()..).map(|item| {
            let (key, _) = item?;
            match (keys::trailing_time(&key), keys::trailing_id(&key)) {
                (Some(t), Some(id)) => Ok((t, id)),
                _ => Err(StoreError::Corrupt { tree: "timeline", detail: "short key".into() }),
            }
        })
    }

    /// [`Store::timeline`] with each event's kind byte (`Kind as u8`),
    /// which is what sync needs to place it in a scope without reading it.
    pub fn timeline_kinds(
        &self,
        from: Timestamp,
    ) -> impl Iterator<Item = Result<(Timestamp, EventId, u8), StoreError>> + '_ {
        self.tree(T::Timeline).range(from.as_millis().to_be_bytes()..).map(|item| {
            let (key, value) = item?;
            match (keys::trailing_time(&key), keys::trailing_id(&key), value.first()) {
                (Some(t), Some(id), Some(kind)) => Ok((t, id, *kind)),
                _ => Err(StoreError::Corrupt { tree: "timeline", detail: "short entry".into() }),
            }
        })
    }
}
