//! `POST /v1/events`: submit signed events; answered once they are durable.
//!
//! Work is spent only on callers who have earned it, in this order:
//!
//! 1. **Who pays for the checking.** Every event in a request costs its
//!    caller one token before any signature is checked: a physician's
//!    session from that physician's budget, a caller without credentials
//!    from the budget of its address (shared with every other such caller
//!    there, so through a proxy with all of them). The admin token pays
//!    nothing. Over the budget, the whole request is refused
//!    (`rate_limited`) and nothing is checked; with the budget empty it
//!    is refused before its body is even read.
//! 2. **What one physician may post.** An author's events go to ingest only
//!    while the author's own rate has room, and only those stored new are
//!    charged: forgeries and replays in someone's name cost them nothing.
//! 3. **What waits.** An event that waits for a parent or a poll this node
//!    lacks is asked of a few peers at once: stored if one has it, refused
//!    (`unknown_event`) if none does, and held, with a plain answer, if they
//!    could not all be asked. What ingest refuses rather than holds (unknown
//!    authors from strangers, unknown hubs, the pending set's budgets) comes
//!    back with its code.

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use base64::Engine as _;
use curbside_protocol::{Dependency, PublicKey, Rejection, SignedEvent};

use super::auth::Submitter;
use super::types::{EventOutcome, ExpiredEvent, PendingAnswer, Submit, SubmitAnswer, WaitingEvent};
use super::{ApiError, ApiJson, AppState};
use crate::codes::Code;
use crate::ingest::{IngestError, Outcome, Refusal, Source};
use crate::metrics::Origin;
use crate::net::fetch::{Asked, ask_peers};

impl Submit {
    /// Each submitted event decoded from its base64url text, or the
    /// rejection that answers it; the whole request is refused if it holds
    /// no event or more than [`MAX_EVENTS`]. Pure: nothing is stored,
    /// counted or rate limited here.
    pub(crate) fn decode(&self) -> Result<Vec<Result<SignedEvent, Rejection>>, ApiError> {
        if self.events.is_empty() || self.events.len() > MAX_EVENTS {
            return Err(ApiError::bad_request(format!("send 1 to {MAX_EVENTS} events")));
        }
        Ok(self.events.iter().map(|text| decode_one(text)).collect())
    }
}

fn decode_one(text: &str) -> Result<SignedEvent, Rejection> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|e| Rejection::Malformed { detail: format!("not base64url: {e}") })?;
    SignedEvent::decode(&bytes)
}

/// Most events in one request.
const MAX_EVENTS: usize = 1024;

/// Refusals the API decides itself are counted as the API's.
const AT_API: Origin = Origin::Submitted(Source::Local);

fn rate_limited(message: String) -> ApiError {
    ApiError::new(Code::RateLimited, message)
}

/// Takes the checking of `n` events from `who`'s budget, or says why not.
pub(super) fn pay_for_checking(
    state: &AppState,
    who: &Submitter,
    n: usize,
) -> Result<(), ApiError> {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    charge_budget(state, who, Some(n))
}

/// Refuses a request before its body is read if `who` has nothing left to
/// pay with: an empty budget must not buy a megabyte of reading and
/// parsing a request (the body's events are not known yet, so a budget
/// with room for one event lets it in, and [`pay_for_checking`] settles
/// the rest once it is read).
pub(super) fn has_budget(state: &AppState, who: &Submitter) -> Result<(), ApiError> {
    charge_budget(state, who, None)
}

