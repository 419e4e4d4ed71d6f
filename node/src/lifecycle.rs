//! Starting and stopping a node: the one place that wires its parts
//! together and the one place that takes them apart again.
//!
//! ```text
//! NodeBuilder::new(config, dir)        what to run
//!     .observer(…)                     optional: told of every event stored
//!     .start(listener)  ─▶ RunningNode serving on the bound listener
//!     .run(listener, shutdown)         start, then stop when `shutdown` resolves
//!     .spawn_on_own_runtime(…) ─▶ NodeThread  (a thread and runtime of its own)
//! ```
//!
//! Starting opens the store, starts the ingest threads, the audit log's
//! issuer and witness, the network and the API. Stopping goes the other
//! way, in this order, whoever asks ([`RunningNode::shutdown`], its `Drop`,
//! a failed store, a start that fails half-way):
//!
//! 1. stop accepting API connections, and let those in flight finish;
//! 2. stop the pending-set pruner, the witness and the network;
//! 3. drain ingest: with every handle to it gone, its threads write their
//!    last batch and end; join them;
//! 4. flush the store and let go of it.
//!
//! Each step that may wait on the disk is bounded (`shutdown::STEP_LIMIT`).
//! Until step 3 is done the ingest threads hold the store, so a data
//! directory cannot be opened again before a node's stop has returned.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

use crate::config::NodeConfig;
use crate::datadir::DataDir;
use crate::ingest::{IngestThread, Ingester, Observer, StoredKey};
use crate::metrics::Metrics;
use crate::net::{NetHandle, NetTask};
use crate::search::{Indexer, IndexerThread, Opened, SearchIndex};
use crate::store::Store;
use crate::sync::SyncIndex;
use crate::{NodeError, api, net, now, shutdown, verifier};

/// What node to start: its checked configuration, its data directory and,
/// optionally, who to tell of every event it stores.
#[must_use = "a node starts only when `start`, `run` or `spawn_on_own_runtime` is called"]
pub struct NodeBuilder {
    config: NodeConfig,
    dir: DataDir,
    observer: Option<Observer>,
}

