//! Writes `seeds/<target>/` for the node's fuzz targets. Deterministic
//! (testkit keys come from fixed seeds, ed25519 signing is deterministic),
//! so re-running it rewrites the same bytes:
//!
//! ```sh
//! cd node/fuzz && cargo run --example seeds
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use base64::Engine as _;
use curbside_node::api::bodies::Route;
use curbside_node::wire::{Request, Response};
use curbside_node::wire::Scope;
use curbside_protocol::recon;
use curbside_node_fuzz::{route_byte, sync_set};
use curbside_protocol::testkit::{Federation, key};
use curbside_protocol::{AttestationRequest, Handle, SecretKey};
use serde_json::json;

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut fed = Federation::new();
    let dr = fed.physician("dr-a");
    let post = fed.post(&dr, "Refractory hypokalaemia");
    let verifier = fed.verifier().public();

    // codec: requests and responses as a peer writes them.
    let codec = seeds.join("codec");
    let set = sync_set();
    let opening = recon::initiate(&set);
    let reply = recon::respond(&recon::SyncSet::new(), &opening).unwrap().next;
    let requests = [
        ("request-credentials", Request::Credentials),
        ("request-reconcile", Request::Reconcile { scope: Scope::Content, message: opening }),
        ("request-fetch", Request::Fetch { ids: vec![post.id()] }),
        ("request-log-head", Request::LogHead { verifier }),
        (
            "request-log-leaves",
            Request::LogLeaves { verifier, start: 0, end: 4, with_events: true },
        ),
        ("request-log-consistency", Request::LogConsistency { verifier, old: 1, new: 3 }),
        ("request-log-inclusion", Request::LogInclusion { verifier, leaf: post.id(), size: 3 }),
        ("request-admitted", Request::Admitted),
        ("request-trust-for", Request::TrustFor { key: dr.public() }),
    ];
    for (name, request) in requests {
        write(&codec, name, &postcard::to_stdvec(&request).unwrap());
    }
    let responses = [
        ("response-events", Response::Events { events: vec![post.to_bytes()] }),
        ("response-reconcile", Response::Reconcile { message: reply }),
        (
            "response-refused",
            Response::Refused { code: "rate_limited".into(), message: "slow down".into() },
        ),
        ("response-admission", Response::Admission { admitted: true }),
    ];
    for (name, response) in responses {
        write(&codec, name, &postcard::to_stdvec(&response).unwrap());
    }

    // api_json: one route byte, then a body.
    let api = seeds.join("api_json");
    let body = |route: Route, value: serde_json::Value| {
        let mut bytes = vec![route_byte(route)];
        bytes.extend(serde_json::to_vec(&value).unwrap());
        bytes
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(post.to_bytes());
    let request = AttestationRequest::new(
        fed.network(),
        &key("dr-new"),
        Handle::new("dr-new").unwrap(),
        fed.now(),
    );
    let session_key = SecretKey::from_seed(&[7; 32]);
    let cases = [
        ("events", body(Route::Events, json!({ "events": [b64, "bm90IGFuIGV2ZW50"] }))),
        ("challenge", body(Route::Challenge, json!({ "key": session_key.public() }))),
        (
            "session",
            body(
                Route::Session,
                json!({
                    "key": session_key.public(),
                    "challenge": "00".repeat(32),
                    "signature": session_key.sign(&curbside_node::api::session_message(&fed.network(), &[0; 32])),
                }),
            ),
        ),
        (
            "attest",
            body(
                Route::Attest,
                json!({
                    "request": request.to_text(),
                    "specialties": ["cardiology"],
                    "jurisdiction": "GB",
                    "licence": "GMC 1234567",
                    "valid_days": 365,
                }),
            ),
        ),
        ("revoke", body(Route::Revoke, json!({ "target": post.id(), "reason": "licence lapsed" }))),
        ("peers", body(Route::Peers, json!({ "address": "/ip4/127.0.0.1/tcp/7421" }))),
    ];
    for (name, bytes) in cases {
        write(&api, name, &bytes);
    }
}
