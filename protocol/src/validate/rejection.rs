//! Why an event was not accepted: [`Rejection`] (invalid: the sender is at
//! fault), [`Dependency`] (not yet decidable) and [`NotAccepted`] (all
//! outcomes other than acceptance).

use super::Dependency;
use crate::deid::IdentifierKind;
use crate::{EventId, HubId, Jurisdiction, Kind, NetworkId, PublicKey, Timestamp};

/// An event is invalid, for this reason. Each variant has a stable
/// snake_case [`code`](Rejection::code) that the API, logs and metrics use.
///
/// Most rejections are *intrinsic*: given the event and what it names
/// (its parent, poll, target or head), every honest node refuses the same
/// bytes, so a peer that relays one has misbehaved. Some are
/// [*contextual*](Rejection::is_contextual): they depend on trust records
/// that reach nodes at different times (a renewed attestation, a
/// revocation, a charter, a verifier's log), so an honest peer may relay
/// what this node refuses, and must not be penalised for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The encoding is larger than the network allows.
    #[error("the event is {size} bytes; the limit is {limit}")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes do not decode as an event.
    #[error("the event could not be decoded: {detail}")]
    Malformed {
        /// What the decoder said.
        detail: String,
    },
    /// Bytes follow the signature.
    #[error("{count} unexpected bytes follow the signature")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// The bytes decode, but are not the one canonical encoding of what they say.
    #[error("the event is not canonically encoded (re-encoding it gives different bytes)")]
    NonCanonical,
    /// The event's format version is not one this node reads.
    #[error("event version {version} is not supported")]
    UnsupportedVersion {
        /// The version found.
        version: u8,
    },
    /// The event was signed for another network.
    #[error("the event belongs to network {got}, not this network ({expected})")]
    WrongNetwork {
        /// This network.
        expected: NetworkId,
        /// The event's.
        got: NetworkId,
    },
    /// The signature does not verify under the author's key ([`crate::PublicKey::verify`]).
    #[error("the signature does not verify under the author's key")]
    BadSignature,
    /// `created_at` is further in the future than the allowed clock skew.
    #[error("the event is dated {created_at}, more than {max_skew_ms} ms after now ({now})")]
    FutureTimestamp {
        /// The event's time.
        created_at: Timestamp,
        /// The validator's clock.
        now: Timestamp,
        /// The allowed skew.
        max_skew_ms: u64,
    },
    /// `created_at` is further before the event's receipt than the
    /// allowed clock skew: a signer may not date an event into the past,
    /// where its authority might still have held.
    #[error(
        "the event is dated {created_at}, more than {max_skew_ms} ms before it was received \
         ({received_at}); sign it again now"
    )]
    Stale {
        /// The event's time.
        created_at: Timestamp,
        /// When it was first received (by this node, or by the peer that
        /// vouches for it).
        received_at: Timestamp,
        /// The allowed skew.
        max_skew_ms: u64,
    },
    /// Only a genesis root may sign this kind of event.
    #[error("{kind} events must be signed by a root of the network; {author} is not one")]
    NotRoot {
        /// The kind of event.
        kind: Kind,
        /// Its author.
        author: PublicKey,
    },
    /// The node has charters, but none valid at the event's time.
    #[error("node {node} held no valid charter at {at}")]
    NoValidCharter {
        /// The node.
        node: PublicKey,
        /// The event's time.
        at: Timestamp,
    },
    /// The node's charter had been revoked by the event's time.
    #[error("node {node}'s charter {charter} was revoked at {revoked_at}")]
    CharterRevoked {
        /// The node.
        node: PublicKey,
        /// The charter.
        charter: EventId,
        /// When the revocation took effect.
        revoked_at: Timestamp,
    },
    /// The node is chartered, but not to verify physicians at all.
    #[error("node {node} is chartered as a relay, not as a verifier")]
    NotAVerifier {
        /// The node.
        node: PublicKey,
    },
    /// The node is a verifier, but not for this jurisdiction.
    #[error("node {node} is not chartered to verify physicians in {jurisdiction}")]
    JurisdictionNotChartered {
        /// The node.
        node: PublicKey,
        /// The jurisdiction it tried to attest in.
        jurisdiction: Jurisdiction,
    },
    /// The physician has attestations, but none valid at the event's time.
    #[error("{subject} held no valid attestation at {at}")]
    NoValidAttestation {
        /// The physician's key.
        subject: PublicKey,
        /// The event's time.
        at: Timestamp,
    },
    /// The physician's attestation had been revoked by the event's time.
    #[error("{subject}'s attestation {attestation} was revoked at {revoked_at}")]
    AttestationRevoked {
        /// The physician's key.
        subject: PublicKey,
        /// The attestation.
        attestation: EventId,
        /// When the revocation took effect.
        revoked_at: Timestamp,
    },
    /// An attestation's proof of possession was not signed by its subject.
    #[error("the attestation's proof of possession was not signed by its subject {subject}")]
    BadPossessionProof {
        /// The subject.
        subject: PublicKey,
    },
    /// A charter or attestation that expires before it is issued, or a
    /// request signed after the attestation.
    #[error("{what}: {detail}")]
    InvalidValidity {
        /// Charter or attestation.
        what: Kind,
        /// The problem.
        detail: String,
    },
    /// Only charters and attestations can be revoked.
    #[error("{target} is a {kind}; only charters and attestations can be revoked")]
    NotRevocable {
        /// The target.
        target: EventId,
        /// Its kind.
        kind: Kind,
    },
    /// Only the issuer of a charter or attestation, or a root, may revoke it.
    #[error("{author} neither issued {target} nor is a root, so may not revoke it")]
    NotIssuer {
        /// The revocation's author.
        author: PublicKey,
        /// The target.
        target: EventId,
    },
    /// A revocation may not take effect before it was made.
    #[error("the revocation takes effect at {effective_at}, before it was made ({created_at})")]
    RetroactiveRevocation {
        /// When it would take effect.
        effective_at: Timestamp,
        /// When it was made.
        created_at: Timestamp,
    },
    /// A hub with this id is in the genesis.
    #[error("hub {hub} is one of the network's genesis hubs")]
    HubExists {
        /// The hub.
        hub: HubId,
    },
    /// A field breaks a shape rule (empty, too long, duplicates, control characters).
    #[error("{field}: {problem}")]
    InvalidField {
        /// Which field, e.g. `case.presentation`.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// Free text contains what looks like a patient identifier.
    #[error("{field} contains {} (bytes {start}..{end}); remove it and resubmit", kind.describe())]
    IdentifyingText {
        /// Which field.
        field: &'static str,
        /// What kind of identifier.
        kind: IdentifierKind,
        /// Byte offset of the start of the match.
        start: usize,
        /// Byte offset of its end.
        end: usize,
    },
    /// Free text (from rules 2) holds a zero-width or other invisible
    /// format character, which could hide an identifier from the guard.
    #[error("{field} contains an invisible format character at byte {at}; remove it and resubmit")]
    FormatCharacter {
        /// Which field.
        field: &'static str,
        /// Byte offset of the character.
        at: usize,
    },
    /// A rules change names a version this build does not know (or the
    /// first, which every network has from its genesis).
    #[error("rules version {version} is not one this build can put in force")]
    UnknownRules {
        /// The version named.
        version: u16,
    },
    /// A rules change may not take effect before it was made.
    #[error("the rules change takes effect at {effective_at}, before it was made ({created_at})")]
    RetroactiveRules {
        /// When it would take effect.
        effective_at: Timestamp,
        /// When it was made.
        created_at: Timestamp,
    },
    /// Comments reply to posts, cases, polls and comments only.
    #[error("{parent} is a {kind}; comments can reply only to posts, cases, polls and comments")]
    NotThreadable {
        /// The parent.
        parent: EventId,
        /// Its kind.
        kind: Kind,
    },
    /// A reply dated before its parent (beyond the allowed clock skew).
    #[error("the reply is dated {created_at}, before its parent {parent} ({parent_created_at})")]
    ReplyBeforeParent {
        /// The parent.
        parent: EventId,
        /// The parent's time.
        parent_created_at: Timestamp,
        /// The reply's time.
        created_at: Timestamp,
    },
    /// A vote's target is not a poll.
    #[error("{target} is a {kind}, not a poll")]
    NotAPoll {
        /// The target.
        target: EventId,
        /// Its kind.
        kind: Kind,
    },
    /// The vote was cast at or after the poll closed.
    #[error("poll {poll} closed at {closes_at}; the vote is dated {voted_at}")]
    PollClosed {
        /// The poll.
        poll: EventId,
        /// When it closed.
        closes_at: Timestamp,
        /// The vote's time.
        voted_at: Timestamp,
    },
    /// The vote is dated before its poll (beyond the allowed clock skew).
    #[error("poll {poll} was made at {poll_created_at}; the vote is dated {voted_at}, before it")]
    VoteBeforePoll {
        /// The poll.
        poll: EventId,
        /// When the poll was made.
        poll_created_at: Timestamp,
        /// The vote's time.
        voted_at: Timestamp,
    },
    /// The vote names an option the poll does not have.
    #[error("option {option} does not exist; the poll has options 0 to {}", options.saturating_sub(1))]
    NoSuchOption {
        /// The option voted for.
        option: u8,
        /// How many options the poll has.
        options: usize,
    },
    /// The attestation's time to enter its verifier's audit log has passed,
    /// and the verifier's later tree heads do not cover it.
    #[error(
        "attestation {attestation} of {subject} is not in its verifier's audit log: \
         the verifier's tree head received at {checked_through} does not cover it, and it \
         had until {deadline}"
    )]
    AttestationNotLogged {
        /// The physician's key.
        subject: PublicKey,
        /// The attestation.
        attestation: EventId,
        /// When it had to be logged by.
        deadline: Timestamp,
        /// When the latest checked tree head of the verifier was received.
        checked_through: Timestamp,
    },
    /// The attestation's verifier was caught forking its audit log, and the
    /// attestation was issued after the fork.
    #[error(
        "attestation {attestation} of {subject} was issued after its verifier {verifier} \
         forked its audit log (at {forked_at})"
    )]
    VerifierForked {
        /// The physician's key.
        subject: PublicKey,
        /// The attestation.
        attestation: EventId,
        /// The verifier.
        verifier: PublicKey,
        /// When the fork happened.
        forked_at: Timestamp,
    },
    /// A cosignature names an event that is not a tree head.
    #[error("{target} is a {kind}, not a tree head")]
    NotATreeHead {
        /// The event named.
        target: EventId,
        /// Its kind.
        kind: Kind,
    },
    /// A verifier may not witness its own tree head.
    #[error("{verifier} cannot cosign its own tree head {head}")]
    SelfCosignature {
        /// The verifier.
        verifier: PublicKey,
        /// The head.
        head: EventId,
    },
    /// A cosignature's verifier, size or root differ from the head's.
    #[error("the cosignature of {head} says {field} differs from the head's")]
    CosignatureMismatch {
        /// The head.
        head: EventId,
        /// Which of verifier, size, root.
        field: &'static str,
    },
    /// The event was taken back (by its author's retraction) before it
    /// arrived: its content is deleted everywhere and never stored again.
    #[error("event {id} was retracted by {retraction}; it is not stored again")]
    Retracted {
        /// The event.
        id: EventId,
        /// The retraction that took it back.
        retraction: EventId,
    },
    /// An event of a kind the rules in force at its `created_at` do not
    /// have yet (a retraction before rules 2).
    #[error(
        "{kind} events are valid from rules {since}; the rules in force at its time are {rules}"
    )]
    KindNotInForce {
        /// The kind.
        kind: Kind,
        /// The rules version that brings it.
        since: u16,
        /// The rules in force at the event's time.
        rules: u16,
    },
    /// The event was taken down by a moderator before it arrived.
    #[error("event {id} was taken down by a moderator ({takedown}); it is not stored again")]
    TakenDown {
        /// The event.
        id: EventId,
        /// The takedown.
        takedown: EventId,
    },
    /// A takedown by a key no appointment in force makes a moderator of the hub.
    #[error("{moderator} is not a moderator of hub {hub} at the takedown's time")]
    NotModerator {
        /// The takedown's author.
        moderator: PublicKey,
        /// The hub it names.
        hub: HubId,
    },
    /// A retraction names a kind that cannot be taken back.
    #[error(
        "{target} is said to be a {kind}; only posts, cases, comments, polls and votes can be retracted"
    )]
    NotRetractable {
        /// The target.
        target: EventId,
        /// The kind the retraction names.
        kind: Kind,
    },
    /// An outcome, accept or poll answer by someone other than the author
    /// of the case, thread or poll it is about.
    #[error("{target} was written by {owner}; only its author may add a {kind} to it")]
    NotTargetAuthor {
        /// The kind of the event refused.
        kind: Kind,
        /// The case, thread root or poll.
        target: EventId,
        /// Its author.
        owner: PublicKey,
    },
    /// An outcome, accept or poll answer naming an event of the wrong kind.
    #[error("{target} is a {found}; a {kind} names {expected}")]
    WrongTargetKind {
        /// The kind of the event refused.
        kind: Kind,
        /// What it names.
        target: EventId,
        /// What that is.
        found: Kind,
        /// What it must be.
        expected: &'static str,
    },
    /// An accept naming a thread that is not the comment's.
    #[error("comment {comment} is in the thread of {root}, not of {thread}")]
    NotInThread {
        /// The comment.
        comment: EventId,
        /// The thread the accept names.
        thread: EventId,
        /// The comment's thread root.
        root: EventId,
    },
    /// A poll answer made before its poll closed.
    #[error("poll {poll} closes at {closes_at}; its answer is dated {answered_at}")]
    PollStillOpen {
        /// The poll.
        poll: EventId,
        /// When it closes.
        closes_at: Timestamp,
        /// The answer's time.
        answered_at: Timestamp,
    },
    /// The voter is not attested in any specialty the poll is open to.
    #[error(
        "poll {poll} is open only to some specialties, and {voter} is attested in none of them"
    )]
    NotEligible {
        /// The poll.
        poll: EventId,
        /// The voter.
        voter: PublicKey,
    },
    /// The event was replaced by its author's edit before it arrived (rules
    /// 4): its text is deleted everywhere and never stored again.
    #[error("event {id} was replaced by its author's edit {edit}; it is not stored again")]
    Edited {
        /// The event.
        id: EventId,
        /// The edit in force when it was refused.
        edit: EventId,
    },
    /// An edit of an event its author retracted or a moderator took down:
    /// there is no text left to replace.
    #[error("{target} was taken back by {by}; it cannot be edited")]
    TargetTakenBack {
        /// The original the edit names.
        target: EventId,
        /// The retraction or takedown.
        by: EventId,
    },
}

