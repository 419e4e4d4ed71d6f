//! Verifiers' audit logs across real nodes: logging before publishing,
//! witnesses checking heads with proofs fetched over the network,
//! cosignatures, and what happens to a verifier caught misbehaving.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use curbside_protocol::merkle::{self, Hash};
use curbside_protocol::testkit::key;
use curbside_protocol::{
    Attestation, AttestationRequest, Body, Digest, EventId, Handle, LicenceOpening, SecretKey,
    TreeHead,
};
use curbside_tests::{Network, TestNode, wait_until};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);

fn hash(v: &Value) -> Hash {
    let d: Digest = v.as_str().unwrap().parse().unwrap();
    *d.as_bytes()
}

fn proof(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(hash).collect()
}

/// The size of `verifier`'s log held at `node`, 0 if none.
fn log_size(node: &TestNode, verifier: &TestNode) -> u64 {
    node.audit_log(&verifier.key).map_or(0, |l| l["size"].as_u64().unwrap())
}

/// A physician's post at `node`: its HTTP status and body.
fn post_at(node: &TestNode, net: &Network, who: &SecretKey, title: &str) -> (u16, Value) {
    node.submit(&[net.post(who, title)])
}

/// Every attestation is logged and covered by a head before it is
/// published; the other nodes check each head against the leaves they
/// fetch over request-response, cosign it, and serve proofs that verify.
#[test]
fn witnesses_check_and_cosign_each_head_and_proofs_round_trip() {
    let net = Network::new();
    let a = TestNode::start_peer(&net, &[], &["GB"]);
    let boot = [a.p2p_addr()];
    let b = TestNode::start_peer(&net, &boot, &["IE"]);
    let c = TestNode::start_peer(&net, &boot, &[]);
    wait_until(LIMIT, "A to admit B and C", || a.admitted_peers() == 2);

    let first = a.attest(&net, &key("audit-dr-1"), "dr-one", &["cardiology"], "GB");
    let second = a.attest(&net, &key("audit-dr-2"), "dr-two", &["oncology"], "GB");
    let own = a.audit_log(&a.key).unwrap();
    assert_eq!(own["size"], 2, "{own}");

    // B and C mirror A's log (leaves fetched from a peer) and cosign its head.
    wait_until(LIMIT, "B and C to check A's log", || {
        log_size(&b, &a) == 2 && log_size(&c, &a) == 2
    });
    wait_until(LIMIT, "B and C to cosign A's latest head", || {
        let log = a.audit_log(&a.key).unwrap();
        let cosigners: Vec<String> = log["cosigners"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["key"].as_str().unwrap().to_string())
            .collect();
        cosigners.contains(&b.key.to_string()) && cosigners.contains(&c.key.to_string())
    });
    assert_eq!(a.audit_log(&a.key).unwrap()["settled"], true);

    // C's proofs, computed from leaves it fetched over the network,
    // verify against the heads A signed.
    let (status, heads) = c.get(&format!("/v1/audit/logs/{}/heads", a.key), None);
    assert_eq!(status, 200, "{heads}");
    let heads = heads["heads"].as_array().unwrap().clone();
    let root_of = |size: u64| {
        hash(
            &heads
                .iter()
                .find(|h| h["size"] == size)
                .unwrap_or_else(|| panic!("no head of size {size}"))["root"],
        )
    };
    for (leaf, index) in [(first, 0u64), (second, 1)] {
        let (status, body) =
            c.get(&format!("/v1/audit/logs/{}/inclusion?leaf={leaf}&size=2", a.key), None);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["index"], index);
        let leaf_hash = merkle::leaf_hash(leaf.as_bytes());
        merkle::verify_inclusion(&leaf_hash, index, 2, &proof(&body["proof"]), &root_of(2))
            .unwrap();
    }
    let (status, body) = c.get(&format!("/v1/audit/logs/{}/consistency?old=1&new=2", a.key), None);
    assert_eq!(status, 200, "{body}");
    merkle::verify_consistency(1, 2, &root_of(1), &root_of(2), &proof(&body["proof"])).unwrap();

    // Leaves come with their events.
    let (status, body) = c.get(&format!("/v1/audit/logs/{}/leaves", a.key), None);
    assert_eq!(status, 200, "{body}");
    let leaves = body["leaves"].as_array().unwrap();
    assert_eq!(leaves.len(), 2);
    assert_eq!(leaves[0]["id"], first.to_string());
    assert!(leaves[1]["event"].is_string());
}

