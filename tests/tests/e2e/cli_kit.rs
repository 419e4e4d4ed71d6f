//! Driving the `curbside` binary from a test, as a physician or an
//! institution would: an isolated home, fast key derivation, a fixed
//! passphrase, JSON answers. Shared by the areas that test through the
//! command line only (`story`, `typing`).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use curbside_tests::{TestNode, curbside_bin};
use serde_json::Value;

/// A passphrase strong enough for a new key (random words, not a famous
/// phrase).
pub(crate) const PASSPHRASE: &str = "gravel tulip anchor mosaic orbit";

/// A `curbside` command with an isolated environment (no node, home,
/// log level or editor from the caller's), fast key derivation and a
/// fixed passphrase.
pub(crate) fn curbside(home: &Path) -> Command {
    let mut cmd = Command::new(curbside_bin());
    cmd.env_remove("CURBSIDE_NODE")
        .env_remove("CURBSIDE_HOME")
        .env_remove("RUST_LOG")
        .env_remove("EDITOR")
        .env_remove("VISUAL")
        .env("CURBSIDE_PASSPHRASE", PASSPHRASE)
        .env("CURBSIDE_KDF_FAST", "1")
        .arg("--home")
        .arg(home)
        .stdin(Stdio::null());
    cmd
}

/// Runs `curbside ARGS`, with `stdin` on its standard input if given.
pub(crate) fn run(home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = curbside(home);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `curbside --json ARGS`, expecting success; its JSON answer.
pub(crate) fn ok(home: &Path, args: &[&str]) -> Value {
    ok_with(home, args, None)
}

/// [`ok`], with `stdin` on the command's standard input.
pub(crate) fn ok_with(home: &Path, args: &[&str], stdin: Option<&str>) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = run(home, &all, stdin);
    assert!(
        out.status.success(),
        "curbside {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("curbside {args:?}: not JSON ({e}): {}", text(&out.stdout)))
}

/// Runs `curbside ARGS` expecting exit code `code`; (stdout, stderr).
pub(crate) fn fails(home: &Path, args: &[&str], code: i32) -> (String, String) {
    let out = run(home, args, None);
    assert_eq!(
        out.status.code(),
        Some(code),
        "curbside {args:?}:\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    (text(&out.stdout), text(&out.stderr))
}

/// A JSON string's text (panics on anything else).
pub(crate) fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_owned()
}

/// A physician's home under `dir` with a key (handle `handle`) attested
/// at `node` as a cardiologist in GB, through the command line.
pub(crate) fn physician(dir: &Path, node: &TestNode, handle: &str) -> PathBuf {
    let token = dir.join("admin.token");
    std::fs::write(&token, &node.admin_token).unwrap();
    let home = dir.join(handle);
    ok(&home, &["id", "new", "--handle", handle]);
    let request = s(&ok(&home, &["id", "request", "--node", &node.url])["request"]);
    let licence = format!("GMC-{handle}");
    ok_with(
        &dir.join("institution"),
        &[
            "attest",
            "-",
            "--specialty",
            "cardiology",
            "--jurisdiction",
            "GB",
            "--licence",
            &licence,
            "--valid-days",
            "365",
            "--token-file",
            token.to_str().unwrap(),
            "--node",
            &node.url,
        ],
        Some(&request),
    );
    home
}
