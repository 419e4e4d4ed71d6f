//! The store's integrity check: does every index agree with the events,
//! and every audit log with the tree head it was last checked against?
//!
//! [`Store::check`] reads the whole store from the disk (not from the
//! memory the store keeps) and rebuilds, from the events alone, what each
//! index must hold; then it compares, in both directions:
//!
//! - **counts**: the `events` counter is the number of events, and the
//!   `pending` counter the number of pending records;
//! - **events**: each decodes, its key is its id, its stored summary is its
//!   own, and a physician's event names an attestation that is stored;
//! - **indexes**: the timeline holds each event exactly once; the feed
//!   (whose entries copy their events' records byte for byte), threads
//!   (each comment under the root its ancestors lead to, which its record
//!   names too), polls, tallies, ballots, attestations, charters, revocations,
//!   hubs, tree heads and cosignatures each hold an entry for exactly the
//!   events that need one, with the value those events give;
//! - **pending**: each dependency entry names a held event waiting on it;
//! - **audit logs**: each verifier's leaves are numbered without a gap and
//!   hash to the root of its checked head, which is a tree head signed by
//!   the verifier (stored, or this node's own head not yet published); every
//!   tree head held and already checked agrees with those leaves, unless
//!   the node holds proof the verifier forked its log.
//!
//! It is meant for a store no node has open (`curbside node check`): sled
//! iterators are not snapshots, so a check of a store being written can
//! see a commit half read. A problem is reported with a stable code and a
//! detail; only a failing read is an `Err`.

use std::collections::{BTreeMap, HashMap, HashSet};

use curbside_protocol::{Body, EventId, PublicKey, SignedEvent, Timestamp, VerifiedEvent};
use serde::Serialize;

mod logs;
mod pending;
mod tombstones;
mod votes;

use super::index::{self, Entry};
use super::keys::{self, Space, u64_value};
use super::{Store, StoreError, StoredEvent};

/// Most problems a report lists (it counts them all).
const MAX_LISTED: usize = 100;

/// One thing the check found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Stable snake_case code (`missing_index_entry`, `log_root_mismatch`, ...).
    pub code: &'static str,
    /// Which record, and how it is wrong.
    pub detail: String,
}

/// One verifier's audit log as the check found it.
#[derive(Debug, Clone, Serialize)]
pub struct LogCheck {
    /// Whose log.
    pub verifier: PublicKey,
    /// Leaves held.
    pub leaves: u64,
    /// The size of its checked head (`None`: no head checked yet).
    pub head_size: Option<u64>,
    /// Whether this node holds proof that the verifier forked its log (its
    /// heads are then not required to agree).
    pub forked: bool,
    /// Whether it is this node's own log.
    pub own: bool,
    /// Tree heads of the verifier held and checked against the leaves.
    pub heads_checked: u64,
}

/// What [`Store::check`] found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// Events stored.
    pub events: u64,
    /// Index entries compared with the events (all collections together).
    pub index_entries: u64,
    /// Events held pending.
    pub pending: u64,
    /// Every verifier's log.
    pub logs: Vec<LogCheck>,
    /// This node's own log entries (and head) logged but not yet stored as
    /// events: what a crash between logging and publishing leaves, which
    /// the node publishes when it next starts. Not a problem.
    pub unpublished_own: u64,
    /// Problems found (at most 100 listed).
    pub problems: Vec<Problem>,
    /// Problems found in all.
    pub problem_count: u64,
}

impl CheckReport {
    /// Whether the store passed.
    pub fn is_sound(&self) -> bool {
        self.problem_count == 0
    }

    pub(super) fn problem(&mut self, code: &'static str, detail: impl Into<String>) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED {
            self.problems.push(Problem { code, detail: detail.into() });
        }
    }
}

/// What an index must hold: key → the value expected (`None`: any value).
#[derive(Default)]
struct Expected(HashMap<Vec<u8>, Option<Vec<u8>>>);

