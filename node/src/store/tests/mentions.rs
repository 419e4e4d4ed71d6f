//! Mentions of physicians (rules 4): an event naming `@handle` waits for
//! an attestation giving that handle and is released when one is stored;
//! from the author's own node (the API) it is refused at once.

use super::*;
use curbside_protocol::Dependency;

/// A post by `author` whose body is `body`.
fn post(fed: &mut Federation, author: &curbside_protocol::SecretKey, body: &str) -> SignedEvent {
    fed.sign(
        author,
        Body::Post(curbside_protocol::Post {
            hub: "general".parse().unwrap(),
            title: "A question for a colleague".into(),
            body: body.into(),
        }),
    )
}

/// [`setup`], with the network raised to rules 4 and the store told so.
fn at_rules_4() -> (Federation, Node, Vec<curbside_protocol::SecretKey>) {
    let (mut fed, n, drs) = setup();
    let rules = fed.raise_rules(4);
    assert!(put(&n, &fed, &[rules]).iter().all(Outcome::is_stored));
    fed.advance(1);
    (fed, n, drs)
}

#[test]
fn a_mention_waits_for_an_attestation_of_its_handle_and_is_released() {
    let (mut fed, n, drs) = at_rules_4();
    // dr-b is attested here: a mention of them is stored at once.
    let known = post(&mut fed, &drs[0], "What would @dr-b do?");
    assert_eq!(code(&put(&n, &fed, std::slice::from_ref(&known))[0]), "stored");
    // dr-new is not yet: from a peer, the event waits for their handle.
    let newcomer = key("dr-new");
    let att = fed.attestation(&newcomer, "dr-new", &["oncology"], "GB");
    fed.accept(&att);
    let early = post(&mut fed, &drs[0], "Welcome @dr-new!");
    let peer = Holder::Peer(key("a-peer").public());
    let outcomes = ingest(
        &n.store,
        &IngestConfig::default(),
        from(&peer, std::slice::from_ref(&early)),
        fed.now(),
    );
    match &outcomes.unwrap()[0] {
        Outcome::Pending { dependency, .. } => {
            assert_eq!(*dependency, Dependency::Handle("dr-new".parse().unwrap()));
        }
        other => panic!("expected pending, got {other:?}"),
    }
    let waiting = n.store.pending().waiting_by(&drs[0].public()).unwrap();
    assert_eq!(waiting[0].waiting_for, "an attestation of a physician @dr-new");
    // The attestation arrives: the post follows it in.
    assert!(put(&n, &fed, &[att]).iter().all(Outcome::is_stored));
    assert!(n.store.events().contains(&early.id()).unwrap(), "released by the attestation");
    assert_eq!(n.store.counts().unwrap().pending, 0);
    assert!(n.store.check().unwrap().is_sound());
}

#[test]
fn from_the_api_a_handle_no_physician_holds_is_refused_not_held() {
    let (mut fed, n, drs) = at_rules_4();
    let patient = post(&mut fed, &drs[0], "Her updates are at follow @eleanor_w");
    let physician = Holder::Physician(drs[0].public());
    let config = IngestConfig::default();
    let outcomes = ingest(&n.store, &config, from(&physician, &[patient]), fed.now()).unwrap();
    assert_eq!(code(&outcomes[0]), "unknown_mention");
    let Outcome::Rejected { refusal, .. } = &outcomes[0] else { unreachable!() };
    assert_eq!(
        refusal.to_string(),
        "@eleanor_w is no physician's handle on this network; if it is a patient's \
         social-media handle, remove it"
    );
    assert_eq!(n.store.counts().unwrap().pending, 0);
}

#[test]
fn under_rules_3_a_physicians_handle_is_still_a_social_handle() {
    let (mut fed, n, drs) = setup();
    let rules = fed.raise_rules(3);
    assert!(put(&n, &fed, &[rules]).iter().all(Outcome::is_stored));
    fed.advance(1);
    let event = post(&mut fed, &drs[0], "What would @dr-b do?");
    assert_eq!(code(&put(&n, &fed, &[event])[0]), "identifying_text");
}
