//! Every code the node answers with: on the API (errors and refused
//! events), on the wire (a refused request, an offence) and to a blocked
//! peer. One enum, [`Code`], whose string, HTTP status and documentation
//! are declared together, so a code cannot be used without being listed,
//! and a test checks the list against docs/API.md and docs/PROTOCOL.md.
//!
//! The protocol's rejections keep their own table
//! ([`curbside_protocol::RejectionCode`]); they enter here as
//! [`Code::Rejection`], so a refusal the protocol decides and one the node
//! decides travel as the same type. The API's checks of an attestation
//! request answer with the rejections they match (`wrong_network`,
//! `invalid_field`). One string has two meanings: `too_large` is both the
//! rejection of an event over its limit (422) and the API's refusal of a
//! body over 1 MiB (413, [`Code::BodyTooLarge`]), as the API has always
//! answered; parsing `too_large` gives the rejection.

use axum::http::StatusCode;
use curbside_protocol::{NotAccepted, Rejection, RejectionCode};

/// Declares [`Code`]'s own variants from one table: variant, code, HTTP
/// status (`None` for codes never answered over HTTP) and a line of
/// documentation.
macro_rules! node_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $code:literal, $status:expr;)+) => {
        /// A code the node answers with. See the module documentation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            /// The protocol refused the event (docs/PROTOCOL.md, Rejection codes).
            Rejection(RejectionCode),
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Code {
            /// The node's own codes (every [`Code`] but [`Code::Rejection`]).
            pub const OWN: [Code; [$($code),+].len()] = [$(Code::$variant),+];

            /// The stable machine code.
            pub const fn as_str(self) -> &'static str {
                match self {
                    Code::Rejection(r) => r.as_str(),
                    $(Code::$variant => $code,)+
                }
            }

            /// The HTTP status an answer with this code has, or `None` for a
            /// code only peers see.
            pub const fn http_status(self) -> Option<StatusCode> {
                match self {
                    Code::Rejection(_) => Some(StatusCode::UNPROCESSABLE_ENTITY),
                    $(Code::$variant => $status,)+
                }
            }

            /// What the code means, in one line.
            pub const fn doc(self) -> &'static str {
                match self {
                    Code::Rejection(_) => "the protocol refused the event (docs/PROTOCOL.md)",
                    $(Code::$variant => concat!($($doc),+).trim_ascii_start(),)+
                }
            }
        }
    };
}

const fn http(status: StatusCode) -> Option<StatusCode> {
    Some(status)
}

