//! What a reader is told about who wrote a physician's event, beside the
//! handle: who attested the author (the verifier's institution, from its
//! charter) and whether the handle names other keys too.
//!
//! A handle is chosen by the physician and is not unique: two keys can be
//! attested with the same one, so a handle alone lets a second key post as
//! someone else. Both answers come from the trust records in memory (one
//! map lookup each) and, for the institution, one read of the charter
//! event, which the API makes once per charter per page.

use curbside_protocol::{Body, EventId, Handle, PublicKey, Timestamp};

use super::reads::Events;
use super::{StoreError, read};

impl Events<'_> {
    /// How many keys hold an attestation naming `handle`, counting each
    /// key once whoever attested it and whether or not the attestation is
    /// still in force; at least 1, the author's own (an attestation stored
    /// a moment ago may not be counted until its flush).
    pub fn handle_keys(&self, handle: &Handle) -> u32 {
        read(&self.store.trust).handle_keys.get(handle).copied().unwrap_or(0).max(1)
    }

    /// Whether any attestation durable here gives `handle` to a
    /// physician (in force or not): what a mention of `@handle` needs from
    /// rules 4, as validation's [`curbside_protocol::TrustView::handle_attested`] asks it.
    pub fn handle_attested(&self, handle: &Handle) -> bool {
        read(&self.store.trust).handle_keys.contains_key(handle)
    }

    /// The charter of `verifier` that was in force at `at` (the latest
    /// issued, if several were), else the latest it holds: the one whose
    /// institution names the verifier to readers. `None` if no charter of
    /// the key is durable here.
    pub fn charter_of(&self, verifier: &PublicKey, at: Timestamp) -> Option<EventId> {
        let trust = read(&self.store.trust);
        let charters = trust.charters.get(verifier)?;
        let in_force = charters
            .iter()
            .filter(|c| c.issued_at <= at && at < c.valid_until)
            .max_by_key(|c| (c.issued_at, c.id));
        in_force.or_else(|| charters.iter().max_by_key(|c| (c.issued_at, c.id))).map(|c| c.id)
    }

    /// The institution the charter `id` names, if it is a stored charter.
    pub fn institution(&self, id: &EventId) -> Result<Option<String>, StoreError> {
        Ok(self.get(id)?.and_then(|event| match event.body() {
            Body::Charter(charter) => Some(charter.institution.clone()),
            _ => None,
        }))
    }
}
