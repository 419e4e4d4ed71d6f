//! Federation over libp2p: real nodes on 127.0.0.1 gossiping and syncing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use curbside_protocol::{Body, Comment, Post, Revocation, testkit::key};
use curbside_tests::{Network, TestNode, wait_until};

const LIMIT: Duration = Duration::from_secs(30);

fn post(
    net: &Network,
    who: &curbside_protocol::SecretKey,
    title: &str,
) -> curbside_protocol::SignedEvent {
    net.sign(
        who,
        Body::Post(Post {
            hub: "general".parse().unwrap(),
            title: title.into(),
            body: "Thoughts?".into(),
        }),
    )
}

/// Five nodes, four bootstrapping to the first: every node admits peers,
/// and an event submitted at one reaches all five.
#[test]
fn an_event_submitted_at_one_node_reaches_all_five() {
    let net = Network::new();
    let first = TestNode::start_peer(&net, &[], &["GB"]);
    let boot = vec![first.p2p_addr()];
    let mut nodes = vec![first];
    for _ in 0..4 {
        nodes.push(TestNode::start_peer(&net, &boot, &[]));
    }
    wait_until(LIMIT, "the first node to admit the other four", || nodes[0].admitted_peers() == 4);
    wait_until(LIMIT, "every node to admit a peer", || {
        nodes.iter().all(|n| n.admitted_peers() >= 1)
    });

    let doctor = key("fed-doctor");
    nodes[0].attest(&net, &doctor, "dr-fed", &["cardiology"], "GB");
    let token_at = |n: &TestNode| n.session(&net, &doctor).ok();
    // The attestation travels first (trust topic); then a post from node 3.
    let tokens: Vec<String> = nodes
        .iter()
        .map(|n| {
            let mut token = None;
            wait_until(LIMIT, "the attestation to reach every node", || {
                token = token_at(n);
                token.is_some()
            });
            token.unwrap()
        })
        .collect();
    let event = post(&net, &doctor, "Gossip reaches everyone");
    let (status, body) = nodes[3].submit(std::slice::from_ref(&event));
    assert_eq!(status, 200, "{body}");
    for (node, token) in nodes.iter().zip(&tokens) {
        wait_until(LIMIT, "the post to reach every node", || node.has(&event.id(), token));
    }
    // Each node counts what it stored by where it came from.
    let accepted = |n: &TestNode, source: &str| {
        n.metric(&format!("curbside_events_accepted_total{{source=\"{source}\"}}")).unwrap_or(0.0)
    };
    assert!(accepted(&nodes[3], "api") >= 1.0);
    for (i, node) in nodes.iter().enumerate().filter(|(i, _)| *i != 3) {
        let relayed = accepted(node, "gossip") + accepted(node, "sync");
        assert!(relayed >= 2.0, "node {i} counts the attestation and the post it was sent");
    }
}

/// A comment submitted to a node that has not seen its parent: the node
/// asks its peers, and refuses it (`unknown_event`) while none has the
/// parent, rather than hold it for nothing; once a peer has it, the
/// comment is stored with its parent, fetched from that peer at once.
#[test]
fn out_of_order_arrival_resolves() {
    let net = Network::new();
    let a = TestNode::start_peer(&net, &[], &["GB"]);
    let b = TestNode::start_peer(&net, &[a.p2p_addr()], &[]);
    wait_until(LIMIT, "the nodes to admit each other", || {
        a.admitted_peers() == 1 && b.admitted_peers() == 1
    });

    // Attest at A, and sign a post and a comment on it, without telling B.
    let doctor = key("ooo-doctor");
    a.attest(&net, &doctor, "dr-ooo", &["oncology"], "GB");
    let root = post(&net, &doctor, "Parent");
    let reply =
        net.sign(&doctor, Body::Comment(Comment { parent: root.id(), body: "Child".into() }));
    // B gets the comment before anyone has the post: B asks its peer, which
    // lacks it too, so the comment is refused rather than held for nothing.
    let token = b.session_when_attested(&net, &doctor);
    let (status, body) = b.submit(std::slice::from_ref(&reply));
    assert_eq!(status, 422, "no node holds its parent: {body}");
    assert_eq!(body["code"], "unknown_event", "{body}");
    assert_eq!(b.get("/v1/status", None).1["pending"], 0, "and it is not held: {body}");
    // Once A has the post, the comment sent to B fetches it from A at once.
    let (status, body) = a.submit(std::slice::from_ref(&root));
    assert_eq!(status, 200, "{body}");
    let (status, body) = b.submit(std::slice::from_ref(&reply));
    assert_eq!(status, 200, "stored with its parent, fetched from A: {body}");
    assert!(b.has(&root.id(), &token) && b.has(&reply.id(), &token));
}

