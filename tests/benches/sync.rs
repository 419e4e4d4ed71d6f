//! Catching up (issue 4's figures): a fresh node syncing a whole history
//! from one peer, then two nodes that differ by a little reconciling.
//!
//! Node A's store is filled through the node library's `ingest` (batches of
//! 256, durable), which is also the store-ingest rate the sync is compared
//! with: `CURBSIDE_BENCH_EVENTS` posts (default 1,000,000) by 1,000
//! physicians attested by a verifier whose audit log A holds. Then A runs
//! (API, libp2p on 127.0.0.1) and a fresh node B, with nothing but the
//! genesis and A's address, starts and syncs: timed from B's start until
//! B holds every event A holds. Both nodes run in this process, so B's
//! memory is given as the process's peak resident size less what it was
//! just before B started (an upper bound on B's own).
//!
//! Second part: B is stopped; `CURBSIDE_BENCH_DIFF`/2 new posts (default
//! 500) go to A through its API and as many to B's store, so each lacks
//! what the other has; B starts again and the two reconcile. The bytes and
//! rounds are B's sync report for A (`GET /v1/network`); the time is from
//! B's start until both hold the union.
//!
//! ```text
//! cargo bench -p curbside-tests --bench sync
//! CURBSIDE_BENCH_EVENTS=100000 cargo bench -p curbside-tests --bench sync   # a quick run
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use curbside_node::config::Overrides;
use curbside_node::datadir::DataDir;
use curbside_node::ingest::{Incoming, IngestConfig, ingest};
use curbside_node::store::Store;
use curbside_node::store::audit::CheckedHead;
use curbside_protocol::testkit::key;
use curbside_protocol::{
    Attestation, AttestationRequest, Body, Charter, Digest, Event, Handle, Jurisdiction,
    LicenceOpening, Post, SecretKey, SignedEvent, Specialty, Timestamp, TreeHead,
};
use curbside_tests::{Network, TestNode, measure, wait_until};
use serde_json::Value;

/// The allocator the `curbside` binary runs nodes with (cli/src/main.rs):
/// the library leaves the choice to the program, and this benchmark
/// chooses the same one so its numbers stay comparable with the binary's
/// and with those recorded in docs/BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 256;
const DOCTORS: usize = 1_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn proc_status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// `f` over `items` on every core, keeping order.
fn par_map<T: Send + Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> =
            items.chunks(chunk).map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<U>>())).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

fn charter(net: &Network, node: &SecretKey, verify: &[&str], at: Timestamp) -> SignedEvent {
    net.sign_at(
        &net.root,
        Body::Charter(Charter {
            node: node.public(),
            institution: "Bench Hospital".into(),
            verify: verify.iter().map(|j| j.parse().unwrap()).collect(),
            valid_until: at.plus_days(365),
        }),
        at,
    )
}

fn attestation(
    net: &Network,
    verifier: &SecretKey,
    dr: &SecretKey,
    i: usize,
    at: Timestamp,
) -> SignedEvent {
    let handle = Handle::new(format!("dr-sync-{i}")).unwrap();
    let request = AttestationRequest::new(net.id(), dr, handle, at);
    let jurisdiction = Jurisdiction::new("GB").unwrap();
    let mut salt = [0x5a; 32];
    salt[..8].copy_from_slice(&(i as u64).to_be_bytes());
    let opening = LicenceOpening {
        salt: Digest::from_bytes(salt),
        jurisdiction: jurisdiction.clone(),
        licence: format!("LIC-{i}"),
    };
    net.sign_at(
        verifier,
        Body::Attestation(Attestation {
            subject: request.subject,
            handle: request.handle,
            specialties: vec![Specialty::new("cardiology").unwrap()],
            jurisdiction,
            licence_commitment: opening.commitment(),
            valid_until: at.plus_days(365),
            requested_at: at,
            possession: request.signature,
        }),
        at,
    )
}

fn post(net: &Network, dr: &SecretKey, k: usize, at: Timestamp) -> SignedEvent {
    let body = Body::Post(Post {
        hub: "general".parse().unwrap(),
        // No run of 7 digits: the de-identification guard would refuse it.
        title: format!("Sync post {}-{:03}", k / 1000, k % 1000),
        body: "What would you do next?".into(),
    });
    Event::new(net.id(), dr.public(), at, body).sign(dr).unwrap()
}

