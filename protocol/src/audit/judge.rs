//! The judgements `check_log` and `combine` make once the runs are
//! checked: the leaves against the latest head, heads against each other,
//! the log against the auditor's saved head, the quorum, and two nodes'
//! latest heads against each other.

use std::collections::BTreeMap;

use super::findings::Findings;
use super::{CheckedHead, Evidence, Finding, FindingCode, HeadRef, LogReport, digest, seen};
use crate::Digest;
use crate::merkle::MerkleLog;

/// The latest head's root is not the leaves': the node changed, dropped
/// or added a leaf. The evidence narrows where: after the largest head
/// that still matches the leaves.
pub(super) fn root_mismatch(
    node: &str,
    heads: &[CheckedHead],
    latest: &HeadRef,
    tree: &MerkleLog,
    index_gap: Option<u64>,
) -> Finding {
    let shown = tree.len();
    let matches = |h: &HeadRef| tree.root_at(h.size).map(digest) == Some(h.root);
    let good = heads
        .iter()
        .map(|h| h.head)
        .filter(|h| h.size <= latest.size && matches(h))
        .map(|h| h.size)
        .max()
        .unwrap_or(0);
    let first_bad = heads
        .iter()
        .map(|h| h.head)
        .filter(|h| h.size > good && h.size <= latest.size && !matches(h))
        .map(|h| h.size)
        .min()
        .unwrap_or(latest.size);
    let place = if first_bad == good + 1 {
        format!("leaf {good} is not the one the verifier signed")
    } else {
        format!("the leaves first differ between index {good} and {}", first_bad - 1)
    };
    let shown_text = if shown < latest.size {
        format!("only {shown} of its {} leaves were shown", latest.size)
    } else {
        format!("{shown} leaves were shown")
    };
    let gap =
        index_gap.map(|g| format!("; the leaf indexes skip at position {g}")).unwrap_or_default();
    Finding::new(
        FindingCode::RootMismatch,
        format!(
            "the leaves shown do not hash to the verifier's latest signed head ({} leaves, {}): \
             {place}; {shown_text}{gap}",
            latest.size,
            latest.id.short()
        ),
        Evidence {
            node: Some(node.to_owned()),
            heads: vec![seen(Some(node), *latest)],
            size: Some(latest.size),
            signed_root: Some(latest.root),
            computed_root: tree.root_at(latest.size.min(shown)).map(digest),
            leaves_shown: Some(shown),
            leaf_index: Some(good),
            ..Evidence::default()
        },
    )
}

/// Two heads of one size with different roots; a head signed after a
/// larger one.
pub(super) fn same_size_and_rollback(node: &str, heads: &[CheckedHead], findings: &mut Findings) {
    let mut by_size: BTreeMap<u64, Vec<HeadRef>> = BTreeMap::new();
    for h in heads {
        by_size.entry(h.head.size).or_default().push(h.head);
    }
    for (size, group) in &by_size {
        let first = group[0];
        if let Some(other) = group.iter().find(|h| h.root != first.root) {
            findings.push(Finding::new(
                FindingCode::SameSizeDifferentRoots,
                format!(
                    "the verifier signed two heads of {size} leaves with different roots ({} and {}): \
                     two histories",
                    first.id.short(),
                    other.id.short()
                ),
                Evidence {
                    heads: vec![seen(Some(node), first), seen(Some(node), *other)],
                    size: Some(*size),
                    ..Evidence::default()
                },
            ));
        }
    }
    let mut by_time: Vec<HeadRef> = heads.iter().map(|h| h.head).collect();
    by_time.sort_by_key(|h| (h.created_at, h.size, h.id));
    // The largest head signed strictly before the ones looked at.
    let mut largest_before: Option<HeadRef> = None;
    for group in by_time.chunk_by(|a, b| a.created_at == b.created_at) {
        if let Some(before) = largest_before {
            for h in group.iter().filter(|h| h.size < before.size) {
                findings.push(Finding::new(
                    FindingCode::Rollback,
                    format!(
                        "the verifier signed a head of {} leaves ({}) after one of {} ({}): \
                         its log went back",
                        h.size,
                        h.id.short(),
                        before.size,
                        before.id.short()
                    ),
                    Evidence {
                        heads: vec![seen(Some(node), before), seen(Some(node), *h)],
                        size: Some(h.size),
                        ..Evidence::default()
                    },
                ));
            }
        }
        if let Some(top) = group.iter().max_by_key(|h| h.size)
            && largest_before.is_none_or(|b| top.size > b.size)
        {
            largest_before = Some(*top);
        }
    }
}

