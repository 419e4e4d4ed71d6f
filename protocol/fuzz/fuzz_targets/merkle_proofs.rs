//! RFC 6962 proofs: generated proofs verify, corrupted ones do not, and
//! verification of arbitrary proofs, sizes and indices never panics.
//!
//! The input layout is `curbside_protocol_fuzz::MerkleInput`: a tree of
//! 1..=128 leaves, a size, index and old size inside it, then arbitrary u64
//! index / size / old size and arbitrary proof hashes.
//!
//! Checks:
//! - `inclusion_proof` / `consistency_proof` for in-range arguments succeed
//!   and verify; flipping a bit of any proof hash, of the leaf or of the old
//!   root makes verification fail;
//! - a `Frontier` fed the same leaves reaches the same root, and survives
//!   `to_parts` / `from_parts`;
//! - `verify_inclusion` / `verify_consistency` on arbitrary input never
//!   panic, and when they accept a proof for a tree we hold, it is exactly
//!   the proof we would have generated (proofs are unique);
//! - `inclusion_proof` / `consistency_proof` with arbitrary u64 arguments
//!   return errors, never panic.
#![no_main]

use curbside_protocol::merkle::{self, Frontier};
use curbside_protocol_fuzz::MerkleInput;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let m = MerkleInput::parse(data);
    let leaves = &m.leaves;
    let n = leaves.len() as u64;

    // Generated proofs, in range.
    let root = merkle::root(&leaves[..m.size as usize]);
    assert_eq!(root, merkle::subtree_root(leaves, 0, m.size));
    let leaf = leaves[m.index as usize];
    let proof = merkle::inclusion_proof(leaves, m.index, m.size).expect("in-range inclusion proof");
    merkle::verify_inclusion(&leaf, m.index, m.size, &proof, &root)
        .expect("generated inclusion proof verifies");
    let mut bad_leaf = leaf;
    bad_leaf[0] ^= 1;
    assert!(merkle::verify_inclusion(&bad_leaf, m.index, m.size, &proof, &root).is_err());
    if !proof.is_empty() {
        let mut bad = proof.clone();
        let i = usize::from(m.tamper) % bad.len();
        bad[i][usize::from(m.tamper) % 32] ^= 1 << (m.tamper % 8);
        assert!(
            merkle::verify_inclusion(&leaf, m.index, m.size, &bad, &root).is_err(),
            "tampered inclusion proof verified"
        );
    }

    let old_root = merkle::root(&leaves[..m.old as usize]);
    let cproof = merkle::consistency_proof(leaves, m.old, m.size).expect("in-range consistency");
    merkle::verify_consistency(m.old, m.size, &old_root, &root, &cproof)
        .expect("generated consistency proof verifies");
    let mut bad_old = old_root;
    bad_old[31] ^= 0x80;
    assert!(merkle::verify_consistency(m.old, m.size, &bad_old, &root, &cproof).is_err());
    if !cproof.is_empty() {
        let mut bad = cproof.clone();
        let i = usize::from(m.tamper) % bad.len();
        bad[i][usize::from(m.tamper) % 32] ^= 1 << (m.tamper % 8);
        assert!(
            merkle::verify_consistency(m.old, m.size, &old_root, &root, &bad).is_err(),
            "tampered consistency proof verified"
        );
    }

    let mut frontier = Frontier::new();
    for l in &leaves[..m.size as usize] {
        frontier.push(*l).expect("frontier push");
    }
    assert_eq!(frontier.size(), m.size);
    assert_eq!(frontier.root(), root, "frontier root differs from merkle::root");
    let (size, hashes) = frontier.to_parts();
    let restored = Frontier::from_parts(size, hashes).expect("frontier parts round trip");
    assert_eq!(restored.root(), root);

    // Arbitrary proofs, sizes and indices.
    let (ai, asz, aold) = (m.arb_index, m.arb_size, m.arb_old);
    let aleaf = leaves[(ai % n) as usize];
    let aroot = m.root_for(asz);
    if merkle::verify_inclusion(&aleaf, ai, asz, &m.proof, &aroot).is_ok() && asz <= n && ai < asz {
        let expected = merkle::inclusion_proof(leaves, ai, asz).expect("in range");
        assert_eq!(m.proof, expected, "a different inclusion proof verified");
    }
    let aold_root = m.root_for(aold);
    if merkle::verify_consistency(aold, asz, &aold_root, &aroot, &m.proof).is_ok() {
        assert!(aold >= 1 && aold <= asz, "consistency accepted sizes {aold} -> {asz}");
        if asz <= n {
            let expected = merkle::consistency_proof(leaves, aold, asz).expect("in range");
            assert_eq!(m.proof, expected, "a different consistency proof verified");
        }
    }
    // Also against roots taken from the proof itself (no tree relation).
    if let [r1, r2, rest @ ..] = m.proof.as_slice() {
        let _ = merkle::verify_inclusion(&aleaf, ai, asz, rest, r1);
        let _ = merkle::verify_consistency(aold, asz, r1, r2, rest);
    }
    // Generation with arbitrary arguments: errors, not panics.
    if let Ok(p) = merkle::inclusion_proof(leaves, ai, asz) {
        assert!(ai < asz && asz <= n);
        merkle::verify_inclusion(&leaves[ai as usize], ai, asz, &p, &aroot)
            .expect("generated inclusion proof verifies");
    }
    if let Ok(p) = merkle::consistency_proof(leaves, aold, asz) {
        assert!(aold >= 1 && aold <= asz && asz <= n);
        merkle::verify_consistency(aold, asz, &aold_root, &aroot, &p)
            .expect("generated consistency proof verifies");
    }
    let _ = Frontier::from_parts(asz, m.proof.clone()).map(|f| f.root());
});
