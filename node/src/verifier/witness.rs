//! The witness: checks each verifier's tree heads against the leaves this
//! node holds of its log, fetching a consistency proof and the new leaves
//! from a peer when a head is larger, records proof of any fork, and
//! cosigns what it checked.
//!
//! A head no larger than the leaves held is checked locally (the root of
//! that prefix). A larger one needs a peer: the consistency proof from the
//! leaves held to the head, then the new leaves themselves, which must
//! extend the log to exactly the head's root. When the proof fails, the
//! peer's leaves decide who is at fault: if they hash to the signed head
//! but not to the head this node checked before, the verifier signed two
//! histories, and those leaves with the two heads are the proof. The fork
//! is dated by the head that contradicts what this node had checked:
//! attestations issued from then on stop counting.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use curbside_protocol::merkle::{self, MerkleLog};
use curbside_protocol::{
    Body, Cosignature, Event, EventId, PublicKey, SecretKey, Timestamp, charters_in_force,
};
use tokio::sync::Notify;

use super::blocking;
use crate::ingest::{Incoming, Ingester, Outcome, Source};
use crate::store::audit::{CheckedHead, Contradiction, ForkProof, QueuedHead};
use crate::store::{PendingEvent, Store, StoreError, StoreView};
use crate::wire::{MAX_LOG_LEAVES, Request, Response};

/// How the witness reaches peers for the leaves of a log it cannot check
/// alone.
///
/// The network implements it for its handle: `net` sits above `verifier` (it
/// serves peers' log requests with [`crate::verifier::answer`]), so the
/// witness is handed a way to ask rather than importing the network.
pub trait LogPeers: Send + Sync + 'static {
    /// One admitted peer, as the network names it.
    type Peer: Send + Sync;

    /// The peers admitted now (chartered and connected).
    fn peers(&self) -> impl Future<Output = Vec<Self::Peer>> + Send;

    /// A peer's node key.
    fn key(peer: &Self::Peer) -> PublicKey;

    /// Sends `request` to `peer` and waits for its response.
    fn request(
        &self,
        peer: &Self::Peer,
        request: Request,
    ) -> impl Future<Output = Result<Response, String>> + Send;
}

/// How the witness paces itself.
#[derive(Debug, Clone, Copy)]
pub struct WitnessConfig {
    /// How often it looks for heads to check even when not woken.
    pub every: Duration,
    /// How long a head that could not be checked (no peer had its leaves)
    /// waits before it is tried again.
    pub retry_after: Duration,
}

impl Default for WitnessConfig {
    fn default() -> Self {
        Self { every: Duration::from_secs(5), retry_after: Duration::from_secs(10) }
    }
}

/// What checking one head found.
enum Verdict {
    /// Consistent with everything checked before.
    Consistent,
    /// Proof that the verifier forked its log.
    Fork(Box<ForkProof>, Timestamp),
    /// Cannot be decided now (no peer could show the leaves).
    Unverifiable(String),
}

/// The witness task's state.
#[derive(Debug)]
pub struct Witness<N> {
    store: Arc<Store>,
    ingester: Ingester,
    key: SecretKey,
    net: Option<N>,
    notify: Arc<Notify>,
    clock: fn() -> Timestamp,
    config: WitnessConfig,
    tried: HashMap<EventId, Instant>,
}

impl<N: LogPeers> Witness<N> {
    /// A witness for the node whose key is `key`. Without `net` it still
    /// checks heads against what it holds (its own log, above all).
    pub fn new(
        store: Arc<Store>,
        ingester: Ingester,
        key: SecretKey,
        net: Option<N>,
        notify: Arc<Notify>,
        clock: fn() -> Timestamp,
        config: WitnessConfig,
    ) -> Self {
        Self { store, ingester, key, net, notify, clock, config, tried: HashMap::new() }
    }

