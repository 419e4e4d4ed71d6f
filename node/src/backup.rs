//! Backups of a node (`curbside node backup`, `POST /v1/admin/backup`) and
//! bringing one back (`curbside node restore`).
//!
//! ```text
//! <backup>/manifest.json   what the backup holds: node key (public), network, schema,
//!                          the node's own audit log (size, root), when, and each file's SHA-256
//! <backup>/store.records   every record of the store ([`crate::store::export`]): events,
//!                          indexes, audit logs, the licence openings, peers, local marks
//! <backup>/genesis.json    the data directory's files, as they were
//! <backup>/node.key        the node's secret key (mode 0600)
//! <backup>/admin.token     the admin token (mode 0600)
//! <backup>/node.toml       the configuration
//! ```
//!
//! A backup is as secret as the node: it holds the node's key, its admin
//! token and every licence opening. The directory is made with mode 0700
//! and every file with 0600.
//!
//! - **Consistent.** The store is copied between two of its batch writes
//!   ([`Store::export`]); a stopped node's store is copied with sled's lock
//!   held ([`Stopped`]), so the node cannot start meanwhile.
//! - **Durable.** Every file is `fsync`ed, then the backup's directory and
//!   its parent: once [`take`] returns, the backup survives a power cut.
//! - **Bounded and contained.** The backup goes into a new directory, made
//!   here, in an existing directory outside the node's data directory;
//!   nothing is overwritten (every file is created exclusively), and only
//!   the fixed names above are written. Writing stops, and what was written
//!   is removed, when the disk it goes to falls to [`FREE_RESERVE`], so a
//!   backup never fills the disk the node may also write to.
//! - **Not copied:** the search index (`<data>/search/`), a cache of the
//!   store that a node rebuilds at start when it is missing.
//!
//! [`restore`] writes a backup into a new data directory only (absent or
//! empty), after checking every file against the manifest, and again
//! while the store is read back; it assembles the directory beside its
//! destination and renames it into place, so a restore that fails leaves
//! nothing behind.

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Component, Path, PathBuf};

use curbside_protocol::{NetworkId, PublicKey, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::codes::Code;
use crate::store::{Exported, RecordsError};

/// The manifest's layout version.
pub const FORMAT: u32 = 1;

/// The manifest's name in a backup.
pub const MANIFEST: &str = "manifest.json";

/// The store's records' name in a backup.
pub const RECORDS: &str = "store.records";

/// The data directory's own files a backup holds, and whether each must
/// be there.
const DATA_FILES: [(&str, bool); 4] =
    [("genesis.json", true), ("node.key", true), ("admin.token", true), ("node.toml", false)];

/// Free bytes a backup leaves on the disk it writes to: it stops, and
/// removes what it wrote, rather than go below.
pub const FREE_RESERVE: u64 = 256 << 20;

/// How often (in bytes written) the free space is looked at.
const CHECK_EVERY: u64 = 16 << 20;

/// Whether the node was running when the backup was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Taken {
    /// Taken by the running node, between two of its writes.
    Running,
    /// Copied from a stopped node's directory.
    Stopped,
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSum {
    /// Its name in the backup's directory.
    pub name: String,
    /// Its length.
    pub bytes: u64,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
}

/// The node's own audit log as the backup holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnLog {
    /// Leaves (attestations and revocations this node issued).
    pub size: u64,
    /// Merkle root, hex.
    pub root: String,
}

/// What a backup holds (`manifest.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The node's public key (the secret half is `node.key`).
    pub node_key: PublicKey,
    /// The network.
    pub network: NetworkId,
    /// The store's layout version in the records.
    pub schema: u32,
    /// When the backup was taken.
    pub created_at: Timestamp,
    /// Whether the node was running.
    pub taken: Taken,
    /// The node's own audit log in the records.
    pub own_log: OwnLog,
    /// Records in `store.records`.
    pub records: u64,
    /// Every file but the manifest.
    pub files: Vec<FileSum>,
}

