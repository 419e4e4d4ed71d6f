//! The encrypted key file: a physician's, a root's or a node's secret key at
//! rest, sealed under a passphrase.
//!
//! A physician's private key never leaves their device. On disk it lives in
//! one small JSON file that a person can read (everything but the secret is
//! in the clear):
//!
//! ```json
//! {
//!   "version": 1,
//!   "kind": "physician",
//!   "public_key": "<64 hex>",
//!   "kdf": { "algorithm": "argon2id", "m_kib": 65536, "t": 3, "p": 1, "salt": "<32 hex>" },
//!   "cipher": { "algorithm": "xchacha20poly1305", "nonce": "<48 hex>", "ciphertext": "<96 hex>" },
//!   "label": "dr-example"
//! }
//! ```
//!
//! The plaintext is the key's 32-byte ed25519 seed. The encryption key is
//! Argon2id(passphrase, salt) with the parameters written in the file; the
//! cipher is XChaCha20-Poly1305 under a random 24-byte nonce, and its
//! associated data is the whole header: format version, kind, public key,
//! KDF algorithm, parameters and salt, cipher algorithm and label. Changing
//! any byte of the file therefore makes it fail to open (as a wrong
//! passphrase, or as a malformed file), never yield a different key. After
//! decrypting, the key's public half must equal `public_key`.
//!
//! # What it defends against
//!
//! A stolen laptop, disk or backup. The thief has the file, but the seed
//! in it is only as weak as the passphrase: every guess costs one Argon2id
//! evaluation (by default 64 MiB of memory and 3 passes), which makes
//! guessing on GPUs and ASICs expensive. A long passphrase makes it
//! hopeless, and a new key is sealed only under one (see [`strength`]): at
//! least 12 characters and more than 10^10 guesses by zxcvbn's estimate,
//! told the handle or network name so that a passphrase made of them
//! counts for little. Only [`NewPassphrase`] seals, and only the judge
//! makes one; an existing key opens with whatever it was sealed under.
//!
//! # What it does not defend against
//!
//! A compromised running device. Malware on the physician's machine can
//! read the passphrase as it is typed, or the seed from memory while the
//! key is open, or simply sign with it. Zeroizing buffers (the seed, the
//! derived key, the passphrase) only shortens how long secrets linger in
//! memory; it cannot keep them from an attacker who is already inside. Nor
//! does the file hide *that* a key exists, its public key, kind or label.
//!
//! # Passphrases in scripts and tests
//!
//! [`open_with_passphrase`] and [`new_passphrase`] read `CURBSIDE_PASSPHRASE` when it
//! is set, and prompt on the terminal otherwise; a script that makes a key
//! must set a strong one too. Tests seal with [`KdfParams::fast`]; a test that
//! drives the `curbside` binary can set `CURBSIDE_KDF_FAST=1` so that
//! [`KdfParams::from_env`] chooses those weak parameters for new keys (debug
//! builds only: a release build ignores the variable and warns). Never
//! set it for real keys: the parameters are written into the file, and a
//! file sealed with them is cheap to brute-force.
//!
//! Unix only: files are created with mode 0600 and directories with 0700.

use std::io;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::AeadInOut as _;
use chacha20poly1305::{KeyInit as _, Tag, XChaCha20Poly1305, XNonce};
use curbside_protocol::{PublicKey, SecretKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

mod file;
mod passphrase;
mod strength;

use file::{check_label, parse, read_limited};
pub(crate) use passphrase::{NewPassphrase, new_passphrase, open_with_passphrase};
pub(crate) use strength::Weakness;

/// The key file format this code writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The environment variable [`open_with_passphrase`] reads before prompting.
pub(crate) const PASSPHRASE_ENV: &str = "CURBSIDE_PASSPHRASE";

/// The environment variable that makes [`KdfParams::from_env`] choose
/// [`KdfParams::fast`]. For tests only.
pub(crate) const KDF_FAST_ENV: &str = "CURBSIDE_KDF_FAST";

const KDF_ALGORITHM: &str = "argon2id";
const CIPHER_ALGORITHM: &str = "xchacha20poly1305";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const SEED_LEN: usize = 32;
const TAG_LEN: usize = 16;
/// A key file is a few hundred bytes; anything much larger is not one.
const MAX_FILE_BYTES: u64 = 64 * 1024;
const MAX_LABEL_CHARS: usize = 200;
/// Domain separation for the associated data.
const AAD_DOMAIN: &[u8] = b"curbside keystore header\0";

/// What a key is for. Written to the file as `"physician"`, `"root"` or
/// `"node"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum KeyKind {
    /// A physician's pseudonymous signing key.
    Physician,
    /// A genesis root's key.
    Root,
    /// A node's key (also its network identity).
    Node,
}

