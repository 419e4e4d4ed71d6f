//! Operators as people, through the command line on a real node: the
//! owner (the data directory's admin token) makes credentials for two
//! members of staff; each attests and revokes with their own; the admin
//! log shows every action under its operator's name; a revoked operator's
//! credential is refused at once; `admin list` never shows a secret.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use curbside_tests::{Network, TestNode};
use serde_json::Value;

use crate::cli_kit::{fails, ok, ok_with, run, s, text};

/// `--data DATA --node URL`, then `extra`.
fn with_node<'a>(node: &'a TestNode, data: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = extra.to_vec();
    args.extend_from_slice(&["--data", data, "--node", &node.url]);
    args
}

/// `curbside attest` of `physician`'s request, by the operator whose
/// credential is in `credential`; the attestation's id.
fn attest(
    institution: &Path,
    node: &TestNode,
    physician: &Path,
    licence: &str,
    credential: &Path,
) -> String {
    let request = s(&ok(physician, &["id", "request", "--node", &node.url])["request"]);
    let data = node.data_dir().to_str().unwrap();
    let args = with_node(
        node,
        data,
        &[
            "attest",
            "-",
            "--specialty",
            "cardiology",
            "--jurisdiction",
            "GB",
            "--licence",
            licence,
            "--valid-days",
            "30",
            "--token-file",
            credential.to_str().unwrap(),
        ],
    );
    s(&ok_with(institution, &args, Some(&request))["id"])
}

#[test]
fn each_operator_is_logged_by_name_and_a_revoked_one_is_refused() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let dir = tempfile::tempdir().unwrap();
    let institution = dir.path().join("institution");
    let data = node.data_dir().to_str().unwrap().to_owned();

    // The owner makes two operators: one credential written to a file, one printed.
    let ada_file = dir.path().join("ada.token");
    let made = ok(
        &institution,
        &with_node(&node, &data, &["admin", "add", "ada", "--out", ada_file.to_str().unwrap()]),
    );
    assert!(made.get("credential").is_none(), "written to a file, not printed: {made}");
    let mode = std::fs::metadata(&ada_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let ada = std::fs::read_to_string(&ada_file).unwrap().trim().to_owned();
    let bea =
        s(&ok(&institution, &with_node(&node, &data, &["admin", "add", "bea"]))["credential"]);
    assert!(bea.starts_with("curbside-admin-") && ada.starts_with("curbside-admin-"));
    let bea_file = dir.path().join("bea.token");
    std::fs::write(&bea_file, &bea).unwrap();
    // A name is given once.
    let (_, stderr) = fails(&institution, &with_node(&node, &data, &["admin", "add", "ada"]), 1);
    assert!(stderr.contains("(operator_exists)"), "{stderr}");

    // Each attests a physician with their own credential; bea revokes ada's.
    let (one, two) = (dir.path().join("dr-one"), dir.path().join("dr-two"));
    ok(&one, &["id", "new", "--handle", "dr-one"]);
    ok(&two, &["id", "new", "--handle", "dr-two"]);
    let by_ada = attest(&institution, &node, &one, "GMC 1111111", &ada_file);
    let by_bea = attest(&institution, &node, &two, "GMC 2222222", &bea_file);
    let bea_flag = bea_file.to_str().unwrap();
    ok(
        &institution,
        &with_node(
            &node,
            &data,
            &["revoke", &by_ada, "--reason", "left the hospital", "--token-file", bea_flag],
        ),
    );

    // The owner revokes bea: her next call is refused at once, as that.
    ok(&institution, &with_node(&node, &data, &["admin", "revoke", "bea"]));
    let (_, stderr) = fails(
        &institution,
        &with_node(&node, &data, &["revoke", &by_bea, "--reason", "x", "--token-file", bea_flag]),
        1,
    );
    assert!(stderr.contains("(operator_revoked)") && stderr.contains("bea"), "{stderr}");
    let (_, stderr) = fails(
        &institution,
        &with_node(&node, &data, &["admin", "log", "--token-file", bea_flag]),
        1,
    );
    assert!(stderr.contains("(operator_revoked)"), "{stderr}");

    // The list names everyone and holds no secret, as JSON or as text.
    let listed = ok(&institution, &with_node(&node, &data, &["admin", "list"]));
    let names: Vec<String> =
        listed["operators"].as_array().unwrap().iter().map(|o| s(&o["name"])).collect();
    assert_eq!(names, ["owner", "ada", "bea"]);
    let bea_row = &listed["operators"][2];
    assert_eq!(
        (s(&bea_row["revoked_by"]), s(&bea_row["created_by"])),
        ("owner".into(), "owner".into())
    );
    let table = run(&institution, &with_node(&node, &data, &["admin", "list"]), None);
    assert!(table.status.success());
    let secrets = [&ada[ada.len() - 64..], &bea[bea.len() - 64..], node.admin_token.as_str()];
    for shown in [listed.to_string(), text(&table.stdout), text(&table.stderr)] {
        for secret in secrets {
            assert!(!shown.contains(secret), "a secret in `admin list`: {shown}");
        }
    }

    // The log: each action under its operator's name, with its target.
    let log = ok(&institution, &with_node(&node, &data, &["admin", "log"]));
    let entries = log["entries"].as_array().unwrap();
    let find = |who: &str, action: &str| -> Vec<&Value> {
        entries.iter().filter(|e| e["operator"] == who && e["action"] == action).collect()
    };
    let ada_attests = find("ada", "attest");
    assert_eq!(ada_attests.len(), 1, "{log}");
    assert_eq!(
        (ada_attests[0]["status"].as_u64(), s(&ada_attests[0]["target"]["attestation"])),
        (Some(200), by_ada.clone())
    );
    assert!(ada_attests[0]["target"]["licence_commitment"].is_string(), "{log}");
    assert_eq!(s(&find("bea", "attest")[0]["target"]["attestation"]), by_bea);
    let revokes = find("bea", "revoke");
    assert_eq!((revokes.len(), s(&revokes[0]["target"]["attestation"])), (1, by_ada.clone()));
    assert_eq!(find("owner", "add-operator").len(), 3, "two made, one refused: {log}");
    assert_eq!(s(&find("owner", "revoke-operator")[0]["target"]["operator"]), "bea");
    // Nothing was recorded for bea once revoked, and no licence number anywhere.
    assert!(find("bea", "revoke").iter().all(|e| e["status"] == 200), "{log}");
    assert!(!log.to_string().contains("1111111") && !log.to_string().contains("2222222"));

    // Filtered by operator and date; and as a table for people.
    let today = curbside_node::now().to_string()[..10].to_owned();
    let hers = ok(
        &institution,
        &with_node(&node, &data, &["admin", "log", "--operator", "bea", "--since", &today]),
    );
    let actions: Vec<String> =
        hers["entries"].as_array().unwrap().iter().map(|e| s(&e["action"])).collect();
    assert_eq!(actions, ["attest", "revoke"], "{hers}");
    let table = run(&institution, &with_node(&node, &data, &["admin", "log"]), None);
    let table = text(&table.stdout);
    assert!(
        table.lines().any(|l| l.contains("ada") && l.contains("attest") && l.contains(&by_ada)),
        "{table}"
    );
}
