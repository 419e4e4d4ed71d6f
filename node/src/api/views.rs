//! How events look in JSON.

use std::collections::HashMap;

use curbside_protocol::{Authority, Body, EventId, Kind, PublicKey, Timestamp, VerifiedEvent};
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
    /// A case's outcome, once its author added one: the case is solved.
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<OutcomeView>,
    /// The comment the author of a post or case accepted as the answer
    /// that helped most.
    #[serde(skip_serializing_if = "Option::is_none")]
    accepted: Option<AcceptedView>,
    /// A comment: the post, case or poll at the root of its thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    thread: Option<EventId>,
    /// A comment: `true` if it is its thread's accepted answer (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    accepted_answer: Option<bool>,
    /// A poll: the option its author said turned out right (index).
    #[serde(skip_serializing_if = "Option::is_none")]
    answer: Option<u8>,
    /// A post, case or comment its author edited: the edit in force, whose
    /// content `body` shows (and whose signed bytes `event` holds, so a
    /// reader can check them). `id`, `kind` and `created_at` stay the
    /// original's: replies point at it.
    #[serde(skip_serializing_if = "Option::is_none")]
    edited: Option<EditedView>,
}

/// The edit in force of an edited event.
#[derive(Debug, Serialize)]
pub(crate) struct EditedView {
    /// The edit event.
    id: EventId,
    /// When it was made.
    edited_at: Timestamp,
}

/// A case's outcome, as shown with the case.
#[derive(Debug, Serialize)]
pub(crate) struct OutcomeView {
    /// The outcome event.
    id: EventId,
    diagnosis: String,
    text: String,
    created_at: Timestamp,
}

/// The accept of a thread, as shown with its post or case.
#[derive(Debug, Serialize)]
pub(crate) struct AcceptedView {
    /// The accepted comment.
    comment: EventId,
    /// The accept event.
    id: EventId,
    created_at: Timestamp,
}

/// Makes [`EventView`]s for one answer, reading each charter's institution
/// once however many of its physicians' events the answer shows.
pub(crate) struct Views<'a> {
    store: &'a Store,
    institutions: HashMap<EventId, Option<String>>,
    /// The comment accepted in each thread met so far (by root).
    accepted: HashMap<EventId, Option<EventId>>,
}

impl<'a> Views<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store, institutions: HashMap::new(), accepted: HashMap::new() }
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
        let mut view = EventView::new(event, author);
        let (id, kind) = match event.body() {
            // The edit in force of its original is shown as the original.
            Body::Edit(e) if self.in_force(event, &e.target)? => {
                view.as_original(event, e);
                (e.target, e.content.kind())
            }
            _ => (event.id(), event.kind()),
        };
        self.with_afterwords(id, kind, event.author(), view)
    }

    /// Whether `edit` is the edit in force of `original`.
    fn in_force(&self, edit: &VerifiedEvent, original: &EventId) -> Result<bool, StoreError> {
        Ok(self.store.events().tombstone(original)?.is_some_and(|t| t.retraction == edit.id()))
    }

    /// `view` with what its author added: a case's outcome, a thread's
    /// accepted answer, a poll's answer; a comment marked if accepted.
    fn with_afterwords(
        &mut self,
        id: EventId,
        kind: Kind,
        author: &PublicKey,
        mut view: EventView,
    ) -> Result<EventView, StoreError> {
        match kind {
            Kind::Post | Kind::Case | Kind::Poll => {
                let mut added = self.store.events().afterwords(&id)?;
                // Only the author's own count (validation sees to it; a
                // node that took one on a false retraction's claim, before
                // the target came, must not show it either).
                added.keep_by(author);
                self.accepted.insert(id, added.accepted_comment());
                view.answer = added.answer_option();
                if let Some(e) = &added.outcome
                    && let Body::Outcome(o) = e.body()
                {
                    view.outcome = Some(OutcomeView {
                        id: e.id(),
                        diagnosis: o.diagnosis.clone(),
                        text: o.text.clone(),
                        created_at: e.created_at(),
                    });
                }
                if let Some(e) = &added.accept
                    && let Body::Accept(a) = e.body()
                {
                    view.accepted = Some(AcceptedView {
                        comment: a.comment,
                        id: e.id(),
                        created_at: e.created_at(),
                    });
                }
            }
            Kind::Comment => {
                let Some(root) = self.store.events().root_of_comment(&id)? else {
                    return Ok(view);
                };
                let accepted = match self.accepted.get(&root) {
                    Some(accepted) => *accepted,
                    None => {
                        let mut added = self.store.events().afterwords(&root)?;
                        let owner = match self.store.events().get(&root)? {
                            Some(r) => Some(*r.author()),
                            // An edited root: its author is its edit's.
                            None => self.store.events().edit_in_force(&root)?.map(|e| *e.author()),
                        };
                        match owner {
                            Some(owner) => added.keep_by(&owner),
                            None => added = Default::default(),
                        }
                        let found = added.accepted_comment();
                        self.accepted.insert(root, found);
                        found
                    }
                };
                view.thread = Some(root);
                view.accepted_answer = (accepted == Some(id)).then_some(true);
            }
            _ => {}
        }
        Ok(view)
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
            outcome: None,
            accepted: None,
            accepted_answer: None,
            answer: None,
            thread: None,
            edited: None,
        }
    }

    /// Shows `edit` (`e`), the edit in force of its original, as the
    /// original: its id, kind and time, the edit's content.
    fn as_original(&mut self, edit: &VerifiedEvent, e: &curbside_protocol::Edit) {
        self.id = e.target;
        self.kind = e.content.kind().as_str();
        self.created_at = e.target_created_at;
        self.body = match serde_json::to_value(&e.content) {
            Ok(serde_json::Value::Object(map)) => {
                map.into_iter().next().map(|(_, v)| v).unwrap_or(serde_json::Value::Null)
            }
            _ => serde_json::Value::Null,
        };
        self.edited = Some(EditedView { id: edit.id(), edited_at: edit.created_at() });
    }

    /// The view with the number of comments in its thread.
    pub(crate) fn with_replies(self, replies: u64) -> Self {
        Self { replies: Some(replies), ..self }
    }
}
