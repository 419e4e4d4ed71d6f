//! Ingest: the one path every event takes into the store, whether it came
//! from the API, gossip or sync.
//!
//! Every event comes with when it was first received ([`Incoming`]): now,
//! for the API and gossip; for history a peer serves by sync, the time
//! that peer says it received it; for an event held for a dependency, the
//! time it first arrived. Validation judges the author's authority at that
//! time as well as at the event's own `created_at`
//! ([`curbside_protocol::Arrival`]).
//!
//! ```text
//! prepare: events ─▶ drop those already stored (id filter, then sled)
//!                 ─▶ batch-verify signatures (all cores)
//! finish:         ─▶ drop any stored meanwhile ─▶ validate in order against
//!                    the store's view + this batch so far
//!                 ─▶ one atomic batch for all accepted ─▶ flush (durable)
//!                 ─▶ outcomes; pending events released by what was stored
//!                    go round again
//! ```
//!
//! [`ingest`] is [`prepare`] then [`finish`]. [`Ingester`] runs the path on
//! two threads and merges concurrent submissions into one group (group
//! commit: many clients share one fsync): one thread forms groups and
//! prepares them, the other finishes them, so one group's signatures are
//! verified while the group before it is validated, committed and flushed.
//! What is prepared while the writer is busy joins the group waiting for
//! it, so everything that arrives during one commit and sync shares the
//! next.
//! Preparing writes nothing, and finishing checks again for duplicates, so
//! the overlap changes no outcome.

use std::sync::Arc;
use std::time::{Duration, Instant};

use curbside_protocol::{
    Arrival, Dependency, EventId, NotAccepted, Rejection, SignatureVerified, SignedEvent,
    Timestamp, VerifiedEvent, verify_batch,
};
use tokio::sync::{broadcast, mpsc, oneshot};

pub use crate::outcome::{Outcome, Refusal};
use crate::store::{Held as HoldResult, Holder, PendingLimits, Store, StoreError, StoreView};

/// Limits of the ingest path.
#[derive(Debug, Clone, Copy)]
pub struct IngestConfig {
    /// What the set of events waiting for a dependency may hold.
    pub pending: PendingLimits,
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
            pending: PendingLimits::default(),
            pending_max_age_ms: 15 * 60 * 1000,
            verify_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_group: 4096,
        }
    }
}

/// An event on its way in, with when it was first received and who sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The event.
    pub event: SignedEvent,
    /// When it was first received: by this node (API, gossip), or by the
    /// peer that serves it as history (sync); `None` for history a peer
    /// stored before receipts were kept, judged by its own time alone.
    pub received_at: Option<Timestamp>,
    /// Who sent it: whose share of the pending set it takes if it must
    /// wait, and what may be refused rather than held.
    pub holder: Holder,
}

impl Incoming {
    /// Received by this node at `now`, from this node itself (see
    /// [`Incoming::from`] for anyone else).
    pub fn live(event: SignedEvent, now: Timestamp) -> Self {
        Self { event, received_at: Some(now), holder: Holder::Node }
    }

    /// First received at `received_at` (by whoever vouches for it).
    pub fn received(event: SignedEvent, received_at: Option<Timestamp>) -> Self {
        Self { event, received_at, holder: Holder::Node }
    }

    /// Received when it says it was made: this node's own events published
    /// late (after a crash), and a corpus loaded as history (benchmarks).
    pub fn when_made(event: SignedEvent) -> Self {
        let at = event.created_at();
        Self { event, received_at: Some(at), holder: Holder::Node }
    }

    /// The same, sent by `holder`.
    pub fn from(self, holder: Holder) -> Self {
        Self { holder, ..self }
    }

    /// How validation judges it at `now`.
    fn arrival(received_at: Option<Timestamp>, now: Timestamp) -> Arrival {
        match received_at {
            Some(at) => Arrival::received(at, now),
            None => Arrival::historical(now),
        }
    }
}

/// Time spent in each step of the ingest path, summed over the calls that
/// filled it: what the node benchmark reports as the stages of ingest.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stages {
    /// Ruling out duplicates (the id filter, sled for the rest), twice: when
    /// a batch is prepared and again just before it is validated.
    pub screen: Duration,
    /// Signature verification, on all cores.
    pub verify: Duration,
    /// `validate` against the store's view, in order.
    pub validate: Duration,
    /// The commit (one atomic sled batch) and holding pending events.
    pub commit: Duration,
    /// The fsync that makes it durable, and publishing it to validation.
    pub flush: Duration,
}

impl Stages {
    /// All of them.
    pub fn total(&self) -> Duration {
        self.screen + self.verify + self.validate + self.commit + self.flush
    }

    fn add(&mut self, other: &Stages) {
        self.screen += other.screen;
        self.verify += other.verify;
        self.validate += other.validate;
        self.commit += other.commit;
        self.flush += other.flush;
    }
}

/// Adds the time since `*t` to `into` and restarts `*t`.
fn lap(into: &mut Duration, t: &mut Instant) {
    let now = Instant::now();
    *into += now - *t;
    *t = now;
}