impl KeyKind {
    /// The lowercase name used in the file.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KeyKind::Physician => "physician",
            KeyKind::Root => "root",
            KeyKind::Node => "node",
        }
    }
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Argon2id cost parameters, stored in each key file.
///
/// Opening a file always uses the parameters written in it, so changing the
/// defaults never locks anyone out of an existing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct KdfParams {
    /// Memory, in KiB.
    pub(crate) m_kib: u32,
    /// Passes over the memory.
    pub(crate) t: u32,
    /// Lanes (parallelism).
    pub(crate) p: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes, 1 lane: about a quarter of a second on a laptop.
    fn default() -> Self {
        Self { m_kib: 64 * 1024, t: 3, p: 1 }
    }
}

impl KdfParams {
    /// The most memory a key file may ask for: 4 GiB. More is a damaged file.
    pub(crate) const MAX_M_KIB: u32 = 4 * 1024 * 1024;
    /// The most passes a key file may ask for.
    pub(crate) const MAX_T: u32 = 64;
    /// The most lanes a key file may ask for.
    pub(crate) const MAX_P: u32 = 16;

    /// Weak, quick parameters (256 KiB, 1 pass, 1 lane) **for tests only**:
    /// a key sealed with them is cheap to brute-force.
    pub(crate) fn fast() -> Self {
        Self { m_kib: 256, t: 1, p: 1 }
    }

    /// The parameters for a new key: [`KdfParams::default`], or
    /// [`KdfParams::fast`] when `CURBSIDE_KDF_FAST=1` is set, so that tests
    /// driving the `curbside` binary do not spend seconds per key. Never set
    /// that variable for real keys.
    ///
    /// Release builds ignore it (and say so): a key made by the binary
    /// people install is always sealed with the full parameters.
    pub(crate) fn from_env() -> Self {
        if std::env::var_os(KDF_FAST_ENV).is_some_and(|v| v == "1") {
            if cfg!(debug_assertions) {
                return Self::fast();
            }
            eprintln!("warning: {KDF_FAST_ENV} is ignored by release builds; using the full KDF");
        }
        Self::default()
    }

    /// Whether Argon2id accepts these parameters and they are within the
    /// bounds a key file may ask for; the reason if not.
    fn check(self) -> Result<(), String> {
        if !(1..=Self::MAX_P).contains(&self.p) {
            return Err(format!("p = {} (lanes) must be 1 to {}", self.p, Self::MAX_P));
        }
        if !(1..=Self::MAX_T).contains(&self.t) {
            return Err(format!("t = {} (passes) must be 1 to {}", self.t, Self::MAX_T));
        }
        let min_m = 8 * self.p;
        if !(min_m..=Self::MAX_M_KIB).contains(&self.m_kib) {
            return Err(format!(
                "m_kib = {} (memory) must be {min_m} to {}",
                self.m_kib,
                Self::MAX_M_KIB
            ));
        }
        Ok(())
    }
}

