//! Range-based set reconciliation.
//!
//! Two peers each hold a [`SyncSet`] of [`Item`]s — `(created_at_ms, id)`
//! pairs ordered by time, then id — and want to learn which ids one holds
//! and the other lacks, exchanging little more than the differences. The
//! idea is Aljoscha Meyer's range-based set reconciliation (as in the
//! Negentropy protocol); this is our own implementation of it.
//!
//! The key space is cut into ranges. For a range, a peer sends a
//! [fingerprint](SyncSet::fingerprint) of the items it holds there; the
//! other peer compares it with its own. Equal ranges are done. A differing
//! range is either split into a few sub-ranges (by item count), each sent
//! with its fingerprint, or — once small — settled by listing ids. Each
//! message answers every open range of the previous one, so the depth of
//! the search grows by two levels per round trip; when the answers would
//! not fit in one message, the ranges past the cut go back as they came
//! (skips stay skips), to be answered in the next.
//!
//! Roles are fixed: the *initiator* calls [`initiate`], then [`reconcile`]
//! on every reply, and learns the differences (`have`, `need`); the
//! *responder* calls [`respond`] on every request and keeps no state
//! between them, so it can serve any number of peers over a
//! request-response transport. Neither function does I/O; messages are
//! serde types, meant to be encoded with postcard ([`Message::encode`],
//! [`Message::decode`]). The wire format is described in
//! `docs/PROTOCOL.md`, section "Sync messages".
//!
//! ```
//! use curbside_protocol::recon::{Item, SyncSet, initiate, reconcile, respond};
//!
//! let item = |t: u64, b: u8| Item::new(t, [b; 32]);
//! let mine: SyncSet = [item(1, 1), item(2, 2), item(3, 3)].into_iter().collect();
//! let theirs: SyncSet = [item(2, 2), item(3, 3), item(4, 4)].into_iter().collect();
//!
//! let (mut have, mut need) = (Vec::new(), Vec::new());
//! let mut request = initiate(&mine);
//! loop {
//!     // `request` goes to the peer, which answers with `respond`.
//!     let Some(reply) = respond(&theirs, &request)?.next else { break };
//!     let step = reconcile(&mine, &reply)?;
//!     have.extend(step.have);
//!     need.extend(step.need);
//!     match step.next {
//!         Some(next) => request = next,
//!         None => break,
//!     }
//! }
//! assert_eq!(have, vec![[1; 32]]);
//! assert_eq!(need, vec![[4; 32]]);
//! # Ok::<(), curbside_protocol::recon::ReconError>(())
//! ```
//!
//! Both sets should stay unchanged during one session; items added
//! meanwhile may be missed until the next one.
//!
//! Pure like the rest of this crate (std, serde, postcard, sha2): the node
//! carries the messages over its network and keeps the sets current with
//! its store. Files: `set.rs` holds the items and the index that makes a
//! range's fingerprint cheap, `message.rs` the wire form and its length
//! arithmetic, `session.rs` the algorithm that answers a message range by
//! range within the limits.

mod message;
mod session;
mod set;

pub use message::Message;
pub use set::{Item, SyncSet};

use message::{Bound, Mode};
use session::{Builder, prefixes, process, split};

/// Bytes of a range fingerprint.
pub const FINGERPRINT_LEN: usize = 16;

/// Bytes of the id prefixes an initiator lists for a small range.
pub const PREFIX_LEN: usize = 16;

/// The largest encoded message either role accepts (and sends): 1 MiB.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// The most ranges one message may hold. It bounds the work a message can
/// ask of its receiver: at most this many ranges, each costing a few
/// binary searches and at most [`BRANCHING`] fingerprints.
pub const MAX_RANGES: usize = 32_768;

/// The most ids or prefixes one list of one range may hold.
pub const MAX_IDS_PER_RANGE: usize = 1024;

/// How many sub-ranges a differing range is split into.
pub const BRANCHING: usize = 5;

/// The tuning of the algorithm. Peers need not agree on it (every message
/// is self-describing); only the limits on what is accepted are fixed.
#[derive(Clone, Copy, Debug)]
struct Params {
    /// Sub-ranges per split.
    branching: usize,
    /// An initiator lists the prefixes of a differing range holding at most
    /// this many of its items, instead of splitting it.
    initiator_ids: usize,
    /// A responder lists the ids of a differing range holding at most this
    /// many of its items, instead of splitting it.
    responder_ids: usize,
    /// A responder answers a list of prefixes with the difference if it
    /// holds at most this many items in the range, and splits it otherwise.
    diff_cap: usize,
    /// Most ranges this side puts in one message.
    max_ranges: usize,
    /// Most bytes this side puts in one message.
    max_bytes: usize,
}