/// Takes `n` tokens from `who`'s budget, or with `None` takes nothing and
/// checks there is at least one; the refusal says what the budget is.
fn charge_budget(state: &AppState, who: &Submitter, n: Option<u32>) -> Result<(), ApiError> {
    let now = std::time::Instant::now();
    let limits = state.submit_limits;
    let check = |available: u32, wait: f64| if available > 0 { Ok(()) } else { Err(wait) };
    let (taken, burst, whose) = match who {
        Submitter::Operator => return Ok(()),
        Submitter::Physician(key) => {
            let mut work = state.session_work.lock().unwrap_or_else(|p| p.into_inner());
            let taken = match n {
                Some(n) => work.take_n(key, n, now),
                None => check(work.available(key, now), work.wait(key, now)),
            };
            (taken, work.burst(), format!("{key}'s sessions"))
        }
        Submitter::Stranger(source) => {
            let mut work = state.strangers.lock().unwrap_or_else(|p| p.into_inner());
            let taken = match n {
                Some(n) => work.take_n(source, n, now),
                None => check(work.available(source, now), work.wait(source, now)),
            };
            (taken, work.burst(), format!("callers without a session from {}", source.ip()))
        }
    };
    let Err(wait) = taken else { return Ok(()) };
    state.metrics.record_refusal(AT_API, Code::RateLimited);
    if n.is_some_and(|n| n > burst) {
        return Err(rate_limited(format!(
            "{whose} may have at most {burst} events checked at once; send fewer a request"
        )));
    }
    let rates = match who {
        Submitter::Physician(_) => format!("{} events a minute", limits.session_per_minute),
        _ => format!("{} events a second", limits.stranger_per_second),
    };
    Err(rate_limited(format!(
        "{whose} have had {rates} checked (bursts of {burst}); try again in {:.0} s{}",
        wait.ceil().max(1.0),
        if matches!(who, Submitter::Stranger(_)) {
            "; a physician's session has a budget of its own"
        } else {
            ""
        }
    )))
}

/// A refusal if `event` is physicians' content whose author has no room
/// left for it (`room` counts down what this request may still send of
/// theirs). Nothing is taken here: only events stored are charged.
fn over_limit(
    state: &AppState,
    event: &SignedEvent,
    room: &mut std::collections::HashMap<PublicKey, u32>,
) -> Option<Refusal> {
    if event.kind().is_trust() {
        return None;
    }
    let now = std::time::Instant::now();
    let mut authors = state.authors.lock().unwrap_or_else(|p| p.into_inner());
    let left =
        room.entry(*event.author()).or_insert_with(|| authors.available(event.author(), now));
    if *left > 0 {
        *left -= 1;
        return None;
    }
    let wait = authors.wait(event.author(), now);
    let limit = state.author_limit;
    Some(Refusal::RateLimited {
        author: *event.author(),
        per_minute: limit.per_minute,
        burst: limit.burst,
        // Whole seconds, at least one: what the message has always said.
        wait_secs: wait.ceil().max(1.0) as u64,
    })
}

/// Charges each author for the events of theirs that were stored new.
fn charge_stored(state: &AppState, events: &[SignedEvent], outcomes: &[Outcome]) {
    let now = std::time::Instant::now();
    let mut authors = state.authors.lock().unwrap_or_else(|p| p.into_inner());
    for (event, outcome) in events.iter().zip(outcomes) {
        if matches!(outcome, Outcome::Stored { .. }) && !event.kind().is_trust() {
            authors.charge(event.author(), 1, now);
        }
    }
}

/// Most distinct missing events one request's events are asked of peers
/// for; the rest simply wait (a request names at most this many unknown
/// parents' worth of network round trips).
const MAX_ASKS: usize = 8;

