//! The issuer's guard: this node never signs a tree head that conflicts
//! with one it signed before, even when it runs from a restored backup or
//! beside a second copy of its own key.
//!
//! ```text
//!  issue() ─▶ guard.check() ── ask ≤ 3 admitted peers (2 s each), at once:
//!               │   LogHead { me }   what do you hold of MY log?
//!               │   Instance {claim} I am instance i, started at t; who else is?
//!               ├─ a peer holds a larger head of my log ─▶ log_behind (the head
//!               │     is ingested; the witness fetches the leaves and catches up)
//!               ├─ a peer holds a head my leaves contradict ─▶ evidence, log_forked (for good)
//!               ├─ a peer is connected to an earlier instance of my key ─▶ duplicate_node (for good)
//!               ├─ peers expected (bootstrap or remembered) but none ever answered,
//!               │     within `grace` of start ─▶ log_unconfirmed
//!               └─ otherwise ─▶ sign
//! ```
//!
//! A node with no network, or one that knows of no peer at all (the first
//! node of a federation, a development node), issues alone: there is no
//! one to ask. A node whose peers are known but none answers within
//! `grace` of its start issues too, with a warning: refusing for good
//! would stop an institution whose peers are all down. What that leaves
//! open is in docs/SECURITY.md ("a restored backup").

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use curbside_protocol::{Body, PublicKey, SecretKey, SignedEvent};
use tokio::sync::Notify;

use super::{IssueError, LogPeers, blocking};
use crate::codes::Code;
use crate::ingest::Ingester;
use crate::store::audit::{Contradiction, ForkProof};
use crate::store::{Store, StoreError};
use crate::wire::{InstanceClaim, Request, Response};

/// Most peers asked per check.
pub const ASK_PEERS: usize = 3;

/// How long each peer has to answer.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(2);

/// A future that answers the guard's questions.
pub type Answers<'a> =
    Pin<Box<dyn Future<Output = Vec<(PublicKey, Result<Response, String>)>> + Send + 'a>>;

/// How the guard asks admitted peers; implemented for every [`LogPeers`]
/// (the network's handle), object-safe so that the issuer need not be
/// generic over the network.
pub trait AskPeers: Send + Sync + 'static {
    /// Sends `request` to at most `at_most` admitted peers at once, each
    /// given `timeout`; their answers, with their node keys.
    fn ask(&self, request: Request, at_most: usize, timeout: Duration) -> Answers<'_>;
}

impl<N: LogPeers> AskPeers for N {
    fn ask(&self, request: Request, at_most: usize, timeout: Duration) -> Answers<'_> {
        Box::pin(async move {
            let peers = self.peers().await;
            let asks = peers.iter().take(at_most).map(|peer| {
                let request = request.clone();
                async move {
                    let answer =
                        match tokio::time::timeout(timeout, self.request(peer, request)).await {
                            Ok(answer) => answer,
                            Err(_) => Err(format!("no answer within {timeout:?}")),
                        };
                    (N::key(peer), answer)
                }
            });
            futures::future::join_all(asks).await
        })
    }
}

/// Why this node will not sign for the rest of its run.
#[derive(Debug, Clone)]
struct Blocked {
    code: Code,
    message: String,
}

#[derive(Debug, Default)]
struct State {
    blocked: Option<Blocked>,
    /// A peer answered what it holds of this node's log since start.
    heard: bool,
}

/// What one check found (for logs and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Nothing stands in the way of signing.
    Clear {
        /// How many peers said what they hold of this node's log.
        answered: usize,
    },
    /// Signing is refused now (`code`, `message`).
    Refused {
        /// `log_behind`, `log_unconfirmed`, `log_forked` or `duplicate_node`.
        code: Code,
        /// For people.
        message: String,
    },
}

/// The guard of one running instance of a node key.
pub struct Guard {
    store: Arc<Store>,
    ingester: Ingester,
    key: SecretKey,
    /// Wakes the witness (to catch up from a head a peer showed).
    witness: Arc<Notify>,
    peers: OnceLock<(Arc<dyn AskPeers>, bool)>,
    claim: InstanceClaim,
    started: Instant,
    grace: Duration,
    state: Mutex<State>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").field("claim", &self.claim).finish_non_exhaustive()
    }
}

/// How long after start a node that expects peers waits to hear from one
/// before it issues without them.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

