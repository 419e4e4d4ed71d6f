//! The golden vectors in `docs/PROTOCOL.md` are exactly what the code
//! produces, byte for byte; and decoding the published bytes gives back an
//! event that verifies.

#![allow(clippy::unwrap_used)]

use curbside_protocol::{SignedEvent, testkit::vectors};

const DOC: &str = include_str!("../../docs/PROTOCOL.md");

/// The document's text with line breaks inside long hex runs removed, so
/// vectors can be wrapped for reading.
fn doc_joined() -> String {
    DOC.lines().map(str::trim).collect::<Vec<_>>().join("")
}

#[test]
fn every_vector_is_in_the_protocol_document() {
    let doc = doc_joined();
    for (name, value) in vectors() {
        assert!(doc.contains(&value), "docs/PROTOCOL.md lacks the {name} vector:\n{value}");
    }
}

#[test]
fn published_vote_bytes_decode_and_verify() {
    let v = vectors();
    let get = |n: &str| v.iter().find(|(name, _)| *name == n).unwrap().1.clone();
    let bytes = hex::decode(get("vote signed bytes")).unwrap();
    let vote = SignedEvent::decode(&bytes).unwrap();
    assert_eq!(vote.id().to_string(), get("vote id"));
    assert!(vote.verify_signature().is_ok());
    assert_eq!(vote.to_bytes(), bytes);
}
