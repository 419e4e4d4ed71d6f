//! `curbside audit verify`, `reveal` and `audit open`, run as a regulator
//! would run them, against real nodes — and against a small lying proxy
//! that forwards to a real node and rewrites what it answers, to play a
//! node that changes or drops leaves, or a verifier that shows one node a
//! different history.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use curbside_protocol::merkle;
use curbside_protocol::testkit::key;
use curbside_protocol::{
    Attestation, AttestationRequest, Body, Digest, EventId, Handle, LicenceOpening, SecretKey,
    SignedEvent, TreeHead,
};
use curbside_tests::{Network, TestNode, curbside_bin, wait_until, wire};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(30);

/// `curbside --home HOME ARGS`, isolated from the environment.
fn run(home: &Path, args: &[&str]) -> Output {
    Command::new(curbside_bin())
        .env_remove("CURBSIDE_NODE")
        .env_remove("CURBSIDE_HOME")
        .env_remove("RUST_LOG")
        .arg("--home")
        .arg(home)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `curbside --json audit verify ARGS`: the exit code and the JSON report.
fn audit(home: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json", "audit", "verify"];
    all.extend_from_slice(args);
    let out = run(home, &all);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}):\nstdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr))
    });
    (out.status.code().unwrap_or(-1), report)
}

/// Every finding code in a report, network-wide and per verifier.
fn codes(report: &Value) -> Vec<String> {
    let mut all: Vec<&Value> = report["findings"].as_array().unwrap().iter().collect();
    for v in report["verifiers"].as_array().unwrap() {
        all.extend(v["findings"].as_array().unwrap());
    }
    all.iter().map(|f| f["code"].as_str().unwrap().to_owned()).collect()
}

/// The report of `verifier`'s log.
fn verifier<'a>(report: &'a Value, key: &curbside_protocol::PublicKey) -> &'a Value {
    report["verifiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["verifier"] == json!(key.to_string()))
        .unwrap_or_else(|| panic!("no report of {key} in {report}"))
}

/// An attestation signed with the verifier's key that it never logged.
fn rogue_attestation(net: &Network, verifier: &SecretKey, name: &str) -> SignedEvent {
    let subject = key(name);
    let at = curbside_node::now();
    let request = AttestationRequest::new(net.id(), &subject, Handle::new(name).unwrap(), at);
    let opening = LicenceOpening::new("GB".parse().unwrap(), "999");
    net.sign_at(
        verifier,
        Body::Attestation(Attestation {
            subject: subject.public(),
            handle: request.handle.clone(),
            specialties: vec!["cardiology".parse().unwrap()],
            jurisdiction: "GB".parse().unwrap(),
            licence_commitment: opening.commitment(),
            valid_until: at.plus_days(30),
            requested_at: at,
            possession: request.signature,
        }),
        at,
    )
}

fn root_of(ids: &[EventId]) -> Digest {
    Digest::from_bytes(merkle::root(
        &ids.iter().map(|id| merkle::leaf_hash(id.as_bytes())).collect::<Vec<_>>(),
    ))
}

