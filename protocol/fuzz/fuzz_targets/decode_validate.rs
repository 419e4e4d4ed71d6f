//! Wire bytes -> `SignedEvent::decode` -> `validate`, as a node sees them.
//!
//! Checks, on every input:
//! - nothing panics in `decode`, `validate` or `validate_bytes`;
//! - whatever decodes is canonical: `to_bytes()` gives back the input exactly,
//!   decoding that again gives the same event, and id and length agree with
//!   the event rebuilt from its parts;
//! - `validate_bytes(bytes)` decides exactly as `decode` + `validate` do
//!   (for inputs within the network's size limit);
//! - if the author is a key the fixture knows, the event is re-signed and
//!   validated again, so mutated events get past the signature check and
//!   reach the authority and body rules (nothing may panic there either).
#![no_main]

use std::sync::LazyLock;

use curbside_protocol::{SignedEvent, TrustView, validate, validate_bytes};
use curbside_protocol_fuzz::{Fixture, fixture};
use libfuzzer_sys::fuzz_target;

static FIXTURE: LazyLock<Fixture> = LazyLock::new(fixture);

fuzz_target!(|data: &[u8]| {
    let fx = &*FIXTURE;
    let view = fx.fed.view();
    let now = curbside_protocol::Arrival::live(fx.fed.now());

    let decoded = SignedEvent::decode(data);
    let by_bytes = validate_bytes(data, view, now);

    let event = match decoded {
        Ok(event) => event,
        Err(rejection) => {
            // validate_bytes must refuse too (with the size limit checked first).
            assert!(by_bytes.is_err(), "validate_bytes accepted what decode refused: {rejection}");
            return;
        }
    };

    // Canonical round trip.
    let bytes = event.to_bytes();
    assert_eq!(bytes, data, "decode accepted a non-canonical encoding");
    assert_eq!(event.encoded_len(), data.len());
    let again = SignedEvent::decode(&bytes).expect("re-decoding canonical bytes");
    assert_eq!(again, event);
    let rebuilt = SignedEvent::from_parts(event.event().clone(), *event.signature());
    assert_eq!(rebuilt.id(), event.id());
    assert_eq!(rebuilt.encoded_len(), event.encoded_len());
    assert_eq!(event.event().id(), event.id());

    // validate and validate_bytes agree.
    let verdict = validate(&event, view, now);
    if data.len() <= view.genesis().params.max_event_bytes as usize {
        match (&verdict, &by_bytes) {
            (Ok(a), Ok(b)) => assert_eq!(a.authority(), b.authority()),
            (Err(a), Err(b)) => assert_eq!(a, b),
            (a, b) => panic!("validate {a:?} but validate_bytes {b:?}"),
        }
    } else {
        assert!(by_bytes.is_err() && verdict.is_err());
    }
    if let Ok(accepted) = &verdict {
        let _ = accepted.to_verified();
    }

    // Re-sign with a known key so the body rules see mutated content.
    let author = *event.author();
    if let Some(key) = fx.keys.iter().find(|k| k.public() == author) {
        let resigned = event.event().clone().sign(key).expect("key matches author");
        let resigned_bytes = resigned.to_bytes();
        let decoded = SignedEvent::decode(&resigned_bytes).expect("own encoding decodes");
        assert_eq!(decoded, resigned);
        let _ = validate(&resigned, view, now);
        let _ = validate_bytes(&resigned_bytes, view, now);
    }
});
