//! A hostile peer: a real libp2p node with a chartered key that speaks the
//! Curbside protocols but none of the good manners, for the tests that
//! show a node cutting such a peer off.

use std::time::Duration;

use curbside_node::net::codec::{PROTOCOL, PostcardCodec};
use curbside_node::wire::{ReceivedEvent, Request, Response};
use curbside_protocol::{SecretKey, SignedEvent};
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, ValidationMode};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, identity, noise, tcp, yamux};
use tokio::sync::{mpsc, oneshot};

#[derive(NetworkBehaviour)]
struct Behaviour {
    gossipsub: gossipsub::Behaviour,
    sync: request_response::Behaviour<PostcardCodec<Request, Response>>,
}

enum Command {
    Publish(Vec<u8>),
    Request(Request, oneshot::Sender<Result<Response, String>>),
    Ready(oneshot::Sender<bool>),
    Received(oneshot::Sender<Vec<Gossiped>>),
    Serve(Vec<SignedEvent>),
}

/// A gossip message the hostile peer received.
#[derive(Debug, Clone)]
pub struct Gossiped {
    /// The message's source field (anonymous gossip leaves it empty).
    pub source: Option<PeerId>,
    /// Its sequence number (empty too).
    pub sequence_number: Option<u64>,
    /// The event's wire bytes.
    pub data: Vec<u8>,
}

