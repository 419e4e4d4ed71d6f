//! Federation over libp2p.
//!
//! One task owns the [`libp2p::Swarm`] and nothing else; the rest of the
//! node talks to it through [`NetHandle`] (commands in on a bounded
//! channel, answers back on oneshot channels), so ingest, the store and
//! the API never see a libp2p type, and the task never touches the disk:
//! its store work runs on a bounded blocking pool (`offload.rs`).
//!
//! ```text
//!  ingest ── announcements ──▶ ┌──────────── net task ────────────┐ ◀─▶ peers
//!  API ───── NetHandle ──────▶ │ swarm: gossipsub, kademlia,      │
//!  sync tasks ◀── responses ── │ request-response, identify, ping │
//!              ── requests ──▶ └──────────────────────────────────┘
//!                          gossip in ──▶ ingest (Source::Gossip) ──▶ verdict
//! ```
//!
//! A peer is admitted only while a charter names its key ([`peers`]):
//! until then gossipsub scores it far below the graylist (never meshed)
//! and only its credentials are asked for and accepted; a refused peer is
//! blocked and disconnected.

mod behaviour;
pub mod codec;
pub(crate) mod fetch;
mod gate;
mod limits;
mod offload;
mod peers;
mod redial;
mod runner;

use std::sync::Arc;
use std::time::Duration;

use curbside_protocol::{SecretKey, Timestamp};
use libp2p::Multiaddr;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::ingest::Ingester;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::sync::{SyncIndex, SyncProgress, SyncReport, SyncRound};

pub(crate) use runner::Command;

/// The gossip topic of trust events on `network` (each hub has its own,
/// `…/hub/<hub>`).
pub fn trust_topic(network: curbside_protocol::NetworkId) -> String {
    behaviour::Topics::new(network).trust().to_string()
}

/// The kademlia protocol of `network`'s nodes.
pub fn kad_protocol(network: curbside_protocol::NetworkId) -> String {
    behaviour::Topics::new(network).kad_protocol().map(|p| p.to_string()).unwrap_or_default()
}

/// The gossip topic of `hub` on `network`.
pub fn hub_topic(network: curbside_protocol::NetworkId, hub: &str) -> String {
    behaviour::Topics::new(network).hub(hub).to_string()
}

/// A gossip message's id: SHA-256 over `curbside/gossip/v1` and the
/// message's data (the event's whole wire form, signature included). Public
/// so that test peers gossip with the ids nodes use.
pub fn gossip_message_id(data: &[u8]) -> libp2p::gossipsub::MessageId {
    behaviour::gossip_message_id(data)
}