node_codes! {
    // The API's errors.
    /// the body is not the JSON this endpoint expects
    MalformedJson = "malformed_json", http(StatusCode::BAD_REQUEST);
    /// a parameter is malformed (an id, a cursor, a limit, a query string, a path segment)
    BadRequest = "bad_request", http(StatusCode::BAD_REQUEST);
    /// the thread cursor is not stored here, or not in the thread asked for
    CursorNotInThread = "cursor_not_in_thread", http(StatusCode::BAD_REQUEST);
    /// the request body exceeds 1 MiB (the same string as the rejection of an event over its limit)
    BodyTooLarge = "too_large", http(StatusCode::PAYLOAD_TOO_LARGE);
    /// no valid session or admin token
    Unauthenticated = "unauthenticated", http(StatusCode::UNAUTHORIZED);
    /// a session token used on an admin route
    Forbidden = "forbidden", http(StatusCode::FORBIDDEN);
    /// an admin token made for another node (the command reached the wrong node)
    WrongNode = "wrong_node", http(StatusCode::UNAUTHORIZED);
    /// no such event, poll, hub or route
    NotFound = "not_found", http(StatusCode::NOT_FOUND);
    /// (ids) the start of an id that more than one stored event's id starts with
    AmbiguousId = "ambiguous_id", http(StatusCode::CONFLICT);
    /// (admin) this node already has an attestation in force for the key asked about; `replace` revokes it in the same step
    AlreadyAttested = "already_attested", http(StatusCode::CONFLICT);
    /// (admin) this node has an attestation in force for the same licence on another key; `replace` revokes it in the same step
    LicenceInUse = "licence_in_use", http(StatusCode::CONFLICT);
    /// the route exists but does not take this method
    MethodNotAllowed = "method_not_allowed", http(StatusCode::METHOD_NOT_ALLOWED);
    /// a session was asked for by a key with no attestation in force
    NotAttested = "not_attested", http(StatusCode::FORBIDDEN);
    /// the challenge is unknown, used or expired, or its signature does not verify
    BadChallenge = "bad_challenge", http(StatusCode::UNAUTHORIZED);
    /// (attest) the attestation request is damaged or not signed by the key it names
    BadRequestString = "bad_request_string", http(StatusCode::UNPROCESSABLE_ENTITY);
    /// the node runs alone, so it cannot dial
    NetworkOff = "network_off", http(StatusCode::CONFLICT);
    /// (admin sync) the node has no admitted peer to sync with (or its network task stopped)
    NoPeers = "no_peers", http(StatusCode::CONFLICT);
    /// the node is stopping
    ShuttingDown = "shutting_down", http(StatusCode::SERVICE_UNAVAILABLE);
    /// (status) a write or sync of the store has failed; the node is stopping
    StoreFailed = "store_failed", http(StatusCode::SERVICE_UNAVAILABLE);
    /// the store failed; nothing was acknowledged (also refused to a peer's request)
    Storage = "storage", http(StatusCode::INTERNAL_SERVER_ERROR);
    /// a bug: an invariant did not hold, or a handler panicked
    Internal = "internal", http(StatusCode::INTERNAL_SERVER_ERROR);
    /// (on connecting) this address holds as many connections as it may
    TooManyConnections = "too_many_connections", http(StatusCode::TOO_MANY_REQUESTS);
    /// (on connecting) every connection held has a handler at work
    Busy = "busy", http(StatusCode::SERVICE_UNAVAILABLE);
    /// (search) the query has no word to search for, is over 200 bytes or 8 words, or a filter's value is not valid
    BadQuery = "bad_query", http(StatusCode::BAD_REQUEST);
    /// (search) this node's search index could not be opened; the rest of the API works
    SearchUnavailable = "search_unavailable", http(StatusCode::SERVICE_UNAVAILABLE);
    /// (admin) a named operator's credential that was revoked (`curbside admin revoke`)
    OperatorRevoked = "operator_revoked", http(StatusCode::UNAUTHORIZED);
    /// (admin operators) an operator of that name exists or existed: a name is never given twice
    OperatorExists = "operator_exists", http(StatusCode::CONFLICT);
    /// (admin backup) a backup is being written already; wait for it to finish
    BackupRunning = "backup_running", http(StatusCode::CONFLICT);
    /// (admin backup) the backup's directory is not a new one, named by an absolute path, in an existing directory outside the node's data directory
    BackupOutInvalid = "backup_out_invalid", http(StatusCode::BAD_REQUEST);
    /// (admin backup) the backup's directory already exists: a backup never overwrites
    BackupExists = "backup_exists", http(StatusCode::CONFLICT);
    /// (admin backup) the backup's disk fell to the free space a backup leaves; the partial backup was removed
    BackupNoSpace = "backup_no_space", http(StatusCode::INSUFFICIENT_STORAGE);
    /// (command line, restore) a backup's file is missing, or differs from its manifest's checksum: nothing was restored
    BackupDamaged = "backup_damaged", None;
    /// (command line, restore) the data directory to restore into is not empty (or a node runs on it)
    RestoreNotEmpty = "restore_not_empty", None;

    // What happens to a submitted event, other than a rejection.
    /// held until what it needs arrives (an outcome, not an error); (attest, revoke) the node cannot sign yet
    MissingDependency = "missing_dependency", http(StatusCode::UNPROCESSABLE_ENTITY);
    /// (events, by this node's policy) a post's or case's title or a poll's question is not one line
    TitleNotOneLine = "title_not_one_line", http(StatusCode::UNPROCESSABLE_ENTITY);
    /// (events, attest; by this node's policy) a specialty the network's list does not name (the message suggests the nearest)
    UnknownSpecialty = "unknown_specialty", http(StatusCode::UNPROCESSABLE_ENTITY);
    /// (events, by this node's policy) an edit of a post, case or comment this node knows another key wrote
    NotYourEvent = "not_your_event", http(StatusCode::UNPROCESSABLE_ENTITY);
    /// (events, attest; by this node's policy) a jurisdiction the network's list does not name (the message suggests the nearest)
    UnknownJurisdiction = "unknown_jurisdiction", http(StatusCode::UNPROCESSABLE_ENTITY);
    /// (attest, revoke) this node's audit log is behind what its peers hold of it (restored from a backup?); it is catching up and signs nothing until it has
    LogBehind = "log_behind", http(StatusCode::SERVICE_UNAVAILABLE);
    /// (attest, revoke) no peer has said yet what it holds of this node's audit log, within 30 s of start; try again shortly
    LogUnconfirmed = "log_unconfirmed", http(StatusCode::SERVICE_UNAVAILABLE);
    /// (attest, revoke) two heads this node's key signed cannot both be true; it never signs again with this key
    LogForked = "log_forked", http(StatusCode::CONFLICT);
    /// (attest, revoke) another running copy of this node's key started earlier; this one signs nothing
    DuplicateNode = "duplicate_node", http(StatusCode::CONFLICT);
    /// already stored; nothing changed
    Duplicate = "duplicate", None;
    /// a comment or vote names an event neither this node nor a peer it asked holds
    UnknownEvent = "unknown_event", http(StatusCode::UNPROCESSABLE_ENTITY);
    /// an event of an author not attested (or chartered) here, from a caller without a session
    UnknownAuthor = "unknown_author", http(StatusCode::UNPROCESSABLE_ENTITY);
    /// a post, case or poll in a hub this network does not have
    UnknownHub = "unknown_hub", http(StatusCode::UNPROCESSABLE_ENTITY);
    /// (events, rules 4) an `@handle` in the text that no attestation known here gives to a physician
    UnknownMention = "unknown_mention", http(StatusCode::UNPROCESSABLE_ENTITY);
    /// the node holds as many waiting events as it can
    PendingFull = "pending_full", http(StatusCode::SERVICE_UNAVAILABLE);
    /// this sender already has as many events waiting here as one sender may
    PendingQuota = "pending_quota", http(StatusCode::TOO_MANY_REQUESTS);
    /// the store's disk is below its reserve: nothing new is held
    LowDisk = "low_disk", http(StatusCode::SERVICE_UNAVAILABLE);
    /// a budget is spent (a caller's checking, a physician's rate or reports, sessions, a peer's requests)
    RateLimited = "rate_limited", http(StatusCode::TOO_MANY_REQUESTS);
    /// (reports) the node holds as many reports waiting for moderators as it keeps
    ReportsFull = "reports_full", http(StatusCode::SERVICE_UNAVAILABLE);
    /// (me) a physician's follows or bookmarks are as many as one may keep; (admin operators) the node keeps 1000 operators
    ListFull = "list_full", http(StatusCode::CONFLICT);
    /// (me) as many inbox streams are open as the node allows, for this physician or in all
    TooManyStreams = "too_many_streams", http(StatusCode::TOO_MANY_REQUESTS);
    /// (command line) the content guard warned and the author did not confirm: nothing was signed
    NeedsConfirmation = "needs_confirmation", None;

    // Between nodes: refused requests, offences and blocked peers.
    /// the peer is not admitted: this node has not seen its charter in force
    NotChartered = "not_chartered", None;
    /// the peer has not said it admits this node within the admission timeout
    NotAdmitted = "not_admitted", None;
    /// the peer's PeerId is not an ed25519 key, so it cannot be a node's key
    NotEd25519 = "not_ed25519", None;
    /// the peer's gossip score fell below the graylist threshold
    ScoreTooLow = "score_too_low", None;
    /// the peer gossiped more than its rate
    GossipRateLimited = "gossip_rate_limited", None;
    /// the peer sent an event every honest node refuses
    InvalidEvent = "invalid_event", None;
    /// a fetch asked for more ids than one request may
    TooManyIds = "too_many_ids", None;
    /// a request the responder cannot use (a reconciliation message, the wrong request)
    BadMessage = "bad_message", None;
    /// the audit log asked for is not available here
    LogUnavailable = "log_unavailable", None;
}

