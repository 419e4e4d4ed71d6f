//! The checker against every way a log can be tampered with, one story
//! per row; then the comparison of nodes, and a property: no changed
//! byte of a leaf goes unnoticed.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::TrustView as _;
use crate::merkle;
use crate::testkit::{Federation, key};
use crate::{
    Attestation, AttestationRequest, Cosignature, Handle, Revocation, SecretKey, TreeHead,
};

const NODE: &str = "http://node-a";

/// A federation with a verifier, two relay witnesses and a second verifier.
struct World {
    fed: Federation,
    charters: Vec<SignedEvent>,
    witness: SecretKey,
    witness2: SecretKey,
    other_verifier: SecretKey,
}

/// What one node shows.
struct Shown {
    size: u64,
    heads: Vec<ShownHead>,
    leaves: Vec<ShownLeaf>,
}

impl World {
    fn new() -> Self {
        let mut fed = Federation::new();
        let verifier = fed.verifier().public();
        let (witness, witness2, other_verifier) = (key("witness"), key("witness-2"), key("other"));
        let charters = vec![
            fed.charter(&verifier, &["GB"]),
            fed.charter(&witness.public(), &[]),
            fed.charter(&witness2.public(), &[]),
            fed.charter(&other_verifier.public(), &["GB"]),
        ];
        Self { fed, charters, witness, witness2, other_verifier }
    }

    fn verifier(&self) -> PublicKey {
        self.fed.verifier().public()
    }

    fn auditor(&self) -> Auditor {
        Auditor::new(self.fed.view().genesis().clone(), self.charters.clone(), self.fed.now())
    }

    fn attest(&mut self, name: &str) -> SignedEvent {
        self.fed.attestation(&key(name), name, &["cardiology"], "GB")
    }

    /// `by`'s attestation of `name` in `jurisdiction`.
    fn attest_by(&mut self, by: &SecretKey, name: &str, jurisdiction: &str) -> SignedEvent {
        let at = self.fed.tick();
        self.attest_dated(by, name, jurisdiction, at)
    }

    /// `by`'s attestation of `name` in `jurisdiction`, requested and dated `at`.
    fn attest_dated(
        &mut self,
        by: &SecretKey,
        name: &str,
        jurisdiction: &str,
        at: Timestamp,
    ) -> SignedEvent {
        let subject = key(name);
        let request =
            AttestationRequest::new(self.fed.network(), &subject, Handle::new(name).unwrap(), at);
        let body = Body::Attestation(Attestation {
            subject: subject.public(),
            handle: request.handle,
            specialties: vec!["cardiology".parse().unwrap()],
            jurisdiction: jurisdiction.parse().unwrap(),
            licence_commitment: Digest::from_bytes([9; 32]),
            valid_until: at.plus_days(30),
            requested_at: at,
            possession: request.signature,
        });
        self.fed.sign_at(by, at, body)
    }

    fn revoke(&mut self, target: EventId) -> SignedEvent {
        let at = self.fed.tick();
        let verifier = self.fed.verifier().clone();
        self.fed.sign_at(
            &verifier,
            at,
            Body::Revocation(Revocation { target, reason: "lapsed".into(), effective_at: at }),
        )
    }

    /// The verifier's head over these leaves, signed now.
    fn head(&mut self, ids: &[EventId]) -> SignedEvent {
        let verifier = self.fed.verifier().clone();
        self.head_by(&verifier, ids)
    }

    fn head_by(&mut self, key: &SecretKey, ids: &[EventId]) -> SignedEvent {
        let root = MerkleLog::from_leaves(ids.iter().map(|id| merkle::leaf_hash(id.as_bytes())));
        let body = Body::TreeHead(TreeHead {
            size: ids.len() as u64,
            root: Digest::from_bytes(root.root()),
        });
        self.fed.sign(key, body)
    }

    /// A head with any root.
    fn head_with_root(&mut self, size: u64, root: [u8; 32]) -> SignedEvent {
        let verifier = self.fed.verifier().clone();
        self.fed.sign(&verifier, Body::TreeHead(TreeHead { size, root: Digest::from_bytes(root) }))
    }