impl Guard {
    /// The guard of an instance of `key` starting now (its instance id
    /// chosen at random).
    pub fn new(
        store: Arc<Store>,
        ingester: Ingester,
        key: SecretKey,
        witness: Arc<Notify>,
    ) -> Self {
        let mut id = [0u8; 8];
        // A failed draw leaves a time-derived id: still distinct in practice.
        if getrandom::fill(&mut id).is_err() {
            id = crate::now().as_millis().to_be_bytes();
        }
        let claim =
            InstanceClaim::new(&store.network(), &key, u64::from_be_bytes(id), crate::now());
        Self {
            store,
            ingester,
            key,
            witness,
            peers: OnceLock::new(),
            claim,
            started: Instant::now(),
            grace: DEFAULT_GRACE,
            state: Mutex::new(State::default()),
        }
    }

    /// This instance's claim.
    pub fn claim(&self) -> InstanceClaim {
        self.claim
    }

    /// Gives the guard the network to ask; `expects_peers`: whether the
    /// node has peers to hear from (bootstrap addresses or peers
    /// remembered from an earlier run). Without a call, the node has no
    /// network and issues alone.
    pub fn connect(&self, peers: Arc<dyn AskPeers>, expects_peers: bool) {
        let _ = self.peers.set((peers, expects_peers));
    }

