//! Retraction on real nodes: an author takes back a post or a vote, and
//! every node deletes it, a node that was down when it happened and a node
//! that joins afterwards included; the post sent again is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use curbside_protocol::testkit::key;
use curbside_protocol::{Body, Comment, EventId, Poll, Retraction, SecretKey, SignedEvent, Vote};
use curbside_tests::{Network, TestNode, wait_until};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);

/// A verifier and two relays, connected, with two attested doctors.
fn three_nodes(net: &Network) -> (Vec<TestNode>, SecretKey, SecretKey) {
    let first = TestNode::start_peer(net, &[], &["GB"]);
    let boot = vec![first.p2p_addr()];
    let nodes =
        vec![first, TestNode::start_peer(net, &boot, &[]), TestNode::start_peer(net, &boot, &[])];
    wait_until(LIMIT, "the first node to admit the others", || nodes[0].admitted_peers() == 2);
    let (author, colleague) = (key("retract-author"), key("retract-colleague"));
    nodes[0].attest(net, &author, "dr-author", &["cardiology"], "GB");
    nodes[0].attest(net, &colleague, "dr-colleague", &["cardiology"], "GB");
    // Retractions are valid from rules 2 on: the root raises them from now.
    let rules = net.rules_from_now(2);
    assert_eq!(nodes[0].submit(std::slice::from_ref(&rules)).0, 200);
    for n in &nodes {
        n.session_when_attested(net, &author);
        let token = n.session_when_attested(net, &colleague);
        wait_until(LIMIT, "the rules change to reach every node", || n.has(&rules.id(), &token));
    }
    (nodes, author, colleague)
}

fn retraction(net: &Network, author: &SecretKey, target: &SignedEvent) -> SignedEvent {
    net.sign(author, Body::Retraction(Retraction::of(target, "wrong patient details")))
}

/// The thread of `root` at `node`: `(depth, id, whether its content is shown)`.
fn thread(node: &TestNode, root: &EventId, token: &str) -> Vec<(u64, String, bool)> {
    let (status, body) = node.get(&format!("/v1/events/{root}/thread"), Some(token));
    assert_eq!(status, 200, "{body}");
    body["thread"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let shown = !e["event"].is_null();
            if !shown {
                assert_eq!(e["retracted"]["placeholder"], "[retracted by its author]", "{e}");
            }
            (e["depth"].as_u64().unwrap(), e["id"].as_str().unwrap().to_string(), shown)
        })
        .collect()
}

fn feed_ids(node: &TestNode, token: &str) -> Vec<String> {
    let (status, body) = node.get("/v1/hubs/general/feed", Some(token));
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().into()).collect()
}

/// Gone from `node`: not served, not in the feed, a placeholder in its
/// thread above the reply, which stays.
fn gone_from(node: &TestNode, post: &SignedEvent, reply: &SignedEvent, token: &str) -> bool {
    let (status, _) = node.get(&format!("/v1/events/{}", post.id()), Some(token));
    status == 404
        && !feed_ids(node, token).contains(&post.id().to_string())
        && thread(node, &post.id(), token)
            == vec![(0, post.id().to_string(), false), (1, reply.id().to_string(), true)]
}

