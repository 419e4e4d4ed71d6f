//! A regulator's tools, against real nodes: `audit list` shows a
//! verifier's attestations from its checked log (and refuses a log that
//! does not check), and `reveal --all` then `audit licences` find a
//! licence attested to two keys by two institutions, a licence missing
//! from the register, an attestation outliving its licence and an opening
//! that does not open its commitment; a clean register passes.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use curbside_protocol::testkit::key;
use curbside_protocol::{AttestationRequest, EventId, Handle};
use curbside_tests::{Network, TestNode, wait_until};
use serde_json::{Value, json};

use crate::audit_cli::Proxy;
use crate::cli_kit::{fails, ok, run, s, text};

const LIMIT: Duration = Duration::from_secs(30);

/// Attests `who` at `node` for `licence` (GB, cardiology, a year) through
/// the admin API; the attestation's id.
fn attest(net: &Network, node: &TestNode, who: &str, licence: &str) -> EventId {
    let request = AttestationRequest::new(
        net.id(),
        &key(who),
        Handle::new(who).unwrap(),
        curbside_node::now(),
    );
    let (status, body) = node.post(
        "/v1/admin/attest",
        &json!({
            "request": request.to_text(),
            "specialties": ["cardiology"],
            "jurisdiction": "GB",
            "licence": licence,
            "valid_days": 300,
        }),
        Some(&node.admin_token),
    );
    assert_eq!(status, 200, "{body}");
    body["id"].as_str().unwrap().parse().unwrap()
}

/// `node`'s admin token in a file under `dir`; its path.
fn token_file(dir: &Path, name: &str, node: &TestNode) -> String {
    let path = dir.join(name);
    std::fs::write(&path, &node.admin_token).unwrap();
    path.to_str().unwrap().to_owned()
}

/// The one finding with `code` in an `audit licences --json` report.
fn finding_in(report: &Value, code: &str) -> Value {
    let all = report["findings"].as_array().unwrap();
    let with: Vec<&Value> = all.iter().filter(|f| f["code"] == code).collect();
    assert_eq!(with.len(), 1, "not one {code} in {report:#}");
    with[0].clone()
}

/// `audit licences` of `openings` against `register`, asking `node`.
fn licences<'a>(openings: &[&'a str], register: &'a str, node: &'a str) -> Vec<&'a str> {
    let mut args = vec!["audit", "licences"];
    for file in openings {
        args.extend(["--openings", file]);
    }
    args.extend(["--register", register, "--node", node]);
    args
}

/// The finding codes of an `audit licences --json` report, sorted.
fn codes(report: &Value) -> Vec<String> {
    let mut codes: Vec<String> =
        report["findings"].as_array().unwrap().iter().map(|f| s(&f["code"])).collect();
    codes.sort();
    codes
}