    /// Checks heads whenever woken (a tree head was stored) and every
    /// `config.every`, until `shutdown`.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.pass().await {
                tracing::error!(error = %e, "checking tree heads failed");
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = self.notify.notified() => {}
                () = tokio::time::sleep(self.config.every) => {}
            }
        }
    }

    /// One look at every queued head.
    async fn pass(&mut self) -> Result<(), StoreError> {
        let store = self.store.clone();
        let queued = blocking(move || store.audit().queued_heads(4096)).await?;
        let now = Instant::now();
        self.tried.retain(|_, at| now.duration_since(*at) < self.config.retry_after);
        let mut newest: HashMap<PublicKey, QueuedHead> = HashMap::new();
        for head in queued {
            if self.tried.contains_key(&head.id) {
                continue;
            }
            match self.check(&head).await? {
                Verdict::Consistent => {
                    self.dequeue(&head).await?;
                    let slot = newest.entry(head.verifier).or_insert(head);
                    if (head.created_at, head.size) > (slot.created_at, slot.size) {
                        *slot = head;
                    }
                }
                Verdict::Fork(evidence, forked_at) => {
                    tracing::error!(
                        verifier = %head.verifier,
                        head = %head.id,
                        contradiction = evidence.contradiction.code(),
                        forked_at = %forked_at,
                        "a verifier signed two inconsistent histories of its audit log; \
                         its attestations from the fork on no longer count"
                    );
                    let store = self.store.clone();
                    blocking(move || {
                        store.audit().fork(&evidence, forked_at)?;
                        store.flush()
                    })
                    .await?;
                    self.dequeue(&head).await?;
                }
                Verdict::Unverifiable(why) => {
                    if head.verifier == self.key.public() {
                        // Signed by this node's key, yet not matched with
                        // leaves: an older run's (a restored backup) or
                        // another copy's. The issuer signs nothing until
                        // it is (guard.rs).
                        tracing::warn!(head = %head.id, size = head.size, why, "a head of this node's own audit log cannot be matched with leaves yet; signing waits for it");
                    } else {
                        tracing::debug!(verifier = %head.verifier, head = %head.id, why, "tree head not checked yet");
                    }
                    self.tried.insert(head.id, Instant::now());
                }
            }
        }
        for head in newest.into_values() {
            self.cosign(&head).await?;
        }
        Ok(())
    }

    async fn dequeue(&self, head: &QueuedHead) -> Result<(), StoreError> {
        let store = self.store.clone();
        let head = *head;
        blocking(move || store.audit().dequeue_head(&head.verifier, head.created_at, &head.id))
            .await
    }

    async fn check(&self, head: &QueuedHead) -> Result<Verdict, StoreError> {
        let v = head.verifier;
        let held = self.store.audit().size(&v);
        if head.size <= held {
            return self.check_locally(head, held).await;
        }
        let Some(net) = &self.net else {
            return Ok(Verdict::Unverifiable(
                "this node has no peers to ask for the leaves".into(),
            ));
        };
        let mut peers = net.peers().await;
        // The verifier itself first: it has the leaves if anyone does.
        peers.sort_by_key(|p| N::key(p) != v);
        let mut why = String::from("no peer is connected");
        for peer in peers {
            match self.extend_from(net, &peer, head, held).await {
                Ok(verdict) => return Ok(verdict),
                Err(e) => {
                    tracing::debug!(peer = %N::key(&peer), verifier = %v, error = %e, "a peer could not show the log");
                    why = e;
                }
            }
        }
        Ok(Verdict::Unverifiable(why))
    }

    /// A head within the leaves held: its root must be theirs at its size,
    /// and it may not claim fewer leaves than an earlier head.
    async fn check_locally(&self, head: &QueuedHead, held: u64) -> Result<Verdict, StoreError> {
        let v = head.verifier;
        let latest = self.store.audit().latest(&v);
        let root = self.store.audit().root_at(&v, head.size);
        if root == Some(head.root) {
            if let Some(l) = latest
                && head.created_at > l.created_at
                && head.size < l.size
            {
                let evidence = self.evidence(&v, Contradiction::Rollback, &l, head, Vec::new())?;
                return Ok(Verdict::Fork(evidence, head.created_at));
            }
            let store = self.store.clone();
            let at = head.received_at;
            let released = blocking(move || store.audit().checked(&v, at)).await?;
            self.resubmit(released).await;
            return Ok(Verdict::Consistent);
        }
        let Some(l) = latest else {
            // Leaves without a checked head cannot happen; a size-0 head
            // with a non-empty root is refused by validation.
            return Ok(Verdict::Unverifiable("no checked head to compare with".into()));
        };
        let (contradiction, leaves) = if l.size == head.size {
            (Contradiction::SameSizeDifferentRoots, Vec::new())
        } else {
            let store = self.store.clone();
            (Contradiction::NotAPrefix, blocking(move || store.audit().leaves(&v, 0, held)).await?)
        };
        let evidence = self.evidence(&v, contradiction, &l, head, leaves)?;
        Ok(Verdict::Fork(evidence, head.created_at))
    }

    /// A head beyond the leaves held, checked with `peer`'s help. `Err` when
    /// the peer could not help (another may).
    async fn extend_from(
        &self,
        net: &N,
        peer: &N::Peer,
        head: &QueuedHead,
        held: u64,
    ) -> Result<Verdict, String> {
        let v = head.verifier;
        let old_root = self
            .store
            .audit()
            .root_at(&v, held)
            .ok_or_else(|| "the log held shrank while it was checked".to_string())?;
        if held > 0 {
            let proof = match net
                .request(peer, Request::LogConsistency { verifier: v, old: held, new: head.size })
                .await?
            {
                Response::LogProof { proof, .. } => proof,
                Response::Refused { code, message } => return Err(format!("{code}: {message}")),
                _ => return Err("answered a proof request with something else".into()),
            };
            let proof: Vec<[u8; 32]> = proof.iter().map(|d| *d.as_bytes()).collect();
            let consistent = merkle::verify_consistency(
                held,
                head.size,
                old_root.as_bytes(),
                head.root.as_bytes(),
                &proof,
            );
            if consistent.is_err() {
                // The peer lies, or the verifier forked: its leaves decide.
                let all = fetch_leaves(net, peer, &v, 0, head.size).await?;
                let log =
                    MerkleLog::from_leaves(all.iter().map(|id| merkle::leaf_hash(id.as_bytes())));
                if log.root() != *head.root.as_bytes() {
                    return Err("its leaves do not hash to the signed head".into());
                }
                if log.root_at(held) != Some(*old_root.as_bytes()) {
                    let Some(l) = self.store.audit().latest(&v) else {
                        return Err("no checked head to compare with".into());
                    };
                    let evidence = self
                        .evidence(&v, Contradiction::NotAPrefix, &l, head, all)
                        .map_err(|e| e.to_string())?;
                    return Ok(Verdict::Fork(evidence, head.created_at));
                }
                tracing::debug!(peer = %N::key(peer), "a peer sent a bad consistency proof; its leaves are sound");
                return self.append(head, held, all[held as usize..].to_vec()).await;
            }
        }
        let new = fetch_leaves(net, peer, &v, held, head.size).await?;
        let (_, root) = self.store.audit().extended_root(&v, &new);
        if root != head.root {
            return Err("its leaves do not extend the log to the signed head".into());
        }
        self.append(head, held, new).await
    }

    async fn append(
        &self,
        head: &QueuedHead,
        held: u64,
        leaves: Vec<EventId>,
    ) -> Result<Verdict, String> {
        let store = self.store.clone();
        let head = *head;
        let checked = CheckedHead {
            id: head.id,
            size: head.size,
            root: head.root,
            created_at: head.created_at,
        };
        let released = blocking(move || {
            let released = store.audit().append(
                &head.verifier,
                held,
                &leaves,
                checked,
                head.received_at,
                None,
            )?;
            store.flush()?;
            Ok(released)
        })
        .await
        .map_err(|e| e.to_string())?;
        tracing::info!(verifier = %head.verifier, size = head.size, "audit log checked and extended");
        self.resubmit(released).await;
        Ok(Verdict::Consistent)
    }

    fn evidence(
        &self,
        verifier: &PublicKey,
        contradiction: Contradiction,
        checked: &CheckedHead,
        head: &QueuedHead,
        leaves: Vec<EventId>,
    ) -> Result<Box<ForkProof>, StoreError> {
        let wire = |id: &EventId| -> Result<Vec<u8>, StoreError> {
            self.store
                .events()
                .get_wire(id)?
                .ok_or(StoreError::Internal("a checked head is not stored"))
        };
        Ok(Box::new(ForkProof {
            verifier: *verifier,
            contradiction,
            first: wire(&checked.id)?,
            second: wire(&head.id)?,
            leaves,
            found_at: (self.clock)(),
        }))
    }

    /// Events that waited for a log go round ingest again.
    async fn resubmit(&self, released: Vec<PendingEvent>) {
        if released.is_empty() {
            return;
        }
        let events: Vec<Incoming> =
            released.into_iter().map(|p| Incoming::received(p.event, p.received_at)).collect();
        tracing::debug!(count = events.len(), "events that waited for an audit log, again");
        if let Err(e) = self.ingester.submit_received(Source::Local, events).await {
            tracing::warn!(error = %e, "re-ingesting events that waited for an audit log");
        }
    }

    /// Cosigns `head` (checked consistent) unless it is this node's own,
    /// already cosigned, or this node holds no charter now.
    async fn cosign(&self, head: &QueuedHead) -> Result<(), StoreError> {
        let me = self.key.public();
        if head.verifier == me {
            return Ok(());
        }
        let store = self.store.clone();
        let id = head.id;
        let now = (self.clock)();
        let (already, chartered) = blocking(move || {
            let already = store.audit().cosigners(&id)?.iter().any(|(k, _)| *k == me);
            let view = StoreView::new(&store);
            let chartered = charters_in_force(&view, &me, now).is_ok();
            match view.take_error() {
                Some(e) => Err(e),
                None => Ok((already, chartered)),
            }
        })
        .await?;
        if already || !chartered {
            return Ok(());
        }
        let body = Body::Cosignature(Cosignature {
            head: head.id,
            verifier: head.verifier,
            size: head.size,
            root: head.root,
        });
        let Some(event) = Event::new(self.store.network(), me, now, body).sign(&self.key) else {
            return Ok(());
        };
        match self.ingester.submit(vec![event]).await {
            Ok(outcomes) => {
                if let Some(Outcome::Rejected { refusal, .. }) = outcomes.first() {
                    let code = refusal.code();
                    tracing::warn!(%code, message = %refusal, "own cosignature refused");
                }
            }
            Err(e) => tracing::warn!(error = %e, "submitting a cosignature"),
        }
        Ok(())
    }
}

/// Leaves `start..end` of `verifier`'s log from `peer`, page by page.
async fn fetch_leaves<N: LogPeers>(
    net: &N,
    peer: &N::Peer,
    verifier: &PublicKey,
    start: u64,
    end: u64,
) -> Result<Vec<EventId>, String> {
    let mut out = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
    let mut at = start;
    while at < end {
        let to = end.min(at + MAX_LOG_LEAVES);
        let request =
            Request::LogLeaves { verifier: *verifier, start: at, end: to, with_events: false };
        match net.request(peer, request).await? {
            Response::LogLeaves { start, leaves, .. }
                if start == at && leaves.len() as u64 == to - at =>
            {
                out.extend(leaves);
            }
            Response::LogLeaves { leaves, .. } => {
                return Err(format!("asked for leaves {at}..{to}, got {}", leaves.len()));
            }
            Response::Refused { code, message } => return Err(format!("{code}: {message}")),
            _ => return Err("answered a leaves request with something else".into()),
        }
        at = to;
    }
    Ok(out)
}
