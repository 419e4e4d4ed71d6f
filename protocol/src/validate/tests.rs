//! Every rejection, dependency and acceptance path, each from a story.

use super::*;
use crate::testkit::{Federation, key};
use crate::{
    Attestation, Body, Case, Charter, Comment, Cosignature, Digest, Event, HubDef, HubId,
    NetworkId, Poll, Post, Revocation, SecretKey, Sex, Signature, TreeHead, Vote,
    deid::IdentifierKind,
};

fn rejected(fed: &Federation, event: &SignedEvent) -> Rejection {
    match validate(event, fed.view(), Arrival::live(fed.now())) {
        Err(NotAccepted::Invalid(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn missing(fed: &Federation, event: &SignedEvent) -> Dependency {
    match validate(event, fed.view(), Arrival::live(fed.now())) {
        Err(NotAccepted::Missing(d)) => d,
        other => panic!("expected a missing dependency, got {other:?}"),
    }
}

fn post_body(title: &str, body: &str) -> Body {
    Body::Post(Post { hub: HubId::new("general").unwrap(), title: title.into(), body: body.into() })
}

fn revoke(
    fed: &mut Federation,
    by: &SecretKey,
    target: &SignedEvent,
    delay_ms: u64,
) -> SignedEvent {
    let at = fed.tick();
    fed.sign_at(
        by,
        at,
        Body::Revocation(Revocation {
            target: target.id(),
            reason: "licence suspended".into(),
            effective_at: at.plus_millis(delay_ms),
        }),
    )
}

#[test]
fn the_whole_story_is_accepted() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let b = fed.physician("dr-b");
    let post = fed.post(&a, "Hyponatraemia after a marathon");
    fed.accept(&post);
    let reply = fed.comment(&b, &post, "Check urine osmolality; Na 128 mmol/L is not rare.");
    fed.accept(&reply);
    let nested = fed.comment(&a, &reply, "Thanks, it was 620 mOsm/kg.");
    fed.accept(&nested);
    let poll = fed.poll(&a, &["metformin", "sglt2 inhibitor"], &[]);
    fed.accept(&poll);
    let vote = fed.vote(&b, &poll, 1);
    let accepted = validate(&vote, fed.view(), Arrival::live(fed.now())).unwrap();
    assert!(
        matches!(accepted.authority(), Authority::Physician(r) if r.jurisdiction.as_str() == "GB")
    );
    let case = fed.sign(
        &a,
        Body::Case(Case {
            hub: HubId::new("cardiology").unwrap(),
            title: "Syncope with a long QT".into(),
            age: crate::AgeBand::Age90Plus,
            sex: Sex::Female,
            presentation: "Two episodes of syncope 2 weeks ago.".into(),
            history: "HTN, on amlodipine. EF 35%.".into(),
            findings: "BP 120/80, QTc 520 ms, K 3.1".into(),
            question: "ICD now, or correct electrolytes and repeat?".into(),
            tags: vec!["syncope".parse().unwrap()],
        }),
    );
    fed.accept(&case);
    let tree_head = fed.verifier().clone();
    let head = fed
        .sign(&tree_head, Body::TreeHead(TreeHead { size: 3, root: Digest::from_bytes([1; 32]) }));
    fed.accept(&head);
    let root = fed.root().clone();
    let hub = fed.sign(
        &root,
        Body::Hub(HubDef { id: HubId::new("nephrology").unwrap(), title: "Nephrology".into() }),
    );
    fed.accept(&hub);
}

#[test]
fn too_large() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let big = fed.sign(&a, post_body("t", &"a ".repeat(20_000)));
    assert!(matches!(rejected(&fed, &big), Rejection::TooLarge { limit: 32_768, .. }));
    assert!(matches!(
        validate_bytes(&big.to_bytes(), fed.view(), Arrival::live(fed.now())),
        Err(NotAccepted::Invalid(Rejection::TooLarge { .. }))
    ));
}

#[test]
fn malformed_trailing_and_non_canonical_bytes() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "t");
    let bytes = post.to_bytes();
    let decode = |b: &[u8]| SignedEvent::decode(b).unwrap_err();
    assert!(matches!(decode(&bytes[..10]), Rejection::Malformed { .. }));
    assert!(matches!(decode(&bytes[..bytes.len() - 1]), Rejection::Malformed { .. }));
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0, 0]);
    assert_eq!(decode(&longer), Rejection::TrailingBytes { count: 2 });
    // created_at is a varint after version (1 byte), network (32) and author (32):
    // re-spell it with one redundant continuation byte.
    let start = 65;
    let (ts, rest) = postcard::take_from_bytes::<u64>(&bytes[start..]).unwrap();
    let ts_len = bytes.len() - start - rest.len();
    assert_eq!(ts, post.created_at().as_millis());
    let mut overlong = bytes[..start].to_vec();
    let mut spelled = bytes[start..start + ts_len].to_vec();
    *spelled.last_mut().unwrap() |= 0x80;
    spelled.push(0);
    overlong.extend_from_slice(&spelled);
    overlong.extend_from_slice(&bytes[start + ts_len..]);
    assert_eq!(decode(&overlong), Rejection::NonCanonical);
    assert!(matches!(
        validate_bytes(&bytes[..3], fed.view(), Arrival::live(fed.now())),
        Err(NotAccepted::Invalid(Rejection::Malformed { .. }))
    ));
}

