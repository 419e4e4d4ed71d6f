//! RFC 6962 (Certificate Transparency) Merkle tree math: tree hashes,
//! inclusion and consistency proofs, and an incremental [`Frontier`].
//!
//! ```rust
//! use curbside_protocol::merkle::{self, Frontier, Hash};
//!
//! let leaves: Vec<Hash> = [&b"a"[..], b"b", b"c"].iter().map(|d| merkle::leaf_hash(d)).collect();
//! let root = merkle::root(&leaves);
//!
//! // Leaf 1 is in the tree of 3 leaves.
//! let proof = merkle::inclusion_proof(&leaves, 1, 3)?;
//! merkle::verify_inclusion(&leaves[1], 1, 3, &proof, &root)?;
//!
//! // The tree of 2 leaves is a prefix of the tree of 3.
//! let old_root = merkle::root(&leaves[..2]);
//! let proof = merkle::consistency_proof(&leaves, 2, 3)?;
//! merkle::verify_consistency(2, 3, &old_root, &root, &proof)?;
//!
//! // A frontier reaches the same root without keeping the leaves.
//! let mut frontier = Frontier::new();
//! for leaf in &leaves {
//!     frontier.push(*leaf)?;
//! }
//! assert_eq!(frontier.root(), root);
//! # Ok::<(), merkle::MerkleError>(())
//! ```
//!
//! Hashing is SHA-256 with the RFC 6962 domain separation: a leaf is
//! `SHA-256(0x00 || data)` and an interior node `SHA-256(0x01 || left || right)`,
//! so a leaf can never be passed off as a node or the other way round. Proof
//! verification follows RFC 9162 §2.1.3.2 and §2.1.4.2, the iterative form of
//! RFC 6962's definitions, so our proofs interoperate with other CT-style logs.
//!
//! The module is pure: no I/O, no storage, no HTTP. Leaves come in through
//! the [`LeafHashes`] trait, so a store can serve them however it likes.
//! Verification takes its inputs from the network, so it never panics and
//! never overflows: every bad input is a [`MerkleError`].

use sha2::{Digest as _, Sha256};

mod frontier;
mod log;

pub use frontier::Frontier;
pub use log::MerkleLog;

/// A 32-byte SHA-256 node or leaf hash.
pub type Hash = [u8; 32];

/// Why a Merkle operation was refused or a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// A leaf index is not inside the tree it should be in.
    #[error("leaf index {index} is out of range for a tree of {size} leaves")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The size of the tree.
        size: u64,
    },
    /// A proof was asked for a tree larger than the leaves on hand.
    #[error("tree size {size} is larger than the {available} leaves available")]
    SizeBeyondLog {
        /// The tree size asked for.
        size: u64,
        /// How many leaves the [`LeafHashes`] source has.
        available: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizeOrder {
        /// The old (first) tree size.
        old: u64,
        /// The new (second) tree size.
        new: u64,
    },
    /// A consistency proof from the empty tree: RFC 9162 leaves it undefined,
    /// and an empty tree proves nothing, so we refuse it rather than accept
    /// any root.
    #[error("a consistency proof from the empty tree is not defined")]
    EmptyOldTree,
    /// The proof does not have the number of hashes its sizes call for.
    #[error("proof has {got} hashes, expected {expected}")]
    WrongProofLength {
        /// The length the tree sizes (and index) determine.
        expected: usize,
        /// The length received.
        got: usize,
    },
    /// The proof is well formed but leads to a different root: the leaf is
    /// not in the tree, or the two trees are not consistent.
    #[error("the proof does not lead to the expected root hash")]
    RootMismatch,
    /// Frontier parts whose hash count does not match the size: a frontier
    /// of `size` leaves holds one hash per set bit of `size`.
    #[error("a frontier of {size} leaves needs {expected} hashes, got {got}")]
    InvalidFrontier {
        /// The size given.
        size: u64,
        /// The number of hashes that size needs.
        expected: usize,
        /// The number of hashes given.
        got: usize,
    },
    /// The frontier already holds `u64::MAX` leaves and cannot count another.
    #[error("the frontier is full: it cannot hold more than u64::MAX leaves")]
    FrontierFull,
}

/// The RFC 6962 leaf hash: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new().chain_update([0x00]).chain_update(data).finalize().into()
}

/// The RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new().chain_update([0x01]).chain_update(left).chain_update(right).finalize().into()
}