impl std::fmt::Debug for NodeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeBuilder")
            .field("data", &self.config.data)
            .field("observed", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl NodeBuilder {
    /// A node run with `config` on the data directory `dir`.
    pub fn new(config: NodeConfig, dir: DataDir) -> Self {
        Self { config, dir, observer: None }
    }

    /// Also calls `observer` on the ingest thread with every event stored,
    /// from any source, the moment it is durable: for programs that embed
    /// nodes and time them (the propagation benchmark).
    pub fn observer(self, observer: Observer) -> Self {
        Self { observer: Some(observer), ..self }
    }

    /// Runs the node: starts it serving its API on `listener`, and stops it
    /// (in order, see the module doc) when `shutdown` resolves or its store
    /// fails. The shape of a server in the binary: it binds, passes Ctrl-C.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), NodeError> {
        self.start(listener).await?.run_until(shutdown).await
    }

    /// Starts the node serving its API on `listener`. If a part fails to
    /// start, what was already started is stopped, and the store let go,
    /// before the error is returned: the data directory can be opened again
    /// at once.
    pub async fn start(self, listener: tokio::net::TcpListener) -> Result<RunningNode, NodeError> {
        let Self { config, dir, observer } = self;
        let api_addr = listener.local_addr()?;
        // Every API connection and every peer is a descriptor; the default
        // soft limit (often 1,024) is far below what the caps allow.
        let open_files = api::raise_open_file_limit();
        if let Some(warning) = config.api_warning() {
            tracing::warn!("{warning}");
        }
        let store =
            Arc::new(Store::open_with(&dir.store_dir(), dir.genesis().clone(), config.store)?);
        let index = Arc::new(SyncIndex::load(&store)?);
        let (search, indexer) = open_search(&dir, &store);
        // Wakes the witness whenever a tree head is stored, from any source.
        let heads = Arc::new(Notify::new());
        let metrics = Arc::new(Metrics::default());
        let builder = Ingester::builder(store.clone(), config.ingest, now)
            .observer(stored_observer(store.clone(), index.clone(), heads.clone(), observer))
            .counts(metrics.clone());
        // The search indexer is handed what ingest stored, as decoded and
        // validated, so that it need not read it back.
        let (builder, indexer) = match indexer {
            Some((handle, thread)) => {
                let store = store.clone();
                let handoff = move |events| handle.stored(events, store.commits_made());
                (builder.handoff(Box::new(handoff)), Some(thread))
            }
            None => (builder, None),
        };
        let (ingester, ingest) = builder.start()?;
        // The hand-off holds the only handle to the indexer: it ends once
        // the ingest threads have.
        let ingest = Stopping { ingest, indexer };
        let core = Core { store: store.clone(), ingester, index, heads, metrics, search };
        // `ingester` went into `core`: if a part fails to start, every
        // handle to the ingest threads is gone when `start_parts` returns,
        // so they can be joined here.
        let parts = match start_parts(&config, &dir, core).await {
            Ok(parts) => parts,
            Err(e) => {
                if let Err(closing) = close_store(&store, ingest).await {
                    tracing::error!(error = %closing, "closing the store after a failed start");
                }
                return Err(e);
            }
        };
        tracing::info!(
            api = %api_addr,
            network = %store.network(),
            node = %dir.key().public(),
            events = store.counts().map(|c| c.events).unwrap_or(0),
            open_files,
            "node serving"
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_then_stop(config, listener, parts, ingest, stopped));
        Ok(RunningNode { api_addr, stop: Some(stop), task: Some(task) })
    }

    /// Runs the node on a thread and tokio runtime of its own (two worker
    /// threads), serving its API on `listener`: how the demo, the end-to-end
    /// tests and the benchmarks run several nodes in one process, each as
    /// independent of the caller's threads as a separate `curbside node run`.
    ///
    /// `enter` runs first on the new thread, before the runtime starts (the
    /// runtime's threads are started from it and inherit what it set: the
    /// tests enter a network namespace there).
    pub fn spawn_on_own_runtime(
        self,
        name: String,
        listener: std::net::TcpListener,
        enter: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<NodeThread> {
        let api_addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name(name).spawn(move || {
            enter();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                self.run(listener, async {
                    let _ = stopped.await;
                })
                .await
            })
        })?;
        Ok(NodeThread { api_addr, stop: Some(stop), thread: Some(thread) })
    }
}

/// Opens the search index beside the store, bringing it up to date (a
/// rebuild if it is missing or of another format), and starts its indexer.
/// A node whose index cannot be opened still runs: its searches answer
/// `search_unavailable`.
#[allow(clippy::type_complexity)]
fn open_search(
    dir: &DataDir,
    store: &Arc<Store>,
) -> (Option<Arc<SearchIndex>>, Option<(Indexer, IndexerThread)>) {
    let path = SearchIndex::dir_in(dir.root());
    let started = std::time::Instant::now();
    // A rebuild of a large store takes a while: say how far it has got.
    let mut told = 0;
    let opened = SearchIndex::open(&path, store, &mut |done, total| {
        if done >= told + 100_000 {
            told = done;
            tracing::info!(done, total, "indexing the store for search");
        }
    });
    let (index, how) = match opened {
        Ok((index, how)) => (Arc::new(index), how),
        Err(e) => {
            tracing::error!(error = %e, "the search index could not be opened; search is off");
            return (None, None);
        }
    };
    if how != Opened::Current {
        tracing::info!(
            ?how,
            ms = started.elapsed().as_millis() as u64,
            "search index brought up to date"
        );
    }
    match Indexer::start(index.clone(), store.clone()) {
        Ok(indexer) => (Some(index), Some(indexer)),
        Err(e) => {
            tracing::error!(error = %e, "the search indexer could not start; search is off");
            (None, None)
        }
    }
}

/// What stopping waits for after the API and the network: the ingest
/// threads, then the search indexer (its last commit).
struct Stopping {
    ingest: IngestThread,
    indexer: Option<IndexerThread>,
}

/// The observer the ingest threads call: keeps the sync sets current, wakes
/// the witness on a tree head, and tells the embedding program's observer.
/// (The search indexer is handed the events themselves: `start`.)
fn stored_observer(
    store: Arc<Store>,
    index: Arc<SyncIndex>,
    heads: Arc<Notify>,
    extra: Option<Observer>,
) -> Observer {
    Arc::new(move |stored: &[StoredKey]| {
        index.insert(stored);
        index.forget(&store.events().drain_taken_back());
        if let Some(extra) = &extra {
            extra(stored);
        }
        if stored.iter().any(|(_, _, kind)| *kind == curbside_protocol::Kind::TreeHead) {
            heads.notify_one();
        }
    })
}