fn blocked_code(node: &TestNode, peer_id: &str) -> Option<String> {
    node.network()["blocked"]
        .as_array()?
        .iter()
        .find(|b| b["peer_id"] == peer_id)
        .map(|b| b["code"].as_str().unwrap_or_default().to_string())
}

fn peer_id(node: &TestNode) -> String {
    node.network()["peer_id"].as_str().unwrap().to_string()
}

/// A node no charter names is refused (blocked, never admitted), and a
/// peer whose charter the root revokes is dropped.
#[test]
fn peers_without_a_valid_charter_are_refused() {
    let net = Network::new();
    let quick = |c: &mut curbside_node::config::NodeConfig| {
        if let Some(n) = c.net.as_mut() {
            n.admission_timeout = Duration::from_secs(2);
        }
    };
    let a = TestNode::start_unchartered(&[], &net, quick);
    let charter_a = net.charter(&a.key, &["GB"]);
    assert_eq!(a.submit(&[charter_a]).0, 200);

    let stranger = TestNode::start_unchartered(&[a.p2p_addr()], &net, quick);
    let stranger_id = peer_id(&stranger);
    wait_until(LIMIT, "the stranger to be refused", || {
        blocked_code(&a, &stranger_id).as_deref() == Some("not_chartered")
    });
    assert_eq!(a.admitted_peers(), 0);

    let b = TestNode::start_unchartered(&[a.p2p_addr()], &net, quick);
    let charter_b = net.charter(&b.key, &[]);
    assert_eq!(b.submit(std::slice::from_ref(&charter_b)).0, 200);
    let b_id = peer_id(&b);
    wait_until(LIMIT, "B admitted by A", || a.admitted_peers() == 1);

    // The root revokes B's charter, at A, from the moment it is made (one
    // instant for both: a revocation effective before it was made is
    // refused as retroactive, and two clock reads can straddle a tick).
    let at = curbside_node::now();
    let revocation = net.sign_at(
        &net.root,
        Body::Revocation(Revocation {
            target: charter_b.id(),
            reason: "institution closed".into(),
            effective_at: at,
        }),
        at,
    );
    let (status, body) = a.submit(&[revocation]);
    assert_eq!(status, 200, "{body}");
    wait_until(LIMIT, "B dropped by A", || {
        blocked_code(&a, &b_id).as_deref() == Some("charter_revoked")
    });
    assert_eq!(a.admitted_peers(), 0);
}

/// A node stopped while the others post, then restarted with no bootstrap
/// address, finds its peers again and ends with the same events.
#[test]
fn a_restarted_node_catches_up() {
    let net = Network::new();
    let a = TestNode::start_peer(&net, &[], &["GB"]);
    let boot = [a.p2p_addr()];
    let b = TestNode::start_peer(&net, &boot, &[]);
    let c = TestNode::start_peer(&net, &boot, &[]);
    wait_until(LIMIT, "A to admit B and C", || a.admitted_peers() == 2);
    let doctor = key("restart-doctor");
    a.attest(&net, &doctor, "dr-restart", &["general-practice"], "GB");
    let before = post(&net, &doctor, "Before the outage");
    // Post at B once the attestation made at A has reached it.
    b.session_when_attested(&net, &doctor);
    assert_eq!(b.submit(std::slice::from_ref(&before)).0, 200);
    let token_c = c.session_when_attested(&net, &doctor);
    wait_until(LIMIT, "C to have the first post", || c.has(&before.id(), &token_c));

    let stopped = c.stop();
    let during: Vec<_> =
        (0..20).map(|i| post(&net, &doctor, &format!("During the outage {i}"))).collect();
    assert_eq!(a.submit(&during[..10]).0, 200);
    assert_eq!(b.submit(&during[10..]).0, 200);
    wait_until(LIMIT, "A and B to agree", || a.event_count() == b.event_count());

    let c = stopped.start();
    let took = wait_until(LIMIT, "C to catch up", || c.event_count() == a.event_count());
    let token_c = c.session_when_attested(&net, &doctor);
    assert!(during.iter().all(|e| c.has(&e.id(), &token_c)));
    eprintln!("caught up in {took:?}");
}

