//! Submitting events, as a stranger and as a physician: who pays for the
//! node's checking, whose rate a forgery can touch, what may wait in the
//! pending set and what is refused at once, and what a physician learns
//! about what waits.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use curbside_node::config::NodeConfig;
use curbside_protocol::{
    Body, Comment, EventId, Post, SecretKey, Signature, SignedEvent, testkit::key,
};
use curbside_tests::{Network, TestNode, wait_until};
use serde_json::Value;

fn post(net: &Network, who: &SecretKey, hub: &str, title: &str) -> SignedEvent {
    net.sign(
        who,
        Body::Post(Post { hub: hub.parse().unwrap(), title: title.into(), body: "Body".into() }),
    )
}

fn forged(event: &SignedEvent) -> SignedEvent {
    SignedEvent::from_parts(event.event().clone(), Signature::from_bytes([7; 64]))
}

fn comment_on(net: &Network, who: &SecretKey, parent: EventId) -> SignedEvent {
    net.sign(who, Body::Comment(Comment { parent, body: "Agreed.".into() }))
}

/// (status, code, the first outcome's status) of a submission.
fn answer(result: (u16, Value)) -> (u16, String, String) {
    let (status, body) = result;
    let code = body["code"].as_str().unwrap_or_default().to_owned();
    let first = body["outcomes"][0]["status"].as_str().unwrap_or_default().to_owned();
    (status, code, first)
}

/// A physician attested at `node`, with a session there.
fn physician(net: &Network, node: &TestNode, name: &str) -> (SecretKey, String) {
    let key = key(name);
    node.attest(net, &key, name, &["cardiology"], "GB");
    let token = node.session_when_attested(net, &key);
    (key, token)
}

#[test]
fn forgeries_and_replays_in_a_physicians_name_do_not_use_up_their_rate() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let (dr, token) = physician(&net, &node, "dr-framed");
    let first = post(&net, &dr, "general", "A real post");
    assert_eq!(node.submit_as(std::slice::from_ref(&first), Some(&token)).0, 200);

    // A stranger sends forged events naming the physician, and replays of
    // their real post, well past their per-minute share (bursts of 30).
    let forgeries: Vec<SignedEvent> =
        (0..40).map(|i| forged(&post(&net, &dr, "general", &format!("forged {i}")))).collect();
    let (status, _) = node.submit_as(&forgeries, None);
    assert_eq!(status, 422, "forgeries are refused for their signatures");
    for _ in 0..20 {
        let (status, body) = node.submit_as(std::slice::from_ref(&first), None);
        assert_eq!((status, body["outcomes"][0]["status"].as_str()), (200, Some("duplicate")));
    }
    // The physician's own next post is taken.
    let next = post(&net, &dr, "general", "Still posting");
    let (status, body) = node.submit_as(std::slice::from_ref(&next), Some(&token));
    assert_eq!(status, 200, "the physician is not rate limited by others' events: {body}");
}

fn small_stranger_budget(config: &mut NodeConfig) {
    config.submit_limits.stranger_per_second = 1;
    config.submit_limits.stranger_burst = 60;
}

#[test]
fn a_strangers_checking_is_budgeted_by_address_and_a_session_has_its_own() {
    let net = Network::new();
    let node = TestNode::start_tweaked(&net, small_stranger_budget);
    let (dr, token) = physician(&net, &node, "dr-busy-node");
    let checked = "curbside_events_rejected_total{code=\"bad_signature\",source=\"api\"}";

    // Bad signatures from random authors: the first batch is checked (and
    // refused); the next finds the address's budget spent and is refused
    // before a signature is looked at.
    let batch = |tag: &str| -> Vec<SignedEvent> {
        (0..40)
            .map(|i| forged(&post(&net, &SecretKey::generate(), "general", &format!("{tag} {i}"))))
            .collect()
    };
    assert_eq!(answer(node.submit_as(&batch("a"), None)).1, "bad_signature");
    let verified = node.metric(checked).unwrap();
    assert_eq!(verified, 40.0);
    let (status, code, _) = answer(node.submit_as(&batch("b"), None));
    assert_eq!((status, code.as_str()), (429, "rate_limited"));
    assert_eq!(node.metric(checked).unwrap(), verified, "nothing of it was checked");
    // More than the budget holds at once is refused as such.
    let big: Vec<SignedEvent> =
        (0..61).map(|i| post(&net, &dr, "general", &format!("{i}"))).collect();
    let (status, body) = node.submit_as(&big, None);
    assert_eq!(status, 429, "{body}");
    assert!(body["message"].as_str().unwrap().contains("at once"), "{body}");

    // A physician with a session is checked on a budget of their own.
    let mine = post(&net, &dr, "general", "Posted while strangers flood");
    let (status, body) = node.submit_as(std::slice::from_ref(&mine), Some(&token));
    assert_eq!(status, 200, "{body}");
}

