//! `/v1/me/...`: what a physician keeps on their own node for themselves —
//! what they wrote, their inbox, follows and bookmarks.
//!
//! Every route takes the physician from the session ([`Physician`]) and
//! never from the request, so a caller can only ever read and change their
//! own state: there is no path or parameter that names another physician.
//! The admin token is refused (`403 forbidden`): the operator has no inbox,
//! and reads nobody's.

use axum::Json;
use axum::extract::State;
use curbside_protocol::{EventId, HubId, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Physician;
use super::reads::{cursor, parse_cursor, parse_id};
use super::types::{BookmarkRequest, FollowRequest, Followed, MarkReadRequest};
use super::views::Views;
use super::{ApiError, ApiJson, ApiPath, ApiQuery, AppState, MAX_PAGE};
use crate::codes::Code;
use crate::store::{Follow, InboxItem, MarkError};

/// Most item ids one `POST /v1/me/inbox/read` names.
pub(crate) const MAX_MARKED: usize = 500;

impl From<MarkError> for ApiError {
    fn from(e: MarkError) -> Self {
        match e {
            MarkError::Full { .. } => ApiError::new(Code::ListFull, e.to_string()),
            MarkError::Store(e) => e.into(),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct PageQuery {
    limit: Option<usize>,
    before: Option<String>,
}

/// `GET /v1/me/events`: what the physician wrote, newest first.
pub(crate) async fn written(
    Physician(me): Physician,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let before = q.before.as_deref().map(parse_cursor).transpose()?;
    let (list, next) = state.store.personal().written(&me, before, limit)?;
    let events = state.store.events();
    let mut views = Views::new(&state.store);
    let mut out = Vec::with_capacity(list.len());
    for (_, id, _) in list {
        // Hidden here by the operator: not shown on this node, as in a feed.
        if events.is_hidden(&id) {
            continue;
        }
        // An edited one is shown as its edit in force, in its place.
        if let Some(event) = events.shown(&id)? {
            out.push(views.of(&event)?);
        }
    }
    Ok(Json(json!({ "events": out, "next": next.map(cursor) })))
}

#[derive(Deserialize)]
pub(crate) struct InboxQuery {
    limit: Option<usize>,
    after: Option<String>,
    /// Only unread items.
    #[serde(default)]
    unread: bool,
}

/// The inbox's order: unread first, then newest first.
fn order_key(item: &InboxItem) -> (bool, std::cmp::Reverse<(Timestamp, EventId)>) {
    (item.read, std::cmp::Reverse((item.at, item.event.id())))
}

/// A page cursor: `<r|u>-<time>-<id>`, the last item's place in the order.
fn inbox_cursor(item: &InboxItem) -> String {
    let flag = if item.read { "r" } else { "u" };
    format!("{flag}-{}-{}", item.at.as_millis(), item.event.id())
}

fn parse_inbox_cursor(
    text: &str,
) -> Result<(bool, std::cmp::Reverse<(Timestamp, EventId)>), ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "{text:?} is not an inbox cursor (use the `next` of a previous page)"
        ))
    };
    let (flag, rest) = text.split_once('-').ok_or_else(bad)?;
    let read = match flag {
        "r" => true,
        "u" => false,
        _ => return Err(bad()),
    };
    let (at, id) = parse_cursor(rest).map_err(|_| bad())?;
    Ok((read, std::cmp::Reverse((at, id))))
}

/// The JSON of one inbox item.
pub(crate) fn item_view(views: &mut Views<'_>, item: &InboxItem) -> Result<Value, ApiError> {
    Ok(json!({
        "id": item.event.id(),
        "kind": item.kind.as_str(),
        "at": item.at,
        "read": item.read,
        "thread": item.thread,
        "event": views.of(&item.event)?,
    }))
}

/// The physician's inbox now, in its order, off the async threads.
pub(crate) async fn inbox_of(
    state: &AppState,
    me: curbside_protocol::PublicKey,
) -> Result<Vec<InboxItem>, ApiError> {
    let store = state.store.clone();
    let mut items =
        crate::verifier::blocking(move || store.personal().inbox(&me, crate::now())).await?;
    items.sort_by_key(order_key);
    Ok(items)
}

/// `GET /v1/me/inbox`: unread first, then newest first, a page at a time.
pub(crate) async fn inbox(
    Physician(me): Physician,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let after = q.after.as_deref().map(parse_inbox_cursor).transpose()?;
    let items = inbox_of(&state, me).await?;
    let unread = items.iter().filter(|i| !i.read).count();
    let mut views = Views::new(&state.store);
    let mut page = Vec::new();
    let mut rest = items
        .iter()
        .filter(|i| !q.unread || !i.read)
        .filter(|i| after.as_ref().is_none_or(|a| order_key(i) > *a));
    for item in rest.by_ref().take(limit) {
        page.push((item_view(&mut views, item)?, inbox_cursor(item)));
    }
    let next = if rest.next().is_some() { page.last().map(|(_, c)| c.clone()) } else { None };
    let page: Vec<Value> = page.into_iter().map(|(v, _)| v).collect();
    Ok(Json(json!({ "items": page, "unread": unread, "next": next })))
}

