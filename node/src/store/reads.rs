//! Reading: events, feeds, tallies, attestation status, counts (threads
//! are in `thread.rs`).

use curbside_protocol::{
    AttestationRecord, Authority, Body, Counts, EventId, HubId, Poll, PublicKey, SignedEvent,
    Tally, Timestamp, VerifiedEvent,
};
use serde::Serialize;

use super::keys::{self, Space, u64_value};
use super::{Store, StoreError, StoredAuthority, StoredEvent, decode, read};

impl Store {
    /// The rules in force at `at`, from the genesis and the durable
    /// `Rules` events ([`curbside_protocol::rules::rules_at`]).
    pub fn rules_at(&self, at: Timestamp) -> curbside_protocol::rules::RuleSet {
        let trust = read(&self.trust);
        curbside_protocol::rules::rules_at(&self.genesis, trust.rules.iter().copied(), at)
    }
}

/// A key's attestations and whether any is in force now.
#[derive(Debug, Clone, Serialize)]
pub struct AttestationStatus {
    /// The key.
    pub subject: PublicKey,
    /// Whether an attestation lets the key write at the time asked about,
    /// as validation decides it.
    pub attested: bool,
    /// Every attestation of the key.
    pub attestations: Vec<HeldAttestation>,
}

/// One attestation a key holds, and whether it counts.
#[derive(Debug, Clone, Serialize)]
pub struct HeldAttestation {
    /// The attestation.
    pub record: AttestationRecord,
    /// When it was revoked, if it was (perhaps from a time still to come).
    pub revoked_at: Option<Timestamp>,
    /// Why validation would not count it at the time asked about, if it
    /// would not ([`curbside_protocol::attestation_standing`]): lapsed or
    /// not yet valid, revoked, issued after its verifier forked its log,
    /// or missing from that log past the merge window.
    pub not_counted: Option<NotCounted>,
}

/// Why an attestation does not count: the rejection's stable code and its
/// message.
#[derive(Debug, Clone, Serialize)]
pub struct NotCounted {
    /// The stable code (`no_valid_attestation`, `attestation_revoked`,
    /// `verifier_forked`, `attestation_not_logged`, `missing_dependency`).
    pub code: &'static str,
    /// What it means.
    pub reason: String,
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

/// What one collection holds: its keys and their bytes, as sled is given
/// them (before sled's own overhead), for the disk breakdown of the node
/// benchmark and the operator.
#[derive(Debug, Clone, Serialize)]
pub struct SpaceUsage {
    /// The collection's name (the table in `store/mod.rs`).
    pub name: &'static str,
    /// Keys held.
    pub keys: u64,
    /// Bytes of those keys (the collection byte included).
    pub key_bytes: u64,
    /// Bytes of their values, as stored.
    pub value_bytes: u64,
}

/// [`Store::usage`]: every collection's logical bytes, and what the
/// events' records hold of their wire forms.
#[derive(Debug, Clone, Serialize)]
pub struct StoreUsage {
    /// Each collection that holds a key, in key order.
    pub spaces: Vec<SpaceUsage>,
    /// Bytes of the stored events' wire forms (what they cost to send).
    pub wire_bytes: u64,
}

/// An event's wire bytes, and when it was first received (`None`: stored
/// before receipts were kept).
pub type WireAndReceipt = (Vec<u8>, Option<Timestamp>);

/// The events and their indexes ([`Store::events`]): what is stored,
/// read by id, by hub, by poll, by subject, in time order.
#[derive(Debug, Clone, Copy)]
pub struct Events<'s> {
    pub(super) store: &'s Store,
}

