//! Reads: status (public, no content) and the session-guarded content.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use curbside_protocol::{EventId, HubId, PublicKey, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Reader;
use super::types::{Hub, HubsAnswer, StatusAnswer, StoreHealth};
use super::views::{EventView, Views};
use super::{ApiError, ApiPath, ApiQuery, AppState, MAX_PAGE, THREAD_PAGE};
use crate::api::types::RetractedView;
use crate::codes::Code;
use crate::store::ThreadError;

/// An event id from a path or query, or `400 bad_request`.
pub(crate) fn parse_id(text: &str) -> Result<EventId, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(format!("{text:?} is not an event id (64 hex characters)"))
    })
}

pub(crate) async fn status(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<StatusAnswer>), ApiError> {
    let counts = state.store.counts()?;
    // Best effort: a store that fails to read the charter still answers
    // its health below. (One in-memory look-up and one event read: this
    // route needs no credentials, so nothing here grows with the store.)
    let charter =
        charter_in_force(&state.store, &state.key.public(), crate::now()).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "reading this node's charter for /v1/status");
            None
        });
    let mut status = StatusAnswer {
        code: None,
        charter,
        events: counts.events,
        message: None,
        network: state.store.network(),
        network_name: state.store.genesis().name.clone(),
        node_key: state.key.public(),
        pending: counts.pending,
        store: StoreHealth::Ok,
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    // A failed store still serves reads, but takes no writes: not healthy.
    if state.store.has_failed() {
        let failure = state.store.failure().unwrap_or("unknown error");
        status.store = StoreHealth::Failed;
        status.code = Some(Code::StoreFailed);
        status.message = Some(format!(
            "the store failed ({failure}); it takes no writes, and the node is stopping"
        ));
        return Ok((StatusCode::SERVICE_UNAVAILABLE, Json(status)));
    }
    Ok((StatusCode::OK, Json(status)))
}

/// This node's charter in force at `now` that ends last, if any.
fn charter_in_force(
    store: &crate::store::Store,
    me: &curbside_protocol::PublicKey,
    now: curbside_protocol::Timestamp,
) -> Result<Option<super::types::CharterStatus>, crate::store::StoreError> {
    use curbside_protocol::TrustView as _;
    let view = crate::store::StoreView::new(store);
    let best = view
        .charters(me)
        .into_iter()
        .filter(|c| c.issued_at <= now && c.valid_until > now)
        .filter(|c| view.revoked_at(&c.id).is_none_or(|at| at > now))
        .max_by_key(|c| c.valid_until);
    let Some(record) = best else { return Ok(None) };
    let institution = match store.events().get(&record.id)?.as_ref().map(|e| e.body()) {
        Some(curbside_protocol::Body::Charter(c)) => c.institution.clone(),
        _ => String::new(),
    };
    Ok(Some(super::types::CharterStatus {
        id: record.id,
        institution,
        verify: record.verify,
        valid_until: record.valid_until,
    }))
}

/// The peer-to-peer side: this node's PeerId and addresses, its peers
/// (institutions' nodes, never physicians) and sync state. No content.
pub(crate) async fn network(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let Some(net) = &state.net else {
        return Ok(Json(json!({ "enabled": false })));
    };
    let status = net.status().await.ok_or_else(ApiError::shutting_down)?;
    let mut value = serde_json::to_value(status).map_err(|e| ApiError::internal(e.to_string()))?;
    value["enabled"] = json!(true);
    Ok(Json(value))
}

pub(crate) async fn hubs(
    _: Reader,
    State(state): State<AppState>,
) -> Result<Json<HubsAnswer>, ApiError> {
    let events = state.store.events();
    let hubs = events
        .hubs()?
        .into_iter()
        .map(|(id, title)| Ok(Hub { latest: events.latest_in(&id)?, id, title }))
        .collect::<Result<Vec<Hub>, ApiError>>()?;
    Ok(Json(HubsAnswer { hubs }))
}

