//! Keys and signatures: [`PublicKey`], [`SecretKey`], [`Signature`].
//!
//! Every key in Curbside is ed25519: a root's, a node's (which is also its
//! libp2p identity), a physician's pseudonymous key. Verification is always
//! strict (`verify_strict`): weak keys, small-order `R` and non-canonical
//! scalars are refused, so a signature has exactly one valid encoding.

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use zeroize::ZeroizeOnDrop;

use crate::bytes::fixed_bytes;

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
    /// The 32 bytes are not the encoding of a point on the curve.
    #[error("the public key is not a valid ed25519 point")]
    InvalidKey,
    /// The signature does not verify under strict rules.
    #[error("the signature does not verify")]
    Mismatch,
}

impl PublicKey {
    /// The first 8 bytes in hex, for people and logs.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..8])
    }

    /// The decompressed key, for verification.
    pub(crate) fn verifying_key(&self) -> Result<VerifyingKey, SignatureError> {
        VerifyingKey::from_bytes(&self.0).map_err(|_| SignatureError::InvalidKey)
    }

    /// Strictly verifies `signature` over `message`.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        let key = self.verifying_key()?;
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        key.verify_strict(message, &sig).map_err(|_| SignatureError::Mismatch)
    }
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
    use super::*;

    #[test]
    fn sign_and_verify_strictly() {
        let sk = SecretKey::from_seed(&[7; 32]);
        let pk = sk.public();
        let sig = sk.sign(b"hello");
        assert_eq!(pk.verify(b"hello", &sig), Ok(()));
        assert_eq!(pk.verify(b"hellp", &sig), Err(SignatureError::Mismatch));
    }

    #[test]
    fn weak_key_forgery_is_refused() {
        // The identity point as a key, R = identity, s = 0 satisfies the
        // cofactorless equation for every message; strict verification must
        // refuse it.
        let mut key = [0u8; 32];
        key[0] = 1;
        let mut sig = [0u8; 64];
        sig[0] = 1;
        let pk = PublicKey::from_bytes(key);
        assert!(pk.verify(b"anything", &Signature::from_bytes(sig)).is_err());
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