impl Expected {
    fn put(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.0.insert(key, value);
    }
}

/// A vote, as the ballots and tallies must reflect it.
struct CastVote {
    voter: PublicKey,
    cast_at: Timestamp,
    id: EventId,
    option: u8,
}

/// What the events say the indexes must hold.
#[derive(Default)]
struct Derived {
    /// Every event: its time and kind byte (what the timeline holds).
    events: HashMap<EventId, (Timestamp, u8)>,
    /// Every event taken back, the same (the timeline may hold them).
    gone: HashMap<EventId, (Timestamp, u8)>,
    /// Collection → its expected entries.
    plain: BTreeMap<u8, (Space, Expected)>,
    /// Comments: parent and time.
    comments: HashMap<EventId, (EventId, Timestamp)>,
    /// Posts, cases and polls: where threads start.
    starts: HashSet<EventId>,
    /// The thread root each comment's record names (`None`: names none).
    named: HashMap<EventId, Option<EventId>>,
    /// Polls: options; votes by poll.
    polls: HashMap<EventId, usize>,
    votes: HashMap<EventId, Vec<CastVote>>,
    /// Revocations' earliest effective time by target.
    revoked: HashMap<EventId, Timestamp>,
    /// Cosignatures by (head, cosigner).
    cosigs: HashMap<(EventId, PublicKey), HashSet<EventId>>,
    /// The latest outcome, accept or poll answer per target and kind.
    afterwords: HashMap<(EventId, curbside_protocol::Kind), (Timestamp, EventId)>,
    /// Each stored edit's feed key (for a post's or case's).
    edits: HashMap<EventId, Option<Vec<u8>>>,
    /// Each edit's entries in `authored` and `mentions` where it is in
    /// force (`authored::edit_entries`).
    edit_entries: HashMap<EventId, Vec<index::IndexEntry>>,
}

impl Derived {
    fn expect(&mut self, space: Space, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.plain
            .entry(space as u8)
            .or_insert_with(|| (space, Expected::default()))
            .1
            .put(key, value);
    }

    /// The index entries `event`, stored as `record` (which names `thread`
    /// as its thread root), needs: what [`index::entries`] says a commit
    /// writes for it.
    fn add(&mut self, event: &VerifiedEvent, record: &[u8], thread: Option<EventId>) {
        let id = event.id();
        let at = event.created_at();
        self.events.insert(id, (at, event.kind() as u8));
        for entry in index::entries(event, record) {
            match entry {
                Entry::Put { space, key, value } => self.expect(space, key, Some(value)),
                // Taken off once checked: `check_head_queue` checks what is left.
                Entry::Queue(_) => {}
                Entry::Starts => {
                    self.starts.insert(id);
                }
                Entry::Comment { parent } => {
                    self.comments.insert(id, (parent, at));
                    self.named.insert(id, thread);
                }
                Entry::Poll { options } => {
                    self.polls.insert(id, options);
                }
                Entry::Vote { poll, option, .. } => {
                    let cast = CastVote { voter: *event.author(), cast_at: at, id, option };
                    self.votes.entry(poll).or_default().push(cast);
                }
                Entry::Revocation { target, effective_at } => {
                    let earliest = self.revoked.entry(target).or_insert(effective_at);
                    *earliest = (*earliest).min(effective_at);
                }
                // Any title: the first stored is kept, whichever came first.
                Entry::Hub { key, .. } => self.expect(Space::Hubs, key, None),
                Entry::Cosignature { head, cosigner } => {
                    self.cosigs.entry((head, cosigner)).or_default().insert(id);
                }
                Entry::Satisfies(_) => {}
                // What a retraction deleted is checked against the tombstones.
                Entry::Retract { .. } => {}
                // Where it is in force (its original's tombstone names it),
                // the feed shows it in its original's place.
                Entry::Edit { .. } => {
                    self.edits.insert(id, index::edited_feed_key(event));
                    self.edit_entries.insert(id, index::edit_entries(event));
                }
                Entry::Afterword { target, kind } => {
                    let current = self.afterwords.entry((target, kind)).or_insert((at, id));
                    if curbside_protocol::afterword_supersedes((at, id), *current) {
                        *current = (at, id);
                    }
                }
            }
        }
    }

