//! A run of a verifier's tree heads checked on its own: each head's
//! signature and validity, and each cosignature's.

use super::view::Overlay;
use super::{
    Auditor, CosignedHead, Finding, FindingCode, FindingEvidence, HeadBatch, HeadRef, ShownHead,
    head_ref, refusal, seen,
};
use crate::{
    Arrival, Body, EventSummary, Kind, PublicKey, SignatureVerified, SignedEvent, Timestamp,
    verify_batch,
};

impl Auditor {
    /// Checks a run of `verifier`'s heads and their cosignatures: each
    /// head's signature and validity (a chartered verifier's), each
    /// cosignature's (a chartered witness's, of this very head).
    pub fn check_heads(&self, verifier: &PublicKey, heads: Vec<ShownHead>) -> HeadBatch {
        let mut batch = HeadBatch::default();
        let mut events = Vec::with_capacity(heads.len());
        let mut cosigs = Vec::new();
        let mut owner = Vec::new();
        for (i, head) in heads.into_iter().enumerate() {
            events.push(head.event);
            owner.extend(std::iter::repeat_n(i, head.cosignatures.len()));
            cosigs.extend(head.cosignatures);
        }
        let mut valid: Vec<Option<HeadRef>> = Vec::with_capacity(events.len());
        for result in verify_batch(events) {
            valid.push(self.check_head(verifier, result, &mut batch.findings));
        }
        let mut cosigners: Vec<Vec<PublicKey>> = vec![Vec::new(); valid.len()];
        let mut witnessed: Vec<Option<Timestamp>> = vec![None; valid.len()];
        for (result, i) in verify_batch(cosigs).into_iter().zip(owner) {
            let Some(head) = valid[i] else { continue };
            if let Some((key, at)) =
                self.check_cosignature(verifier, &head, result, &mut batch.findings)
            {
                witnessed[i] = Some(witnessed[i].map_or(at, |w| w.min(at)));
                if !cosigners[i].contains(&key) {
                    cosigners[i].push(key);
                }
            }
        }
        for ((head, mut cosigners), witnessed_at) in valid.into_iter().zip(cosigners).zip(witnessed)
        {
            if let Some(head) = head {
                cosigners.sort();
                batch.heads.push(CosignedHead { head, cosigners, witnessed_at });
            }
        }
        batch
    }

    fn check_head(
        &self,
        verifier: &PublicKey,
        result: Result<SignatureVerified, (SignedEvent, crate::Rejection)>,
        findings: &mut Vec<Finding>,
    ) -> Option<HeadRef> {
        let invalid = |event: &SignedEvent, code: &str, why: String| {
            Finding::new(
                FindingCode::InvalidHead,
                format!("tree head {} is not a valid head of this log: {why}", event.id().short()),
                FindingEvidence {
                    event: Some(event.id()),
                    key: Some(*event.author()),
                    rejection: Some(code.to_owned()),
                    ..FindingEvidence::default()
                },
            )
        };
        let event = match result {
            Ok(event) => event,
            Err((event, why)) => {
                findings.push(invalid(&event, why.code(), why.to_string()));
                return None;
            }
        };
        let Some(head) = head_ref(event.event()) else {
            let why = format!("it is a {}", event.event().kind());
            findings.push(invalid(event.event(), "not_a_tree_head", why));
            return None;
        };
        if event.event().author() != verifier {
            let why = format!("it is signed by {}, not by the verifier", event.event().author());
            findings.push(invalid(event.event(), "foreign_head", why));
            return None;
        }
        match event.validate(&self.trust, Arrival::historical(self.now)) {
            Ok(_) => Some(head),
            Err((event, why)) => {
                findings.push(invalid(&event, why.code(), refusal(&why)));
                None
            }
        }
    }

    fn check_cosignature(
        &self,
        verifier: &PublicKey,
        head: &HeadRef,
        result: Result<SignatureVerified, (SignedEvent, crate::Rejection)>,
        findings: &mut Vec<Finding>,
    ) -> Option<(PublicKey, Timestamp)> {
        let invalid = |event: &SignedEvent, code: &str, why: String| {
            Finding::new(
                FindingCode::InvalidCosignature,
                format!(
                    "cosignature {} of head {} does not stand: {why}",
                    event.id().short(),
                    head.id.short()
                ),
                FindingEvidence {
                    heads: vec![seen(None, *head)],
                    event: Some(event.id()),
                    key: Some(*event.author()),
                    rejection: Some(code.to_owned()),
                    ..FindingEvidence::default()
                },
            )
        };
        let event = match result {
            Ok(event) => event,
            Err((event, why)) => {
                findings.push(invalid(&event, why.code(), why.to_string()));
                return None;
            }
        };
        match event.event().body() {
            Body::Cosignature(c) if c.head == head.id => {}
            Body::Cosignature(c) => {
                let why = format!("it cosigns another head ({})", c.head.short());
                findings.push(invalid(event.event(), "other_head", why));
                return None;
            }
            other => {
                let why = format!("it is a {}", other.kind());
                findings.push(invalid(event.event(), "not_a_cosignature", why));
                return None;
            }
        }
        let mut view = Overlay::new(&self.trust);
        view.heads.insert(
            head.id,
            crate::TreeHeadRecord {
                verifier: *verifier,
                size: head.size,
                root: head.root,
                created_at: head.created_at,
            },
        );
        view.summaries.insert(
            head.id,
            EventSummary { kind: Kind::TreeHead, author: *verifier, created_at: head.created_at },
        );
        match event.validate(&view, Arrival::historical(self.now)) {
            Ok(verified) => Some((*verified.author(), verified.created_at())),
            Err((event, why)) => {
                findings.push(invalid(&event, why.code(), refusal(&why)));
                None
            }
        }
    }
}
