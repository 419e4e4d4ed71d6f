//! The node's ingest and read paths, measured in one run:
//!
//! 1. raw batch verification on two threads (`verify_batch`, 256 per call);
//! 2. store ingest as the node runs it: the ingest threads (`Ingester`) fed
//!    batches of 256, each its own group (one commit, one fsync), four in
//!    flight, so one batch's signatures are verified while the batch before
//!    it is validated, committed and flushed; again with one bad signature
//!    in every batch; and (2s) `ingest::ingest` called batch after batch,
//!    nothing overlapping, timed stage by stage inside the real path (2c);
//! 3. the HTTP API: a real node in this process, 16 client threads each
//!    posting 64 events per request to `POST /v1/events`;
//! 4. reads on a store of N events (`feed`, `thread`, `tally`), with the
//!    store's memory and disk footprint and what reopening it costs;
//! 5. many single submitters: one real node, batched requests (4 clients x
//!    100 events), then 4 and 64 clients each sending one event per request
//!    and waiting for its answer, batched again, then 64 connections
//!    sending one event each at fixed times at half the rate the 64 clients
//!    reached (an open loop): events/s, the node's CPU per event (the
//!    process's CPU less its client threads'), syncs of the store per event
//!    (`curbside_store_syncs`), and latency from send to answer.
//!
//! ```text
//! cargo bench -p curbside-node --bench node
//! CURBSIDE_BENCH_EVENTS=100000 cargo bench -p curbside-node --bench node   # a quick run
//! CURBSIDE_BENCH_ONLY=reads cargo bench -p curbside-node --bench node       # part 4 alone
//! CURBSIDE_BENCH_ONLY=submitters CURBSIDE_BENCH_EVENTS=20000 cargo bench -p curbside-node --bench node   # part 5 alone
//! ```
//!
//! `CURBSIDE_BENCH_EVENTS` (default 1,000,000) sizes the store of part 4;
//! `CURBSIDE_BENCH_QUERIES` (default 1,000) the random reads of each kind
//! part 4 makes, and `CURBSIDE_BENCH_CACHE_MB` (default the node's, 1,024)
//! the page cache of its store; `CURBSIDE_BENCH_ONLY=reads` runs part 4
//! alone (the reads take seconds, the build minutes; parts 1-3 another
//! five);
//! `CURBSIDE_BENCH_ROUNDS` (default 3) the rounds of parts 1 and 2, which
//! run interleaved (raw, ingest, ingest with bad signatures, serial ingest,
//! raw again), best round counting (the machine is shared; the best round
//! is the least disturbed); each round's own ratio is printed too, to show
//! the noise. Ratios compare figures of one process. Parts 3 and 4 run
//! once; part 4 runs first, so its memory figures are not inflated by what
//! earlier parts allocated. Progress goes to stderr, results to stdout. The
//! default run takes about 10 minutes on two quiet cores.
//!
//! Events are signed before anything is timed, on all cores. Signing is
//! deterministic (fixed seeds), so runs are repeatable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "shared/audit_log.rs"]
mod audit_log;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use curbside_node::api::THREAD_PAGE;
use curbside_node::config::{AuthorLimit, NodeConfig, Overrides};
use curbside_node::datadir::DataDir;
use curbside_node::ingest::{Incoming, IngestConfig, Ingester, Outcome, Source, Stages, ingest};
use curbside_node::store::{Store, StoreConfig};
use curbside_protocol::testkit::{Federation, SplitMix64, key};
use curbside_protocol::{
    AgeBand, Attestation, AttestationRequest, Body, Case, Charter, Comment, DEFAULT_HUBS, Digest,
    Event, EventId, Genesis, Handle, HubId, Jurisdiction, LicenceOpening, NetworkId, Poll, Post,
    PublicKey, Rejection, SecretKey, Sex, Signature, SignedEvent, Specialty, Tag, Timestamp,
    TrustView as _, Vote, verify_batch,
};
use futures::StreamExt as _;

/// The allocator the `curbside` binary runs nodes with (cli/src/main.rs):
/// the library leaves the choice to the program, and this benchmark
/// chooses the same one so its numbers stay comparable with the binary's
/// and with those recorded in docs/BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Events per `verify_batch` / `ingest` call.
const BATCH: usize = 256;
/// Threads of the raw verification baseline.
const VERIFY_THREADS: usize = 2;
/// Batches part 2 keeps in flight.
const IN_FLIGHT: usize = 4;
/// Events of parts 1 and 2.
const INGEST_EVENTS: usize = 200_000;
/// Attested authors of parts 2 and 3.
const AUTHORS: usize = 2_000;
/// Events part 3 posts, clients, events per request.
const API_EVENTS: usize = 100_000;
const API_CLIENTS: usize = 16;
const API_PER_REQUEST: usize = 64;
/// Replies per thread in part 4 (some nested).
const REPLIES: usize = 20;
/// Threads open for replies at once.
const OPEN_THREADS: usize = 32;
/// Events signed and ingested per step while building the big store.
const BUILD_CHUNK: usize = 64 * BATCH;

const SPECIALTIES: [&str; 6] =
    ["general-practice", "cardiology", "endocrinology", "oncology", "psychiatry", "dermatology"];

const COMMENTS: [&str; 4] = [
    "Agree with checking magnesium first; in our unit we see this after PPIs.",
    "K 3.1 on repeat is worth an ECG (QTc?) and a look at urinary potassium losses. \
     We would also stop the thiazide and recheck in a week before adding anything.",
    "Would not start anything until the repeat HbA1c; a single value of 7.2% after a steroid \
     course is hard to interpret. If it holds, metformin first, titrated slowly, with a \
     review of renal function at three months given the eGFR of 45.",
    "Same experience here.",
];

fn start() -> Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *START.get_or_init(Instant::now)
}