/// A batch whose duplicates are ruled out and whose signatures are checked:
/// the first half of ingest, which writes nothing, so the ingest thread runs
/// it for one batch while the store writes the one before.
#[derive(Debug)]
pub struct Prepared {
    /// One per event submitted; `None` for those still to be validated.
    outcomes: Vec<Option<Outcome>>,
    /// The events still to be validated, with their positions, receipts
    /// and holders.
    verified: Vec<(usize, SignatureVerified, Option<Timestamp>, Holder)>,
    stages: Stages,
}

impl Prepared {
    /// How many events were submitted.
    pub fn len(&self) -> usize {
        self.outcomes.len()
    }

    /// Whether none were.
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }

    /// Appends `later`'s events after this batch's: one batch to validate,
    /// commit and flush, its outcomes in the order of the two.
    fn absorb(&mut self, later: Prepared) {
        let offset = self.outcomes.len();
        self.outcomes.extend(later.outcomes);
        self.verified.extend(
            later.verified.into_iter().map(|(slot, e, at, holder)| (slot + offset, e, at, holder)),
        );
        self.stages.add(&later.stages);
    }
}

/// The first half of [`ingest`]: drops events already stored and verifies
/// the rest's signatures (on `config.verify_threads` threads). Reads the
/// store, writes nothing.
pub fn prepare(
    store: &Store,
    config: &IngestConfig,
    events: Vec<Incoming>,
) -> Result<Prepared, StoreError> {
    let mut stages = Stages::default();
    let mut t = Instant::now();
    let ids: Vec<EventId> = events.iter().map(|i| i.event.id()).collect();
    let absent = store.events().absent(&ids)?;
    let mut outcomes: Vec<Option<Outcome>> = vec![None; events.len()];
    let mut slots = Vec::with_capacity(events.len());
    let mut fresh = Vec::with_capacity(events.len());
    for (i, (incoming, absent)) in events.into_iter().zip(absent).enumerate() {
        if absent {
            slots.push((i, incoming.received_at, incoming.holder));
            fresh.push(incoming.event);
        } else {
            outcomes[i] = Some(Outcome::Duplicate { id: ids[i] });
        }
    }
    lap(&mut stages.screen, &mut t);
    let mut verified = Vec::with_capacity(fresh.len());
    for ((slot, received_at, holder), result) in
        slots.into_iter().zip(verify_parallel(fresh, config.verify_threads)?)
    {
        match result {
            Ok(event) => verified.push((slot, event, received_at, holder)),
            Err((event, rejection)) => {
                outcomes[slot] = Some(Outcome::invalid(event.id(), rejection));
            }
        }
    }
    lap(&mut stages.verify, &mut t);
    Ok(Prepared { outcomes, verified, stages })
}

/// The second half of [`ingest`]: validates, commits, holds what waits for
/// a dependency, flushes, and runs pending events released by what was
/// stored through the whole path again; each released event that is then
/// stored is pushed onto `released_stored`, and every event stored (decoded
/// and validated, in the order stored) onto `stored`. Returns the outcomes
/// in the order the events were submitted, and the time each step took.
/// `decided` is told the submitted events' outcomes once they are decided
/// and committed, before the flush that makes them durable.
pub fn finish(
    store: &Store,
    config: &IngestConfig,
    prepared: Prepared,
    now: Timestamp,
    released_stored: &mut Vec<SignedEvent>,
    stored: &mut Vec<VerifiedEvent>,
    decided: &mut dyn FnMut(&[Outcome]),
) -> Result<(Vec<Outcome>, Stages), StoreError> {
    let (outcomes, mut released, mut stages) =
        write_prepared(store, config, prepared, now, stored, decided)?;
    // Each released event is judged as of when it first arrived, not when
    // what it waited for did.

    // What was just stored may release events that were waiting for it;
    // they go round again (and may release more).
    let mut rounds = 0;
    while !released.is_empty() && rounds < 64 {
        rounds += 1;
        tracing::debug!(count = released.len(), "re-ingesting released pending events");
        let again = std::mem::take(&mut released);
        let prepared = prepare(store, config, again.clone())?;
        let (outcomes, more, more_stages) =
            write_prepared(store, config, prepared, now, stored, &mut |_| {})?;
        stages.add(&more_stages);
        for (incoming, outcome) in again.into_iter().zip(outcomes) {
            match outcome {
                Outcome::Stored { .. } => released_stored.push(incoming.event),
                Outcome::Rejected { id, refusal } => {
                    let code = refusal.code();
                    tracing::info!(event = %id, %code, "released pending event not accepted");
                }
                Outcome::Duplicate { .. } | Outcome::Pending { .. } => {}
            }
        }
        released = more;
    }
    Ok((outcomes, stages))
}

