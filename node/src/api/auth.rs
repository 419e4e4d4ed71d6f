//! Who may read: physicians with a session won by signing a challenge with
//! an attested key; the institution's admin with its token.

use std::sync::Mutex;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use curbside_protocol::{NetworkId, PublicKey, Signature, Timestamp};

use super::sessions::{OpenError, Sessions};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::{ApiError, ApiJson, AppState};
use crate::codes::Code;

/// Domain separation for session challenges.
pub const SESSION_DOMAIN: &[u8] = b"curbside/session/v1";

/// What a physician signs to open a session: `SHA-256(domain ‖ network ‖ challenge)`.
pub fn session_message(network: &NetworkId, challenge: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(SESSION_DOMAIN);
    h.update(network.as_bytes());
    h.update(challenge);
    h.finalize().into()
}

pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
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

/// Who a bearer token says the caller is.
enum Caller {
    Admin,
    Physician(PublicKey),
}

/// The caller a request's bearer token names: `None` without one; an
/// error for a token that is neither the admin's nor a live session of a
/// key attested now (a revocation or a lapse ends its sessions at once).
fn caller(parts: &Parts, state: &AppState) -> Result<Option<Caller>, ApiError> {
    let Some(token) = bearer(parts) else { return Ok(None) };
    if super::operators::resolve(state, token)?.is_some() {
        return Ok(Some(Caller::Admin));
    }
    let now = crate::now();
    let key = state.sessions.lock().unwrap_or_else(|p| p.into_inner()).check(token, now);
    let Some(key) = key else {
        return Err(ApiError::unauthenticated("the session is unknown or expired: open a new one"));
    };
    if !state.store.events().attestation_status(&key, now)?.attested {
        state.sessions.lock().unwrap_or_else(|p| p.into_inner()).end(token);
        return Err(ApiError::new(
            Code::NotAttested,
            format!("{key} no longer holds an attestation in force; the session is closed"),
        ));
    }
    Ok(Some(Caller::Physician(key)))
}

/// A physician with a live session, and their key (reports, the
/// moderation queue).
pub(crate) struct Physician(pub(crate) PublicKey);

impl FromRequestParts<AppState> for Physician {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match caller(parts, state)? {
            Some(Caller::Physician(key)) => Ok(Physician(key)),
            Some(Caller::Admin) => Err(ApiError::new(
                Code::Forbidden,
                "this call is a physician's: open a session with an attested key",
            )),
            None => Err(ApiError::unauthenticated(
                "this call needs a session: POST /v1/session/challenge, sign it, POST /v1/session",
            )),
        }
    }
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match caller(parts, state)? {
            Some(Caller::Admin) => Ok(Reader::Admin),
            Some(Caller::Physician(_)) => Ok(Reader::Physician),
            None => Err(ApiError::unauthenticated(
                "reading needs a session: POST /v1/session/challenge, sign it, POST /v1/session",
            )),
        }
    }
}

/// Who submits events, and so whose budget the work goes to: the operator
/// (the admin token), a physician (a session), or, with no credentials, a
/// stranger known only by the address the request came from (an IPv4
/// address or an IPv6 /64; through a proxy, the proxy's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Submitter {
    /// The admin token.
    Operator,
    /// A physician's session.
    Physician(PublicKey),
    /// No credentials.
    Stranger(crate::source::Source),
}

/// The address a request came from, as the server puts it on the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerAddress(pub(crate) std::net::IpAddr);

impl FromRequestParts<AppState> for Submitter {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(match caller(parts, state)? {
            Some(Caller::Admin) => Submitter::Operator,
            Some(Caller::Physician(key)) => Submitter::Physician(key),
            None => {
                // A router driven without the server (tests, fuzzing) has no
                // address: it is this machine.
                let ip = parts
                    .extensions
                    .get::<PeerAddress>()
                    .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), |a| a.0);
                Submitter::Stranger(crate::source::Source::of(ip))
            }
        })
    }
}

impl Submitter {
    /// Whose share of the pending set what it submits takes.
    pub(crate) fn holder(&self) -> crate::store::Holder {
        match self {
            Submitter::Operator => crate::store::Holder::Operator,
            Submitter::Physician(key) => crate::store::Holder::Physician(*key),
            Submitter::Stranger(source) => crate::store::Holder::Stranger(source.ip()),
        }
    }
}

/// An operator of the institution: the admin token's (`owner`) or a named
/// operator's credential. The call is recorded in the admin log under
/// their name (`operators::record`); the handler adds what it is about
/// with [`Admin::note`].
#[derive(Debug, Clone)]
pub(crate) struct Admin {
    operator: super::operators::Operator,
    call: super::operators::AdminCall,
}

