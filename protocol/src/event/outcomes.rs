//! What an author adds to their own case, thread or poll once it has run
//! its course (rules 3): the case's [`Outcome`], the reply they
//! [`Accept`] as the answer that helped most, and the poll's
//! [`PollAnswer`]. Each has at most one in force per target: the latest
//! by `(created_at, id)` ([`afterword_supersedes`]), so that every node shows the
//! same one whatever order it received them in.

use serde::{Deserialize, Serialize};

use crate::{EventId, Timestamp};

/// How a case ended, by the case's author.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The case.
    pub case: EventId,
    /// The final diagnosis, one line.
    pub diagnosis: String,
    /// What happened (may be empty).
    pub text: String,
}

/// The reply that helped most, marked by the author of the post or case
/// at the root of its thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accept {
    /// The comment.
    pub comment: EventId,
    /// The post or case at the root of the comment's thread. It is
    /// repeated here so that the mark's place does not depend on a node
    /// working the thread out; validation checks that it is the comment's.
    pub thread: EventId,
}

/// The option of a closed poll that turned out right, by the poll's author.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollAnswer {
    /// The poll.
    pub poll: EventId,
    /// Index into the poll's options.
    pub option: u8,
}

/// Whether an event made at `a` with id `a_id` replaces one made at `b`
/// with id `b_id` for the same target: the later one wins, the larger id
/// on a tie. A total order on distinct events, so the one in force is the
/// maximum of those held, whatever order they arrived in.
pub fn afterword_supersedes(a: (Timestamp, EventId), b: (Timestamp, EventId)) -> bool {
    a > b
}
