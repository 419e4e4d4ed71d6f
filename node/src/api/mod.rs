//! The HTTP API (axum): JSON in, JSON out, errors with stable codes.
//! `docs/API.md` is its contract.

mod admin;
mod audit;
mod auth;
mod backup;
#[doc(hidden)]
pub mod bodies;
mod check;
mod error;
mod events;
mod ids;
mod limits;
mod me;
mod metrics;
mod moderation;
mod operators;
pub mod policy;
mod reads;
pub mod search;
mod server;
mod sessions;
mod stream;
mod sync;
#[cfg(test)]
mod tests;
pub mod types;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::routing::{get, post};
use curbside_protocol::SecretKey;

pub use crate::metrics::Metrics;
pub use auth::{SESSION_DOMAIN, admin_token_for, random_token, session_message};
pub(crate) use error::ApiError;
pub use limits::{AuthorLimit, SubmitLimits};
pub use server::{HttpLimits, raise_open_file_limit, serve};
pub use sessions::DEFAULT_SESSIONS_PER_KEY;
pub use stream::StreamCloser;

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
    pub(crate) issuer: Arc<crate::verifier::Issuer>,
    pub(crate) key: SecretKey,
    pub(crate) admin_token: String,
    pub(crate) sessions: auth::SharedSessions,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) session_ms: u64,
    /// Live sessions a physician's key may hold (and open within 2 minutes).
    pub(crate) sessions_per_key: usize,
    pub(crate) net: Option<crate::net::NetHandle>,
    pub(crate) audit_quorum: usize,
    /// What each physician has submitted lately.
    pub(crate) authors: std::sync::Mutex<crate::ratelimit::Buckets<curbside_protocol::PublicKey>>,
    pub(crate) author_limit: AuthorLimit,
    /// The events each address has had checked without credentials lately.
    pub(crate) strangers: std::sync::Mutex<crate::ratelimit::Buckets<crate::source::Source>>,
    /// The events each physician's sessions have had checked lately.
    pub(crate) session_work:
        std::sync::Mutex<crate::ratelimit::Buckets<curbside_protocol::PublicKey>>,
    pub(crate) submit_limits: SubmitLimits,
    /// How long an event may wait for what it needs.
    pub(crate) pending_max_age_ms: u64,
    /// The open inbox streams (`GET /v1/me/inbox/stream`).
    pub(crate) streams: stream::Streams,
    /// The search index (`None` if it could not be opened).
    pub(crate) search: Option<Arc<crate::search::SearchIndex>>,
    /// The searches each address has made lately.
    pub(crate) searches: std::sync::Mutex<crate::ratelimit::Buckets<crate::source::Source>>,
    /// Set while a backup is written (`POST /v1/admin/backup`): one at a time.
    pub(crate) backup_running: std::sync::atomic::AtomicBool,
}

impl Shared {
    /// What ends every inbox stream when the node stops.
    pub fn stream_closer(&self) -> StreamCloser {
        self.streams.closer()
    }
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
    pub issuer: Arc<crate::verifier::Issuer>,
    /// The node's key.
    pub key: SecretKey,
    /// The admin token.
    pub admin_token: String,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Session lifetime in milliseconds.
    pub session_ms: u64,
    /// Live sessions one physician's key may hold.
    pub sessions_per_key: usize,
    /// The network, if the node takes part in one.
    pub net: Option<crate::net::NetHandle>,
    /// Cosignatures that settle a tree head.
    pub audit_quorum: usize,
    /// What one physician may submit.
    pub author_limit: AuthorLimit,
    /// What the API checks for a caller before it verifies anything.
    pub submit_limits: SubmitLimits,
    /// How long an event may wait for what it needs.
    pub pending_max_age_ms: u64,
    /// The search index, if it opened.
    pub search: Option<Arc<crate::search::SearchIndex>>,
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
            sessions: std::sync::Mutex::new(sessions::Sessions::new(parts.sessions_per_key)),
            sessions_per_key: parts.sessions_per_key,
            metrics: parts.metrics,
            session_ms: parts.session_ms,
            net: parts.net,
            audit_quorum: parts.audit_quorum,
            authors: std::sync::Mutex::new(crate::ratelimit::Buckets::per_minute(
                parts.author_limit.per_minute,
                parts.author_limit.burst,
            )),
            author_limit: parts.author_limit,
            strangers: std::sync::Mutex::new(crate::ratelimit::Buckets::per_second(
                parts.submit_limits.stranger_per_second,
                parts.submit_limits.stranger_burst,
            )),
            session_work: std::sync::Mutex::new(crate::ratelimit::Buckets::per_minute(
                parts.submit_limits.session_per_minute,
                parts.submit_limits.session_burst,
            )),
            submit_limits: parts.submit_limits,
            pending_max_age_ms: parts.pending_max_age_ms,
            streams: stream::Streams::default(),
            search: parts.search,
            searches: std::sync::Mutex::new(crate::ratelimit::Buckets::per_second(
                search::SEARCHES_PER_SECOND,
                search::SEARCH_BURST,
            )),
            backup_running: std::sync::atomic::AtomicBool::new(false),
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

/// `axum::extract::Query`, with rejections in the API's error format
/// (`?limit=-1` is a `bad_request`, not axum's plain text).
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    axum::extract::Query<T>:
        FromRequestParts<S, Rejection = axum::extract::rejection::QueryRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// `axum::extract::Path`, with rejections in the API's error format (a
/// segment that is not UTF-8 once percent-decoded, `%ff`, is a
/// `bad_request`).
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    axum::extract::Path<T>:
        FromRequestParts<S, Rejection = axum::extract::rejection::PathRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
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
            crate::codes::Code::BodyTooLarge,
            format!("the request body exceeds {} bytes", MAX_BODY),
        )
        .into_response();
    }
    next.run(req).await
}

