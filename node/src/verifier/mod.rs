//! Verifiers' audit logs, the node's part: logging what this node issues,
//! checking other verifiers' tree heads as a witness, and serving leaves
//! and proofs.
//!
//! ```text
//!  admin attest/revoke ─▶ issue(): sign ─▶ append to own log ─▶ sign head ─▶ flush
//!                                          ─▶ ingest [entry, head] ─▶ gossip
//!
//!  tree head stored ─▶ witness: consistent with the leaves held?  ── yes ─▶ cosign
//!    (any source)        │ larger: consistency proof + new leaves        ── no ──▶ evidence,
//!                        │ from a peer (request-response)                     fork recorded
//!                        └─▶ leaves appended ─▶ pending events waiting for the log released
//! ```
//!
//! The log is RFC 6962 over the ids of the attestations and revocations a
//! verifier issued (`protocol::merkle`); its maximum merge delay is zero: an
//! attestation is published together with the head that covers it, never
//! before. What the store keeps is in [`crate::store::audit`].

pub mod guard;
pub mod issued;
mod witness;

use std::sync::Arc;

use curbside_protocol::{
    Arrival, Body, Event, LicenceOpening, SecretKey, SignedEvent, Timestamp, TreeHead,
};
use tokio::sync::Notify;

use crate::codes::Code;
use crate::ingest::{Incoming, IngestError, Ingester, Outcome, Source};
use crate::store::audit::{CheckedHead, OwnRecords};
use crate::store::{Store, StoreError};
use crate::wire::{MAX_LOG_LEAVES, Request, Response};

pub use witness::{LogPeers, Witness, WitnessConfig};

/// Why this node could not issue an attestation or revocation.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The event would not be valid (for instance the node is not chartered
    /// for that jurisdiction); nothing was logged.
    #[error("{message}")]
    Refused {
        /// The rejection's stable code.
        code: Code,
        /// For people.
        message: String,
    },
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// Ingest failed after the entry was logged (it is published at the
    /// next start).
    #[error("{0}")]
    Ingest(String),
    /// Ingest has stopped: the node is shutting down.
    #[error("the node is shutting down")]
    Stopped,
}

/// This node's own log: what it issues as a verifier.
#[derive(Debug)]
pub struct Issuer {
    store: Arc<Store>,
    ingester: Ingester,
    key: SecretKey,
    /// One issue at a time: each appends a leaf and signs the next head.
    lock: tokio::sync::Mutex<()>,
    /// One operator's step at a time ([`Issuer::operator_turn`]).
    operator: tokio::sync::Mutex<()>,
    /// Wakes the witness (to mark the new head checked).
    notify: Arc<Notify>,
    /// Refuses to sign a head that could fork this node's log.
    guard: Arc<guard::Guard>,
}

/// What [`Issuer::issue`] published.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The attestation or revocation.
    pub event: SignedEvent,
    /// The tree head that covers it.
    pub head: SignedEvent,
    /// Its index in the log.
    pub index: u64,
}

impl Issuer {
    /// The issuer of the node whose key is `key`.
    pub fn new(store: Arc<Store>, ingester: Ingester, key: SecretKey, notify: Arc<Notify>) -> Self {
        let guard = Arc::new(guard::Guard::new(
            store.clone(),
            ingester.clone(),
            key.clone(),
            notify.clone(),
        ));
        Self {
            store,
            ingester,
            key,
            lock: tokio::sync::Mutex::new(()),
            operator: tokio::sync::Mutex::new(()),
            notify,
            guard,
        }
    }

    /// The guard that refuses to sign a head that could fork this node's
    /// log ([`guard::Guard`]).
    pub fn guard(&self) -> &Arc<guard::Guard> {
        &self.guard
    }