impl Rejection {
    /// Whether the verdict depends on trust records that honest nodes may
    /// not all hold yet (or on the validator's clock), rather than on the
    /// event and what it names. Gossip ignores such events instead of
    /// penalising the peer that sent them; the API still refuses them with
    /// their code.
    pub const fn is_contextual(&self) -> bool {
        matches!(
            self,
            Rejection::FutureTimestamp { .. }
                | Rejection::Stale { .. }
                | Rejection::NoValidCharter { .. }
                | Rejection::CharterRevoked { .. }
                | Rejection::NotAVerifier { .. }
                | Rejection::JurisdictionNotChartered { .. }
                | Rejection::NoValidAttestation { .. }
                | Rejection::AttestationRevoked { .. }
                | Rejection::NotEligible { .. }
                | Rejection::AttestationNotLogged { .. }
                | Rejection::VerifierForked { .. }
                // The guard in force depends on the rules changes a node
                // has heard of: a peer that has not yet heard of one
                // forwards in good faith what the stricter guard refuses.
                | Rejection::IdentifyingText { .. }
                | Rejection::FormatCharacter { .. }
                | Rejection::Retracted { .. }
                | Rejection::KindNotInForce { .. }
                | Rejection::TakenDown { .. }
                | Rejection::NotModerator { .. }
                // Whether an original was edited or taken back depends on
                // what reached a node first.
                | Rejection::Edited { .. }
                | Rejection::TargetTakenBack { .. }
        )
    }
}

