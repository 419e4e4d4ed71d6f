//! Time a signer cannot choose, against real nodes: an event is judged at
//! the moment a node received it as well as at the `created_at` its signer
//! claims, so nobody can date an event back past the end of their own
//! authority; and history a peer received in time still syncs.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use curbside_protocol::{
    Attestation, AttestationRequest, Body, Digest, Handle, Poll, Revocation, SecretKey,
    SignedEvent, Timestamp, TreeHead, Vote, merkle, testkit::key,
};
use curbside_tests::{Network, TestNode, wait_until};

const LIMIT: Duration = Duration::from_secs(30);

/// Submits one event: (HTTP status, code).
fn submitted(node: &TestNode, event: &SignedEvent) -> (u16, String) {
    let (status, body) = node.submit(std::slice::from_ref(event));
    (status, body["code"].as_str().unwrap_or("").to_owned())
}

/// A moment just before now, and then the time moves on past it: what a
/// revocation made right after is effective from.
fn just_before_now() -> Timestamp {
    let before = curbside_node::now();
    std::thread::sleep(Duration::from_millis(5));
    before
}

/// An attestation of a fresh key by `verifier`, dated `at` (its request
/// too), for `jurisdiction`.
fn attestation_at(
    net: &Network,
    verifier: &SecretKey,
    subject: &SecretKey,
    handle: &str,
    at: Timestamp,
) -> SignedEvent {
    let request = AttestationRequest::new(net.id(), subject, Handle::new(handle).unwrap(), at);
    let body = Body::Attestation(Attestation {
        subject: subject.public(),
        handle: request.handle,
        specialties: vec!["cardiology".parse().unwrap()],
        jurisdiction: "GB".parse().unwrap(),
        licence_commitment: Digest::from_bytes([3; 32]),
        valid_until: at.plus_days(365),
        requested_at: at,
        possession: request.signature,
    });
    net.sign_at(verifier, body, at)
}

/// The root revokes `charter`, effective now: the revocation.
fn revoke_charter(net: &Network, charter: &SignedEvent) -> SignedEvent {
    // One instant for both times: made after it takes effect, it would be
    // refused as retroactive.
    let now = curbside_node::now();
    net.sign_at(
        &net.root,
        Body::Revocation(Revocation {
            target: charter.id(),
            reason: "charter withdrawn".into(),
            effective_at: now,
        }),
        now,
    )
}

#[test]
fn a_revoked_physician_cannot_date_a_post_or_a_vote_back_past_the_revocation() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let (revoked, colleague) = (key("time-revoked"), key("time-colleague"));
    let attestation = node.attest(&net, &revoked, "dr-time-revoked", &["cardiology"], "GB");
    node.attest(&net, &colleague, "dr-time-colleague", &["cardiology"], "GB");
    let before = just_before_now();
    node.revoke(&attestation, "licence suspended");
    std::thread::sleep(Duration::from_millis(5));

    // Dated a moment before the revocation, received after it.
    let post = net.sign_at(
        &revoked,
        Body::Post(curbside_protocol::Post {
            hub: "general".parse().unwrap(),
            title: "Dated back".into(),
            body: "Still posting.".into(),
        }),
        before,
    );
    assert_eq!(submitted(&node, &post), (422, "attestation_revoked".into()));

    // A vote dated before the revocation, in a poll opened after it.
    let poll = net.sign(
        &colleague,
        Body::Poll(Poll {
            hub: "general".parse().unwrap(),
            question: "Which first?".into(),
            options: vec!["a".into(), "b".into()],
            closes_at: curbside_node::now().plus_days(1),
            eligible: vec![],
        }),
    );
    assert_eq!(submitted(&node, &poll).0, 200);
    let vote = net.sign_at(&revoked, Body::Vote(Vote { poll: poll.id(), option: 1 }), before);
    assert_eq!(submitted(&node, &vote), (422, "attestation_revoked".into()));
    let token = node.session(&net, &colleague).unwrap();
    let (status, tally) = node.get(&format!("/v1/polls/{}/tally", poll.id()), Some(&token));
    assert_eq!(status, 200, "{tally}");
    assert_eq!(tally["tally"]["counts"], serde_json::json!([0, 0]), "{tally}");

    // A post dated further back than the clock skew is stale, whoever signs it.
    let skew = net.genesis.params.max_clock_skew_ms;
    let old = net.sign_at(
        &colleague,
        Body::Post(curbside_protocol::Post {
            hub: "general".parse().unwrap(),
            title: "Dated long ago".into(),
            body: "Hello.".into(),
        }),
        curbside_node::now().minus_millis(skew + 60_000),
    );
    assert_eq!(submitted(&node, &old), (422, "stale".into()));
}