/// What one run of the ingest path did: the outcomes, the pending events
/// it released and stored, and how long each step took.
#[derive(Debug)]
pub struct Ingested {
    /// One per submitted event, in the order they were submitted.
    pub outcomes: Vec<Outcome>,
    /// Each pending event that this run stored because what it waited for
    /// arrived: the node announces those to its peers, who may have ignored
    /// them the first time round.
    pub released: Vec<SignedEvent>,
    /// Time spent in each step (what the node benchmark reports).
    pub stages: Stages,
    /// Every event stored (the batch's and those released), decoded and
    /// validated, in the order stored: what the search indexer is handed.
    pub stored: Vec<VerifiedEvent>,
}

/// Runs the ingest path over `events` at time `now`: [`prepare`] then
/// [`finish`]. Synchronous: call it from a blocking thread.
pub fn ingest(
    store: &Store,
    config: &IngestConfig,
    events: Vec<Incoming>,
    now: Timestamp,
) -> Result<Ingested, StoreError> {
    let prepared = prepare(store, config, events)?;
    let before = prepared.stages;
    let mut released = Vec::new();
    let mut stored = Vec::new();
    let (outcomes, mut stages) =
        finish(store, config, prepared, now, &mut released, &mut stored, &mut |_| {})?;
    stages.add(&before);
    Ok(Ingested { outcomes, released, stages, stored })
}

/// Validates, commits and flushes a prepared batch: its outcomes, in order,
/// the pending events released, and the time taken (not counting the
/// batch's preparation). The events stored are pushed onto `stored`, in
/// the order stored. `decided` is told the outcomes after the commit and
/// before the flush.
fn write_prepared(
    store: &Store,
    config: &IngestConfig,
    prepared: Prepared,
    now: Timestamp,
    stored: &mut Vec<VerifiedEvent>,
    decided: &mut dyn FnMut(&[Outcome]),
) -> Result<(Vec<Outcome>, Vec<Incoming>, Stages), StoreError> {
    let Prepared { mut outcomes, verified, .. } = prepared;
    let mut stages = Stages::default();
    let mut t = Instant::now();
    // The batch written just before this one may have stored some of these
    // since they were screened.
    let ids: Vec<EventId> = verified.iter().map(|(_, e, _, _)| e.event().id()).collect();
    let absent = store.events().absent(&ids)?;
    let mut view = StoreView::new(store);
    view.assume_absent(ids.iter().zip(&absent).filter(|(_, a)| **a).map(|(id, _)| *id));
    lap(&mut stages.screen, &mut t);
    let mut accepted = Vec::with_capacity(verified.len());
    let mut held = Vec::new();
    for ((slot, event, received_at, holder), absent) in verified.into_iter().zip(absent) {
        let id = event.event().id();
        if !absent {
            outcomes[slot] = Some(Outcome::Duplicate { id });
            continue;
        }
        let verdict = event.validate(&view, Incoming::arrival(received_at, now));
        let mut slot = Slot { slot, received_at, holder, outcomes: &mut outcomes };
        settle(&mut view, verdict, &mut slot, &mut accepted, &mut held)?;
    }
    // An event may come ahead of what it waits for in the same batch (a
    // reply before its parent, a post before its author's attestation):
    // try the held ones again while a round accepts something more.
    let mut again = !accepted.is_empty();
    while again && !held.is_empty() {
        again = false;
        for (slot, event, _, received_at, holder) in std::mem::take(&mut held) {
            // Its signature held a moment ago; checking it again is the
            // price of this rare path, not of the common one.
            let verdict = match SignatureVerified::check(event) {
                Ok(checked) => checked.validate(&view, Incoming::arrival(received_at, now)),
                Err((event, r)) => Err((event, NotAccepted::Invalid(r))),
            };
            let mut slot = Slot { slot, received_at, holder, outcomes: &mut outcomes };
            again |= settle(&mut view, verdict, &mut slot, &mut accepted, &mut held)?;
        }
    }
    drop(view);
    lap(&mut stages.validate, &mut t);
    let committed = store.commit(&accepted)?;
    for (slot, event, dep, received_at, holder) in held {
        outcomes[slot] = Some(hold(store, config, &event, &dep, received_at, &holder, now)?);
    }
    let outcomes = outcomes
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or(StoreError::Internal("an event was left without an outcome"))?;
    lap(&mut stages.commit, &mut t);
    decided(&outcomes);
    store.flush()?;
    lap(&mut stages.flush, &mut t);
    let released = committed
        .released
        .into_iter()
        .map(|p| Incoming::received(p.event, p.received_at).from(p.holder))
        .collect();
    // Every accepted event is stored, unless the commit found it stored
    // already (a duplicate within the batch).
    if committed.stored.len() == accepted.len() {
        stored.extend(accepted);
    } else {
        let new: std::collections::HashSet<EventId> = committed.stored.into_iter().collect();
        stored.extend(accepted.into_iter().filter(|e| new.contains(&e.id())));
    }
    Ok((outcomes, released, stages))
}

/// Where one event's outcome goes, when it was received and who sent it.
struct Slot<'o> {
    slot: usize,
    received_at: Option<Timestamp>,
    holder: Holder,
    outcomes: &'o mut [Option<Outcome>],
}

