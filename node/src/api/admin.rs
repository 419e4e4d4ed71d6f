//! Institution admin calls: attest a physician, revoke an attestation. The
//! node signs with its own chartered key.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use curbside_protocol::{
    Attestation, AttestationRequest, Body, EventId, Jurisdiction, LicenceOpening, NetworkId,
    RejectionCode, Revocation, SignedEvent, Specialty, registry,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::auth::Admin;
use super::{ApiError, ApiJson, AppState};
use crate::codes::Code;
use crate::verifier::{IssueError, Issued};

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
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<AttestRequest>,
) -> Result<Json<Value>, ApiError> {
    let CheckedAttest { request, specialties, jurisdiction, licence, valid_days } =
        req.check(&state.store.network())?;
    let opening = LicenceOpening::new(jurisdiction.clone(), &licence);
    let now = crate::now();
    let body = Body::Attestation(Attestation {
        subject: request.subject,
        handle: request.handle,
        specialties,
        jurisdiction,
        licence_commitment: opening.commitment(),
        valid_until: now.plus_days(valid_days),
        requested_at: request.requested_at,
        possession: request.signature,
    });
    // The opening is kept once the attestation is known valid, before it
    // exists anywhere else.
    let issued = publish(&state, now, body, Some(opening)).await?;
    Ok(Json(issued_json(&issued)))
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
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RevokeRequest>,
) -> Result<Json<Value>, ApiError> {
    let target = req.target()?;
    let now = crate::now();
    let body = Body::Revocation(Revocation { target, reason: req.reason, effective_at: now });
    let issued = publish(&state, now, body, None).await?;
    Ok(Json(issued_json(&issued)))
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
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<DialRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
