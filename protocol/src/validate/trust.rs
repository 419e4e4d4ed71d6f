//! [`TrustView`]: what validation needs to know about the network so far,
//! as a small trait so that the rules stay pure. The node implements it over
//! its store; [`MemoryTrust`] implements it over maps for tests, tools and
//! benchmarks.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::rules::{RuleSet, RulesChange};
use crate::{
    Body, Digest, EventId, Genesis, Handle, HubId, Jurisdiction, Kind, NetworkId, PublicKey,
    Specialty, Timestamp, VerifiedEvent,
};

/// A charter, as validation needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharterRecord {
    /// The charter event's id (the target of its revocation).
    pub id: EventId,
    /// When it was issued (its `created_at`).
    pub issued_at: Timestamp,
    /// When it lapses.
    pub valid_until: Timestamp,
    /// Jurisdictions it may verify in (empty for a relay).
    pub verify: Vec<Jurisdiction>,
}

/// An attestation, as validation and tallying need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationRecord {
    /// The attestation event's id.
    pub id: EventId,
    /// The verifier that issued it.
    pub issuer: PublicKey,
    /// The pseudonym the physician chose.
    pub handle: Handle,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it lapses.
    pub valid_until: Timestamp,
    /// Attested specialties.
    pub specialties: Vec<Specialty>,
    /// Licensing jurisdiction.
    pub jurisdiction: Jurisdiction,
    /// When the attestation was first received (by the node holding this
    /// record, or by the peer that vouched for it); `None` for one stored
    /// before receipts were kept. The audit log's merge window opens here.
    pub received_at: Option<Timestamp>,
}

/// What any stored event is, for checking references to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSummary {
    /// Its kind.
    pub kind: Kind,
    /// Its author.
    pub author: PublicKey,
    /// Its time.
    pub created_at: Timestamp,
}

/// A moderator's appointment, as a takedown's validation needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentRecord {
    /// The appointment event's id (the target of its revocation).
    pub id: EventId,
    /// The hub, or `None` for every hub.
    pub hub: Option<HubId>,
    /// When it was made.
    pub issued_at: Timestamp,
    /// When it lapses.
    pub valid_until: Timestamp,
}

/// What is kept of an event taken back: no content, only what its thread,
/// its replies' validation and a later copy's refusal need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    /// The event's kind, author and time (as held, or as the retraction
    /// says for a node that never held it).
    pub summary: EventSummary,
    /// A comment's parent, or a vote's poll.
    pub parent: Option<EventId>,
    /// The retraction that took it back.
    pub retraction: EventId,
    /// Who signed the retraction.
    pub by: PublicKey,
    /// Whether a moderator's takedown made it (not its author's retraction).
    pub takedown: bool,
}

impl Tombstone {
    /// The tombstone `retraction` leaves of its target, if `retraction` is
    /// one and applies: to `held`, the target's summary and parent where
    /// the target is held, when they are those the retraction names; as
    /// the retraction names them where the target is not held. A
    /// moderator's [`crate::Takedown`] leaves one in the same way, naming
    /// the moderator as `by`; so does an author's [`crate::Edit`] of the
    /// original it replaces (rules 4): the original's text goes as a
    /// retracted event's does, and `retraction` names the edit.
    pub fn of(
        retraction: &VerifiedEvent,
        held: Option<(EventSummary, Option<EventId>)>,
    ) -> Option<Self> {
        let (kind, author, created_at, parent) = match retraction.body() {
            Body::Retraction(r) => {
                (r.target_kind, *retraction.author(), r.target_created_at, r.parent)
            }
            Body::Takedown(t) => (t.target_kind, t.target_author, t.target_created_at, t.parent),
            Body::Edit(e) => {
                (e.content.kind(), *retraction.author(), e.target_created_at, e.content.parent())
            }
            _ => return None,
        };
        let claimed = EventSummary { kind, author, created_at };
        if let Some((summary, held_parent)) = held
            && (summary != claimed || held_parent != parent)
        {
            return None;
        }
        let takedown = matches!(retraction.body(), Body::Takedown(_));
        Some(Self {
            summary: claimed,
            parent,
            retraction: retraction.id(),
            by: *retraction.author(),
            takedown,
        })
    }

    /// Whether a moderator took it down (rather than its author).
    pub fn taken_down(&self) -> bool {
        self.takedown
    }

    /// Whether an event with this id and `summary` is the one taken back
    /// (an event with the id but another author, kind or time was not
    /// taken back by this retraction: it named its target falsely).
    pub fn matches(&self, summary: &EventSummary) -> bool {
        self.summary == *summary
    }
}