/// How a node takes part in the federation.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Where to listen for peers (TCP and/or QUIC multiaddrs).
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start (with or without `/p2p/<PeerId>`).
    pub bootstrap: Vec<Multiaddr>,
    /// Discover peers on the local network with mDNS.
    pub mdns: bool,
    /// How often to reconcile with each peer.
    pub sync_every: Duration,
    /// How often to walk the DHT for new peers and save known addresses.
    pub walk_every: Duration,
    /// How long a refused or misbehaving peer stays blocked.
    pub ban_for: Duration,
    /// Offences (invalid events, requests over the rate limit) within a
    /// minute that get a peer blocked.
    pub max_offences_per_minute: usize,
    /// Requests a second a peer may make (sync, fetch), with bursts of
    /// four times as many.
    pub requests_per_second: u32,
    /// Gossip messages a second this node takes from one peer (the
    /// propagation source: the neighbour that sent it, whoever wrote it),
    /// with bursts of `gossip_burst`. Messages over it are dropped unjudged
    /// and raise the peer's flooding penalty, which lowers its gossipsub
    /// application score; past a penalty of 50 the peer is blocked
    /// (`gossip_rate_limited`).
    pub gossip_per_second: u32,
    /// The burst of `gossip_per_second`.
    pub gossip_burst: u32,
    /// Valid events a minute of one physician this node forwards by gossip
    /// (with bursts of `gossip_author_burst`); more are stored but not
    /// forwarded (sync carries them), so a relay does not pass one
    /// physician's flood on at full speed. The sender is not penalised: it
    /// may be an honest relay.
    pub gossip_author_per_minute: u32,
    /// The burst of `gossip_author_per_minute`.
    pub gossip_author_burst: u32,
    /// Most connections in all.
    pub max_connections: u32,
    /// Most inbound handshakes under way at once, in all.
    pub max_pending: u32,
    /// Most inbound handshakes under way at once from one address (an IPv4
    /// address or an IPv6 /64): a stranger's silent sockets take these,
    /// not everyone's.
    pub pending_per_address: usize,
    /// Most established inbound connections from one address.
    pub connections_per_address: usize,
    /// Most connected peers whose charter this node has not seen yet. A
    /// peer id costs nothing, so strangers could otherwise take every
    /// connection for `admission_timeout` at a time; past it a new such
    /// peer is disconnected at once (not blocked: it may be an honest node
    /// whose charter will reach this one), and peers whose charter is
    /// known keep the rest of `max_connections`.
    pub max_unadmitted: usize,
    /// How long a connection's handshake (noise and yamux, or QUIC's) may
    /// take.
    pub handshake_timeout: Duration,
    /// Peers this node keeps dialling towards: below it, the bootstrap
    /// and saved peers are dialled again and peers kademlia finds are
    /// dialled; at or above it, neither.
    pub target_peers: usize,
    /// Most admitted peers kept connected. Kademlia's queries connect to
    /// every peer they ask and the connections used to stay, so every node
    /// of a network was connected to every other; past this bound the
    /// periodic check closes the newest connections to peers in no gossip
    /// mesh first (without blocking them).
    pub max_peers: usize,
    /// Admitted peers synced each `sync_every` (those synced longest ago):
    /// a round's cost does not grow with the number of peers.
    pub sync_peers: usize,
    /// How long a new peer has to show a valid charter (it is asked again
    /// every two seconds meanwhile: its own charter may reach it only after
    /// it started).
    pub admission_timeout: Duration,
    /// How gossip spends bandwidth (see [`GossipTuning`]).
    pub gossip: GossipTuning,
}

/// How gossip spends bandwidth. Neither setting is part of the protocol a
/// peer must share: each node decides what it sends, so nodes with
/// different settings interoperate (a peer that does not speak gossipsub
/// 1.2 ignores IDONTWANT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GossipTuning {
    /// A node that receives a gossip message larger than this (bytes)
    /// tells its other mesh peers at once that it has it (IDONTWANT), so
    /// they do not send it the same event again. libp2p's default, 1,000
    /// bytes, is above most posts (about 650), which were then delivered
    /// to each node once by every mesh peer.
    pub idontwant_above: usize,
    /// For how many heartbeats a message id is announced (IHAVE) to peers
    /// outside the mesh; libp2p's default is 3. The periodic reconciliation
    /// recovers anything a node still lacks.
    pub announce_heartbeats: usize,
    /// How often gossipsub maintains its mesh and announces ids (IHAVE);
    /// a node that hears of a post only by announcement waits for it.
    pub heartbeat: Duration,
    /// The mesh degree each topic aims at: the peers a node forwards each
    /// post to (it keeps between half and one and a half times this).
    pub mesh: usize,
}

impl GossipTuning {
    /// The settings before issue 18 (libp2p's defaults for the first two;
    /// the heartbeat and mesh as they were and are).
    pub fn untuned() -> Self {
        Self { idontwant_above: 1000, announce_heartbeats: 3, ..Self::default() }
    }
}

