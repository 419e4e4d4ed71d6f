//! The rules themselves: who may say what (authority) and what may be said
//! (body rules).

use super::text::{free_text, guard_v2, text};
use super::{
    Arrival, AttestationRecord, Authority, CharterRecord, Dependency, LogEntry, NotAccepted,
    Rejection, TrustView, is_root, physician_content, root_only,
};
use crate::limits;
use crate::rules::RulesChange;
use crate::{
    Attestation, Body, Comment, Cosignature, HubDef, Jurisdiction, Kind, Params, Poll, PublicKey,
    Revocation, SignedEvent, Timestamp, TreeHead, Vote, deid,
};

/// What a node's charter must allow.
enum Need<'a> {
    /// Any charter, relay or verifier (cosignatures: every institution witnesses).
    Member,
    /// Any verifying charter (tree heads).
    Verifier,
    /// Verifying in this jurisdiction (attestations).
    Jurisdiction(&'a Jurisdiction),
}

/// On whose authority `event` would stand, judged at `at` (its
/// `created_at`, or when it was received). A physician's attestation must
/// also stand in its verifier's audit log as of `log_time`: the event's
/// receipt, or for history without one its `created_at`.
pub(super) fn authority(
    event: &SignedEvent,
    view: &impl TrustView,
    at: Timestamp,
    log_time: Option<Timestamp>,
) -> Result<Authority, NotAccepted> {
    let author = event.author();
    let kind = event.kind();
    let log_time = log_time.unwrap_or(event.created_at());
    if root_only(kind) {
        return if is_root(view, author) {
            Ok(Authority::Root)
        } else {
            Err(Rejection::NotRoot { kind, author: *author }.into())
        };
    }
    match event.body() {
        Body::Attestation(a) => chartered(view, author, at, Need::Jurisdiction(&a.jurisdiction)),
        Body::TreeHead(_) => chartered(view, author, at, Need::Verifier),
        Body::Cosignature(_) => chartered(view, author, at, Need::Member),
        Body::Revocation(r) => {
            let target =
                view.summary(&r.target).ok_or(NotAccepted::Missing(Dependency::Event(r.target)))?;
            if !matches!(target.kind, Kind::Charter | Kind::Attestation | Kind::Appointment) {
                return Err(Rejection::NotRevocable { target: r.target, kind: target.kind }.into());
            }
            if is_root(view, author) {
                Ok(Authority::Root)
            } else if target.author == *author {
                Ok(Authority::Issuer)
            } else {
                Err(Rejection::NotIssuer { author: *author, target: r.target }.into())
            }
        }
        body if physician_content(body) => {
            attested(view, author, at, log_time).map(Authority::Physician)
        }
        _ => Err(Rejection::NotRoot { kind, author: *author }.into()),
    }
}

/// Whether `record` (issued, lapsing, revoked as `view` says) held at `at`.
fn in_force(issued_at: Timestamp, valid_until: Timestamp, at: Timestamp) -> bool {
    issued_at <= at && at < valid_until
}

/// The charters of `node` in force at `at` (issued, not lapsed, not
/// revoked by then): never empty. A node uses this to admit peers.
pub fn charters_in_force(
    view: &impl TrustView,
    node: &PublicKey,
    at: Timestamp,
) -> Result<Vec<CharterRecord>, NotAccepted> {
    let charters = view.charters(node);
    if charters.is_empty() {
        return Err(NotAccepted::Missing(Dependency::Charter(*node)));
    }
    let mut revoked = None;
    let valid: Vec<CharterRecord> = charters
        .into_iter()
        .filter(|c| in_force(c.issued_at, c.valid_until, at))
        .filter(|c| match view.revoked_at(&c.id) {
            Some(when) if when <= at => {
                revoked = Some((c.id, when));
                false
            }
            _ => true,
        })
        .collect();
    if valid.is_empty() {
        return Err(match revoked {
            Some((charter, revoked_at)) => {
                Rejection::CharterRevoked { node: *node, charter, revoked_at }
            }
            None => Rejection::NoValidCharter { node: *node, at },
        }
        .into());
    }
    Ok(valid)
}

