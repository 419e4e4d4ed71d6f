//! A file system that loses, at a power cut, everything not synced: the
//! POSIX worst case, in memory, served over FUSE.
//!
//! Every file holds two contents: what reads see (every write lands
//! there), and what a power cut leaves — only `fsync`/`fdatasync` of the
//! file copies the first to the second (its bytes and its size). Every
//! directory holds two lists of names likewise: creating, renaming or
//! removing a name changes what lookups see, and only an `fsync` of the
//! directory makes the change survive. `sync_file_range`, `close` and the
//! kernel's own writeback make nothing durable (FUSE without writeback
//! caching sends every write here at once, and keeps no dirty pages of
//! its own).
//!
//! [`LossyFs::load`] reads a plain directory tree in, all of it durable;
//! [`LossyFs::cut`] is the power cut: it writes what survives back to a
//! plain directory, and the file system answers `EIO` from then on.
//!
//! What is not modelled: a write half on the disk (a torn page), or an
//! unsynced write that reached the disk anyway; both are kinder than
//! losing it, but a store could misread them. Modes, times and owners are
//! kept as they are now, not as they were at the last sync. No hard or
//! symbolic links, no extended attributes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};

const PAGE: usize = 4096;
const TTL: Duration = Duration::from_secs(1);
const ROOT: u64 = 1;

/// A file's contents: now, and as of its last sync.
#[derive(Debug, Default)]
struct Contents {
    now: Vec<u8>,
    durable: Vec<u8>,
    /// Pages written since the last sync.
    dirty: BTreeSet<usize>,
}

impl Contents {
    fn write(&mut self, offset: usize, data: &[u8]) {
        let end = offset + data.len();
        if self.now.len() < end {
            self.now.resize(end, 0);
        }
        self.now[offset..end].copy_from_slice(data);
        self.dirty.extend(offset / PAGE..end.div_ceil(PAGE));
    }

    fn truncate(&mut self, len: usize) {
        if len > self.now.len() {
            self.dirty.extend(self.now.len() / PAGE..len.div_ceil(PAGE));
        }
        self.now.resize(len, 0);
    }

    fn sync(&mut self) {
        self.durable.resize(self.now.len(), 0);
        for page in std::mem::take(&mut self.dirty) {
            let start = page * PAGE;
            let end = (start + PAGE).min(self.now.len());
            if start < end {
                self.durable[start..end].copy_from_slice(&self.now[start..end]);
            }
        }
    }
}

#[derive(Debug)]
enum Kind {
    File(Contents),
    Dir { now: BTreeMap<OsString, u64>, durable: BTreeMap<OsString, u64> },
}

#[derive(Debug)]
struct Node {
    kind: Kind,
    perm: u16,
    mtime: SystemTime,
}

impl Node {
    fn file(perm: u16) -> Self {
        Self { kind: Kind::File(Contents::default()), perm, mtime: SystemTime::now() }
    }

    fn dir(perm: u16) -> Self {
        Self {
            kind: Kind::Dir { now: BTreeMap::new(), durable: BTreeMap::new() },
            perm,
            mtime: SystemTime::now(),
        }
    }
}

/// What the file system holds, and whether the power is still on.
#[derive(Debug)]
struct State {
    nodes: HashMap<u64, Node>,
    next: u64,
    cut: bool,
    /// Syncs served (files and directories), for the report.
    syncs: u64,
}

/// The file system; clones share it (one is mounted, the harness keeps
/// another to cut the power).
#[derive(Debug, Clone)]
pub struct LossyFs {
    state: Arc<Mutex<State>>,
}

type Answer<T> = Result<T, Errno>;

impl State {
    fn node(&self, ino: u64) -> Answer<&Node> {
        self.nodes.get(&ino).ok_or(Errno::ENOENT)
    }

    fn node_mut(&mut self, ino: u64) -> Answer<&mut Node> {
        self.nodes.get_mut(&ino).ok_or(Errno::ENOENT)
    }

    fn entries(&mut self, dir: u64) -> Answer<&mut BTreeMap<OsString, u64>> {
        match &mut self.node_mut(dir)?.kind {
            Kind::Dir { now, .. } => Ok(now),
            Kind::File(_) => Err(Errno::ENOTDIR),
        }
    }

    fn child(&self, dir: u64, name: &OsStr) -> Answer<u64> {
        match &self.node(dir)?.kind {
            Kind::Dir { now, .. } => now.get(name).copied().ok_or(Errno::ENOENT),
            Kind::File(_) => Err(Errno::ENOTDIR),
        }
    }

