//! `curbside demo`, run as a user runs it: the real binary starts three
//! nodes on 127.0.0.1 and tells the whole story. It must succeed, report
//! every step passed, and leave nothing behind.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use curbside_tests::curbside_bin;
use serde_json::Value;

/// The demo takes a few seconds; this bounds it in a debug build on a
/// busy machine.
const LIMIT: Duration = Duration::from_secs(180);

/// The steps, in order: a script reading the report may rely on these keys.
const STEPS: [&str; 11] = [
    "start",
    "charter",
    "attest",
    "case",
    "comments",
    "poll",
    "revoke",
    "outage",
    "audit",
    "takedown",
    "struck_off",
];

#[test]
fn the_demo_tells_the_whole_story_and_cleans_up() {
    let scratch = tempfile::tempdir().unwrap();
    let stdout = scratch.path().join("stdout");
    let stderr = scratch.path().join("stderr");
    let mut child = Command::new(curbside_bin())
        .args(["--json", "demo"])
        .arg("--home")
        .arg(scratch.path().join("home"))
        .env_remove("RUST_LOG")
        .env_remove("CURBSIDE_NODE")
        .env("TMPDIR", scratch.path())
        .stdin(Stdio::null())
        // Files, not pipes: nothing can block on a full pipe.
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the demo did not end within {LIMIT:?}:\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let narration = std::fs::read_to_string(&stderr).unwrap();
    let out = std::fs::read_to_string(&stdout).unwrap();
    assert!(status.success(), "the demo failed ({status}):\n{narration}\n{out}");
    eprintln!("demo took {:?}", start.elapsed());

    let report: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("the report is not JSON ({e}):\n{out}"));
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["failed_step"], Value::Null, "{report:#}");
    assert_eq!(report["cleaned_up"], true, "{report:#}");
    let steps = report["steps"].as_array().unwrap();
    let keys: Vec<&str> = steps.iter().map(|s| s["key"].as_str().unwrap()).collect();
    assert_eq!(keys, STEPS);
    for step in steps {
        assert_eq!(step["status"], "passed", "{step:#}");
        let checks = step["checks"].as_array().unwrap();
        assert!(!checks.is_empty(), "a step without checks: {step:#}");
        assert!(checks.iter().all(|c| c["passed"] == true), "{step:#}");
    }

    // Real nodes, on loopback, with ports the OS chose.
    let nodes = steps[0]["facts"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    for node in nodes {
        let api = node["api"].as_str().unwrap();
        assert!(api.starts_with("http://127.0.0.1:"), "{api}");
        assert!(!api.ends_with(":7420"), "{api}");
    }
    // The poll's breakdown showed a group and suppressed small ones.
    let tally = &steps[5]["facts"]["tally"];
    assert_eq!(tally["voters"], 12, "{tally:#}");
    assert!(!tally["by_specialty"]["rows"].as_array().unwrap().is_empty(), "{tally:#}");
    assert!(tally["by_specialty"]["hidden_groups"].as_u64().unwrap() > 0, "{tally:#}");
    assert!(steps[7]["facts"]["catch_up_millis"].is_u64(), "{:#}", steps[7]);
    assert!(steps[9]["facts"]["takedown_millis"].is_u64(), "{:#}", steps[9]);
    // The regulator's audit read both hospitals' logs with no finding.
    let audit = &steps[8]["facts"]["audit"];
    assert_eq!(audit["finding_count"], 0, "{audit:#}");
    assert_eq!(audit["verifiers"].as_array().unwrap().len(), 2, "{audit:#}");
    // Then a hospital struck off dated an attestation back: refused, and named.
    let finding = &steps[10]["facts"]["struck_off_finding"];
    assert_eq!(finding["code"], "unwitnessed_leaf", "{finding:#}");
    assert!(finding["evidence"]["charter_ended_at"].is_u64(), "{finding:#}");

    // The narration went to stderr, numbered, with a mark per check.
    assert!(narration.contains(" 8. St James's goes offline"), "{narration}");
    assert!(narration.contains(" 9. A regulator audits"), "{narration}");
    assert!(narration.contains("10. A case names its patient"), "{narration}");
    assert!(narration.contains("11. A hospital struck off"), "{narration}");
    assert!(narration.contains("✓ "), "{narration}");
    assert!(!narration.contains("✗ "), "{narration}");

    // Nothing is left behind.
    let data = report["data_dir"].as_str().unwrap();
    assert!(data.starts_with(scratch.path().to_str().unwrap()), "{data}");
    assert!(!std::path::Path::new(data).exists(), "{data} is still there");
}
