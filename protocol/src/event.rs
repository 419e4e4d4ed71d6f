//! Events: the one envelope for everything said on a network.
//!
//! ```text
//! Event       { version, network, author, created_at, body }
//! SignedEvent { event, signature }            wire: canonical(event) || signature
//! id          = SHA-256("curbside/event/v1" || canonical(event))
//! signature   = ed25519(author, id)
//! ```
//!
//! A [`SignedEvent`] is *unverified*: decoding proves only that the bytes
//! are canonical. [`crate::validate`] is the only way to a [`crate::VerifiedEvent`].

use serde::{Deserialize, Serialize};

use crate::encoding;
use crate::rules::RulesChange;
use crate::{
    Digest, EventId, Handle, HubDef, HubId, Jurisdiction, NetworkId, PublicKey, Signature,
    Specialty, Tag, Timestamp,
};

mod edit;
mod moderation;
mod outcomes;
mod signed;

pub use edit::{Edit, Revision, edit_supersedes};
pub use moderation::{Appointment, Takedown, TakedownReason};
pub use outcomes::{Accept, Outcome, PollAnswer, afterword_supersedes};

pub use signed::{EVENT_ID_DOMAIN, MAX_DECODE_BYTES, SignedEvent};

/// The event format version this crate writes and reads.
pub const EVENT_VERSION: u8 = 1;

/// The signed content of an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Format version ([`EVENT_VERSION`]).
    pub version: u8,
    /// The network this event belongs to; stops replay into another network.
    pub network: NetworkId,
    /// Who signed it.
    pub author: PublicKey,
    /// When the author says it was made. Authority is judged at this time.
    pub created_at: Timestamp,
    /// What it says.
    pub body: Body,
}

/// Everything an event can say.
///
/// New kinds are added at the end: postcard tags enum variants by index, so
/// existing encodings (and ids) never change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// A root charters a node.
    Charter(Charter),
    /// A chartered verifier attests a physician's key.
    Attestation(Attestation),
    /// An issuer (or a root) revokes a charter or an attestation.
    Revocation(Revocation),
    /// A verifier's signed audit-log head.
    TreeHead(TreeHead),
    /// A root adds a hub.
    Hub(HubDef),
    /// A discussion post in a hub.
    Post(Post),
    /// A structured, de-identified patient case in a hub.
    Case(Case),
    /// A reply to a post, case, poll or comment.
    Comment(Comment),
    /// A poll in a hub.
    Poll(Poll),
    /// A physician's vote in a poll.
    Vote(Vote),
    /// A witness's statement that it checked a verifier's tree head.
    Cosignature(Cosignature),
    /// A root raises the network's rules version from a time on
    /// ([`crate::rules`]).
    Rules(RulesChange),
    /// An author takes back their own post, case, comment, poll or vote.
    Retraction(Retraction),
    /// A root appoints a moderator for a hub or for all hubs.
    Appointment(Appointment),
    /// A moderator takes an event down.
    Takedown(Takedown),
    /// A case's author says how it ended (rules 3).
    Outcome(Outcome),
    /// A thread's author marks the reply that helped most (rules 3).
    Accept(Accept),
    /// A poll's author names the option that turned out right (rules 3).
    PollAnswer(PollAnswer),
    /// An author replaces the content of their own post, case or comment
    /// (rules 4).
    Edit(Edit),
}

/// The kind of a [`Body`], without its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// [`Charter`]
    Charter,
    /// [`Attestation`]
    Attestation,
    /// [`Revocation`]
    Revocation,
    /// [`TreeHead`]
    TreeHead,
    /// [`HubDef`]
    Hub,
    /// [`Post`]
    Post,
    /// [`Case`]
    Case,
    /// [`Comment`]
    Comment,
    /// [`Poll`]
    Poll,
    /// [`Vote`]
    Vote,
    /// [`Cosignature`]
    Cosignature,
    /// [`RulesChange`]
    Rules,
    /// [`Retraction`]
    Retraction,
    /// [`Appointment`]
    Appointment,
    /// [`Takedown`]
    Takedown,
    /// [`Outcome`]
    Outcome,
    /// [`Accept`]
    Accept,
    /// [`PollAnswer`]
    PollAnswer,
    /// [`Edit`]
    Edit,
}

impl Kind {
    /// Every kind, in tag order.
    pub const ALL: [Kind; 19] = [
        Kind::Charter,
        Kind::Attestation,
        Kind::Revocation,
        Kind::TreeHead,
        Kind::Hub,
        Kind::Post,
        Kind::Case,
        Kind::Comment,
        Kind::Poll,
        Kind::Vote,
        Kind::Cosignature,
        Kind::Rules,
        Kind::Retraction,
        Kind::Appointment,
        Kind::Takedown,
        Kind::Outcome,
        Kind::Accept,
        Kind::PollAnswer,
        Kind::Edit,
    ];

