//! The API's request and answer types that the handlers and the command
//! line's client share, so the client cannot drift from the node: what it
//! decodes is what the node encodes, with the same [`Code`]s.
//!
//! Fields are declared in alphabetical order: the answers have always
//! been written with their keys sorted, and the bytes stay the same.

use curbside_protocol::{EventId, HubId, Kind, NetworkId, PublicKey, Timestamp};
use serde::{Deserialize, Serialize};

use crate::codes::Code;
use crate::outcome::{Outcome, Refusal};

/// `POST /v1/events`: signed events, each base64url of its wire bytes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Submit {
    /// The events, at most 1,024.
    pub events: Vec<String>,
}

/// An error answer: `{"code", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorAnswer {
    /// The stable code.
    pub code: Code,
    /// For people.
    pub message: String,
}

/// `GET /v1/status`: the node's network, key, version and counts, and
/// whether its store takes writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusAnswer {
    /// `store_failed` when the store failed (the answer is then a 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
    /// Events stored.
    pub events: u64,
    /// Why the store failed, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The network id.
    pub network: NetworkId,
    /// Its name, from the genesis.
    pub network_name: String,
    /// The node's own key.
    pub node_key: PublicKey,
    /// The charter in force for this node (the latest to end), if any:
    /// without one, peers refuse it and it may attest no one.
    pub charter: Option<CharterStatus>,
    /// Events held waiting for what they depend on.
    pub pending: u64,
    /// `ok`, or `failed` (the store takes no writes; the node is stopping).
    pub store: StoreHealth,
    /// The node's software version.
    pub version: String,
}

/// A node's charter, as `node status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharterStatus {
    /// The charter event.
    pub id: EventId,
    /// The institution it names.
    pub institution: String,
    /// Where the node may attest (none: a relay).
    pub verify: Vec<curbside_protocol::Jurisdiction>,
    /// When it ends.
    pub valid_until: Timestamp,
}

/// Whether a node's store takes writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreHealth {
    /// It does.
    Ok,
    /// A write failed; it takes none until the node is restarted.
    Failed,
}

/// `GET /v1/pending`: the caller's own events held at this node, and
/// those dropped in the last week because what they waited for never came.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingAnswer {
    /// Dropped in the last week, at most 100.
    pub expired: Vec<ExpiredEvent>,
    /// Whose events these are (the session's key).
    pub key: PublicKey,
    /// Still held, at most 100.
    pub waiting: Vec<WaitingEvent>,
}

/// One of the caller's events held here.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WaitingEvent {
    /// When it is dropped unless what it waits for arrives.
    pub expires_at: Timestamp,
    /// When this node began to hold it.
    pub held_at: Timestamp,
    /// The event.
    pub id: EventId,
    /// Its kind.
    pub kind: Kind,
    /// When it was first received (`None` if a peer served it as history
    /// from before receipts were kept).
    pub received_at: Option<Timestamp>,
    /// What it waits for, for people.
    pub waiting_for: String,
}

/// One of the caller's events dropped because what it waited for never came.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpiredEvent {
    /// When it was dropped.
    pub expired_at: Timestamp,
    /// When this node began to hold it.
    pub held_at: Timestamp,
    /// The event.
    pub id: EventId,
    /// Its kind.
    pub kind: Kind,
    /// What it waited for, for people.
    pub waiting_for: String,
}

/// One event's outcome as `POST /v1/events` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "OutcomeFields", try_from = "OutcomeFields")]
pub enum EventOutcome {
    /// Stored and durable.
    Stored {
        /// The event id.
        id: EventId,
    },
    /// Stored before; nothing changed.
    Duplicate {
        /// The event id.
        id: EventId,
    },
    /// Held until what it needs arrives (code `missing_dependency`).
    Pending {
        /// The event id.
        id: EventId,
        /// What it waits for, for people.
        waiting_for: String,
        /// What it waits for and how long it is held.
        message: String,
    },
    /// Refused.
    Rejected {
        /// The event id; none for bytes that do not decode as an event.
        id: Option<EventId>,
        /// Why.
        code: Code,
        /// Why, for people.
        message: String,
    },
}

