//! Moderation on this node: hiding an event here only (admin), reports
//! (a physician's, kept here for the hub's moderators, never gossiped),
//! the moderation queue (a moderator's), and the public record of
//! appointments and takedowns.

use axum::Json;
use axum::extract::State;
use curbside_protocol::{Body, EventId, TakedownReason};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::{Admin, Physician};
use super::views::Views;
use super::{ApiError, ApiJson, AppState};
use crate::codes::Code;
use crate::store::Report;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HideRequest {
    id: EventId,
    #[serde(default)]
    note: String,
}

/// `POST /v1/admin/hide`: this node stops showing the event to its
/// readers; it still stores, syncs and relays it.
pub(crate) async fn hide(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<HideRequest>,
) -> Result<Json<Value>, ApiError> {
    if req.note.len() > curbside_protocol::limits::REASON {
        return Err(ApiError::bad_request("the note is over 500 bytes"));
    }
    state.store.events().hide(&req.id, &req.note)?;
    Ok(Json(json!({ "id": req.id, "hidden": true })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UnhideRequest {
    id: EventId,
}

/// `POST /v1/admin/unhide`.
pub(crate) async fn unhide(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<UnhideRequest>,
) -> Result<Json<Value>, ApiError> {
    let was = state.store.events().unhide(&req.id)?;
    Ok(Json(json!({ "id": req.id, "hidden": false, "was_hidden": was })))
}

/// `GET /v1/admin/hidden`.
pub(crate) async fn hidden(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let list: Vec<Value> = state
        .store
        .events()
        .hidden()?
        .into_iter()
        .map(|(id, note)| json!({ "id": id, "note": note }))
        .collect();
    Ok(Json(json!({ "hidden": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportRequest {
    event: EventId,
    reason: String,
    #[serde(default)]
    note: String,
}

/// `POST /v1/reports`: a physician reports an event stored here to its
/// hub's moderators. Kept on this node only.
pub(crate) async fn report(
    Physician(reporter): Physician,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ReportRequest>,
) -> Result<Json<Value>, ApiError> {
    let reason: TakedownReason = req.reason.parse().map_err(ApiError::bad_request)?;
    if req.note.len() > curbside_protocol::limits::REASON {
        return Err(ApiError::bad_request("the note is over 500 bytes"));
    }
    if !state.store.events().contains(&req.event)? {
        return Err(ApiError::not_found(format!("no event {} here", req.event)));
    }
    let hub = state.store.events().hub_of(&req.event)?;
    let report =
        Report { event: req.event, reporter, hub, reason, note: req.note, at: crate::now() };
    state.store.events().report(&report)?;
    Ok(Json(json!({ "event": report.event, "reported": true, "hub": report.hub })))
}

/// `GET /v1/mod/queue`: the reports of the hubs the caller moderates.
pub(crate) async fn queue(
    Physician(key): Physician,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let hubs = state.store.events().moderated_hubs(&key, crate::now());
    if hubs.is_empty() {
        return Err(ApiError::new(Code::Forbidden, format!("{key} moderates no hub")));
    }
    let mine = |r: &Report| hubs.iter().any(|h| h.is_none() || *h == r.hub);
    let reports: Vec<Report> = state.store.events().reports()?.into_iter().filter(mine).collect();
    Ok(Json(json!({ "reports": reports })))
}

/// `GET /v1/audit/moderation`: every appointment, its end and every
/// takedown stored here, oldest first: who took what down, when and why.
/// Public, like the audit logs: these are signed public events, and a
/// takedown names its target, never its content.
pub(crate) async fn record(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let events = state.store.events().moderation_record()?;
    let mut views = Views::new(&state.store);
    let mut out = Vec::with_capacity(events.len());
    for e in &events {
        let what = match e.body() {
            Body::Appointment(_) => "appointment",
            Body::Takedown(_) => "takedown",
            _ => "appointment_ended",
        };
        out.push(json!({ "what": what, "event": views.of(e)? }));
    }
    Ok(Json(json!({ "moderation": out })))
}
