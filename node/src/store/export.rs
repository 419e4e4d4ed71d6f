//! The store as a flat file of records, and a store made from one: what
//! `curbside node backup` copies and `node restore` brings back
//! ([`crate::backup`] wraps it with the node's keys and a manifest).
//!
//! ```text
//! MAGIC (24 bytes)
//! { key length (u32 BE) ‖ key ‖ value length (u32 BE) ‖ value }*   every record of the one tree, in key order
//! END (u32 BE 0xFFFF_FFFF) ‖ records (u64 BE)
//! ```
//!
//! Why records, not sled's files: sled 0.34 rewrites its files from
//! background threads (its flusher, segment cleaning) whatever the node
//! does, so a file copy of a running store can be torn; and a copy in
//! sled's own format would tie a backup to sled's version. A record file
//! is read back by any later store (sled or not), and its checksum says
//! whether it is whole.
//!
//! **Consistent.** sled 0.34 has no snapshots: an iterator reads each leaf
//! as it finds it, so a scan beside a writer could see half of an atomic
//! batch (an event without its index entries). Every batch the store
//! applies holds the store's `quiet` lock for reading ([`Store::quiet`]);
//! [`Store::export`] holds it for writing while it scans, so the copy is
//! the store between two batches, and writes wait for the one pass over
//! the store rather than interleave (reads go on). Single-key writes (a hidden
//! event, a physician's mark) need no lock: a scan sees each or not, and
//! no other record depends on them.
//!
//! **The node's own audit log.** While it scans, the export computes the
//! size and Merkle root of the log the records hold for the node's key
//! (`log_leaves`, in index order), so a backup states which of its own
//! heads it contains without being trusted to have read them from memory.

use std::io::{Read, Write};
use std::path::Path;

use curbside_protocol::merkle::{Frontier, Hash};
use curbside_protocol::{EventId, NetworkId, PublicKey};

use super::keys::{self, Space};
use super::{Store, StoreConfig, StoreError, durable, open};

/// The first bytes of a record file.
pub const MAGIC: &[u8; 24] = b"curbside-store-records/1";

/// Marks the end of the records (no key is this long).
const END: u32 = u32::MAX;

/// Records written per sled batch on import.
const IMPORT_BATCH: usize = 10_000;

/// What a copy of the store holds, read from the records themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// How many records.
    pub records: u64,
    /// The store's layout version (`meta`'s schema).
    pub schema: u32,
    /// The network the store belongs to.
    pub network: NetworkId,
    /// How many leaves the node's own audit log has.
    pub own_log_size: u64,
    /// That log's Merkle root.
    pub own_log_root: Hash,
}

/// Why a copy of the store could not be made or read back.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The copy could not be written.
    #[error("writing the copy of the store: {0}")]
    Write(std::io::Error),
    /// The copy could not be read.
    #[error("reading the copy of the store: {0}")]
    Read(std::io::Error),
    /// The copy is not a whole record file.
    #[error("the copy of the store is damaged: {0}")]
    Damaged(String),
    /// The directory to restore into already holds a store.
    #[error("{0} already holds a store: restore only into an empty directory")]
    NotEmpty(String),
}

impl Store {
    /// Holds off every batch write while the guard lives ([`export`](self)).
    pub(super) fn quiet(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        super::read(&self.quiet)
    }

    /// Writes every record of the store to `out`, with no batch applied
    /// meanwhile (see the module documentation), and says what it holds
    /// of `own`'s audit log. Does not flush `out`.
    pub fn export(&self, own: &PublicKey, out: &mut dyn Write) -> Result<Exported, RecordsError> {
        // (sled's lock-free tree has no snapshot; this lock is the store's own.)
        let _still = self.quiet.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        export_tree(&self.tree, own, out)
    }

    /// The directory the store lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A stopped node's store, opened only to be copied: sled's lock is held
/// (so the node cannot start meanwhile) and nothing is migrated or
/// written by the store (a backup taken before an upgrade holds the old
/// layout, as it was).
#[derive(Debug)]
pub struct Stopped {
    db: sled::Db,
}

impl Stopped {
    /// Opens the store in `dir`; [`StoreError::Busy`] if a node runs on it.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        if !dir.join("db").exists() {
            return Err(StoreError::Corrupt {
                tree: "meta",
                detail: format!("{} holds no store", dir.display()),
            });
        }
        Ok(Self { db: open::open_db(dir, StoreConfig::default())? })
    }

    /// Writes every record to `out` ([`Store::export`]).
    pub fn export(&self, own: &PublicKey, out: &mut dyn Write) -> Result<Exported, RecordsError> {
        export_tree(&self.db, own, out)
    }
}