/// Ingests `events` into `store` in durable batches; the time it took.
fn ingest_all(store: &Store, events: &[SignedEvent]) -> Duration {
    let config = IngestConfig::default();
    let t = Instant::now();
    for batch in events.chunks(BATCH) {
        let batch = batch.iter().cloned().map(Incoming::when_made).collect();
        let outcomes = ingest(store, &config, batch, curbside_node::now()).unwrap().outcomes;
        if let Some(bad) = outcomes.iter().find(|o| !o.is_stored()) {
            panic!("an event was not stored: {bad:?}");
        }
    }
    t.elapsed()
}

/// The verifier's log, as a node holds it once it checked the head.
fn log_entries(store: &Store, verifier: &SecretKey, entries: &[SignedEvent], at: Timestamp) {
    let me = verifier.public();
    let ids: Vec<_> = entries.iter().map(SignedEvent::id).collect();
    let start = store.audit().size(&me);
    let (size, root) = store.audit().extended_root(&me, &ids);
    let head = Event::new(store.network(), me, at, Body::TreeHead(TreeHead { size, root }))
        .sign(verifier)
        .unwrap();
    ingest_all(store, std::slice::from_ref(&head));
    let checked = CheckedHead { id: head.id(), size, root, created_at: at };
    store.audit().append(&me, start, &ids, checked, at, None).unwrap();
    store.flush().unwrap();
}

fn networked(bootstrap: Vec<String>) -> Overrides {
    Overrides { listen: vec!["/ip4/127.0.0.1/tcp/0".into()], bootstrap, ..Overrides::default() }
}

fn sync_report(node: &TestNode) -> Value {
    node.network()["peers"]
        .as_array()
        .and_then(|peers| {
            peers.iter().find_map(|p| p.get("last_sync").filter(|s| !s.is_null()).cloned())
        })
        .unwrap_or(Value::Null)
}