fn chartered(
    view: &impl TrustView,
    node: &PublicKey,
    at: Timestamp,
    need: Need<'_>,
) -> Result<Authority, NotAccepted> {
    let valid = charters_in_force(view, node, at)?;
    let found = match need {
        Need::Member => valid.first(),
        Need::Verifier => valid.iter().find(|c| !c.verify.is_empty()),
        Need::Jurisdiction(j) => valid.iter().find(|c| c.verify.contains(j)),
    };
    match (found, need) {
        (Some(c), _) => Ok(Authority::Chartered { charter: c.id }),
        (None, Need::Jurisdiction(j)) if valid.iter().any(|c| !c.verify.is_empty()) => {
            Err(Rejection::JurisdictionNotChartered { node: *node, jurisdiction: j.clone() }.into())
        }
        (None, _) => Err(Rejection::NotAVerifier { node: *node }.into()),
    }
}

fn attested(
    view: &impl TrustView,
    subject: &PublicKey,
    at: Timestamp,
    log_time: Timestamp,
) -> Result<AttestationRecord, NotAccepted> {
    let attestations = view.attestations(subject);
    if attestations.is_empty() {
        return Err(NotAccepted::Missing(Dependency::Attestation(*subject)));
    }
    // Why the best candidate that did not count failed, most telling first:
    // a missing log entry can still arrive; the others are final.
    let mut waiting = None;
    let mut refused = None;
    let mut best: Option<AttestationRecord> = None;
    for a in attestations {
        match attestation_standing(view, subject, &a, at, log_time) {
            Ok(()) => {
                if best.as_ref().is_none_or(|b| (a.issued_at, a.id) > (b.issued_at, b.id)) {
                    best = Some(a);
                }
            }
            Err(NotAccepted::Invalid(Rejection::NoValidAttestation { .. })) => {}
            Err(NotAccepted::Invalid(r @ Rejection::AttestationRevoked { .. })) => {
                refused.get_or_insert(r);
            }
            Err(NotAccepted::Invalid(r)) => refused = Some(r),
            Err(NotAccepted::Missing(dep)) => {
                waiting.get_or_insert(dep);
            }
            Err(other) => return Err(other),
        }
    }
    match (best, waiting, refused) {
        (Some(a), _, _) => Ok(a),
        (None, Some(dep), _) => Err(NotAccepted::Missing(dep)),
        (None, None, Some(r)) => Err(r.into()),
        (None, None, None) => Err(Rejection::NoValidAttestation { subject: *subject, at }.into()),
    }
}

/// Whether attestation `a` of `subject` lets them write an event created
/// at `at` and received at `log_time`: within its validity
/// (`no_valid_attestation`), not revoked by then (`attestation_revoked`),
/// and in good standing with its verifier's audit log. What validation
/// asks of each attestation a writer holds, and what a node shows a
/// physician of each of theirs (`log_time` = `at` = now).
pub fn attestation_standing(
    view: &impl TrustView,
    subject: &PublicKey,
    a: &AttestationRecord,
    at: Timestamp,
    log_time: Timestamp,
) -> Result<(), NotAccepted> {
    if !in_force(a.issued_at, a.valid_until, at) {
        return Err(Rejection::NoValidAttestation { subject: *subject, at }.into());
    }
    if let Some(when) = view.revoked_at(&a.id)
        && when <= at
    {
        return Err(Rejection::AttestationRevoked {
            subject: *subject,
            attestation: a.id,
            revoked_at: when,
        }
        .into());
    }
    let window = view.genesis().params.log_merge_window_ms;
    log_standing(view, subject, a, log_time, window)
}

/// Whether attestation `a` may back an event received at `at`, as far as
/// its verifier's audit log goes: not issued after the verifier forked its
/// log, and, once the merge window has passed, covered by a checked tree
/// head. The window opens when the attestation was received (history
/// without a receipt: when it says it was issued), so a verifier cannot
/// reopen it by backdating; an attestation not yet found in the log is
/// waited for until a tree head checked since the window closed proves it
/// was left out.
fn log_standing(
    view: &impl TrustView,
    subject: &PublicKey,
    a: &AttestationRecord,
    at: Timestamp,
    window: u64,
) -> Result<(), NotAccepted> {
    if let Some(forked_at) = view.log_forked_at(&a.issuer)
        && a.issued_at >= forked_at
    {
        return Err(Rejection::VerifierForked {
            subject: *subject,
            attestation: a.id,
            verifier: a.issuer,
            forked_at,
        }
        .into());
    }
    let deadline = a.received_at.unwrap_or(a.issued_at).plus_millis(window);
    if at < deadline {
        return Ok(());
    }
    match view.log_entry(&a.issuer, &a.id) {
        LogEntry::Logged => Ok(()),
        LogEntry::Absent { checked_through: Some(checked) } if checked >= deadline => {
            Err(Rejection::AttestationNotLogged {
                subject: *subject,
                attestation: a.id,
                deadline,
                checked_through: checked,
            }
            .into())
        }
        LogEntry::Absent { .. } => Err(NotAccepted::Missing(Dependency::LogEntry {
            verifier: a.issuer,
            attestation: a.id,
        })),
    }
}

