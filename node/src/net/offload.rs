//! The store's side of the network: every read and write the swarm task
//! needs, run on a bounded set of blocking threads so the task that owns
//! the swarm never waits on the disk (nor names the store: see
//! `runner/mod.rs`).
//!
//! Each method returns a future that resolves once the work is done; the
//! runner awaits it off its own task and gets the result back as a
//! completion.

use std::sync::Arc;

use curbside_protocol::{HubId, PublicKey, Timestamp};
use libp2p::{Multiaddr, PeerId};
use tokio::sync::Semaphore;

use super::peers::{Admission, admission, credentials, trust_for};
use crate::codes::Code;
use crate::store::Store;
use crate::sync::SyncIndex;
use crate::wire::{ReceivedEvent, Request, Response};
use curbside_protocol::recon;

/// Most blocking jobs run at once for the network: enough to keep the
/// disk busy, few enough that a flood of requests cannot take every
/// blocking thread the API and ingest also use.
const MAX_JOBS: usize = 16;

/// Room left in a fetch response for framing.
const FETCH_RESPONSE_BUDGET: usize = super::codec::MAX_RESPONSE_BYTES as usize - 64 * 1024;

/// The network's bounded pool of store work.
#[derive(Debug, Clone)]
pub(crate) struct Offload {
    store: Arc<Store>,
    index: Arc<SyncIndex>,
    clock: fn() -> Timestamp,
    /// This node's key, whose charters a new peer is shown.
    node_key: PublicKey,
    permits: Arc<Semaphore>,
}

impl Offload {
    pub(crate) fn new(
        store: Arc<Store>,
        index: Arc<SyncIndex>,
        clock: fn() -> Timestamp,
        node_key: PublicKey,
    ) -> Self {
        Self { store, index, clock, node_key, permits: Arc::new(Semaphore::new(MAX_JOBS)) }
    }

    /// Runs `job` on a blocking thread once one of the pool's permits is
    /// free; `fallback` if the runtime cannot run it (it is shutting down).
    async fn run<T: Send + 'static>(
        &self,
        fallback: T,
        job: impl FnOnce(&Offload) -> T + Send + 'static,
    ) -> T {
        let Ok(_permit) = self.permits.clone().acquire_owned().await else { return fallback };
        let this = self.clone();
        tokio::task::spawn_blocking(move || job(&this)).await.unwrap_or(fallback)
    }

    /// Checks each key against the charters held now.
    pub(crate) async fn admissions(
        &self,
        keys: Vec<(PeerId, PublicKey)>,
    ) -> Vec<(PeerId, Admission)> {
        self.run(Vec::new(), move |this| {
            let now = (this.clock)();
            keys.into_iter().map(|(peer, key)| (peer, admission(&this.store, &key, now))).collect()
        })
        .await
    }

    /// Checks one key against the charters held now.
    pub(crate) async fn admission(&self, peer: PeerId, key: PublicKey) -> Admission {
        let gone =
            Admission::Refused { code: Code::Internal, message: "the node is stopping".into() };
        let mut verdicts = self.admissions(vec![(peer, key)]).await;
        verdicts.pop().map_or(gone, |(_, verdict)| verdict)
    }

    /// The hubs held now.
    pub(crate) async fn hubs(&self) -> Vec<HubId> {
        self.run(Vec::new(), |this| match this.store.events().hubs() {
            Ok(hubs) => hubs.into_iter().map(|(hub, _)| hub).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read hubs");
                Vec::new()
            }
        })
        .await
    }

    /// Remembers admitted peers' addresses for the next start.
    pub(crate) async fn save_peers(&self, known: Vec<(String, Vec<Multiaddr>)>) {
        self.run((), move |this| {
            if let Err(e) = this.store.peers().save(&known) {
                tracing::warn!(error = %e, "cannot save peer addresses");
            }
        })
        .await;
    }

    /// The answer to a request a chartered peer made that reads the store
    /// (or, for `Credentials`, that any peer made).
    pub(crate) async fn serve(&self, request: Request) -> Response {
        let stopping = Response::refused(Code::Internal, "the node is stopping");
        self.run(stopping, move |this| this.answer(request)).await
    }

    fn answer(&self, request: Request) -> Response {
        // Whether the asker wants each event's receipt (this version does;
        // an older node asks `Fetch` and `TrustFor` and gets bare events).
        let receipts =
            matches!(request, Request::FetchReceived { .. } | Request::TrustForReceived { .. });
        match request {
            Request::Credentials => {
                Response::Credentials { events: credentials(&self.store, &self.node_key) }
            }
            Request::Reconcile { scope, message } => {
                match self.index.read(scope, |set| recon::respond(set, &message)) {
                    Ok(reply) => Response::Reconcile { message: reply.next },
                    Err(e) => Response::refused(Code::BadMessage, e.to_string()),
                }
            }
            request @ (Request::LogHead { .. }
            | Request::LogLeaves { .. }
            | Request::LogConsistency { .. }
            | Request::LogInclusion { .. }) => crate::verifier::answer(&self.store, request),
            Request::TrustFor { key } | Request::TrustForReceived { key } => {
                with_receipts(trust_for(&self.store, &key, (self.clock)()), receipts)
            }
            Request::Fetch { ids } | Request::FetchReceived { ids } => {
                with_receipts(self.fetch(ids), receipts)
            }
            Request::Admitted | Request::Instance { .. } => {
                Response::refused(Code::BadMessage, "not a read of the store")
            }
        }
    }

    /// The events `ids` held here, as many as fit in one response.
    fn fetch(&self, ids: Vec<curbside_protocol::EventId>) -> Vec<ReceivedEvent> {
        let mut events = Vec::with_capacity(ids.len());
        let mut size = 0;
        for id in ids {
            match self.store.events().get_received(&id) {
                Ok(Some((wire, received_at))) => {
                    size += wire.len() + 16;
                    if size > FETCH_RESPONSE_BUDGET {
                        break;
                    }
                    events.push(ReceivedEvent { wire, received_at });
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "reading events for a peer");
                    break;
                }
            }
        }
        events
    }
}

/// Events read for a peer, as the request asked: with receipts
/// ([`Response::Received`]) or bare ([`Response::Events`]).
fn with_receipts(events: Vec<ReceivedEvent>, receipts: bool) -> Response {
    if receipts {
        Response::Received { events }
    } else {
        Response::Events { events: events.into_iter().map(|e| e.wire).collect() }
    }
}
