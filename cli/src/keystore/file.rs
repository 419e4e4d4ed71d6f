//! The key file on disk: its JSON shape, how it is parsed (strictly, and
//! no larger than a key file can be), and how it is written (atomically,
//! mode 0600, never over another file unless asked).

use std::ffi::OsString;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use curbside_protocol::PublicKey;
use serde::{Deserialize, Serialize};

use super::{
    CIPHER_ALGORITHM, FORMAT_VERSION, KDF_ALGORITHM, KdfParams, KeyKind, Keystore, KeystoreError,
    MAX_FILE_BYTES, MAX_LABEL_CHARS, NONCE_LEN, SALT_LEN, SEED_LEN, TAG_LEN, fill_random,
};

impl Keystore {
    /// The JSON text of the file.
    pub(super) fn to_json(&self) -> Result<String, serde_json::Error> {
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

    pub(super) fn write_atomically(
        &self,
        path: &Path,
        overwrite: bool,
    ) -> Result<(), KeystoreError> {
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
pub(super) struct TempFile {
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
pub(super) struct KeyFile {
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
pub(super) struct KdfSection {
    algorithm: String,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CipherSection {
    algorithm: String,
    nonce: String,
    ciphertext: String,
}

/// Reads at most [`MAX_FILE_BYTES`] (and one more, to notice a larger file).
pub(super) fn read_limited(path: &Path) -> Result<Vec<u8>, KeystoreError> {
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
pub(super) fn parse(bytes: &[u8], path: &Path) -> Result<Keystore, KeystoreError> {
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

pub(super) fn check_label(label: &str) -> Result<(), String> {
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(format!("the label is longer than {MAX_LABEL_CHARS} characters"));
    }
    if label.chars().any(char::is_control) {
        return Err("the label contains control characters".to_owned());
    }
    Ok(())
}
