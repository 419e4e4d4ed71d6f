//! Who holds the API's connections and what each is waiting for: the
//! global and per-address caps, and which connection gives way when the
//! node is full.
//!
//! A connection is, at any moment, either waiting on its client (for a
//! request to begin, for the rest of one, or for the client to read an
//! answer) or on the node (a handler at work). Only the first kind is
//! held against the client: it is timed out, and when every slot is taken
//! the connection that has kept the node waiting longest is closed to make
//! room. A physician's request arrives whole in milliseconds, so it is
//! never the one that has waited longest; idle and slow sockets are.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::source::Source;

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request to begin (new, or kept alive after an answer).
    Idle,
    /// A request has begun; its headers or body are still arriving.
    Receiving,
    /// The request is whole; a handler is at work.
    Working,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    /// When the phase began.
    since: Instant,
    /// Since when a write has been waiting for the client to read.
    write_blocked: Option<Instant>,
}

/// What a connection is doing, shared by its I/O, its requests and the
/// registry.
#[derive(Debug)]
pub(super) struct Activity {
    state: Mutex<State>,
}

/// Why a connection should be closed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Overdue {
    /// No request began within the idle timeout.
    Idle,
    /// A request's headers and body did not arrive within the request timeout.
    Request,
    /// The client did not read the answer within the request timeout.
    Write,
}

impl Activity {
    fn new(now: Instant) -> Self {
        Self { state: Mutex::new(State { phase: Phase::Idle, since: now, write_blocked: None }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes arrived from the client.
    pub(super) fn read(&self) {
        let mut state = self.lock();
        if state.phase == Phase::Idle {
            state.phase = Phase::Receiving;
            state.since = Instant::now();
        }
    }

    /// A request's headers are parsed; `whole` if it has no body to come.
    pub(super) fn request(&self, whole: bool) {
        let mut state = self.lock();
        if whole {
            state.phase = Phase::Working;
        } else if state.phase == Phase::Idle {
            // Its bytes were already buffered: it began now at the latest.
            state.phase = Phase::Receiving;
            state.since = Instant::now();
        }
    }

    /// The request's body has been read to its end.
    pub(super) fn body_done(&self) {
        self.lock().phase = Phase::Working;
    }

    /// The handler answered: the connection waits for the client again.
    pub(super) fn answered(&self) {
        let mut state = self.lock();
        state.phase = Phase::Idle;
        state.since = Instant::now();
    }

    /// A write could not proceed (`true`) or did (`false`).
    pub(super) fn write_blocked(&self, blocked: bool) {
        let mut state = self.lock();
        match (blocked, state.write_blocked) {
            (true, None) => state.write_blocked = Some(Instant::now()),
            (false, Some(_)) => state.write_blocked = None,
            _ => {}
        }
    }

    /// Whether the connection is waiting on its client now.
    pub(super) fn waits_on_client(&self) -> bool {
        self.waiting_since().is_some()
    }

    /// Since when the connection has kept the node waiting on its client,
    /// if it has.
    fn waiting_since(&self) -> Option<Instant> {
        let state = self.lock();
        match (state.phase, state.write_blocked) {
            (_, Some(blocked)) => Some(blocked),
            (Phase::Working, None) => None,
            (Phase::Idle | Phase::Receiving, None) => Some(state.since),
        }
    }

    /// Whether a timeout has run out at `now`.
    pub(super) fn overdue(&self, now: Instant, limits: &Timeouts) -> Option<Overdue> {
        let state = self.lock();
        if state.write_blocked.is_some_and(|t| now.duration_since(t) > limits.request) {
            return Some(Overdue::Write);
        }
        let waited = now.duration_since(state.since);
        match state.phase {
            Phase::Idle if waited > limits.idle => Some(Overdue::Idle),
            Phase::Receiving if waited > limits.request => Some(Overdue::Request),
            _ => None,
        }
    }
}

/// The timeouts a connection is held to.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timeouts {
    /// Waiting for a request to begin.
    pub(super) idle: Duration,
    /// From a request's first byte to its last; and a write the client
    /// does not read.
    pub(super) request: Duration,
}

/// Why a connection was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Its address holds `per_address` connections already.
    TooManyFromAddress,
    /// Every slot is taken by a connection the node is working for.
    Full,
}

struct Held {
    source: Source,
    /// Exempt from the per-address cap (a proxy).
    exempt: bool,
    activity: Arc<Activity>,
    close: Option<oneshot::Sender<()>>,
}

struct Inner {
    next: u64,
    held: HashMap<u64, Held>,
    per_source: HashMap<Source, usize>,
}

/// The connections the API holds.
pub(super) struct Registry {
    max: usize,
    per_address: usize,
    proxies: Vec<IpAddr>,
    inner: Mutex<Inner>,
}

/// A connection's place in the registry; dropping it frees the place.
pub(super) struct Ticket {
    id: u64,
    registry: Arc<Registry>,
    pub(super) activity: Arc<Activity>,
    /// Fires when the registry closes the connection to make room.
    pub(super) closed: oneshot::Receiver<()>,
}

impl Registry {
    pub(super) fn new(max: usize, per_address: usize, proxies: Vec<IpAddr>) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            per_address: per_address.max(1),
            proxies,
            inner: Mutex::new(Inner { next: 0, held: HashMap::new(), per_source: HashMap::new() }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a connection from `ip`, closing the one that has kept the
    /// node waiting longest if every slot is taken.
    pub(super) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Ticket, Refusal> {
        let source = Source::of(ip);
        let exempt = self.proxies.iter().any(|p| Source::of(*p) == source);
        let mut inner = self.lock();
        if !exempt && inner.per_source.get(&source).copied().unwrap_or(0) >= self.per_address {
            return Err(Refusal::TooManyFromAddress);
        }
        if inner.held.len() >= self.max && !Self::close_longest_waiting(&mut inner) {
            return Err(Refusal::Full);
        }
        let id = inner.next;
        inner.next += 1;
        let activity = Arc::new(Activity::new(Instant::now()));
        let (close, closed) = oneshot::channel();
        inner
            .held
            .insert(id, Held { source, exempt, activity: activity.clone(), close: Some(close) });
        if !exempt {
            *inner.per_source.entry(source).or_default() += 1;
        }
        Ok(Ticket { id, registry: self.clone(), activity, closed })
    }

    /// Closes the connection that has kept the node waiting longest, if
    /// any; whether one was.
    pub(super) fn close_one(&self) -> bool {
        Self::close_longest_waiting(&mut self.lock())
    }

    fn close_longest_waiting(inner: &mut Inner) -> bool {
        let victim = inner
            .held
            .iter()
            .filter_map(|(id, held)| Some((held.activity.waiting_since()?, *id)))
            .min()
            .map(|(_, id)| id);
        let Some(id) = victim else { return false };
        if let Some(mut held) = Self::forget(inner, id)
            && let Some(close) = held.close.take()
        {
            let _ = close.send(());
        }
        true
    }

    fn forget(inner: &mut Inner, id: u64) -> Option<Held> {
        let held = inner.held.remove(&id)?;
        if !held.exempt
            && let Some(n) = inner.per_source.get_mut(&held.source)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.per_source.remove(&held.source);
            }
        }
        Some(held)
    }

