//! Hand-made ed25519 signatures for tests: the adversarial ones an honest
//! signer never makes (a torsion component in `R` or in the key, a scalar
//! off by a chosen amount), built from the RFC 8032 equations directly.
//!
//! For a key `A = [a]B + T_A` and a signature `(R, s)` with `R = [r]B + T_R`
//! and `s = r + h·a + δ`, where `h = SHA-512(R ‖ A ‖ M) mod ℓ`:
//!
//! ```text
//! [s]B − R − [h]A = [δ]B − T_R − [h]T_A
//! ```
//!
//! so the cofactorless equation holds only if that torsion sum is zero and
//! `δ = 0`, while the cofactored one (`[8](…) = 0`) holds whenever `δ = 0`.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity as _;
use sha2::{Digest as _, Sha512};

use super::{PublicKey, Signature, getrandom_fill};

/// The 8-torsion point of order `order` (1, 2, 4 or 8).
pub(crate) fn torsion(order: u8) -> EdwardsPoint {
    // EIGHT_TORSION[i] is [i]T for a generator T of order 8.
    match order {
        1 => EIGHT_TORSION[0],
        2 => EIGHT_TORSION[4],
        4 => EIGHT_TORSION[2],
        8 => EIGHT_TORSION[1],
        _ => panic!("8-torsion points have order 1, 2, 4 or 8"),
    }
}

/// The smallest `k` in 1..=8 with `[k]P = 0`, or `None` if `P` is not 8-torsion.
pub(crate) fn torsion_order(p: &EdwardsPoint) -> Option<u8> {
    let mut q = *p;
    for k in 1..=8u8 {
        if q == EdwardsPoint::identity() {
            return Some(k);
        }
        q += p;
    }
    None
}

/// A uniformly random scalar.
pub(crate) fn random_scalar() -> Scalar {
    let mut wide = [0u8; 64];
    getrandom_fill(&mut wide);
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// A signer that knows the discrete log of its key's prime-order part.
#[derive(Debug, Clone)]
pub(crate) struct Crafter {
    a: Scalar,
    key: [u8; 32],
}

impl Crafter {
    /// A fresh key `A = [a]B + key_torsion` (pass `torsion(1)` for an honest key).
    pub(crate) fn new(key_torsion: EdwardsPoint) -> Self {
        let a = random_scalar();
        let key = (ED25519_BASEPOINT_POINT * a + key_torsion).compress().to_bytes();
        Self { a, key }
    }

    /// An honest, torsion-free key.
    pub(crate) fn honest() -> Self {
        Self::new(EdwardsPoint::identity())
    }

    pub(crate) fn public(&self) -> PublicKey {
        PublicKey(self.key)
    }

    /// `h = SHA-512(R ‖ A ‖ M) mod ℓ`, as RFC 8032 defines it.
    pub(crate) fn challenge(r: &[u8; 32], key: &[u8; 32], message: &[u8]) -> Scalar {
        let digest: [u8; 64] =
            Sha512::new().chain_update(r).chain_update(key).chain_update(message).finalize().into();
        Scalar::from_bytes_mod_order_wide(&digest)
    }

    /// A signature over `message` with `R = [r]B + r_torsion` (fresh random
    /// `r`) and `s = r + h·a + s_offset`.
    pub(crate) fn sign(
        &self,
        message: &[u8],
        r_torsion: EdwardsPoint,
        s_offset: Scalar,
    ) -> Signature {
        let r = random_scalar();
        let big_r = (ED25519_BASEPOINT_POINT * r + r_torsion).compress().to_bytes();
        let h = Self::challenge(&big_r, &self.key, message);
        let s = r + h * self.a + s_offset;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&big_r);
        sig[32..].copy_from_slice(s.as_bytes());
        Signature(sig)
    }

    /// An honest signature (no torsion, no offset), but with a random nonce.
    pub(crate) fn sign_honestly(&self, message: &[u8]) -> Signature {
        self.sign(message, EdwardsPoint::identity(), Scalar::ZERO)
    }
}

/// ℓ, the order of the prime-order subgroup, little-endian.
const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// `signature` with `s` written as `s + ℓ`: the same scalar modulo ℓ, so
/// the equation still holds, in a second, non-canonical encoding.
pub(crate) fn with_s_plus_ell(signature: &Signature) -> Signature {
    let mut bytes = signature.0;
    let mut carry = 0u16;
    for (i, l) in ELL.iter().enumerate() {
        let sum = u16::from(bytes[32 + i]) + u16::from(*l) + carry;
        bytes[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    assert!(carry == 0 && bytes[63] < 0x20, "s + ℓ < 2^253 for every canonical s");
    Signature(bytes)
}