    /// One head after each leaf, as a verifying node signs them.
    fn heads_over(&mut self, ids: &[EventId]) -> Vec<SignedEvent> {
        (1..=ids.len()).map(|n| self.head(&ids[..n])).collect()
    }

    fn cosign(&mut self, by: &SecretKey, head: &SignedEvent) -> SignedEvent {
        let Body::TreeHead(h) = head.body() else { panic!("not a head") };
        let body = Body::Cosignature(Cosignature {
            head: head.id(),
            verifier: *head.author(),
            size: h.size,
            root: h.root,
        });
        self.fed.sign(by, body)
    }

    /// Four attestations, a head after each, the last cosigned by one witness.
    fn healthy(&mut self) -> (Vec<SignedEvent>, Shown) {
        let leaves: Vec<SignedEvent> = (0..4).map(|i| self.attest(&format!("dr-{i}"))).collect();
        let shown = self.shown(&leaves);
        (leaves, shown)
    }

    /// Heads over `leaves` (the last cosigned by the first witness) and the leaves.
    fn shown(&mut self, leaves: &[SignedEvent]) -> Shown {
        let ids: Vec<EventId> = leaves.iter().map(|e| e.id()).collect();
        let heads = self.heads_over(&ids);
        let witness = self.witness.clone();
        let cosig = self.cosign(&witness, heads.last().unwrap());
        let mut heads: Vec<ShownHead> =
            heads.into_iter().map(|event| ShownHead { event, cosignatures: vec![] }).collect();
        heads.last_mut().unwrap().cosignatures.push(cosig);
        Shown { size: leaves.len() as u64, heads, leaves: shown_leaves(leaves) }
    }

    fn audit(&self, shown: Shown, options: &Options) -> LogReport {
        self.auditor().audit_log(
            NODE,
            &self.verifier(),
            shown.size,
            shown.heads,
            shown.leaves,
            options,
        )
    }
}

fn shown_leaves(events: &[SignedEvent]) -> Vec<ShownLeaf> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| ShownLeaf { index: i as u64, id: e.id(), event: Some(e.clone()) })
        .collect()
}

fn codes(findings: &[Finding]) -> BTreeSet<&'static str> {
    findings.iter().map(|f| f.code.as_str()).collect()
}

fn plain(event: &SignedEvent) -> ShownHead {
    ShownHead { event: event.clone(), cosignatures: vec![] }
}

fn head_ref_of(event: &SignedEvent) -> HeadRef {
    head_ref(event).unwrap()
}

