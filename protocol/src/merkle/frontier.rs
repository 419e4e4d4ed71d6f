//! The [`Frontier`]: the root after every append, in O(log n) memory.

use super::{Hash, MerkleError, empty_root, node_hash};

/// Incremental append-only accumulator: keeps only the right-edge
/// "frontier" of perfect subtrees, so it gives the root after each append in
/// O(log n) memory without rereading leaves. A node keeps one per verifier
/// log.
///
/// A tree of `size` leaves splits into one perfect subtree per set bit of
/// `size`, largest (leftmost) first; the frontier holds their roots in that
/// order. Appending a leaf merges equal-sized subtrees the way binary
/// addition carries, so a push costs at most 64 hashes and one on average.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// Perfect-subtree roots, largest first; `hashes.len() == size.count_ones()`.
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash (already [`leaf_hash`](super::leaf_hash)ed).
    ///
    /// Fails with [`MerkleError::FrontierFull`], changing nothing, if the
    /// frontier already holds `u64::MAX` leaves. Appending never gets there;
    /// restored [`Frontier::from_parts`] can, and a corrupt store must not
    /// be able to panic the node, so the one impossible case is an error.
    pub fn push(&mut self, leaf_hash: Hash) -> Result<(), MerkleError> {
        let new_size = self.size.checked_add(1).ok_or(MerkleError::FrontierFull)?;
        let mut carry = leaf_hash;
        // Each trailing one bit of the old size is a subtree the same size
        // as `carry`: merge them, as a carry ripples through an addition.
        let mut bits = self.size;
        while bits & 1 == 1 {
            match self.hashes.pop() {
                Some(left) => carry = node_hash(&left, &carry),
                None => break, // unreachable: one hash per set bit
            }
            bits >>= 1;
        }
        self.hashes.push(carry);
        self.size = new_size;
        Ok(())
    }

    /// The root of the tree of all leaves pushed so far; [`empty_root`] if none.
    pub fn root(&self) -> Hash {
        // MTH nests right to left: the smallest subtrees hash together first.
        let mut iter = self.hashes.iter().rev();
        let Some(last) = iter.next() else {
            return empty_root();
        };
        iter.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// The size and perfect-subtree roots (largest first), so a store can
    /// persist the frontier and rebuild it with [`Frontier::from_parts`].
    pub fn to_parts(&self) -> (u64, Vec<Hash>) {
        (self.size, self.hashes.clone())
    }

    /// Rebuilds a frontier from [`Frontier::to_parts`]. Fails with
    /// [`MerkleError::InvalidFrontier`] unless there is exactly one hash per
    /// set bit of `size`; the hashes themselves cannot be checked here.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Self, MerkleError> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(MerkleError::InvalidFrontier { size, expected, got: hashes.len() });
        }
        Ok(Self { size, hashes })
    }
}
