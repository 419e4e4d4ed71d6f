//! A node never forks its own audit log: a restored old copy of its data
//! directory waits until it has caught up with what its peers hold of its
//! log, a second running copy of its key refuses to sign, and a fork forced
//! anyway (the node key signing a conflicting head outside the node) is
//! recorded as evidence on every node that sees it, in `/metrics` too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use curbside_node::config::Overrides;
use curbside_protocol::testkit::key;
use curbside_protocol::{AttestationRequest, Body, Digest, Handle, SecretKey, TreeHead};
use curbside_tests::{Network, TestNode, curbside_bin, wait_until};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);

/// `POST /v1/admin/attest` for `physician`: (status, body), whatever it is.
fn try_attest(node: &TestNode, net: &Network, physician: &SecretKey, handle: &str) -> (u16, Value) {
    let request = AttestationRequest::new(
        net.id(),
        physician,
        Handle::new(handle).unwrap(),
        curbside_node::now(),
    );
    node.post(
        "/v1/admin/attest",
        &json!({
            "request": request.to_text(),
            "specialties": ["cardiology"],
            "jurisdiction": "GB",
            "licence": format!("LIC-{handle}"),
            "valid_days": 365,
        }),
        Some(&node.admin_token),
    )
}

/// The number of leaves of `verifier`'s log `node` holds.
fn log_size(node: &TestNode, verifier: &TestNode) -> u64 {
    node.audit_log(&verifier.key).map_or(0, |l| l["size"].as_u64().unwrap())
}

fn evidence(node: &TestNode) -> Vec<Value> {
    let (status, body) = node.get("/v1/audit/evidence", None);
    assert_eq!(status, 200, "{body}");
    body["evidence"].as_array().unwrap().clone()
}

/// `curbside --json audit verify --node URL...` with a fresh home: the
/// codes of every finding, network-wide and per verifier.
fn audit_findings(nodes: &[&TestNode]) -> Vec<String> {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(curbside_bin());
    cmd.env_remove("CURBSIDE_NODE").env_remove("CURBSIDE_HOME").env_remove("RUST_LOG");
    cmd.arg("--home").arg(home.path()).args(["--json", "audit", "verify"]);
    for node in nodes {
        cmd.args(["--node", &node.url]);
    }
    let out = cmd.stdin(std::process::Stdio::null()).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    let mut all: Vec<&Value> = report["findings"].as_array().unwrap().iter().collect();
    for v in report["verifiers"].as_array().unwrap() {
        all.extend(v["findings"].as_array().unwrap());
    }
    all.iter().map(|f| f["code"].as_str().unwrap().to_owned()).collect()
}

/// `cp -a from to`: a copy of a stopped node's data directory, as a backup
/// taken with ordinary tools would be.
fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap();
    assert!(status.success());
}

/// A verifier's data directory copied while it was stopped, then started
/// again in its place after it had attested more: the old copy signs
/// nothing until it has caught up with what its peer holds of its log, and
/// its next attestation extends that same log (no fork anywhere).
#[test]
fn a_restored_old_copy_catches_up_before_it_attests() {
    let net = Network::new();
    let a = TestNode::start_peer(&net, &[], &["GB"]);
    let w = TestNode::start_peer(&net, &[a.p2p_addr()], &[]);
    wait_until(LIMIT, "A to admit W", || a.admitted_peers() == 1);
    a.attest(&net, &key("nofork-one"), "dr-one", &["cardiology"], "GB");
    wait_until(LIMIT, "W to check A's log", || log_size(&w, &a) == 1);

    // The backup: A's data directory, copied while A is stopped.
    let backup = tempfile::tempdir().unwrap();
    let copy = backup.path().join("node");
    let stopped = a.stop();
    copy_dir(stopped.data_dir(), &copy);
    let a = stopped.start();
    wait_until(LIMIT, "A to find W again", || a.admitted_peers() == 1);
    a.attest(&net, &key("nofork-two"), "dr-two", &["cardiology"], "GB");
    a.attest(&net, &key("nofork-three"), "dr-three", &["cardiology"], "GB");
    wait_until(LIMIT, "W to check A's log", || log_size(&w, &a) == 3);

    // The restore: the old copy in A's place.
    let stopped = a.stop();
    let data = stopped.data_dir().to_path_buf();
    std::fs::remove_dir_all(&data).unwrap();
    copy_dir(&copy, &data);
    let a = stopped.start();
    assert_eq!(log_size(&a, &a), 1, "the copy starts with the old log");

    // Every refusal says why; the first attestation that passes comes
    // after the node caught up, and extends the log its peer holds.
    let four = key("nofork-four");
    let mut refusals = Vec::new();
    wait_until(LIMIT, "the restored node to attest", || {
        let (status, body) = try_attest(&a, &net, &four, "dr-four");
        if status == 200 {
            return true;
        }
        assert_eq!(status, 503, "{body}");
        let code = body["code"].as_str().unwrap().to_owned();
        assert!(code == "log_behind" || code == "log_unconfirmed", "{body}");
        refusals.push(code);
        std::thread::sleep(Duration::from_millis(200));
        false
    });
    // Asked at once after start, before it had heard from W, it refused.
    assert!(!refusals.is_empty(), "the restored copy signed before it heard from its peer");
    assert_eq!(log_size(&a, &a), 4, "caught up to 3, then one more (refused: {refusals:?})");
    wait_until(LIMIT, "W to check the new head", || log_size(&w, &a) == 4);
    for node in [&a, &w] {
        assert!(evidence(node).is_empty(), "no fork anywhere");
        assert!(node.audit_log(&a.key).unwrap()["forked_at"].is_null());
    }
    // The regulator's audit finds one history, not two.
    let findings = audit_findings(&[&a, &w]);
    for forked in [
        "split_view",
        "inconsistent_history",
        "same_size_different_roots",
        "rollback",
        "root_mismatch",
    ] {
        assert!(!findings.iter().any(|f| f == forked), "{findings:?}");
    }
}