/// What every other part is built on: the store and the ingest path.
struct Core {
    store: Arc<Store>,
    ingester: Ingester,
    index: Arc<SyncIndex>,
    heads: Arc<Notify>,
    metrics: Arc<Metrics>,
    search: Option<Arc<SearchIndex>>,
}

/// The parts of a started node, besides the ingest threads, in the order
/// they are stopped.
struct Parts {
    router: axum::Router,
    pruner: JoinHandle<()>,
    witness: (oneshot::Sender<()>, JoinHandle<()>),
    net: Option<NetTask>,
    store: Arc<Store>,
    /// Ends the inbox streams once the API stops taking requests.
    streams: api::StreamCloser,
}

/// Starts the audit log's issuer and witness, the network and the pending
/// pruner, and builds the API's router. Takes `core` whole, so that on an
/// error every handle to the ingest threads is dropped on return.
async fn start_parts(config: &NodeConfig, dir: &DataDir, core: Core) -> Result<Parts, NodeError> {
    let Core { store, ingester, index, heads, metrics, search } = core;
    let issuer = Arc::new(verifier::Issuer::new(
        store.clone(),
        ingester.clone(),
        dir.key().clone(),
        heads.clone(),
    ));
    if let Err(e) = issuer.recover().await {
        tracing::error!(error = %e, "publishing own log entries left by a crash failed");
    }
    let (net_handle, net): (Option<NetHandle>, Option<NetTask>) = match config.net.clone() {
        Some(net_config) => {
            let parts = net::NetParts {
                store: store.clone(),
                ingester: ingester.clone(),
                index,
                clock: now,
                metrics: metrics.clone(),
            };
            // Peers to hear from before signing: configured, or met before.
            let expects_peers = !net_config.bootstrap.is_empty()
                || store.peers().saved().is_ok_and(|saved| !saved.is_empty());
            let (handle, task) = net::start(net_config, dir.key(), parts)?;
            issuer.guard().connect(Arc::new(handle.clone()), expects_peers);
            tokio::spawn(verifier::guard::Guard::at_start(Arc::downgrade(issuer.guard())));
            (Some(handle), Some(task))
        }
        None => (None, None),
    };
    let (stop_witness, witness_stopped) = oneshot::channel::<()>();
    let witness = verifier::Witness::new(
        store.clone(),
        ingester.clone(),
        dir.key().clone(),
        net_handle.clone(),
        heads,
        now,
        verifier::WitnessConfig::default(),
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
        net: net_handle,
        audit_quorum: config.audit_quorum,
        author_limit: config.author_limit,
        submit_limits: config.submit_limits,
        pending_max_age_ms: config.ingest.pending_max_age_ms,
        search,
    });
    let pruner = tokio::spawn(prune_pending(store.clone(), config.ingest.pending_max_age_ms));
    let streams = state.stream_closer();
    Ok(Parts {
        router: api::router(state),
        pruner,
        witness: (stop_witness, witness),
        net,
        store,
        streams,
    })
}

/// Serves the API until `stopped` resolves (or its sender is dropped) or
/// the store fails, then stops the node in order (see the module doc).
async fn serve_then_stop(
    config: NodeConfig,
    listener: tokio::net::TcpListener,
    parts: Parts,
    ingest: Stopping,
    stopped: oneshot::Receiver<()>,
) -> Result<(), NodeError> {
    let Parts { router, pruner, witness: (stop_witness, witness), net, store, streams } = parts;
    let signal = shutdown::stop_signal(store.clone(), async {
        let _ = stopped.await;
    });
    // A stream is an answer that never ends by itself: ended here, it does
    // not hold the stop for the requests' time limit.
    let stop = async move {
        signal.await;
        streams.close();
    };
    // Step 1. The router, and with it the API's handles to ingest, is
    // dropped when this returns.
    let served = shutdown::serve(listener, router, config.http, stop, shutdown::STEP_LIMIT).await;
    // Step 2.
    pruner.abort();
    let _ = pruner.await;
    let _ = stop_witness.send(());
    let _ = witness.await;
    if let Some(task) = net {
        task.stop().await;
    }
    // Steps 3 and 4.
    close_store(&store, ingest).await?;
    tracing::info!("node stopped");
    Ok(served?)
}