type Case = (&'static str, fn(&mut World) -> (Shown, Options), &'static [&'static str]);

/// Every way to tamper with a log, and what the audit must find.
const CASES: &[Case] = &[
    ("a healthy log", |w| (w.healthy().1, Options::default()), &[]),
    (
        "a changed leaf: two leaves swapped by the node",
        |w| {
            let (_, mut s) = w.healthy();
            s.leaves.swap(1, 2);
            (s, Options::default())
        },
        &["root_mismatch"],
    ),
    (
        "a changed leaf: an id with one bit flipped",
        |w| {
            let (_, mut s) = w.healthy();
            let mut bytes = s.leaves[2].id.to_bytes();
            bytes[7] ^= 0x10;
            s.leaves[2].id = EventId::from_bytes(bytes);
            (s, Options::default())
        },
        &["root_mismatch", "leaf_id_mismatch"],
    ),
    (
        "a changed leaf: replaced by another valid attestation of the verifier",
        |w| {
            let (_, mut s) = w.healthy();
            let other = w.attest("dr-swapped-in");
            s.leaves[3] = ShownLeaf { index: 3, id: other.id(), event: Some(other) };
            (s, Options::default())
        },
        &["root_mismatch"],
    ),
    (
        "a dropped leaf in the middle",
        |w| {
            let (_, mut s) = w.healthy();
            s.leaves.remove(1);
            (s, Options::default())
        },
        &["root_mismatch"],
    ),
    (
        "a dropped last leaf, the node still claiming the whole log",
        |w| {
            let (_, mut s) = w.healthy();
            s.leaves.pop();
            (s, Options::default())
        },
        &["root_mismatch"],
    ),
    (
        "a dropped leaf, the node claiming one leaf fewer",
        |w| {
            let (_, mut s) = w.healthy();
            s.leaves.remove(0);
            s.size -= 1;
            (s, Options::default())
        },
        &["root_mismatch"],
    ),
    (
        "a fork: a second head of an existing size with another root",
        |w| {
            let (_, mut s) = w.healthy();
            let forged = w.head_with_root(2, [7; 32]);
            s.heads.push(plain(&forged));
            (s, Options::default())
        },
        &["inconsistent_history", "same_size_different_roots", "rollback"],
    ),
    (
        "a fork at the latest size: the verifier's second head is the newer one",
        |w| {
            let (_, mut s) = w.healthy();
            let forged = w.head_with_root(4, [6; 32]);
            s.heads.push(plain(&forged));
            (s, Options::default())
        },
        &["inconsistent_history", "same_size_different_roots"],
    ),
    (
        "a rewritten history: an earlier head that is not a prefix",
        |w| {
            let leaves: Vec<SignedEvent> = (0..3).map(|i| w.attest(&format!("dr-{i}"))).collect();
            let other = w.attest("dr-other");
            let ids: Vec<EventId> = leaves.iter().map(|e| e.id()).collect();
            let rewritten = w.head(&[ids[0], other.id()]);
            let latest = w.head(&ids);
            let s = Shown {
                size: 3,
                heads: vec![plain(&rewritten), plain(&latest)],
                leaves: shown_leaves(&leaves),
            };
            (s, Options::default())
        },
        &["inconsistent_history"],
    ),
    (
        "a rollback: a head of fewer leaves signed after a larger one",
        |w| {
            let (leaves, mut s) = w.healthy();
            let ids: Vec<EventId> = leaves.iter().map(|e| e.id()).collect();
            let back = w.head(&ids[..2]);
            s.heads.push(plain(&back));
            (s, Options::default())
        },
        &["rollback"],
    ),
    (
        "a duplicate leaf, signed over by the verifier",
        |w| {
            let mut leaves: Vec<SignedEvent> =
                (0..2).map(|i| w.attest(&format!("dr-d{i}"))).collect();
            leaves.push(leaves[1].clone());
            let s = w.shown(&leaves);
            (s, Options::default())
        },
        &["duplicate_leaf"],
    ),
    (
        "a leaf by another verifier",
        |w| {
            let other = w.other_verifier.clone();
            let mut leaves = vec![w.attest("dr-0")];
            leaves.push(w.attest_by(&other, "dr-foreign", "GB"));
            let s = w.shown(&leaves);
            (s, Options::default())
        },
        &["foreign_leaf"],
    ),
    (
        "a leaf that is not an attestation or a revocation",
        |w| {
            let first = w.attest("dr-0");
            let head = w.head(&[first.id()]);
            let s = w.shown(&[first, head]);
            (s, Options::default())
        },
        &["wrong_kind"],
    ),
    (
        "an attestation outside the verifier's charter",
        |w| {
            let verifier = w.fed.verifier().clone();
            let leaves = vec![w.attest("dr-0"), w.attest_by(&verifier, "dr-us", "US")];
            let s = w.shown(&leaves);
            (s, Options::default())
        },
        &["invalid_leaf"],
    ),
    (
        "an attestation whose possession proof is not the subject's",
        |w| {
            let good = w.attest("dr-0");
            let Body::Attestation(mut a) = good.body().clone() else { unreachable!() };
            a.possession = crate::Signature::from_bytes([3; 64]);
            let verifier = w.fed.verifier().clone();
            let forged = w.fed.sign(&verifier, Body::Attestation(a));
            let s = w.shown(&[good, forged]);
            (s, Options::default())
        },
        &["invalid_leaf"],
    ),
    (
        "a leaf shown without its event",
        |w| {
            let (_, mut s) = w.healthy();
            s.leaves[1].event = None;
            (s, Options::default())
        },
        &["missing_event"],
    ),
    (
        "a valid revocation of an earlier attestation",
        |w| {
            let first = w.attest("dr-0");
            let revocation = w.revoke(first.id());
            let s = w.shown(&[first, revocation]);
            (s, Options::default())
        },
        &[],
    ),
    (
        "a revocation of something that is not in the log",
        |w| {
            let first = w.attest("dr-0");
            let revocation = w.revoke(EventId::from_bytes([5; 32]));
            let s = w.shown(&[first, revocation]);
            (s, Options::default())
        },
        &["invalid_leaf"],
    ),
    (
        "a head signed by another key than the verifier's",
        |w| {
            let (leaves, mut s) = w.healthy();
            let ids: Vec<EventId> = leaves.iter().map(|e| e.id()).collect();
            let other = w.other_verifier.clone();
            let foreign = w.head_by(&other, &ids);
            s.heads.push(plain(&foreign));
            (s, Options::default())
        },
        &["invalid_head"],
    ),
    (
        "a head with a bad signature",
        |w| {
            let (_, mut s) = w.healthy();
            let h = s.heads[1].event.clone();
            let mut sig = h.signature().to_bytes();
            sig[10] ^= 1;
            s.heads[1].event =
                SignedEvent::from_parts(h.event().clone(), crate::Signature::from_bytes(sig));
            (s, Options::default())
        },
        &["invalid_head"],
    ),
    (
        "a cosignature that repeats another root",
        |w| {
            let (_, mut s) = w.healthy();
            let head = s.heads[3].event.clone();
            let Body::TreeHead(h) = head.body() else { unreachable!() };
            let body = Body::Cosignature(Cosignature {
                head: head.id(),
                verifier: *head.author(),
                size: h.size,
                root: Digest::from_bytes([1; 32]),
            });
            let witness2 = w.witness2.clone();
            let bad = w.fed.sign(&witness2, body);
            s.heads[3].cosignatures.push(bad);
            (s, Options::default())
        },
        &["invalid_cosignature"],
    ),
    (
        "a latest head below the quorum",
        |w| (w.healthy().1, Options { quorum: Some(2), ..Options::default() }),
        &["below_quorum"],
    ),
    (
        "a log that does not extend the head the auditor saw before",
        |w| {
            let (_, s) = w.healthy();
            let seen_before = w.head_with_root(2, [8; 32]);
            (s, Options { previous: Some(head_ref_of(&seen_before)), quorum: None })
        },
        &["inconsistent_with_saved"],
    ),
    (
        "a log that extends the head the auditor saw before",
        |w| {
            let (leaves, s) = w.healthy();
            let seen_before = head_ref_of(&s.heads[1].event);
            assert_eq!(seen_before.size, 2);
            let _ = leaves;
            (s, Options { previous: Some(seen_before), quorum: Some(1) })
        },
        &[],
    ),
    (
        "a smaller log signed after the head the auditor saw before",
        |w| {
            let (leaves, mut s) = w.healthy();
            let seen_before = head_ref_of(&s.heads[3].event);
            // The node shows only two leaves and a head over them, signed later.
            let ids: Vec<EventId> = leaves.iter().map(|e| e.id()).collect();
            let back = w.head(&ids[..2]);
            s.heads = vec![plain(&back)];
            s.leaves.truncate(2);
            s.size = 2;
            (s, Options { previous: Some(seen_before), quorum: None })
        },
        &["rollback"],
    ),
    (
        "a node that holds the heads but not yet their leaves",
        |w| {
            let (_, mut s) = w.healthy();
            s.leaves.truncate(2);
            s.size = 2;
            (s, Options::default())
        },
        &[],
    ),
];

#[test]
fn every_kind_of_tampering_gives_its_finding() {
    for (name, make, expected) in CASES {
        let mut world = World::new();
        let (shown, options) = make(&mut world);
        let report = world.audit(shown, &options);
        let expected: BTreeSet<&str> = expected.iter().copied().collect();
        assert_eq!(codes(&report.findings), expected, "{name}: {:#?}", report.findings);
        for finding in &report.findings {
            assert_eq!(finding.evidence.node.as_deref(), Some(NODE), "{name}: {finding:?}");
        }
    }
}

#[test]
fn a_healthy_report_counts_what_it_saw() {
    let mut world = World::new();
    let (leaves, shown) = world.healthy();
    let last_head = head_ref_of(&shown.heads[3].event);
    let report = world.audit(shown, &Options::default());
    assert_eq!(report.size, 4);
    assert_eq!(report.leaves_shown, 4);
    assert_eq!(report.heads, 4);
    assert_eq!(report.latest, Some(last_head));
    assert!(report.verified);
    assert_eq!(report.attestations, 4);
    assert_eq!(report.revocations, 0);
    assert_eq!(report.cosigners, vec![world.witness.public()]);
    let root = MerkleLog::from_leaves(leaves.iter().map(|e| merkle::leaf_hash(e.id().as_bytes())));
    assert_eq!(report.root_at(4), Some(Digest::from_bytes(root.root())));
}

#[test]
fn a_root_mismatch_names_the_leaf_and_both_roots() {
    let mut world = World::new();
    let (_, mut shown) = world.healthy();
    let latest = head_ref_of(&shown.heads[3].event);
    shown.leaves.swap(2, 3);
    let report = world.audit(shown, &Options::default());
    let f = &report.findings[0];
    assert_eq!(f.code, FindingCode::RootMismatch);
    assert_eq!(f.evidence.leaf_index, Some(2), "{f:?}");
    assert_eq!(f.evidence.size, Some(4));
    assert_eq!(f.evidence.signed_root, Some(latest.root));
    assert!(f.evidence.computed_root.is_some_and(|r| r != latest.root));
    assert_eq!(f.evidence.heads[0].head, latest);
    assert!(!report.verified);
    // Serialized, the evidence names only what applies.
    let json = serde_json::to_value(f).unwrap();
    assert_eq!(json["code"], "root_mismatch");
    assert!(json["evidence"].get("quorum").is_none(), "{json}");
    assert_eq!(json["evidence"]["heads"][0]["size"], 4);
}

#[test]
fn a_hostile_log_gets_a_bounded_report() {
    let mut world = World::new();
    let (_, mut shown) = world.healthy();
    for leaf in &mut shown.leaves {
        leaf.event = None;
    }
    let many: Vec<ShownLeaf> = (0..30)
        .map(|i| ShownLeaf { index: 4 + i, id: EventId::from_bytes([i as u8; 32]), event: None })
        .collect();
    shown.leaves.extend(many);
    shown.size = 34;
    let report = world.audit(shown, &Options::default());
    let missing: Vec<&Finding> =
        report.findings.iter().filter(|f| f.code == FindingCode::MissingEvent).collect();
    assert_eq!(missing.len(), MAX_PER_CODE + 1);
    assert_eq!(missing.last().unwrap().evidence.more, Some(34 - MAX_PER_CODE));
}

#[test]
fn charters_that_do_not_stand_are_findings_and_give_no_authority() {
    let mut world = World::new();
    let impostor = key("impostor");
    let at = world.fed.tick();
    let self_chartered = world.fed.sign_at(
        &impostor,
        at,
        Body::Charter(crate::Charter {
            node: impostor.public(),
            institution: "Nowhere".into(),
            verify: vec!["GB".parse().unwrap()],
            valid_until: at.plus_days(1),
        }),
    );
    world.charters.push(self_chartered);
    let auditor = world.auditor();
    assert_eq!(codes(auditor.findings()), BTreeSet::from(["invalid_charter"]));
    assert_eq!(auditor.institution(&world.verifier()), Some("Test Hospital"));
    assert_eq!(auditor.institution(&impostor.public()), None);
    // Its attestations are invalid leaves of its own log.
    let att = world.attest_by(&impostor, "dr-x", "GB");
    let head = world.head_by(&impostor, &[att.id()]);
    let report = auditor.audit_log(
        NODE,
        &impostor.public(),
        1,
        vec![plain(&head)],
        shown_leaves(&[att]),
        &Options::default(),
    );
    assert_eq!(codes(&report.findings), BTreeSet::from(["invalid_head", "invalid_leaf"]));
}

#[test]
fn attestations_after_the_charter_was_revoked_are_invalid() {
    let mut world = World::new();
    let before = world.attest("dr-before");
    let at = world.fed.tick();
    let root = world.fed.root().clone();
    let revoke_charter = world.fed.sign_at(
        &root,
        at,
        Body::Revocation(Revocation {
            target: world.charters[0].id(),
            reason: "closed".into(),
            effective_at: at,
        }),
    );
    world.charters.push(revoke_charter);
    world.fed.advance(10);
    let after = world.attest("dr-after");
    // Signed after the revocation too, its heads do not stand either.
    let shown = world.shown(&[before, after]);
    let report = world.audit(shown, &Options::default());
    // No valid head covers `before` (every head was signed after the
    // revocation), so no witness saw it while the charter held either.
    assert_eq!(
        codes(&report.findings),
        BTreeSet::from(["invalid_head", "invalid_leaf", "unwitnessed_leaf"])
    );
    let invalid: Vec<&Finding> =
        report.findings.iter().filter(|f| f.code == FindingCode::InvalidLeaf).collect();
    assert_eq!(invalid.len(), 1, "{:#?}", report.findings);
    assert_eq!(invalid[0].evidence.leaf_index, Some(1));
    assert_eq!(invalid[0].evidence.rejection.as_deref(), Some("charter_revoked"));
}

/// The root revokes the verifier's charter now; returns when it took effect.
fn revoke_the_verifiers_charter(world: &mut World) -> Timestamp {
    let at = world.fed.tick();
    let root = world.fed.root().clone();
    let revocation = world.fed.sign_at(
        &root,
        at,
        Body::Revocation(Revocation {
            target: world.charters[0].id(),
            reason: "charter withdrawn".into(),
            effective_at: at,
        }),
    );
    world.charters.push(revocation);
    at
}

#[test]
fn an_attestation_backdated_past_the_charters_revocation_is_unwitnessed() {
    let mut world = World::new();
    // An honest log, its latest head cosigned by a witness at once.
    let (mut leaves, mut shown) = world.healthy();
    let ended = revoke_the_verifiers_charter(&mut world);
    world.fed.advance(60_000);
    // After the revocation, the verifier signs one more attestation and a
    // head over it, both dated a moment before the revocation. Nodes that
    // knew of the revocation refused them; its own node shows them.
    let verifier = world.fed.verifier().clone();
    let forged = world.attest_dated(&verifier, "dr-forged", "GB", ended.minus_millis(1));
    leaves.push(forged.clone());
    let ids: Vec<EventId> = leaves.iter().map(SignedEvent::id).collect();
    let head = world.head(&ids);
    let head = world.fed.sign_at(world.fed.verifier(), ended.minus_millis(1), head.body().clone());
    shown.heads.push(plain(&head));
    shown.leaves = shown_leaves(&leaves);
    shown.size = leaves.len() as u64;

    let report = world.audit(shown, &Options::default());
    assert_eq!(
        codes(&report.findings),
        BTreeSet::from(["unwitnessed_leaf"]),
        "{:#?}",
        report.findings
    );
    let finding = &report.findings[0];
    assert_eq!(finding.evidence.leaf, Some(forged.id()));
    assert_eq!(finding.evidence.leaf_index, Some(4));
    assert_eq!(finding.evidence.charter_ended_at, Some(ended));
    assert_eq!(finding.evidence.dated, Some(ended.minus_millis(1)));
    assert_eq!(finding.evidence.heads[0].head.id, head.id());
    assert!(report.verified, "the log itself is consistent: only the witnesses give it away");
}

#[test]
fn a_leaf_dated_outside_the_time_witnesses_first_saw_it_is_misdated() {
    let mut world = World::new();
    let params = world.fed.view().genesis().params;
    let (window, skew) = (params.log_merge_window_ms, params.max_clock_skew_ms);
    let early = world.attest("dr-early");
    world.fed.advance(window + skew + 1_000);
    let on_time = world.attest("dr-on-time");
    // Dated well after the moment a witness cosigns the head covering it.
    let ahead = world.attest("dr-ahead");
    let ahead = world.fed.sign_at(
        world.fed.verifier(),
        world.fed.now().plus_millis(skew + 60_000),
        ahead.body().clone(),
    );
    let shown = world.shown(&[early.clone(), on_time, ahead.clone()]);
    world.fed.advance(skew + 120_000); // audited once every date has passed
    let report = world.audit(shown, &Options::default());
    assert_eq!(
        codes(&report.findings),
        BTreeSet::from(["misdated_leaf"]),
        "{:#?}",
        report.findings
    );
    let misdated: Vec<Option<EventId>> = report.findings.iter().map(|f| f.evidence.leaf).collect();
    assert_eq!(misdated, vec![Some(early.id()), Some(ahead.id())]);
    assert!(report.findings.iter().all(|f| f.evidence.witnessed_at.is_some()));
}

#[test]
fn checking_in_runs_gives_the_same_report_as_checking_at_once() {
    let mut world = World::new();
    let leaves: Vec<SignedEvent> = (0..9).map(|i| world.attest(&format!("dr-{i}"))).collect();
    let mut shown = world.shown(&leaves);
    shown.leaves.swap(5, 6);
    let auditor = world.auditor();
    let verifier = world.verifier();
    let whole = auditor.audit_log(
        NODE,
        &verifier,
        9,
        shown.heads.clone(),
        shown.leaves.clone(),
        &Options::default(),
    );
    let log = ShownLog {
        node: NODE.into(),
        verifier,
        size: 9,
        heads: shown.heads.chunks(2).map(|c| auditor.check_heads(&verifier, c.to_vec())).collect(),
        leaves: shown
            .leaves
            .chunks(4)
            .map(|c| auditor.check_leaves(&verifier, c.to_vec()))
            .collect(),
    };
    let runs = auditor.check_log(log, &Options::default());
    assert_eq!(runs.findings, whole.findings);
    assert_eq!((runs.size, runs.latest, runs.verified), (whole.size, whole.latest, whole.verified));
}

// ---- Across nodes ------------------------------------------------------

/// The same verifier's log shown by two nodes, audited.
fn two_nodes(world: &mut World, a: Shown, b: Shown, quorum: Option<usize>) -> VerifierReport {
    let auditor = world.auditor();
    let verifier = world.verifier();
    let options = Options::default();
    let ra = auditor.audit_log("http://a", &verifier, a.size, a.heads, a.leaves, &options);
    let rb = auditor.audit_log("http://b", &verifier, b.size, b.heads, b.leaves, &options);
    auditor.combine(&verifier, vec![ra, rb], quorum)
}

#[test]
fn nodes_that_agree_and_a_node_behind_give_no_finding() {
    let mut world = World::new();
    let (leaves, a) = world.healthy();
    let b = Shown { size: 2, heads: a.heads[..2].to_vec(), leaves: shown_leaves(&leaves[..2]) };
    let report = two_nodes(&mut world, a, b, Some(1));
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.size, 4);
    assert_eq!(report.institution.as_deref(), Some("Test Hospital"));
    let standings: Vec<Standing> = report.nodes.iter().map(|n| n.standing).collect();
    assert_eq!(standings, [Standing::Agrees, Standing::Behind]);
}

#[test]
fn a_split_view_between_two_nodes_is_found() {
    let mut world = World::new();
    let (leaves, a) = world.healthy();
    // The verifier shows node B another fourth leaf, with heads that match it.
    let mut other = leaves[..3].to_vec();
    other.push(world.attest("dr-hidden"));
    let b = world.shown(&other);
    let report = two_nodes(&mut world, a, b, None);
    assert_eq!(codes(&report.findings), BTreeSet::from(["split_view"]), "{:#?}", report.findings);
    let standings: Vec<Standing> = report.nodes.iter().map(|n| n.standing).collect();
    assert_eq!(standings, [Standing::Split, Standing::Split]);
    let evidence = &report.findings[0].evidence;
    let nodes: Vec<&str> = evidence.heads.iter().filter_map(|h| h.node.as_deref()).collect();
    assert_eq!(nodes.len(), 2);
    assert!(nodes.contains(&"http://a") && nodes.contains(&"http://b"));
}

#[test]
fn a_smaller_head_that_is_no_prefix_of_a_larger_nodes_log_is_a_split_view() {
    let mut world = World::new();
    let (leaves, a) = world.healthy();
    let mut other = leaves[..1].to_vec();
    other.push(world.attest("dr-elsewhere"));
    let b = world.shown(&other);
    let report = two_nodes(&mut world, a, b, None);
    assert_eq!(codes(&report.findings), BTreeSet::from(["split_view"]));
    let evidence = &report.findings[0].evidence;
    assert_eq!(evidence.size, Some(2));
    assert!(evidence.computed_root.is_some_and(|r| Some(r) != evidence.signed_root));
}

#[test]
fn cosigners_count_over_every_node() {
    let mut world = World::new();
    let (leaves, a) = world.healthy();
    let mut b = Shown { size: 4, heads: a.heads.clone(), leaves: shown_leaves(&leaves) };
    let witness2 = world.witness2.clone();
    let second = world.cosign(&witness2, &b.heads[3].event);
    b.heads[3].cosignatures = vec![second];
    let report = two_nodes(&mut world, a, b, Some(2));
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.cosigners.len(), 2);
    let mut world = World::new();
    let (_, a) = world.healthy();
    let b = Shown { size: 0, heads: vec![], leaves: vec![] };
    let report = two_nodes(&mut world, a, b, Some(2));
    assert_eq!(codes(&report.findings), BTreeSet::from(["below_quorum"]));
}

