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

#[test]
fn a_moderators_takedown_holds_on_every_node_and_a_strangers_is_refused() {
    let net = Network::new();
    let first = TestNode::start_peer(&net, &[], &["GB"]);
    let boot = vec![first.p2p_addr()];
    let nodes =
        vec![first, TestNode::start_peer(&net, &boot, &[]), TestNode::start_peer(&net, &boot, &[])];
    wait_until(LIMIT, "the first node to admit the others", || nodes[0].admitted_peers() == 2);
    let (author, moderator, stranger) = (key("mod-author"), key("mod-moderator"), key("mod-other"));
    for (k, h) in [(&author, "dr-author"), (&moderator, "dr-moderator"), (&stranger, "dr-other")] {
        nodes[0].attest(&net, k, h, &["cardiology"], "GB");
    }
    // The root raises the rules to 2 and appoints the moderator for `general`.
    let now = curbside_node::now();
    let rules = net.sign(&net.root, Body::Rules(RulesChange { version: 2, effective_at: now }));
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
            let token = n.session_when_attested(&net, &stranger);
            wait_until(LIMIT, "the appointment to reach every node", || {
                n.has(&rules.id(), &token) && n.has(&appointment.id(), &token)
            });
            token
        })
        .collect();

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
