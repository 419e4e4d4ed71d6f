//! # curbside-node
//!
//! A Curbside node: the sled store, the one ingest path, the libp2p swarm,
//! sync, the verifiers' audit log and the HTTP API.
//!
//! Only this crate knows sled and libp2p; it decides nothing about validity
//! itself — every event passes through [`curbside_protocol::validate`].
//!
//! A node is built from a checked [`config::NodeConfig`], its
//! [`datadir::DataDir`], a bound listener and a shutdown future
//! ([`run`]), so a test can start several in one process; the binary
//! acquires those resources and calls it.

#![warn(missing_docs)]

pub mod api;
pub mod audit;
pub mod codes;
pub mod config;
pub mod datadir;
pub mod dev;
pub mod ingest;
pub mod metrics;
pub mod net;
pub mod outcome;
mod ratelimit;
mod shutdown;
mod source;
pub mod store;
pub mod sync;

/// The allocator of every program that runs a node (the `curbside` binary,
/// the end-to-end tests, the benchmarks). sled 0.34 allocates and frees
/// page copies on every key it writes, on the writer's thread and on its
/// I/O threads; glibc's malloc serializes those threads on its arena locks.
/// With mimalloc the store writes about twice as fast on two loaded cores
/// (docs/BENCHMARKS.md, issue 3).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The port a node's HTTP API listens on by default (on 127.0.0.1).
pub const DEFAULT_API_PORT: u16 = 7420;

/// The default API address.
pub fn default_api_addr() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], DEFAULT_API_PORT))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_api_binds_to_loopback_by_default() {
        assert!(super::default_api_addr().ip().is_loopback());
    }
}

/// The wall clock as a protocol timestamp. The protocol never reads a
/// clock; the node does, here.
pub fn now() -> curbside_protocol::Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    curbside_protocol::Timestamp::from_millis(ms)
}