macro_rules! progress {
    ($($arg:tt)*) => {
        eprintln!("[{:>6.1}s] {}", start().elapsed().as_secs_f64(), format!($($arg)*))
    };
}

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => {
            v.replace('_', "").parse().unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        }
        Err(_) => default,
    }
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Maps `f` over `items` on every core, keeping order.
fn par_map<T: Send, U: Send>(items: Vec<T>, f: impl Fn(T) -> U + Sync) -> Vec<U> {
    let per = items.len().div_ceil(threads()).max(1);
    let mut chunks = Vec::new();
    let mut rest = items;
    while rest.len() > per {
        let tail = rest.split_off(per);
        chunks.push(rest);
        rest = tail;
    }
    chunks.push(rest);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| s.spawn(move || c.into_iter().map(f).collect::<Vec<U>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

/// Physicians' keys, derived from their index (on every core).
fn doctors(n: usize) -> Vec<SecretKey> {
    par_map((0..n).collect(), |i| key(&format!("bench-dr-{i}")))
}

/// An attestation of doctor `i` by `verifier` at `at`, as the testkit's
/// `Federation::attestation` makes them but with an explicit time, so that
/// many can be made in parallel. Specialties and jurisdictions vary so that
/// tallies have breakdowns.
fn attestation(
    network: NetworkId,
    verifier: &SecretKey,
    dr: &SecretKey,
    i: usize,
    at: Timestamp,
) -> SignedEvent {
    let handle = format!("dr-{i}");
    let request = AttestationRequest::new(network, dr, Handle::new(&handle).unwrap(), at);
    let jurisdiction = Jurisdiction::new(if i % 4 == 3 { "DEV" } else { "GB" }).unwrap();
    let mut salt = [0x5a; 32];
    salt[..8].copy_from_slice(&(i as u64).to_be_bytes());
    let opening = LicenceOpening {
        salt: Digest::from_bytes(salt),
        jurisdiction: jurisdiction.clone(),
        licence: format!("LIC-{i}"),
    };
    let mut specialties = vec![Specialty::new(SPECIALTIES[i % SPECIALTIES.len()]).unwrap()];
    if i.is_multiple_of(7) {
        specialties.push(Specialty::new(SPECIALTIES[(i / 7 + 1) % SPECIALTIES.len()]).unwrap());
        specialties.dedup();
    }
    Event::new(
        network,
        verifier.public(),
        at,
        Body::Attestation(Attestation {
            subject: request.subject,
            handle: request.handle,
            specialties,
            jurisdiction,
            licence_commitment: opening.commitment(),
            valid_until: at.plus_days(365),
            requested_at: at,
            possession: request.signature,
        }),
    )
    .sign(verifier)
    .unwrap()
}

/// Attestations of `doctors[range]`, 1 ms apart from `from`.
fn attestations(
    network: NetworkId,
    verifier: &SecretKey,
    doctors: &[SecretKey],
    range: std::ops::Range<usize>,
    from: Timestamp,
) -> Vec<SignedEvent> {
    let first = range.start;
    par_map(range.collect(), |i| {
        attestation(network, verifier, &doctors[i], i, from.plus_millis((i - first) as u64))
    })
}

/// An unsigned event and who signs it.
struct Item {
    event: Event,
    author: usize,
    /// Nothing refers to it (votes, cases, flat-mode posts and comments).
    leaf: bool,
}

fn sign(items: Vec<Item>, doctors: &[SecretKey]) -> Vec<(SignedEvent, bool)> {
    par_map(items, |it| (it.event.sign(&doctors[it.author]).expect("author's key"), it.leaf))
}

struct Thread {
    root: EventId,
    replies: Vec<EventId>,
}

/// How many events of each kind the stream still has to make.
#[derive(Clone, Copy)]
struct Mix {
    big_votes: usize,
    votes: usize,
    cases: usize,
    /// Posts and comments.
    text: usize,
}

impl Mix {
    fn total(&self) -> usize {
        self.big_votes + self.votes + self.cases + self.text
    }
}

/// Makes unsigned events, in order, 1 ms apart: posts with ~20 replies each
/// (some nested), cases, and votes. Ids do not depend on signatures, so the
/// stream can refer to earlier events before anything is signed.
struct Content {
    network: NetworkId,
    clock: Timestamp,
    rng: SplitMix64,
    hubs: Vec<HubId>,
    publics: Vec<PublicKey>,
    /// Authors and voters are doctors `0..authors`.
    authors: usize,
    small_polls: Vec<(EventId, usize)>,
    big_poll: Option<EventId>,
    big_next: usize,
    left: Mix,
    open: Vec<Thread>,
    /// Flat mode (part 3): comments only on these stored roots, so that no
    /// request depends on another one in flight.
    fixed_roots: Vec<EventId>,
    /// (hub index, created_at, id) of every post, case and poll.
    feed: Vec<(usize, Timestamp, EventId)>,
    /// Roots with all their replies.
    full_threads: Vec<EventId>,
}

impl Content {
    fn new(network: NetworkId, from: Timestamp, publics: Vec<PublicKey>, authors: usize) -> Self {
        Self {
            network,
            clock: from,
            rng: SplitMix64(0x00c0_ffee),
            hubs: DEFAULT_HUBS.iter().map(|(id, _)| HubId::new(*id).unwrap()).collect(),
            publics,
            authors,
            small_polls: Vec::new(),
            big_poll: None,
            big_next: 0,
            left: Mix { big_votes: 0, votes: 0, cases: 0, text: 0 },
            open: Vec::new(),
            fixed_roots: Vec::new(),
            feed: Vec::new(),
            full_threads: Vec::new(),
        }
    }

    fn item(&mut self, author: usize, body: Body, leaf: bool) -> Item {
        let at = self.clock;
        self.clock = at.plus_millis(1);
        Item { event: Event::new(self.network, self.publics[author], at, body), author, leaf }
    }

    fn random_author(&mut self) -> usize {
        self.rng.below(self.authors)
    }

    /// A hub, `general` more often than the others.
    fn random_hub(&mut self) -> usize {
        if self.rng.below(3) == 0 { 0 } else { self.rng.below(self.hubs.len()) }
    }

    fn poll(&mut self, author: usize, question: &str, options: &[&str]) -> (Item, EventId) {
        let closes_at = self.clock.plus_days(30);
        let item = self.item(
            author,
            Body::Poll(Poll {
                hub: self.hubs[0].clone(),
                question: question.into(),
                options: options.iter().map(|o| o.to_string()).collect(),
                closes_at,
                eligible: vec![],
            }),
            false,
        );
        let id = item.event.id();
        self.feed.push((0, item.event.created_at, id));
        (item, id)
    }

    fn post(&mut self, leaf: bool) -> Item {
        let author = self.random_author();
        let hub = self.random_hub();
        let n = self.rng.below(1000);
        let item = self.item(
            author,
            Body::Post(Post {
                hub: self.hubs[hub].clone(),
                title: format!("Question {n}: persistent hypokalaemia despite replacement"),
                body: "Seen in clinic today: HbA1c 7.2%, BP 120/80, eGFR 45, K 3.1 on two \
                       occasions despite oral replacement. On a thiazide and a PPI. Magnesium \
                       not yet checked. Thoughts on next steps?"
                    .into(),
            }),
            leaf,
        );
        self.feed.push((hub, item.event.created_at, item.event.id()));
        item
    }

    fn comment(&mut self, parent: EventId, leaf: bool) -> Item {
        let author = self.random_author();
        let text = COMMENTS[self.rng.below(COMMENTS.len())];
        self.item(author, Body::Comment(Comment { parent, body: text.into() }), leaf)
    }

    fn case(&mut self) -> Item {
        let author = self.random_author();
        let hub = 1 + self.rng.below(self.hubs.len() - 1);
        let n = self.rng.below(1000);
        let item = self.item(
            author,
            Body::Case(Case {
                hub: self.hubs[hub].clone(),
                title: format!("Syncope on exertion, discussion {n}"),
                age: AgeBand::Age18To29,
                sex: Sex::Male,
                presentation: "Two episodes of exertional syncope 2 weeks ago, no prodrome.".into(),
                history: "No family history of sudden death known. Occasional palpitations.".into(),
                findings: "BP 118/76, HR 54, ECG: LVH voltage, deep T inversion V4-V6. EF 60%."
                    .into(),
                question: "Would you clear him to play before cardiac MRI?".into(),
                tags: vec![Tag::new("syncope").unwrap(), Tag::new("sports-cardiology").unwrap()],
            }),
            true,
        );
        self.feed.push((hub, item.event.created_at, item.event.id()));
        item
    }

    fn text(&mut self) -> Item {
        if !self.fixed_roots.is_empty() {
            if self.rng.below(REPLIES + 1) == 0 {
                return self.post(true);
            }
            let root = self.fixed_roots[self.rng.below(self.fixed_roots.len())];
            return self.comment(root, true);
        }
        if self.open.len() < OPEN_THREADS {
            let post = self.post(false);
            self.open.push(Thread { root: post.event.id(), replies: Vec::new() });
            return post;
        }
        let t = self.rng.below(self.open.len());
        let nested = !self.open[t].replies.is_empty() && self.rng.below(10) < 4;
        let parent = if nested {
            let r = self.rng.below(self.open[t].replies.len());
            self.open[t].replies[r]
        } else {
            self.open[t].root
        };
        let comment = self.comment(parent, false);
        self.open[t].replies.push(comment.event.id());
        if self.open[t].replies.len() >= REPLIES {
            let done = self.open.swap_remove(t);
            self.full_threads.push(done.root);
        }
        comment
    }

    fn next(&mut self) -> Option<Item> {
        let total = self.left.total();
        if total == 0 {
            return None;
        }
        let mut r = self.rng.below(total);
        if r < self.left.big_votes {
            self.left.big_votes -= 1;
            let voter = self.big_next;
            self.big_next += 1;
            let option = match voter % 10 {
                0..=4 => 0,
                5..=7 => 1,
                _ => 2,
            };
            let poll = self.big_poll.expect("a big poll");
            return Some(self.item(voter, Body::Vote(Vote { poll, option }), true));
        }
        r -= self.left.big_votes;
        if r < self.left.votes {
            self.left.votes -= 1;
            let (poll, options) = self.small_polls[self.rng.below(self.small_polls.len())];
            let voter = self.random_author();
            let option = self.rng.below(options) as u8;
            return Some(self.item(voter, Body::Vote(Vote { poll, option }), true));
        }
        r -= self.left.votes;
        if r < self.left.cases {
            self.left.cases -= 1;
            return Some(self.case());
        }
        self.left.text -= 1;
        Some(self.text())
    }

    fn take(&mut self, n: usize) -> Vec<Item> {
        std::iter::from_fn(|| self.next()).take(n).collect()
    }
}

/// Small polls, made by the first doctors.
fn small_polls(content: &mut Content, n: usize) -> Vec<Item> {
    (0..n)
        .map(|i| {
            let options: &[&str] = if i % 2 == 0 {
                &["Start an SGLT2 inhibitor", "Add a GLP-1 agonist", "Watch and wait"]
            } else {
                &["Yes", "No"]
            };
            let (item, id) = content.poll(i % content.authors, "First-line treatment?", options);
            content.small_polls.push((id, options.len()));
            item
        })
        .collect()
}

fn check_stored(outcomes: &[Outcome]) {
    if let Some(bad) = outcomes.iter().find(|o| !o.is_stored()) {
        panic!("an event was not stored: {bad:?}");
    }
}

/// The corpus as history: each event received when it was made (validation
/// does the same work whatever the receipt; judged as received now, events
/// made more than the clock skew before `now` would be stale).
fn history(events: Vec<SignedEvent>) -> Vec<Incoming> {
    events.into_iter().map(Incoming::when_made).collect()
}

/// Ingests `events` in batches of [`BATCH`], asserting every one is stored;
/// returns the time spent in `ingest`.
fn ingest_all(store: &Store, events: Vec<SignedEvent>, now: Timestamp) -> Duration {
    let config = IngestConfig::default();
    let mut spent = Duration::ZERO;
    let mut it = events.into_iter();
    loop {
        let batch: Vec<SignedEvent> = it.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            return spent;
        }
        let t = Instant::now();
        let outcomes = ingest(store, &config, history(batch), now).unwrap().outcomes;
        spent += t.elapsed();
        check_stored(&outcomes);
    }
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The `q` quantile of sorted `v` (nearest rank).
fn quantile(v: &[Duration], q: f64) -> Duration {
    let rank = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// A field of /proc/self/status, in kB.
fn proc_status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn mib_kb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

// ---------------------------------------------------------------- parts 1, 2

/// Part 1: `events` split across two threads, each calling `verify_batch`
/// on chunks of 256 (the copies are made before the clock starts).
fn raw_verify(events: &[SignedEvent]) -> Duration {
    let half = events.len().div_ceil(VERIFY_THREADS);
    let parts: Vec<Vec<Vec<SignedEvent>>> =
        events.chunks(half).map(|h| h.chunks(BATCH).map(<[_]>::to_vec).collect()).collect();
    let t = Instant::now();
    let ok: usize = std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|chunks| {
                s.spawn(move || {
                    chunks
                        .into_iter()
                        .map(|c| verify_batch(c).iter().filter(|r| r.is_ok()).count())
                        .sum::<usize>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let elapsed = t.elapsed();
    assert_eq!(ok, events.len(), "every signature verifies");
    elapsed
}

/// A fresh store holding `setup`, and `events` (with a broken signature at
/// each index of `bad`) cut into batches of 256.
fn fresh_store(
    genesis: &Genesis,
    setup: &[SignedEvent],
    events: &[SignedEvent],
    bad: &[usize],
    now: Timestamp,
) -> (tempfile::TempDir, Arc<Store>, Vec<Vec<SignedEvent>>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store"), genesis.clone()).unwrap();
    ingest_all(&store, setup.to_vec(), now);
    store.flush().unwrap();
    let mut input = events.to_vec();
    for &i in bad {
        let e = &input[i];
        let mut sig = e.signature().to_bytes();
        sig[7] ^= 0x10;
        input[i] = SignedEvent::from_parts(e.event().clone(), Signature::from_bytes(sig));
    }
    let batches = input.chunks(BATCH).map(<[_]>::to_vec).collect();
    (dir, Arc::new(store), batches)
}

/// Checks that every event is stored but the bad ones, each refused as a
/// bad signature.
fn check_ingested(
    store: &Store,
    setup: &[SignedEvent],
    events: &[SignedEvent],
    bad: &[usize],
    outcomes: &[Outcome],
) {
    assert_eq!(outcomes.len(), events.len());
    let mut bad_at = bad.iter().peekable();
    for (i, outcome) in outcomes.iter().enumerate() {
        if bad_at.peek() == Some(&&i) {
            bad_at.next();
            match outcome {
                Outcome::Rejected { id, refusal } => {
                    assert_eq!(refusal.code().as_str(), Rejection::BadSignature.code());
                    assert_eq!(id, &events[i].id(), "the bad event is named");
                    assert!(!store.events().contains(id).unwrap());
                }
                other => panic!("a bad signature was not refused: {other:?}"),
            }
        } else {
            assert!(matches!(outcome, Outcome::Stored { .. }), "event {i}: {outcome:?}");
        }
    }
    let counts = store.counts().unwrap();
    assert_eq!(counts.events as usize, setup.len() + events.len() - bad.len());
}

/// Part 2 as the node runs it: a fresh store holding `setup`, then `events`
/// submitted to the ingest threads ([`Ingester`]) in batches of 256, groups
/// limited to 256 (so each batch is one commit and one fsync), four batches
/// in flight, so that one batch's signatures are verified while the batch
/// before it is written. With `bad`, the event at each of those indices gets
/// a broken signature; the rest must be stored and each bad one named.
fn store_ingest(
    genesis: &Genesis,
    setup: &[SignedEvent],
    events: &[SignedEvent],
    bad: &[usize],
    now: Timestamp,
) -> Duration {
    let (_dir, store, batches) = fresh_store(genesis, setup, events, bad, now);
    BENCH_NOW.get_or_init(|| now);
    assert_eq!(*BENCH_NOW.get().unwrap(), now, "one clock for every round");
    let config = IngestConfig { max_group: BATCH, ..IngestConfig::default() };
    let (ingester, threads) = Ingester::builder(store.clone(), config, bench_now).start().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let t = Instant::now();
    let results: Vec<Vec<Outcome>> = runtime.block_on(async {
        futures::stream::iter(batches)
            .map(|batch| ingester.submit_received(Source::Local, history(batch)))
            .buffered(IN_FLIGHT)
            .map(|r| r.unwrap())
            .collect()
            .await
    });
    let elapsed = t.elapsed();
    drop(ingester);
    threads.join();
    let outcomes: Vec<Outcome> = results.into_iter().flatten().collect();
    check_ingested(&store, setup, events, bad, &outcomes);
    elapsed
}

/// Part 2s: the same through [`ingest`] called batch after batch,
/// so nothing overlaps, with the time of each stage of the path.
fn store_ingest_serial(
    genesis: &Genesis,
    setup: &[SignedEvent],
    events: &[SignedEvent],
    now: Timestamp,
) -> (Duration, Stages) {
    let (_dir, store, batches) = fresh_store(genesis, setup, events, &[], now);
    let config = IngestConfig::default();
    let mut stages = Stages::default();
    let mut outcomes = Vec::with_capacity(events.len());
    let t = Instant::now();
    for batch in batches {
        let ingested = ingest(&store, &config, history(batch), now).unwrap();
        outcomes.extend(ingested.outcomes);
        add_stages(&mut stages, &ingested.stages);
    }
    let elapsed = t.elapsed();
    check_ingested(&store, setup, events, &[], &outcomes);
    (elapsed, stages)
}

fn add_stages(into: &mut Stages, s: &Stages) {
    into.screen += s.screen;
    into.verify += s.verify;
    into.validate += s.validate;
    into.commit += s.commit;
    into.flush += s.flush;
}

/// The fixed "now" of parts 1 and 2, for the ingest threads' clock.
static BENCH_NOW: std::sync::OnceLock<Timestamp> = std::sync::OnceLock::new();

fn bench_now() -> Timestamp {
    BENCH_NOW.get().copied().unwrap_or(Timestamp::from_millis(0))
}

// -------------------------------------------------------------------- part 3

/// A node serving its API on 127.0.0.1 at a port the OS chose, as
/// `tests/src/lib.rs` starts them.
struct Node {
    url: String,
    /// Submissions go as the operator's: the API's budget of checking for
    /// callers without credentials is not what part 3 measures.
    admin_token: String,
    /// Stopped on drop, before the data directory is removed.
    _node: curbside_node::NodeThread,
    _dir: tempfile::TempDir,
}

impl Node {
    fn start(genesis: &Genesis) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("node");
        let datadir = DataDir::init(&data, genesis).unwrap();
        let admin_token = datadir.admin_token().to_owned();
        let mut config = NodeConfig::load(&data, &Overrides::default()).unwrap();
        // Part 3 measures how fast the API takes events, not the limit per
        // physician: 2,000 physicians sending 100,000 events in seconds are
        // far over it (60 a minute each).
        config.author_limit = AuthorLimit { per_minute: u32::MAX, burst: u32::MAX };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let node = curbside_node::NodeBuilder::new(config, datadir)
            .spawn_on_own_runtime("bench-node".into(), listener, || {})
            .unwrap();
        let node = Self { url: node.url(), admin_token, _node: node, _dir: dir };
        let agent = agent();
        let deadline = Instant::now() + Duration::from_secs(20);
        while node.status(&agent).is_none() {
            assert!(Instant::now() < deadline, "the node did not answer within 20 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        node
    }

    /// The node's stored event count, if it answers.
    fn status(&self, agent: &ureq::Agent) -> Option<u64> {
        let mut response = agent.get(format!("{}/v1/status", self.url)).call().ok()?;
        if response.status() != 200 {
            return None;
        }
        let text = response.body_mut().read_to_string().ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["events"].as_u64()
    }

    /// How many times the node has synced its store (`/metrics`).
    fn syncs(&self, agent: &ureq::Agent) -> u64 {
        let mut response = agent.get(format!("{}/metrics", self.url)).call().unwrap();
        let text = response.body_mut().read_to_string().unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("curbside_store_syncs "))
            .and_then(|v| v.trim().parse().ok())
            .expect("curbside_store_syncs in /metrics")
    }

    /// `POST /v1/events` with a prepared body: (status, body).
    fn post(&self, agent: &ureq::Agent, body: &str) -> (u16, String) {
        let mut response = agent
            .post(format!("{}/v1/events", self.url))
            .header("Content-Type", "application/json")
            .header("Authorization", format!("Bearer {}", self.admin_token))
            .send(body)
            .unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap_or_default())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

fn request_body(events: &[SignedEvent]) -> String {
    let encoded: Vec<String> = events
        .iter()
        .map(|e| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(e.to_bytes()))
        .collect();
    serde_json::json!({ "events": encoded }).to_string()
}

struct ApiResult {
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// Events made at real times for a node that stamps receipts with the real
/// clock: the setup (a charter ten minutes ago, 2,000 attestations at
/// `attested_at`, 10 polls and 1,000 posts just after) and a stream of `n`
/// posts, comments on those posts (so that no request depends on another
/// in flight), cases and votes, 1 ms apart from `stream_after_ms` after
/// `attested_at`.
struct LiveCorpus {
    setup: Vec<SignedEvent>,
    stream: Vec<SignedEvent>,
    /// When the stream's last event was made.
    end: Timestamp,
}

fn live_corpus(
    genesis: &Genesis,
    root: &SecretKey,
    verifier: &SecretKey,
    doctors: &[SecretKey],
    attested_at: Timestamp,
    stream_after_ms: u64,
    n: usize,
) -> LiveCorpus {
    let network = genesis.network_id();
    let t0 = attested_at.minus_millis(6 * 60 * 1000);
    let charter = Event::new(
        network,
        root.public(),
        t0,
        Body::Charter(Charter {
            node: verifier.public(),
            institution: "Test Hospital".into(),
            verify: vec![Jurisdiction::new("GB").unwrap(), Jurisdiction::new("DEV").unwrap()],
            valid_until: t0.plus_days(365),
        }),
    )
    .sign(root)
    .unwrap();
    let atts = attestations(network, verifier, doctors, 0..AUTHORS, attested_at);
    let publics = doctors[..AUTHORS].iter().map(SecretKey::public).collect();
    let mut content = Content::new(network, attested_at.plus_millis(10_000), publics, AUTHORS);
    let mut seed = small_polls(&mut content, 10);
    seed.extend((0..1_000).map(|_| content.post(false)));
    content.fixed_roots = seed.iter().skip(10).map(|i| i.event.id()).collect();
    let seed = sign(seed, doctors);
    content.clock = attested_at.plus_millis(stream_after_ms);
    content.left = Mix { big_votes: 0, votes: n / 5, cases: n / 20, text: n - n / 5 - n / 20 };
    let stream = sign(content.take(n), doctors);
    let window = genesis.params.log_merge_window_ms;
    assert!(content.clock < attested_at.plus_millis(window), "within the log merge window");
    let mut setup: Vec<SignedEvent> = vec![charter];
    setup.extend(atts);
    setup.extend(seed.into_iter().map(|(e, _)| e));
    LiveCorpus { setup, stream: stream.into_iter().map(|(e, _)| e).collect(), end: content.clock }
}

/// Part 3. The node stamps ingest with the real clock
/// (`curbside_node::now()`), so these events are made at real times: the
/// testkit network's genesis (founded 2026-01-01, before any real "now" this
/// runs at) with a charter ten minutes ago, attestations six minutes ago,
/// polls and seed posts just after, then the measured stream 1 ms apart,
/// ending over three minutes before the clock starts. Nothing is in the
/// future of the node's clock, attestations and the charter are in force,
/// polls are open, and every event is within the genesis's log merge
/// window of its author's attestation (this node holds no verifier's log,
/// so a later event would wait for its attestation's log entry).
/// Setting the times explicitly does the same as advancing a `Federation`'s
/// clock to the real now, without its `&mut` per event.
fn api_ingest(
    genesis: &Genesis,
    root: &SecretKey,
    verifier: &SecretKey,
    doctors: &[SecretKey],
) -> ApiResult {
    let real_now = curbside_node::now();
    // Within max_clock_skew_ms (5 min) of receipt: older is refused `stale`.
    let attested_at = real_now.minus_millis(4 * 60 * 1000);
    let corpus = live_corpus(genesis, root, verifier, doctors, attested_at, 30_000, API_EVENTS);
    assert!(corpus.end < real_now.minus_millis(60 * 1000));
    let (setup, stream) = (corpus.setup, corpus.stream);
    let bodies: Vec<String> = stream.chunks(API_PER_REQUEST).map(request_body).collect();
    let wire_bytes: usize = bodies.iter().map(String::len).sum();
    drop(stream);

    let node = Node::start(genesis);
    let setup_agent = agent();
    let setup_len = setup.len();
    for chunk in setup.chunks(BATCH) {
        let (status, body) = node.post(&setup_agent, &request_body(chunk));
        assert_eq!(status, 200, "setup: {body}");
    }
    progress!(
        "part 3: node at {} holds {setup_len} setup events; {} requests of {API_PER_REQUEST} \
         events ({} KB of JSON) from {API_CLIENTS} clients",
        node.url,
        bodies.len(),
        wire_bytes / 1024
    );

    let next = AtomicUsize::new(0);
    let t = Instant::now();
    let mut latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..API_CLIENTS)
            .map(|_| {
                s.spawn(|| {
                    let agent = agent();
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(body) = bodies.get(i) else { return mine };
                        let sent = Instant::now();
                        let (status, answer) = node.post(&agent, body);
                        mine.push(sent.elapsed());
                        assert_eq!(status, 200, "request {i}: {answer}");
                    }
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let elapsed = t.elapsed();
    latencies.sort_unstable();
    let stored = node.status(&setup_agent).expect("status");
    assert_eq!(stored as usize, setup_len + API_EVENTS, "every event is stored");
    drop(node);
    ApiResult { elapsed, latencies }
}

// -------------------------------------------------------------------- part 5

/// Part 5: events per batched request, and its clients.
const SUBMIT_BATCH: usize = 100;
const BATCH_CLIENTS: usize = 4;
/// Events each run of part 5 sends: each batched run (there are two, one
/// before and one after the single-event runs), the closed loop of 4
/// clients, the closed loop of 64; the open loop sends at half the 64
/// clients' rate for `OPEN_SECS` seconds.
const SUBMIT_BATCHED_EVENTS: usize = 20_000;
const SUBMIT_FEW_EVENTS: usize = 8_000;
const SUBMIT_MANY_EVENTS: usize = 24_000;
const OPEN_SECS: f64 = 8.0;
const FEW_CLIENTS: usize = 4;
const MANY_CLIENTS: usize = 64;

/// CPU time (user + system) of the whole process or of the calling thread.
fn cpu_time(who: nix::sys::resource::UsageWho) -> Duration {
    let usage = nix::sys::resource::getrusage(who).expect("getrusage");
    let d = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
    };
    d(usage.user_time()) + d(usage.system_time())
}

fn process_cpu() -> Duration {
    cpu_time(nix::sys::resource::UsageWho::RUSAGE_SELF)
}

fn thread_cpu() -> Duration {
    cpu_time(nix::sys::resource::UsageWho::RUSAGE_THREAD)
}

/// One keep-alive HTTP/1.1 connection that sends prepared requests and
/// reads their answers: far cheaper per request than a general client, so
/// that the clients, which share the node's two cores, take as little of
/// them as they can.
struct Conn {
    stream: std::net::TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(addr: &str) -> Self {
        let stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        Self { stream, buf: Vec::with_capacity(16 * 1024) }
    }

    /// Sends `request` (a whole HTTP request) and reads the answer: its
    /// status and body.
    fn call(&mut self, request: &[u8]) -> (u16, &[u8]) {
        use std::io::{Read as _, Write as _};
        self.stream.write_all(request).unwrap();
        self.buf.clear();
        let mut chunk = [0u8; 8192];
        let (head_end, length) = loop {
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "the node closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end]).unwrap().to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse::<usize>().unwrap())
                    .expect("an answer with a content-length");
                break (end + 4, length);
            }
        };
        while self.buf.len() < head_end + length {
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "the node closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
        let status = std::str::from_utf8(&self.buf[9..12]).unwrap().parse().unwrap();
        (status, &self.buf[head_end..head_end + length])
    }
}

/// `POST /v1/events` of `events` as the operator, as bytes on the wire.
fn http_request(node: &Node, events: &[SignedEvent]) -> Vec<u8> {
    let body = request_body(events);
    let host = node.url.trim_start_matches("http://");
    format!(
        "POST /v1/events HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n\
         authorization: Bearer {}\r\ncontent-length: {}\r\n\r\n{body}",
        node.admin_token,
        body.len()
    )
    .into_bytes()
}

/// Checks an answer: 200, and every event stored.
fn check_answer(status: u16, body: &[u8], events: usize) {
    let text = std::str::from_utf8(body).unwrap();
    assert_eq!(status, 200, "{text}");
    let stored = text.matches("\"stored\"").count();
    assert_eq!(stored, events, "every event stored: {text}");
}

/// What one run of part 5 measured.
struct SubmitRun {
    name: String,
    events: usize,
    elapsed: Duration,
    /// The node's CPU time: the process's, less the clients' threads'.
    node_cpu: Duration,
    client_cpu: Duration,
    /// Syncs of the store's log during the run.
    syncs: u64,
    /// Send to answer; for the open loop, from when the request was due.
    latencies: Vec<Duration>,
    /// Load average (1 minute) when the run ended.
    load: f64,
}

impl SubmitRun {
    fn rate(&self) -> f64 {
        rate(self.events, self.elapsed)
    }

    fn cpu_us(&self) -> f64 {
        self.node_cpu.as_secs_f64() * 1e6 / self.events as f64
    }
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// Runs `clients` threads, each with its own connection, sending the
/// requests of `requests` (each with its event count); `due(i)`, if given,
/// is when request `i` is due from the start (open loop: client `c` sends
/// requests `c, c + clients, …` each at its time, however late the one
/// before was answered; latency counts from when it was due).
fn submit_run(
    node: &Node,
    name: String,
    requests: &[(Vec<u8>, usize)],
    clients: usize,
    due: Option<&(dyn Fn(usize) -> Duration + Sync)>,
) -> SubmitRun {
    let addr = node.url.trim_start_matches("http://").to_owned();
    let metrics_agent = agent();
    let syncs_before = node.syncs(&metrics_agent);
    let next = AtomicUsize::new(0);
    let barrier = std::sync::Barrier::new(clients + 1);
    let (t, cpu_before, results) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let (addr, next, barrier) = (&addr, &next, &barrier);
                s.spawn(move || {
                    let mut conn = Conn::open(addr);
                    let mut mine = Vec::new();
                    barrier.wait();
                    let start = Instant::now();
                    let cpu = thread_cpu();
                    let mut i = c;
                    loop {
                        let k = match due {
                            Some(_) => i,
                            None => next.fetch_add(1, Ordering::Relaxed),
                        };
                        let Some((request, n)) = requests.get(k) else { break };
                        let sent = match due {
                            Some(due) => {
                                let at = start + due(k);
                                let now = Instant::now();
                                if at > now {
                                    std::thread::sleep(at - now);
                                }
                                at
                            }
                            None => Instant::now(),
                        };
                        let (status, body) = conn.call(request);
                        mine.push(sent.elapsed());
                        check_answer(status, body, *n);
                        i += clients;
                    }
                    (mine, thread_cpu() - cpu)
                })
            })
            .collect();
        let cpu_before = process_cpu();
        barrier.wait();
        let t = Instant::now();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        (t, cpu_before, results)
    });
    let elapsed = t.elapsed();
    let process = process_cpu() - cpu_before;
    let syncs = node.syncs(&metrics_agent) - syncs_before;
    let client_cpu: Duration = results.iter().map(|(_, cpu)| *cpu).sum();
    let mut latencies: Vec<Duration> = results.into_iter().flat_map(|(l, _)| l).collect();
    latencies.sort_unstable();
    SubmitRun {
        name,
        events: requests.iter().map(|(_, n)| n).sum(),
        elapsed,
        node_cpu: process.saturating_sub(client_cpu),
        client_cpu,
        syncs,
        latencies,
        load: load_average(),
    }
}

/// Part 5: many single submitters. One node; batched requests, then 4 and
/// 64 clients each sending one event per request and waiting for its
/// answer (closed loops), batched again, then an open loop of 64
/// connections at half the rate the 64 clients reached. Every run sends
/// fresh events, and every answer is checked (200, each event stored).
fn submitters(
    genesis: &Genesis,
    root: &SecretKey,
    verifier: &SecretKey,
    doctors: &[SecretKey],
) -> Vec<SubmitRun> {
    // Everything must be received within 5 minutes of being made (and of
    // the attestations): the runs take one to two.
    let real_now = curbside_node::now();
    let attested_at = real_now.minus_millis(60 * 1000);
    let closed = 2 * SUBMIT_BATCHED_EVENTS + SUBMIT_FEW_EVENTS + SUBMIT_MANY_EVENTS;
    // The open loop's share: at most 8 s at 6,000 events/s.
    let n = closed + 48_000;
    let corpus = live_corpus(genesis, root, verifier, doctors, attested_at, 10_000, n);
    let (setup, mut stream) = (corpus.setup, corpus.stream);
    let node = Node::start(genesis);
    let setup_agent = agent();
    for chunk in setup.chunks(BATCH) {
        let (status, body) = node.post(&setup_agent, &request_body(chunk));
        assert_eq!(status, 200, "setup: {body}");
    }
    progress!("part 5: node at {} holds {} setup events", node.url, setup.len());
    let mut take = |k: usize| stream.drain(..k.min(stream.len())).collect::<Vec<_>>();
    let batched = |events: Vec<SignedEvent>| -> Vec<(Vec<u8>, usize)> {
        events.chunks(SUBMIT_BATCH).map(|c| (http_request(&node, c), c.len())).collect()
    };
    let single = |events: Vec<SignedEvent>| -> Vec<(Vec<u8>, usize)> {
        events.iter().map(|e| (http_request(&node, std::slice::from_ref(e)), 1)).collect()
    };
    let mut runs = Vec::new();
    let mut run = |name: String, requests: Vec<(Vec<u8>, usize)>, clients: usize| {
        let r = submit_run(&node, name, &requests, clients, None);
        progress!(
            "part 5: {}: {:.0} events/s, {:.0} us CPU an event",
            r.name,
            r.rate(),
            r.cpu_us()
        );
        runs.push(r);
    };
    let batch_name =
        || format!("batched: {BATCH_CLIENTS} clients x {SUBMIT_BATCH} events a request");
    run(batch_name(), batched(take(SUBMIT_BATCHED_EVENTS)), BATCH_CLIENTS);
    run(format!("{FEW_CLIENTS} clients x 1, closed loop"), single(take(SUBMIT_FEW_EVENTS)), 4);
    run(
        format!("{MANY_CLIENTS} clients x 1, closed loop"),
        single(take(SUBMIT_MANY_EVENTS)),
        MANY_CLIENTS,
    );
    run(batch_name() + " (again)", batched(take(SUBMIT_BATCHED_EVENTS)), BATCH_CLIENTS);
    let half = runs[2].rate() / 2.0;
    let open = single(take((half * OPEN_SECS) as usize));
    let gap = 1.0 / half;
    let due = move |k: usize| Duration::from_secs_f64(k as f64 * gap);
    let r = submit_run(
        &node,
        format!("{MANY_CLIENTS} connections x 1, open loop at {half:.0}/s"),
        &open,
        MANY_CLIENTS,
        Some(&due),
    );
    progress!("part 5: {}: {:.0} events/s", r.name, r.rate());
    runs.push(r);
    let late = curbside_node::now();
    assert!(
        late < attested_at.plus_millis(genesis.params.max_clock_skew_ms),
        "part 5 ran past the clock skew its events allow; make it smaller"
    );
    drop(node);
    runs
}

fn print_part5(runs: &[SubmitRun]) {
    let batched = (runs[0].rate() + runs[3].rate()) / 2.0;
    let batched_cpu = (runs[0].cpu_us() + runs[3].cpu_us()) / 2.0;
    println!();
    println!(
        "part 5: one node, POST /v1/events; runs in this order; latency from send to answer \
         (open loop: from when each request was due)"
    );
    println!(
        "{:<52} {:>8} {:>9} {:>6} {:>7} {:>7} {:>8} {:>7} {:>7} {:>7} {:>5}",
        "run",
        "events",
        "events/s",
        "ratio",
        "cpu us",
        "ratio",
        "syncs/ev",
        "p50 ms",
        "p99 ms",
        "max ms",
        "load"
    );
    for r in runs {
        println!(
            "{:<52} {:>8} {:>9.0} {:>6.2} {:>7.1} {:>7.2} {:>8.3} {:>7.2} {:>7.2} {:>7.1} {:>5.1}",
            r.name,
            r.events,
            r.rate(),
            r.rate() / batched,
            r.cpu_us(),
            r.cpu_us() / batched_cpu,
            r.syncs as f64 / r.events as f64,
            ms(quantile(&r.latencies, 0.50)),
            ms(quantile(&r.latencies, 0.99)),
            ms(quantile(&r.latencies, 1.0)),
            r.load
        );
    }
    println!(
        "   (ratios against the mean of the two batched runs; cpu: the node's, the process's \
         less its client threads'; clients' own cpu per event: {})",
        runs.iter()
            .map(|r| format!("{:.0}", r.client_cpu.as_secs_f64() * 1e6 / r.events as f64))
            .collect::<Vec<_>>()
            .join(" / ")
    );
    let many = &runs[2];
    let open = &runs[4];
    let p99 = ms(quantile(&open.latencies, 0.99));
    println!(
        "64 single clients / batched = {:.2} (target >= 0.8: {}); cpu per event {:.2}x batched \
         (target <= 1.5: {}); open-loop p99 {:.2} ms (target < 10: {})",
        many.rate() / batched,
        if many.rate() / batched >= 0.8 { "met" } else { "MISSED" },
        many.cpu_us() / batched_cpu,
        if many.cpu_us() / batched_cpu <= 1.5 { "met" } else { "MISSED" },
        p99,
        if p99 < 10.0 { "met" } else { "MISSED" }
    );
}

// -------------------------------------------------------------------- part 4

struct BigStore {
    events: usize,
    queries: usize,
    voters: usize,
    ingest: Duration,
    build: Duration,
    feed: Vec<Duration>,
    feed_rows: usize,
    thread: Vec<Duration>,
    tally: Vec<Duration>,
    rss_before_kb: u64,
    rss_built_kb: u64,
    rss_kb: u64,
    bytes_on_disk: u64,
    reopen: Duration,
    sync_load: Duration,
    /// Every collection's logical bytes, after the reads.
    usage: curbside_node::store::StoreUsage,
    /// The store directory, by top-level entry, after the build's flush,
    /// after the reads and a flush, and after reopening and a flush.
    files_built: Vec<(String, DiskBytes)>,
    files_read: Vec<(String, DiskBytes)>,
    files_reopened: Vec<(String, DiskBytes)>,
    /// The same records copied into a new directory (`export`, then
    /// `import`: written once each, in key order): what the store takes
    /// without the garbage of its log.
    files_copied: Vec<(String, DiskBytes)>,
}

/// A file's (or a directory's, summed) bytes: its length, and what the
/// file system allocated for it (`du`).
#[derive(Debug, Clone, Copy, Default)]
struct DiskBytes {
    apparent: u64,
    allocated: u64,
}

impl std::ops::AddAssign for DiskBytes {
    fn add_assign(&mut self, o: Self) {
        self.apparent += o.apparent;
        self.allocated += o.allocated;
    }
}

/// `path`'s bytes, files under it summed (`du -s` and `du -s --apparent-size`).
fn disk_bytes(path: &std::path::Path) -> DiskBytes {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(meta) = std::fs::symlink_metadata(path) else { return DiskBytes::default() };
    let mut total = DiskBytes { apparent: meta.len(), allocated: meta.blocks() * 512 };
    if meta.is_dir() {
        total.apparent = 0;
        for entry in std::fs::read_dir(path).unwrap() {
            total += disk_bytes(&entry.unwrap().path());
        }
    }
    total
}

/// The store directory's top-level entries (`db`, `blobs`, `conf`,
/// `snap.*`) and their bytes, largest first.
fn store_files(dir: &std::path::Path) -> Vec<(String, DiskBytes)> {
    let mut files: Vec<(String, DiskBytes)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), disk_bytes(&e.path()))
        })
        .collect();
    files.sort_by_key(|(_, b)| std::cmp::Reverse(b.allocated));
    files
}

/// Part 4: a store of `n` events, built through `ingest` in batches of
/// 256, then `queries` random reads of each kind.
fn big_store(
    fed: &mut Federation,
    genesis: &Genesis,
    doctors: &[SecretKey],
    n: usize,
    queries: usize,
) -> BigStore {
    let rss_before_kb = proc_status_kb("VmRSS");
    let network = genesis.network_id();
    let voters = n / 10;
    assert!(doctors.len() >= voters);
    let charter = fed.charter(&fed.verifier().public(), &["GB", "DEV"]);
    let from = charter.created_at().plus_millis(1_000);
    // Every event is 1 ms after the one before; "now" is after the last.
    let now = from.plus_millis(n as u64 + 60_000);
    let dir = tempfile::tempdir().unwrap();
    let store =
        Store::open_with(&dir.path().join("store"), genesis.clone(), part4_store()).unwrap();
    let build = Instant::now();
    let mut spent = ingest_all(&store, vec![charter], now);

    let verifier = fed.verifier().clone();
    let mut at = from;
    let mut heads = 0;
    for start in (0..voters).step_by(BUILD_CHUNK) {
        let end = (start + BUILD_CHUNK).min(voters);
        let chunk = attestations(network, &verifier, doctors, start..end, at);
        at = at.plus_millis((end - start) as u64);
        spent += ingest_all(&store, chunk.clone(), now);
        audit_log::log_entries(&store, &verifier, &chunk, now, |head| {
            ingest_all(&store, vec![head.clone()], now);
        });
        heads += 1;
        progress!("part 4: {end} of {voters} physicians attested");
    }

    let publics = doctors[..voters].iter().map(SecretKey::public).collect();
    let mut content = Content::new(network, at, publics, voters);
    let (big, big_id) = content.poll(
        0,
        "Routine aspirin for primary prevention over 70?",
        &["Yes", "No", "Only with high calcium score"],
    );
    content.big_poll = Some(big_id);
    let mut polls = vec![big];
    polls.extend(small_polls(&mut content, 9));
    let polls_len = polls.len();
    spent += ingest_all(&store, sign(polls, doctors).into_iter().map(|(e, _)| e).collect(), now);

    let rest = n - 1 - voters - heads - polls_len;
    let votes = n / 20;
    let cases = n / 20;
    content.left = Mix { big_votes: voters, votes, cases, text: rest - voters - votes - cases };
    let mut done = 1 + voters + heads + polls_len;
    loop {
        let items = content.take(BUILD_CHUNK);
        if items.is_empty() {
            break;
        }
        done += items.len();
        let report = done % (8 * BUILD_CHUNK) < items.len() || done == n;
        let events = sign(items, doctors).into_iter().map(|(e, _)| e).collect();
        spent += ingest_all(&store, events, now);
        if !report {
            continue;
        }
        progress!(
            "part 4: {done} of {n} events stored ({:.0} events/s in ingest)",
            rate(done, spent)
        );
    }
    store.flush().unwrap();
    let build = build.elapsed();
    let files_built = store_files(&dir.path().join("store"));
    let counts = store.counts().unwrap();
    assert_eq!(counts.events as usize, n);
    let rss_built_kb = proc_status_kb("VmRSS");

    progress!("part 4: {queries} random reads of each kind");
    let mut rng = SplitMix64(0x5eed);
    let hubs = content.hubs.clone();
    let mut feed = Vec::with_capacity(queries);
    let mut feed_rows = 0;
    for _ in 0..queries {
        let (hub, at, id) = content.feed[rng.below(content.feed.len())];
        let t = Instant::now();
        let page = store.events().feed(&hubs[hub], Some((at, id)), 50).unwrap();
        feed.push(t.elapsed());
        feed_rows += black_box(page).len();
    }
    let mut thread = Vec::with_capacity(queries);
    for _ in 0..queries {
        let root = content.full_threads[rng.below(content.full_threads.len())];
        let t = Instant::now();
        let page = store.events().thread(&root, None, THREAD_PAGE).unwrap();
        thread.push(t.elapsed());
        assert!(!page.more);
        assert_eq!(black_box(page.entries).len(), REPLIES + 1);
    }
    let mut tally = Vec::with_capacity(queries);
    for _ in 0..queries {
        let t = Instant::now();
        let (_, result) = store.events().tally(&big_id).unwrap().expect("a stored poll");
        tally.push(t.elapsed());
        assert_eq!(black_box(result).voters as usize, voters);
    }
    for v in [&mut feed, &mut thread, &mut tally] {
        v.sort_unstable();
    }
    let rss_kb = proc_status_kb("VmRSS");
    store.flush().unwrap();
    let bytes_on_disk = store.counts().unwrap().bytes_on_disk;
    let files_read = store_files(&dir.path().join("store"));
    progress!("part 4: scanning the store for its disk breakdown");
    let usage = store.usage().unwrap();
    drop(store);
    // What a restart costs: opening the store (which loads the trust records
    // and the id filter) and building the sync sets from it.
    let t = Instant::now();
    let store =
        Store::open_with(&dir.path().join("store"), genesis.clone(), part4_store()).unwrap();
    let reopen = t.elapsed();
    let t = Instant::now();
    let index = curbside_node::sync::SyncIndex::load(&store).unwrap();
    let sync_load = t.elapsed();
    assert_eq!(
        index.len(curbside_node::wire::Scope::Trust)
            + index.len(curbside_node::wire::Scope::Content),
        n
    );
    drop(index);
    // sled settles its segments as it opens and flushes: what the
    // directory holds once it has (with nothing written since).
    store.flush().unwrap();
    let files_reopened = store_files(&dir.path().join("store"));
    progress!("part 4: copying the store's records into a new directory");
    let records = dir.path().join("records");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&records).unwrap());
    store.export(&fed.verifier().public(), &mut out).unwrap();
    drop(out);
    drop(store);
    let copy = dir.path().join("copy");
    let mut input = std::io::BufReader::new(std::fs::File::open(&records).unwrap());
    curbside_node::store::import(&copy, &mut input).unwrap();
    std::fs::remove_file(&records).unwrap();
    let files_copied = store_files(&copy);
    BigStore {
        events: n,
        queries,
        voters,
        ingest: spent,
        build,
        feed,
        feed_rows,
        thread,
        tally,
        rss_before_kb,
        rss_built_kb,
        rss_kb,
        bytes_on_disk,
        reopen,
        sync_load,
        usage,
        files_built,
        files_read,
        files_reopened,
        files_copied,
    }
}

