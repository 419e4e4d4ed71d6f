//! The judgements `check_log` and `combine` make once the runs are
//! checked: the leaves against the latest head, heads against each other,
//! leaves' dates against when witnesses saw them, the log against the
//! auditor's saved head, the quorum, and two nodes' latest heads against
//! each other.

use std::collections::BTreeMap;

use super::findings::Findings;
use super::{
    CosignedHead, Finding, FindingCode, FindingEvidence, HeadRef, LogReport, digest, seen,
};
use crate::merkle::MerkleLog;
use crate::{Digest, EventId, Kind, Timestamp};

/// Every earlier head of a log whose latest head `l` checks must be true
/// of a prefix of the same leaves (`root_at`); one that is not means the
/// verifier signed two histories (`inconsistent_history`).
pub(super) fn inconsistent_history(
    node: &str,
    heads: &[CosignedHead],
    l: HeadRef,
    root_at: impl Fn(u64) -> Option<Digest>,
    findings: &mut Findings,
) {
    for h in heads.iter().map(|h| h.head).filter(|h| h.id != l.id) {
        if h.size <= l.size && root_at(h.size) != Some(h.root) {
            let what = if h.size == l.size {
                "another root than the leaves its latest head of that size covers"
            } else {
                "a root that is not that of a prefix of the log its latest head covers"
            };
            findings.push(Finding::new(
                FindingCode::InconsistentHistory,
                format!(
                    "the verifier signed a head of {} leaves ({}) with {what} ({} \
                     leaves, {}): it rewrote its history",
                    h.size,
                    h.id.short(),
                    l.size,
                    l.id.short()
                ),
                FindingEvidence {
                    node: Some(node.to_owned()),
                    heads: vec![seen(Some(node), h), seen(Some(node), l)],
                    size: Some(h.size),
                    signed_root: Some(h.root),
                    computed_root: root_at(h.size),
                    ..FindingEvidence::default()
                },
            ));
        }
    }
}

/// What judging leaves' dates against witnesses needs.
#[derive(Clone, Copy, Debug)]
pub(super) struct WitnessTimes {
    /// When the verifier's charter ended, if it has.
    pub(super) charter_ended_at: Option<Timestamp>,
    /// The network's log merge window.
    pub(super) window_ms: u64,
    /// The network's clock skew.
    pub(super) skew_ms: u64,
}