/// An event held for a dependency: its position, the event, what it waits
/// for, when it was received and who sent it.
type Held = (usize, SignedEvent, Dependency, Option<Timestamp>, Holder);

/// Where one validated event goes: accepted (into the batch's view too),
/// held for a dependency, or given its outcome now. Whether it was
/// accepted; a read error the view met while validating fails the batch.
fn settle(
    view: &mut StoreView<'_>,
    verdict: Result<VerifiedEvent, (SignedEvent, NotAccepted)>,
    slot: &mut Slot<'_>,
    accepted: &mut Vec<VerifiedEvent>,
    held: &mut Vec<Held>,
) -> Result<bool, StoreError> {
    if let Some(e) = view.take_error() {
        return Err(e);
    }
    let outcome = &mut slot.outcomes[slot.slot];
    match verdict {
        Ok(v) => {
            view.add(&v);
            *outcome = Some(Outcome::Stored { id: v.id() });
            accepted.push(v);
            return Ok(true);
        }
        Err((event, NotAccepted::Missing(dep))) => {
            held.push((slot.slot, event, dep, slot.received_at, slot.holder.clone()));
        }
        Err((event, NotAccepted::Duplicate(_))) => {
            *outcome = Some(Outcome::Duplicate { id: event.id() });
        }
        Err((event, NotAccepted::Invalid(r))) => {
            *outcome = Some(Outcome::invalid(event.id(), r));
        }
    }
    Ok(false)
}

/// What to do with an event that waits for `dep`: refuse what can be
/// judged now, or hold it within the pending set's budget.
///
/// From a stranger (no credentials), an event whose author (an
/// attestation, a charter) is unknown here is refused outright: anyone can
/// make keys, and the events of keys nobody attested are the cheapest
/// flood there is. From the API, an event for a hub this node does not
/// know is refused too: a physician's typo, not something on its way; and
/// so is one mentioning an `@handle` no attestation known here gives
/// (rules 4).
fn hold(
    store: &Store,
    config: &IngestConfig,
    event: &SignedEvent,
    dep: &Dependency,
    received_at: Option<Timestamp>,
    holder: &Holder,
    now: Timestamp,
) -> Result<Outcome, StoreError> {
    let id = event.id();
    let refused = |refusal| Ok(Outcome::Rejected { id, refusal });
    let from_api = matches!(holder, Holder::Operator | Holder::Physician(_) | Holder::Stranger(_));
    match dep {
        Dependency::Attestation(author) | Dependency::Charter(author)
            if matches!(holder, Holder::Stranger(_)) =>
        {
            return refused(Refusal::UnknownAuthor { author: *author });
        }
        Dependency::Hub(hub) if from_api => {
            let hubs = store.events().hubs()?.into_iter().map(|(id, _)| id).collect();
            return refused(Refusal::UnknownHub { hub: hub.clone(), hubs });
        }
        // The author's own node knows the physicians its author can mean:
        // an `@handle` none of them holds is most likely a patient's
        // social-media handle, and the author should hear so now rather
        // than see the event wait and expire.
        Dependency::Handle(handle) if from_api => {
            return refused(Refusal::UnknownMention { handle: handle.clone() });
        }
        _ => {}
    }
    let limits = config.pending;
    let dependency = dep.clone();
    match store.pending().hold(event, dep, received_at, holder, now, &limits)? {
        HoldResult::Now | HoldResult::Already => Ok(Outcome::Pending { id, dependency }),
        HoldResult::Full => refused(Refusal::PendingFull { dependency, limits }),
        HoldResult::HolderFull => {
            refused(Refusal::PendingQuota { holder: holder.clone(), dependency, limits })
        }
        HoldResult::LowDisk => refused(Refusal::LowDisk { dependency, limits }),
    }
}

type Verified = Result<SignatureVerified, (SignedEvent, Rejection)>;

/// Fewest events worth a thread of their own: below this, the batch
/// equation's fixed cost and the thread start outweigh the split.
const MIN_EVENTS_PER_THREAD: usize = 64;

/// Batch-verifies on up to `threads` threads, keeping order.
///
/// A verifier thread that panics fails the whole batch with
/// [`StoreError::Internal`]: its events have no results, so keeping the
/// other threads' results would pair them with the wrong events. The error
/// reaches every submitter of the group before anything is written.
fn verify_parallel(events: Vec<SignedEvent>, threads: usize) -> Result<Vec<Verified>, StoreError> {
    verify_parallel_with(events, threads, verify_batch)
}

