//! Operators as people: named admin credentials, and the admin log that
//! records every admin call under the name of the operator who made it.
//!
//! - **Who.** The data directory's `admin.token` is the built-in operator,
//!   [`OWNER`]; `POST /v1/admin/operators` makes a credential for a named
//!   one. A credential has the admin token's shape
//!   (`curbside-admin-<node>-<64 hex>`, so a credential of another node is
//!   still told apart as `wrong_node`), and the node keeps only its
//!   SHA-256 ([`credential_hash`]): a caller's token is hashed once and
//!   looked up by that hash, after its shape and node have been checked,
//!   so whatever a caller sends costs one hash of 96 bytes and one lookup.
//!   A revoked credential is refused as `operator_revoked` from the moment
//!   the revocation is durable.
//! - **What.** Every request an [`Admin`](super::auth::Admin) extractor
//!   lets through is recorded by [`record`], a layer over every route:
//!   when it was answered, by whom, the action (named by its route), what
//!   the handler said it was about ([`AdminCall::note`]: ids, keys,
//!   licence commitments; never a licence number or a credential) and the
//!   answer's status and code. The entry is synced before the answer
//!   leaves, so an action whose answer the operator saw is in the log;
//!   if it cannot be recorded the answer is `500 storage`, saying the
//!   action was done. Calls refused before an operator is known (no
//!   token, a wrong one, a revoked one) are not recorded: nobody without a
//!   credential can grow the log. Reading the log itself is not recorded.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use curbside_protocol::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::auth::Admin;
use super::sessions::constant_time_eq;
use super::{ApiError, ApiJson, ApiPath, ApiQuery, AppState};
use crate::codes::Code;
use crate::store::{LogEntry, LogFilter, OperatorError};
use crate::verifier::blocking;

/// The built-in operator: whoever holds the data directory's `admin.token`.
pub(crate) const OWNER: &str = "owner";

/// Where the built-in operator's last use is kept (no credential hashes to
/// all zeros).
const OWNER_KEY: [u8; 32] = [0; 32];

/// Domain separation of a credential's hash.
const CREDENTIAL_DOMAIN: &[u8] = b"curbside/operator-credential/v1";

/// What the node keeps of a named operator's credential.
pub(crate) fn credential_hash(token: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(CREDENTIAL_DOMAIN);
    h.update(token.as_bytes());
    h.finalize().into()
}

/// The node a credential names, if the token has a credential's exact
/// shape: `curbside-admin-`, 16 hex, `-`, 64 hex.
fn credential_node(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(super::auth::ADMIN_TOKEN_PREFIX)?;
    let (node, secret) = rest.split_once('-')?;
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(node, 16) && hex(secret, 64)).then_some(node)
}

/// An operator the node knows: the built-in one, or a named one (by the
/// hash of their credential).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Operator {
    pub(crate) name: String,
    /// `None` for the built-in operator.
    hash: Option<[u8; 32]>,
}

/// The operator a bearer token is, if it is one: the admin token, or a
/// named operator's credential in force. A revoked credential is an error.
pub(crate) fn resolve(state: &AppState, token: &str) -> Result<Option<Operator>, ApiError> {
    if constant_time_eq(token.as_bytes(), state.admin_token.as_bytes()) {
        return Ok(Some(Operator { name: OWNER.to_owned(), hash: None }));
    }
    // Only a credential of this node is looked up.
    if credential_node(token) != Some(state.key.public().short().as_str()) {
        return Ok(None);
    }
    let hash = credential_hash(token);
    let Some(record) = state.store.operators().find(&hash)? else { return Ok(None) };
    if let Some(revoked_at) = record.revoked_at {
        return Err(ApiError::new(
            Code::OperatorRevoked,
            format!(
                "the credential of operator {} was revoked at {revoked_at} by {}: ask another \
                 operator for a new one (`curbside admin add NAME`)",
                record.name,
                record.revoked_by.as_deref().unwrap_or("an operator"),
            ),
        ));
    }
    Ok(Some(Operator { name: record.name, hash: Some(hash) }))
}

/// One admin call, as far as it is known.
#[derive(Debug)]
struct Call {
    operator: Operator,
    action: String,
    target: Vec<(String, String)>,
    recorded: bool,
}

/// The admin call of one request: the [`record`] layer puts an empty one
/// on every request, the [`Admin`] extractor fills in who and what, the
/// handler what it was about.
#[derive(Debug, Clone, Default)]
pub(crate) struct AdminCall(Arc<Mutex<Option<Call>>>);

