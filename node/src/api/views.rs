//! How events look in JSON.

use std::collections::HashMap;

use curbside_protocol::{Authority, EventId, PublicKey, Timestamp, VerifiedEvent};
use serde::Serialize;

use crate::store::{Store, StoreError};

/// An event for reading: decoded fields plus its wire form.
#[derive(Debug, Serialize)]
pub(crate) struct EventView {
    id: EventId,
    author: PublicKey,
    /// The author's attested handle, for physicians' events. Not unique:
    /// read it with `verifier` and `author` (and heed `handle_keys`).
    handle: Option<String>,
    /// The attestation the event was accepted under (physicians' events).
    attestation: Option<EventId>,
    /// The verifier that attested the author (physicians' events).
    verifier: Option<PublicKey>,
    /// The institution the verifier's charter names, when this node holds it.
    institution: Option<String>,
    /// How many keys are attested with `handle` (physicians' events): more
    /// than 1 means the handle alone does not say who wrote the event.
    handle_keys: Option<u32>,
    /// The specialties the author is attested in (physicians' events).
    specialties: Option<Vec<String>>,
    /// Where the author is licensed (physicians' events).
    jurisdiction: Option<String>,
    created_at: Timestamp,
    kind: &'static str,
    body: serde_json::Value,
    /// base64url of the signed wire bytes.
    event: String,
    /// How many comments its thread holds (feeds' posts, cases and polls).
    #[serde(skip_serializing_if = "Option::is_none")]
    replies: Option<u64>,
}

/// Makes [`EventView`]s for one answer, reading each charter's institution
/// once however many of its physicians' events the answer shows.
pub(crate) struct Views<'a> {
    store: &'a Store,
    institutions: HashMap<EventId, Option<String>>,
}

impl<'a> Views<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store, institutions: HashMap::new() }
    }

    /// The view of `event`.
    pub(crate) fn of(&mut self, event: &VerifiedEvent) -> Result<EventView, StoreError> {
        let author = match event.authority() {
            Authority::Physician(a) => {
                let institution = match self.store.events().charter_of(&a.issuer, a.issued_at) {
                    Some(charter) => match self.institutions.get(&charter) {
                        Some(name) => name.clone(),
                        None => {
                            let name = self.store.events().institution(&charter)?;
                            self.institutions.insert(charter, name.clone());
                            name
                        }
                    },
                    None => None,
                };
                Some(AuthorFacts {
                    handle: a.handle.to_string(),
                    attestation: a.id,
                    verifier: a.issuer,
                    institution,
                    handle_keys: self.store.events().handle_keys(&a.handle),
                    specialties: a.specialties.iter().map(|s| s.to_string()).collect(),
                    jurisdiction: a.jurisdiction.to_string(),
                })
            }
            _ => None,
        };
        Ok(EventView::new(event, author))
    }

    /// The views of `events`, in order.
    pub(crate) fn all<'e>(
        &mut self,
        events: impl IntoIterator<Item = &'e VerifiedEvent>,
    ) -> Result<Vec<EventView>, StoreError> {
        events.into_iter().map(|e| self.of(e)).collect()
    }
}

/// What a view says about a physician author beside their key.
struct AuthorFacts {
    handle: String,
    attestation: EventId,
    verifier: PublicKey,
    institution: Option<String>,
    handle_keys: u32,
    specialties: Vec<String>,
    jurisdiction: String,
}

impl EventView {
    fn new(event: &VerifiedEvent, author: Option<AuthorFacts>) -> Self {
        // The body serializes externally tagged ({"post": {...}}): show its fields.
        let body = match serde_json::to_value(event.body()) {
            Ok(serde_json::Value::Object(map)) => {
                map.into_iter().next().map(|(_, v)| v).unwrap_or(serde_json::Value::Null)
            }
            _ => serde_json::Value::Null,
        };
        let wire = serde_json::to_value(event.signed())
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let (handle, attestation, verifier, institution, handle_keys, specialties, jurisdiction) =
            match author {
                Some(a) => (
                    Some(a.handle),
                    Some(a.attestation),
                    Some(a.verifier),
                    a.institution,
                    Some(a.handle_keys),
                    Some(a.specialties),
                    Some(a.jurisdiction),
                ),
                None => (None, None, None, None, None, None, None),
            };
        Self {
            id: event.id(),
            author: *event.author(),
            handle,
            attestation,
            verifier,
            institution,
            handle_keys,
            specialties,
            jurisdiction,
            created_at: event.created_at(),
            kind: event.kind().as_str(),
            body,
            event: wire,
            replies: None,
        }
    }

    /// The view with the number of comments in its thread.
    pub(crate) fn with_replies(self, replies: u64) -> Self {
        Self { replies: Some(replies), ..self }
    }
}
