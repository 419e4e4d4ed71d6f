//! The task that owns the swarm, and nothing else.
//!
//! It turns swarm events, commands from [`NetHandle`](super::NetHandle)s
//! and the completions of its own helpers into calls on the behaviours.
//! It never touches the disk: what it needs from the store comes to it
//! (an announced event's topic with the event; peers' verdicts, answers
//! to requests and saved addresses from [`Offload`]'s bounded blocking
//! pool, as completions), and gossip is judged by ingest under a bounded
//! [`JoinSet`]. A test (`tests::the_swarm_task_does_not_name_the_store`)
//! keeps these files from naming the store.
//!
//! ```text
//!  NetHandle ── Command ──────▶ ┌──────── run: one select! ────────┐
//!  helpers ──── Completion ───▶ │ swarm events, announcements,     │
//!  validating: JoinSet<Judged> ▶│ ticks (sync, walk, check)        │
//!                               └──────────────────────────────────┘
//! ```

mod admission;
mod catchup;
mod events;
mod gossip;
mod policy;
mod serve;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use curbside_protocol::{Body, Dependency, HubId, PublicKey, SignedEvent};
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageId};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, identify, identity, kad, mdns};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinSet;

use self::policy::{Action, Standing, State, Told};
use super::behaviour::{
    Behaviour, BehaviourEvent, Caps, GRAYLIST_THRESHOLD, Topics, UNVERIFIED_SCORE, build_swarm,
};
use super::fetch::{self, Filled, PeerTransport};
use super::offload::Offload;
use super::peers::{Admission, FLOOD_BLOCK, GossipRate, Offences, forwards, holder_of, key_of};
use super::redial::Redials;
use super::{BlockedPeer, NetConfig, NetError, NetStatus, PeerStatus};
use crate::codes::Code;
use crate::ingest::{Announcement, Ingester, Outcome, Source, Topic};
use crate::metrics::Metrics;
use crate::ratelimit::{Bucket, Buckets};
use crate::sync::{SyncIndex, SyncProgress, SyncReport, SyncRound};
use crate::wire::{InstanceClaim, MAX_FETCH_IDS, Request, Response, Scope};

/// How long a peer that showed no charter waits before it may try again.
/// (A peer whose charter is revoked or lapsed, or that misbehaved, waits
/// the configured ban.)
const UNCHARTERED_BLOCK: Duration = Duration::from_secs(30);

/// Offences are counted over this window.
const OFFENCE_WINDOW: Duration = Duration::from_secs(60);

/// Most dependencies filled from peers at once; past it, a gossiped
/// event's missing dependency waits for a sync with its sender.
const MAX_FILLS: usize = 32;

/// Most gossip messages being judged by ingest at once. Past it a message
/// is ignored unjudged (counted in the metrics): the same event comes
/// again from another neighbour or by sync, and a flood cannot make this
/// node hold more than this many messages and tasks.
const MAX_VALIDATING: usize = 1024;

/// How many commands and completions may wait for the runner.
const CHANNEL_CAPACITY: usize = 1024;

/// What the rest of the node asks of the network, through a
/// [`NetHandle`](super::NetHandle) (or a sync task's transport).
pub(crate) enum Command {
    /// Report the network's state.
    Status(oneshot::Sender<NetStatus>),
    /// Dial an address.
    Dial(Multiaddr),
    /// List the admitted peers and their node keys.
    Peers(oneshot::Sender<Vec<(PeerId, PublicKey)>>),
    /// Send a request to a peer and return its response.
    Request { peer: PeerId, request: Request, reply: oneshot::Sender<Result<Response, String>> },
    /// Sync with every admitted peer now (an operator asked): the round,
    /// and whether it was running already (joined), or why not.
    SyncNow(oneshot::Sender<Result<(SyncRound<String>, bool), String>>),
}

/// What the runner's own helpers (blocking store work, sync and fill
/// tasks) report when they are done.
enum Completion {
    /// Answer an inbound request (read off the runner).
    Respond { channel: ResponseChannel<Response>, response: Response },
    /// A new peer's key was looked up among the charters held here.
    LookedUp { peer: PeerId, verdict: Admission },
    /// A peer's credentials were ingested and its key looked up again.
    Checked { peer: PeerId, verdict: Admission },
    /// The chartered peers' charters, read again.
    Reviewed(Vec<(PeerId, Admission)>),
    /// The hubs held now, to subscribe to.
    Hubs(Vec<HubId>),
    /// A sync made progress.
    SyncProgress { peer: PeerId, progress: SyncProgress },
    /// A sync ended.
    SyncDone { peer: PeerId, result: Result<SyncReport, String> },
    /// Filling a gossiped event's dependency from its sender ended (boxed:
    /// a dependency and its report are large).
    Filled(Box<FillDone>),
}