fn no_stranger_refill(config: &mut NodeConfig) {
    config.submit_limits.stranger_per_second = 0;
    config.submit_limits.stranger_burst = 10;
}

#[test]
fn a_stranger_with_nothing_left_is_refused_before_its_body_is_parsed() {
    let net = Network::new();
    let node = TestNode::start_tweaked(&net, no_stranger_refill);
    let forgeries: Vec<SignedEvent> = (0..10)
        .map(|i| forged(&post(&net, &SecretKey::generate(), "general", &format!("{i}"))))
        .collect();
    assert_eq!(answer(node.submit_as(&forgeries, None)).1, "bad_signature");
    // The budget is spent: 64 KiB that are not even JSON get the budget's
    // answer, not a parse error (hyper reads what has already arrived of
    // a body nobody asked for, once, then drops it).
    let (status, body) = node.post_raw("/v1/events", &"x".repeat(64 * 1024), None);
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")), "{body}");
}

/// `POST /v1/check` runs the guard for anyone, so it is paid for from the
/// same budget as checking an event: a caller without a session gets as
/// many checks as its address's budget holds, then `rate_limited` before
/// its body is read. Before, the check was free and without bound.
#[test]
fn a_stranger_pays_for_text_checks_from_its_address_budget() {
    let net = Network::new();
    let node = TestNode::start_tweaked(&net, no_stranger_refill);
    let text = serde_json::json!({ "text": "Syncope in a young athlete; QTc 480 ms." });
    for n in 0..10 {
        let (status, body) = node.post("/v1/check", &text, None);
        assert_eq!(status, 200, "check {n}: {body}");
    }
    let (status, body) = node.post("/v1/check", &text, None);
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")), "{body}");
    let (status, body) = node.post_raw("/v1/check", &"x".repeat(64 * 1024), None);
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")), "{body}");
}

#[test]
fn events_of_unknown_authors_from_strangers_are_refused_not_held() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let (dr, token) = physician(&net, &node, "dr-known");
    let strangers: Vec<SignedEvent> =
        (0..50).map(|i| post(&net, &SecretKey::generate(), "general", &format!("{i}"))).collect();
    let (status, body) = node.submit_as(&strangers, None);
    assert_eq!(status, 422, "{body}");
    assert!(
        body["outcomes"].as_array().unwrap().iter().all(|o| o["code"] == "unknown_author"),
        "{body}"
    );
    assert_eq!(node.get("/v1/status", None).1["pending"], 0, "none is held");

    // A physician's post to a hub that does not exist: refused, not held.
    let typo = post(&net, &dr, "cardiolgy", "A typo");
    let (status, code, _) = answer(node.submit_as(std::slice::from_ref(&typo), Some(&token)));
    assert_eq!((status, code.as_str()), (422, "unknown_hub"));
    // A reply to an event no node holds (this one has no peers): refused.
    let orphan = comment_on(&net, &dr, EventId::from_bytes([9; 32]));
    let (status, code, _) = answer(node.submit_as(std::slice::from_ref(&orphan), Some(&token)));
    assert_eq!((status, code.as_str()), (422, "unknown_event"));
    assert_eq!(node.get("/v1/status", None).1["pending"], 0, "none is held");
}

fn short_pending(config: &mut NodeConfig) {
    config.ingest.pending_max_age_ms = 2_000;
}

#[test]
fn a_physician_sees_what_waits_and_what_expired() {
    let net = Network::new();
    // A node of a federation, but with no peer to ask yet: what a reply
    // needs may be on its way, so the reply waits.
    let node = TestNode::start_unchartered(&[], &net, short_pending);
    assert_eq!(node.submit(&[net.charter(&node.key, &["GB"])]).0, 200);
    let (dr, token) = physician(&net, &node, "dr-waiting");
    let parent = EventId::from_bytes([3; 32]);
    let reply = comment_on(&net, &dr, parent);
    let (status, body) = node.submit_as(std::slice::from_ref(&reply), Some(&token));
    assert_eq!(status, 202, "{body}");
    assert!(body["outcomes"][0]["message"].as_str().unwrap().contains("dropped"), "{body}");

    let (status, listed) = node.get("/v1/pending", Some(&token));
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["waiting"][0]["id"], reply.id().to_string(), "{listed}");
    assert_eq!(listed["waiting"][0]["waiting_for"], format!("event {parent}"), "{listed}");
    wait_until(Duration::from_secs(20), "the reply to expire", || {
        node.get("/v1/pending", Some(&token)).1["expired"][0]["id"] == reply.id().to_string()
    });
    let (_, listed) = node.get("/v1/pending", Some(&token));
    assert!(listed["waiting"].as_array().unwrap().is_empty(), "{listed}");
    // Without a session there is nobody to list for.
    assert_eq!(node.get("/v1/pending", None).0, 401);
}
