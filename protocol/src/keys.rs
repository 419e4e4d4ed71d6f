//! Keys and signatures: [`PublicKey`], [`SecretKey`], [`Signature`].
//!
//! Every key in Curbside is ed25519: a root's, a node's (which is also its
//! libp2p identity), a physician's pseudonymous key. Signing is RFC 8032
//! (ed25519-dalek). Verification is one rule, the same for one signature
//! ([`PublicKey::verify`]) and for many at once ([`crate::verify_batch`]):
//!
//! 1. the key `A` and the signature's `R` are canonical encodings of curve
//!    points, and neither is of small order;
//! 2. `s < ℓ`;
//! 3. the **cofactored** equation `[8]([s]B − R − [h]A) = 0` holds, where
//!    `h = SHA-512(R ‖ A ‖ M) mod ℓ`.
//!
//! 1 and 2 are strict screens on encodings, so every valid signature has one
//! encoding and weak-key forgeries are refused. 3 is ZIP 215's equation
//! (ed25519-zebra computes it): multiplying by the cofactor 8 removes any
//! small-order (torsion) component from the check. The cofactorless
//! equation of `verify_strict` cannot be batched exactly — a random linear
//! combination of equations with torsion errors holds or not depending on
//! the random weights — so two nodes could disagree on the same event. With
//! the cofactored equation, a batch holds exactly when every one of its
//! equations does (up to a 2^-128 soundness error over the weights).
//! Honest signatures verify under both equations: the choice only decides
//! signatures that no honest signer makes.

use std::sync::LazyLock;

use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signer as _, SigningKey};
use zeroize::ZeroizeOnDrop;

use crate::bytes::fixed_bytes;

#[cfg(test)]
pub(crate) mod craft;

/// An ed25519 public key, as its 32-byte compressed encoding.
///
/// Any 32 bytes are a `PublicKey` value; whether they are a usable key is
/// decided when a signature is checked (see [`PublicKey::verify`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; 32]);
fixed_bytes!(PublicKey, 32, "public key");

/// An ed25519 signature (`R || s`, 64 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; 64]);
fixed_bytes!(Signature, 64, "signature");

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The 32 bytes are not a usable key: not a curve point, not its
    /// canonical encoding, or a point of small order (a weak key).
    #[error("the public key is not a canonical ed25519 point of large order")]
    InvalidKey,
    /// The signature is malformed (`R` not a canonical point of large
    /// order, `s` not below ℓ) or its equation does not hold.
    #[error("the signature does not verify")]
    Mismatch,
}

impl PublicKey {
    /// The first 8 bytes in hex, for people and logs.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..8])
    }

    /// Verifies `signature` over `message` by the rule in the module
    /// documentation: strict encodings, cofactored equation.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        screen(self, signature)?;
        let key = ed25519_zebra::VerificationKey::try_from(self.0)
            .map_err(|_| SignatureError::InvalidKey)?;
        let sig = ed25519_zebra::Signature::from_bytes(&signature.0);
        key.verify(&sig, message).map_err(|_| SignatureError::Mismatch)
    }
}

/// Rule 1 and 2 for `key` and `signature`, from their bytes alone: what is
/// left (whether the points are on the curve, and the equation) is decided
/// by decompression and the equation, in [`PublicKey::verify`] and in the
/// batch. Both paths call this, so they refuse exactly the same encodings.
pub(crate) fn screen(key: &PublicKey, signature: &Signature) -> Result<(), SignatureError> {
    if !is_canonical_large_order(&key.0) {
        return Err(SignatureError::InvalidKey);
    }
    let (mut r, mut s) = ([0u8; 32], [0u8; 32]);
    r.copy_from_slice(&signature.0[..32]);
    s.copy_from_slice(&signature.0[32..]);
    if !is_canonical_large_order(&r) || Scalar::from_canonical_bytes(s).is_none().into() {
        return Err(SignatureError::Mismatch);
    }
    Ok(())
}

/// The y-coordinates (sign bit cleared) of the eight small-order points:
/// 1 (the identity), −1 (order 2), 0 (order 4), and ±y₈ (order 8).
static SMALL_ORDER_Y: LazyLock<Vec<[u8; 32]>> = LazyLock::new(|| {
    let mut ys: Vec<[u8; 32]> = curve25519_dalek::constants::EIGHT_TORSION
        .iter()
        .map(|p| {
            let mut y = p.compress().to_bytes();
            y[31] &= 0x7f;
            y
        })
        .collect();
    ys.sort_unstable();
    ys.dedup();
    ys
});