#[test]
fn a_verifier_whose_charter_was_revoked_cannot_date_an_attestation_back() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let verifier = key("time-verifier");
    let charter = net.charter(&verifier.public(), &["GB"]);
    assert_eq!(node.submit(std::slice::from_ref(&charter)).0, 200);
    let before = just_before_now();
    assert_eq!(node.submit(&[revoke_charter(&net, &charter)]).0, 200);

    let newcomer = key("time-newcomer");
    let forged = attestation_at(&net, &verifier, &newcomer, "dr-newcomer", before);
    let root = merkle::root(&vec![merkle::leaf_hash(forged.id().as_bytes())]);
    let head = net.sign_at(
        &verifier,
        Body::TreeHead(TreeHead { size: 1, root: Digest::from_bytes(root) }),
        before,
    );
    assert_eq!(submitted(&node, &forged), (422, "charter_revoked".into()));
    assert_eq!(submitted(&node, &head), (422, "charter_revoked".into()));
    assert!(node.session(&net, &newcomer).is_err(), "the newcomer is not attested");
}

#[test]
fn history_a_peer_received_in_time_syncs_after_its_author_was_revoked() {
    let net = Network::new();
    let a = TestNode::start_peer(&net, &[], &["GB"]);
    let doctor = key("time-history");
    let attestation = a.attest(&net, &doctor, "dr-history", &["cardiology"], "GB");
    let post = net.post(&doctor, "Made while attested");
    assert_eq!(a.submit(std::slice::from_ref(&post)).0, 200);
    a.revoke(&attestation, "retired");
    std::thread::sleep(Duration::from_millis(5));

    // A new node joins later and learns the history from A.
    let b = TestNode::start_peer(&net, &[a.p2p_addr()], &[]);
    // Within the first sync, or on a loaded machine the next (every 30 s).
    let within = Duration::from_secs(75);
    wait_until(within, "the post synced to B", || b.has(&post.id(), &b.admin_token));
    let (status, event) = b.get(&format!("/v1/events/{}", post.id()), Some(&b.admin_token));
    assert_eq!(status, 200, "{event}");
}

#[test]
fn an_attestation_dated_back_and_passed_on_by_a_node_that_had_not_heard_is_refused() {
    let net = Network::new();
    let a = TestNode::start_peer(&net, &[], &["GB"]);
    // F has not heard of the revocation: it is not connected yet.
    let f = TestNode::start_peer(&net, &[], &[]);
    let verifier = key("time-laundered-verifier");
    let charter = net.charter(&verifier.public(), &["GB"]);
    for node in [&a, &f] {
        assert_eq!(node.submit(std::slice::from_ref(&charter)).0, 200);
    }
    let before = just_before_now();
    let revocation = revoke_charter(&net, &charter);
    assert_eq!(a.submit(std::slice::from_ref(&revocation)).0, 200);
    std::thread::sleep(Duration::from_millis(5));

    // The revoked verifier reaches F, which takes the backdated attestation.
    let newcomer = key("time-laundered");
    let forged = attestation_at(&net, &verifier, &newcomer, "dr-laundered", before);
    assert_eq!(submitted(&f, &forged).0, 200, "F had not heard of the revocation");

    // Joined, A syncs from F: F vouches it received the attestation after
    // the revocation took effect, so A refuses it; F learns the revocation.
    f.dial(&a.p2p_addr());
    wait_until(LIMIT, "F learns the revocation", || f.has(&revocation.id(), &f.admin_token));
    wait_until(LIMIT, "A has synced with F", || {
        a.network()["peers"].as_array().is_some_and(|peers| {
            peers.iter().any(|p| p["last_sync"]["fetched"].as_u64().is_some_and(|n| n >= 1))
        })
    });
    let refused = "curbside_events_rejected_total{code=\"charter_revoked\",source=\"sync\"}";
    wait_until(LIMIT, "A refused the attestation F passed on", || {
        a.metric(refused).is_some_and(|n| n >= 1.0)
    });
    assert!(!a.has(&forged.id(), &a.admin_token), "A never stores it");
    assert!(a.session(&net, &newcomer).is_err());
}
