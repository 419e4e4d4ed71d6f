//! The task that owns the swarm: it turns swarm events and commands into
//! calls on the behaviours, and hands every piece of real work (ingest,
//! store reads, reconciliation) to other tasks so the swarm keeps moving.

mod admission;
mod catchup;
mod gossip;
mod serve;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use curbside_protocol::{Body, Dependency, EventId, PublicKey, SignedEvent};
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageId};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, identify, identity, kad, mdns};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::behaviour::{
    Behaviour, BehaviourEvent, Caps, GRAYLIST_THRESHOLD, Topics, UNVERIFIED_SCORE, build_swarm,
};
use super::fetch::{self, Filled};
use super::peers::{
    Admission, FLOOD_BLOCK, GossipRate, Offences, admission, credentials, forwards, key_of,
    trust_for,
};
use super::wire::{MAX_FETCH_IDS, ReceivedEvent, Request, Response};
use super::{BlockedPeer, NetConfig, NetError, NetParts, NetStatus, PeerStatus};
use crate::codes::Code;
use crate::ingest::{Outcome, Source};
use crate::ratelimit::{Bucket, Buckets};
use crate::sync::{Scope, SyncProgress, SyncReport, Transport, recon};

/// How long a peer that showed no charter waits before it may try again.
/// (A peer whose charter is revoked or lapsed, or that misbehaved, waits
/// the configured ban.)
const UNCHARTERED_BLOCK: Duration = Duration::from_secs(30);

/// Offences are counted over this window.
const OFFENCE_WINDOW: Duration = Duration::from_secs(60);

/// Most dependencies filled from peers at once; past it, a gossiped
/// event's missing dependency waits for a sync with its sender.
const MAX_FILLS: usize = 32;

/// Room left in a fetch response for framing.
const FETCH_RESPONSE_BUDGET: usize = super::codec::MAX_RESPONSE_BYTES as usize - 64 * 1024;

/// What the rest of the node (and the runner's own helper tasks) ask of
/// the runner.
pub(crate) enum Command {
    /// Report the network's state.
    Status(oneshot::Sender<NetStatus>),
    /// Dial an address.
    Dial(Multiaddr),
    /// List the admitted peers and their node keys.
    Peers(oneshot::Sender<Vec<(PeerId, PublicKey)>>),
    /// Send a request to a peer and return its response.
    Request { peer: PeerId, request: Request, reply: oneshot::Sender<Result<Response, String>> },
    /// Answer an inbound request (computed off the runner).
    Respond { channel: ResponseChannel<Response>, response: Response },
    /// Ingest's verdict on a gossip message (boxed: it is the largest).
    Judged(Box<Judged>),
    /// A new peer's credentials were ingested: check it again.
    Checked { peer: PeerId },
    /// A sync made progress.
    SyncProgress { peer: PeerId, progress: SyncProgress },
    /// A sync ended.
    SyncDone { peer: PeerId, result: Result<SyncReport, String> },
    /// Filling a gossiped event's dependency from its sender ended (boxed:
    /// a dependency and its report are large).
    Filled(Box<FillDone>),
}

/// What filling one dependency from a peer came to.
pub(crate) struct FillDone {
    peer: PeerId,
    dependency: Dependency,
    result: Result<Filled, String>,
}

/// Ingest's verdict on a gossip message.
pub(crate) struct Judged {
    message: MessageId,
    /// The peer that sent it.
    source: PeerId,
    /// A physician's content event's author; `None` for trust events.
    author: Option<PublicKey>,
    outcome: Result<Outcome, String>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Command::Status(_) => "Status",
            Command::Dial(_) => "Dial",
            Command::Peers(_) => "Peers",
            Command::Request { .. } => "Request",
            Command::Respond { .. } => "Respond",
            Command::Judged(_) => "Judged",
            Command::Checked { .. } => "Checked",
            Command::SyncProgress { .. } => "SyncProgress",
            Command::SyncDone { .. } => "SyncDone",
            Command::Filled(_) => "Filled",
        };
        f.write_str(name)
    }
}

/// Where a connected peer stands. Admission is mutual: a peer is meshed
/// and synced only once this node has seen its charter *and* it has said
/// it has seen this node's ([`Request::Admitted`]). Were either side to
/// graft or ask before the other had admitted it, it would be refused,
/// and a refused GRAFT keeps the pair out of each other's mesh for
/// gossipsub's prune backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Its charter is not known here yet; asked for it (`asked`: a request
    /// is out).
    Checking { asked: bool },
    /// Its charter is in force here, so its requests and gossip are served,
    /// but it has not said it admits this node: not meshed or synced yet.
    Welcoming,
    /// Both admit each other: takes part in the mesh and in sync.
    Admitted,
}