impl Code {
    /// Every code: the protocol's rejections, then the node's own.
    pub fn all() -> impl Iterator<Item = Code> {
        RejectionCode::ALL.into_iter().map(Code::Rejection).chain(Code::OWN)
    }

    /// The code of a rejection.
    pub const fn of(rejection: &Rejection) -> Code {
        Code::Rejection(rejection.reason())
    }

    /// The code of a verdict other than acceptance.
    pub const fn not_accepted(verdict: &NotAccepted) -> Code {
        match verdict {
            NotAccepted::Invalid(r) => Code::of(r),
            NotAccepted::Missing(_) => Code::MissingDependency,
            NotAccepted::Duplicate(_) => Code::Duplicate,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Code {
    /// A code this build does not know is an error: the CLI and the node
    /// are built from the same list.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Code {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Code::all().find(|c| c.as_str() == text).ok_or_else(|| format!("unknown code {text:?}"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The codes in the first column of the tables under `heading`, up to
    /// the next heading of the same or a higher level.
    fn table_codes(doc: &str, heading: &str) -> BTreeSet<String> {
        let level = heading.split(' ').next().unwrap_or_default();
        let section = doc.split(&format!("\n{heading}\n")).nth(1).unwrap_or_default();
        let section = section
            .split('\n')
            .take_while(|l| {
                !(l.starts_with('#') && l.split(' ').next().unwrap_or("").len() <= level.len())
            })
            .collect::<Vec<_>>();
        section
            .iter()
            .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
            .map(str::to_owned)
            .collect()
    }

    /// The codes named in backquotes after "Refusal codes:" in a paragraph.
    fn listed_codes(doc: &str, lead: &str) -> BTreeSet<String> {
        let rest = doc.split(lead).nth(1).unwrap_or_default();
        let paragraph = rest.split("\n\n").next().unwrap_or_default();
        // The paragraph goes on to name requests (`Fetch`): codes are snake_case.
        paragraph
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|w| w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn codes_are_unique_and_parse_back() {
        let all: Vec<Code> = Code::all().filter(|c| *c != Code::BodyTooLarge).collect();
        let strings: BTreeSet<&str> = all.iter().map(|c| c.as_str()).collect();
        assert_eq!(strings.len(), all.len(), "two codes share a string");
        for code in all {
            assert_eq!(code.as_str().parse::<Code>(), Ok(code));
            assert!(!code.doc().is_empty());
        }
    }

    /// Every code is documented, and nothing is documented that does not
    /// exist: the API's table in docs/API.md, the rejections' table and
    /// the peers' codes in docs/PROTOCOL.md.
    #[test]
    fn every_code_is_documented_and_every_documented_code_exists() {
        let api = include_str!("../../docs/API.md");
        let protocol = include_str!("../../docs/PROTOCOL.md");
        let mut documented = table_codes(api, "## Conventions");
        documented.extend(table_codes(protocol, "### Rejection codes"));
        documented.extend(table_codes(protocol, "### The node's own codes"));
        let known: BTreeSet<String> = Code::all().map(|c| c.as_str().to_owned()).collect();
        let undocumented: Vec<_> = known.difference(&documented).collect();
        assert!(undocumented.is_empty(), "codes documented nowhere: {undocumented:?}");
        let unknown: Vec<_> = documented.difference(&known).collect();
        assert!(unknown.is_empty(), "documented codes the node does not have: {unknown:?}");
        // The wire's refusals named in PROTOCOL.md's prose exist too.
        for code in listed_codes(protocol, "Refusal codes:") {
            assert!(known.contains(&code), "PROTOCOL.md names refusal code `{code}`");
        }
    }

    /// The status each code is documented with in docs/API.md is its own.
    #[test]
    fn api_statuses_match_the_docs() {
        let api = include_str!("../../docs/API.md");
        for line in api.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let [_, code, status, ..] = cells.as_slice() else { continue };
            let (Some(code), Ok(status)) =
                (code.strip_prefix('`').and_then(|c| c.strip_suffix('`')), status.parse::<u16>())
            else {
                continue;
            };
            // An event held for a dependency is no error: the request is 202.
            if code == Code::MissingDependency.as_str() && status == 202 {
                continue;
            }
            assert!(
                Code::all()
                    .any(|c| c.as_str() == code
                        && c.http_status().map(|s| s.as_u16()) == Some(status)),
                "docs/API.md gives `{code}` status {status}, which no code of that name has"
            );
        }
    }
}
