//! Full-text search over posts, cases, comments and polls (Tantivy).
//!
//! The index is a **cache of the store**: it lives in `<data>/search/`
//! beside the store, holds no text of its own (terms, ids and times only:
//! snippets are cut from the store's copy at query time), and can always be
//! rebuilt from the store (`curbside node reindex`). Each commit of the
//! index records, in its payload, the index's [`FORMAT_VERSION`] and how
//! many store commits it covers. At start ([`SearchIndex::open`]):
//!
//! - missing, unreadable or another format → it is deleted and rebuilt;
//! - covering more store commits than the store has (another store put
//!   in place) → rebuilt;
//! - covering fewer (a crash within the last second of indexing) → the
//!   store commits it lacks are read from the store's timeline and indexed.
//!
//! While a node runs, the ingest thread hands the [`Indexer`] every event
//! stored, right after it is durable, as ingest decoded and validated it;
//! the indexer's own thread adds each (reading back from the store only a
//! comment's thread hub it has not met, and the edits and outcomes that
//! replace a document; and every event while its queue holds more than
//! [`HANDED_BYTES`] of events, which bounds the memory a lagging indexer
//! takes), and commits the index on its own every [`COMMIT_EVERY`] (5 s)
//! or [`COMMIT_DOCS`] documents: each commit is a segment that Tantivy's
//! merges later rewrite, so fewer, larger commits cost ingest less (at
//! 1,000,000 events, 1 s and 20,000 kept ingest with indexing at 74–75% of
//! ingest without; 5 s and 100,000 at 85–93%: docs/BENCHMARKS.md). No search
//! waits for that timer: a search makes what was stored before it visible
//! first ([`SearchIndex::refresh`]).
//!
//! Retracted, taken-down and hidden content is never shown, by two means:
//! the indexer deletes a retraction's or takedown's target and commits at
//! once (not on the timer), and every hit is checked against the store
//! before it is answered ([`query`]): a hit whose event the store no longer
//! holds (retracted, taken down) or that its operator hid is dropped. The
//! store deletes the target in the same commit that stores the retraction,
//! so from the moment a retraction is acknowledged no search shows its
//! target, even before the index's deletion is committed.
//!
//! Solved cases: on an outcome event the indexer reads its case back,
//! marks it [`Searchable::solved`] when the outcome is its author's, and
//! replaces the case's document (delete by id, add); a rebuild does the
//! same in store order.

pub mod analyzer;
pub mod doc;
pub mod query;
pub mod top;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use curbside_protocol::{Body, EventId, HubId, Kind, VerifiedEvent};
use serde::{Deserialize, Serialize};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::store::{Store, StoreError};

pub use doc::{Fields, Searchable};
pub use query::{Hit, Page, SearchQuery};

/// The index's layout version: bump it whenever the schema, the analyzer
/// or what is indexed changes, and every node rebuilds its index at start.
///
/// 1: title and text analysed by `curbside_medical` (no positions); id,
/// kind, hub, tag, age band, sex, specialty, solved, created_at.
/// 2: title (twice) and text in one analysed field, `words`, so that a
/// query is a conjunction of terms Tantivy can prune (see `query`); the
/// id stored only, deletions going by `key`, its first 16 bytes.
/// 3: `created_at` a fast field only, not indexed (the `since` filter
/// reads the fast field): one term fewer per document.
pub const FORMAT_VERSION: u32 = 3;

/// Longest the indexer waits before committing what it added.
pub const COMMIT_EVERY: Duration = Duration::from_secs(5);

/// Most documents the indexer adds before it commits anyway.
pub const COMMIT_DOCS: usize = 100_000;

/// Memory the index writer may use before it writes a segment.
const WRITER_BYTES: usize = 64 << 20;

/// Least time between two commits a search asks for ([`SearchIndex::refresh`]),
/// so that searches make at most a few commits a second whatever their rate.
pub const REFRESH_GAP: Duration = Duration::from_millis(200);