impl EventOutcome {
    /// The answer for an outcome of ingest; a pending event is held at most
    /// `max_age_secs`.
    pub fn answer(outcome: &Outcome, max_age_secs: u64) -> Self {
        match outcome {
            Outcome::Stored { id } => EventOutcome::Stored { id: *id },
            Outcome::Duplicate { id } => EventOutcome::Duplicate { id: *id },
            Outcome::Pending { id, dependency } => EventOutcome::Pending {
                id: *id,
                waiting_for: dependency.to_string(),
                message: format!(
                    "held here until {dependency} arrives; if it has not within {} minutes the \
                     event is dropped (see GET /v1/pending, `curbside pending`)",
                    max_age_secs / 60
                ),
            },
            Outcome::Rejected { id, refusal } => EventOutcome::refused(Some(*id), refusal),
        }
    }

    /// The answer for an event refused (before or in ingest).
    pub fn refused(id: Option<EventId>, refusal: &Refusal) -> Self {
        EventOutcome::Rejected { id, code: refusal.code(), message: refusal.to_string() }
    }

    /// The event's id, if it decoded.
    pub fn id(&self) -> Option<EventId> {
        match self {
            EventOutcome::Stored { id }
            | EventOutcome::Duplicate { id }
            | EventOutcome::Pending { id, .. } => Some(*id),
            EventOutcome::Rejected { id, .. } => *id,
        }
    }

    /// `stored`, `duplicate`, `pending` or `rejected`, as the answer says.
    pub fn status(&self) -> &'static str {
        match self {
            EventOutcome::Stored { .. } => "stored",
            EventOutcome::Duplicate { .. } => "duplicate",
            EventOutcome::Pending { .. } => "pending",
            EventOutcome::Rejected { .. } => "rejected",
        }
    }

    /// The code: a refusal's, or `missing_dependency` for a pending event.
    pub fn code(&self) -> Option<Code> {
        match self {
            EventOutcome::Pending { .. } => Some(Code::MissingDependency),
            EventOutcome::Rejected { code, .. } => Some(*code),
            EventOutcome::Stored { .. } | EventOutcome::Duplicate { .. } => None,
        }
    }

    /// The message for people, for pending and refused events.
    pub fn message(&self) -> Option<&str> {
        match self {
            EventOutcome::Pending { message, .. } | EventOutcome::Rejected { message, .. } => {
                Some(message)
            }
            EventOutcome::Stored { .. } | EventOutcome::Duplicate { .. } => None,
        }
    }
}

/// The status of one outcome on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OutcomeStatus {
    Stored,
    Duplicate,
    Pending,
    Rejected,
}

/// An outcome's JSON object: every field an outcome may have, in key order.
#[derive(Serialize, Deserialize)]
struct OutcomeFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<EventId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    status: OutcomeStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    waiting_for: Option<String>,
}

impl From<EventOutcome> for OutcomeFields {
    fn from(o: EventOutcome) -> Self {
        let blank =
            |status, id| OutcomeFields { code: None, id, message: None, status, waiting_for: None };
        match o {
            EventOutcome::Stored { id } => blank(OutcomeStatus::Stored, Some(id)),
            EventOutcome::Duplicate { id } => blank(OutcomeStatus::Duplicate, Some(id)),
            EventOutcome::Pending { id, waiting_for, message } => OutcomeFields {
                code: Some(Code::MissingDependency),
                id: Some(id),
                message: Some(message),
                status: OutcomeStatus::Pending,
                waiting_for: Some(waiting_for),
            },
            EventOutcome::Rejected { id, code, message } => OutcomeFields {
                code: Some(code),
                message: Some(message),
                ..blank(OutcomeStatus::Rejected, id)
            },
        }
    }
}

impl TryFrom<OutcomeFields> for EventOutcome {
    type Error = String;

