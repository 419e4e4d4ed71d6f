//! Who may read and write what, over the real API: admin routes need the
//! admin token, content needs a session, sessions expire, and the public
//! routes carry no physician's content.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use curbside_protocol::testkit::key;
use curbside_tests::{Network, TestNode};
use serde_json::{Value, json};

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

/// Every admin route refuses a caller without the token (401), with a
/// wrong one (401) and with a physician's session (403).
#[test]
fn every_admin_route_needs_the_admin_token() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let dr = key("access-dr");
    let attestation = node.attest(&net, &dr, "dr-access", &["oncology"], "GB");
    let session = node.session(&net, &dr).unwrap();
    let posts: [(&str, Value); 5] = [
        (
            "/v1/admin/attest",
            json!({ "request": "x", "specialties": [], "jurisdiction": "GB", "licence": "1", "valid_days": 1 }),
        ),
        ("/v1/admin/revoke", json!({ "target": attestation.to_string(), "reason": "r" })),
        ("/v1/admin/peers", json!({ "address": "/ip4/127.0.0.1/tcp/9" })),
        ("/v1/admin/operators", json!({ "name": "mallory" })),
        ("/v1/admin/operators/owner/revoke", json!({})),
    ];
    for (path, body) in &posts {
        for (token, status, expected) in [
            (None, 401, "unauthenticated"),
            (Some("not-the-token"), 401, "unauthenticated"),
            (Some(session.as_str()), 403, "forbidden"),
        ] {
            let (got, answer) = node.post(path, body, token);
            assert_eq!((got, code(&answer)), (status, expected), "POST {path} with {token:?}");
        }
    }
    let opening = format!("/v1/admin/openings/{attestation}");
    for path in [opening.as_str(), "/v1/admin/operators", "/v1/admin/log"] {
        for (token, status) in [(None, 401), (Some(session.as_str()), 403)] {
            assert_eq!(node.get(path, token).0, status, "GET {path} with {token:?}");
        }
    }
    // The token itself works, and the attestation is still in force.
    assert_eq!(node.get(&opening, Some(&node.admin_token)).0, 200);
    assert_eq!(node.get("/v1/hubs", Some(&session)).0, 200);
}

/// Without a session no route returns physicians' content; the routes
/// that need none return counts, identities and the trust record only.
#[test]
fn no_route_returns_content_without_a_session() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let dr = key("content-dr");
    node.attest(&net, &dr, "dr-content", &["oncology"], "GB");
    let post = net.post(&dr, "Confidential question");
    assert_eq!(node.submit(std::slice::from_ref(&post)).0, 200);
    let id = post.id();
    for path in [
        "/v1/hubs".to_string(),
        "/v1/hubs/general/feed".to_string(),
        format!("/v1/events/{id}"),
        format!("/v1/events/{id}/thread"),
        format!("/v1/polls/{id}/tally"),
        format!("/v1/keys/{}/attestation", dr.public()),
    ] {
        let (status, body) = node.get(&path, None);
        assert_eq!((status, code(&body)), (401, "unauthenticated"), "GET {path}");
        let (status, _) = node.get(&path, Some("forged-session"));
        assert_eq!(status, 401, "GET {path} with a forged session");
    }
    // Public routes: nothing of the post appears in any of them.
    for path in [
        "/v1/status",
        "/v1/network",
        "/metrics",
        "/v1/genesis",
        "/v1/audit/logs",
        "/v1/audit/charters",
    ] {
        let (status, body) = node.get(path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        let text = body.to_string();
        assert!(
            !text.contains("Confidential question") && !text.contains(&id.to_string()),
            "GET {path} shows the post: {text}"
        );
    }
    let (status, _) = node.get(&format!("/v1/audit/events/{id}"), None);
    assert_eq!(status, 404, "the audit routes serve trust events only");
}

/// A session ends when it expires.
#[test]
fn sessions_expire() {
    let net = Network::new();
    let node = TestNode::start_tweaked(&net, |c| c.session_ms = 1_000);
    let dr = key("expiring-dr");
    node.attest(&net, &dr, "dr-expiring", &["oncology"], "GB");
    let session = node.session(&net, &dr).unwrap();
    assert_eq!(node.get("/v1/hubs", Some(&session)).0, 200);
    std::thread::sleep(Duration::from_millis(1_200));
    let (status, body) = node.get("/v1/hubs", Some(&session));
    assert_eq!((status, code(&body)), (401, "unauthenticated"), "{body}");
}