/// [`verify_parallel`] with the batch verifier given, so a test can make
/// one of the threads panic.
fn verify_parallel_with<F>(
    events: Vec<SignedEvent>,
    threads: usize,
    verify: F,
) -> Result<Vec<Verified>, StoreError>
where
    F: Fn(Vec<SignedEvent>) -> Vec<Verified> + Copy + Send,
{
    let threads = threads.max(1).min(events.len() / MIN_EVENTS_PER_THREAD).max(1);
    if threads == 1 {
        return Ok(verify(events));
    }
    let per = events.len().div_ceil(threads);
    let total = events.len();
    let mut chunks = Vec::with_capacity(threads);
    let mut rest = events;
    while rest.len() > per {
        let tail = rest.split_off(per);
        chunks.push(rest);
        rest = tail;
    }
    chunks.push(rest);
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks.into_iter().map(|c| s.spawn(move || verify(c))).collect();
        // Every thread is joined (a scope panics on a panicked thread left
        // unjoined), and one panic fails them all.
        let mut results = Vec::with_capacity(total);
        let mut panicked = false;
        for handle in handles {
            match handle.join() {
                Ok(chunk) => results.extend(chunk),
                Err(_) => panicked = true,
            }
        }
        if panicked {
            tracing::error!("a signature verification thread panicked; batch refused");
            return Err(StoreError::Internal("a signature verification thread panicked"));
        }
        Ok(results)
    })
}

#[cfg(test)]
#[path = "ingest/verify_parallel_tests.rs"]
mod verify_parallel_tests;

#[cfg(test)]
#[path = "ingest/group_tests.rs"]
mod group_tests;

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

/// Handed the events each group commit stored, decoded and validated, in
/// the order stored, after the [`Observer`] is told of them: the search
/// indexer, which then need not read them back from the store.
pub type Handoff = Box<dyn Fn(Vec<VerifiedEvent>) + Send>;

/// Where the ingest thread reports what it decided, for counting.
///
/// Ingest is handed a sink rather than importing the node's metrics: it
/// sits below them (the metrics read ingest's [`Outcome`] and [`Source`]),
/// and a test or tool that ingests events need not count them at all.
pub trait OutcomeSink: Send + Sync {
    /// The outcomes of events submitted from `source`, in their order.
    fn submitted(&self, source: Source, outcomes: &[Outcome]);
    /// `n` events held for a dependency were stored once it arrived.
    fn released(&self, n: usize);
}

/// The sink of an ingester nobody counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Uncounted;

impl OutcomeSink for Uncounted {
    fn submitted(&self, _: Source, _: &[Outcome]) {}
    fn released(&self, _: usize) {}
}

/// Where a submitter waits for its outcomes.
type Reply = oneshot::Sender<Result<Vec<Outcome>, String>>;

/// A request to the ingest thread.
struct Request {
    events: Vec<Incoming>,
    source: Source,
    answer: Answer,
    reply: Reply,
}

/// When a submitter hears its outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Once its events are durable: what the API acknowledges, and what
    /// sync and the node's own events wait for.
    Durable,
    /// Once they are judged and committed, before the group's sync: what
    /// gossip forwards on, so that no hop waits for its disk.
    Decided,
}

/// Where a stored event is gossiped: decided when it is stored, by the
/// thread that holds the store, so the swarm task never reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    /// The trust topic (charters, attestations, revocations, hubs, tree
    /// heads, cosignatures, and retractions).
    Trust,
    /// A hub's topic: a post's, case's or poll's own hub; a comment's or
    /// vote's thread root's.
    Hub(curbside_protocol::HubId),
}

impl Topic {
    /// The topic of `event`, stored in `store` with what it depends on;
    /// `None` if its thread's hub cannot be read (sync carries it then).
    fn of(store: &Store, event: &SignedEvent) -> Option<Topic> {
        let body = event.body();
        // A retraction goes on the trust topic: every node listens there
        // whatever hubs it follows, and its target (whose hub it would
        // otherwise take) is deleted by the time it is announced.
        use curbside_protocol::Kind;
        if body.kind().is_trust() || matches!(body.kind(), Kind::Retraction | Kind::Takedown) {
            return Some(Topic::Trust);
        }
        if let Some(hub) = body.hub() {
            return Some(Topic::Hub(hub.clone()));
        }
        let parent = match body {
            curbside_protocol::Body::Comment(c) => c.parent,
            curbside_protocol::Body::Vote(v) => v.poll,
            // An edit goes where its original is: its hub, or its thread's.
            curbside_protocol::Body::Edit(e) => match e.content.hub() {
                Some(hub) => return Some(Topic::Hub(hub.clone())),
                None => e.content.parent()?,
            },
            // An outcome, accept or answer goes where its case, thread or poll is.
            other => other.afterword_target()?,
        };
        store.events().hub_of(&parent).ok().flatten().map(Topic::Hub)
    }
}

/// A stored event for the swarm to gossip, with its topic.
#[derive(Debug, Clone)]
pub struct Announcement {
    /// The event.
    pub event: Arc<SignedEvent>,
    /// Where it goes (`None`: its hub could not be read; sync carries it).
    pub topic: Option<Topic>,
}

/// How many stored events may wait for the swarm before the slowest
/// listener starts missing some (it then relies on sync).
const ANNOUNCE_CAPACITY: usize = 16_384;

