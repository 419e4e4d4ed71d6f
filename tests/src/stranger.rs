//! A stranger on the peer-to-peer side: raw sockets that never speak, and
//! a libp2p node that asks a node's kademlia for the network's peers.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use futures::StreamExt;
use libp2p::kad::{self, QueryResult};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, StreamProtocol, identity, noise, tcp, yamux};

/// A TCP connection to `to` from the local address `source` (any of
/// 127.0.0.0/8 on Linux), so one test can play several machines. Given up
/// after 5 s, as a client would.
pub fn connect_from(source: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    thread_local! {
        // A runtime a thread, only to bind before connecting (std cannot):
        // a benchmark that opens thousands of sockets builds one, not thousands.
        static RUNTIME: std::io::Result<tokio::runtime::Runtime> =
            tokio::runtime::Builder::new_current_thread().enable_all().build();
    }
    let source: std::net::IpAddr = source.parse().map_err(std::io::Error::other)?;
    RUNTIME.with(|rt| {
        let rt = rt.as_ref().map_err(|e| std::io::Error::new(e.kind(), e.to_string()))?;
        rt.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(source, 0))?;
            let connecting = tokio::time::timeout(Duration::from_secs(5), socket.connect(to));
            let stream = connecting.await.map_err(std::io::Error::other)??.into_std()?;
            stream.set_nonblocking(false)?;
            Ok(stream)
        })
    })
}

/// The TCP address of a `/ip4/…/tcp/…/p2p/…` multiaddr.
pub fn tcp_addr(multiaddr: &str) -> SocketAddr {
    let addr: Multiaddr = multiaddr.parse().unwrap();
    let mut ip = None;
    let mut port = None;
    for p in addr.iter() {
        match p {
            Protocol::Ip4(v4) => ip = Some(std::net::IpAddr::V4(v4)),
            Protocol::Tcp(n) => port = Some(n),
            _ => {}
        }
    }
    SocketAddr::new(ip.unwrap(), port.unwrap())
}

/// Connects to the node at `target` (with `/p2p/`) as `key` and asks its
/// kademlia (`protocol`) for the peers closest to random keys, `rounds`
/// times; every peer any answer led to.
pub fn find_nodes(
    key: &identity::Keypair,
    protocol: &str,
    target: &str,
    rounds: usize,
) -> Vec<PeerId> {
    let target: Multiaddr = target.parse().unwrap();
    let Some(Protocol::P2p(node)) = target.iter().last() else { panic!("no /p2p/ in {target}") };
    let protocol = StreamProtocol::try_from_owned(protocol.to_string()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key.clone())
            .with_tokio()
            .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
            .unwrap()
            .with_behaviour(|key| {
                let id = key.public().to_peer_id();
                let mut config = kad::Config::new(protocol);
                config.set_query_timeout(Duration::from_secs(5));
                let mut kad =
                    kad::Behaviour::with_config(id, kad::store::MemoryStore::new(id), config);
                kad.set_mode(Some(kad::Mode::Client));
                kad
            })
            .unwrap()
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        swarm.behaviour_mut().add_address(&node, target.clone());
        let mut found = Vec::new();
        for _ in 0..rounds {
            swarm.behaviour_mut().get_closest_peers(PeerId::random());
            let round = tokio::time::timeout(Duration::from_secs(15), async {
                loop {
                    if let SwarmEvent::Behaviour(kad::Event::OutboundQueryProgressed {
                        result: QueryResult::GetClosestPeers(result),
                        step,
                        ..
                    }) = swarm.select_next_some().await
                    {
                        let peers = match result {
                            Ok(ok) => ok.peers,
                            Err(kad::GetClosestPeersError::Timeout { peers, .. }) => peers,
                        };
                        found.extend(peers.into_iter().map(|p| p.peer_id));
                        if step.last {
                            return;
                        }
                    }
                }
            });
            let _ = round.await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        found
    })
}

/// A libp2p node with a key no charter names, connected to `target` (with
/// `/p2p/`) and saying nothing, until dropped.
#[derive(Debug)]
pub struct SilentPeer {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SilentPeer {
    /// Connects as a fresh key.
    pub fn connect(target: &str) -> Self {
        let target: Multiaddr = target.parse().unwrap();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let mut swarm = libp2p::SwarmBuilder::with_new_identity()
                    .with_tokio()
                    .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
                    .unwrap()
                    .with_behaviour(|_| libp2p::swarm::dummy::Behaviour)
                    .unwrap()
                    .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
                    .build();
                swarm.dial(target).unwrap();
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        _ = swarm.select_next_some() => {}
                    }
                }
            });
        });
        Self { stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for SilentPeer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