impl State {
    /// Whether this node has seen the peer's charter (and so serves it).
    fn chartered(self) -> bool {
        !matches!(self, State::Checking { .. })
    }
}

/// Whether a peer has been told that this node admits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    /// Not yet (or the telling failed: told again at the next check).
    No,
    /// A [`Request::Admitted`] is out.
    Asking,
    /// It answered.
    Yes,
}

#[derive(Debug)]
struct Peer {
    key: Option<PublicKey>,
    state: State,
    /// When it connected: it has `admission_timeout` to be admitted both ways.
    since: Instant,
    /// It said it admits this node.
    admits_us: bool,
    told: Told,
    addresses: HashSet<Multiaddr>,
    listen: Vec<Multiaddr>,
    requests: Bucket,
    gossip: GossipRate,
    offences: Offences,
    syncing: Option<SyncProgress>,
    last_sync: Option<SyncReport>,
}

/// What an outbound request's response is for.
enum Awaiting {
    /// A sync task waits for it.
    Reply(oneshot::Sender<Result<Response, String>>),
    /// The runner asked a new peer for its charter.
    Credentials(PeerId),
    /// The runner told a peer it admits it.
    Admitted(PeerId),
}

struct Blocked {
    until: Instant,
    code: Code,
    reason: String,
}

pub(crate) struct Runner {
    node_key: PublicKey,
    config: NetConfig,
    swarm: Swarm<Behaviour>,
    parts: NetParts,
    topics: Topics,
    subscribed: HashSet<String>,
    commands: mpsc::Sender<Command>,
    rx: mpsc::Receiver<Command>,
    announcements: Option<broadcast::Receiver<Arc<SignedEvent>>>,
    peers: HashMap<PeerId, Peer>,
    blocked: HashMap<PeerId, Blocked>,
    awaiting: HashMap<OutboundRequestId, Awaiting>,
    sync_queue: VecDeque<PeerId>,
    sync_running: Option<(PeerId, tokio::task::JoinHandle<()>)>,
    /// Something arrived during the running sync that it may have missed.
    sync_again: bool,
    listening: Vec<Multiaddr>,
    /// Each physician's valid events forwarded by gossip lately.
    forwarded: Buckets<PublicKey>,
    /// Dependencies being filled from peers.
    filling: HashSet<Dependency>,
}

/// Wakes the runner.
enum Wake {
    Stop,
    Swarm(Box<SwarmEvent<BehaviourEvent>>),
    Command(Command),
    Announce(Result<Arc<SignedEvent>, broadcast::error::RecvError>),
    Sync,
    Walk,
    Check,
}

impl Runner {
    pub(crate) fn new(
        node_key: PublicKey,
        config: NetConfig,
        keypair: identity::Keypair,
        parts: NetParts,
        commands: mpsc::Sender<Command>,
        rx: mpsc::Receiver<Command>,
    ) -> Result<Self, NetError> {
        let topics = Topics::new(parts.store.network());
        let hubs = parts.store.hubs().map_err(|e| NetError::Swarm(format!("reading hubs: {e}")))?;
        let mut scored = vec![topics.trust()];
        scored.extend(hubs.iter().map(|(h, _)| topics.hub(h.as_str())));
        let mdns = config.mdns;
        let caps = Caps {
            max_connections: config.max_connections,
            max_pending: config.max_pending,
            pending_per_address: config.pending_per_address,
            established_per_address: config.connections_per_address,
        };
        let swarm = build_swarm(keypair, config.handshake_timeout, |key| {
            Behaviour::new(key, &topics, &scored, mdns, &caps)
        })
        .map_err(NetError::Swarm)?;
        let announcements = Some(parts.ingester.announcements());
        let forwarded =
            Buckets::per_minute(config.gossip_author_per_minute, config.gossip_author_burst);
        let mut runner = Self {
            node_key,
            config,
            swarm,
            parts,
            topics,
            subscribed: HashSet::new(),
            commands,
            rx,
            announcements,
            peers: HashMap::new(),
            blocked: HashMap::new(),
            awaiting: HashMap::new(),
            sync_queue: VecDeque::new(),
            sync_running: None,
            sync_again: false,
            listening: Vec::new(),
            forwarded,
            filling: HashSet::new(),
        };
        runner.subscribe_hubs();
        for addr in runner.config.listen.clone() {
            runner.swarm.listen_on(addr.clone()).map_err(|e| {
                let detail = match e.to_string() {
                    text if text.is_empty() => format!("{e:?}"),
                    text => text,
                };
                NetError::Listen { addr, detail }
            })?;
        }
        Ok(runner)
    }