#[test]
fn unsupported_version() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let mut event = Event::new(fed.network(), a.public(), fed.tick(), post_body("t", "b"));
    event.version = 2;
    let signed = event.sign(&a).unwrap();
    assert_eq!(rejected(&fed, &signed), Rejection::UnsupportedVersion { version: 2 });
}

#[test]
fn wrong_network() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let other = NetworkId::from_bytes([7; 32]);
    let event = Event::new(other, a.public(), fed.tick(), post_body("t", "b")).sign(&a).unwrap();
    assert!(matches!(rejected(&fed, &event), Rejection::WrongNetwork { got, .. } if got == other));
}

#[test]
fn duplicates_are_ignored_not_rejected() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "t");
    fed.accept(&post);
    let outcome = validate(&post, fed.view(), Arrival::live(fed.now())).unwrap_err();
    assert_eq!(outcome, NotAccepted::Duplicate(post.id()));
    assert_eq!(outcome.gossip_verdict(), GossipVerdict::Ignore);
}

#[test]
fn bad_signature_and_changed_body() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "t");
    let mut sig = post.signature().to_bytes();
    sig[0] ^= 0x55;
    let forged = SignedEvent::from_parts(post.event().clone(), Signature::from_bytes(sig));
    assert_eq!(rejected(&fed, &forged), Rejection::BadSignature);
    let mut changed = post.event().clone();
    changed.body = post_body("t", "a different claim");
    let changed = SignedEvent::from_parts(changed, *post.signature());
    assert_eq!(rejected(&fed, &changed), Rejection::BadSignature);
    assert_eq!(NotAccepted::from(Rejection::BadSignature).gossip_verdict(), GossipVerdict::Reject);
}

#[test]
fn future_timestamp() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let at = fed.now().plus_millis(5 * 60 * 1000 + 1);
    let event = fed.sign_at(&a, at, post_body("t", "b"));
    assert!(matches!(rejected(&fed, &event), Rejection::FutureTimestamp { .. }));
    // Exactly at the skew limit is fine.
    let at = fed.now().plus_millis(5 * 60 * 1000);
    let event = fed.sign_at(&a, at, post_body("t", "b"));
    assert!(validate(&event, fed.view(), Arrival::live(fed.now())).is_ok());
}

#[test]
fn stale_events_are_refused_but_a_roots_charters_and_hubs_are_not() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let skew = fed.view().genesis().params.max_clock_skew_ms;
    // Received more than the skew after the time it claims.
    let at = fed.tick();
    let old = fed.sign_at(&a, at, post_body("t", "b"));
    let late = Arrival::live(at.plus_millis(skew + 1));
    assert!(matches!(
        validate(&old, fed.view(), late),
        Err(NotAccepted::Invalid(Rejection::Stale { received_at, max_skew_ms, .. }))
            if received_at == at.plus_millis(skew + 1) && max_skew_ms == skew
    ));
    // Exactly at the skew is fine.
    assert!(validate(&old, fed.view(), Arrival::live(at.plus_millis(skew))).is_ok());
    // A peer's receipt counts as this node's would: history it received in
    // time stands, whenever it reaches this node.
    let synced = Arrival::received(at.plus_millis(10), at.plus_days(30));
    assert!(validate(&old, fed.view(), synced).is_ok());
    // A root signs charters and hubs offline and submits them later.
    let root = fed.root().clone();
    let charter = fed.charter(&key("hospital-9").public(), &[]);
    let hub = fed.sign(
        &root,
        Body::Hub(HubDef { id: HubId::new("nephrology").unwrap(), title: "Nephrology".into() }),
    );
    let next_week = Arrival::live(fed.now().plus_days(7));
    assert!(validate(&charter, fed.view(), next_week).is_ok());
    assert!(validate(&hub, fed.view(), next_week).is_ok());
    // A root's revocation is not exempt: backdated, it could reach back
    // past events already accepted.
    let revocation = revoke(&mut fed, &root, &charter, 0);
    assert!(matches!(
        validate(&revocation, fed.view(), next_week),
        Err(NotAccepted::Invalid(Rejection::Stale { .. }))
    ));
    // History stored before receipts were kept keeps its standing.
    assert!(validate(&old, fed.view(), Arrival::historical(at.plus_days(30))).is_ok());
}

#[test]
fn a_receipt_cannot_come_before_the_event() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let skew = fed.view().genesis().params.max_clock_skew_ms;
    let post = fed.post(&a, "t");
    // A peer vouching that it received the post long before it was signed.
    let impossible = Arrival::received(post.created_at().minus_millis(skew + 1), fed.now());
    assert!(matches!(
        validate(&post, fed.view(), impossible),
        Err(NotAccepted::Invalid(Rejection::FutureTimestamp { .. }))
    ));
    // A receipt after `now` is taken as now.
    let ahead = Arrival::received(fed.now().plus_days(1), fed.now());
    assert_eq!(ahead.received_at(), Some(fed.now()));
}