/// A poll, as a vote's validation needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollRecord {
    /// When the poll was created.
    pub created_at: Timestamp,
    /// When it closes.
    pub closes_at: Timestamp,
    /// Number of options.
    pub options: usize,
    /// Specialties it is open to (empty: all).
    pub eligible: Vec<Specialty>,
}

/// A verifier's tree head, as a cosignature's validation needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeHeadRecord {
    /// The verifier that signed it.
    pub verifier: PublicKey,
    /// Leaves in the log.
    pub size: u64,
    /// Their RFC 6962 root.
    pub root: Digest,
    /// When it was signed.
    pub created_at: Timestamp,
}

/// Where an attestation stands in its verifier's audit log, as far as the
/// validator has checked that log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogEntry {
    /// A tree head the validator checked covers it.
    Logged,
    /// Not among the leaves the validator has checked, which reach the
    /// verifier's tree head received at `checked_through` (`None`: no head
    /// of this verifier checked yet).
    Absent {
        /// When the latest checked head was received (for a head stored
        /// before receipts were kept, when it was signed).
        checked_through: Option<Timestamp>,
    },
}

/// What a validator knows of the network: everything it has accepted so far.
///
/// Implementations return only data from events that passed
/// [`crate::validate`]: the rules trust what they are told here.
pub trait TrustView {
    /// The network's genesis.
    fn genesis(&self) -> &Genesis;

    /// The network id (implementations cache it; computing it hashes the genesis).
    fn network_id(&self) -> NetworkId;

    /// Whether the event is already held.
    fn contains(&self, id: &EventId) -> bool;

    /// Every charter naming `node`.
    fn charters(&self, node: &PublicKey) -> Vec<CharterRecord>;

    /// Every attestation of `subject`.
    fn attestations(&self, subject: &PublicKey) -> Vec<AttestationRecord>;

    /// Whether any attestation held gives `handle` to a physician (in
    /// force or not: what a mention of `@handle` needs from rules 4).
    fn handle_attested(&self, handle: &Handle) -> bool;

    /// The earliest time from which `target` is revoked, if it is.
    fn revoked_at(&self, target: &EventId) -> Option<Timestamp>;

    /// Whether `hub` exists (in the genesis or by a `Hub` event).
    fn hub_exists(&self, hub: &HubId) -> bool;

    /// What the event `id` is, if held, or was, if it was taken back
    /// (its [`Tombstone`]'s summary).
    fn summary(&self, id: &EventId) -> Option<EventSummary>;

    /// The tombstone of `id`, if it was taken back.
    fn tombstone(&self, id: &EventId) -> Option<Tombstone>;

    /// Every appointment of `moderator`.
    fn appointments(&self, moderator: &PublicKey) -> Vec<AppointmentRecord>;

    /// The hub of the thread `id` is in, if the validator can tell: a
    /// post's, case's or poll's own; a comment's or vote's is its thread
    /// root's, found through the held events (or, for a comment taken back,
    /// the thread its tombstone names). `None` where the root is not held.
    fn thread_hub(&self, id: &EventId) -> Option<HubId>;

    /// The hub the takedown `id` names, if it is held and a takedown.
    fn takedown_hub(&self, id: &EventId) -> Option<HubId>;

    /// The poll `id`, if held and a poll.
    fn poll(&self, id: &EventId) -> Option<PollRecord>;

    /// The tree head `id`, if held and a tree head.
    fn tree_head(&self, id: &EventId) -> Option<TreeHeadRecord>;

    /// Whether the audit log of `verifier` holds `attestation`, as far as
    /// the validator has checked it against signed tree heads.
    fn log_entry(&self, verifier: &PublicKey, attestation: &EventId) -> LogEntry;

    /// When `verifier` was caught showing two inconsistent histories of its
    /// log (the time of the head that contradicted the history the
    /// validator had checked), if it was.
    fn log_forked_at(&self, verifier: &PublicKey) -> Option<Timestamp>;

    /// Every rules change held (the bodies of accepted `Rules` events).
    fn rules_changes(&self) -> Vec<RulesChange>;

    /// The post, case or poll at the root of the thread of the held
    /// comment `id` (`None` if it is not a held comment, or if a parent
    /// on its way up is not held).
    fn thread_root(&self, id: &EventId) -> Option<EventId>;