/// Waits for the ingest threads to write their last batch and end (every
/// handle to them must be gone), then flushes the store: bounded steps.
/// A store that failed while running is reported as such.
async fn close_store(store: &Arc<Store>, stopping: Stopping) -> Result<(), NodeError> {
    let Stopping { ingest, indexer } = stopping;
    let joined = shutdown::bounded("ingest", shutdown::STEP_LIMIT, move || ingest.join());
    // With the ingest threads gone, so is the indexer's last handle: it
    // commits what it was told and ends.
    let joined = match (joined.await, indexer) {
        (Ok(()), Some(indexer)) => {
            shutdown::bounded("search index", shutdown::STEP_LIMIT, move || indexer.join()).await
        }
        (joined, _) => joined,
    };
    let flushed = match joined {
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
    flushed?.map_err(|e| NodeError::StoreFailed(e.to_string()))
}

/// Drops pending events older than `max_age_ms`: once a minute, or four
/// times in `max_age_ms` if that is shorter (so an event is not held much
/// past its time), but at most once a second.
async fn prune_pending(store: Arc<Store>, max_age_ms: u64) {
    let every = std::time::Duration::from_millis(max_age_ms / 4)
        .clamp(std::time::Duration::from_secs(1), std::time::Duration::from_secs(60));
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let store = store.clone();
        let cutoff = now().minus_millis(max_age_ms);
        match tokio::task::spawn_blocking(move || store.pending().prune(cutoff, now())).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(dropped = n, "pending events expired"),
            Ok(Err(e)) => tracing::error!(error = %e, "pruning pending events failed"),
            Err(e) => tracing::error!(error = %e, "pruning task failed"),
        }
    }
}

/// A started node, serving its API. [`RunningNode::shutdown`] stops it and
/// waits until it has let go of its store; dropping it starts the same
/// stop without waiting (the node's runtime must live on for it to finish).
#[derive(Debug)]
pub struct RunningNode {
    api_addr: SocketAddr,
    /// Tells the serving task to stop; dropping it does too.
    stop: Option<oneshot::Sender<()>>,
    /// Serves, then stops the node in order.
    task: Option<JoinHandle<Result<(), NodeError>>>,
}

impl RunningNode {
    /// Where its API listens.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// Serves until `shutdown` resolves, then stops; or until the node
    /// stops by itself (its store failed), with why.
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> Result<(), NodeError> {
        let Some(task) = self.task.as_mut() else { return Ok(()) };
        let ended = tokio::select! {
            () = shutdown => None,
            ended = task => Some(ended),
        };
        match ended {
            None => self.shutdown().await,
            Some(ended) => {
                self.task = None;
                outcome(ended)
            }
        }
    }

    /// Stops the node (see the module doc for the order) and waits until
    /// it has: the data directory can then be opened again.
    pub async fn shutdown(mut self) -> Result<(), NodeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => outcome(task.await),
            None => Ok(()),
        }
    }
}

impl Drop for RunningNode {
    /// Starts the stop; the serving task carries it out on the runtime.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The serving task's result, a panic in it included.
fn outcome(ended: Result<Result<(), NodeError>, tokio::task::JoinError>) -> Result<(), NodeError> {
    ended.unwrap_or_else(|_| Err(NodeError::Panicked("serving task")))
}

/// A node running on a thread and runtime of its own
/// ([`NodeBuilder::spawn_on_own_runtime`]). Dropping it stops the node and
/// waits for its thread.
#[derive(Debug)]
pub struct NodeThread {
    api_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), NodeError>>>,
}

