//! Pasted text -> `AttestationRequest::from_text`.
//!
//! Checks: nothing panics; a request that parses prints back (`to_text`) and
//! parses again to an equal request; and the printed form is the input with
//! its whitespace removed (the text form is canonical: one request, one
//! string, whatever line-wrapping it went through).
#![no_main]

use curbside_protocol::AttestationRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(request) = AttestationRequest::from_text(text) else {
        return;
    };
    let printed = request.to_text();
    let again = AttestationRequest::from_text(&printed).expect("to_text output parses");
    assert_eq!(again, request, "to_text/from_text round trip");
    assert!(request.verify().is_ok(), "from_text returned a request that does not verify");
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(printed, compact, "two different texts parse to the same request");
});
