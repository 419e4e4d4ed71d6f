//! The fuzz targets' properties (`protocol/fuzz`), run briefly in `cargo
//! test` over mutations of valid inputs: events mutated and then decoded
//! and validated against a testkit federation, and attestation request
//! strings mutated and parsed. (Decoding alone, and the encoding's round
//! trips, are in `encoding_props.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::LazyLock;

use curbside_protocol::testkit::{Federation, key};
use curbside_protocol::{
    Arrival, AttestationRequest, Handle, SecretKey, SignedEvent, TrustView, validate,
    validate_bytes,
};
use proptest::prelude::*;

/// A federation with physicians and accepted content, the wire bytes of
/// valid events of every common kind not yet held, and every key that
/// signed them.
struct Fixture {
    fed: Federation,
    events: Vec<Vec<u8>>,
    keys: Vec<SecretKey>,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let b = fed.physician_with("dr-b", &["cardiology"], "GB");
    let post = fed.post(&a, "Refractory hypokalaemia");
    fed.accept(&post);
    let poll = fed.poll(&b, &["Beta blocker", "Ablation"], &["cardiology"]);
    fed.accept(&poll);
    let comment = fed.comment(&b, &post, "Check magnesium first.");
    let vote = fed.vote(&b, &poll, 1);
    let newcomer = key("dr-c");
    let attestation = fed.attestation(&newcomer, "dr-c", &["oncology"], "GB");
    let charter = fed.charter(&key("relay").public(), &[]);
    // Accepted above only as parents; these are new, so each reaches its
    // body's rules rather than the duplicate check.
    let second_post = fed.post(&b, "Hyponatraemia after a marathon");
    let second_poll = fed.poll(&a, &["Fluid restriction", "Tolvaptan", "Wait"], &[]);
    let events = [second_post, second_poll, comment, vote, attestation, charter]
        .iter()
        .map(SignedEvent::to_bytes)
        .collect();
    let keys = vec![fed.root().clone(), fed.verifier().clone(), a, b, newcomer];
    Fixture { fed, events, keys }
});

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Edit {
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Remove(prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<prop::sample::Index>(), 1u8..).prop_map(|(i, x)| Edit::Flip(i, x)),
        1 => (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, x)| Edit::Insert(i, x)),
        1 => any::<prop::sample::Index>().prop_map(Edit::Remove),
        1 => any::<prop::sample::Index>().prop_map(Edit::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for e in edits {
        if bytes.is_empty() {
            return;
        }
        match e {
            Edit::Flip(i, x) => {
                let i = i.index(bytes.len());
                bytes[i] ^= x;
            }
            Edit::Insert(i, x) => bytes.insert(i.index(bytes.len() + 1), *x),
            Edit::Remove(i) => {
                bytes.remove(i.index(bytes.len()));
            }
            Edit::Truncate(i) => bytes.truncate(i.index(bytes.len())),
        }
    }
}

/// What the `decode_validate` target checks: decoding and validation never
/// panic, whatever decodes is canonical, `validate_bytes` decides as
/// `decode` + `validate`, and a re-signed event reaches the body rules.
fn decode_and_validate(bytes: &[u8]) -> Result<(), TestCaseError> {
    let fx = &*FIXTURE;
    let (view, now) = (fx.fed.view(), Arrival::live(fx.fed.now()));
    let by_bytes = validate_bytes(bytes, view, now);
    let event = match SignedEvent::decode(bytes) {
        Ok(event) => event,
        Err(_) => {
            prop_assert!(by_bytes.is_err());
            return Ok(());
        }
    };
    prop_assert_eq!(event.to_bytes(), bytes);
    let verdict = validate(&event, view, now);
    if bytes.len() <= view.genesis().params.max_event_bytes as usize {
        match (&verdict, &by_bytes) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a.authority(), b.authority()),
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            (a, b) => prop_assert!(false, "validate {:?} but validate_bytes {:?}", a, b),
        }
    }
    if let Some(key) = fx.keys.iter().find(|k| k.public() == *event.author()) {
        let resigned = event.event().clone().sign(key).unwrap();
        prop_assert!(resigned.verify_signature().is_ok());
        let verdict = validate(&resigned, view, now);
        let by_bytes = validate_bytes(&resigned.to_bytes(), view, now);
        prop_assert_eq!(verdict.is_ok(), by_bytes.is_ok());
    }
    Ok(())
}

fn request_text() -> String {
    let fed = &FIXTURE.fed;
    let handle = Handle::new("dr-new").unwrap();
    AttestationRequest::new(fed.network(), &key("dr-new"), handle, fed.now()).to_text()
}

/// What the `attestation_request` target checks: parsing never panics, a
/// parsed request verifies, prints back to an equal request, and its text
/// is the input without whitespace.
fn parse_request(text: &str) -> Result<(), TestCaseError> {
    let Ok(request) = AttestationRequest::from_text(text) else { return Ok(()) };
    prop_assert!(request.verify().is_ok());
    let printed = request.to_text();
    prop_assert_eq!(AttestationRequest::from_text(&printed).unwrap(), request);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    prop_assert_eq!(printed, compact);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn edited_events_decode_canonically_and_validate_without_panic(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let mut bytes = FIXTURE.events[which.index(FIXTURE.events.len())].clone();
        apply(&mut bytes, &edits);
        decode_and_validate(&bytes)?;
    }

    #[test]
    fn unedited_events_get_the_same_verdict_both_ways(which in any::<prop::sample::Index>()) {
        decode_and_validate(&FIXTURE.events[which.index(FIXTURE.events.len())])?;
    }

    #[test]
    fn random_bytes_never_panic_validation(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        decode_and_validate(&bytes)?;
    }

    #[test]
    fn edited_request_strings_parse_only_to_valid_requests(
        edits in prop::collection::vec(edit(), 0..3),
        wrap in prop::collection::vec((any::<prop::sample::Index>(), prop_oneof![Just(' '), Just('\n'), Just('\t')]), 0..4),
    ) {
        let mut bytes = request_text().into_bytes();
        apply(&mut bytes, &edits);
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        for (at, c) in wrap {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            text.insert(i, c);
        }
        parse_request(&text)?;
    }

    #[test]
    fn arbitrary_text_never_panics_the_request_parser(text in ".{0,300}") {
        parse_request(&text)?;
    }
}

/// The unedited fixture is what the properties above mutate: it must be
/// valid, or the edits would only ever reach the first refusal.
#[test]
fn the_fixture_is_accepted() {
    let fx = &*FIXTURE;
    for bytes in &fx.events {
        let event = SignedEvent::decode(bytes).unwrap();
        let verdict = validate(&event, fx.fed.view(), Arrival::live(fx.fed.now()));
        assert!(verdict.is_ok(), "{:?}: {:?}", event.kind(), verdict.err());
    }
    assert!(AttestationRequest::from_text(&request_text()).unwrap().verify().is_ok());
}
