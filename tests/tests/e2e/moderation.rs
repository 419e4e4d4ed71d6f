//! Moderation on real nodes: the root appoints a moderator for a hub; the
//! moderator's takedown holds on every node; a takedown by someone who is
//! not a moderator is refused everywhere.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use curbside_protocol::rules::RulesChange;
use curbside_protocol::testkit::key;
use curbside_protocol::{
    Appointment, Body, Comment, SecretKey, SignedEvent, Takedown, TakedownReason,
};
use curbside_tests::{Network, TestNode, wait_until};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(30);

fn takedown(net: &Network, by: &SecretKey, target: &SignedEvent) -> SignedEvent {
    net.sign(
        by,
        Body::Takedown(Takedown {
            target: target.id(),
            target_kind: target.kind(),
            target_author: *target.author(),
            target_created_at: target.created_at(),
            parent: None,
            hub: "general".parse().unwrap(),
            reason: TakedownReason::Phi,
            note: "names the patient".into(),
        }),
    )
}

/// Three nodes; an author, a moderator of `general` and another
/// physician, attested; rules 2 in force; each node's session for the
/// other physician.
struct Moderated {
    nodes: Vec<TestNode>,
    author: SecretKey,
    moderator: SecretKey,
    stranger: SecretKey,
    tokens: Vec<String>,
    appointment: SignedEvent,
}

fn moderated(net: &Network) -> Moderated {
    let first = TestNode::start_peer(net, &[], &["GB"]);
    let boot = vec![first.p2p_addr()];
    let nodes =
        vec![first, TestNode::start_peer(net, &boot, &[]), TestNode::start_peer(net, &boot, &[])];
    wait_until(LIMIT, "the first node to admit the others", || nodes[0].admitted_peers() == 2);
    let (author, moderator, stranger) = (key("mod-author"), key("mod-moderator"), key("mod-other"));
    for (k, h) in [(&author, "dr-author"), (&moderator, "dr-moderator"), (&stranger, "dr-other")] {
        nodes[0].attest(net, k, h, &["cardiology"], "GB");
    }
    // The root raises the rules to 2 and appoints the moderator for `general`.
    let now = curbside_node::now();
    let rules =
        net.sign_at(&net.root, Body::Rules(RulesChange { version: 2, effective_at: now }), now);
    let appointment = net.sign(
        &net.root,
        Body::Appointment(Appointment {
            moderator: moderator.public(),
            hub: Some("general".parse().unwrap()),
            valid_until: now.plus_days(30),
        }),
    );
    assert_eq!(nodes[0].submit(&[rules.clone(), appointment.clone()]).0, 200);
    let tokens: Vec<String> = nodes
        .iter()
        .map(|n| {
            let token = n.session_when_attested(net, &stranger);
            wait_until(LIMIT, "the appointment to reach every node", || {
                n.has(&rules.id(), &token) && n.has(&appointment.id(), &token)
            });
            token
        })
        .collect();

    Moderated { nodes, author, moderator, stranger, tokens, appointment }
}

#[test]
fn a_moderators_takedown_holds_on_every_node_and_a_strangers_is_refused() {
    let net = Network::new();
    let Moderated { nodes, author, moderator, stranger, tokens, .. } = moderated(&net);
    let post = net.post(&author, "Chest pain, see notes");
    let reply =
        net.sign(&stranger, Body::Comment(Comment { parent: post.id(), body: "ECG?".into() }));
    assert_eq!(nodes[1].submit(&[post.clone(), reply.clone()]).0, 200);
    for (n, t) in nodes.iter().zip(&tokens) {
        wait_until(LIMIT, "the post to reach every node", || n.has(&reply.id(), t));
    }

    // Not a moderator: refused, at any node, with its own code.
    let (status, body) = nodes[2].submit(&[takedown(&net, &stranger, &post)]);
    assert_eq!((status, body["code"].as_str()), (422, Some("not_moderator")), "{body}");

    let (status, body) = nodes[2].submit(&[takedown(&net, &moderator, &post)]);
    assert_eq!(status, 200, "{body}");
    for (n, t) in nodes.iter().zip(&tokens) {
        wait_until(LIMIT, "the takedown to hold on every node", || {
            let (status, _) = n.get(&format!("/v1/events/{}", post.id()), Some(t));
            let (_, thread) = n.get(&format!("/v1/events/{}/thread", post.id()), Some(t));
            status == 404
                && thread["thread"][0]["retracted"]["placeholder"] == "[taken down by a moderator]"
                && thread["thread"][1]["id"] == reply.id().to_string()
        });
    }
    let (status, body) = nodes[0].submit(std::slice::from_ref(&post));
    assert_eq!((status, body["code"].as_str()), (422, Some("taken_down")), "{body}");
    for n in nodes {
        assert_eq!(n.stop().holds(&post.id()), (false, true));
    }
}

#[test]
fn a_local_hide_stays_local_and_reports_reach_only_that_nodes_moderators() {
    let net = Network::new();
    let Moderated { nodes, author, moderator, tokens, appointment, .. } = moderated(&net);
    let post = net.post(&author, "Chest pain, see notes");
    assert_eq!(nodes[0].submit(std::slice::from_ref(&post)).0, 200);
    for (n, t) in nodes.iter().zip(&tokens) {
        wait_until(LIMIT, "the post to reach every node", || n.has(&post.id(), t));
    }
    // The second node's operator hides it there: a legal hold.
    let hide = json!({ "id": post.id(), "note": "legal hold 2026-117" });
    let (status, body) = nodes[1].post("/v1/admin/hide", &hide, Some(&nodes[1].admin_token));
    assert_eq!(status, 200, "{body}");
    let (status, body) = nodes[1].get(&format!("/v1/events/{}", post.id()), Some(&tokens[1]));
    assert_eq!(status, 404, "{body}");
    let (_, feed) = nodes[1].get("/v1/hubs/general/feed", Some(&tokens[1]));
    assert!(!feed.to_string().contains(&post.id().to_string()), "{feed}");
    // Nowhere else: no network effect.
    std::thread::sleep(Duration::from_secs(1));
    assert!(nodes[0].has(&post.id(), &tokens[0]) && nodes[2].has(&post.id(), &tokens[2]));

    // A physician reports it at the third node; that node's moderators see
    // it, the other nodes' do not (reports are not gossiped).
    let report = json!({ "event": post.id(), "reason": "phi", "note": "full name in line 2" });
    let (status, body) = nodes[2].post("/v1/reports", &report, Some(&tokens[2]));
    assert_eq!(status, 200, "{body}");
    let queue = |n: &TestNode| {
        let token = n.session(&net, &moderator).unwrap();
        let (status, body) = n.get("/v1/mod/queue", Some(&token));
        assert_eq!(status, 200, "{body}");
        body["reports"].as_array().unwrap().len()
    };
    assert_eq!((queue(&nodes[2]), queue(&nodes[0])), (1, 0));
    let (status, body) = nodes[2].get("/v1/mod/queue", Some(&tokens[2]));
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "not a moderator: {body}"
    );

    // The record of moderation is public to readers: the appointment.
    let (status, body) = nodes[0].get("/v1/audit/moderation", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["moderation"][0]["event"]["id"], appointment.id().to_string(), "{body}");
}