/// Why a backup could not be taken or restored.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The directory named for the backup cannot be used.
    #[error("{0}")]
    OutInvalid(String),
    /// The directory named for the backup exists.
    #[error(
        "{0} already exists: a backup never overwrites; name a new directory (such as one named by the date)"
    )]
    OutExists(PathBuf),
    /// The disk of the backup fell to its reserve.
    #[error(
        "the disk of {path} has {free} bytes free, at most the {reserve} a backup leaves: the partial backup was removed; free space or back up to another disk"
    )]
    NoSpace {
        /// The backup's directory.
        path: PathBuf,
        /// Free bytes when it stopped.
        free: u64,
        /// The reserve.
        reserve: u64,
    },
    /// The store could not be copied or read back.
    #[error(transparent)]
    Records(RecordsError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The backup is damaged, incomplete or not a backup.
    #[error("the backup in {dir} is damaged: {detail}; nothing was restored: use another backup")]
    Damaged {
        /// The backup.
        dir: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The data directory to restore into is not empty.
    #[error(
        "{0} is not empty: a backup is restored only into a new (absent or empty) data directory. Stop the node, move {0} aside (keep it: it may hold what the backup lacks), then restore"
    )]
    NotEmpty(PathBuf),
}

impl BackupError {
    /// The stable code.
    pub fn code(&self) -> Code {
        match self {
            BackupError::OutInvalid(_) => Code::BackupOutInvalid,
            BackupError::OutExists(_) => Code::BackupExists,
            BackupError::NoSpace { .. } => Code::BackupNoSpace,
            BackupError::Damaged { .. } | BackupError::Records(RecordsError::Damaged(_)) => {
                Code::BackupDamaged
            }
            BackupError::NotEmpty(_) | BackupError::Records(RecordsError::NotEmpty(_)) => {
                Code::RestoreNotEmpty
            }
            BackupError::Records(_) | BackupError::Io { .. } => Code::Storage,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.to_path_buf(), source }
}

/// Checks that `out` can hold a new backup of the node in `data`: an
/// absolute path, not yet there, whose parent is an existing directory
/// outside `data`.
pub fn check_out(data: &Path, out: &Path) -> Result<(), BackupError> {
    let invalid = |why: String| Err(BackupError::OutInvalid(why));
    if !out.is_absolute() {
        return invalid(format!(
            "{}: name the backup's directory by an absolute path",
            out.display()
        ));
    }
    if out.components().any(|c| matches!(c, Component::ParentDir | Component::CurDir)) {
        return invalid(format!("{}: name the backup's directory without . or ..", out.display()));
    }
    let (Some(parent), Some(_)) = (out.parent(), out.file_name()) else {
        return invalid(format!("{}: name a new directory, not /", out.display()));
    };
    if out.symlink_metadata().is_ok() {
        return Err(BackupError::OutExists(out.to_path_buf()));
    }
    let Ok(parent) = parent.canonicalize().and_then(|p| match p.is_dir() {
        true => Ok(p),
        false => Err(std::io::ErrorKind::NotADirectory.into()),
    }) else {
        return invalid(format!(
            "{}: the directory to put the backup in does not exist; create it first",
            parent.display()
        ));
    };
    let data = data.canonicalize().map_err(io(data))?;
    if parent.starts_with(&data) {
        return invalid(format!(
            "{}: a backup inside the node's data directory ({}) is lost with it; name a directory outside it, ideally on another disk",
            out.display(),
            data.display()
        ));
    }
    Ok(())
}

/// Takes a backup of the node whose data directory is `data` and whose key
/// is `node_key` into the new directory `out` (see [`check_out`]), the
/// store's records written by `export`; leaves `reserve` bytes free on
/// `out`'s disk. On any failure nothing is left at `out`.
pub fn take(
    data: &Path,
    out: &Path,
    node_key: &PublicKey,
    taken: Taken,
    reserve: u64,
    export: impl FnOnce(&mut dyn Write) -> Result<Exported, RecordsError>,
) -> Result<Manifest, BackupError> {
    check_out(data, out)?;
    let parent = out.parent().unwrap_or(Path::new("/"));
    let free = free_bytes(parent);
    if free.is_some_and(|f| f <= reserve) {
        return Err(BackupError::NoSpace {
            path: out.to_path_buf(),
            free: free.unwrap_or(0),
            reserve,
        });
    }
    std::fs::DirBuilder::new().mode(0o700).create(out).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => BackupError::OutExists(out.to_path_buf()),
        _ => BackupError::Io { path: out.to_path_buf(), source: e },
    })?;
    let written = write_backup(data, out, node_key, taken, reserve, export);
    if written.is_err() {
        // Only what this call made: the directory was created just above.
        let _ = std::fs::remove_dir_all(out);
    }
    written
}