    fn try_from(f: OutcomeFields) -> Result<Self, String> {
        let id = || f.id.ok_or_else(|| format!("a {:?} outcome without an id", f.status));
        Ok(match f.status {
            OutcomeStatus::Stored => EventOutcome::Stored { id: id()? },
            OutcomeStatus::Duplicate => EventOutcome::Duplicate { id: id()? },
            OutcomeStatus::Pending => EventOutcome::Pending {
                id: id()?,
                waiting_for: f.waiting_for.unwrap_or_else(|| "what it needs".into()),
                message: f.message.unwrap_or_default(),
            },
            OutcomeStatus::Rejected => EventOutcome::Rejected {
                id: f.id,
                code: f.code.ok_or("a rejected outcome without a code")?,
                message: f.message.unwrap_or_else(|| "the node refused it".into()),
            },
        })
    }
}

/// The answer to `POST /v1/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitAnswer {
    /// The first refusal's code, if any event was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
    /// The first refusal's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// One per event, in order.
    pub outcomes: Vec<EventOutcome>,
}

impl SubmitAnswer {
    /// The answer for these outcomes: with the first refusal's code and
    /// message, if there is one.
    pub fn new(outcomes: Vec<EventOutcome>) -> Self {
        let first = outcomes.iter().find_map(|o| match o {
            EventOutcome::Rejected { code, message, .. } => Some((*code, message.clone())),
            _ => None,
        });
        let (code, message) = first.map_or((None, None), |(c, m)| (Some(c), Some(m)));
        Self { code, message, outcomes }
    }

    /// The HTTP status: the first refusal's code's, else 202 if any event
    /// is held, else 200.
    pub fn http_status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        if let Some(code) = self.code {
            return code.http_status().unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
        }
        if self.outcomes.iter().any(|o| matches!(o, EventOutcome::Pending { .. })) {
            StatusCode::ACCEPTED
        } else {
            StatusCode::OK
        }
    }
}

/// `GET /v1/hubs`: the network's hubs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubsAnswer {
    /// In id order.
    pub hubs: Vec<Hub>,
}

/// A hub, and how lately anything was written in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hub {
    /// Its id (`cardiology`).
    pub id: HubId,
    /// When its newest post, case or poll was made (`None`: it has none).
    pub latest: Option<Timestamp>,
    /// Its title, for people.
    pub title: String,
}

/// The fewest hex digits `GET /v1/ids/{prefix}` takes. 8 digits are 32
/// bits: a prefix that names one event among the network's stays so until
/// it holds tens of thousands of events whose ids share it by chance, and
/// a refused ambiguous one then lists what it could mean.
pub const MIN_ID_PREFIX: usize = 8;

/// The most events an `ambiguous_id` answer lists.
pub const MAX_ID_CANDIDATES: usize = 10;

/// `GET /v1/ids/{prefix}`: a stored event whose id starts with `prefix`
/// (the answer when it is the only one, and each of the candidates when
/// it is not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMatch {
    /// When it was made.
    pub created_at: Timestamp,
    /// Its whole id.
    pub id: EventId,
    /// Its kind.
    pub kind: Kind,
    /// What it is, in one line for people: a title, a question, a
    /// comment's first line (at most 80 characters).
    pub title: String,
}

/// `GET /v1/ids/{prefix}` when more than one stored event's id starts
/// with `prefix`: `409 ambiguous_id`, with the error's code and message
/// and the events it could mean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmbiguousIdAnswer {
    /// The first [`MAX_ID_CANDIDATES`] in id order.
    pub candidates: Vec<IdMatch>,
    /// `ambiguous_id`.
    pub code: Code,
    /// For people.
    pub message: String,
    /// Whether more events than listed start with the prefix.
    pub more: bool,
}

#[cfg(test)]
mod tests {
    use curbside_protocol::{Dependency, Rejection};

    use super::*;

