//! Items, their sums and fingerprints, and the indexed set a peer reconciles.

use std::fmt;

use sha2::{Digest as _, Sha256};

use super::FINGERPRINT_LEN;
use super::message::Bound;

/// One element of a set: an event's creation time and its id, ordered by
/// time, then id.
///
/// A time of `u64::MAX` is reserved (bounds above every item need it); a
/// [`SyncSet`] ignores such items. Validation refuses events from the
/// future, so none is ever stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Item {
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// The event id.
    pub id: [u8; 32],
}

impl Item {
    /// An item.
    pub const fn new(created_at_ms: u64, id: [u8; 32]) -> Self {
        Self { created_at_ms, id }
    }
}

impl From<(u64, [u8; 32])> for Item {
    fn from((created_at_ms, id): (u64, [u8; 32])) -> Self {
        Self { created_at_ms, id }
    }
}

/// A sum of ids, as little-endian 256-bit integers, modulo 2^256.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Sum([u64; 4]);

impl Sum {
    pub(super) const ZERO: Sum = Sum([0; 4]);

    pub(super) fn limbs(id: &[u8; 32]) -> [u64; 4] {
        let mut limbs = [0u64; 4];
        for (limb, bytes) in limbs.iter_mut().zip(id.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(bytes);
            *limb = u64::from_le_bytes(b);
        }
        limbs
    }

    #[inline]
    pub(super) fn add_limbs(&mut self, other: [u64; 4]) {
        let mut carry = false;
        for (a, b) in self.0.iter_mut().zip(other) {
            let (s, c1) = a.overflowing_add(b);
            let (s, c2) = s.overflowing_add(u64::from(carry));
            *a = s;
            carry = c1 | c2;
        }
    }

    #[inline]
    pub(super) fn sub_limbs(&mut self, other: [u64; 4]) {
        let mut borrow = false;
        for (a, b) in self.0.iter_mut().zip(other) {
            let (s, b1) = a.overflowing_sub(b);
            let (s, b2) = s.overflowing_sub(u64::from(borrow));
            *a = s;
            borrow = b1 | b2;
        }
    }

    #[inline]
    pub(super) fn add(&mut self, id: &[u8; 32]) {
        self.add_limbs(Self::limbs(id));
    }

    #[inline]
    pub(super) fn sub(&mut self, id: &[u8; 32]) {
        self.sub_limbs(Self::limbs(id));
    }

    pub(super) fn to_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, limb) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&limb.to_le_bytes());
        }
        out
    }
}

/// The fingerprint of a range holding `count` items whose ids sum to `sum`:
/// the first 16 bytes of `SHA-256(sum as 32 bytes little-endian ‖ count as
/// 8 bytes little-endian)`.
pub(super) fn fingerprint(sum: Sum, count: u64) -> [u8; FINGERPRINT_LEN] {
    let mut h = Sha256::new();
    h.update(sum.to_bytes());
    h.update(count.to_le_bytes());
    let digest: [u8; 32] = h.finalize().into();
    let mut fp = [0u8; FINGERPRINT_LEN];
    fp.copy_from_slice(&digest[..FINGERPRINT_LEN]);
    fp
}

/// Items per block of the prefix-sum index.
pub(super) const BLOCK: usize = 32;

/// One scope's items, sorted and without duplicates, with an index that
/// makes a range's fingerprint cost O(log n + 32) whatever its size.
///
/// Memory: 40 bytes per item plus 1 byte per item of index (one 32-byte
/// sum per 32 items), plus the `Vec`'s spare capacity.
///
/// [`insert`](Self::insert) is cheap for items at or near the end (the
/// usual case: events arrive roughly in time order); an item `k` places
/// from the end costs a move of `k` items and `k / 32` index updates. Many
/// items at once are better added with [`extend`](Extend::extend), which
/// merges in one pass.
#[derive(Clone)]
pub struct SyncSet {
    pub(super) items: Vec<Item>,
    /// `blocks[j]` is the sum of `items[..j * BLOCK]`; there are
    /// `items.len() / BLOCK + 1` of them.
    pub(super) blocks: Vec<Sum>,
}

impl fmt::Debug for SyncSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncSet").field("len", &self.items.len()).finish_non_exhaustive()
    }
}

impl Default for SyncSet {
    fn default() -> Self {
        Self::new()
    }
}

impl FromIterator<Item> for SyncSet {
    fn from_iter<I: IntoIterator<Item = Item>>(iter: I) -> Self {
        Self::from_items(iter)
    }
}

impl Extend<Item> for SyncSet {
    /// Adds many items in one pass: sorts the new ones, then merges them in
    /// from the back, then rebuilds the index from the first changed block.
    fn extend<I: IntoIterator<Item = Item>>(&mut self, iter: I) {
        let mut new: Vec<Item> = iter.into_iter().filter(|i| i.created_at_ms != u64::MAX).collect();
        new.sort_unstable();
        new.dedup();
        new.retain(|i| self.items.binary_search(i).is_err());
        let Some(first) = new.first() else { return };
        let first_changed = self.items.partition_point(|i| i < first);
        let old_len = self.items.len();
        self.items.resize(old_len + new.len(), Item::default());
        // Merge from the back: `w` is the next slot to write.
        let (mut i, mut w) = (old_len, self.items.len());
        while let Some(n) = new.last() {
            if i > first_changed && self.items[i - 1] > *n {
                i -= 1;
                w -= 1;
                self.items[w] = self.items[i];
            } else {
                w -= 1;
                self.items[w] = *n;
                new.pop();
            }
        }
        self.rebuild_blocks_from(first_changed / BLOCK);
    }
}