    pub(crate) async fn run(mut self, mut stopped: oneshot::Receiver<()>) {
        self.dial_known();
        let mut sync_tick = tokio::time::interval(self.config.sync_every);
        let mut walk_tick = tokio::time::interval(self.config.walk_every);
        let mut check_tick = tokio::time::interval(Duration::from_secs(2));
        for tick in [&mut sync_tick, &mut walk_tick, &mut check_tick] {
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        loop {
            let wake = tokio::select! {
                _ = &mut stopped => Wake::Stop,
                event = self.swarm.select_next_some() => Wake::Swarm(Box::new(event)),
                Some(command) = self.rx.recv() => Wake::Command(command),
                event = recv_announcement(&mut self.announcements) => Wake::Announce(event),
                _ = sync_tick.tick() => Wake::Sync,
                _ = walk_tick.tick() => Wake::Walk,
                _ = check_tick.tick() => Wake::Check,
            };
            match wake {
                Wake::Stop => break,
                Wake::Swarm(event) => self.on_swarm_event(*event),
                Wake::Command(command) => self.on_command(command),
                Wake::Announce(Ok(event)) => self.publish(&event),
                Wake::Announce(Err(broadcast::error::RecvError::Lagged(missed))) => {
                    tracing::warn!(missed, "gossip fell behind ingest; sync will carry the rest");
                }
                Wake::Announce(Err(broadcast::error::RecvError::Closed)) => {
                    self.announcements = None;
                }
                Wake::Sync => self.sync_round(),
                Wake::Walk => self.walk(),
                Wake::Check => self.check(),
            }
        }
        if let Some((_, task)) = self.sync_running.take() {
            task.abort();
        }
        self.save_peers();
        tracing::info!("network stopped");
    }

    // ----- start-up and discovery -------------------------------------------------

    fn dial_known(&mut self) {
        let mut addrs = self.config.bootstrap.clone();
        match self.parts.store.saved_peers() {
            Ok(saved) => {
                for (peer, peer_addrs) in saved {
                    for addr in peer_addrs {
                        if let Ok(peer_id) = peer.parse::<PeerId>() {
                            self.swarm.behaviour_mut().kad.add_address(&peer_id, addr.clone());
                        }
                        addrs.push(addr);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read saved peer addresses"),
        }
        for addr in addrs {
            if let Some(Protocol::P2p(peer)) = addr.iter().last() {
                self.swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
            }
            self.dial(addr);
        }
    }

    fn dial(&mut self, addr: Multiaddr) {
        if let Err(e) = self.swarm.dial(addr.clone()) {
            tracing::debug!(%addr, error = %e, "dial failed");
        }
    }

    fn walk(&mut self) {
        self.subscribe_hubs();
        if self.peers.values().any(|p| p.state == State::Admitted) {
            self.swarm.behaviour_mut().kad.get_closest_peers(PeerId::random());
        }
        self.save_peers();
    }

    fn save_peers(&mut self) {
        let known: Vec<(String, Vec<Multiaddr>)> = self
            .peers
            .iter()
            .filter(|(_, p)| p.state == State::Admitted && !p.listen.is_empty())
            .map(|(id, p)| {
                let addrs = p.listen.iter().map(|a| with_peer(a.clone(), *id)).collect();
                (id.to_string(), addrs)
            })
            .collect();
        if known.is_empty() {
            return;
        }
        if let Err(e) = self.parts.store.save_peers(&known) {
            tracing::warn!(error = %e, "cannot save peer addresses");
        }
    }

    fn subscribe_hubs(&mut self) {
        let mut wanted = vec![self.topics.trust()];
        match self.parts.store.hubs() {
            Ok(hubs) => wanted.extend(hubs.iter().map(|(h, _)| self.topics.hub(h.as_str()))),
            Err(e) => tracing::warn!(error = %e, "cannot read hubs"),
        }
        for topic in wanted {
            if self.subscribed.insert(topic.to_string())
                && let Err(e) = self.swarm.behaviour_mut().gossipsub.subscribe(&topic)
            {
                tracing::warn!(%topic, error = %e, "cannot subscribe");
            }
        }
    }

    // ----- swarm events -----------------------------------------------------------

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(address = %with_peer(address.clone(), *self.swarm.local_peer_id()), "listening for peers");
                self.listening.push(address);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listening.retain(|a| a != &address);
            }
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, num_established, .. } => {
                let addr = endpoint.get_remote_address().clone();
                if let Some(peer) = self.peers.get_mut(&peer_id) {
                    peer.addresses.insert(addr);
                } else if num_established.get() == 1 {
                    self.on_new_peer(peer_id, addr);
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                if self.peers.remove(&peer_id).is_some() {
                    tracing::info!(peer = %peer_id, "peer disconnected");
                }
                self.sync_queue.retain(|p| p != &peer_id);
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, %error, "could not connect");
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            _ => {}
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => self.on_gossip(propagation_source, message_id, &message.data),
            BehaviourEvent::Sync(event) => self.on_sync_event(event),
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                if let Some(peer) = self.peers.get_mut(&peer_id) {
                    peer.listen = info.listen_addrs.clone();
                    if peer.state == State::Admitted {
                        for addr in info.listen_addrs {
                            self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                        }
                    }
                }
            }
            BehaviourEvent::Kad(kad::Event::RoutingUpdated { peer, .. })
                if !self.swarm.is_connected(&peer)
                    && !self.blocked.contains_key(&peer)
                    && self.peers.len() < self.config.target_peers =>
            {
                let _ = self.swarm.dial(peer);
            }
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => {
                for (peer, addr) in found {
                    if !self.swarm.is_connected(&peer) && !self.blocked.contains_key(&peer) {
                        self.dial(with_peer(addr, peer));
                    }
                }
            }
            _ => {}
        }
    }

