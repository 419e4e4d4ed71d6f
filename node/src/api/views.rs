//! How events look in JSON.

use curbside_protocol::{Authority, EventId, PublicKey, Timestamp, VerifiedEvent};
use serde::Serialize;

/// An event for reading: decoded fields plus its wire form.
#[derive(Debug, Serialize)]
pub(crate) struct EventView {
    id: EventId,
    author: PublicKey,
    /// The author's attested handle, for physicians' events.
    handle: Option<String>,
    created_at: Timestamp,
    kind: &'static str,
    body: serde_json::Value,
    /// base64url of the signed wire bytes.
    event: String,
}

impl EventView {
    pub(crate) fn of(event: &VerifiedEvent) -> Self {
        let handle = match event.authority() {
            Authority::Physician(a) => Some(a.handle.to_string()),
            _ => None,
        };
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
        Self {
            id: event.id(),
            author: *event.author(),
            handle,
            created_at: event.created_at(),
            kind: event.kind().as_str(),
            body,
            event: wire,
        }
    }
}
