//! The regulator's check of a verifier's audit log, pure: what one node
//! showed of one verifier's log — its signed tree heads with their
//! cosignatures, its leaves with their events — judged against the
//! genesis and the charters, and the views of several nodes compared.
//!
//! ```
//! use curbside_protocol::audit::{Auditor, Options, ShownHead, ShownLeaf};
//! use curbside_protocol::{merkle, testkit::{key, Federation}, Body, Digest, TreeHead, TrustView};
//!
//! let mut fed = Federation::new();
//! let charter = fed.charter(&fed.verifier().public(), &["GB"]);
//! let att = fed.attestation(&key("dr-ada"), "dr-ada", &["cardiology"], "GB");
//! let root = merkle::root(&vec![merkle::leaf_hash(att.id().as_bytes())]);
//! let verifier = fed.verifier().clone();
//! let head = fed.sign(&verifier, Body::TreeHead(TreeHead { size: 1, root: Digest::from_bytes(root) }));
//!
//! let auditor = Auditor::new(fed.view().genesis().clone(), vec![charter], fed.now());
//! let report = auditor.audit_log(
//!     "http://127.0.0.1:7420",
//!     &verifier.public(),
//!     1,
//!     vec![ShownHead { event: head, cosignatures: vec![] }],
//!     vec![ShownLeaf { index: 0, id: att.id(), event: Some(att) }],
//!     &Options::default(),
//! );
//! assert!(report.findings.is_empty(), "{:?}", report.findings);
//! assert_eq!((report.size, report.attestations, report.verified), (1, 1, true));
//! ```
//!
//! **What is checked.** Every head's and cosignature's signature and
//! validity, and every leaf's: its event is there, has the leaf's id, is
//! an attestation or revocation by this verifier, and was valid when it
//! was issued — all by the one [`crate::validate`] every node runs, over
//! a [`MemoryTrust`] holding the genesis, the charters and their
//! revocations. Then the leaves against the heads: the latest head's root
//! must be the leaves' root ([`FindingCode::RootMismatch`] otherwise: the
//! node changed, dropped or added a leaf); every earlier head must be a
//! prefix of those leaves ([`FindingCode::InconsistentHistory`]: the
//! verifier rewrote its history); no two heads of one size may differ
//! ([`FindingCode::SameSizeDifferentRoots`]); no head may be smaller than
//! one signed before it ([`FindingCode::Rollback`]); the log must extend
//! the head this auditor saw last time
//! ([`FindingCode::InconsistentWithSaved`]); the latest head must have a
//! quorum of cosigners ([`FindingCode::BelowQuorum`]); no leaf twice
//! ([`FindingCode::DuplicateLeaf`]). Across nodes, [`Auditor::combine`]
//! checks that the latest heads each node shows can all be true of one
//! log ([`FindingCode::SplitView`]); a node that is merely behind is
//! reported, not blamed.
//!
//! **Work.** Checking is dominated by signatures: each leaf's, and for an
//! attestation the subject's proof of possession too. [`Auditor::check_heads`]
//! and [`Auditor::check_leaves`] take any run of heads or leaves and need
//! nothing from the others (signatures go through [`crate::verify_batch`],
//! validity through [`SignatureVerified::validate`]), so a caller may run
//! them on as many threads as it likes; [`Auditor::check_log`] then puts
//! the runs together in order and does the (cheap) rest. No I/O, no clock:
//! `now` is given.

mod findings;
mod heads;
mod judge;
mod leaves;
mod log;
mod view;

use std::collections::HashMap;

use serde::Serialize;

pub use findings::{Finding, FindingCode, FindingEvidence, HeadRef, MAX_PER_CODE, SeenHead};

use crate::merkle::{Hash, MerkleLog};
use crate::{
    Arrival, Body, Digest, EventId, Genesis, Kind, MemoryTrust, NotAccepted, PublicKey,
    SignatureVerified, SignedEvent, Timestamp, verify_batch,
};
use findings::Findings;
use judge::{below_quorum, split_view};

/// A tree head as a node showed it, with the cosignatures it holds of it.
#[derive(Clone, Debug)]
pub struct ShownHead {
    /// The signed head.
    pub event: SignedEvent,
    /// Witnesses' cosignatures of it.
    pub cosignatures: Vec<SignedEvent>,
}

/// A leaf as a node showed it.
#[derive(Clone, Debug)]
pub struct ShownLeaf {
    /// The index the node gave it.
    pub index: u64,
    /// The leaf: the id of an attestation or revocation.
    pub id: EventId,
    /// The event, if the node showed it (and it decoded).
    pub event: Option<SignedEvent>,
}

