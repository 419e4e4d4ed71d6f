//! Prometheus metrics at `/metrics` (counted in [`crate::metrics`]).

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use super::AppState;

pub(crate) async fn render(State(state): State<AppState>) -> impl IntoResponse {
    if let Ok(counts) = state.store.counts() {
        state.metrics.set_counts(&counts);
    }
    state.metrics.set_store_failed(state.store.has_failed());
    state.metrics.set_store_syncs(state.store.syncs());
    let pending = state.store.pending();
    state.metrics.set_disk(pending.free_disk(), pending.disk_size());
    if let Some(net) = &state.net
        && let Some(status) = net.status().await
    {
        let admitted = status.peers.iter().filter(|p| p.admitted).count();
        state.metrics.set_peers(status.peers.len(), admitted, status.blocked.len());
    }
    match state.store.audit().evidence_counts() {
        Ok(counts) => state.metrics.set_fork_evidence(&counts),
        Err(e) => tracing::warn!(error = %e, "counting fork evidence for /metrics"),
    }
    let text = state.metrics.encode().unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not encode metrics");
        String::new()
    });
    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
}
