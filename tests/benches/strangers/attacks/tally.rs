//! What an attack's threads share: the switch that stops them, and what
//! they sent and were answered.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A running attack's switch and counts, shared by its threads.
#[derive(Debug)]
pub(crate) struct Tally {
    /// When the attack first sent something (a connection or a request):
    /// its rates count from here, not from the making of its requests.
    started: OnceLock<Instant>,
    /// When it reached full strength.
    engaged_at: OnceLock<Instant>,
    stopped: Mutex<Option<Instant>>,
    stop: AtomicBool,
    engaged: AtomicBool,
    connections: AtomicU64,
    requests: AtomicU64,
    events: AtomicU64,
    bytes: AtomicU64,
    answers: Mutex<BTreeMap<String, u64>>,
    notes: Mutex<Vec<String>>,
}

/// What an attack did, once stopped.
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    /// From the first thing sent until the attack was stopped.
    pub(crate) seconds: f64,
    /// From the first thing sent until full strength.
    pub(crate) ramp_up: Option<f64>,
    /// Connections opened.
    pub(crate) connections: u64,
    /// HTTP requests sent.
    pub(crate) requests: u64,
    pub(crate) events: u64,
    pub(crate) bytes: u64,
    /// How the node answered, by outcome or code, with counts.
    pub(crate) answers: BTreeMap<String, u64>,
    pub(crate) notes: Vec<String>,
}

impl Tally {
    pub(crate) fn new() -> Self {
        Self {
            started: OnceLock::new(),
            engaged_at: OnceLock::new(),
            stopped: Mutex::new(None),
            stop: AtomicBool::new(false),
            engaged: AtomicBool::new(false),
            connections: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            events: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            answers: Mutex::new(BTreeMap::new()),
            notes: Mutex::new(Vec::new()),
        }
    }

    /// Whether the attack should go on.
    pub(crate) fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }

    /// Waits `d`, or less if the attack is stopped meanwhile; whether it
    /// is still running.
    pub(crate) fn pause(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        while self.running() && Instant::now() < until {
            std::thread::sleep(
                until.saturating_duration_since(Instant::now()).min(Duration::from_millis(50)),
            );
        }
        self.running()
    }

    /// Says the attack is at full strength.
    pub(crate) fn engage(&self) {
        self.engaged_at.get_or_init(Instant::now);
        self.engaged.store(true, Ordering::Relaxed);
    }

    pub(crate) fn engaged(&self) -> bool {
        self.engaged.load(Ordering::Relaxed)
    }

    pub(crate) fn stop(&self) {
        *self.stopped.lock().unwrap() = Some(Instant::now());
        self.stop.store(true, Ordering::Relaxed);
    }

    /// A connection opened.
    pub(crate) fn connected(&self) {
        self.started.get_or_init(Instant::now);
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// Events sent so far.
    pub(crate) fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }

    /// A request sent, carrying `events` events in `bytes` bytes.
    pub(crate) fn sent(&self, events: u64, bytes: u64) {
        self.started.get_or_init(Instant::now);
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(events, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// `n` answers of kind `label`.
    pub(crate) fn answered(&self, label: &str, n: u64) {
        *self.answers.lock().unwrap().entry(label.to_string()).or_default() += n;
    }

    pub(crate) fn note(&self, note: String) {
        self.notes.lock().unwrap().push(note);
    }

    pub(crate) fn summary(&self) -> Summary {
        let end = self.stopped.lock().unwrap().unwrap_or_else(Instant::now);
        Summary {
            seconds: self.started.get().map_or(0.0, |s| end.duration_since(*s).as_secs_f64()),
            ramp_up: self
                .started
                .get()
                .zip(self.engaged_at.get())
                .map(|(s, e)| e.duration_since(*s).as_secs_f64()),
            connections: self.connections.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            answers: self.answers.lock().unwrap().clone(),
            notes: self.notes.lock().unwrap().clone(),
        }
    }
}