/// `GET /v1/specialties`: the specialties this network names (attestations
/// and polls name theirs from it), with the titles tallies show. Public:
/// a physician picks theirs before they have a session.
pub(crate) async fn specialties() -> Json<Value> {
    let list: Vec<Value> = curbside_protocol::registry::SPECIALTIES
        .iter()
        .map(|(id, title)| json!({ "id": id, "title": title }))
        .collect();
    Json(json!({ "specialties": list }))
}

/// `GET /v1/jurisdictions`: the jurisdictions this network names
/// (charters and attestations name theirs from it), with the names tallies
/// show. Public, like the specialties: a physician and a root pick from it
/// before they have a session.
pub(crate) async fn jurisdictions() -> Json<Value> {
    let list: Vec<Value> = curbside_protocol::registry::JURISDICTIONS
        .iter()
        .map(|(id, name)| json!({ "id": id, "name": name }))
        .collect();
    Json(json!({ "jurisdictions": list }))
}

#[derive(Deserialize)]
pub(crate) struct FeedQuery {
    limit: Option<usize>,
    before: Option<String>,
}

/// A cursor `<created_at>-<id>`.
pub(crate) fn parse_cursor(text: &str) -> Result<(Timestamp, EventId), ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "{text:?} is not a cursor (use the `next` of a previous page)"
        ))
    };
    let (t, id) = text.split_once('-').ok_or_else(bad)?;
    let t: u64 = t.parse().map_err(|_| bad())?;
    Ok((Timestamp::from_millis(t), id.parse().map_err(|_| bad())?))
}

/// The cursor [`parse_cursor`] reads: `<created_at>-<id>`.
pub(crate) fn cursor((at, id): (Timestamp, EventId)) -> String {
    format!("{}-{id}", at.as_millis())
}

pub(crate) async fn feed(
    _: Reader,
    State(state): State<AppState>,
    ApiPath(hub): ApiPath<String>,
    ApiQuery(q): ApiQuery<FeedQuery>,
) -> Result<Json<Value>, ApiError> {
    let hub = HubId::new(&hub).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if !state.store.events().hub_exists(&hub)? {
        return Err(ApiError::not_found(format!("no hub {hub} on this network")));
    }
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let before = q.before.as_deref().map(parse_cursor).transpose()?;
    let mut events = state.store.events().feed(&hub, before, limit)?;
    let next = if events.len() == limit {
        events.last().map(|e| cursor((e.created_at(), e.id())))
    } else {
        None
    };
    // Where an edit stands in its original's place, the original's id is
    // what is hidden and what the replies hang from.
    let place = |e: &curbside_protocol::VerifiedEvent| match e.body() {
        curbside_protocol::Body::Edit(edit) => edit.target,
        _ => e.id(),
    };
    // Hidden by this node's operator: not shown here (the page may be short).
    events.retain(|e| !state.store.events().is_hidden(&place(e)));
    let views = Views::new(&state.store)
        .all(&events)?
        .into_iter()
        .zip(&events)
        .map(|(view, e)| Ok(view.with_replies(state.store.events().replies_in(&place(e))?)))
        .collect::<Result<Vec<EventView>, ApiError>>()?;
    Ok(Json(json!({ "events": views, "next": next })))
}