/// Six nodes in two groups of three, each group posting on its own; when
/// the groups are joined every node ends with the same events.
#[test]
fn two_groups_converge_when_joined() {
    let net = Network::new();
    let left0 = TestNode::start_peer(&net, &[], &["GB"]);
    let right0 = TestNode::start_peer(&net, &[], &["IE"]);
    let left_boot = [left0.p2p_addr()];
    let right_boot = [right0.p2p_addr()];
    let left = [
        left0,
        TestNode::start_peer(&net, &left_boot, &[]),
        TestNode::start_peer(&net, &left_boot, &[]),
    ];
    let right = [
        right0,
        TestNode::start_peer(&net, &right_boot, &[]),
        TestNode::start_peer(&net, &right_boot, &[]),
    ];
    wait_until(LIMIT, "each group to form", || {
        left[0].admitted_peers() == 2 && right[0].admitted_peers() == 2
    });

    let (dl, dr) = (key("left-doctor"), key("right-doctor"));
    left[0].attest(&net, &dl, "dr-left", &["cardiology"], "GB");
    right[0].attest(&net, &dr, "dr-right", &["oncology"], "IE");
    let mut posts = Vec::new();
    for (i, node) in left.iter().enumerate() {
        node.session_when_attested(&net, &dl);
        let e = post(&net, &dl, &format!("Left {i}"));
        assert_eq!(node.submit(std::slice::from_ref(&e)).0, 200);
        posts.push(e);
    }
    for (i, node) in right.iter().enumerate() {
        node.session_when_attested(&net, &dr);
        let e = post(&net, &dr, &format!("Right {i}"));
        assert_eq!(node.submit(std::slice::from_ref(&e)).0, 200);
        posts.push(e);
    }
    // Apart, neither side has the other's events.
    let token_left = left[0].session_when_attested(&net, &dl);
    assert!(!left[0].has(&posts[3].id(), &token_left));

    left[0].dial(&right[0].p2p_addr());
    let all: Vec<&TestNode> = left.iter().chain(right.iter()).collect();
    let tokens: Vec<String> = all.iter().map(|n| n.session_when_attested(&net, &dl)).collect();
    // Every post everywhere, and the same number of events at every node
    // (charters, attestations, their tree heads, cosignatures, posts; the
    // witnesses keep cosigning for a moment after the join).
    let took = wait_until(LIMIT, "all six to converge", || {
        let first = all[0].event_count();
        all.iter().zip(&tokens).all(|(n, token)| {
            n.event_count() == first && posts.iter().all(|e| n.has(&e.id(), token))
        })
    });
    assert!(all[0].event_count() >= 6 + 2 + 2 + 6);
    eprintln!("converged in {took:?}");
}

/// Whether `node` has the peer `peer_id` in its gossip mesh.
fn meshes(node: &TestNode, peer_id: &str) -> bool {
    node.network()["peers"]
        .as_array()
        .is_some_and(|peers| peers.iter().any(|p| p["peer_id"] == peer_id && p["meshed"] == true))
}