    /// The rules in force at `at` ([`crate::rules::rules_at`]).
    fn rules_at(&self, at: Timestamp) -> RuleSet {
        crate::rules::rules_at(self.genesis(), self.rules_changes(), at)
    }
}

impl VerifiedEvent {
    /// The summary other events' checks need.
    pub fn summary(&self) -> EventSummary {
        EventSummary { kind: self.kind(), author: *self.author(), created_at: self.created_at() }
    }

    /// The charter record, if this is a charter: `(node, record)`.
    pub fn charter_record(&self) -> Option<(PublicKey, CharterRecord)> {
        let Body::Charter(c) = self.body() else { return None };
        Some((
            c.node,
            CharterRecord {
                id: self.id(),
                issued_at: self.created_at(),
                valid_until: c.valid_until,
                verify: c.verify.clone(),
            },
        ))
    }

    /// The attestation record, if this is an attestation: `(subject, record)`.
    pub fn attestation_record(&self) -> Option<(PublicKey, AttestationRecord)> {
        let Body::Attestation(a) = self.body() else { return None };
        Some((
            a.subject,
            AttestationRecord {
                id: self.id(),
                issuer: *self.author(),
                handle: a.handle.clone(),
                issued_at: self.created_at(),
                valid_until: a.valid_until,
                specialties: a.specialties.clone(),
                jurisdiction: a.jurisdiction.clone(),
                received_at: self.received_at(),
            },
        ))
    }

    /// The tree head record, if this is a tree head.
    pub fn tree_head_record(&self) -> Option<TreeHeadRecord> {
        let Body::TreeHead(h) = self.body() else { return None };
        Some(TreeHeadRecord {
            verifier: *self.author(),
            size: h.size,
            root: h.root,
            created_at: self.created_at(),
        })
    }

    /// The appointment record, if this is an appointment: `(moderator, record)`.
    pub fn appointment_record(&self) -> Option<(PublicKey, AppointmentRecord)> {
        let Body::Appointment(a) = self.body() else { return None };
        Some((
            a.moderator,
            AppointmentRecord {
                id: self.id(),
                hub: a.hub.clone(),
                issued_at: self.created_at(),
                valid_until: a.valid_until,
            },
        ))
    }

    /// The poll record, if this is a poll.
    pub fn poll_record(&self) -> Option<PollRecord> {
        let Body::Poll(p) = self.body() else { return None };
        Some(PollRecord {
            created_at: self.created_at(),
            closes_at: p.closes_at,
            options: p.options.len(),
            eligible: p.eligible.clone(),
        })
    }
}

/// An in-memory [`TrustView`]: for tests, tools, fuzzing and benchmarks.
#[derive(Debug, Clone)]
pub struct MemoryTrust {
    genesis: Genesis,
    network: NetworkId,
    summaries: HashMap<EventId, EventSummary>,
    charters: HashMap<PublicKey, Vec<CharterRecord>>,
    attestations: HashMap<PublicKey, Vec<AttestationRecord>>,
    /// Every handle an attestation held gives.
    handles: HashSet<Handle>,
    revocations: HashMap<EventId, Timestamp>,
    hubs: HashSet<HubId>,
    polls: HashMap<EventId, PollRecord>,
    tree_heads: HashMap<EventId, TreeHeadRecord>,
    logs: HashMap<PublicKey, MemoryLog>,
    rules: Vec<RulesChange>,
    tombstones: HashMap<EventId, Tombstone>,
    appointments: HashMap<PublicKey, Vec<AppointmentRecord>>,
    /// Where each event held hangs in a thread: its hub, or its parent.
    threads: HashMap<EventId, ThreadLink>,
    /// The hub each takedown held names.
    takedowns: HashMap<EventId, HubId>,
}

/// Where an event hangs: a post, case or poll in its hub; a comment or a
/// vote under its parent or poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadLink {
    /// It starts a thread in this hub.
    Hub(HubId),
    /// It replies to (or votes in) this event.
    Parent(EventId),
}

impl ThreadLink {
    /// Where `body` hangs, if it is part of a thread.
    pub fn of(body: &Body) -> Option<ThreadLink> {
        match body {
            Body::Comment(c) => Some(ThreadLink::Parent(c.parent)),
            Body::Vote(v) => Some(ThreadLink::Parent(v.poll)),
            other => other.hub().cloned().map(ThreadLink::Hub),
        }
    }
}

/// What a [`MemoryTrust`] knows of one verifier's log.
#[derive(Debug, Clone, Default)]
struct MemoryLog {
    leaves: HashSet<EventId>,
    checked_through: Option<Timestamp>,
    forked_at: Option<Timestamp>,
}

