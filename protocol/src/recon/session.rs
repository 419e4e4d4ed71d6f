//! The algorithm: a received message checked and answered range by range,
//! and the outgoing message built within the limits of [`Params`].

use super::message::{Bound, Mode, START, WireRange, varint_len, wire_bound, wire_len};
use super::set::Item;
use super::*;

/// One range of a received message, with absolute bounds.
pub(super) struct Range<'m> {
    pub(super) lo: Bound,
    pub(super) up: Bound,
    pub(super) mode: &'m Mode,
}

/// Checks a received message and gives its ranges with absolute bounds.
pub(super) fn parse(msg: &Message, role: Role) -> Result<Vec<Range<'_>>, ReconError> {
    if msg.ranges.len() > MAX_RANGES {
        return Err(ReconError::TooManyRanges(msg.ranges.len()));
    }
    let size = msg.encoded_len();
    if size > MAX_MESSAGE_BYTES {
        return Err(ReconError::TooLarge(size));
    }
    let mut out = Vec::with_capacity(msg.ranges.len());
    let mut lo = START;
    let mut prev_time = 0u64;
    for (i, r) in msg.ranges.iter().enumerate() {
        if lo == Bound::Infinity {
            return Err(ReconError::BoundsOutOfOrder(i));
        }
        let up = if r.time == 0 {
            if !r.prefix.is_empty() {
                return Err(ReconError::BadBound(i));
            }
            Bound::Infinity
        } else {
            if r.prefix.len() > 32 || r.prefix.last() == Some(&0) {
                return Err(ReconError::BadBound(i));
            }
            let t = prev_time
                .checked_add(r.time - 1)
                .filter(|&t| t != u64::MAX)
                .ok_or(ReconError::BadBound(i))?;
            prev_time = t;
            let mut id = [0u8; 32];
            id[..r.prefix.len()].copy_from_slice(&r.prefix);
            Bound::Point(t, id)
        };
        if up <= lo {
            return Err(ReconError::BoundsOutOfOrder(i));
        }
        let (allowed, list) = match &r.mode {
            Mode::Skip | Mode::Fingerprint(_) => (true, 0),
            Mode::Prefixes(l) => (role == Role::Responder, l.len()),
            Mode::Ids(l) => (role == Role::Initiator, l.len()),
            Mode::Diff { missing, lacking } => {
                (role == Role::Initiator, missing.len().max(lacking.len()))
            }
        };
        if !allowed {
            return Err(ReconError::UnexpectedMode(i));
        }
        if list > MAX_IDS_PER_RANGE {
            return Err(ReconError::TooManyIds(i));
        }
        out.push(Range { lo, up, mode: &r.mode });
        lo = up;
    }
    Ok(out)
}

/// Answers the ranges of `msg` in order, as `role`, while the answers fit
/// the limits. From the first range whose answer does not fit, the ranges
/// are kept as they came, to be taken up next round: a `Skip` stays a
/// `Skip`, and each run of other ranges becomes one `Fingerprint` of this
/// side's items there. A `Skip` is never folded into a fingerprint: it may
/// be a range the initiator has already settled, and reopening it would
/// have the initiator report the same ids a second time.
pub(super) fn process(
    set: &SyncSet,
    msg: &Message,
    role: Role,
    p: &Params,
) -> Result<Step, ReconError> {
    let ranges = parse(msg, role)?;
    let kept = kept_costs(&ranges);
    let mut out = Builder::new(p);
    let (mut have, mut need) = (Vec::new(), Vec::new());
    let mut answer = Answer::default();
    // Whether an answer has not fitted, and from then on where the open
    // run of kept ranges starts (an index into `set.items`), if one is.
    let mut keeping = false;
    let mut run: Option<usize> = None;
    let mut b = 0;
    for (i, range) in ranges.iter().enumerate() {
        let a = if i == 0 { set.lower(&range.lo) } else { b };
        b = set.lower(&range.up);
        if !keeping {
            answer.clear();
            answer.make(set, (a, b), range, role, p).ok_or(ReconError::UnexpectedMode(i))?;
            if out.fits(&answer.pending, kept[i + 1]) {
                out.append(answer.pending.drain(..));
                have.append(&mut answer.have);
                need.append(&mut answer.need);
                continue;
            }
            keeping = true;
        }
        if *range.mode == Mode::Skip {
            if let Some(start) = run.take() {
                out.append([(range.lo, Mode::Fingerprint(set.range_fingerprint(start, a)))]);
            }
            out.append([(range.up, Mode::Skip)]);
        } else {
            run.get_or_insert(a);
        }
    }
    if let (Some(start), Some(last)) = (run, ranges.last()) {
        out.append([(last.up, Mode::Fingerprint(set.range_fingerprint(start, b)))]);
    }
    Ok(Step { next: out.finish(), have, need })
}

/// This side's answer to one range: the ranges to send in its place, and
/// (for an initiator) the differences it settles.
#[derive(Default)]
pub(super) struct Answer {
    pub(super) pending: Vec<(Bound, Mode)>,
    pub(super) have: Vec<[u8; 32]>,
    pub(super) need: Vec<[u8; 32]>,
}