/// A joins C where A has already seen C's charter and C has not seen A's.
/// Were A to graft C at once, C (still checking A) would refuse, and
/// gossipsub would keep the two out of each other's mesh for its
/// one-minute prune backoff. Admission is mutual, so neither grafts before
/// both have admitted: the two are meshed within moments, and a post at A
/// reaches C by gossip, with no periodic sync to help.
#[test]
fn a_peer_is_meshed_at_once_when_only_one_side_knew_the_others_charter() {
    let net = Network::new();
    let no_periodic_sync = |c: &mut curbside_node::config::NodeConfig| {
        if let Some(n) = c.net.as_mut() {
            n.sync_every = Duration::from_secs(3600);
        }
    };
    let a = TestNode::start_unchartered(&[], &net, no_periodic_sync);
    let a_charter = net.charter(&a.key, &["GB"]);
    assert_eq!(a.submit(std::slice::from_ref(&a_charter)).0, 200);
    let doctor = key("mesh-doctor");
    a.attest(&net, &doctor, "dr-mesh", &["oncology"], "GB");
    let c = TestNode::start_unchartered(&[], &net, no_periodic_sync);
    let c_charter = net.charter(&c.key, &[]);
    for node in [&c, &a] {
        assert_eq!(node.submit(std::slice::from_ref(&c_charter)).0, 200);
    }

    c.dial(&a.p2p_addr());
    wait_until(LIMIT, "A and C admitted both ways", || {
        a.admitted_peers() == 1 && c.admitted_peers() == 1
    });
    let took = wait_until(LIMIT, "A and C in each other's mesh", || {
        meshes(&a, &peer_id(&c)) && meshes(&c, &peer_id(&a))
    });
    assert!(took < Duration::from_secs(10), "meshed after {took:?}, not at once");

    let token = c.session_when_attested(&net, &doctor);
    // The sync on admission has finished (or it could carry the post).
    wait_until(LIMIT, "C's first sync with A", || {
        c.network()["peers"].as_array().is_some_and(|peers| {
            peers.iter().any(|p| p["syncing"].is_null() && !p["last_sync"].is_null())
        })
    });
    // Pushed, not pulled: stored from gossip, or held from gossip until
    // C's witness had checked the head that logs the doctor's attestation
    // and then released (a loaded machine's witness can be that slow), but
    // never fetched by a sync.
    let from = |source: &str| {
        c.metric(&format!("curbside_events_accepted_total{{source=\"{source}\"}}")).unwrap_or(0.0)
    };
    let counts = || (from("gossip") + from("released"), from("sync"));
    let (pushed, synced) = counts();
    let event = post(&net, &doctor, "Pushed, not pulled");
    assert_eq!(a.submit(std::slice::from_ref(&event)).0, 200);
    wait_until(LIMIT, "the post at C", || c.has(&event.id(), &token));
    // Counted once the ingest thread reports the commit, a moment after
    // the post can be read.
    wait_until(LIMIT, "the post counted at C", || {
        let (p, s) = counts();
        p + s > pushed + synced
    });
    let (pushed_now, synced_now) = counts();
    assert_eq!(
        (pushed_now - pushed, synced_now - synced),
        (1.0, 0.0),
        "C stored the post from gossip (from gossip or released: {pushed} then {pushed_now}; \
         from sync: {synced} then {synced_now})"
    );
}

const QUIC: &str = "/ip4/127.0.0.1/udp/0/quic-v1";

/// Whether every address in `addresses` (a JSON array) is a QUIC one.
fn all_quic(addresses: &serde_json::Value) -> bool {
    addresses.as_array().is_some_and(|a| {
        !a.is_empty()
            && a.iter()
                .all(|x| x.as_str().is_some_and(|s| s.contains("/udp/") && s.contains("/quic-v1")))
    })
}

