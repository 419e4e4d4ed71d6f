//! A physician's inbox, computed when it is read from the indexes this
//! node keeps anyway (see docs/ARCHITECTURE.md, "The inbox", for why it is
//! not written at ingest).
//!
//! The items, each about one stored event:
//!
//! - **reply**: a comment on something the physician wrote (among their
//!   latest [`MINE_SCAN`] writings), from the shape of its thread (one
//!   range read of `threads` per thread);
//! - **thread_reply**: a comment in a thread they follow, made since they
//!   followed it;
//! - **mention**: an event whose text names one of their handles
//!   (`mentions`, one range read per handle);
//! - **hub_post**: a post, case or poll in a hub they follow, made since;
//! - **poll_closed**: a poll they voted in that has closed (the item's
//!   time is its closing time).
//!
//! Never an item: what they wrote themselves, what was taken back (its
//! record is gone, so it is not found), what this node's operator hid.
//! At most [`WINDOW`] items, the newest, are kept; each costs one read of
//! its event.

use std::collections::{HashMap, HashSet};

use curbside_protocol::{EventId, Handle, Kind, PublicKey, Timestamp, VerifiedEvent};

use super::keys::{self, Space};
use super::marks::{Follow, Personal, authored_entry};
use super::{StoreError, read};

/// Most items an inbox holds (the newest).
pub(super) const WINDOW: usize = 500;
/// How many of a physician's latest writings (and votes) the inbox looks
/// for replies to (and closed polls among).
pub(super) const MINE_SCAN: usize = 1000;
/// Most threads whose replies one inbox reads.
pub(super) const THREADS: usize = 400;
/// Most entries read from one followed hub's feed or one handle's mentions.
pub(super) const PER_SOURCE: usize = 200;

/// Why an event is in the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A reply to something the physician wrote.
    Reply,
    /// The physician's handle is named in it.
    Mention,
    /// A reply in a thread they follow.
    ThreadReply,
    /// A new post, case or poll in a hub they follow.
    HubPost,
    /// A poll they voted in has closed.
    PollClosed,
    /// The author of a case they follow or replied in said how it ended.
    Outcome,
}

impl ItemKind {
    /// The wire name (`reply`, `mention`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            ItemKind::Reply => "reply",
            ItemKind::Mention => "mention",
            ItemKind::ThreadReply => "thread_reply",
            ItemKind::HubPost => "hub_post",
            ItemKind::PollClosed => "poll_closed",
            ItemKind::Outcome => "outcome",
        }
    }
}

/// One inbox item.
#[derive(Debug, Clone)]
pub struct InboxItem {
    /// The event it is about (a reply, the mentioning event, the new post,
    /// the closed poll): also the item's id, which is marked read.
    pub event: VerifiedEvent,
    /// Why it is here.
    pub kind: ItemKind,
    /// When: the event's time (a closed poll's, its closing time).
    pub at: Timestamp,
    /// The thread it is in (its root), where it is in one.
    pub thread: Option<EventId>,
    /// Whether the physician has marked it read.
    pub read: bool,
}

/// A candidate item before its event is read.
struct Candidate {
    at: Timestamp,
    id: EventId,
    kind: ItemKind,
    thread: Option<EventId>,
}

