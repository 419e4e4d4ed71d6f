//! [`Auditor::check_log`]: the checked runs put together in log order and
//! the whole log judged.

use std::collections::HashMap;

use super::findings::Findings;
use super::judge::{
    WitnessTimes, below_quorum, inconsistent_history, root_mismatch, same_size_and_rollback,
    saved_head, witnessed_in_time,
};
use super::leaves::invalid_leaf;
use super::view::Overlay;
use super::{
    Auditor, CosignedHead, Finding, FindingCode, FindingEvidence, LeafBatch, LogReport, Options,
    ShownLog, Verdict, digest,
};
use crate::merkle::MerkleLog;
use crate::{Arrival, Body, Digest, EventId, EventSummary, Kind, PublicKey, Timestamp};

/// The leaves replayed in log order: their tree, and what each turned out
/// to be.
struct Replayed {
    tree: MerkleLog,
    /// Each leaf's id.
    ids: Vec<EventId>,
    /// When each leaf says it was issued, if it is valid.
    dated: Vec<Option<Timestamp>>,
    /// Each leaf's kind, if it stands (not a repeat, not invalid).
    kinds: Vec<Option<Kind>>,
    /// The first position whose leaf came with another index.
    index_gap: Option<u64>,
}

impl Auditor {
    /// Puts checked runs of heads and leaves together and judges the log:
    /// revocations in order, duplicates, the leaves against every head,
    /// heads against each other, the log against the auditor's last head,
    /// and the quorum.
    pub fn check_log(&self, log: ShownLog, options: &Options) -> LogReport {
        let node = log.node.as_str();
        let verifier = log.verifier;
        let mut findings = Findings::default();
        let mut heads: Vec<CosignedHead> = Vec::new();
        for batch in log.heads {
            heads.extend(batch.heads);
            findings.extend(batch.findings);
        }
        let Replayed { tree, ids, dated, kinds, index_gap } =
            self.replay(verifier, log.leaves, &mut findings);
        let shown = tree.len();
        let root_at = |size: u64| tree.root_at(size).map(digest);

        let latest = latest_head(&heads, shown.max(log.size), root_at);
        let pending_heads = heads.iter().filter(|h| h.head.size > shown.max(log.size)).count();
        let verified = latest.as_ref().is_some_and(|l| root_at(l.head.size) == Some(l.head.root));

        if let Some(l) = latest.as_ref().map(|l| l.head) {
            if verified {
                inconsistent_history(node, &heads, l, root_at, &mut findings);
            } else {
                findings.push(root_mismatch(node, &heads, &l, &tree, index_gap));
            }
        }
        same_size_and_rollback(node, &heads, &mut findings);
        let params = self.genesis().params;
        let times = WitnessTimes {
            charter_ended_at: self.charter_ended_at(&verifier),
            window_ms: params.log_merge_window_ms,
            skew_ms: params.max_clock_skew_ms,
        };
        witnessed_in_time(node, &heads, (&ids, &dated, &kinds), times, &mut findings);

        if let (Some(prev), Some(l)) = (options.previous, latest.as_ref().map(|l| l.head)) {
            saved_head(node, prev, l, verified, &heads, root_at(prev.size), &mut findings);
        }

        let cosigners = latest.as_ref().map(|l| l.cosigners.clone()).unwrap_or_default();
        if let (Some(quorum), Some(l)) = (options.quorum, latest.as_ref()) {
            findings.extend(below_quorum(Some(node), &l.head, cosigners.len(), quorum));
        }

        let size = latest.as_ref().map_or(0, |l| l.head.size);
        let covered = kinds.iter().take(usize::try_from(size).unwrap_or(usize::MAX));
        let count = |kind| covered.clone().filter(|k| **k == Some(kind)).count() as u64;
        let mut findings = findings.into_vec();
        for f in &mut findings {
            f.evidence.node.get_or_insert_with(|| node.to_owned());
        }
        LogReport {
            node: node.to_owned(),
            verifier,
            size,
            leaves_shown: shown,
            heads: heads.len(),
            latest: latest.map(|l| l.head),
            verified,
            pending_heads,
            unsigned_leaves: shown.saturating_sub(size),
            cosigners,
            attestations: count(Kind::Attestation),
            revocations: count(Kind::Revocation),
            findings,
            tree,
        }
    }