/// What filling one dependency from a peer came to.
struct FillDone {
    peer: PeerId,
    dependency: Dependency,
    result: Result<Filled, String>,
}

/// Ingest's verdict on a gossip message.
struct Judged {
    message: MessageId,
    /// The peer that sent it.
    source: PeerId,
    /// A physician's content event's author; `None` for trust events.
    author: Option<PublicKey>,
    /// When it arrived.
    arrived: Instant,
    outcome: Result<Outcome, String>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::Status(_) => "Status",
            Command::Dial(_) => "Dial",
            Command::Peers(_) => "Peers",
            Command::Request { .. } => "Request",
            Command::SyncNow(_) => "SyncNow",
        })
    }
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
    /// When a sync with it last ended, well or not.
    synced: Option<Instant>,
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

/// What the runner is handed by the rest of the node.
pub(crate) struct Parts {
    /// The ingest path: gossip and credentials are judged through it.
    pub(crate) ingester: Ingester,
    /// The sync sets (in memory), for syncs and status.
    pub(crate) index: Arc<SyncIndex>,
    /// Every store read and write, on a bounded blocking pool.
    pub(crate) offload: Offload,
    /// Where gossip ignored for want of room is counted.
    pub(crate) metrics: Arc<Metrics>,
    /// The hubs held at start, subscribed to at once.
    pub(crate) hubs: Vec<HubId>,
    /// Peers' addresses saved at the last run, dialled at start.
    pub(crate) saved: Vec<(String, Vec<Multiaddr>)>,
}

pub(crate) struct Runner {
    config: NetConfig,
    swarm: Swarm<Behaviour>,
    parts: Parts,
    topics: Topics,
    subscribed: HashSet<String>,
    /// For sync and fill tasks' requests, which go through the runner.
    commands: mpsc::Sender<Command>,
    rx: mpsc::Receiver<Command>,
    done: mpsc::Sender<Completion>,
    completions: mpsc::Receiver<Completion>,
    /// Gossip messages being judged by ingest (at most [`MAX_VALIDATING`]).
    validating: JoinSet<Judged>,
    announcements: Option<broadcast::Receiver<Announcement>>,
    peers: HashMap<PeerId, Peer>,
    blocked: HashMap<PeerId, Blocked>,
    awaiting: HashMap<OutboundRequestId, Awaiting>,
    sync_queue: VecDeque<PeerId>,
    sync_running: Option<(PeerId, tokio::task::JoinHandle<()>)>,
    /// Something arrived during the running sync that it may have missed.
    sync_again: bool,
    /// The sync round an operator asked for, running (at most one).
    round: Option<SyncRound<PeerId>>,
    /// The last such round finished.
    last_round: Option<SyncRound<PeerId>>,
    /// Rounds asked for since start.
    rounds_asked: u64,
    listening: Vec<Multiaddr>,
    /// Each physician's valid events forwarded by gossip lately.
    forwarded: Buckets<PublicKey>,
    /// Dependencies being filled from peers.
    filling: HashSet<Dependency>,
    /// The peer addresses saved last, so an unchanged list is not written.
    saved: Vec<(String, Vec<Multiaddr>)>,
    /// The addresses dialled at start, dialled again while not connected.
    redials: Redials,
    /// The network, whose id instance claims are signed over.
    network: curbside_protocol::NetworkId,
    /// The instance each connection of a peer claimed to be (two running
    /// copies of one node key share a PeerId, not a connection).
    instances: HashMap<PeerId, Vec<(ConnectionId, InstanceClaim)>>,
}

/// Wakes the runner.
enum Wake {
    Stop,
    Swarm(Box<SwarmEvent<BehaviourEvent>>),
    Command(Command),
    Completion(Completion),
    Judged(Result<Judged, tokio::task::JoinError>),
    Announce(Result<Announcement, broadcast::error::RecvError>),
    Sync,
    Walk,
    Check,
}

