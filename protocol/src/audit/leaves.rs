//! A run of a verifier's leaves checked as far as each can be on its own.

use super::{
    Auditor, CheckedLeaf, Finding, FindingCode, FindingEvidence, LeafBatch, ShownLeaf, Verdict,
    refusal,
};
use crate::{Arrival, EventId, Kind, PublicKey, merkle, verify_batch};

impl Auditor {
    /// Checks a run of `verifier`'s leaves as far as each can be on its
    /// own: the event is there, has the leaf's id, is an attestation or
    /// revocation by the verifier, and its signature verifies; an
    /// attestation is also validated (charter, jurisdiction, expiry,
    /// possession proof) at its issue time. Revocations are validated in
    /// [`Auditor::check_log`], after what they revoke.
    pub fn check_leaves(&self, verifier: &PublicKey, leaves: Vec<ShownLeaf>) -> LeafBatch {
        let mut batch = LeafBatch { leaves: Vec::with_capacity(leaves.len()), findings: vec![] };
        let mut to_verify = Vec::new();
        let mut slots = Vec::new();
        for leaf in leaves {
            let hash = merkle::leaf_hash(leaf.id.as_bytes());
            match (misshapen(verifier, &leaf), leaf.event) {
                (None, Some(event)) => {
                    slots.push(batch.leaves.len());
                    to_verify.push(event);
                }
                (finding, _) => batch.findings.extend(finding),
            }
            batch.leaves.push(CheckedLeaf {
                index: leaf.index,
                id: leaf.id,
                hash,
                verdict: Verdict::Bad,
            });
        }
        for (slot, result) in slots.into_iter().zip(verify_batch(to_verify)) {
            let leaf = &mut batch.leaves[slot];
            let invalid = |code: &str, why| invalid_leaf(leaf.index, leaf.id, code, why);
            match result {
                Err((_, why)) => batch.findings.push(invalid(why.code(), why.to_string())),
                Ok(event) if event.event().kind() == Kind::Revocation => {
                    leaf.verdict = Verdict::Revocation(Box::new(event));
                }
                Ok(event) => match event.validate(&self.trust, Arrival::historical(self.now)) {
                    Ok(verified) => leaf.verdict = Verdict::Attestation(verified.created_at()),
                    Err((_, why)) => batch.findings.push(invalid(why.code(), refusal(&why))),
                },
            }
        }
        batch
    }
}

/// Why `leaf` cannot be an entry of `verifier`'s log by its shape alone
/// (no event, another id, another author, another kind), if it cannot.
fn misshapen(verifier: &PublicKey, leaf: &ShownLeaf) -> Option<Finding> {
    let evidence = FindingEvidence {
        leaf_index: Some(leaf.index),
        leaf: Some(leaf.id),
        ..FindingEvidence::default()
    };
    let bad = |code, message: String, evidence| Some(Finding::new(code, message, evidence));
    match &leaf.event {
        None => bad(
            FindingCode::MissingEvent,
            format!("leaf {} ({}) was shown without its event", leaf.index, leaf.id.short()),
            evidence,
        ),
        Some(e) if e.id() != leaf.id => bad(
            FindingCode::LeafIdMismatch,
            format!(
                "leaf {} is {} but was shown with event {}",
                leaf.index,
                leaf.id.short(),
                e.id().short()
            ),
            FindingEvidence { event: Some(e.id()), ..evidence },
        ),
        Some(e) if e.author() != verifier => bad(
            FindingCode::ForeignLeaf,
            format!("leaf {} is an event by {}, not by the verifier", leaf.index, e.author()),
            FindingEvidence { key: Some(*e.author()), ..evidence },
        ),
        Some(e) if !matches!(e.kind(), Kind::Attestation | Kind::Revocation) => bad(
            FindingCode::WrongKind,
            format!("leaf {} is a {}, not an attestation or a revocation", leaf.index, e.kind()),
            evidence,
        ),
        Some(_) => None,
    }
}

/// Leaf `index` (`id`) was not valid when issued, refused with `code`
/// because `why`: found on its own, or (a revocation) in log order.
pub(super) fn invalid_leaf(index: u64, id: EventId, code: &str, why: String) -> Finding {
    Finding::new(
        FindingCode::InvalidLeaf,
        format!("leaf {index} ({id}) was not valid when issued: {why}"),
        FindingEvidence {
            leaf_index: Some(index),
            leaf: Some(id),
            rejection: Some(code.to_owned()),
            ..FindingEvidence::default()
        },
    )
}