/// Longest a search waits for the indexer to be told of what the store
/// held when it began (a group commit under way, a long queue).
pub const REFRESH_WAIT: Duration = Duration::from_millis(500);

/// Store commits queued for the indexer before ingest waits for it.
const QUEUE: usize = 1024;

/// Bytes of events (their wire size) handed to the indexer and not yet
/// indexed, past which a group is sent as ids and kinds only and read
/// back from the store: what a lagging indexer's queue may hold of text.
pub const HANDED_BYTES: usize = 64 << 20;

/// Thread hubs the indexer remembers (a comment's is its thread's: the
/// hub of the post, case or poll it answers, directly or not); past this,
/// it forgets them all and reads from the store again.
const HUBS_KEPT: usize = 65_536;

/// Why the search index failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// Tantivy failed (I/O, a damaged index).
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// A directory could not be made or removed.
    #[error("search index directory {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Reading the store failed.
    #[error("reading the store: {0}")]
    Store(#[from] StoreError),
}

/// What a commit of the index records of itself.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
struct Payload {
    format: u32,
    store_commits: u64,
}

/// How [`SearchIndex::open`] found the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// Up to date with the store.
    Current,
    /// Brought up to date from the store's newer commits.
    CaughtUp {
        /// Store commits read.
        commits: u64,
    },
    /// Built again from the whole store (why: missing, another format,
    /// or from another store).
    Rebuilt {
        /// Why.
        reason: &'static str,
    },
}

/// The search index of a node's data directory.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    /// How far the writer and the last commit are behind the store.
    freshness: Mutex<Freshness>,
    dir: PathBuf,
}

/// Store commits the writer's documents cover (set by the indexer under
/// the writer's lock) and the last commit covers, and when that was made.
/// The writer holds what no search can see yet while `applied > committed`.
#[derive(Debug)]
struct Freshness {
    applied: u64,
    committed: u64,
    last_commit: Instant,
    /// Commits made since the index was opened.
    commits: u64,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").field("dir", &self.dir).finish_non_exhaustive()
    }
}

/// Told how far a rebuild or catch-up has got: `(done, total)` events.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SearchError + '_ {
    move |source| SearchError::Io { path: path.to_path_buf(), source }
}

impl SearchIndex {
    /// The index's directory in a data directory.
    pub fn dir_in(data: &Path) -> PathBuf {
        data.join("search")
    }

    /// Opens the index in `dir` and brings it up to date with `store`
    /// (see the module doc), telling `progress` how far it got.
    pub fn open(
        dir: &Path,
        store: &Store,
        progress: Progress<'_>,
    ) -> Result<(Self, Opened), SearchError> {
        let store_commits = store.commits_made();
        let existing = Self::open_existing(dir);
        let (index, opened) = match existing {
            Ok(Some((index, p)))
                if p.format == FORMAT_VERSION && p.store_commits <= store_commits =>
            {
                (index, None)
            }
            Ok(Some((_, p))) if p.format != FORMAT_VERSION => {
                (Self::create(dir)?, Some("another format version"))
            }
            Ok(Some(_)) => (Self::create(dir)?, Some("built from another store")),
            Ok(None) => (Self::create(dir)?, Some("missing")),
            Err(e) => {
                tracing::warn!(error = %e, "the search index is unreadable; rebuilding it");
                (Self::create(dir)?, Some("unreadable"))
            }
        };
        let this = Self::with_index(index, dir)?;
        let from = this.payload()?.map_or(0, |p| p.store_commits);
        let opened = match opened {
            Some(reason) => {
                this.catch_up(store, 0, progress)?;
                Opened::Rebuilt { reason }
            }
            None if from < store_commits => {
                this.catch_up(store, from, progress)?;
                Opened::CaughtUp { commits: store_commits - from }
            }
            None => Opened::Current,
        };
        Ok((this, opened))
    }