    /// From rules 4 the check answers as validation judges: a physician's
    /// handle is a mention, a handle nobody holds a `social_handle`;
    /// before, both are `social_handle`s, as they always were.
    #[test]
    fn the_check_answers_mentions_as_the_rules_in_force_judge_them() {
        use curbside_protocol::rules::RuleSet;
        let text = "@dr-okafor: her sister posts at @eleanor_w";
        let physician = |h: &curbside_protocol::Handle| h.as_str() == "dr-okafor";
        let kinds = |a: &CheckAnswer| {
            a.findings.iter().map(|f| (f.kind.clone(), f.excerpt.clone())).collect::<Vec<_>>()
        };
        let at_4 = CheckAnswer::at_rules(text, RuleSet::V4, physician);
        assert_eq!(kinds(&at_4), [("social_handle".to_owned(), "@eleanor_w".to_owned())]);
        assert_eq!(at_4.mentions.len(), 1);
        assert_eq!(
            (at_4.mentions[0].kind.as_str(), at_4.mentions[0].excerpt.as_str()),
            ("mention", "@dr-okafor")
        );
        assert_eq!(at_4.rules, Some(4));
        let at_3 = CheckAnswer::at_rules(text, RuleSet::V3, physician);
        assert_eq!(at_3, CheckAnswer::of(text, Some(3)));
        assert_eq!(at_3.findings.len(), 2);
        assert!(!serde_json::to_string(&at_3).unwrap().contains("mentions"), "absent when empty");
        let json = serde_json::to_string(&at_4).unwrap();
        assert_eq!(json, serde_json::to_value(&at_4).unwrap().to_string(), "keys sorted");
    }

    /// The bytes the API has always answered: keys sorted, as
    /// `serde_json::Value` wrote them.
    #[test]
    fn outcomes_keep_their_json() {
        let id = EventId::from_bytes([7; 32]);
        let pending = EventOutcome::answer(
            &Outcome::Pending { id, dependency: Dependency::Event(EventId::from_bytes([8; 32])) },
            900,
        );
        let refused = EventOutcome::refused(None, &Refusal::Invalid(Rejection::BadSignature));
        let answer = SubmitAnswer::new(vec![EventOutcome::Stored { id }, pending, refused]);
        let text = serde_json::to_string(&answer).unwrap();
        let sorted = serde_json::to_value(&answer).unwrap().to_string();
        assert_eq!(text, sorted);
        assert!(text.starts_with(r#"{"code":"bad_signature","message":"#), "{text}");
        assert!(text.contains(r#"{"code":"missing_dependency","id":"#), "{text}");
        assert_eq!(serde_json::from_str::<SubmitAnswer>(&text).unwrap(), answer);
        assert_eq!(answer.http_status().as_u16(), 422);
    }
}

/// `POST /v1/check`: text to run the content guard over, before signing.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// The text, at most [`curbside_protocol::limits::TEXT`] bytes.
    pub text: String,
}

/// What the content guard (v2) found in a text: the answer of `POST
/// /v1/check` and of `curbside check-text --json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct CheckAnswer {
    /// What a node refuses (from rules 2; the command line refuses them
    /// whatever the rules).
    pub findings: Vec<CheckItem>,
    /// (rules 4, at a node) the `@handle`s that name a physician: mentions,
    /// not refused. A mention of a handle no physician holds is a finding
    /// (`social_handle`) instead. Absent when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<CheckItem>,
    /// The rules version in force at the node now (`None` from the
    /// command line, which checks without a node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<u16>,
    /// What the author should look at before signing; never refused.
    pub warnings: Vec<CheckItem>,
}

/// One finding or warning.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct CheckItem {
    /// Byte offset just past it.
    pub end: usize,
    /// The text it covers.
    pub excerpt: String,
    /// Its kind's stable code (`person_name`, `possible_name`...).
    pub kind: String,
    /// Byte offset of its start.
    pub start: usize,
}

impl CheckAnswer {
    /// Runs guard v2 over `text`.
    pub fn of(text: &str, rules: Option<u16>) -> Self {
        let report = curbside_protocol::deid::v2::scan(text);
        let items = |list: &[curbside_protocol::deid::Finding]| {
            list.iter()
                .map(|f| CheckItem {
                    end: f.end,
                    excerpt: f.excerpt(text).to_owned(),
                    kind: f.kind.code().to_owned(),
                    start: f.start,
                })
                .collect()
        };
        CheckAnswer {
            findings: items(&report.findings),
            mentions: Vec::new(),
            rules,
            warnings: items(&report.warnings),
        }
    }

