//! Mentions of physicians (rules 4): `@handle` naming a physician passes
//! the guard, waits while no attestation of the handle is known, and a
//! patient's social-media handle is still refused; under rules 3 nothing
//! changes.

use super::*;
use crate::deid::IdentifierKind;
use crate::testkit::Federation;
use crate::{Body, Comment, HubId, Post, testkit::key};

fn post(fed: &mut Federation, author: &crate::SecretKey, body: &str) -> SignedEvent {
    let hub = HubId::new("general").unwrap();
    fed.sign(
        author,
        Body::Post(Post { hub, title: "Asking a colleague".into(), body: body.into() }),
    )
}

fn judge(fed: &Federation, event: &SignedEvent) -> Result<(), NotAccepted> {
    validate(event, fed.view(), Arrival::live(fed.now())).map(|_| ())
}

fn social_handle(outcome: Result<(), NotAccepted>) -> bool {
    matches!(
        outcome,
        Err(NotAccepted::Invalid(Rejection::IdentifyingText {
            kind: IdentifierKind::SocialHandle,
            ..
        }))
    )
}

/// A network at rules `version` with physicians `dr-a` (who writes) and
/// `dr-okafor`.
fn network(version: u16) -> (Federation, crate::SecretKey) {
    let mut fed = Federation::new();
    let dr = fed.physician("dr-a");
    fed.physician("dr-okafor");
    fed.raise_rules(version);
    fed.advance(1);
    (fed, dr)
}

#[test]
fn under_rules_3_a_physicians_handle_is_still_refused_as_a_social_handle() {
    let (mut fed, dr) = network(3);
    let event = post(&mut fed, &dr, "What would @dr-okafor do here?");
    assert!(social_handle(judge(&fed, &event)));
}

#[test]
fn from_rules_4_a_mention_of_an_attested_physician_is_accepted() {
    let (mut fed, dr) = network(4);
    for body in
        ["What would @dr-okafor do here?", "Thanks, @Dr-Okafor.", "cc @dr-okafor, @dr-a: thoughts?"]
    {
        let event = post(&mut fed, &dr, body);
        assert_eq!(judge(&fed, &event), Ok(()), "{body}");
    }
}

#[test]
fn from_rules_4_a_patients_handle_is_still_refused_or_waits() {
    let (mut fed, dr) = network(4);
    // A handle no attestation gives: the event waits for one, never passes.
    let event = post(&mut fed, &dr, "Her sister says follow @eleanor_w for updates");
    let handle = crate::Handle::new("eleanor_w").unwrap();
    assert_eq!(judge(&fed, &event), Err(NotAccepted::Missing(Dependency::Handle(handle))));
    // Not a valid handle (capitals are folded, but a digit first is not a
    // handle): refused as before.
    let event = post(&mut fed, &dr, "follow @1eleanor");
    assert!(social_handle(judge(&fed, &event)));
    // Another identifier beside a mention is refused at once, not held.
    let event = post(&mut fed, &dr, "@dr-okafor: her e-mail is ew@example.org");
    assert!(matches!(
        judge(&fed, &event),
        Err(NotAccepted::Invalid(Rejection::IdentifyingText { kind: IdentifierKind::Email, .. }))
    ));
    // A mention glued to an e-mail address is the e-mail address.
    let event = post(&mut fed, &dr, "write to @dr-okafor@example.org");
    assert!(matches!(
        judge(&fed, &event),
        Err(NotAccepted::Invalid(Rejection::IdentifyingText { kind: IdentifierKind::Email, .. }))
    ));
}

#[test]
fn a_mention_waits_for_the_attestation_and_order_of_arrival_does_not_matter() {
    let (mut fed, dr) = network(4);
    let newcomer = key("dr-new");
    let attestation = fed.attestation(&newcomer, "dr-new", &["cardiology"], "GB");
    let mention = post(&mut fed, &dr, "Welcome @dr-new: your view on this ECG?");
    let reply = Comment { parent: mention.id(), body: "@dr-new seconded".into() };
    let reply = fed.sign(&dr, Body::Comment(reply));

    // Mention first: it waits for the handle.
    let waiting = NotAccepted::Missing(Dependency::Handle(crate::Handle::new("dr-new").unwrap()));
    assert_eq!(judge(&fed, &mention), Err(waiting));

    // Attestation first, on another node: accepted at once.
    let mut other = fed.view().clone();
    let now = Arrival::live(fed.now());
    other.insert(&validate(&attestation, &other, now).unwrap().to_verified());
    assert!(validate(&mention, &other, now).is_ok());

    // Here the attestation arrives later, and the held mention is judged
    // again as of its first receipt: the same verdict.
    let first_seen = fed.now();
    fed.advance(30_000);
    fed.accept(&attestation);
    let again = validate(&mention, fed.view(), Arrival::received(first_seen, fed.now()));
    assert!(again.is_ok(), "{again:?}");
    fed.accept(&mention);
    assert_eq!(judge(&fed, &reply), Ok(()));
}

#[test]
fn a_revoked_or_expired_physicians_handle_is_still_a_mention() {
    let (mut fed, dr) = network(4);
    let att = fed.view().attestations(&key("dr-okafor").public())[0].clone();
    let verifier = fed.verifier().clone();
    let revocation = Body::Revocation(crate::Revocation {
        target: att.id,
        effective_at: fed.now(),
        reason: "retired".into(),
    });
    let revocation = fed.sign(&verifier, revocation);
    fed.accept(&revocation);
    fed.advance(1);
    let event = post(&mut fed, &dr, "As @dr-okafor taught us, check the potassium");
    assert_eq!(judge(&fed, &event), Ok(()));
}

#[test]
fn shorthand_that_was_never_refused_does_not_wait() {
    let (mut fed, dr) = network(4);
    let event = post(&mut fed, &dr, "Take 10 mg @night and @bedtime; weigh @home");
    assert_eq!(judge(&fed, &event), Ok(()));
}
