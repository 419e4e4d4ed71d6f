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
        probes.push((format!("leaf bit {bit}"), flip(leaf, bit), index, size, p.clone(), *root));
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
        assert_eq!(verify_inclusion(&x, index, size, &proof, &x), Err(MerkleError::RootMismatch));
    }
    for (old, new) in [(1, u64::MAX), (u64::MAX - 1, u64::MAX), (1 << 63, u64::MAX)] {
        let proof = vec![x; consistency_proof_len(old, new)];
        assert_eq!(verify_consistency(old, new, &x, &x, &proof), Err(MerkleError::RootMismatch));
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
