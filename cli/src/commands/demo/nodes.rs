//! The demo's nodes: each a real node on a thread and tokio runtime of its
//! own ([`NodeBuilder::spawn_on_own_runtime`]), with an API and a libp2p port on 127.0.0.1
//! that the operating system chose, and reached only through its HTTP API
//! (as the command line reaches any node).
//!
//! In-process rather than child processes of this binary: whatever the
//! demo started ends with it (no node outlives a killed demo), a node
//! stops through the same graceful shutdown `curbside node run` uses on
//! Ctrl-C, and the nodes' logs stay out of the narration (set `RUST_LOG`
//! to see them on stderr).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use curbside_node::config::{NodeConfig, Overrides};
use curbside_node::datadir::{DataDir, peer_id};
use curbside_node::{NodeBuilder, NodeError, NodeThread};
use curbside_protocol::{EventId, Genesis, PublicKey, SignedEvent};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::Interrupt;
use crate::client::{Client, ClientError, EventOutcome};

/// How long a node may take to answer after it was started, or to stop.
const START_STOP_LIMIT: Duration = Duration::from_secs(30);

/// Where each node listens for peers: loopback, a port the OS picks.
const LOOPBACK_P2P: &str = "/ip4/127.0.0.1/tcp/0";

/// An institution in the demo.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Site {
    /// Its data directory's name.
    pub(crate) slug: &'static str,
    /// For the charter and for people.
    pub(crate) institution: &'static str,
    /// For narration.
    pub(crate) short: &'static str,
    /// The jurisdiction its charter lets it verify physicians in; `None`
    /// for a relay.
    pub(crate) verifies: Option<&'static str>,
}

impl Site {
    /// Its short name at the start of a line: `St Mary's`, `The relay`.
    pub(crate) fn heading(&self) -> String {
        let mut chars = self.short.chars();
        chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
    }
}

/// A node of the demo, running or stopped.
#[derive(Debug)]
pub(crate) struct DemoNode {
    pub(crate) site: Site,
    /// Its chartered key (and so its libp2p identity).
    pub(crate) key: PublicKey,
    /// Its PeerId.
    pub(crate) peer_id: String,
    admin_token: String,
    data: PathBuf,
    running: Option<Running>,
}

/// A started node.
#[derive(Debug)]
struct Running {
    client: Client,
    /// `None` once its end has been seen.
    node: Option<NodeThread>,
}

impl DemoNode {
    /// Makes the node's data directory under `root` for `genesis`: its own
    /// key, admin token and configuration, as `curbside node init` does.
    pub(crate) fn init(root: &Path, site: Site, genesis: &Genesis) -> anyhow::Result<Self> {
        let data = root.join(site.slug);
        let dir = DataDir::init(&data, genesis)
            .with_context(|| format!("making {}'s data directory", site.short))?;
        let key = dir.key().public();
        Ok(Self {
            site,
            key,
            peer_id: peer_id(&key),
            admin_token: dir.admin_token().to_owned(),
            data,
            running: None,
        })
    }

