//! The API's HTTP/1.1 server: its own accept loop over hyper, because
//! `axum::serve` holds every connection for as long as the client likes.
//!
//! - **Caps.** At most [`HttpLimits::max_connections`] connections (and
//!   never more than half the process's open-file limit, which the node
//!   raises to its hard limit at start), at most
//!   [`HttpLimits::per_address`] from one address (an IPv4 address or an
//!   IPv6 /64) unless it is one of [`HttpLimits::proxies`], whose
//!   connections carry many physicians' requests. Over the per-address cap
//!   a connection is answered `429 too_many_connections` and closed.
//! - **Who gives way.** With every slot taken, the connection that has kept
//!   the node waiting on its client longest (idle, sending a request
//!   slowly, not reading its answer) is closed to make room; only if every
//!   connection has a handler at work is a new one answered `503 busy`.
//!   A physician's request arrives whole at once, so idle and slow sockets
//!   cannot keep it out, however many there are.
//! - **Timeouts.** A connection waiting for a request to begin is closed
//!   after [`HttpLimits::idle_timeout`]; a request whose headers and body
//!   have not all arrived [`HttpLimits::request_timeout`] after its first
//!   byte, and an answer the client does not read for as long, close it
//!   too. Handlers themselves are not timed: their work is the node's.
//! - **Accept errors.** Out of descriptors (`EMFILE`, `ENFILE`) or memory,
//!   the loop closes the connection that has waited longest on its client
//!   and backs off (10 ms, doubling to 1 s) instead of spinning; it never
//!   stops serving because of them.

mod conns;
mod io;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use crate::codes::Code;
use conns::{Refusal, Registry, Ticket, Timeouts};
use io::{Tracked, TrackedBody};

/// How the API's server holds connections (`api_*` in `node.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// Most connections at once.
    pub max_connections: usize,
    /// Most connections at once from one address (an IPv4 address, an IPv6
    /// /64), except from `proxies`.
    pub per_address: usize,
    /// Addresses whose connections carry many clients' requests (the
    /// institution's reverse proxy): only `max_connections` bounds them.
    pub proxies: Vec<IpAddr>,
    /// How long a connection may wait for a request to begin.
    pub idle_timeout: Duration,
    /// How long a request's headers and body may take to arrive from its
    /// first byte; and how long an answer may wait for the client to read.
    pub request_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            per_address: 64,
            proxies: vec![
                IpAddr::from([127, 0, 0, 1]),
                IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
            ],
            // Longer than a proxy's usual upstream keep-alive (nginx: 60 s),
            // so the proxy, not the node, closes an idle pooled connection
            // and never sends a request on one the node is closing.
            idle_timeout: Duration::from_secs(75),
            // A 1 MiB body at 35 KB/s; a slow-loris gets no longer.
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Refusals written at once; past it a refused socket is just closed.
const MAX_REFUSING: usize = 64;
/// How long a refusal may take to write and to see the client close.
const REFUSAL_TIME: Duration = Duration::from_secs(1);
const MIN_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Raises this process's soft limit on open files to its hard limit (each
/// connection, API or peer, is one), and returns the soft limit in force.
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use nix::sys::resource::{Resource, getrlimit, setrlimit};
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
        if soft >= hard {
            return Some(soft);
        }
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => {
                tracing::debug!(from = soft, to = hard, "raised the open-file limit");
                Some(hard)
            }
            Err(e) => {
                tracing::warn!(soft, hard, error = %e, "cannot raise the open-file limit");
                Some(soft)
            }
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The connection cap in force: `configured`, but never more than half the
/// open-file limit, so the store and the peers keep descriptors.
fn connection_cap(configured: usize) -> usize {
    #[cfg(unix)]
    let limit = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .ok()
        .map(|(soft, _)| soft);
    #[cfg(not(unix))]
    let limit: Option<u64> = None;
    match limit.map(|n| usize::try_from(n / 2).unwrap_or(usize::MAX)) {
        Some(half) if half < configured => {
            tracing::warn!(
                configured,
                cap = half.max(1),
                "api_max_connections is over half the open-file limit; using half"
            );
            half.max(1)
        }
        _ => configured,
    }
}

/// Where connections come from: a TCP listener, or a test's stand-in.
pub(crate) trait Accept {
    /// The next connection and its peer's address.
    fn next(&mut self) -> impl Future<Output = std::io::Result<(TcpStream, SocketAddr)>> + Send;
}

impl Accept for TcpListener {
    fn next(&mut self) -> impl Future<Output = std::io::Result<(TcpStream, SocketAddr)>> + Send {
        self.accept()
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets the
/// handlers at work finish and returns once every connection is closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_from(listener, app, limits, shutdown).await
}

/// [`serve`] with connections from `listener`.
pub(crate) async fn serve_from(
    mut listener: impl Accept,
    app: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let registry =
        Registry::new(connection_cap(limits.max_connections), limits.per_address, limits.proxies);
    let timeouts = Timeouts { idle: limits.idle_timeout, request: limits.request_timeout };
    let (stop, stopping) = watch::channel(false);
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let mut connections = JoinSet::new();
    let mut backoff = MIN_BACKOFF;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.next() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = MIN_BACKOFF;
                match registry.admit(peer.ip()) {
                    Ok(ticket) => {
                        let connection =
                            connection(stream, ticket, app.clone(), timeouts, stopping.clone());
                        connections.spawn(connection);
                    }
                    Err(refusal) => {
                        tracing::debug!(peer = %peer, ?refusal, "API connection refused");
                        refuse(stream, refusal, &refusing, &limits_text(&registry, refusal));
                    }
                }
            }
            Err(e) if transient(&e) => {}
            Err(e) => {
                let freed = registry.close_one();
                tracing::warn!(error = %e, backoff_ms = backoff.as_millis() as u64, freed,
                    "accepting an API connection failed; backing off");
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Errors of one connection that was already gone when accepted.
fn transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted)
}

