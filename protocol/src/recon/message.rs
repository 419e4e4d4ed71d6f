//! Messages on the wire: their ranges, bounds and modes, their postcard
//! encoding and its length computed without encoding.

use serde::{Deserialize, Serialize};

use super::set::Item;
use super::{FINGERPRINT_LEN, MAX_MESSAGE_BYTES, PREFIX_LEN, ReconError};

/// A point of the key space: `(time, id)` with the id's unsent tail zero, or
/// the end. Derived order: points by time then id, infinity last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Bound {
    Point(u64, [u8; 32]),
    Infinity,
}

/// The lowest point: every range list starts here.
pub(super) const START: Bound = Bound::Point(0, [0; 32]);

impl Bound {
    /// The shortest bound `s` with `a < s <= b` (`a < b`): `b`'s time, and
    /// `b`'s id up to the first byte where it differs from `a`'s if the
    /// times are equal.
    pub(super) fn between(a: &Item, b: &Item) -> Bound {
        let mut id = [0u8; 32];
        if a.created_at_ms == b.created_at_ms {
            let k = a.id.iter().zip(&b.id).position(|(x, y)| x != y).unwrap_or(31);
            id[..=k].copy_from_slice(&b.id[..=k]);
        }
        Bound::Point(b.created_at_ms, id)
    }
}

/// A reconciliation message, either way. Opaque: made by [`initiate`],
/// [`respond`] and [`reconcile`], carried as postcard bytes
/// ([`encode`](Self::encode), [`decode`](Self::decode)), and checked in
/// full by whichever function receives it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub(super) ranges: Vec<WireRange>,
}

/// One range on the wire: its upper bound (its lower bound is the previous
/// range's upper bound, or the start) and what is said about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct WireRange {
    /// 0: the upper bound is infinity. Otherwise the bound's time is the
    /// previous bound's time (0 for the first) plus `time - 1`.
    pub(super) time: u64,
    /// The bound's id prefix: its id is this, padded with zeros. Never ends
    /// in a zero byte; empty for infinity.
    pub(super) prefix: Vec<u8>,
    pub(super) mode: Mode,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Mode {
    /// Nothing to do here.
    Skip,
    /// The sender's fingerprint of the range.
    Fingerprint([u8; FINGERPRINT_LEN]),
    /// Initiator only: the prefixes of all its ids in the range.
    Prefixes(Vec<[u8; PREFIX_LEN]>),
    /// Responder only: all its ids in the range.
    Ids(Vec<[u8; 32]>),
    /// Responder only, answering `Prefixes`: its ids in the range whose
    /// prefix was not listed, and the listed prefixes it has no id for.
    Diff { missing: Vec<[u8; 32]>, lacking: Vec<[u8; PREFIX_LEN]> },
}

impl Message {
    /// The postcard encoding.
    pub fn encode(&self) -> Result<Vec<u8>, ReconError> {
        postcard::to_stdvec(self).map_err(ReconError::Postcard)
    }

    /// Decodes a postcard-encoded message, refusing more than
    /// [`MAX_MESSAGE_BYTES`] and trailing bytes. The content is checked by
    /// [`respond`] or [`reconcile`].
    pub fn decode(bytes: &[u8]) -> Result<Message, ReconError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(ReconError::TooLarge(bytes.len()));
        }
        let (msg, rest) = postcard::take_from_bytes(bytes).map_err(ReconError::Postcard)?;
        if !rest.is_empty() {
            return Err(ReconError::TrailingBytes(rest.len()));
        }
        Ok(msg)
    }

    /// Length of the postcard encoding, in bytes, computed without encoding.
    pub fn encoded_len(&self) -> usize {
        varint_len(self.ranges.len() as u64)
            + self.ranges.iter().map(|r| wire_len(r.time, r.prefix.len(), &r.mode)).sum::<usize>()
    }

    /// Number of ranges.
    pub fn range_count(&self) -> usize {
        self.ranges.len()
    }
}

pub(super) fn varint_len(x: u64) -> usize {
    (64 - x.leading_zeros() as usize).div_ceil(7).max(1)
}

pub(super) fn list_len(count: usize, each: usize) -> usize {
    varint_len(count as u64) + count * each
}

pub(super) fn wire_len(time: u64, prefix_len: usize, mode: &Mode) -> usize {
    varint_len(time)
        + varint_len(prefix_len as u64)
        + prefix_len
        + 1
        + match mode {
            Mode::Skip => 0,
            Mode::Fingerprint(_) => FINGERPRINT_LEN,
            Mode::Prefixes(p) => list_len(p.len(), PREFIX_LEN),
            Mode::Ids(ids) => list_len(ids.len(), 32),
            Mode::Diff { missing, lacking } => {
                list_len(missing.len(), 32) + list_len(lacking.len(), PREFIX_LEN)
            }
        }
}

/// The wire form of `bound` after a bound of time `prev_time`: the `time`
/// field and the prefix length.
pub(super) fn wire_bound(bound: &Bound, prev_time: u64) -> (u64, usize) {
    match bound {
        Bound::Infinity => (0, 0),
        Bound::Point(t, id) => {
            let len = id.iter().rposition(|&b| b != 0).map_or(0, |k| k + 1);
            (t.saturating_sub(prev_time).saturating_add(1), len)
        }
    }
}