pub(crate) async fn event(
    _: Reader,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<EventView>, ApiError> {
    let id = parse_id(&id)?;
    if state.store.events().is_hidden(&id) {
        return Err(ApiError::not_found(format!(
            "event {id} is hidden on this node by its operator"
        )));
    }
    // An edited post, case or comment: the edit in force, shown as it.
    let Some(event) = state.store.events().shown(&id)? else {
        return Err(ApiError::not_found(match state.store.events().tombstone(&id)? {
            Some(t) => {
                format!("event {id} was retracted by its author (retraction {})", t.retraction)
            }
            None => format!("no event {id} here"),
        }));
    };
    Ok(Json(Views::new(&state.store).of(&event)?))
}

#[derive(Deserialize)]
pub(crate) struct ThreadQuery {
    limit: Option<usize>,
    after: Option<String>,
}

pub(crate) async fn thread(
    _: Reader,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ThreadQuery>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let limit = q.limit.unwrap_or(THREAD_PAGE).clamp(1, MAX_PAGE);
    let after = q
        .after
        .as_deref()
        .map(|text| {
            text.parse::<EventId>().map_err(|_| {
                ApiError::bad_request(format!(
                    "{text:?} is not a cursor (use the `next` of a previous page)"
                ))
            })
        })
        .transpose()?;
    let page = state.store.events().thread(&id, after.as_ref(), limit).map_err(|e| match e {
        ThreadError::NoRoot(_) => ApiError::not_found(e.to_string()),
        ThreadError::CursorNotStored(_) | ThreadError::CursorNotInThread { .. } => {
            ApiError::new(Code::CursorNotInThread, e.to_string())
        }
        ThreadError::Store(e) => e.into(),
    })?;
    let next = if page.more { page.entries.last().map(|e| e.id) } else { None };
    let mut views = Views::new(&state.store);
    let entries = page
        .entries
        .iter()
        .map(|e| {
            if state.store.events().is_hidden(&e.id) {
                let hidden = "[hidden on this node by its operator]";
                return Ok(
                    json!({ "depth": e.depth, "id": e.id, "event": null, "hidden": hidden }),
                );
            }
            // An edited one is shown with its edit in force, not as taken back.
            let edit = match (&e.event, &e.tombstone) {
                (None, Some(_)) => state.store.events().edit_in_force(&e.id)?,
                _ => None,
            };
            let event = e.event.as_ref().or(edit.as_ref()).map(|ev| views.of(ev)).transpose()?;
            let retracted = match edit {
                Some(_) => None,
                None => e.tombstone.as_ref().map(|t| RetractedView::of(e.id, t)),
            };
            Ok(json!({ "depth": e.depth, "id": e.id, "event": event, "retracted": retracted }))
        })
        .collect::<Result<Vec<Value>, ApiError>>()?;
    Ok(Json(json!({ "thread": entries, "next": next })))
}

pub(crate) async fn tally(
    _: Reader,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let (_, tally) = state
        .store
        .events()
        .tally(&id)?
        .ok_or_else(|| ApiError::not_found(format!("no poll {id} here")))?;
    let poll = state
        .store
        .events()
        .get(&id)?
        .ok_or_else(|| ApiError::not_found(format!("no poll {id} here")))?;
    // Once the poll's author named the right option: how the vote compared.
    let calibration = state
        .store
        .events()
        .afterwords(&id)?
        .answer_option()
        .map(|answer| curbside_protocol::tally::calibration(&tally, answer));
    let poll = Views::new(&state.store).of(&poll)?;
    let mut answer = json!({ "poll": poll, "tally": tally });
    if let Some(calibration) = calibration {
        answer["calibration"] = json!(calibration);
    }
    Ok(Json(answer))
}

pub(crate) async fn attestation(
    _: Reader,
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let key: PublicKey = key.parse().map_err(|_| {
        ApiError::bad_request(format!("{key:?} is not a public key (64 hex characters)"))
    })?;
    let status = state.store.events().attestation_status(&key, crate::now())?;
    let attestations: Vec<Value> = status
        .attestations
        .iter()
        .map(|held| {
            let a = &held.record;
            json!({
                "id": a.id, "issuer": a.issuer, "handle": a.handle, "issued_at": a.issued_at,
                "valid_until": a.valid_until, "specialties": a.specialties,
                "jurisdiction": a.jurisdiction, "revoked_at": held.revoked_at,
                "handle_keys": state.store.events().handle_keys(&a.handle),
                "counts": held.not_counted.is_none(),
                "not_counted": held.not_counted,
            })
        })
        .collect();
    Ok(Json(json!({ "subject": key, "attested": status.attested, "attestations": attestations })))
}
