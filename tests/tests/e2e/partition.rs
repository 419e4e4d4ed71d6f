//! Partitions in real network namespaces: each node's peer-to-peer side
//! runs in a namespace of its own, wired to one of two bridges joined by a
//! trunk (`curbside_tests::netns`); a partition takes the trunk down and
//! healing brings it up. Needs root; without it the tests say so and skip
//! (set `CURBSIDE_REQUIRE_NETNS=1` to make them fail instead).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use curbside_protocol::{EventId, SecretKey, SignedEvent, testkit::key};
use curbside_tests::netns::{self, Lab};
use curbside_tests::{Network, TestNode, wait_until};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);

/// The lab, or `None` (with the reason printed) where namespaces cannot be
/// made and the run does not require them.
fn lab(left: usize, right: usize) -> Option<Lab> {
    match Lab::two_sides(left, right) {
        Ok(lab) => Some(lab),
        Err(why) if !netns::required() => {
            eprintln!(
                "SKIPPED: {why}. Partition tests need root (CAP_NET_ADMIN) and iproute2; \
                 set {}=1 to fail instead of skipping.",
                netns::REQUIRE_VAR
            );
            None
        }
        Err(why) => panic!("{why} ({} is set)", netns::REQUIRE_VAR),
    }
}

/// One node per host of `lab`, each dialling every node started before it
/// (so each side is fully connected on its own, and across the trunk); the
/// first verifies in `GB`. Waits until every node admitted all the others.
fn start_nodes(
    lab: &Lab,
    net: &Network,
    tweak: fn(&mut curbside_node::config::NodeConfig),
) -> Vec<TestNode> {
    let mut nodes: Vec<TestNode> = Vec::new();
    let mut addrs: Vec<String> = Vec::new();
    for (i, host) in lab.hosts().iter().enumerate() {
        let verify: &[&str] = if i == 0 { &["GB"] } else { &[] };
        let node =
            TestNode::start_in_netns(net, &host.path, &host.listen_addr(), &addrs, verify, tweak);
        let addr = node.p2p_addr();
        assert!(addr.contains(&host.ip), "listening in its namespace: {addr}");
        addrs.push(addr);
        nodes.push(node);
    }
    let others = nodes.len() - 1;
    wait_until(LIMIT, "every node to admit every other", || {
        nodes.iter().all(|n| n.admitted_peers() == others)
    });
    nodes
}

