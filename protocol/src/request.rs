//! How a physician asks to be attested, and how a licence stays private.
//!
//! 1. On their own device the physician makes an [`AttestationRequest`]:
//!    their public key and chosen handle, signed by that same key (proof of
//!    possession), as one copy-pasteable string.
//! 2. The verifier checks the licence out of band, then signs an
//!    [`crate::Attestation`] that carries the request's signature, so anyone
//!    can check the subject asked for it — nobody can get someone else's key
//!    attested.
//! 3. The licence appears only as `C = SHA-256(salt || jurisdiction || licence)`.
//!    The verifier keeps the [`LicenceOpening`] privately; shown to a
//!    regulator, it proves which licence stands behind an attestation.
//!
//! Because the jurisdiction in the hash is always the attestation's own,
//! the unseparated concatenation is unambiguous for a given attestation.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::{
    Attestation, Digest, Handle, Jurisdiction, NetworkId, PublicKey, SecretKey, Signature,
    SignatureError, Timestamp, encoding, ids::sha256,
};

/// Domain separation for the proof-of-possession signature.
pub const REQUEST_DOMAIN: &[u8] = b"curbside/attestation-request/v1";

/// The prefix of a request string, so a pasted string says what it is.
pub const REQUEST_PREFIX: &str = "curbside-request-v1:";

/// A physician's signed request to have their key attested.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationRequest {
    /// The network the attestation is for.
    pub network: NetworkId,
    /// The key to attest.
    pub subject: PublicKey,
    /// The pseudonym the physician chose.
    pub handle: Handle,
    /// When it was signed.
    pub requested_at: Timestamp,
    /// `subject`'s signature over [`AttestationRequest::message`].
    pub signature: Signature,
}

/// Why a request string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// It does not start with [`REQUEST_PREFIX`].
    #[error("not an attestation request: it should start with {REQUEST_PREFIX:?}")]
    Prefix,
    /// The text after the prefix is not base64url.
    #[error("the request is not valid base64url (was it cut off when copied?)")]
    Base64,
    /// The bytes are not a canonical request.
    #[error("the request is damaged: {0}")]
    Encoding(String),
    /// The proof of possession does not verify.
    #[error("the request's signature does not verify: it was not signed by the key it names")]
    Signature,
}

impl AttestationRequest {
    /// The bytes the subject signs:
    /// `SHA-256(REQUEST_DOMAIN || network || subject || canonical(handle) || requested_at as u64 BE)`.
    pub fn message(
        network: &NetworkId,
        subject: &PublicKey,
        handle: &Handle,
        requested_at: Timestamp,
    ) -> [u8; 32] {
        sha256(&[
            REQUEST_DOMAIN,
            network.as_bytes(),
            subject.as_bytes(),
            &encoding::to_vec(handle),
            &requested_at.as_millis().to_be_bytes(),
        ])
    }

    /// A request signed by `key`.
    pub fn new(
        network: NetworkId,
        key: &SecretKey,
        handle: Handle,
        requested_at: Timestamp,
    ) -> Self {
        let subject = key.public();
        let signature = key.sign(&Self::message(&network, &subject, &handle, requested_at));
        Self { network, subject, handle, requested_at, signature }
    }

    /// Checks the proof of possession.
    pub fn verify(&self) -> Result<(), SignatureError> {
        verify_possession(
            &self.network,
            &self.subject,
            &self.handle,
            self.requested_at,
            &self.signature,
        )
    }

    /// The copy-pasteable form: [`REQUEST_PREFIX`] + base64url(canonical bytes).
    pub fn to_text(&self) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(encoding::to_vec(self));
        format!("{REQUEST_PREFIX}{b64}")
    }

    /// Parses [`AttestationRequest::to_text`]'s output and checks its signature.
    /// Whitespace (from line-wrapping in an e-mail) is ignored.
    pub fn from_text(text: &str) -> Result<Self, RequestError> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let b64 = compact.strip_prefix(REQUEST_PREFIX).ok_or(RequestError::Prefix)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|_| RequestError::Base64)?;
        let request: Self = encoding::from_canonical_bytes(&bytes)
            .map_err(|e| RequestError::Encoding(e.to_string()))?;
        request.verify().map_err(|_| RequestError::Signature)?;
        Ok(request)
    }
}

/// Checks a proof of possession (as carried in a request or an attestation).
pub fn verify_possession(
    network: &NetworkId,
    subject: &PublicKey,
    handle: &Handle,
    requested_at: Timestamp,
    signature: &Signature,
) -> Result<(), SignatureError> {
    subject.verify(&AttestationRequest::message(network, subject, handle, requested_at), signature)
}

