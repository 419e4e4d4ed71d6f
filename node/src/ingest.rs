//! Ingest: the one path every event takes into the store, whether it came
//! from the API, gossip or sync.
//!
//! ```text
//! events ─▶ drop those already stored ─▶ batch-verify signatures (all cores)
//!        ─▶ validate in order against the store + this batch so far
//!        ─▶ one transaction for all accepted ─▶ flush (durable) ─▶ outcomes
//!        ─▶ pending events released by what was stored go round again
//! ```
//!
//! [`Ingester`] runs the path on a dedicated thread and merges concurrent
//! submissions into one batch (group commit): many clients share one fsync.

use std::sync::Arc;

use curbside_protocol::{
    Dependency, EventId, NotAccepted, Rejection, SignatureVerified, SignedEvent, Timestamp,
    verify_batch,
};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::store::{Held, Store, StoreError, StoreView};

/// Limits of the ingest path.
#[derive(Debug, Clone, Copy)]
pub struct IngestConfig {
    /// Most events held waiting for a dependency.
    pub max_pending: u64,
    /// How long a pending event may wait, in milliseconds.
    pub pending_max_age_ms: u64,
    /// Threads that verify signatures.
    pub verify_threads: usize,
    /// Most events merged into one group commit.
    pub max_group: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_pending: 10_000,
            pending_max_age_ms: 15 * 60 * 1000,
            verify_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_group: 4096,
        }
    }
}

/// What happened to one submitted event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Valid, stored and durable.
    Stored {
        /// The event id.
        id: EventId,
    },
    /// Already stored; nothing changed.
    Duplicate {
        /// The event id.
        id: EventId,
    },
    /// Held until what it needs arrives.
    Pending {
        /// The event id.
        id: EventId,
        /// What it waits for.
        waiting_for: String,
    },
    /// Refused: invalid, or pending but the pending set is full.
    Rejected {
        /// The event id.
        id: EventId,
        /// Stable machine code.
        code: &'static str,
        /// For people.
        message: String,
        /// Whether the peer that sent it misbehaved: the rejection is
        /// intrinsic, not one an honest peer could reach with other trust
        /// records ([`Rejection::is_contextual`]). Not part of the API's JSON.
        #[serde(skip)]
        blames_sender: bool,
    },
}

impl Outcome {
    fn rejected(id: EventId, r: &Rejection) -> Self {
        Outcome::Rejected {
            id,
            code: r.code(),
            message: r.to_string(),
            blames_sender: !r.is_contextual(),
        }
    }

    /// Whether the event is now stored (newly or before).
    pub fn is_stored(&self) -> bool {
        matches!(self, Outcome::Stored { .. } | Outcome::Duplicate { .. })
    }
}

/// Runs the ingest path over `events` at time `now`. Synchronous: call it
/// from a blocking thread. The outcomes are in the order of `events`.
pub fn ingest(
    store: &Store,
    config: &IngestConfig,
    events: Vec<SignedEvent>,
    now: Timestamp,
) -> Result<Vec<Outcome>, StoreError> {
    ingest_releasing(store, config, events, now, &mut Vec::new())
}

/// [`ingest`], also pushing onto `released` each pending event that this
/// call stored because what it waited for arrived: the node announces
/// those to its peers, who may have ignored them the first time round.
pub fn ingest_releasing(
    store: &Store,
    config: &IngestConfig,
    events: Vec<SignedEvent>,
    now: Timestamp,
    released_stored: &mut Vec<SignedEvent>,
) -> Result<Vec<Outcome>, StoreError> {
    let mut outcomes: Vec<Option<Outcome>> = vec![None; events.len()];
    let mut fresh = Vec::with_capacity(events.len());
    let mut slots = Vec::with_capacity(events.len());
    for (i, event) in events.into_iter().enumerate() {
        if store.contains(&event.id())? {
            outcomes[i] = Some(Outcome::Duplicate { id: event.id() });
        } else {
            slots.push(i);
            fresh.push(event);
        }
    }
    let (fresh_outcomes, mut released) = process(store, config, fresh, now)?;
    for (slot, outcome) in slots.into_iter().zip(fresh_outcomes) {
        outcomes[slot] = Some(outcome);
    }

    // What was just stored may release events that were waiting for it;
    // they go round again (and may release more).
    let mut rounds = 0;
    while !released.is_empty() && rounds < 64 {
        rounds += 1;
        tracing::debug!(count = released.len(), "re-ingesting released pending events");
        let again = std::mem::take(&mut released);
        let (outcomes, more) = process(store, config, again.clone(), now)?;
        for (event, outcome) in again.into_iter().zip(outcomes) {
            match outcome {
                Outcome::Stored { .. } => released_stored.push(event),
                Outcome::Rejected { id, code, .. } => {
                    tracing::info!(event = %id, code, "released pending event not accepted");
                }
                Outcome::Duplicate { .. } | Outcome::Pending { .. } => {}
            }
        }
        released = more;
    }

    outcomes
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or(StoreError::Internal("an event was left without an outcome"))
}