    // ----- commands ---------------------------------------------------------------

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Command::Dial(addr) => self.dial(addr),
            Command::Peers(reply) => {
                let admitted = self
                    .peers
                    .iter()
                    .filter(|(_, p)| p.state == State::Admitted)
                    .filter_map(|(id, p)| Some((*id, p.key?)))
                    .collect();
                let _ = reply.send(admitted);
            }
            Command::Request { peer, request, reply } => {
                if self.swarm.is_connected(&peer) {
                    let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                    self.awaiting.insert(id, Awaiting::Reply(reply));
                } else {
                    let _ = reply.send(Err("the peer is not connected".into()));
                }
            }
            Command::Respond { channel, response } => self.respond(channel, response),
            Command::Judged(judged) => self.on_judged(*judged),
            Command::Checked { peer } => {
                let Some(key) = self.peers.get(&peer).and_then(|p| p.key) else { return };
                match admission(&self.parts.store, &key, (self.parts.clock)()) {
                    Admission::Chartered => self.admit(peer),
                    // Asked again at the next check, until the timeout.
                    Admission::Unknown => self.credentials_unanswered(peer),
                    Admission::Refused { code, message } => self.refuse(peer, code, message),
                }
            }
            Command::SyncProgress { peer, progress } => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.syncing = Some(progress);
                }
            }
            Command::SyncDone { peer, result } => self.on_sync_done(peer, result),
            Command::Filled(done) => self.on_filled(*done),
        }
    }

    fn status(&self) -> NetStatus {
        let local = *self.swarm.local_peer_id();
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let now = Instant::now();
        let meshed: HashSet<&PeerId> = gossipsub.all_mesh_peers().collect();
        let mut peers: Vec<PeerStatus> = self
            .peers
            .iter()
            .map(|(id, p)| PeerStatus {
                peer_id: id.to_string(),
                node_key: p.key.map(|k| k.to_string()),
                admitted: p.state == State::Admitted,
                meshed: meshed.contains(id),
                addresses: p.addresses.iter().map(ToString::to_string).collect(),
                score: gossipsub.peer_score(id),
                syncing: p.syncing.clone(),
                last_sync: p.last_sync.clone(),
            })
            .collect();
        peers.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        NetStatus {
            peer_id: local.to_string(),
            listening: self
                .listening
                .iter()
                .map(|a| with_peer(a.clone(), local).to_string())
                .collect(),
            peers,
            blocked: self
                .blocked
                .iter()
                .map(|(id, b)| BlockedPeer {
                    peer_id: id.to_string(),
                    code: b.code,
                    reason: b.reason.clone(),
                    remaining_secs: b.until.saturating_duration_since(now).as_secs(),
                })
                .collect(),
            sets: Scope::ALL
                .iter()
                .map(|s| (s.name().to_string(), self.parts.index.len(*s)))
                .collect(),
        }
    }
}

async fn recv_announcement(
    rx: &mut Option<broadcast::Receiver<Arc<SignedEvent>>>,
) -> Result<Arc<SignedEvent>, broadcast::error::RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// `addr` ending in `/p2p/<peer>` (added if missing).
fn with_peer(addr: Multiaddr, peer: PeerId) -> Multiaddr {
    if matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
        addr
    } else {
        addr.with(Protocol::P2p(peer))
    }
}

/// A sync task's line to one peer, through the runner.
struct PeerTransport {
    peer: PeerId,
    commands: mpsc::Sender<Command>,
}

impl Transport for PeerTransport {
    fn holder(&self) -> crate::store::Holder {
        key_of(&self.peer).map_or(crate::store::Holder::Unrecorded, crate::store::Holder::Peer)
    }

    async fn request(&self, request: Request) -> Result<Response, String> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Request { peer: self.peer, request, reply })
            .await
            .map_err(|_| "the network is stopping".to_string())?;
        rx.await.map_err(|_| "the network is stopping".to_string())?
    }
}
