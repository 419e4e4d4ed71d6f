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
//! [`passphrase`] and [`new_passphrase`] read `CURBSIDE_PASSPHRASE` when it
//! is set, and prompt on the terminal otherwise; a script that makes a key
//! must set a strong one too. Tests seal with [`KdfParams::fast`]; a test that
//! drives the `curbside` binary can set `CURBSIDE_KDF_FAST=1` so that
//! [`KdfParams::from_env`] chooses those weak parameters for new keys (debug
//! builds only: a release build ignores the variable and warns). Never
//! set it for real keys: the parameters are written into the file, and a
//! file sealed with them is cheap to brute-force.
//!
//! Unix only: files are created with mode 0600 and directories with 0700.

use std::ffi::OsString;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::AeadInOut as _;
use chacha20poly1305::{KeyInit as _, Tag, XChaCha20Poly1305, XNonce};
use curbside_protocol::{PublicKey, SecretKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

mod passphrase;
mod strength;

pub(crate) use passphrase::{NewPassphrase, new_passphrase, passphrase};
pub(crate) use strength::Weakness;

/// The key file format this code writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The environment variable [`passphrase`] reads before prompting.
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

    /// The JSON text of the file.
    fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut ciphertext = Vec::with_capacity(SEED_LEN + TAG_LEN);
        ciphertext.extend_from_slice(&self.sealed);
        ciphertext.extend_from_slice(&self.tag);
        let file = KeyFile {
            version: FORMAT_VERSION,
            kind: self.kind,
            public_key: self.public_key,
            kdf: KdfSection {
                algorithm: KDF_ALGORITHM.to_owned(),
                m_kib: self.params.m_kib,
                t: self.params.t,
                p: self.params.p,
                salt: hex::encode(self.salt),
            },
            cipher: CipherSection {
                algorithm: CIPHER_ALGORITHM.to_owned(),
                nonce: hex::encode(self.nonce),
                ciphertext: hex::encode(ciphertext),
            },
            label: self.label.clone(),
        };
        let mut text = serde_json::to_string_pretty(&file)?;
        text.push('\n');
        Ok(text)
    }

    fn write_atomically(&self, path: &Path, overwrite: bool) -> Result<(), KeystoreError> {
        let write_err = |source| KeystoreError::Write { path: path.to_path_buf(), source };
        let exists = || fs::symlink_metadata(path).is_ok();
        if !overwrite && exists() {
            return Err(KeystoreError::AlreadyExists { path: path.to_path_buf() });
        }
        let text = self.to_json().map_err(|e| write_err(io::Error::other(e)))?;
        let name = path.file_name().ok_or_else(|| {
            write_err(io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))
        })?;
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(write_err)?;

        let mut random = [0u8; 8];
        fill_random(&mut random)?;
        let mut temp_name = OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.tmp", hex::encode(random)));
        let temp = TempFile { path: dir.join(temp_name) };
        {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp.path)
                .map_err(write_err)?;
            file.write_all(text.as_bytes()).map_err(write_err)?;
            file.sync_all().map_err(write_err)?;
        }

        if overwrite {
            fs::rename(&temp.path, path).map_err(write_err)?;
        } else {
            // A hard link fails if the target exists: no window in which
            // another writer's file could be replaced.
            match fs::hard_link(&temp.path, path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(KeystoreError::AlreadyExists { path: path.to_path_buf() });
                }
                // A file system without hard links: check, then rename.
                Err(_) => {
                    if exists() {
                        return Err(KeystoreError::AlreadyExists { path: path.to_path_buf() });
                    }
                    fs::rename(&temp.path, path).map_err(write_err)?;
                }
            }
        }
        drop(temp);
        File::open(dir).and_then(|d| d.sync_all()).map_err(write_err)
    }
}

