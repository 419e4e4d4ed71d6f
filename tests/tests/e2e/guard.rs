//! The content guard (issue 15) on real nodes: a root's rules event puts
//! guard v2 in force from a time every node agrees on; content accepted
//! before stays valid history, and a node that syncs later accepts it too.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use curbside_protocol::rules::RulesChange;
use curbside_protocol::{Body, Post, SecretKey, SignedEvent, testkit::key};
use curbside_tests::{Network, TestNode, wait_until};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(60);

/// A name after an honorific: guard v1 lets it through, guard v2 refuses it.
const V2_ONLY: &str = "Mrs Whitfield has severe aortic stenosis; TAVI or SAVR?";

fn post(net: &Network, who: &SecretKey, title: &str, body: &str) -> SignedEvent {
    net.sign(
        who,
        Body::Post(Post {
            hub: "general".parse().unwrap(),
            title: title.into(),
            body: body.into(),
        }),
    )
}

#[test]
fn guard_v2_applies_from_the_rules_event_and_earlier_history_stays_valid() {
    let net = Network::new();
    let a = TestNode::start_peer(&net, &[], &["GB"]);
    let doctor = key("guard-doctor");
    a.attest(&net, &doctor, "dr-guard", &["cardiology"], "GB");
    let token = a.session_when_attested(&net, &doctor);

    // Under rules 1 (the test network's genesis is format 1), v1 applies.
    let before = post(&net, &doctor, "AS before the rules", V2_ONLY);
    let (status, body) = a.submit_as(std::slice::from_ref(&before), Some(&token));
    assert_eq!(status, 200, "{body}");
    let (_, check) = a.post("/v1/check", &json!({ "text": V2_ONLY }), None);
    assert_eq!(check["rules"], 1, "{check}");
    assert_eq!(check["findings"][0]["kind"], "person_name", "{check}");

    // The root raises the rules to 2, effective two seconds from now.
    let effective_at = curbside_node::now().plus_millis(2_000);
    let rules = net.sign(&net.root, Body::Rules(RulesChange { version: 2, effective_at }));
    let (status, body) = a.submit(std::slice::from_ref(&rules));
    assert_eq!(status, 200, "{body}");
    // Not by anyone else.
    let forged = net.sign(&doctor, Body::Rules(RulesChange { version: 2, effective_at }));
    let (status, body) = a.submit_as(std::slice::from_ref(&forged), Some(&token));
    assert_eq!((status, body["code"].as_str()), (422, Some("not_root")), "{body}");

    wait_until(LIMIT, "the rules to take effect", || curbside_node::now() > effective_at);
    let after = post(&net, &doctor, "AS after the rules", V2_ONLY);
    let (status, body) = a.submit_as(std::slice::from_ref(&after), Some(&token));
    assert_eq!((status, body["code"].as_str()), (422, Some("identifying_text")), "{body}");
    let clinical = post(&net, &doctor, "AS", "Severe AS, AVA 0.8 cm2, mean gradient 45 mmHg.");
    assert_eq!(a.submit_as(std::slice::from_ref(&clinical), Some(&token)).0, 200);
    let (_, check) = a.post("/v1/check", &json!({ "text": V2_ONLY }), None);
    assert_eq!(check["rules"], 2, "{check}");

    // The earlier post is still served, and a node that joins now syncs
    // it (judged by the rules of its own time) along with the rules event.
    assert!(a.has(&before.id(), &token));
    let b = TestNode::start_peer(&net, &[a.p2p_addr()], &[]);
    let token_b = b.session_when_attested(&net, &doctor);
    wait_until(LIMIT, "B to sync the history", || {
        b.has(&before.id(), &token_b) && b.has(&clinical.id(), &token_b)
    });
    let (status, body) = b.submit_as(std::slice::from_ref(&after), Some(&token_b));
    assert_eq!((status, body["code"].as_str()), (422, Some("identifying_text")), "{body}");
    let (_, check) = b.post("/v1/check", &json!({ "text": V2_ONLY }), None);
    assert_eq!(check["rules"], 2, "{check}");
}

#[test]
fn the_check_endpoint_is_bounded_and_typed() {
    let net = Network::new();
    let a = TestNode::start(&net);
    let (status, body) = a.post("/v1/check", &json!({ "text": "x".repeat(10_001) }), None);
    assert_eq!((status, body["code"].as_str()), (413, Some("too_large")), "{body}");
    let (status, body) = a.post("/v1/check", &json!({ "body": "MRN 1234567" }), None);
    assert_eq!((status, body["code"].as_str()), (400, Some("malformed_json")), "{body}");
    let (status, body) =
        a.post("/v1/check", &json!({ "text": "Seen in June 2023; MRN 1234567" }), None);
    assert_eq!(status, 200, "{body}");
    let answer: curbside_node::api::types::CheckAnswer = serde_json::from_value(body).unwrap();
    assert_eq!(answer.findings[0].kind, "record_number");
    assert_eq!(answer.findings[0].excerpt, "MRN 1234567");
    assert_eq!(answer.warnings[0].kind, "month_year");
}