fn export_tree(
    tree: &sled::Tree,
    own: &PublicKey,
    out: &mut dyn Write,
) -> Result<Exported, RecordsError> {
    out.write_all(MAGIC).map_err(RecordsError::Write)?;
    let own_leaves = keys::log_leaf(own, 0);
    let own_prefix = &own_leaves[..own_leaves.len() - 8];
    let mut log = Frontier::new();
    let mut records = 0u64;
    let (mut schema, mut network) = (None, None);
    for item in tree.iter() {
        let (key, value) = item.map_err(StoreError::from)?;
        if key.as_ref() == keys::schema().as_slice() {
            schema = <[u8; 4]>::try_from(value.as_ref()).ok().map(u32::from_be_bytes);
        } else if key.as_ref() == keys::network().as_slice() {
            network = <[u8; 32]>::try_from(value.as_ref()).ok().map(NetworkId::from_bytes);
        } else if key.starts_with(own_prefix) {
            let id = <[u8; 32]>::try_from(value.as_ref()).map_err(|_| StoreError::Corrupt {
                tree: Space::LogLeaves.name(),
                detail: "a leaf is not an event id".into(),
            })?;
            log.push(super::audit::leaf_hash(&EventId::from_bytes(id)))
                .map_err(|e| StoreError::Corrupt { tree: "log_leaves", detail: e.to_string() })?;
        }
        write_record(out, &key, &value)?;
        records += 1;
    }
    out.write_all(&END.to_be_bytes()).map_err(RecordsError::Write)?;
    out.write_all(&records.to_be_bytes()).map_err(RecordsError::Write)?;
    let corrupt = |what: &str| StoreError::Corrupt { tree: "meta", detail: format!("no {what}") };
    Ok(Exported {
        records,
        schema: schema.ok_or_else(|| corrupt("schema version"))?,
        network: network.ok_or_else(|| corrupt("network id"))?,
        own_log_size: log.size(),
        own_log_root: log.root(),
    })
}

fn write_record(out: &mut dyn Write, key: &[u8], value: &[u8]) -> Result<(), RecordsError> {
    for part in [key, value] {
        let len = u32::try_from(part.len())
            .ok()
            .filter(|&n| n != END)
            .ok_or_else(|| RecordsError::Damaged("a record over 4 GiB".into()))?;
        out.write_all(&len.to_be_bytes()).map_err(RecordsError::Write)?;
        out.write_all(part).map_err(RecordsError::Write)?;
    }
    Ok(())
}

/// Reads a record file from `input` into a new store in `dir` (absent or
/// empty), then makes it durable; how many records. Refuses a file that is
/// not whole (no end, a count that differs, bytes after the end).
pub fn import(dir: &Path, input: &mut dyn Read) -> Result<u64, RecordsError> {
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(RecordsError::NotEmpty(dir.display().to_string()));
    }
    let mut magic = [0u8; MAGIC.len()];
    read_exact(input, &mut magic)?;
    if &magic != MAGIC {
        return Err(RecordsError::Damaged("it does not start as a record file".into()));
    }
    let db = open::open_db(dir, StoreConfig::default())?;
    let mut batch = sled::Batch::default();
    let (mut in_batch, mut records) = (0usize, 0u64);
    loop {
        let Some(key) = read_part(input)? else { break };
        let value = read_part(input)?
            .ok_or_else(|| RecordsError::Damaged("a record ends after its key".into()))?;
        batch.insert(key, value);
        records += 1;
        in_batch += 1;
        if in_batch == IMPORT_BATCH {
            db.apply_batch(std::mem::take(&mut batch)).map_err(StoreError::from)?;
            in_batch = 0;
        }
    }
    let mut count = [0u8; 8];
    read_exact(input, &mut count)?;
    if u64::from_be_bytes(count) != records {
        return Err(RecordsError::Damaged(format!(
            "it says it holds {} records but holds {records}",
            u64::from_be_bytes(count)
        )));
    }
    if input.read(&mut [0u8; 1]).map_err(RecordsError::Read)? != 0 {
        return Err(RecordsError::Damaged("bytes after its end".into()));
    }
    db.apply_batch(batch).map_err(StoreError::from)?;
    db.flush().map_err(StoreError::from)?;
    // sled's flush leaves the disk cache and the files' metadata; make them
    // durable as the store does after every flush.
    let files = durable::Files::open(dir).map_err(StoreError::Sync)?;
    files.sync().map_err(StoreError::Sync)?;
    Ok(records)
}

fn read_exact(input: &mut dyn Read, buf: &mut [u8]) -> Result<(), RecordsError> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => RecordsError::Damaged("it ends too soon".into()),
        _ => RecordsError::Read(e),
    })
}

/// A key or value, or `None` at the end marker.
fn read_part(input: &mut dyn Read) -> Result<Option<Vec<u8>>, RecordsError> {
    let mut len = [0u8; 4];
    read_exact(input, &mut len)?;
    let len = u32::from_be_bytes(len);
    if len == END {
        return Ok(None);
    }
    // Read through `take`, so a damaged length costs what the file holds,
    // not what it claims.
    let mut part = Vec::new();
    input.take(u64::from(len)).read_to_end(&mut part).map_err(RecordsError::Read)?;
    if part.len() != len as usize {
        return Err(RecordsError::Damaged("it ends too soon".into()));
    }
    Ok(Some(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_record_files_are_refused_without_reading_their_claims() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = MAGIC.to_vec();
        file.extend(0xFFFF_FFF0u32.to_be_bytes());
        file.extend(b"short");
        let err = import(&dir.path().join("a"), &mut file.as_slice()).unwrap_err();
        assert!(matches!(err, RecordsError::Damaged(_)), "{err}");
        let err =
            import(&dir.path().join("b"), &mut &b"not a record file at all!"[..]).unwrap_err();
        assert!(matches!(err, RecordsError::Damaged(_)), "{err}");
    }
}