#[test]
fn a_retracted_post_is_gone_from_every_node_and_never_comes_back() {
    let net = Network::new();
    let (mut nodes, author, colleague) = three_nodes(&net);
    let tokens: Vec<String> = nodes.iter().map(|n| n.session(&net, &colleague).unwrap()).collect();
    let post = net.post(&author, "Syncope in a young athlete");
    let reply = net.sign(
        &colleague,
        Body::Comment(Comment { parent: post.id(), body: "Check the QTc.".into() }),
    );
    assert_eq!(nodes[1].submit(&[post.clone(), reply.clone()]).0, 200);
    for (n, t) in nodes.iter().zip(&tokens) {
        wait_until(LIMIT, "the post and reply to reach every node", || {
            n.has(&post.id(), t) && n.has(&reply.id(), t)
        });
        assert!(feed_ids(n, t).contains(&post.id().to_string()));
    }

    // The third node is down when the author retracts (at the second).
    let down = nodes.pop().unwrap().stop();
    let retract = retraction(&net, &author, &post);
    let (status, body) = nodes[1].submit(std::slice::from_ref(&retract));
    assert_eq!(status, 200, "{body}");
    for (n, t) in nodes.iter().zip(&tokens) {
        wait_until(LIMIT, "the post to be gone", || gone_from(n, &post, &reply, t));
    }
    // Sent again (a replay, a slow peer): refused with its own code.
    let (status, body) = nodes[0].submit(std::slice::from_ref(&post));
    assert_eq!((status, body["code"].as_str()), (422, Some("retracted")), "{body}");

    // The node that was down comes back holding the post: it learns of the
    // retraction by sync and deletes it too.
    assert_eq!(down.holds(&post.id()), (true, true));
    let back = down.start();
    let token = back.session(&net, &colleague).unwrap(); // sessions end with a restart
    wait_until(LIMIT, "the returning node to delete it", || {
        gone_from(&back, &post, &reply, &token)
    });
    // A node that joins afterwards never holds it, and still shows the
    // reply under the placeholder.
    let fresh = TestNode::start_peer(&net, &[nodes[0].p2p_addr(), back.p2p_addr()], &[]);
    let token = fresh.session_when_attested(&net, &colleague);
    wait_until(LIMIT, "the new node to sync the thread", || {
        fresh.has(&reply.id(), &token) && gone_from(&fresh, &post, &reply, &token)
    });
    let fresh = fresh.stop();
    assert_eq!(fresh.holds(&post.id()), (false, true), "the new node never stored it");
    let back = back.stop();
    assert_eq!(back.holds(&post.id()), (false, true), "the returning node deleted it");
    for n in nodes {
        assert_eq!(n.stop().holds(&post.id()), (false, true));
    }
}

fn tally(node: &TestNode, poll: &EventId, token: &str) -> Option<Vec<u64>> {
    let (status, body): (u16, Value) = node.get(&format!("/v1/polls/{poll}/tally"), Some(token));
    (status == 200).then(|| {
        body["tally"]["counts"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).collect()
    })
}

#[test]
fn a_retracted_vote_leaves_the_tally_on_every_node() {
    let net = Network::new();
    let (nodes, author, colleague) = three_nodes(&net);
    let tokens: Vec<String> = nodes.iter().map(|n| n.session(&net, &colleague).unwrap()).collect();
    let poll = net.sign(
        &author,
        Body::Poll(Poll {
            hub: "general".parse().unwrap(),
            question: "Anticoagulate?".into(),
            options: vec!["yes".into(), "no".into()],
            closes_at: curbside_node::now().plus_days(1),
            eligible: vec![],
        }),
    );
    let mine = net.sign(&author, Body::Vote(Vote { poll: poll.id(), option: 0 }));
    let theirs = net.sign(&colleague, Body::Vote(Vote { poll: poll.id(), option: 1 }));
    assert_eq!(nodes[0].submit(&[poll.clone(), mine.clone(), theirs]).0, 200);
    for (n, t) in nodes.iter().zip(&tokens) {
        wait_until(LIMIT, "both votes to count everywhere", || {
            tally(n, &poll.id(), t) == Some(vec![1, 1])
        });
    }
    let (status, body) = nodes[2].submit(&[retraction(&net, &author, &mine)]);
    assert_eq!(status, 200, "{body}");
    for (n, t) in nodes.iter().zip(&tokens) {
        wait_until(LIMIT, "the retracted vote to leave every tally", || {
            tally(n, &poll.id(), t) == Some(vec![0, 1])
        });
    }
    // Sent again, the vote is refused and the tally stays.
    let (status, body) = nodes[1].submit(std::slice::from_ref(&mine));
    assert_eq!((status, body["code"].as_str()), (422, Some("retracted")), "{body}");
    assert_eq!(tally(&nodes[1], &poll.id(), &tokens[1]), Some(vec![0, 1]));
}