impl Runner {
    pub(crate) fn new(
        config: NetConfig,
        keypair: identity::Keypair,
        parts: Parts,
        network: curbside_protocol::NetworkId,
    ) -> Result<(Self, mpsc::Sender<Command>), NetError> {
        let topics = Topics::new(network);
        let mut scored = vec![topics.trust()];
        scored.extend(parts.hubs.iter().map(|h| topics.hub(h.as_str())));
        let caps = Caps {
            max_connections: config.max_connections,
            max_pending: config.max_pending,
            pending_per_address: config.pending_per_address,
            established_per_address: config.connections_per_address,
            gossip: config.gossip,
        };
        let mdns = config.mdns;
        let swarm = build_swarm(keypair, config.handshake_timeout, |key| {
            Behaviour::new(key, &topics, &scored, mdns, &caps)
        })
        .map_err(NetError::Swarm)?;
        let (commands, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let (done, completions) = mpsc::channel(CHANNEL_CAPACITY);
        let mut runner = Self {
            announcements: Some(parts.ingester.announcements()),
            forwarded: Buckets::per_minute(
                config.gossip_author_per_minute,
                config.gossip_author_burst,
            ),
            config,
            swarm,
            parts,
            topics,
            subscribed: HashSet::new(),
            commands: commands.clone(),
            rx,
            done,
            completions,
            validating: JoinSet::new(),
            peers: HashMap::new(),
            blocked: HashMap::new(),
            awaiting: HashMap::new(),
            sync_queue: VecDeque::new(),
            sync_running: None,
            sync_again: false,
            round: None,
            last_round: None,
            rounds_asked: 0,
            listening: Vec::new(),
            filling: HashSet::new(),
            saved: Vec::new(),
            redials: Redials::new(&[], Instant::now(), Duration::ZERO),
            network,
            instances: HashMap::new(),
        };
        let hubs = std::mem::take(&mut runner.parts.hubs);
        runner.subscribe(hubs);
        runner.listen()?;
        Ok((runner, commands))
    }

    fn listen(&mut self) -> Result<(), NetError> {
        for addr in self.config.listen.clone() {
            port_is_free(&addr)?;
            self.swarm.listen_on(addr.clone()).map_err(|e| {
                // libp2p nests the operating system's error deep in
                // transport wrappers whose text says nothing to an
                // operator: name the common cause and the setting instead.
                let debug = format!("{e:?}");
                let detail = if debug.contains("AddrInUse") {
                    PORT_IN_USE.to_owned()
                } else if debug.contains("AddrNotAvailable") {
                    "this machine has no such address: choose another with --listen, or \
                     `listen` in node.toml"
                        .to_owned()
                } else {
                    let text = e.to_string();
                    let text = if text.is_empty() { debug } else { text };
                    format!("{text}; check --listen, or `listen` in node.toml")
                };
                NetError::Listen { addr, detail }
            })?;
        }
        Ok(())
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
                Some(done) = self.completions.recv() => Wake::Completion(done),
                Some(judged) = self.validating.join_next() => Wake::Judged(judged),
                event = recv_announcement(&mut self.announcements) => Wake::Announce(event),
                _ = sync_tick.tick() => Wake::Sync,
                _ = walk_tick.tick() => Wake::Walk,
                _ = check_tick.tick() => Wake::Check,
            };
            match wake {
                Wake::Stop => break,
                Wake::Swarm(event) => self.on_swarm_event(*event),
                Wake::Command(command) => self.on_command(command),
                Wake::Completion(done) => self.on_completion(done),
                Wake::Judged(Ok(judged)) => self.on_judged(judged),
                Wake::Judged(Err(e)) => tracing::error!(error = %e, "judging gossip failed"),
                Wake::Announce(Ok(announcement)) => self.publish(announcement),
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
        self.stop().await;
    }

    /// Ends the running sync and judgements, and saves the peers'
    /// addresses (waiting for the write: the node flushes the store next).
    async fn stop(mut self) {
        if let Some((_, task)) = self.sync_running.take() {
            task.abort();
        }
        self.validating.abort_all();
        if let Some(known) = self.peers_to_save() {
            self.parts.offload.save_peers(known).await;
        }
        tracing::info!("network stopped");
    }

    /// Runs `work` off the swarm task and hands its result back, made into
    /// a completion by `done`.
    fn offload<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
        done: impl FnOnce(T) -> Completion + Send + 'static,
    ) {
        let tx = self.done.clone();
        tokio::spawn(async move {
            let _ = tx.send(done(work.await)).await;
        });
    }