#[test]
fn a_revoked_physician_cannot_backdate_past_the_revocation() {
    let mut fed = Federation::new();
    let b = key("dr-b");
    let att = fed.attestation(&b, "dr-b", &["oncology"], "GB");
    fed.accept(&att);
    fed.log(&att);
    let poll_author = fed.physician("dr-poll");
    let verifier = fed.verifier().clone();
    let revocation = revoke(&mut fed, &verifier, &att, 0);
    fed.accept(&revocation);
    fed.advance(1_000);
    // Dated a moment before the revocation, received after it: refused.
    let backdated = fed.sign_at(&b, revocation.created_at().minus_millis(1), post_body("t", "b"));
    assert!(matches!(
        rejected(&fed, &backdated),
        Rejection::AttestationRevoked { attestation, .. } if attestation == att.id()
    ));
    // A vote dated before the revocation in a poll opened after it.
    let poll = fed.poll(&poll_author, &["yes", "no"], &[]);
    fed.accept(&poll);
    let vote = fed.sign_at(
        &b,
        revocation.created_at().minus_millis(1),
        Body::Vote(Vote { poll: poll.id(), option: 1 }),
    );
    assert!(matches!(rejected(&fed, &vote), Rejection::AttestationRevoked { .. }));
    // The same post, as history a peer received before the revocation,
    // stands: the signer could not have known to lie then.
    let in_time = Arrival::received(backdated.created_at(), fed.now());
    assert!(validate(&backdated, fed.view(), in_time).is_ok());
}

#[test]
fn an_expired_physician_cannot_backdate_into_the_attestation() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let lapsed = fed.view().attestations(&a.public())[0].valid_until;
    let post = fed.sign_at(&a, lapsed.minus_millis(1), post_body("t", "b"));
    let after = Arrival::live(lapsed.plus_millis(1));
    assert!(matches!(
        validate(&post, fed.view(), after),
        Err(NotAccepted::Invalid(Rejection::NoValidAttestation { at, .. })) if at == lapsed.plus_millis(1)
    ));
    let before = Arrival::received(lapsed.minus_millis(1), lapsed.plus_days(1));
    assert!(validate(&post, fed.view(), before).is_ok());
}

#[test]
fn a_verifier_whose_charter_was_revoked_cannot_backdate_an_attestation() {
    let mut fed = Federation::new();
    let root = fed.root().clone();
    let verifier = fed.verifier().public();
    let charter = fed.view().charters(&verifier)[0].id;
    let at = fed.tick();
    let revocation = fed.sign_at(
        &root,
        at,
        Body::Revocation(Revocation {
            target: charter,
            reason: "charter withdrawn".into(),
            effective_at: at,
        }),
    );
    fed.accept(&revocation);
    fed.advance(1_000);
    let mut forged = fed.attestation(&key("dr-new"), "dr-new", &["oncology"], "GB");
    // Re-sign it dated just before the revocation.
    forged = fed.sign_at(fed.verifier(), at.minus_millis(1), forged.body().clone());
    assert!(matches!(
        rejected(&fed, &forged),
        Rejection::CharterRevoked { charter: c, .. } if c == charter
    ));
    let head = fed.sign_at(
        fed.verifier(),
        at.minus_millis(1),
        Body::TreeHead(TreeHead { size: 9, root: Digest::from_bytes([9; 32]) }),
    );
    assert!(matches!(rejected(&fed, &head), Rejection::CharterRevoked { .. }));
    // A node that had not heard of the revocation took it, and vouches
    // that it received it after the revocation took effect: refused here.
    let fooled = Arrival::received(at.plus_millis(500), fed.now());
    assert!(matches!(
        validate(&forged, fed.view(), fooled),
        Err(NotAccepted::Invalid(Rejection::CharterRevoked { .. }))
    ));
}

#[test]
fn not_root() {
    let mut fed = Federation::new();
    let impostor = key("impostor");
    let charter = fed.sign(
        &impostor,
        Body::Charter(Charter {
            node: impostor.public(),
            institution: "Self-chartered".into(),
            verify: vec![],
            valid_until: fed.now().plus_days(1),
        }),
    );
    assert!(matches!(rejected(&fed, &charter), Rejection::NotRoot { kind: Kind::Charter, .. }));
    let hub =
        fed.sign(&impostor, Body::Hub(HubDef { id: "x".parse().unwrap(), title: "X".into() }));
    assert!(matches!(rejected(&fed, &hub), Rejection::NotRoot { kind: Kind::Hub, .. }));
}

#[test]
fn unknown_authors_are_missing_dependencies() {
    let mut fed = Federation::new();
    let stranger = key("stranger");
    let post = fed.sign(&stranger, post_body("t", "b"));
    assert_eq!(missing(&fed, &post), Dependency::Attestation(stranger.public()));
    let node = key("node-x");
    let head =
        fed.sign(&node, Body::TreeHead(TreeHead { size: 0, root: Digest::from_bytes([0; 32]) }));
    assert_eq!(missing(&fed, &head), Dependency::Charter(node.public()));
    assert_eq!(
        NotAccepted::Missing(Dependency::Charter(node.public())).gossip_verdict(),
        GossipVerdict::Ignore
    );
}

