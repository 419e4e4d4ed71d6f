//! What an audit can find: [`FindingCode`] (stable snake_case codes),
//! [`Finding`] (a code, a message, and the [`FindingEvidence`] that shows it).

use serde::{Deserialize, Serialize};

use crate::{Digest, EventId, PublicKey, Timestamp};

/// Every kind of finding, with a stable snake_case code.
///
/// The first group blames the verifier (it signed something it should
/// not have); the second the node that showed the log (it served leaves,
/// heads or cosignatures that do not stand up); the last the audit run
/// itself (a node that could not be read).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingCode {
    /// An earlier signed head is not a prefix of the leaves that hash to
    /// the latest: the verifier rewrote its history (a fork).
    InconsistentHistory,
    /// Two signed heads of the same size with different roots: a fork.
    SameSizeDifferentRoots,
    /// A head signed later claims fewer leaves than one signed earlier.
    Rollback,
    /// Nodes show this verifier's log with heads that cannot both be true:
    /// the verifier showed different histories to different nodes.
    SplitView,
    /// The log is not consistent with the head this auditor saw before.
    InconsistentWithSaved,
    /// A leaf is an attestation or revocation that was not valid when it
    /// was issued (charter, jurisdiction, expiry, possession proof...).
    InvalidLeaf,
    /// A leaf is an event by another author than the verifier.
    ForeignLeaf,
    /// A leaf is neither an attestation nor a revocation.
    WrongKind,
    /// The same event appears twice in the log.
    DuplicateLeaf,
    /// The leaves do not hash to the latest signed head: a leaf was
    /// changed, dropped or added by the node that showed them.
    RootMismatch,
    /// A leaf was shown without its event.
    MissingEvent,
    /// A leaf's event has another id than the leaf.
    LeafIdMismatch,
    /// A tree head that is not a valid signed head of this verifier.
    InvalidHead,
    /// A cosignature that is not valid for the head it is shown with.
    InvalidCosignature,
    /// The latest head has fewer distinct valid cosigners than the quorum.
    BelowQuorum,
    /// A leaf of a verifier whose charter ended (revoked or lapsed) that no
    /// witness saw before then: no cosignature dated before the end (give
    /// or take the clock skew) covers it, so it may have been made after
    /// the charter ended and dated back.
    UnwitnessedLeaf,
    /// A leaf dated outside the time witnesses first saw a head covering
    /// it: more than the merge window before (dated back), or after (dated
    /// ahead).
    MisdatedLeaf,
    /// A charter or charter revocation that is not valid.
    InvalidCharter,
    /// A node could not be reached, or did not answer as the API says.
    NodeUnreachable,
    /// A node belongs to another network than the one this auditor pinned.
    WrongNetwork,
}

impl FindingCode {
    /// Every code, in the order of the enum.
    pub const ALL: [FindingCode; 20] = [
        FindingCode::InconsistentHistory,
        FindingCode::SameSizeDifferentRoots,
        FindingCode::Rollback,
        FindingCode::SplitView,
        FindingCode::InconsistentWithSaved,
        FindingCode::InvalidLeaf,
        FindingCode::ForeignLeaf,
        FindingCode::WrongKind,
        FindingCode::DuplicateLeaf,
        FindingCode::RootMismatch,
        FindingCode::MissingEvent,
        FindingCode::LeafIdMismatch,
        FindingCode::InvalidHead,
        FindingCode::InvalidCosignature,
        FindingCode::BelowQuorum,
        FindingCode::UnwitnessedLeaf,
        FindingCode::MisdatedLeaf,
        FindingCode::InvalidCharter,
        FindingCode::NodeUnreachable,
        FindingCode::WrongNetwork,
    ];

    /// The stable code.
    pub const fn as_str(self) -> &'static str {
        match self {
            FindingCode::InconsistentHistory => "inconsistent_history",
            FindingCode::SameSizeDifferentRoots => "same_size_different_roots",
            FindingCode::Rollback => "rollback",
            FindingCode::SplitView => "split_view",
            FindingCode::InconsistentWithSaved => "inconsistent_with_saved",
            FindingCode::InvalidLeaf => "invalid_leaf",
            FindingCode::ForeignLeaf => "foreign_leaf",
            FindingCode::WrongKind => "wrong_kind",
            FindingCode::DuplicateLeaf => "duplicate_leaf",
            FindingCode::RootMismatch => "root_mismatch",
            FindingCode::MissingEvent => "missing_event",
            FindingCode::LeafIdMismatch => "leaf_id_mismatch",
            FindingCode::InvalidHead => "invalid_head",
            FindingCode::InvalidCosignature => "invalid_cosignature",
            FindingCode::BelowQuorum => "below_quorum",
            FindingCode::UnwitnessedLeaf => "unwitnessed_leaf",
            FindingCode::MisdatedLeaf => "misdated_leaf",
            FindingCode::InvalidCharter => "invalid_charter",
            FindingCode::NodeUnreachable => "node_unreachable",
            FindingCode::WrongNetwork => "wrong_network",
        }
    }
}