fn write_backup(
    data: &Path,
    out: &Path,
    node_key: &PublicKey,
    taken: Taken,
    reserve: u64,
    export: impl FnOnce(&mut dyn Write) -> Result<Exported, RecordsError>,
) -> Result<Manifest, BackupError> {
    let created_at = crate::now();
    let mut files = Vec::new();
    let path = out.join(RECORDS);
    let mut writer = Guarded::create(&path, out, reserve)?;
    let exported = export(&mut writer).map_err(|e| match (e, writer.no_space.take()) {
        (_, Some(no_space)) => no_space,
        (e, None) => BackupError::Records(e),
    })?;
    files.push(writer.finish()?);
    for (name, required) in DATA_FILES {
        let from = data.join(name);
        let bytes = match std::fs::read(&from) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => continue,
            Err(e) => return Err(BackupError::Io { path: from, source: e }),
        };
        let mut writer = Guarded::create(&out.join(name), out, reserve)?;
        writer.write_all(&bytes).map_err(io(&out.join(name)))?;
        files.push(writer.finish()?);
    }
    let manifest = Manifest {
        format: FORMAT,
        node_key: *node_key,
        network: exported.network,
        schema: exported.schema,
        created_at,
        taken,
        own_log: OwnLog { size: exported.own_log_size, root: hex::encode(exported.own_log_root) },
        records: exported.records,
        files,
    };
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| BackupError::OutInvalid(e.to_string()))?;
    let mut writer = Guarded::create(&out.join(MANIFEST), out, reserve)?;
    writer.write_all((text + "\n").as_bytes()).map_err(io(&out.join(MANIFEST)))?;
    writer.finish()?;
    sync_dir(out)?;
    sync_dir(out.parent().unwrap_or(Path::new("/")))?;
    Ok(manifest)
}

fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    crate::store::sync_dir(dir).map_err(io(dir))
}

fn free_bytes(dir: &Path) -> Option<u64> {
    let stat = nix::sys::statvfs::statvfs(dir).ok()?;
    Some(stat.blocks_available().saturating_mul(stat.fragment_size()))
}

/// A new file of a backup: created exclusively (never through a link,
/// never over a file), mode 0600, hashed as it is written, and stopped
/// when its disk falls to the reserve.
struct Guarded {
    file: std::io::BufWriter<std::fs::File>,
    path: PathBuf,
    dir: PathBuf,
    hasher: Sha256,
    written: u64,
    checked_at: u64,
    reserve: u64,
    no_space: Option<BackupError>,
}

impl Guarded {
    fn create(path: &Path, dir: &Path, reserve: u64) -> Result<Self, BackupError> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io(path))?;
        Ok(Self {
            file: std::io::BufWriter::with_capacity(1 << 20, file),
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            hasher: Sha256::new(),
            written: 0,
            checked_at: 0,
            reserve,
            no_space: None,
        })
    }

    /// Flushes and `fsync`s the file; its name, length and hash.
    fn finish(self) -> Result<FileSum, BackupError> {
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned());
        let file = self
            .file
            .into_inner()
            .map_err(|e| BackupError::Io { path: self.path.clone(), source: e.into_error() })?;
        file.sync_all().map_err(io(&self.path))?;
        Ok(FileSum {
            name: name.unwrap_or_default(),
            bytes: self.written,
            sha256: hex::encode(self.hasher.finalize()),
        })
    }
}

impl Write for Guarded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written - self.checked_at >= CHECK_EVERY || self.written == 0 {
            self.checked_at = self.written;
            if let Some(free) = free_bytes(&self.dir).filter(|&f| f <= self.reserve) {
                self.no_space = Some(BackupError::NoSpace {
                    path: self.dir.clone(),
                    free,
                    reserve: self.reserve,
                });
                return Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "disk reserve"));
            }
        }
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// What [`restore`] brought back.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: Manifest,
}

