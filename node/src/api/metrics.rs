//! Prometheus metrics at `/metrics`.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::AppState;
use crate::ingest::Outcome;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: String,
}

/// The node's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    accepted: Counter,
    rejected: Family<CodeLabel, Counter>,
    pending: Gauge,
    store_bytes: Gauge,
    events: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("curbside");
        let accepted = Counter::default();
        let rejected = Family::<CodeLabel, Counter>::default();
        let pending = Gauge::default();
        let store_bytes = Gauge::default();
        let events = Gauge::default();
        registry.register("events_accepted", "Events accepted and stored", accepted.clone());
        registry.register("events_rejected", "Events refused, by code", rejected.clone());
        registry.register("events_pending", "Events waiting for a dependency", pending.clone());
        registry.register("events_stored", "Events in the store", events.clone());
        registry.register("store_bytes", "Bytes the store uses on disk", store_bytes.clone());
        Self { registry, accepted, rejected, pending, store_bytes, events }
    }
}

impl Metrics {
    /// Counts the outcomes of a submission.
    pub fn record(&self, outcomes: &[Outcome]) {
        for o in outcomes {
            match o {
                Outcome::Stored { .. } => {
                    self.accepted.inc();
                }
                Outcome::Rejected { code, .. } => {
                    self.rejected.get_or_create(&CodeLabel { code: (*code).to_string() }).inc();
                }
                Outcome::Duplicate { .. } | Outcome::Pending { .. } => {}
            }
        }
    }
}

fn gauge(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) async fn render(State(state): State<AppState>) -> impl IntoResponse {
    if let Ok(counts) = state.store.counts() {
        state.metrics.pending.set(gauge(counts.pending));
        state.metrics.events.set(gauge(counts.events));
        state.metrics.store_bytes.set(gauge(counts.bytes_on_disk));
    }
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &state.metrics.registry) {
        tracing::error!(error = %e, "could not encode metrics");
    }
    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
}
