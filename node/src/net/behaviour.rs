//! The libp2p behaviours a node runs, their parameters, and the swarm
//! built from them. Only `net` sees these types.

use std::time::Duration;

use curbside_protocol::{MAX_DECODE_BYTES, NetworkId};
use libp2p::gossipsub::{
    self, IdentTopic, MessageAuthenticity, MessageId, PeerScoreParams, PeerScoreThresholds,
    TopicScoreParams, ValidationMode,
};
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{
    StreamProtocol, allow_block_list, connection_limits, identify, identity, kad, mdns, noise,
    ping, request_response, tcp, yamux,
};

use super::GossipTuning;
use super::codec::{PROTOCOL, PostcardCodec};
use super::gate::Gated;
use super::limits::AddressLimits;
use crate::wire::{Request, Response};

/// Every behaviour of a node, polled together by the swarm.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// Peers refused (no charter, revoked, flooding) cannot connect at all.
    pub(crate) blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    /// Per address (before the global count, so one address's excess never
    /// takes a slot there).
    pub(crate) addresses: AddressLimits,
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    /// Serves `FIND_NODE` only to peers whose charter this node has seen.
    pub(crate) kad: Gated<kad::Behaviour<kad::store::MemoryStore>>,
    pub(crate) gossipsub: gossipsub::Behaviour,
    pub(crate) sync: request_response::Behaviour<PostcardCodec<Request, Response>>,
    pub(crate) mdns: Toggle<mdns::tokio::Behaviour>,
}

/// The application score of a connected peer whose charter is not yet
/// checked: below the gossip (-10) and publish (-50) thresholds, so it is
/// never grafted into a mesh, sent a message or gossip, but above the
/// graylist (-80), so its subscriptions are still recorded for when it is
/// admitted (a graylisted peer's whole RPC is dropped, subscriptions too).
pub(crate) const UNVERIFIED_SCORE: f64 = -60.0;

/// Gossip topics: one for trust events, one per hub, all named under the
/// network id so two networks never share a topic.
#[derive(Debug, Clone)]
pub(crate) struct Topics {
    prefix: String,
}

impl Topics {
    pub(crate) fn new(network: NetworkId) -> Self {
        Self { prefix: format!("curbside/{}", hex::encode(&network.as_bytes()[..8])) }
    }

    pub(crate) fn trust(&self) -> IdentTopic {
        IdentTopic::new(format!("{}/trust", self.prefix))
    }

    pub(crate) fn hub(&self, hub: &str) -> IdentTopic {
        IdentTopic::new(format!("{}/hub/{hub}", self.prefix))
    }

    pub(crate) fn kad_protocol(&self) -> Result<StreamProtocol, String> {
        StreamProtocol::try_from_owned(format!("/{}/kad/1", self.prefix)).map_err(|e| e.to_string())
    }
}

/// Largest gossip message: one event.
const MAX_GOSSIP_BYTES: usize = MAX_DECODE_BYTES + 1024;

fn gossipsub_config(tuning: GossipTuning) -> Result<gossipsub::Config, String> {
    gossipsub::ConfigBuilder::default()
        // Events carry their authors' signatures; the relaying node adds
        // none, so a post is not stamped with the institution that first
        // sent it.
        .validation_mode(ValidationMode::Anonymous)
        // Nothing is forwarded until ingest has judged it.
        .validate_messages()
        // The whole signed event, not just its id: a copy of an event with
        // a bad signature is another message, so a peer that gossips one
        // first cannot get the honest copy dropped as a duplicate.
        .message_id_fn(|m| gossip_message_id(&m.data))
        .max_transmit_size(MAX_GOSSIP_BYTES)
        .heartbeat_interval(tuning.heartbeat)
        // Small federations by default: a mesh of 4, between 2 and 6.
        .mesh_n(tuning.mesh.max(2))
        .mesh_n_low((tuning.mesh / 2).max(1))
        .mesh_n_high((tuning.mesh * 3 / 2).max(2))
        .mesh_outbound_min(1)
        .duplicate_cache_time(Duration::from_secs(120))
        // Issue 18: a duplicate of a post cost more than telling the mesh
        // it is not needed, and announcing each id for three heartbeats
        // was most of the rest (docs/BENCHMARKS.md, "Federation").
        .idontwant_message_size_threshold(tuning.idontwant_above)
        .history_gossip(tuning.announce_heartbeats.max(1))
        .build()
        .map_err(|e| e.to_string())
}

/// Domain of gossip message ids.
pub(crate) const GOSSIP_ID_DOMAIN: &[u8] = b"curbside/gossip/v1";

/// A gossip message's id: `SHA-256("curbside/gossip/v1" ‖ data)`, over the
/// event's whole wire form (signature included). The same signed event
/// from two peers is one message; two signatures on one event are two.
pub(crate) fn gossip_message_id(data: &[u8]) -> MessageId {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    hash.update(GOSSIP_ID_DOMAIN);
    hash.update(data);
    MessageId::from(hash.finalize().to_vec())
}

/// Below this a peer's gossip is ignored; the node then disconnects it.
pub(crate) const GRAYLIST_THRESHOLD: f64 = -80.0;