/// A leaf's date is the verifier's claim; a witness's cosignature of a
/// head is another node's. For each valid leaf, the earliest cosignature
/// of any head covering it is when a witness first saw it:
///
/// - a leaf dated more than the merge window (and the skew) before that,
///   or more than the skew after it, is misdated (`misdated_leaf`): an
///   honest verifier publishes a leaf with the head that covers it, and
///   witnesses cosign within seconds;
/// - once the verifier's charter has ended, a leaf dated before the end
///   that no witness saw by the end (give or take the skew) may have been
///   made afterwards and dated back (`unwitnessed_leaf`): nodes refused it
///   when it arrived, but the verifier's own log shows it.
///
/// A witness that was down, or a network with none, also leaves leaves
/// unwitnessed: these findings are evidence to look into, not proof.
pub(super) fn witnessed_in_time(
    node: &str,
    heads: &[CosignedHead],
    (ids, dated, kinds): (&[EventId], &[Option<Timestamp>], &[Option<Kind>]),
    times: WitnessTimes,
    findings: &mut Findings,
) {
    // Heads by size; from each, the earliest witness time of it or any
    // larger head (a larger head covers every leaf the smaller one does).
    let mut by_size: Vec<&CosignedHead> = heads.iter().collect();
    by_size.sort_by_key(|h| (h.head.size, h.head.created_at, h.head.id));
    let mut first_seen: Vec<Option<(Timestamp, HeadRef)>> = vec![None; by_size.len()];
    let mut earliest: Option<(Timestamp, HeadRef)> = None;
    for (i, h) in by_size.iter().enumerate().rev() {
        if let Some(at) = h.witnessed_at
            && earliest.is_none_or(|(e, _)| at < e)
        {
            earliest = Some((at, h.head));
        }
        first_seen[i] = earliest;
    }
    for (index, ((id, dated), kind)) in ids.iter().zip(dated).zip(kinds).enumerate() {
        let (Some(dated), Some(_)) = (dated, kind) else { continue };
        let index = index as u64;
        // The smallest head covering this leaf, and the first time any
        // head covering it was witnessed.
        let from = by_size.partition_point(|h| h.head.size <= index);
        let covering = by_size.get(from).map(|h| h.head);
        let seen_at = first_seen.get(from).copied().flatten();
        let evidence = |head: Option<HeadRef>| FindingEvidence {
            node: Some(node.to_owned()),
            heads: head.map(|h| vec![seen(Some(node), h)]).unwrap_or_default(),
            leaf_index: Some(index),
            leaf: Some(*id),
            dated: Some(*dated),
            witnessed_at: seen_at.map(|(at, _)| at),
            charter_ended_at: times.charter_ended_at,
            ..FindingEvidence::default()
        };
        if let Some((witnessed, head)) = seen_at {
            let early = dated.plus_millis(times.window_ms + times.skew_ms) < witnessed;
            let late = *dated > witnessed.plus_millis(times.skew_ms);
            if early || late {
                let how = if early { "more than the merge window before" } else { "after" };
                findings.push(Finding::new(
                    FindingCode::MisdatedLeaf,
                    format!(
                        "leaf {index} is dated {dated}, {how} a witness first saw a head covering \
                         it ({witnessed}, head {} of {} leaves)",
                        head.id.short(),
                        head.size
                    ),
                    evidence(Some(head)),
                ));
            }
        }
        if let Some(ended) = times.charter_ended_at
            && *dated < ended
            && seen_at.is_none_or(|(at, _)| at > ended.plus_millis(times.skew_ms))
        {
            let seen = match seen_at {
                Some((at, _)) => format!("a witness first saw it at {at}"),
                None => "no witness has cosigned a head covering it".to_owned(),
            };
            findings.push(Finding::new(
                FindingCode::UnwitnessedLeaf,
                format!(
                    "leaf {index} is dated {dated}, before the verifier's charter ended ({ended}), \
                     but {seen}: it may have been made after the charter ended and dated back"
                ),
                evidence(covering),
            ));
        }
    }
}

/// The latest head's root is not the leaves': the node changed, dropped
/// or added a leaf. The evidence narrows where: after the largest head
/// that still matches the leaves.
pub(super) fn root_mismatch(
    node: &str,
    heads: &[CosignedHead],
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
        FindingEvidence {
            node: Some(node.to_owned()),
            heads: vec![seen(Some(node), *latest)],
            size: Some(latest.size),
            signed_root: Some(latest.root),
            computed_root: tree.root_at(latest.size.min(shown)).map(digest),
            leaves_shown: Some(shown),
            leaf_index: Some(good),
            ..FindingEvidence::default()
        },
    )
}

/// Two heads of one size with different roots; a head signed after a
/// larger one.
pub(super) fn same_size_and_rollback(node: &str, heads: &[CosignedHead], findings: &mut Findings) {
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
                FindingEvidence {
                    heads: vec![seen(Some(node), first), seen(Some(node), *other)],
                    size: Some(*size),
                    ..FindingEvidence::default()
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
                    FindingEvidence {
                        heads: vec![seen(Some(node), before), seen(Some(node), *h)],
                        size: Some(h.size),
                        ..FindingEvidence::default()
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
    heads: &[CosignedHead],
    computed: Option<Digest>,
    findings: &mut Findings,
) {
    let evidence = |computed| FindingEvidence {
        node: Some(node.to_owned()),
        heads: vec![seen(Some("saved"), prev), seen(Some(node), latest)],
        size: Some(prev.size),
        signed_root: Some(prev.root),
        computed_root: computed,
        ..FindingEvidence::default()
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
            FindingEvidence {
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
            FindingEvidence {
                node: node.map(str::to_owned),
                heads: vec![seen(node, *head)],
                cosigners: Some(cosigners),
                quorum: Some(quorum),
                ..FindingEvidence::default()
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
        FindingEvidence {
            heads: vec![seen(Some(small_node), small), seen(Some(large_node), large)],
            size: Some(small.size),
            signed_root: Some(small.root),
            computed_root: computed,
            ..FindingEvidence::default()
        },
    ))
}