impl Personal<'_> {
    /// The handles `me` is attested under (any attestation held here).
    pub fn handles(&self, me: &PublicKey) -> Vec<Handle> {
        let trust = read(&self.store.trust);
        let mut out: Vec<Handle> = trust
            .attestations
            .get(me)
            .map(|list| list.iter().map(|a| a.handle.clone()).collect())
            .unwrap_or_default();
        out.sort();
        out.dedup();
        out
    }

    /// `me`'s inbox at `now`: at most [`WINDOW`] items, newest first.
    pub fn inbox(&self, me: &PublicKey, now: Timestamp) -> Result<Vec<InboxItem>, StoreError> {
        let tree = &self.store.tree;
        let mut followed_threads: HashMap<EventId, Timestamp> = HashMap::new();
        let mut followed_hubs = Vec::new();
        for (follow, since) in self.follows(me)? {
            match follow {
                Follow::Thread(root) => {
                    followed_threads.insert(root, since);
                }
                Follow::Hub(hub) => followed_hubs.push((hub, since)),
            }
        }
        // What `me` wrote lately, the threads it is in, the polls voted in.
        let mut mine: HashSet<EventId> = HashSet::new();
        let mut roots: Vec<EventId> = followed_threads.keys().copied().collect();
        let mut voted: Vec<EventId> = Vec::new();
        for item in tree.scan_prefix(keys::authored_by(me)).rev().take(MINE_SCAN) {
            let (key, value) = item?;
            let (_, id, kind, poll) = authored_entry(&key, &value)?;
            match kind {
                Kind::Vote => voted.extend(poll),
                Kind::Comment => {
                    mine.insert(id);
                    if let Some((_, root)) = self.store.get_with_root(&id)? {
                        roots.push(root);
                    }
                }
                _ => {
                    mine.insert(id);
                    roots.push(id);
                }
            }
        }
        let mut seen_roots = HashSet::new();
        roots.retain(|r| seen_roots.insert(*r));
        roots.truncate(THREADS);

        let mut candidates: Vec<Candidate> = Vec::new();
        for root in &roots {
            let since = followed_threads.get(root);
            for item in tree.scan_prefix(keys::thread_prefix(root)) {
                let (_, packed) = item?;
                for entry in packed.chunks(keys::THREAD_ENTRY) {
                    let (at, id, parent) =
                        keys::unpack_thread(entry).ok_or(StoreError::Corrupt {
                            tree: "threads",
                            detail: "short entry".into(),
                        })?;
                    if mine.contains(&id) {
                        continue;
                    }
                    let kind = if mine.contains(&parent) {
                        ItemKind::Reply
                    } else if since.is_some_and(|s| at >= *s) {
                        ItemKind::ThreadReply
                    } else {
                        continue;
                    };
                    candidates.push(Candidate { at, id, kind, thread: Some(*root) });
                }
            }
            // The outcome of a case `me` follows or replied in (not one of
            // its own: `me` wrote it), as views show it: its author's.
            if !mine.contains(root)
                && let Some(outcome) = self.store.events().afterwords(root)?.outcome
                && self
                    .store
                    .events()
                    .get(root)?
                    .is_some_and(|case| case.author() == outcome.author())
            {
                candidates.push(Candidate {
                    at: outcome.created_at(),
                    id: outcome.id(),
                    kind: ItemKind::Outcome,
                    thread: Some(*root),
                });
            }
        }
        for handle in self.handles(me) {
            for item in tree.scan_prefix(keys::mentions_of(&handle)).rev().take(PER_SOURCE) {
                let (key, _) = item?;
                let (at, id) = keys::trailing_time(&key).zip(keys::trailing_id(&key)).ok_or(
                    StoreError::Corrupt {
                        tree: Space::Mentions.name(),
                        detail: "short key".into(),
                    },
                )?;
                candidates.push(Candidate { at, id, kind: ItemKind::Mention, thread: None });
            }
        }
        for (hub, since) in &followed_hubs {
            let (start, past) = keys::feed_range(hub);
            for item in tree.range(start..past).rev().take(PER_SOURCE) {
                let (key, _) = item?;
                let (at, id) = keys::trailing_time(&key).zip(keys::trailing_id(&key)).ok_or(
                    StoreError::Corrupt { tree: Space::Feed.name(), detail: "short key".into() },
                )?;
                if at < *since {
                    break;
                }
                candidates.push(Candidate { at, id, kind: ItemKind::HubPost, thread: Some(id) });
            }
        }
        {
            let trust = read(&self.store.trust);
            for poll in voted {
                if let Some(record) = trust.polls.get(&poll)
                    && record.closes_at <= now
                {
                    candidates.push(Candidate {
                        at: record.closes_at,
                        id: poll,
                        kind: ItemKind::PollClosed,
                        thread: Some(poll),
                    });
                }
            }
        }
        self.finish(me, candidates)
    }

    /// One item per event (a reply that mentions `me` is a reply), the
    /// newest [`WINDOW`] whose events are still held, not hidden here and
    /// not `me`'s own, each with whether it was read.
    fn finish(
        &self,
        me: &PublicKey,
        mut candidates: Vec<Candidate>,
    ) -> Result<Vec<InboxItem>, StoreError> {
        candidates.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)).then(a.kind.cmp(&b.kind)));
        let read_items = self.read_items(me)?;
        let events = self.store.events();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for c in candidates {
            if out.len() >= WINDOW {
                break;
            }
            if !seen.insert(c.id) || events.is_hidden(&c.id) {
                continue;
            }
            // An edited reply or mention: its edit in force stands for it.
            let Some(event) = events.shown(&c.id)? else { continue };
            if event.author() == me && c.kind != ItemKind::PollClosed {
                continue;
            }
            out.push(InboxItem {
                read: read_items.contains(&c.id),
                event,
                kind: c.kind,
                at: c.at,
                thread: c.thread,
            });
        }
        Ok(out)
    }
}
