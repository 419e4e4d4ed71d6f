//! A node's data directory: who it is and what network it belongs to.
//!
//! ```text
//! <data>/genesis.json   the network's genesis (its id is the hash of the canonical bytes)
//! <data>/node.key       the node's ed25519 seed (mode 0600): its charter key and libp2p identity
//! <data>/admin.token    the institution admin's API token (mode 0600); its holder is the operator `owner` (named operators: `api/operators.rs`)
//! <data>/node.toml      configuration (see `config`)
//! <data>/store/         the sled store
//! ```
//!
//! The node key is kept unencrypted, like an SSH host key, because a node
//! must restart unattended; the directory and the files are readable by
//! the node's user only.
//!
//! Every file here is written so that a crash or a power cut leaves the old
//! file or the new one, whole ([`write_durably`]): a temporary file in the
//! same directory, `fsync`ed, renamed into place, then the directory
//! `fsync`ed (a rename, like a new directory, is durable only once its
//! directory is). The store's own files are the store's business
//! (`store/durable.rs`).

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use curbside_protocol::{Genesis, PublicKey, SecretKey};
use zeroize::Zeroizing;

/// Why the data directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The directory was already initialised.
    #[error("{0} is already a node's data directory (it has a node.key); use another directory")]
    Exists(PathBuf),
    /// The directory is not initialised.
    #[error("{0} has no node.key: run `curbside node init --genesis FILE --data {0}` first")]
    NotInitialised(PathBuf),
    /// A file's content is wrong.
    #[error("{path}: {detail}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io { path: path.to_path_buf(), source }
}

/// An initialised data directory.
pub struct DataDir {
    root: PathBuf,
    genesis: Genesis,
    key: SecretKey,
    admin_token: Zeroizing<String>,
}

/// Never prints the admin token (the key's `Debug` shows only its public half).
impl std::fmt::Debug for DataDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataDir")
            .field("root", &self.root)
            .field("network", &self.genesis.network_id())
            .field("key", &self.key)
            .field("admin_token", &"<redacted>")
            .finish()
    }
}

/// Writes `bytes` to `path` with mode 0600, durably ([`write_durably`]).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), DataDirError> {
    write_with_mode(path, bytes, 0o600)
}

/// Writes `bytes` to `path` so that once this returns the file is on the
/// disk, and a crash before that leaves the old file (or none) whole: a
/// temporary file in the same directory, `fsync`ed, renamed over `path`,
/// then the directory `fsync`ed.
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), DataDirError> {
    write_with_mode(path, bytes, 0o644)
}

fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), DataDirError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io(path))?;
    sync_dir(dir)
}

/// `fsync` of a directory: makes the names created, renamed or removed in
/// it durable.
fn sync_dir(dir: &Path) -> Result<(), DataDirError> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Creates `dir` and any missing parents, each made durable in its parent.
pub fn create_dir_durably(dir: &Path) -> Result<(), DataDirError> {
    // A relative path's last ancestor is the empty path, which never
    // "exists": it stands for the current directory, which does.
    let missing: Vec<&Path> =
        dir.ancestors().take_while(|d| !d.as_os_str().is_empty() && !d.exists()).collect();
    for d in missing.into_iter().rev() {
        std::fs::create_dir(d).map_err(io(d))?;
        match d.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent)?,
            _ => sync_dir(Path::new("."))?,
        }
    }
    Ok(())
}

/// Reads a genesis file (JSON) and checks it.
pub fn read_genesis(path: &Path) -> Result<Genesis, DataDirError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let genesis: Genesis = serde_json::from_str(&text).map_err(|e| DataDirError::Invalid {
        path: path.to_path_buf(),
        detail: format!("not a genesis file: {e}"),
    })?;
    genesis
        .check()
        .map_err(|e| DataDirError::Invalid { path: path.to_path_buf(), detail: e.to_string() })?;
    Ok(genesis)
}

/// Writes a genesis file (JSON, pretty).
pub fn write_genesis(path: &Path, genesis: &Genesis) -> Result<(), DataDirError> {
    let text = serde_json::to_string_pretty(genesis)
        .map_err(|e| DataDirError::Invalid { path: path.to_path_buf(), detail: e.to_string() })?;
    write_durably(path, (text + "\n").as_bytes())
}