#[test]
fn no_valid_charter_and_charter_revoked() {
    let mut fed = Federation::new();
    let node = key("hospital-2");
    let charter = fed.charter(&node.public(), &["GB"]);
    fed.accept(&charter);
    // Before its charter was issued.
    let early = fed.sign_at(
        &node,
        charter.created_at().minus_millis(1),
        Body::TreeHead(TreeHead { size: 0, root: Digest::from_bytes([0; 32]) }),
    );
    assert!(matches!(rejected(&fed, &early), Rejection::NoValidCharter { .. }));
    // After a revocation took effect, but not before (never retroactive).
    let root = fed.root().clone();
    let revocation = revoke(&mut fed, &root, &charter, 10);
    fed.accept(&revocation);
    let before =
        fed.sign(&node, Body::TreeHead(TreeHead { size: 1, root: Digest::from_bytes([1; 32]) }));
    // Received before the revocation took effect: it stands, then and
    // later (never retroactive) ...
    let in_time = Arrival::received(before.created_at(), fed.now());
    assert!(validate(&before, fed.view(), in_time).is_ok(), "revocation not yet in effect");
    // ... but received after it, its date does not save it.
    assert!(matches!(rejected(&fed, &before), Rejection::CharterRevoked { .. }));
    fed.advance(20);
    let after =
        fed.sign(&node, Body::TreeHead(TreeHead { size: 2, root: Digest::from_bytes([2; 32]) }));
    assert!(
        matches!(rejected(&fed, &after), Rejection::CharterRevoked { charter: c, .. } if c == charter.id())
    );
}

#[test]
fn relays_and_foreign_jurisdictions_cannot_attest() {
    let mut fed = Federation::new();
    let relay = key("relay");
    let charter = fed.charter(&relay.public(), &[]);
    fed.accept(&charter);
    let head =
        fed.sign(&relay, Body::TreeHead(TreeHead { size: 0, root: Digest::from_bytes([0; 32]) }));
    assert!(matches!(rejected(&fed, &head), Rejection::NotAVerifier { .. }));
    let dr = key("dr-us");
    let att = fed.attestation(&dr, "dr-us", &["cardiology"], "US-CA");
    assert!(matches!(
        rejected(&fed, &att),
        Rejection::JurisdictionNotChartered { jurisdiction, .. } if jurisdiction.as_str() == "US-CA"
    ));
}

#[test]
fn expired_and_revoked_attestations() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    // A post dated after the attestation lapsed (a year on), with `now` past it too.
    let later = fed.now().plus_days(400);
    let stale = fed.sign_at(&a, later, post_body("t", "b"));
    assert!(matches!(
        validate(&stale, fed.view(), Arrival::live(later)),
        Err(NotAccepted::Invalid(Rejection::NoValidAttestation { .. }))
    ));
    let b = key("dr-b");
    let att = fed.attestation(&b, "dr-b", &["oncology"], "GB");
    fed.accept(&att);
    let early_post = fed.post(&b, "written before the revocation");
    let verifier = fed.verifier().clone();
    let revocation = revoke(&mut fed, &verifier, &att, 0);
    fed.accept(&revocation);
    let post = fed.post(&b, "after");
    assert!(matches!(
        rejected(&fed, &post),
        Rejection::AttestationRevoked { attestation, .. } if attestation == att.id()
    ));
    let in_time = Arrival::received(early_post.created_at(), fed.now());
    assert!(validate(&early_post, fed.view(), in_time).is_ok(), "not retroactive");
    assert!(
        matches!(rejected(&fed, &early_post), Rejection::AttestationRevoked { .. }),
        "received after the revocation, its date does not save it"
    );
}

#[test]
fn bad_possession_proof_and_validity() {
    let mut fed = Federation::new();
    let dr = key("dr-c");
    let att = fed.attestation(&dr, "dr-c", &["oncology"], "GB");
    let Body::Attestation(a) = att.body().clone() else { unreachable!() };
    let verifier = fed.verifier().clone();
    // Someone else's key, with dr-c's proof of possession.
    let other = key("victim");
    let stolen = fed
        .sign(&verifier, Body::Attestation(Attestation { subject: other.public(), ..a.clone() }));
    assert!(matches!(rejected(&fed, &stolen), Rejection::BadPossessionProof { .. }));
    let backwards = fed.sign(
        &verifier,
        Body::Attestation(Attestation { valid_until: a.requested_at, ..a.clone() }),
    );
    assert!(matches!(
        rejected(&fed, &backwards),
        Rejection::InvalidValidity { what: Kind::Attestation, .. }
    ));
    let future_request = fed.sign(
        &verifier,
        Body::Attestation(Attestation { requested_at: fed.now().plus_days(1), ..a }),
    );
    assert!(matches!(rejected(&fed, &future_request), Rejection::InvalidValidity { .. }));
    let root = fed.root().clone();
    let node = key("n");
    let charter = fed.sign(
        &root,
        Body::Charter(Charter {
            node: node.public(),
            institution: "H".into(),
            verify: vec![],
            valid_until: EPOCH_PLUS_ZERO,
        }),
    );
    assert!(matches!(
        rejected(&fed, &charter),
        Rejection::InvalidValidity { what: Kind::Charter, .. }
    ));
}

