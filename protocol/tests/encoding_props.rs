//! Property tests for the canonical encoding: every event round-trips byte
//! for byte, every prefix or extension of an encoding is refused, and any
//! changed byte either fails to decode or changes the id or the signature's
//! validity.

#![allow(clippy::unwrap_used)]

use curbside_protocol::{
    AgeBand, Attestation, Body, Case, Charter, Comment, Cosignature, Digest, Event, EventId,
    Genesis, Handle, HubDef, HubId, Jurisdiction, NetworkId, Poll, Post, PublicKey, Revocation,
    SecretKey, Sex, Signature, SignedEvent, Specialty, Tag, Timestamp, TreeHead, Vote,
};
use proptest::prelude::*;

fn bytes32() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,40}", "[a-zA-Z0-9 .,%/]{0,200}"]
}

fn slug() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,6}){0,2}"
}

fn hub() -> impl Strategy<Value = HubId> {
    slug().prop_map(|s| HubId::new(s).unwrap())
}

fn specialty() -> impl Strategy<Value = Specialty> {
    slug().prop_map(|s| Specialty::new(s).unwrap())
}

fn jurisdiction() -> impl Strategy<Value = Jurisdiction> {
    "[A-Z]{2}(-[A-Z0-9]{1,3})?".prop_map(|s| Jurisdiction::new(s).unwrap())
}

fn ts() -> impl Strategy<Value = Timestamp> {
    any::<u64>().prop_map(Timestamp::from_millis)
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        (bytes32(), text(), prop::collection::vec(jurisdiction(), 0..4), ts()).prop_map(
            |(node, institution, verify, valid_until)| Body::Charter(Charter {
                node: PublicKey::from_bytes(node),
                institution,
                verify,
                valid_until
            })
        ),
        (
            bytes32(),
            "[a-z][a-z0-9_.-]{2,20}",
            prop::collection::vec(specialty(), 0..4),
            jurisdiction(),
            bytes32(),
            ts(),
            ts(),
            any::<[u8; 32]>()
        )
            .prop_map(
                |(subject, handle, specialties, jurisdiction, c, valid_until, requested_at, s)| {
                    let mut sig = [0u8; 64];
                    sig[..32].copy_from_slice(&s);
                    Body::Attestation(Attestation {
                        subject: PublicKey::from_bytes(subject),
                        handle: Handle::new(handle).unwrap(),
                        specialties,
                        jurisdiction,
                        licence_commitment: Digest::from_bytes(c),
                        valid_until,
                        requested_at,
                        possession: Signature::from_bytes(sig),
                    })
                }
            ),
        (bytes32(), text(), ts()).prop_map(|(t, reason, effective_at)| Body::Revocation(
            Revocation { target: EventId::from_bytes(t), reason, effective_at }
        )),
        (any::<u64>(), bytes32())
            .prop_map(|(size, r)| Body::TreeHead(TreeHead { size, root: Digest::from_bytes(r) })),
        (bytes32(), bytes32(), any::<u64>(), bytes32()).prop_map(|(h, v, size, r)| {
            Body::Cosignature(Cosignature {
                head: EventId::from_bytes(h),
                verifier: PublicKey::from_bytes(v),
                size,
                root: Digest::from_bytes(r),
            })
        }),
        (hub(), text()).prop_map(|(id, title)| Body::Hub(HubDef { id, title })),
        (hub(), text(), text()).prop_map(|(hub, title, body)| Body::Post(Post {
            hub,
            title,
            body
        })),
        (hub(), text(), 0u32..120, text(), text(), prop::collection::vec(slug(), 0..3)).prop_map(
            |(hub, title, age, presentation, question, tags)| Body::Case(Case {
                hub,
                title,
                age: AgeBand::from_years(age),
                sex: Sex::Female,
                presentation,
                history: String::new(),
                findings: "BP 120/80".into(),
                question,
                tags: tags.into_iter().map(|t| Tag::new(t).unwrap()).collect(),
            })
        ),
        (bytes32(), text())
            .prop_map(|(p, body)| Body::Comment(Comment { parent: EventId::from_bytes(p), body })),
        (
            hub(),
            text(),
            prop::collection::vec(text(), 0..9),
            ts(),
            prop::collection::vec(specialty(), 0..3)
        )
            .prop_map(|(hub, question, options, closes_at, eligible)| Body::Poll(Poll {
                hub,
                question,
                options,
                closes_at,
                eligible
            })),
        (bytes32(), any::<u8>())
            .prop_map(|(p, option)| Body::Vote(Vote { poll: EventId::from_bytes(p), option })),
    ]
}

