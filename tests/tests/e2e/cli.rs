//! The `curbside` binary, run as a user would run it.

#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use curbside_tests::curbside_bin;

fn check_text(text: &str, json: bool) -> (i32, String) {
    let mut cmd = Command::new(curbside_bin());
    cmd.arg("check-text").arg("-");
    if json {
        cmd.arg("--json");
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn clinical_text_passes_the_guard() {
    let (code, out) =
        check_text("BP 120/80, HbA1c 7.2%, T 38.5C, 2 weeks ago, GCS 14/15, EF 35%", false);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no identifiers found"));
}

#[test]
fn identifiers_are_shown_with_their_text_and_fail_the_command() {
    let (code, out) = check_text("Seen 12/03/2024, MRN 1234567, call 020 7946 0958.", false);
    assert_eq!(code, 1);
    for needle in ["MRN 1234567", "020 7946 0958", "12/03/2024", "3 identifier(s)"] {
        assert!(out.contains(needle), "{needle} missing from:\n{out}");
    }
    let (code, json) = check_text("MRN 1234567", true);
    assert_eq!(code, 1);
    assert_eq!(
        json.trim(),
        r#"{"findings":[{"end":11,"excerpt":"MRN 1234567","kind":"record_number","start":0}],"warnings":[]}"#
    );
}

/// Issue 15: what the guard cannot decide is a warning, which does not
/// fail `check-text`; findings and warnings come together in its JSON.
#[test]
fn check_text_json_gives_findings_and_warnings() {
    let (code, json) =
        check_text("Seen in June 2023 at St Mary's; PR 220 ms. Pacemaker fine.", true);
    assert_eq!(code, 0, "{json}");
    let answer: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(answer["findings"], serde_json::json!([]));
    let kinds: Vec<&str> = answer["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["month_year", "institution"], "{json}");
    assert_eq!(answer["warnings"][1]["excerpt"], "St Mary's");
    let (code, json) = check_text("Mrs Whitfield, phone ６１７-５５５-０１４２", true);
    assert_eq!(code, 1, "{json}");
    let answer: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    let kinds: Vec<&str> = answer["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["person_name", "phone"], "{json}");
}

/// Issue 16: a poll open to a specialty the network does not name is
/// refused before signing, with the name the physician meant; so is an
/// attestation's.
#[test]
fn an_unknown_specialty_is_refused_with_the_nearest_names() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(curbside_bin())
        .arg("--home")
        .arg(home.path())
        .args(["--json", "poll", "--hub", "general", "--question", "Anticoagulate?"])
        .args(["--option", "yes", "--option", "no", "--closes-in", "1d"])
        .args(["--eligible", "cardiologist", "--node", "http://127.0.0.1:9"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let answer: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(answer["error"]["code"], "unknown_specialty", "{stdout}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("did you mean cardiology"), "{stdout}");
    let out = Command::new(curbside_bin())
        .arg("--home")
        .arg(home.path())
        .args(["attest", "-", "--specialty", "pediatrics", "--jurisdiction", "GB"])
        .args(["--licence", "GMC-1", "--valid-days", "30", "--node", "http://127.0.0.1:9"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr.contains("did you mean paediatrics") && stderr.contains("unknown_specialty"),
        "{stderr}"
    );
}

/// Issue 16: a charter or an attestation in a jurisdiction the network
/// does not name is refused before signing, with the code meant.
#[test]
fn an_unknown_jurisdiction_is_refused_with_the_nearest_names() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(curbside_bin())
        .arg("--home")
        .arg(home.path())
        .args(["--json", "attest", "-", "--specialty", "cardiology", "--jurisdiction", "UK"])
        .args(["--licence", "GMC-1", "--valid-days", "30", "--node", "http://127.0.0.1:9"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let answer: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(answer["error"]["code"], "unknown_jurisdiction", "{stdout}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("did you mean GB (United Kingdom)"), "{stdout}");
    let out = Command::new(curbside_bin())
        .arg("--home")
        .arg(home.path())
        .args(["charter", "--root-key", "missing.key", "--node"])
        .arg(curbside_protocol::testkit::key("st-elsewhere").public().to_string())
        .args(["--institution", "St Elsewhere", "--verify", "California", "--valid-days", "30"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr.contains("did you mean US-CA") && stderr.contains("unknown_jurisdiction"),
        "{stderr}"
    );
}

/// Issue 15: on a terminal, the warnings are shown and the author is asked
/// before anything is signed: "n" (or just Enter) signs nothing, "y" goes
/// on to sign. The terminal is a pseudo-terminal that util-linux `script`
/// makes; the answer is typed into it.
#[test]
fn on_a_terminal_the_author_is_asked_before_signing() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: util-linux `script` is not installed, so no terminal can be made");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let post = |answer: &str| {
        let command = format!(
            "{} --home {} post --hub general --title AS --body \"Transferred from St Mary's with severe AS.\" --node http://127.0.0.1:9",
            curbside_bin().display(),
            home.path().display()
        );
        let mut child = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env_remove("CURBSIDE_PASSPHRASE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(answer.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, screen) = post("n\n");
    assert!(screen.contains("\"St Mary's\"") && screen.contains("[y/N]"), "{screen}");
    assert_eq!(code, Some(1), "{screen}");
    assert!(screen.contains("nothing was signed (needs_confirmation)"), "{screen}");
    let (code, screen) = post("\n");
    assert_eq!(code, Some(1), "Enter alone is no: {screen}");
    // Yes: the command goes on to sign, and stops only for want of an
    // identity in this empty home.
    let (code, screen) = post("y\n");
    assert_eq!(code, Some(2), "{screen}");
    assert!(!screen.contains("needs_confirmation") && screen.contains("no identity"), "{screen}");
}

/// Issue 15: warnings are shown before signing; with --json and no --yes
/// the command refuses with `needs_confirmation`, listing them, and signs
/// nothing (here there is not even an identity or a node to sign with).
#[test]
fn warnings_need_confirmation_before_signing() {
    let home = tempfile::tempdir().unwrap();
    let post = |extra: &[&str]| {
        let out = Command::new(curbside_bin())
            .arg("--home")
            .arg(home.path())
            .args(["--json", "post", "--hub", "general", "--title", "AS", "--body"])
            .arg("Transferred from St Mary's with severe AS.")
            .args(["--node", "http://127.0.0.1:9"])
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, stdout, stderr) = post(&[]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let answer: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(answer["code"], "needs_confirmation", "{stdout}");
    assert_eq!(answer["warnings"][0]["excerpt"], "St Mary's");
    assert_eq!(answer["warnings"][0]["field"], "post.body");
    // With --yes the warnings are accepted and the command goes on to sign:
    // it stops only for want of an identity, after the guard.
    let (code, stdout, stderr) = post(&["--yes"]);
    assert_ne!(code, Some(0));
    assert!(!stdout.contains("needs_confirmation"), "{stdout}");
    assert!(stderr.contains("no identity"), "{stderr}");
    // A finding is refused whatever --yes says.
    let out = Command::new(curbside_bin())
        .arg("--home")
        .arg(home.path())
        .args([
            "--json", "case", "--hub", "general", "--title", "AS", "--age", "71", "--sex", "female",
        ])
        .args([
            "--presentation",
            "Syncope.",
            "--question",
            "TAVI?",
            "--tag",
            "mrn-12345678",
            "--yes",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("identifying_text") && stdout.contains("case.tags"), "{stdout}");
    // An implausible age is refused, not stored as 90+.
    let out = Command::new(curbside_bin())
        .arg("--home")
        .arg(home.path())
        .args(["case", "--hub", "general", "--title", "AS", "--age", "200", "--sex", "female"])
        .args(["--presentation", "Syncope.", "--question", "TAVI?"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a plausible age"));
}

#[test]
fn every_rejection_code_is_listed() {
    let out = Command::new(curbside_bin()).arg("codes").output().unwrap();
    assert!(out.status.success());
    let listed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(listed.lines().collect::<Vec<_>>(), curbside_protocol::Rejection::CODES.to_vec());
}

/// Settings come from the environment over node.toml, and a bad value is
/// refused naming the variable, before the node starts.
#[test]
fn environment_settings_are_checked_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let net = curbside_tests::Network::new();
    curbside_node::datadir::DataDir::init(&data, &net.genesis).unwrap();
    for (var, value) in [
        ("CURBSIDE_MAX_PENDING", "lots"),
        ("CURBSIDE_SESSION_HOURS", "0"),
        ("CURBSIDE_PENDING_MAX_AGE_SECS", "0"),
        ("CURBSIDE_SYNC_INTERVAL_SECS", "100000"),
        ("CURBSIDE_MDNS", "perhaps"),
        ("CURBSIDE_PEER_GOSSIP_BURST", "0"),
    ] {
        let mut child = Command::new(curbside_bin())
            .args(["node", "run", "--data"])
            .arg(&data)
            .args(["--api", "127.0.0.1:0", "--listen", "/ip4/127.0.0.1/tcp/0"])
            .env(var, value)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Refused at once; a node that started is stopped and fails the test.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let started = child.try_wait().unwrap().is_none();
        if started {
            child.kill().unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(!started && !out.status.success(), "{var}={value} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(var), "{var}={value}: {stderr}");
    }
}