    /// Deletes the index in `dir` and builds it again from `store`.
    pub fn rebuild(dir: &Path, store: &Store, progress: Progress<'_>) -> Result<Self, SearchError> {
        let this = Self::with_index(Self::create(dir)?, dir)?;
        this.catch_up(store, 0, progress)?;
        Ok(this)
    }

    /// The index in `dir` and its payload, if it has one.
    fn open_existing(dir: &Path) -> Result<Option<(Index, Payload)>, SearchError> {
        if !dir.join("meta.json").exists() {
            return Ok(None);
        }
        let index = Index::open_in_dir(dir)?;
        let payload = index
            .load_metas()?
            .payload
            .and_then(|p| serde_json::from_str::<Payload>(&p).ok())
            .unwrap_or(Payload { format: 0, store_commits: 0 });
        Ok(Some((index, payload)))
    }

    /// An empty index in `dir` (whatever was there is deleted).
    fn create(dir: &Path) -> Result<Index, SearchError> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(io(dir))?;
        }
        // A cache: a directory lost to a crash is rebuilt at the next start.
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let (schema, _) = Fields::schema();
        Ok(Index::create_in_dir(dir, schema)?)
    }

    fn with_index(index: Index, dir: &Path) -> Result<Self, SearchError> {
        analyzer::register(&index);
        let (_, fields) = Fields::schema();
        let writer = index.writer_with_num_threads(1, WRITER_BYTES)?;
        // Reloaded by the indexer after each commit, so that a deletion is
        // visible as soon as it is committed.
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let covered = index
            .load_metas()?
            .payload
            .and_then(|p| serde_json::from_str::<Payload>(&p).ok())
            .map_or(0, |p| p.store_commits);
        Ok(Self {
            index,
            reader,
            fields,
            writer: Mutex::new(writer),
            freshness: Mutex::new(Freshness {
                applied: covered,
                committed: covered,
                last_commit: Instant::now(),
                commits: 0,
            }),
            dir: dir.to_path_buf(),
        })
    }

    /// What the last commit recorded.
    fn payload(&self) -> Result<Option<Payload>, SearchError> {
        Ok(self.index.load_metas()?.payload.and_then(|p| serde_json::from_str(&p).ok()))
    }

    /// How many store commits the index covers.
    pub fn store_commits(&self) -> Result<u64, SearchError> {
        Ok(self.payload()?.map_or(0, |p| p.store_commits))
    }

    /// Documents in the index (deleted ones not counted).
    pub fn documents(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Bytes the index's files take on disk.
    pub fn bytes_on_disk(&self) -> u64 {
        dir_size(&self.dir)
    }

    /// Indexes every event of the store's commits from `from` on, then
    /// commits, recording the store's commit count.
    fn catch_up(
        &self,
        store: &Store,
        from: u64,
        progress: Progress<'_>,
    ) -> Result<(), SearchError> {
        let upto = store.commits_made();
        let entries = store.events().stored_in_commits(from)?;
        let total = entries.len() as u64;
        let mut batch = Batch::default();
        {
            let writer = lock(&self.writer);
            for (done, (_, id, kind)) in entries.into_iter().enumerate() {
                // A fresh index holds nothing to replace; a catch-up may
                // meet an event it already holds.
                self.apply_one(store, &writer, &id, kind, from > 0, &mut batch)?;
                if done % 1024 == 0 {
                    progress(done as u64, total);
                }
            }
        }
        self.commit(upto)?;
        progress(total, total);
        Ok(())
    }

    /// Adds (or deletes, for a retraction or takedown) what the stored
    /// event `id` of `kind` means for the index.
    fn apply_one(
        &self,
        store: &Store,
        writer: &IndexWriter<TantivyDocument>,
        id: &EventId,
        kind: Kind,
        replace: bool,
        batch: &mut Batch,
    ) -> Result<(), SearchError> {
        match kind {
            Kind::Post | Kind::Case | Kind::Comment | Kind::Poll => {
                let Some((event, hub)) = store.events().get_with_hub(id)? else {
                    return Ok(());
                };
                let solved = kind == Kind::Case && solved(store, &event)?;
                let Some(s) = Searchable::of(&event, hub) else { return Ok(()) };
                let s = s.solved(solved);
                if replace {
                    writer.delete_term(self.id_term(id));
                }
                writer.add_document(self.fields.document(&s))?;
                batch.added += 1;
            }
            // Its case is solved now: its document again, with the flag.
            Kind::Outcome => {
                let Some(event) = store.events().get(id)? else { return Ok(()) };
                let Body::Outcome(o) = event.body() else { return Ok(()) };
                if store.events().contains(&o.case)? {
                    self.apply_one(store, writer, &o.case, Kind::Case, true, batch)?;
                }
            }
            // The edit in force replaces its original's document (under
            // the original's id); one superseded since has none.
            Kind::Edit => {
                let Some(event) = store.events().get(id)? else { return Ok(()) };
                let Body::Edit(e) = event.body() else { return Ok(()) };
                let target = e.target;
                if store.events().edit_in_force(&target)?.is_none_or(|f| f.id() != *id) {
                    return Ok(());
                }
                let hub = match e.content.parent() {
                    Some(parent) => store.events().thread_hub(&parent)?,
                    None => None,
                };
                let solved = e.content.kind() == Kind::Case && {
                    let outcome = store.events().afterwords(&target)?.outcome;
                    outcome.is_some_and(|o| o.author() == event.author())
                };
                let Some(s) = Searchable::of(&event, hub) else { return Ok(()) };
                writer.delete_term(self.id_term(&target));
                batch.deleted += 1;
                writer.add_document(self.fields.document(&s.solved(solved)))?;
                batch.added += 1;
            }
            Kind::Retraction | Kind::Takedown => {
                let Some(event) = store.events().get(id)? else { return Ok(()) };
                let target = match event.body() {
                    Body::Retraction(r) => r.target,
                    Body::Takedown(t) => t.target,
                    _ => return Ok(()),
                };
                writer.delete_term(self.id_term(&target));
                batch.deleted += 1;
            }
            _ => {}
        }
        Ok(())
    }

    /// Adds (or deletes) what `event`, just stored and handed over by
    /// ingest, means for the index: as [`SearchIndex::apply_one`], without
    /// reading it back. A post, case, comment or poll just stored is new to
    /// the index, and a case just stored is not solved (its outcome can
    /// only be stored after it, and is applied then).
    fn apply_handed(
        &self,
        store: &Store,
        writer: &IndexWriter<TantivyDocument>,
        event: &VerifiedEvent,
        hubs: &mut Hubs,
        batch: &mut Batch,
    ) -> Result<(), SearchError> {
        let hub = match event.body() {
            Body::Post(_) | Body::Case(_) | Body::Poll(_) => event.body().hub().cloned(),
            Body::Comment(c) => hubs.of(store, &c.parent)?,
            Body::Retraction(_) | Body::Takedown(_) => {
                let target = match event.body() {
                    Body::Retraction(r) => r.target,
                    Body::Takedown(t) => t.target,
                    _ => return Ok(()),
                };
                hubs.forget(&target);
                writer.delete_term(self.id_term(&target));
                batch.deleted += 1;
                return Ok(());
            }
            // An edit can move its original (and so its thread) to another
            // hub: what is remembered of hubs may be stale.
            Body::Edit(_) => {
                hubs.clear();
                return self.apply_one(store, writer, &event.id(), Kind::Edit, false, batch);
            }
            _ => return self.apply_one(store, writer, &event.id(), event.kind(), false, batch),
        };
        hubs.remember(event.id(), hub.clone());
        let Some(s) = Searchable::of(event, hub) else { return Ok(()) };
        writer.add_document(self.fields.document(&s))?;
        batch.added += 1;
        Ok(())
    }

    fn id_term(&self, id: &EventId) -> Term {
        self.fields.key_term(id)
    }

    /// Commits what was added and deleted, recording that the index covers
    /// `store_commits` store commits, and makes it visible to searches.
    fn commit(&self, store_commits: u64) -> Result<(), SearchError> {
        let mut writer = lock(&self.writer);
        self.commit_locked(&mut writer, store_commits)
    }

    fn commit_locked(
        &self,
        writer: &mut IndexWriter<TantivyDocument>,
        store_commits: u64,
    ) -> Result<(), SearchError> {
        let payload = serde_json::to_string(&Payload { format: FORMAT_VERSION, store_commits })
            .map_err(|e| SearchError::Io { path: self.dir.clone(), source: e.into() })?;
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        self.reader.reload()?;
        let mut freshness = lock(&self.freshness);
        freshness.committed = store_commits;
        freshness.applied = freshness.applied.max(store_commits);
        freshness.last_commit = Instant::now();
        freshness.commits += 1;
        Ok(())
    }

    /// Commits what the indexer has added since the last commit, if
    /// anything.
    fn commit_pending(&self) -> Result<(), SearchError> {
        let mut writer = lock(&self.writer);
        let applied = {
            let freshness = lock(&self.freshness);
            if freshness.applied <= freshness.committed {
                return Ok(());
            }
            freshness.applied
        };
        self.commit_locked(&mut writer, applied)
    }

    /// Makes what `store` held when called visible to searches, so that a
    /// search finds what was stored before it (a physician searching for
    /// the case they have just written): waits for the indexer to be told
    /// of it and to apply it (at most [`REFRESH_WAIT`]), then commits,
    /// once at least [`REFRESH_GAP`] has passed since the last commit
    /// (waiting for the rest of the gap first). With everything committed
    /// already, it returns at once; it never waits longer than
    /// `REFRESH_WAIT + 2 × REFRESH_GAP` (0.9 s).
    pub fn refresh(&self, store: &Store) -> Result<(), SearchError> {
        let target = store.commits_made();
        let started = Instant::now();
        loop {
            let (applied, committed, last_commit) = {
                let f = lock(&self.freshness);
                (f.applied, f.committed, f.last_commit)
            };
            // Bounded whatever the indexer does (commits of its own at
            // each deletion can keep the gap from ever opening): then the
            // search answers from what is visible.
            if committed >= target || started.elapsed() >= REFRESH_WAIT + 2 * REFRESH_GAP {
                return Ok(());
            }
            if applied < target && started.elapsed() < REFRESH_WAIT {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            let gap_left = REFRESH_GAP.saturating_sub(last_commit.elapsed());
            if !gap_left.is_zero() {
                // Then look again: another search may have committed.
                std::thread::sleep(gap_left);
                continue;
            }
            // The gap checked again under the writer's lock, so that searches
            // waking together make one commit, not one each.
            let mut writer = lock(&self.writer);
            let pending = {
                let f = lock(&self.freshness);
                if f.last_commit.elapsed() < REFRESH_GAP {
                    None
                } else if f.applied <= f.committed {
                    return Ok(());
                } else {
                    Some(f.applied)
                }
            };
            match pending {
                Some(applied) => return self.commit_locked(&mut writer, applied),
                None => continue,
            }
        }
    }

    /// Waits for the writer's merges to finish (a tool's last step, so that
    /// the directory it leaves is in its final shape).
    pub fn finish(self) -> Result<(), SearchError> {
        let writer = self.writer.into_inner().unwrap_or_else(|p| p.into_inner());
        writer.wait_merging_threads()?;
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the indexer has not committed yet.
#[derive(Debug, Default)]
struct Batch {
    added: usize,
    deleted: usize,
}

/// The thread hubs of events the indexer indexed lately (a comment's is
/// its thread's), so that a reply's hub is not read from the store.
#[derive(Debug, Default)]
struct Hubs(HashMap<EventId, Option<HubId>>);

impl Hubs {
    /// The hub of the thread `parent` is in.
    fn of(&mut self, store: &Store, parent: &EventId) -> Result<Option<HubId>, SearchError> {
        if let Some(hub) = self.0.get(parent) {
            return Ok(hub.clone());
        }
        Ok(store.events().hub_of(parent)?)
    }

    fn remember(&mut self, id: EventId, hub: Option<HubId>) {
        if self.0.len() >= HUBS_KEPT {
            self.0.clear();
        }
        self.0.insert(id, hub);
    }

    fn forget(&mut self, id: &EventId) {
        self.0.remove(id);
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

/// Bytes of the files under `dir` (not following links): an index's size.
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// One message to the indexer's thread.
enum Message {
    /// What one group commit stored, the store's commit count after it,
    /// and the bytes of the events handed whole.
    Stored(Told, u64, usize),
    /// Commit now, then answer (tests and tools that need to see a result).
    Commit(std::sync::mpsc::Sender<()>),
}

/// The stored events of one group as the indexer is told of them.
enum Told {
    /// As ingest decoded and validated them.
    Events(Vec<VerifiedEvent>),
    /// Their ids and kinds only (the queue held [`HANDED_BYTES`] already):
    /// the indexer reads them from the store.
    Keys(Vec<(EventId, Kind)>),
}

/// The handle the ingest thread tells of what it stored. Dropping every
/// handle ends the indexer's thread after a last commit; join it with
/// [`IndexerThread::join`].
#[derive(Debug, Clone)]
pub struct Indexer {
    tx: SyncSender<Message>,
    /// Bytes of events handed whole and not yet indexed.
    queued: Arc<AtomicUsize>,
    /// At most this many of them ([`HANDED_BYTES`]).
    budget: usize,
}

/// The indexer's thread.
#[derive(Debug)]
pub struct IndexerThread(std::thread::JoinHandle<()>);

impl IndexerThread {
    /// Waits for the thread's last commit.
    pub fn join(self) {
        if self.0.join().is_err() {
            tracing::error!("the search indexer panicked");
        }
    }
}

impl Indexer {
    /// Starts the indexer's thread over `index`, reading from `store`.
    pub fn start(
        index: Arc<SearchIndex>,
        store: Arc<Store>,
    ) -> std::io::Result<(Indexer, IndexerThread)> {
        Self::start_with(index, store, HANDED_BYTES)
    }

    /// [`Indexer::start`], handing over at most `budget` bytes of events
    /// not yet indexed (a test makes it 0: every event read back).
    fn start_with(
        index: Arc<SearchIndex>,
        store: Arc<Store>,
        budget: usize,
    ) -> std::io::Result<(Indexer, IndexerThread)> {
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
        let queued = Arc::new(AtomicUsize::new(0));
        let indexed = queued.clone();
        let thread = std::thread::Builder::new()
            .name("curbside-search".into())
            .spawn(move || run(&index, &store, &rx, &indexed))?;
        Ok((Indexer { tx, queued, budget }, IndexerThread(thread)))
    }

    /// The events one group commit stored, decoded and validated, in the
    /// order stored, after which the store has made `store_commits`
    /// commits. Called on the ingest thread: it waits only if the indexer
    /// is more than [`QUEUE`] groups behind.
    pub fn stored(&self, events: Vec<VerifiedEvent>, store_commits: u64) {
        let relevant: Vec<VerifiedEvent> = events
            .into_iter()
            .filter(|e| {
                doc::KINDS.contains(&e.kind())
                    || matches!(
                        e.kind(),
                        Kind::Retraction | Kind::Takedown | Kind::Outcome | Kind::Edit
                    )
            })
            .collect();
        let bytes: usize = relevant.iter().map(|e| e.signed().encoded_len()).sum();
        let handed = self.queued.fetch_add(bytes, Ordering::Relaxed) + bytes <= self.budget;
        let (told, bytes) = if handed {
            (Told::Events(relevant), bytes)
        } else {
            self.queued.fetch_sub(bytes, Ordering::Relaxed);
            (Told::Keys(relevant.iter().map(|e| (e.id(), e.kind())).collect()), 0)
        };
        // Even a group with nothing searchable moves the index's count on.
        if self.tx.send(Message::Stored(told, store_commits, bytes)).is_err() {
            tracing::error!("the search indexer has stopped; search results will be stale");
        }
    }

    /// Commits what the indexer has been told so far and waits until it is
    /// visible to searches.
    pub fn commit_now(&self) {
        let (tx, rx) = std::sync::mpsc::channel();
        if self.tx.send(Message::Commit(tx)).is_ok() {
            let _ = rx.recv();
        }
    }
}

/// The indexer's loop: apply what it is told, commit on a deletion at
/// once, otherwise every [`COMMIT_EVERY`] or [`COMMIT_DOCS`].
fn run(index: &SearchIndex, store: &Store, rx: &Receiver<Message>, queued: &AtomicUsize) {
    let mut batch = Batch::default();
    let mut hubs = Hubs::default();
    let mut since: Option<Instant> = None;
    // Whether it has been told of any store commit (until then it has
    // nothing to commit, not even the count).
    let mut covered = false;
    loop {
        let message = match since {
            Some(t) => match rx.recv_timeout(COMMIT_EVERY.saturating_sub(t.elapsed())) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            },
            None => match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => break,
            },
        };
        let mut answer = None;
        match message {
            Some(Message::Stored(told, commits, bytes)) => {
                let writer = lock(&index.writer);
                let failed = |e: SearchError, id: EventId| {
                    tracing::error!(error = %e, %id, "indexing an event for search failed");
                };
                match &told {
                    Told::Events(events) => {
                        for event in events {
                            if let Err(e) =
                                index.apply_handed(store, &writer, event, &mut hubs, &mut batch)
                            {
                                failed(e, event.id());
                            }
                        }
                    }
                    Told::Keys(keys) => {
                        for (id, kind) in keys {
                            if let Err(e) =
                                index.apply_one(store, &writer, id, *kind, false, &mut batch)
                            {
                                failed(e, *id);
                            }
                        }
                    }
                }
                queued.fetch_sub(bytes, Ordering::Relaxed);
                // Under the writer's lock: a search's refresh commits the
                // documents with the count they cover.
                lock(&index.freshness).applied = commits;
                drop(writer);
                covered = true;
                since.get_or_insert_with(Instant::now);
            }
            Some(Message::Commit(tx)) => answer = Some(tx),
            None => {}
        }
        let due = batch.deleted > 0
            || batch.added >= COMMIT_DOCS
            || answer.is_some()
            || since.is_some_and(|t| t.elapsed() >= COMMIT_EVERY);
        if due && covered {
            // A search's refresh may have committed them already.
            if let Err(e) = index.commit_pending() {
                tracing::error!(error = %e, "committing the search index failed");
            }
            batch = Batch::default();
            since = None;
        }
        if let Some(tx) = answer {
            let _ = tx.send(());
        }
    }
    if covered && let Err(e) = index.commit_pending() {
        tracing::error!(error = %e, "committing the search index at stop failed");
    }
}

#[cfg(test)]
mod tests;

/// Whether `case` is solved: an outcome in force signed by its author (as
/// views show it).
fn solved(store: &Store, case: &VerifiedEvent) -> Result<bool, SearchError> {
    let outcome = store.events().afterwords(&case.id())?.outcome;
    Ok(outcome.is_some_and(|o| o.author() == case.author()))
}