/// A cloneable handle to the ingest thread, which merges concurrent
/// submissions into group commits.
#[derive(Debug, Clone)]
pub struct Ingester {
    tx: mpsc::Sender<Request>,
    announce: broadcast::Sender<Announcement>,
    /// "Now", for stamping what arrives live.
    clock: fn() -> Timestamp,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Request({} events)", self.events.len())
    }
}

/// The ingest threads, to wait for at shutdown.
#[derive(Debug)]
pub struct IngestThread {
    prepare: std::thread::JoinHandle<()>,
    write: std::thread::JoinHandle<()>,
}

impl IngestThread {
    /// Waits for the threads to finish (after every [`Ingester`] is
    /// dropped): the last batch is written before this returns.
    pub fn join(self) {
        if self.prepare.join().is_err() {
            tracing::error!("the ingest thread panicked");
        }
        if self.write.join().is_err() {
            tracing::error!("the store writer thread panicked");
        }
    }
}

/// One group of submissions on its way from the preparing thread to the
/// writing one.
struct Group {
    prepared: Result<Prepared, StoreError>,
    /// `(created_at, id, kind)` of every event, for the observer.
    keys: Vec<StoredKey>,
    /// Copies of the events submitted through this node's API (`Some`), for
    /// announcing those stored; `None` for the others, or when nobody listens.
    copies: Vec<Option<SignedEvent>>,
    /// Each submitter's reply channel (taken once answered), how many
    /// events it sent, from where, and when it is answered.
    replies: Vec<(Option<Reply>, usize, Source, Answer)>,
}

impl Group {
    /// Takes the submissions of `later` in after this group's, if both
    /// were prepared without error and the two hold at most `max` events;
    /// else hands `later` back.
    fn absorb(&mut self, later: Group, max: usize) -> Option<Group> {
        let room = self.keys.len() + later.keys.len() <= max;
        let (Ok(mine), true) = (&mut self.prepared, room) else { return Some(later) };
        let Group { prepared, keys, copies, replies } = later;
        let theirs = match prepared {
            Ok(theirs) => theirs,
            Err(e) => return Some(Group { prepared: Err(e), keys, copies, replies }),
        };
        mine.absorb(theirs);
        self.keys.extend(keys);
        self.copies.extend(copies);
        self.replies.extend(replies);
        None
    }
}

/// Where the preparing thread leaves prepared submissions for the writer:
/// one group, which goes on taking in what is prepared while the writer is
/// busy with the group before it. So every request that arrives during a
/// commit and its sync shares the next one (rather than the few that came
/// before the preparing thread last looked), and the writer takes it all
/// the moment it is free.
#[derive(Default)]
struct GroupQueue {
    state: std::sync::Mutex<GroupQueueState>,
    changed: std::sync::Condvar,
}

#[derive(Default)]
struct GroupQueueState {
    next: Option<Group>,
    /// The preparing thread has ended: no group will come.
    preparing_ended: bool,
    /// The writer has ended: none will be taken.
    writer_ended: bool,
}

impl GroupQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, GroupQueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'a>(
        &self,
        state: std::sync::MutexGuard<'a, GroupQueueState>,
    ) -> std::sync::MutexGuard<'a, GroupQueueState> {
        self.changed.wait(state).unwrap_or_else(|p| p.into_inner())
    }

    /// Leaves `group` for the writer: merged into the group waiting for it
    /// if there is room, else once the writer has taken that one. False if
    /// the writer has ended (the group is dropped: its submitters hear that
    /// ingest stopped).
    fn give(&self, mut group: Group, max: usize) -> bool {
        let mut state = self.lock();
        loop {
            if state.writer_ended {
                return false;
            }
            match state.next.take() {
                None => {
                    state.next = Some(group);
                    break;
                }
                Some(mut waiting) => {
                    let merged = waiting.absorb(group, max);
                    state.next = Some(waiting);
                    match merged {
                        None => break,
                        Some(back) => {
                            group = back;
                            state = self.wait(state);
                        }
                    }
                }
            }
        }
        drop(state);
        self.changed.notify_one();
        true
    }

    /// The next group, once there is one; `None` once the preparing thread
    /// has ended and left nothing.
    fn take(&self) -> Option<Group> {
        let mut state = self.lock();
        loop {
            if let Some(group) = state.next.take() {
                drop(state);
                // The preparing thread may be waiting for room.
                self.changed.notify_one();
                return Some(group);
            }
            if state.preparing_ended {
                return None;
            }
            state = self.wait(state);
        }
    }
}

/// Tells the other side of a [`GroupQueue`] that this thread has ended, when
/// dropped: on return, and on a panic too.
struct Ending<'a> {
    queue: &'a GroupQueue,
    writer: bool,
}