/// `POST /v1/me/inbox/read`: marks items read.
pub(crate) async fn mark_read(
    Physician(me): Physician,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<MarkReadRequest>,
) -> Result<Json<Value>, ApiError> {
    if req.items.len() > MAX_MARKED {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_MARKED} items a request (or \"all\": true)"
        )));
    }
    let mut ids = req.items;
    if req.all {
        ids.extend(inbox_of(&state, me).await?.iter().filter(|i| !i.read).map(|i| i.event.id()));
    }
    let marked = ids.len();
    let store = state.store.clone();
    crate::verifier::blocking(move || store.personal().mark_read(&me, &ids, crate::now())).await?;
    Ok(Json(json!({ "marked": marked })))
}

/// What `target` names: a stored event's thread, or a hub.
fn follow_target(state: &AppState, target: &str) -> Result<Follow, ApiError> {
    if let Ok(id) = target.parse::<EventId>() {
        return match state.store.personal().thread_of(&id)? {
            Some(root) => Ok(Follow::Thread(root)),
            None => Err(ApiError::not_found(format!("no event {id} is stored here"))),
        };
    }
    let hub = HubId::new(target).map_err(|_| {
        ApiError::bad_request(format!("{target:?} is neither an event id (64 hex) nor a hub"))
    })?;
    if !state.store.events().hub_exists(&hub)? {
        return Err(ApiError::not_found(format!("no hub {hub} on this network")));
    }
    Ok(Follow::Hub(hub))
}

fn followed(follow: &Follow, since: Timestamp) -> Followed {
    match follow {
        Follow::Thread(root) => Followed { thread: Some(*root), hub: None, since },
        Follow::Hub(hub) => Followed { thread: None, hub: Some(hub.to_string()), since },
    }
}

/// `POST /v1/me/follows`.
pub(crate) async fn follow(
    Physician(me): Physician,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<FollowRequest>,
) -> Result<Json<Value>, ApiError> {
    let what = follow_target(&state, req.target.trim())?;
    let now = crate::now();
    let new = state.store.personal().follow(&me, &what, now)?;
    Ok(Json(json!({ "following": followed(&what, now), "new": new })))
}

/// `DELETE /v1/me/follows/{target}`.
pub(crate) async fn unfollow(
    Physician(me): Physician,
    State(state): State<AppState>,
    ApiPath(target): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    // Unfollowing needs no stored event: a thread taken back can be left.
    let what = match target.parse::<EventId>() {
        Ok(id) => Follow::Thread(state.store.events().thread_root(&id)?.unwrap_or(id)),
        Err(_) => Follow::Hub(HubId::new(&target).map_err(|_| {
            ApiError::bad_request(format!("{target:?} is neither an event id nor a hub"))
        })?),
    };
    let removed = state.store.personal().unfollow(&me, &what)?;
    Ok(Json(json!({ "removed": removed })))
}

/// `GET /v1/me/follows`: at most [`crate::store::MAX_FOLLOWS`], newest first.
pub(crate) async fn follows(
    Physician(me): Physician,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let list: Vec<Followed> =
        state.store.personal().follows(&me)?.iter().map(|(f, since)| followed(f, *since)).collect();
    Ok(Json(json!({ "follows": list })))
}

/// `POST /v1/me/bookmarks`.
pub(crate) async fn bookmark(
    Physician(me): Physician,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<BookmarkRequest>,
) -> Result<Json<Value>, ApiError> {
    // An edited event is shown by its edit in force, under its own id.
    if state.store.events().shown(&req.id)?.is_none() {
        return Err(ApiError::not_found(format!("no event {} is stored here", req.id)));
    }
    let new = state.store.personal().bookmark(&me, &req.id, crate::now())?;
    Ok(Json(json!({ "id": req.id, "new": new })))
}

/// `DELETE /v1/me/bookmarks/{id}`.
pub(crate) async fn unbookmark(
    Physician(me): Physician,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let removed = state.store.personal().unbookmark(&me, &id)?;
    Ok(Json(json!({ "removed": removed })))
}

/// `GET /v1/me/bookmarks`: newest first, a page at a time; an event
/// taken back since shows as `null`.
pub(crate) async fn bookmarks(
    Physician(me): Physician,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let before = q.before.as_deref().map(parse_cursor).transpose()?;
    let all = state.store.personal().bookmarks(&me)?;
    let mut rest = all.into_iter().filter(|(id, at)| {
        before.is_none_or(|b| std::cmp::Reverse((*at, *id)) > std::cmp::Reverse(b))
    });
    let mut views = Views::new(&state.store);
    let events = state.store.events();
    let mut page = Vec::new();
    let mut last = None;
    for (id, at) in rest.by_ref().take(limit) {
        let event = match events.get(&id)? {
            Some(e) if !events.is_hidden(&id) => Some(views.of(&e)?),
            _ => None,
        };
        page.push(json!({ "id": id, "added_at": at, "event": event }));
        last = Some((at, id));
    }
    let next = if rest.next().is_some() { last.map(cursor) } else { None };
    Ok(Json(json!({ "bookmarks": page, "next": next })))
}
