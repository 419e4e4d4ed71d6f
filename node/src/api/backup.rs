//! `POST /v1/admin/backup`: the running node writes a consistent backup of
//! itself into a new directory its admin names ([`crate::backup`]).

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::auth::Admin;
use super::{ApiError, ApiJson, AppState};
use crate::backup::{self, BackupError, Manifest, Taken};
use crate::codes::Code;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackupRequest {
    /// The new directory to write, by an absolute path on the node's machine.
    out: PathBuf,
}

/// Releases the one-backup-at-a-time flag however the backup ends.
struct Running<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

pub(crate) async fn backup(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<BackupRequest>,
) -> Result<(StatusCode, Json<Manifest>), ApiError> {
    let Some(data) = state.store.dir().parent().map(PathBuf::from) else {
        return Err(ApiError::internal("the store's directory has no parent"));
    };
    if state.backup_running.swap(true, Ordering::SeqCst) {
        return Err(ApiError::new(
            Code::BackupRunning,
            "a backup of this node is being written already: wait for it to finish, then try again",
        ));
    }
    let worker = state.clone();
    let out = req.out.clone();
    let written = tokio::task::spawn_blocking(move || {
        let _running = Running(&worker.backup_running);
        let key = worker.key.public();
        let store = worker.store.clone();
        backup::take(&data, &req.out, &key, Taken::Running, backup::FREE_RESERVE, |out| {
            store.export(&key, out)
        })
    })
    .await
    .map_err(|_| ApiError::internal("the backup task panicked"))?;
    match written {
        Ok(manifest) => {
            tracing::info!(
                out = %out.display(),
                records = manifest.records,
                own_log = manifest.own_log.size,
                "backup written"
            );
            Ok((StatusCode::CREATED, Json(manifest)))
        }
        Err(e) => {
            if e.code() == Code::Storage {
                tracing::error!(error = %e, "backup failed");
            }
            Err(error(e))
        }
    }
}

fn error(e: BackupError) -> ApiError {
    ApiError::new(e.code(), e.to_string())
}
