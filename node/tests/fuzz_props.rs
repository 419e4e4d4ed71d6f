//! The node fuzz targets' properties (`node/fuzz`), run briefly in `cargo
//! test`: the request-response codec reads only what it would write, and
//! the API's JSON bodies get a verdict (never a panic) that survives being
//! parsed and serialized again. (Reconciliation messages on their own are
//! covered by `curbside_protocol::recon`'s tests.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::LazyLock;

use base64::Engine as _;
use curbside_node::api::bodies::{self, Checked, Route};
use curbside_node::net::codec::{PROTOCOL, PostcardCodec};
use curbside_node::wire::Scope;
use curbside_node::wire::{Request, Response};
use curbside_protocol::recon::{self, Item, SyncSet};
use curbside_protocol::testkit::{Federation, key};
use curbside_protocol::{AttestationRequest, EventId, Handle, NetworkId, PublicKey, SignedEvent};
use futures::executor::block_on;
use futures::io::Cursor;
use libp2p::request_response::Codec;
use proptest::prelude::*;
use serde_json::json;

type Sync = PostcardCodec<Request, Response>;

struct Fixture {
    network: NetworkId,
    post: SignedEvent,
    request_text: String,
    set: SyncSet,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let mut fed = Federation::new();
    let dr = fed.physician("dr-a");
    let post = fed.post(&dr, "Refractory hypokalaemia");
    let handle = Handle::new("dr-new").unwrap();
    let request_text =
        AttestationRequest::new(fed.network(), &key("dr-new"), handle, fed.now()).to_text();
    let set = SyncSet::from_items((0..200u64).map(|i| {
        let mut id = [0u8; 32];
        id[..8].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
        Item::new(1_000 + i * 7, id)
    }));
    Fixture { network: fed.network(), post, request_text, set }
});

fn written<T: serde::Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).unwrap()
}

/// Reads `bytes` as a request and as a response: whatever reads writes
/// back to exactly `bytes`. Returns whether either read.
fn codec_reads_canonically(bytes: &[u8]) -> Result<bool, TestCaseError> {
    let mut codec = Sync::default();
    let request = block_on(codec.read_request(&PROTOCOL, &mut Cursor::new(bytes.to_vec())));
    let response = block_on(codec.read_response(&PROTOCOL, &mut Cursor::new(bytes.to_vec())));
    if let Ok(request) = &request {
        let mut out = Cursor::new(Vec::new());
        block_on(codec.write_request(&PROTOCOL, &mut out, request.clone())).unwrap();
        prop_assert_eq!(out.into_inner(), bytes);
    }
    if let Ok(response) = &response {
        let mut out = Cursor::new(Vec::new());
        block_on(codec.write_response(&PROTOCOL, &mut out, response.clone())).unwrap();
        prop_assert_eq!(out.into_inner(), bytes);
    }
    Ok(request.is_ok() || response.is_ok())
}

fn key_bytes() -> impl Strategy<Value = PublicKey> {
    any::<[u8; 32]>().prop_map(PublicKey::from_bytes)
}

fn event_id() -> impl Strategy<Value = EventId> {
    any::<[u8; 32]>().prop_map(EventId::from_bytes)
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::Credentials),
        (any::<bool>(), 0u64..200).prop_map(|(trust, skip)| {
            let items = FIXTURE.set.items().iter().skip(skip as usize).copied();
            Request::Reconcile {
                scope: if trust { Scope::Trust } else { Scope::Content },
                message: recon::initiate(&SyncSet::from_items(items)),
            }
        }),
        prop::collection::vec(event_id(), 0..20).prop_map(|ids| Request::Fetch { ids }),
        key_bytes().prop_map(|verifier| Request::LogHead { verifier }),
        (key_bytes(), any::<u64>(), any::<u64>(), any::<bool>()).prop_map(
            |(verifier, start, end, with_events)| Request::LogLeaves {
                verifier,
                start,
                end,
                with_events
            }
        ),
        (key_bytes(), any::<u64>(), any::<u64>())
            .prop_map(|(verifier, old, new)| Request::LogConsistency { verifier, old, new }),
        (key_bytes(), event_id(), any::<u64>())
            .prop_map(|(verifier, leaf, size)| Request::LogInclusion { verifier, leaf, size }),
        Just(Request::Admitted),
        key_bytes().prop_map(|key| Request::TrustFor { key }),
    ]
}

fn response() -> impl Strategy<Value = Response> {
    let events = prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..4);
    prop_oneof![
        events.clone().prop_map(|events| Response::Events { events }),
        events.clone().prop_map(|events| Response::Credentials { events }),
        any::<bool>().prop_map(|admitted| Response::Admission { admitted }),
        Just(Response::Events { events: vec![FIXTURE.post.to_bytes()] }),
        any::<bool>().prop_map(|some| Response::Reconcile {
            message: some
                .then(|| {
                    recon::respond(&SyncSet::new(), &recon::initiate(&FIXTURE.set)).unwrap().next
                })
                .flatten()
        }),
        (any::<Option<Vec<u8>>>(), any::<u64>())
            .prop_map(|(head, size)| Response::LogHead { head, size }),
        (any::<u64>(), prop::collection::vec(event_id(), 0..4), events)
            .prop_map(|(start, leaves, events)| Response::LogLeaves { start, leaves, events }),
        (any::<u64>(), prop::collection::vec(any::<[u8; 32]>(), 0..6)).prop_map(
            |(index, proof)| Response::LogProof {
                index,
                proof: proof.into_iter().map(curbside_protocol::Digest::from_bytes).collect()
            }
        ),
        ("[a-z_]{0,20}", ".{0,40}").prop_map(|(code, message)| Response::Refused { code, message }),
    ]
}