fn main() {
    // The nodes' logs, for RUST_LOG=curbside_node=info and the like.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let n = env("CURBSIDE_BENCH_EVENTS", 1_000_000);
    let diff = env("CURBSIDE_BENCH_DIFF", 1_000);
    let net = Network::new();
    let scratch = tempfile::tempdir().unwrap();
    let (a_data, b_data) = (scratch.path().join("a"), scratch.path().join("b"));
    let a_key = DataDir::init(&a_data, &net.genesis).unwrap().key().clone();
    let b_key = DataDir::init(&b_data, &net.genesis).unwrap().key().clone();
    let verifier = key("sync-bench-verifier");

    // History: charters, then attestations, then the posts, spread over the
    // last three hours (10 ms apart at a million).
    let now = curbside_node::now();
    let t0 = Timestamp::from_millis(now.as_millis() - 3 * 3_600_000);
    let doctors: Vec<SecretKey> = (0..DOCTORS).map(|i| key(&format!("sync-dr-{i}"))).collect();
    let trust = vec![
        charter(&net, &a_key, &[], t0),
        charter(&net, &b_key, &[], t0),
        charter(&net, &verifier, &["GB"], t0),
    ];
    let idx: Vec<usize> = (0..DOCTORS).collect();
    let at_attest = t0.plus_millis(1_000);
    let attestations = par_map(&idx, |&i| attestation(&net, &verifier, &doctors[i], i, at_attest));
    let span = 3 * 3_600_000 - 120_000;
    let step = (span / (n + diff) as u64).max(1);
    // The difference's posts (k >= n) are dated a minute before now: A
    // takes them through its API, which refuses what is more than
    // max_clock_skew_ms older than its receipt (`stale`).
    let at = |k: usize| {
        if k < n {
            t0.plus_millis(2_000 + step * k as u64)
        } else {
            now.minus_millis(60_000).plus_millis((k - n) as u64)
        }
    };
    let t = Instant::now();
    let all: Vec<usize> = (0..n + diff).collect();
    let mut posts = par_map(&all, |&k| post(&net, &doctors[k % DOCTORS], k, at(k)));
    let signing = t.elapsed();
    let b_only: Vec<SignedEvent> = posts.split_off(n + diff / 2);
    let a_later: Vec<SignedEvent> = posts.split_off(n);

    // A's store, through the ingest path.
    let a_store_dir = DataDir::open(&a_data).unwrap().store_dir();
    let store = Store::open(&a_store_dir, net.genesis.clone()).unwrap();
    ingest_all(&store, &trust);
    ingest_all(&store, &attestations);
    log_entries(&store, &verifier, &attestations, at_attest.plus_millis(1));
    let ingest_time = ingest_all(&store, &posts);
    let ingest_rate = n as f64 / ingest_time.as_secs_f64();
    let stored = store.counts().unwrap().events;
    drop(store);
    drop(posts);

    // A fresh node B syncs it all from A.
    let a = TestNode::run_with(&a_data, networked(vec![]));
    // A may add its own events at start (a cosignature of the log it holds).
    let stored = a.event_count().max(stored);
    let rss_before = proc_status_kb("VmRSS:");
    let t = Instant::now();
    let b = TestNode::run_with(&b_data, networked(vec![a.p2p_addr()]));
    wait_until(Duration::from_secs(3_600), "B to hold everything A holds", || {
        b.event_count() >= stored
    });
    let sync_time = t.elapsed();
    let sync_rate = n as f64 / sync_time.as_secs_f64();
    let peak = proc_status_kb("VmHWM:");
    // The report is kept once the sync session ends, just after the last store.
    wait_until(Duration::from_secs(60), "B's sync report", || !sync_report(&b).is_null());
    let first = sync_report(&b);

    // Both sides gain what the other lacks; B comes back and they reconcile.
    let b = b.stop();
    for chunk in a_later.chunks(64) {
        let (status, body) = a.submit(chunk);
        assert_eq!(status, 200, "{body}");
    }
    {
        let b_store =
            Store::open(&DataDir::open(&b_data).unwrap().store_dir(), net.genesis.clone()).unwrap();
        ingest_all(&b_store, &b_only);
    }
    let union = stored + (a_later.len() + b_only.len()) as u64;
    let t = Instant::now();
    let b = b.start();
    wait_until(Duration::from_secs(600), "both to hold the union", || {
        a.event_count() >= union && b.event_count() >= union
    });
    let reconcile_time = t.elapsed();
    let second = sync_report(&b);

    println!(
        "sync: {n} posts by {DOCTORS} physicians (+ {} trust events), one peer, both nodes in this process on 127.0.0.1",
        stored - n as u64
    );
    println!(
        "machine: {} threads available; signing the corpus took {:.1} s",
        std::thread::available_parallelism().map_or(0, |p| p.get()),
        signing.as_secs_f64()
    );
    println!(
        "store ingest at A (ingest(), batches of {BATCH}, durable): {:.1} s, {ingest_rate:.0} events/s",
        ingest_time.as_secs_f64()
    );
    println!(
        "fresh node B syncing everything from A:           {:.1} s, {sync_rate:.0} events/s, {:.2} of store ingest",
        sync_time.as_secs_f64(),
        sync_rate / ingest_rate
    );
    println!("  B's sync report: {first}");
    println!(
        "  process resident before B {:.0} MiB, peak {:.0} MiB: B's peak at most {:.0} MiB",
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0,
        (peak.saturating_sub(rss_before)) as f64 / 1024.0
    );
    println!(
        "differ by {} ({} only at A, {} only at B), B restarted: both hold the union after {:.0} ms",
        a_later.len() + b_only.len(),
        a_later.len(),
        b_only.len(),
        reconcile_time.as_secs_f64() * 1000.0
    );
    println!("  B's sync report: {second}");
    println!("load average at the end (1, 5, 15 min): {}", measure::load_average());
    let bytes = second["bytes_reconciling"].as_u64().unwrap_or(0)
        + second["bytes_fetched"].as_u64().unwrap_or(0);
    println!(
        "\ntargets: sync >= 25000 events/s: {sync_rate:.0}; >= 0.5 of store ingest: {:.2}; reconcile < 1 MB: {} bytes reconciling + fetched; < 2 s: {:.2} s",
        sync_rate / ingest_rate,
        bytes,
        reconcile_time.as_secs_f64()
    );
    drop(b);
    drop(a);
    let _ = Path::new(scratch.path());
}
