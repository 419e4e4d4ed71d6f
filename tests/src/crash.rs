//! Crash safety, Jepsen-style: clients submit signed events to a node
//! running as a child process (the real `curbside node run`), which is
//! killed with SIGKILL at random moments and restarted on the same data
//! directory. After every kill the harness opens the store itself and
//! checks that it opens, that [`Store::check`] finds nothing wrong, and
//! that every event whose submission was acknowledged (HTTP 200, outcome
//! `stored`) is there — and every attestation the node acknowledged
//! issuing is in its own audit log.
//!
//! ```text
//!  client threads ──POST /v1/events──▶ ┌──────────────┐    SIGKILL at a random
//!  (posts, comments, votes)            │ curbside node│ ◀── moment, then: open the
//!  verifier thread ──POST /admin/attest▶│   (child)    │     store here, check it,
//!                                      └──────────────┘     look for every ack, restart
//! ```
//!
//! A submission that got no answer (the node died first) is indeterminate:
//! the event may or may not be stored, and either is correct.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use curbside_node::datadir::DataDir;
use curbside_node::store::Store;
use curbside_protocol::testkit::SplitMix64;
use curbside_protocol::{
    AttestationRequest, Body, EventId, Handle, PublicKey, SecretKey, SignedEvent, testkit::key,
};
use serde_json::{Value, json};

use crate::{Network, curbside_bin, wire};

/// The node's configuration in these harnesses: alone (no peer-to-peer),
/// and no per-physician limit in the way.
pub(crate) const NODE_TOML: &str =
    "listen = []\nauthor_events_per_minute = 100000\nauthor_burst = 100000\n";

/// How a run goes.
#[derive(Debug, Clone)]
pub struct CrashConfig {
    /// Kills before the run ends.
    pub kills: usize,
    /// Client threads submitting physicians' events.
    pub clients: usize,
    /// Whether a thread also issues attestations through the admin API (so
    /// the node's own audit log grows while it is killed).
    pub attest: bool,
    /// The node runs this long (uniformly at random, after it answers)
    /// before it is killed.
    pub run_ms: (u64, u64),
    /// One kill in this many comes during start-up instead, 0 to 60 ms after
    /// the process is spawned (while sled recovers and the node opens).
    pub early_every: u64,
    /// Seed of the kill schedule.
    pub seed: u64,
}

impl CrashConfig {
    /// `kills` kills, three clients and a verifier, runs of 30–300 ms, one
    /// kill in five during start-up; the seed from `CURBSIDE_CRASH_SEED`,
    /// else the clock.
    pub fn new(kills: usize) -> Self {
        let seed = std::env::var("CURBSIDE_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        Self { kills, clients: 3, attest: true, run_ms: (30, 300), early_every: 5, seed }
    }
}

/// What a run found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CrashReport {
    /// SIGKILLs sent.
    pub kills: usize,
    /// Of which during start-up.
    pub early_kills: usize,
    /// Events acknowledged as stored (all checked after every later kill).
    pub acknowledged: usize,
    /// Of which attestations issued through the admin API.
    pub attestations: usize,
    /// Submissions that got no answer (indeterminate).
    pub unanswered: u64,
    /// Submissions refused (should be none; each with its code).
    pub refused: Vec<String>,
    /// Acknowledged events missing after a kill.
    pub lost: Vec<String>,
    /// Acknowledged attestations missing from the node's own audit log.
    pub unlogged: Vec<String>,
    /// Times the store would not open (with the error).
    pub open_failures: Vec<String>,
    /// Problems [`Store::check`] reported.
    pub check_failures: Vec<String>,
    /// Times the restarted node did not answer.
    pub restart_failures: Vec<String>,
    /// Events in the store at the end.
    pub events_at_end: u64,
    /// The seed.
    pub seed: u64,
    /// Wall time of the run, seconds.
    pub seconds: f64,
    /// Of which spent opening and checking the store after kills.
    pub verify_seconds: f64,
    /// The data directory, kept when the run failed (for evidence).
    pub kept: Option<PathBuf>,
}

impl CrashReport {
    /// Nothing lost, every open and check passed.
    pub fn passed(&self) -> bool {
        self.refused.is_empty()
            && self.lost.is_empty()
            && self.unlogged.is_empty()
            && self.open_failures.is_empty()
            && self.check_failures.is_empty()
            && self.restart_failures.is_empty()
    }
}

/// The node as a child process.
pub(crate) struct NodeProcess {
    pub(crate) child: Child,
    url: Option<String>,
}

