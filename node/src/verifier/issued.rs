//! What this node issued as a verifier, as its operators manage it: every
//! attestation with its licence (from the private openings this node keeps,
//! one per attestation it issued), who holds it, and whether it is in force.
//!
//! The openings are this node's own ledger: no other node holds them, so
//! no other node could answer "which keys hold licence 7654321?". They are
//! scanned in id order; a hospital issues thousands, not millions, and only
//! its admin may ask.

use curbside_protocol::{
    Body, Digest, EventId, Handle, Jurisdiction, LicenceOpening, PublicKey, Specialty, Timestamp,
};
use serde::Serialize;

use crate::store::{Store, StoreError};

/// Openings read by one page at most, matching or not: a page that meets
/// few matches still answers quickly, with a cursor to go on from.
pub const SCAN_PER_PAGE: usize = 5_000;

/// Whether an issued attestation is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Neither revoked nor lapsed.
    Active,
    /// Revoked (by this node).
    Revoked,
    /// Its `valid_until` has passed.
    Expired,
}

/// One attestation this node issued.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedAttestation {
    /// The attestation's id.
    pub id: EventId,
    /// The physician's key.
    pub key: PublicKey,
    /// Their handle.
    pub handle: Handle,
    /// The specialties attested.
    pub specialties: Vec<Specialty>,
    /// Where the licence was issued.
    pub jurisdiction: Jurisdiction,
    /// The licence number, as the operator typed it (private to this node).
    pub licence: String,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it lapses.
    pub valid_until: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// In force, revoked or lapsed, at the time asked.
    pub standing: Standing,
}

/// Which issued attestations to list; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// The handle.
    pub handle: Option<Handle>,
    /// The physician's key.
    pub key: Option<PublicKey>,
    /// The licence number (compared trimmed, ignoring case).
    pub licence: Option<String>,
    /// The licence's jurisdiction.
    pub jurisdiction: Option<Jurisdiction>,
    /// Only these standings.
    pub standing: Option<Standing>,
    /// Only those lapsing before this time.
    pub expiring_before: Option<Timestamp>,
}

impl Filter {
    fn matches(&self, a: &IssuedAttestation) -> bool {
        self.handle.as_ref().is_none_or(|h| *h == a.handle)
            && self.key.is_none_or(|k| k == a.key)
            && self.licence.as_deref().is_none_or(|l| same_licence(l, &a.licence))
            && self.jurisdiction.as_ref().is_none_or(|j| *j == a.jurisdiction)
            && self.standing.is_none_or(|s| s == a.standing)
            && self.expiring_before.is_none_or(|t| a.valid_until < t)
    }
}

/// Licence numbers as people type them: `gmc 7654321` and `GMC7654321`
/// are one licence to a register, so a duplicate is not missed for a
/// space or a letter's case.
pub fn same_licence(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
    };
    norm(a) == norm(b)
}

/// A page of what this node issued that `filter` matches, after the
/// attestation id `after`: at most `limit`, having read at most
/// [`SCAN_PER_PAGE`] openings; the cursor to go on from, if more remain.
pub fn page(
    store: &Store,
    filter: &Filter,
    after: Option<&EventId>,
    limit: usize,
    now: Timestamp,
) -> Result<(Vec<IssuedAttestation>, Option<EventId>), StoreError> {
    let openings = store.audit().openings(after, SCAN_PER_PAGE)?;
    let full = openings.len() == SCAN_PER_PAGE;
    let mut out = Vec::new();
    let mut last = None;
    for (id, opening) in openings {
        last = Some(id);
        if let Some(a) = issued(store, id, opening, now)?
            && filter.matches(&a)
        {
            out.push(a);
            if out.len() == limit {
                break;
            }
        }
    }
    let more = out.len() == limit || full;
    Ok((out, if more { last } else { None }))
}

/// Every attestation this node issued that `filter` matches (for the
/// checks before issuing, and for revoking all of a licence's or a key's).
pub fn all(
    store: &Store,
    filter: &Filter,
    now: Timestamp,
) -> Result<Vec<IssuedAttestation>, StoreError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let (found, next) = page(store, filter, after.as_ref(), usize::MAX, now)?;
        out.extend(found);
        match next {
            Some(id) => after = Some(id),
            None => return Ok(out),
        }
    }
}