impl MemoryTrust {
    /// An empty view of the network `genesis` founds.
    pub fn new(genesis: Genesis) -> Self {
        let hubs = genesis.hubs.iter().map(|h| h.id.clone()).collect();
        Self {
            network: genesis.network_id(),
            genesis,
            summaries: HashMap::new(),
            charters: HashMap::new(),
            attestations: HashMap::new(),
            handles: HashSet::new(),
            revocations: HashMap::new(),
            hubs,
            polls: HashMap::new(),
            tree_heads: HashMap::new(),
            logs: HashMap::new(),
            rules: Vec::new(),
            tombstones: HashMap::new(),
            threads: HashMap::new(),
            takedowns: HashMap::new(),
            appointments: HashMap::new(),
        }
    }

    /// The parent of the held comment `id`.
    pub fn parent_of(&self, id: &EventId) -> Option<EventId> {
        if self.summaries.get(id)?.kind != Kind::Comment {
            return None;
        }
        match self.threads.get(id)? {
            ThreadLink::Parent(parent) => Some(*parent),
            ThreadLink::Hub(_) => None,
        }
    }

    /// Records that `verifier`'s log, checked against its tree head received
    /// at `head_time`, holds `leaves` (in addition to what it held before).
    /// A node learns this by checking heads and fetching leaves; here the
    /// caller says so.
    pub fn log_checked(
        &mut self,
        verifier: PublicKey,
        leaves: impl IntoIterator<Item = EventId>,
        head_time: Timestamp,
    ) {
        let log = self.logs.entry(verifier).or_default();
        log.leaves.extend(leaves);
        log.checked_through = Some(log.checked_through.map_or(head_time, |t| t.max(head_time)));
    }

    /// Records that `verifier` was caught forking its log at `at`.
    pub fn log_forked(&mut self, verifier: PublicKey, at: Timestamp) {
        let log = self.logs.entry(verifier).or_default();
        log.forked_at = Some(log.forked_at.map_or(at, |t| t.min(at)));
    }

    /// Records an accepted event. Inserting the same event twice changes nothing.
    pub fn insert(&mut self, event: &VerifiedEvent) {
        if self.summaries.insert(event.id(), event.summary()).is_some() {
            return;
        }
        if let Some((node, record)) = event.charter_record() {
            self.charters.entry(node).or_default().push(record);
        }
        if let Some((subject, record)) = event.attestation_record() {
            self.handles.insert(record.handle.clone());
            self.attestations.entry(subject).or_default().push(record);
        }
        if let Some(record) = event.poll_record() {
            self.polls.insert(event.id(), record);
        }
        if let Some(record) = event.tree_head_record() {
            self.tree_heads.insert(event.id(), record);
        }
        if let Some(link) = ThreadLink::of(event.body()) {
            self.threads.insert(event.id(), link);
        }
        match event.body() {
            Body::Revocation(r) => {
                let at = self.revocations.entry(r.target).or_insert(r.effective_at);
                *at = (*at).min(r.effective_at);
            }
            Body::Hub(h) => {
                self.hubs.insert(h.id.clone());
            }
            Body::Rules(r) => self.rules.push(*r),
            Body::Retraction(r) => self.retract(event, r.target, r.parent),
            Body::Edit(e) => self.retract(event, e.target, e.content.parent()),
            Body::Takedown(t) => {
                self.takedowns.insert(event.id(), t.hub.clone());
                // Only in the hub it names (see `validate`: a takedown
                // naming another hub takes nothing down).
                let held = self.summaries.contains_key(&t.target);
                if !held || TrustView::thread_hub(self, &t.target).as_ref() == Some(&t.hub) {
                    self.retract(event, t.target, t.parent);
                }
            }
            Body::Appointment(_) => {
                if let Some((moderator, record)) = event.appointment_record() {
                    self.appointments.entry(moderator).or_default().push(record);
                }
            }
            _ => {}
        }
    }

