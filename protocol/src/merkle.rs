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

    /// Appends a leaf hash (already [`leaf_hash`]ed).
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

    /// Appends a leaf hash (already [`leaf_hash`]ed): at most one hash per level.
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // ---- Published reference vectors -------------------------------------
    // From transparency-dev/merkle (the Go successor of the C++/Go CT
    // `merkle_tree_test`): testonly/constants.go (leaf inputs, node hashes,
    // root hashes, compact trees), testonly/reference_test.go
    // (TestRefInclusionProof, TestRefConsistencyProof), proof/verify_test.go
    // (adds the 6 -> 7 consistency proof) and rfc6962/rfc6962_test.go.

    const LEAF_INPUTS: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    /// NodeHashes(): [level][index] for every perfect subtree of the 8 leaves.
    const NODE_HASHES: [&[&str]; 4] = [
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        ],
        &[
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        ],
        &[
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
        &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
    ];

    /// RootHashes(): the root of the first `size` leaves, size 0..=8.
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// (index, size, proof) from TestRefInclusionProof.
    const INCLUSION: &[(u64, u64, &[&str])] = &[
        (0, 1, &[]),
        (0, 2, &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"]),
        (1, 2, &["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"]),
        (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];

    /// (old_size, new_size, proof) from TestRefConsistencyProof, plus 6 -> 7
    /// from proof/verify_test.go.
    const CONSISTENCY: &[(u64, u64, &[&str])] = &[
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];

    fn h(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    fn hs(list: &[&str]) -> Vec<Hash> {
        list.iter().map(|s| h(s)).collect()
    }

    fn ref_leaves() -> Vec<Hash> {
        LEAF_INPUTS.iter().map(|s| leaf_hash(&hex::decode(s).unwrap())).collect()
    }

    fn flip(hash: &Hash, bit: usize) -> Hash {
        let mut out = *hash;
        out[bit / 8] ^= 1 << (bit % 8);
        out
    }

    // ---- Independent reference implementation ----------------------------
    // A direct transcription of RFC 6962 §2.1 over slices, sharing no code
    // with the module beyond the two hash functions.

    fn ref_split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn ref_root(d: &[Hash]) -> Hash {
        match d.len() {
            0 => empty_root(),
            1 => d[0],
            n => {
                let k = ref_split(n);
                node_hash(&ref_root(&d[..k]), &ref_root(&d[k..]))
            }
        }
    }

    fn ref_path(m: usize, d: &[Hash]) -> Vec<Hash> {
        if d.len() <= 1 {
            return vec![];
        }
        let k = ref_split(d.len());
        let (mut path, sibling) = if m < k {
            (ref_path(m, &d[..k]), ref_root(&d[k..]))
        } else {
            (ref_path(m - k, &d[k..]), ref_root(&d[..k]))
        };
        path.push(sibling);
        path
    }

    fn ref_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        if m == d.len() {
            return if b { vec![] } else { vec![ref_root(d)] };
        }
        let k = ref_split(d.len());
        let (mut proof, other) = if m <= k {
            (ref_subproof(m, &d[..k], b), ref_root(&d[k..]))
        } else {
            (ref_subproof(m - k, &d[k..], false), ref_root(&d[..k]))
        };
        proof.push(other);
        proof
    }

    // ---- Corruption probes (after proof/verify_test.go) ------------------

    /// Every probe must be refused. Flips every bit when `bits` is None,
    /// else just that bit, in each proof hash, the leaf and the root.
    fn assert_inclusion_probes_fail(
        leaf: &Hash,
        index: u64,
        size: u64,
        proof: &[Hash],
        root: &Hash,
        bits: Option<usize>,
    ) {
        let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
        let zero = [0u8; 32];
        let with = |front: Option<Hash>, back: Option<Hash>| -> Vec<Hash> {
            front.into_iter().chain(proof.iter().copied()).chain(back).collect()
        };
        let mut probes: Vec<(String, Hash, u64, u64, Vec<Hash>, Hash)> = vec![
            ("index + 1".into(), *leaf, index + 1, size, proof.to_vec(), *root),
            ("index ^ 2".into(), *leaf, index ^ 2, size, proof.to_vec(), *root),
            ("size * 2".into(), *leaf, index, size * 2, proof.to_vec(), *root),
            ("size / 2".into(), *leaf, index, size / 2, proof.to_vec(), *root),
            ("wrong leaf".into(), leaf_hash(b"WrongLeaf"), index, size, proof.to_vec(), *root),
            ("empty root".into(), *leaf, index, size, proof.to_vec(), empty_root()),
            ("random root".into(), *leaf, index, size, proof.to_vec(), some),
            ("trailing zero".into(), *leaf, index, size, with(None, Some(zero)), *root),
            ("trailing root".into(), *leaf, index, size, with(None, Some(*root)), *root),
            ("preceding zero".into(), *leaf, index, size, with(Some(zero), None), *root),
            ("preceding root".into(), *leaf, index, size, with(Some(*root), None), *root),
        ];
        if index > 0 {
            probes.push(("index - 1".into(), *leaf, index - 1, size, proof.to_vec(), *root));
        }
        if let Some((_, rest)) = proof.split_last() {
            probes.push(("removed".into(), *leaf, index, size, rest.to_vec(), *root));
        }
        if proof.len() > 1 {
            let mut inserted = proof.to_vec();
            inserted.insert(1, some);
            probes.push(("inserted".into(), *leaf, index, size, inserted, *root));
        }
        let bit_list: Vec<usize> = bits.map_or((0..256).collect(), |b| vec![b]);
        for &bit in &bit_list {
            for i in 0..proof.len() {
                let mut p = proof.to_vec();
                p[i] = flip(&p[i], bit);
                probes.push((format!("proof[{i}] bit {bit}"), *leaf, index, size, p, *root));
            }
            let p = proof.to_vec();
            probes.push((
                format!("leaf bit {bit}"),
                flip(leaf, bit),
                index,
                size,
                p.clone(),
                *root,
            ));
            probes.push((format!("root bit {bit}"), *leaf, index, size, p, flip(root, bit)));
        }
        for (desc, leaf, index, size, proof, root) in probes {
            assert!(
                verify_inclusion(&leaf, index, size, &proof, &root).is_err(),
                "inclusion probe {desc} verified"
            );
        }
    }

    fn assert_consistency_probes_fail(
        old: u64,
        new: u64,
        old_root: &Hash,
        new_root: &Hash,
        proof: &[Hash],
        bits: Option<usize>,
    ) {
        let (r1, r2) = (*old_root, *new_root);
        let zero = [0u8; 32];
        let wrong = leaf_hash(b"WrongRoot");
        let with = |front: Option<Hash>, back: Option<Hash>| -> Vec<Hash> {
            front.into_iter().chain(proof.iter().copied()).chain(back).collect()
        };
        let p = proof.to_vec();
        let mut probes: Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            ("old - 1".into(), old - 1, new, r1, r2, p.clone()),
            ("old + 1".into(), old + 1, new, r1, r2, p.clone()),
            ("old ^ 2".into(), old ^ 2, new, r1, r2, p.clone()),
            ("new * 2".into(), old, new * 2, r1, r2, p.clone()),
            ("new / 2".into(), old, new / 2, r1, r2, p.clone()),
            ("wrong old root".into(), old, new, wrong, r2, p.clone()),
            ("wrong new root".into(), old, new, r1, wrong, p.clone()),
            ("swapped roots".into(), old, new, r2, r1, p.clone()),
            ("empty proof".into(), old, new, r1, r2, vec![]),
            ("trailing zero".into(), old, new, r1, r2, with(None, Some(zero))),
            ("trailing old root".into(), old, new, r1, r2, with(None, Some(r1))),
            ("trailing new root".into(), old, new, r1, r2, with(None, Some(r2))),
            ("preceding zero".into(), old, new, r1, r2, with(Some(zero), None)),
            ("preceding old root".into(), old, new, r1, r2, with(Some(r1), None)),
            ("preceding new root".into(), old, new, r1, r2, with(Some(r2), None)),
            ("preceding proof[0]".into(), old, new, r1, r2, with(Some(p[0]), None)),
            ("truncated".into(), old, new, r1, r2, p[..p.len() - 1].to_vec()),
        ];
        let bit_list: Vec<usize> = bits.map_or((0..256).collect(), |b| vec![b]);
        for &bit in &bit_list {
            for i in 0..proof.len() {
                let mut q = p.clone();
                q[i] = flip(&q[i], bit);
                probes.push((format!("proof[{i}] bit {bit}"), old, new, r1, r2, q));
            }
            probes.push((format!("old root bit {bit}"), old, new, flip(&r1, bit), r2, p.clone()));
            probes.push((format!("new root bit {bit}"), old, new, r1, flip(&r2, bit), p.clone()));
        }
        for (desc, old, new, r1, r2, proof) in probes {
            assert!(
                verify_consistency(old, new, &r1, &r2, &proof).is_err(),
                "consistency probe {desc} verified"
            );
        }
    }

    // ---- Reference-vector tests ------------------------------------------

    #[test]
    fn rfc6962_hasher_vectors() {
        // rfc6962/rfc6962_test.go
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(empty_root(), h(empty));
        let empty_leaf = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d";
        assert_eq!(leaf_hash(b""), h(empty_leaf));
        let l123456 = "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56";
        assert_eq!(leaf_hash(b"L123456"), h(l123456));
    }

    #[test]
    fn reference_node_hashes() {
        let leaves = ref_leaves();
        for (level, hashes) in NODE_HASHES.iter().enumerate() {
            let width = 1u64 << level;
            for (i, want) in hashes.iter().enumerate() {
                let start = i as u64 * width;
                let got = subtree_root(&leaves, start, start + width);
                assert_eq!(got, h(want), "level {level} node {i}");
            }
        }
        assert_eq!(leaves, hs(NODE_HASHES[0]));
    }

    #[test]
    fn reference_roots_and_frontiers() {
        let leaves = ref_leaves();
        let nh: Vec<Vec<Hash>> = NODE_HASHES.iter().map(|l| hs(l)).collect();
        // CompactTrees(): the frontier of each size, largest subtree first.
        let compact: [Vec<Hash>; 9] = [
            vec![],
            vec![nh[0][0]],
            vec![nh[1][0]],
            vec![nh[1][0], nh[0][2]],
            vec![nh[2][0]],
            vec![nh[2][0], nh[0][4]],
            vec![nh[2][0], nh[1][2]],
            vec![nh[2][0], nh[1][2], nh[0][6]],
            vec![nh[3][0]],
        ];
        let mut frontier = Frontier::new();
        for size in 0..=8 {
            if size > 0 {
                frontier.push(leaves[size - 1]).unwrap();
            }
            let want = h(ROOTS[size]);
            assert_eq!(root(&leaves[..size]), want, "root of {size}");
            assert_eq!(ref_root(&leaves[..size]), want, "reference root of {size}");
            assert_eq!(frontier.root(), want, "frontier root of {size}");
            assert_eq!(frontier.to_parts(), (size as u64, compact[size].clone()));
        }
    }

    #[test]
    fn reference_inclusion_proofs() {
        let leaves = ref_leaves();
        for &(index, size, want) in INCLUSION {
            let want = hs(want);
            let got = inclusion_proof(&leaves, index, size).unwrap();
            assert_eq!(got, want, "proof for {index} in {size}");
            let prefix = &leaves[..size as usize];
            assert_eq!(ref_path(index as usize, prefix), want);
            let root_hash = h(ROOTS[size as usize]);
            let leaf = leaves[index as usize];
            verify_inclusion(&leaf, index, size, &want, &root_hash).unwrap();
            assert_inclusion_probes_fail(&leaf, index, size, &want, &root_hash, None);
        }
    }

    #[test]
    fn reference_consistency_proofs() {
        let leaves = ref_leaves();
        for &(old, new, want) in CONSISTENCY {
            let want = hs(want);
            let got = consistency_proof(&leaves, old, new).unwrap();
            assert_eq!(got, want, "proof for {old} -> {new}");
            let prefix = &leaves[..new as usize];
            assert_eq!(ref_subproof(old as usize, prefix, true), want);
            let (r1, r2) = (h(ROOTS[old as usize]), h(ROOTS[new as usize]));
            verify_consistency(old, new, &r1, &r2, &want).unwrap();
            if old < new {
                assert_consistency_probes_fail(old, new, &r1, &r2, &want, None);
            }
        }
    }

    /// Every index and size pair up to 40 leaves against the reference.
    #[test]
    fn exhaustive_small_trees_match_reference() {
        let leaves: Vec<Hash> = (0u32..40).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        for size in 1..=leaves.len() {
            let prefix = &leaves[..size];
            let root_hash = ref_root(prefix);
            for m in 0..size {
                let proof = inclusion_proof(&leaves, m as u64, size as u64).unwrap();
                assert_eq!(proof, ref_path(m, prefix), "inclusion {m} in {size}");
                verify_inclusion(&leaves[m], m as u64, size as u64, &proof, &root_hash).unwrap();
                let old = m + 1;
                let proof = consistency_proof(&leaves, old as u64, size as u64).unwrap();
                assert_eq!(proof, ref_subproof(old, prefix, true), "consistency {old} -> {size}");
                let old_root = ref_root(&leaves[..old]);
                verify_consistency(old as u64, size as u64, &old_root, &root_hash, &proof).unwrap();
            }
        }
    }

    // ---- Edge cases and every error variant ------------------------------

    #[test]
    fn empty_tree() {
        let none: &[Hash] = &[];
        assert_eq!(root(none), empty_root());
        assert_eq!(Frontier::new().root(), empty_root());
        assert_eq!(Frontier::new().size(), 0);
        assert_ne!(empty_root(), leaf_hash(b""));
    }

    #[test]
    fn error_index_out_of_range() {
        let leaves = ref_leaves();
        let e = MerkleError::IndexOutOfRange { index: 8, size: 8 };
        assert_eq!(inclusion_proof(&leaves, 8, 8), Err(e.clone()));
        assert_eq!(verify_inclusion(&leaves[0], 8, 8, &[], &leaves[0]), Err(e));
        let e = MerkleError::IndexOutOfRange { index: 0, size: 0 };
        assert_eq!(verify_inclusion(&leaves[0], 0, 0, &[], &empty_root()), Err(e.clone()));
        assert_eq!(inclusion_proof(&leaves, 0, 0), Err(e.clone()));
        assert_eq!(e.to_string(), "leaf index 0 is out of range for a tree of 0 leaves");
    }

    #[test]
    fn error_size_beyond_log() {
        let leaves = ref_leaves();
        let e = MerkleError::SizeBeyondLog { size: 9, available: 8 };
        assert_eq!(inclusion_proof(&leaves, 0, 9), Err(e.clone()));
        assert_eq!(consistency_proof(&leaves, 1, 9), Err(e.clone()));
        assert_eq!(consistency_proof(&leaves, 9, 9), Err(e.clone()));
        assert_eq!(e.to_string(), "tree size 9 is larger than the 8 leaves available");
    }

    #[test]
    fn error_size_order() {
        let leaves = ref_leaves();
        let r = leaves[0];
        let e = MerkleError::SizeOrder { old: 5, new: 4 };
        assert_eq!(consistency_proof(&leaves, 5, 4), Err(e.clone()));
        assert_eq!(verify_consistency(5, 4, &r, &r, &[]), Err(e.clone()));
        assert_eq!(
            verify_consistency(1, 0, &r, &r, &[]),
            Err(MerkleError::SizeOrder { old: 1, new: 0 })
        );
        assert_eq!(e.to_string(), "old tree size 5 is larger than new tree size 4");
    }

    #[test]
    fn error_empty_old_tree() {
        let leaves = ref_leaves();
        let e = MerkleError::EmptyOldTree;
        assert_eq!(consistency_proof(&leaves, 0, 0), Err(e.clone()));
        assert_eq!(consistency_proof(&leaves, 0, 5), Err(e.clone()));
        let (empty, r1) = (empty_root(), h(ROOTS[1]));
        assert_eq!(verify_consistency(0, 0, &empty, &empty, &[]), Err(e.clone()));
        assert_eq!(verify_consistency(0, 1, &empty, &r1, &[]), Err(e.clone()));
        assert!(e.to_string().contains("empty tree"));
    }

    #[test]
    fn error_wrong_proof_length() {
        let leaves = ref_leaves();
        let (r1, r5, r8) = (h(ROOTS[1]), h(ROOTS[5]), h(ROOTS[8]));
        let proof = inclusion_proof(&leaves, 0, 8).unwrap();
        let e = MerkleError::WrongProofLength { expected: 3, got: 2 };
        assert_eq!(verify_inclusion(&leaves[0], 0, 8, &proof[..2], &r8), Err(e.clone()));
        assert_eq!(e.to_string(), "proof has 2 hashes, expected 3");
        // Equal sizes need the empty proof even when the roots match.
        assert_eq!(
            verify_consistency(1, 1, &r1, &r1, &[r1]),
            Err(MerkleError::WrongProofLength { expected: 0, got: 1 })
        );
        assert_eq!(
            verify_consistency(1, 2, &r1, &h(ROOTS[2]), &[]),
            Err(MerkleError::WrongProofLength { expected: 1, got: 0 })
        );
        let proof = consistency_proof(&leaves, 2, 5).unwrap();
        assert_eq!(
            verify_consistency(2, 5, &h(ROOTS[2]), &r5, &[proof.clone(), proof].concat()),
            Err(MerkleError::WrongProofLength { expected: 2, got: 4 })
        );
    }

    #[test]
    fn error_root_mismatch() {
        let leaves = ref_leaves();
        let (r1, r2, r8) = (h(ROOTS[1]), h(ROOTS[2]), h(ROOTS[8]));
        let proof = inclusion_proof(&leaves, 3, 8).unwrap();
        let e = MerkleError::RootMismatch;
        assert_eq!(verify_inclusion(&leaves[3], 3, 8, &proof, &r2), Err(e.clone()));
        assert_eq!(verify_inclusion(&leaves[3], 0, 1, &[], &r2), Err(e.clone()));
        assert_eq!(verify_consistency(1, 1, &r1, &r2, &[]), Err(e.clone()));
        let proof = consistency_proof(&leaves, 3, 8).unwrap();
        assert_eq!(verify_consistency(3, 8, &r1, &r8, &proof), Err(e.clone()));
        assert_eq!(verify_consistency(3, 8, &h(ROOTS[3]), &r1, &proof), Err(e.clone()));
        assert_eq!(verify_consistency(3, 8, &h(ROOTS[3]), &r8, &proof), Ok(()));
        assert!(e.to_string().contains("root"));
    }

    #[test]
    fn error_invalid_frontier() {
        let x = [7u8; 32];
        let e = MerkleError::InvalidFrontier { size: 3, expected: 2, got: 1 };
        assert_eq!(Frontier::from_parts(3, vec![x]), Err(e.clone()));
        assert_eq!(e.to_string(), "a frontier of 3 leaves needs 2 hashes, got 1");
        assert_eq!(
            Frontier::from_parts(0, vec![x]),
            Err(MerkleError::InvalidFrontier { size: 0, expected: 0, got: 1 })
        );
        assert!(Frontier::from_parts(0, vec![]).is_ok());
    }

    #[test]
    fn error_frontier_full() {
        let mut f = Frontier::from_parts(u64::MAX, vec![[1u8; 32]; 64]).unwrap();
        let before = f.clone();
        assert_eq!(f.push([2u8; 32]), Err(MerkleError::FrontierFull));
        assert_eq!(f, before, "a failed push changes nothing");
        assert!(MerkleError::FrontierFull.to_string().contains("full"));
        let mut f = Frontier::from_parts(u64::MAX - 1, vec![[1u8; 32]; 63]).unwrap();
        f.push([2u8; 32]).unwrap();
        assert_eq!(f.size(), u64::MAX);
    }

    #[test]
    #[should_panic(expected = "not within")]
    fn subtree_root_panics_on_reversed_range() {
        subtree_root(&ref_leaves(), 3, 2);
    }

    #[test]
    #[should_panic(expected = "not within")]
    fn subtree_root_panics_past_the_end() {
        subtree_root(&ref_leaves(), 0, 9);
    }

    /// Huge sizes reach the shift loops' extremes without overflowing.
    #[test]
    fn verification_at_u64_extremes() {
        let x = [3u8; 32];
        for (index, size) in [(0, u64::MAX), (u64::MAX - 1, u64::MAX), (1 << 63, u64::MAX)] {
            let proof = vec![x; inclusion_proof_len(index, size)];
            assert_eq!(
                verify_inclusion(&x, index, size, &proof, &x),
                Err(MerkleError::RootMismatch)
            );
        }
        for (old, new) in [(1, u64::MAX), (u64::MAX - 1, u64::MAX), (1 << 63, u64::MAX)] {
            let proof = vec![x; consistency_proof_len(old, new)];
            assert_eq!(
                verify_consistency(old, new, &x, &x, &proof),
                Err(MerkleError::RootMismatch)
            );
        }
    }

    // ---- Property tests ---------------------------------------------------

    /// 1..=300 leaves of random data; the index prefix keeps them distinct,
    /// so a wrong index can never verify by two leaves being equal.
    fn tree() -> impl Strategy<Value = Vec<Hash>> {
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 1..=300).prop_map(|data| {
            data.iter()
                .enumerate()
                .map(|(i, d)| leaf_hash(&[&(i as u32).to_le_bytes()[..], d].concat()))
                .collect()
        })
    }

    fn interesting_u64() -> impl Strategy<Value = u64> {
        prop_oneof![0..70u64, (u64::MAX - 70)..=u64::MAX, any::<u64>()]
    }

    proptest! {
        #[test]
        fn prop_inclusion(leaves in tree(), a: u64, b: u64, bit in 0usize..256) {
            let n = leaves.len() as u64;
            let index = a % n;
            let size = index + 1 + b % (n - index);
            let proof = inclusion_proof(&leaves, index, size).unwrap();
            let prefix = &leaves[..size as usize];
            prop_assert_eq!(&proof, &ref_path(index as usize, prefix));
            let root_hash = root(prefix);
            let leaf = leaves[index as usize];
            prop_assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root_hash), Ok(()));
            assert_inclusion_probes_fail(&leaf, index, size, &proof, &root_hash, Some(bit));
        }

        #[test]
        fn prop_consistency(leaves in tree(), a: u64, b: u64, bit in 0usize..256) {
            let new = 1 + a % leaves.len() as u64;
            let old = 1 + b % new;
            let proof = consistency_proof(&leaves, old, new).unwrap();
            prop_assert_eq!(&proof, &ref_subproof(old as usize, &leaves[..new as usize], true));
            let (r1, r2) = (root(&leaves[..old as usize]), root(&leaves[..new as usize]));
            prop_assert_eq!(verify_consistency(old, new, &r1, &r2, &proof), Ok(()));
            if old == new {
                prop_assert!(proof.is_empty());
            } else {
                assert_consistency_probes_fail(old, new, &r1, &r2, &proof, Some(bit));
            }
        }

        #[test]
        fn prop_from_parts_checks_count(size: u64, count in 0usize..70) {
            let ok = Frontier::from_parts(size, vec![[0u8; 32]; count]).is_ok();
            prop_assert_eq!(ok, count == size.count_ones() as usize);
        }

        /// Arbitrary network input never panics, and never verifies.
        #[test]
        fn prop_verify_arbitrary_input(
            a in interesting_u64(),
            b in interesting_u64(),
            mut proof in prop::collection::vec(any::<[u8; 32]>(), 0..70),
            exact_len: bool,
            x: [u8; 32],
            y: [u8; 32],
        ) {
            if exact_len && a < b {
                proof.resize(inclusion_proof_len(a, b), x);
            }
            prop_assert!(verify_inclusion(&x, a, b, &proof, &y).is_err());
            if exact_len && 0 < a && a < b {
                proof.resize(consistency_proof_len(a, b), x);
            }
            prop_assert!(a == b && x == y && proof.is_empty()
                || verify_consistency(a, b, &x, &y, &proof).is_err());
        }
    }

    /// Every size 0..=300, with `root()` recomputed from scratch each time.
    #[test]
    fn frontier_matches_root_at_every_size() {
        let leaves: Vec<Hash> = (0u32..300).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut f = Frontier::new();
        assert_eq!(f.root(), root(&leaves[..0]));
        for (i, leaf) in leaves.iter().enumerate() {
            f.push(*leaf).unwrap();
            assert_eq!(f.root(), root(&leaves[..=i]), "size {}", i + 1);
            let (size, parts) = f.to_parts();
            assert_eq!(Frontier::from_parts(size, parts).as_ref(), Ok(&f));
        }
    }

    proptest! {
        // O(n^2) hashing per case (root() after every push), so fewer cases;
        // `frontier_matches_root_at_every_size` covers every size anyway.
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn prop_frontier(leaves in tree(), cut: usize) {
            let mut f = Frontier::new();
            for (i, leaf) in leaves.iter().enumerate() {
                f.push(*leaf).unwrap();
                prop_assert_eq!(f.size(), i as u64 + 1);
                prop_assert_eq!(f.root(), root(&leaves[..=i]));
            }
            let (size, parts) = f.to_parts();
            prop_assert_eq!(Frontier::from_parts(size, parts), Ok(f.clone()));
            // Persist part-way, restore, and carry on: same end state.
            let cut = cut % (leaves.len() + 1);
            let mut g = Frontier::new();
            leaves[..cut].iter().for_each(|l| g.push(*l).unwrap());
            let (size, parts) = g.to_parts();
            let mut g = Frontier::from_parts(size, parts).unwrap();
            leaves[cut..].iter().for_each(|l| g.push(*l).unwrap());
            prop_assert_eq!(g, f);
        }


        /// A log with interior hashes gives exactly the roots and proofs
        /// computed from its leaves alone.
        #[test]
        fn prop_merkle_log_matches_leaves(leaves in tree(), a: u64, b: u64) {
            let log = MerkleLog::from_leaves(leaves.iter().copied());
            let n = leaves.len() as u64;
            prop_assert_eq!(log.len(), n);
            let new = 1 + a % n;
            let old = 1 + b % new;
            prop_assert_eq!(log.root_at(new), Some(root(&leaves[..new as usize])));
            prop_assert_eq!(log.root_at(n + 1), None);
            prop_assert_eq!(
                consistency_proof(&log, old, new).unwrap(),
                consistency_proof(&leaves, old, new).unwrap()
            );
            let index = b % new;
            prop_assert_eq!(
                inclusion_proof(&log, index, new).unwrap(),
                inclusion_proof(&leaves, index, new).unwrap()
            );
        }
    }
}