impl Drop for Ending<'_> {
    fn drop(&mut self) {
        let mut state = self.queue.lock();
        if self.writer {
            state.writer_ended = true;
        } else {
            state.preparing_ended = true;
        }
        drop(state);
        self.queue.changed.notify_all();
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

/// The writer's half: validate, commit, flush, tell the observer and the
/// listeners, answer the submitters.
fn write_group(
    store: &Store,
    config: &IngestConfig,
    clock: fn() -> Timestamp,
    tell: &Tell,
    announcer: &broadcast::Sender<Announcement>,
    counts: &dyn OutcomeSink,
    group: Group,
) {
    let Group { prepared, keys, copies, mut replies } = group;
    let mut released = Vec::new();
    let mut events = Vec::new();
    // Those that asked are answered once their outcomes are decided; the
    // rest after the sync.
    let mut answer_decided = |outcomes: &[Outcome]| {
        let mut from = 0;
        for (reply, n, _, answer) in &mut replies {
            let theirs = from..from + *n;
            from += *n;
            // One outcome per event; were it otherwise, the answer waits
            // for the sync and its own check below.
            if *answer == Answer::Decided
                && let Some(theirs) = outcomes.get(theirs)
                && let Some(reply) = reply.take()
            {
                let _ = reply.send(Ok(theirs.to_vec()));
            }
        }
    };
    let result = prepared.and_then(|p| {
        finish(store, config, p, clock(), &mut released, &mut events, &mut answer_decided)
    });
    match result {
        Ok((outcomes, _)) => {
            let mut stored: Vec<StoredKey> = keys
                .into_iter()
                .zip(&outcomes)
                .filter(|(_, o)| matches!(o, Outcome::Stored { .. }))
                .map(|(k, _)| k)
                .collect();
            stored.extend(released.iter().map(|e| (e.created_at(), e.id(), e.body().kind())));
            let released_count = released.len();
            (tell.observer)(&stored);
            if let Some(handoff) = &tell.handoff {
                handoff(events);
            }
            if announcer.receiver_count() > 0 {
                let fresh = copies
                    .into_iter()
                    .zip(&outcomes)
                    .filter(|(_, o)| matches!(o, Outcome::Stored { .. }))
                    .filter_map(|(copy, _)| copy);
                for event in fresh.chain(released) {
                    let topic = Topic::of(store, &event);
                    let _ = announcer.send(Announcement { event: Arc::new(event), topic });
                }
            }
            counts.released(released_count);
            let mut outcomes = outcomes.into_iter();
            for (reply, n, source, _) in replies {
                let theirs: Vec<Outcome> = outcomes.by_ref().take(n).collect();
                counts.submitted(source, &theirs);
                if let Some(reply) = reply {
                    let _ = reply.send(Ok(theirs));
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "ingest failed; batch not acknowledged");
            // Those answered already hear nothing more: what they were
            // told was decided is not durable here, and the store now
            // takes no writes.
            for reply in replies.into_iter().filter_map(|(reply, ..)| reply) {
                let _ = reply.send(Err(e.to_string()));
            }
        }
    }
}

/// Who the writer tells of each group commit.
struct Tell {
    observer: Observer,
    handoff: Option<Handoff>,
}

/// Starts the ingest threads: [`Ingester::builder`], then what to tell
/// of each group commit, then [`IngesterBuilder::start`].
#[must_use = "nothing starts until `start` is called"]
pub struct IngesterBuilder {
    store: Arc<Store>,
    config: IngestConfig,
    clock: fn() -> Timestamp,
    observer: Observer,
    handoff: Option<Handoff>,
    counts: Arc<dyn OutcomeSink>,
}

impl std::fmt::Debug for IngesterBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngesterBuilder").field("config", &self.config).finish_non_exhaustive()
    }
}

impl IngesterBuilder {
    /// Calls `observer` on the ingest thread with every event stored (from
    /// any source), right after it is durable: how the sync sets stay
    /// current. None by default.
    pub fn observer(self, observer: Observer) -> Self {
        Self { observer, ..self }
    }

    /// Hands `handoff` the events each group commit stored (the node's
    /// search indexer). None by default.
    pub fn handoff(self, handoff: Handoff) -> Self {
        Self { handoff: Some(handoff), ..self }
    }

    /// Reports every outcome, from every source, to `counts` (the node
    /// hands it its metrics; by default nobody counts them).
    pub fn counts(self, counts: Arc<dyn OutcomeSink>) -> Self {
        Self { counts, ..self }
    }