impl Admin {
    /// The operator's name.
    pub(crate) fn name(&self) -> String {
        self.operator.name.clone()
    }

    /// The call is about `value`, for the admin log (an id, a key, a
    /// licence commitment; never a licence or a secret).
    pub(crate) fn note(&self, what: &str, value: impl std::fmt::Display) {
        self.call.note(what, value);
    }

    /// The call is not recorded (reading the admin log).
    pub(crate) fn unrecorded(&self) {
        self.call.unrecorded();
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = bearer(parts) else {
            return Err(ApiError::unauthenticated(
                "admin calls need the token in the node's data directory (admin.token)",
            ));
        };
        if let Some(operator) = super::operators::resolve(state, token)? {
            let call =
                parts.extensions.get::<super::operators::AdminCall>().cloned().ok_or_else(
                    || ApiError::internal("an admin call came without the admin log"),
                )?;
            let action = super::operators::action_of(
                &parts.method,
                parts.extensions.get::<axum::extract::MatchedPath>(),
            );
            call.begin(operator.clone(), action);
            Ok(Admin { operator, call })
        } else if state
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .check(token, crate::now())
            .is_some()
        {
            Err(ApiError::new(Code::Forbidden, "admin calls need the admin token, not a session"))
        } else if let Some(owner) = token_node(token)
            && owner != state.key.public().short()
        {
            Err(ApiError::new(
                Code::WrongNode,
                format!(
                    "this admin token belongs to node {owner}, not to this node ({}): the command \
                     reached another node than the one whose token it holds; name the right one \
                     with --node URL, or set its api address in node.toml",
                    state.key.public().short()
                ),
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
        state.sessions.lock().unwrap_or_else(|p| p.into_inner()).challenge(&req.key, crate::now());
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
        Code::BadChallenge,
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
    // Nothing is stored for a caller until the key's own signature and its
    // attestation have been checked.
    if !state.sessions.lock().unwrap_or_else(|p| p.into_inner()).genuine(&req.key, &challenge, now)
    {
        return Err(bad());
    }
    req.key
        .verify(&session_message(&state.store.network(), &challenge), &req.signature)
        .map_err(|_| bad())?;
    let status = state.store.events().attestation_status(&req.key, now)?;
    if !status.attested {
        return Err(ApiError::new(
            Code::NotAttested,
            format!("{} holds no attestation in force on this network", req.key),
        ));
    }
    let opened = state.sessions.lock().unwrap_or_else(|p| p.into_inner()).open(
        req.key,
        &challenge,
        now,
        state.session_ms,
    );
    match opened {
        Ok((token, expires_at)) => Ok(axum::Json(SessionAnswer { token, expires_at })),
        Err(OpenError::Used) => Err(bad()),
        Err(OpenError::TooMany) => Err(ApiError::new(
            Code::RateLimited,
            format!(
                "{} opened {} sessions in the last 2 minutes, the most this node allows; \
                 wait a minute or two",
                req.key, state.sessions_per_key
            ),
        )),
    }
}

/// Sessions shared by the handlers.
pub(crate) type SharedSessions = Mutex<Sessions>;

/// How an admin token made for one node starts: `curbside-admin-`, then
/// the node key's [`PublicKey::short`] form, then `-` and a random token.
/// The owner in the clear lets a node tell "a token of another node" (the
/// command reached the wrong node) from "a wrong token"; the secret part
/// is as strong as any other token. Tokens of older data directories (a
/// random token alone) keep working.
pub(crate) const ADMIN_TOKEN_PREFIX: &str = "curbside-admin-";

/// A new admin token for the node whose key is `node`.
pub fn admin_token_for(node: &PublicKey) -> String {
    format!("{ADMIN_TOKEN_PREFIX}{}-{}", node.short(), random_token())
}

/// The short node key an admin token was made for, if it says.
fn token_node(token: &str) -> Option<&str> {
    let (owner, _) = token.strip_prefix(ADMIN_TOKEN_PREFIX)?.split_once('-')?;
    (owner.len() == 16 && owner.bytes().all(|b| b.is_ascii_hexdigit())).then_some(owner)
}

/// A fresh random token, as 64 hex characters.
pub fn random_token() -> String {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    #[allow(clippy::expect_used)]
    getrandom::fill(bytes.as_mut_slice())
        .expect("the operating system's random number generator failed");
    hex::encode(bytes.as_slice())
}