impl Answer {
    pub(super) fn clear(&mut self) {
        self.pending.clear();
        self.have.clear();
        self.need.clear();
    }

    /// Answers `range`, where this side holds `items[a..b]`; `None` for a
    /// mode this role never gets (which `parse` has refused already).
    pub(super) fn make(
        &mut self,
        set: &SyncSet,
        (a, b): (usize, usize),
        range: &Range<'_>,
        role: Role,
        p: &Params,
    ) -> Option<()> {
        let mine = &set.items[a..b];
        let pending = &mut self.pending;
        match (role, range.mode) {
            (_, Mode::Skip) => pending.push((range.up, Mode::Skip)),
            (_, Mode::Fingerprint(theirs)) => {
                let small = if role == Role::Initiator { p.initiator_ids } else { p.responder_ids };
                if set.range_fingerprint(a, b) == *theirs {
                    pending.push((range.up, Mode::Skip));
                } else if mine.len() <= small {
                    let mode = match role {
                        Role::Initiator => Mode::Prefixes(prefixes(mine)),
                        Role::Responder => Mode::Ids(mine.iter().map(|i| i.id).collect()),
                    };
                    pending.push((range.up, mode));
                } else {
                    split(set, a, b, range.up, p, pending);
                }
            }
            (Role::Responder, Mode::Prefixes(listed)) => {
                if mine.len() > p.diff_cap {
                    split(set, a, b, range.up, p, pending);
                } else {
                    let (missing, lacking) = diff_by_prefix(mine, listed);
                    let mode = if missing.is_empty() && lacking.is_empty() {
                        Mode::Skip
                    } else {
                        Mode::Diff { missing, lacking }
                    };
                    pending.push((range.up, mode));
                }
            }
            (Role::Initiator, Mode::Ids(theirs)) => {
                let (unlisted, unmatched) = diff_by_id(mine, theirs);
                self.have.extend(unlisted);
                self.need.extend(unmatched);
                pending.push((range.up, Mode::Skip));
            }
            (Role::Initiator, Mode::Diff { missing, lacking }) => {
                let (_, really_missing) = diff_by_id(mine, missing);
                self.need.extend(really_missing);
                self.have.extend(ids_with_prefix(mine, lacking));
                pending.push((range.up, Mode::Skip));
            }
            (_, Mode::Prefixes(_) | Mode::Ids(_) | Mode::Diff { .. }) => return None,
        }
        Some(())
    }
}

/// Room taken by a message's ranges, or by part of one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Room {
    pub(super) bytes: usize,
    pub(super) ranges: usize,
}