    /// Each comment's thread root, found through the stored events alone
    /// (a comment whose ancestors do not reach a post, case or poll has
    /// none).
    fn thread_roots(&self) -> HashMap<EventId, EventId> {
        let mut roots: HashMap<EventId, EventId> = HashMap::with_capacity(self.comments.len());
        for &id in self.comments.keys() {
            let mut chain = Vec::new();
            let mut at = id;
            let root = loop {
                if let Some(&root) = roots.get(&at) {
                    break Some(root);
                }
                if self.starts.contains(&at) {
                    break Some(at);
                }
                match self.comments.get(&at) {
                    // Ids are hashes, so parents cannot loop; a bound anyway.
                    Some(&(parent, _)) if chain.len() <= self.comments.len() => {
                        chain.push(at);
                        at = parent;
                    }
                    _ => break None,
                }
            };
            if let Some(root) = root {
                roots.extend(chain.into_iter().map(|c| (c, root)));
            }
        }
        roots
    }
}

impl Store {
    /// Checks the store's integrity (see the module documentation): reads
    /// everything from the disk and reports each disagreement between the
    /// events, their indexes and the audit logs. `Err` only if a read fails.
    pub fn check(&self) -> Result<CheckReport, StoreError> {
        let mut report = CheckReport::default();
        let mut derived = Derived::default();
        for hub in &self.genesis.hubs {
            derived.expect(Space::Hubs, keys::hub(&hub.id), None);
        }
        for item in self.tree.scan_prefix(Space::Events.all()) {
            let (key, bytes) = item?;
            report.events += 1;
            let Some(id) = keys::trailing_id(&key).filter(|_| key.len() == 33) else {
                report.problem("bad_key", format!("events key of {} bytes", key.len()));
                continue;
            };
            if let Some((event, thread)) = self.check_event(&id, &bytes, &mut report) {
                derived.add(&event, &bytes, thread);
            }
        }
        let counted = u64_value(self.tree.get(keys::event_count())?);
        if counted != report.events {
            report.problem(
                "count_mismatch",
                format!(
                    "the events counter says {counted}, but {} events are stored",
                    report.events
                ),
            );
        }
        self.check_tombstones(&mut derived, &mut report)?;
        self.check_timeline(&derived, &mut report)?;
        self.check_threads(&derived, &mut report)?;
        self.check_votes(&mut derived, &mut report)?;
        for (target, at) in std::mem::take(&mut derived.revoked) {
            let key = keys::revocation(&target);
            derived.expect(Space::Revocations, key, Some(at.as_millis().to_be_bytes().to_vec()));
        }
        for ((target, kind), (at, id)) in std::mem::take(&mut derived.afterwords) {
            let mut value = Vec::with_capacity(40);
            keys::pack_timed(&mut value, at, &id);
            derived.expect(Space::Afterwords, keys::afterword(&target, kind), Some(value));
        }
        self.check_cosigs(&derived, &mut report)?;
        for (space, expected) in std::mem::take(&mut derived.plain).into_values() {
            self.check_plain(space, expected, &mut report)?;
        }
        self.check_head_queue(&mut report)?;
        self.check_pending(&mut report)?;
        self.check_logs(&mut report)?;
        Ok(report)
    }