#[test]
fn finding_codes_are_unique_and_listed_in_protocol_md() {
    let doc = include_str!("../../../docs/PROTOCOL.md");
    let mut seen = BTreeSet::new();
    for code in FindingCode::ALL {
        assert!(seen.insert(code.as_str()), "{code} twice");
        assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        assert!(doc.contains(&format!("`{code}`")), "docs/PROTOCOL.md does not list `{code}`");
    }
}

// ---- Any changed byte --------------------------------------------------

/// A healthy log of three leaves and its auditor, built once (signature
/// checks are slow in debug builds, and each case runs them all).
fn fixture() -> &'static (Auditor, PublicKey, Shown) {
    static FIXTURE: std::sync::OnceLock<(Auditor, PublicKey, Shown)> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut world = World::new();
        let leaves: Vec<SignedEvent> = (0..3).map(|i| world.attest(&format!("dr-{i}"))).collect();
        let ids: Vec<EventId> = leaves.iter().map(|e| e.id()).collect();
        let heads = world.heads_over(&ids).iter().map(plain).collect();
        let shown = Shown { size: 3, heads, leaves: shown_leaves(&leaves) };
        (world.auditor(), world.verifier(), shown)
    })
}

fn audit_changed(change: impl FnOnce(&mut Vec<ShownLeaf>)) -> LogReport {
    let (auditor, verifier, shown) = fixture();
    let mut leaves = shown.leaves.clone();
    change(&mut leaves);
    auditor.audit_log(NODE, verifier, shown.size, shown.heads.clone(), leaves, &Options::default())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Change one bit of one leaf (its id as the node shows it) and the
    /// leaves no longer hash to the signed head.
    #[test]
    fn any_changed_leaf_byte_is_caught(leaf in 0usize..3, byte in 0usize..32, bit in 0u8..8) {
        let report = audit_changed(|leaves| {
            let mut id = leaves[leaf].id.to_bytes();
            id[byte] ^= 1 << bit;
            leaves[leaf].id = EventId::from_bytes(id);
        });
        let found = codes(&report.findings);
        prop_assert!(found.contains("root_mismatch"), "{:?}", found);
        prop_assert!(!report.verified);
    }

    /// Change one bit of one leaf's event bytes and the audit is never clean.
    #[test]
    fn any_changed_event_byte_is_caught(leaf in 0usize..3, pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let report = audit_changed(|leaves| {
            let mut wire = leaves[leaf].event.as_ref().unwrap().to_bytes();
            let at = pos.index(wire.len());
            wire[at] ^= 1 << bit;
            leaves[leaf].event = SignedEvent::decode(&wire).ok();
        });
        prop_assert!(!report.findings.is_empty());
    }
}