const EPOCH_PLUS_ZERO: crate::Timestamp = crate::testkit::EPOCH;

#[test]
fn revocation_rules() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let post = fed.post(&a, "t");
    fed.accept(&post);
    let root = fed.root().clone();
    let not_revocable = revoke(&mut fed, &root, &post, 0);
    assert!(matches!(
        rejected(&fed, &not_revocable),
        Rejection::NotRevocable { kind: Kind::Post, .. }
    ));

    let b = key("dr-b");
    let att = fed.attestation(&b, "dr-b", &["oncology"], "GB");
    fed.accept(&att);
    let outsider = fed.physician("dr-outsider");
    let not_issuer = revoke(&mut fed, &outsider, &att, 0);
    assert!(matches!(rejected(&fed, &not_issuer), Rejection::NotIssuer { .. }));

    let at = fed.tick();
    let retro = fed.sign_at(
        &root,
        at,
        Body::Revocation(Revocation {
            target: att.id(),
            reason: "r".into(),
            effective_at: at.minus_millis(1),
        }),
    );
    assert!(matches!(rejected(&fed, &retro), Rejection::RetroactiveRevocation { .. }));

    // Two revocations of one target are both kept, whatever their order:
    // the earliest effect wins.
    let later = revoke(&mut fed, &root, &att, 10);
    let sooner = revoke(&mut fed, &root, &att, 0);
    fed.accept(&later);
    fed.accept(&sooner);
    assert_eq!(fed.view().revoked_at(&att.id()), Some(sooner.created_at()));

    let unknown = fed.sign(
        &root,
        Body::Revocation(Revocation {
            target: crate::EventId::from_bytes([5; 32]),
            reason: "r".into(),
            effective_at: fed.now().plus_days(1),
        }),
    );
    assert_eq!(missing(&fed, &unknown), Dependency::Event(crate::EventId::from_bytes([5; 32])));
}

#[test]
fn hub_rules() {
    let mut fed = Federation::new();
    let root = fed.root().clone();
    let dup = fed.sign(
        &root,
        Body::Hub(HubDef { id: HubId::new("oncology").unwrap(), title: "Oncology".into() }),
    );
    assert_eq!(rejected(&fed, &dup), Rejection::HubExists { hub: HubId::new("oncology").unwrap() });
    // A hub added by an event may be added again (both kept, in any order).
    let add = |fed: &mut Federation, title: &str| {
        fed.sign(
            &root,
            Body::Hub(HubDef { id: HubId::new("geriatrics").unwrap(), title: title.into() }),
        )
    };
    let first = add(&mut fed, "Geriatrics");
    let second = add(&mut fed, "Geriatric medicine");
    fed.accept(&first);
    assert!(validate(&second, fed.view(), Arrival::live(fed.now())).is_ok());
    let a = fed.physician("dr-a");
    let post = fed.sign(
        &a,
        Body::Post(Post {
            hub: HubId::new("nephrology").unwrap(),
            title: "t".into(),
            body: "b".into(),
        }),
    );
    assert_eq!(missing(&fed, &post), Dependency::Hub(HubId::new("nephrology").unwrap()));
}

#[test]
fn invalid_fields() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let cases: Vec<(Body, &str)> = vec![
        (post_body("", "b"), "post.title"),
        (post_body("   ", "b"), "post.title"),
        (post_body(&"t".repeat(201), "b"), "post.title"),
        (post_body("t", "escape \u{1b}[31m red"), "post.body"),
        (post_body("t", "bidi \u{202e} override"), "post.body"),
        (
            Body::Poll(Poll {
                hub: HubId::new("general").unwrap(),
                question: "q".into(),
                options: vec!["only".into()],
                closes_at: fed.now().plus_days(1),
                eligible: vec![],
            }),
            "poll.options",
        ),
        (
            Body::Poll(Poll {
                hub: HubId::new("general").unwrap(),
                question: "q".into(),
                options: vec!["a".into(), "a".into()],
                closes_at: fed.now().plus_days(1),
                eligible: vec![],
            }),
            "poll.options",
        ),
        (
            Body::Poll(Poll {
                hub: HubId::new("general").unwrap(),
                question: "q".into(),
                options: vec!["a".into(), "b".into()],
                closes_at: fed.now().plus_days(400),
                eligible: vec![],
            }),
            "poll.closes_at",
        ),
    ];
    for (body, field) in cases {
        let event = fed.sign(&a, body);
        assert!(
            matches!(rejected(&fed, &event), Rejection::InvalidField { field: f, .. } if f == field),
            "{field}"
        );
    }
}

#[test]
fn identifying_text_in_any_clinical_field() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let case = fed.sign(
        &a,
        Body::Case(Case {
            hub: HubId::new("general").unwrap(),
            title: "Odd rash".into(),
            age: crate::AgeBand::Age30To39,
            sex: Sex::Male,
            presentation: "Rash for 3 days.".into(),
            history: "Seen before, MRN 1234567.".into(),
            findings: String::new(),
            question: "Biopsy?".into(),
            tags: vec![],
        }),
    );
    assert!(matches!(
        rejected(&fed, &case),
        Rejection::IdentifyingText {
            field: "case.history",
            kind: IdentifierKind::RecordNumber,
            ..
        }
    ));
    let post = fed.sign(&a, post_body("t", "call me on 020 7946 0958"));
    assert!(matches!(rejected(&fed, &post), Rejection::IdentifyingText { field: "post.body", .. }));
}