    /// The per-address cap.
    pub(super) fn per_address(&self) -> usize {
        self.per_address
    }

    /// Connections held now.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().held.len()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        Registry::forget(&mut self.registry.lock(), self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_address_over_its_cap_is_refused_but_a_proxy_is_not() {
        let registry = Registry::new(100, 2, vec![ip("127.0.0.1")]);
        let _held: Vec<Ticket> = (0..2).map(|_| registry.admit(ip("192.0.2.7")).unwrap()).collect();
        assert_eq!(registry.admit(ip("192.0.2.7")).err(), Some(Refusal::TooManyFromAddress));
        assert!(registry.admit(ip("192.0.2.8")).is_ok());
        let _proxy: Vec<Ticket> =
            (0..10).map(|_| registry.admit(ip("127.0.0.1")).unwrap()).collect();
        drop(_held);
        assert!(registry.admit(ip("192.0.2.7")).is_ok(), "freed when closed");
    }

    #[test]
    fn when_full_the_longest_waiting_connection_gives_way_and_busy_ones_do_not() {
        let registry = Registry::new(3, 10, Vec::new());
        let mut oldest = registry.admit(ip("192.0.2.1")).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let working = registry.admit(ip("192.0.2.2")).unwrap();
        working.activity.request(true);
        let mut newer = registry.admit(ip("192.0.2.3")).unwrap();
        let _new = registry.admit(ip("192.0.2.4")).unwrap();
        assert_eq!(oldest.closed.try_recv(), Ok(()), "the idle one that waited longest");
        assert!(newer.closed.try_recv().is_err());
        assert_eq!(registry.len(), 3);
        // Now the newer idle one is the only one to give way, then none is.
        newer.activity.request(true);
        _new.activity.request(true);
        assert_eq!(registry.admit(ip("192.0.2.5")).err(), Some(Refusal::Full));
    }

    #[test]
    fn timeouts_count_what_the_client_keeps_the_node_waiting_for() {
        let limits = Timeouts { idle: Duration::from_secs(60), request: Duration::from_secs(10) };
        let start = Instant::now();
        let activity = Activity::new(start);
        assert_eq!(activity.overdue(start + Duration::from_secs(59), &limits), None);
        assert_eq!(activity.overdue(start + Duration::from_secs(61), &limits), Some(Overdue::Idle));
        activity.read();
        let began = Instant::now();
        assert_eq!(
            activity.overdue(began + Duration::from_secs(11), &limits),
            Some(Overdue::Request)
        );
        activity.request(false);
        activity.body_done();
        assert_eq!(activity.overdue(began + Duration::from_secs(3600), &limits), None);
        activity.write_blocked(true);
        assert_eq!(
            activity.overdue(Instant::now() + Duration::from_secs(11), &limits),
            Some(Overdue::Write)
        );
        activity.write_blocked(false);
        activity.answered();
        assert_eq!(activity.overdue(Instant::now() + Duration::from_secs(11), &limits), None);
    }
}
