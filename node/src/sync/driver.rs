//! One sync with one peer: reconcile each scope's set, then fetch what is
//! missing here in batches, verifying and storing through ingest while the
//! next batches are on their way.

use std::time::Instant;

use curbside_protocol::recon;
use curbside_protocol::{EventId, SignedEvent};
use futures::StreamExt;
use serde::Serialize;

use super::index::SyncIndex;
use crate::ingest::{Incoming, Ingester, Outcome, Source};
use crate::wire::{MAX_FETCH_IDS, Request, Response, Scope};

/// Fetch requests in flight at once.
const FETCH_DEPTH: usize = 3;

/// Most reconciliation rounds in one scope before the differences found
/// add to it: a million events differing in ten thousand places take 9; a
/// peer that keeps a session going longer without differences to show is
/// not reconciling in good faith.
const MAX_ROUNDS: u32 = 48;
/// One more round is allowed for every this many differences found. A
/// responder splits a large range into sub-ranges before it lists ids, so
/// a new node learning a million ids saw about 4,000 a round, not the 32,000
/// a reply could carry; one extra round per 1,024 keeps a long listing well
/// inside the bound.
const IDS_PER_EXTRA_ROUND: usize = 1_024;
/// Most differences one session may find (64 MiB of ids): beyond it the
/// session ends, and the next one, after the fetches, finds the rest.
const MAX_DIFFERENCES: usize = 1 << 21;

/// How a sync reaches its peer.
pub(crate) trait Transport {
    /// The peer, as the pending set's budget counts what it sends.
    fn holder(&self) -> crate::store::Holder;

    /// Sends `request` and waits for the response.
    fn request(
        &self,
        request: Request,
    ) -> impl std::future::Future<Output = Result<Response, String>> + Send;
}

/// A sync under way.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncProgress {
    /// The scope being synced.
    pub scope: &'static str,
    /// Events found missing here so far.
    pub needed: usize,
    /// Events fetched so far.
    pub fetched: usize,
}

/// A finished sync.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// Reconciliation round trips, over all scopes.
    pub rounds: u32,
    /// Bytes of reconciliation messages, both ways.
    pub bytes_reconciling: u64,
    /// Events the peer had and this node lacked.
    pub needed: usize,
    /// Events this node had and the peer lacked (it will fetch them when
    /// it syncs).
    pub peer_lacks: usize,
    /// Events received.
    pub fetched: usize,
    /// Bytes of events received.
    pub bytes_fetched: u64,
    /// Events stored (the rest were duplicates, pending or refused).
    pub stored: usize,
    /// Events the peer sent that were invalid.
    pub invalid: usize,
    /// How long it took.
    pub millis: u64,
}

fn encoded_len<T: Serialize>(value: &T) -> u64 {
    postcard::experimental::serialized_size(value).map_or(0, |n| n as u64)
}

/// Syncs every scope with the peer behind `transport`.
pub(crate) async fn run<T: Transport + Sync>(
    transport: &T,
    index: &SyncIndex,
    ingester: &Ingester,
    progress: impl Fn(SyncProgress),
) -> Result<SyncReport, String> {
    let started = Instant::now();
    let mut report = SyncReport::default();
    for scope in Scope::ALL {
        let need = reconcile(transport, index, scope, &mut report).await?;
        report.needed += need.len();
        fetch(transport, ingester, scope, need, &mut report, &progress).await?;
    }
    report.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

/// Runs reconciliation rounds over `scope` until the sets' differences are
/// known; returns the ids this node lacks.
async fn reconcile<T: Transport>(
    transport: &T,
    index: &SyncIndex,
    scope: Scope,
    report: &mut SyncReport,
) -> Result<Vec<EventId>, String> {
    let mut need = Vec::new();
    let mut lacks = 0;
    let mut message = index.read(scope, recon::initiate);
    for round in 1.. {
        // Listing ids costs rounds in proportion to the difference (a new
        // node learns a million ids in about 32 replies of 1 MiB), so the
        // bound grows with what the rounds so far have found: a peer can
        // only keep a session going by sending differences, which the
        // fetches after it must then justify.
        let limit = MAX_ROUNDS
            + u32::try_from((need.len() + lacks) / IDS_PER_EXTRA_ROUND).unwrap_or(u32::MAX);
        if round > limit {
            return Err(format!("reconciliation of {} took over {limit} rounds", scope.name()));
        }
        if need.len() + lacks > MAX_DIFFERENCES {
            break;
        }
        report.bytes_reconciling += encoded_len(&message);
        let reply = match transport.request(Request::Reconcile { scope, message }).await? {
            Response::Reconcile { message: Some(reply) } => reply,
            Response::Reconcile { message: None } => break,
            Response::Refused { code, message } => return Err(format!("{code}: {message}")),
            _ => return Err("the peer answered reconciliation with something else".into()),
        };
        report.rounds += 1;
        report.bytes_reconciling += encoded_len(&reply);
        let step = index
            .read(scope, |set| recon::reconcile(set, &reply))
            .map_err(|e| format!("the peer's reconciliation message: {e}"))?;
        // Never fetch what was taken back here: the peer has not seen the
        // retraction yet, and fetches it from this node instead.
        need.extend(step.need.into_iter().map(EventId::from_bytes).filter(|id| !index.is_gone(id)));
        report.peer_lacks += step.have.len();
        lacks += step.have.len();
        match step.next {
            Some(next) => message = next,
            None => break,
        }
    }
    Ok(need)
}

/// Fetches `need` in batches, [`FETCH_DEPTH`] requests in flight, and
/// ingests each batch as it lands.
async fn fetch<T: Transport + Sync>(
    transport: &T,
    ingester: &Ingester,
    scope: Scope,
    need: Vec<EventId>,
    report: &mut SyncReport,
    progress: &impl Fn(SyncProgress),
) -> Result<(), String> {
    let needed = need.len();
    let batches: Vec<Vec<EventId>> = need.chunks(MAX_FETCH_IDS).map(<[EventId]>::to_vec).collect();
    let mut responses = futures::stream::iter(
        batches.into_iter().map(|ids| transport.request(Request::FetchReceived { ids })),
    )
    .buffered(FETCH_DEPTH);
    let mut fetched = 0;
    let mut logged = Instant::now();
    while let Some(response) = responses.next().await {
        let events = match response? {
            Response::Received { events } => events,
            Response::Refused { code, message } => return Err(format!("{code}: {message}")),
            _ => return Err("the peer answered a fetch with something else".into()),
        };
        let mut batch = Vec::with_capacity(events.len());
        for received in &events {
            report.bytes_fetched += received.wire.len() as u64;
            match SignedEvent::decode(&received.wire) {
                // Judged as history: at the time the peer vouches it first
                // received the event.
                Ok(event) => batch
                    .push(Incoming::received(event, received.received_at).from(transport.holder())),
                Err(_) => report.invalid += 1,
            }
        }
        fetched += events.len();
        report.fetched += events.len();
        let outcomes =
            ingester.submit_received(Source::Sync, batch).await.map_err(|e| e.to_string())?;
        for outcome in outcomes {
            match outcome {
                Outcome::Stored { .. } => report.stored += 1,
                Outcome::Rejected { refusal, .. } if refusal.blames_sender() => report.invalid += 1,
                _ => {}
            }
        }
        progress(SyncProgress { scope: scope.name(), needed, fetched });
        if logged.elapsed().as_secs() >= 2 {
            logged = Instant::now();
            tracing::info!(scope = scope.name(), fetched, needed, "catching up");
        } else {
            tracing::debug!(scope = scope.name(), fetched, needed, "sync progress");
        }
    }
    Ok(())
}