impl NodeThread {
    /// Where its API listens.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// Its API's base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.api_addr)
    }

    /// Whether the node's thread has ended: it was stopped, or it stopped
    /// by itself (it failed to start, or its store failed).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(std::thread::JoinHandle::is_finished)
    }

    /// If the node has stopped by itself, why; `None` while it runs.
    pub fn ended(&mut self) -> Option<Result<(), NodeError>> {
        if !self.thread.as_ref().is_some_and(std::thread::JoinHandle::is_finished) {
            return None;
        }
        self.thread.take().map(joined)
    }

    /// Asks the node to stop, without waiting: [`NodeThread::is_finished`]
    /// tells when it has, [`NodeThread::stop`] waits.
    pub fn request_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Stops the node and waits for its thread: each step of the stop is
    /// bounded, so this returns even on a hung disk.
    pub fn stop(mut self) -> Result<(), NodeError> {
        self.stop_and_join().unwrap_or(Ok(()))
    }

    /// Leaves the node's thread to finish on its own, not waited for: for
    /// a caller that gave up waiting for a stop it asked for.
    pub fn detach(mut self) {
        self.stop.take();
        self.thread.take();
    }

    fn stop_and_join(&mut self) -> Option<Result<(), NodeError>> {
        self.request_stop();
        self.thread.take().map(joined)
    }
}

impl Drop for NodeThread {
    fn drop(&mut self) {
        if let Some(Err(e)) = self.stop_and_join() {
            tracing::error!(error = %e, "the node stopped with an error");
        }
    }
}

/// The node thread's result, a panic in it included.
fn joined(thread: std::thread::JoinHandle<Result<(), NodeError>>) -> Result<(), NodeError> {
    thread.join().unwrap_or_else(|_| Err(NodeError::Panicked("thread")))
}

#[cfg(test)]
mod tests {
    use curbside_protocol::TrustView as _;
    use curbside_protocol::testkit::Federation;

    use super::*;
    use crate::config::Overrides;

    /// Set when the ingest threads let go of what they hold: dropped by the
    /// writer thread as it ends, slowly, so that a start that returned
    /// without waiting for the threads would return before it is set.
    struct HeldByIngest(Arc<std::sync::atomic::AtomicBool>);

    impl Drop for HeldByIngest {
        fn drop(&mut self) {
            std::thread::sleep(std::time::Duration::from_millis(300));
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Regression: when the network failed to start, `run` returned at once
    /// while the ingest threads still held the store, so opening the data
    /// directory again (a restart, a retry with other flags) could race
    /// them. A failed start now joins them, and lets go of the store,
    /// before it returns the error.
    #[test]
    fn after_a_failed_start_the_data_directory_opens_again_at_once() {
        let home = tempfile::tempdir().unwrap();
        let data = home.path().join("node");
        let genesis = Federation::new().view().genesis().clone();
        let dir = DataDir::init(&data, &genesis).unwrap();
        let mut config = NodeConfig::load(&data, &Overrides::default()).unwrap();
        // No transport of the swarm takes bare UDP: listening fails at start.
        let unusable = "/ip4/127.0.0.1/udp/0".parse().unwrap();
        config.net.as_mut().expect("a node.toml that listens").listen = vec![unusable];
        let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let held = HeldByIngest(released.clone());
        let observer: Observer = Arc::new(move |_: &[StoredKey]| {
            let _ = &held;
        });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let started = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            NodeBuilder::new(config, dir).observer(observer).start(listener).await
        });
        assert!(matches!(started, Err(NodeError::Net(_))), "{started:?}");
        assert!(
            released.load(std::sync::atomic::Ordering::SeqCst),
            "the start returned while the ingest threads still ran"
        );
        let reopened = Store::open(&DataDir::open(&data).unwrap().store_dir(), genesis);
        assert!(reopened.is_ok(), "{:?}", reopened.err());
    }

    /// A node stopped with `shutdown` has let go of its store when the call
    /// returns.
    #[test]
    fn after_shutdown_the_data_directory_opens_again_at_once() {
        let home = tempfile::tempdir().unwrap();
        let data = home.path().join("node");
        let genesis = Federation::new().view().genesis().clone();
        let dir = DataDir::init(&data, &genesis).unwrap();
        let mut config = NodeConfig::load(&data, &Overrides::default()).unwrap();
        config.net = None;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let stopped = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            NodeBuilder::new(config, dir).start(listener).await.unwrap().shutdown().await
        });
        assert!(stopped.is_ok(), "{stopped:?}");
        let reopened = Store::open(&DataDir::open(&data).unwrap().store_dir(), genesis);
        assert!(reopened.is_ok(), "{:?}", reopened.err());
    }
}
