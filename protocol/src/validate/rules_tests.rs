//! Rules versions: who may raise them, when they apply, and that history
//! accepted under older rules stays valid.

use super::*;
use crate::rules::{RuleSet, RulesChange};
use crate::testkit::Federation;
use crate::{Body, Case, HubId, Post, Sex, Tag, deid::IdentifierKind};

fn rules(fed: &mut Federation, version: u16, effective_in_ms: u64) -> SignedEvent {
    let at = fed.tick();
    let root = fed.root().clone();
    fed.sign_at(
        &root,
        at,
        Body::Rules(RulesChange { version, effective_at: at.plus_millis(effective_in_ms) }),
    )
}

fn post(title: &str, body: &str) -> Body {
    Body::Post(Post { hub: HubId::new("general").unwrap(), title: title.into(), body: body.into() })
}

fn outcome(fed: &Federation, event: &SignedEvent) -> Result<(), NotAccepted> {
    validate(event, fed.view(), Arrival::live(fed.now())).map(|_| ())
}

fn code(fed: &Federation, event: &SignedEvent) -> &'static str {
    match outcome(fed, event) {
        Err(e) => e.code(),
        Ok(()) => "accepted",
    }
}

/// A v2-only identifier: a name after an honorific, which guard v1 passes.
const V2_ONLY: &str = "Mrs Whitfield has aortic stenosis";

#[test]
fn only_a_root_may_raise_the_rules() {
    let mut fed = Federation::new();
    let dr = fed.physician("dr-a");
    let at = fed.tick();
    let change = RulesChange { version: 2, effective_at: at };
    let by_physician = fed.sign_at(&dr, at, Body::Rules(change));
    assert_eq!(code(&fed, &by_physician), "not_root");
    let by_root = rules(&mut fed, 2, 0);
    assert_eq!(code(&fed, &by_root), "accepted");
}

#[test]
fn a_rules_change_is_neither_retroactive_nor_unknown() {
    let mut fed = Federation::new();
    let at = fed.tick();
    let root = fed.root().clone();
    let back = fed.sign_at(
        &root,
        at,
        Body::Rules(RulesChange { version: 2, effective_at: at.minus_millis(1) }),
    );
    assert_eq!(code(&fed, &back), "retroactive_rules");
    for version in [0, 1, crate::rules::LATEST + 1] {
        let unknown = rules(&mut fed, version, 0);
        assert_eq!(code(&fed, &unknown), "unknown_rules", "version {version}");
    }
}

#[test]
fn guard_v2_applies_from_the_effective_time_and_history_stays_valid() {
    let mut fed = Federation::new();
    let dr = fed.physician("dr-a");
    let before = fed.sign(&dr, post("AS", V2_ONLY));
    fed.accept(&before);
    let change = rules(&mut fed, 2, 60_000);
    fed.accept(&change);
    assert_eq!(fed.view().rules_at(change.created_at()), RuleSet::V1);
    // Signed before the change takes effect: still judged by rules 1.
    let early = fed.sign(&dr, post("AS again", V2_ONLY));
    assert_eq!(code(&fed, &early), "accepted");
    fed.advance(60_000);
    let after = fed.sign(&dr, post("AS later", V2_ONLY));
    match outcome(&fed, &after) {
        Err(NotAccepted::Invalid(Rejection::IdentifyingText { kind, .. })) => {
            assert_eq!(kind, IdentifierKind::PersonName);
        }
        other => panic!("expected identifying_text, got {other:?}"),
    }
    // The post accepted before is valid history: judged again by a node
    // that holds the change (one that syncs it later), by the rules of its
    // own time, it passes.
    let mut fresh = Federation::new();
    let _ = fresh.physician("dr-a");
    fresh.accept(&change);
    let judged = validate(&before, fresh.view(), Arrival::historical(fed.now()));
    assert!(judged.is_ok(), "{judged:?}");
    let format = fed.sign(&dr, post("AS", "aortic\u{200B}stenosis"));
    assert_eq!(code(&fed, &format), "format_character");
}

#[test]
fn from_rules_2_case_tags_are_scanned() {
    let mut fed = Federation::new();
    let dr = fed.physician("dr-a");
    let change = rules(&mut fed, 2, 0);
    fed.accept(&change);
    fed.advance(1);
    let case = |tag: &str| {
        Body::Case(Case {
            hub: HubId::new("general").unwrap(),
            title: "Syncope".into(),
            age: crate::AgeBand::from_years(70),
            sex: Sex::Female,
            presentation: "Recurrent syncope on exertion.".into(),
            history: String::new(),
            findings: String::new(),
            question: "Next step?".into(),
            tags: vec![Tag::new(tag).unwrap()],
        })
    };
    let bad = fed.sign(&dr, case("mrn-12345678"));
    assert_eq!(code(&fed, &bad), "identifying_text");
    let bad = fed.sign(&dr, case("dob-12-03-1961"));
    assert_eq!(code(&fed, &bad), "identifying_text");
    let good = fed.sign(&dr, case("aortic-stenosis"));
    assert_eq!(code(&fed, &good), "accepted");
}