    /// Stable lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Charter => "charter",
            Kind::Attestation => "attestation",
            Kind::Revocation => "revocation",
            Kind::TreeHead => "tree_head",
            Kind::Hub => "hub",
            Kind::Post => "post",
            Kind::Case => "case",
            Kind::Comment => "comment",
            Kind::Poll => "poll",
            Kind::Vote => "vote",
            Kind::Cosignature => "cosignature",
            Kind::Rules => "rules",
            Kind::Retraction => "retraction",
            Kind::Appointment => "appointment",
            Kind::Takedown => "takedown",
            Kind::Outcome => "outcome",
            Kind::Accept => "accept",
            Kind::PollAnswer => "poll_answer",
            Kind::Edit => "edit",
        }
    }

    /// Trust events shape who may say what; they travel on their own topic
    /// and are synced first.
    pub const fn is_trust(self) -> bool {
        matches!(
            self,
            Kind::Charter
                | Kind::Attestation
                | Kind::Revocation
                | Kind::TreeHead
                | Kind::Hub
                | Kind::Cosignature
                | Kind::Rules
                | Kind::Appointment
        )
    }

    /// Kinds a comment may reply to.
    pub const fn is_threadable(self) -> bool {
        matches!(self, Kind::Post | Kind::Case | Kind::Comment | Kind::Poll)
    }

    /// Kinds an author adds to their own case, thread or poll (rules 3):
    /// at most one of each is in force per target ([`afterword_supersedes`]).
    pub const fn is_afterword(self) -> bool {
        matches!(self, Kind::Outcome | Kind::Accept | Kind::PollAnswer)
    }

    /// Kinds whose content its author can replace (by an [`Edit`], rules
    /// 4). Not a poll: its options were voted on.
    pub const fn is_editable(self) -> bool {
        matches!(self, Kind::Post | Kind::Case | Kind::Comment)
    }

    /// Kinds whose content can be taken back (by a [`Retraction`]).
    pub const fn is_retractable(self) -> bool {
        matches!(self, Kind::Post | Kind::Case | Kind::Comment | Kind::Poll | Kind::Vote)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A root's statement that a node belongs to the network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charter {
    /// The node's key, which is also its libp2p identity.
    pub node: PublicKey,
    /// The institution that runs it ("St Mary's Hospital").
    pub institution: String,
    /// Jurisdictions in which the node may attest physicians; empty for a relay.
    pub verify: Vec<Jurisdiction>,
    /// The charter lapses at this time.
    pub valid_until: Timestamp,
}

/// A verifier's statement that a pseudonymous key belongs to a licensed physician.
///
/// It names no person: the licence is present only as a salted commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    /// The physician's key.
    pub subject: PublicKey,
    /// The pseudonym the physician chose.
    pub handle: Handle,
    /// Specialties the verifier checked.
    pub specialties: Vec<Specialty>,
    /// Where the licence was issued.
    pub jurisdiction: Jurisdiction,
    /// `SHA-256(salt || jurisdiction || licence)`; see [`crate::LicenceOpening`].
    pub licence_commitment: Digest,
    /// The attestation lapses at this time.
    pub valid_until: Timestamp,
    /// When the physician signed the request.
    pub requested_at: Timestamp,
    /// The subject's signature over the request: proof that the holder of the
    /// key asked for it (see [`crate::AttestationRequest`]).
    pub possession: Signature,
}

/// Withdraws a charter or an attestation from a moment on; never before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// The charter or attestation revoked.
    pub target: EventId,
    /// Why, for the audit record.
    pub reason: String,
    /// From when; not earlier than the revocation's own `created_at`.
    pub effective_at: Timestamp,
}

/// A verifier's signed statement of its audit log: `size` leaves with this root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeHead {
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 Merkle tree hash of those leaves.
    pub root: Digest,
}

/// A witness's cosignature of a verifier's tree head: "I checked that this
/// head is consistent with every earlier head of this verifier I have
/// seen". Like C2SP's tlog-cosignature, it repeats what it vouches for
/// (verifier, size, root) so that it reads on its own; validation checks
/// that these match the head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cosignature {
    /// The tree head event cosigned.
    pub head: EventId,
    /// The verifier whose log it is.
    pub verifier: PublicKey,
    /// The head's size.
    pub size: u64,
    /// The head's root.
    pub root: Digest,
}

/// A discussion post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// The hub it is posted in.
    pub hub: HubId,
    /// One line.
    pub title: String,
    /// The text.
    pub body: String,
}