impl Store {
    /// The events and their indexes.
    pub fn events(&self) -> Events<'_> {
        Events { store: self }
    }

    /// The event `id` from its `events` record (or a feed entry's copy).
    pub(super) fn load(&self, id: &EventId, bytes: &[u8]) -> Result<VerifiedEvent, StoreError> {
        let (stored, received_at) = record(&self.network, bytes)?;
        self.load_record(id, stored, received_at)
    }

    /// The event `id` from its decoded record.
    fn load_record(
        &self,
        id: &EventId,
        stored: StoredEvent,
        received_at: Option<Timestamp>,
    ) -> Result<VerifiedEvent, StoreError> {
        // Written only after `decode` accepted the bytes and named them `id`.
        let event = SignedEvent::from_trusted_store(&stored.wire, *id)
            .map_err(|e| StoreError::Corrupt { tree: "events", detail: format!("{id}: {e}") })?;
        let authority = match stored.authority {
            StoredAuthority::Root => Authority::Root,
            StoredAuthority::Chartered { charter } => Authority::Chartered { charter },
            StoredAuthority::Issuer => Authority::Issuer,
            StoredAuthority::Physician { attestation } => {
                Authority::Physician(self.attestation(event.author(), &attestation)?)
            }
        };
        Ok(VerifiedEvent::validated_before_storing(event, authority, received_at))
    }

    /// The attestation `id` of `subject`: from memory if durable, else from
    /// sled (an event read between its commit and its flush).
    fn attestation(
        &self,
        subject: &PublicKey,
        id: &EventId,
    ) -> Result<AttestationRecord, StoreError> {
        let cached = read(&self.trust)
            .attestations
            .get(subject)
            .and_then(|list| list.iter().find(|r| r.id == *id).cloned());
        if let Some(record) = cached {
            return Ok(record);
        }
        match self.tree.get(keys::attestation(subject, id))? {
            Some(bytes) => decode(Space::Attestations, &bytes),
            None => Err(StoreError::Corrupt {
                tree: "events",
                detail: format!("an event names attestation {id}, which is not stored"),
            }),
        }
    }

    /// The event `id`, if stored, and the root of its thread: itself, unless
    /// it is a comment.
    pub(super) fn get_with_root(
        &self,
        id: &EventId,
    ) -> Result<Option<(VerifiedEvent, EventId)>, StoreError> {
        let Some(bytes) = self.tree.get(keys::event(id))? else {
            return Ok(None);
        };
        let (stored, received_at) = record(&self.network, &bytes)?;
        let root = stored.thread.unwrap_or(*id);
        Ok(Some((self.load_record(id, stored, received_at)?, root)))
    }

    /// The earliest time `target` is revoked from, if it is (on disk,
    /// durable or not).
    pub(crate) fn revoked_at(&self, target: &EventId) -> Result<Option<Timestamp>, StoreError> {
        Ok(self
            .tree
            .get(keys::revocation(target))?
            .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map(|b| Timestamp::from_millis(u64::from_be_bytes(b))))
    }

    /// Sizes.
    pub fn counts(&self) -> Result<StoreCounts, StoreError> {
        Ok(StoreCounts {
            events: u64_value(self.tree.get(keys::event_count())?),
            pending: self.pending().count()?,
            bytes_on_disk: self.db.size_on_disk()?,
        })
    }
}

impl Store {
    /// Every collection's keys and bytes, by a scan of the whole store
    /// (seconds at a million events: for benchmarks and diagnosis, not a
    /// request's path).
    pub fn usage(&self) -> Result<StoreUsage, StoreError> {
        let mut spaces: Vec<SpaceUsage> = Vec::new();
        let mut wire_bytes = 0u64;
        for item in self.tree.iter() {
            let (key, value) = item?;
            let Some(&byte) = key.first() else { continue };
            let name = keys::space_name(byte);
            if spaces.last().is_none_or(|s| s.name != name) {
                spaces.push(SpaceUsage { name, keys: 0, key_bytes: 0, value_bytes: 0 });
            }
            let space = spaces.last_mut().ok_or(StoreError::Internal("no space"))?;
            space.keys += 1;
            space.key_bytes += key.len() as u64;
            space.value_bytes += value.len() as u64;
            if byte == Space::Events as u8 {
                wire_bytes += record(&self.network, &value)?.0.wire.len() as u64;
            }
        }
        Ok(StoreUsage { spaces, wire_bytes })
    }
}

