//! The API's JSON request bodies, parsed and checked exactly as the
//! handlers do, without a server, a store or a clock: for the fuzz targets
//! (`node/fuzz`) and the property tests. Not part of the node's interface.
//!
//! A body goes through `axum::Json::from_bytes` (the parser the `Json`
//! extractor uses), the mapping of its rejection to the API's error, and
//! then the pure checks that each handler makes before it touches state.

use axum::Json;
use curbside_protocol::{EventId, Jurisdiction, NetworkId, PublicKey, Specialty};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ApiError;
use super::admin::{AttestRequest, DialRequest, RevokeRequest};
use super::auth::{ChallengeRequest, SessionRequest, bad_challenge, session_message};
use super::types::Submit;

/// A route that takes a JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /v1/events`
    Events,
    /// `POST /v1/session/challenge`
    Challenge,
    /// `POST /v1/session`
    Session,
    /// `POST /v1/admin/attest`
    Attest,
    /// `POST /v1/admin/revoke`
    Revoke,
    /// `POST /v1/admin/peers`
    Peers,
}

impl Route {
    /// Every route with a JSON body.
    pub const ALL: [Route; 6] = [
        Route::Events,
        Route::Challenge,
        Route::Session,
        Route::Attest,
        Route::Revoke,
        Route::Peers,
    ];
}

/// What the pure checks made of a body the handler would go on with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Each event's id, or the code of the rejection that answers it.
    Events(Vec<Result<EventId, &'static str>>),
    /// A challenge for this key.
    Challenge(PublicKey),
    /// A session answer; whether its signature verifies over this
    /// challenge (the handler then checks that the challenge is live).
    Session {
        /// Who answers.
        key: PublicKey,
        /// The challenge answered.
        challenge: [u8; 32],
        /// Whether the signature verifies.
        signature_verifies: bool,
    },
    /// An attestation to issue.
    Attest {
        /// Whose key.
        subject: PublicKey,
        /// Attested specialties.
        specialties: Vec<Specialty>,
        /// Attested jurisdiction.
        jurisdiction: Jurisdiction,
        /// Days it is to be valid.
        valid_days: u64,
    },
    /// A revocation to issue.
    Revoke(EventId),
    /// A peer to dial.
    Peers(libp2p::Multiaddr),
}

/// An error answer: the HTTP status, the stable code and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// Stable snake_case code.
    pub code: &'static str,
    /// For people.
    pub message: String,
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Self { status: e.status().as_u16(), code: e.0.code.as_str(), message: e.0.message }
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    Json::<T>::from_bytes(body).map(|Json(v)| v).map_err(|r| ApiError::from(r).into())
}

/// Parses `body` as `route`'s JSON and runs the checks its handler makes
/// before touching state. `network` is the node's network (attestation
/// requests and session signatures name it).
pub fn check(route: Route, body: &[u8], network: &NetworkId) -> Result<Checked, Refusal> {
    match route {
        Route::Events => {
            let each = parse::<Submit>(body)?.decode()?;
            Ok(Checked::Events(
                each.into_iter().map(|e| e.map(|e| e.id()).map_err(|r| r.code())).collect(),
            ))
        }
        Route::Challenge => Ok(Checked::Challenge(parse::<ChallengeRequest>(body)?.key)),
        Route::Session => {
            let req = parse::<SessionRequest>(body)?;
            let challenge = req.challenge_bytes().ok_or_else(bad_challenge)?;
            let signature_verifies =
                req.key.verify(&session_message(network, &challenge), &req.signature).is_ok();
            Ok(Checked::Session { key: req.key, challenge, signature_verifies })
        }
        Route::Attest => {
            let c = parse::<AttestRequest>(body)?.check(network)?;
            Ok(Checked::Attest {
                subject: c.request.subject,
                specialties: c.specialties,
                jurisdiction: c.jurisdiction,
                valid_days: c.valid_days,
            })
        }
        Route::Revoke => Ok(Checked::Revoke(parse::<RevokeRequest>(body)?.target()?)),
        Route::Peers => Ok(Checked::Peers(parse::<DialRequest>(body)?.address()?)),
    }
}

fn reserialize<T: DeserializeOwned + Serialize>(body: &[u8]) -> Option<Vec<u8>> {
    serde_json::to_vec(&parse::<T>(body).ok()?).ok()
}

/// `body` parsed as `route`'s request type and serialized again, if it
/// parses: the canonical JSON of what the handler received.
pub fn reserialize_body(route: Route, body: &[u8]) -> Option<Vec<u8>> {
    match route {
        Route::Events => reserialize::<Submit>(body),
        Route::Challenge => reserialize::<ChallengeRequest>(body),
        Route::Session => reserialize::<SessionRequest>(body),
        Route::Attest => reserialize::<AttestRequest>(body),
        Route::Revoke => reserialize::<RevokeRequest>(body),
        Route::Peers => reserialize::<DialRequest>(body),
    }
}
