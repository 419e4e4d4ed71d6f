//! Stopping a node within a bound, whatever the disk does.
//!
//! A node stops when asked (SIGTERM, Ctrl-C, the caller's shutdown future)
//! or when its store has failed ([`Store::failed`]): a store that takes no
//! writes is no node, so [`crate::NodeBuilder::run`] returns an error and the binary
//! exits non-zero, and the operator's supervisor restarts it (reopening
//! the store reloads its memory from the disk). Each step of the stop that
//! can wait on the disk — the API's last requests, the ingest thread's
//! last batch, the final flush — is bounded by [`STEP_LIMIT`]: a disk that
//! hangs (once seen after the disk filled up) is logged and left behind,
//! not waited for forever.

use std::time::Duration;

use crate::NodeError;
use crate::store::Store;

/// How long a stopping node waits for each step that may wait on the disk.
pub(crate) const STEP_LIMIT: Duration = Duration::from_secs(10);

/// Resolves when `shutdown` does, or when the store has failed.
pub(crate) async fn stop_signal(store: std::sync::Arc<Store>, shutdown: impl Future<Output = ()>) {
    tokio::select! {
        () = shutdown => {}
        () = store.failed() => {
            tracing::error!(
                error = store.failure().unwrap_or("unknown"),
                "the store failed: stopping the node (restart it to reopen the store)"
            );
        }
    }
}

/// Serves `router` on `listener` (the API's own server, with its `limits`)
/// until `stop` resolves, then lets the requests in flight finish for at
/// most `limit` (a request waiting on a hung disk would otherwise hold the
/// node up forever).
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    limits: crate::api::HttpLimits,
    stop: impl Future<Output = ()> + Send + 'static,
    limit: Duration,
) -> std::io::Result<()> {
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = crate::api::serve(listener, router, limits, async move {
        stop.await;
        let _ = stopping.send(());
    });
    let drained_or_not = async move {
        if stopped.await.is_ok() {
            tokio::time::sleep(limit).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        served = server => served,
        () = drained_or_not => {
            tracing::error!(
                limit_ms = limit.as_millis() as u64,
                "requests still in flight after the limit; stopping without them"
            );
            Ok(())
        }
    }
}

/// Runs `work` on a thread of its own and waits at most `limit` for it.
/// A step that overruns is logged and left running (the process exits
/// without it); its result is then [`NodeError::Stalled`].
pub(crate) async fn bounded<T: Send + 'static>(
    step: &'static str,
    limit: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, NodeError> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new().name(format!("curbside-stop-{step}")).spawn(move || {
        let _ = done.send(work());
    })?;
    match tokio::time::timeout(limit, result).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) => Err(NodeError::Stalled { step, detail: "it panicked".into() }),
        Err(_) => {
            tracing::error!(step, limit_ms = limit.as_millis() as u64, "did not finish in time");
            Err(NodeError::Stalled { step, detail: format!("not done after {limit:?}") })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use super::*;

    /// A final flush on a disk that hangs (each sync takes a minute here)
    /// is given up after its limit, with an error naming the step.
    #[test]
    fn a_final_flush_on_a_hung_disk_is_given_up_after_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        use curbside_protocol::TrustView as _;
        let genesis = curbside_protocol::testkit::Federation::new().view().genesis().clone();
        let store = Arc::new(Store::open(dir.path(), genesis).unwrap());
        store.faults.slow_sync_ms.store(60_000, Ordering::SeqCst);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let started = std::time::Instant::now();
        let limit = Duration::from_millis(300);
        let flushed = rt.block_on(bounded("final flush", limit, move || store.flush()));
        let took = started.elapsed();
        assert!(
            matches!(flushed, Err(NodeError::Stalled { step: "final flush", .. })),
            "{flushed:?}"
        );
        assert!(took >= limit && took < Duration::from_secs(5), "took {took:?}");
    }
}
