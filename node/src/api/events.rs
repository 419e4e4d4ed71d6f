//! `POST /v1/events`: submit signed events; answered once they are durable.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use curbside_protocol::{Rejection, SignedEvent};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiJson, AppState};
use crate::ingest::IngestError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Submit {
    events: Vec<String>,
}

/// Most events in one request.
const MAX_EVENTS: usize = 1024;

fn refused(r: &Rejection) -> Value {
    json!({ "status": "rejected", "code": r.code(), "message": r.to_string() })
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<Submit>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if req.events.is_empty() || req.events.len() > MAX_EVENTS {
        return Err(ApiError::bad_request(format!("send 1 to {MAX_EVENTS} events")));
    }
    // Decode first; only decodable events go to ingest, in order.
    let mut answers: Vec<Option<Value>> = Vec::with_capacity(req.events.len());
    let mut decoded = Vec::with_capacity(req.events.len());
    for text in &req.events {
        let bytes = match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim()) {
            Ok(b) => b,
            Err(e) => {
                let r = Rejection::Malformed { detail: format!("not base64url: {e}") };
                answers.push(Some(refused(&r)));
                continue;
            }
        };
        match SignedEvent::decode(&bytes) {
            Ok(event) => {
                answers.push(None);
                decoded.push(event);
            }
            Err(r) => answers.push(Some(refused(&r))),
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
    state.metrics.record(&outcomes);
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
                all.push(serde_json::to_value(&o).unwrap_or(Value::Null));
            }
        }
    }
    let first_refusal = all.iter().find(|v| v["status"] == "rejected").cloned();
    let any_pending = all.iter().any(|v| v["status"] == "pending");
    let (status, body) = match first_refusal {
        Some(r) => {
            let status = if r["code"] == "pending_full" {
                StatusCode::SERVICE_UNAVAILABLE
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