/// What an event submitted here waits for, settled if it can be: a parent
/// or poll this node lacks is asked of its peers (`asked` remembers what
/// this request asked already).
async fn settle_waiting(
    state: &AppState,
    event: &SignedEvent,
    outcome: Outcome,
    asked: &mut std::collections::HashMap<curbside_protocol::EventId, Asked>,
) -> Result<Outcome, ApiError> {
    let Outcome::Pending { id, dependency: Dependency::Event(wanted), .. } = &outcome else {
        return Ok(outcome);
    };
    let (id, wanted) = (*id, *wanted);
    let asked = match asked.get(&wanted) {
        Some(answer) => *answer,
        None if asked.len() >= MAX_ASKS => return Ok(outcome),
        None => {
            let dependency = Dependency::Event(wanted);
            let answer = ask_peers(state.net.as_ref(), &state.ingester, &dependency).await;
            asked.insert(wanted, answer);
            answer
        }
    };
    if state.store.events().contains(&id)? {
        return Ok(Outcome::Stored { id });
    }
    match asked {
        Asked::NobodyHas => {
            state.store.pending().remove(&id)?;
            let refusal = Refusal::UnknownEvent { kind: event.kind(), wanted };
            state.metrics.record_refusal(AT_API, refusal.code());
            Ok(Outcome::Rejected { id, refusal })
        }
        Asked::Filled | Asked::NoAnswer => Ok(outcome),
    }
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    submitter: Submitter,
    request: Request,
) -> Result<(StatusCode, Json<SubmitAnswer>), ApiError> {
    has_budget(&state, &submitter)?;
    let ApiJson(req) = ApiJson::<Submit>::from_request(request, &state).await?;
    let each = req.decode()?;
    pay_for_checking(&state, &submitter, each.len())?;
    // Only decodable events within their author's rate go to ingest, in
    // order; the others are answered here (`Some`).
    let mut answers: Vec<Option<EventOutcome>> = Vec::with_capacity(each.len());
    let mut decoded = Vec::with_capacity(each.len());
    let mut room = std::collections::HashMap::new();
    for event in each {
        if let Ok(event) = &event
            && let Some(refused) = super::policy::refusal(event)
        {
            // Counted by the policy's own code (a title, a specialty, a
            // jurisdiction), not all as a title's.
            if let EventOutcome::Rejected { code, .. } = &refused {
                state.metrics.record_refusal(AT_API, *code);
            }
            answers.push(Some(refused));
            continue;
        }
        if let Ok(event) = &event
            && let Some(refused) = super::policy::edit_refusal(event, &state.store)?
        {
            state.metrics.record_refusal(AT_API, Code::NotYourEvent);
            answers.push(Some(refused));
            continue;
        }
        let (id, refusal) = match event {
            Ok(event) => match over_limit(&state, &event, &mut room) {
                Some(refusal) => (Some(event.id()), refusal),
                None => {
                    answers.push(None);
                    decoded.push(event);
                    continue;
                }
            },
            Err(r) => (None, Refusal::Invalid(r)),
        };
        state.metrics.record_refusal(AT_API, refusal.code());
        answers.push(Some(EventOutcome::refused(id, &refusal)));
    }
    let outcomes = if decoded.is_empty() {
        Vec::new()
    } else {
        let holder = submitter.holder();
        state.ingester.submit_live(Source::Local, holder, decoded.clone()).await.map_err(|e| {
            match e {
                IngestError::Stopped => ApiError::new(Code::ShuttingDown, e.to_string()),
                IngestError::Store(m) => ApiError::new(Code::Storage, m),
            }
        })?
    };
    let mut settled = Vec::with_capacity(outcomes.len());
    let mut asked = std::collections::HashMap::new();
    for (event, outcome) in decoded.iter().zip(outcomes) {
        settled.push(settle_waiting(&state, event, outcome, &mut asked).await?);
    }
    charge_stored(&state, &decoded, &settled);
    let max_age_secs = state.pending_max_age_ms / 1000;
    let mut outcomes = settled.iter();
    let mut all = Vec::with_capacity(answers.len());
    for answer in answers {
        match answer {
            Some(answer) => all.push(answer),
            None => {
                let o =
                    outcomes.next().ok_or_else(|| ApiError::internal("an event got no outcome"))?;
                all.push(EventOutcome::answer(o, max_age_secs));
            }
        }
    }
    let answer = SubmitAnswer::new(all);
    Ok((answer.http_status(), Json(answer)))
}

/// `GET /v1/pending`: the caller's own events held here, what each waits
/// for, and those dropped in the last week because it never came.
pub(crate) async fn pending(
    State(state): State<AppState>,
    submitter: Submitter,
) -> Result<Json<PendingAnswer>, ApiError> {
    let Submitter::Physician(key) = submitter else {
        return Err(ApiError::unauthenticated(
            "a physician's session says whose events to list: POST /v1/session/challenge, \
             sign it, POST /v1/session",
        ));
    };
    let max_age_ms = state.pending_max_age_ms;
    let waiting = (state.store.pending().waiting_by(&key)?.into_iter())
        .map(|w| WaitingEvent {
            expires_at: w.held_at.plus_millis(max_age_ms),
            held_at: w.held_at,
            id: w.id,
            kind: w.kind,
            received_at: w.received_at,
            waiting_for: w.waiting_for,
        })
        .collect();
    let expired = (state.store.pending().expired_by(&key)?.into_iter())
        .map(|e| ExpiredEvent {
            expired_at: e.expired_at,
            held_at: e.held_at,
            id: e.id,
            kind: e.kind,
            waiting_for: e.waiting_for,
        })
        .collect();
    Ok(Json(PendingAnswer { expired, key, waiting }))
}
