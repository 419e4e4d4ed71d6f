//! The deployment artefacts in `deploy/`, checked by the tools that read
//! them where those tools are installed (and skipped, saying so, where not).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use curbside_tests::curbside_bin;

fn deploy(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("deploy").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `systemd-analyze verify` of the unit, with `ExecStart` pointed at this
/// build's binary (verify checks that it exists): no error and no warning,
/// since a misspelt hardening key is only a warning and would leave the
/// service unprotected.
#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("skipped: systemd-analyze is not installed here");
        return;
    }
    let unit = deploy("curbside-node.service");
    assert!(unit.contains("ExecStart=/usr/local/bin/curbside node run --data /var/lib/curbside"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("curbside-node.service");
    let bin = curbside_bin().display().to_string();
    std::fs::write(&path, unit.replace("/usr/local/bin/curbside", &bin)).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ours: Vec<&str> = stderr.lines().filter(|l| l.contains("curbside-node.service")).collect();
    assert!(out.status.success() && ours.is_empty(), "systemd-analyze verify:\n{stderr}");
}
