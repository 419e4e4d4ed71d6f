//! `GET /v1/me/inbox/stream`: new inbox items as Server-Sent Events.
//!
//! Each stream is a task that looks at the store once a second and
//! recomputes the physician's inbox when something was stored since (or
//! every [`RECHECK`], for polls that close with nothing stored), sending
//! each item it has not seen as an `item` event. Bounded: at most
//! [`PER_PHYSICIAN`] streams for one physician (so for any one session)
//! and [`OVERALL`] in all (`429 too_many_streams` past either); a stream
//! ends when its session ends or lapses (or its physician's attestation),
//! when its client goes, and when
//! the node stops ([`Streams::close`], called as the API stops taking
//! requests), so no stream holds a stopping node.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::State;
use axum::http::request::Parts;
use axum::response::sse::{Event, KeepAlive, Sse};
use curbside_protocol::PublicKey;

use super::auth::{Physician, bearer};
use super::me::{inbox_of, item_view};
use super::views::Views;
use super::{ApiError, AppState};
use crate::codes::Code;

/// Most streams one physician may hold open.
pub(crate) const PER_PHYSICIAN: usize = 4;
/// Most streams a node holds open.
pub(crate) const OVERALL: usize = 64;
/// How often a stream looks for something new.
const TICK: Duration = Duration::from_secs(1);
/// How often a stream recomputes the inbox with nothing stored meanwhile.
const RECHECK: Duration = Duration::from_secs(30);

/// The open streams, and the node's signal to end them.
#[derive(Debug)]
pub(crate) struct Streams {
    open: Mutex<HashMap<PublicKey, usize>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Default for Streams {
    fn default() -> Self {
        Self { open: Mutex::new(HashMap::new()), stop: tokio::sync::watch::channel(false).0 }
    }
}

/// Ends every stream (they stop within a tick); called when the node stops.
#[derive(Debug, Clone)]
pub struct StreamCloser(tokio::sync::watch::Sender<bool>);

impl StreamCloser {
    /// Ends every open stream, and refuses new ones.
    pub fn close(&self) {
        self.0.send_replace(true);
    }
}

impl Streams {
    /// What ends them all.
    pub(crate) fn closer(&self) -> StreamCloser {
        StreamCloser(self.stop.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PublicKey, usize>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a place for `me`'s new stream, if there is one.
    fn take(&self, me: PublicKey) -> Result<(), ApiError> {
        let mut open = self.lock();
        if open.values().sum::<usize>() >= OVERALL {
            return Err(ApiError::new(
                Code::TooManyStreams,
                format!("this node holds {OVERALL} inbox streams already; try again later"),
            ));
        }
        let mine = open.entry(me).or_default();
        if *mine >= PER_PHYSICIAN {
            return Err(ApiError::new(
                Code::TooManyStreams,
                format!("you hold {PER_PHYSICIAN} inbox streams on this node already: close one"),
            ));
        }
        *mine += 1;
        Ok(())
    }

    fn give_back(&self, me: &PublicKey) {
        let mut open = self.lock();
        if let Some(n) = open.get_mut(me) {
            *n -= 1;
            if *n == 0 {
                open.remove(me);
            }
        }
    }
}

/// A stream's place, given back when its task ends.
struct Place {
    state: AppState,
    me: PublicKey,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.state.streams.give_back(&self.me);
    }
}

/// The session token of a request (the stream ends with the session).
pub(crate) struct Token(String);

impl axum::extract::FromRequestParts<AppState> for Token {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        bearer(parts)
            .map(|t| Token(t.to_owned()))
            .ok_or_else(|| ApiError::unauthenticated("this call needs a session"))
    }
}

/// `GET /v1/me/inbox/stream`.
pub(crate) async fn stream(
    Physician(me): Physician,
    Token(token): Token,
    State(state): State<AppState>,
) -> Result<Sse<impl futures::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    if *state.streams.stop.borrow() {
        return Err(ApiError::shutting_down());
    }
    state.streams.take(me)?;
    let place = Place { state: state.clone(), me };
    let seen: HashSet<_> = inbox_of(&state, me).await?.iter().map(|i| i.event.id()).collect();
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(16);
    tokio::spawn(watch(place, token, seen, tx));
    let events = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok::<_, Infallible>(event), rx))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The stream's task: sends what is new until the session, the client or
/// the node ends it.
async fn watch(
    place: Place,
    token: String,
    mut seen: HashSet<curbside_protocol::EventId>,
    tx: tokio::sync::mpsc::Sender<Event>,
) {
    let state = place.state.clone();
    let me = place.me;
    let mut stop = state.streams.stop.subscribe();
    let mut events = state.store.counts().map(|c| c.events).unwrap_or(0);
    let mut checked = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = stop.wait_for(|stopping| *stopping) => break,
            () = tx.closed() => break,
            () = tokio::time::sleep(TICK) => {}
        }
        let live =
            state.sessions.lock().unwrap_or_else(|p| p.into_inner()).check(&token, crate::now());
        if live != Some(me) {
            break;
        }
        let now_events = state.store.counts().map(|c| c.events).unwrap_or(events);
        if now_events == events && checked.elapsed() < RECHECK {
            continue;
        }
        (events, checked) = (now_events, tokio::time::Instant::now());
        // A revoked or lapsed attestation ends the stream as it ends the
        // physician's sessions on their next request.
        let attested = state.store.events().attestation_status(&me, crate::now());
        if !attested.is_ok_and(|s| s.attested) {
            break;
        }
        let Ok(items) = inbox_of(&state, me).await else { break };
        let mut views = Views::new(&state.store);
        // Oldest first, as they arrived.
        for item in items.iter().rev().filter(|i| !seen.contains(&i.event.id())) {
            let Ok(view) = item_view(&mut views, item) else { continue };
            let event = Event::default().event("item").data(view.to_string());
            if tx.send(event).await.is_err() {
                return;
            }
        }
        // Only what the inbox holds now need be remembered: what left it
        // (older than its window, or taken back) does not come back new.
        seen = items.iter().map(|i| i.event.id()).collect();
    }
    drop(place);
}