/// Three nodes that listen on QUIC only and bootstrap to a QUIC address:
/// an event submitted at one reaches the others, and a node that was
/// offline catches up by sync, all over QUIC.
#[test]
fn nodes_reached_over_quic_only_gossip_and_catch_up() {
    let net = Network::new();
    let a = TestNode::start_peer_listening(&net, &[QUIC], &[], &["GB"]);
    let boot = [a.p2p_addr()];
    assert!(boot[0].contains("/udp/") && boot[0].contains("/quic-v1/p2p/"), "{}", boot[0]);
    let b = TestNode::start_peer_listening(&net, &[QUIC], &boot, &[]);
    let c = TestNode::start_peer_listening(&net, &[QUIC], &boot, &[]);
    wait_until(LIMIT, "A to admit B and C", || a.admitted_peers() == 2);
    for node in [&a, &b, &c] {
        let network = node.network();
        assert!(all_quic(&network["listening"]), "{network}");
        for peer in network["peers"].as_array().unwrap() {
            assert!(all_quic(&peer["addresses"]), "a peer reached other than by QUIC: {peer}");
        }
    }

    let doctor = key("quic-doctor");
    a.attest(&net, &doctor, "dr-quic", &["cardiology"], "GB");
    let token_b = b.session_when_attested(&net, &doctor);
    let token_c = c.session_when_attested(&net, &doctor);
    let first = post(&net, &doctor, "Over QUIC");
    assert_eq!(b.submit(std::slice::from_ref(&first)).0, 200);
    wait_until(LIMIT, "the post to reach C", || c.has(&first.id(), &token_c));
    let token_a = a.session_when_attested(&net, &doctor);
    assert!(a.has(&first.id(), &token_a));

    let stopped = c.stop();
    let during: Vec<_> =
        (0..10).map(|i| post(&net, &doctor, &format!("While C is away {i}"))).collect();
    assert_eq!(a.submit(&during[..5]).0, 200);
    assert_eq!(b.submit(&during[5..]).0, 200);
    wait_until(LIMIT, "A and B to agree", || {
        a.event_count() == b.event_count() && during.iter().all(|e| b.has(&e.id(), &token_b))
    });

    // C comes back on a new QUIC port with no bootstrap address: it dials
    // the QUIC addresses it saved, and sync brings what it missed.
    let c = stopped.start();
    let took = wait_until(LIMIT, "C to catch up", || c.event_count() == a.event_count());
    let token_c = c.session_when_attested(&net, &doctor);
    assert!(during.iter().all(|e| c.has(&e.id(), &token_c)));
    let synced = c.metric("curbside_events_accepted_total{source=\"sync\"}").unwrap_or(0.0);
    assert!(synced >= during.len() as f64, "C stored {synced} events by sync");
    let network = c.network();
    assert!(all_quic(&network["listening"]), "{network}");
    assert!(network["peers"].as_array().is_some_and(|p| !p.is_empty()), "{network}");
    for peer in network["peers"].as_array().unwrap() {
        assert!(all_quic(&peer["addresses"]), "a peer reached other than by QUIC: {peer}");
    }
    eprintln!("caught up over QUIC in {took:?}");
}

/// `curbside node sync` against `node`, with its admin token.
fn node_sync(node: &TestNode) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let token = home.path().join("admin.token");
    std::fs::write(&token, &node.admin_token).unwrap();
    std::process::Command::new(curbside_tests::curbside_bin())
        .arg("--home")
        .arg(home.path())
        .args(["--json", "node", "sync", "--timeout", "1m"])
        .arg("--token-file")
        .arg(&token)
        .args(["--node", &node.url])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// Issue 16: a node that came up while its peer already held events is