    /// Held across an operator's whole step (look at what this node issued,
    /// then issue and revoke): two attestations for one licence asked for
    /// at the same instant cannot both pass the check for duplicates.
    pub async fn operator_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.operator.lock().await
    }

    /// Publishes what a crash between logging and publishing left behind.
    pub async fn recover(&self) -> Result<usize, IssueError> {
        let store = self.store.clone();
        let wires = blocking(move || store.audit().own_unpublished()).await?;
        // This node made them, when they say: that is when they were
        // received, however long the node was down since.
        let events: Vec<Incoming> = wires
            .iter()
            .filter_map(|w| SignedEvent::decode(w).ok())
            .map(Incoming::when_made)
            .collect();
        let n = events.len();
        if n > 0 {
            tracing::warn!(count = n, "publishing own log entries left unpublished by a crash");
            self.ingester
                .submit_received(Source::Local, events)
                .await
                .map_err(|_| IssueError::Stopped)?;
        }
        Ok(n)
    }

    /// Signs `body` (an attestation or a revocation) at `at`, appends it to
    /// this node's log, signs the head that covers it, makes both durable,
    /// then ingests and gossips them: nothing is published before it is
    /// logged. An attestation's licence `opening` is kept (privately) once
    /// the attestation is known to be valid, before it exists anywhere else.
    pub async fn issue(
        &self,
        at: Timestamp,
        body: Body,
        opening: Option<LicenceOpening>,
    ) -> Result<Issued, IssueError> {
        debug_assert!(matches!(body, Body::Attestation(_) | Body::Revocation(_)));
        let network = self.store.network();
        let me = self.key.public();
        let event =
            Event::new(network, me, at, body).sign(&self.key).ok_or(IssueError::Refused {
                code: Code::Internal,
                message: "node key mismatch".into(),
            })?;
        let _one = self.lock.lock().await;
        // Never a head that conflicts with one this key signed before.
        self.guard.ensure().await?;

        // Only a valid event is logged: check it as ingest will.
        let store = self.store.clone();
        let check = event.clone();
        let verdict = blocking(move || {
            let view = crate::store::StoreView::new(&store);
            let verdict = curbside_protocol::validate(&check, &view, Arrival::live(at)).map(|_| ());
            match view.take_error() {
                Some(e) => Err(e),
                None => Ok(verdict),
            }
        })
        .await?;
        if let Err(e) = verdict {
            let message = match &e {
                curbside_protocol::NotAccepted::Missing(dep) => {
                    format!("this node cannot sign it yet: it lacks {dep} (is the node chartered?)")
                }
                other => other.to_string(),
            };
            return Err(IssueError::Refused { code: Code::not_accepted(&e), message });
        }

        let store = self.store.clone();
        let key = self.key.clone();
        let entry = event.clone();
        let (head, index) = blocking(move || {
            if let Some(opening) = &opening {
                store.audit().put_opening(&entry.id(), opening)?;
            }
            let start = store.audit().size(&me);
            let (size, root) = store.audit().extended_root(&me, &[entry.id()]);
            // Heads are dated in order even if the clock steps back.
            let head_at = store.audit().latest(&me).map_or(at, |h| h.created_at.max(at));
            let head = Event::new(network, me, head_at, Body::TreeHead(TreeHead { size, root }))
                .sign(&key)
                .ok_or(StoreError::Internal("node key mismatch"))?;
            let checked = CheckedHead { id: head.id(), size, root, created_at: head_at };
            let wire = head.to_bytes();
            let records = OwnRecords { entries: &[entry.to_bytes()], head: &wire };
            store.audit().append(&me, start, &[entry.id()], checked, head_at, Some(records))?;
            store.flush()?;
            Ok::<_, StoreError>((head, start))
        })
        .await?;

        let outcomes =
            self.ingester.submit(vec![event.clone(), head.clone()]).await.map_err(|e| match e {
                IngestError::Stopped => IssueError::Stopped,
                IngestError::Store(m) => IssueError::Ingest(m),
            })?;
        for outcome in &outcomes {
            if let Outcome::Rejected { id, refusal } = outcome {
                // Checked just above under the same lock: a bug, loudly.
                let (code, message) = (refusal.code(), refusal.to_string());
                tracing::error!(event = %id, %code, message, "own log entry refused after logging");
                return Err(IssueError::Refused { code, message });
            }
        }
        self.notify.notify_one();
        Ok(Issued { event, head, index })
    }
}

/// Runs `f`, which reads or writes the store, on tokio's blocking pool, so
/// that a sled read or an fsync never stalls the runtime's workers; a
/// panic in `f` is reported as an internal store error rather than
/// unwinding into the caller. The publisher, the witness and the API's
/// handlers that read or write the store at length use it.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or(Err(StoreError::Internal("a store task panicked")))
}

/// Answers a peer's audit-log request from the store (call it off the
/// swarm task: it reads the disk).
pub fn answer(store: &Store, request: Request) -> Response {
    match request {
        Request::LogHead { verifier } => {
            let head = store.audit().latest(&verifier).map(|h| h.id);
            let head = match head.map(|id| store.events().get_wire(&id)).transpose() {
                Ok(head) => head.flatten(),
                Err(e) => return Response::refused(Code::Storage, e.to_string()),
            };
            Response::LogHead { head, size: store.audit().size(&verifier) }
        }
        Request::LogLeaves { verifier, start, end, with_events } => {
            if end < start || end - start > MAX_LOG_LEAVES {
                return Response::refused(
                    Code::BadMessage,
                    format!("ask for 0 to {MAX_LOG_LEAVES} leaves, from start to end"),
                );
            }
            let leaves = match store.audit().leaves(&verifier, start, end) {
                Ok(leaves) => leaves,
                Err(e) => return Response::refused(Code::Storage, e.to_string()),
            };
            let mut events = Vec::new();
            if with_events {
                for id in &leaves {
                    match store.events().get_wire(id) {
                        Ok(wire) => events.push(wire.unwrap_or_default()),
                        Err(e) => return Response::refused(Code::Storage, e.to_string()),
                    }
                }
            }
            Response::LogLeaves { start, leaves, events }
        }
        Request::LogConsistency { verifier, old, new } => {
            match store.audit().consistency(&verifier, old, new) {
                Ok(proof) => Response::LogProof { index: 0, proof },
                Err(e) => Response::refused(Code::LogUnavailable, e.to_string()),
            }
        }
        Request::LogInclusion { verifier, leaf, size } => {
            match store.audit().inclusion(&verifier, &leaf, size) {
                Some(Ok((index, proof))) => Response::LogProof { index, proof },
                Some(Err(e)) => Response::refused(Code::LogUnavailable, e.to_string()),
                None => Response::refused(
                    Code::LogUnavailable,
                    format!("{leaf} is not in the log of {verifier} held here"),
                ),
            }
        }
        _ => Response::refused(Code::BadMessage, "not an audit-log request"),
    }
}
