//! The node's Prometheus metrics, counted where events are decided: on the
//! ingest thread, for every source (the API, gossip, sync, and pending
//! events released by what arrived), by the network task (syncs), and at
//! each scrape for what is a state rather than a count (the data disk's
//! free space, the peers). The API serves them at `/metrics`.
//!
//! Ingest does not import this module: it reports to an
//! [`OutcomeSink`](crate::ingest::OutcomeSink), which [`Metrics`]
//! implements, so the dependency runs one way (metrics → ingest).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::ingest::{Outcome, OutcomeSink, Source};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabel {
    code: &'static str,
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerifierLabel {
    verifier: String,
}

/// Where an outcome came from, as its label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Submitted through this node's API, by gossip or by sync.
    Submitted(Source),
    /// Held for a dependency, then stored once it arrived.
    Released,
}

impl Origin {
    fn label(self) -> &'static str {
        match self {
            Self::Submitted(Source::Local) => "api",
            Self::Submitted(Source::Gossip) => "gossip",
            Self::Submitted(Source::Sync) => "sync",
            Self::Released => "released",
        }
    }
}

/// The ingest thread's reports, counted.
impl OutcomeSink for Metrics {
    fn submitted(&self, source: Source, outcomes: &[Outcome]) {
        self.record(Origin::Submitted(source), outcomes);
    }

    fn released(&self, n: usize) {
        self.record_released(n);
    }
}

