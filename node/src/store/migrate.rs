//! Bringing a store written by an earlier layout up to this one, at open.
//!
//! Each step rewrites only what its layout changed, in one atomic sled
//! batch with the new schema version, so a crash leaves the store wholly
//! at one version or the other.
//!
//! **3 → 4** (receipts). Events keep their records: a record that ends
//! without a receipt reads as an event stored before receipts were kept
//! (`received_at` = `None`), which is judged, served and checked by its own
//! time alone, as it was accepted. Attestation records gain `received_at`
//! (`None`, for the same reason). Pending records split the one time they
//! kept into when the event was held (its age counts from there) and when
//! it was received (what it is judged at once released); both were that
//! one time. They are indexed by author (new), and their holder, which
//! schema 3 did not record, is `Unrecorded`: they count against the whole
//! pending set, not against anyone's share.
//!
//! **4 → 5** (the moderation record). Appointments, takedowns and
//! revocations gain an index by time ([`Space::Moderation`]), so the public
//! record of moderation is read a page at a time instead of by scanning
//! every event: the step builds it from the timeline.
//!
//! **5 → 6** (what a physician reads about themselves). Events keep their
//! records; what each physician's post, case, comment, poll or vote adds
//! to `authored` (by author) and `mentions` (by `@handle` in its text) is
//! built from the events stored, with [`authored::entries`], the function
//! the commit uses, so a migrated store holds what a new one would (the
//! integrity check expects exactly that). Events taken back have no
//! record, so they are not indexed.
//!
//! **6 → 7** (smaller event records, issue 18). Every `events` record and
//! every feed entry's copy of one is rewritten without the summary and
//! without the network id in its wire form ([`super::event_record`]);
//! nothing else changes. The wire forms, and so the ids, are the same
//! bytes once read back.

use curbside_protocol::{
    AttestationRecord, EventId, Handle, Jurisdiction, Kind, NetworkId, PublicKey, Specialty,
    Timestamp,
};
use serde::{Deserialize, Serialize};

use super::authored;
use super::keys::{self, Space};
use super::pending::{PendingRecord, PendingRecordV3};
use super::{StoreError, decode, encode};

/// An attestation record as schema 3 wrote it.
#[derive(Serialize, Deserialize)]
pub(super) struct AttestationRecordV3 {
    id: EventId,
    issuer: PublicKey,
    handle: Handle,
    issued_at: Timestamp,
    valid_until: Timestamp,
    specialties: Vec<Specialty>,
    jurisdiction: Jurisdiction,
}

/// Rewrites a schema-3 store as schema 4. Not yet durable: the caller
/// flushes.
pub(super) fn from_3(tree: &sled::Tree) -> Result<(), StoreError> {
    let mut batch = sled::Batch::default();
    let mut attestations = 0usize;
    for item in tree.scan_prefix(Space::Attestations.all()) {
        let (key, value) = item?;
        let old: AttestationRecordV3 = decode(Space::Attestations, &value)?;
        let record = AttestationRecord {
            id: old.id,
            issuer: old.issuer,
            handle: old.handle,
            issued_at: old.issued_at,
            valid_until: old.valid_until,
            specialties: old.specialties,
            jurisdiction: old.jurisdiction,
            received_at: None,
        };
        batch.insert(key, encode(&record));
        attestations += 1;
    }
    let mut pending = 0usize;
    for item in tree.scan_prefix(Space::Pending.all()) {
        let (key, value) = item?;
        let old: PendingRecordV3 = decode(Space::Pending, &value)?;
        let record = PendingRecord::from(old);
        if let Some(by_author) = record.author_key(key.get(1..).unwrap_or_default()) {
            batch.insert(by_author, &[]);
        }
        batch.insert(key, encode(&record));
        pending += 1;
    }
    batch.insert(keys::schema(), &4u32.to_be_bytes());
    tree.apply_batch(batch)?;
    tracing::info!(attestations, pending, "store migrated from schema 3 to 4 (receipts)");
    Ok(())
}