impl SyncSet {
    /// An empty set.
    pub fn new() -> Self {
        Self { items: Vec::new(), blocks: vec![Sum::ZERO] }
    }

    /// A set of these items, in any order; duplicates count once.
    pub fn from_items<I: IntoIterator<Item = Item>>(items: I) -> Self {
        let mut items: Vec<Item> =
            items.into_iter().filter(|i| i.created_at_ms != u64::MAX).collect();
        // Already sorted input (items read from a time index) is detected
        // in one pass.
        if !items.is_sorted() {
            items.sort_unstable();
        }
        items.dedup();
        items.shrink_to_fit();
        let mut set = Self { items, blocks: Vec::new() };
        set.rebuild_blocks_from(0);
        set
    }

    /// Recomputes `blocks[from..]`.
    pub(super) fn rebuild_blocks_from(&mut self, from: usize) {
        let count = self.items.len() / BLOCK + 1;
        self.blocks.truncate((from + 1).min(count));
        if self.blocks.is_empty() {
            self.blocks.push(Sum::ZERO);
        }
        self.blocks.reserve_exact(count - self.blocks.len());
        let mut sum = self.blocks.last().copied().unwrap_or_default();
        let start = (self.blocks.len() - 1) * BLOCK;
        for chunk in self.items[start..].chunks_exact(BLOCK) {
            for item in chunk {
                sum.add(&item.id);
            }
            self.blocks.push(sum);
        }
    }

    /// Adds an item; returns whether it was new (false for a duplicate or
    /// a reserved time of `u64::MAX`).
    pub fn insert(&mut self, item: Item) -> bool {
        if item.created_at_ms == u64::MAX {
            return false;
        }
        let pos = match self.items.last() {
            Some(last) if *last < item => self.items.len(),
            None => 0,
            Some(_) => match self.items.binary_search(&item) {
                Ok(_) => return false,
                Err(pos) => pos,
            },
        };
        self.items.insert(pos, item);
        // Every block boundary after `pos` moved one item: the new item
        // came in and the item now at the boundary went out.
        for j in pos / BLOCK + 1..self.blocks.len() {
            let out = self.items[j * BLOCK].id;
            let block = &mut self.blocks[j];
            block.add(&item.id);
            block.sub(&out);
        }
        if self.items.len().is_multiple_of(BLOCK) {
            let mut sum = self.blocks.last().copied().unwrap_or_default();
            for i in &self.items[self.items.len() - BLOCK..] {
                sum.add(&i.id);
            }
            self.blocks.push(sum);
        }
        true
    }

    /// Removes an item; returns whether it was there. (An event deleted by
    /// its retraction leaves the set, so that peers that deleted it agree.)
    pub fn remove(&mut self, item: &Item) -> bool {
        let Ok(pos) = self.items.binary_search(item) else { return false };
        self.items.remove(pos);
        self.rebuild_blocks_from(pos / BLOCK);
        true
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether the set holds this item.
    pub fn contains(&self, item: &Item) -> bool {
        self.items.binary_search(item).is_ok()
    }

    /// The items, in order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The fingerprint of the whole set (of the range from the start to
    /// infinity): equal sets have equal fingerprints.
    pub fn fingerprint(&self) -> [u8; FINGERPRINT_LEN] {
        self.range_fingerprint(0, self.items.len())
    }

    /// Heap memory held, in bytes (capacity, not length).
    pub fn heap_bytes(&self) -> usize {
        self.items.capacity() * size_of::<Item>() + self.blocks.capacity() * size_of::<Sum>()
    }

    /// The sum of the ids of `items[..i]`.
    pub(super) fn prefix_sum(&self, i: usize) -> Sum {
        let j = i / BLOCK;
        let start = j * BLOCK;
        match (self.blocks.get(j), self.blocks.get(j + 1)) {
            (Some(_), Some(&next)) if i - start > BLOCK / 2 => {
                let mut sum = next;
                for item in &self.items[i..start + BLOCK] {
                    sum.sub(&item.id);
                }
                sum
            }
            (Some(&sum), _) => {
                let mut sum = sum;
                for item in &self.items[start..i] {
                    sum.add(&item.id);
                }
                sum
            }
            // `i` is never past the end; stay total anyway.
            (None, _) => Sum::ZERO,
        }
    }

    /// The sum of the ids of `items[a..b]`.
    pub(super) fn range_sum(&self, a: usize, b: usize) -> Sum {
        if b - a <= BLOCK {
            let mut sum = Sum::ZERO;
            for item in &self.items[a..b] {
                sum.add(&item.id);
            }
            sum
        } else {
            let mut sum = self.prefix_sum(b);
            sum.sub_limbs(self.prefix_sum(a).0);
            sum
        }
    }

    pub(super) fn range_fingerprint(&self, a: usize, b: usize) -> [u8; FINGERPRINT_LEN] {
        fingerprint(self.range_sum(a, b), (b - a) as u64)
    }

    /// How many items lie below `bound`.
    pub(super) fn lower(&self, bound: &Bound) -> usize {
        match bound {
            Bound::Infinity => self.items.len(),
            Bound::Point(t, id) => {
                self.items.partition_point(|i| (i.created_at_ms, &i.id) < (*t, id))
            }
        }
    }
}