    /// Decodes a stored event and checks it against its key; the event and
    /// the thread root its record names.
    fn check_event(
        &self,
        id: &EventId,
        bytes: &[u8],
        report: &mut CheckReport,
    ) -> Option<(VerifiedEvent, Option<EventId>)> {
        let stored: StoredEvent = match super::split_record(&self.network, bytes) {
            Ok((s, _)) => s,
            Err(e) => {
                report.problem("undecodable_event", format!("{id}: {e}"));
                return None;
            }
        };
        let signed = match SignedEvent::decode(&stored.wire) {
            Ok(s) => s,
            Err(e) => {
                report.problem("undecodable_event", format!("{id}: {e}"));
                return None;
            }
        };
        if signed.id() != *id {
            report.problem("event_id_mismatch", format!("the event under {id} is {}", signed.id()));
            return None;
        }
        let event = match self.load(id, bytes) {
            Ok(e) => e,
            Err(e) => {
                report.problem("missing_authority", format!("{id}: {e}"));
                return None;
            }
        };
        if stored.summary != event.summary() {
            report.problem("summary_mismatch", format!("{id}: its stored summary is not its own"));
        }
        if stored.thread.is_some() && !matches!(event.body(), Body::Comment(_)) {
            report.problem(
                "index_value_mismatch",
                format!("events: {id} is no comment but names a thread"),
            );
        }
        Some((event, stored.thread))
    }

    /// Each event once in the timeline, with its time and kind; nothing else.
    fn check_timeline(
        &self,
        derived: &Derived,
        report: &mut CheckReport,
    ) -> Result<(), StoreError> {
        let mut seen: HashSet<EventId> = HashSet::with_capacity(derived.events.len());
        for item in self.tree.scan_prefix(Space::Timeline.all()) {
            let (key, packed) = item?;
            if packed.len() % keys::TIMELINE_ENTRY != 0 {
                report.problem("bad_record", format!("timeline record {key:?} is cut short"));
            }
            for entry in packed.chunks_exact(keys::TIMELINE_ENTRY) {
                report.index_entries += 1;
                let Some((at, id)) = keys::unpack_timed(entry) else { continue };
                let kind = entry[40];
                match derived.events.get(&id).or_else(|| derived.gone.get(&id)) {
                    None => report
                        .problem("dangling_index_entry", format!("timeline: {id} is not stored")),
                    Some(&(a, k)) if (a, k) != (at, kind) => report.problem(
                        "index_value_mismatch",
                        format!(
                            "timeline: {id} at {at} kind {kind}, but the event is at {a} kind {k}"
                        ),
                    ),
                    Some(_) => {}
                }
                if !seen.insert(id) {
                    report.problem("duplicate_index_entry", format!("timeline: {id} twice"));
                }
            }
        }
        for id in derived.events.keys().filter(|id| !seen.contains(id)) {
            report
                .problem("missing_index_entry", format!("timeline: {id} is stored but not in it"));
        }
        Ok(())
    }

    /// Each comment once in its thread root's records, with its time and
    /// parent, and its record naming that root; nothing else.
    fn check_threads(&self, derived: &Derived, report: &mut CheckReport) -> Result<(), StoreError> {
        let roots = derived.thread_roots();
        for (id, (parent, _)) in &derived.comments {
            match (roots.get(id), derived.named.get(id).copied().flatten()) {
                (None, _) => report.problem(
                    "missing_dependency",
                    format!("comment {id} replies to {parent}, whose thread is not stored"),
                ),
                (Some(root), Some(named)) if named == *root => {}
                (Some(root), named) => report.problem(
                    "index_value_mismatch",
                    format!(
                        "events: comment {id} names thread {named:?}, but its thread is {root}"
                    ),
                ),
            }
        }
        let mut seen = HashSet::with_capacity(derived.comments.len());
        for item in self.tree.scan_prefix(Space::Threads.all()) {
            let (key, packed) = item?;
            let Ok(root) = super::key_part(Space::Threads, &key, 1) else {
                report.problem("bad_key", "threads key is cut short");
                continue;
            };
            let root = EventId::from_bytes(root);
            if packed.len() % keys::THREAD_ENTRY != 0 {
                report.problem("bad_record", format!("threads record of {root} is cut short"));
            }
            for entry in packed.chunks_exact(keys::THREAD_ENTRY) {
                report.index_entries += 1;
                let Some((at, id, parent)) = keys::unpack_thread(entry) else { continue };
                let stored = derived.comments.get(&id) == Some(&(parent, at));
                if !stored || roots.get(&id) != Some(&root) {
                    report.problem(
                        "dangling_index_entry",
                        format!(
                            "threads: {id} under {root} is not a stored comment of that thread"
                        ),
                    );
                }
                if !seen.insert(id) {
                    report.problem("duplicate_index_entry", format!("threads: {id} twice"));
                }
            }
        }
        for id in derived.comments.keys().filter(|id| !seen.contains(id)) {
            report.problem("missing_index_entry", format!("threads: comment {id} is in none"));
        }
        Ok(())
    }