/// Peer scoring, explained in docs/ARCHITECTURE.md ("Peer scores").
pub(crate) fn score_params(topics: &[IdentTopic]) -> (PeerScoreParams, PeerScoreThresholds) {
    let topic = TopicScoreParams {
        topic_weight: 1.0,
        // A small reward for time in the mesh and for delivering first.
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 300.0,
        first_message_deliveries_weight: 0.5,
        first_message_deliveries_decay: 0.9,
        first_message_deliveries_cap: 40.0,
        // Traffic is bursty and often quiet: never punish a quiet peer.
        mesh_message_deliveries_weight: 0.0,
        mesh_message_deliveries_decay: 0.5,
        mesh_message_deliveries_cap: 1.0,
        mesh_message_deliveries_threshold: 1.0,
        mesh_message_deliveries_window: Duration::from_millis(10),
        mesh_message_deliveries_activation: Duration::from_secs(60),
        mesh_failure_penalty_weight: 0.0,
        mesh_failure_penalty_decay: 0.5,
        // An honest peer forwards only events it validated itself, so an
        // invalid one is evidence. Squared: 2 invalid events take a peer
        // to -80 (graylisted); the count decays by 10% a second.
        invalid_message_deliveries_weight: -20.0,
        invalid_message_deliveries_decay: 0.9,
    };
    let params = PeerScoreParams {
        topics: topics.iter().map(|t| (t.hash(), topic.clone())).collect(),
        topic_score_cap: 50.0,
        // Set to UNVERIFIED_SCORE until a peer's charter is checked.
        app_specific_weight: 1.0,
        // Every peer is a chartered institution (Sybils cannot get in), and
        // tests run many on one address: no penalty for sharing an IP.
        ip_colocation_factor_weight: 0.0,
        decay_interval: Duration::from_secs(1),
        ..PeerScoreParams::default()
    };
    let thresholds = PeerScoreThresholds {
        gossip_threshold: -10.0,
        publish_threshold: -50.0,
        graylist_threshold: GRAYLIST_THRESHOLD,
        accept_px_threshold: 10.0,
        opportunistic_graft_threshold: 5.0,
    };
    (params, thresholds)
}

impl Behaviour {
    pub(crate) fn new(
        key: &identity::Keypair,
        topics: &Topics,
        scored: &[IdentTopic],
        enable_mdns: bool,
        caps: &Caps,
    ) -> Result<Self, String> {
        let peer_id = key.public().to_peer_id();
        let mut gossipsub = gossipsub::Behaviour::new(
            MessageAuthenticity::Anonymous,
            gossipsub_config(caps.gossip)?,
        )
        .map_err(str::to_owned)?;
        let (params, thresholds) = score_params(scored);
        gossipsub.with_peer_score(params, thresholds)?;

        let mut kad_config = kad::Config::new(topics.kad_protocol()?);
        kad_config.set_query_timeout(Duration::from_secs(30));
        // Only admitted peers enter the routing table (the runner adds
        // them), so an answer to FIND_NODE never lists a stranger.
        kad_config.set_kbucket_inserts(kad::BucketInserts::Manual);
        let mut kad =
            kad::Behaviour::with_config(peer_id, kad::store::MemoryStore::new(peer_id), kad_config);
        kad.set_mode(Some(kad::Mode::Server));

        let sync = request_response::Behaviour::new(
            [(PROTOCOL, request_response::ProtocolSupport::Full)],
            request_response::Config::default().with_request_timeout(Duration::from_secs(30)),
        );
        let mdns = if enable_mdns {
            Some(
                mdns::tokio::Behaviour::new(mdns::Config::default(), peer_id)
                    .map_err(|e| e.to_string())?,
            )
        } else {
            None
        };
        Ok(Self {
            blocked: allow_block_list::Behaviour::default(),
            addresses: AddressLimits::new(caps.pending_per_address, caps.established_per_address),
            limits: connection_limits::Behaviour::new(
                connection_limits::ConnectionLimits::default()
                    .with_max_established(Some(caps.max_connections))
                    .with_max_established_per_peer(Some(2))
                    .with_max_pending_incoming(Some(caps.max_pending)),
            ),
            identify: identify::Behaviour::new(
                identify::Config::new("/curbside/1".into(), key.public())
                    .with_agent_version(format!("curbside/{}", env!("CARGO_PKG_VERSION"))),
            ),
            ping: ping::Behaviour::new(ping::Config::new()),
            kad: Gated::new(kad),
            gossipsub,
            sync,
            mdns: mdns.into(),
        })
    }
}

/// The connection caps of a swarm (see `NetConfig`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caps {
    pub(crate) max_connections: u32,
    pub(crate) max_pending: u32,
    pub(crate) pending_per_address: usize,
    pub(crate) established_per_address: usize,
    /// How gossip spends bandwidth.
    pub(crate) gossip: GossipTuning,
}

/// Builds the swarm: TCP (noise, yamux) and QUIC, DNS for bootstrap names;
/// a connection's handshake (security and multiplexing) must finish within
/// `handshake`.
pub(crate) fn build_swarm(
    key: identity::Keypair,
    handshake: Duration,
    behaviour: impl FnOnce(&identity::Keypair) -> Result<Behaviour, String>,
) -> Result<libp2p::Swarm<Behaviour>, String> {
    let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| format!("TCP transport: {e}"))?
        .with_quic()
        .with_dns()
        .map_err(|e| format!("DNS resolver: {e}"))?
        .with_behaviour(|key| {
            behaviour(key).map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })
        })
        .map_err(|e| format!("behaviours: {e}"))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .with_connection_timeout(handshake)
        .build();
    Ok(swarm)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signed vector post's gossip id is the one docs/PROTOCOL.md
    /// publishes, so another implementation can check its message ids.
    #[test]
    fn the_gossip_id_is_the_vector_in_protocol_md() {
        let vectors = curbside_protocol::testkit::vectors();
        let get =
            |n: &str| hex::decode(&vectors.iter().find(|(name, _)| *name == n).unwrap().1).unwrap();
        let post = [get("post event bytes"), get("post signature")].concat();
        let id = gossip_message_id(&post);
        assert_eq!(
            curbside_protocol::testkit::published(
                include_str!("../../../docs/PROTOCOL.md"),
                "post gossip message id"
            )
            .as_deref(),
            Some(hex::encode(id.0).as_str())
        );
    }
}