/// How long to keep the partition beyond the steps made in it:
/// `CURBSIDE_PARTITION_HOLD_SECS` (none by default), to see how the time
/// to converge grows with the partition's length.
fn hold() -> Duration {
    std::env::var("CURBSIDE_PARTITION_HOLD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::ZERO, Duration::from_secs)
}

/// The TCP address `node` listens for peers on.
fn socket(node: &TestNode) -> std::net::SocketAddr {
    let addr = node.p2p_addr();
    let parts: Vec<&str> = addr.split('/').collect();
    // ["", "ip4", IP, "tcp", PORT, "p2p", ID]
    format!("{}:{}", parts[2], parts[4]).parse().unwrap()
}

/// A session for `who` at `node`, or the refusal's (status, code).
fn session(node: &TestNode, net: &Network, who: &SecretKey) -> Result<String, (u16, String)> {
    node.session(net, who).map_err(|(status, body)| (status, code(&body)))
}

/// Waits for `who`'s attestation to reach `node`; a session token.
fn session_when_attested(node: &TestNode, net: &Network, who: &SecretKey) -> String {
    let mut token = None;
    wait_until(LIMIT, "an attestation to arrive", || {
        token = session(node, net, who).ok();
        token.is_some()
    });
    token.unwrap()
}

fn code(body: &Value) -> String {
    body["code"].as_str().unwrap_or_default().to_string()
}

/// Submits one event: (status, code of the first refusal or "").
fn submit(node: &TestNode, event: &SignedEvent) -> (u16, String) {
    let (status, body) = node.submit(std::slice::from_ref(event));
    (status, code(&body))
}

/// `who`'s attestations as `node` sees them, read with `token`.
fn attestation(node: &TestNode, who: &SecretKey, token: &str) -> Value {
    let (status, body) = node.get(&format!("/v1/keys/{}/attestation", who.public()), Some(token));
    assert_eq!(status, 200, "{body}");
    body
}

/// Whether the revocation of `who`'s only attestation holds at `node`: no
/// session (403 `not_attested`), a fresh post refused with
/// `attestation_revoked`, and the attestation shown revoked.
fn revocation_holds(node: &TestNode, net: &Network, who: &SecretKey, reader: &str) -> bool {
    if session(node, net, who) != Err((403, "not_attested".into())) {
        return false;
    }
    let status = attestation(node, who, reader);
    if status["attested"] != json!(false) || status["attestations"][0]["revoked_at"].is_null() {
        return false;
    }
    submit(node, &net.post(who, "After the revocation")) == (422, "attestation_revoked".into())
}

/// Six nodes, three a side; physicians attested at the verifier (left);
/// the trunk cut; posts on both sides, and the verifier revokes one
/// physician on its side; healed: every node ends with the same set of
/// events, and the revocation holds at every node.
#[test]
fn a_partitioned_network_converges_and_a_revocation_made_on_one_side_holds_everywhere() {
    let Some(lab) = lab(3, 3) else { return };
    let net = Network::new();
    // Default configuration: what a deployment would see.
    let nodes = start_nodes(&lab, &net, |_| {});
    let (left, right) = nodes.split_at(3);

    let revoked = key("partition-revoked");
    let reader = key("partition-reader");
    let attestation_id = left[0].attest(&net, &revoked, "dr-revoked", &["cardiology"], "GB");
    left[0].attest(&net, &reader, "dr-reader", &["oncology"], "GB");
    let tokens: Vec<String> =
        nodes.iter().map(|n| session_when_attested(n, &net, &reader)).collect();
    for node in &nodes {
        session_when_attested(node, &net, &revoked);
    }
    let mut posts: Vec<EventId> = Vec::new();
    let before = net.post(&revoked, "Before the split");
    assert_eq!(submit(&right[2], &before), (200, String::new()));
    posts.push(before.id());
    for (node, token) in nodes.iter().zip(&tokens) {
        wait_until(LIMIT, "the first post everywhere", || node.has(&before.id(), token));
    }

    // Split.
    lab.cut();
    let split = Instant::now();
    let hosts = lab.hosts();
    assert!(!lab.reaches(&hosts[0], socket(&right[0])), "the trunk is down");
    assert!(lab.reaches(&hosts[0], socket(&left[2])) && lab.reaches(&hosts[3], socket(&right[2])));

    // Both sides post; on the right the soon-revoked physician too (before
    // the revocation, so these stay valid: revocations are not retroactive).
    let mut left_posts = Vec::new();
    let mut right_posts = Vec::new();
    for (i, node) in left.iter().enumerate() {
        let e = net.post(&reader, &format!("Left {i}"));
        assert_eq!(submit(node, &e), (200, String::new()));
        left_posts.push(e.id());
    }
    for (i, node) in right.iter().enumerate() {
        let e = net.post(&reader, &format!("Right {i}"));
        assert_eq!(submit(node, &e), (200, String::new()));
        right_posts.push(e.id());
        let e = net.post(&revoked, &format!("Right {i}, before the revocation"));
        assert_eq!(submit(node, &e), (200, String::new()));
        right_posts.push(e.id());
    }

    // The verifier revokes on its side; the left learns it, the right cannot.
    let revocation = left[0].revoke(&attestation_id, "licence suspended");
    for (node, token) in left.iter().zip(&tokens) {
        wait_until(LIMIT, "the revocation across the left", || {
            revocation_holds(node, &net, &revoked, token)
        });
    }
    for (node, token) in right.iter().zip(&tokens[3..]) {
        assert!(session(node, &net, &revoked).is_ok(), "the right has not heard");
        assert!(!node.has(&revocation, token));
    }
    // Each side holds its own posts and none of the other's.
    for (node, token) in left.iter().zip(&tokens) {
        wait_until(LIMIT, "left posts across the left", || {
            left_posts.iter().all(|id| node.has(id, token))
        });
        assert!(right_posts.iter().all(|id| !node.has(id, token)), "the split held");
    }
    for (node, token) in right.iter().zip(&tokens[3..]) {
        wait_until(LIMIT, "right posts across the right", || {
            right_posts.iter().all(|id| node.has(id, token))
        });
        assert!(left_posts.iter().all(|id| !node.has(id, token)), "the split held");
    }
    posts.extend(&left_posts);
    posts.extend(&right_posts);
    posts.push(revocation);
    let hold = hold();
    if !hold.is_zero() {
        std::thread::sleep(hold);
    }
    eprintln!("the partition lasted {:?}", split.elapsed());

    // Heal, and time until every node holds every event the test made, the
    // revocation holds everywhere, and all six hold as many events (the
    // witnesses' cosignatures of the revocation's tree head included) for
    // a settled second.
    lab.heal();
    let healed = Instant::now();
    let mut settled: Option<(Duration, Vec<u64>)> = None;
    let (took, counts) = loop {
        let counts: Vec<u64> = nodes.iter().map(|n| n.event_count()).collect();
        let same = counts.iter().all(|c| *c == counts[0])
            && nodes.iter().zip(&tokens).all(|(node, token)| {
                posts.iter().all(|id| node.has(id, token))
                    && revocation_holds(node, &net, &revoked, token)
            });
        match &settled {
            _ if !same => settled = None,
            Some((at, seen)) if *seen == counts => {
                if healed.elapsed() - *at >= Duration::from_secs(1) {
                    break (*at, counts);
                }
            }
            _ => settled = Some((healed.elapsed(), counts)),
        }
        assert!(healed.elapsed() < LIMIT, "the six did not converge within {LIMIT:?} of the heal");
        std::thread::sleep(Duration::from_millis(25));
    };
    eprintln!("converged {took:?} after the heal, {} events at each node", counts[0]);

    // The same set, not just as many: read every store once the nodes stop.
    let sets: Vec<BTreeSet<EventId>> = nodes.into_iter().map(|n| n.stop().event_ids()).collect();
    for (i, set) in sets.iter().enumerate() {
        assert_eq!(set, &sets[0], "node {i} holds another set than node 0");
    }
    assert!(posts.iter().all(|id| sets[0].contains(id)));
    drop(lab);
}

/// The known limit (docs/SECURITY.md, "Partitions"): a post the revoked
/// physician makes after the revocation's effective time, on the side that
/// has not heard of it, is stored there; after the heal the other side
/// refuses it (every sync fetches it again and refuses it again), while the
/// side that took it keeps and serves it. Revocations do not purge.
#[test]
fn a_post_made_after_a_revocation_on_the_side_that_had_not_heard_stays_there() {
    let Some(lab) = lab(1, 1) else { return };
    let net = Network::new();
    let nodes = start_nodes(&lab, &net, |c| {
        if let Some(n) = c.net.as_mut() {
            n.sync_every = Duration::from_secs(1);
        }
    });
    let (left, right) = (&nodes[0], &nodes[1]);
    let revoked = key("limit-revoked");
    let reader = key("limit-reader");
    let attestation_id = left.attest(&net, &revoked, "dr-late", &["cardiology"], "GB");
    left.attest(&net, &reader, "dr-watch", &["oncology"], "GB");
    let tokens: Vec<String> =
        nodes.iter().map(|n| session_when_attested(n, &net, &reader)).collect();
    session_when_attested(right, &net, &revoked);

    lab.cut();
    let revocation = left.revoke(&attestation_id, "licence suspended");
    wait_until(LIMIT, "the revocation at the left", || {
        revocation_holds(left, &net, &revoked, &tokens[0])
    });
    // Signed after the revocation took effect; the right cannot know.
    std::thread::sleep(Duration::from_millis(5));
    let late = net.post(&revoked, "Made after the revocation");
    assert_eq!(submit(right, &late), (200, String::new()), "the right has not heard");
    assert_eq!(submit(left, &late), (422, "attestation_revoked".into()));

    lab.heal();
    wait_until(LIMIT, "the revocation at the right", || {
        revocation_holds(right, &net, &revoked, &tokens[1])
    });
    assert!(left.has(&revocation, &tokens[0]) && right.has(&revocation, &tokens[1]));
    // A sync after the heal: the left finds the late post missing, fetches
    // it and refuses it.
    wait_until(LIMIT, "the left to fetch and refuse the late post", || {
        let peers = left.network()["peers"].clone();
        peers[0]["last_sync"]["needed"] == json!(1)
            && peers[0]["last_sync"]["fetched"] == json!(1)
            && peers[0]["last_sync"]["stored"] == json!(0)
    });
    assert!(!left.has(&late.id(), &tokens[0]), "refused at the side that knew");
    assert!(right.has(&late.id(), &tokens[1]), "kept (and served) where it was taken");
    wait_until(LIMIT, "the sides to differ by that one post only", || {
        right.event_count() == left.event_count() + 1
    });
    drop(nodes);
    drop(lab);
}