/// The root of the empty tree: `SHA-256("")`, with no prefix byte.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Anything that can give the hash of leaf i (0-based) of a log of `size()` leaves.
///
/// Proof generation reads leaves only through this trait, so a store can
/// serve them from memory, disk or a cache without this module knowing.
pub trait LeafHashes {
    /// The number of leaves available.
    fn size(&self) -> u64;
    /// The leaf hash at `index`. Callers here only ask for `index < size()`;
    /// an implementation may panic otherwise, as slice indexing does.
    fn leaf_hash(&self, index: u64) -> Hash;

    /// The root of the perfect subtree of `2^level` leaves that starts at
    /// leaf `index << level`, if this source keeps interior hashes (as
    /// [`MerkleLog`] does); `None` makes the caller compute it from the
    /// leaves. Callers only ask for subtrees within `size()`.
    fn perfect_subtree(&self, level: u32, index: u64) -> Option<Hash> {
        let _ = (level, index);
        None
    }
}

impl LeafHashes for [Hash] {
    fn size(&self) -> u64 {
        // usize is at most 64 bits on every target Rust supports.
        self.len() as u64
    }

    fn leaf_hash(&self, index: u64) -> Hash {
        // `index < size()`, and size() came from a usize, so this is lossless.
        self[index as usize]
    }
}

impl LeafHashes for Vec<Hash> {
    fn size(&self) -> u64 {
        self.as_slice().size()
    }

    fn leaf_hash(&self, index: u64) -> Hash {
        self.as_slice().leaf_hash(index)
    }
}

/// The largest power of two strictly less than `n`; `n` must be at least 2.
/// RFC 6962 splits every tree of `n` leaves there: the left part is a
/// perfect subtree, the right part holds the rest.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The Merkle tree hash (MTH) of all leaves; [`empty_root`] when there are none.
pub fn root(leaves: &(impl LeafHashes + ?Sized)) -> Hash {
    subtree_root(leaves, 0, leaves.size())
}

/// The Merkle tree hash of `leaves[start..end]`, as if those leaves were a
/// tree of their own. Takes `end - start` leaf reads and about as many hashes.
///
/// # Panics
///
/// If `start > end` or `end > leaves.size()`: that is a bug in the caller,
/// never network input (proof generation checks sizes first).
pub fn subtree_root(leaves: &(impl LeafHashes + ?Sized), start: u64, end: u64) -> Hash {
    assert!(
        start <= end && end <= leaves.size(),
        "subtree range {start}..{end} is not within {} leaves",
        leaves.size()
    );
    mth(leaves, start, end)
}

/// RFC 6962 §2.1 MTH, recursing at most 64 deep (one level per bit of size).
fn mth<L: LeafHashes + ?Sized>(leaves: &L, start: u64, end: u64) -> Hash {
    match end - start {
        0 => empty_root(),
        1 => leaves.leaf_hash(start),
        n if n.is_power_of_two() && start.is_multiple_of(n) => {
            let level = n.trailing_zeros();
            match leaves.perfect_subtree(level, start >> level) {
                Some(hash) => hash,
                None => {
                    let mid = start + n / 2;
                    node_hash(&mth(leaves, start, mid), &mth(leaves, mid, end))
                }
            }
        }
        n => {
            let mid = start + split_point(n);
            node_hash(&mth(leaves, start, mid), &mth(leaves, mid, end))
        }
    }
}