/// Whether `point` could be the canonical encoding of a point not of small
/// order (whether it is on the curve at all is decompression's business).
///
/// An encoding is the y-coordinate (255 bits) and the sign of x (the top
/// bit). It is canonical when y < p = 2^255 − 19 and the sign bit is clear
/// for x = 0. Only y = ±1 have x = 0, and both are small-order points, so
/// once small-order y's are refused, `y < p` is the whole canonicity check.
/// Both x's of a small-order y are small-order (the torsion group is closed
/// under negation), so the sign bit does not matter for that test either.
fn is_canonical_large_order(point: &[u8; 32]) -> bool {
    let mut y = *point;
    y[31] &= 0x7f;
    // y >= p (little-endian): top byte 0x7f, middle bytes 0xff, low byte >= 0xed.
    let non_canonical = y[31] == 0x7f && y[1..31].iter().all(|&b| b == 0xff) && y[0] >= 0xed;
    !non_canonical && !SMALL_ORDER_Y.contains(&y)
}

/// An ed25519 secret key.
///
/// Zeroized when dropped; never printed (its `Debug` shows the public half
/// only); not `Serialize`, so it cannot leak into a log line or a JSON body
/// by accident. Export it deliberately with [`SecretKey::to_seed`].
#[derive(Clone, ZeroizeOnDrop)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate() -> Self {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom_fill(seed.as_mut_slice());
        Self::from_seed(&seed)
    }

    /// The key whose 32-byte seed is `seed` (RFC 8032 private key).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    /// The 32-byte seed. Handle with care: this is the secret.
    pub fn to_seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.0.to_bytes())
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs `message` (deterministic, RFC 8032).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey {{ public: {}, .. }}", self.public())
    }
}