    /// Sets how long after start the node waits to hear from a peer.
    pub fn set_grace(&mut self, grace: Duration) {
        self.grace = grace;
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn block(&self, code: Code, message: String) -> Finding {
        tracing::error!(code = code.as_str(), "{message}");
        self.state().blocked = Some(Blocked { code, message: message.clone() });
        Finding::Refused { code, message }
    }

    /// Checks, before this node signs a head, that it would not fork its
    /// log; `Err` with a stable code when it must not sign now.
    pub async fn ensure(&self) -> Result<(), IssueError> {
        match self.check().await? {
            Finding::Clear { .. } => Ok(()),
            Finding::Refused { code, message } => Err(IssueError::Refused { code, message }),
        }
    }

    /// One look at what peers hold of this node's log and which instances
    /// of its key they are connected to.
    pub async fn check(&self) -> Result<Finding, StoreError> {
        if let Some(b) = &self.state().blocked {
            return Ok(Finding::Refused { code: b.code, message: b.message.clone() });
        }
        let me = self.key.public();
        if let Some(at) = self.store.audit().forked_at(&me) {
            return Ok(self.block(
                Code::LogForked,
                format!(
                    "this node's audit log is forked: two heads it signed (from {at} on) cannot \
                     both be true, so it will never sign again with this key; see \
                     /v1/audit/evidence, stop every copy of this node and ask the network's \
                     root for a new charter for a new key"
                ),
            ));
        }
        let Some((peers, expects)) = self.peers.get() else {
            return Ok(Finding::Clear { answered: 0 });
        };
        let (heads, instances) = tokio::join!(
            peers.ask(Request::LogHead { verifier: me }, ASK_PEERS, ASK_TIMEOUT),
            peers.ask(Request::Instance { claim: self.claim }, ASK_PEERS, ASK_TIMEOUT),
        );
        for (peer, answer) in instances {
            let Ok(Response::Instances { others }) = answer else { continue };
            for other in others {
                if other.node != me
                    || other.instance == self.claim.instance
                    || !other.verifies(&self.store.network())
                {
                    continue;
                }
                if other.started_before(&self.claim) {
                    return Ok(self.block(
                        Code::DuplicateNode,
                        format!(
                            "another running copy of this node's key (instance {:016x}, started \
                             at {}) is connected to peer {peer}; this copy started later and \
                             will not sign: stop it (two copies of one key would fork its audit \
                             log)",
                            other.instance, other.started_at
                        ),
                    ));
                }
                tracing::error!(
                    peer = %peer,
                    instance = format!("{:016x}", other.instance),
                    started_at = %other.started_at,
                    "another running copy of this node's key started after this one; it refuses \
                     to sign, but stop it: two copies of one key must never run"
                );
            }
        }
        let mut answered = 0;
        let mut behind: Option<(u64, SignedEvent)> = None;
        for (peer, answer) in heads {
            let head = match answer {
                Ok(Response::LogHead { head, .. }) => head,
                Ok(_) | Err(_) => continue,
            };
            answered += 1;
            let Some(wire) = head else { continue };
            let Some((event, size, root)) = own_head(&wire, &me, &self.store) else {
                tracing::warn!(%peer, "a peer answered with a head of this node's log that is not one");
                continue;
            };
            let held = self.store.audit().size(&me);
            if size > held {
                if behind.as_ref().is_none_or(|(s, _)| size > *s) {
                    behind = Some((size, event));
                }
            } else if self.store.audit().root_at(&me, size) != Some(root) {
                self.record_fork(event, size).await?;
                return Ok(self.block(
                    Code::LogForked,
                    format!(
                        "peer {peer} holds a head of this node's audit log (size {size}) that \
                         its own log contradicts: a restored backup or a second copy of this \
                         node signed another history. This node will never sign again with \
                         this key; see /v1/audit/evidence, stop every copy of it and ask the \
                         network's root for a charter for a new key"
                    ),
                ));
            }
        }
        if answered > 0 {
            self.state().heard = true;
        }
        // A head of this key held here (by gossip or sync) that the witness
        // has not yet matched with leaves: signing the next head before
        // accounting for it could fork the log, so it counts as behind too.
        let store = self.store.clone();
        let queued = blocking(move || store.audit().largest_queued(&me)).await?;
        let held = self.store.audit().size(&me);
        if queued > held && behind.as_ref().is_none_or(|(s, _)| queued > *s) {
            self.witness.notify_one();
            return Ok(Finding::Refused {
                code: Code::LogBehind,
                message: format!(
                    "this node holds a head of its own audit log of {queued} entries but only \
                     {held} entries (restored from a backup, or a second copy of this node \
                     signed it?); it is fetching the entries from its peers and signs nothing \
                     until it has: try again in a few seconds"
                ),
            });
        }
        if let Some((size, event)) = behind {
            let held = self.store.audit().size(&me);
            tracing::warn!(
                held,
                peers_hold = size,
                "this node's audit log is behind what its peers hold of it (restored from a \
                 backup?); catching up before it signs again"
            );
            // Stored like any head: the witness fetches the leaves, checks
            // they extend this node's log to it, and appends them.
            if let Err(e) = self.ingester.submit(vec![event]).await {
                tracing::warn!(error = %e, "submitting a peer's head of this node's log");
            }
            self.witness.notify_one();
            return Ok(Finding::Refused {
                code: Code::LogBehind,
                message: format!(
                    "this node's audit log is behind what its peers hold of it ({held} of {size} \
                     entries; restored from a backup?); it is catching up from them and signs \
                     nothing until it has: try again in a few seconds"
                ),
            });
        }
        if answered == 0 && *expects && !self.state().heard {
            if self.started.elapsed() < self.grace {
                return Ok(Finding::Refused {
                    code: Code::LogUnconfirmed,
                    message: format!(
                        "no peer has told this node yet what it holds of this node's audit log \
                         (just started? restored from a backup?); it signs nothing until one \
                         has, or until {}s after start: try again in a few seconds",
                        self.grace.as_secs()
                    ),
                });
            }
            tracing::warn!(
                "no peer answered what it holds of this node's audit log; signing without that \
                 check (a backup restored while its peers are unreachable could fork the log)"
            );
        }
        Ok(Finding::Clear { answered })
    }

    /// Keeps proof that this node's own key signed `theirs` (a head of
    /// `size` a peer holds) and a head its own leaves contradict.
    async fn record_fork(&self, theirs: SignedEvent, size: u64) -> Result<(), StoreError> {
        let store = self.store.clone();
        let me = self.key.public();
        let now = crate::now();
        blocking(move || {
            let Some(mine) = store.audit().latest(&me) else {
                return Ok(());
            };
            let Some(first) = store.events().get_wire(&mine.id)? else {
                return Ok(());
            };
            let (contradiction, leaves) = if mine.size == size {
                (Contradiction::SameSizeDifferentRoots, Vec::new())
            } else {
                (Contradiction::NotAPrefix, store.audit().leaves(&me, 0, mine.size)?)
            };
            let forked_at = theirs.created_at().max(mine.created_at);
            let proof = ForkProof {
                verifier: me,
                contradiction,
                first,
                second: theirs.to_bytes(),
                leaves,
                found_at: now,
            };
            store.audit().fork(&proof, forked_at)?;
            store.flush()
        })
        .await
    }

    /// At start: asks peers as soon as one is admitted, until one answers
    /// or `grace` has passed, so that a node restored from a backup starts
    /// catching up (and says so) before anyone asks it to sign. Holds the
    /// guard only while it checks: a node stopping is not kept waiting
    /// (the guard holds a handle to ingest).
    pub async fn at_start(guard: std::sync::Weak<Self>) {
        loop {
            let Some(this) = guard.upgrade() else { return };
            if this.peers.get().is_none() || this.started.elapsed() >= this.grace {
                return;
            }
            match this.check().await {
                Ok(Finding::Clear { answered }) if answered > 0 => {
                    tracing::info!(
                        peers = answered,
                        "peers hold nothing newer of this node's audit log"
                    );
                    return;
                }
                Ok(Finding::Refused { code: Code::LogForked | Code::DuplicateNode, .. }) => {
                    return;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "checking what peers hold of this node's log"),
            }
            drop(this);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// `wire` decoded as a tree head of `me`'s log on this network, signed by
/// `me`: the event, its size and root.
fn own_head(
    wire: &[u8],
    me: &PublicKey,
    store: &Store,
) -> Option<(SignedEvent, u64, curbside_protocol::Digest)> {
    let event = SignedEvent::decode(wire).ok()?;
    if event.author() != me
        || event.event().network != store.network()
        || event.verify_signature().is_err()
    {
        return None;
    }
    match event.body() {
        Body::TreeHead(h) => Some((event.clone(), h.size, h.root)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::Mutex as StdMutex;

    use curbside_protocol::merkle::{self, MerkleLog};
    use curbside_protocol::testkit::key;
    use curbside_protocol::{Charter, Digest, Event, EventId, Genesis, Timestamp, TreeHead};

    use super::*;
    use crate::ingest::{IngestConfig, IngestThread};
    use crate::store::audit::CheckedHead;

    /// Peers as the guard sees them: each answers `LogHead` with `head`
    /// and `Instance` with `others`.
    #[derive(Clone, Default)]
    struct Fake {
        peers: usize,
        head: Arc<StdMutex<Option<Vec<u8>>>>,
        others: Arc<StdMutex<Vec<InstanceClaim>>>,
    }

    impl LogPeers for Fake {
        type Peer = usize;

        async fn peers(&self) -> Vec<usize> {
            (0..self.peers).collect()
        }

        fn key(peer: &usize) -> PublicKey {
            key(&format!("guard-peer-{peer}")).public()
        }

        async fn request(&self, _: &usize, request: Request) -> Result<Response, String> {
            match request {
                Request::LogHead { .. } => {
                    Ok(Response::LogHead { head: self.head.lock().unwrap().clone(), size: 0 })
                }
                Request::Instance { .. } => {
                    Ok(Response::Instances { others: self.others.lock().unwrap().clone() })
                }
                _ => Err("not asked by the guard".into()),
            }
        }
    }

    struct Node {
        store: Arc<Store>,
        ingester: Ingester,
        me: SecretKey,
        _thread: IngestThread,
        _dir: tempfile::TempDir,
    }

    impl Node {
        /// A store whose node (`me`) is chartered to verify, with an
        /// ingester.
        async fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let root = key("guard-root");
            let me = key("guard-node");
            let genesis = Genesis::new("guard tests", vec![root.public()], crate::now());
            let store = Arc::new(Store::open(dir.path(), genesis).unwrap());
            let (ingester, thread) =
                Ingester::builder(store.clone(), IngestConfig::default(), crate::now)
                    .start()
                    .unwrap();
            let charter = Charter {
                node: me.public(),
                institution: "Guard Hospital".into(),
                verify: vec!["GB".parse().unwrap()],
                valid_until: crate::now().plus_days(30),
            };
            let charter =
                Event::new(store.network(), root.public(), crate::now(), Body::Charter(charter))
                    .sign(&root)
                    .unwrap();
            ingester.submit(vec![charter]).await.unwrap();
            Self { store, ingester, me, _thread: thread, _dir: dir }
        }

        /// A head of `me`'s log over `leaves`, signed at `at`.
        fn head(&self, leaves: &[EventId], at: Timestamp) -> SignedEvent {
            let log =
                MerkleLog::from_leaves(leaves.iter().map(|l| merkle::leaf_hash(l.as_bytes())));
            let body = TreeHead { size: log.len(), root: Digest::from_bytes(log.root()) };
            Event::new(self.store.network(), self.me.public(), at, Body::TreeHead(body))
                .sign(&self.me)
                .unwrap()
        }

        /// Appends `new` to `me`'s log (which holds `held`), under a head
        /// this node stores.
        async fn log(&self, held: &[EventId], new: &[EventId]) -> SignedEvent {
            let all: Vec<EventId> = held.iter().chain(new).copied().collect();
            let head = self.head(&all, crate::now());
            self.ingester.submit(vec![head.clone()]).await.unwrap();
            let Body::TreeHead(h) = head.body() else { unreachable!() };
            let checked = CheckedHead {
                id: head.id(),
                size: h.size,
                root: h.root,
                created_at: head.created_at(),
            };
            self.store
                .audit()
                .append(&self.me.public(), held.len() as u64, new, checked, crate::now(), None)
                .unwrap();
            head
        }

        fn guard(&self, fake: &Fake, expects: bool, grace: Duration) -> Guard {
            let witness = Arc::new(Notify::new());
            let mut guard =
                Guard::new(self.store.clone(), self.ingester.clone(), self.me.clone(), witness);
            guard.set_grace(grace);
            guard.connect(Arc::new(fake.clone()), expects);
            guard
        }
    }

    fn leaf(n: u8) -> EventId {
        EventId::from_bytes([n; 32])
    }

    fn refused(finding: &Finding) -> Option<Code> {
        match finding {
            Finding::Refused { code, .. } => Some(*code),
            Finding::Clear { .. } => None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_larger_head_held_by_a_peer_refuses_until_caught_up() {
        let node = Node::new().await;
        node.log(&[], &[leaf(1)]).await;
        let fake = Fake { peers: 2, ..Fake::default() };
        // What the live node signed after this copy was taken.
        let theirs = node.head(&[leaf(1), leaf(2)], crate::now());
        *fake.head.lock().unwrap() = Some(theirs.to_bytes());
        let guard = node.guard(&fake, true, DEFAULT_GRACE);

        let finding = guard.check().await.unwrap();
        assert_eq!(refused(&finding), Some(Code::LogBehind), "{finding:?}");
        let Finding::Refused { message, .. } = finding else { unreachable!() };
        assert!(message.contains("1 of 2"), "{message}");
        // The peer's head was handed to ingest, for the witness.
        assert!(node.store.events().contains(&theirs.id()).unwrap());

        // Caught up (as the witness does it): signing is clear again.
        node.log(&[leaf(1)], &[leaf(2)]).await;
        assert_eq!(guard.check().await.unwrap(), Finding::Clear { answered: 2 });
        assert!(node.store.audit().evidence(None).unwrap().is_empty());
    }

    /// A head of this node's key that reached it (by gossip, say) but that
    /// its witness could not match with leaves: no peer vouches for it, yet
    /// signing the next head could contradict it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unaccounted_head_of_its_own_key_held_here_blocks_signing() {
        let node = Node::new().await;
        node.log(&[], &[leaf(1)]).await;
        let fake = Fake { peers: 1, ..Fake::default() };
        let guard = node.guard(&fake, true, DEFAULT_GRACE);
        assert_eq!(guard.check().await.unwrap(), Finding::Clear { answered: 1 });
        let stray = node.head(&[leaf(1), leaf(5)], crate::now());
        node.ingester.submit(vec![stray]).await.unwrap();
        let finding = guard.check().await.unwrap();
        assert_eq!(refused(&finding), Some(Code::LogBehind), "{finding:?}");
        // Once the leaves are in the log, it signs again.
        node.log(&[leaf(1)], &[leaf(5)]).await;
        assert_eq!(guard.check().await.unwrap(), Finding::Clear { answered: 1 });
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_contradicting_head_is_kept_as_evidence_and_blocks_for_good() {
        let node = Node::new().await;
        node.log(&[], &[leaf(1), leaf(2)]).await;
        let fake = Fake { peers: 1, ..Fake::default() };
        // Another history of the same size, signed by this node's key.
        let other = node.head(&[leaf(1), leaf(9)], crate::now());
        *fake.head.lock().unwrap() = Some(other.to_bytes());
        let guard = node.guard(&fake, true, DEFAULT_GRACE);

        let finding = guard.check().await.unwrap();
        assert_eq!(refused(&finding), Some(Code::LogForked), "{finding:?}");
        let me = node.me.public();
        let evidence = node.store.audit().evidence(Some(&me)).unwrap();
        assert_eq!(evidence.len(), 1);
        assert_eq!(evidence[0].contradiction, Contradiction::SameSizeDifferentRoots);
        assert_eq!(evidence[0].second, other.to_bytes());
        assert!(node.store.audit().forked_at(&me).is_some());

        // For good: with nothing wrong shown any more, and for a new
        // instance of the node (a restart), it still refuses.
        *fake.head.lock().unwrap() = None;
        assert_eq!(refused(&guard.check().await.unwrap()), Some(Code::LogForked));
        let again = node.guard(&fake, true, DEFAULT_GRACE);
        assert_eq!(refused(&again.check().await.unwrap()), Some(Code::LogForked));
        assert!(matches!(
            again.ensure().await,
            Err(IssueError::Refused { code: Code::LogForked, .. })
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn peers_expected_but_silent_refuse_then_sign_after_the_grace() {
        let node = Node::new().await;
        node.log(&[], &[leaf(1)]).await;
        // No peer admitted, although the node knows of some.
        let fake = Fake::default();
        let grace = Duration::from_millis(300);
        let guard = node.guard(&fake, true, grace);
        assert_eq!(refused(&guard.check().await.unwrap()), Some(Code::LogUnconfirmed));
        tokio::time::sleep(grace).await;
        assert_eq!(guard.check().await.unwrap(), Finding::Clear { answered: 0 });

        // A node that knows of no peer (the first of a federation) signs
        // at once; so does one without a network at all.
        let alone = node.guard(&fake, false, grace);
        assert_eq!(alone.check().await.unwrap(), Finding::Clear { answered: 0 });
        let offline =
            Guard::new(node.store.clone(), node.ingester.clone(), node.me.clone(), Arc::default());
        assert_eq!(offline.check().await.unwrap(), Finding::Clear { answered: 0 });

        // Once a peer has answered, a later silence does not block.
        let fake = Fake { peers: 1, ..Fake::default() };
        let heard = node.guard(&fake, true, Duration::from_secs(600));
        assert_eq!(heard.check().await.unwrap(), Finding::Clear { answered: 1 });
        let silent = Fake::default();
        heard.connect(Arc::new(silent), true); // already connected: ignored
        assert_eq!(heard.check().await.unwrap(), Finding::Clear { answered: 1 });
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_earlier_instance_of_the_key_blocks_the_later_for_good() {
        let node = Node::new().await;
        let fake = Fake { peers: 1, ..Fake::default() };
        let guard = node.guard(&fake, true, DEFAULT_GRACE);
        let mine = guard.claim();
        let network = node.store.network();
        let at =
            |ms: i64| Timestamp::from_millis(mine.started_at.as_millis().saturating_add_signed(ms));

        // A later instance: this one goes on (the later one refuses).
        let later = InstanceClaim::new(&network, &node.me, mine.instance ^ 1, at(1_000));
        *fake.others.lock().unwrap() = vec![later];
        assert_eq!(guard.check().await.unwrap(), Finding::Clear { answered: 1 });

        // A claim another key signed, or one not signed at all, is no proof.
        let forged = InstanceClaim {
            node: node.me.public(),
            ..InstanceClaim::new(&network, &key("guard-other"), 7, at(-1_000))
        };
        let mut unsigned = InstanceClaim::new(&network, &node.me, 8, at(-1_000));
        unsigned.started_at = at(-2_000);
        *fake.others.lock().unwrap() = vec![forged, unsigned];
        assert_eq!(guard.check().await.unwrap(), Finding::Clear { answered: 1 });

        // An earlier instance of this key: this one never signs again.
        let earlier = InstanceClaim::new(&network, &node.me, mine.instance ^ 2, at(-1_000));
        *fake.others.lock().unwrap() = vec![earlier];
        let finding = guard.check().await.unwrap();
        assert_eq!(refused(&finding), Some(Code::DuplicateNode), "{finding:?}");
        fake.others.lock().unwrap().clear();
        assert_eq!(refused(&guard.check().await.unwrap()), Some(Code::DuplicateNode));
        assert!(node.store.audit().evidence(None).unwrap().is_empty());
    }
}
