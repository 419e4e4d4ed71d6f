//! Fetch-by-id: a gossiped event that arrives before what it needs (its
//! parent, its author's attestation) is completed by asking the peer that
//! sent it, at once, not at the next sync. The sending peer here answers
//! fetches but refuses to reconcile, so only a fetch can fill the gap.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use base64::Engine;
use curbside_protocol::{Body, Comment, EventId, SignedEvent, testkit::key};
use curbside_tests::hostile::HostilePeer;
use curbside_tests::{Network, TestNode, wait_until};

const LIMIT: Duration = Duration::from_secs(30);

/// A node with no peers but the test's, and that peer connected to it on
/// the `general` hub's topic.
fn node_and_sender(net: &Network, name: &str) -> (TestNode, HostilePeer) {
    let a = TestNode::start_peer(net, &[], &["GB"]);
    let sender = key(name);
    let charter = net.charter(&sender.public(), &[]);
    assert_eq!(a.submit(std::slice::from_ref(&charter)).0, 200);
    let topic = curbside_node::net::hub_topic(net.id(), "general");
    let peer = HostilePeer::connect(&sender, &charter, &topic, &a.p2p_addr());
    wait_until(LIMIT, "the sender admitted", || peer.ready() && a.admitted_peers() == 1);
    (a, peer)
}

/// The stored trust event `id` at `node`, as the event itself.
fn trust_event(node: &TestNode, id: &EventId) -> SignedEvent {
    let (status, body) = node.get(&format!("/v1/audit/events/{id}"), None);
    assert_eq!(status, 200, "{body}");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body["event"].as_str().unwrap())
        .unwrap();
    SignedEvent::decode(&bytes).unwrap()
}

#[test]
fn a_comment_gossiped_before_its_parent_fetches_the_parent_from_its_sender() {
    let net = Network::new();
    let (a, sender) = node_and_sender(&net, "fetch-parent-sender");
    let doctor = key("fetch-parent-doctor");
    a.attest(&net, &doctor, "dr-parent", &["cardiology"], "GB");
    let post = net.post(&doctor, "A case with a missing parent");
    let reply = net.sign(
        &doctor,
        Body::Comment(Comment { parent: post.id(), body: "Seen it; try this.".into() }),
    );
    let deeper =
        net.sign(&doctor, Body::Comment(Comment { parent: reply.id(), body: "Agreed.".into() }));
    // A knows neither the post nor the first reply; the sender has both
    // and gossips only the last comment.
    sender.serve(vec![post.clone(), reply.clone()]);
    sender.publish(deeper.to_bytes());

    let token = a.session_when_attested(&net, &doctor);
    wait_until(LIMIT, "the chain filled at A", || {
        [&post, &reply, &deeper].iter().all(|e| a.has(&e.id(), &token))
    });
}

#[test]
fn a_post_gossiped_before_its_authors_attestation_fetches_the_attestation() {
    let net = Network::new();
    let (a, sender) = node_and_sender(&net, "fetch-attestation-sender");
    // Another hospital, not connected to A, attested this doctor.
    let hospital = TestNode::start_unchartered(&[], &net, |_| {});
    let charter = net.charter(&hospital.key, &["GB"]);
    assert_eq!(hospital.submit(std::slice::from_ref(&charter)).0, 200);
    let doctor = key("fetch-attestation-doctor");
    let attestation = hospital.attest(&net, &doctor, "dr-elsewhere", &["neurology"], "GB");
    let attestation = trust_event(&hospital, &attestation);
    assert!(a.session(&net, &doctor).is_err(), "A does not know the doctor yet");

    sender.serve(vec![charter, attestation]);
    let post = net.post(&doctor, "Posted from elsewhere");
    sender.publish(post.to_bytes());

    let token = a.session_when_attested(&net, &doctor);
    wait_until(LIMIT, "the post at A", || a.has(&post.id(), &token));
}