    fn attr(&self, ino: u64) -> Answer<FileAttr> {
        let node = self.node(ino)?;
        let (kind, size, nlink) = match &node.kind {
            Kind::File(c) => (FileType::RegularFile, c.now.len() as u64, 1),
            Kind::Dir { .. } => (FileType::Directory, 0, 2),
        };
        Ok(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: node.mtime,
            mtime: node.mtime,
            ctime: node.mtime,
            crtime: node.mtime,
            kind,
            perm: node.perm,
            nlink,
            uid: 0,
            gid: 0,
            rdev: 0,
            blksize: PAGE as u32,
            flags: 0,
        })
    }

    fn add(&mut self, parent: u64, name: &OsStr, node: Node) -> Answer<u64> {
        if self.entries(parent)?.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let ino = self.next;
        self.next += 1;
        self.nodes.insert(ino, node);
        self.entries(parent)?.insert(name.to_owned(), ino);
        Ok(ino)
    }

    /// Reads the plain tree under `dir` into the directory `ino`, durable.
    fn load(&mut self, ino: u64, dir: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            let perm = (meta.permissions().mode() & 0o7777) as u16;
            let child = self.next;
            self.next += 1;
            if meta.is_dir() {
                self.nodes.insert(child, Node::dir(perm));
                self.load(child, &entry.path())?;
            } else {
                let bytes = std::fs::read(entry.path())?;
                let mut node = Node::file(perm);
                node.kind = Kind::File(Contents {
                    now: bytes.clone(),
                    durable: bytes,
                    dirty: BTreeSet::new(),
                });
                self.nodes.insert(child, node);
            }
            if let Some(Node { kind: Kind::Dir { now, durable }, .. }) = self.nodes.get_mut(&ino) {
                now.insert(entry.file_name(), child);
                durable.insert(entry.file_name(), child);
            }
        }
        Ok(())
    }

    /// Writes what survives under the directory `ino` to the plain `dir`.
    fn store_durable(&self, ino: u64, dir: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let Some(Node { kind: Kind::Dir { durable, .. }, .. }) = self.nodes.get(&ino) else {
            return Ok(());
        };
        for (name, child) in durable {
            let Some(node) = self.nodes.get(child) else { continue };
            let path = dir.join(name);
            match &node.kind {
                Kind::Dir { .. } => {
                    std::fs::create_dir(&path)?;
                    self.store_durable(*child, &path)?;
                }
                Kind::File(contents) => std::fs::write(&path, &contents.durable)?,
            }
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(node.perm.into()))?;
        }
        Ok(())
    }
}

impl LossyFs {
    /// A file system holding the plain tree under `dir`, all of it durable.
    pub fn load(dir: &Path) -> std::io::Result<Self> {
        let mut state = State { nodes: HashMap::new(), next: ROOT + 1, cut: false, syncs: 0 };
        state.nodes.insert(ROOT, Node::dir(0o755));
        state.load(ROOT, dir)?;
        Ok(Self { state: Arc::new(Mutex::new(state)) })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The power cut: from now on every operation fails with `EIO`, and
    /// what had been synced replaces the contents of `dir`.
    pub fn cut(&self, dir: &Path) -> std::io::Result<()> {
        let mut state = self.lock();
        state.cut = true;
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path)?;
            } else {
                std::fs::remove_file(&path)?;
            }
        }
        state.store_durable(ROOT, dir)
    }

    /// Syncs served so far.
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    /// Runs `op` on the state unless the power is off.
    fn with<T>(&self, op: impl FnOnce(&mut State) -> Answer<T>) -> Answer<T> {
        let mut state = self.lock();
        if state.cut {
            return Err(Errno::EIO);
        }
        op(&mut state)
    }
}

fn now_or(time: Option<TimeOrNow>) -> Option<SystemTime> {
    time.map(|t| match t {
        TimeOrNow::SpecificTime(t) => t,
        TimeOrNow::Now => SystemTime::now(),
    })
}

