//! The binary's own surface: help, version, and a clear error for a bad command.
//!
//! (Having an integration test here also makes `cargo test --workspace`
//! build the real `curbside` binary, which the end-to-end tests in `tests/` run.)

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn curbside(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_curbside")).args(args).output().unwrap()
}

#[test]
fn version_and_help() {
    let out = curbside(&["--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("curbside "));
    let help = curbside(&["--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("check-text"));
}

#[test]
fn an_unknown_command_fails_with_a_message() {
    let out = curbside(&["no-such-command"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand"));
}

#[test]
fn a_missing_file_says_which() {
    let out = curbside(&["check-text", "/nonexistent/case.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reading /nonexistent/case.txt"));
}

fn curbside_in(home: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_curbside"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("CURBSIDE_NODE")
        .env_remove("CURBSIDE_PASSPHRASE")
        .output()
        .unwrap()
}

#[test]
fn identifiers_are_refused_before_anything_is_signed() {
    let home = tempfile::tempdir().unwrap();
    let out = curbside_in(
        home.path(),
        &["post", "--hub", "general", "--title", "Chest pain", "--body", "MRN 1234567, 12/03/2024"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in ["post.body", "\"MRN 1234567\"", "\"12/03/2024\"", "(identifying_text)"] {
        assert!(err.contains(needle), "{needle} missing from:\n{err}");
    }
    // --json: the findings on stdout, with field and text.
    let out = curbside_in(
        home.path(),
        &["--json", "comment", &"ab".repeat(32), "--body", "call 020 7946 0958"],
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["findings"][0]["field"], "comment.body");
    assert_eq!(json["findings"][0]["text"], "020 7946 0958");
}

#[test]
fn json_errors_are_json_on_stdout() {
    let home = tempfile::tempdir().unwrap();
    // No node listens on port 1.
    let out =
        curbside_in(home.path(), &["--json", "--node", "http://127.0.0.1:1", "feed", "general"]);
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{json}");
    assert!(json["error"]["code"].is_string(), "{json}");
}

#[test]
fn usage_mistakes_exit_2_with_what_to_do() {
    let home = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["vote", &"ab".repeat(32), "--option", "0"], "numbered 1 to 8"),
        (&["comment", "abc", "--body", "hi"], "not an event id"),
        (
            &["poll", "--hub", "general", "--question", "Q?", "--option", "A", "--closes-in", "7d"],
            "2 to 8 options",
        ),
        (
            &[
                "poll",
                "--hub",
                "general",
                "--question",
                "Q?",
                "--option",
                "A",
                "--option",
                "B",
                "--closes-in",
                "7",
            ],
            "7d",
        ),
        (
            &[
                "case",
                "--hub",
                "general",
                "--title",
                "T",
                "--age",
                "old",
                "--presentation",
                "p",
                "--question",
                "q",
            ],
            "not an age band",
        ),
        (&["post", "--hub", "general", "--title", "T", "--body", "B"], "curbside id new"),
        (&["id", "show"], "curbside id new"),
        (&["node", "run", "--data", "/nonexistent/curbside"], "node init"),
        (&["node", "run", "--listen", "0.0.0.0:4001"], "not a multiaddr"),
    ];
    for (args, needle) in cases {
        let out = curbside_in(home.path(), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{args:?}: {needle} missing from {err}"
        );
    }
}

#[test]
fn no_node_says_how_to_start_one() {
    let home = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    // The development node's token makes `feed` try the node without an identity.
    let token = home.path().join("dev/node/admin.token");
    std::fs::create_dir_all(token.parent().unwrap()).unwrap();
    std::fs::write(&token, "t0k3n\n").unwrap();
    let out = curbside_in(home.path(), &["feed", "general", "--node", &url]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("no node answers at {url}: is the address right?"))
            && err.contains("`curbside node run`"),
        "{err}"
    );
}