impl AdminCall {
    fn with<T>(&self, f: impl FnOnce(&mut Option<Call>) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// `operator` is making the call the route `action` names.
    pub(crate) fn begin(&self, operator: Operator, action: String) {
        self.with(|c| {
            *c = Some(Call { operator, action, target: Vec::new(), recorded: true });
        });
    }

    /// The call is about `value` (an attestation id, a key, a licence
    /// commitment, an operator's name...). Never a licence or a secret.
    pub(crate) fn note(&self, what: &str, value: impl std::fmt::Display) {
        self.with(|c| {
            if let Some(call) = c {
                call.target.push((what.to_owned(), value.to_string()));
            }
        });
    }

    /// The call is not recorded (reading the log).
    pub(crate) fn unrecorded(&self) {
        self.with(|c| {
            if let Some(call) = c {
                call.recorded = false;
            }
        });
    }

    fn take(&self) -> Option<Call> {
        self.with(Option::take).filter(|c| c.recorded)
    }
}

/// The action an admin route is, as the log names it: its name in
/// [`action_table`], else its method and path (a route added later).
pub(crate) fn action_of(method: &Method, path: Option<&MatchedPath>) -> String {
    let path = path.map_or("", MatchedPath::as_str);
    action_table(method.as_str(), path).map_or_else(|| format!("{method} {path}"), str::to_owned)
}

/// The names of the admin routes' actions.
fn action_table(method: &str, path: &str) -> Option<&'static str> {
    Some(match (method, path) {
        ("POST", "/v1/admin/attest") => "attest",
        ("POST", "/v1/admin/revoke") => "revoke",
        ("POST", "/v1/admin/revoke-all") => "revoke-all",
        ("GET", "/v1/admin/attestations") => "list-attestations",
        ("POST", "/v1/admin/hide") => "hide",
        ("POST", "/v1/admin/unhide") => "unhide",
        ("GET", "/v1/admin/hidden") => "list-hidden",
        ("POST", "/v1/admin/peers") => "dial",
        ("POST", "/v1/admin/sync") => "sync",
        ("GET", "/v1/admin/openings/{id}") => "read-opening",
        ("GET", "/v1/admin/openings") => "read-openings",
        ("POST", "/v1/admin/operators") => "add-operator",
        ("GET", "/v1/admin/operators") => "list-operators",
        ("POST", "/v1/admin/operators/{name}/revoke") => "revoke-operator",
        ("GET", "/v1/admin/log") => "read-log",
        _ => return None,
    })
}

/// The layer that records admin calls: see the module documentation.
pub(crate) async fn record(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let call = AdminCall::default();
    req.extensions_mut().insert(call.clone());
    let response = next.run(req).await;
    let Some(call) = call.take() else { return response };
    let status = response.status();
    let entry = LogEntry {
        at: crate::now(),
        operator: call.operator.name,
        action: call.action,
        target: call.target,
        status: status.as_u16(),
        code: response.extensions().get::<Code>().map(|c| c.as_str().to_owned()),
    };
    let used = call.operator.hash.unwrap_or(OWNER_KEY);
    let store = state.store.clone();
    let action = entry.action.clone();
    match blocking(move || store.admin_log().append(&entry, Some(&used))).await {
        Ok(()) => response,
        Err(e) => {
            tracing::error!(error = %e, action, "an admin call could not be recorded");
            ApiError::new(
                Code::Storage,
                format!(
                    "the node did this {action} (it answered {status}) but could not record it \
                     in the admin log: {e}; check the node's disk and log"
                ),
            )
            .into_response()
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddRequest {
    name: String,
}

/// Whether `name` can name an operator: 1 to 32 of `a-z 0-9 . _ -`,
/// starting with a letter.
fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{name:?} cannot name an operator: 1 to 32 of a-z 0-9 . _ - starting with a letter"
        )))
    }
}

fn operator_error(e: OperatorError) -> ApiError {
    match e {
        OperatorError::Exists(name) => ApiError::new(
            Code::OperatorExists,
            format!(
                "there is already an operator named {name} (a name is never given twice, so \
                 the log never shows two people under one): choose another"
            ),
        ),
        OperatorError::Full(n) => ApiError::new(
            Code::ListFull,
            format!("this node keeps {n} operators, as many as it may"),
        ),
        OperatorError::Unknown(name) => ApiError::not_found(format!(
            "no operator is named {name}: `curbside admin list` shows who there is"
        )),
        OperatorError::Store(e) => e.into(),
    }
}

/// `POST /v1/admin/operators`: a credential for a new named operator,
/// shown this once.
pub(crate) async fn add(
    admin: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<AddRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    admin.note("operator", &req.name);
    check_name(&req.name)?;
    if req.name == OWNER {
        return Err(operator_error(OperatorError::Exists(req.name)));
    }
    let credential = zeroize::Zeroizing::new(super::admin_token_for(&state.key.public()));
    let hash = credential_hash(&credential);
    let (store, name, by, at) = (state.store.clone(), req.name.clone(), admin.name(), crate::now());
    blocking(move || Ok(store.operators().add(&name, &hash, &by, at)))
        .await?
        .map_err(operator_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "name": req.name, "credential": credential.as_str(), "created_at": at })),
    ))
}

/// `GET /v1/admin/operators`: who may make admin calls, never a secret.
pub(crate) async fn list(_: Admin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let store = state.store.clone();
    let (listed, owner_used) =
        blocking(move || Ok((store.operators().list()?, store.operators().last_used(&OWNER_KEY)?)))
            .await?;
    let mut operators = vec![json!({
        "name": OWNER,
        "builtin": true,
        "created_at": null,
        "created_by": null,
        "last_used": owner_used,
        "revoked_at": null,
        "revoked_by": null,
    })];
    operators.extend(listed.into_iter().map(|o| {
        json!({
            "name": o.record.name,
            "builtin": false,
            "created_at": o.record.created_at,
            "created_by": o.record.created_by,
            "last_used": o.last_used,
            "revoked_at": o.record.revoked_at,
            "revoked_by": o.record.revoked_by,
        })
    }));
    Ok(Json(json!({ "operators": operators })))
}