/// The inclusion proof for leaf `index` in the tree of the first `size`
/// leaves: RFC 6962 §2.1.1 PATH, sibling hashes ordered from the leaf up.
///
/// Costs one [`subtree_root`] per tree level; their ranges are disjoint, so
/// the total work is at most `size` leaf reads and hashes.
pub fn inclusion_proof(
    leaves: &(impl LeafHashes + ?Sized),
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, MerkleError> {
    check_available(leaves, size)?;
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    // Walk down from the root, keeping [lo, hi) the subtree holding `index`
    // and recording the sibling subtree we leave behind at each level.
    let mut proof = Vec::new();
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        if index < mid {
            proof.push(mth(leaves, mid, hi));
            hi = mid;
        } else {
            proof.push(mth(leaves, lo, mid));
            lo = mid;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves
/// whose root is `root`, using `proof` (RFC 9162 §2.1.3.2).
///
/// The proof binds the leaf to the root and the index; the size only shapes
/// the path. Take `size` and `root` from the same signed tree head.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(MerkleError::WrongProofLength { expected, got: proof.len() });
    }
    // `f` is the index of the node we have so far, `s` the index of the last
    // node on that level; both shift up one level per step.
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s == 0 {
            return Err(MerkleError::WrongProofLength { expected, got: proof.len() });
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            // On the right edge a node without a sibling moves up unchanged.
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(MerkleError::WrongProofLength { expected, got: proof.len() });
    }
    if r != *root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

/// The consistency proof that the tree of the first `old_size` leaves is a
/// prefix of the tree of the first `new_size` leaves: RFC 6962 §2.1.2
/// PROOF/SUBPROOF.
///
/// `old_size == new_size` gives the empty proof. `old_size == 0` is
/// [`MerkleError::EmptyOldTree`]: RFC 9162 does not define that proof, and
/// every tree extends the empty tree, so there is nothing to prove.
pub fn consistency_proof(
    leaves: &(impl LeafHashes + ?Sized),
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, MerkleError> {
    if old_size > new_size {
        return Err(MerkleError::SizeOrder { old: old_size, new: new_size });
    }
    check_available(leaves, new_size)?;
    if old_size == 0 {
        return Err(MerkleError::EmptyOldTree);
    }
    // SUBPROOF(m, D[lo..hi], b) unrolled: `whole` is b, "the old tree is
    // exactly a subtree we will have visited", whose root the verifier knows.
    let mut proof = Vec::new();
    let (mut lo, mut hi, mut whole) = (0, new_size, true);
    // Invariant: lo < old_size <= hi, so hi - lo >= 2 inside the loop.
    while old_size != hi {
        let mid = lo + split_point(hi - lo);
        if old_size <= mid {
            proof.push(mth(leaves, mid, hi));
            hi = mid;
        } else {
            proof.push(mth(leaves, lo, mid));
            lo = mid;
            whole = false;
        }
    }
    if !whole {
        proof.push(mth(leaves, lo, hi));
    }
    proof.reverse();
    Ok(proof)
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a
/// prefix of the tree of `new_size` leaves with root `new_root`
/// (RFC 9162 §2.1.4.2).
///
/// Equal sizes are consistent iff the roots are equal and the proof is
/// empty. `old_size == 0` is [`MerkleError::EmptyOldTree`], as in
/// [`consistency_proof`].
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    if old_size > new_size {
        return Err(MerkleError::SizeOrder { old: old_size, new: new_size });
    }
    if old_size == 0 {
        return Err(MerkleError::EmptyOldTree);
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(MerkleError::WrongProofLength { expected: 0, got: proof.len() });
        }
        if old_root != new_root {
            return Err(MerkleError::RootMismatch);
        }
        return Ok(());
    }
    let expected = consistency_proof_len(old_size, new_size);
    let wrong_length = MerkleError::WrongProofLength { expected, got: proof.len() };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    // When the old tree is a perfect subtree the proof leaves out its root,
    // because the verifier already has it.
    let (seed, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (first, rest),
            None => return Err(wrong_length),
        }
    };
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    // `fr` rebuilds the old root, `sr` the new one, from the same hashes.
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if s == 0 {
            return Err(wrong_length);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(wrong_length);
    }
    if fr != *old_root || sr != *new_root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

fn check_available(leaves: &(impl LeafHashes + ?Sized), size: u64) -> Result<(), MerkleError> {
    let available = leaves.size();
    if size > available {
        return Err(MerkleError::SizeBeyondLog { size, available });
    }
    Ok(())
}

/// The number of bits needed to write `x` (0 for 0).
fn bit_len(x: u64) -> u32 {
    u64::BITS - x.leading_zeros()
}

/// The length of the inclusion proof for `index < size`: the levels where
/// the path to the leaf and the path to the last leaf differ (`inner`),
/// plus one hash per perfect subtree to the left above that (`border`).
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let inner = bit_len(index ^ (size - 1));
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// The length of the consistency proof for `0 < old < new`: the inclusion
/// proof of the old tree's last leaf, less the levels inside the old tree's
/// last perfect subtree, plus that subtree's root unless it is the old root.
fn consistency_proof_len(old: u64, new: u64) -> usize {
    let inner = bit_len((old - 1) ^ (new - 1));
    let border = (old - 1).checked_shr(inner).unwrap_or(0).count_ones();
    // The shift is always below `inner` when old < new; saturate anyway.
    let inner = inner.saturating_sub(old.trailing_zeros());
    let seed = u32::from(!old.is_power_of_two());
    (seed + inner + border) as usize
}

#[cfg(test)]
mod tests;