/// asked to sync now (`curbside node sync`); the command shows the round
/// until it ends, and then, with no more waiting, the node holds all its
/// peer holds. A node with no peer says so (`no_peers`), and `node status`
/// shows the last round.
#[test]
fn node_sync_on_a_late_node_completes_a_round_and_then_it_holds_the_events() {
    let net = Network::new();
    // A takes 1,500 posts from one physician (more than the default
    // burst), so B's first sync with A is still fetching when the round
    // is asked for.
    let a = TestNode::start_unchartered(&[], &net, |c| {
        c.author_limit.per_minute = 100_000;
        c.author_limit.burst = 100_000;
    });
    assert_eq!(a.submit(&[net.charter(&a.key, &["GB"])]).0, 200);
    let doctor = key("sync-doctor");
    a.attest(&net, &doctor, "dr-sync", &["general-practice"], "GB");
    let posts: Vec<_> =
        (0..1_500).map(|i| post(&net, &doctor, &format!("Held at A {i}"))).collect();
    for batch in posts.chunks(500) {
        assert_eq!(a.submit(batch).0, 200);
    }

    let b = TestNode::start_peer(&net, &[], &[]);
    let alone = node_sync(&b);
    let stdout = String::from_utf8(alone.stdout).unwrap();
    assert_eq!(alone.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("no_peers"), "{stdout}");

    // Asked for as soon as B admits A: a sync that was running then may
    // have missed what the operator wants, so the round waits for one it
    // started itself, and when it ends B holds all A holds.
    b.dial(&a.p2p_addr());
    wait_until(LIMIT, "B to admit A", || b.admitted_peers() == 1);
    // Asked for through the API, then by the command: one round at a
    // time, so the command joins the first while it runs (it waits for B's
    // first sync with A to end, then syncs again), else runs the next.
    let (status, first) = b.post("/v1/admin/sync", &serde_json::json!({}), Some(&b.admin_token));
    assert_eq!((status, &first["joined"]), (202, &serde_json::json!(false)), "{first}");
    let first_id = first["round"]["id"].as_u64().unwrap();
    let out = node_sync(&b);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let answer: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let round = &answer["round"];
    let expected = if answer["joined"] == true { first_id } else { first_id + 1 };
    assert_eq!(round["id"].as_u64(), Some(expected), "{stdout}");
    eprintln!("joined the running round: {}", answer["joined"]);
    assert_eq!(round["peers"].as_array().unwrap().len(), 1, "{stdout}");
    assert_eq!(round["peers"][0]["peer_id"], a.network()["peer_id"], "{stdout}");
    assert_eq!(round["peers"][0]["state"], "done", "{stdout}");
    assert!(!round["finished_at"].is_null(), "{stdout}");
    assert_eq!(b.event_count(), a.event_count(), "B holds what A holds once the round ends");
    eprintln!("the round: {round}");

    let network = b.network();
    assert_eq!(network["last_sync_round"]["id"], round["id"], "{network}");
    assert!(network["sync_round"].is_null(), "{network}");
}

/// A node keeps at most `max_peers` admitted peers: five nodes all
/// bootstrapping to the first, which keeps two. The others find each other
/// (kademlia), the first closes what it has no room for (counted, not
/// blocked), and a post made anywhere still reaches every node.
#[test]
fn a_node_keeps_at_most_max_peers_and_every_post_still_reaches_everyone() {
    let net = Network::new();
    let two = |c: &mut curbside_node::config::NodeConfig| {
        if let Some(n) = c.net.as_mut() {
            n.max_peers = 2;
        }
    };
    let first = TestNode::start_unchartered(&[], &net, two);
    assert_eq!(first.submit(&[net.charter(&first.key, &["GB"])]).0, 200);
    let boot = vec![first.p2p_addr()];
    let others: Vec<TestNode> = (0..4).map(|_| TestNode::start_peer(&net, &boot, &[])).collect();
    let pruned = |n: &TestNode| n.metric("curbside_peers_pruned_total").unwrap_or(0.0);
    wait_until(LIMIT, "the first node to close a connection it has no room for", || {
        pruned(&first) >= 1.0
    });
    wait_until(LIMIT, "every other node to admit another besides the first", || {
        others.iter().all(|n| n.admitted_peers() >= 2)
    });
    wait_until(LIMIT, "the first node to keep at most two peers", || first.admitted_peers() <= 2);
    // Closed, not blocked: nobody is refused.
    assert!(blocked_code(&first, &peer_id(&others[0])).is_none());

    let doctor = key("bounded-doctor");
    first.attest(&net, &doctor, "dr-bounded", &["cardiology"], "GB");
    let mut tokens = Vec::new();
    for node in std::iter::once(&first).chain(&others) {
        let mut token = None;
        wait_until(LIMIT, "the attestation to reach every node", || {
            token = node.session(&net, &doctor).ok();
            token.is_some()
        });
        tokens.push(token.unwrap());
    }
    let event = post(&net, &doctor, "Bounded, and still everywhere");
    assert_eq!(others[3].submit(std::slice::from_ref(&event)).0, 200);
    for (node, token) in std::iter::once(&first).chain(&others).zip(&tokens) {
        wait_until(LIMIT, "the post to reach every node", || node.has(&event.id(), token));
    }
}