    /// Starts the node and waits (bounded) until its API answers.
    pub(crate) fn start(&mut self, interrupt: &Interrupt) -> anyhow::Result<()> {
        if self.running.is_some() {
            bail!("{} is already running", self.site.short);
        }
        let dir = DataDir::open(&self.data)?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .context("binding an API port on 127.0.0.1")?;
        let api = listener.local_addr()?;
        // Flags win over the environment, so CURBSIDE_API or CURBSIDE_LISTEN
        // cannot move the demo off loopback; bootstrap peers and mDNS (which
        // the environment could set) are cleared: the demo dials its peers.
        let overrides = Overrides {
            api: Some(api.to_string()),
            listen: vec![LOOPBACK_P2P.to_owned()],
            ..Overrides::default()
        };
        let mut config = NodeConfig::load(&self.data, &overrides)
            .with_context(|| format!("{}'s configuration", self.site.short))?;
        if let Some(net) = config.net.as_mut() {
            net.bootstrap.clear();
            net.mdns = false;
        }
        let node = NodeBuilder::new(config, dir)
            .spawn_on_own_runtime(format!("node-{}", self.site.slug), listener, || {})
            .context("starting a thread for the node")?;
        let client = Client::new(&format!("http://{api}"))?;
        self.running = Some(Running { client, node: Some(node) });
        let start = Instant::now();
        loop {
            interrupt.check()?;
            if self.client()?.status().is_ok() {
                return Ok(());
            }
            if let Some(error) = self.finished_with() {
                self.running = None;
                bail!("{} stopped as it started: {error}", self.site.short);
            }
            if start.elapsed() > START_STOP_LIMIT {
                bail!("{} did not answer within {} s", self.site.short, START_STOP_LIMIT.as_secs());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The node thread's error if it has ended.
    fn finished_with(&mut self) -> Option<String> {
        let ended = self.running.as_mut()?.node.as_mut()?.ended()?;
        match ended {
            Ok(()) => Some("it stopped".into()),
            Err(NodeError::Panicked(_)) => Some("its thread panicked".into()),
            Err(e) => Some(e.to_string()),
        }
    }

    /// Stops the node gracefully (as Ctrl-C stops `curbside node run`),
    /// keeping its data, and waits (bounded) until it has let go of its
    /// store.
    pub(crate) fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut running) = self.running.take() else { return Ok(()) };
        let Some(mut node) = running.node.take() else { return Ok(()) };
        node.request_stop();
        let start = Instant::now();
        while !node.is_finished() {
            if start.elapsed() > START_STOP_LIMIT {
                node.detach();
                bail!("{} did not stop within {} s", self.site.short, START_STOP_LIMIT.as_secs());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        match node.stop() {
            Ok(()) => Ok(()),
            Err(NodeError::Panicked(_)) => bail!("{}'s thread panicked", self.site.short),
            Err(e) => bail!("{} stopped with an error: {e}", self.site.short),
        }
    }

    /// Whether the node is running.
    pub(crate) fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// A client of its API.
    pub(crate) fn client(&self) -> anyhow::Result<&Client> {
        match &self.running {
            Some(r) => Ok(&r.client),
            None => bail!("{} is stopped", self.site.short),
        }
    }

    /// Its data directory.
    pub(crate) fn data(&self) -> &Path {
        &self.data
    }

    /// `http://127.0.0.1:PORT`, or `stopped`.
    pub(crate) fn url(&self) -> String {
        self.running.as_ref().map_or_else(|| "stopped".into(), |r| r.client.url().to_owned())
    }

    /// `GET path` with the admin token (which reads everything).
    pub(crate) fn admin_get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let client = self.client().map_err(|e| ClientError::Transport {
            url: self.site.short.into(),
            detail: e.to_string(),
        })?;
        client.get(path, Some(&self.admin_token))
    }

    /// `POST path` with the admin token.
    pub(crate) fn admin_post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<T, ClientError> {
        let client = self.client().map_err(|e| ClientError::Transport {
            url: self.site.short.into(),
            detail: e.to_string(),
        })?;
        client.post(path, body, Some(&self.admin_token))
    }

    /// `POST /v1/events` with one event: the node's outcome.
    pub(crate) fn submit(&self, event: &SignedEvent) -> anyhow::Result<EventOutcome> {
        self.client()?
            .submit(std::slice::from_ref(event))?
            .into_iter()
            .next()
            .with_context(|| format!("{} gave no outcome", self.site.short))
    }

    /// Whether the node holds the event `id`.
    pub(crate) fn has(&self, id: &EventId) -> anyhow::Result<bool> {
        match self.admin_get::<Value>(&format!("/v1/events/{id}")) {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("not_found") => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// How many of `ids` the node lacks; the first one missing.
    pub(crate) fn missing(&self, ids: &[EventId]) -> anyhow::Result<(usize, Option<EventId>)> {
        let mut missing = 0;
        let mut first = None;
        for id in ids {
            if !self.has(id)? {
                missing += 1;
                first.get_or_insert(*id);
            }
        }
        Ok((missing, first))
    }

    /// `GET /v1/status`.
    pub(crate) fn status(&self) -> anyhow::Result<Value> {
        Ok(self.client()?.get("/v1/status", None)?)
    }

    /// Stored events, from `/v1/status`.
    pub(crate) fn event_count(&self) -> anyhow::Result<u64> {
        self.status()?["events"].as_u64().context("/v1/status has no event count")
    }

    /// `GET /v1/network`: peers and sync state.
    pub(crate) fn network(&self) -> anyhow::Result<Value> {
        Ok(self.client()?.get("/v1/network", None)?)
    }

    /// The node keys of the peers it has admitted.
    pub(crate) fn admitted(&self) -> anyhow::Result<Vec<String>> {
        let net = self.network()?;
        Ok(net["peers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["admitted"] == json!(true))
            .filter_map(|p| p["node_key"].as_str().map(str::to_owned))
            .collect())
    }

    /// The address peers dial it at (`/ip4/127.0.0.1/tcp/PORT/p2p/ID`),
    /// once it listens.
    pub(crate) fn p2p_addr(&self) -> anyhow::Result<String> {
        let net = self.network()?;
        net["listening"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("{} is not listening for peers yet", self.site.short))
    }

    /// Asks the node to dial `addr` (the admin API).
    pub(crate) fn dial(&self, addr: &str) -> anyhow::Result<()> {
        let _: Value = self.admin_post("/v1/admin/peers", &json!({ "address": addr }))?;
        Ok(())
    }
}

impl Drop for DemoNode {
    fn drop(&mut self) {
        // Best effort: a node still running when the demo ends is stopped.
        let _ = self.stop();
    }
}