/// Rewrites a schema-4 store as schema 5. Not yet durable: the caller
/// flushes.
pub(super) fn from_4(tree: &sled::Tree) -> Result<(), StoreError> {
    let wanted = [Kind::Appointment as u8, Kind::Takedown as u8, Kind::Revocation as u8];
    let mut batch = sled::Batch::default();
    let mut indexed = 0usize;
    for item in tree.scan_prefix(Space::Timeline.all()) {
        let (_, packed) = item?;
        for entry in packed.chunks(keys::TIMELINE_ENTRY) {
            let ((at, id), kind) = keys::unpack_timed(entry)
                .zip(entry.get(40).copied())
                .ok_or(StoreError::Corrupt { tree: "timeline", detail: "short entry".into() })?;
            // A timeline entry outlives an event taken back; the record
            // does not, and only what is stored is indexed.
            if wanted.contains(&kind) && tree.contains_key(keys::event(&id))? {
                batch.insert(keys::moderation(at, &id), &[kind]);
                indexed += 1;
            }
        }
    }
    batch.insert(keys::schema(), &5u32.to_be_bytes());
    tree.apply_batch(batch)?;
    tracing::info!(indexed, "store migrated from schema 4 to 5 (the moderation record's index)");
    Ok(())
}

/// Rewrites a schema-5 store as schema 6: the `authored` and `mentions`
/// entries of every stored event, and the version, in one batch. Not yet
/// durable: the caller flushes.
pub(super) fn from_5(tree: &sled::Tree) -> Result<(), StoreError> {
    let mut batch = sled::Batch::default();
    let (mut events, mut entries) = (0usize, 0usize);
    for item in tree.scan_prefix(Space::Events.all()) {
        let (key, value) = item?;
        let id = EventId::from_bytes(super::key_part(Space::Events, &key, 1)?);
        let (stored, _) = super::split_record_v6(&value)?;
        let event = curbside_protocol::SignedEvent::from_trusted_store(&stored.wire, id)
            .map_err(|e| StoreError::Corrupt { tree: "events", detail: format!("{id}: {e}") })?;
        for (_, key, value) in authored::entries(&event) {
            batch.insert(key, value);
            entries += 1;
        }
        events += 1;
    }
    batch.insert(keys::schema(), &6u32.to_be_bytes());
    tree.apply_batch(batch)?;
    tracing::info!(events, entries, "store migrated from schema 5 to 6 (authors and mentions)");
    Ok(())
}

/// Rewrites a schema-6 store as schema 7: every event record and feed
/// entry in the compact form, and the version, in one batch. Not yet
/// durable: the caller flushes.
pub(super) fn from_6(tree: &sled::Tree, network: &NetworkId) -> Result<(), StoreError> {
    let mut batch = sled::Batch::default();
    let (mut before, mut after) = (0usize, 0usize);
    for space in [Space::Events, Space::Feed] {
        for item in tree.scan_prefix(space.all()) {
            let (key, value) = item?;
            let (stored, received_at) = super::split_record_v6(&value)?;
            let record = super::event_record(network, &stored, received_at)?;
            before += value.len();
            after += record.len();
            batch.insert(key, record);
        }
    }
    batch.insert(keys::schema(), &7u32.to_be_bytes());
    tree.apply_batch(batch)?;
    tracing::info!(before, after, "store migrated from schema 6 to 7 (smaller event records)");
    Ok(())
}

#[cfg(test)]
impl From<AttestationRecord> for AttestationRecordV3 {
    fn from(r: AttestationRecord) -> Self {
        Self {
            id: r.id,
            issuer: r.issuer,
            handle: r.handle,
            issued_at: r.issued_at,
            valid_until: r.valid_until,
            specialties: r.specialties,
            jurisdiction: r.jurisdiction,
        }
    }
}