#[test]
fn comment_rules() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    fed.advance(3_600_000);
    let post = fed.post(&a, "t");
    let early = fed.comment(&a, &post, "reply");
    assert_eq!(missing(&fed, &early), Dependency::Event(post.id()));
    fed.accept(&post);
    assert!(
        validate(&early, fed.view(), Arrival::live(fed.now())).is_ok(),
        "resolves once the parent arrives"
    );

    let root = fed.root().clone();
    let hub = fed.sign(
        &root,
        Body::Hub(HubDef { id: HubId::new("nephrology").unwrap(), title: "Nephrology".into() }),
    );
    fed.accept(&hub);
    let on_hub = fed.sign(&a, Body::Comment(Comment { parent: hub.id(), body: "b".into() }));
    assert!(matches!(rejected(&fed, &on_hub), Rejection::NotThreadable { kind: Kind::Hub, .. }));

    let before = fed.sign_at(
        &a,
        post.created_at().minus_millis(5 * 60 * 1000 + 1),
        Body::Comment(Comment { parent: post.id(), body: "b".into() }),
    );
    // Judged as history received when it says it was made (live, it would be stale).
    let as_history = Arrival::received(before.created_at(), fed.now());
    assert!(matches!(
        validate(&before, fed.view(), as_history),
        Err(NotAccepted::Invalid(Rejection::ReplyBeforeParent { .. }))
    ));
}

#[test]
fn vote_rules() {
    let mut fed = Federation::new();
    let cardio = fed.physician_with("dr-heart", &["cardiology"], "GB");
    let onc = fed.physician_with("dr-onc", &["oncology"], "GB");
    let poll = fed.poll(&cardio, &["a", "b"], &["cardiology"]);
    let premature = fed.vote(&cardio, &poll, 0);
    assert_eq!(missing(&fed, &premature), Dependency::Event(poll.id()));
    fed.accept(&poll);
    assert!(validate(&premature, fed.view(), Arrival::live(fed.now())).is_ok());

    let no_option = fed.vote(&cardio, &poll, 2);
    assert_eq!(rejected(&fed, &no_option), Rejection::NoSuchOption { option: 2, options: 2 });
    let ineligible = fed.vote(&onc, &poll, 0);
    assert!(matches!(rejected(&fed, &ineligible), Rejection::NotEligible { .. }));

    let post = fed.post(&cardio, "t");
    fed.accept(&post);
    let not_poll = fed.sign(&cardio, Body::Vote(Vote { poll: post.id(), option: 0 }));
    assert!(matches!(rejected(&fed, &not_poll), Rejection::NotAPoll { kind: Kind::Post, .. }));

    fed.advance(2 * crate::Timestamp::DAY);
    let late = fed.vote(&cardio, &poll, 1);
    assert!(matches!(rejected(&fed, &late), Rejection::PollClosed { .. }));
}

#[test]
fn a_vote_cannot_come_before_its_poll() {
    let mut fed = Federation::new();
    let a = fed.physician("dr-a");
    let b = fed.physician("dr-b");
    let skew = fed.view().genesis().params.max_clock_skew_ms;
    fed.advance(3_600_000);
    let poll = fed.poll(&a, &["yes", "no"], &[]);
    fed.accept(&poll);
    let early = fed.sign_at(
        &b,
        poll.created_at().minus_millis(skew + 1),
        Body::Vote(Vote { poll: poll.id(), option: 0 }),
    );
    // As history received when it claims (live it would also be stale).
    let as_history = Arrival::received(early.created_at(), fed.now());
    assert!(matches!(
        validate(&early, fed.view(), as_history),
        Err(NotAccepted::Invalid(Rejection::VoteBeforePoll { poll: p, .. })) if p == poll.id()
    ));
    assert!(
        !NotAccepted::from(Rejection::VoteBeforePoll {
            poll: poll.id(),
            poll_created_at: poll.created_at(),
            voted_at: early.created_at(),
        })
        .gossip_verdict()
        .eq(&GossipVerdict::Ignore)
    );
    // Within the skew is fine (clocks differ).
    let close = fed.sign_at(
        &b,
        poll.created_at().minus_millis(skew),
        Body::Vote(Vote { poll: poll.id(), option: 0 }),
    );
    let as_history = Arrival::received(close.created_at(), fed.now());
    assert!(validate(&close, fed.view(), as_history).is_ok());
    // History stored before receipts were kept keeps its standing.
    assert!(validate(&early, fed.view(), Arrival::historical(fed.now())).is_ok());
}