/// The log against the head this auditor saw last time.
pub(super) fn saved_head(
    node: &str,
    prev: HeadRef,
    latest: HeadRef,
    verified: bool,
    heads: &[CheckedHead],
    computed: Option<Digest>,
    findings: &mut Findings,
) {
    let evidence = |computed| Evidence {
        node: Some(node.to_owned()),
        heads: vec![seen(Some("saved"), prev), seen(Some(node), latest)],
        size: Some(prev.size),
        signed_root: Some(prev.root),
        computed_root: computed,
        ..Evidence::default()
    };
    if prev.size <= latest.size {
        if verified && computed != Some(prev.root) {
            findings.push(Finding::new(
                FindingCode::InconsistentWithSaved,
                format!(
                    "the log is not consistent with the head this auditor saw before ({} leaves, \
                     {}): its first {} leaves hash to another root",
                    prev.size,
                    prev.id.short(),
                    prev.size
                ),
                evidence(computed),
            ));
        }
        return;
    }
    // The node shows less than the auditor saw before.
    if let Some(other) =
        heads.iter().map(|h| h.head).find(|h| h.size == prev.size && h.root != prev.root)
    {
        findings.push(Finding::new(
            FindingCode::InconsistentWithSaved,
            format!(
                "the verifier signed a head of {} leaves ({}) whose root is not that of the head \
                 this auditor saw before ({})",
                prev.size,
                other.id.short(),
                prev.id.short()
            ),
            Evidence {
                heads: vec![seen(Some("saved"), prev), seen(Some(node), other)],
                ..evidence(None)
            },
        ));
    } else if latest.created_at > prev.created_at {
        findings.push(Finding::new(
            FindingCode::Rollback,
            format!(
                "the verifier's latest head ({} leaves, {}) was signed after the head this auditor \
                 saw before ({} leaves): its log went back",
                latest.size,
                latest.id.short(),
                prev.size
            ),
            evidence(None),
        ));
    }
}

pub(super) fn below_quorum(
    node: Option<&str>,
    head: &HeadRef,
    cosigners: usize,
    quorum: usize,
) -> Option<Finding> {
    (cosigners < quorum).then(|| {
        Finding::new(
            FindingCode::BelowQuorum,
            format!(
                "the latest head ({} leaves, {}) has {cosigners} distinct valid cosigner(s); \
                 the quorum is {quorum}",
                head.size,
                head.id.short()
            ),
            Evidence {
                node: node.map(str::to_owned),
                heads: vec![seen(node, *head)],
                cosigners: Some(cosigners),
                quorum: Some(quorum),
                ..Evidence::default()
            },
        )
    })
}

/// Whether two nodes' latest heads cannot both be true of one log.
pub(super) fn split_view(a: &LogReport, b: &LogReport) -> Option<Finding> {
    let (la, lb) = (a.latest?, b.latest?);
    let ((small, small_node), (large, large_node, large_report)) = if la.size <= lb.size {
        ((la, &a.node), (lb, &b.node, b))
    } else {
        ((lb, &b.node), (la, &a.node, a))
    };
    // Same size: the roots must be equal. A smaller head: a prefix of the
    // larger node's leaves, when those check against its head.
    let computed = if small.size == large.size {
        if small.root == large.root {
            return None;
        }
        None
    } else {
        let at = large_report.root_at(small.size);
        if !large_report.verified || at == Some(small.root) {
            return None;
        }
        at
    };
    Some(Finding::new(
        FindingCode::SplitView,
        format!(
            "{small_node} shows a head of {} leaves ({}) that cannot be true of the log \
             {large_node} shows (head {}, {} leaves): the verifier showed them different histories",
            small.size,
            small.id.short(),
            large.id.short(),
            large.size
        ),
        Evidence {
            heads: vec![seen(Some(small_node), small), seen(Some(large_node), large)],
            size: Some(small.size),
            signed_root: Some(small.root),
            computed_root: computed,
            ..Evidence::default()
        },
    ))
}