    /// Each (head, cosigner) entry names one of that cosigner's stored
    /// cosignatures of that head, and each such pair has an entry.
    fn check_cosigs(&self, derived: &Derived, report: &mut CheckReport) -> Result<(), StoreError> {
        let mut seen = HashSet::new();
        for item in self.tree.scan_prefix(Space::Cosigs.all()) {
            let (key, value) = item?;
            report.index_entries += 1;
            let (Ok(head), Ok(cosigner)) =
                (super::key_part(Space::Cosigs, &key, 1), super::key_part(Space::Cosigs, &key, 33))
            else {
                report.problem("bad_key", "cosignatures key is cut short");
                continue;
            };
            let pair = (EventId::from_bytes(head), PublicKey::from_bytes(cosigner));
            let named = <[u8; 32]>::try_from(value.as_ref()).map(EventId::from_bytes);
            match (derived.cosigs.get(&pair), named) {
                (Some(ids), Ok(id)) if ids.contains(&id) => {}
                _ => report.problem(
                    "dangling_index_entry",
                    format!("cosignatures: {} of {} names no stored cosignature", pair.1, pair.0),
                ),
            }
            seen.insert(pair);
        }
        for (head, cosigner) in derived.cosigs.keys().filter(|p| !seen.contains(p)) {
            report.problem("missing_index_entry", format!("cosignatures: {cosigner} of {head}"));
        }
        Ok(())
    }

    /// A collection whose keys (and values) follow from the events alone.
    fn check_plain(
        &self,
        space: Space,
        mut expected: Expected,
        report: &mut CheckReport,
    ) -> Result<(), StoreError> {
        for item in self.tree.scan_prefix(space.all()) {
            let (key, value) = item?;
            report.index_entries += 1;
            match expected.0.remove(key.as_ref()) {
                None => report.problem(
                    "dangling_index_entry",
                    format!("{}: {} names no stored event", space.name(), hex(&key[1..])),
                ),
                Some(Some(want)) if want != value.as_ref() => report.problem(
                    "index_value_mismatch",
                    format!(
                        "{}: {} holds another value than its event gives",
                        space.name(),
                        hex(&key[1..])
                    ),
                ),
                Some(_) => {}
            }
        }
        for key in expected.0.keys() {
            report.problem(
                "missing_index_entry",
                format!("{}: {} is needed by a stored event", space.name(), hex(&key[1..])),
            );
        }
        Ok(())
    }

    /// Each queued head is a held head.
    fn check_head_queue(&self, report: &mut CheckReport) -> Result<(), StoreError> {
        for item in self.tree.scan_prefix(Space::HeadQueue.all()) {
            let (key, _) = item?;
            report.index_entries += 1;
            if !self.tree.contains_key(keys::head_of_queued(&key))? {
                report.problem(
                    "dangling_index_entry",
                    format!("head_queue: {} is not a held head", hex(&key[1..])),
                );
            }
        }
        Ok(())
    }
}

/// Lower-case hex, for details.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
