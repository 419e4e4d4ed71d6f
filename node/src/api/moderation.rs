//! Moderation on this node: hiding an event here only (admin), reports
//! (a physician's, kept here for the hub's moderators, never gossiped),
//! the moderation queue (a moderator's), and the public record of
//! appointments and takedowns.

use axum::Json;
use axum::extract::State;
use curbside_protocol::{Body, EventId, PublicKey, TakedownReason, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::{Admin, Physician};
use super::reads::{cursor, parse_cursor};
use super::views::Views;
use super::{ApiError, ApiJson, ApiQuery, AppState};
use crate::codes::Code;
use crate::store::{Report, ReportError, ReportLimits};

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
    admin: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<HideRequest>,
) -> Result<Json<Value>, ApiError> {
    admin.note("event", req.id);
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
    admin: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<UnhideRequest>,
) -> Result<Json<Value>, ApiError> {
    admin.note("event", req.id);
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
    state.store.events().report(&report, &ReportLimits::default()).map_err(|e| match e {
        ReportError::Budget(why) => ApiError::new(Code::RateLimited, why),
        ReportError::Full(_) => ApiError::new(Code::ReportsFull, e.to_string()),
        ReportError::Store(e) => e.into(),
    })?;
    Ok(Json(json!({ "event": report.event, "reported": true, "hub": report.hub })))
}

/// The most a page of the moderation queue or record holds.
const MAX_PAGE: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    limit: Option<usize>,
    after: Option<String>,
}

impl PageQuery {
    fn limit(&self) -> usize {
        self.limit.unwrap_or(50).clamp(1, MAX_PAGE)
    }
}

/// A cursor of the queue: `<at>-<event>-<reporter>`.
fn queue_cursor(r: &Report) -> String {
    format!("{}-{}-{}", r.at.as_millis(), r.event, r.reporter)
}

fn parse_queue_cursor(text: &str) -> Result<(Timestamp, EventId, PublicKey), ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "{text:?} is not a cursor of the queue (use the `next` of a previous page)"
        ))
    };
    let mut parts = text.splitn(3, '-');
    let (Some(at), Some(event), Some(reporter)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    Ok((
        Timestamp::from_millis(at.parse().map_err(|_| bad())?),
        event.parse().map_err(|_| bad())?,
        reporter.parse().map_err(|_| bad())?,
    ))
}

/// `GET /v1/mod/queue?limit=&after=`: a page of the reports of the hubs
/// the caller moderates, oldest first.
pub(crate) async fn queue(
    Physician(key): Physician,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let hubs = state.store.events().moderated_hubs(&key, crate::now());
    if hubs.is_empty() {
        return Err(ApiError::new(Code::Forbidden, format!("{key} moderates no hub")));
    }
    let after = q.after.as_deref().map(parse_queue_cursor).transpose()?;
    let limit = q.limit();
    let mine = |r: &Report| hubs.iter().any(|h| h.is_none() || *h == r.hub);
    let mut reports: Vec<Report> = state
        .store
        .events()
        .reports()?
        .into_iter()
        .filter(|r| after.is_none_or(|a| (r.at, r.event, r.reporter) > a))
        .filter(mine)
        .take(limit + 1)
        .collect();
    let next = (reports.len() > limit).then(|| {
        reports.truncate(limit);
        reports.last().map(queue_cursor)
    });
    Ok(Json(json!({ "reports": reports, "next": next.flatten() })))
}

/// `GET /v1/audit/moderation?limit=&after=`: a page of every appointment,
/// its end and every takedown stored here, oldest first: who took what
/// down, when and why. Public, like the audit logs: these are signed
/// public events, and a takedown names its target, never its content.
pub(crate) async fn record(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let after = q.after.as_deref().map(parse_cursor).transpose()?;
    let page = state.store.events().moderation_page(after, q.limit())?;
    let mut views = Views::new(&state.store);
    let mut out = Vec::with_capacity(page.events.len());
    for e in &page.events {
        let what = match e.body() {
            Body::Appointment(_) => "appointment",
            Body::Takedown(_) => "takedown",
            _ => "appointment_ended",
        };
        out.push(json!({ "what": what, "event": views.of(e)? }));
    }
    let next = page.next.map(cursor);
    Ok(Json(json!({ "moderation": out, "next": next })))
}