impl Default for GossipTuning {
    /// As tuned by the federation benchmark (docs/BENCHMARKS.md, issue 18).
    fn default() -> Self {
        Self {
            idontwant_above: 256,
            announce_heartbeats: 1,
            heartbeat: Duration::from_millis(700),
            mesh: 4,
        }
    }
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            listen: Vec::new(),
            bootstrap: Vec::new(),
            mdns: false,
            sync_every: Duration::from_secs(30),
            walk_every: Duration::from_secs(60),
            ban_for: Duration::from_secs(600),
            max_offences_per_minute: 20,
            requests_per_second: 200,
            gossip_per_second: 100,
            gossip_burst: 1000,
            gossip_author_per_minute: 240,
            gossip_author_burst: 120,
            max_connections: 128,
            max_pending: 256,
            // Half of max_connections.
            max_unadmitted: 64,
            pending_per_address: 8,
            // Room for an institution's few nodes behind one address, and
            // for a test federation on 127.0.0.1 (16 nodes, 2 connections
            // a pair).
            connections_per_address: 32,
            // A handshake takes a few round trips; libp2p's default is 10 s.
            handshake_timeout: Duration::from_secs(5),
            target_peers: 8,
            // Three times target_peers: room for the peers that dial this
            // node, a bound however large the network.
            max_peers: 24,
            sync_peers: 3,
            admission_timeout: Duration::from_secs(20),
            gossip: GossipTuning::default(),
        }
    }
}

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The node key cannot be a libp2p identity.
    #[error("the node key: {0}")]
    Key(String),
    /// The swarm could not be built.
    #[error("building the swarm: {0}")]
    Swarm(String),
    /// An address could not be listened on.
    #[error("cannot listen on {addr}: {detail}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        detail: String,
    },
}

/// A connected (or recently refused) peer, as `curbside node status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PeerStatus {
    /// Its PeerId.
    pub peer_id: String,
    /// Its node key (hex), when it is an ed25519 PeerId.
    pub node_key: Option<String>,
    /// Whether its charter was checked and it takes part in gossip and sync.
    pub admitted: bool,
    /// Addresses it is connected on.
    pub addresses: Vec<String>,
    /// Whether it is in this node's gossip mesh for at least one topic
    /// (events are pushed to it, not only announced).
    pub meshed: bool,
    /// Its gossipsub score.
    pub score: Option<f64>,
    /// A sync in progress with it.
    pub syncing: Option<SyncProgress>,
    /// The last finished sync with it.
    pub last_sync: Option<SyncReport>,
}

/// A blocked peer.
#[derive(Debug, Clone, Serialize)]
pub struct BlockedPeer {
    /// Its PeerId.
    pub peer_id: String,
    /// Why (a stable code).
    pub code: crate::codes::Code,
    /// Why, for people.
    pub reason: String,
    /// Seconds until it may connect again.
    pub remaining_secs: u64,
}

/// The network's state.
#[derive(Debug, Clone, Serialize)]
pub struct NetStatus {
    /// This node's PeerId.
    pub peer_id: String,
    /// Addresses it listens on.
    pub listening: Vec<String>,
    /// Connected peers.
    pub peers: Vec<PeerStatus>,
    /// Blocked peers.
    pub blocked: Vec<BlockedPeer>,
    /// Events per sync scope held here.
    pub sets: Vec<(String, usize)>,
    /// The sync round an operator asked for (`POST /v1/admin/sync`),
    /// while it runs.
    pub sync_round: Option<SyncRound<String>>,
    /// The last such round finished.
    pub last_sync_round: Option<SyncRound<String>>,
}

/// A handle on the network task.
#[derive(Debug, Clone)]
pub struct NetHandle {
    commands: mpsc::Sender<Command>,
}

