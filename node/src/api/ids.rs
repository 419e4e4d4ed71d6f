//! `GET /v1/ids/{prefix}`: the event a physician means by the first digits
//! of its id, so that `curbside show 91d654fe` works.
//!
//! One bounded range read of the store's id-keyed events
//! ([`crate::store::IdPrefix`]): the one event is the answer; none is
//! `404 not_found`; several are `409 ambiguous_id` with the first
//! [`MAX_ID_CANDIDATES`] of them, so that the reader can pick one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use curbside_protocol::{Body, VerifiedEvent};

use super::auth::Reader;
use super::types::{AmbiguousIdAnswer, IdMatch, MAX_ID_CANDIDATES, MIN_ID_PREFIX};
use super::{ApiError, ApiPath, AppState};
use crate::codes::Code;
use crate::store::IdPrefix;

/// Longest title in an answer, in characters.
const TITLE_CHARS: usize = 80;

pub(crate) async fn resolve(
    _: Reader,
    State(state): State<AppState>,
    ApiPath(text): ApiPath<String>,
) -> Result<Response, ApiError> {
    let prefix = IdPrefix::new(&text).map_err(ApiError::bad_request)?;
    if prefix.len() < MIN_ID_PREFIX {
        return Err(ApiError::bad_request(format!(
            "{text:?} is too short to name an event: give at least {MIN_ID_PREFIX} hex digits of its id"
        )));
    }
    // One more than listed, to know whether more remain.
    let found = state.store.events().with_id_prefix(&prefix, MAX_ID_CANDIDATES + 1)?;
    // Hidden by this node's operator: its title is not shown here either.
    let mut matches: Vec<IdMatch> =
        found.iter().filter(|e| !state.store.events().is_hidden(&e.id())).map(id_match).collect();
    // Edited posts, cases and comments, by their own ids.
    let edited = state.store.events().edited_with_id_prefix(&prefix, MAX_ID_CANDIDATES + 1)?;
    matches.extend(
        edited
            .iter()
            .filter(|(id, _)| !state.store.events().is_hidden(id))
            .filter_map(|(_, edit)| edited_match(edit)),
    );
    match matches.len() {
        0 => Err(ApiError::not_found(format!("no event here has an id starting {prefix}"))),
        1 => Ok(Json(matches.remove(0)).into_response()),
        n => {
            let more = n > MAX_ID_CANDIDATES;
            matches.truncate(MAX_ID_CANDIDATES);
            let count = if more { format!("more than {MAX_ID_CANDIDATES}") } else { n.to_string() };
            let answer = AmbiguousIdAnswer {
                message: format!(
                    "{count} events have ids starting {prefix}: give more digits of the one you mean"
                ),
                candidates: matches,
                code: Code::AmbiguousId,
                more,
            };
            Ok((StatusCode::CONFLICT, Json(answer)).into_response())
        }
    }
}

/// What an answer says of `event`.
fn id_match(event: &VerifiedEvent) -> IdMatch {
    IdMatch {
        created_at: event.created_at(),
        id: event.id(),
        kind: event.kind(),
        title: title(event.body()).chars().take(TITLE_CHARS).collect(),
    }
}

/// What an answer says of an edited event, shown by its edit in force.
fn edited_match(edit: &VerifiedEvent) -> Option<IdMatch> {
    let Body::Edit(e) = edit.body() else { return None };
    let body = e.content.to_body();
    Some(IdMatch {
        created_at: e.target_created_at,
        id: e.target,
        kind: e.content.kind(),
        title: title(&body).chars().take(TITLE_CHARS).collect(),
    })
}

/// One line saying what a body is (empty for events without one).
fn title(body: &Body) -> String {
    let first_line = |text: &str| text.lines().next().unwrap_or_default().trim().to_owned();
    match body {
        Body::Post(p) => first_line(&p.title),
        Body::Case(c) => first_line(&c.title),
        Body::Poll(p) => first_line(&p.question),
        Body::Comment(c) => first_line(&c.body),
        Body::Hub(h) => first_line(&h.title),
        Body::Attestation(a) => format!("{} ({})", a.handle, a.jurisdiction),
        Body::Charter(c) => first_line(&c.institution),
        _ => String::new(),
    }
}