/// The libp2p PeerId of an ed25519 key: base58 of the identity multihash
/// of its protobuf encoding (`0x00 0x24 0x08 0x01 0x12 0x20 ‖ key`).
pub fn peer_id(key: &PublicKey) -> String {
    let mut bytes = vec![0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
    bytes.extend_from_slice(key.as_bytes());
    bs58::encode(bytes).into_string()
}

impl DataDir {
    /// Creates a data directory for a node of the network `genesis` founds:
    /// a fresh node key, an admin token and the default configuration.
    pub fn init(root: &Path, genesis: &Genesis) -> Result<Self, DataDirError> {
        Self::init_with(root, genesis, crate::config::DEFAULT_NODE_TOML)
    }

    /// As [`DataDir::init`], with `node_toml` as the configuration written
    /// (from [`crate::config::InitialSettings::node_toml`]).
    pub fn init_with(
        root: &Path,
        genesis: &Genesis,
        node_toml: &str,
    ) -> Result<Self, DataDirError> {
        create_dir_durably(root)?;
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700)).map_err(io(root))?;
        if root.join("node.key").exists() {
            return Err(DataDirError::Exists(root.to_path_buf()));
        }
        genesis.check().map_err(|e| DataDirError::Invalid {
            path: root.join("genesis.json"),
            detail: e.to_string(),
        })?;
        write_genesis(&root.join("genesis.json"), genesis)?;
        let key = SecretKey::generate();
        let token = crate::api::admin_token_for(&key.public());
        write_private(&root.join("admin.token"), token.as_bytes())?;
        let config = root.join("node.toml");
        if !config.exists() {
            write_durably(&config, node_toml.as_bytes())?;
        }
        write_private(&root.join("node.key"), hex::encode(key.to_seed().as_slice()).as_bytes())?;
        Self::open(root)
    }

    /// Opens an initialised data directory.
    pub fn open(root: &Path) -> Result<Self, DataDirError> {
        let key_path = root.join("node.key");
        if !key_path.exists() {
            return Err(DataDirError::NotInitialised(root.to_path_buf()));
        }
        let genesis = read_genesis(&root.join("genesis.json"))?;
        let hex_seed = Zeroizing::new(std::fs::read_to_string(&key_path).map_err(io(&key_path))?);
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_seed.trim(), seed.as_mut_slice()).map_err(|_| {
            DataDirError::Invalid {
                path: key_path.clone(),
                detail: "not a 32-byte hex seed".into(),
            }
        })?;
        let token_path = root.join("admin.token");
        let admin_token = Zeroizing::new(
            std::fs::read_to_string(&token_path).map_err(io(&token_path))?.trim().to_string(),
        );
        Ok(Self {
            root: root.to_path_buf(),
            genesis,
            key: SecretKey::from_seed(&seed),
            admin_token,
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the store lives.
    pub fn store_dir(&self) -> PathBuf {
        self.root.join("store")
    }

    /// The network's genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The node's key.
    pub fn key(&self) -> &SecretKey {
        &self.key
    }

    /// The admin token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curbside_protocol::Timestamp;

    #[test]
    fn init_writes_private_files_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("node");
        let genesis = Genesis::new(
            "T",
            vec![SecretKey::from_seed(&[1; 32]).public()],
            Timestamp::from_millis(1),
        );
        let d = DataDir::init(&root, &genesis).unwrap();
        for f in ["node.key", "admin.token"] {
            let mode = std::fs::metadata(root.join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
        let again = DataDir::open(&root).unwrap();
        assert_eq!(again.key().public(), d.key().public());
        assert_eq!(again.admin_token(), d.admin_token());
        assert_eq!(again.genesis().network_id(), genesis.network_id());
        assert!(matches!(DataDir::init(&root, &genesis), Err(DataDirError::Exists(_))));
        assert!(matches!(DataDir::open(dir.path()), Err(DataDirError::NotInitialised(_))));
        let shown = format!("{d:?}");
        assert!(!shown.contains(d.admin_token()), "the admin token leaked into Debug: {shown}");
        assert!(!shown.contains(&hex::encode(d.key().to_seed())), "the key leaked: {shown}");
    }

    #[test]
    fn peer_ids_are_libp2p_ed25519_peer_ids() {
        // libp2p's own test key: PeerId 12D3KooW... for ed25519 keys starts with "12D3KooW".
        let id = peer_id(&SecretKey::from_seed(&[7; 32]).public());
        assert!(id.starts_with("12D3KooW"), "{id}");
        assert_eq!(id.len(), 52);
    }
}