fn signed_event() -> impl Strategy<Value = SignedEvent> {
    (any::<[u8; 32]>(), bytes32(), ts(), body()).prop_map(|(seed, network, at, body)| {
        let key = SecretKey::from_seed(&seed);
        Event::new(NetworkId::from_bytes(network), key.public(), at, body).sign(&key).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trips_byte_for_byte(event in signed_event()) {
        let bytes = event.to_bytes();
        let decoded = SignedEvent::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &event);
        prop_assert_eq!(decoded.to_bytes(), bytes.clone());
        prop_assert_eq!(decoded.id(), event.event().id());
        // Gossip's message id, computed without decoding, is the event id.
        prop_assert_eq!(EventId::of_wire(&bytes), event.id());
        prop_assert_eq!(decoded.encoded_len(), bytes.len());
        prop_assert!(decoded.verify_signature().is_ok());
        // Through serde in both formats.
        let json = serde_json::to_string(&event).unwrap();
        prop_assert_eq!(serde_json::from_str::<SignedEvent>(&json).unwrap(), event.clone());
        let wrapped = postcard::to_stdvec(&event).unwrap();
        prop_assert_eq!(postcard::from_bytes::<SignedEvent>(&wrapped).unwrap(), event);
    }

    #[test]
    fn a_stored_event_reads_back_as_decode_gave_it(event in signed_event(), cut in any::<prop::sample::Index>()) {
        let bytes = event.to_bytes();
        let decoded = SignedEvent::decode(&bytes).unwrap();
        let trusted = SignedEvent::from_trusted_store(&bytes, decoded.id()).unwrap();
        prop_assert_eq!(&trusted, &decoded);
        prop_assert_eq!(trusted.encoded_len(), bytes.len());
        // Cut short, the bytes do not even parse (or leave no signature).
        let n = cut.index(bytes.len());
        prop_assert!(SignedEvent::from_trusted_store(&bytes[..n], decoded.id()).is_err());
    }

    #[test]
    fn prefixes_and_extensions_are_refused(event in signed_event(), cut in any::<prop::sample::Index>(), extra in prop::collection::vec(any::<u8>(), 1..8)) {
        let bytes = event.to_bytes();
        let n = cut.index(bytes.len());
        prop_assert!(SignedEvent::decode(&bytes[..n]).is_err());
        let mut longer = bytes;
        longer.extend_from_slice(&extra);
        prop_assert!(SignedEvent::decode(&longer).is_err());
    }

    #[test]
    fn any_changed_byte_is_caught(event in signed_event(), at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let mut bytes = event.to_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= flip;
        match SignedEvent::decode(&bytes) {
            Err(_) => {}
            Ok(changed) => prop_assert!(
                changed.verify_signature().is_err(),
                "a changed byte at {} still verified", i
            ),
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(event) = SignedEvent::decode(&bytes) {
            prop_assert_eq!(event.to_bytes(), bytes);
        }
    }

    #[test]
    fn genesis_round_trips(name in "[A-Za-z ]{1,30}", seeds in prop::collection::vec(any::<[u8; 32]>(), 1..4)) {
        let roots = seeds.iter().map(|s| SecretKey::from_seed(s).public()).collect::<Vec<_>>();
        let mut roots = roots;
        roots.sort();
        roots.dedup();
        let g = Genesis::new(name, roots, Timestamp::from_millis(5));
        let back = Genesis::from_bytes(&g.to_bytes()).unwrap();
        prop_assert_eq!(back.network_id(), g.network_id());
        prop_assert_eq!(back, g);
    }
}
