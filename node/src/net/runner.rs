//! The task that owns the swarm: it turns swarm events and commands into
//! calls on the behaviours, and hands every piece of real work (ingest,
//! store reads, reconciliation) to other tasks so the swarm keeps moving.

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
    Behaviour, BehaviourEvent, GRAYLIST_THRESHOLD, Topics, UNVERIFIED_SCORE, build_swarm,
};
use super::fetch::{self, Filled};
use super::peers::{
    Admission, FLOOD_BLOCK, GossipRate, Offences, admission, credentials, forwards, key_of,
    trust_for,
};
use super::wire::{MAX_FETCH_IDS, Request, Response};
use super::{BlockedPeer, NetConfig, NetError, NetParts, NetStatus, PeerStatus};
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
    code: String,
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
        let max_connections = config.max_connections;
        let swarm = build_swarm(keypair, |key| {
            Behaviour::new(key, &topics, &scored, mdns, max_connections)
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

    fn on_new_peer(&mut self, peer_id: PeerId, addr: Multiaddr) {
        let Some(key) = key_of(&peer_id) else {
            self.refuse(peer_id, "not_ed25519", "a node's PeerId must be its ed25519 key".into());
            return;
        };
        let verdict = admission(&self.parts.store, &key, (self.parts.clock)());
        self.peers.insert(
            peer_id,
            Peer {
                key: Some(key),
                state: State::Checking { asked: false },
                since: Instant::now(),
                admits_us: false,
                told: Told::No,
                addresses: HashSet::from([addr]),
                listen: Vec::new(),
                requests: Bucket::new(
                    f64::from(self.config.requests_per_second),
                    f64::from(self.config.requests_per_second.saturating_mul(4)),
                    Instant::now(),
                ),
                gossip: GossipRate::new(
                    self.config.gossip_per_second,
                    self.config.gossip_burst,
                    Instant::now(),
                ),
                offences: Offences::default(),
                syncing: None,
                last_sync: None,
            },
        );
        // Not meshed until both sides have admitted each other (see `State`).
        self.swarm.behaviour_mut().gossipsub.set_application_score(&peer_id, UNVERIFIED_SCORE);
        match verdict {
            Admission::Chartered => self.admit(peer_id),
            Admission::Unknown => self.ask_credentials(peer_id),
            Admission::Refused { code, message } => self.refuse(peer_id, code, message),
        }
    }

    fn ask_credentials(&mut self, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        let State::Checking { asked } = &mut peer.state else { return };
        *asked = true;
        let id = self.swarm.behaviour_mut().sync.send_request(&peer_id, Request::Credentials);
        self.awaiting.insert(id, Awaiting::Credentials(peer_id));
        tracing::debug!(peer = %peer_id, "asking a new peer for its charter");
    }

    /// The peer's charter is in force here: serve it, tell it so, and mesh
    /// it once it admits this node too.
    fn admit(&mut self, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        if peer.state.chartered() {
            return;
        }
        peer.state = State::Welcoming;
        let admits_us = peer.admits_us;
        self.tell_admitted(peer_id);
        if admits_us {
            self.mesh(peer_id);
        }
    }

    fn tell_admitted(&mut self, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        peer.told = Told::Asking;
        let id = self.swarm.behaviour_mut().sync.send_request(&peer_id, Request::Admitted);
        self.awaiting.insert(id, Awaiting::Admitted(peer_id));
    }

    /// The peer said it admits this node.
    fn admitted_by(&mut self, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        peer.admits_us = true;
        if peer.state == State::Welcoming {
            self.mesh(peer_id);
        }
    }

    /// Both sides admit each other: the peer joins the mesh and is synced.
    fn mesh(&mut self, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        peer.state = State::Admitted;
        let key = peer.key.map(|k| k.short()).unwrap_or_default();
        let listen = peer.listen.clone();
        self.swarm.behaviour_mut().gossipsub.set_application_score(&peer_id, 0.0);
        for addr in listen {
            self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
        }
        tracing::info!(peer = %peer_id, node_key = %key, "chartered peer admitted");
        self.queue_sync(peer_id, true);
    }

    fn refuse(&mut self, peer_id: PeerId, code: &str, reason: String) {
        let ban = if matches!(code, "not_chartered" | "not_admitted") {
            UNCHARTERED_BLOCK
        } else {
            self.config.ban_for
        };
        tracing::warn!(peer = %peer_id, code, %reason, ban_secs = ban.as_secs(), "peer refused and blocked");
        self.blocked
            .insert(peer_id, Blocked { until: Instant::now() + ban, code: code.into(), reason });
        let behaviour = self.swarm.behaviour_mut();
        behaviour.blocked.block_peer(peer_id);
        behaviour.kad.remove_peer(&peer_id);
        self.peers.remove(&peer_id);
        self.sync_queue.retain(|p| p != &peer_id);
        let _ = self.swarm.disconnect_peer_id(peer_id);
    }

    fn offence(&mut self, peer_id: PeerId, code: &'static str, reason: String) {
        let limit = self.config.max_offences_per_minute;
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        let count = peer.offences.record(Instant::now(), OFFENCE_WINDOW);
        tracing::debug!(peer = %peer_id, code, %reason, count, "peer offence");
        if count >= limit {
            self.refuse(
                peer_id,
                code,
                format!("{count} offences within a minute (the last: {code}: {reason})"),
            );
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

    // ----- gossip -----------------------------------------------------------------

    fn on_gossip(&mut self, source: PeerId, message: MessageId, data: &[u8]) {
        // Metered before anything is decoded or verified: a flood costs
        // this node a map lookup a message, not a signature check.
        let Some(peer) = self.peers.get_mut(&source) else {
            // Refused a moment ago; its last messages are not judged.
            self.report(&message, &source, MessageAcceptance::Ignore);
            return;
        };
        if !peer.state.chartered() {
            // Gossipsub takes messages from any connected peer; this node
            // takes none from a peer whose charter it has not seen. Sync
            // brings whatever was in them once it is admitted.
            self.report(&message, &source, MessageAcceptance::Ignore);
            return;
        }
        if let Some(penalty) = peer.gossip.over(Instant::now()) {
            // Not forwarded and not held against the message: the same
            // event may come from an honest peer, or by sync.
            self.report(&message, &source, MessageAcceptance::Ignore);
            self.gossip_flood(source, penalty);
            return;
        }
        let event = match SignedEvent::decode(data) {
            Ok(event) => event,
            Err(rejection) => {
                self.report(&message, &source, MessageAcceptance::Reject);
                self.offence(source, rejection.code(), rejection.to_string());
                return;
            }
        };
        let author = (!event.kind().is_trust()).then(|| *event.author());
        let ingester = self.parts.ingester.clone();
        let commands = self.commands.clone();
        tokio::spawn(async move {
            let outcome = ingester
                .submit_from(Source::Gossip, vec![event])
                .await
                .map_err(|e| e.to_string())
                .and_then(|mut o| o.pop().ok_or_else(|| "no outcome".to_string()));
            let judged = Judged { message, source, author, outcome };
            let _ = commands.send(Command::Judged(Box::new(judged))).await;
        });
    }

    /// A peer gossiped over its rate: its application score goes down by
    /// its flooding penalty, and past [`FLOOD_BLOCK`] it is cut off.
    fn gossip_flood(&mut self, peer_id: PeerId, penalty: f64) {
        let (rate, burst) = (self.config.gossip_per_second, self.config.gossip_burst);
        if penalty >= FLOOD_BLOCK {
            self.refuse(
                peer_id,
                "gossip_rate_limited",
                format!(
                    "gossiped far over {rate} messages a second (bursts of {burst}): \
                     flooding penalty {penalty:.0}"
                ),
            );
            return;
        }
        tracing::debug!(peer = %peer_id, penalty, "gossip over the per-peer rate dropped");
        self.set_flood_score(peer_id, penalty);
    }

    /// The application score of a peer with flooding penalty `penalty`.
    fn set_flood_score(&mut self, peer_id: PeerId, penalty: f64) {
        let Some(peer) = self.peers.get(&peer_id) else { return };
        let base = if peer.state == State::Admitted { 0.0 } else { UNVERIFIED_SCORE };
        self.swarm.behaviour_mut().gossipsub.set_application_score(&peer_id, base - penalty);
    }

    fn on_judged(&mut self, Judged { message, source, author, outcome }: Judged) {
        let acceptance = match outcome {
            Ok(Outcome::Stored { id }) => {
                if forwards(&mut self.forwarded, author.as_ref(), Instant::now()) {
                    MessageAcceptance::Accept
                } else {
                    tracing::debug!(event = %id, author = ?author, "stored, not forwarded: the physician is over the gossip rate");
                    MessageAcceptance::Ignore
                }
            }
            Ok(Outcome::Duplicate { .. }) => MessageAcceptance::Ignore,
            Ok(Outcome::Pending { id, waiting_for, dependency }) => {
                // Something it needs is missing here: ask the peer that
                // sent it, which has it.
                tracing::debug!(event = %id, %waiting_for, peer = %source, "gossiped event waits; fetching");
                self.fetch(source, dependency);
                MessageAcceptance::Ignore
            }
            Ok(Outcome::Rejected { blames_sender: false, .. }) | Err(_) => {
                MessageAcceptance::Ignore
            }
            Ok(Outcome::Rejected { id, code, message: why, .. }) => {
                self.report(&message, &source, MessageAcceptance::Reject);
                self.offence(source, code, format!("gossiped {id}: {why}"));
                return;
            }
        };
        self.report(&message, &source, acceptance);
    }

    fn report(&mut self, message: &MessageId, source: &PeerId, acceptance: MessageAcceptance) {
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(message, source, acceptance);
    }

    fn publish(&mut self, event: &SignedEvent) {
        let Some(topic) = self.topic_of(event) else {
            tracing::debug!(event = %event.id(), "no topic for event; sync will carry it");
            return;
        };
        if let Body::Hub(_) = event.body() {
            self.subscribe_hubs();
        }
        match self.swarm.behaviour_mut().gossipsub.publish(topic.clone(), event.to_bytes()) {
            Ok(_) => tracing::debug!(event = %event.id(), %topic, "gossiped"),
            Err(e) => tracing::debug!(event = %event.id(), %topic, error = %e, "not gossiped"),
        }
    }

    /// The trust topic for trust events; the hub's topic for content (a
    /// comment's or vote's hub is its thread root's).
    fn topic_of(&self, event: &SignedEvent) -> Option<IdentTopic> {
        if Scope::of(event.body().kind()) == Scope::Trust {
            return Some(self.topics.trust());
        }
        let mut body = event.body().clone();
        for _ in 0..64 {
            if let Some(hub) = body.hub() {
                return Some(self.topics.hub(hub.as_str()));
            }
            let parent: EventId = match &body {
                Body::Comment(c) => c.parent,
                Body::Vote(v) => v.poll,
                _ => return None,
            };
            body = self.parts.store.get(&parent).ok().flatten()?.signed().body().clone();
        }
        None
    }

    // ----- request-response -------------------------------------------------------

    fn on_sync_event(&mut self, event: request_response::Event<Request, Response>) {
        use request_response::{Event, Message};
        match event {
            Event::Message { peer, message: Message::Request { request, channel, .. }, .. } => {
                self.on_request(peer, request, channel);
            }
            Event::Message { message: Message::Response { request_id, response }, .. } => {
                match self.awaiting.remove(&request_id) {
                    Some(Awaiting::Reply(reply)) => {
                        let _ = reply.send(Ok(response));
                    }
                    Some(Awaiting::Credentials(peer)) => self.on_credentials(peer, response),
                    Some(Awaiting::Admitted(peer)) => self.on_admission(peer, response),
                    None => {}
                }
            }
            Event::OutboundFailure { peer, request_id, error, .. } => {
                match self.awaiting.remove(&request_id) {
                    Some(Awaiting::Reply(reply)) => {
                        let _ = reply.send(Err(error.to_string()));
                    }
                    Some(Awaiting::Credentials(_)) => {
                        tracing::debug!(%peer, %error, "asking for a charter failed");
                        self.credentials_unanswered(peer);
                    }
                    Some(Awaiting::Admitted(_)) => {
                        tracing::debug!(%peer, %error, "telling a peer it is admitted failed");
                        if let Some(p) = self.peers.get_mut(&peer) {
                            p.told = Told::No;
                        }
                    }
                    None => {}
                }
            }
            Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound request failed");
            }
            Event::ResponseSent { .. } => {}
        }
    }

    fn on_request(
        &mut self,
        peer_id: PeerId,
        request: Request,
        channel: ResponseChannel<Response>,
    ) {
        let Some(peer) = self.peers.get_mut(&peer_id) else {
            self.respond(channel, Response::refused("not_chartered", "not connected as a peer"));
            return;
        };
        if !peer.requests.take(Instant::now()) {
            self.respond(
                channel,
                Response::refused("rate_limited", "too many requests; slow down"),
            );
            self.offence(peer_id, "rate_limited", "requests over the per-peer limit".into());
            return;
        }
        let chartered = peer.state.chartered();
        match request {
            Request::Credentials => {
                let events = credentials(&self.parts.store, &self.node_key);
                self.respond(channel, Response::Credentials { events });
            }
            Request::Admitted => {
                // Meshed (if it is chartered here) before the answer goes,
                // so that this node's GRAFT can only follow it.
                self.admitted_by(peer_id);
                self.respond(channel, Response::Admission { admitted: chartered });
            }
            _ if !chartered => {
                self.respond(
                    channel,
                    Response::refused("not_chartered", "this node has not seen your charter"),
                );
            }
            Request::Reconcile { scope, message } => {
                let index = self.parts.index.clone();
                let commands = self.commands.clone();
                tokio::task::spawn_blocking(move || {
                    let response = match index.read(scope, |set| recon::respond(set, &message)) {
                        Ok(reply) => Response::Reconcile { message: reply.next },
                        Err(e) => Response::refused("bad_message", e.to_string()),
                    };
                    let _ = commands.blocking_send(Command::Respond { channel, response });
                });
            }
            Request::Fetch { ids } if ids.len() > MAX_FETCH_IDS => {
                self.respond(
                    channel,
                    Response::refused(
                        "too_many_ids",
                        format!("{} ids asked for; at most {MAX_FETCH_IDS}", ids.len()),
                    ),
                );
                self.offence(peer_id, "too_many_ids", "oversized fetch".into());
            }
            request @ (Request::LogHead { .. }
            | Request::LogLeaves { .. }
            | Request::LogConsistency { .. }
            | Request::LogInclusion { .. }) => {
                let store = self.parts.store.clone();
                let commands = self.commands.clone();
                tokio::task::spawn_blocking(move || {
                    let response = crate::audit::answer(&store, request);
                    let _ = commands.blocking_send(Command::Respond { channel, response });
                });
            }
            Request::TrustFor { key } => {
                let store = self.parts.store.clone();
                let commands = self.commands.clone();
                let now = (self.parts.clock)();
                tokio::task::spawn_blocking(move || {
                    let response = Response::Events { events: trust_for(&store, &key, now) };
                    let _ = commands.blocking_send(Command::Respond { channel, response });
                });
            }
            Request::Fetch { ids } => {
                let store = self.parts.store.clone();
                let commands = self.commands.clone();
                tokio::task::spawn_blocking(move || {
                    let mut events = Vec::with_capacity(ids.len());
                    let mut size = 0;
                    for id in ids {
                        match store.get_wire(&id) {
                            Ok(Some(bytes)) => {
                                size += bytes.len() + 4;
                                if size > FETCH_RESPONSE_BUDGET {
                                    break;
                                }
                                events.push(bytes);
                            }
                            Ok(None) => {}
                            Err(e) => {
                                tracing::error!(error = %e, "reading events for a peer");
                                break;
                            }
                        }
                    }
                    let response = Response::Events { events };
                    let _ = commands.blocking_send(Command::Respond { channel, response });
                });
            }
        }
    }

    fn respond(&mut self, channel: ResponseChannel<Response>, response: Response) {
        if self.swarm.behaviour_mut().sync.send_response(channel, response).is_err() {
            tracing::debug!("a peer left before its response was sent");
        }
    }

    fn on_admission(&mut self, peer_id: PeerId, response: Response) {
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        peer.told = Told::Yes;
        match response {
            Response::Admission { admitted: true } => self.admitted_by(peer_id),
            // Not yet: it tells this node when it has seen its charter.
            Response::Admission { admitted: false } => {}
            other => {
                tracing::debug!(peer = %peer_id, response = ?other, "a peer answered `Admitted` with something else")
            }
        }
    }

    fn credentials_unanswered(&mut self, peer_id: PeerId) {
        if let Some(Peer { state: State::Checking { asked }, .. }) = self.peers.get_mut(&peer_id) {
            *asked = false;
        }
    }

    fn on_credentials(&mut self, peer: PeerId, response: Response) {
        let Response::Credentials { events } = response else {
            self.refuse(
                peer,
                "not_chartered",
                "answered the charter request with something else".into(),
            );
            return;
        };
        let mut decoded = Vec::new();
        for bytes in events.iter().take(16) {
            match SignedEvent::decode(bytes) {
                Ok(event) if matches!(event.body(), Body::Charter(_)) => decoded.push(event),
                _ => {
                    self.refuse(
                        peer,
                        "not_chartered",
                        "showed something that is not a charter".into(),
                    );
                    return;
                }
            }
        }
        let ingester = self.parts.ingester.clone();
        let commands = self.commands.clone();
        tokio::spawn(async move {
            if let Err(e) = ingester.submit_from(Source::Sync, decoded).await {
                tracing::warn!(error = %e, "ingesting a peer's charter");
            }
            let _ = commands.send(Command::Checked { peer }).await;
        });
    }

    // ----- sync -------------------------------------------------------------------

    fn queue_sync(&mut self, peer: PeerId, front: bool) {
        if self.sync_running.as_ref().is_some_and(|(p, _)| *p == peer) {
            self.sync_again |= front;
            return;
        }
        if self.sync_queue.contains(&peer) {
            return;
        }
        if front {
            self.sync_queue.push_front(peer);
        } else {
            self.sync_queue.push_back(peer);
        }
        self.next_sync();
    }

    fn sync_round(&mut self) {
        let admitted: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.state == State::Admitted)
            .map(|(id, _)| *id)
            .collect();
        for peer in admitted {
            self.queue_sync(peer, false);
        }
    }

    /// One sync at a time: what the first peer sends, the next need not.
    fn next_sync(&mut self) {
        if self.sync_running.is_some() {
            return;
        }
        while let Some(peer) = self.sync_queue.pop_front() {
            if !self.peers.get(&peer).is_some_and(|p| p.state == State::Admitted) {
                continue;
            }
            let transport = PeerTransport { peer, commands: self.commands.clone() };
            let index = self.parts.index.clone();
            let ingester = self.parts.ingester.clone();
            let commands = self.commands.clone();
            let task = tokio::spawn(async move {
                let progress = {
                    let commands = commands.clone();
                    move |progress: SyncProgress| {
                        let _ = commands.try_send(Command::SyncProgress { peer, progress });
                    }
                };
                let result = crate::sync::run(&transport, &index, &ingester, progress).await;
                let _ = commands.send(Command::SyncDone { peer, result }).await;
            });
            self.sync_running = Some((peer, task));
            return;
        }
    }

    fn on_sync_done(&mut self, peer_id: PeerId, result: Result<SyncReport, String>) {
        if self.sync_running.as_ref().is_some_and(|(p, _)| *p == peer_id) {
            self.sync_running = None;
        }
        if std::mem::take(&mut self.sync_again) && result.is_ok() {
            self.sync_queue.push_front(peer_id);
        }
        match result {
            Ok(report) => {
                if report.fetched > 0 {
                    tracing::info!(
                        peer = %peer_id,
                        fetched = report.fetched,
                        stored = report.stored,
                        bytes = report.bytes_reconciling,
                        ms = report.millis,
                        "sync finished"
                    );
                }
                if report.invalid > 0 {
                    self.offence(
                        peer_id,
                        "invalid_event",
                        format!("{} invalid events in sync", report.invalid),
                    );
                }
                if let Some(peer) = self.peers.get_mut(&peer_id) {
                    peer.syncing = None;
                    peer.last_sync = Some(report);
                }
            }
            Err(e) => {
                tracing::info!(peer = %peer_id, error = %e, "sync failed");
                if let Some(peer) = self.peers.get_mut(&peer_id) {
                    peer.syncing = None;
                }
            }
        }
        self.next_sync();
    }

    // ----- filling dependencies ---------------------------------------------------

    /// Fills `dependency` from `peer`, which gossiped an event that waits
    /// for it; a sync with `peer` if that cannot be done.
    fn fetch(&mut self, peer: PeerId, dependency: Dependency) {
        if self.filling.contains(&dependency) {
            return;
        }
        if self.filling.len() >= MAX_FILLS || fetch::request_for(&dependency).is_none() {
            self.queue_sync(peer, true);
            return;
        }
        self.filling.insert(dependency.clone());
        let transport = PeerTransport { peer, commands: self.commands.clone() };
        let ingester = self.parts.ingester.clone();
        let commands = self.commands.clone();
        tokio::spawn(async move {
            let result = fetch::fill(&transport, &ingester, dependency.clone()).await;
            let done = FillDone { peer, dependency, result };
            let _ = commands.send(Command::Filled(Box::new(done))).await;
        });
    }

    fn on_filled(&mut self, FillDone { peer, dependency, result }: FillDone) {
        self.filling.remove(&dependency);
        match result {
            Ok(filled) => {
                tracing::debug!(%peer, %dependency, stored = filled.stored, "filled from a peer");
                if filled.invalid > 0 {
                    let reason = format!("{} invalid events sent for {dependency}", filled.invalid);
                    self.offence(peer, "invalid_event", reason);
                }
                if let Some(missing) = filled.unresolved {
                    tracing::debug!(%peer, %missing, "not filled by the peer; syncing");
                    self.queue_sync(peer, true);
                }
            }
            Err(e) => {
                tracing::debug!(%peer, %dependency, error = %e, "filling failed; syncing");
                self.queue_sync(peer, true);
            }
        }
    }

    // ----- periodic checks --------------------------------------------------------

    /// Unblocks peers whose ban is over; drops peers whose charter lapsed
    /// or was revoked, and new peers that never showed one.
    fn check(&mut self) {
        let now = Instant::now();
        let expired: Vec<PeerId> =
            self.blocked.iter().filter(|(_, b)| b.until <= now).map(|(p, _)| *p).collect();
        for peer in expired {
            self.blocked.remove(&peer);
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
        }
        let forgiven: Vec<(PeerId, f64)> = self
            .peers
            .iter_mut()
            .filter(|(_, p)| p.gossip.last_penalty() > 0.0)
            .map(|(id, p)| (*id, p.gossip.penalty(now)))
            .collect();
        for (peer, penalty) in forgiven {
            self.set_flood_score(peer, penalty);
        }
        let at = (self.parts.clock)();
        let mut refuse = Vec::new();
        let mut ask = Vec::new();
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let mut tell = Vec::new();
        let late =
            |peer: &Peer| now.saturating_duration_since(peer.since) > self.config.admission_timeout;
        for (id, peer) in &self.peers {
            match (peer.state, peer.key) {
                (State::Checking { .. }, _) if late(peer) => {
                    refuse.push((
                        *id,
                        "not_chartered",
                        "showed no valid charter in time".to_string(),
                    ));
                }
                (State::Checking { asked: false }, _) => ask.push(*id),
                (State::Welcoming, _) if late(peer) => {
                    refuse.push((
                        *id,
                        "not_admitted",
                        "did not admit this node in time (has it seen this node's charter?)"
                            .to_string(),
                    ));
                }
                (State::Admitted, _)
                    if gossipsub.peer_score(id).is_some_and(|s| s < GRAYLIST_THRESHOLD) =>
                {
                    // Gossipsub already ignores it; cut it off altogether.
                    refuse.push((
                        *id,
                        "score_too_low",
                        "gossip score under the graylist threshold (invalid events)".to_string(),
                    ));
                }
                (State::Welcoming | State::Admitted, Some(key)) => {
                    match admission(&self.parts.store, &key, at) {
                        Admission::Chartered if peer.told == Told::No => tell.push(*id),
                        Admission::Chartered => {}
                        Admission::Refused { code, message } => refuse.push((*id, code, message)),
                        Admission::Unknown => {
                            refuse.push((*id, "not_chartered", "its charter is gone".into()))
                        }
                    }
                }
                _ => {}
            }
        }
        for (peer, code, reason) in refuse {
            self.refuse(peer, code, reason);
        }
        for peer in ask {
            self.ask_credentials(peer);
        }
        for peer in tell {
            self.tell_admitted(peer);
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
                    code: b.code.clone(),
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
    async fn request(&self, request: Request) -> Result<Response, String> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Request { peer: self.peer, request, reply })
            .await
            .map_err(|_| "the network is stopping".to_string())?;
        rx.await.map_err(|_| "the network is stopping".to_string())?
    }
}