/// What the auditor brings from earlier runs and asks for.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The head of this verifier the auditor saw last time: the log must
    /// extend it.
    pub previous: Option<HeadRef>,
    /// Distinct valid cosigners the latest head needs.
    pub quorum: Option<usize>,
}

/// A run of heads, checked ([`Auditor::check_heads`]).
#[derive(Clone, Debug, Default)]
pub struct HeadBatch {
    heads: Vec<CosignedHead>,
    findings: Vec<Finding>,
}

/// A valid head with what its cosignatures showed: a name distinct from
/// the node store's `CheckedHead`, a head checked against the leaves it holds.
#[derive(Clone, Debug)]
struct CosignedHead {
    head: HeadRef,
    /// Distinct authors of valid cosignatures.
    cosigners: Vec<PublicKey>,
    /// When a witness first saw it: the earliest valid cosignature.
    witnessed_at: Option<Timestamp>,
}

/// A run of leaves, checked as far as each can be on its own
/// ([`Auditor::check_leaves`]).
#[derive(Clone, Debug, Default)]
pub struct LeafBatch {
    leaves: Vec<CheckedLeaf>,
    findings: Vec<Finding>,
}

#[derive(Clone, Debug)]
struct CheckedLeaf {
    index: u64,
    id: EventId,
    hash: Hash,
    verdict: Verdict,
}

#[derive(Clone, Debug)]
enum Verdict {
    /// A valid attestation, issued at this time.
    Attestation(Timestamp),
    /// A revocation with a good signature: its validity depends on what
    /// came before it in the log, so it is decided in order.
    Revocation(Box<SignatureVerified>),
    /// Not a valid entry (a finding says why).
    Bad,
}

/// Everything one node showed of one verifier's log, checked in runs.
#[derive(Clone, Debug)]
pub struct ShownLog {
    /// The node (its URL), for the evidence.
    pub node: String,
    /// Whose log.
    pub verifier: PublicKey,
    /// How many leaves the node says it holds.
    pub size: u64,
    /// Its heads, in runs.
    pub heads: Vec<HeadBatch>,
    /// Its leaves, in runs, in log order.
    pub leaves: Vec<LeafBatch>,
}

/// What one node showed of one verifier's log, judged.
#[derive(Clone, Debug, Serialize)]
pub struct LogReport {
    /// The node.
    pub node: String,
    /// Whose log.
    pub verifier: PublicKey,
    /// Leaves the latest head covers.
    pub size: u64,
    /// Leaves the node showed.
    pub leaves_shown: u64,
    /// Valid heads the node showed.
    pub heads: usize,
    /// The latest head within the leaves the node holds.
    pub latest: Option<HeadRef>,
    /// Whether the leaves hash to the latest head's root.
    pub verified: bool,
    /// Valid heads larger than the leaves the node holds (its witness has
    /// not fetched their leaves yet): reported, not judged.
    pub pending_heads: usize,
    /// Leaves beyond the latest head (no signed head covers them).
    pub unsigned_leaves: u64,
    /// Distinct valid cosigners of the latest head.
    pub cosigners: Vec<PublicKey>,
    /// Valid attestations the latest head covers.
    pub attestations: u64,
    /// Valid revocations the latest head covers.
    pub revocations: u64,
    /// What is wrong.
    pub findings: Vec<Finding>,
    /// The leaves' tree, to compare other nodes' heads with.
    #[serde(skip)]
    tree: MerkleLog,
}

impl LogReport {
    /// The root of the first `size` leaves this node showed.
    pub fn root_at(&self, size: u64) -> Option<Digest> {
        self.tree.root_at(size).map(Digest::from_bytes)
    }
}

/// How one node's view of a log stands against the others'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Shows the latest head, and it checks.
    Agrees,
    /// Shows a smaller log that is a prefix of the latest one (or none).
    Behind,
    /// Shows a head that cannot be true of the same log as another node's.
    Split,
    /// Its own view has findings.
    Faulty,
}

/// One node in a [`VerifierReport`].
#[derive(Clone, Debug, Serialize)]
pub struct NodeStanding {
    /// The node.
    pub node: String,
    /// Leaves its latest head covers.
    pub size: u64,
    /// Its latest head.
    pub latest: Option<HeadRef>,
    /// How it stands.
    pub standing: Standing,
}

