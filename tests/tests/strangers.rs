//! What a caller with no credentials can make a node's HTTP API spend:
//! every error is JSON with a code, sessions are bounded per physician,
//! and idle, slow or too many connections are closed or refused while
//! physicians' requests go on being answered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

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