    /// Replays the leaves in log order: builds their tree, finds repeats
    /// and index gaps, and validates each revocation after what came
    /// before it.
    fn replay(
        &self,
        verifier: PublicKey,
        leaves: Vec<LeafBatch>,
        findings: &mut Findings,
    ) -> Replayed {
        let mut replayed = Replayed {
            tree: MerkleLog::new(),
            ids: Vec::new(),
            dated: Vec::new(),
            kinds: Vec::new(),
            index_gap: None,
        };
        let mut first_at: HashMap<EventId, u64> = HashMap::new();
        let mut view = Overlay::new(&self.trust);
        // Attestations need recording only for revocations to find them.
        let revocations = leaves
            .iter()
            .any(|b| b.leaves.iter().any(|l| matches!(l.verdict, Verdict::Revocation(_))));
        for batch in leaves {
            findings.extend(batch.findings);
            for leaf in batch.leaves {
                let pos = replayed.tree.len();
                replayed.tree.push(leaf.hash);
                replayed.ids.push(leaf.id);
                if leaf.index != pos && replayed.index_gap.is_none() {
                    replayed.index_gap = Some(pos);
                }
                if let Some(first) = first_at.insert(leaf.id, pos) {
                    first_at.insert(leaf.id, first);
                    findings.push(Finding::new(
                        FindingCode::DuplicateLeaf,
                        format!("leaf {pos} repeats leaf {first} ({})", leaf.id.short()),
                        FindingEvidence {
                            leaf_index: Some(pos),
                            leaf: Some(leaf.id),
                            ..FindingEvidence::default()
                        },
                    ));
                    replayed.kinds.push(None);
                    replayed.dated.push(None);
                    continue;
                }
                replayed.dated.push(match &leaf.verdict {
                    Verdict::Attestation(created_at) => Some(*created_at),
                    Verdict::Revocation(event) => Some(event.event().created_at()),
                    Verdict::Bad => None,
                });
                let recorded = Recorded { verifier, attestations: revocations };
                let kind = self.settle(&mut view, recorded, pos, leaf.id, leaf.verdict, findings);
                replayed.kinds.push(kind);
            }
        }
        replayed
    }

    /// The kind of the leaf at `pos` if it stands, recorded in `view` for
    /// the revocations after it: an attestation (valid on its own), or a
    /// revocation validated now, against what came before it.
    fn settle(
        &self,
        view: &mut Overlay<'_>,
        recorded: Recorded,
        pos: u64,
        id: EventId,
        verdict: Verdict,
        findings: &mut Findings,
    ) -> Option<Kind> {
        match verdict {
            Verdict::Bad => None,
            Verdict::Attestation(created_at) => {
                if recorded.attestations {
                    let kind = Kind::Attestation;
                    let summary = EventSummary { kind, author: recorded.verifier, created_at };
                    view.summaries.insert(id, summary);
                }
                Some(Kind::Attestation)
            }
            Verdict::Revocation(event) => {
                match event.validate(&*view, Arrival::historical(self.now)) {
                    Ok(verified) => {
                        if let Body::Revocation(r) = verified.body() {
                            view.revoke(r.target, r.effective_at);
                        }
                        view.summaries.insert(id, verified.summary());
                        Some(Kind::Revocation)
                    }
                    Err((_, why)) => {
                        findings.push(invalid_leaf(pos, id, why.code(), super::refusal(&why)));
                        None
                    }
                }
            }
        }
    }
}

/// Whose leaves are replayed, and whether attestations are recorded (only
/// revocations look for them).
#[derive(Clone, Copy)]
struct Recorded {
    verifier: PublicKey,
    attestations: bool,
}

/// The latest head within what the node holds (`reach` leaves); larger
/// ones wait. Of two heads of the largest size (a fork), the one the
/// leaves match is the latest: the other is the verifier's second history.
fn latest_head(
    heads: &[CosignedHead],
    reach: u64,
    root_at: impl Fn(u64) -> Option<Digest>,
) -> Option<CosignedHead> {
    heads
        .iter()
        .filter(|h| h.head.size <= reach)
        .max_by_key(|h| {
            let matches = root_at(h.head.size) == Some(h.head.root);
            (h.head.size, matches, h.head.created_at, h.head.id)
        })
        .cloned()
}
