//! Field limits every node enforces. Together with the network's
//! `max_event_bytes` they bound what any one event can cost a node.

/// Institution names, hub titles.
pub const NAME: usize = 200;
/// Post and case titles.
pub const TITLE: usize = 200;
/// Post bodies, comments and each free-text case field.
pub const TEXT: usize = 10_000;
/// Case questions and poll questions.
pub const QUESTION: usize = 1_000;
/// Each poll option.
pub const OPTION: usize = 200;
/// Revocation reasons.
pub const REASON: usize = 500;
/// Jurisdictions on one charter.
pub const JURISDICTIONS: usize = 64;
/// Specialties on one attestation or poll.
pub const SPECIALTIES: usize = 16;
/// Tags on one case.
pub const TAGS: usize = 12;
/// Fewest options a poll may have.
pub const MIN_OPTIONS: usize = 2;
/// Most options a poll may have.
pub const MAX_OPTIONS: usize = 8;
