//! End-to-end tests for Curbside: real nodes and the real `curbside` binary
//! on 127.0.0.1, with ports chosen by the operating system.
//!
//! The tests live in `tests/tests/e2e/`, one module per area of a single
//! test binary (`--test e2e`); this library holds what they share:
//! [`Network`] (a root and a genesis), [`TestNode`] (a node serving its API
//! on an OS-chosen loopback port, stopped on drop) and small HTTP helpers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod crash;
pub mod hostile;
pub mod measure;
pub mod netns;
pub mod powercut;
pub mod stranger;
pub mod wan;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use curbside_node::NodeBuilder;
use curbside_node::NodeThread;
use curbside_node::config::{NodeConfig, Overrides};
use curbside_node::datadir::DataDir;
use curbside_protocol::{
    AttestationRequest, Body, Event, EventId, Genesis, Handle, NetworkId, PublicKey, SecretKey,
    SignedEvent, Timestamp, testkit::key,
};
use serde_json::{Value, json};

/// Path to the `curbside` binary of this build.
///
/// `cargo test --workspace` builds every binary before it runs any test;
/// test executables live in `target/<profile>/deps/`, the binary one level up.
pub fn curbside_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let profile_dir =
        exe.parent().and_then(|deps| deps.parent()).map(PathBuf::from).unwrap_or_default();
    let bin = profile_dir.join(format!("curbside{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test --workspace`, which builds it",
        bin.display()
    );
    bin
}

/// A network: its root key and genesis, founded now.
#[derive(Debug)]
pub struct Network {
    /// The root key.
    pub root: SecretKey,
    /// The genesis.
    pub genesis: Genesis,
}

impl Default for Network {
    fn default() -> Self {
        Self::new()
    }
}

impl Network {
    /// A network with one root.
    pub fn new() -> Self {
        Self::with_params(|_| {})
    }

    /// A network with one root and its parameters adjusted by `tweak`.
    pub fn with_params(tweak: impl FnOnce(&mut curbside_protocol::Params)) -> Self {
        let root = key("e2e-root");
        let mut genesis =
            Genesis::new("End-to-end test network", vec![root.public()], curbside_node::now());
        tweak(&mut genesis.params);
        Self { root, genesis }
    }

    /// The network id.
    pub fn id(&self) -> NetworkId {
        self.genesis.network_id()
    }

    /// Signs `body` by `author`, now.
    pub fn sign(&self, author: &SecretKey, body: Body) -> SignedEvent {
        self.sign_at(author, body, curbside_node::now())
    }

    /// `body` signed by `author` as made at `at`: for bodies that name a
    /// time of their own (a revocation's `effective_at`) that must not be
    /// earlier than the event's.
    pub fn sign_at(&self, author: &SecretKey, body: Body, at: Timestamp) -> SignedEvent {
        Event::new(self.id(), author.public(), at, body).sign(author).unwrap()
    }

    /// The root's change to rules `version`, in effect from the moment it
    /// is made: one instant for both times (two reads of the clock could
    /// fall in different milliseconds, and a change that takes effect
    /// before it was made is refused as `retroactive_rules`).
    pub fn rules_from_now(&self, version: u16) -> SignedEvent {
        let now = curbside_node::now();
        let change = curbside_protocol::rules::RulesChange { version, effective_at: now };
        self.sign_at(&self.root, Body::Rules(change), now)
    }

    /// A post in `general` by `who`, now.
    pub fn post(&self, who: &SecretKey, title: &str) -> SignedEvent {
        self.sign(
            who,
            Body::Post(curbside_protocol::Post {
                hub: "general".parse().unwrap(),
                title: title.into(),
                body: "Thoughts?".into(),
            }),
        )
    }

    /// A charter for `node` by the root, verifying in `verify`.
    pub fn charter(&self, node: &PublicKey, verify: &[&str]) -> SignedEvent {
        self.sign(
            &self.root,
            Body::Charter(curbside_protocol::Charter {
                node: *node,
                institution: "Test Hospital".into(),
                verify: verify.iter().map(|j| j.parse().unwrap()).collect(),
                valid_until: curbside_node::now().plus_days(365),
            }),
        )
    }
}

/// A node running in this process, serving its API on 127.0.0.1 at a port
/// the OS chose. Stopped (gracefully) when dropped. Its API calls are
/// [`Api`]'s, through `Deref`.
#[derive(Debug)]
pub struct TestNode {
    api: Api,
    /// The node's key.
    pub key: PublicKey,
    data: PathBuf,
    overrides: Overrides,
    tweak: fn(&mut NodeConfig),
    netns: Option<PathBuf>,
    _dir: Option<tempfile::TempDir>,
    /// The node on its own thread and runtime; stopped (and its store let
    /// go of) before the data directory is removed.
    node: Option<NodeThread>,
}

