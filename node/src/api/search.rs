//! `GET /v1/search`: full-text search (`crate::search`), a read like the
//! feed (a session or the admin token), bounded per request by the query's
//! checks (its length, words, page size and depth) and per source by a
//! budget of searches a second ([`SEARCHES_PER_SECOND`]).

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use curbside_protocol::{EventId, Timestamp};
use serde::{Deserialize, Serialize};

use super::auth::{PeerAddress, Reader};
use super::{ApiError, ApiQuery, AppState};
use crate::codes::Code;
use crate::search::query::{Filters, QueryError, SearchQuery, parse_since};

/// Searches a second one source (an address, or an IPv6 /64) may make.
pub const SEARCHES_PER_SECOND: u32 = 50;
/// At once.
pub const SEARCH_BURST: u32 = 100;

#[derive(Deserialize)]
pub(crate) struct SearchParams {
    q: Option<String>,
    hub: Option<String>,
    kind: Option<String>,
    tag: Option<String>,
    age_band: Option<String>,
    sex: Option<String>,
    specialty: Option<String>,
    solved: Option<bool>,
    since: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// One result.
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchResult {
    /// The event.
    pub id: EventId,
    /// post, case, comment or poll.
    pub kind: String,
    /// Its hub (a comment's, its thread's).
    pub hub: Option<String>,
    /// The author's handle (physicians' events).
    pub author: Option<String>,
    /// The author's attested specialties.
    pub specialties: Vec<String>,
    /// Title or question (empty for a comment).
    pub title: String,
    /// The best fragment of its text.
    pub snippet: String,
    /// Byte ranges of `snippet` that matched: `[from, to]`.
    pub highlights: Vec<[usize; 2]>,
    /// When it was made.
    pub created_at: Timestamp,
    /// The relevance score (BM25); comparable only within one answer.
    pub score: f32,
    /// A case's tags.
    pub tags: Vec<String>,
    /// A case's age band.
    pub age_band: Option<String>,
    /// A case's sex.
    pub sex: Option<String>,
    /// Whether a case is solved (its author has added its outcome).
    pub solved: bool,
}

/// The answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchAnswer {
    /// Best first.
    pub results: Vec<SearchResult>,
    /// Pass as `cursor` for the next page; absent at the last.
    pub next_cursor: Option<String>,
}

fn refused(e: &QueryError) -> ApiError {
    ApiError::new(e.code(), e.to_string())
}

pub(crate) async fn search(
    _: Reader,
    State(state): State<AppState>,
    address: Option<axum::Extension<PeerAddress>>,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<Json<SearchAnswer>, ApiError> {
    let ip = address.map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), |a| a.0.0);
    let source = crate::source::Source::of(ip);
    {
        let mut budget = state.searches.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(wait) = budget.take(&source, Instant::now()) {
            return Err(ApiError::new(
                Code::RateLimited,
                format!(
                    "{} has made {SEARCHES_PER_SECOND} searches a second (bursts of \
                     {SEARCH_BURST}); try again in {:.0} s",
                    source.ip(),
                    wait.ceil().max(1.0)
                ),
            ));
        }
    }
    let Some(index) = state.search.clone() else {
        return Err(ApiError::new(
            Code::SearchUnavailable,
            "this node's search index could not be opened (see its log); `curbside node \
             reindex` rebuilds it",
        ));
    };
    let since = p.since.as_deref().map(parse_since).transpose().map_err(|e| refused(&e))?;
    let filters = Filters {
        hub: p.hub,
        kind: p.kind,
        tag: p.tag,
        age_band: p.age_band,
        sex: p.sex,
        specialty: p.specialty,
        solved: p.solved,
        since,
    };
    let query =
        SearchQuery::new(p.q.as_deref().unwrap_or(""), &filters, p.limit, p.cursor.as_deref())
            .map_err(|e| refused(&e))?;
    let store = state.store.clone();
    // What was stored before this search is found by it (a bounded wait:
    // `REFRESH_WAIT` and `REFRESH_GAP`).
    let page = tokio::task::spawn_blocking(move || {
        index.refresh(&store)?;
        index.search(&store, &query)
    })
    .await
    .map_err(|_| ApiError::internal("the search task failed"))?
    .map_err(|e| {
        tracing::error!(error = %e, "a search failed");
        ApiError::internal(format!("the search failed: {e}"))
    })?;
    let results = page
        .hits
        .into_iter()
        .map(|h| SearchResult {
            id: h.found.id,
            kind: h.found.kind.as_str().to_string(),
            hub: h.found.hub.map(|x| x.as_str().to_string()),
            author: h.found.author,
            specialties: h.found.specialties,
            title: h.found.title,
            snippet: h.snippet,
            highlights: h.highlighted.into_iter().map(|r| [r.start, r.end]).collect(),
            created_at: h.found.created_at,
            score: h.score,
            tags: h.found.tags,
            age_band: h.found.age_band.map(str::to_string),
            sex: h.found.sex.map(str::to_string),
            solved: h.found.solved,
        })
        .collect();
    Ok(Json(SearchAnswer { results, next_cursor: page.next_cursor }))
}