/// The node's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    accepted: Family<SourceLabel, Counter>,
    rejected: Family<RefusalLabel, Counter>,
    pending: Gauge,
    store_bytes: Gauge,
    events: Gauge,
    store_failed: Gauge,
    store_syncs: Gauge,
    gossip_ignored_busy: Counter,
    gossip_not_sent: Counter,
    gossip_judged: Histogram,
    peers_pruned: Counter,
    disk_free: Gauge,
    disk_size: Gauge,
    peers_connected: Gauge,
    peers_admitted: Gauge,
    peers_blocked: Gauge,
    syncs: Family<OutcomeLabel, Counter>,
    last_sync: Gauge,
    fork_evidence: Family<VerifierLabel, Gauge>,
    forked_verifiers: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("curbside");
        let accepted = Family::<SourceLabel, Counter>::default();
        let rejected = Family::<RefusalLabel, Counter>::default();
        let pending = Gauge::default();
        let store_bytes = Gauge::default();
        let events = Gauge::default();
        let store_failed = Gauge::default();
        registry.register(
            "events_accepted",
            "Events accepted and stored, by source",
            accepted.clone(),
        );
        registry.register(
            "events_rejected",
            "Events refused, by code and source",
            rejected.clone(),
        );
        registry.register("events_pending", "Events waiting for a dependency", pending.clone());
        registry.register("events_stored", "Events in the store", events.clone());
        registry.register("store_bytes", "Bytes the store uses on disk", store_bytes.clone());
        registry.register(
            "store_failed",
            "1 once a write or sync of the store failed (it then takes no writes), else 0",
            store_failed.clone(),
        );
        let store_syncs = Gauge::default();
        registry.register(
            "store_syncs",
            "Syncs (fdatasync) of the store's log since the node started: one per group commit \
             that acknowledged events, however many requests it answered",
            store_syncs.clone(),
        );
        let gossip_ignored_busy = Counter::default();
        registry.register(
            "gossip_ignored_busy",
            "Gossip messages ignored unjudged: too many were being judged already",
            gossip_ignored_busy.clone(),
        );
        let gossip_not_sent = Counter::default();
        registry.register(
            "gossip_not_sent",
            "Gossip messages not sent to a peer: its send queue was full or the message waited \
             too long in it (gossipsub's slow peer); the peer gets them by sync",
            gossip_not_sent.clone(),
        );
        // 1 ms to 32 s: a hop on an idle node takes a millisecond or two.
        let gossip_judged = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "gossip_judge_seconds",
            "Seconds from a gossip message's arrival to this node's verdict on it (decoded, \
             verified, validated and stored, or refused): how long each hop holds up the events \
             it forwards",
            gossip_judged.clone(),
        );
        let peers_pruned = Counter::default();
        registry.register(
            "peers_pruned",
            "Admitted peers disconnected because more than max_peers were connected (the \
             newest outside the gossip mesh first); not blocked",
            peers_pruned.clone(),
        );
        let disk_free = Gauge::default();
        registry.register(
            "data_free_bytes",
            "Bytes free on the disk that holds the data directory (for the node's user); \
             below min_free_disk_mb nothing new is held pending, and a full disk fails the store",
            disk_free.clone(),
        );
        let disk_size = Gauge::default();
        registry.register(
            "data_size_bytes",
            "Bytes in all on the disk that holds the data directory",
            disk_size.clone(),
        );
        let peers_connected = Gauge::default();
        registry.register(
            "peers_connected",
            "Peers connected now, admitted or not yet (0 when the node runs alone)",
            peers_connected.clone(),
        );
        let peers_admitted = Gauge::default();
        registry.register(
            "peers_admitted",
            "Peers connected now whose charter was checked: the nodes this one gossips and \
             syncs with",
            peers_admitted.clone(),
        );
        let peers_blocked = Gauge::default();
        registry.register(
            "peers_blocked",
            "Peers blocked now for what they sent (GET /v1/network says why)",
            peers_blocked.clone(),
        );
        let syncs = Family::<OutcomeLabel, Counter>::default();
        // Both outcomes shown from the start (at 0), so that a rate of
        // failures has a series before the first sync ends.
        for outcome in ["ok", "failed"] {
            let _ = syncs.get_or_create(&OutcomeLabel { outcome });
        }
        registry.register(
            "syncs",
            "Syncs with one peer finished, by outcome (ok or failed)",
            syncs.clone(),
        );
        let last_sync = Gauge::default();
        registry.register(
            "sync_last_ok_timestamp_seconds",
            "Unix time of the last sync with any peer that finished without error (0: none \
             since the node started)",
            last_sync.clone(),
        );
        let fork_evidence = Family::<VerifierLabel, Gauge>::default();
        registry.register(
            "log_fork_evidence",
            "Proofs held that a verifier (by node key) signed two inconsistent heads of its \
             audit log; any value above 0 needs an operator now (GET /v1/audit/evidence)",
            fork_evidence.clone(),
        );
        // Served from the start (at 0), unlike the family above, which has
        // a series only once there is proof: what an alert watches.
        let forked_verifiers = Gauge::default();
        registry.register(
            "log_forked_verifiers",
            "Verifiers this node holds proof against that they signed two inconsistent heads \
             of their audit log (0 while there is none)",
            forked_verifiers.clone(),
        );
        Self {
            disk_free,
            disk_size,
            peers_connected,
            peers_admitted,
            peers_blocked,
            syncs,
            last_sync,
            registry,
            fork_evidence,
            forked_verifiers,
            accepted,
            rejected,
            pending,
            store_bytes,
            events,
            store_failed,
            store_syncs,
            gossip_ignored_busy,
            gossip_not_sent,
            gossip_judged,
            peers_pruned,
        }
    }
}