// ---------------------------------------------------------------------- main

fn main() {
    start();
    let n = env_usize("CURBSIDE_BENCH_EVENTS", 1_000_000);
    let rounds = env_usize("CURBSIDE_BENCH_ROUNDS", 3).max(1);
    let queries = env_usize("CURBSIDE_BENCH_QUERIES", 1_000).max(1);
    let (reads_only, submitters_only) = match std::env::var("CURBSIDE_BENCH_ONLY").as_deref() {
        Err(_) => (false, false),
        Ok("reads") => (true, false),
        Ok("submitters") => (false, true),
        Ok(other) => panic!(
            "CURBSIDE_BENCH_ONLY={other}: the choices are `reads` (part 4) and `submitters` (part 5)"
        ),
    };
    assert!(n >= 20_000, "CURBSIDE_BENCH_EVENTS must be at least 20000");

    let mut fed = Federation::new();
    let genesis = fed.view().genesis().clone();
    let network = fed.network();
    let root = fed.root().clone();
    let verifier = fed.verifier().clone();
    let doctors = doctors(AUTHORS.max(n / 10));
    progress!("{} physicians' keys derived", doctors.len());
    if submitters_only {
        let runs = submitters(&genesis, &root, &verifier, &doctors);
        println!();
        println!("machine: {} cores, {}", threads(), cpu_model());
        println!("part 5 alone (CURBSIDE_BENCH_ONLY=submitters)");
        print_part5(&runs);
        return;
    }

    // Part 4 runs first, so that the process's memory figures are the
    // store's (and this program's bookkeeping), not what earlier parts left.
    progress!("part 4: building a store of {n} events");
    let big = big_store(&mut fed, &genesis, &doctors, n, queries);
    let hwm_kb = proc_status_kb("VmHWM");
    if reads_only {
        println!();
        println!("machine: {} cores, {}", threads(), cpu_model());
        println!("part 4 alone (CURBSIDE_BENCH_ONLY=reads)");
        print_part4(&big, hwm_kb);
        return;
    }

    // Parts 1 and 2: a charter, 2,000 attested physicians and 10 polls
    // (stored before the clock starts), then 200,000 events: posts with
    // ~20 replies each, cases, and votes.
    let charter = fed.charter(&verifier.public(), &["GB", "DEV"]);
    let from = charter.created_at().plus_millis(1_000);
    let mut setup = vec![charter];
    setup.extend(attestations(network, &verifier, &doctors, 0..AUTHORS, from));
    let publics = doctors[..AUTHORS].iter().map(SecretKey::public).collect();
    let mut content =
        Content::new(network, from.plus_millis(AUTHORS as u64 + 1_000), publics, AUTHORS);
    let polls = small_polls(&mut content, 10);
    setup.extend(sign(polls, &doctors).into_iter().map(|(e, _)| e));
    content.left = Mix {
        big_votes: 0,
        votes: INGEST_EVENTS / 5,
        cases: INGEST_EVENTS / 20,
        text: INGEST_EVENTS - INGEST_EVENTS / 5 - INGEST_EVENTS / 20,
    };
    let signed = sign(content.take(INGEST_EVENTS), &doctors);
    let now = content.clock.plus_millis(1_000);
    // One bad signature per batch, on an event nothing refers to.
    let bad: Vec<usize> = signed
        .chunks(BATCH)
        .enumerate()
        .map(|(b, chunk)| b * BATCH + chunk.iter().position(|(_, leaf)| *leaf).expect("a leaf"))
        .collect();
    let events: Vec<SignedEvent> = signed.into_iter().map(|(e, _)| e).collect();
    let mean_bytes = events.iter().map(SignedEvent::encoded_len).sum::<usize>() / events.len();
    progress!("parts 1-2: {} events signed, mean {mean_bytes} bytes", events.len());

    let (mut raw, mut good, mut with_bad) = (Duration::MAX, Duration::MAX, Duration::MAX);
    let (mut serial, mut stages) = (Duration::MAX, None);
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        let before = raw_verify(&events);
        progress!("round {round}: raw verify {:.0} events/s", rate(events.len(), before));
        raw = raw.min(before);
        let g = store_ingest(&genesis, &setup, &events, &[], now);
        progress!("round {round}: store ingest {:.0} events/s", rate(events.len(), g));
        good = good.min(g);
        let d = store_ingest(&genesis, &setup, &events, &bad, now);
        progress!("round {round}: with bad signatures {:.0} events/s", rate(events.len(), d));
        with_bad = with_bad.min(d);
        let (d, s) = store_ingest_serial(&genesis, &setup, &events, now);
        progress!(
            "round {round}: ingest() batch after batch {:.0} events/s",
            rate(events.len(), d)
        );
        if d < serial {
            serial = d;
            stages = Some(s);
        }
        let after = raw_verify(&events);
        progress!("round {round}: raw verify again {:.0} events/s", rate(events.len(), after));
        raw = raw.min(after);
        // This round's ratio, against the faster of the raw runs around it.
        ratios.push(rate(events.len(), g) / rate(events.len(), before.min(after)));
    }
    let stages = stages.expect("at least one round");
    drop(events);

    progress!("part 3: signing {API_EVENTS} events at real times");
    let api = api_ingest(&genesis, &root, &verifier, &doctors);
    progress!("part 3: {:.0} events/s", rate(API_EVENTS, api.elapsed));
    progress!("part 5: signing events at real times");
    let part5 = submitters(&genesis, &root, &verifier, &doctors);

    // ------------------------------------------------------------- report
    let m = INGEST_EVENTS;
    let (r, g, b, a) =
        (rate(m, raw), rate(m, good), rate(m, with_bad), rate(API_EVENTS, api.elapsed));
    let sr = rate(m, serial);
    let built = rate(big.events - 1, big.ingest);
    println!();
    println!("machine: {} cores, {}", threads(), cpu_model());
    println!(
        "parts 1-2: {m} events (mean {mean_bytes} bytes; 20% votes, 5% cases, 75% posts and \
         comments), {AUTHORS} authors; best of {rounds} rounds"
    );
    println!();
    println!("{:<54} {:>10} {:>8}", "ingest", "events/s", "ratio");
    println!("{:<54} {:>10.0} {:>8.2}", "1. raw verify_batch, 2 threads, 256 per call", r, 1.0);
    println!(
        "{:<54} {:>10.0} {:>8.2}",
        format!("2. store ingest, batches of {BATCH}, durable (vs 1)"),
        g,
        g / r
    );
    println!("{:<54} {:>10.0} {:>8.2}", "2b. same, 1 bad signature per batch (vs 1)", b, b / r);
    println!(
        "{:<54} {:>10.0} {:>8.2}",
        "2s. ingest() batch after batch, no overlap (vs 1)",
        sr,
        sr / r
    );
    println!(
        "{:<54} {:>10.0} {:>8.2}",
        format!("3. POST /v1/events, {API_CLIENTS} clients x {API_PER_REQUEST} (vs 2)"),
        a,
        a / g
    );
    println!(
        "{:<54} {:>10.0} {:>8.2}",
        format!("4. ingest() building the {}-event store (vs 1)", big.events),
        built,
        built / r
    );
    println!();
    let batches = m.div_ceil(BATCH) as f64;
    println!(
        "{:<54} {:>10} {:>8} {:>6}",
        "2c. where ingest() goes (2s, timed inside, best round)", "ms/batch", "us/event", "share"
    );
    let total = stages.total();
    for (name, d) in [
        ("already stored? (id filter, twice)", stages.screen),
        ("verify_batch, 2 threads (128 each)", stages.verify),
        ("validate against StoreView", stages.validate),
        ("commit: one atomic sled batch", stages.commit),
        ("flush (fsync) and publish", stages.flush),
        ("total", total),
    ] {
        println!(
            "{:<54} {:>10.2} {:>8.1} {:>5.0}%",
            format!("   {name}"),
            ms(d) / batches,
            d.as_secs_f64() * 1e6 / m as f64,
            100.0 * d.as_secs_f64() / total.as_secs_f64()
        );
    }
    println!("   (stages total {:.0} events/s; 2s best round {:.0} events/s)", rate(m, total), sr);
    let (lo, hi) = ratios.iter().fold((f64::MAX, 0.0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
    println!(
        "   per-round ratio 2 / 1 (each against the faster raw run beside it): {:.3}-{:.3} over {} rounds",
        lo,
        hi,
        ratios.len()
    );
    println!();
    println!(
        "part 3 request latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} requests, one run)",
        ms(quantile(&api.latencies, 0.50)),
        ms(quantile(&api.latencies, 0.99)),
        ms(quantile(&api.latencies, 1.0)),
        api.latencies.len()
    );
    print_part4(&big, hwm_kb);
    print_part5(&part5);
    println!();
    println!(
        "store ingest / raw verify = {:.3} (target >= 0.40: {})",
        g / r,
        if g / r >= 0.40 { "met" } else { "MISSED" }
    );
    println!("bad-signature ingest / raw verify = {:.3}", b / r);
    println!("API ingest / store ingest = {:.3}", a / g);
}

/// The model name /proc/cpuinfo gives.
fn cpu_model() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split(':').nth(1).map(str::trim))
        .unwrap_or("unknown")
        .to_owned()
}

