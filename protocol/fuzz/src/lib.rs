//! Fixtures shared by the fuzz targets and by the seed generator
//! (`examples/seeds.rs`), so that the seeds are valid against exactly the
//! federation and the input layout the targets use.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use curbside_protocol::merkle::{self, Hash};
use curbside_protocol::testkit::Federation;
use curbside_protocol::{SecretKey, SignedEvent};

/// A small federation: a root, a verifier chartered for `GB` and `DEV`, three
/// physicians, and some accepted content.
#[derive(Debug)]
pub struct Fixture {
    /// The federation; validate against `fed.view()` at `fed.now()`.
    pub fed: Federation,
    /// Every secret key the fixture knows: root, verifier, dr-a, dr-b, dr-c.
    /// The `decode_validate` target re-signs decoded events whose author is
    /// one of these, so that mutated events get past the signature check
    /// and reach the body rules.
    pub keys: Vec<SecretKey>,
    /// Attestations of dr-a, dr-b, dr-c (accepted).
    pub attestations: Vec<SignedEvent>,
    /// A post by dr-a (accepted).
    pub post: SignedEvent,
    /// An open poll by dr-b, any specialty may vote (accepted).
    pub poll: SignedEvent,
    /// An open poll by dr-c, only cardiologists may vote (accepted).
    pub cardio_poll: SignedEvent,
    /// A comment by dr-c on the post (accepted).
    pub comment: SignedEvent,
}

/// Builds the fixture. Deterministic: testkit keys come from fixed seeds and
/// the federation's clock advances 1 ms per event, so every call gives the
/// same events, byte for byte.
pub fn fixture() -> Fixture {
    let mut fed = Federation::new();
    let mut attestations = Vec::new();
    let mut doctor = |fed: &mut Federation, handle: &str, specialties: &[&str], j: &str| {
        let key = curbside_protocol::testkit::key(handle);
        let att = fed.attestation(&key, handle, specialties, j);
        fed.accept(&att);
        attestations.push(att);
        key
    };
    let a = doctor(&mut fed, "dr-a", &["general-practice"], "GB");
    let b = doctor(&mut fed, "dr-b", &["general-practice", "endocrinology"], "GB");
    let c = doctor(&mut fed, "dr-c", &["cardiology"], "DEV");

    let post = fed.post(&a, "Refractory hypokalaemia");
    fed.accept(&post);
    let poll =
        fed.poll(&b, &["Start an SGLT2 inhibitor", "Add a GLP-1 agonist", "Watch and wait"], &[]);
    fed.accept(&poll);
    let cardio_poll = fed.poll(&c, &["Beta blocker", "Ablation"], &["cardiology"]);
    fed.accept(&cardio_poll);
    let comment = fed.comment(&c, &post, "Check magnesium first; K 3.1 is worth an ECG.");
    fed.accept(&comment);

    let keys = vec![fed.root().clone(), fed.verifier().clone(), a, b, c];
    Fixture { fed, keys, attestations, post, poll, cardio_poll, comment }
}

/// The `merkle_proofs` input, parsed from raw fuzzer bytes.
///
/// Layout (missing bytes read as zero):
///
/// | bytes   | meaning                                                     |
/// |---------|-------------------------------------------------------------|
/// | 0       | `n = 1 + b % 128` leaves                                    |
/// | 1       | leaf salt; `salt % 4 == 0` makes all leaves equal           |
/// | 2       | `size = 1 + b % n` (generated-proof checks)                 |
/// | 3       | `index = b % size`                                          |
/// | 4       | `old = 1 + b % size`                                        |
/// | 5       | which proof hash to tamper with                             |
/// | 6..14   | `arb_index`, u64 LE (arbitrary-proof checks)                |
/// | 14..22  | `arb_size`, u64 LE                                          |
/// | 22..30  | `arb_old`, u64 LE                                           |
/// | 30..    | the arbitrary proof, in 32-byte hashes (a short tail is dropped) |
#[derive(Debug, Clone)]
pub struct MerkleInput {
    /// The leaf hashes of the tree.
    pub leaves: Vec<Hash>,
    /// A tree size in `1..=n`.
    pub size: u64,
    /// A leaf index in `0..size`.
    pub index: u64,
    /// An old tree size in `1..=size`.
    pub old: u64,
    /// Which hash of a generated proof to corrupt.
    pub tamper: u8,
    /// Arbitrary leaf index.
    pub arb_index: u64,
    /// Arbitrary tree size.
    pub arb_size: u64,
    /// Arbitrary old tree size.
    pub arb_old: u64,
    /// Arbitrary proof hashes.
    pub proof: Vec<Hash>,
}

/// Bytes before the arbitrary proof.
pub const MERKLE_HEADER: usize = 30;

/// The leaves for `n` and `salt` (see [`MerkleInput`]).
pub fn merkle_leaves(n: usize, salt: u8) -> Vec<Hash> {
    (0..n)
        .map(|i| {
            if salt.is_multiple_of(4) {
                merkle::leaf_hash(&[salt])
            } else {
                merkle::leaf_hash(&[salt, i as u8])
            }
        })
        .collect()
}

impl MerkleInput {
    /// Parses fuzzer bytes; total (any input gives a value).
    pub fn parse(data: &[u8]) -> Self {
        let mut header = [0u8; MERKLE_HEADER];
        let head = data.len().min(MERKLE_HEADER);
        header[..head].copy_from_slice(&data[..head]);
        let u64_at = |i: usize| u64::from_le_bytes(header[i..i + 8].try_into().unwrap());

        let n = 1 + usize::from(header[0]) % 128;
        let leaves = merkle_leaves(n, header[1]);
        let size = 1 + u64::from(header[2]) % n as u64;
        let index = u64::from(header[3]) % size;
        let old = 1 + u64::from(header[4]) % size;
        let proof = data
            .get(MERKLE_HEADER..)
            .unwrap_or(&[])
            .chunks_exact(32)
            .map(|c| <Hash>::try_from(c).unwrap())
            .collect();
        Self {
            leaves,
            size,
            index,
            old,
            tamper: header[5],
            arb_index: u64_at(6),
            arb_size: u64_at(14),
            arb_old: u64_at(22),
            proof,
        }
    }

    /// The root a verifier would hold for a tree of `size` leaves: the real
    /// root when the tree has that many leaves, the empty root for 0, and
    /// the root of all leaves otherwise.
    pub fn root_for(&self, size: u64) -> Hash {
        if size == 0 {
            merkle::empty_root()
        } else if size <= self.leaves.len() as u64 {
            merkle::root(&self.leaves[..size as usize])
        } else {
            merkle::root(&self.leaves)
        }
    }
}

/// Encodes a [`MerkleInput`] header and proof as fuzzer bytes (for seeds).
#[allow(clippy::too_many_arguments)]
pub fn merkle_bytes(
    n_raw: u8,
    salt: u8,
    size_raw: u8,
    index_raw: u8,
    old_raw: u8,
    tamper: u8,
    arb: (u64, u64, u64),
    proof: &[Hash],
) -> Vec<u8> {
    let mut out = vec![n_raw, salt, size_raw, index_raw, old_raw, tamper];
    out.extend_from_slice(&arb.0.to_le_bytes());
    out.extend_from_slice(&arb.1.to_le_bytes());
    out.extend_from_slice(&arb.2.to_le_bytes());
    for h in proof {
        out.extend_from_slice(h);
    }
    out
}