/// Declares, from one table of variant and code, [`Rejection::code`],
/// [`Rejection::reason`], [`RejectionCode`] and [`Rejection::CODES`]: a
/// variant without a code does not compile (the match is exhaustive), and
/// the list of codes cannot disagree with the codes given.
macro_rules! rejection_codes {
    ($($variant:ident => $code:literal,)+) => {
        /// A [`Rejection`]'s reason without its details: what a code names.
        /// One variant per variant of [`Rejection`], of the same name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RejectionCode {
            $(
                #[doc = concat!("`", $code, "`: see [`Rejection::", stringify!($variant), "`].")]
                $variant,
            )+
        }

        impl RejectionCode {
            /// Every reason, in the order of [`Rejection`]'s variants.
            pub const ALL: [RejectionCode; [$($code),+].len()] = [$(RejectionCode::$variant),+];

            /// The stable machine code.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(RejectionCode::$variant => $code,)+
                }
            }
        }

        impl Rejection {
            /// Every code, for metrics and documentation, in the order of
            /// the variants.
            pub const CODES: [&'static str; [$($code),+].len()] = [$($code),+];

            /// The reason, without its details.
            pub const fn reason(&self) -> RejectionCode {
                match self {
                    $(Rejection::$variant { .. } => RejectionCode::$variant,)+
                }
            }

            /// The stable machine code.
            pub const fn code(&self) -> &'static str {
                self.reason().as_str()
            }
        }
    };
}