/// Why a node stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The store could not be opened.
    #[error("opening the store: {0}")]
    Store(#[from] store::StoreError),
    /// The network could not start.
    #[error("starting the network: {0}")]
    Net(#[from] net::NetError),
    /// The HTTP server failed.
    #[error("serving the API: {0}")]
    Serve(#[from] std::io::Error),
    /// A write or sync of the store failed, so the node stopped: restart it
    /// to reopen the store (nothing acknowledged was lost).
    #[error("the store failed ({0}); the node stopped: restart it to reopen the store")]
    StoreFailed(String),
    /// A step of stopping did not finish in time (a hung disk).
    #[error("stopping: {step}: {detail}")]
    Stalled {
        /// Which step.
        step: &'static str,
        /// What happened.
        detail: String,
    },
}

/// Runs a node: opens its store, starts ingest, and serves the API on
/// `listener` until `shutdown` resolves.
pub async fn run(
    config: config::NodeConfig,
    dir: datadir::DataDir,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    run_observed(config, dir, listener, shutdown, None).await
}

/// [`run`], also calling `observer` on the ingest thread with every event
/// stored, from any source, the moment it is durable: for programs that
/// embed nodes and time them (the propagation benchmark).
pub async fn run_observed(
    config: config::NodeConfig,
    dir: datadir::DataDir,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    observer: Option<ingest::Observer>,
) -> Result<(), NodeError> {
    let extra = observer;
    // Every API connection and every peer is a descriptor; the default
    // soft limit (often 1,024) is far below what the caps allow.
    let open_files = api::raise_open_file_limit();
    if let Some(warning) = config.api_warning() {
        tracing::warn!("{warning}");
    }
    let store = std::sync::Arc::new(store::Store::open_with(
        &dir.store_dir(),
        dir.genesis().clone(),
        config.store,
    )?);
    let index = std::sync::Arc::new(sync::SyncIndex::load(&store)?);
    // Wakes the witness whenever a tree head is stored, from any source.
    let heads = std::sync::Arc::new(tokio::sync::Notify::new());
    let observer: ingest::Observer = {
        let index = index.clone();
        let heads = heads.clone();
        std::sync::Arc::new(move |stored: &[ingest::StoredKey]| {
            index.insert(stored);
            if let Some(extra) = &extra {
                extra(stored);
            }
            if stored.iter().any(|(_, _, kind)| *kind == curbside_protocol::Kind::TreeHead) {
                heads.notify_one();
            }
        })
    };
    let metrics = std::sync::Arc::new(metrics::Metrics::default());
    let (ingester, ingest_thread) = ingest::Ingester::start_counted(
        store.clone(),
        config.ingest,
        now,
        observer,
        metrics.clone(),
    )?;
    let issuer = std::sync::Arc::new(audit::Issuer::new(
        store.clone(),
        ingester.clone(),
        dir.key().clone(),
        heads.clone(),
    ));
    if let Err(e) = issuer.recover().await {
        tracing::error!(error = %e, "publishing own log entries left by a crash failed");
    }
    let net = match config.net.clone() {
        Some(net_config) => Some(net::start(
            net_config,
            dir.key(),
            net::NetParts { store: store.clone(), ingester: ingester.clone(), index, clock: now },
        )?),
        None => None,
    };
    let (stop_witness, witness_stopped) = tokio::sync::oneshot::channel::<()>();
    let witness = audit::Witness::new(
        store.clone(),
        ingester.clone(),
        dir.key().clone(),
        net.as_ref().map(|(handle, _)| handle.clone()),
        heads,
        now,
        audit::WitnessConfig::default(),
    );
    let witness = tokio::spawn(witness.run(async move {
        let _ = witness_stopped.await;
    }));
    let state = api::Shared::new(api::ApiParts {
        store: store.clone(),
        ingester,
        issuer,
        key: dir.key().clone(),
        admin_token: dir.admin_token().to_string(),
        metrics,
        session_ms: config.session_ms,
        sessions_per_key: config.sessions_per_key,
        net: net.as_ref().map(|(handle, _)| handle.clone()),
        audit_quorum: config.audit_quorum,
        author_limit: config.author_limit,
        submit_limits: config.submit_limits,
        pending_max_age_ms: config.ingest.pending_max_age_ms,
    });
    let addr = listener.local_addr()?;
    tracing::info!(
        api = %addr,
        network = %store.network(),
        node = %dir.key().public(),
        events = store.counts().map(|c| c.events).unwrap_or(0),
        open_files,
        "node serving"
    );
    let pruner = tokio::spawn(prune_pending(store.clone(), config.ingest.pending_max_age_ms));
    let stop = shutdown::stop_signal(store.clone(), shutdown);
    let http = config.http.clone();
    let router = api::router(state);
    let served = shutdown::serve(listener, router, http, stop, shutdown::STEP_LIMIT).await;
    pruner.abort();
    let _ = pruner.await;
    let _ = stop_witness.send(());
    let _ = witness.await;
    if let Some((_, task)) = net {
        task.stop().await;
    }
    // Every handle to the ingest thread went with the router: wait for it to
    // finish its last batch and let go of the store.
    let joined = shutdown::bounded("ingest", shutdown::STEP_LIMIT, move || ingest_thread.join());
    let flushed = match joined.await {
        Ok(()) => {
            let store = store.clone();
            shutdown::bounded("final flush", shutdown::STEP_LIMIT, move || store.flush()).await
        }
        // The ingest thread holds the store's writer: a flush would wait for it.
        Err(e) => Err(e),
    };
    if store.has_failed() {
        let failure = store.failure().unwrap_or("unknown error").to_owned();
        return Err(NodeError::StoreFailed(failure));
    }
    flushed?.map_err(|e| NodeError::StoreFailed(e.to_string()))?;
    tracing::info!("node stopped");
    Ok(served?)
}

/// Drops pending events older than `max_age_ms`: once a minute, or four
/// times in `max_age_ms` if that is shorter (so an event is not held much
/// past its time), but at most once a second.
async fn prune_pending(store: std::sync::Arc<store::Store>, max_age_ms: u64) {
    let every = std::time::Duration::from_millis(max_age_ms / 4)
        .clamp(std::time::Duration::from_secs(1), std::time::Duration::from_secs(60));
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let store = store.clone();
        let cutoff = now().minus_millis(max_age_ms);
        match tokio::task::spawn_blocking(move || store.prune_pending(cutoff, now())).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(dropped = n, "pending events expired"),
            Ok(Err(e)) => tracing::error!(error = %e, "pruning pending events failed"),
            Err(e) => tracing::error!(error = %e, "pruning task failed"),
        }
    }
}