#[test]
fn the_merge_window_opens_when_the_attestation_was_received() {
    let mut fed = Federation::new();
    let params = fed.view().genesis().params;
    let (window, skew) = (params.log_merge_window_ms, params.max_clock_skew_ms);
    // An attestation, never logged, that this node received as late as its
    // date allows: its window opens at the receipt, not at the date.
    let hidden = key("dr-hidden");
    let att = fed.attestation(&hidden, "dr-hidden", &["oncology"], "GB");
    let received = att.created_at().plus_millis(skew);
    let verified = validate(&att, fed.view(), Arrival::live(received)).unwrap().to_verified();
    assert_eq!(verified.attestation_record().unwrap().1.received_at, Some(received));
    fed.view_mut().insert(&verified);
    // Past the window of its date, within the window of its receipt.
    let at = att.created_at().plus_millis(window + 1);
    let post = fed.sign_at(&hidden, at, post_body("t", "b"));
    assert!(validate(&post, fed.view(), Arrival::live(at)).is_ok());
    // Past the window of its receipt: waits for the log.
    let at = received.plus_millis(window);
    let post = fed.sign_at(&hidden, at, post_body("t", "b"));
    assert!(matches!(
        validate(&post, fed.view(), Arrival::live(at)),
        Err(NotAccepted::Missing(Dependency::LogEntry { .. }))
    ));
    // A backdated post does not reopen the window: what counts is when the
    // post was received.
    let backdated = fed.sign_at(&hidden, received, post_body("t", "c"));
    assert!(matches!(
        validate(&backdated, fed.view(), Arrival::live(at)),
        Err(NotAccepted::Missing(Dependency::LogEntry { .. }))
    ));
}

#[test]
fn every_code_is_listed_once_and_documented() {
    let mut codes = Rejection::CODES.to_vec();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), Rejection::CODES.len());
    // The table under "### Rejection codes" lists every code, and nothing else.
    let docs = include_str!("../../../docs/PROTOCOL.md");
    let section = docs
        .split("### Rejection codes")
        .nth(1)
        .and_then(|rest| rest.split("\n#").next())
        .expect("docs/PROTOCOL.md has a Rejection codes section");
    let mut documented: Vec<&str> =
        section.lines().filter_map(|line| line.strip_prefix("| `")?.split('`').next()).collect();
    documented.sort_unstable();
    assert_eq!(documented, codes, "docs/PROTOCOL.md's rejection codes differ from the code's");
}

#[test]
fn each_reason_names_its_code() {
    assert_eq!(RejectionCode::ALL.len(), Rejection::CODES.len());
    for (reason, code) in RejectionCode::ALL.iter().zip(Rejection::CODES) {
        assert_eq!(reason.as_str(), code);
    }
    assert_eq!(Rejection::BadSignature.reason(), RejectionCode::BadSignature);
    assert_eq!(Rejection::NonCanonical.code(), "non_canonical");
}

#[test]
fn attestation_authority_uses_the_latest_valid_attestation() {
    let mut fed = Federation::new();
    let dr = fed.physician_with("dr-a", &["oncology"], "GB");
    let second = fed.attestation(&dr, "dr-a", &["oncology", "haematology"], "DEV");
    fed.accept(&second);
    let post = fed.post(&dr, "t");
    let accepted = validate(&post, fed.view(), Arrival::live(fed.now())).unwrap();
    let Authority::Physician(record) = accepted.authority() else { panic!() };
    assert_eq!(record.id, second.id());
    assert_eq!(record.specialties.len(), 2);
}

#[test]
fn attestations_must_reach_the_audit_log_in_time() {
    let mut fed = Federation::new();
    let window = fed.view().genesis().params.log_merge_window_ms;
    // Logged the way a verifying node logs: counts long after the window.
    let logged = fed.physician("dr-logged");
    // Issued, but never put in the verifier's log.
    let hidden = key("dr-hidden");
    let att = fed.attestation(&hidden, "dr-hidden", &["oncology"], "GB");
    fed.accept(&att);
    let early = fed.post(&hidden, "within the window the attestation counts on its own");
    assert!(validate(&early, fed.view(), Arrival::live(fed.now())).is_ok());

    fed.advance(window + 1);
    let post = fed.post(&logged, "t");
    assert!(validate(&post, fed.view(), Arrival::live(fed.now())).is_ok());
    // After the window, with no later head checked: wait for the log.
    let late = fed.post(&hidden, "t");
    assert_eq!(
        missing(&fed, &late),
        Dependency::LogEntry { verifier: fed.verifier().public(), attestation: att.id() }
    );
    // The verifier's next head, dated after the deadline, leaves it out: final.
    fed.physician("dr-next");
    let late = fed.post(&hidden, "t");
    assert!(matches!(
        rejected(&fed, &late),
        Rejection::AttestationNotLogged { attestation, .. } if attestation == att.id()
    ));
    let in_time = Arrival::received(early.created_at(), fed.now());
    assert!(validate(&early, fed.view(), in_time).is_ok(), "never retroactive");
}

#[test]
fn a_forked_verifier_attestations_after_the_fork_stop_counting() {
    let mut fed = Federation::new();
    let before = fed.physician("dr-before");
    let fork_at = fed.tick();
    let after = fed.physician("dr-after");
    let verifier = fed.verifier().public();
    fed.view_mut().log_forked(verifier, fork_at);
    let post = fed.post(&before, "t");
    assert!(validate(&post, fed.view(), Arrival::live(fed.now())).is_ok());
    let post = fed.post(&after, "t");
    assert!(matches!(
        rejected(&fed, &post),
        Rejection::VerifierForked { forked_at, .. } if forked_at == fork_at
    ));
}

