//! One phase's figures, and the table of all of them.

use std::collections::BTreeMap;

use curbside_tests::measure::percentile;

use crate::attacks::Summary;
use crate::clinic::Sample;

/// What one phase measured.
#[derive(Debug)]
pub(crate) struct Phase {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) samples: Vec<Sample>,
    pub(crate) attack: Option<Summary>,
    /// The node's CPU while the physicians posted, in cores (1.0 = one core busy).
    pub(crate) node_cpu: f64,
    /// This program's (physicians, attackers and, for the libp2p attack, the chartered node).
    pub(crate) bench_cpu: f64,
    /// Events the node held as pending at the end.
    pub(crate) pending: u64,
    /// The node's data directory (store and log) on disk at the end.
    pub(crate) disk_mb: f64,
    pub(crate) load: String,
}

impl Phase {
    fn stored(&self) -> usize {
        self.samples.iter().filter(|s| s.outcome.is_ok()).count()
    }

    /// Submit latencies of the stored events, sorted, in ms.
    fn latencies(&self) -> Vec<f64> {
        let mut ms: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| s.outcome.is_ok())
            .map(|s| s.waited.as_secs_f64() * 1e3)
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    }

    pub(crate) fn p99(&self) -> Option<f64> {
        percentile(&self.latencies(), 99.0)
    }

    fn failures(&self) -> BTreeMap<&str, usize> {
        let mut why = BTreeMap::new();
        for sample in &self.samples {
            if let Err(e) = &sample.outcome {
                *why.entry(e.as_str()).or_default() += 1;
            }
        }
        why
    }

    /// All stored, and p99 within twice `idle_p99`.
    fn met(&self, idle_p99: Option<f64>) -> bool {
        let within = match (self.p99(), idle_p99) {
            (Some(p99), Some(idle)) => p99 <= 2.0 * idle,
            _ => false,
        };
        self.stored() == self.samples.len() && within
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1}"))
}

/// The table, then each phase's details.
// The header's words go through the rows' format, so the columns line up.
#[allow(clippy::print_literal)]
pub(crate) fn print(phases: &[Phase]) {
    let idle_p99 = phases.first().and_then(Phase::p99);
    println!();
    println!(
        "{:<17}{:>6}{:>7}{:>9}{:>9}{:>9}{:>9}{:>7}{:>7}{:>8}{:>8}{:>9}{:>7}  {}",
        "phase",
        "posts",
        "stored",
        "p50 ms",
        "p99 ms",
        "max ms",
        "p99/idle",
        "node",
        "bench",
        "conn/s",
        "req/s",
        "events/s",
        "MB/s",
        "target"
    );
    for phase in phases {
        let latencies = phase.latencies();
        let ratio = match (phase.p99(), idle_p99) {
            (Some(p), Some(i)) => format!("{:.2}", p / i),
            _ => "-".into(),
        };
        let rate = |f: fn(&Summary) -> f64, digits: usize| {
            phase.attack.as_ref().map_or("-".into(), |a| format!("{:.digits$}", f(a) / a.seconds))
        };
        println!(
            "{:<17}{:>6}{:>7}{:>9}{:>9}{:>9}{:>9}{:>6.0}%{:>6.0}%{:>8}{:>8}{:>9}{:>7}  {}",
            phase.name,
            phase.samples.len(),
            phase.stored(),
            ms(percentile(&latencies, 50.0)),
            ms(percentile(&latencies, 99.0)),
            ms(latencies.last().copied()),
            ratio,
            phase.node_cpu * 100.0,
            phase.bench_cpu * 100.0,
            rate(|a| a.connections as f64, 1),
            rate(|a| a.requests as f64, 1),
            rate(|a| a.events as f64, 0),
            rate(|a| a.bytes as f64 / 1e6, 1),
            if phase.met(idle_p99) { "met" } else { "MISSED" },
        );
    }
    println!();
    for phase in phases {
        print_details(phase);
    }
}

fn print_details(phase: &Phase) {
    println!("{}:", phase.name);
    if let Some(description) = &phase.description {
        println!("  attack: {description}");
    }
    let failures = phase.failures();
    if !failures.is_empty() {
        let list: Vec<String> = failures.iter().map(|(why, n)| format!("{why} x{n}")).collect();
        println!("  physicians' submissions not stored: {}", list.join(", "));
    }
    if let Some(attack) = &phase.attack {
        let answers: Vec<String> = attack.answers.iter().map(|(a, n)| format!("{a} {n}")).collect();
        println!(
            "  attack: {} connections, {} requests, {} events, {:.1} MB in {:.1} s; the node's answers: {}",
            attack.connections,
            attack.requests,
            attack.events,
            attack.bytes as f64 / 1e6,
            attack.seconds,
            answers.join(", ")
        );
        if let Some(ramp_up) = attack.ramp_up {
            println!("  at full strength {ramp_up:.1} s after it started sending");
        }
        for note in &attack.notes {
            println!("  {note}");
        }
    }
    println!(
        "  at the end: {} events pending, {:.1} MB on disk; load average {}",
        phase.pending, phase.disk_mb, phase.load
    );
}
