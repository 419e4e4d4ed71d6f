//! `POST /v1/check`: the content guard, for any client to show the author
//! what a node would refuse and what deserves a second look, while they
//! type and before they sign. Pure: nothing is stored or logged.

use axum::Json;
use axum::extract::{FromRequest as _, Request, State};
use curbside_protocol::limits;

use super::auth::Submitter;
use super::events::{has_budget, pay_for_checking};
use super::types::{CheckAnswer, CheckRequest};
use super::{ApiError, ApiJson, AppState};
use crate::codes::Code;

/// Charged like the checking of one event, from the caller's budget (a
/// session's, or its address's without one), and refused before the body
/// is read when that budget is empty: a caller with no credentials cannot
/// make the node run the guard without bound.
pub(crate) async fn check(
    State(state): State<AppState>,
    submitter: Submitter,
    request: Request,
) -> Result<Json<CheckAnswer>, ApiError> {
    has_budget(&state, &submitter)?;
    let ApiJson(CheckRequest { text }) =
        ApiJson::<CheckRequest>::from_request(request, &state).await?;
    pay_for_checking(&state, &submitter, 1)?;
    if text.len() > limits::TEXT {
        return Err(ApiError::new(
            Code::BodyTooLarge,
            format!("the text is {} bytes; the limit is {}", text.len(), limits::TEXT),
        ));
    }
    let rules = state.store.rules_at(crate::now());
    // The guard runs at about 10 MB/s: under 3 ms for the largest text,
    // so it runs here rather than on a blocking thread. From rules 4 a
    // physician's `@handle` is a mention, judged as validation judges it.
    let events = state.store.events();
    Ok(Json(CheckAnswer::at_rules(&text, rules, |h| events.handle_attested(h))))
}