#[test]
fn cosignature_rules() {
    let mut fed = Federation::new();
    let dr = fed.physician("dr-a");
    let witness = key("witness");
    let charter = fed.charter(&witness.public(), &[]);
    fed.accept(&charter);
    let verifier = fed.verifier().clone();
    let head = fed
        .sign(&verifier, Body::TreeHead(TreeHead { size: 7, root: Digest::from_bytes([7; 32]) }));
    fed.accept(&head);
    let cosign = |fed: &mut Federation, by: &SecretKey, head: EventId, size: u64| {
        fed.sign(
            by,
            Body::Cosignature(Cosignature {
                head,
                verifier: verifier.public(),
                size,
                root: Digest::from_bytes([7; 32]),
            }),
        )
    };
    // A relay witnesses a verifier's head.
    let good = cosign(&mut fed, &witness, head.id(), 7);
    assert!(validate(&good, fed.view(), Arrival::live(fed.now())).is_ok());
    let own = cosign(&mut fed, &verifier, head.id(), 7);
    assert!(matches!(rejected(&fed, &own), Rejection::SelfCosignature { .. }));
    let wrong = cosign(&mut fed, &witness, head.id(), 8);
    assert_eq!(
        rejected(&fed, &wrong),
        Rejection::CosignatureMismatch { head: head.id(), field: "size" }
    );
    let post = fed.post(&dr, "t");
    fed.accept(&post);
    let not_head = cosign(&mut fed, &witness, post.id(), 7);
    assert!(matches!(rejected(&fed, &not_head), Rejection::NotATreeHead { kind: Kind::Post, .. }));
    let unknown = EventId::from_bytes([9; 32]);
    let early = cosign(&mut fed, &witness, unknown, 7);
    assert_eq!(missing(&fed, &early), Dependency::Event(unknown));
    let stranger = key("stranger-node");
    let unchartered = cosign(&mut fed, &stranger, head.id(), 7);
    assert_eq!(missing(&fed, &unchartered), Dependency::Charter(stranger.public()));
}

#[test]
fn an_empty_log_has_the_empty_root() {
    let mut fed = Federation::new();
    let verifier = fed.verifier().clone();
    let bad = fed
        .sign(&verifier, Body::TreeHead(TreeHead { size: 0, root: Digest::from_bytes([0; 32]) }));
    assert!(matches!(
        rejected(&fed, &bad),
        Rejection::InvalidField { field: "tree_head.root", .. }
    ));
    let empty = Digest::from_bytes(crate::merkle::empty_root());
    let good = fed.sign(&verifier, Body::TreeHead(TreeHead { size: 0, root: empty }));
    assert!(validate(&good, fed.view(), Arrival::live(fed.now())).is_ok());
}

#[test]
fn only_intrinsic_rejections_blame_the_sender() {
    let mut fed = Federation::new();
    let dr = fed.physician("dr-a");
    let verifier = fed.verifier().clone();
    // Revoked at this node: another honest node may not know yet.
    let att = fed.view().attestations(&dr.public())[0].id;
    let at = fed.tick();
    let revocation = fed.sign_at(
        &verifier,
        at,
        Body::Revocation(Revocation { target: att, reason: "r".into(), effective_at: at }),
    );
    fed.accept(&revocation);
    let post = fed.post(&dr, "t");
    let outcome = validate(&post, fed.view(), Arrival::live(fed.now())).unwrap_err();
    assert!(matches!(outcome, NotAccepted::Invalid(Rejection::AttestationRevoked { .. })));
    assert_eq!(outcome.gossip_verdict(), GossipVerdict::Ignore);
    assert!(!outcome.blames_sender());
    // A bad signature is bad everywhere.
    let mut forged = fed.post(&dr, "t").to_bytes();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let forged = SignedEvent::decode(&forged).unwrap();
    let outcome = validate(&forged, fed.view(), Arrival::live(fed.now())).unwrap_err();
    assert_eq!(outcome.gossip_verdict(), GossipVerdict::Reject);
    assert!(outcome.blames_sender());
}

/// Which guard applies depends on the rules changes a node has heard of:
/// a peer that has not yet heard of a stricter guard forwards in good
/// faith what this node refuses, so a guard refusal is ignored in gossip,
/// not held against the peer (a bad signature still is).
#[test]
fn a_guard_refusal_does_not_blame_the_peer_that_forwarded_it() {
    let mut fed = Federation::new();
    let dr = fed.physician("guard-contextual");
    let post = fed.post(&dr, "Seen with Mrs Whitfield on 12/03/2024");
    let outcome = validate(&post, fed.view(), Arrival::live(fed.now())).unwrap_err();
    assert!(matches!(outcome, NotAccepted::Invalid(Rejection::IdentifyingText { .. })));
    assert_eq!(outcome.gossip_verdict(), GossipVerdict::Ignore);
    assert!(!outcome.blames_sender());
    let hidden = Rejection::FormatCharacter { field: "post.body", at: 3 };
    assert_eq!(NotAccepted::from(hidden).gossip_verdict(), GossipVerdict::Ignore);
}