/// Verifies, validates, commits and flushes `events` (none of them stored
/// yet): their outcomes, in order, and the pending events released.
fn process(
    store: &Store,
    config: &IngestConfig,
    events: Vec<SignedEvent>,
    now: Timestamp,
) -> Result<(Vec<Outcome>, Vec<SignedEvent>), StoreError> {
    let mut outcomes = Vec::with_capacity(events.len());
    // Every event here was just found absent from the store (or released
    // from pending, which only holds unstored events): validation need not
    // ask the store again.
    let mut view = StoreView::new(store);
    view.assume_absent(events.iter().map(SignedEvent::id));
    let mut accepted = Vec::with_capacity(events.len());
    let mut held = Vec::new();
    for result in verify_parallel(events, config.verify_threads) {
        let event = match result {
            Ok(event) => event,
            Err((event, rejection)) => {
                outcomes.push(Some(Outcome::rejected(event.id(), &rejection)));
                continue;
            }
        };
        let id = event.event().id();
        let verdict = event.validate(&view, now);
        if let Some(e) = view.take_error() {
            return Err(e);
        }
        outcomes.push(match verdict {
            Ok(v) => {
                view.add(&v);
                accepted.push(v);
                Some(Outcome::Stored { id })
            }
            Err((_, NotAccepted::Duplicate(_))) => Some(Outcome::Duplicate { id }),
            Err((_, NotAccepted::Invalid(r))) => Some(Outcome::rejected(id, &r)),
            Err((event, NotAccepted::Missing(dep))) => {
                held.push((outcomes.len(), event, dep));
                None
            }
        });
    }
    let committed = store.commit(&accepted)?;
    for (slot, event, dep) in held {
        outcomes[slot] = Some(hold(store, config, &event, &dep, now)?);
    }
    store.flush()?;
    let outcomes = outcomes
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or(StoreError::Internal("an event was left without an outcome"))?;
    Ok((outcomes, committed.released.into_iter().map(|p| p.event).collect()))
}

fn hold(
    store: &Store,
    config: &IngestConfig,
    event: &SignedEvent,
    dep: &Dependency,
    now: Timestamp,
) -> Result<Outcome, StoreError> {
    let id = event.id();
    if store.hold(event, dep, now, config.max_pending)? != Held::Full {
        Ok(Outcome::Pending { id, waiting_for: dep.to_string() })
    } else {
        Ok(Outcome::Rejected {
            id,
            blames_sender: false,
            code: "pending_full",
            message: format!(
                "this node holds {} events waiting for dependencies and cannot hold more; \
                 {dep} is not known here yet — try again later",
                config.max_pending
            ),
        })
    }
}

type Verified = Result<SignatureVerified, (SignedEvent, Rejection)>;

/// Fewest events worth a thread of their own: below this, the batch
/// equation's fixed cost and the thread start outweigh the split.
const MIN_EVENTS_PER_THREAD: usize = 64;

/// Batch-verifies on up to `threads` threads, keeping order.
fn verify_parallel(events: Vec<SignedEvent>, threads: usize) -> Vec<Verified> {
    let threads = threads.max(1).min(events.len() / MIN_EVENTS_PER_THREAD).max(1);
    if threads == 1 {
        return verify_batch(events);
    }
    let per = events.len().div_ceil(threads);
    let mut chunks = Vec::with_capacity(threads);
    let mut rest = events;
    while rest.len() > per {
        let tail = rest.split_off(per);
        chunks.push(rest);
        rest = tail;
    }
    chunks.push(rest);
    std::thread::scope(|s| {
        let handles: Vec<_> =
            chunks.into_iter().map(|c| s.spawn(move || verify_batch(c))).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

/// Where submitted events came from, which decides whether the node
/// announces them to its peers once stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// This node's API: stored events are announced (gossiped).
    Local,
    /// Gossip: gossipsub itself forwards what the node accepts.
    Gossip,
    /// Sync: the peers already have them.
    Sync,
}

/// One stored event as observers see it.
pub type StoredKey = (Timestamp, EventId, curbside_protocol::Kind);

/// Called with the events each group commit stored.
pub type Observer = Arc<dyn Fn(&[StoredKey]) + Send + Sync>;

/// A request to the ingest thread.
struct Request {
    events: Vec<SignedEvent>,
    source: Source,
    reply: oneshot::Sender<Result<Vec<Outcome>, String>>,
}

/// How many stored events may wait for the swarm before the slowest
/// listener starts missing some (it then relies on sync).
const ANNOUNCE_CAPACITY: usize = 16_384;

/// A cloneable handle to the ingest thread, which merges concurrent
/// submissions into group commits.
#[derive(Debug, Clone)]
pub struct Ingester {
    tx: mpsc::Sender<Request>,
    announce: broadcast::Sender<Arc<SignedEvent>>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Request({} events)", self.events.len())
    }
}

/// The ingest thread, to wait for at shutdown.
#[derive(Debug)]
pub struct IngestThread(std::thread::JoinHandle<()>);

impl IngestThread {
    /// Waits for the thread to finish (after every [`Ingester`] is dropped).
    pub fn join(self) {
        if self.0.join().is_err() {
            tracing::error!("the ingest thread panicked");
        }
    }
}

/// Why a submission got no outcomes.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The ingest thread has stopped (the node is shutting down).
    #[error("the node is shutting down")]
    Stopped,
    /// The store failed; nothing in the batch was acknowledged.
    #[error("{0}")]
    Store(String),
}