    /// Applies a retraction: the target, if held and named truly, is
    /// forgotten but for its tombstone.
    fn retract(&mut self, retraction: &VerifiedEvent, target: EventId, parent: Option<EventId>) {
        // What the view holds of the target: its summary (and a comment's
        // or vote's parent, which this view does not keep: the claim is
        // taken for it). An original replaced by an edit is still taken
        // back by its author's retraction or a takedown, which replace the
        // edit's tombstone; a later edit changes nothing the view keeps.
        let held = match self.tombstones.get(&target) {
            Some(t) if !t.taken_down() && self.kind_of(&t.retraction) == Some(Kind::Edit) => {
                if retraction.kind() == Kind::Edit {
                    return;
                }
                Some((t.summary, t.parent))
            }
            Some(_) => return,
            None => self.summaries.get(&target).map(|s| (*s, parent)),
        };
        if let Some(tombstone) = Tombstone::of(retraction, held) {
            self.summaries.remove(&target);
            self.polls.remove(&target);
            self.tombstones.insert(target, tombstone);
        }
    }

    /// The kind of the held event `id`.
    fn kind_of(&self, id: &EventId) -> Option<Kind> {
        self.summaries.get(id).map(|s| s.kind)
    }

    /// Where the held event `id` hangs in its thread, if it is part of one.
    pub fn thread_link(&self, id: &EventId) -> Option<ThreadLink> {
        self.threads.get(id).cloned()
    }

    /// Number of events held.
    pub fn len(&self) -> usize {
        self.summaries.len()
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.summaries.is_empty()
    }
}

impl TrustView for MemoryTrust {
    fn genesis(&self) -> &Genesis {
        &self.genesis
    }
    fn network_id(&self) -> NetworkId {
        self.network
    }
    fn contains(&self, id: &EventId) -> bool {
        self.summaries.contains_key(id)
    }
    fn charters(&self, node: &PublicKey) -> Vec<CharterRecord> {
        self.charters.get(node).cloned().unwrap_or_default()
    }
    fn attestations(&self, subject: &PublicKey) -> Vec<AttestationRecord> {
        self.attestations.get(subject).cloned().unwrap_or_default()
    }
    fn handle_attested(&self, handle: &Handle) -> bool {
        self.handles.contains(handle)
    }
    fn revoked_at(&self, target: &EventId) -> Option<Timestamp> {
        self.revocations.get(target).copied()
    }
    fn hub_exists(&self, hub: &HubId) -> bool {
        self.hubs.contains(hub)
    }
    fn summary(&self, id: &EventId) -> Option<EventSummary> {
        self.summaries.get(id).copied().or_else(|| self.tombstones.get(id).map(|t| t.summary))
    }
    fn tombstone(&self, id: &EventId) -> Option<Tombstone> {
        self.tombstones.get(id).copied()
    }
    fn appointments(&self, moderator: &PublicKey) -> Vec<AppointmentRecord> {
        self.appointments.get(moderator).cloned().unwrap_or_default()
    }
    fn thread_hub(&self, id: &EventId) -> Option<HubId> {
        let mut at = *id;
        // Ids are hashes, so parents cannot loop; a bound anyway.
        for _ in 0..=self.threads.len() {
            match self.threads.get(&at)? {
                ThreadLink::Hub(hub) => return Some(hub.clone()),
                ThreadLink::Parent(parent) => at = *parent,
            }
        }
        None
    }
    fn takedown_hub(&self, id: &EventId) -> Option<HubId> {
        self.takedowns.get(id).cloned()
    }
    fn poll(&self, id: &EventId) -> Option<PollRecord> {
        self.polls.get(id).cloned()
    }
    fn tree_head(&self, id: &EventId) -> Option<TreeHeadRecord> {
        self.tree_heads.get(id).copied()
    }
    fn log_entry(&self, verifier: &PublicKey, attestation: &EventId) -> LogEntry {
        match self.logs.get(verifier) {
            Some(log) if log.leaves.contains(attestation) => LogEntry::Logged,
            Some(log) => LogEntry::Absent { checked_through: log.checked_through },
            None => LogEntry::Absent { checked_through: None },
        }
    }
    fn log_forked_at(&self, verifier: &PublicKey) -> Option<Timestamp> {
        self.logs.get(verifier).and_then(|l| l.forked_at)
    }
    fn rules_changes(&self) -> Vec<RulesChange> {
        self.rules.clone()
    }
    fn thread_root(&self, id: &EventId) -> Option<EventId> {
        // Each step goes to an event made earlier, so the walk ends; the
        // bound is for a view fed a cycle by a caller that skipped
        // validation.
        let mut at = self.parent_of(id)?;
        for _ in 0..self.threads.len() {
            match self.parent_of(&at) {
                Some(parent) => at = parent,
                None => break,
            }
        }
        let held = self.summary(&at)?;
        (held.kind != Kind::Comment).then_some(at)
    }
}
