//! `curbside audit verify` of a large verifier's log, end to end, against
//! the raw cost of checking the same events' signatures.
//!
//! ```text
//! cargo bench -p curbside --bench audit
//! CURBSIDE_BENCH_LEAVES=20000 cargo bench -p curbside --bench audit   # a quick run
//! ```
//!
//! The log: a real node's store, built through the node library (the
//! verifier's attestations signed here, with the subjects' proofs of
//! possession, stored with `ingest()`, appended to its audit log with
//! `Store::log_append`, a tree head signed and ingested every
//! `CURBSIDE_BENCH_HEAD_EVERY` (default 1,000) leaves). Then a real node
//! (`curbside_node::NodeBuilder`) serves that store on 127.0.0.1, and the real
//! binary runs `curbside --json audit verify --node URL --genesis FILE`
//! against it, fetching every leaf over HTTP and checking it; the run is
//! timed from spawn to exit.
//!
//! "Raw" is one thread calling `SignedEvent::verify_signature` (ed25519
//! `verify_strict` over the id) on the same attestations, in this process:
//! the least any auditor must do. The audit does more than that: each
//! attestation also carries the subject's possession signature, and each
//! event is fetched, decoded and validated; it has every core to do it on
//! (shared with the node serving it). Rounds alternate raw and audit,
//! `CURBSIDE_BENCH_ROUNDS` (default 3) of each, the best of each counting.
//! Progress goes to stderr, results to stdout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use curbside_node::config::{NodeConfig, Overrides};
use curbside_node::datadir::{DataDir, write_genesis};
use curbside_node::ingest::{Incoming, IngestConfig, ingest};
use curbside_node::store::Store;
use curbside_node::store::audit::CheckedHead;
use curbside_protocol::merkle::{self, MerkleLog};
use curbside_protocol::{
    Attestation, AttestationRequest, Body, Charter, Digest, Event, Genesis, Handle, LicenceOpening,
    SecretKey, SignedEvent, Timestamp, TreeHead,
};

