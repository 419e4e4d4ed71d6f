//! The HTTP API (axum): JSON in, JSON out, errors with stable codes.
//! `docs/API.md` is its contract.

mod admin;
mod audit;
mod auth;
#[doc(hidden)]
pub mod bodies;
mod error;
mod events;
mod metrics;
mod reads;
#[cfg(test)]
mod tests;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::routing::{get, post};
use curbside_protocol::SecretKey;

pub use crate::metrics::Metrics;
pub use auth::{SESSION_DOMAIN, session_message};
pub(crate) use error::ApiError;

use crate::ingest::Ingester;
use crate::store::Store;

/// Largest request body.
pub const MAX_BODY: usize = 1 << 20;
/// Largest page (of a feed or a thread).
pub const MAX_PAGE: usize = 200;
/// Entries of a thread page when the request names no `limit`: a whole
/// discussion of ordinary length in one answer.
pub const THREAD_PAGE: usize = 100;

/// What every handler shares.
pub struct Shared {
    pub(crate) store: Arc<Store>,
    pub(crate) ingester: Ingester,
    pub(crate) issuer: Arc<crate::audit::Issuer>,
    pub(crate) key: SecretKey,
    pub(crate) admin_token: String,
    pub(crate) sessions: auth::SharedSessions,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) session_ms: u64,
    pub(crate) net: Option<crate::net::NetHandle>,
    pub(crate) audit_quorum: usize,
    /// What each physician has submitted lately.
    pub(crate) authors: std::sync::Mutex<crate::ratelimit::Buckets<curbside_protocol::PublicKey>>,
    pub(crate) author_limit: crate::config::AuthorLimit,
}

/// Never prints the admin token or the sessions' tokens.
impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("network", &self.store.network())
            .field("key", &self.key)
            .field("admin_token", &"<redacted>")
            .field("session_ms", &self.session_ms)
            .field("audit_quorum", &self.audit_quorum)
            .finish_non_exhaustive()
    }
}

/// The handlers' state.
pub type AppState = Arc<Shared>;

/// What a node's API is built from.
pub struct ApiParts {
    /// The store (read directly; written through `ingester` and `issuer`).
    pub store: Arc<Store>,
    /// The ingest path.
    pub ingester: Ingester,
    /// This node's own audit log.
    pub issuer: Arc<crate::audit::Issuer>,
    /// The node's key.
    pub key: SecretKey,
    /// The admin token.
    pub admin_token: String,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Session lifetime in milliseconds.
    pub session_ms: u64,
    /// The network, if the node takes part in one.
    pub net: Option<crate::net::NetHandle>,
    /// Cosignatures that settle a tree head.
    pub audit_quorum: usize,
    /// What one physician may submit.
    pub author_limit: crate::config::AuthorLimit,
}

impl std::fmt::Debug for ApiParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiParts").field("key", &self.key).finish_non_exhaustive()
    }
}

impl Shared {
    /// State for the API of a node.
    pub fn new(parts: ApiParts) -> AppState {
        Arc::new(Self {
            store: parts.store,
            ingester: parts.ingester,
            issuer: parts.issuer,
            key: parts.key,
            admin_token: parts.admin_token,
            sessions: Default::default(),
            metrics: parts.metrics,
            session_ms: parts.session_ms,
            net: parts.net,
            audit_quorum: parts.audit_quorum,
            authors: std::sync::Mutex::new(crate::ratelimit::Buckets::per_minute(
                parts.author_limit.per_minute,
                parts.author_limit.burst,
            )),
            author_limit: parts.author_limit,
        })
    }
}

/// `axum::Json`, with rejections in the API's error format.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(Self(value))
    }
}

/// Refuses a body whose announced length is over [`MAX_BODY`] before
/// reading any of it. (Bodies without a length are cut off at the limit as
/// they are read.)
async fn refuse_announced_oversize(
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let announced = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY as u64) {
        return ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body exceeds {} bytes", MAX_BODY),
        )
        .into_response();
    }
    next.run(req).await
}

/// The router of a node's API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/status", get(reads::status))
        .route("/v1/network", get(reads::network))
        .route("/metrics", get(metrics::render))
        .route("/v1/events", post(events::submit))
        .route("/v1/session/challenge", post(auth::challenge))
        .route("/v1/session", post(auth::open_session))
        .route("/v1/hubs", get(reads::hubs))
        .route("/v1/hubs/{hub}/feed", get(reads::feed))
        .route("/v1/events/{id}", get(reads::event))
        .route("/v1/events/{id}/thread", get(reads::thread))
        .route("/v1/polls/{id}/tally", get(reads::tally))
        .route("/v1/keys/{key}/attestation", get(reads::attestation))
        .route("/v1/admin/attest", post(admin::attest))
        .route("/v1/admin/revoke", post(admin::revoke))
        .route("/v1/admin/peers", post(admin::dial))
        .route("/v1/admin/openings/{id}", get(audit::opening))
        .route("/v1/genesis", get(audit::genesis))
        .route("/v1/audit/logs", get(audit::logs))
        .route("/v1/audit/logs/{verifier}/heads", get(audit::heads))
        .route("/v1/audit/logs/{verifier}/leaves", get(audit::leaves))
        .route("/v1/audit/logs/{verifier}/consistency", get(audit::consistency))
        .route("/v1/audit/logs/{verifier}/inclusion", get(audit::inclusion))
        .route("/v1/audit/evidence", get(audit::evidence))
        .route("/v1/audit/charters", get(audit::charters))
        .route("/v1/audit/events/{id}", get(audit::trust_event))
        .fallback(error::no_route)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(refuse_announced_oversize))
        .with_state(state)
}