/// The ids of the leaves of `node`'s log of `verifier`.
fn leaf_ids(node: &TestNode, verifier: &TestNode) -> Vec<EventId> {
    let (status, body) = node.get(&format!("/v1/audit/logs/{}/leaves", verifier.key), None);
    assert_eq!(status, 200, "{body}");
    body["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// In a page of leaves, puts `event` in place of leaf `index` (if on the page).
fn replace_leaf(page: &mut Value, index: u64, event: &SignedEvent) {
    for leaf in page["leaves"].as_array_mut().unwrap() {
        if leaf["index"] == index {
            leaf["id"] = json!(event.id().to_string());
            leaf["event"] = json!(wire(event));
        }
    }
}

type Rewrite = dyn Fn(&str, Value) -> Value + Send + Sync;

/// A lying node: an HTTP server on 127.0.0.1 that forwards every GET to
/// a real node and passes the JSON answer through `rewrite` (given the
/// path without its query). Stopped on drop.
pub(crate) struct Proxy {
    pub(crate) url: String,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    pub(crate) fn start(
        upstream: &str,
        rewrite: impl Fn(&str, Value) -> Value + Send + Sync + 'static,
    ) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let rewrite: Arc<Rewrite> = Arc::new(rewrite);
        let upstream = upstream.to_owned();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(30)))
                .build()
                .into();
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (agent, upstream, rewrite) =
                            (agent.clone(), upstream.clone(), rewrite.clone());
                        std::thread::spawn(move || serve(stream, &agent, &upstream, &*rewrite));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self { url, stop, thread: Some(thread) }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One request on one connection: forward, rewrite, answer, close.
fn serve(stream: std::net::TcpStream, agent: &ureq::Agent, upstream: &str, rewrite: &Rewrite) {
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut answer = agent.get(format!("{upstream}{target}")).call().unwrap();
    let status = answer.status().as_u16();
    let body = answer.body_mut().with_config().limit(64 << 20).read_to_string().unwrap();
    let path = target.split('?').next().unwrap_or("");
    let body = match serde_json::from_str::<Value>(&body) {
        Ok(value) => rewrite(path, value).to_string(),
        Err(_) => body,
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Two institutions: A verifies, B (a relay) witnesses. A healthy log
/// verifies across both, with B's cosignature; asking for a quorum of 2
/// finds the head below it; an unreachable node is a finding too.
#[test]
fn a_healthy_log_verifies_with_its_cosigners_and_a_higher_quorum_fails() {
    let net = Network::new();
    let a = TestNode::start_peer(&net, &[], &["GB"]);
    let b = TestNode::start_peer(&net, &[a.p2p_addr()], &[]);
    wait_until(LIMIT, "A to admit B", || a.admitted_peers() == 1);
    a.attest(&net, &key("cli-dr-1"), "dr-one", &["cardiology"], "GB");
    a.attest(&net, &key("cli-dr-2"), "dr-two", &["oncology"], "GB");
    wait_until(LIMIT, "B to cosign A's latest head, as both nodes show", || {
        [&a, &b].iter().all(|n| {
            n.audit_log(&a.key).is_some_and(|l| {
                l["size"] == 2 && l["cosigners"].as_array().is_some_and(|c| !c.is_empty())
            })
        })
    });

    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let (code, report) = audit(home, &["--node", &a.url, "--node", &b.url, "--quorum", "1"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["finding_count"], 0);
    assert_eq!(report["genesis"]["source"], "node", "first use takes the node's genesis");
    let log = verifier(&report, &a.key);
    assert_eq!(log["size"], 2);
    assert_eq!(log["attestations"], 2);
    assert_eq!(log["institution"], "Test Hospital");
    assert_eq!(log["cosigners"], json!([b.key.to_string()]));
    let standings: Vec<&str> =
        log["nodes"].as_array().unwrap().iter().map(|n| n["standing"].as_str().unwrap()).collect();
    assert_eq!(standings, ["agrees", "agrees"]);
    assert!(home.join("audit/state.json").is_file());

    // The table, for people.
    let out = run(home, &["audit", "verify", "--node", &a.url, "--node", &b.url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let short = a.key.short();
    for needle in [short.as_str(), "Test Hospital", "2/2", "Genesis as pinned under --home"] {
        assert!(table.contains(needle), "{needle} missing from:\n{table}");
    }

    // Two chartered nodes give a head one cosigner at most: a quorum of two
    // is refused as unreachable, with the reachable one suggested, rather
    // than reported as a finding against a healthy log.
    let out = run(home, &["audit", "verify", "--node", &a.url, "--node", &b.url, "--quorum", "2"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--quorum 2 cannot be reached"), "{stderr}");
    assert!(stderr.contains("use --quorum 1 or less"), "{stderr}");

    // The verifier as the table shows it (16 hex digits), or any unique prefix.
    let (code, report) = audit(home, &["--node", &a.url, "--verifier", &short]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["verifiers"].as_array().map(Vec::len), Some(1), "{report:#}");
    assert_eq!(verifier(&report, &a.key)["size"], 2);
    let out = run(home, &["audit", "verify", "--node", &a.url, "--verifier", "ffffffffff"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no verifier's key starts with ffffffffff"));

    // A node that does not answer is a finding.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (code, report) = audit(home, &["--node", &a.url, "--node", &format!("http://{closed}")]);
    assert_eq!(code, 1);
    assert_eq!(codes(&report), ["node_unreachable"]);
}

/// A node that changes a leaf, and one that drops a leaf, are caught:
/// the leaves they show do not hash to the head the verifier signed.
#[test]
fn a_changed_leaf_and_a_dropped_leaf_are_root_mismatches() {
    let net = Network::new();
    let a = TestNode::start(&net);
    for i in 0..3 {
        a.attest(
            &net,
            &key(&format!("leaf-dr-{i}")),
            &format!("dr-leaf-{i}"),
            &["cardiology"],
            "GB",
        );
    }
    let rogue = rogue_attestation(&net, &a.secret_key(), "dr-rogue");
    let changed = Proxy::start(&a.url, move |path, mut body| {
        if path.ends_with("/leaves") {
            replace_leaf(&mut body, 1, &rogue);
        }
        body
    });
    let dropped = Proxy::start(&a.url, |path, mut body| {
        if path.ends_with("/leaves") {
            body["leaves"].as_array_mut().unwrap().retain(|l| l["index"] != 1);
        }
        body
    });
    let dir = tempfile::tempdir().unwrap();
    for (name, proxy) in [("changed", &changed), ("dropped", &dropped)] {
        let (code, report) = audit(&dir.path().join(name), &["--node", &proxy.url]);
        assert_eq!(code, 1, "{name}: {report:#}");
        assert_eq!(codes(&report), ["root_mismatch"], "{name}: {report:#}");
        let evidence = &verifier(&report, &a.key)["findings"][0]["evidence"];
        assert_eq!(evidence["node"], json!(proxy.url), "{name}");
        assert_eq!(evidence["leaf_index"], 1, "{name}: {evidence}");
        assert_ne!(evidence["signed_root"], evidence["computed_root"], "{name}");
    }
    // The node itself shows the log as signed.
    let (code, report) = audit(&dir.path().join("direct"), &["--node", &a.url]);
    assert_eq!(code, 0, "{report:#}");
}

/// A verifier that signs a second history of its log (a head of the same
/// size with another root) is caught from its own node's heads.
#[test]
fn a_rewritten_history_is_caught() {
    let net = Network::new();
    let a = TestNode::start(&net);
    a.attest(&net, &key("fork-cli-1"), "dr-fork-one", &["cardiology"], "GB");
    a.attest(&net, &key("fork-cli-2"), "dr-fork-two", &["cardiology"], "GB");
    let forged = net.sign(
        &a.secret_key(),
        Body::TreeHead(TreeHead { size: 1, root: Digest::from_bytes([7; 32]) }),
    );
    assert_eq!(a.submit(std::slice::from_ref(&forged)).0, 200);
    let dir = tempfile::tempdir().unwrap();
    let (code, report) = audit(dir.path(), &["--node", &a.url]);
    assert_eq!(code, 1, "{report:#}");
    let found = codes(&report);
    assert!(found.contains(&"inconsistent_history".to_owned()), "{found:?}");
    assert!(found.contains(&"same_size_different_roots".to_owned()), "{found:?}");
    let history = verifier(&report, &a.key)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "inconsistent_history")
        .unwrap()
        .clone();
    let heads: Vec<&str> = history["evidence"]["heads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert!(heads.contains(&forged.id().to_string().as_str()), "{history:#}");
}

/// A verifier that shows one node another history — a different second
/// attestation, with a validly signed head that matches it — is caught
/// by comparing the nodes; and an auditor who saw that history first
/// finds the real node's log inconsistent with what it saved.
#[test]
fn a_split_view_and_a_log_inconsistent_with_the_saved_head_are_caught() {
    let net = Network::new();
    let a = TestNode::start(&net);
    a.attest(&net, &key("split-dr-1"), "dr-split-one", &["cardiology"], "GB");
    a.attest(&net, &key("split-dr-2"), "dr-split-two", &["cardiology"], "GB");
    let ids = leaf_ids(&a, &a);
    let secret = a.secret_key();
    let rogue = rogue_attestation(&net, &secret, "dr-other-story");
    let other_root = root_of(&[ids[0], rogue.id()]);
    let other_head = net.sign(&secret, Body::TreeHead(TreeHead { size: 2, root: other_root }));
    let other = Proxy::start(&a.url, move |path, mut body| {
        if path.ends_with("/leaves") {
            replace_leaf(&mut body, 1, &rogue);
        } else if path.ends_with("/heads") {
            let heads = body["heads"].as_array_mut().unwrap();
            let last = heads.last_mut().unwrap();
            *last = json!({
                "id": other_head.id(), "size": 2, "root": other_root,
                "created_at": other_head.created_at(), "event": wire(&other_head),
                "cosignatures": [],
            });
        }
        body
    });
    let dir = tempfile::tempdir().unwrap();

    // Each alone looks fine.
    let (code, report) = audit(&dir.path().join("only-a"), &["--node", &a.url]);
    assert_eq!(code, 0, "{report:#}");
    let seen_other = dir.path().join("saw-the-other");
    let (code, report) = audit(&seen_other, &["--node", &other.url]);
    assert_eq!(code, 0, "{report:#}");

    // Together they cannot both be true.
    let (code, report) = audit(&dir.path().join("both"), &["--node", &a.url, "--node", &other.url]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(codes(&report), ["split_view"], "{report:#}");
    let log = verifier(&report, &a.key);
    let evidence = &log["findings"][0]["evidence"];
    let shown_by: Vec<&str> =
        evidence["heads"].as_array().unwrap().iter().map(|h| h["node"].as_str().unwrap()).collect();
    assert!(shown_by.contains(&a.url.as_str()) && shown_by.contains(&other.url.as_str()));
    let standings: Vec<&str> =
        log["nodes"].as_array().unwrap().iter().map(|n| n["standing"].as_str().unwrap()).collect();
    assert_eq!(standings, ["split", "split"]);

    // The auditor who saved the other history finds A's log inconsistent with it.
    let (code, report) = audit(&seen_other, &["--node", &a.url]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(codes(&report), ["inconsistent_with_saved"], "{report:#}");
    let evidence = &verifier(&report, &a.key)["findings"][0]["evidence"];
    assert_eq!(evidence["signed_root"], json!(other_root));
}

/// The institution reveals an opening; the regulator checks it against
/// the attestation; a wrong licence does not open it.
#[test]
fn reveal_and_audit_open_round_trip_and_a_wrong_licence_fails() {
    let net = Network::new();
    let a = TestNode::start(&net);
    let id = a.attest(&net, &key("reveal-dr"), "dr-reveal", &["cardiology"], "GB");
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("admin.token");
    std::fs::write(&token, &a.admin_token).unwrap();
    let id = id.to_string();
    let out = run(
        dir.path(),
        &["--json", "reveal", &id, "--token-file", token.to_str().unwrap(), "--node", &a.url],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let opening: Value = serde_json::from_slice(&out.stdout).unwrap();
    // TestNode::attest uses the licence LIC-<handle>.
    assert_eq!(opening["licence"], "LIC-dr-reveal");
    assert_eq!(opening["jurisdiction"], "GB");
    let salt = opening["salt"].as_str().unwrap();

    let open = |licence: &str| {
        run(
            dir.path(),
            &[
                "--json",
                "audit",
                "open",
                &id,
                "--licence",
                licence,
                "--salt",
                salt,
                "--node",
                &a.url,
            ],
        )
    };
    let out = open("LIC-dr-reveal");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["opens"], true);
    assert_eq!(answer["commitment"], opening["commitment"]);
    assert!(answer["revoked"].is_null(), "{answer}");

    // Once revoked, the opening still opens, and the answer says it was revoked.
    a.revoke(&id.parse().unwrap(), "licence suspended");
    let out = open("LIC-dr-reveal");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["revoked"]["reason"], "licence suspended", "{answer}");

    let out = open("LIC-someone-else");
    assert_eq!(out.status.code(), Some(1));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["opens"], false);
    assert!(text(&out.stderr).contains("opening_mismatch"), "{}", text(&out.stderr));

    // Without the admin token there is no opening to reveal.
    let out = run(dir.path(), &["reveal", &id, "--token-file", "/nonexistent", "--node", &a.url]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