/// Part 4's results: the build, the reads, memory, disk and a restart.
fn print_part4(big: &BigStore, hwm_kb: u64) {
    println!(
        "part 4 build: {:.0} s in all, {:.0} s of it in ingest() (the rest is signing)",
        big.build.as_secs_f64(),
        big.ingest.as_secs_f64()
    );
    println!();
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>10}",
        format!("reads at {} events, {} random each", big.events, big.queries),
        "p50 ms",
        "p99 ms",
        "max ms",
        "p99 target"
    );
    let row = |name: String, v: &[Duration], target: f64| {
        let p99 = ms(quantile(v, 0.99));
        println!(
            "{:<44} {:>8.3} {:>8.3} {:>8.3} {:>7} ms {}",
            name,
            ms(quantile(v, 0.50)),
            p99,
            ms(quantile(v, 1.0)),
            target,
            if p99 < target { "met" } else { "MISSED" }
        );
    };
    row(
        format!(
            "feed(hub, cursor, 50) (mean {:.1} rows)",
            big.feed_rows as f64 / big.queries as f64
        ),
        &big.feed,
        5.0,
    );
    row(format!("thread(root, page of {THREAD_PAGE}), {REPLIES} replies"), &big.thread, 5.0);
    row(format!("tally(poll), {} votes", big.voters), &big.tally, 20.0);
    println!();
    println!(
        "memory: VmRSS {:.0} MiB before building, {:.0} MiB built, {:.0} MiB after reads; \
         peak VmHWM {:.0} MiB (part 4 runs first)",
        mib_kb(big.rss_before_kb),
        mib_kb(big.rss_built_kb),
        mib_kb(big.rss_kb),
        mib_kb(hwm_kb)
    );
    println!(
        "disk: {:.0} MiB, {:.0} bytes per event",
        big.bytes_on_disk as f64 / (1 << 20) as f64,
        big.bytes_on_disk as f64 / big.events as f64
    );
    println!(
        "restart at {} events: Store::open {:.2} s (loads trust records and filters), \
         SyncIndex::load {:.2} s",
        big.events,
        big.reopen.as_secs_f64(),
        big.sync_load.as_secs_f64()
    );
    print_disk(big);
}