    /// Starts the threads. If the second cannot start, the first is joined
    /// before the error is returned: nothing is left holding the store.
    pub fn start(self) -> std::io::Result<(Ingester, IngestThread)> {
        let IngesterBuilder { store, config, clock, observer, handoff, counts } = self;
        let tell = Tell { observer, handoff };
        let (tx, mut rx) = mpsc::channel::<Request>(1024);
        let (announce, _) = broadcast::channel(ANNOUNCE_CAPACITY);
        let announcer = announce.clone();
        // The preparing thread verifies what arrives while the writer
        // validates, commits and flushes the group before it, and adds it
        // to the next group ([`GroupQueue`]).
        let queue = Arc::new(GroupQueue::default());
        let writer_store = store.clone();
        let listeners = announce.clone();
        let writer_queue = queue.clone();
        let write = std::thread::Builder::new().name("curbside-store".into()).spawn(move || {
            let _ending = Ending { queue: &writer_queue, writer: true };
            while let Some(group) = writer_queue.take() {
                write_group(&writer_store, &config, clock, &tell, &announcer, &*counts, group);
            }
        })?;
        let preparing_queue = queue.clone();
        let prepare = std::thread::Builder::new().name("curbside-ingest".into()).spawn(move || {
            let queue = preparing_queue;
            let _ending = Ending { queue: &queue, writer: false };
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
                let mut all = Vec::with_capacity(size);
                let mut copies = Vec::with_capacity(size);
                let mut replies = Vec::with_capacity(group.len());
                // Only what somebody listens for is copied.
                let listening = listeners.receiver_count() > 0;
                for r in group {
                    let copy = listening && r.source == Source::Local;
                    copies.extend(r.events.iter().map(|i| copy.then(|| i.event.clone())));
                    replies.push((Some(r.reply), r.events.len(), r.source, r.answer));
                    all.extend(r.events);
                }
                let keys = all
                    .iter()
                    .map(|i| (i.event.created_at(), i.event.id(), i.event.body().kind()))
                    .collect();
                let prepared = prepare(&store, &config, all);
                let group = Group { prepared, keys, copies, replies };
                if !queue.give(group, config.max_group) {
                    break;
                }
            }
        });
        let prepare = match prepare {
            Ok(handle) => handle,
            Err(e) => {
                // No group will come: the writer ends.
                queue.lock().preparing_ended = true;
                queue.changed.notify_all();
                let _ = write.join();
                return Err(e);
            }
        };
        Ok((Ingester { tx, announce, clock }, IngestThread { prepare, write }))
    }
}

impl Ingester {
    /// How to start the ingest threads over `store`; `clock` gives "now".
    /// The threads end when every handle is dropped; join them with
    /// [`IngestThread::join`] before reopening the store.
    pub fn builder(
        store: Arc<Store>,
        config: IngestConfig,
        clock: fn() -> Timestamp,
    ) -> IngesterBuilder {
        IngesterBuilder {
            store,
            config,
            clock,
            observer: Arc::new(|_: &[StoredKey]| {}),
            handoff: None,
            counts: Arc::new(Uncounted),
        }
    }

    /// Submits this node's own events, made now (its log entries, its
    /// cosignatures); resolves when they are durable (or refused).
    pub async fn submit(&self, events: Vec<SignedEvent>) -> Result<Vec<Outcome>, IngestError> {
        self.submit_live(Source::Local, Holder::Node, events).await
    }

    /// Submits events received now from `source`, sent by `holder`;
    /// resolves when they are durable (or refused).
    pub async fn submit_live(
        &self,
        source: Source,
        holder: Holder,
        events: Vec<SignedEvent>,
    ) -> Result<Vec<Outcome>, IngestError> {
        self.submit_received(source, self.live(holder, events)).await
    }

    /// `events`, received now from `holder`.
    fn live(&self, holder: Holder, events: Vec<SignedEvent>) -> Vec<Incoming> {
        let now = (self.clock)();
        events.into_iter().map(|e| Incoming::live(e, now).from(holder.clone())).collect()
    }

    /// Submits events with when each was first received (history from a
    /// peer, events this node held or made earlier); resolves when they are
    /// durable (or refused).
    pub async fn submit_received(
        &self,
        source: Source,
        events: Vec<Incoming>,
    ) -> Result<Vec<Outcome>, IngestError> {
        self.request(source, events, Answer::Durable).await
    }

    /// Submits events received now by gossip from `holder`; resolves once
    /// each is judged and, if accepted, committed, *before* the sync that
    /// makes it durable here. What a node forwards need not wait for its
    /// own disk: the event is valid either way, and if the sync then fails
    /// (the store takes no more writes) peers still hold it. Nothing is
    /// acknowledged to a client on this answer.
    pub async fn judge_gossip(
        &self,
        holder: Holder,
        events: Vec<SignedEvent>,
    ) -> Result<Vec<Outcome>, IngestError> {
        self.request(Source::Gossip, self.live(holder, events), Answer::Decided).await
    }

    async fn request(
        &self,
        source: Source,
        events: Vec<Incoming>,
        answer: Answer,
    ) -> Result<Vec<Outcome>, IngestError> {
        let (reply, rx) = oneshot::channel();
        let request = Request { events, source, answer, reply };
        self.tx.send(request).await.map_err(|_| IngestError::Stopped)?;
        rx.await.map_err(|_| IngestError::Stopped)?.map_err(IngestError::Store)
    }

    /// Events to announce to peers: those stored from this node's API, and
    /// pending events stored once what they waited for arrived. A listener
    /// that falls more than a few thousand behind misses some (and is told
    /// so by the channel); sync repairs that.
    pub fn announcements(&self) -> broadcast::Receiver<Announcement> {
        self.announce.subscribe()
    }
}