/// A patient's age, only ever as a band; 90 and over is one band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeBand {
    /// Under one year.
    Infant,
    /// 1 to 4 years.
    Age1To4,
    /// 5 to 11 years.
    Age5To11,
    /// 12 to 17 years.
    Age12To17,
    /// 18 to 29 years.
    Age18To29,
    /// 30 to 39 years.
    Age30To39,
    /// 40 to 49 years.
    Age40To49,
    /// 50 to 59 years.
    Age50To59,
    /// 60 to 69 years.
    Age60To69,
    /// 70 to 79 years.
    Age70To79,
    /// 80 to 89 years.
    Age80To89,
    /// 90 years and over.
    Age90Plus,
}

impl AgeBand {
    /// Every band, youngest first.
    pub const ALL: [AgeBand; 12] = [
        AgeBand::Infant,
        AgeBand::Age1To4,
        AgeBand::Age5To11,
        AgeBand::Age12To17,
        AgeBand::Age18To29,
        AgeBand::Age30To39,
        AgeBand::Age40To49,
        AgeBand::Age50To59,
        AgeBand::Age60To69,
        AgeBand::Age70To79,
        AgeBand::Age80To89,
        AgeBand::Age90Plus,
    ];

    /// The band containing an age in whole years.
    pub const fn from_years(years: u32) -> AgeBand {
        match years {
            0 => AgeBand::Infant,
            1..=4 => AgeBand::Age1To4,
            5..=11 => AgeBand::Age5To11,
            12..=17 => AgeBand::Age12To17,
            18..=29 => AgeBand::Age18To29,
            30..=39 => AgeBand::Age30To39,
            40..=49 => AgeBand::Age40To49,
            50..=59 => AgeBand::Age50To59,
            60..=69 => AgeBand::Age60To69,
            70..=79 => AgeBand::Age70To79,
            80..=89 => AgeBand::Age80To89,
            _ => AgeBand::Age90Plus,
        }
    }

    /// The label shown and accepted on the command line: `<1`, `1-4`, ..., `90+`.
    pub const fn label(self) -> &'static str {
        match self {
            AgeBand::Infant => "<1",
            AgeBand::Age1To4 => "1-4",
            AgeBand::Age5To11 => "5-11",
            AgeBand::Age12To17 => "12-17",
            AgeBand::Age18To29 => "18-29",
            AgeBand::Age30To39 => "30-39",
            AgeBand::Age40To49 => "40-49",
            AgeBand::Age50To59 => "50-59",
            AgeBand::Age60To69 => "60-69",
            AgeBand::Age70To79 => "70-79",
            AgeBand::Age80To89 => "80-89",
            AgeBand::Age90Plus => "90+",
        }
    }
}

impl std::str::FromStr for AgeBand {
    type Err = String;
    /// A band label (`40-49`, `90+`) or a whole age in years (`47`).
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some(band) = AgeBand::ALL.iter().find(|b| b.label() == s) {
            return Ok(*band);
        }
        let years = s.parse::<u32>().map_err(|_| {
            format!("{s:?} is not an age band: use a whole age in years or one of <1, 1-4, 5-11, 12-17, 18-29, 30-39, ..., 80-89, 90+")
        })?;
        AgeBand::from_plausible_years(years)
    }
}

impl AgeBand {
    /// The oldest age in years taken as plausible: a larger number is a
    /// typo (or an identifier), refused rather than stored as 90+.
    pub const MAX_PLAUSIBLE_YEARS: u32 = 125;

    /// The band of `years`, refusing an implausible age.
    pub fn from_plausible_years(years: u32) -> Result<AgeBand, String> {
        if years > Self::MAX_PLAUSIBLE_YEARS {
            return Err(format!(
                "age {years} is not a plausible age in years (at most {}): check it; ages over 89 are stored as 90+",
                Self::MAX_PLAUSIBLE_YEARS
            ));
        }
        Ok(AgeBand::from_years(years))
    }
}

/// Sex as relevant to the case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Intersex.
    Intersex,
    /// Not stated.
    Unspecified,
}

impl std::str::FromStr for Sex {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f" | "female" => Ok(Sex::Female),
            "m" | "male" => Ok(Sex::Male),
            "x" | "intersex" => Ok(Sex::Intersex),
            "" | "u" | "unspecified" => Ok(Sex::Unspecified),
            other => Err(format!("{other:?} is not one of female, male, intersex, unspecified")),
        }
    }
}

/// A structured, de-identified patient case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// The hub it is presented in.
    pub hub: HubId,
    /// One line.
    pub title: String,
    /// The patient's age band.
    pub age: AgeBand,
    /// The patient's sex.
    pub sex: Sex,
    /// The presenting complaint.
    pub presentation: String,
    /// Relevant history.
    pub history: String,
    /// Examination and investigation findings.
    pub findings: String,
    /// What the presenting physician asks colleagues.
    pub question: String,
    /// Free tags for search.
    pub tags: Vec<Tag>,
}