/// One verifier's log as every node showed it, compared.
#[derive(Clone, Debug, Serialize)]
pub struct VerifierReport {
    /// The verifier.
    pub verifier: PublicKey,
    /// Its institution, from its charter.
    pub institution: Option<String>,
    /// Leaves of the latest head any node showed that checks.
    pub size: u64,
    /// Valid heads that node showed.
    pub heads: usize,
    /// That head.
    pub latest: Option<HeadRef>,
    /// Distinct valid cosigners of it, over every node.
    pub cosigners: Vec<PublicKey>,
    /// The quorum asked for.
    pub quorum: Option<usize>,
    /// Valid attestations it covers.
    pub attestations: u64,
    /// Valid revocations it covers.
    pub revocations: u64,
    /// Each node's view.
    pub nodes: Vec<NodeStanding>,
    /// What is wrong, over every node.
    pub findings: Vec<Finding>,
}

/// Checks verifiers' logs against a genesis and its charters, at `now`.
#[derive(Debug)]
pub struct Auditor {
    trust: MemoryTrust,
    now: Timestamp,
    institutions: HashMap<PublicKey, (Timestamp, String)>,
    findings: Vec<Finding>,
}

fn head_ref(event: &SignedEvent) -> Option<HeadRef> {
    match event.body() {
        Body::TreeHead(h) => Some(HeadRef {
            id: event.id(),
            size: h.size,
            root: h.root,
            created_at: event.created_at(),
        }),
        _ => None,
    }
}

fn digest(hash: Hash) -> Digest {
    Digest::from_bytes(hash)
}

fn seen(node: Option<&str>, head: HeadRef) -> SeenHead {
    SeenHead { node: node.map(str::to_owned), head }
}

/// A refusal's message, saying what a missing dependency means here.
fn refusal(e: &NotAccepted) -> String {
    match e {
        NotAccepted::Missing(dep) => format!("it needs {dep}, which no node showed"),
        other => other.to_string(),
    }
}

impl Auditor {
    /// An auditor of the network `genesis` founds, trusting the charters
    /// and charter revocations in `trust` that are valid (the others are
    /// [`Auditor::findings`]).
    pub fn new(genesis: Genesis, trust: Vec<SignedEvent>, now: Timestamp) -> Self {
        let mut auditor = Self {
            trust: MemoryTrust::new(genesis),
            now,
            institutions: HashMap::new(),
            findings: Vec::new(),
        };
        // Charters first: revocations name them.
        let (mut first, mut then): (Vec<_>, Vec<_>) =
            trust.into_iter().partition(|e| e.kind() == Kind::Charter);
        first.sort_by_key(|e| (e.created_at(), e.id()));
        then.sort_by_key(|e| (e.created_at(), e.id()));
        for result in verify_batch(first.into_iter().chain(then).collect()) {
            let event = match result {
                Ok(verified) => verified,
                Err((event, why)) => {
                    auditor.charter_finding(&event, why.code(), why.to_string());
                    continue;
                }
            };
            if !matches!(event.event().kind(), Kind::Charter | Kind::Revocation) {
                let (event, kind) = (event.event().clone(), event.event().kind());
                auditor.charter_finding(&event, "not_a_charter", format!("it is a {kind}"));
                continue;
            }
            match event.validate(&auditor.trust, Arrival::historical(now)) {
                Ok(verified) => {
                    if let Body::Charter(c) = verified.body() {
                        let at = verified.created_at();
                        let slot = auditor
                            .institutions
                            .entry(c.node)
                            .or_insert((at, c.institution.clone()));
                        if at >= slot.0 {
                            *slot = (at, c.institution.clone());
                        }
                    }
                    auditor.trust.insert(&verified);
                }
                // The same charter from several nodes.
                Err((_, NotAccepted::Duplicate(_))) => {}
                Err((event, why)) => auditor.charter_finding(&event, why.code(), refusal(&why)),
            }
        }
        auditor
    }

    fn charter_finding(&mut self, event: &SignedEvent, code: &str, why: String) {
        self.findings.push(Finding::new(
            FindingCode::InvalidCharter,
            format!("{} {} does not stand: {why}", event.kind(), event.id().short()),
            FindingEvidence {
                event: Some(event.id()),
                key: Some(*event.author()),
                rejection: Some(code.to_owned()),
                ..FindingEvidence::default()
            },
        ));
    }