/// Why a key file could not be read, written, sealed or opened. Every
/// message says what to do next.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeystoreError {
    /// No file at the path.
    #[error("no key file at {}: check the path, or create the key first", .path.display())]
    NotFound {
        /// Where the file was looked for.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("cannot read key file {}: {source}; check that it is a file you may read", .path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The file is not a well-formed key file.
    #[error(
        "{} is not a valid Curbside key file ({detail}); restore it from a backup",
        .path.display()
    )]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The file is in a format version this build does not understand.
    #[error(
        "key file {} is format version {found}, but this curbside reads only version {FORMAT_VERSION}: upgrade curbside",
        .path.display()
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version it declares.
        found: u64,
    },
    /// Decryption failed: the passphrase is wrong, or the file was altered
    /// (the two cannot be told apart).
    #[error(
        "wrong passphrase for {what}: try again, or set CURBSIDE_PASSPHRASE (if the passphrase is surely right, the file has been altered: restore it from a backup)"
    )]
    WrongPassphrase {
        /// The file's path, or the key if it was not loaded from a file.
        what: String,
    },
    /// The file decrypted, but its contents do not match its header.
    #[error("key file for {what} is corrupt ({detail}): restore it from a backup")]
    Corrupt {
        /// The file's path, or the key.
        what: String,
        /// What does not match.
        detail: String,
    },
    /// `save` would replace an existing file.
    #[error(
        "{} already exists: refusing to overwrite a key file; move it aside or choose another path",
        .path.display()
    )]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// Writing the file failed; nothing was replaced.
    #[error(
        "cannot write key file {}: {source}; check the directory's permissions and free space",
        .path.display()
    )]
    Write {
        /// The target file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// Unusable Argon2id parameters were asked for.
    #[error("invalid key derivation parameters: {detail}; use the defaults")]
    InvalidParams {
        /// Which parameter and why.
        detail: String,
    },
    /// The label cannot be stored.
    #[error("invalid key label: {detail}; choose a shorter, single-line label")]
    InvalidLabel {
        /// Why.
        detail: String,
    },
    /// Key derivation failed at run time (usually: not enough memory).
    #[error(
        "deriving the key from the passphrase failed ({detail}): free some memory and try again"
    )]
    Kdf {
        /// Argon2's reason.
        detail: String,
    },
    /// Encryption failed (it cannot for a 32-byte seed; kept for honesty).
    #[error("encrypting the key failed: try again")]
    Encrypt,
    /// The operating system gave no randomness.
    #[error(
        "the operating system's random number generator failed ({detail}): the key was not written; try again"
    )]
    Random {
        /// The reason.
        detail: String,
    },
    /// An empty passphrase was given.
    #[error(
        "an empty passphrase is not allowed: type a passphrase, or set CURBSIDE_PASSPHRASE to a non-empty one"
    )]
    EmptyPassphrase,
    /// A new passphrase is too weak for a key worth stealing.
    #[error(
        "the passphrase is too weak to protect a key worth stealing: {weakness}. Nothing was written. Instead, {}{} (weak_passphrase)",
        strength::ADVICE,
        if *from_env { ", and set CURBSIDE_PASSPHRASE to it" } else { "" }
    )]
    WeakPassphrase {
        /// Why.
        weakness: Weakness,
        /// Whether it came from `CURBSIDE_PASSPHRASE`.
        from_env: bool,
    },
    /// The confirmation did not match.
    #[error(
        "the two passphrases did not match: run the command again and type the same passphrase twice"
    )]
    PassphraseMismatch,
    /// `CURBSIDE_PASSPHRASE` holds bytes that are not UTF-8.
    #[error(
        "CURBSIDE_PASSPHRASE is not valid UTF-8: set it to a UTF-8 passphrase, or unset it to be asked"
    )]
    PassphraseNotUnicode,
    /// There is no terminal to prompt on and no `CURBSIDE_PASSPHRASE`.
    #[error("no terminal to ask for the passphrase on: set CURBSIDE_PASSPHRASE")]
    NoTerminal,
    /// Reading from the terminal failed.
    #[error(
        "could not read the passphrase from the terminal ({source}): try again, or set CURBSIDE_PASSPHRASE"
    )]
    Prompt {
        /// The reason.
        source: io::Error,
    },
}