impl Events<'_> {
    /// The event `id`, if stored.
    pub fn get(&self, id: &EventId) -> Result<Option<VerifiedEvent>, StoreError> {
        match self.store.tree.get(keys::event(id))? {
            Some(bytes) => Ok(Some(self.store.load(id, &bytes)?)),
            None => Ok(None),
        }
    }

    /// The hub of the thread that event `id` is in (a post's, case's or
    /// poll's own; a comment's, its thread root's), if it is stored: the
    /// gossip topic of a reply to it or a vote on it. At most two reads,
    /// since each comment's record names its thread root.
    pub fn hub_of(&self, id: &EventId) -> Result<Option<curbside_protocol::HubId>, StoreError> {
        let Some((event, root)) = self.store.get_with_root(id)? else {
            // An edited post, case or comment: where its edit places it.
            return match self.stored_tombstone(id)?.and_then(|t| t.thread) {
                Some(root) if root != *id => self.root_hub(&root),
                _ => self.edited_hub(id),
            };
        };
        if let Some(hub) = event.signed().body().hub() {
            return Ok(Some(hub.clone()));
        }
        if root == *id {
            return Ok(None);
        }
        self.root_hub(&root)
    }

    /// The hub of the thread root `root`: its own, or its edit in force's.
    fn root_hub(&self, root: &EventId) -> Result<Option<curbside_protocol::HubId>, StoreError> {
        match self.get(root)? {
            Some(r) => Ok(r.signed().body().hub().cloned()),
            None => self.edited_hub(root),
        }
    }

    /// The hub the edit in force of the post or case `id` names.
    fn edited_hub(&self, id: &EventId) -> Result<Option<curbside_protocol::HubId>, StoreError> {
        Ok(self.edit_in_force(id)?.and_then(|edit| match edit.body() {
            Body::Edit(e) => e.content.hub().cloned(),
            _ => None,
        }))
    }

    /// Event `id` and the hub of its thread (as [`Events::hub_of`] finds
    /// it), if it is stored: what the search indexer and each search hit
    /// need, in one read of the event (and one of its thread root for a
    /// comment), where `get` then `hub_of` would read and decode a comment
    /// twice. `None` for an edited original, whose record gives way to its
    /// edit (`edit_in_force`).
    pub fn get_with_hub(
        &self,
        id: &EventId,
    ) -> Result<Option<(VerifiedEvent, Option<curbside_protocol::HubId>)>, StoreError> {
        let Some((event, root)) = self.store.get_with_root(id)? else { return Ok(None) };
        let hub = match event.signed().body().hub() {
            Some(hub) => Some(hub.clone()),
            None if root == *id => None,
            None => self.root_hub(&root)?,
        };
        Ok(Some((event, hub)))
    }

    /// The wire bytes of a stored event, as a peer fetching it wants them.
    pub fn get_wire(&self, id: &EventId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get(id)?.map(|e| e.signed().to_bytes()))
    }

    /// The wire bytes of event `id` and when it was first received (`None`
    /// for an event stored before receipts were kept), if stored: what a
    /// peer is served as history. Read from the record alone.
    pub fn get_received(&self, id: &EventId) -> Result<Option<WireAndReceipt>, StoreError> {
        let Some(bytes) = self.store.tree.get(keys::event(id))? else {
            return Ok(None);
        };
        let (stored, received_at) = record(&self.store.network, &bytes)?;
        Ok(Some((stored.wire, received_at)))
    }

    /// Whether `id` is stored.
    pub fn contains(&self, id: &EventId) -> Result<bool, StoreError> {
        self.store.is_stored(&read(&self.store.filters), id)
    }

    /// For each of `ids`, whether it is absent from the store: the id filter
    /// answers for most fresh events without a sled read.
    pub fn absent(&self, ids: &[EventId]) -> Result<Vec<bool>, StoreError> {
        let filters = read(&self.store.filters);
        ids.iter().map(|id| self.store.is_stored(&filters, id).map(|stored| !stored)).collect()
    }

    /// Up to `limit` posts, cases and polls of `hub`, newest first, strictly
    /// older than the cursor `before` (a previous page's last `(created_at, id)`).
    ///
    /// One range read: each feed entry holds a copy of its event's record.
    /// Looking each event up under `events` instead was half the cost of a
    /// page at a million events (a sled lookup is a walk from the root).
    /// (An edited post or case is in its place as the edit in force, an
    /// `Edit` event naming it: readers show it as the original.)
    pub fn feed(
        &self,
        hub: &HubId,
        before: Option<(Timestamp, EventId)>,
        limit: usize,
    ) -> Result<Vec<VerifiedEvent>, StoreError> {
        let (start, past) = keys::feed_range(hub);
        let end = match before {
            Some((at, id)) => keys::feed(hub, at, &id),
            None => past,
        };
        let mut out = Vec::with_capacity(limit.min(1000));
        for item in self.store.tree.range(start..end).rev().take(limit) {
            let (key, record) = item?;
            let id = keys::trailing_id(&key)
                .ok_or(StoreError::Corrupt { tree: "feed", detail: "short key".into() })?;
            if record.len() == 32 {
                // An edited post or case: the edit in force, in its
                // original's place (`index::edited_feed_key`).
                let edit = EventId::from_bytes(record.as_ref().try_into().map_err(|_| {
                    StoreError::Corrupt { tree: "feed", detail: "short edit id".into() }
                })?);
                if let Some(event) = self.get(&edit)? {
                    out.push(event);
                }
                continue;
            }
            out.push(self.store.load(&id, &record)?);
        }
        Ok(out)
    }

    /// The poll `id` and its tally, if it is a stored poll.
    pub fn tally(&self, id: &EventId) -> Result<Option<(Poll, Tally)>, StoreError> {
        let Some(event) = self.get(id)? else { return Ok(None) };
        let Body::Poll(poll) = event.body() else { return Ok(None) };
        let counts = match self.store.tree.get(keys::tally(id))? {
            Some(bytes) => decode::<Counts>(Space::Tallies, &bytes)?,
            None => Counts::new(poll.options.len()),
        };
        Ok(Some((poll.clone(), counts.finish(self.store.genesis.params.min_cell_size))))
    }

    /// `subject`'s attestations, and whether one is in force at `at`.
    pub fn attestation_status(
        &self,
        subject: &PublicKey,
        at: Timestamp,
    ) -> Result<AttestationStatus, StoreError> {
        let view = super::StoreView::new(self.store);
        let mut attestations = Vec::new();
        for item in self.store.tree.scan_prefix(keys::attestations_of(subject)) {
            let (_, bytes) = item?;
            let record: AttestationRecord = decode(Space::Attestations, &bytes)?;
            let revoked_at = self.store.revoked_at(&record.id)?;
            let standing = curbside_protocol::attestation_standing(&view, subject, &record, at, at);
            if let Some(e) = view.take_error() {
                return Err(e);
            }
            let not_counted =
                standing.err().map(|e| NotCounted { code: e.code(), reason: e.to_string() });
            attestations.push(HeldAttestation { record, revoked_at, not_counted });
        }
        let attested = attestations.iter().any(|a| a.not_counted.is_none());
        Ok(AttestationStatus { subject: *subject, attested, attestations })
    }

    /// The hubs, with their titles.
    pub fn hubs(&self) -> Result<Vec<(HubId, String)>, StoreError> {
        self.store
            .tree
            .scan_prefix(Space::Hubs.all())
            .map(|item| {
                let (k, v) = item?;
                Ok((super::hub_of_key(&k)?, String::from_utf8_lossy(&v).into_owned()))
            })
            .collect()
    }

    /// Every stored event's `(created_at, id, kind byte)` from `from` on, in
    /// `(created_at, id)` order (read whole and sorted: the timeline is kept
    /// one record per commit).
    fn timeline_entries(
        &self,
        from: Timestamp,
    ) -> Result<Vec<(Timestamp, EventId, u8)>, StoreError> {
        let mut out = Vec::new();
        for item in self.store.tree.scan_prefix(Space::Timeline.all()) {
            let (_, packed) = item?;
            for entry in packed.chunks(keys::TIMELINE_ENTRY) {
                let ((at, id), kind) =
                    keys::unpack_timed(entry).zip(entry.get(40).copied()).ok_or(
                        StoreError::Corrupt { tree: "timeline", detail: "short entry".into() },
                    )?;
                if at >= from {
                    out.push((at, id, kind));
                }
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Every stored event in `(created_at, id)` order, from `from` on.
    pub fn timeline(
        &self,
        from: Timestamp,
    ) -> impl Iterator<Item = Result<(Timestamp, EventId), StoreError>> + '_ {
        self.timeline_kinds(from).map(|item| item.map(|(at, id, _)| (at, id)))
    }

    /// [`Events::timeline`] with each event's kind byte (`Kind as u8`),
    /// which is what sync needs to place it in a scope without reading it.
    pub fn timeline_kinds(
        &self,
        from: Timestamp,
    ) -> impl Iterator<Item = Result<(Timestamp, EventId, u8), StoreError>> + '_ {
        let items: Vec<Result<_, StoreError>> = match self.timeline_entries(from) {
            Ok(entries) => entries.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        };
        items.into_iter()
    }

    /// The ids of every charter held.
    pub fn charter_ids(&self) -> Result<Vec<EventId>, StoreError> {
        self.store
            .tree
            .scan_prefix(Space::Charters.all())
            .map(|item| {
                let (k, _) = item?;
                keys::trailing_id(&k)
                    .ok_or(StoreError::Corrupt { tree: "charters", detail: "short key".into() })
            })
            .collect()
    }

    /// The ids of the revocations of `target`.
    pub fn revocations_of(&self, target: &EventId) -> Result<Vec<EventId>, StoreError> {
        self.store
            .tree
            .scan_prefix(keys::revoked_by_prefix(target))
            .map(|item| {
                let (k, _) = item?;
                keys::trailing_id(&k)
                    .ok_or(StoreError::Corrupt { tree: "revoked_by", detail: "short key".into() })
            })
            .collect()
    }

    /// Whether `hub` exists.
    pub fn hub_exists(&self, hub: &HubId) -> Result<bool, StoreError> {
        Ok(self.store.tree.contains_key(keys::hub(hub))?)
    }

    /// When the newest post, case or poll in `hub` was made, if it holds
    /// any: the last key of its feed range, one read however much it holds.
    pub fn latest_in(&self, hub: &HubId) -> Result<Option<Timestamp>, StoreError> {
        let (start, past) = keys::feed_range(hub);
        match self.store.tree.range(start..past).next_back() {
            Some(item) => Ok(keys::trailing_time(&item?.0)),
            None => Ok(None),
        }
    }
}

/// Decodes an `events` record (or a feed entry's copy of one), and when
/// the event was received.
pub(super) fn record(
    network: &curbside_protocol::NetworkId,
    bytes: &[u8],
) -> Result<(StoredEvent, Option<Timestamp>), StoreError> {
    super::split_record(network, bytes)
}