/// `kept[i]`: the room ranges `i..` take if they are kept as they came
/// (see [`process`]) right after range `i - 1` was answered; `kept[n]` is
/// nothing. Exact for the ranges as they are encoded after an answered
/// range; an overestimate where kept skips merge with answered ones.
pub(super) fn kept_costs(ranges: &[Range<'_>]) -> Vec<Room> {
    let time = |bound: &Bound| match bound {
        Bound::Point(t, _) => *t,
        Bound::Infinity => 0,
    };
    let cost = |lo: &Bound, up: &Bound, mode: &Mode| {
        let (t, len) = wire_bound(up, time(lo));
        wire_len(t, len, mode)
    };
    let n = ranges.len();
    let mut kept = vec![Room::default(); n + 1];
    // The first skip at or after `i`, or `n`.
    let mut next_skip = n;
    for i in (0..n).rev() {
        let r = &ranges[i];
        kept[i] = if *r.mode == Mode::Skip {
            next_skip = i;
            Room { bytes: cost(&r.lo, &r.up, &Mode::Skip), ranges: 1 } + kept[i + 1]
        } else {
            let up = &ranges[next_skip - 1].up;
            Room { bytes: cost(&r.lo, up, &Mode::Fingerprint([0; FINGERPRINT_LEN])), ranges: 1 }
                + kept[next_skip]
        };
    }
    kept
}

impl std::ops::Add for Room {
    type Output = Room;
    fn add(self, other: Room) -> Room {
        Room { bytes: self.bytes + other.bytes, ranges: self.ranges + other.ranges }
    }
}

/// Splits `items[a..b]` (at least two) into `branching` runs of about
/// equal count, each sent with its fingerprint; the last ends at `up`.
pub(super) fn split(
    set: &SyncSet,
    a: usize,
    b: usize,
    up: Bound,
    p: &Params,
    pending: &mut Vec<(Bound, Mode)>,
) {
    let count = b - a;
    let parts = p.branching.min(count).max(1);
    let mut start = a;
    for k in 1..=parts {
        let end = a + k * count / parts;
        let upper =
            if k == parts { up } else { Bound::between(&set.items[end - 1], &set.items[end]) };
        pending.push((upper, Mode::Fingerprint(set.range_fingerprint(start, end))));
        start = end;
    }
}

pub(super) fn prefix(id: &[u8; 32]) -> [u8; PREFIX_LEN] {
    let mut p = [0u8; PREFIX_LEN];
    p.copy_from_slice(&id[..PREFIX_LEN]);
    p
}

pub(super) fn prefixes(items: &[Item]) -> Vec<[u8; PREFIX_LEN]> {
    items.iter().map(|i| prefix(&i.id)).collect()
}

/// Compares `mine` with a list of the peer's prefixes: my ids whose prefix
/// is not listed, and the listed prefixes none of mine has.
pub(super) fn diff_by_prefix(
    mine: &[Item],
    listed: &[[u8; PREFIX_LEN]],
) -> (Vec<[u8; 32]>, Vec<[u8; 16]>) {
    let mut theirs = listed.to_vec();
    theirs.sort_unstable();
    theirs.dedup();
    let mut matched = vec![false; theirs.len()];
    let mut missing = Vec::new();
    for item in mine {
        match theirs.binary_search(&prefix(&item.id)) {
            Ok(k) => matched[k] = true,
            Err(_) => missing.push(item.id),
        }
    }
    let lacking = theirs.iter().zip(&matched).filter(|(_, m)| !**m).map(|(p, _)| *p).collect();
    (missing, lacking)
}

/// Compares `mine` with a list of the peer's ids: my ids not listed, and
/// the listed ids I do not have.
pub(super) fn diff_by_id(mine: &[Item], listed: &[[u8; 32]]) -> (Vec<[u8; 32]>, Vec<[u8; 32]>) {
    let mut theirs = listed.to_vec();
    theirs.sort_unstable();
    theirs.dedup();
    let mut matched = vec![false; theirs.len()];
    let mut unlisted = Vec::new();
    for item in mine {
        match theirs.binary_search(&item.id) {
            Ok(k) => matched[k] = true,
            Err(_) => unlisted.push(item.id),
        }
    }
    let unmatched = theirs.iter().zip(&matched).filter(|(_, m)| !**m).map(|(id, _)| *id).collect();
    (unlisted, unmatched)
}

/// My ids whose prefix is in `wanted`.
pub(super) fn ids_with_prefix(mine: &[Item], wanted: &[[u8; PREFIX_LEN]]) -> Vec<[u8; 32]> {
    let mut wanted = wanted.to_vec();
    wanted.sort_unstable();
    mine.iter().filter(|i| wanted.binary_search(&prefix(&i.id)).is_ok()).map(|i| i.id).collect()
}

/// An outgoing message under construction, within the limits of `Params`.
pub(super) struct Builder<'p> {
    pub(super) p: &'p Params,
    pub(super) ranges: Vec<WireRange>,
    /// Bytes of `ranges` (without the count in front).
    pub(super) bytes: usize,
    /// Time of the last bound, and of the one before it.
    pub(super) last_time: u64,
    pub(super) time_before_last: u64,
    /// Whether anything other than a skip is there.
    pub(super) answered: bool,
}

impl<'p> Builder<'p> {
    pub(super) fn new(p: &'p Params) -> Self {
        Self { p, ranges: Vec::new(), bytes: 0, last_time: 0, time_before_last: 0, answered: false }
    }

    /// Whether `entries` fit after what is there, with `then` still to
    /// come. Overestimates a little (adjacent skips merge). Always true
    /// until something other than a skip is there, so that every message
    /// answers at least one range whatever its size.
    pub(super) fn fits(&self, entries: &[(Bound, Mode)], then: Room) -> bool {
        if !self.answered {
            return true;
        }
        let mut prev = self.last_time;
        let mut bytes = 0;
        for (bound, mode) in entries {
            let (time, len) = wire_bound(bound, prev);
            bytes += wire_len(time, len, mode);
            if let Bound::Point(t, _) = bound {
                prev = *t;
            }
        }
        let ranges = self.ranges.len() + entries.len() + then.ranges;
        self.bytes + bytes + then.bytes + varint_len(ranges as u64) <= self.p.max_bytes
            && ranges <= self.p.max_ranges
    }

    pub(super) fn append(&mut self, entries: impl IntoIterator<Item = (Bound, Mode)>) {
        for (bound, mode) in entries {
            let merge =
                mode == Mode::Skip && self.ranges.last().is_some_and(|r| r.mode == Mode::Skip);
            if merge {
                if let Some(last) = self.ranges.pop() {
                    self.bytes -= wire_len(last.time, last.prefix.len(), &last.mode);
                }
                self.last_time = self.time_before_last;
            }
            let (time, len) = wire_bound(&bound, self.last_time);
            let prefix = match &bound {
                Bound::Point(t, id) => {
                    self.time_before_last = self.last_time;
                    self.last_time = *t;
                    id[..len].to_vec()
                }
                Bound::Infinity => Vec::new(),
            };
            self.bytes += wire_len(time, len, &mode);
            self.answered |= mode != Mode::Skip;
            self.ranges.push(WireRange { time, prefix, mode });
        }
    }

    /// The message, or `None` if it would say nothing (trailing skips are
    /// implied).
    pub(super) fn finish(mut self) -> Option<Message> {
        while self.ranges.last().is_some_and(|r| r.mode == Mode::Skip) {
            self.ranges.pop();
        }
        if self.ranges.is_empty() { None } else { Some(Message { ranges: self.ranges }) }
    }
}
