//! The golden vectors in `docs/PROTOCOL.md` are exactly what the code
//! produces, byte for byte; and decoding the published bytes gives back an
//! event that verifies.

#![allow(clippy::unwrap_used)]

use curbside_protocol::{SignedEvent, testkit::vectors};

const DOC: &str = include_str!("../../docs/PROTOCOL.md");

fn published(name: &str) -> Option<String> {
    curbside_protocol::testkit::published(DOC, name)
}

#[test]
fn every_vector_is_in_the_protocol_document_under_its_name() {
    for (name, value) in vectors() {
        let shown =
            published(name).unwrap_or_else(|| panic!("docs/PROTOCOL.md has no **{name}** vector"));
        assert_eq!(shown, value, "docs/PROTOCOL.md shows a different {name}");
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