    // ----- commands and completions -----------------------------------------------

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
            Command::SyncNow(reply) => {
                let _ = reply.send(self.sync_now());
            }
            Command::Request { peer, request, reply } => {
                if self.swarm.is_connected(&peer) {
                    let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                    self.awaiting.insert(id, Awaiting::Reply(reply));
                } else {
                    let _ = reply.send(Err("the peer is not connected".into()));
                }
            }
        }
    }

    fn on_completion(&mut self, done: Completion) {
        match done {
            Completion::Respond { channel, response } => self.respond(channel, response),
            Completion::LookedUp { peer, verdict } => self.on_looked_up(peer, verdict),
            Completion::Checked { peer, verdict } => {
                let action = self.standing(&peer).and_then(|p| policy::checked(&p, verdict));
                self.act(action);
            }
            Completion::Reviewed(verdicts) => {
                for (peer, verdict) in verdicts {
                    let action = self.standing(&peer).and_then(|p| policy::reviewed(&p, verdict));
                    self.act(action);
                }
            }
            Completion::Hubs(hubs) => self.subscribe(hubs),
            Completion::SyncProgress { peer, progress } => {
                if let Some(round) = &mut self.round {
                    round.progress(&peer, &progress);
                }
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.syncing = Some(progress);
                }
            }
            Completion::SyncDone { peer, result } => self.on_sync_done(peer, result),
            Completion::Filled(done) => self.on_filled(*done),
        }
    }

    fn status(&self) -> NetStatus {
        let local = *self.swarm.local_peer_id();
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let now = Instant::now();
        let meshed: HashSet<&PeerId> = gossipsub.all_mesh_peers().collect();
        // A peer whose key is still being looked up (for a few
        // milliseconds) is not shown: it is not yet admitted or waiting.
        let mut peers: Vec<PeerStatus> = self
            .peers
            .iter()
            .filter(|(_, p)| p.state != State::Looking)
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
        let listening =
            self.listening.iter().map(|a| with_peer(a.clone(), local).to_string()).collect();
        let blocked = self
            .blocked
            .iter()
            .map(|(id, b)| BlockedPeer {
                peer_id: id.to_string(),
                code: b.code,
                reason: b.reason.clone(),
                remaining_secs: b.until.saturating_duration_since(now).as_secs(),
            })
            .collect();
        let sets =
            Scope::ALL.iter().map(|s| (s.name().to_string(), self.parts.index.len(*s))).collect();
        let shown = |r: &SyncRound<PeerId>| r.shown(ToString::to_string);
        NetStatus {
            peer_id: local.to_string(),
            listening,
            peers,
            blocked,
            sets,
            sync_round: self.round.as_ref().map(shown),
            last_sync_round: self.last_round.as_ref().map(shown),
        }
    }
}

async fn recv_announcement(
    rx: &mut Option<broadcast::Receiver<Announcement>>,
) -> Result<Announcement, broadcast::error::RecvError> {
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

/// What an operator is told when a listen port is taken.
const PORT_IN_USE: &str = "the port is in use (is another node running on this machine?): \
                           choose another with --listen, or `listen` in node.toml";

/// Refuses a listen address whose fixed port another socket holds.
///
/// libp2p's TCP listeners set `SO_REUSEPORT`, so a second node told to
/// listen on a port the first holds would be given it, and the kernel would
/// share the port's connections between the two: peers would reach either
/// node at random. A plain bind (no `SO_REUSEPORT`) fails on such a port,
/// so it is tried first, and dropped at once.
fn port_is_free(addr: &Multiaddr) -> Result<(), NetError> {
    use libp2p::multiaddr::Protocol;
    let mut parts = addr.iter();
    let ip: std::net::IpAddr = match parts.next() {
        Some(Protocol::Ip4(ip)) => ip.into(),
        Some(Protocol::Ip6(ip)) => ip.into(),
        _ => return Ok(()),
    };
    let taken = match parts.next() {
        Some(Protocol::Tcp(port)) if port != 0 => std::net::TcpListener::bind((ip, port)).err(),
        Some(Protocol::Udp(port)) if port != 0 => std::net::UdpSocket::bind((ip, port)).err(),
        _ => None,
    };
    match taken {
        Some(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            Err(NetError::Listen { addr: addr.clone(), detail: PORT_IN_USE.into() })
        }
        _ => Ok(()),
    }
}