impl NetHandle {
    /// The network's state, or `None` if the task has stopped.
    pub async fn status(&self) -> Option<NetStatus> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Status(tx)).await.ok()?;
        rx.await.ok()
    }

    /// Syncs with every admitted peer now, one at a time: the round
    /// (joined if one was running: `true`), or why not (the node has no
    /// admitted peer, or the network task has stopped).
    pub async fn sync_now(&self) -> Result<(SyncRound<String>, bool), String> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::SyncNow(tx))
            .await
            .map_err(|_| "the network task has stopped".to_string())?;
        rx.await.map_err(|_| "the network task has stopped".to_string())?
    }

    /// Dials an address.
    pub async fn dial(&self, addr: Multiaddr) {
        let _ = self.commands.send(Command::Dial(addr)).await;
    }

    /// The peers admitted now (chartered and connected).
    pub async fn peers(&self) -> Vec<PeerRef> {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Peers(tx)).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default().into_iter().map(|(id, key)| PeerRef { id, key }).collect()
    }

    /// Sends `request` to `peer` and waits for its response.
    pub async fn request(
        &self,
        peer: &PeerRef,
        request: crate::wire::Request,
    ) -> Result<crate::wire::Response, String> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Request { peer: peer.id, request, reply })
            .await
            .map_err(|_| "the network task has stopped".to_string())?;
        rx.await.map_err(|_| "the network task has stopped".to_string())?
    }
}

/// The witness asks admitted peers for the leaves of logs it checks.
impl crate::verifier::LogPeers for NetHandle {
    type Peer = PeerRef;

    async fn peers(&self) -> Vec<PeerRef> {
        NetHandle::peers(self).await
    }

    fn key(peer: &PeerRef) -> curbside_protocol::PublicKey {
        peer.key
    }

    async fn request(
        &self,
        peer: &PeerRef,
        request: crate::wire::Request,
    ) -> Result<crate::wire::Response, String> {
        NetHandle::request(self, peer, request).await
    }
}

/// An admitted peer, to send requests to.
#[derive(Debug, Clone)]
pub struct PeerRef {
    id: libp2p::PeerId,
    /// Its node key.
    pub key: curbside_protocol::PublicKey,
}

/// The running network task.
#[derive(Debug)]
pub struct NetTask {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl NetTask {
    /// Stops the task (closing every connection and sync) and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the network task failed");
        }
    }
}

/// What the network task needs from the rest of the node.
#[derive(Debug, Clone)]
pub struct NetParts {
    /// The store, read and written (peers' addresses) only on the
    /// network's blocking pool; events are written only through `ingester`.
    pub store: Arc<Store>,
    /// The ingest path.
    pub ingester: Ingester,
    /// The sync sets.
    pub index: Arc<SyncIndex>,
    /// The wall clock.
    pub clock: fn() -> Timestamp,
    /// The node's metrics (gossip ignored for want of room is counted).
    pub metrics: Arc<Metrics>,
}

/// Starts the network task: listens, dials the bootstrap peers and the
/// peers saved at the last run, and serves until [`NetTask::stop`].
pub fn start(
    config: NetConfig,
    key: &SecretKey,
    parts: NetParts,
) -> Result<(NetHandle, NetTask), NetError> {
    let keypair = libp2p::identity::Keypair::ed25519_from_bytes(key.to_seed().to_vec())
        .map_err(|e| NetError::Key(e.to_string()))?;
    let hubs =
        parts.store.events().hubs().map_err(|e| NetError::Swarm(format!("reading hubs: {e}")))?;
    let saved = parts.store.peers().saved().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read saved peer addresses");
        Vec::new()
    });
    let network = parts.store.network();
    let runner_parts = runner::Parts {
        offload: offload::Offload::new(parts.store, parts.index.clone(), parts.clock, key.public()),
        ingester: parts.ingester,
        index: parts.index,
        metrics: parts.metrics,
        hubs: hubs.into_iter().map(|(hub, _)| hub).collect(),
        saved,
    };
    let (stop, stopped) = oneshot::channel();
    let (runner, commands) = runner::Runner::new(config, keypair, runner_parts, network)?;
    let task = tokio::spawn(runner.run(stopped));
    Ok((NetHandle { commands }, NetTask { stop, task }))
}
