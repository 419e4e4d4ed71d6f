//! Institution admin calls: attest a physician, revoke an attestation. The
//! node signs with its own chartered key.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use curbside_protocol::{
    Attestation, AttestationRequest, Body, EventId, Handle, Jurisdiction, LicenceOpening,
    NetworkId, RejectionCode, Revocation, SignedEvent, Specialty, registry,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::auth::Admin;
use super::{ApiError, ApiJson, AppState};
use crate::codes::Code;
use crate::verifier::{IssueError, Issued, blocking, issued};

/// Longest attestation, in days (five years).
const MAX_VALID_DAYS: u64 = 5 * 366;

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttestRequest {
    request: String,
    specialties: Vec<String>,
    jurisdiction: String,
    licence: String,
    valid_days: u64,
    /// Revoke, in the same step, what this node has in force for the
    /// same key or the same licence (else that is refused).
    #[serde(default)]
    replace: bool,
}

/// An attestation request whose every field has been checked.
#[derive(Debug)]
pub(crate) struct CheckedAttest {
    pub(crate) request: AttestationRequest,
    pub(crate) specialties: Vec<Specialty>,
    pub(crate) jurisdiction: Jurisdiction,
    pub(crate) licence: String,
    pub(crate) valid_days: u64,
}

impl AttestRequest {
    /// Checks the fields, the request string (its possession proof too) and
    /// that it was made for `network`. Pure: nothing is signed or stored.
    pub(crate) fn check(&self, network: &NetworkId) -> Result<CheckedAttest, ApiError> {
        let request = AttestationRequest::from_text(&self.request)
            .map_err(|e| ApiError::new(Code::BadRequestString, e.to_string()))?;
        if request.network != *network {
            return Err(ApiError::new(
                Code::Rejection(RejectionCode::WrongNetwork),
                "the request was made for another network: ask the physician to run `curbside id request` against this node",
            ));
        }
        let specialties = self
            .specialties
            .iter()
            .map(|s| Specialty::new(s.as_str()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(e.to_string()))?;
        if let Some(unknown) = specialties.iter().find(|s| !registry::is_specialty(s.as_str())) {
            return Err(ApiError::new(
                Code::UnknownSpecialty,
                registry::unknown_specialty_message(unknown.as_str()),
            ));
        }
        let jurisdiction =
            Jurisdiction::new(self.jurisdiction.as_str()).map_err(|e| invalid(e.to_string()))?;
        if !registry::is_jurisdiction(jurisdiction.as_str()) {
            return Err(ApiError::new(
                Code::UnknownJurisdiction,
                registry::unknown_jurisdiction_message(jurisdiction.as_str()),
            ));
        }
        if self.licence.trim().is_empty() || self.licence.len() > 64 {
            return Err(invalid("licence: give the licence number (1 to 64 characters)"));
        }
        if !(1..=MAX_VALID_DAYS).contains(&self.valid_days) {
            return Err(invalid(format!("valid_days: 1 to {MAX_VALID_DAYS}")));
        }
        Ok(CheckedAttest {
            request,
            specialties,
            jurisdiction,
            licence: self.licence.clone(),
            valid_days: self.valid_days,
        })
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::Rejection(RejectionCode::InvalidField), message)
}

/// Issues `body` (an attestation or revocation) as this node: logged in
/// its audit log, covered by a new tree head, then published.
async fn publish(
    state: &AppState,
    at: curbside_protocol::Timestamp,
    body: Body,
    opening: Option<LicenceOpening>,
) -> Result<Issued, ApiError> {
    let issued = state.issuer.issue(at, body, opening).await.map_err(|e| match e {
        IssueError::Refused { code, message } => ApiError::new(code, message),
        IssueError::Stopped => ApiError::new(Code::ShuttingDown, e.to_string()),
        IssueError::Store(e) => ApiError::from(e),
        IssueError::Ingest(m) => ApiError::new(Code::Storage, m),
    })?;
    Ok(issued)
}

fn wire(event: &SignedEvent) -> String {
    serde_json::to_value(event)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub(crate) async fn attest(
    admin: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<AttestRequest>,
) -> Result<Json<Value>, ApiError> {
    let replace = req.replace;
    let CheckedAttest { request, specialties, jurisdiction, licence, valid_days } =
        req.check(&state.store.network())?;
    admin.note("key", request.subject);
    admin.note("handle", &request.handle);
    admin.note("jurisdiction", &jurisdiction);
    let _turn = state.issuer.operator_turn().await;
    let now = crate::now();
    // What this node has in force for the same key or the same licence:
    // a second attestation is refused, or replaces them with --replace.
    let store = state.store.clone();
    let (subject, juris, lic) = (request.subject, jurisdiction.clone(), licence.clone());
    let in_force = blocking(move || {
        let filter =
            issued::Filter { standing: Some(issued::Standing::Active), ..Default::default() };
        let all = issued::all(&store, &filter, now)?;
        Ok(all
            .into_iter()
            .filter(|a| {
                a.key == subject
                    || (a.jurisdiction == juris && issued::same_licence(&a.licence, &lic))
            })
            .collect::<Vec<_>>())
    })
    .await?;
    if !replace && let Some(first) = in_force.first() {
        admin.note("in_force", first.id);
        let (code, what) = if first.key == subject {
            (
                Code::AlreadyAttested,
                format!("{} ({}) already holds", first.handle, first.key.short()),
            )
        } else {
            (
                Code::LicenceInUse,
                format!(
                    "licence {} is already held by {} ({}) in",
                    first.licence,
                    first.handle,
                    first.key.short()
                ),
            )
        };
        return Err(ApiError::new(
            code,
            format!(
                "{what} attestation {} from this node, in force until {}: pass --replace \
                 to revoke it in the same step, or revoke it first",
                first.id, first.valid_until
            ),
        ));
    }
    // Never past the end of the charter that lets this node attest there.
    let wanted = now.plus_days(valid_days);
    let charter_end = charter_end(&state, &jurisdiction);
    let valid_until = charter_end.map_or(wanted, |end| wanted.min(end));
    let opening = LicenceOpening::new(jurisdiction.clone(), &licence);
    let body = Body::Attestation(Attestation {
        subject: request.subject,
        handle: request.handle,
        specialties,
        jurisdiction,
        licence_commitment: opening.commitment(),
        valid_until,
        requested_at: request.requested_at,
        possession: request.signature,
    });
    // The opening is kept once the attestation is known valid, before it
    // exists anywhere else.
    let commitment = opening.commitment();
    let issued = publish(&state, now, body, Some(opening)).await?;
    admin.note("attestation", issued.event.id());
    admin.note("licence_commitment", commitment);
    let mut answer = issued_json(&issued);
    answer["valid_until"] = json!(valid_until);
    answer["capped_at_charter_end"] = json!(valid_until < wanted);
    let reason = format!("replaced by attestation {}", issued.event.id());
    let mut replaced = Vec::new();
    for old in &in_force {
        let body = Body::Revocation(Revocation {
            target: old.id,
            reason: reason.clone(),
            effective_at: now,
        });
        publish(&state, now, body, None).await.map_err(|e| {
            ApiError::new(
                e.0.code,
                format!(
                    "attestation {} was issued, but revoking {} failed ({}): revoke it with \
                     `curbside revoke {}`",
                    issued.event.id(),
                    old.id,
                    e.0.message,
                    old.id
                ),
            )
        })?;
        admin.note("replaced", old.id);
        replaced.push(old.id);
    }
    answer["replaced"] = json!(replaced);
    Ok(Json(answer))
}

/// When this node's authority to attest in `jurisdiction` ends: the latest
/// end of its charters in force that cover it.
fn charter_end(
    state: &AppState,
    jurisdiction: &Jurisdiction,
) -> Option<curbside_protocol::Timestamp> {
    use curbside_protocol::TrustView as _;
    let view = crate::store::StoreView::new(&state.store);
    view.charters(&state.key.public())
        .into_iter()
        .filter(|c| c.verify.contains(jurisdiction))
        .map(|c| match view.revoked_at(&c.id) {
            Some(revoked) => revoked.min(c.valid_until),
            None => c.valid_until,
        })
        .max()
}

fn issued_json(issued: &Issued) -> Value {
    json!({
        "id": issued.event.id(),
        "event": wire(&issued.event),
        "log": {
            "index": issued.index,
            "head": issued.head.id(),
            "head_event": wire(&issued.head),
        },
    })
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeRequest {
    target: String,
    reason: String,
}

impl RevokeRequest {
    /// The id of what is to be revoked. (The reason is checked, with the
    /// rest of the revocation, by `validate` when the node issues it.)
    pub(crate) fn target(&self) -> Result<EventId, ApiError> {
        self.target
            .parse()
            .map_err(|_| ApiError::bad_request(format!("{:?} is not an event id", self.target)))
    }
}

pub(crate) async fn revoke(
    admin: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RevokeRequest>,
) -> Result<Json<Value>, ApiError> {
    let target = req.target()?;
    admin.note("attestation", target);
    let now = crate::now();
    let body = Body::Revocation(Revocation { target, reason: req.reason, effective_at: now });
    let issued = publish(&state, now, body, None).await?;
    admin.note("revocation", issued.event.id());
    Ok(Json(issued_json(&issued)))
}

/// `POST /v1/admin/revoke-all`: every attestation this node has in force
/// for a licence, or for a key, in one step.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeAllRequest {
    #[serde(default)]
    licence: Option<String>,
    #[serde(default)]
    jurisdiction: Option<String>,
    #[serde(default)]
    key: Option<String>,
    reason: String,
}

impl RevokeAllRequest {
    fn filter(&self) -> Result<issued::Filter, ApiError> {
        let mut filter = issued::Filter {
            standing: Some(issued::Standing::Active),
            ..issued::Filter::default()
        };
        match (&self.licence, &self.key) {
            (Some(licence), None) if !licence.trim().is_empty() => {
                filter.licence = Some(licence.trim().to_owned());
                filter.jurisdiction = self
                    .jurisdiction
                    .as_deref()
                    .map(Jurisdiction::new)
                    .transpose()
                    .map_err(|e| invalid(e.to_string()))?;
            }
            (None, Some(key)) => {
                filter.key = Some(key.trim().parse().map_err(|_| {
                    ApiError::bad_request(format!("{key:?} is not a physician's public key"))
                })?);
            }
            _ => return Err(ApiError::bad_request("give a licence or a key, not both")),
        }
        Ok(filter)
    }
}

pub(crate) async fn revoke_all(
    admin: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RevokeAllRequest>,
) -> Result<Json<Value>, ApiError> {
    let filter = req.filter()?;
    // Never the licence itself: the commitments of what it revoked say which.
    match (&filter.key, &filter.licence) {
        (Some(key), _) => admin.note("key", key),
        (None, _) => admin.note("by", "licence"),
    }
    let _turn = state.issuer.operator_turn().await;
    let now = crate::now();
    let store = state.store.clone();
    let targets = blocking(move || issued::all(&store, &filter, now)).await?;
    if targets.is_empty() {
        return Err(ApiError::not_found("this node has no attestation in force for that"));
    }
    let mut revoked = Vec::new();
    for target in &targets {
        let body = Body::Revocation(Revocation {
            target: target.id,
            reason: req.reason.clone(),
            effective_at: now,
        });
        admin.note("attestation", target.id);
        if let Some(opening) = state.store.audit().opening(&target.id)? {
            admin.note("licence_commitment", opening.commitment());
        }
        let issued = publish(&state, now, body, None).await?;
        revoked.push(json!({
            "attestation": target.id,
            "handle": target.handle,
            "key": target.key,
            "revocation": issued.event.id(),
        }));
    }
    Ok(Json(json!({ "revoked": revoked })))
}

/// `GET /v1/admin/attestations`: what this node issued, filtered.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IssuedQuery {
    handle: Option<String>,
    key: Option<String>,
    licence: Option<String>,
    jurisdiction: Option<String>,
    status: Option<issued::Standing>,
    expiring_before: Option<u64>,
    after: Option<String>,
    limit: Option<usize>,
}

/// Most attestations a page of the list holds.
const ISSUED_PAGE: usize = 200;

pub(crate) async fn attestations(
    admin: Admin,
    State(state): State<AppState>,
    query: Result<axum::extract::Query<IssuedQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let axum::extract::Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    for (what, value) in [("handle", &q.handle), ("key", &q.key), ("jurisdiction", &q.jurisdiction)]
    {
        if let Some(value) = value {
            admin.note(what, value);
        }
    }
    if q.licence.is_some() {
        admin.note("licence", "(a licence number: not recorded)");
    }
    let filter = issued::Filter {
        handle: q
            .handle
            .as_deref()
            .map(|h| Handle::new(h.trim().to_ascii_lowercase()))
            .transpose()
            .map_err(|e| ApiError::bad_request(e.to_string()))?,
        key: q
            .key
            .as_deref()
            .map(|k| k.trim().parse())
            .transpose()
            .map_err(|_| ApiError::bad_request("key: a physician's public key (64 hex)"))?,
        licence: q.licence.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()),
        jurisdiction: q
            .jurisdiction
            .as_deref()
            .map(Jurisdiction::new)
            .transpose()
            .map_err(|e| ApiError::bad_request(e.to_string()))?,
        standing: q.status,
        expiring_before: q.expiring_before.map(curbside_protocol::Timestamp::from_millis),
    };
    let after = q.after.as_deref().map(super::reads::parse_id).transpose()?;
    let limit = q.limit.unwrap_or(50).clamp(1, ISSUED_PAGE);
    let now = crate::now();
    let store = state.store.clone();
    let (found, next) =
        blocking(move || issued::page(&store, &filter, after.as_ref(), limit, now)).await?;
    Ok(Json(json!({ "attestations": found, "next": next })))
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DialRequest {
    address: String,
}

impl DialRequest {
    /// The address to dial.
    pub(crate) fn address(&self) -> Result<libp2p::Multiaddr, ApiError> {
        self.address.parse().map_err(|_| {
            invalid(format!(
                "{:?} is not a multiaddr such as /ip4/10.0.0.2/tcp/7421/p2p/12D3KooW...",
                self.address
            ))
        })
    }
}

/// `POST /v1/admin/peers`: dial a peer now (an operator joining two parts
/// of the federation, or adding a peer without a restart).
pub(crate) async fn dial(
    admin: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<DialRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    admin.note("address", &req.address);
    let Some(net) = &state.net else {
        return Err(ApiError::new(
            Code::NetworkOff,
            "this node runs alone: start it with --listen or --bootstrap",
        ));
    };
    let addr = req.address()?;
    net.dial(addr).await;
    Ok((StatusCode::ACCEPTED, Json(json!({ "dialing": req.address }))))
}
