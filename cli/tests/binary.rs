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