impl std::fmt::Display for FindingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signed tree head, as an audit names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadRef {
    /// The head event's id.
    pub id: EventId,
    /// Leaves it covers.
    pub size: u64,
    /// Their RFC 6962 root, as signed.
    pub root: Digest,
    /// When the verifier signed it.
    pub created_at: Timestamp,
}

/// A head in a finding's evidence, with where it was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenHead {
    /// The node that showed it (`saved` for the auditor's own record).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub node: Option<String>,
    /// The head.
    #[serde(flatten)]
    pub head: HeadRef,
}

/// What shows a finding. Only the fields that apply are set (and
/// serialized); the names are stable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingEvidence {
    /// The node that showed what is wrong.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub node: Option<String>,
    /// The signed heads involved (two for a fork or a split view).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub heads: Vec<SeenHead>,
    /// The tree size at which roots were compared.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub size: Option<u64>,
    /// The root the verifier signed at that size.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub signed_root: Option<Digest>,
    /// The root the leaves shown hash to at that size.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub computed_root: Option<Digest>,
    /// How many leaves the node showed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub leaves_shown: Option<u64>,
    /// The (first) leaf index concerned.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub leaf_index: Option<u64>,
    /// The leaf (event id) concerned.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub leaf: Option<EventId>,
    /// An event concerned that is not the leaf itself (the event a leaf
    /// was shown with, a cosignature, a charter).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub event: Option<EventId>,
    /// The key concerned (an event's author, a cosigner).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key: Option<PublicKey>,
    /// Why validation refused an event: its rejection code.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rejection: Option<String>,
    /// Distinct valid cosigners counted.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cosigners: Option<usize>,
    /// The quorum asked for.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub quorum: Option<usize>,
    /// When the leaf concerned says it was issued.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dated: Option<Timestamp>,
    /// When a witness first saw a head covering the leaf: the earliest
    /// valid cosignature of such a head.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub witnessed_at: Option<Timestamp>,
    /// When the verifier's charter ended (revoked or lapsed).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub charter_ended_at: Option<Timestamp>,
    /// How many more findings like this one were left out of the report.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub more: Option<usize>,
}

/// One thing an audit found wrong, with its evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The stable code.
    pub code: FindingCode,
    /// What it means, for people.
    pub message: String,
    /// What shows it.
    pub evidence: FindingEvidence,
}

impl Finding {
    /// A finding.
    pub fn new(code: FindingCode, message: impl Into<String>, evidence: FindingEvidence) -> Self {
        Self { code, message: message.into(), evidence }
    }
}

/// Findings of one kind beyond this many are counted, not listed: a
/// hostile log must not turn its audit report into millions of lines.
pub const MAX_PER_CODE: usize = 10;

/// Collects findings, keeping at most [`MAX_PER_CODE`] of each code.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    list: Vec<Finding>,
    omitted: std::collections::BTreeMap<FindingCode, usize>,
}

impl Findings {
    pub(crate) fn push(&mut self, finding: Finding) {
        let code = finding.code;
        if self.list.iter().filter(|f| f.code == code).count() < MAX_PER_CODE {
            self.list.push(finding);
        } else {
            *self.omitted.entry(code).or_default() += 1;
        }
    }

    pub(crate) fn extend(&mut self, findings: impl IntoIterator<Item = Finding>) {
        for f in findings {
            self.push(f);
        }
    }

    /// The findings, with one summary per code that overflowed.
    pub(crate) fn into_vec(self) -> Vec<Finding> {
        let mut list = self.list;
        for (code, more) in self.omitted {
            list.push(Finding::new(
                code,
                format!("{more} more {code} finding(s) like the ones above were not listed"),
                FindingEvidence { more: Some(more), ..FindingEvidence::default() },
            ));
        }
        list
    }
}
