//! Power loss: the node runs on a file system that loses everything not
//! synced at a cut (`curbside_tests::powercut`), while clients submit and
//! it issues attestations; after each cut every acknowledged event must be
//! there and the store must pass its check.
//!
//! Needs root and `/dev/fuse`, so it is not in the default run
//! (docs/SECURITY.md, Power loss):
//!
//! ```text
//! cargo build --release -p curbside
//! CURBSIDE_POWERCUT_TRIALS=30 cargo test --release -p curbside-tests --test e2e powercut:: -- --ignored --nocapture
//! ```
//!
//! `CURBSIDE_POWERCUT_BIN=PATH` runs another `curbside` binary as the node
//! (an older build, to see what it loses); `CURBSIDE_POWERCUT_SEED` replays
//! a schedule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use curbside_tests::powercut::{PowerCutConfig, run};

#[test]
#[ignore = "needs root and /dev/fuse: run it with --ignored (docs/SECURITY.md, Power loss)"]
fn no_acknowledged_event_is_lost_to_a_power_cut() {
    let trials =
        std::env::var("CURBSIDE_POWERCUT_TRIALS").ok().and_then(|t| t.parse().ok()).unwrap_or(20);
    let report = run(&PowerCutConfig::new(trials));
    eprintln!("{}", serde_json::to_string(&report).unwrap());
    assert!(report.passed(), "power-cut run failed (seed {}): {report:#?}", report.seed);
    assert_eq!(report.cuts, trials + 1);
}