rejection_codes! {
    TooLarge => "too_large",
    Malformed => "malformed",
    TrailingBytes => "trailing_bytes",
    NonCanonical => "non_canonical",
    UnsupportedVersion => "unsupported_version",
    WrongNetwork => "wrong_network",
    BadSignature => "bad_signature",
    FutureTimestamp => "future_timestamp",
    Stale => "stale",
    NotRoot => "not_root",
    NoValidCharter => "no_valid_charter",
    CharterRevoked => "charter_revoked",
    NotAVerifier => "not_a_verifier",
    JurisdictionNotChartered => "jurisdiction_not_chartered",
    NoValidAttestation => "no_valid_attestation",
    AttestationRevoked => "attestation_revoked",
    BadPossessionProof => "bad_possession_proof",
    InvalidValidity => "invalid_validity",
    NotRevocable => "not_revocable",
    NotIssuer => "not_issuer",
    RetroactiveRevocation => "retroactive_revocation",
    HubExists => "hub_exists",
    InvalidField => "invalid_field",
    IdentifyingText => "identifying_text",
    NotThreadable => "not_threadable",
    ReplyBeforeParent => "reply_before_parent",
    NotAPoll => "not_a_poll",
    PollClosed => "poll_closed",
    VoteBeforePoll => "vote_before_poll",
    NoSuchOption => "no_such_option",
    NotEligible => "not_eligible",
    AttestationNotLogged => "attestation_not_logged",
    VerifierForked => "verifier_forked",
    NotATreeHead => "not_a_tree_head",
    SelfCosignature => "self_cosignature",
    CosignatureMismatch => "cosignature_mismatch",
    FormatCharacter => "format_character",
    UnknownRules => "unknown_rules",
    RetroactiveRules => "retroactive_rules",
    Retracted => "retracted",
    NotRetractable => "not_retractable",
    KindNotInForce => "kind_not_in_force",
    TakenDown => "taken_down",
    NotModerator => "not_moderator",
    NotTargetAuthor => "not_target_author",
    WrongTargetKind => "wrong_target_kind",
    NotInThread => "not_in_thread",
    PollStillOpen => "poll_still_open",
    Edited => "edited",
    TargetTakenBack => "target_taken_back",
}