impl std::ops::Deref for TestNode {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

/// A node's HTTP API as a client sees it, wherever the node runs (in this
/// process, as a [`TestNode`], or as a child process).
#[derive(Debug, Clone)]
pub struct Api {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The admin token.
    pub admin_token: String,
    agent: ureq::Agent,
}

impl TestNode {
    /// Initialises a data directory for `network` and starts the node,
    /// chartered (to verify in `GB`) by the network's root.
    pub fn start(network: &Network) -> Self {
        Self::start_tweaked(network, |_| {})
    }

    /// [`TestNode::start`], its configuration adjusted by `tweak` (which
    /// runs after the node is made to run alone).
    pub fn start_tweaked(network: &Network, tweak: fn(&mut NodeConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("node");
        DataDir::init(&data, &network.genesis).unwrap();
        // One node alone: no peer-to-peer (node.toml would listen on 7421).
        std::fs::write(data.join("node.toml"), "listen = []\n").unwrap();
        let mut node = Self::run_tweaked(&data, Overrides::default(), tweak);
        node._dir = Some(dir);
        let charter = network.charter(&node.key, &["GB"]);
        let (status, body) = node.submit(&[charter]);
        assert_eq!(status, 200, "{body}");
        node
    }

    /// A node of `network` taking part in the federation: listening on
    /// 127.0.0.1 (an OS-chosen port), dialling `bootstrap`, and chartered
    /// by the root (to verify in `verify`; none for a relay). Its charter is
    /// stored at itself; peers ask for it when they connect.
    pub fn start_peer(network: &Network, bootstrap: &[String], verify: &[&str]) -> Self {
        let node = Self::start_unchartered(bootstrap, network, |_| {});
        let charter = network.charter(&node.key, verify);
        let (status, body) = node.submit(&[charter]);
        assert_eq!(status, 200, "{body}");
        node
    }

    /// A networked node of `network` that no charter names, its
    /// configuration adjusted by `tweak` (kept across restarts).
    pub fn start_unchartered(
        bootstrap: &[String],
        network: &Network,
        tweak: fn(&mut NodeConfig),
    ) -> Self {
        Self::start_unchartered_observed(bootstrap, network, tweak, None)
    }

    /// [`TestNode::start_peer`], listening for peers on `listen` (multiaddrs
    /// on 127.0.0.1, port 0) instead of TCP: `/ip4/127.0.0.1/udp/0/quic-v1`
    /// for a node reached over QUIC only.
    pub fn start_peer_listening(
        network: &Network,
        listen: &[&str],
        bootstrap: &[String],
        verify: &[&str],
    ) -> Self {
        let listen = listen.iter().map(|a| a.to_string()).collect();
        let node = Self::start_networked(listen, bootstrap, network, |_| {}, None);
        let charter = network.charter(&node.key, verify);
        let (status, body) = node.submit(&[charter]);
        assert_eq!(status, 200, "{body}");
        node
    }

    /// [`TestNode::start_peer`], calling `observer` with every event the
    /// node stores the moment it is durable (see `NodeBuilder::observer`).
    pub fn start_peer_observed(
        network: &Network,
        bootstrap: &[String],
        verify: &[&str],
        observer: curbside_node::ingest::Observer,
    ) -> Self {
        let node = Self::start_unchartered_observed(bootstrap, network, |_| {}, Some(observer));
        let charter = network.charter(&node.key, verify);
        let (status, body) = node.submit(&[charter]);
        assert_eq!(status, 200, "{body}");
        node
    }

    fn start_unchartered_observed(
        bootstrap: &[String],
        network: &Network,
        tweak: fn(&mut NodeConfig),
        observer: Option<curbside_node::ingest::Observer>,
    ) -> Self {
        let listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
        Self::start_networked(listen, bootstrap, network, tweak, observer)
    }

    fn start_networked(
        listen: Vec<String>,
        bootstrap: &[String],
        network: &Network,
        tweak: fn(&mut NodeConfig),
        observer: Option<curbside_node::ingest::Observer>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("node");
        DataDir::init(&data, &network.genesis).unwrap();
        let overrides = Overrides { listen, bootstrap: bootstrap.to_vec(), ..Overrides::default() };
        let mut node = Self::launch(&data, overrides, tweak, observer, None);
        node._dir = Some(dir);
        node
    }

    /// The node's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Starts (or restarts) the node whose data directory is `data`.
    pub fn run(data: &Path) -> Self {
        Self::run_with(data, Overrides::default())
    }

    /// [`TestNode::run`] with configuration overrides (as flags would give).
    pub fn run_with(data: &Path, overrides: Overrides) -> Self {
        Self::run_tweaked(data, overrides, |_| {})
    }

    /// [`TestNode::run_with`], then `tweak` on the loaded configuration.
    pub fn run_tweaked(data: &Path, overrides: Overrides, tweak: fn(&mut NodeConfig)) -> Self {
        Self::launch(data, overrides, tweak, None, None)
    }

    /// A networked node of `network` whose peer-to-peer side lives in the
    /// network namespace `netns` (a path under `/run/netns`), listening on
    /// `listen` there and dialling `bootstrap`; chartered by the root (to
    /// verify in `verify`). Its API stays on this process's 127.0.0.1: the
    /// listener is bound before the node's threads enter the namespace, and
    /// every socket the node makes afterwards (libp2p's) is made inside it.
    pub fn start_in_netns(
        network: &Network,
        netns: &Path,
        listen: &str,
        bootstrap: &[String],
        verify: &[&str],
        tweak: fn(&mut NodeConfig),
    ) -> Self {
        Self::start_in_netns_observed(network, netns, listen, bootstrap, verify, tweak, None)
    }

    /// [`TestNode::start_in_netns`], calling `observer` (if given) with
    /// every event the node stores the moment it is durable.
    pub fn start_in_netns_observed(
        network: &Network,
        netns: &Path,
        listen: &str,
        bootstrap: &[String],
        verify: &[&str],
        tweak: fn(&mut NodeConfig),
        observer: Option<curbside_node::ingest::Observer>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("node");
        DataDir::init(&data, &network.genesis).unwrap();
        let overrides = Overrides {
            listen: vec![listen.into()],
            bootstrap: bootstrap.to_vec(),
            ..Overrides::default()
        };
        let mut node = Self::launch(&data, overrides, tweak, observer, Some(netns.to_path_buf()));
        node._dir = Some(dir);
        let charter = network.charter(&node.key, verify);
        let (status, body) = node.submit(&[charter]);
        assert_eq!(status, 200, "{body}");
        node
    }

    fn launch(
        data: &Path,
        overrides: Overrides,
        tweak: fn(&mut NodeConfig),
        observer: Option<curbside_node::ingest::Observer>,
        netns: Option<PathBuf>,
    ) -> Self {
        let dir = DataDir::open(data).unwrap();
        let mut config = NodeConfig::load(data, &overrides).unwrap();
        tweak(&mut config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let admin_token = dir.admin_token().to_string();
        let key = dir.key().public();
        let enter = netns.clone();
        let mut builder = NodeBuilder::new(config, dir);
        if let Some(observer) = observer {
            builder = builder.observer(observer);
        }
        // A network namespace belongs to a thread; the runtime's threads,
        // started from the node's, inherit it.
        let thread = builder
            .spawn_on_own_runtime("test-node".into(), listener, move || {
                if let Some(path) = enter {
                    netns::enter(&path);
                }
            })
            .unwrap();
        let node = Self {
            api: Api::new(thread.url(), admin_token),
            key,
            data: data.to_path_buf(),
            overrides,
            tweak,
            netns,
            _dir: None,
            node: Some(thread),
        };
        node.wait_ready();
        node
    }

    /// Stops the node, keeping its data, to start it again later with
    /// [`Stopped::start`].
    pub fn stop(mut self) -> Stopped {
        let stopped = Stopped {
            data: self.data.clone(),
            overrides: self.overrides.clone(),
            tweak: self.tweak,
            netns: self.netns.clone(),
            dir: self._dir.take(),
        };
        drop(self);
        stopped
    }

    /// Stops the node and starts it again on the same data (a new port).
    pub fn restart(mut self) -> Self {
        let dir = self._dir.take();
        let data = self.data.clone();
        let mut overrides = self.overrides.clone();
        // The OS gives a new port; peers are found again from the store.
        overrides.bootstrap.clear();
        let tweak = self.tweak;
        let netns = self.netns.clone();
        drop(self);
        let mut node = Self::launch(&data, overrides, tweak, None, netns);
        node._dir = dir;
        node
    }

    /// The node's own secret key, read from its data directory: for tests
    /// that play a misbehaving institution.
    pub fn secret_key(&self) -> SecretKey {
        DataDir::open(&self.data).unwrap().key().clone()
    }
}

impl Api {
    /// The API at `url` (`http://HOST:PORT`), with the node's admin token.
    pub fn new(url: String, admin_token: String) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Self { url, admin_token, agent }
    }

    /// Waits (up to 20 s) until the node answers `/v1/status`.
    pub fn wait_ready(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if self.get("/v1/status", None).0 == 200 {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the node at {} did not answer within 20 s", self.url);
    }

    /// Asks the node to dial `addr` (the admin API).
    pub fn dial(&self, addr: &str) {
        let (status, body) =
            self.post("/v1/admin/peers", &json!({ "address": addr }), Some(&self.admin_token));
        assert_eq!(status, 202, "{body}");
    }

    /// `GET /v1/network`.
    pub fn network(&self) -> Value {
        let (status, body) = self.get("/v1/network", None);
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The address peers dial this node at: its first listen address, with
    /// `/p2p/ID` (`/ip4/127.0.0.1/tcp/PORT/p2p/ID` for a node on TCP).
    pub fn p2p_addr(&self) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let net = self.network();
            if let Some(addr) = net["listening"].as_array().and_then(|a| a.first()) {
                return addr.as_str().unwrap().to_string();
            }
            assert!(std::time::Instant::now() < deadline, "no listen address: {net}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Peers this node has admitted (checked their charter).
    pub fn admitted_peers(&self) -> usize {
        let net = self.network();
        net["peers"]
            .as_array()
            .map_or(0, |peers| peers.iter().filter(|p| p["admitted"] == json!(true)).count())
    }

    /// What this node holds of `verifier`'s audit log (`/v1/audit/logs`).
    pub fn audit_log(&self, verifier: &PublicKey) -> Option<Value> {
        let (status, body) = self.get("/v1/audit/logs", None);
        assert_eq!(status, 200, "{body}");
        body["logs"]
            .as_array()?
            .iter()
            .find(|l| l["verifier"] == json!(verifier.to_string()))
            .cloned()
    }

    /// The value of one Prometheus sample at `/metrics`, named with its
    /// labels as the node prints them (`curbside_events_accepted_total{source="api"}`).
    pub fn metric(&self, sample: &str) -> Option<f64> {
        let (_, text) = self.get("/metrics", None);
        let text = text.as_str()?.to_owned();
        text.lines().find_map(|line| line.strip_prefix(sample)?.trim().parse().ok())
    }

    /// Stored events, from `/v1/status`.
    pub fn event_count(&self) -> u64 {
        let (status, body) = self.get("/v1/status", None);
        assert_eq!(status, 200, "{body}");
        body["events"].as_u64().unwrap()
    }

    /// Whether the event `id` is stored here, read with `token`'s session.
    pub fn has(&self, id: &EventId, token: &str) -> bool {
        self.get(&format!("/v1/events/{id}"), Some(token)).0 == 200
    }

    /// `GET path`, with a bearer token if given: (status, JSON body).
    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.agent.get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        answer(req.call())
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
        self.post_raw(path, &body.to_string(), token)
    }

    /// `POST path` with a raw body (for malformed JSON).
    pub fn post_raw(&self, path: &str, body: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.url))
            .header("Content-Type", "application/json");
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        answer(req.send(body))
    }

    /// Submits signed events as the node's operator (the admin token: no
    /// budget of checking, and events of unknown authors are held).
    pub fn submit(&self, events: &[SignedEvent]) -> (u16, Value) {
        self.submit_as(events, Some(&self.admin_token))
    }

    /// `POST /v1/events` with `token` (a physician's session, the admin
    /// token) or none: a stranger from 127.0.0.1, as the node sees it.
    pub fn submit_as(&self, events: &[SignedEvent], token: Option<&str>) -> (u16, Value) {
        let encoded: Vec<String> = events.iter().map(wire).collect();
        self.post("/v1/events", &json!({ "events": encoded }), token)
    }

    /// Revokes the attestation (or charter) `target` through the admin API,
    /// effective now; the revocation's id.
    pub fn revoke(&self, target: &EventId, reason: &str) -> EventId {
        let (status, body) = self.post(
            "/v1/admin/revoke",
            &json!({ "target": target.to_string(), "reason": reason }),
            Some(&self.admin_token),
        );
        assert_eq!(status, 200, "{body}");
        body["id"].as_str().unwrap().parse().unwrap()
    }

    /// Attests `physician` (handle `handle`) through the admin API; the attestation id.
    pub fn attest(
        &self,
        network: &Network,
        physician: &SecretKey,
        handle: &str,
        specialties: &[&str],
        jurisdiction: &str,
    ) -> EventId {
        let request = AttestationRequest::new(
            network.id(),
            physician,
            Handle::new(handle).unwrap(),
            curbside_node::now(),
        );
        let (status, body) = self.post(
            "/v1/admin/attest",
            &json!({
                "request": request.to_text(),
                "specialties": specialties,
                "jurisdiction": jurisdiction,
                "licence": format!("LIC-{handle}"),
                "valid_days": 365,
            }),
            Some(&self.admin_token),
        );
        assert_eq!(status, 200, "{body}");
        body["id"].as_str().unwrap().parse().unwrap()
    }

    /// Opens a read session for `physician` once their attestation has
    /// reached this node (waiting up to 30 s); the token.
    pub fn session_when_attested(&self, network: &Network, physician: &SecretKey) -> String {
        let mut token = None;
        wait_until(Duration::from_secs(30), "the physician's attestation to arrive", || {
            token = self.session(network, physician).ok();
            token.is_some()
        });
        token.unwrap()
    }

    /// Opens a read session for `physician`; the token.
    pub fn session(
        &self,
        network: &Network,
        physician: &SecretKey,
    ) -> Result<String, (u16, Value)> {
        let (status, body) =
            self.post("/v1/session/challenge", &json!({ "key": physician.public() }), None);
        assert_eq!(status, 200, "{body}");
        let mut challenge = [0u8; 32];
        hex_decode(body["challenge"].as_str().unwrap(), &mut challenge);
        let message = curbside_node::api::session_message(&network.id(), &challenge);
        let signature = physician.sign(&message);
        let (status, body) = self.post(
            "/v1/session",
            &json!({ "key": physician.public(), "challenge": hex_encode(&challenge), "signature": signature }),
            None,
        );
        if status == 200 {
            Ok(body["token"].as_str().unwrap().to_string())
        } else {
            Err((status, body))
        }
    }
}

impl Drop for TestNode {
    /// Stops the node and waits until it has let go of its store, before
    /// the data directory (a field) is removed.
    fn drop(&mut self) {
        if let Some(Err(e)) = self.node.take().map(NodeThread::stop) {
            eprintln!("the node stopped with an error: {e}");
        }
    }
}

/// A stopped node's data, ready to start again.
#[derive(Debug)]
pub struct Stopped {
    data: PathBuf,
    overrides: Overrides,
    tweak: fn(&mut NodeConfig),
    netns: Option<PathBuf>,
    dir: Option<tempfile::TempDir>,
}

impl Stopped {
    /// The stopped node's data directory (for offline tools).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Every event id the stopped node's store holds (read from its data
    /// directory, while no node runs on it).
    pub fn event_ids(&self) -> std::collections::BTreeSet<EventId> {
        let dir = DataDir::open(&self.data).unwrap();
        let store =
            curbside_node::store::Store::open(&dir.store_dir(), dir.genesis().clone()).unwrap();
        store.events().timeline(Timestamp::from_millis(0)).map(|item| item.unwrap().1).collect()
    }

    /// Whether the stopped node's store holds the event `id` itself (not
    /// just its id: an event taken back leaves its id in the timeline),
    /// and whether its integrity check finds nothing wrong.
    pub fn holds(&self, id: &EventId) -> (bool, bool) {
        let dir = DataDir::open(&self.data).unwrap();
        let store =
            curbside_node::store::Store::open(&dir.store_dir(), dir.genesis().clone()).unwrap();
        let held = store.events().get(id).unwrap().is_some();
        (held, store.check().unwrap().is_sound())
    }

    /// Starts the node again (a new port; peers are found again from the
    /// addresses its store remembers, not from bootstrap addresses).
    pub fn start(self) -> TestNode {
        let mut overrides = self.overrides;
        overrides.bootstrap.clear();
        let mut node = TestNode::launch(&self.data, overrides, self.tweak, None, self.netns);
        node._dir = self.dir;
        node
    }
}

/// Polls `check` every 25 ms until it holds; panics with `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let start = std::time::Instant::now();
    loop {
        if check() {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// base64url of an event's wire bytes.
pub fn wire(event: &SignedEvent) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(event.to_bytes())
}

fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
    let mut response = result.unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn hex_decode(text: &str, out: &mut [u8]) {
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
