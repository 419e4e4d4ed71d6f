//! `POST /v1/admin/sync`: an operator asks the node to sync with its
//! peers now (`curbside node sync`). The round's progress is read from
//! `GET /v1/network` (`sync_round`, then `last_sync_round`), which shows
//! peers and counts only, as it always has.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::auth::Admin;
use super::{ApiError, AppState};
use crate::codes::Code;

/// Starts a sync round with every admitted peer, one peer at a time, or
/// joins the one running (one at a time: asking again costs nothing).
/// Admin only: a round asks every peer for work.
pub(crate) async fn sync_now(
    admin: Admin,
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Some(net) = &state.net else {
        return Err(ApiError::new(
            Code::NetworkOff,
            "this node runs alone: start it with --listen or --bootstrap",
        ));
    };
    match net.sync_now().await {
        Ok((round, joined)) => {
            admin.note("round", round.id);
            admin.note("peers", round.peers.len());
            Ok((StatusCode::ACCEPTED, Json(json!({ "round": round, "joined": joined }))))
        }
        Err(e) => Err(ApiError::new(Code::NoPeers, e)),
    }
}