/// The node's tuning. Its message limits stay a 32nd below what a peer
/// accepts: a message that is full may still have to answer its first open
/// range (every message answers at least one), and the margin keeps that
/// answer, a few ranges and at most a few KiB, within what the peer reads.
const PARAMS: Params = Params {
    branching: BRANCHING,
    initiator_ids: 4,
    responder_ids: 2,
    diff_cap: 256,
    max_ranges: MAX_RANGES - MAX_RANGES / 32,
    max_bytes: MAX_MESSAGE_BYTES - MAX_MESSAGE_BYTES / 32,
};

/// Why a message was refused. Messages come from untrusted peers: every
/// malformed or oversized one ends here, never in a panic.
#[derive(Debug, thiserror::Error)]
pub enum ReconError {
    /// The message is longer than [`MAX_MESSAGE_BYTES`].
    #[error("message of {0} bytes is over the limit of {MAX_MESSAGE_BYTES}")]
    TooLarge(usize),
    /// The message holds more than [`MAX_RANGES`] ranges.
    #[error("message of {0} ranges is over the limit of {MAX_RANGES}")]
    TooManyRanges(usize),
    /// postcard could not decode the bytes as a message (or, never in
    /// practice, encode one).
    #[error("postcard: {0}")]
    Postcard(postcard::Error),
    /// Bytes follow the message.
    #[error("{0} bytes after the message")]
    TrailingBytes(usize),
    /// A bound is malformed: prefix longer than 32 bytes or ending in a
    /// zero byte, a time that overflows or reaches `u64::MAX`, or a prefix
    /// on the infinite bound.
    #[error("range {0}: malformed bound")]
    BadBound(usize),
    /// A bound is not above the previous one (or follows infinity).
    #[error("range {0}: bound not above the previous one")]
    BoundsOutOfOrder(usize),
    /// A list of ids or prefixes is longer than [`MAX_IDS_PER_RANGE`].
    #[error("range {0}: more than {MAX_IDS_PER_RANGE} ids")]
    TooManyIds(usize),
    /// A range holds what the receiving role never gets (a list of
    /// prefixes sent to an initiator, ids or a difference to a responder).
    #[error("range {0}: mode not expected by this role")]
    UnexpectedMode(usize),
}

/// What a responder sends back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The reply to send, or `None` when the sets agree on everything the
    /// request asked about: the session is over.
    pub next: Option<Message>,
}

/// What an initiator learned from one reply, and what it sends next.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// The next request, or `None` when the session is over.
    pub next: Option<Message>,
    /// Ids this side has and the peer lacks, found in this reply.
    pub have: Vec<[u8; 32]>,
    /// Ids the peer has and this side lacks, found in this reply. A faulty
    /// peer may name ids it cannot deliver.
    pub need: Vec<[u8; 32]>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Initiator,
    Responder,
}

/// The first request of a session.
pub fn initiate(set: &SyncSet) -> Message {
    initiate_with(set, &PARAMS)
}

/// Answers a request. Stateless: the request says everything needed.
pub fn respond(set: &SyncSet, request: &Message) -> Result<Reply, ReconError> {
    respond_with(set, request, &PARAMS)
}

/// Takes in a reply: the differences it settles and the next request.
pub fn reconcile(set: &SyncSet, reply: &Message) -> Result<Step, ReconError> {
    reconcile_with(set, reply, &PARAMS)
}

fn initiate_with(set: &SyncSet, p: &Params) -> Message {
    let mut out = Builder::new(p);
    let mut pending = Vec::new();
    let n = set.len();
    if n <= p.initiator_ids {
        pending.push((Bound::Infinity, Mode::Prefixes(prefixes(&set.items))));
    } else {
        split(set, 0, n, Bound::Infinity, p, &mut pending);
    }
    out.append(pending);
    out.finish().unwrap_or_default()
}

fn respond_with(set: &SyncSet, request: &Message, p: &Params) -> Result<Reply, ReconError> {
    let Step { next, .. } = process(set, request, Role::Responder, p)?;
    Ok(Reply { next })
}

fn reconcile_with(set: &SyncSet, reply: &Message, p: &Params) -> Result<Step, ReconError> {
    let mut step = process(set, reply, Role::Initiator, p)?;
    step.need.sort_unstable();
    step.need.dedup();
    Ok(step)
}

#[cfg(test)]
mod tests;
