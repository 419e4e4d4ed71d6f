//! Making what sled wrote durable: the part of [`Store::flush`](super::Store::flush)
//! that `sled::Db::flush` leaves out.
//!
//! `sled::Db::flush` (0.34.7, `pagecache/iobuf.rs`) hands the log to the
//! kernel with `pwrite` and, on Linux, `sync_file_range(WAIT_BEFORE | WRITE
//! | WAIT_AFTER)`. That starts and waits for the data's writeback, but it
//! flushes no disk cache and writes none of the file's metadata (its size,
//! its extents): after a power cut the bytes may be gone. Only sled's
//! background flusher calls `fsync`, every 500 ms. A power-cut test
//! (docs/SECURITY.md, Power loss) lost acknowledged events within that
//! window. So after sled's flush the store syncs, by the POSIX rules
//! (`fdatasync` of every file written, `fsync` of every directory in which
//! a file was created, renamed or removed):
//!
//! | what sled 0.34.7 writes | when | synced here |
//! | --- | --- | --- |
//! | `db`: the log and its segments (one file) | every write | `fdatasync` after each flush (any descriptor of the inode will do; this module keeps its own) |
//! | `blobs/<lsn>`: a page over a quarter of a segment (128 KiB) in a file of its own, written without any sync (a commit of 3,500 events makes one: its timeline record alone is 140 KB) | during a write, before the log entry that points at it | each new one `fdatasync`ed, then `blobs/` `fsync`ed, *before* `db`, so the log never durably points at a blob that is not |
//! | `conf`: the storage parameters, written without a sync | when the store is created | at open |
//! | `snap.<lsn>`: a snapshot of the page table, `fsync`ed, renamed into place (from `.generating`), older ones removed, with no directory sync | only while sled opens (recovery) | the store directory is `fsync`ed at open |
//! | the store directory itself, `blobs/` | when the store is created | the store directory and its parent (the data directory) are `fsync`ed at open |
//!
//! The snapshot's rename and the removal of older snapshots change only
//! the store directory, which POSIX makes durable only by an `fsync` of
//! the directory; sled does none. Syncing it at open, before any write,
//! means a later power cut finds the snapshot sled opened with, never an
//! older one beside a log that has moved on.
//!
//! What this does not cover: sled's own flusher may `fsync` `db` while a
//! blob it points at is not yet synced, so a power cut in that moment can
//! lose a blob a durable log entry refers to. Blobs are rare here (a
//! commit of thousands of events); the store's next flush closes the
//! window, and the node acknowledges nothing before it.
//!
//! A failed sync is never retried: the kernel may have dropped the dirty
//! pages it could not write and will report success next time. The store
//! latches failed instead ([`StoreError::Failed`](super::StoreError::Failed)).

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The store's files, as this module syncs them.
#[derive(Debug)]
pub(super) struct Files {
    /// `<store>/db`, kept open for `fdatasync`.
    db: File,
    /// `<store>/blobs`.
    blobs: PathBuf,
    /// Blob files already synced (by name); pruned of those sled removed.
    synced_blobs: Mutex<HashSet<OsString>>,
    /// Completed syncs of `db`: for the tests that check nothing is
    /// acknowledged before one, and `/metrics` (syncs per event stored).
    syncs: AtomicU64,
}

fn context(path: &Path, what: &str) -> impl FnOnce(io::Error) -> io::Error {
    let path = path.display().to_string();
    let what = what.to_owned();
    move |e| io::Error::new(e.kind(), format!("{what} {path}: {e}"))
}

/// `fsync` of a directory.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(context(dir, "syncing the directory"))
}

/// `fdatasync` of the file at `path`.
fn sync_file(path: &Path) -> io::Result<()> {
    File::open(path).and_then(|f| f.sync_data()).map_err(context(path, "syncing"))
}

impl Files {
    /// Called once sled has opened `dir`: makes durable everything sled
    /// may have created or renamed while opening (see the module doc), and
    /// keeps `db` open for later syncs.
    pub(super) fn open(dir: &Path) -> io::Result<Self> {
        let db_path = dir.join("db");
        let db = File::open(&db_path).map_err(context(&db_path, "opening"))?;
        db.sync_all().map_err(context(&db_path, "syncing"))?;
        let conf = dir.join("conf");
        if conf.exists() {
            File::open(&conf).and_then(|f| f.sync_all()).map_err(context(&conf, "syncing"))?;
        }
        let files = Self {
            db,
            blobs: dir.join("blobs"),
            synced_blobs: Mutex::new(HashSet::new()),
            syncs: AtomicU64::new(0),
        };
        // Every blob now present: whether they were synced before is unknown.
        files.sync_new_blobs()?;
        sync_dir(&files.blobs)?;
        sync_dir(dir)?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        Ok(files)
    }

    /// Called after `sled::Db::flush`: makes durable what it wrote. New
    /// blob files first (and their directory), then `db`. The names of the
    /// blob files synced for the first time.
    pub(super) fn sync(&self) -> io::Result<Vec<OsString>> {
        let new_blobs = self.sync_new_blobs()?;
        if !new_blobs.is_empty() {
            sync_dir(&self.blobs)?;
        }
        self.db.sync_data().map_err(context(&self.blobs.with_file_name("db"), "syncing"))?;
        self.syncs.fetch_add(1, Ordering::SeqCst);
        Ok(new_blobs)
    }

    /// How many syncs of `db` have completed.
    pub(super) fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::SeqCst)
    }

    /// `fdatasync`s every blob file not synced yet; their names.
    fn sync_new_blobs(&self) -> io::Result<Vec<OsString>> {
        let mut synced = self.synced_blobs.lock().unwrap_or_else(|p| p.into_inner());
        let mut present = HashSet::with_capacity(synced.len());
        let mut new = Vec::new();
        for entry in std::fs::read_dir(&self.blobs).map_err(context(&self.blobs, "listing"))? {
            let name = entry.map_err(context(&self.blobs, "listing"))?.file_name();
            if !synced.contains(&name) {
                match sync_file(&self.blobs.join(&name)) {
                    Ok(()) => new.push(name.clone()),
                    // Removed by sled since the listing: nothing points at it.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
            }
            present.insert(name);
        }
        *synced = present;
        Ok(new)
    }
}