/// The body's own rules, given the authority already established: one
/// function per kind, but for the kinds whose rules are a few limits.
pub(super) fn body(
    event: &SignedEvent,
    view: &impl TrustView,
    authority: &Authority,
    signature: super::Signature,
    arrival: Arrival,
) -> Result<(), NotAccepted> {
    let at = event.created_at();
    let params = view.genesis().params;
    match event.body() {
        Body::Charter(c) => {
            text("charter.institution", &c.institution, 1, limits::NAME)?;
            distinct("charter.verify", &c.verify, limits::JURISDICTIONS)?;
            expires_after(Kind::Charter, at, c.valid_until)?;
            Ok(())
        }
        Body::Attestation(a) => attestation(event, a, signature),
        Body::Revocation(r) => revocation(r, at),
        Body::TreeHead(h) => tree_head(h),
        Body::Cosignature(c) => cosignature(event, c, view),
        Body::Hub(h) => new_hub(h, view),
        Body::Post(p) => post(p, at, view),
        Body::Case(c) => case(c, at, view),
        Body::Comment(c) => comment(c, at, view, params),
        Body::Poll(p) => poll(p, at, view, params),
        Body::Rules(r) => rules_change(r, at),
        Body::Vote(v) => vote(event, v, view, authority, arrival, params),
        Body::Retraction(r) => super::takeback::retraction(r, at, view, params),
        Body::Takedown(t) => super::takeback::takedown(event, t, view, arrival, params),
        Body::Appointment(a) => super::takeback::appointment(a, at, view),
        Body::Outcome(o) => super::afterword::outcome(event, o, view),
        Body::Accept(a) => super::afterword::accept(event, a, view),
        Body::PollAnswer(p) => super::afterword::poll_answer(event, p, view),
        Body::Edit(e) => super::edit::edit(event, e, view, params),
    }
}

/// A post's hub and text, judged by the rules in force at `at` (a post's
/// own time, or an edit's).
pub(super) fn post(
    p: &crate::Post,
    at: Timestamp,
    view: &impl TrustView,
) -> Result<(), NotAccepted> {
    hub(view, &p.hub)?;
    let rules = view.rules_at(at);
    free_text(view, rules, "post.title", &p.title, 1, limits::TITLE)?;
    free_text(view, rules, "post.body", &p.body, 1, limits::TEXT)?;
    Ok(())
}

/// An attestation names a specialty, expires after it is issued, follows
/// its request, and carries the physician's proof of possession.
fn attestation(
    event: &SignedEvent,
    a: &Attestation,
    signature: super::Signature,
) -> Result<(), NotAccepted> {
    let at = event.created_at();
    if a.specialties.is_empty() {
        return Err(invalid("attestation.specialties", "at least one specialty is needed"));
    }
    distinct("attestation.specialties", &a.specialties, limits::SPECIALTIES)?;
    expires_after(Kind::Attestation, at, a.valid_until)?;
    if a.requested_at > at {
        return Err(Rejection::InvalidValidity {
            what: Kind::Attestation,
            detail: format!(
                "the request is dated {}, after the attestation ({at})",
                a.requested_at
            ),
        }
        .into());
    }
    let possessed = match signature {
        super::Signature::AlreadyVerified { possession: Some(verdict) } => verdict,
        _ => a.verify_possession(&event.event().network).is_ok(),
    };
    if !possessed {
        return Err(Rejection::BadPossessionProof { subject: a.subject }.into());
    }
    Ok(())
}

/// A revocation gives a reason and takes effect no earlier than it is made.
fn revocation(r: &Revocation, at: Timestamp) -> Result<(), NotAccepted> {
    text("revocation.reason", &r.reason, 1, limits::REASON)?;
    if r.effective_at < at {
        return Err(Rejection::RetroactiveRevocation {
            effective_at: r.effective_at,
            created_at: at,
        }
        .into());
    }
    Ok(())
}