/// A reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// The post, case, poll or comment replied to.
    pub parent: EventId,
    /// The text.
    pub body: String,
}

/// A poll.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Poll {
    /// The hub it runs in.
    pub hub: HubId,
    /// The question.
    pub question: String,
    /// 2 to 8 distinct options.
    pub options: Vec<String>,
    /// Votes made at or after this time do not count.
    pub closes_at: Timestamp,
    /// If not empty, only physicians attested in one of these may vote.
    pub eligible: Vec<Specialty>,
}

/// A vote; a later vote by the same key in the same poll replaces it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The poll.
    pub poll: EventId,
    /// Index into the poll's options.
    pub option: u8,
}

/// An author's retraction of their own post, case, comment, poll or vote:
/// every node deletes the target's content and keeps a tombstone.
///
/// It repeats what it says of its target (kind, time, parent), so that a
/// node that never held the target (a new node, after every peer deleted
/// it) can still place the tombstone in its thread, take a vote out of a
/// tally and refuse the target if it ever arrives. Its validity never
/// depends on whether the target is held; its effect does: it applies to
/// a held target only if the target's author, kind and time are the ones
/// it names ([`crate::Tombstone::matches`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retraction {
    /// The event taken back.
    pub target: EventId,
    /// Its kind: post, case, comment, poll or vote.
    pub target_kind: Kind,
    /// Its `created_at`.
    pub target_created_at: Timestamp,
    /// A comment's parent, or a vote's poll; `None` for the other kinds.
    pub parent: Option<EventId>,
    /// Why, optionally (may be empty).
    pub reason: String,
}

impl Retraction {
    /// The retraction of `target`, naming its kind, time and parent as
    /// they are. Given an edit (as a node shows an edited post, case or
    /// comment: by its edit in force), the retraction of the original it
    /// revises: an edit is never retracted itself, and retracting the
    /// original takes its edits with it.
    pub fn of(target: &SignedEvent, reason: impl Into<String>) -> Self {
        if let Body::Edit(e) = target.body() {
            return Self {
                target: e.target,
                target_kind: e.content.kind(),
                target_created_at: e.target_created_at,
                parent: e.content.parent(),
                reason: reason.into(),
            };
        }
        let parent = match target.body() {
            Body::Comment(c) => Some(c.parent),
            Body::Vote(v) => Some(v.poll),
            _ => None,
        };
        Self {
            target: target.id(),
            target_kind: target.kind(),
            target_created_at: target.created_at(),
            parent,
            reason: reason.into(),
        }
    }
}

impl Body {
    /// This body's kind.
    pub const fn kind(&self) -> Kind {
        match self {
            Body::Charter(_) => Kind::Charter,
            Body::Attestation(_) => Kind::Attestation,
            Body::Revocation(_) => Kind::Revocation,
            Body::TreeHead(_) => Kind::TreeHead,
            Body::Hub(_) => Kind::Hub,
            Body::Post(_) => Kind::Post,
            Body::Case(_) => Kind::Case,
            Body::Comment(_) => Kind::Comment,
            Body::Poll(_) => Kind::Poll,
            Body::Vote(_) => Kind::Vote,
            Body::Cosignature(_) => Kind::Cosignature,
            Body::Rules(_) => Kind::Rules,
            Body::Retraction(_) => Kind::Retraction,
            Body::Appointment(_) => Kind::Appointment,
            Body::Takedown(_) => Kind::Takedown,
            Body::Outcome(_) => Kind::Outcome,
            Body::Accept(_) => Kind::Accept,
            Body::PollAnswer(_) => Kind::PollAnswer,
            Body::Edit(_) => Kind::Edit,
        }
    }

    /// The event an outcome, accept or poll answer is about: the case,
    /// the thread's root (not the comment: the mark is one per thread),
    /// or the poll.
    pub fn afterword_target(&self) -> Option<EventId> {
        match self {
            Body::Outcome(o) => Some(o.case),
            Body::Accept(a) => Some(a.thread),
            Body::PollAnswer(p) => Some(p.poll),
            _ => None,
        }
    }

    /// The hub a post, case or poll is in.
    pub fn hub(&self) -> Option<&HubId> {
        match self {
            Body::Post(p) => Some(&p.hub),
            Body::Case(c) => Some(&c.hub),
            Body::Poll(p) => Some(&p.hub),
            _ => None,
        }
    }
}

impl Event {
    /// A version-1 event by `author`.
    pub fn new(network: NetworkId, author: PublicKey, created_at: Timestamp, body: Body) -> Self {
        Self { version: EVENT_VERSION, network, author, created_at, body }
    }

    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encoding::to_vec(self)
    }
}
