//! `POST /v1/events`: submit signed events; answered once they are durable.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use curbside_protocol::{Rejection, SignedEvent};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApiError, ApiJson, AppState};
use crate::ingest::{IngestError, Source};
use crate::metrics::Origin;

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Submit {
    events: Vec<String>,
}

impl Submit {
    /// Each submitted event decoded from its base64url text, or the
    /// rejection that answers it; the whole request is refused if it holds
    /// no event or more than [`MAX_EVENTS`]. Pure: nothing is stored,
    /// counted or rate limited here.
    pub(crate) fn decode(&self) -> Result<Vec<Result<SignedEvent, Rejection>>, ApiError> {
        if self.events.is_empty() || self.events.len() > MAX_EVENTS {
            return Err(ApiError::bad_request(format!("send 1 to {MAX_EVENTS} events")));
        }
        Ok(self.events.iter().map(|text| decode_one(text)).collect())
    }
}

fn decode_one(text: &str) -> Result<SignedEvent, Rejection> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|e| Rejection::Malformed { detail: format!("not base64url: {e}") })?;
    SignedEvent::decode(&bytes)
}

/// Most events in one request.
const MAX_EVENTS: usize = 1024;

/// Refusals the API decides itself are counted as the API's.
const AT_API: Origin = Origin::Submitted(Source::Local);

fn refused(r: &Rejection) -> Value {
    json!({ "status": "rejected", "code": r.code(), "message": r.to_string() })
}

/// A refusal if `event` is physicians' content and its author has used up
/// what the API takes from one physician. (Trust events — charters,
/// attestations, heads — come from institutions and are not limited here.)
fn over_limit(state: &AppState, event: &SignedEvent, now: std::time::Instant) -> Option<Value> {
    if event.kind().is_trust() {
        return None;
    }
    let taken = state.authors.lock().unwrap_or_else(|p| p.into_inner()).take(event.author(), now);
    let wait = taken.err()?;
    let limit = state.author_limit;
    Some(json!({
        "status": "rejected",
        "id": event.id(),
        "code": "rate_limited",
        "message": format!(
            "{} has submitted more than {} events a minute (bursts of {}) through this node; \
             try again in {:.0} s",
            event.author(),
            limit.per_minute,
            limit.burst,
            wait.ceil()
        ),
    }))
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<Submit>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let now = std::time::Instant::now();
    // Decode first; only decodable events within their author's rate go to
    // ingest, in order.
    let each = req.decode()?;
    let mut answers: Vec<Option<Value>> = Vec::with_capacity(each.len());
    let mut decoded = Vec::with_capacity(each.len());
    for event in each {
        match event {
            Ok(event) => match over_limit(&state, &event, now) {
                Some(answer) => {
                    state.metrics.record_refusal(AT_API, "rate_limited");
                    answers.push(Some(answer));
                }
                None => {
                    answers.push(None);
                    decoded.push(event);
                }
            },
            Err(r) => {
                state.metrics.record_refusal(AT_API, r.code());
                answers.push(Some(refused(&r)));
            }
        }
    }
    let outcomes = if decoded.is_empty() {
        Vec::new()
    } else {
        state.ingester.submit(decoded).await.map_err(|e| match e {
            IngestError::Stopped => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", e.to_string())
            }
            IngestError::Store(m) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "storage", m),
        })?
    };
    let mut outcomes = outcomes.into_iter();
    let mut all = Vec::with_capacity(answers.len());
    for answer in answers {
        match answer {
            Some(v) => all.push(v),
            None => {
                let o = outcomes.next().ok_or_else(|| {
                    ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "an event got no outcome",
                    )
                })?;
                let mut value = serde_json::to_value(&o).unwrap_or(Value::Null);
                if value["status"] == "pending" {
                    value["code"] = json!("missing_dependency");
                }
                all.push(value);
            }
        }
    }
    let first_refusal = all.iter().find(|v| v["status"] == "rejected").cloned();
    let any_pending = all.iter().any(|v| v["status"] == "pending");
    let (status, body) = match first_refusal {
        Some(r) => {
            let status = if r["code"] == "pending_full" {
                StatusCode::SERVICE_UNAVAILABLE
            } else if r["code"] == "rate_limited" {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            (status, json!({ "code": r["code"], "message": r["message"], "outcomes": all }))
        }
        None if any_pending => (StatusCode::ACCEPTED, json!({ "outcomes": all })),
        None => (StatusCode::OK, json!({ "outcomes": all })),
    };
    Ok((status, Json(body)))
}