/// `curbside --json ARGS` expected to exit 1 with a report; the report.
fn findings(home: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = run(home, &all, None);
    assert_eq!(out.status.code(), Some(1), "{}\n{}", text(&out.stdout), text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// St Mary's (A) and St James's (B) both verify in GB. A attests four
/// physicians and revokes one; B attests a fifth on a licence A already
/// attested (each node refuses a second licence only among its own), so
/// one licence is in force on two keys. `audit list` shows A's log with
/// the revocation; the openings of both, checked against a register,
/// show the duplicate and the licence the register lacks.
#[test]
fn the_regulator_lists_a_log_and_finds_a_duplicate_and_a_licence_off_the_register() {
    let net = Network::new();
    let a = TestNode::start_peer(&net, &[], &["GB"]);
    let b = TestNode::start_peer(&net, &[a.p2p_addr()], &["GB"]);
    wait_until(LIMIT, "A and B to admit each other", || {
        a.admitted_peers() == 1 && b.admitted_peers() == 1
    });
    let ada = attest(&net, &a, "dr-ada", "GMC 1001");
    let bea = attest(&net, &a, "dr-bea", "GMC 1002");
    let cat = attest(&net, &a, "dr-cat", "GMC 1003");
    let dan = attest(&net, &a, "dr-dan", "GMC 9999");
    a.revoke(&cat, "licence suspended");
    let eve = attest(&net, &b, "dr-eve", "gmc1001");
    wait_until(LIMIT, "B to hold A's whole log, and A B's attestation", || {
        b.audit_log(&a.key).is_some_and(|l| l["size"] == 5)
            && a.get(&format!("/v1/audit/events/{eve}"), None).0 == 200
    });

    let dir = tempfile::tempdir().unwrap();
    let regulator = dir.path().join("regulator");

    // A's log, as both nodes show it, by the prefix the audit table prints.
    let short = a.key.short();
    let listed = ok(&regulator, &["audit", "list", &short, "--node", &a.url, "--node", &b.url]);
    assert_eq!(listed["verifier"], json!(a.key.to_string()));
    assert_eq!(listed["size"], 5, "{listed:#}");
    let rows = listed["attestations"].as_array().unwrap();
    let ids: Vec<String> = rows.iter().map(|r| s(&r["id"])).collect();
    let expected: Vec<String> = [ada, bea, cat, dan].iter().map(ToString::to_string).collect();
    assert_eq!(ids, expected, "in log order");
    let row = |id: &EventId| rows.iter().find(|r| r["id"] == json!(id.to_string())).unwrap();
    assert_eq!(row(&cat)["standing"], "revoked");
    assert_eq!(row(&cat)["revoked"]["reason"], "licence suspended");
    assert_eq!(row(&ada)["standing"], "active");
    assert!(row(&ada)["revoked"].is_null());
    assert_eq!(row(&ada)["handle"], "dr-ada");
    assert_eq!(row(&ada)["specialties"], json!(["cardiology"]));
    assert_eq!(row(&ada)["jurisdiction"], "GB");
    assert!(row(&ada)["valid_until"].as_u64() > row(&ada)["issued_at"].as_u64());
    // For people: a table with the revocation's reason.
    let out = run(&regulator, &["audit", "list", &short, "--node", &a.url], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for needle in ["dr-ada", "dr-cat", "licence suspended", "4 attestation(s), 1 revoked"] {
        assert!(table.contains(needle), "{needle} missing from:\n{table}");
    }

    // A node that drops a leaf: the log does not check, and nothing is listed.
    let dropping = Proxy::start(&a.url, |path, mut body| {
        if path.ends_with("/leaves") {
            body["leaves"].as_array_mut().unwrap().retain(|l| l["index"] != 1);
        }
        body
    });
    let (stdout, stderr) =
        fails(&dir.path().join("misled"), &["audit", "list", &short, "--node", &dropping.url], 1);
    assert!(stdout.trim().is_empty(), "{stdout}");
    assert!(stderr.contains("(root_mismatch)") && stderr.contains("nothing is listed"), "{stderr}");

    // Each institution exports its openings.
    let institution = dir.path().join("institution");
    let (token_a, token_b) =
        (token_file(dir.path(), "a.token", &a), token_file(dir.path(), "b.token", &b));
    let a_file = dir.path().join("stmarys-openings.jsonl");
    let exported = ok(
        &institution,
        &[
            "reveal",
            "--all",
            "--token-file",
            &token_a,
            "--node",
            &a.url,
            "--out",
            a_file.to_str().unwrap(),
        ],
    );
    assert_eq!(exported["openings"], 4, "{exported}");
    let mode = std::fs::metadata(&a_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the openings identify physicians");
    let out =
        run(&institution, &["reveal", "--all", "--token-file", &token_b, "--node", &b.url], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let b_lines = text(&out.stdout);
    let b_openings: Vec<Value> =
        b_lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(b_openings.len(), 1);
    assert_eq!(b_openings[0]["attestation"], json!(eve.to_string()));
    assert_eq!(b_openings[0]["licence"], "gmc1001");
    assert_eq!(b_openings[0]["issuer"], json!(b.key.to_string()));
    let b_file = dir.path().join("stjames-openings.jsonl");
    std::fs::write(&b_file, &b_lines).unwrap();
    let a_lines = std::fs::read_to_string(&a_file).unwrap();
    let cat_line: Value = a_lines
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|o| o["attestation"] == json!(cat.to_string()))
        .unwrap();
    assert_eq!(cat_line["revoked"]["reason"], "licence suspended", "{cat_line}");

    // The register lacks GMC 9999, and GMC 1002 ends tomorrow.
    let tomorrow = curbside_node::now().plus_days(1).to_string()[..10].to_owned();
    let register = dir.path().join("register.csv");
    std::fs::write(
        &register,
        format!(
            "licence,name,end_date\nGMC 1001,Ada,2099-12-31\nGMC 1002,Bea,{tomorrow}\n\
             GMC 1003,Cat,2099-12-31\n"
        ),
    )
    .unwrap();
    let (a_path, b_path, register_path) =
        (a_file.to_str().unwrap(), b_file.to_str().unwrap(), register.to_str().unwrap());
    let report = findings(&regulator, &licences(&[a_path, b_path], register_path, &a.url));
    assert_eq!(report["openings"], 5);
    assert_eq!(
        codes(&report),
        ["duplicate_licence", "not_on_register", "outlives_licence"],
        "{report:#}"
    );
    let finding = |code: &str| {
        report["findings"].as_array().unwrap().iter().find(|f| f["code"] == code).unwrap().clone()
    };
    let duplicate = finding("duplicate_licence");
    let mut on_both: Vec<String> =
        duplicate["attestations"].as_array().unwrap().iter().map(s).collect();
    on_both.sort();
    let mut expected = vec![ada.to_string(), eve.to_string()];
    expected.sort();
    assert_eq!(on_both, expected, "{duplicate:#}");
    assert_eq!(finding("not_on_register")["attestations"], json!([dan.to_string()]));
    assert_eq!(finding("outlives_licence")["attestations"], json!([bea.to_string()]));
    // The table names them too.
    let out = run(&regulator, &licences(&[a_path, b_path], register_path, &a.url), None);
    assert_eq!(out.status.code(), Some(1));
    let table = text(&out.stdout);
    assert!(table.contains("3 finding(s)") && table.contains("GMC 9999"), "{table}");

    // An opening with another licence does not open its commitment.
    let forged = a_lines.replace("\"GMC 1002\"", "\"GMC 1003\"");
    let forged_file = dir.path().join("forged.jsonl");
    std::fs::write(&forged_file, forged).unwrap();
    let report =
        findings(&regulator, &licences(&[forged_file.to_str().unwrap()], register_path, &a.url));
    assert!(codes(&report).contains(&"opening_mismatch".to_owned()), "{report:#}");
    // B's openings were not given: its attestation in force is named.
    assert_eq!(finding_in(&report, "not_exported")["attestations"], json!([eve.to_string()]));

    // An export that leaves out an attestation in force is found from the
    // verifier's log itself.
    let dan_id = json!(dan.to_string());
    let rest: String = a_lines
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).unwrap()["attestation"] != dan_id)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(rest.lines().count() + 1, a_lines.lines().count());
    let partial_file = dir.path().join("partial.jsonl");
    std::fs::write(&partial_file, rest).unwrap();
    let report = findings(
        &regulator,
        &licences(&[partial_file.to_str().unwrap(), b_path], register_path, &a.url),
    );
    assert_eq!(finding_in(&report, "not_opened")["attestations"], json!([dan_id]), "{report:#}");

    // B revokes its attestation of the licence; with GMC 9999 on a
    // register that runs long enough, everything passes.
    let revoked = ok(
        &institution,
        &[
            "revoke",
            "--licence",
            "GMC1001",
            "--reason",
            "attested by St Mary's",
            "--token-file",
            &token_b,
            "--node",
            &b.url,
        ],
    );
    assert_eq!(revoked["revoked"].as_array().unwrap().len(), 1, "{revoked}");
    std::fs::write(
        &register,
        "licence,end_date\nGMC 1001,2099-12-31\nGMC 1002,2099-12-31\nGMC 1003,\nGMC 9999,2099-12-31\n",
    )
    .unwrap();
    let clean = ok(&regulator, &licences(&[a_path, b_path], register_path, &b.url));
    assert_eq!(clean["finding_count"], 0, "{clean:#}");
    assert_eq!(clean["openings"], 5);
}