impl Attestation {
    /// Checks that the subject asked for this attestation on `network`.
    pub fn verify_possession(&self, network: &NetworkId) -> Result<(), SignatureError> {
        verify_possession(network, &self.subject, &self.handle, self.requested_at, &self.possession)
    }
}

/// What a verifier keeps privately for each attestation: the opening of its
/// licence commitment.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenceOpening {
    /// 32 random bytes, so the commitment cannot be brute-forced from the
    /// (small, public) space of licence numbers.
    pub salt: Digest,
    /// Where the licence was issued.
    pub jurisdiction: Jurisdiction,
    /// The licence number as on the register (trimmed).
    pub licence: String,
}

impl std::fmt::Debug for LicenceOpening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The licence identifies a person: keep it out of logs.
        f.debug_struct("LicenceOpening")
            .field("jurisdiction", &self.jurisdiction)
            .finish_non_exhaustive()
    }
}

impl LicenceOpening {
    /// An opening with a fresh random salt.
    pub fn new(jurisdiction: Jurisdiction, licence: &str) -> Self {
        let mut salt = [0u8; 32];
        crate::keys::getrandom_fill(&mut salt);
        Self { salt: Digest::from_bytes(salt), jurisdiction, licence: licence.trim().to_string() }
    }

    /// `SHA-256(salt || jurisdiction || licence)`.
    pub fn commitment(&self) -> Digest {
        licence_commitment(&self.salt, &self.jurisdiction, &self.licence)
    }

    /// Whether this opening matches `attestation`: same jurisdiction and the
    /// same commitment.
    pub fn opens(&self, attestation: &Attestation) -> bool {
        self.jurisdiction == attestation.jurisdiction
            && self.commitment() == attestation.licence_commitment
    }
}

/// `SHA-256(salt || jurisdiction || licence.trim())`.
pub fn licence_commitment(salt: &Digest, jurisdiction: &Jurisdiction, licence: &str) -> Digest {
    Digest::from_bytes(sha256(&[
        salt.as_bytes(),
        jurisdiction.as_str().as_bytes(),
        licence.trim().as_bytes(),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> AttestationRequest {
        let key = SecretKey::from_seed(&[3; 32]);
        AttestationRequest::new(
            NetworkId::from_bytes([9; 32]),
            &key,
            Handle::new("dr-lee").unwrap(),
            Timestamp::from_millis(1_000),
        )
    }

    #[test]
    fn request_text_round_trips_and_tolerates_wrapping() {
        let r = request();
        let text = r.to_text();
        assert!(text.starts_with(REQUEST_PREFIX));
        assert_eq!(AttestationRequest::from_text(&text).unwrap(), r);
        let wrapped: String = text
            .chars()
            .enumerate()
            .flat_map(|(i, c)| if i % 40 == 39 { vec![c, '\n'] } else { vec![c] })
            .collect();
        assert_eq!(AttestationRequest::from_text(&wrapped).unwrap(), r);
    }

    #[test]
    fn damaged_requests_are_refused() {
        let text = request().to_text();
        assert_eq!(AttestationRequest::from_text("hello"), Err(RequestError::Prefix));
        assert_eq!(
            AttestationRequest::from_text(&format!("{REQUEST_PREFIX}***")),
            Err(RequestError::Base64)
        );
        assert!(matches!(
            AttestationRequest::from_text(&text[..text.len() - 8]),
            Err(RequestError::Encoding(_))
        ));
        // A request re-signed by another key for this subject fails.
        let mut r = request();
        r.signature = SecretKey::from_seed(&[4; 32]).sign(b"x");
        assert_eq!(AttestationRequest::from_text(&r.to_text()), Err(RequestError::Signature));
        // A different handle under the same signature fails.
        let mut r = request();
        r.handle = Handle::new("dr-other").unwrap();
        assert_eq!(AttestationRequest::from_text(&r.to_text()), Err(RequestError::Signature));
    }

    #[test]
    fn commitment_opens_only_with_the_right_licence() {
        let j = Jurisdiction::new("GB").unwrap();
        let opening = LicenceOpening::new(j.clone(), " 7654321 ");
        assert_eq!(opening.licence, "7654321");
        let c = opening.commitment();
        assert_eq!(licence_commitment(&opening.salt, &j, "7654321"), c);
        assert_ne!(licence_commitment(&opening.salt, &j, "7654322"), c);
        assert_ne!(LicenceOpening::new(j, "7654321").commitment(), c, "salts differ");
        assert!(!format!("{opening:?}").contains("7654321"));
    }
}