/// One attestation this node issued with the whole of its opening (the
/// salt too): what a regulator needs to check the licence behind it
/// against the register (`curbside reveal --all`, then `curbside audit
/// licences`).
#[derive(Debug, Clone)]
pub struct Revealed {
    /// The attestation, as the list shows it.
    pub attestation: IssuedAttestation,
    /// The opening's salt.
    pub salt: Digest,
    /// The commitment the opening makes (the attestation's, if the store
    /// is sound).
    pub commitment: Digest,
    /// Why it was revoked: the reason of its earliest revocation.
    pub revocation_reason: Option<String>,
}

/// Most openings one page of [`revealed_page`] reads.
pub const REVEALED_PAGE: usize = 1_000;

/// A page of every attestation this node issued, with its opening, after
/// the attestation id `after`: at most `limit` openings read (capped at
/// [`REVEALED_PAGE`]); the cursor to go on from, if more may remain. An
/// opening whose attestation is not stored (a crash between keeping the
/// one and publishing the other) is skipped, as in [`page`].
pub fn revealed_page(
    store: &Store,
    after: Option<&EventId>,
    limit: usize,
    now: Timestamp,
) -> Result<(Vec<Revealed>, Option<EventId>), StoreError> {
    let limit = limit.clamp(1, REVEALED_PAGE);
    let openings = store.audit().openings(after, limit)?;
    let full = openings.len() == limit;
    let mut out = Vec::with_capacity(openings.len());
    let mut last = None;
    for (id, opening) in openings {
        last = Some(id);
        let (salt, commitment) = (opening.salt, opening.commitment());
        let Some(attestation) = issued(store, id, opening, now)? else { continue };
        let revocation_reason = match attestation.revoked_at {
            Some(_) => revocation_reason(store, &id)?,
            None => None,
        };
        out.push(Revealed { attestation, salt, commitment, revocation_reason });
    }
    Ok((out, if full { last } else { None }))
}

/// The reason of the earliest revocation of `id` stored here.
fn revocation_reason(store: &Store, id: &EventId) -> Result<Option<String>, StoreError> {
    let mut earliest: Option<(Timestamp, String)> = None;
    for revocation in store.events().revocations_of(id)? {
        let Some(event) = store.events().get(&revocation)? else { continue };
        if let Body::Revocation(r) = event.body()
            && earliest.as_ref().is_none_or(|(at, _)| r.effective_at < *at)
        {
            earliest = Some((r.effective_at, r.reason.clone()));
        }
    }
    Ok(earliest.map(|(_, reason)| reason))
}

/// The attestation `id` with its opening, if it is stored (an opening is
/// kept just before its attestation is published; a crash between leaves
/// it to be published at the next start).
fn issued(
    store: &Store,
    id: EventId,
    opening: LicenceOpening,
    now: Timestamp,
) -> Result<Option<IssuedAttestation>, StoreError> {
    let Some(event) = store.events().get(&id)? else { return Ok(None) };
    let Body::Attestation(a) = event.body() else { return Ok(None) };
    let revoked_at = store.revoked_at(&id)?;
    let standing = match revoked_at {
        Some(at) if at <= now => Standing::Revoked,
        _ if a.valid_until <= now => Standing::Expired,
        _ => Standing::Active,
    };
    Ok(Some(IssuedAttestation {
        id,
        key: a.subject,
        handle: a.handle.clone(),
        specialties: a.specialties.clone(),
        jurisdiction: opening.jurisdiction,
        licence: opening.licence,
        issued_at: event.created_at(),
        valid_until: a.valid_until,
        revoked_at,
        standing,
    }))
}

#[cfg(test)]
mod tests {
    use super::same_licence;

    #[test]
    fn licences_are_compared_as_a_register_would() {
        assert!(same_licence("GMC 7654321", "gmc7654321"));
        assert!(same_licence(" 7654321 ", "7654321"));
        assert!(!same_licence("7654321", "7654322"));
    }
}