impl Filesystem for LossyFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.with(|s| s.attr(s.child(parent.0, name)?)) {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.with(|s| s.attr(ino.0)) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let result = self.with(|s| {
            let node = s.node_mut(ino.0)?;
            if let Some(mode) = mode {
                node.perm = (mode & 0o7777) as u16;
            }
            if let Some(size) = size {
                match &mut node.kind {
                    Kind::File(c) => c.truncate(size as usize),
                    Kind::Dir { .. } => return Err(Errno::EISDIR),
                }
                node.mtime = SystemTime::now();
            }
            if let Some(t) = now_or(mtime) {
                node.mtime = t;
            }
            s.attr(ino.0)
        });
        match result {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let perm = (mode & !umask & 0o7777) as u16;
        match self.with(|s| {
            let ino = s.add(parent.0, name, Node::dir(perm))?;
            s.attr(ino)
        }) {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let perm = (mode & !umask & 0o7777) as u16;
        match self.with(|s| {
            let ino = s.add(parent.0, name, Node::file(perm))?;
            s.attr(ino)
        }) {
            Ok(attr) => reply.created(
                &TTL,
                &attr,
                Generation(0),
                FileHandle(attr.ino.0),
                FopenFlags::empty(),
            ),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let result = self.with(|s| {
            let ino = s.child(parent.0, name)?;
            if matches!(s.node(ino)?.kind, Kind::Dir { .. }) {
                return Err(Errno::EISDIR);
            }
            s.entries(parent.0)?.remove(name);
            Ok(())
        });
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let result = self.with(|s| {
            let ino = s.child(parent.0, name)?;
            if !s.entries(ino)?.is_empty() {
                return Err(Errno::ENOTEMPTY);
            }
            s.entries(parent.0)?.remove(name);
            Ok(())
        });
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        _flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let result = self.with(|s| {
            let ino = s.child(parent.0, name)?;
            s.entries(newparent.0)?;
            s.entries(parent.0)?.remove(name);
            s.entries(newparent.0)?.insert(newname.to_owned(), ino);
            Ok(())
        });
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.with(|s| s.node(ino.0).map(|_| ())) {
            Ok(()) => reply.opened(FileHandle(ino.0), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let result = self.with(|s| match &s.node(ino.0)?.kind {
            Kind::File(c) => {
                let start = (offset as usize).min(c.now.len());
                let end = (start + size as usize).min(c.now.len());
                Ok(c.now[start..end].to_vec())
            }
            Kind::Dir { .. } => Err(Errno::EISDIR),
        });
        match result {
            Ok(bytes) => reply.data(&bytes),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let result = self.with(|s| {
            let node = s.node_mut(ino.0)?;
            match &mut node.kind {
                Kind::File(c) => c.write(offset as usize, data),
                Kind::Dir { .. } => return Err(Errno::EISDIR),
            }
            node.mtime = SystemTime::now();
            Ok(())
        });
        match result {
            Ok(()) => reply.written(data.len() as u32),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // close(2): makes nothing durable.
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let result = self.with(|s| {
            s.syncs += 1;
            match &mut s.node_mut(ino.0)?.kind {
                Kind::File(c) => c.sync(),
                Kind::Dir { now, durable } => durable.clone_from(now),
            }
            Ok(())
        });
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.with(|s| s.entries(ino.0).map(|_| ())) {
            Ok(()) => reply.opened(FileHandle(ino.0), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let listing = self.with(|s| {
            let names: Vec<(OsString, u64)> =
                s.entries(ino.0)?.iter().map(|(n, i)| (n.clone(), *i)).collect();
            let mut out = vec![
                (OsString::from("."), ino.0, FileType::Directory),
                (OsString::from(".."), ROOT, FileType::Directory),
            ];
            for (name, child) in names {
                let kind = match s.node(child)?.kind {
                    Kind::File(_) => FileType::RegularFile,
                    Kind::Dir { .. } => FileType::Directory,
                };
                out.push((name, child, kind));
            }
            Ok(out)
        });
        match listing {
            Ok(entries) => {
                for (i, (name, child, kind)) in
                    entries.into_iter().enumerate().skip(offset as usize)
                {
                    if reply.add(INodeNo(child), i as u64 + 1, kind, name) {
                        break;
                    }
                }
                reply.ok();
            }
            Err(e) => reply.error(e),
        }
    }

    fn fsyncdir(
        &self,
        req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.fsync(req, ino, fh, datasync, reply);
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        // 16 GiB free in 4 KiB blocks.
        reply.statfs(1 << 22, 1 << 22, 1 << 22, 1 << 20, 1 << 20, PAGE as u32, 255, PAGE as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_keeps_written_pages_and_the_size() {
        let mut c = Contents::default();
        c.write(0, &[1; 5000]);
        c.sync();
        c.write(4096, &[2; 10]);
        c.truncate(6000);
        assert_eq!(c.durable, vec![1; 5000], "unsynced writes are not durable");
        c.sync();
        assert_eq!(c.durable, c.now);
        c.truncate(100);
        c.sync();
        assert_eq!(c.durable, vec![1; 100]);
    }
}
