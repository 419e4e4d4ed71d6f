//! Crash safety: the node is killed with SIGKILL at random moments while
//! clients submit events and it issues attestations; after each kill its
//! store must open, pass `Store::check`, and hold every acknowledged event
//! (see `curbside_tests::crash`).
//!
//! The long run (docs/SECURITY.md, "Crash safety"):
//!
//! ```text
//! cargo build --release -p curbside
//! CURBSIDE_CRASH_KILLS=1000 cargo test --release -p curbside-tests --test crash -- --ignored --nocapture
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use curbside_tests::crash::{CrashConfig, CrashReport, run};

fn assert_passed(report: &CrashReport) {
    eprintln!("{}", serde_json::to_string(report).unwrap());
    assert!(report.passed(), "crash run failed (seed {}): {report:#?}", report.seed);
}

#[test]
fn every_acknowledged_event_survives_twenty_five_kills() {
    let report = run(&CrashConfig::new(25));
    assert_passed(&report);
    assert_eq!(report.kills, 25);
    // The clients and the verifier got work done between the kills.
    assert!(report.acknowledged > 100, "{report:?}");
    assert!(report.attestations > 3, "{report:?}");
}

/// The long version: `CURBSIDE_CRASH_KILLS` kills (default 1,000).
#[test]
#[ignore = "minutes long: run it with --ignored (docs/SECURITY.md, Crash safety)"]
fn every_acknowledged_event_survives_a_thousand_kills() {
    let kills =
        std::env::var("CURBSIDE_CRASH_KILLS").ok().and_then(|k| k.parse().ok()).unwrap_or(1000);
    let report = run(&CrashConfig::new(kills));
    assert_passed(&report);
    assert_eq!(report.kills, kills);
}
