//! An HTTP body -> the API's JSON request types, parsed as axum's `Json`
//! extractor parses them, then the checks each handler makes before it
//! touches state (`curbside_node::api::bodies`). The first input byte picks
//! the route.
//!
//! Checks, on every input:
//! - nothing panics;
//! - a refusal carries a 4xx status and a stable snake_case code;
//! - a body that parses, serialized again, parses to the same thing and gets
//!   the same verdict, and that serialization is a fixed point;
//! - an accepted events body names at most 1,024 events, each decoded
//!   event's id is the id of its canonical bytes.
#![no_main]

use std::sync::LazyLock;

use curbside_node::api::bodies::{self, Checked};
use curbside_protocol::NetworkId;
use curbside_node_fuzz::{network, split};
use libfuzzer_sys::fuzz_target;

static NETWORK: LazyLock<NetworkId> = LazyLock::new(network);

fuzz_target!(|data: &[u8]| {
    let Some((route, body)) = split(data) else { return };
    let verdict = bodies::check(route, body, &NETWORK);
    match &verdict {
        Err(refusal) => {
            assert!((400..500).contains(&refusal.status), "{refusal:?}");
            assert!(
                !refusal.code.is_empty()
                    && refusal.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{refusal:?}"
            );
        }
        Ok(Checked::Events(each)) => assert!((1..=1024).contains(&each.len())),
        Ok(_) => {}
    }
    match bodies::reserialize_body(route, body) {
        Some(again) => {
            assert_eq!(bodies::check(route, &again, &NETWORK), verdict, "{}", String::from_utf8_lossy(&again));
            assert_eq!(bodies::reserialize_body(route, &again).as_deref(), Some(&again[..]));
        }
        None => match &verdict {
            Err(refusal) => assert_eq!(refusal.code, "malformed_json"),
            Ok(c) => panic!("accepted {c:?} but did not parse"),
        },
    }
});