/// Fills `buf` from the OS CSPRNG.
///
/// Panics if the operating system cannot supply randomness: there is no safe
/// way to go on making keys without it.
pub(crate) fn getrandom_fill(buf: &mut [u8]) {
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
    use curve25519_dalek::traits::Identity as _;

    use super::craft::{Crafter, random_scalar, torsion, torsion_order, with_s_plus_ell};
    use super::*;

    #[test]
    fn sign_and_verify() {
        let sk = SecretKey::from_seed(&[7; 32]);
        let pk = sk.public();
        let sig = sk.sign(b"hello");
        assert_eq!(pk.verify(b"hello", &sig), Ok(()));
        assert_eq!(pk.verify(b"hellp", &sig), Err(SignatureError::Mismatch));
    }

    /// RFC 8032 §7.1, tests 1–3: seed → key → signature, and the signature verifies.
    #[test]
    fn rfc8032_vectors() {
        let vectors = [
            (
                "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                "",
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
                 5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            ),
            (
                "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                "72",
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
                 085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
            ),
            (
                "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
                "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
                "af82",
                "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac\
                 18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
            ),
        ];
        for (seed, public, message, signature) in vectors {
            let sk = SecretKey::from_seed(&hex::decode(seed).unwrap().try_into().unwrap());
            let message = hex::decode(message).unwrap();
            let sig = sk.sign(&message);
            assert_eq!(sk.public().to_string(), public);
            assert_eq!(hex::encode(sig.as_bytes()), signature);
            assert_eq!(sk.public().verify(&message, &sig), Ok(()));
        }
    }

    #[test]
    fn weak_key_forgery_is_refused() {
        // The identity point as a key, R = identity, s = 0 satisfies the
        // equation, cofactored or not, for every message; the screen must
        // refuse it.
        let mut key = [0u8; 32];
        key[0] = 1;
        let mut sig = [0u8; 64];
        sig[0] = 1;
        let pk = PublicKey::from_bytes(key);
        assert!(pk.verify(b"anything", &Signature::from_bytes(sig)).is_err());
    }

    /// Every small-order key with every small-order `R` and `s = 0` satisfies
    /// the cofactored equation for any message; all must be refused, with
    /// either sign bit (the "negative zero" encodings of y = ±1 included).
    #[test]
    fn every_small_order_key_and_r_is_refused() {
        let mut encodings = Vec::new();
        for t in curve25519_dalek::constants::EIGHT_TORSION {
            let bytes = t.compress().to_bytes();
            let mut flipped = bytes;
            flipped[31] ^= 0x80;
            encodings.extend([bytes, flipped]);
        }
        let honest = Crafter::honest();
        for a in &encodings {
            for r in &encodings {
                let mut sig = [0u8; 64];
                sig[..32].copy_from_slice(r);
                let sig = Signature::from_bytes(sig);
                let key = PublicKey::from_bytes(*a);
                assert_eq!(key.verify(b"m", &sig), Err(SignatureError::InvalidKey));
                assert_eq!(honest.public().verify(b"m", &sig), Err(SignatureError::Mismatch));
            }
        }
    }

    /// The screen reads canonicity and small order from the bytes; it must
    /// agree with decompressing and re-compressing the point, for every
    /// non-canonical y (p ≤ y < 2^255), every small-order point, and random
    /// points with and without a torsion component, under both sign bits.
    #[test]
    fn the_byte_screen_agrees_with_decompression() {
        let mut candidates: Vec<[u8; 32]> = Vec::new();
        // p = 2^255 - 19; y = p + k for k in 0..19 are the non-canonical y's.
        for k in 0u8..19 {
            let mut y = [0xffu8; 32];
            y[31] = 0x7f;
            y[0] = 0xed + k;
            candidates.push(y);
        }
        for t in curve25519_dalek::constants::EIGHT_TORSION {
            candidates.push(t.compress().to_bytes());
        }
        for order in [1, 2, 4, 8] {
            for _ in 0..8 {
                candidates.push(Crafter::new(torsion(order)).public().to_bytes());
            }
        }
        let mut on_curve_non_canonical = 0;
        for base in candidates {
            for sign in [0u8, 0x80] {
                let mut bytes = base;
                bytes[31] = (bytes[31] & 0x7f) | sign;
                let usable = match CompressedEdwardsY(bytes).decompress() {
                    Some(p) => {
                        if p.compress().to_bytes() != bytes {
                            on_curve_non_canonical += 1;
                        }
                        p.compress().to_bytes() == bytes && !p.is_small_order()
                    }
                    None => continue,
                };
                assert_eq!(is_canonical_large_order(&bytes), usable, "{}", hex::encode(bytes));
            }
        }
        // The test is only worth something if non-canonical encodings of
        // points were among the candidates.
        assert!(on_curve_non_canonical > 0);
    }

    #[test]
    fn non_canonical_s_is_refused() {
        // s + ℓ is the same scalar modulo ℓ, so the equation holds; the
        // screen must still refuse the second encoding.
        let signer = Crafter::honest();
        let sig = signer.sign_honestly(b"m");
        assert_eq!(signer.public().verify(b"m", &sig), Ok(()));
        assert_eq!(
            signer.public().verify(b"m", &with_s_plus_ell(&sig)),
            Err(SignatureError::Mismatch)
        );
    }

    /// The rule is cofactored: a torsion component in `R` or in the key is
    /// not an error (no honest signer makes one, and a batch cannot see it),
    /// while any error of large order is.
    #[test]
    fn torsion_components_are_not_errors_but_wrong_scalars_are() {
        let zero = curve25519_dalek::scalar::Scalar::ZERO;
        for key_order in [1, 2, 4, 8] {
            let signer = Crafter::new(torsion(key_order));
            for r_order in [1, 2, 4, 8] {
                let sig = signer.sign(b"m", torsion(r_order), zero);
                assert_eq!(signer.public().verify(b"m", &sig), Ok(()), "{key_order}/{r_order}");
                let off = signer.sign(b"m", torsion(r_order), random_scalar());
                assert_eq!(signer.public().verify(b"m", &off), Err(SignatureError::Mismatch));
                assert!(signer.public().verify(b"n", &sig).is_err());
            }
        }
        // ed25519-dalek's verify_strict (cofactorless) refuses an R with a
        // torsion component: this is where the two rules differ.
        let signer = Crafter::honest();
        let sig = signer.sign(b"m", torsion(2), zero);
        let dalek = ed25519_dalek::VerifyingKey::from_bytes(signer.public().as_bytes()).unwrap();
        assert!(dalek.verify_strict(b"m", &ed25519_dalek::Signature::from_bytes(&sig.0)).is_err());
    }

    #[test]
    fn the_torsion_points_have_the_orders_the_tests_assume() {
        for order in [1, 2, 4, 8] {
            assert_eq!(torsion_order(&torsion(order)), Some(order));
        }
        assert_eq!(torsion_order(&EdwardsPoint::identity()), Some(1));
        assert_eq!(torsion_order(&curve25519_dalek::constants::ED25519_BASEPOINT_POINT), None);
    }

    #[test]
    fn secret_key_debug_hides_the_secret() {
        let sk = SecretKey::from_seed(&[9; 32]);
        let shown = format!("{sk:?}");
        assert!(shown.contains(&sk.public().to_string()));
        assert!(!shown.contains(&hex::encode([9u8; 32])));
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(SecretKey::generate().public(), SecretKey::generate().public());
    }
}