impl std::fmt::Display for RejectionCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Any outcome of validation other than acceptance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAccepted {
    /// Invalid, for good: reject, and penalise a peer that relayed it.
    #[error(transparent)]
    Invalid(#[from] Rejection),
    /// Cannot be decided until the dependency arrives: hold it, fetch the
    /// dependency, try again. Not the sender's fault.
    #[error("waiting for {0}")]
    Missing(Dependency),
    /// Already held. Harmless: ignore.
    #[error("event {0} is already stored")]
    Duplicate(EventId),
}

/// What to tell gossip about a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GossipVerdict {
    /// Valid: deliver and forward.
    Accept,
    /// Harmless but not forwarded now (duplicate or waiting for a dependency).
    Ignore,
    /// Invalid: drop and lower the sender's score.
    Reject,
}

impl NotAccepted {
    /// The stable machine code: the rejection's, `missing_dependency` or `duplicate`.
    pub const fn code(&self) -> &'static str {
        match self {
            NotAccepted::Invalid(r) => r.code(),
            NotAccepted::Missing(_) => "missing_dependency",
            NotAccepted::Duplicate(_) => "duplicate",
        }
    }

    /// How gossip should treat a message with this outcome: reject (and
    /// penalise the sender) only what every honest node would refuse.
    pub const fn gossip_verdict(&self) -> GossipVerdict {
        match self {
            NotAccepted::Invalid(r) if r.is_contextual() => GossipVerdict::Ignore,
            NotAccepted::Invalid(_) => GossipVerdict::Reject,
            NotAccepted::Missing(_) | NotAccepted::Duplicate(_) => GossipVerdict::Ignore,
        }
    }

    /// Whether the peer that sent this has misbehaved (gossip or sync).
    pub const fn blames_sender(&self) -> bool {
        matches!(self.gossip_verdict(), GossipVerdict::Reject)
    }
}
