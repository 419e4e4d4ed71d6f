//! Strangers on the API: a keep-alive connection, and a flood of
//! submissions on several.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use curbside_protocol::SignedEvent;
use curbside_tests::wire;
use serde_json::json;

use super::{Tally, Target, stranger};
use crate::http::{Answer, Conn};

/// Counts each event outcome of `answer`, or the answer's own label when
/// it has none (a refused request).
fn count_outcomes(tally: &Tally, answer: &Answer) {
    let outcomes = answer.outcomes();
    if outcomes.is_empty() {
        tally.answered(&answer.label(), 1);
    }
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for o in outcomes {
        *counts.entry(o).or_default() += 1;
    }
    for (label, n) in counts {
        tally.answered(label, n);
    }
}

/// A stranger's keep-alive connection to the API, opened again when it fails.
#[derive(Debug)]
pub(crate) struct Client {
    from: String,
    to: SocketAddr,
    conn: Option<Conn>,
}

impl Client {
    pub(crate) fn new(from: String, to: SocketAddr) -> Self {
        Self { from, to, conn: None }
    }

    /// Posts `body` to `path`, counted in `tally` as a request of `events`
    /// events; its answer, or `None` (counted too) if the connection failed.
    pub(crate) fn post(
        &mut self,
        tally: &Tally,
        path: &str,
        events: u64,
        body: &[u8],
    ) -> Option<Answer> {
        let conn = match self.conn.take() {
            Some(conn) => Ok(conn),
            None => {
                tally.connected();
                Conn::open(&self.from, self.to)
            }
        };
        let answer = conn.and_then(|mut conn| {
            tally.sent(events, body.len() as u64);
            let answer = conn.post(path, None, body)?;
            self.conn = Some(conn);
            Ok(answer)
        });
        answer.map_err(|e| tally.answered(&format!("io {:?}", e.kind()), 1)).ok()
    }

    /// Submits `body` (`events` events) to `/v1/events` and counts each
    /// event's outcome; whether an answer came.
    pub(crate) fn submit(&mut self, tally: &Tally, events: u64, body: &[u8]) -> bool {
        let answer = self.post(tally, "/v1/events", events, body);
        if let Some(answer) = &answer {
            count_outcomes(tally, answer);
        }
        answer.is_some()
    }
}

/// A request body of events, ready to send.
#[derive(Debug)]
pub(crate) struct Submission {
    events: u64,
    body: Vec<u8>,
}

impl Submission {
    /// `{"events": [...]}` of `events`.
    pub(crate) fn of(events: &[SignedEvent]) -> Self {
        let wires: Vec<String> = events.iter().map(wire).collect();
        let body = json!({ "events": wires }).to_string().into_bytes();
        Self { events: events.len() as u64, body }
    }

    pub(crate) fn events(&self) -> u64 {
        self.events
    }

    pub(crate) fn body(&self) -> &[u8] {
        &self.body
    }

    /// `count` submissions, `make(i)` made on every core.
    pub(crate) fn made(count: usize, make: impl Fn(usize) -> Self + Sync) -> Vec<Self> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        std::thread::scope(|s| {
            let parts: Vec<_> = (0..threads)
                .map(|t| {
                    let make = &make;
                    s.spawn(move || {
                        (t..count).step_by(threads).map(|i| (i, make(i))).collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut all: Vec<(usize, Self)> =
                parts.into_iter().flat_map(|p| p.join().unwrap()).collect();
            all.sort_by_key(|(i, _)| *i);
            all.into_iter().map(|(_, s)| s).collect()
        })
    }
}

/// `connections` connections from the first stranger's address submit
/// `submissions` in turn, round and round, each as soon as the last was
/// answered, until stopped; engaged once answered after `engage_after`
/// events have been sent. The submissions are made beforehand, so that
/// the attacker, on the node's own cores here, spends little but the
/// sending (the node keeps nothing of events it refused, so a repeat
/// costs it what a new one would).
pub(crate) fn flood(
    target: &Target,
    tally: &Tally,
    connections: usize,
    engage_after: u64,
    submissions: &[Submission],
) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..connections {
            s.spawn(|| {
                let mut client = Client::new(stranger(0), target.api);
                while tally.running() {
                    let turn = next.fetch_add(1, Ordering::Relaxed);
                    let Submission { events, body } = &submissions[turn % submissions.len()];
                    if client.submit(tally, *events, body) {
                        if tally.events() >= engage_after {
                            tally.engage();
                        }
                    } else {
                        tally.pause(Duration::from_millis(50));
                    }
                }
            });
        }
    });
}