/// The router of a node's API.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/v1/status", get(reads::status))
        .route("/v1/network", get(reads::network))
        .route("/metrics", get(metrics::render))
        .route("/v1/events", post(events::submit))
        .route("/v1/check", post(check::check))
        .route("/v1/pending", get(events::pending))
        .route("/v1/session/challenge", post(auth::challenge))
        .route("/v1/session", post(auth::open_session))
        .route("/v1/hubs", get(reads::hubs))
        .route("/v1/specialties", get(reads::specialties))
        .route("/v1/jurisdictions", get(reads::jurisdictions))
        .route("/v1/hubs/{hub}/feed", get(reads::feed))
        .route("/v1/ids/{prefix}", get(ids::resolve))
        .route("/v1/events/{id}", get(reads::event))
        .route("/v1/events/{id}/thread", get(reads::thread))
        .route("/v1/polls/{id}/tally", get(reads::tally))
        .route("/v1/keys/{key}/attestation", get(reads::attestation))
        .route("/v1/admin/attest", post(admin::attest))
        .route("/v1/admin/hide", post(moderation::hide))
        .route("/v1/admin/unhide", post(moderation::unhide))
        .route("/v1/admin/hidden", get(moderation::hidden))
        .route("/v1/reports", post(moderation::report))
        .route("/v1/mod/queue", get(moderation::queue))
        .route("/v1/audit/moderation", get(moderation::record))
        .route("/v1/admin/revoke", post(admin::revoke))
        .route("/v1/admin/revoke-all", post(admin::revoke_all))
        .route("/v1/admin/attestations", get(admin::attestations))
        .route("/v1/admin/peers", post(admin::dial))
        .route("/v1/admin/sync", post(sync::sync_now))
        .route("/v1/admin/openings/{id}", get(audit::opening))
        .route("/v1/admin/openings", get(audit::openings))
        .route("/v1/admin/backup", post(backup::backup))
        .route("/v1/me/events", get(me::written))
        .route("/v1/me/inbox", get(me::inbox))
        .route("/v1/me/inbox/read", post(me::mark_read))
        .route("/v1/me/inbox/stream", get(stream::stream))
        .route("/v1/me/follows", get(me::follows).post(me::follow))
        .route("/v1/me/follows/{target}", axum::routing::delete(me::unfollow))
        .route("/v1/me/bookmarks", get(me::bookmarks).post(me::bookmark))
        .route("/v1/me/bookmarks/{id}", axum::routing::delete(me::unbookmark))
        .route("/v1/genesis", get(audit::genesis))
        .route("/v1/audit/logs", get(audit::logs))
        .route("/v1/audit/logs/{verifier}/heads", get(audit::heads))
        .route("/v1/audit/logs/{verifier}/leaves", get(audit::leaves))
        .route("/v1/audit/logs/{verifier}/consistency", get(audit::consistency))
        .route("/v1/audit/logs/{verifier}/inclusion", get(audit::inclusion))
        .route("/v1/audit/evidence", get(audit::evidence))
        .route("/v1/audit/charters", get(audit::charters))
        .route("/v1/audit/events/{id}", get(audit::trust_event))
        .route("/v1/search", get(search::search))
        .route("/v1/admin/operators", get(operators::list).post(operators::add))
        .route("/v1/admin/operators/{name}/revoke", post(operators::revoke))
        .route("/v1/admin/log", get(operators::log))
        .with_state(state.clone());
    // Outside the panic guard, so a call that panicked is recorded too.
    guarded(routes).layer(axum::middleware::from_fn_with_state(state, operators::record))
}

/// The layers every route of the API runs under, whatever its state: the
/// body limit, unknown routes and methods answered in the error format,
/// and a panicking handler answered `500 internal` (the connection and
/// the node go on).
fn guarded(routes: Router) -> Router {
    routes
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(refuse_announced_oversize))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(error::panicked))
}
