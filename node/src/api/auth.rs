//! Who may read: physicians with a session won by signing a challenge with
//! an attested key; the institution's admin with its token.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use curbside_protocol::{NetworkId, PublicKey, Signature, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::{ApiError, ApiJson, AppState};

/// Domain separation for session challenges.
pub const SESSION_DOMAIN: &[u8] = b"curbside/session/v1";

/// How long a challenge may be answered, in milliseconds.
const CHALLENGE_MS: u64 = 120_000;

/// Most outstanding challenges (older ones are dropped first).
const MAX_CHALLENGES: usize = 10_000;

/// What a physician signs to open a session: `SHA-256(domain ‖ network ‖ challenge)`.
pub fn session_message(network: &NetworkId, challenge: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(SESSION_DOMAIN);
    h.update(network.as_bytes());
    h.update(challenge);
    h.finalize().into()
}

/// Challenges and sessions, in memory: a restart signs everyone out.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    challenges: HashMap<[u8; 32], (PublicKey, Timestamp)>,
    sessions: HashMap<String, (PublicKey, Timestamp)>,
}

impl Sessions {
    fn challenge(&mut self, key: PublicKey, now: Timestamp) -> ([u8; 32], Timestamp) {
        self.challenges.retain(|_, (_, expires)| *expires > now);
        if self.challenges.len() >= MAX_CHALLENGES
            && let Some(oldest) =
                self.challenges.iter().min_by_key(|(_, (_, e))| *e).map(|(c, _)| *c)
        {
            self.challenges.remove(&oldest);
        }
        let mut challenge = [0u8; 32];
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut challenge)
            .expect("the operating system's random number generator failed");
        let expires = now.plus_millis(CHALLENGE_MS);
        self.challenges.insert(challenge, (key, expires));
        (challenge, expires)
    }

    /// Consumes the challenge (single use) if it was issued to `key` and is live.
    fn redeem(&mut self, key: &PublicKey, challenge: &[u8; 32], now: Timestamp) -> bool {
        match self.challenges.remove(challenge) {
            Some((owner, expires)) => owner == *key && expires > now,
            None => false,
        }
    }

    fn open(&mut self, key: PublicKey, now: Timestamp, ttl_ms: u64) -> (String, Timestamp) {
        self.sessions.retain(|_, (_, expires)| *expires > now);
        let token = crate::datadir::random_token();
        let expires = now.plus_millis(ttl_ms);
        self.sessions.insert(token.clone(), (key, expires));
        (token, expires)
    }

    fn end(&mut self, token: &str) {
        self.sessions.remove(token);
    }

    fn check(&self, token: &str, now: Timestamp) -> Option<PublicKey> {
        self.sessions.get(token).filter(|(_, expires)| *expires > now).map(|(key, _)| *key)
    }
}

/// Compares secrets in time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

/// A caller allowed to read: a physician's session or the admin. (Which
/// physician is not kept: no read depends on it yet.)
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reader {
    /// A physician with a live session.
    Physician,
    /// The institution admin.
    Admin,
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::unauthenticated(
                "reading needs a session: POST /v1/session/challenge, sign it, POST /v1/session",
            )
        })?;
        if constant_time_eq(token.as_bytes(), state.admin_token.as_bytes()) {
            return Ok(Reader::Admin);
        }
        let now = crate::now();
        let key = state.sessions.lock().unwrap_or_else(|p| p.into_inner()).check(token, now);
        let Some(key) = key else {
            return Err(ApiError::unauthenticated(
                "the session is unknown or expired: open a new one",
            ));
        };
        // A session lasts only while its key is attested: a revocation (or
        // a lapse) ends it at once, not when it expires.
        if !state.store.attestation_status(&key, now)?.attested {
            state.sessions.lock().unwrap_or_else(|p| p.into_inner()).end(token);
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_attested",
                format!("{key} no longer holds an attestation in force; the session is closed"),
            ));
        }
        Ok(Reader::Physician)
    }
}

/// The institution admin, by its token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = bearer(parts) else {
            return Err(ApiError::unauthenticated(
                "admin calls need the token in the node's data directory (admin.token)",
            ));
        };
        if constant_time_eq(token.as_bytes(), state.admin_token.as_bytes()) {
            Ok(Admin)
        } else if state
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .check(token, crate::now())
            .is_some()
        {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "admin calls need the admin token, not a session",
            ))
        } else {
            Err(ApiError::unauthenticated("the admin token is wrong"))
        }
    }
}

#[derive(Deserialize, Serialize)]
pub(crate) struct ChallengeRequest {
    pub(crate) key: PublicKey,
}

#[derive(Serialize)]
pub(crate) struct ChallengeAnswer {
    challenge: String,
    expires_at: Timestamp,
}

pub(crate) async fn challenge(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ChallengeRequest>,
) -> axum::Json<ChallengeAnswer> {
    let (challenge, expires_at) =
        state.sessions.lock().unwrap_or_else(|p| p.into_inner()).challenge(req.key, crate::now());
    axum::Json(ChallengeAnswer { challenge: hex::encode(challenge), expires_at })
}

#[derive(Deserialize, Serialize)]
pub(crate) struct SessionRequest {
    pub(crate) key: PublicKey,
    challenge: String,
    pub(crate) signature: Signature,
}

impl SessionRequest {
    /// The challenge's 32 bytes, if it is 64 hex characters.
    pub(crate) fn challenge_bytes(&self) -> Option<[u8; 32]> {
        let mut challenge = [0u8; 32];
        hex::decode_to_slice(&self.challenge, &mut challenge).ok()?;
        Some(challenge)
    }
}

/// The refusal of a session request, whichever check failed (one answer,
/// so a caller learns nothing about which).
pub(crate) fn bad_challenge() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "bad_challenge",
        "the challenge is unknown, used or expired, or the signature does not verify: ask for a new one",
    )
}

#[derive(Serialize)]
pub(crate) struct SessionAnswer {
    token: String,
    expires_at: Timestamp,
}

pub(crate) async fn open_session(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SessionRequest>,
) -> Result<axum::Json<SessionAnswer>, ApiError> {
    let bad = bad_challenge;
    let challenge = req.challenge_bytes().ok_or_else(bad)?;
    let now = crate::now();
    if !state.sessions.lock().unwrap_or_else(|p| p.into_inner()).redeem(&req.key, &challenge, now) {
        return Err(bad());
    }
    req.key
        .verify(&session_message(&state.store.network(), &challenge), &req.signature)
        .map_err(|_| bad())?;
    let status = state.store.attestation_status(&req.key, now)?;
    if !status.attested {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_attested",
            format!("{} holds no attestation in force on this network", req.key),
        ));
    }
    let (token, expires_at) = state.sessions.lock().unwrap_or_else(|p| p.into_inner()).open(
        req.key,
        now,
        state.session_ms,
    );
    Ok(axum::Json(SessionAnswer { token, expires_at }))
}

/// Sessions shared by the handlers.
pub(crate) type SharedSessions = Mutex<Sessions>;