/// Reads and checks a backup's manifest and every file it names (length
/// and SHA-256), and that its key and genesis are the manifest's.
pub fn verify(from: &Path) -> Result<Manifest, BackupError> {
    let damaged = |detail: String| BackupError::Damaged { dir: from.to_path_buf(), detail };
    let path = from.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound if !from.is_dir() => {
            damaged(format!("{} is not a directory", from.display()))
        }
        std::io::ErrorKind::NotFound => damaged(format!("it has no {MANIFEST}: is it a backup?")),
        _ => BackupError::Io { path: path.clone(), source: e },
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| damaged(format!("{MANIFEST} does not read as a manifest: {e}")))?;
    if manifest.format != FORMAT {
        return Err(damaged(format!(
            "its format is {}, this build reads {FORMAT}: restore it with the curbside that took it",
            manifest.format
        )));
    }
    let expected: Vec<&str> = std::iter::once(RECORDS)
        .chain(DATA_FILES.iter().filter(|(_, required)| *required).map(|(n, _)| *n))
        .collect();
    for name in expected {
        if !manifest.files.iter().any(|f| f.name == name) {
            return Err(damaged(format!("{MANIFEST} lists no {name}")));
        }
    }
    for file in &manifest.files {
        let known =
            file.name == RECORDS || DATA_FILES.iter().any(|(n, _)| *n == file.name.as_str());
        if !known {
            return Err(damaged(format!(
                "{MANIFEST} lists {:?}, which no backup holds",
                file.name
            )));
        }
        let (bytes, sha256) = hash_file(&from.join(&file.name)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => damaged(format!("{} is missing", file.name)),
            _ => BackupError::Io { path: from.join(&file.name), source: e },
        })?;
        if bytes != file.bytes || sha256 != file.sha256 {
            return Err(damaged(format!(
                "{} does not match its checksum ({bytes} bytes, SHA-256 {}…; the manifest says {} bytes, {}…)",
                file.name,
                &sha256[..16],
                file.bytes,
                file.sha256.get(..16).unwrap_or(&file.sha256)
            )));
        }
    }
    // The files match the manifest; the manifest must match itself.
    let genesis = std::fs::read_to_string(from.join("genesis.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<curbside_protocol::Genesis>(&text).ok())
        .filter(|g| g.check().is_ok())
        .ok_or_else(|| damaged("genesis.json is not a network's genesis".into()))?;
    if genesis.network_id() != manifest.network {
        return Err(damaged(format!(
            "genesis.json is network {}, the manifest says {}",
            genesis.network_id(),
            manifest.network
        )));
    }
    let key = seed_key(&from.join("node.key"))
        .ok_or_else(|| damaged("node.key is not a 32-byte hex seed".into()))?;
    if key != manifest.node_key {
        return Err(damaged(format!(
            "node.key is node {}, the manifest says {}",
            key.short(),
            manifest.node_key.short()
        )));
    }
    Ok(manifest)
}

fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let file = std::fs::File::open(path)?;
    let mut reader =
        Hashing { inner: std::io::BufReader::with_capacity(1 << 20, file), hasher: Sha256::new() };
    let bytes = std::io::copy(&mut reader, &mut std::io::sink())?;
    Ok((bytes, hex::encode(reader.hasher.finalize())))
}

/// The public half of the key in a `node.key` file.
fn seed_key(path: &Path) -> Option<PublicKey> {
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).ok()?);
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), seed.as_mut_slice()).ok()?;
    Some(curbside_protocol::SecretKey::from_seed(&seed).public())
}

/// Creates `dir` and any missing parents, each made durable in its parent.
fn create_dirs(dir: &Path) -> Result<(), BackupError> {
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

/// Writes a new file (mode 0600) and `fsync`s it.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(io(path))
}