/// A temporary file, removed when dropped (a no-op once renamed away).
struct TempFile {
    path: PathBuf,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// The JSON shape of a key file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    version: u32,
    kind: KeyKind,
    public_key: PublicKey,
    kdf: KdfSection,
    cipher: CipherSection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfSection {
    algorithm: String,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CipherSection {
    algorithm: String,
    nonce: String,
    ciphertext: String,
}

/// Reads at most [`MAX_FILE_BYTES`] (and one more, to notice a larger file).
fn read_limited(path: &Path) -> Result<Vec<u8>, KeystoreError> {
    let unreadable = |source| KeystoreError::Unreadable { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => KeystoreError::NotFound { path: path.to_path_buf() },
        _ => unreadable(source),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(KeystoreError::Format {
            path: path.to_path_buf(),
            detail: format!("larger than {MAX_FILE_BYTES} bytes"),
        });
    }
    Ok(bytes)
}

/// Parses and checks the text of a key file.
fn parse(bytes: &[u8], path: &Path) -> Result<Keystore, KeystoreError> {
    let format = |detail: String| KeystoreError::Format { path: path.to_path_buf(), detail };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format(format!("not JSON: {e}")))?;
    let version = value
        .get("version")
        .ok_or_else(|| format("no \"version\" field".to_owned()))?
        .as_u64()
        .ok_or_else(|| format("\"version\" is not a whole number".to_owned()))?;
    if version != u64::from(FORMAT_VERSION) {
        return Err(KeystoreError::UnsupportedVersion { path: path.to_path_buf(), found: version });
    }
    let file: KeyFile = serde_json::from_value(value).map_err(|e| format(e.to_string()))?;

    if file.kdf.algorithm != KDF_ALGORITHM {
        return Err(format(format!(
            "unknown key derivation \"{}\", expected \"{KDF_ALGORITHM}\"",
            file.kdf.algorithm
        )));
    }
    if file.cipher.algorithm != CIPHER_ALGORITHM {
        return Err(format(format!(
            "unknown cipher \"{}\", expected \"{CIPHER_ALGORITHM}\"",
            file.cipher.algorithm
        )));
    }
    let params = KdfParams { m_kib: file.kdf.m_kib, t: file.kdf.t, p: file.kdf.p };
    params.check().map_err(format)?;
    if let Some(label) = &file.label {
        check_label(label).map_err(format)?;
    }
    let salt: [u8; SALT_LEN] = decode_hex(&file.kdf.salt, "kdf.salt").map_err(format)?;
    let nonce: [u8; NONCE_LEN] = decode_hex(&file.cipher.nonce, "cipher.nonce").map_err(format)?;
    let ciphertext: [u8; SEED_LEN + TAG_LEN] =
        decode_hex(&file.cipher.ciphertext, "cipher.ciphertext").map_err(format)?;
    let mut sealed = [0u8; SEED_LEN];
    sealed.copy_from_slice(&ciphertext[..SEED_LEN]);
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&ciphertext[SEED_LEN..]);

    Ok(Keystore {
        kind: file.kind,
        public_key: file.public_key,
        params,
        salt,
        nonce,
        sealed,
        tag,
        label: file.label,
        origin: None,
    })
}

/// Exactly `N` bytes of hex.
fn decode_hex<const N: usize>(text: &str, field: &str) -> Result<[u8; N], String> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| format!("\"{field}\" must be {} hex characters", 2 * N))?;
    Ok(out)
}