fn limits_text(registry: &Registry, refusal: Refusal) -> String {
    match refusal {
        Refusal::TooManyFromAddress => format!(
            "this address holds {} connections to the node already; close some or wait",
            registry.per_address()
        ),
        Refusal::Full => "the node's connections are all busy; try again shortly".into(),
    }
}

/// Serves one connection until it closes, times out, is closed to make
/// room, or the server stops.
async fn connection(
    stream: TcpStream,
    mut ticket: Ticket,
    app: Router,
    timeouts: Timeouts,
    mut stopping: watch::Receiver<bool>,
) {
    let activity = ticket.activity.clone();
    let peer = stream.peer_addr().ok().map(|a| super::auth::PeerAddress(a.ip()));
    let io = TokioIo::new(Tracked::new(stream, activity.clone()));
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let activity = activity.clone();
        let app = app.clone();
        async move {
            let mut request =
                request.map(|body| axum::body::Body::new(TrackedBody::new(body, activity.clone())));
            // Who sent it, for the budgets of callers without credentials.
            if let Some(peer) = peer {
                request.extensions_mut().insert(peer);
            }
            let response = app.oneshot(request).await;
            activity.answered();
            response
        }
    });
    let served = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    tokio::pin!(served);
    let period = (timeouts.idle.min(timeouts.request) / 4)
        .clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopped = false;
    loop {
        tokio::select! {
            result = served.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "API connection ended with an error");
                }
                return;
            }
            _ = &mut ticket.closed => {
                tracing::debug!("API connection closed to make room for another");
                return;
            }
            _ = stopping.changed(), if !stopped => {
                stopped = true;
                served.as_mut().graceful_shutdown();
            }
            _ = tick.tick() => {
                if stopped && ticket.activity.waits_on_client() {
                    return;
                }
                if let Some(why) = ticket.activity.overdue(Instant::now(), &timeouts) {
                    tracing::debug!(?why, "API connection timed out");
                    return;
                }
            }
        }
    }
}

/// Answers a refused connection with its JSON error and closes it, or just
/// closes it if too many refusals are being written already.
fn refuse(mut stream: TcpStream, refusal: Refusal, refusing: &Arc<Semaphore>, message: &str) {
    let Ok(permit) = refusing.clone().try_acquire_owned() else { return };
    let code = match refusal {
        Refusal::TooManyFromAddress => Code::TooManyConnections,
        Refusal::Full => Code::Busy,
    };
    let status = code.http_status().unwrap_or(axum::http::StatusCode::SERVICE_UNAVAILABLE);
    let status = format!("{} {}", status.as_str(), status.canonical_reason().unwrap_or(""));
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    let answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\nretry-after: 1\r\n\r\n{body}",
        body.len()
    );
    tokio::spawn(async move {
        let _permit = permit;
        let _ = tokio::time::timeout(REFUSAL_TIME, async {
            stream.write_all(answer.as_bytes()).await?;
            stream.shutdown().await?;
            // Read what the client sent until it closes, so the answer is
            // not lost to a reset; a little only.
            let mut sink = [0u8; 4096];
            let mut left: usize = 64 * 1024;
            while left > 0 {
                match stream.read(&mut sink).await? {
                    0 => break,
                    n => left = left.saturating_sub(n),
                }
            }
            Ok::<(), std::io::Error>(())
        })
        .await;
    });
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A listener out of descriptors: every accept fails with `EMFILE`.
    struct OutOfFiles(Arc<AtomicUsize>);

    impl Accept for OutOfFiles {
        fn next(
            &mut self,
        ) -> impl Future<Output = std::io::Result<(TcpStream, SocketAddr)>> + Send {
            self.0.fetch_add(1, Ordering::Relaxed);
            std::future::ready(Err(std::io::Error::from_raw_os_error(24)))
        }
    }

    #[tokio::test]
    async fn out_of_descriptors_the_loop_backs_off_and_keeps_serving() {
        let calls = Arc::new(AtomicUsize::new(0));
        let shutdown = tokio::time::sleep(Duration::from_millis(500));
        let served =
            serve_from(OutOfFiles(calls.clone()), Router::new(), HttpLimits::default(), shutdown);
        assert!(served.await.is_ok(), "EMFILE does not end the server");
        // 10 + 20 + 40 + 80 + 160 ms of backoff fit in 500 ms: about six
        // tries, where a loop that retried at once would make millions.
        let calls = calls.load(Ordering::Relaxed);
        assert!((3..=10).contains(&calls), "{calls} accepts in 500 ms");
    }
}