/// A verifier that signs a second head of the same size with another root
/// has shown two histories: every witness keeps the two heads as proof,
/// and the verifier's attestations from the fork on stop counting.
#[test]
fn a_forked_log_is_caught_and_later_attestations_stop_counting() {
    let net = Network::new();
    let a = TestNode::start_peer(&net, &[], &["GB"]);
    let b = TestNode::start_peer(&net, &[a.p2p_addr()], &[]);
    wait_until(LIMIT, "A to admit B", || a.admitted_peers() == 1);
    let before = key("fork-dr-before");
    a.attest(&net, &before, "dr-before", &["cardiology"], "GB");
    wait_until(LIMIT, "B to check A's log", || log_size(&b, &a) == 1);

    // A's key signs another history of the same size.
    let forged = net.sign(
        &a.secret_key(),
        Body::TreeHead(TreeHead { size: 1, root: Digest::from_bytes([7; 32]) }),
    );
    assert_eq!(b.submit(&[forged]).0, 200);
    wait_until(LIMIT, "B to record the fork", || {
        b.audit_log(&a.key).is_some_and(|l| !l["forked_at"].is_null())
    });
    let (status, body) = b.get("/v1/audit/evidence", None);
    assert_eq!(status, 200, "{body}");
    let evidence = &body["evidence"][0];
    assert_eq!(evidence["contradiction"], "same_size_different_roots", "{body}");
    assert!(evidence["first"].is_string() && evidence["second"].is_string());

    // Issued before the fork: still counts. Issued after: refused.
    assert_eq!(post_at(&b, &net, &before, "before the fork").0, 200);
    // A itself, holding the proof too, never signs again with that key
    // (`log_forked`); the key, used outside A, still can.
    wait_until(LIMIT, "A to record its own fork", || {
        a.audit_log(&a.key).is_some_and(|l| !l["forked_at"].is_null())
    });
    let after = key("fork-dr-after");
    let at = curbside_node::now();
    let request = AttestationRequest::new(net.id(), &after, Handle::new("dr-after").unwrap(), at);
    let (status, body) = a.post(
        "/v1/admin/attest",
        &serde_json::json!({
            "request": request.to_text(),
            "specialties": ["cardiology"],
            "jurisdiction": "GB",
            "licence": "LIC-dr-after",
            "valid_days": 365,
        }),
        Some(&a.admin_token),
    );
    assert_eq!((status, body["code"].as_str()), (409, Some("log_forked")), "{body}");
    let opening = LicenceOpening::new("GB".parse().unwrap(), "LIC-dr-after");
    let att = net.sign_at(
        &a.secret_key(),
        Body::Attestation(Attestation {
            subject: after.public(),
            handle: request.handle.clone(),
            specialties: vec!["cardiology".parse().unwrap()],
            jurisdiction: "GB".parse().unwrap(),
            licence_commitment: opening.commitment(),
            valid_until: at.plus_days(30),
            requested_at: at,
            possession: request.signature,
        }),
        at,
    );
    let (status, body) = b.submit(std::slice::from_ref(&att));
    assert!(status < 500, "{body}");
    let (status, body) = post_at(&b, &net, &after, "after the fork");
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "verifier_forked", "{body}");
}

/// An attestation its verifier never logged counts only within the merge
/// window; once a later head of that verifier leaves it out, its holder's
/// events are refused.
#[test]
fn an_attestation_missing_from_the_log_stops_counting() {
    let window_ms = 1_500;
    let net = Network::with_params(|p| p.log_merge_window_ms = window_ms);
    let a = TestNode::start(&net);
    // Signed with A's key but never put in A's log (a stolen key, say).
    let hidden = key("unlogged-dr");
    let at = curbside_node::now();
    let request = AttestationRequest::new(net.id(), &hidden, Handle::new("dr-hidden").unwrap(), at);
    let opening = LicenceOpening::new("GB".parse().unwrap(), "123");
    let rogue = net.sign_at(
        &a.secret_key(),
        Body::Attestation(Attestation {
            subject: hidden.public(),
            handle: request.handle.clone(),
            specialties: vec!["cardiology".parse().unwrap()],
            jurisdiction: "GB".parse().unwrap(),
            licence_commitment: opening.commitment(),
            valid_until: at.plus_days(30),
            requested_at: at,
            possession: request.signature,
        }),
        at,
    );
    assert_eq!(a.submit(std::slice::from_ref(&rogue)).0, 200);
    assert_eq!(post_at(&a, &net, &hidden, "inside the window").0, 200);

    std::thread::sleep(Duration::from_millis(window_ms + 200));
    // Past the window, with no later head: the post waits for the log.
    let (status, body) = post_at(&a, &net, &hidden, "waiting");
    assert_eq!(status, 202, "{body}");
    // A's next head, dated after the window, leaves the attestation out.
    a.attest(&net, &key("logged-dr"), "dr-logged", &["cardiology"], "GB");
    let (status, body) = post_at(&a, &net, &hidden, "after the window");
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "attestation_not_logged", "{body}");
    let rogue_id: EventId = rogue.id();
    let (status, _) = a.get(&format!("/v1/audit/logs/{}/inclusion?leaf={rogue_id}", a.key), None);
    assert_eq!(status, 404);
}
