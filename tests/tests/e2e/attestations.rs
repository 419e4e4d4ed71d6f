//! Attestation management by an institution's operator: what the node
//! issued is listed and found by licence; a second attestation for the
//! same key or licence is refused unless it replaces the first; validity
//! stops at the charter's end; revoking a licence stops every key on it.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

use curbside_tests::{Network, TestNode};
use serde_json::Value;

use crate::cli_kit::{fails, ok, s};

/// `curbside attest` of `home`'s request at `node` for `licence`, with
/// `extra` flags; the command's output, or its failure's stderr.
fn attest(
    dir: &Path,
    node: &TestNode,
    home: &Path,
    licence: &str,
    extra: &[&str],
) -> Result<Value, String> {
    let token = dir.join("admin.token");
    std::fs::write(&token, &node.admin_token).unwrap();
    let request = s(&ok(home, &["id", "request", "--node", &node.url])["request"]);
    let mut args = vec![
        "--json",
        "attest",
        "-",
        "--specialty",
        "cardiology",
        "--jurisdiction",
        "GB",
        "--licence",
        licence,
        "--valid-days",
        "1000",
        "--token-file",
        token.to_str().unwrap(),
        "--node",
        &node.url,
    ];
    args.extend_from_slice(extra);
    let out = crate::cli_kit::run(&dir.join("institution"), &args, Some(&request));
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(crate::cli_kit::text(&out.stderr))
    }
}

fn admin<'a>(dir: &Path, node: &'a TestNode, args: &[&'a str]) -> Value {
    let token = dir.join("admin.token");
    let mut all: Vec<&str> = args.to_vec();
    let token = token.to_str().unwrap().to_owned();
    all.extend_from_slice(&["--token-file", &token, "--node", &node.url]);
    ok(&dir.join("institution"), &all)
}

#[test]
fn duplicates_are_refused_replaced_listed_and_revoked_by_licence() {
    let net = Network::new();
    let node = TestNode::start_peer(&net, &[], &["GB"]);
    let dir = tempfile::tempdir().unwrap();
    let (ada_home, bea_home) = (dir.path().join("ada"), dir.path().join("bea"));
    ok(&ada_home, &["id", "new", "--handle", "dr-ada"]);
    ok(&bea_home, &["id", "new", "--handle", "dr-bea"]);

    // Asked for 1000 days, given what the charter (365 days) allows.
    let first = attest(dir.path(), &node, &ada_home, "GMC 7654321", &[]).unwrap();
    assert_eq!(first["capped_at_charter_end"], true, "{first}");
    let until = first["valid_until"].as_u64().unwrap();
    let year = curbside_node::now().plus_days(366).as_millis();
    assert!(until < year, "valid until {until}, past the charter's end");

    // The same key again, and the same licence (written otherwise) on another key.
    let again = attest(dir.path(), &node, &ada_home, "GMC 7654321", &[]).unwrap_err();
    assert!(again.contains("(already_attested)"), "{again}");
    let other = attest(dir.path(), &node, &bea_home, "gmc7654321", &[]).unwrap_err();
    assert!(other.contains("(licence_in_use)") && other.contains("dr-ada"), "{other}");

    // --replace: the new one is issued and the old one revoked in one step.
    let replaced = attest(dir.path(), &node, &bea_home, "gmc7654321", &["--replace"]).unwrap();
    assert_eq!(replaced["replaced"], serde_json::json!([first["id"]]), "{replaced}");

    // The list, found by licence: one revoked (dr-ada), one in force (dr-bea).
    let listed = admin(dir.path(), &node, &["attestations", "--licence", "GMC7654321"]);
    let rows = listed["attestations"].as_array().unwrap();
    let standing = |handle: &str| {
        rows.iter().find(|r| r["handle"] == handle).map(|r| s(&r["standing"])).unwrap()
    };
    assert_eq!(
        (rows.len(), standing("dr-ada"), standing("dr-bea")),
        (2, "revoked".into(), "active".into())
    );
    let active = admin(dir.path(), &node, &["attestations", "--status", "active"]);
    assert_eq!(active["attestations"].as_array().unwrap().len(), 1, "{active}");

    // Revoke everything for the licence: dr-bea's goes too, and nothing stays in force.
    let revoked = admin(
        dir.path(),
        &node,
        &["revoke", "--licence", "GMC 7654321", "--reason", "licence suspended"],
    );
    assert_eq!(revoked["revoked"].as_array().unwrap().len(), 1, "{revoked}");
    assert_eq!(revoked["revoked"][0]["handle"], "dr-bea");
    let active = admin(dir.path(), &node, &["attestations", "--status", "active"]);
    assert!(active["attestations"].as_array().unwrap().is_empty(), "{active}");
    let (_, stderr) = fails(
        &dir.path().join("institution"),
        &[
            "revoke",
            "--licence",
            "GMC 7654321",
            "--reason",
            "again",
            "--token-file",
            dir.path().join("admin.token").to_str().unwrap(),
            "--node",
            &node.url,
        ],
        1,
    );
    assert!(stderr.contains("no attestation in force"), "{stderr}");
}