/// A peer under the test's control, connected to one node.
#[derive(Debug)]
pub struct HostilePeer {
    /// Its PeerId.
    pub peer_id: String,
    commands: mpsc::Sender<Command>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

impl HostilePeer {
    /// Connects to `target` as `key`, showing `charter` when asked, and
    /// subscribes to `topic`.
    pub fn connect(key: &SecretKey, charter: &SignedEvent, topic: &str, target: &str) -> Self {
        let keypair = identity::Keypair::ed25519_from_bytes(key.to_seed().to_vec()).unwrap();
        let peer_id = keypair.public().to_peer_id().to_string();
        let target: Multiaddr = target.parse().unwrap();
        let charter = charter.to_bytes();
        let topic = IdentTopic::new(topic);
        let (commands, mut rx) = mpsc::channel::<Command>(1024);
        let (stop, mut stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
                    .with_tokio()
                    .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
                    .unwrap()
                    .with_behaviour(|_| {
                        let config = gossipsub::ConfigBuilder::default()
                            .validation_mode(ValidationMode::Anonymous)
                            .message_id_fn(|m| curbside_node::net::gossip_message_id(&m.data))
                            .heartbeat_interval(Duration::from_millis(200))
                            .build()
                            .unwrap();
                        Behaviour {
                            gossipsub: gossipsub::Behaviour::new(
                                MessageAuthenticity::Anonymous,
                                config,
                            )
                            .unwrap(),
                            sync: request_response::Behaviour::new(
                                [(PROTOCOL, ProtocolSupport::Full)],
                                request_response::Config::default(),
                            ),
                        }
                    })
                    .unwrap()
                    .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
                    .build();
                swarm.behaviour_mut().gossipsub.subscribe(&topic).unwrap();
                swarm.dial(target).unwrap();
                let mut target_peer: Option<PeerId> = None;
                let mut subscribed = false;
                let mut waiting = std::collections::HashMap::new();
                let mut received = Vec::new();
                let mut served: Vec<SignedEvent> = Vec::new();
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        Some(command) = rx.recv() => match command {
                            Command::Publish(bytes) => {
                                let _ = swarm.behaviour_mut().gossipsub.publish(topic.clone(), bytes);
                            }
                            Command::Request(request, reply) => match target_peer {
                                Some(peer) if swarm.is_connected(&peer) => {
                                    let id = swarm.behaviour_mut().sync.send_request(&peer, request);
                                    waiting.insert(id, reply);
                                }
                                _ => {
                                    let _ = reply.send(Err("not connected".into()));
                                }
                            },
                            Command::Received(reply) => {
                                let _ = reply.send(received.clone());
                            }
                            Command::Serve(events) => served.extend(events),
                            Command::Ready(reply) => {
                                let connected = target_peer.is_some_and(|p| swarm.is_connected(&p));
                                let _ = reply.send(connected && subscribed);
                            }
                        },
                        event = swarm.select_next_some() => match event {
                            SwarmEvent::ConnectionEstablished { peer_id, .. } => target_peer = Some(peer_id),
                            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(
                                gossipsub::Event::Subscribed { .. },
                            )) => subscribed = true,
                            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(
                                gossipsub::Event::Message { message, .. },
                            )) => received.push(Gossiped {
                                source: message.source,
                                sequence_number: message.sequence_number,
                                data: message.data,
                            }),
                            SwarmEvent::Behaviour(BehaviourEvent::Sync(
                                request_response::Event::Message { message, .. },
                            )) => match message {
                                request_response::Message::Request { request: Request::Credentials, channel, .. } => {
                                    let events = vec![charter.clone()];
                                    let _ = swarm.behaviour_mut().sync.send_response(channel, Response::Credentials { events });
                                }
                                request_response::Message::Request { request: Request::Admitted, channel, .. } => {
                                    let _ = swarm.behaviour_mut().sync.send_response(channel, Response::Admission { admitted: true });
                                }
                                request_response::Message::Request { request: Request::Fetch { ids }, channel, .. } => {
                                    let events = served.iter().filter(|e| ids.contains(&e.id())).map(SignedEvent::to_bytes).collect();
                                    let _ = swarm.behaviour_mut().sync.send_response(channel, Response::Events { events });
                                }
                                request_response::Message::Request { request: Request::TrustFor { .. }, channel, .. } => {
                                    let events = served.iter().filter(|e| e.kind().is_trust()).map(SignedEvent::to_bytes).collect();
                                    let _ = swarm.behaviour_mut().sync.send_response(channel, Response::Events { events });
                                }
                                // As history, each received when it was made.
                                request_response::Message::Request { request: Request::FetchReceived { ids }, channel, .. } => {
                                    let events = served.iter().filter(|e| ids.contains(&e.id())).map(as_history).collect();
                                    let _ = swarm.behaviour_mut().sync.send_response(channel, Response::Received { events });
                                }
                                request_response::Message::Request { request: Request::TrustForReceived { .. }, channel, .. } => {
                                    let events = served.iter().filter(|e| e.kind().is_trust()).map(as_history).collect();
                                    let _ = swarm.behaviour_mut().sync.send_response(channel, Response::Received { events });
                                }
                                request_response::Message::Request { channel, .. } => {
                                    let _ = swarm.behaviour_mut().sync.send_response(channel, Response::Events { events: vec![] });
                                }
                                request_response::Message::Response { request_id, response } => {
                                    if let Some(reply) = waiting.remove(&request_id) {
                                        let _ = reply.send(Ok(response));
                                    }
                                }
                            },
                            SwarmEvent::Behaviour(BehaviourEvent::Sync(
                                request_response::Event::OutboundFailure { request_id, error, .. },
                            )) => {
                                if let Some(reply) = waiting.remove(&request_id) {
                                    let _ = reply.send(Err(error.to_string()));
                                }
                            }
                            _ => {}
                        },
                    }
                }
            });
        });
        Self { peer_id, commands, stop: Some(stop), thread: Some(thread) }
    }

    /// Whether it is connected and the node has told it its subscriptions.
    pub fn ready(&self) -> bool {
        let (tx, rx) = oneshot::channel();
        self.commands.blocking_send(Command::Ready(tx)).is_ok()
            && rx.blocking_recv().unwrap_or(false)
    }

    /// The gossip messages it has received so far.
    pub fn received(&self) -> Vec<Gossiped> {
        let (tx, rx) = oneshot::channel();
        if self.commands.blocking_send(Command::Received(tx)).is_err() {
            return Vec::new();
        }
        rx.blocking_recv().unwrap_or_default()
    }

    /// Answers fetches with `events` from now on (by id, and every trust
    /// event among them for any key asked about); every other request but
    /// `Credentials` and `Admitted` gets an empty answer, so the node cannot
    /// reconcile with it.
    pub fn serve(&self, events: Vec<SignedEvent>) {
        let _ = self.commands.blocking_send(Command::Serve(events));
    }

    /// Gossips `bytes` on its topic.
    pub fn publish(&self, bytes: Vec<u8>) {
        let _ = self.commands.blocking_send(Command::Publish(bytes));
    }

    /// Sends a request to the node and waits for the answer.
    pub fn request(&self, request: Request) -> Result<Response, String> {
        let (tx, rx) = oneshot::channel();
        self.commands.blocking_send(Command::Request(request, tx)).map_err(|e| e.to_string())?;
        rx.blocking_recv().map_err(|e| e.to_string())?
    }
}

/// An event served as history received when it was made.
fn as_history(event: &SignedEvent) -> ReceivedEvent {
    ReceivedEvent { wire: event.to_bytes(), received_at: Some(event.created_at()) }
}

impl Drop for HostilePeer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
