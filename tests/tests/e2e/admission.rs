//! Strangers on the peer-to-peer side: sockets that never finish a
//! handshake take only their own address's share of pending connections,
//! and a peer that has shown no charter learns nothing of the network
//! from kademlia.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use curbside_protocol::testkit::key;
use curbside_tests::stranger::{SilentPeer, connect_from, find_nodes, tcp_addr};
use curbside_tests::{Network, TestNode, wait_until};
use libp2p::{PeerId, identity};

const LIMIT: Duration = Duration::from_secs(30);

/// Whether the node has not closed `stream` yet (without waiting).
fn still_open(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 64];
    stream.set_nonblocking(true).unwrap();
    match std::io::Read::read(&mut &*stream, &mut buf) {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
    }
}

/// 80 silent TCP sockets from one address, kept open (reopened as the node
/// closes them) for the whole test: a chartered node on another address
/// still connects and is admitted. Before, 64 such sockets took every
/// pending slot for 10 s at a time and every other inbound connection was
/// reset.
#[test]
fn silent_sockets_from_one_address_do_not_keep_a_chartered_node_out() {
    let net = Network::new();
    let a = TestNode::start_peer(&net, &[], &["GB"]);
    let target = tcp_addr(&a.p2p_addr());
    let stop = Arc::new(AtomicBool::new(false));
    let attacker = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut silent: Vec<TcpStream> = Vec::new();
            let mut opened = 0usize;
            while !stop.load(Ordering::Relaxed) {
                silent.retain(still_open);
                while silent.len() < 80 {
                    match connect_from("127.0.0.2", target) {
                        Ok(s) => {
                            silent.push(s);
                            opened += 1;
                        }
                        Err(_) => break,
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            opened
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let b = TestNode::start_peer(&net, &[a.p2p_addr()], &[]);
    wait_until(LIMIT, "the chartered node admitted despite the sockets", || {
        a.admitted_peers() == 1 && b.admitted_peers() == 1
    });
    stop.store(true, Ordering::Relaxed);
    let opened = attacker.join().unwrap();
    assert!(opened >= 80, "the attacker opened only {opened} sockets");
}

/// A peer with no charter asks a node's kademlia for the network's nodes
/// and learns none; a chartered one asking the same way learns them (so
/// the question itself works). Before, anyone connected got the routing
/// table.
#[test]
fn a_peer_without_a_charter_gets_no_peers_from_find_node() {
    let net = Network::new();
    let a = TestNode::start_peer(&net, &[], &["GB"]);
    let b = TestNode::start_peer(&net, &[a.p2p_addr()], &[]);
    wait_until(LIMIT, "A and B admitted", || a.admitted_peers() == 1 && b.admitted_peers() == 1);
    let b_id: PeerId = b.network()["peer_id"].as_str().unwrap().parse().unwrap();
    let protocol = curbside_node::net::kad_protocol(net.id());

    let stranger =
        identity::Keypair::ed25519_from_bytes(key("kad-stranger").to_seed().to_vec()).unwrap();
    let found = find_nodes(&stranger, &protocol, &a.p2p_addr(), 3);
    assert!(!found.contains(&b_id), "an unchartered peer learned B: {found:?}");

    let member = key("kad-member");
    let charter = net.charter(&member.public(), &[]);
    for node in [&a, &b] {
        assert_eq!(node.submit(std::slice::from_ref(&charter)).0, 200);
    }
    let member = identity::Keypair::ed25519_from_bytes(member.to_seed().to_vec()).unwrap();
    // Three rounds on one connection: A checks a new peer's charter off
    // its network loop, and until then its gate drops the streams the peer
    // opens to kademlia, so a question asked the moment it connects can go
    // unanswered (kademlia asks again); one round a connection lost that
    // race on every try now and then (CI, 2026-12-07).
    let mut found = Vec::new();
    wait_until(LIMIT, "a chartered peer to learn B", || {
        found = find_nodes(&member, &protocol, &a.p2p_addr(), 3);
        found.contains(&b_id)
    });
}

/// Peers without a charter hold at most `max_unadmitted` connections at
/// once: of four strangers, two are disconnected at once, and a chartered
/// node is admitted while the other two wait out their admission timeout.
/// Before, strangers with fresh keys could take every connection.
#[test]
fn strangers_without_a_charter_hold_a_bounded_share_of_connections() {
    let net = Network::new();
    let a = TestNode::start_unchartered(&[], &net, |c| {
        if let Some(n) = c.net.as_mut() {
            n.max_unadmitted = 2;
        }
    });
    assert_eq!(a.submit(&[net.charter(&a.key, &["GB"])]).0, 200);
    let unadmitted = |node: &TestNode| {
        node.network()["peers"]
            .as_array()
            .map_or(0, |peers| peers.iter().filter(|p| p["admitted"] == false).count())
    };
    let strangers: Vec<SilentPeer> = (0..4).map(|_| SilentPeer::connect(&a.p2p_addr())).collect();
    wait_until(LIMIT, "strangers connected", || unadmitted(&a) >= 2);
    for _ in 0..20 {
        assert!(unadmitted(&a) <= 2, "{}", a.network());
        std::thread::sleep(Duration::from_millis(50));
    }
    // A node whose charter A holds is admitted on connection: strangers
    // never take its place.
    let b = TestNode::start_peer(&net, &[], &[]);
    assert_eq!(a.submit(&[net.charter(&b.key, &[])]).0, 200);
    b.dial(&a.p2p_addr());
    wait_until(LIMIT, "the chartered node admitted both ways", || {
        a.admitted_peers() == 1 && b.admitted_peers() == 1
    });
    assert!(unadmitted(&a) <= 2, "{}", a.network());
    drop(strangers);
}

/// A node started while its bootstrap peer is not up yet connects to it
/// once it is: the bootstrap address is dialled again with backoff.
/// Before, it was dialled once at start, and a node whose bootstrap peer
/// was down stayed alone until some other node dialled it.
#[test]
fn a_node_whose_bootstrap_peer_starts_later_connects_when_it_does() {
    let net = Network::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("/ip4/127.0.0.1/tcp/{port}");
    let b = TestNode::start_peer(&net, std::slice::from_ref(&listen), &[]);
    // B's first dial finds nothing listening.
    std::thread::sleep(Duration::from_millis(1500));
    let a = TestNode::start_peer_listening(&net, &[&listen], &[], &["GB"]);
    wait_until(LIMIT, "B to find A once A is up", || {
        a.admitted_peers() == 1 && b.admitted_peers() == 1
    });
}