/// `POST /v1/admin/operators/{name}/revoke`: the operator's credential is
/// refused from the moment this answers.
pub(crate) async fn revoke(
    admin: Admin,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    admin.note("operator", &name);
    if name == OWNER {
        return Err(ApiError::bad_request(
            "the built-in operator is the admin.token in the node's data directory: to retire \
             it, replace that file (`curbside node init` makes one) and restart the node",
        ));
    }
    let (store, who, by) = (state.store.clone(), name.clone(), admin.name());
    let record = blocking(move || Ok(store.operators().revoke(&who, &by, crate::now())))
        .await?
        .map_err(operator_error)?;
    Ok(Json(json!({
        "name": record.name,
        "revoked_at": record.revoked_at,
        "revoked_by": record.revoked_by,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogQuery {
    /// From this time on (milliseconds since the epoch).
    since: Option<u64>,
    operator: Option<String>,
    after: Option<String>,
    limit: Option<usize>,
}

/// Most entries a page of the log holds.
const LOG_PAGE: usize = 200;

/// `GET /v1/admin/log`: the admin log, oldest first, a page at a time.
pub(crate) async fn log(
    admin: Admin,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Json<Value>, ApiError> {
    admin.unrecorded();
    let after = q
        .after
        .as_deref()
        .map(|text| {
            let mut cursor = [0u8; 16];
            hex::decode_to_slice(text, &mut cursor).map(|()| cursor).map_err(|_| {
                ApiError::bad_request(format!(
                    "{text:?} is not a cursor (use the `next` of a previous page)"
                ))
            })
        })
        .transpose()?;
    let filter =
        LogFilter { since: q.since.map(Timestamp::from_millis), operator: q.operator.clone() };
    let limit = q.limit.unwrap_or(50).clamp(1, LOG_PAGE);
    let store = state.store.clone();
    let page = blocking(move || store.admin_log().page(&filter, after.as_ref(), limit)).await?;
    let entries: Vec<Value> = page
        .entries
        .into_iter()
        .map(|e| {
            let mut target = serde_json::Map::new();
            for (what, value) in e.target {
                match target.get_mut(&what) {
                    Some(Value::Array(values)) => values.push(json!(value)),
                    Some(one) => *one = json!([one.take(), value]),
                    None => {
                        target.insert(what, json!(value));
                    }
                }
            }
            json!({
                "at": e.at,
                "operator": e.operator,
                "action": e.action,
                "target": target,
                "status": e.status,
                "code": e.code,
            })
        })
        .collect();
    Ok(Json(json!({ "entries": entries, "next": page.next.map(hex::encode) })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_credential_shaped_token_names_a_node() {
        let good = format!("curbside-admin-{}-{}", "0123456789abcdef", "ab".repeat(32));
        assert_eq!(credential_node(&good), Some("0123456789abcdef"));
        for bad in [
            "ab".repeat(32),
            format!("curbside-admin-{}-{}", "0123456789abcdef", "ab".repeat(31)),
            format!("curbside-admin-{}-{}", "0123456789abcdeg", "ab".repeat(32)),
            format!("curbside-admin-{}-{}x", "0123456789abcdef", "ab".repeat(32)),
            format!("curbside-admin-{}{}", "0123456789abcdef", "ab".repeat(32)),
        ] {
            assert_eq!(credential_node(&bad), None, "{bad}");
        }
    }

    #[test]
    fn a_credential_is_kept_as_a_domain_separated_hash() {
        let token = format!("curbside-admin-{}-{}", "0123456789abcdef", "ab".repeat(32));
        let hash = credential_hash(&token);
        let plain: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        assert_ne!(hash, plain);
        assert_ne!(hash, OWNER_KEY);
        assert_eq!(hash, credential_hash(&token));
        assert!(!hex::encode(hash).contains(&"ab".repeat(32)));
    }

    #[test]
    fn operator_names_are_short_and_plain() {
        for good in ["ada", "dr-reyes", "night.shift_2", &"a".repeat(32)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Ada", "1ada", "ada lovelace", "ada/1", &"a".repeat(33)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn admin_routes_are_named_and_a_new_one_by_its_route() {
        assert_eq!(action_table("POST", "/v1/admin/attest"), Some("attest"));
        assert_eq!(action_table("GET", "/v1/admin/openings/{id}"), Some("read-opening"));
        assert_eq!(action_table("GET", "/v1/admin/operators"), Some("list-operators"));
        assert_eq!(action_table("POST", "/v1/admin/operators"), Some("add-operator"));
        assert_eq!(action_table("POST", "/v1/admin/backup"), None);
        assert_eq!(action_of(&Method::POST, None), "POST ");
    }
}