/// The empty log has one root.
fn tree_head(h: &TreeHead) -> Result<(), NotAccepted> {
    if h.size == 0 && *h.root.as_bytes() != crate::merkle::empty_root() {
        return Err(invalid("tree_head.root", "the empty log's root is SHA-256 of nothing"));
    }
    Ok(())
}

/// A cosignature repeats a stored head of another node, field for field.
fn cosignature(
    event: &SignedEvent,
    c: &Cosignature,
    view: &impl TrustView,
) -> Result<(), NotAccepted> {
    let Some(head) = view.tree_head(&c.head) else {
        return Err(match view.summary(&c.head) {
            Some(s) => Rejection::NotATreeHead { target: c.head, kind: s.kind }.into(),
            None => NotAccepted::Missing(Dependency::Event(c.head)),
        });
    };
    if head.verifier == *event.author() {
        return Err(Rejection::SelfCosignature { verifier: head.verifier, head: c.head }.into());
    }
    let mismatch = if head.verifier != c.verifier {
        Some("verifier")
    } else if head.size != c.size {
        Some("size")
    } else if head.root != c.root {
        Some("root")
    } else {
        None
    };
    if let Some(field) = mismatch {
        return Err(Rejection::CosignatureMismatch { head: c.head, field }.into());
    }
    Ok(())
}

/// A hub has a title and is not one the genesis fixes.
fn new_hub(h: &HubDef, view: &impl TrustView) -> Result<(), NotAccepted> {
    text("hub.title", &h.title, 1, limits::NAME)?;
    // Only a genesis hub is refused: that is fixed for the network.
    // Two Hub events adding one hub are both kept (the first stored
    // names it), so no node's verdict depends on which came first.
    if view.genesis().has_hub(&h.id) {
        return Err(Rejection::HubExists { hub: h.id.clone() }.into());
    }
    Ok(())
}

/// A comment replies to a stored threadable event, and not before it.
pub(super) fn comment(
    c: &Comment,
    at: Timestamp,
    view: &impl TrustView,
    params: Params,
) -> Result<(), NotAccepted> {
    free_text(view, view.rules_at(at), "comment.body", &c.body, 1, limits::TEXT)?;
    let parent =
        view.summary(&c.parent).ok_or(NotAccepted::Missing(Dependency::Event(c.parent)))?;
    if !parent.kind.is_threadable() {
        return Err(Rejection::NotThreadable { parent: c.parent, kind: parent.kind }.into());
    }
    if at.plus_millis(params.max_clock_skew_ms) < parent.created_at {
        return Err(Rejection::ReplyBeforeParent {
            parent: c.parent,
            parent_created_at: parent.created_at,
            created_at: at,
        }
        .into());
    }
    Ok(())
}

/// A poll asks in a hub, offers a sensible set of options, and closes
/// after it opens and within the network's longest poll.
fn poll(p: &Poll, at: Timestamp, view: &impl TrustView, params: Params) -> Result<(), NotAccepted> {
    hub(view, &p.hub)?;
    let rules = view.rules_at(at);
    free_text(view, rules, "poll.question", &p.question, 1, limits::QUESTION)?;
    if !(limits::MIN_OPTIONS..=limits::MAX_OPTIONS).contains(&p.options.len()) {
        return Err(invalid(
            "poll.options",
            format!(
                "a poll has {} to {} options, not {}",
                limits::MIN_OPTIONS,
                limits::MAX_OPTIONS,
                p.options.len()
            ),
        ));
    }
    for option in &p.options {
        free_text(view, rules, "poll.options", option, 1, limits::OPTION)?;
    }
    distinct("poll.options", &p.options, limits::MAX_OPTIONS)?;
    distinct("poll.eligible", &p.eligible, limits::SPECIALTIES)?;
    if p.closes_at <= at || p.closes_at.as_millis() - at.as_millis() > params.max_poll_duration_ms {
        return Err(invalid(
            "poll.closes_at",
            format!(
                "a poll must close after it opens and within {} days",
                params.max_poll_duration_ms / Timestamp::DAY
            ),
        ));
    }
    Ok(())
}