fn check_label(label: &str) -> Result<(), String> {
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(format!("the label is longer than {MAX_LABEL_CHARS} characters"));
    }
    if label.chars().any(char::is_control) {
        return Err("the label contains control characters".to_owned());
    }
    Ok(())
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
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    const PASS: &str = "quartz lantern orbit meadow";

    /// [`PASS`], judged.
    fn pass() -> NewPassphrase {
        NewPassphrase::judged(Zeroizing::new(PASS.to_owned()), &[], false).unwrap()
    }

    fn sealed(kind: KeyKind, label: Option<&str>) -> (SecretKey, Keystore) {
        let key = SecretKey::from_seed(&[7; 32]);
        let store =
            Keystore::seal(&key, kind, label.map(str::to_owned), &pass(), KdfParams::fast())
                .unwrap();
        (key, store)
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Loads `text` from a file and opens it with the right passphrase.
    fn load_and_open(dir: &Path, text: &[u8]) -> Result<SecretKey, KeystoreError> {
        let path = dir.join("tampered.json");
        fs::write(&path, text).unwrap();
        Keystore::load(&path)?.open(PASS)
    }

    fn is_refusal(e: &KeystoreError) -> bool {
        matches!(
            e,
            KeystoreError::WrongPassphrase { .. }
                | KeystoreError::Corrupt { .. }
                | KeystoreError::Format { .. }
                | KeystoreError::UnsupportedVersion { .. }
        )
    }

    #[test]
    fn seal_open_round_trip() {
        let (key, store) = sealed(KeyKind::Physician, Some("dr-house"));
        let opened = store.open(PASS).unwrap();
        assert_eq!(opened.public(), key.public());
        assert_eq!(*opened.to_seed(), *key.to_seed());
        assert_eq!(store.public_key(), key.public());
        assert_eq!(store.kind(), KeyKind::Physician);
        assert_eq!(store.label(), Some("dr-house"));

        // And through a file.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("physician.json");
        store.save(&path).unwrap();
        let loaded = Keystore::load(&path).unwrap();
        assert_eq!(loaded.public_key(), key.public());
        assert_eq!(loaded.kind(), KeyKind::Physician);
        assert_eq!(loaded.label(), Some("dr-house"));
        assert_eq!(loaded.kdf_params(), KdfParams::fast());
        assert_eq!(loaded.open(PASS).unwrap().public(), key.public());
    }

    #[test]
    fn file_is_the_documented_json() {
        let (key, store) = sealed(KeyKind::Root, None);
        let json: serde_json::Value = serde_json::from_str(&store.to_json().unwrap()).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(json["kind"], "root");
        assert_eq!(json["public_key"], key.public().to_string());
        assert_eq!(json["kdf"]["algorithm"], "argon2id");
        assert_eq!(json["kdf"]["m_kib"], 256);
        assert_eq!(json["kdf"]["t"], 1);
        assert_eq!(json["kdf"]["p"], 1);
        assert_eq!(json["kdf"]["salt"].as_str().unwrap().len(), 32);
        assert_eq!(json["cipher"]["algorithm"], "xchacha20poly1305");
        assert_eq!(json["cipher"]["nonce"].as_str().unwrap().len(), 48);
        assert_eq!(json["cipher"]["ciphertext"].as_str().unwrap().len(), 96);
        assert!(json.get("label").is_none());
        // The seed is not in the file in any form.
        assert!(!store.to_json().unwrap().contains(&hex::encode(*key.to_seed())));
    }

    #[test]
    fn each_seal_uses_fresh_salt_and_nonce() {
        let (_, a) = sealed(KeyKind::Node, None);
        let (_, b) = sealed(KeyKind::Node, None);
        assert_ne!(a.salt, b.salt);
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.sealed, b.sealed);
    }

    #[test]
    fn wrong_passphrase_is_refused() {
        let (_, store) = sealed(KeyKind::Physician, None);
        let err = store.open("quartz lantern orbit").unwrap_err();
        assert!(matches!(err, KeystoreError::WrongPassphrase { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("CURBSIDE_PASSPHRASE"), "{message}");
        assert!(matches!(store.open(""), Err(KeystoreError::EmptyPassphrase)));

        // Loaded from a file, the message names the file.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        store.save(&path).unwrap();
        let err = Keystore::load(&path).unwrap().open("nope").unwrap_err();
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    }

    #[test]
    fn empty_passphrase_and_bad_params_are_refused_when_sealing() {
        let key = SecretKey::from_seed(&[1; 32]);
        let seal = |params| Keystore::seal(&key, KeyKind::Node, None, &pass(), params);
        let empty =
            |params| Keystore::seal_seed(&[1; 32], key.public(), KeyKind::Node, None, "", params);
        assert!(matches!(empty(KdfParams::fast()), Err(KeystoreError::EmptyPassphrase)));
        assert!(matches!(
            NewPassphrase::judged(Zeroizing::new(String::new()), &[], false),
            Err(KeystoreError::WeakPassphrase { .. })
        ));
        for params in [
            KdfParams { m_kib: 7, t: 1, p: 1 },
            KdfParams { m_kib: 256, t: 0, p: 1 },
            KdfParams { m_kib: 256, t: 1, p: 0 },
            KdfParams { m_kib: 256, t: 1, p: 64 },
            KdfParams { m_kib: u32::MAX, t: 1, p: 1 },
        ] {
            assert!(matches!(seal(params), Err(KeystoreError::InvalidParams { .. })), "{params:?}");
        }
        let label = |l: &str| {
            Keystore::seal(&key, KeyKind::Node, Some(l.to_owned()), &pass(), KdfParams::fast())
        };
        assert!(matches!(label("two\nlines"), Err(KeystoreError::InvalidLabel { .. })));
        assert!(matches!(label(&"x".repeat(201)), Err(KeystoreError::InvalidLabel { .. })));
        assert!(label("dr-ünïcode").is_ok());
    }

    #[test]
    fn default_params_are_64_mib_3_passes_1_lane() {
        assert_eq!(KdfParams::default(), KdfParams { m_kib: 65536, t: 3, p: 1 });
        assert!(KdfParams::default().check().is_ok());
        assert!(KdfParams::fast().check().is_ok());
    }

    /// Every hex digit of the ciphertext, nonce, salt and public key, and
    /// every KDF parameter, changed in the JSON: the file never opens.
    #[test]
    fn any_changed_field_fails_to_open() {
        let (_, store) = sealed(KeyKind::Physician, Some("dr-house"));
        let dir = tempfile::tempdir().unwrap();
        let original: serde_json::Value = serde_json::from_str(&store.to_json().unwrap()).unwrap();
        assert!(load_and_open(dir.path(), original.to_string().as_bytes()).is_ok());

        let hex_fields: [&[&str]; 4] =
            [&["cipher", "ciphertext"], &["cipher", "nonce"], &["kdf", "salt"], &["public_key"]];
        let mut tried = 0;
        for field in hex_fields {
            let text = field.iter().fold(&original, |v, k| &v[*k]).as_str().unwrap().to_owned();
            for i in 0..text.len() {
                let mut chars: Vec<char> = text.chars().collect();
                let digit = chars[i].to_digit(16).unwrap();
                chars[i] = char::from_digit(digit ^ 0x1, 16).unwrap();
                let mut json = original.clone();
                let slot = field.iter().fold(&mut json, |v, k| &mut v[*k]);
                *slot = serde_json::Value::String(chars.into_iter().collect());
                let err = load_and_open(dir.path(), json.to_string().as_bytes()).unwrap_err();
                assert!(is_refusal(&err), "{field:?}[{i}]: {err:?}");
                tried += 1;
            }
        }
        assert_eq!(tried, 96 + 48 + 32 + 64);

        let changes: Vec<(&str, &str, serde_json::Value)> = vec![
            ("kdf", "m_kib", 257.into()),
            ("kdf", "m_kib", 4_294_967_295u32.into()),
            ("kdf", "t", 2.into()),
            ("kdf", "t", 4_294_967_295u32.into()),
            ("kdf", "p", 2.into()),
            ("kdf", "algorithm", "argon2i".into()),
            ("cipher", "algorithm", "chacha20poly1305".into()),
            ("cipher", "nonce", "00".into()),
            ("cipher", "ciphertext", "not hex at all".into()),
        ];
        for (section, key, value) in changes {
            let mut json = original.clone();
            json[section][key] = value.clone();
            let err = load_and_open(dir.path(), json.to_string().as_bytes()).unwrap_err();
            assert!(is_refusal(&err), "{section}.{key} = {value}: {err:?}");
        }
        for (key, value) in [
            ("kind", serde_json::Value::from("root")),
            ("kind", "admin".into()),
            ("label", "dr-cuddy".into()),
            ("label", serde_json::Value::Null),
            ("version", 0.into()),
            ("extra", true.into()),
        ] {
            let mut json = original.clone();
            json[key] = value.clone();
            let err = load_and_open(dir.path(), json.to_string().as_bytes()).unwrap_err();
            assert!(is_refusal(&err), "{key} = {value}: {err:?}");
        }
        let mut json = original.clone();
        json.as_object_mut().unwrap().remove("label");
        let err = load_and_open(dir.path(), json.to_string().as_bytes()).unwrap_err();
        assert!(matches!(err, KeystoreError::WrongPassphrase { .. }), "{err:?}");
    }

    /// Every single byte of the file, with its low bit flipped: an error,
    /// never a panic and never a key.
    #[test]
    fn any_flipped_byte_of_the_file_fails_cleanly() {
        let (_, store) = sealed(KeyKind::Physician, Some("dr-house"));
        let dir = tempfile::tempdir().unwrap();
        let text = store.to_json().unwrap().into_bytes();
        for i in 0..text.len() {
            let mut bytes = text.clone();
            bytes[i] ^= 0x01;
            match load_and_open(dir.path(), &bytes) {
                Ok(_) => panic!("byte {i} flipped, and the file still opened"),
                Err(e) => assert!(is_refusal(&e), "byte {i}: {e:?}"),
            }
        }
    }

    #[test]
    fn a_key_that_does_not_match_its_public_key_is_corrupt() {
        let other = SecretKey::from_seed(&[8; 32]).public();
        let store =
            Keystore::seal_seed(&[7; 32], other, KeyKind::Physician, None, PASS, KdfParams::fast())
                .unwrap();
        let err = store.open(PASS).unwrap_err();
        assert!(matches!(err, KeystoreError::Corrupt { .. }), "{err:?}");
    }

    #[test]
    fn saved_file_is_0600_and_new_directories_0700() {
        let (_, store) = sealed(KeyKind::Physician, None);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("b").join("key.json");
        store.save(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&dir.path().join("a").join("b")), 0o700);
        assert_eq!(names_in(&dir.path().join("a").join("b")), ["key.json"]);
    }

    #[test]
    fn save_refuses_to_overwrite() {
        let (_, first) = sealed(KeyKind::Physician, Some("first"));
        let (_, second) = sealed(KeyKind::Physician, Some("second"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        first.save(&path).unwrap();
        let before = fs::read(&path).unwrap();
        let err = second.save(&path).unwrap_err();
        assert!(matches!(err, KeystoreError::AlreadyExists { .. }), "{err:?}");
        assert!(err.to_string().contains("refusing to overwrite"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), before);
        assert_eq!(names_in(dir.path()), ["key.json"]);
    }

    #[test]
    fn save_overwrite_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        let (_, first) = sealed(KeyKind::Node, None);
        first.save(&path).unwrap();
        let new_key = SecretKey::from_seed(&[42; 32]);
        let another = "umbrella saffron pilgrim thistle";
        let another_pass =
            NewPassphrase::judged(Zeroizing::new(another.to_owned()), &[], false).unwrap();
        let second =
            Keystore::seal(&new_key, KeyKind::Node, None, &another_pass, KdfParams::fast())
                .unwrap();
        second.save_overwrite(&path).unwrap();
        assert_eq!(names_in(dir.path()), ["key.json"]);
        assert_eq!(mode(&path), 0o600);
        let loaded = Keystore::load(&path).unwrap();
        assert_eq!(loaded.open(another).unwrap().public(), new_key.public());

        // Also onto a path where nothing is yet.
        let fresh = dir.path().join("fresh.json");
        second.save_overwrite(&fresh).unwrap();
        assert_eq!(names_in(dir.path()), ["fresh.json", "key.json"]);
    }

    #[test]
    fn saving_into_an_unwritable_directory_fails_cleanly() {
        let (_, store) = sealed(KeyKind::Node, None);
        let dir = tempfile::tempdir().unwrap();
        let locked = dir.path().join("locked");
        fs::create_dir(&locked).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o500)).unwrap();
        let result = store.save(&locked.join("key.json"));
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o700)).unwrap();
        // Root ignores permissions; then the save simply works.
        if let Err(err) = result {
            assert!(matches!(err, KeystoreError::Write { .. }), "{err:?}");
            assert!(names_in(&locked).is_empty());
        }
    }

    #[test]
    fn debug_shows_no_secret_material() {
        let (key, store) = sealed(KeyKind::Physician, Some("dr-house"));
        let shown = format!("{store:?}");
        assert!(shown.contains(&key.public().to_string()), "{shown}");
        assert!(shown.contains("dr-house"), "{shown}");
        for secret in [
            hex::encode(*key.to_seed()),
            hex::encode(store.sealed),
            hex::encode(store.tag),
            hex::encode(store.salt),
            hex::encode(store.nonce),
            PASS.to_owned(),
        ] {
            assert!(!shown.contains(&secret), "{shown} contains {secret}");
        }
        // Nor in the errors.
        let err = store.open("wrong").unwrap_err();
        assert!(!format!("{err:?} {err}").contains(&hex::encode(*key.to_seed())));
    }

    #[test]
    fn unsupported_version_is_reported() {
        let (_, store) = sealed(KeyKind::Physician, None);
        let mut json: serde_json::Value = serde_json::from_str(&store.to_json().unwrap()).unwrap();
        json["version"] = 2.into();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("future.json");
        fs::write(&path, json.to_string()).unwrap();
        let err = Keystore::load(&path).unwrap_err();
        assert!(matches!(err, KeystoreError::UnsupportedVersion { found: 2, .. }), "{err:?}");
        assert!(err.to_string().contains("upgrade curbside"), "{err}");
    }

    #[test]
    fn load_errors_are_clear() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.json");
        let err = Keystore::load(&missing).unwrap_err();
        assert!(matches!(err, KeystoreError::NotFound { .. }), "{err:?}");
        assert!(err.to_string().contains("missing.json"), "{err}");

        let err = Keystore::load(dir.path()).unwrap_err();
        assert!(matches!(err, KeystoreError::Unreadable { .. }), "{err:?}");

        for (name, text) in [
            ("empty.json", String::new()),
            ("array.json", "[]".to_owned()),
            ("noversion.json", "{}".to_owned()),
            ("stringversion.json", "{\"version\":\"1\"}".to_owned()),
            ("partial.json", "{\"version\":1}".to_owned()),
            ("huge.json", " ".repeat(70_000)),
            ("binary.json", "\u{0}\u{1}".to_owned()),
        ] {
            let path = dir.path().join(name);
            fs::write(&path, text).unwrap();
            let err = Keystore::load(&path).unwrap_err();
            assert!(matches!(err, KeystoreError::Format { .. }), "{name}: {err:?}");
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn key_kinds_are_lowercase() {
        for (kind, name) in
            [(KeyKind::Physician, "physician"), (KeyKind::Root, "root"), (KeyKind::Node, "node")]
        {
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
            assert_eq!(kind.to_string(), name);
            let back: KeyKind = serde_json::from_value(name.into()).unwrap();
            assert_eq!(back, kind);
        }
    }
}