impl NodeProcess {
    /// Spawns `curbside node run` on `data`; the API on an OS-chosen port.
    pub(crate) fn spawn(data: &Path, log: &Path) -> Self {
        Self::spawn_limited(data, log, None)
    }

    /// [`NodeProcess::spawn`], no file the node writes to growing past
    /// `file_limit` bytes if given (`RLIMIT_FSIZE`, set by `prlimit`; with
    /// SIGXFSZ ignored a write past it fails with `EFBIG`, as one on a full
    /// disk fails with `ENOSPC`).
    fn spawn_limited(data: &Path, log: &Path, file_limit: Option<u64>) -> Self {
        Self::spawn_program(&curbside_bin(), data, log, file_limit)
    }

    /// [`NodeProcess::spawn_limited`], running `program` (a `curbside` binary).
    pub(crate) fn spawn_program(
        program: &Path,
        data: &Path,
        log: &Path,
        file_limit: Option<u64>,
    ) -> Self {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let mut command = match file_limit {
            None => Command::new(program),
            Some(limit) => {
                let mut sh = Command::new("sh");
                sh.args(["-c", "trap '' XFSZ; exec prlimit --fsize=\"$0\" -- \"$@\""])
                    .arg(limit.to_string())
                    .arg(program);
                sh
            }
        };
        let child = command
            .args(["--json", "node", "run", "--data"])
            .arg(data)
            .args(["--api", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .env_remove("CURBSIDE_AUTHOR_EVENTS_PER_MINUTE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        Self { child, url: None }
    }

    /// Waits for the API address the node prints, then for it to answer.
    pub(crate) fn wait_ready(&mut self, agent: &ureq::Agent) -> Result<String, String> {
        use std::io::BufRead as _;
        let stdout = self.child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).map_err(|e| e.to_string())?;
        let printed: Value = serde_json::from_str(&line)
            .map_err(|_| format!("the node printed {line:?}, not its API address"))?;
        let url = printed["api"].as_str().ok_or("no api in the node's output")?.to_string();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if matches!(call(agent.get(format!("{url}/v1/status")).call()), Ok((200, _))) {
                self.url = Some(url.clone());
                return Ok(url);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the node exited with {status}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err("the node did not answer within 30 s".into())
    }

    /// SIGKILL, and wait for the process to be gone.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the clients share with the harness.
pub(crate) struct Shared {
    /// The node's API while it is up.
    pub(crate) url: RwLock<Option<String>>,
    /// Acknowledged events.
    pub(crate) acked: Mutex<Vec<EventId>>,
    /// When each was acknowledged.
    pub(crate) acked_at: Mutex<std::collections::HashMap<EventId, Instant>>,
    /// Acknowledged attestations.
    pub(crate) attested: Mutex<Vec<EventId>>,
    pub(crate) unanswered: AtomicU64,
    pub(crate) refused: Mutex<Vec<String>>,
    pub(crate) stop: AtomicBool,
}

impl Shared {
    fn url(&self) -> Option<String> {
        self.url.read().unwrap().clone()
    }

    /// Notes an acknowledged event (and attestation, if it is one).
    fn ack(&self, id: EventId, attestation: bool) {
        self.acked.lock().unwrap().push(id);
        self.acked_at.lock().unwrap().insert(id, Instant::now());
        if attestation {
            self.attested.lock().unwrap().push(id);
        }
    }
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn call(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<(u16, Value), String> {
    let mut response = result.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().map_err(|e| e.to_string())?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
}

fn post(
    agent: &ureq::Agent,
    url: &str,
    path: &str,
    body: &Value,
    token: Option<&str>,
) -> Result<(u16, Value), String> {
    let mut req = agent.post(format!("{url}{path}")).header("Content-Type", "application/json");
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    call(req.send(body.to_string()))
}

/// Submits one event; `Some(true)` if acknowledged as stored, `Some(false)`
/// if refused (noted), `None` if unanswered.
fn submit(shared: &Shared, agent: &ureq::Agent, url: &str, event: &SignedEvent) -> Option<bool> {
    match post(agent, url, "/v1/events", &json!({ "events": [wire(event)] }), None) {
        Ok((200, body)) if body["outcomes"][0]["status"] == "stored" => {
            shared.ack(event.id(), false);
            Some(true)
        }
        // The node stopping (it is never asked to here) or a refusal.
        Ok((status, body)) => {
            shared.refused.lock().unwrap().push(format!("{status}: {body}"));
            Some(false)
        }
        Err(_) => {
            shared.unanswered.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// Attests `physician` through the admin API; the attestation's id if acknowledged.
fn attest(
    agent: &ureq::Agent,
    url: &str,
    token: &str,
    network: &Network,
    physician: &SecretKey,
    handle: &str,
) -> Result<Option<EventId>, String> {
    let request = AttestationRequest::new(
        network.id(),
        physician,
        Handle::new(handle).unwrap(),
        curbside_node::now(),
    );
    let body = json!({
        "request": request.to_text(),
        "specialties": ["cardiology"],
        "jurisdiction": "GB",
        "licence": format!("LIC-{handle}"),
        "valid_days": 365,
    });
    match post(agent, url, "/v1/admin/attest", &body, Some(token)) {
        Ok((200, body)) => Ok(body["id"].as_str().and_then(|s| s.parse().ok())),
        Ok((status, body)) => Err(format!("{status}: {body}")),
        Err(_) => Ok(None),
    }
}

/// One client: posts, comments on its own last acknowledged post, votes.
fn client(shared: &Shared, network: &Network, me: &SecretKey, poll: EventId) {
    let agent = agent();
    let mut last_post: Option<EventId> = None;
    let mut n: u64 = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        let Some(url) = shared.url() else {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        };
        n += 1;
        let body = match (n % 3, last_post) {
            (1, Some(parent)) => {
                Body::Comment(curbside_protocol::Comment { parent, body: format!("reply {n}") })
            }
            (2, _) => Body::Vote(curbside_protocol::Vote { poll, option: (n % 4) as u8 }),
            _ => Body::Post(curbside_protocol::Post {
                hub: "general".parse().unwrap(),
                title: format!("case {n}"),
                body: "Thoughts?".into(),
            }),
        };
        let is_post = matches!(body, Body::Post(_));
        let event = network.sign(me, body);
        if submit(shared, &agent, &url, &event) == Some(true) && is_post {
            last_post = Some(event.id());
        }
    }
}

/// The verifier's own activity: attests a new physician after another.
fn verifier(shared: &Shared, network: &Network, token: &str, counter: &AtomicU64) {
    let agent = agent();
    while !shared.stop.load(Ordering::Relaxed) {
        let Some(url) = shared.url() else {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        };
        let i = counter.fetch_add(1, Ordering::Relaxed);
        let handle = format!("att-{i}");
        let physician = key(&format!("crash-attested-{i}"));
        match attest(&agent, &url, token, network, &physician, &handle) {
            Ok(Some(id)) => {
                shared.ack(id, true);
            }
            Ok(None) => {
                shared.unanswered.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => shared.refused.lock().unwrap().push(format!("attest: {e}")),
        }
    }
}

/// Opens the store of `data` and checks it holds every acknowledged event
/// and attestation; notes what is wrong in `report`. `false` if it could
/// not even be opened.
pub(crate) fn verify(
    data: &DataDir,
    me: &PublicKey,
    shared: &Shared,
    report: &mut CrashReport,
) -> bool {
    let store = match Store::open(&data.store_dir(), data.genesis().clone()) {
        Ok(s) => s,
        Err(e) => {
            report.open_failures.push(format!("after kill {}: {e}", report.kills));
            return false;
        }
    };
    match store.check() {
        Ok(r) if r.is_sound() => {}
        Ok(r) => report.check_failures.extend(
            r.problems
                .iter()
                .map(|p| format!("after kill {}: {}: {}", report.kills, p.code, p.detail)),
        ),
        Err(e) => report.check_failures.push(format!("after kill {}: reading: {e}", report.kills)),
    }
    let acked = shared.acked.lock().unwrap().clone();
    for id in &acked {
        if !store.events().contains(id).unwrap_or(false) {
            report.lost.push(format!("after kill {}: {id}", report.kills));
        }
    }
    let size = store.audit().size(me);
    for id in shared.attested.lock().unwrap().iter() {
        if !matches!(store.audit().inclusion(me, id, size), Some(Ok(_))) {
            report.unlogged.push(format!("after kill {}: {id}", report.kills));
        }
    }
    report.acknowledged = acked.len();
    report.events_at_end = store.counts().map_or(0, |c| c.events);
    true
}

/// The clients and the verifier, submitting to whichever node is up
/// (`shared.url`).
pub(crate) struct Workload {
    pub(crate) shared: Arc<Shared>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Workload {
    /// Readies the node at `url` (its charter, one attested physician per
    /// client, a poll; all acknowledged) and starts `clients` client threads
    /// and, if `attest`, the verifier thread, submitting to `url`.
    pub(crate) fn start(
        network: Network,
        data: &DataDir,
        url: &str,
        clients: usize,
        attest_too: bool,
    ) -> Self {
        let me = data.key().public();
        let token = data.admin_token().to_string();
        let agent = agent();
        let shared = Arc::new(Shared {
            url: RwLock::new(None),
            acked: Mutex::new(Vec::new()),
            acked_at: Mutex::new(std::collections::HashMap::new()),
            attested: Mutex::new(Vec::new()),
            unanswered: AtomicU64::new(0),
            refused: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        assert_eq!(submit(&shared, &agent, url, &network.charter(&me, &["GB"])), Some(true));
        let keys: Vec<SecretKey> =
            (0..clients).map(|i| key(&format!("crash-client-{i}"))).collect();
        for (i, c) in keys.iter().enumerate() {
            let id =
                attest(&agent, url, &token, &network, c, &format!("client-{i}")).unwrap().unwrap();
            shared.ack(id, true);
        }
        let poll = network.sign(
            &keys[0],
            Body::Poll(curbside_protocol::Poll {
                hub: "general".parse().unwrap(),
                question: "Which first?".into(),
                options: ["a", "b", "c", "d"].iter().map(|s| (*s).to_string()).collect(),
                closes_at: curbside_node::now().plus_days(30),
                eligible: vec![],
            }),
        );
        assert_eq!(submit(&shared, &agent, url, &poll), Some(true));
        *shared.url.write().unwrap() = Some(url.to_owned());

        let poll = poll.id();
        let network = Arc::new(network);
        let counter = Arc::new(AtomicU64::new(0));
        let mut threads = Vec::new();
        for c in keys {
            let (shared, network) = (shared.clone(), network.clone());
            threads.push(std::thread::spawn(move || client(&shared, &network, &c, poll)));
        }
        if attest_too {
            let (shared, network, counter) = (shared.clone(), network.clone(), counter.clone());
            threads.push(std::thread::spawn(move || verifier(&shared, &network, &token, &counter)));
        }
        Self { shared, threads }
    }

    /// Stops the threads.
    pub(crate) fn stop(self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        *self.shared.url.write().unwrap() = None;
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Runs the harness: sets up a node (chartered, with one attested physician
/// per client and a poll), then kills and restarts it `config.kills` times.
pub fn run(config: &CrashConfig) -> CrashReport {
    let started = Instant::now();
    let mut rng = SplitMix64(config.seed);
    let mut report = CrashReport { seed: config.seed, ..CrashReport::default() };
    let network = Network::new();
    let tmp = tempfile::tempdir().unwrap();
    let data_path = tmp.path().join("node");
    let log = tmp.path().join("node.log");
    let data = DataDir::init(&data_path, &network.genesis).unwrap();
    std::fs::write(data_path.join("node.toml"), NODE_TOML).unwrap();
    let me = data.key().public();
    let agent = agent();

    let mut first = NodeProcess::spawn(&data_path, &log);
    let url = first.wait_ready(&agent).unwrap();
    let mut node = Some(first);
    let workload = Workload::start(network, &data, &url, config.clients, config.attest);
    let shared = workload.shared.clone();

    let mut ready = true;
    while report.kills < config.kills {
        if ready {
            std::thread::sleep(Duration::from_millis(
                rng.between(config.run_ms.0, config.run_ms.1),
            ));
        }
        *shared.url.write().unwrap() = None;
        if let Some(n) = node.take() {
            n.kill();
        }
        report.kills += 1;
        let verifying = Instant::now();
        let passed = verify(&data, &me, &shared, &mut report);
        report.verify_seconds += verifying.elapsed().as_secs_f64();
        if report.kills.is_multiple_of(100) {
            eprintln!(
                "crash: {} kills, {} acknowledged events checked, {:.0} s",
                report.kills,
                report.acknowledged,
                started.elapsed().as_secs_f64()
            );
        }
        if !passed || !report.passed() || report.kills >= config.kills {
            break;
        }
        let restarted = node.insert(NodeProcess::spawn(&data_path, &log));
        ready = !(config.early_every > 0 && rng.next_u64().is_multiple_of(config.early_every));
        if !ready {
            // Killed while it starts: sled recovering, the node opening.
            report.early_kills += 1;
            std::thread::sleep(Duration::from_millis(rng.between(0, 60)));
            continue;
        }
        match restarted.wait_ready(&agent) {
            Ok(url) => *shared.url.write().unwrap() = Some(url),
            Err(e) => {
                report.restart_failures.push(format!("after kill {}: {e}", report.kills));
                break;
            }
        }
    }
    workload.stop();
    if let Some(n) = node {
        n.kill();
    }
    report.attestations = shared.attested.lock().unwrap().len();
    report.unanswered = shared.unanswered.load(Ordering::Relaxed);
    report.refused = shared.refused.lock().unwrap().clone();
    report.seconds = started.elapsed().as_secs_f64();
    if !report.passed() {
        report.kept = Some(tmp.keep());
    }
    report
}

/// What [`fill_the_disk`] saw.
#[derive(Debug, Default)]
pub struct DiskFullReport {
    /// Events acknowledged as stored before the store failed.
    pub acknowledged: Vec<EventId>,
    /// The first answer that was not `stored` (status and body), if any.
    pub first_refusal: Option<(u16, Value)>,
    /// The node's exit code, if it exited by itself.
    pub exit_code: Option<i32>,
    /// How long after that answer the node took to exit.
    pub exited_after: Option<Duration>,
    /// What the node logged.
    pub log: String,
    /// Acknowledged events missing when the store was opened afterwards.
    pub lost: Vec<EventId>,
    /// Problems [`Store::check`] found then.
    pub check_problems: Vec<String>,
    /// Whether the node, restarted without the limit, stored a new event.
    pub stored_after_restart: bool,
}

/// A node whose disk fills: run with every file it writes limited to
/// `file_limit` bytes, it is sent posts until a submission is not stored;
/// then it must exit by itself, and, restarted without the limit, hold
/// every event it acknowledged and take new ones.
pub fn fill_the_disk(file_limit: u64) -> DiskFullReport {
    let mut report = DiskFullReport::default();
    let network = Network::new();
    let tmp = tempfile::tempdir().unwrap();
    let data_path = tmp.path().join("node");
    let log = tmp.path().join("node.log");
    let data = DataDir::init(&data_path, &network.genesis).unwrap();
    std::fs::write(data_path.join("node.toml"), NODE_TOML).unwrap();
    let me = data.key().public();
    let token = data.admin_token().to_string();
    let agent = agent();
    let post = |url: &str, event: &SignedEvent| {
        post(&agent, url, "/v1/events", &json!({ "events": [wire(event)] }), None)
    };

    let mut node = NodeProcess::spawn_limited(&data_path, &log, Some(file_limit));
    let url = node.wait_ready(&agent).unwrap();
    let charter = network.charter(&me, &["GB"]);
    assert_eq!(post(&url, &charter).unwrap().0, 200);
    report.acknowledged.push(charter.id());
    let physician = key("disk-full-dr");
    let attested = attest(&agent, &url, &token, &network, &physician, "dr-full").unwrap().unwrap();
    report.acknowledged.push(attested);

    let started = Instant::now();
    let mut refused_at = None;
    for i in 0.. {
        if started.elapsed() > Duration::from_secs(120) {
            break;
        }
        let event = network.sign(
            &physician,
            Body::Post(curbside_protocol::Post {
                hub: "general".parse().unwrap(),
                title: format!("post {i}"),
                body: "x".repeat(4000),
            }),
        );
        match post(&url, &event) {
            Ok((200, body)) if body["outcomes"][0]["status"] == "stored" => {
                report.acknowledged.push(event.id());
            }
            Ok(answer) => {
                report.first_refusal = Some(answer);
                refused_at = Some(Instant::now());
                break;
            }
            Err(e) => {
                report.first_refusal = Some((0, Value::String(e)));
                refused_at = Some(Instant::now());
                break;
            }
        }
    }
    if let Some(at) = refused_at {
        while at.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(status)) = node.child.try_wait() {
                report.exit_code = status.code();
                report.exited_after = Some(at.elapsed());
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    node.kill();
    report.log = std::fs::read_to_string(&log).unwrap_or_default();

    {
        let store = Store::open(&data.store_dir(), data.genesis().clone()).unwrap();
        let checked = store.check().unwrap();
        report.check_problems =
            checked.problems.iter().map(|p| format!("{}: {}", p.code, p.detail)).collect();
        report.lost = report
            .acknowledged
            .iter()
            .filter(|id| !store.events().contains(id).unwrap_or(false))
            .copied()
            .collect();
    }
    let mut node = NodeProcess::spawn(&data_path, &log);
    if let Ok(url) = node.wait_ready(&agent) {
        let again = network.post(&physician, "after the restart");
        report.stored_after_restart = matches!(
            post(&url, &again),
            Ok((200, body)) if body["outcomes"][0]["status"] == "stored"
        );
    }
    node.kill();
    report
}
