//! Mentions of physicians on a network at rules 4 (issue 16): a comment
//! written on one node naming `@handle` reaches that physician's inbox on
//! another, and a patient's social-media handle (`@eleanor_w`, which no
//! attestation gives) is refused at submit with `unknown_mention`, by the
//! command line before it signs and by the node.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use super::cli_kit::{fails, ok, physician, s};
use curbside_protocol::testkit::key;
use curbside_protocol::{Body, EventId, Post};
use curbside_tests::{Network, TestNode, wait_until};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn a_mention_made_on_another_node_reaches_the_one_named_and_a_patients_handle_is_refused() {
    let net = Network::new();
    let first = TestNode::start_peer(&net, &[], &["GB"]);
    let second = TestNode::start_peer(&net, &[first.p2p_addr()], &[]);
    wait_until(LIMIT, "the nodes to admit each other", || first.admitted_peers() == 1);
    let rules = net.rules_from_now(4);
    assert_eq!(first.submit(std::slice::from_ref(&rules)).0, 200);

    let dir = tempfile::tempdir().unwrap();
    let named = physician(dir.path(), &first, "dr-okafor");
    let asker = physician(dir.path(), &first, "dr-asks");
    let answerer = physician(dir.path(), &first, "dr-answers");
    let (at_first, at_second) = (first.url.clone(), second.url.clone());

    // The second node learns the rules and dr-okafor's attestation by
    // gossip; its check endpoint then calls `@dr-okafor` a mention.
    let text = json!({ "text": "@dr-okafor would you stop it?" });
    wait_until(LIMIT, "the second node to know rules 4 and dr-okafor", || {
        let (status, answer) = second.post("/v1/check", &text, None);
        status == 200
            && answer["rules"] == 4
            && answer["findings"].as_array().is_some_and(Vec::is_empty)
            && answer["mentions"][0]["excerpt"] == "@dr-okafor"
    });

    let args = ["post", "--hub", "general", "--title", "Hyperkalaemia", "--body", "On an ACEi."];
    let post = s(&ok(&asker, &[&args[..], &["--node", &at_first]].concat())["id"]);
    let post_id: EventId = post.parse().unwrap();
    wait_until(LIMIT, "the post to reach the second node", || {
        second.has(&post_id, &second.admin_token)
    });
    // Written at the second node, through the command line.
    let body = "@dr-okafor would you stop it?";
    let reply = ok(&answerer, &["comment", &post[..8], "--body", body, "--node", &at_second]);
    assert_eq!(s(&reply["status"]), "stored", "{reply}");
    let reply = s(&reply["id"]);

    // It reaches dr-okafor's inbox at the first node as a mention.
    let deadline = Instant::now() + LIMIT;
    loop {
        let answer = ok(&named, &["inbox", "--all", "--node", &at_first]);
        let items = answer["items"].as_array().unwrap();
        if items.iter().any(|i| s(&i["id"]) == reply && s(&i["kind"]) == "mention") {
            break;
        }
        assert!(Instant::now() < deadline, "the mention never reached the inbox: {answer}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // A patient's handle: the command line refuses it before signing...
    let patient = "Her sister posts updates at @eleanor_w";
    let args = ["post", "--hub", "general", "--title", "Updates", "--body", patient];
    let (_, err) = fails(&answerer, &[&args[..], &["--node", &at_second]].concat(), 1);
    assert!(err.contains("unknown_mention"), "{err}");
    assert!(err.contains("@eleanor_w is no physician's handle on this network"), "{err}");
    // ...and the node refuses it at submit, signed without that check.
    let dr = key("mentions-api");
    first.attest(&net, &dr, "dr-api", &["cardiology"], "GB");
    let token = second.session_when_attested(&net, &dr);
    let hub = "general".parse().unwrap();
    let event =
        net.sign(&dr, Body::Post(Post { hub, title: "Updates".into(), body: patient.into() }));
    let (status, body) = second.submit_as(std::slice::from_ref(&event), Some(&token));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["outcomes"][0]["code"], "unknown_mention", "{body}");
    let message = s(&body["outcomes"][0]["message"]);
    assert!(message.contains("if it is a patient's social-media handle, remove it"), "{message}");
    assert_eq!(second.get("/v1/status", None).1["pending"], 0, "nothing is held");
    // The check endpoint says the same before anyone signs.
    let (_, answer) = second.post("/v1/check", &json!({ "text": patient }), None);
    assert_eq!(answer["findings"][0]["kind"], "social_handle", "{answer}");
    assert_eq!(answer["findings"][0]["excerpt"], "@eleanor_w", "{answer}");
}