fn gauge(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Metrics {
    /// Counts the outcomes of events from `origin`.
    pub fn record(&self, origin: Origin, outcomes: &[Outcome]) {
        let source = origin.label();
        for o in outcomes {
            match o {
                Outcome::Stored { .. } => {
                    self.accepted.get_or_create(&SourceLabel { source }).inc();
                }
                Outcome::Rejected { refusal, .. } => {
                    let code = refusal.code().as_str();
                    self.rejected.get_or_create(&RefusalLabel { code, source }).inc();
                }
                Outcome::Duplicate { .. } | Outcome::Pending { .. } => {}
            }
        }
    }

    /// Counts one refusal decided before ingest (at the API: an event
    /// that does not decode, or an author over their rate).
    pub fn record_refusal(&self, origin: Origin, code: crate::codes::Code) {
        let code = code.as_str();
        self.rejected.get_or_create(&RefusalLabel { code, source: origin.label() }).inc();
    }

    /// Counts `n` pending events stored once what they waited for arrived.
    pub fn record_released(&self, n: usize) {
        let source = Origin::Released.label();
        self.accepted.get_or_create(&SourceLabel { source }).inc_by(n as u64);
    }

    /// Sets the gauges from the store's counts.
    pub fn set_counts(&self, counts: &crate::store::StoreCounts) {
        self.pending.set(gauge(counts.pending));
        self.events.set(gauge(counts.events));
        self.store_bytes.set(gauge(counts.bytes_on_disk));
    }

    /// Counts one gossip message ignored because the network was judging
    /// as many as it may at once.
    pub fn record_gossip_ignored_busy(&self) {
        self.gossip_ignored_busy.inc();
    }

    /// Counts `n` gossip messages that could not be sent to a slow peer.
    pub fn record_gossip_not_sent(&self, n: usize) {
        self.gossip_not_sent.inc_by(u64::try_from(n).unwrap_or(u64::MAX));
    }

    /// Records how long the network waited for ingest's verdict on one
    /// gossip message.
    pub fn record_gossip_judged(&self, took: std::time::Duration) {
        self.gossip_judged.observe(took.as_secs_f64());
    }

    /// Counts an admitted peer disconnected for want of room.
    pub fn record_peer_pruned(&self) {
        self.peers_pruned.inc();
    }

    /// Sets the disk gauges: bytes free and in all on the data directory's
    /// disk (left as they were if the system does not say).
    pub fn set_disk(&self, free: Option<u64>, size: Option<u64>) {
        if let Some(free) = free {
            self.disk_free.set(gauge(free));
        }
        if let Some(size) = size {
            self.disk_size.set(gauge(size));
        }
    }

    /// Sets the peer gauges: connected, admitted among them, and blocked.
    pub fn set_peers(&self, connected: usize, admitted: usize, blocked: usize) {
        self.peers_connected.set(gauge(connected as u64));
        self.peers_admitted.set(gauge(admitted as u64));
        self.peers_blocked.set(gauge(blocked as u64));
    }

    /// Counts one finished sync with a peer; `ok_at` (Unix seconds) when
    /// it finished without error.
    pub fn record_sync(&self, ok_at: Option<u64>) {
        let outcome = if ok_at.is_some() { "ok" } else { "failed" };
        self.syncs.get_or_create(&OutcomeLabel { outcome }).inc();
        if let Some(at) = ok_at {
            self.last_sync.set(gauge(at));
        }
    }

    /// Sets the fork-evidence gauges: proofs held, per verifier.
    pub fn set_fork_evidence(&self, counts: &[(curbside_protocol::PublicKey, u64)]) {
        for (verifier, n) in counts {
            let label = VerifierLabel { verifier: verifier.to_string() };
            self.fork_evidence.get_or_create(&label).set(gauge(*n));
        }
        let forked = counts.iter().filter(|(_, n)| *n > 0).count();
        self.forked_verifiers.set(gauge(forked as u64));
    }

    /// Sets the store's health gauge.
    pub fn set_store_failed(&self, failed: bool) {
        self.store_failed.set(i64::from(failed));
    }

    /// Sets how many times the store's log has been synced.
    pub fn set_store_syncs(&self, syncs: u64) {
        self.store_syncs.set(gauge(syncs));
    }

    /// The OpenMetrics text.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::Metrics;

    fn sample<'t>(text: &'t str, name: &str) -> Option<&'t str> {
        text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
    }

    #[test]
    fn a_failed_sync_is_counted_but_does_not_move_the_last_good_one() {
        let metrics = Metrics::default();
        metrics.record_sync(Some(1_700_000_000));
        metrics.record_sync(None);
        metrics.set_peers(3, 2, 1);
        let text = metrics.encode().unwrap();
        assert_eq!(sample(&text, "curbside_sync_last_ok_timestamp_seconds"), Some("1700000000"));
        assert_eq!(sample(&text, "curbside_syncs_total{outcome=\"ok\"}"), Some("1"));
        assert_eq!(sample(&text, "curbside_syncs_total{outcome=\"failed\"}"), Some("1"));
        assert_eq!(sample(&text, "curbside_peers_connected"), Some("3"));
        assert_eq!(sample(&text, "curbside_peers_admitted"), Some("2"));
        assert_eq!(sample(&text, "curbside_peers_blocked"), Some("1"));
    }
}