/// A second copy of a verifier, started beside the running one (same key,
/// its own data directory and ports), refuses to sign; the first goes on.
#[test]
fn a_second_running_copy_of_a_node_key_refuses_to_attest() {
    let net = Network::new();
    let a = TestNode::start_peer(&net, &[], &["GB"]);
    let w = TestNode::start_peer(&net, &[a.p2p_addr()], &[]);
    wait_until(LIMIT, "A to admit W", || a.admitted_peers() == 1);
    a.attest(&net, &key("dup-one"), "dr-dup-one", &["cardiology"], "GB");
    wait_until(LIMIT, "W to check A's log", || log_size(&w, &a) == 1);

    let backup = tempfile::tempdir().unwrap();
    let copy = backup.path().join("node");
    let stopped = a.stop();
    copy_dir(stopped.data_dir(), &copy);
    let a = stopped.start();
    wait_until(LIMIT, "A to find W again", || a.admitted_peers() == 1);
    // A has told W which instance it is before the copy starts.
    std::thread::sleep(Duration::from_secs(1));

    let overrides = Overrides {
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap: vec![w.p2p_addr()],
        ..Overrides::default()
    };
    let b = TestNode::run_with(&copy, overrides);
    assert_eq!(b.key, a.key);
    wait_until(LIMIT, "the copy to reach W", || b.admitted_peers() == 1);
    let (status, body) = try_attest(&b, &net, &key("dup-two"), "dr-dup-two");
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "duplicate_node", "{body}");
    // For good: asked again, the same answer.
    let (status, body) = try_attest(&b, &net, &key("dup-three"), "dr-dup-three");
    assert_eq!((status, body["code"].clone()), (409, json!("duplicate_node")), "{body}");

    // The first copy still signs, and nothing forked. (While both run, W's
    // requests to their one PeerId reach either: W checks A's new head
    // once the copy is stopped.)
    let (status, body) = try_attest(&a, &net, &key("dup-four"), "dr-dup-four");
    assert_eq!(status, 200, "{body}");
    drop(b);
    wait_until(LIMIT, "W to check A's log", || log_size(&w, &a) == 2);
    assert!(evidence(&w).is_empty());
    assert!(evidence(&a).is_empty());
}

/// The node key signs a head that contradicts its log, outside any node
/// (what a copy of the node that escaped both guards would publish): every
/// node that sees it keeps the proof, counts it in `/metrics`, and the
/// verifier itself refuses to sign from then on.
#[test]
fn a_forced_fork_is_recorded_on_every_node_that_sees_it() {
    let net = Network::new();
    let a = TestNode::start_peer(&net, &[], &["GB"]);
    let w1 = TestNode::start_peer(&net, &[a.p2p_addr()], &[]);
    let w2 = TestNode::start_peer(&net, &[a.p2p_addr(), w1.p2p_addr()], &[]);
    wait_until(LIMIT, "A to admit W1 and W2", || a.admitted_peers() == 2);
    a.attest(&net, &key("forced-one"), "dr-forced-one", &["cardiology"], "GB");
    wait_until(LIMIT, "the witnesses to check A's log", || {
        log_size(&w1, &a) == 1 && log_size(&w2, &a) == 1
    });

    // A's key, used outside the node, signs another history of size 1,
    // handed to W1 alone.
    let forged = net.sign(
        &a.secret_key(),
        Body::TreeHead(TreeHead { size: 1, root: Digest::from_bytes([7; 32]) }),
    );
    let (status, body) = w1.submit(&[forged]);
    assert_eq!(status, 200, "{body}");

    let sample = format!("curbside_log_fork_evidence{{verifier=\"{}\"}}", a.key);
    for (name, node) in [("W1", &w1), ("W2", &w2), ("A", &a)] {
        wait_until(LIMIT, &format!("{name} to record the fork"), || !evidence(node).is_empty());
        let proof = &evidence(node)[0];
        assert_eq!(proof["verifier"], json!(a.key.to_string()), "{proof}");
        assert_eq!(proof["contradiction"], "same_size_different_roots", "{proof}");
        assert!(!node.audit_log(&a.key).unwrap()["forked_at"].is_null());
        assert_eq!(node.metric(&sample), Some(1.0), "{name}: {sample}");
        // What the operator's alert watches (deploy/prometheus/alerts.yml).
        assert_eq!(node.metric("curbside_log_forked_verifiers"), Some(1.0), "{name}");
    }
    // The verifier itself never signs again with that key.
    let (status, body) = try_attest(&a, &net, &key("forced-two"), "dr-forced-two");
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "log_forked", "{body}");
}
