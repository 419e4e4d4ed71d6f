//! The [`MerkleLog`]: every interior hash kept, so roots and proofs of any
//! prefix are cheap.

use super::{Hash, LeafHashes, node_hash, root, subtree_root};

/// An append-only log held in memory with every interior hash of its
/// perfect subtrees, so that roots of any prefix and proofs cost
/// O(log² n) hashes instead of O(n): what a node keeps per verifier.
///
/// `levels[k][i]` is the root of leaves `i·2^k .. (i+1)·2^k`; level 0 is
/// the leaf hashes. Memory is about two hashes per leaf.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MerkleLog {
    levels: Vec<Vec<Hash>>,
}

impl MerkleLog {
    /// The empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// A log of these leaf hashes.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut log = Self::new();
        for leaf in leaves {
            log.push(leaf);
        }
        log
    }

    /// The number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Whether the log has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a leaf hash (already [`leaf_hash`](super::leaf_hash)ed): at most one hash per level.
    pub fn push(&mut self, leaf_hash: Hash) {
        let mut carry = leaf_hash;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(carry);
            if row.len() % 2 == 1 {
                break;
            }
            carry = node_hash(&row[row.len() - 2], &row[row.len() - 1]);
            level += 1;
        }
    }

    /// The root of the first `size` leaves, or `None` if the log is shorter.
    pub fn root_at(&self, size: u64) -> Option<Hash> {
        (size <= self.len()).then(|| subtree_root(self, 0, size))
    }

    /// The root of every leaf.
    pub fn root(&self) -> Hash {
        root(self)
    }
}

impl LeafHashes for MerkleLog {
    fn size(&self) -> u64 {
        self.len()
    }

    fn leaf_hash(&self, index: u64) -> Hash {
        // `index < size()`, which came from a usize.
        self.levels[0][index as usize]
    }

    fn perfect_subtree(&self, level: u32, index: u64) -> Option<Hash> {
        self.levels.get(level as usize)?.get(usize::try_from(index).ok()?).copied()
    }
}