/// A parsed key file: the public header and the sealed seed.
///
/// Holds no secret in the clear; its `Debug` shows the header only. Open it
/// with [`Keystore::open`].
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Keystore {
    kind: KeyKind,
    public_key: PublicKey,
    params: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
    /// The encrypted seed.
    sealed: [u8; SEED_LEN],
    tag: [u8; TAG_LEN],
    label: Option<String>,
    /// Where it was loaded from, for messages. Not part of the file.
    origin: Option<PathBuf>,
}

impl std::fmt::Debug for Keystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keystore")
            .field("kind", &self.kind)
            .field("public_key", &self.public_key)
            .field("label", &self.label)
            .field("kdf", &self.params)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Keystore {
    /// Seals `key` under `passphrase`: a fresh random salt and nonce, the
    /// seed encrypted with a key derived by Argon2id with `params`.
    ///
    /// Only a [`NewPassphrase`], which has passed the strength rule, seals.
    /// Refuses out-of-range parameters, and labels that are longer than 200
    /// characters or contain control characters.
    pub(crate) fn seal(
        key: &SecretKey,
        kind: KeyKind,
        label: Option<String>,
        passphrase: &NewPassphrase,
        params: KdfParams,
    ) -> Result<Self, KeystoreError> {
        Self::seal_seed(&key.to_seed(), key.public(), kind, label, passphrase.as_str(), params)
    }

    /// [`Keystore::seal`] with the public key given separately (tests use
    /// this to build an inconsistent file).
    fn seal_seed(
        seed: &[u8; SEED_LEN],
        public_key: PublicKey,
        kind: KeyKind,
        label: Option<String>,
        passphrase: &str,
        params: KdfParams,
    ) -> Result<Self, KeystoreError> {
        if passphrase.is_empty() {
            return Err(KeystoreError::EmptyPassphrase);
        }
        params.check().map_err(|detail| KeystoreError::InvalidParams { detail })?;
        if let Some(label) = &label {
            check_label(label).map_err(|detail| KeystoreError::InvalidLabel { detail })?;
        }
        let mut salt = [0u8; SALT_LEN];
        fill_random(&mut salt)?;
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        let mut store = Self {
            kind,
            public_key,
            params,
            salt,
            nonce,
            sealed: [0; SEED_LEN],
            tag: [0; TAG_LEN],
            label,
            origin: None,
        };

        let key = derive_key(passphrase, &store.salt, store.params)?;
        let cipher = XChaCha20Poly1305::new((&*key).into());
        let mut buf = Zeroizing::new(*seed);
        let tag = cipher
            .encrypt_inout_detached(
                &XNonce::from(store.nonce),
                &store.associated_data(),
                buf.as_mut_slice().into(),
            )
            .map_err(|_| KeystoreError::Encrypt)?;
        store.sealed = *buf;
        store.tag = tag.into();
        Ok(store)
    }

    /// Decrypts the seed with `passphrase` and returns the key.
    ///
    /// A wrong passphrase, or any change to the file, is
    /// [`KeystoreError::WrongPassphrase`]; a file that decrypts to a key
    /// whose public half is not `public_key` is [`KeystoreError::Corrupt`].
    pub(crate) fn open(&self, passphrase: &str) -> Result<SecretKey, KeystoreError> {
        if passphrase.is_empty() {
            return Err(KeystoreError::EmptyPassphrase);
        }
        let key = derive_key(passphrase, &self.salt, self.params)?;
        let cipher = XChaCha20Poly1305::new((&*key).into());
        let mut seed = Zeroizing::new(self.sealed);
        cipher
            .decrypt_inout_detached(
                &XNonce::from(self.nonce),
                &self.associated_data(),
                seed.as_mut_slice().into(),
                &Tag::from(self.tag),
            )
            .map_err(|_| KeystoreError::WrongPassphrase { what: self.describe() })?;
        let secret = SecretKey::from_seed(&seed);
        if secret.public() != self.public_key {
            return Err(KeystoreError::Corrupt {
                what: self.describe(),
                detail: format!(
                    "it holds the key {}, not the {} named in the file",
                    secret.public().short(),
                    self.public_key.short()
                ),
            });
        }
        Ok(secret)
    }

    /// The public key (readable without the passphrase).
    pub(crate) fn public_key(&self) -> PublicKey {
        self.public_key
    }

    /// What the key is for.
    pub(crate) fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The label, e.g. the physician's handle.
    pub(crate) fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The Argon2id parameters the file was sealed with.
    #[allow(dead_code)] // for a future `id passwd`; tested
    pub(crate) fn kdf_params(&self) -> KdfParams {
        self.params
    }

    /// Reads and checks a key file. Does not need the passphrase.
    pub(crate) fn load(path: &Path) -> Result<Self, KeystoreError> {
        let bytes = read_limited(path)?;
        let mut store = parse(&bytes, path)?;
        store.origin = Some(path.to_path_buf());
        Ok(store)
    }

    /// Writes the file atomically, refusing to replace an existing file.
    ///
    /// The file is written in full to a temporary file in the same
    /// directory (mode 0600), flushed to disk, and then linked into place
    /// only if nothing is there; missing parent directories are created
    /// with mode 0700. A crash leaves either no file or the whole file.
    pub(crate) fn save(&self, path: &Path) -> Result<(), KeystoreError> {
        self.write_atomically(path, false)
    }

    /// [`Keystore::save`], but atomically replaces an existing file: a
    /// reader sees the old file or the new one, never a mixture.
    #[allow(dead_code)] // for a future `id passwd`; tested
    pub(crate) fn save_overwrite(&self, path: &Path) -> Result<(), KeystoreError> {
        self.write_atomically(path, true)
    }

    /// The file, or the key, for messages.
    fn describe(&self) -> String {
        match (&self.origin, &self.label) {
            (Some(path), _) => path.display().to_string(),
            (None, Some(label)) => format!("key \"{label}\" ({})", self.public_key.short()),
            (None, None) => format!("key {}", self.public_key.short()),
        }
    }

    /// The header, encoded unambiguously: the AEAD's associated data.
    ///
    /// Variable-length fields carry a length prefix, so no two different
    /// headers encode alike.
    fn associated_data(&self) -> Vec<u8> {
        fn field(out: &mut Vec<u8>, bytes: &[u8]) {
            out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
            out.extend_from_slice(bytes);
        }
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(AAD_DOMAIN);
        out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        field(&mut out, self.kind.as_str().as_bytes());
        out.extend_from_slice(self.public_key.as_bytes());
        field(&mut out, KDF_ALGORITHM.as_bytes());
        out.extend_from_slice(&self.params.m_kib.to_be_bytes());
        out.extend_from_slice(&self.params.t.to_be_bytes());
        out.extend_from_slice(&self.params.p.to_be_bytes());
        field(&mut out, &self.salt);
        field(&mut out, CIPHER_ALGORITHM.as_bytes());
        match &self.label {
            None => out.push(0),
            Some(label) => {
                out.push(1);
                field(&mut out, label.as_bytes());
            }
        }
        out
    }
}

/// Argon2id(passphrase, salt) with `params`: the 32-byte cipher key.
fn derive_key(
    passphrase: &str,
    salt: &[u8; SALT_LEN],
    params: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
    params.check().map_err(|detail| KeystoreError::InvalidParams { detail })?;
    let argon_params = argon2::Params::new(params.m_kib, params.t, params.p, Some(32))
        .map_err(|e| KeystoreError::InvalidParams { detail: e.to_string() })?;
    let argon =
        argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon_params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.as_bytes(), salt, key.as_mut_slice())
        .map_err(|e| KeystoreError::Kdf { detail: e.to_string() })?;
    Ok(key)
}

fn fill_random(buf: &mut [u8]) -> Result<(), KeystoreError> {
    getrandom::fill(buf).map_err(|e| KeystoreError::Random { detail: e.to_string() })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