/// What the `api_json` target checks: a verdict, never a panic; refusals
/// are 4xx with a snake_case code; a body that parses, serialized again,
/// gets the same verdict and serializes to itself.
fn body_verdict_is_stable(route: Route, body: &[u8]) -> Result<(), TestCaseError> {
    let network = &FIXTURE.network;
    let verdict = bodies::check(route, body, network);
    match &verdict {
        Err(r) => {
            prop_assert!((400..500).contains(&r.status), "{:?}", r);
            prop_assert!(
                !r.code.is_empty() && r.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{:?}",
                r
            );
        }
        Ok(Checked::Events(each)) => prop_assert!((1..=1024).contains(&each.len())),
        Ok(_) => {}
    }
    match bodies::reserialize_body(route, body) {
        Some(again) => {
            prop_assert_eq!(&bodies::check(route, &again, network), &verdict);
            prop_assert_eq!(bodies::reserialize_body(route, &again), Some(again));
        }
        None => match &verdict {
            Err(r) => prop_assert_eq!(r.code, "malformed_json"),
            Ok(c) => prop_assert!(false, "accepted {:?} but it does not parse", c),
        },
    }
    Ok(())
}

fn route() -> impl Strategy<Value = Route> {
    prop::sample::select(Route::ALL.to_vec())
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,20}".prop_map(serde_json::Value::from),
        "[0-9a-f]{64}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid body for `route` (over the fixture's network).
fn valid_body(route: Route) -> serde_json::Value {
    let fx = &*FIXTURE;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(fx.post.to_bytes());
    let key = fx.post.author();
    match route {
        Route::Events => json!({ "events": [b64] }),
        Route::Challenge => json!({ "key": key }),
        Route::Session => json!({
            "key": key, "challenge": "ab".repeat(32), "signature": fx.post.signature()
        }),
        Route::Attest => json!({
            "request": fx.request_text, "specialties": ["cardiology"], "jurisdiction": "GB",
            "licence": "GMC 1234567", "valid_days": 365
        }),
        Route::Revoke => json!({ "target": fx.post.id(), "reason": "lapsed" }),
        Route::Peers => json!({ "address": "/ip4/127.0.0.1/tcp/7421" }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_the_codec(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        codec_reads_canonically(&bytes)?;
    }

    #[test]
    fn requests_read_back_and_edited_ones_read_canonically(
        request in request(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 1u8..), 0..3),
    ) {
        let mut bytes = written(&request);
        prop_assert!(codec_reads_canonically(&bytes)?, "a written request did not read");
        for (at, x) in edits {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        codec_reads_canonically(&bytes)?;
        // What a node does next with a reconciliation message: answer it.
        if let Ok(Request::Reconcile { message, .. }) = postcard::from_bytes::<Request>(&bytes) {
            let _ = recon::respond(&FIXTURE.set, &message);
        }
    }

    #[test]
    fn responses_read_back_and_edited_ones_read_canonically(
        response in response(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 1u8..), 0..3),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = written(&response);
        prop_assert!(codec_reads_canonically(&bytes)?, "a written response did not read");
        let mut longer = bytes.clone();
        longer.push(0);
        let read = block_on(Sync::default().read_response(&PROTOCOL, &mut Cursor::new(longer.clone())));
        prop_assert!(read.is_err(), "a response with a byte after it was read");
        codec_reads_canonically(&longer)?;
        let short = &bytes[..cut.index(bytes.len())];
        codec_reads_canonically(short)?;
        for (at, x) in edits {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        codec_reads_canonically(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes_get_an_api_verdict(route in route(), body in prop::collection::vec(any::<u8>(), 0..300)) {
        body_verdict_is_stable(route, &body)?;
    }

    #[test]
    fn arbitrary_json_gets_an_api_verdict(route in route(), value in json_value()) {
        body_verdict_is_stable(route, &serde_json::to_vec(&value).unwrap())?;
    }

    #[test]
    fn valid_bodies_with_a_field_replaced_get_an_api_verdict(
        route in route(),
        field in any::<prop::sample::Index>(),
        value in json_value(),
    ) {
        let mut body = valid_body(route);
        let object = body.as_object_mut().unwrap();
        let name = object.keys().nth(field.index(object.len())).unwrap().clone();
        object.insert(name, value);
        body_verdict_is_stable(route, &serde_json::to_vec(&body).unwrap())?;
    }

    #[test]
    fn edited_valid_bodies_get_an_api_verdict(
        route in route(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = serde_json::to_vec(&valid_body(route)).unwrap();
        for (at, x) in edits {
            let i = at.index(bytes.len());
            bytes[i] = x;
        }
        body_verdict_is_stable(route, &bytes)?;
    }
}

/// The valid bodies are accepted, so the edits above start from bodies that
/// reach every check.
#[test]
fn valid_bodies_are_accepted() {
    for route in Route::ALL {
        let body = serde_json::to_vec(&valid_body(route)).unwrap();
        let verdict = bodies::check(route, &body, &FIXTURE.network);
        assert!(verdict.is_ok(), "{route:?}: {verdict:?}");
    }
    let Ok(Checked::Events(each)) =
        bodies::check(Route::Events, br#"{"events": ["@@", "AAAA"]}"#, &FIXTURE.network)
    else {
        panic!("two undecodable events are still a request")
    };
    assert_eq!(each, vec![Err("malformed"), Err("malformed")]);
}