/// Restores the backup in `from` into the data directory `data`, which
/// must be absent or an empty directory: checks it ([`verify`]), builds
/// the directory beside `data`, checks the store's records again as it
/// reads them, then renames it into place.
pub fn restore(from: &Path, data: &Path) -> Result<Restored, BackupError> {
    match std::fs::read_dir(data).map(|mut entries| entries.next().is_none()) {
        Ok(true) => {}
        Ok(false) => return Err(BackupError::NotEmpty(data.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(_) if data.exists() => return Err(BackupError::NotEmpty(data.to_path_buf())),
        Err(e) => return Err(BackupError::Io { path: data.to_path_buf(), source: e }),
    }
    let manifest = verify(from)?;
    let parent = match data.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_dirs(&parent)?;
    let name = data.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let staging = parent.join(format!(".{name}.restoring.{}", std::process::id()));
    std::fs::DirBuilder::new().mode(0o700).create(&staging).map_err(io(&staging))?;
    let built = build(from, &staging, &manifest);
    let placed = built.and_then(|()| {
        std::fs::rename(&staging, data).map_err(|e| match e.kind() {
            // Someone wrote into `data` meanwhile.
            std::io::ErrorKind::DirectoryNotEmpty => BackupError::NotEmpty(data.to_path_buf()),
            _ => BackupError::Io { path: data.to_path_buf(), source: e },
        })?;
        sync_dir(&parent)
    });
    if placed.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    placed.map(|()| Restored { manifest })
}

fn build(from: &Path, staging: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let damaged = |detail: String| BackupError::Damaged { dir: from.to_path_buf(), detail };
    for file in &manifest.files {
        if file.name == RECORDS {
            continue;
        }
        let bytes = std::fs::read(from.join(&file.name)).map_err(io(&from.join(&file.name)))?;
        if hex::encode(Sha256::digest(&bytes)) != file.sha256 {
            return Err(damaged(format!("{} changed while it was restored", file.name)));
        }
        write_new(&staging.join(&file.name), &bytes)?;
    }
    let records = manifest.files.iter().find(|f| f.name == RECORDS);
    let path = from.join(RECORDS);
    let file = std::fs::File::open(&path).map_err(io(&path))?;
    let mut reader =
        Hashing { inner: std::io::BufReader::with_capacity(1 << 20, file), hasher: Sha256::new() };
    let count = crate::store::import(&staging.join("store"), &mut reader).map_err(|e| match e {
        RecordsError::Damaged(detail) => damaged(format!("{RECORDS}: {detail}")),
        e => BackupError::Records(e),
    })?;
    if Some(hex::encode(reader.hasher.finalize())) != records.map(|f| f.sha256.clone())
        || count != manifest.records
    {
        return Err(damaged(format!("{RECORDS} changed while it was restored")));
    }
    sync_dir(staging)
}

/// Hashes what is read through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use curbside_protocol::{Genesis, SecretKey};

    use super::*;
    use crate::datadir::DataDir;
    use crate::store::Store;

    /// A node's data directory with its store, and a directory for backups.
    struct Fixture {
        _tmp: tempfile::TempDir,
        data: DataDir,
        store: Store,
        backups: PathBuf,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let genesis = Genesis::new(
            "T",
            vec![SecretKey::from_seed(&[1; 32]).public()],
            Timestamp::from_millis(1),
        );
        let data = DataDir::init(&tmp.path().join("node"), &genesis).unwrap();
        let store = Store::open(&data.store_dir(), genesis).unwrap();
        let backups = tmp.path().join("backups");
        std::fs::create_dir(&backups).unwrap();
        Fixture { _tmp: tmp, data, store, backups }
    }

    fn take_from(f: &Fixture, out: &Path, reserve: u64) -> Result<Manifest, BackupError> {
        let key = f.data.key().public();
        take(f.data.root(), out, &key, Taken::Running, reserve, |w| f.store.export(&key, w))
    }

    #[test]
    fn a_backup_restores_into_a_new_directory_as_the_node_was() {
        let f = fixture();
        let out = f.backups.join("monday");
        let manifest = take_from(&f, &out, 0).unwrap();
        assert_eq!(manifest.node_key, f.data.key().public());
        assert_eq!(manifest.network, f.data.genesis().network_id());
        assert_eq!(manifest.own_log.size, 0);
        let names: Vec<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, [RECORDS, "genesis.json", "node.key", "admin.token", "node.toml"]);
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&out), 0o700);
        for file in &manifest.files {
            assert_eq!(mode(&out.join(&file.name)), 0o600, "{}", file.name);
        }
        assert_eq!(verify(&out).unwrap(), manifest);

        let target = f.backups.join("restored");
        let restored = restore(&out, &target).unwrap();
        assert_eq!(restored.manifest, manifest);
        let data = DataDir::open(&target).unwrap();
        assert_eq!(data.key().public(), f.data.key().public());
        assert_eq!(data.admin_token(), f.data.admin_token());
        let store = Store::open(&data.store_dir(), data.genesis().clone()).unwrap();
        assert!(store.check().unwrap().is_sound());
        // An empty directory is a new one too.
        let empty = f.backups.join("empty");
        std::fs::create_dir(&empty).unwrap();
        restore(&out, &empty).unwrap();
        assert!(empty.join("store").is_dir());
    }

    #[test]
    fn a_damaged_or_incomplete_backup_is_refused_and_nothing_is_restored() {
        let f = fixture();
        let out = f.backups.join("b");
        take_from(&f, &out, 0).unwrap();
        let target = f.backups.join("restored");

        let records = out.join(RECORDS);
        let mut bytes = std::fs::read(&records).unwrap();
        let last = bytes.len() - 20;
        bytes[last] ^= 1;
        std::fs::write(&records, &bytes).unwrap();
        let e = restore(&out, &target).unwrap_err();
        assert_eq!(e.code(), Code::BackupDamaged, "{e}");
        assert!(e.to_string().contains("store.records does not match its checksum"), "{e}");
        assert!(!target.exists());
        bytes[last] ^= 1;
        std::fs::write(&records, &bytes).unwrap();

        std::fs::remove_file(out.join("node.key")).unwrap();
        let e = restore(&out, &target).unwrap_err();
        assert_eq!(e.code(), Code::BackupDamaged);
        assert!(e.to_string().contains("node.key is missing"), "{e}");
        let leftovers: Vec<_> = std::fs::read_dir(&f.backups).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "only the backup itself: {leftovers:?}");

        let e = restore(&f.backups, &target).unwrap_err();
        assert_eq!(e.code(), Code::BackupDamaged, "not a backup: {e}");
    }

    #[test]
    fn restore_refuses_a_directory_that_is_not_empty() {
        let f = fixture();
        let out = f.backups.join("b");
        take_from(&f, &out, 0).unwrap();
        let e = restore(&out, f.data.root()).unwrap_err();
        assert_eq!(e.code(), Code::RestoreNotEmpty);
        assert!(e.to_string().contains("Stop the node, move"), "{e}");
        assert!(DataDir::open(f.data.root()).is_ok(), "the live directory is untouched");
    }

    #[test]
    fn a_backup_goes_only_into_a_new_directory_outside_the_data_directory() {
        let f = fixture();
        let code = |out: &Path| take_from(&f, out, 0).unwrap_err().code();
        assert_eq!(code(Path::new("relative/b")), Code::BackupOutInvalid);
        assert_eq!(code(&f.backups.join("missing/b")), Code::BackupOutInvalid);
        assert_eq!(code(&f.data.root().join("b")), Code::BackupOutInvalid);
        assert_eq!(code(&f.data.root().join("store/b")), Code::BackupOutInvalid);
        assert_eq!(code(&f.backups.join("x/../b")), Code::BackupOutInvalid);
        assert_eq!(code(&f.backups), Code::BackupExists);
        std::os::unix::fs::symlink(f.data.root(), f.backups.join("link")).unwrap();
        assert_eq!(code(&f.backups.join("link")), Code::BackupExists);
        assert_eq!(code(&f.backups.join("link/b")), Code::BackupOutInvalid);
        assert!(!f.data.root().join("b").exists());
    }

    #[test]
    fn a_backup_stops_at_the_disk_reserve_and_leaves_nothing() {
        let f = fixture();
        let out = f.backups.join("b");
        let e = take_from(&f, &out, u64::MAX).unwrap_err();
        assert_eq!(e.code(), Code::BackupNoSpace, "{e}");
        assert!(!out.exists());
        // A file of the backup stops at its first write below the reserve.
        let mut writer = Guarded::create(&f.backups.join("g"), &f.backups, u64::MAX).unwrap();
        assert!(writer.write_all(b"x").is_err());
        assert_eq!(writer.no_space.take().map(|e| e.code()), Some(Code::BackupNoSpace));
    }
}