impl Ingester {
    /// Starts the ingest thread over `store`. `clock` gives "now". The
    /// thread ends when every handle is dropped; join it with
    /// [`IngestThread::join`] before reopening the store.
    pub fn start(
        store: Arc<Store>,
        config: IngestConfig,
        clock: fn() -> Timestamp,
    ) -> std::io::Result<(Self, IngestThread)> {
        Self::start_observed(store, config, clock, Arc::new(|_: &[StoredKey]| {}))
    }

    /// [`Ingester::start`], calling `observer` on the ingest thread with
    /// every event stored (from any source), right after it is durable:
    /// how the sync sets stay current.
    pub fn start_observed(
        store: Arc<Store>,
        config: IngestConfig,
        clock: fn() -> Timestamp,
        observer: Observer,
    ) -> std::io::Result<(Self, IngestThread)> {
        let (tx, mut rx) = mpsc::channel::<Request>(1024);
        let (announce, _) = broadcast::channel(ANNOUNCE_CAPACITY);
        let announcer = announce.clone();
        let thread =
            std::thread::Builder::new().name("curbside-ingest".into()).spawn(move || {
                while let Some(first) = rx.blocking_recv() {
                    let mut group = vec![first];
                    let mut size = group[0].events.len();
                    while size < config.max_group {
                        match rx.try_recv() {
                            Ok(next) => {
                                size += next.events.len();
                                group.push(next);
                            }
                            Err(_) => break,
                        }
                    }
                    let lens: Vec<usize> = group.iter().map(|r| r.events.len()).collect();
                    let mut all = Vec::with_capacity(size);
                    let mut local = Vec::with_capacity(size);
                    let mut replies = Vec::with_capacity(group.len());
                    for r in group {
                        local.extend(r.events.iter().map(|_| r.source == Source::Local));
                        all.extend(r.events);
                        replies.push(r.reply);
                    }
                    let keys: Vec<StoredKey> =
                        all.iter().map(|e| (e.created_at(), e.id(), e.body().kind())).collect();
                    // Only what somebody listens for is copied.
                    let listening = announcer.receiver_count() > 0;
                    let copies = if listening { all.clone() } else { Vec::new() };
                    let mut released = Vec::new();
                    match ingest_releasing(&store, &config, all, clock(), &mut released) {
                        Ok(outcomes) => {
                            let mut stored: Vec<StoredKey> = keys
                                .into_iter()
                                .zip(&outcomes)
                                .filter(|(_, o)| matches!(o, Outcome::Stored { .. }))
                                .map(|(k, _)| k)
                                .collect();
                            stored.extend(
                                released.iter().map(|e| (e.created_at(), e.id(), e.body().kind())),
                            );
                            observer(&stored);
                            if listening {
                                let fresh = copies.into_iter().zip(&outcomes).zip(local).filter(
                                    |((_, o), local)| *local && matches!(o, Outcome::Stored { .. }),
                                );
                                for ((event, _), _) in fresh {
                                    let _ = announcer.send(Arc::new(event));
                                }
                                for event in released {
                                    let _ = announcer.send(Arc::new(event));
                                }
                            }
                            let mut outcomes = outcomes.into_iter();
                            for (reply, n) in replies.into_iter().zip(lens) {
                                let _ = reply.send(Ok(outcomes.by_ref().take(n).collect()));
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "ingest failed; batch not acknowledged");
                            for reply in replies {
                                let _ = reply.send(Err(e.to_string()));
                            }
                        }
                    }
                }
            })?;
        Ok((Self { tx, announce }, IngestThread(thread)))
    }

    /// Submits events from this node's API; resolves when they are durable
    /// (or refused).
    pub async fn submit(&self, events: Vec<SignedEvent>) -> Result<Vec<Outcome>, IngestError> {
        self.submit_from(Source::Local, events).await
    }

    /// Submits events from `source`; resolves when they are durable (or
    /// refused).
    pub async fn submit_from(
        &self,
        source: Source,
        events: Vec<SignedEvent>,
    ) -> Result<Vec<Outcome>, IngestError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Request { events, source, reply }).await.map_err(|_| IngestError::Stopped)?;
        rx.await.map_err(|_| IngestError::Stopped)?.map_err(IngestError::Store)
    }

    /// Events to announce to peers: those stored from this node's API, and
    /// pending events stored once what they waited for arrived. A listener
    /// that falls more than a few thousand behind misses some (and is told
    /// so by the channel); sync repairs that.
    pub fn announcements(&self) -> broadcast::Receiver<Arc<SignedEvent>> {
        self.announce.subscribe()
    }
}