/// Part 4's disk breakdown: the directory, the collections' logical bytes,
/// and both against the events' wire bytes.
fn print_disk(big: &BigStore) {
    let n = big.events as f64;
    let wire = big.usage.wire_bytes;
    let per = |b: u64| b as f64 / n;
    println!();
    println!(
        "disk at {} events: wire forms {:.1} MiB, mean {:.0} bytes per event",
        big.events,
        wire as f64 / (1 << 20) as f64,
        per(wire)
    );
    println!(
        "{:<34} {:>12} {:>12} {:>10} {:>8}",
        "store directory (du)", "allocated", "apparent", "B/event", "x wire"
    );
    for (when, files) in [
        ("after the build's flush", &big.files_built),
        ("after the reads and a flush", &big.files_read),
        ("reopened and flushed", &big.files_reopened),
        ("copied: export, import (no garbage)", &big.files_copied),
    ] {
        let mut total = DiskBytes::default();
        for (_, b) in files.iter() {
            total += *b;
        }
        println!(
            "{:<34} {:>12} {:>12} {:>10.0} {:>8.2}",
            when,
            total.allocated,
            total.apparent,
            per(total.allocated),
            total.allocated as f64 / wire as f64
        );
        for (name, b) in files.iter().filter(|(_, b)| b.allocated > 0) {
            println!(
                "{:<34} {:>12} {:>12} {:>10.0}",
                format!("   {name}"),
                b.allocated,
                b.apparent,
                per(b.allocated)
            );
        }
    }
    println!("(sled's own size_on_disk after the reads: {} bytes)", big.bytes_on_disk);
    println!();
    println!(
        "{:<20} {:>10} {:>12} {:>12} {:>10} {:>8}",
        "collection (logical)", "keys", "key bytes", "value bytes", "B/event", "share"
    );
    let logical: u64 = big.usage.spaces.iter().map(|s| s.key_bytes + s.value_bytes).sum();
    let mut spaces = big.usage.spaces.clone();
    spaces.sort_by_key(|s| std::cmp::Reverse(s.key_bytes + s.value_bytes));
    for s in &spaces {
        let bytes = s.key_bytes + s.value_bytes;
        println!(
            "{:<20} {:>10} {:>12} {:>12} {:>10.1} {:>7.1}%",
            s.name,
            s.keys,
            s.key_bytes,
            s.value_bytes,
            per(bytes),
            100.0 * bytes as f64 / logical as f64
        );
    }
    let keys: u64 = spaces.iter().map(|s| s.keys).sum();
    println!(
        "{:<20} {:>10} {:>12} {:>12} {:>10.1} {:>8}",
        "all",
        keys,
        spaces.iter().map(|s| s.key_bytes).sum::<u64>(),
        spaces.iter().map(|s| s.value_bytes).sum::<u64>(),
        per(logical),
        format!("{:.2}x", logical as f64 / wire as f64)
    );
    let copied = big.files_copied.iter().map(|(_, b)| b.allocated).sum::<u64>();
    println!(
        "sled's overhead without its log's garbage (copied, allocated / logical): {:.2}x, \
         {:.0} bytes per event = {:.2}x wire",
        copied as f64 / logical as f64,
        per(copied),
        copied as f64 / wire as f64
    );
    let settled = big.files_reopened.iter().map(|(_, b)| b.allocated).sum::<u64>();
    println!(
        "sled's overhead (reopened, allocated / logical): {:.2}x; disk per event {:.0} bytes = \
         {:.2}x its wire size (target <= 1.5x: {})",
        settled as f64 / logical as f64,
        per(settled),
        settled as f64 / wire as f64,
        if settled as f64 <= 1.5 * wire as f64 { "met" } else { "MISSED" }
    );
}

/// Part 4's store: sled's page cache from `CURBSIDE_BENCH_CACHE_MB`, else
/// the node's default.
fn part4_store() -> StoreConfig {
    let default = StoreConfig::DEFAULT_CACHE_BYTES as usize >> 20;
    StoreConfig { cache_bytes: (env_usize("CURBSIDE_BENCH_CACHE_MB", default) as u64) << 20 }
}