    /// What was wrong with the charters and revocations given.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        crate::TrustView::genesis(&self.trust)
    }

    /// The institution named by `node`'s latest valid charter.
    pub fn institution(&self, node: &PublicKey) -> Option<&str> {
        self.institutions.get(node).map(|(_, name)| name.as_str())
    }

    /// When `verifier`'s authority to attest ended, if it has by `now`: the
    /// latest time any of its verifying charters was in force (lapsed, or
    /// revoked earlier). `None` while one is in force, or if it has none.
    pub fn charter_ended_at(&self, verifier: &PublicKey) -> Option<Timestamp> {
        use crate::TrustView;
        let ended = self
            .trust
            .charters(verifier)
            .iter()
            .filter(|c| !c.verify.is_empty())
            .map(|c| match self.trust.revoked_at(&c.id) {
                Some(revoked) => revoked.min(c.valid_until),
                None => c.valid_until,
            })
            .max()?;
        (ended <= self.now).then_some(ended)
    }

    /// Keys with a valid charter, in key order.
    pub fn chartered(&self) -> Vec<PublicKey> {
        let mut keys: Vec<PublicKey> = self.institutions.keys().copied().collect();
        keys.sort();
        keys
    }

    /// [`Auditor::check_heads`], [`Auditor::check_leaves`] and
    /// [`Auditor::check_log`] in one go, on this thread.
    pub fn audit_log(
        &self,
        node: &str,
        verifier: &PublicKey,
        size: u64,
        heads: Vec<ShownHead>,
        leaves: Vec<ShownLeaf>,
        options: &Options,
    ) -> LogReport {
        let heads = vec![self.check_heads(verifier, heads)];
        let leaves = vec![self.check_leaves(verifier, leaves)];
        let log = ShownLog { node: node.to_owned(), verifier: *verifier, size, heads, leaves };
        self.check_log(log, options)
    }

    /// Compares what several nodes showed of `verifier`'s log: their latest
    /// heads must all be true of one log (same size, same root; a smaller
    /// one a prefix of a larger node's leaves), and the latest head that
    /// checks needs `quorum` distinct cosigners over all nodes.
    pub fn combine(
        &self,
        verifier: &PublicKey,
        reports: Vec<LogReport>,
        quorum: Option<usize>,
    ) -> VerifierReport {
        let mut findings = Findings::default();
        let best = reports
            .iter()
            .filter(|r| r.latest.is_some())
            .max_by_key(|r| {
                let l = r.latest.map(|l| (l.size, l.created_at, l.id));
                (r.verified, l)
            })
            .cloned();
        let mut split = vec![false; reports.len()];
        for i in 0..reports.len() {
            for j in i + 1..reports.len() {
                if let Some(finding) = split_view(&reports[i], &reports[j]) {
                    split[i] = true;
                    split[j] = true;
                    findings.push(finding);
                }
            }
        }
        let best_head = best.as_ref().and_then(|b| b.latest);
        let mut cosigners: Vec<PublicKey> = Vec::new();
        let mut nodes = Vec::new();
        for (report, split) in reports.iter().zip(split) {
            let standing = if split {
                Standing::Split
            } else if !report.findings.is_empty() {
                Standing::Faulty
            } else if report.latest.is_some()
                && report.latest.map(|l| (l.size, l.root)) == best_head.map(|l| (l.size, l.root))
            {
                Standing::Agrees
            } else {
                Standing::Behind
            };
            if report.latest.map(|l| l.id) == best_head.map(|l| l.id) {
                cosigners.extend(report.cosigners.iter().copied());
            }
            nodes.push(NodeStanding {
                node: report.node.clone(),
                size: report.size,
                latest: report.latest,
                standing,
            });
        }
        cosigners.sort();
        cosigners.dedup();
        if let (Some(q), Some(head)) = (quorum, best_head) {
            findings.extend(below_quorum(None, &head, cosigners.len(), q));
        }
        let mut all = Findings::default();
        for report in &reports {
            all.extend(report.findings.iter().cloned());
        }
        all.extend(findings.into_vec());
        VerifierReport {
            verifier: *verifier,
            institution: self.institution(verifier).map(str::to_owned),
            size: best.as_ref().map_or(0, |b| b.size),
            heads: best.as_ref().map_or(0, |b| b.heads),
            latest: best_head,
            cosigners,
            quorum,
            attestations: best.as_ref().map_or(0, |b| b.attestations),
            revocations: best.as_ref().map_or(0, |b| b.revocations),
            nodes,
            findings: all.into_vec(),
        }
    }
}

#[cfg(test)]
mod tests;