    /// Runs guard v2 over `text` as a node at `rules` judges it: from
    /// rules 4, an `@handle` for which `attested` says an attestation gives
    /// it to a physician is a mention (listed in `mentions`), and one that
    /// names nobody is a finding (`social_handle`), as the node refuses it
    /// (`unknown_mention`) from its API; before rules 4, as [`Self::of`].
    pub fn at_rules(
        text: &str,
        rules: curbside_protocol::rules::RuleSet,
        attested: impl Fn(&curbside_protocol::Handle) -> bool,
    ) -> Self {
        if !rules.mentions() {
            return Self::of(text, Some(rules.version()));
        }
        let (report, mentions) = curbside_protocol::deid::v2::scan_beside_mentions(text);
        let item = |kind: &str, start: usize, end: usize| CheckItem {
            end,
            excerpt: text.get(start..end).unwrap_or_default().to_owned(),
            kind: kind.to_owned(),
            start,
        };
        let finding = |f: &curbside_protocol::deid::Finding| item(f.kind.code(), f.start, f.end);
        let mut findings: Vec<CheckItem> = report.findings.iter().map(finding).collect();
        let mut known = Vec::new();
        for m in mentions {
            if attested(&m.handle) {
                known.push(item("mention", m.start, m.end));
            } else {
                let kind = curbside_protocol::deid::IdentifierKind::SocialHandle.code();
                findings.push(item(kind, m.start, m.end));
            }
        }
        findings.sort_by_key(|f| (f.start, f.end));
        CheckAnswer {
            findings,
            mentions: known,
            rules: Some(rules.version()),
            warnings: report.warnings.iter().map(finding).collect(),
        }
    }
}

/// What a thread shows where an event was taken back: no content, who
/// took it back and by which event. `placeholder` is the line to show.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RetractedView {
    /// The event's author.
    pub author: PublicKey,
    /// Whether its author took it back (`false`: a moderator took it down).
    pub by_author: bool,
    /// When it was made.
    pub created_at: Timestamp,
    /// Its id.
    pub id: EventId,
    /// Its kind.
    pub kind: Kind,
    /// The line a reader sees in its place.
    pub placeholder: String,
    /// The retraction's id.
    pub retraction: EventId,
}

impl RetractedView {
    /// The view of `id`'s tombstone.
    pub fn of(id: EventId, t: &curbside_protocol::Tombstone) -> Self {
        let by_author = !t.taken_down();
        Self {
            author: t.summary.author,
            by_author,
            created_at: t.summary.created_at,
            id,
            kind: t.summary.kind,
            placeholder: if by_author {
                "[retracted by its author]".into()
            } else {
                "[taken down by a moderator]".into()
            },
            retraction: t.retraction,
        }
    }
}

/// `POST /v1/me/follows`: what to follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowRequest {
    /// A whole event id (its thread is followed) or a hub's name.
    pub target: String,
}

/// `POST /v1/me/bookmarks`: what to bookmark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookmarkRequest {
    /// A stored event's whole id.
    pub id: EventId,
}

/// `POST /v1/me/inbox/read`: the items to mark read (their ids), or all
/// the inbox holds now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkReadRequest {
    /// Items' ids (at most 500).
    #[serde(default)]
    pub items: Vec<EventId>,
    /// Every item the inbox holds now.
    #[serde(default)]
    pub all: bool,
}

/// One thing a physician follows (`GET /v1/me/follows`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Followed {
    /// A thread's root, or null.
    pub thread: Option<EventId>,
    /// A hub, or null.
    pub hub: Option<String>,
    /// Since when.
    pub since: Timestamp,
}
