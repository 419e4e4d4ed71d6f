//! What a caller with no credentials can make a node's HTTP API spend:
//! every error is JSON with a code, sessions are bounded per physician,
//! and idle, slow or too many connections are closed or refused while
//! physicians' requests go on being answered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use curbside_protocol::testkit::key;
use curbside_tests::{Network, TestNode};
use serde_json::Value;

/// `method path` with the admin token: (status, content type, JSON body).
fn call(node: &TestNode, method: &str, path: &str) -> (u16, String, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", node.url))
        .header("Authorization", format!("Bearer {}", node.admin_token))
        .body(())
        .unwrap();
    let mut response = agent.run(request).unwrap();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (response.status().as_u16(), kind, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Malformed queries and paths, a wrong method and an unknown route are
/// answered as JSON with a stable code, not axum's plain text or an empty
/// body. (A panicking handler's `500 internal` is
/// `api::tests::every_error_is_json_with_a_code_even_a_panic`.)
#[test]
fn every_error_over_http_is_json_with_a_code() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let key = node.key;
    for (method, path, status, code) in [
        ("GET", "/v1/hubs/general/feed?limit=-1".to_string(), 400, "bad_request"),
        ("GET", format!("/v1/audit/logs/{key}/leaves?start=x"), 400, "bad_request"),
        ("GET", "/v1/events/%ff".to_string(), 400, "bad_request"),
        ("GET", "/v1/audit/logs/%ff%fe/heads".to_string(), 400, "bad_request"),
        ("DELETE", "/v1/status".to_string(), 405, "method_not_allowed"),
        ("GET", "/v1/events".to_string(), 405, "method_not_allowed"),
        ("GET", "/v2/nothing".to_string(), 404, "not_found"),
    ] {
        let (got, kind, body) = call(&node, method, &path);
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{method} {path}: {body}");
        assert_eq!(kind, "application/json", "{method} {path}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
    assert_eq!(call(&node, "GET", "/v1/hubs/general/feed?limit=5").0, 200);
}

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

/// A physician's key holds at most `sessions_per_physician` sessions, and
/// opening more within a challenge's lifetime is refused `rate_limited`
/// (before, one physician opened 182,000 in 80 s); other physicians are
/// not affected.
#[test]
fn a_physician_opens_a_bounded_number_of_sessions() {
    let net = Network::new();
    let node = TestNode::start_tweaked(&net, |c| c.sessions_per_key = 3);
    let dr = key("dr-many-sessions");
    let other = key("dr-one-session");
    node.attest(&net, &dr, "dr-many", &["oncology"], "GB");
    node.attest(&net, &other, "dr-one", &["oncology"], "GB");
    let tokens: Vec<String> = (0..3).map(|_| node.session(&net, &dr).unwrap()).collect();
    let (status, body) = node.session(&net, &dr).unwrap_err();
    assert_eq!((status, code(&body)), (429, "rate_limited"), "{body}");
    for token in &tokens {
        assert_eq!(node.get("/v1/hubs", Some(token)).0, 200);
    }
    let token = node.session(&net, &other).unwrap();
    assert_eq!(node.get("/v1/hubs", Some(&token)).0, 200);
}

/// Challenges cost the node no memory: a stranger asking for more than
/// the old table held (10,000) for random keys does not push out the
/// challenge a physician is answering, and a challenge opens one session.
#[test]
fn a_flood_of_challenges_does_not_push_out_a_physicians_challenge() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let dr = key("dr-challenged");
    node.attest(&net, &dr, "dr-challenged", &["oncology"], "GB");
    let (status, body) =
        node.post("/v1/session/challenge", &serde_json::json!({ "key": dr.public() }), None);
    assert_eq!(status, 200, "{body}");
    let challenge_hex = body["challenge"].as_str().unwrap().to_string();

    std::thread::scope(|s| {
        for t in 0..4 {
            let node = &node;
            s.spawn(move || {
                for i in 0..2_550 {
                    let stranger = key(&format!("stranger-{t}-{i}")).public();
                    let (status, _) = node.post(
                        "/v1/session/challenge",
                        &serde_json::json!({ "key": stranger }),
                        None,
                    );
                    assert_eq!(status, 200);
                }
            });
        }
    });

    let mut challenge = [0u8; 32];
    for (i, byte) in challenge.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&challenge_hex[2 * i..2 * i + 2], 16).unwrap();
    }
    let signature = dr.sign(&curbside_node::api::session_message(&net.id(), &challenge));
    let answer = serde_json::json!({
        "key": dr.public(), "challenge": challenge_hex, "signature": signature,
    });
    let (status, body) = node.post("/v1/session", &answer, None);
    assert_eq!(status, 200, "the physician's challenge was pushed out: {body}");
    let (status, body) = node.post("/v1/session", &answer, None);
    assert_eq!((status, code(&body)), (401, "bad_challenge"), "a challenge opens one session");
}