/// A vote answers a stored, open poll, after it opened, with one of its
/// options, by an eligible physician.
fn vote(
    event: &SignedEvent,
    v: &Vote,
    view: &impl TrustView,
    authority: &Authority,
    arrival: Arrival,
    params: Params,
) -> Result<(), NotAccepted> {
    let at = event.created_at();
    if view.tombstone(&v.poll).is_some() {
        // The poll was taken back: a vote on it counts nowhere, and is
        // kept (not refused) so that nodes that took it before the
        // retraction and nodes that take it after agree on what is stored.
        return Ok(());
    }
    let Some(poll) = view.poll(&v.poll) else {
        return Err(match view.summary(&v.poll) {
            Some(s) => Rejection::NotAPoll { target: v.poll, kind: s.kind }.into(),
            None => NotAccepted::Missing(Dependency::Event(v.poll)),
        });
    };
    // A vote cannot come before the poll it answers (history
    // without a receipt keeps the standing it was accepted with).
    if arrival.received_at().is_some() && at.plus_millis(params.max_clock_skew_ms) < poll.created_at
    {
        return Err(Rejection::VoteBeforePoll {
            poll: v.poll,
            poll_created_at: poll.created_at,
            voted_at: at,
        }
        .into());
    }
    if at >= poll.closes_at {
        return Err(Rejection::PollClosed {
            poll: v.poll,
            closes_at: poll.closes_at,
            voted_at: at,
        }
        .into());
    }
    if usize::from(v.option) >= poll.options {
        return Err(Rejection::NoSuchOption { option: v.option, options: poll.options }.into());
    }
    if let Authority::Physician(att) = authority
        && !poll.eligible.is_empty()
        && !att.specialties.iter().any(|s| poll.eligible.contains(s))
    {
        return Err(Rejection::NotEligible { poll: v.poll, voter: *event.author() }.into());
    }
    Ok(())
}

pub(super) fn invalid(field: &'static str, problem: impl Into<String>) -> NotAccepted {
    Rejection::InvalidField { field, problem: problem.into() }.into()
}

pub(super) fn hub(view: &impl TrustView, hub: &crate::HubId) -> Result<(), NotAccepted> {
    if view.hub_exists(hub) {
        Ok(())
    } else {
        Err(NotAccepted::Missing(Dependency::Hub(hub.clone())))
    }
}

pub(super) fn expires_after(
    what: Kind,
    issued: Timestamp,
    valid_until: Timestamp,
) -> Result<(), NotAccepted> {
    if valid_until <= issued {
        return Err(Rejection::InvalidValidity {
            what,
            detail: format!("valid until {valid_until}, which is not after its issue ({issued})"),
        }
        .into());
    }
    Ok(())
}

/// A case's fields. From rules 2 its tags are scanned too (a tag such as
/// `mrn-12345678` is text a person typed).
pub(super) fn case(
    c: &crate::Case,
    at: Timestamp,
    view: &impl TrustView,
) -> Result<(), NotAccepted> {
    hub(view, &c.hub)?;
    let rules = view.rules_at(at);
    free_text(view, rules, "case.title", &c.title, 1, limits::TITLE)?;
    free_text(view, rules, "case.presentation", &c.presentation, 1, limits::TEXT)?;
    free_text(view, rules, "case.history", &c.history, 0, limits::TEXT)?;
    free_text(view, rules, "case.findings", &c.findings, 0, limits::TEXT)?;
    free_text(view, rules, "case.question", &c.question, 1, limits::QUESTION)?;
    distinct("case.tags", &c.tags, limits::TAGS)?;
    if rules.guard() >= 2 {
        for tag in &c.tags {
            guard_v2("case.tags", &deid::v2::tag_text(tag.as_str()))?;
        }
    }
    Ok(())
}

/// A rules change names a version this build knows, above the first, and
/// takes effect no earlier than it was signed (history stays valid).
fn rules_change(r: &RulesChange, at: Timestamp) -> Result<(), NotAccepted> {
    if r.version <= crate::rules::FIRST || r.version > crate::rules::LATEST {
        return Err(Rejection::UnknownRules { version: r.version }.into());
    }
    if r.effective_at < at {
        return Err(
            Rejection::RetroactiveRules { effective_at: r.effective_at, created_at: at }.into()
        );
    }
    Ok(())
}

/// At most `max` items, no two equal.
fn distinct<T: Ord>(field: &'static str, items: &[T], max: usize) -> Result<(), NotAccepted> {
    if items.len() > max {
        return Err(invalid(field, format!("has {} items; the limit is {max}", items.len())));
    }
    let mut sorted: Vec<&T> = items.iter().collect();
    sorted.sort();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(invalid(field, "lists the same item twice"));
    }
    Ok(())
}