/// The allocator the `curbside` binary runs nodes with (cli/src/main.rs):
/// the library leaves the choice to the program, and this benchmark
/// chooses the same one so its numbers stay comparable with the binary's
/// and with those recorded in docs/BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// A key from a number, so runs are repeatable.
fn seeded(tag: u8, i: usize) -> SecretKey {
    let mut seed = [tag; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    SecretKey::from_seed(&seed)
}

/// `n` attestations by `verifier`, dated from `from` one millisecond
/// apart, signed on every core.
fn attestations(
    genesis: &Genesis,
    verifier: &SecretKey,
    from: Timestamp,
    n: usize,
) -> Vec<SignedEvent> {
    let network = genesis.network_id();
    let per = n.div_ceil(threads());
    let mut out: Vec<SignedEvent> = Vec::with_capacity(n);
    std::thread::scope(|s| {
        let jobs: Vec<_> = (0..n)
            .step_by(per.max(1))
            .map(|lo| {
                let hi = (lo + per).min(n);
                s.spawn(move || {
                    (lo..hi)
                        .map(|i| {
                            let subject = seeded(7, i);
                            let at = from.plus_millis(i as u64);
                            let handle = Handle::new(format!("dr-bench-{i}")).unwrap();
                            let request = AttestationRequest::new(network, &subject, handle, at);
                            let opening = LicenceOpening {
                                salt: Digest::from_bytes([i as u8; 32]),
                                jurisdiction: "GB".parse().unwrap(),
                                licence: format!("GMC-{i:07}"),
                            };
                            let body = Body::Attestation(Attestation {
                                subject: subject.public(),
                                handle: request.handle,
                                specialties: vec!["cardiology".parse().unwrap()],
                                jurisdiction: "GB".parse().unwrap(),
                                licence_commitment: opening.commitment(),
                                valid_until: at.plus_days(365),
                                requested_at: at,
                                possession: request.signature,
                            });
                            Event::new(network, verifier.public(), at, body).sign(verifier).unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for job in jobs {
            out.extend(job.join().unwrap());
        }
    });
    out
}

/// Stores the charter and the attestations, and logs them with a head
/// every `head_every` leaves.
fn build_store(
    store: &Store,
    genesis: &Genesis,
    root: &SecretKey,
    verifier: &SecretKey,
    events: &[SignedEvent],
    charter_at: Timestamp,
    head_every: usize,
) -> (usize, SignedEvent) {
    let config = IngestConfig::default();
    let network = genesis.network_id();
    let charter = Event::new(
        network,
        root.public(),
        charter_at,
        Body::Charter(Charter {
            node: verifier.public(),
            institution: "Benchmark Hospital".into(),
            verify: vec!["GB".parse().unwrap()],
            valid_until: charter_at.plus_days(365),
        }),
    )
    .sign(root)
    .unwrap();
    let now = curbside_node::now();
    let stored =
        ingest(store, &config, vec![Incoming::when_made(charter.clone())], now).unwrap().outcomes;
    assert!(stored.iter().all(|o| o.is_stored()), "{stored:?}");

    let me = verifier.public();
    let mut tree = MerkleLog::new();
    let mut heads = 0;
    for chunk in events.chunks(head_every) {
        let history = chunk.iter().cloned().map(Incoming::when_made).collect();
        let outcomes = ingest(store, &config, history, now).unwrap().outcomes;
        assert!(
            outcomes.iter().all(|o| o.is_stored()),
            "{:?}",
            outcomes.iter().find(|o| !o.is_stored())
        );
        let start = tree.len();
        let ids: Vec<_> = chunk.iter().map(|e| e.id()).collect();
        for id in &ids {
            tree.push(merkle::leaf_hash(id.as_bytes()));
        }
        let size = tree.len();
        let root = Digest::from_bytes(tree.root());
        let at = chunk.last().unwrap().created_at();
        let head = Event::new(network, me, at, Body::TreeHead(TreeHead { size, root }))
            .sign(verifier)
            .unwrap();
        let checked = CheckedHead { id: head.id(), size, root, created_at: at };
        store.audit().append(&me, start, &ids, checked, at, None).unwrap();
        let outcomes =
            ingest(store, &config, vec![Incoming::when_made(head)], now).unwrap().outcomes;
        assert!(outcomes.iter().all(|o| o.is_stored()), "{outcomes:?}");
        heads += 1;
    }
    store.flush().unwrap();
    (heads, charter)
}

/// A node serving `data` on 127.0.0.1, alone (no peer-to-peer).
struct Node {
    url: String,
    /// Stopped on drop.
    _node: curbside_node::NodeThread,
}

impl Node {
    fn start(data: &std::path::Path) -> Self {
        let datadir = DataDir::open(data).unwrap();
        let mut config = NodeConfig::load(data, &Overrides::default()).unwrap();
        config.net = None;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let node = curbside_node::NodeBuilder::new(config, datadir)
            .spawn_on_own_runtime("bench-node".into(), listener, || {})
            .unwrap();
        let node = Self { url: node.url(), _node: node };
        let agent: ureq::Agent =
            ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let deadline = Instant::now() + Duration::from_secs(60);
        while agent
            .get(format!("{}/v1/status", node.url))
            .call()
            .map_or(true, |r| r.status() != 200)
        {
            assert!(Instant::now() < deadline, "the node did not answer within 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        node
    }
}

/// CPU seconds used so far by this process (all its threads: here the
/// node's) and by its waited-for children (the `curbside` runs), from
/// /proc/self/stat.
fn cpu() -> (f64, f64) {
    static TICK: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let tick = *TICK.get_or_init(|| {
        let out = Command::new("getconf").arg("CLK_TCK").output();
        out.ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    });
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): state is
    // field 3, utime 14, stime 15, cutime 16, cstime 17.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    let at = |i: usize| f.get(i - 3).copied().unwrap_or(0.0) / tick;
    (at(14) + at(15), at(16) + at(17))
}

/// One raw pass: every signature, strictly, on one thread.
fn raw(events: &[SignedEvent]) -> Duration {
    let t = Instant::now();
    for e in events {
        e.verify_signature().unwrap();
    }
    t.elapsed()
}

/// Every page of leaves fetched over HTTP and read, nothing decoded: what
/// the node's serving costs.
fn fetch_only(url: &str, verifier: &curbside_protocol::PublicKey, leaves: usize) -> Duration {
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let t = Instant::now();
    for start in (0..leaves).step_by(1000) {
        let path =
            format!("{url}/v1/audit/logs/{verifier}/leaves?start={start}&end={}", start + 1000);
        let text = agent
            .get(path)
            .call()
            .unwrap()
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .unwrap();
        assert!(text.len() > 1000);
    }
    t.elapsed()
}

/// The checker alone, in this process, on every core: the events
/// already decoded, no HTTP.
fn check_only(genesis: &Genesis, charter: &SignedEvent, events: &[SignedEvent]) -> Duration {
    use curbside_protocol::audit::{Auditor, Options, ShownLeaf, ShownLog};
    let verifier = *events[0].author();
    let t = Instant::now();
    let auditor = Auditor::new(genesis.clone(), vec![charter.clone()], curbside_node::now());
    let per = events.len().div_ceil(threads());
    let leaves = std::thread::scope(|s| {
        let jobs: Vec<_> = events
            .chunks(per.max(1))
            .enumerate()
            .map(|(n, part)| {
                let auditor = &auditor;
                s.spawn(move || {
                    part.chunks(1000)
                        .enumerate()
                        .map(|(k, chunk)| {
                            let base = (n * per + k * 1000) as u64;
                            let shown = chunk
                                .iter()
                                .enumerate()
                                .map(|(i, e)| ShownLeaf {
                                    index: base + i as u64,
                                    id: e.id(),
                                    event: Some(e.clone()),
                                })
                                .collect();
                            auditor.check_leaves(&verifier, shown)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        jobs.into_iter().flat_map(|j| j.join().unwrap()).collect::<Vec<_>>()
    });
    let log = ShownLog {
        node: "local".into(),
        verifier,
        size: events.len() as u64,
        heads: vec![],
        leaves,
    };
    let report = auditor.check_log(log, &Options::default());
    assert_eq!(report.leaves_shown, events.len() as u64);
    t.elapsed()
}

/// One `curbside audit verify` run in a fresh home; its time and report.
fn audit(
    url: &str,
    genesis_file: &std::path::Path,
    home: &std::path::Path,
) -> (Duration, Cpu, serde_json::Value) {
    let (own, children) = cpu();
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_curbside"))
        .env_remove("CURBSIDE_NODE")
        .env_remove("CURBSIDE_HOME")
        .env_remove("RUST_LOG")
        .args(["--json", "--home"])
        .arg(home)
        .args(["audit", "verify", "--node", url, "--genesis"])
        .arg(genesis_file)
        .output()
        .unwrap();
    let elapsed = t.elapsed();
    let (own_after, children_after) = cpu();
    let used = Cpu { cli: children_after - children, node: own_after - own };
    assert!(
        out.status.success(),
        "audit verify failed ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (elapsed, used, serde_json::from_slice(&out.stdout).unwrap())
}

/// CPU seconds of one audit run.
#[derive(Clone, Copy)]
struct Cpu {
    /// The `curbside` process.
    cli: f64,
    /// This process meanwhile: the node serving it.
    node: f64,
}

fn main() {
    start();
    let leaves = env_usize("CURBSIDE_BENCH_LEAVES", 100_000);
    let head_every = env_usize("CURBSIDE_BENCH_HEAD_EVERY", 1_000).max(1);
    let rounds = env_usize("CURBSIDE_BENCH_ROUNDS", 3).max(1);
    let dir = tempfile::tempdir().unwrap();

    let root = seeded(1, 0);
    let founded = curbside_node::now().minus_millis(Timestamp::DAY);
    let genesis = Genesis::new("Audit benchmark", vec![root.public()], founded);
    let genesis_file = dir.path().join("genesis.json");
    write_genesis(&genesis_file, &genesis).unwrap();
    let data = dir.path().join("node");
    let datadir = DataDir::init(&data, &genesis).unwrap();
    let verifier = datadir.key().clone();
    drop(datadir);

    let charter_at = founded.plus_millis(1_000);
    progress!(
        "signing {leaves} attestations (and their subjects' requests) on {} threads",
        threads()
    );
    let events = attestations(&genesis, &verifier, charter_at.plus_millis(1_000), leaves);
    let mean = events.iter().map(SignedEvent::encoded_len).sum::<usize>() / events.len().max(1);
    progress!("storing and logging them (a head every {head_every} leaves)");
    let (heads, charter) = {
        let store = Store::open(&data.join("store"), genesis.clone()).unwrap();
        build_store(&store, &genesis, &root, &verifier, &events, charter_at, head_every)
    };
    progress!("starting the node");
    let node = Node::start(&data);

    let mut best_raw = Duration::MAX;
    let mut best_audit = Duration::MAX;
    let mut best_fetch = Duration::MAX;
    let mut best_check = Duration::MAX;
    let mut best_cpu: Option<Cpu> = None;
    let mut best_raw_cpu = 0.0;
    for round in 1..=rounds {
        let (own, _) = cpu();
        let r = raw(&events);
        let raw_cpu = cpu().0 - own;
        if r < best_raw {
            best_raw = r;
            best_raw_cpu = raw_cpu;
        }
        progress!("round {round}: raw verify_strict {:.2} s (CPU {raw_cpu:.2} s)", r.as_secs_f64());
        let f = fetch_only(&node.url, &verifier.public(), leaves);
        best_fetch = best_fetch.min(f);
        progress!("round {round}: fetching the leaves only {:.2} s", f.as_secs_f64());
        let c = check_only(&genesis, &charter, &events);
        best_check = best_check.min(c);
        progress!("round {round}: the checker only, in process {:.2} s", c.as_secs_f64());
        let home = dir.path().join(format!("auditor-{round}"));
        let (a, used, report) = audit(&node.url, &genesis_file, &home);
        let log = &report["verifiers"][0];
        assert_eq!(report["finding_count"], 0, "{report}");
        assert_eq!(log["attestations"].as_u64(), Some(leaves as u64), "{log}");
        assert_eq!(log["size"].as_u64(), Some(leaves as u64), "{log}");
        if a < best_audit {
            best_audit = a;
            best_cpu = Some(used);
        }
        progress!(
            "round {round}: curbside audit verify {:.2} s (CPU: curbside {:.2} s, node {:.2} s)",
            a.as_secs_f64(),
            used.cli,
            used.node
        );
    }
    drop(node);

    let rate = |d: Duration| leaves as f64 / d.as_secs_f64();
    let ratio = best_raw.as_secs_f64() / best_audit.as_secs_f64();
    println!(
        "log: {leaves} attestations (mean {mean} bytes), {heads} tree heads, one node on 127.0.0.1"
    );
    println!("machine: {} threads available; best of {rounds} rounds each", threads());
    println!("{:<52} {:>9} {:>11} {:>7}", "measurement", "seconds", "events/s", "vs raw");
    println!(
        "{:<52} {:>9.2} {:>11.0} {:>7.2}",
        "raw ed25519 verify_strict, 1 thread",
        best_raw.as_secs_f64(),
        rate(best_raw),
        1.0
    );
    for (what, d) in [
        ("  part: fetching every page of leaves over HTTP only", best_fetch),
        ("  part: protocol::audit checking them only, in process", best_check),
    ] {
        println!(
            "{what:<52} {:>9.2} {:>11.0} {:>7.2}",
            d.as_secs_f64(),
            rate(d),
            best_raw.as_secs_f64() / d.as_secs_f64()
        );
    }
    println!(
        "{:<52} {:>9.2} {:>11.0} {:>7.2}",
        "curbside audit verify (fetch + check), end to end",
        best_audit.as_secs_f64(),
        rate(best_audit),
        ratio
    );
    if let Some(used) = best_cpu {
        println!(
            "CPU of that audit run: curbside {:.2} s + the node serving it {:.2} s = {:.1} us per \
             attestation (raw: {:.1} us)",
            used.cli,
            used.node,
            (used.cli + used.node) * 1e6 / leaves as f64,
            best_raw_cpu * 1e6 / leaves as f64
        );
        println!(
            "CPU ratio raw / (curbside + node) = {:.3}; with both cores free the audit's wall \
             time would be about half its CPU time",
            best_raw_cpu / (used.cli + used.node)
        );
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("load average at the end (1, 5, 15 min): {}", load.join(" "));
    println!();
    println!("audit / raw = {ratio:.3} (target >= 0.70)");
}
