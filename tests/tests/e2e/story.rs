//! The whole story, through the `curbside` binary only: a root founds a
//! network, an institution runs a chartered node, a physician gets attested
//! and writes, reads, polls and votes; then the attestation is revoked.
//! And the one-node development network `curbside node run` makes. And two
//! attacks on physicians' identities the command line stands in the way
//! of: a key sealed under a weak passphrase, and a second key attested
//! with someone's handle.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use super::cli_kit::{curbside, fails, ok, ok_with, run, s, text};
use curbside_protocol::PublicKey;
use curbside_tests::{Network, TestNode, wait_until};
use serde_json::{Value, json};

/// A port nothing listens on (bound, read, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `curbside node run ...` as a child process, killed on drop.
struct NodeProcess {
    child: Child,
    url: String,
    log: PathBuf,
}

impl NodeProcess {
    fn start(home: &Path, extra: &[&str]) -> Self {
        let port = free_port();
        let api = format!("127.0.0.1:{port}");
        // Output to a file, not a pipe nobody reads (which could fill and block the node).
        std::fs::create_dir_all(home).unwrap();
        let log = home.join(format!("node-{port}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = curbside(home);
        cmd.args(["node", "run", "--api", &api, "--listen", "/ip4/127.0.0.1/tcp/0"])
            .args(extra)
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file));
        let child = cmd.spawn().unwrap();
        let mut node = Self { child, url: format!("http://{api}"), log };
        node.wait_ready();
        node
    }

    /// Waits (at most 30 s) until `GET /v1/status` answers.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = self.url.trim_start_matches("http://").to_owned();
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("`curbside node run` exited ({status}) before answering:\n{log}");
            }
            if let Ok(mut stream) = std::net::TcpStream::connect(&addr) {
                let request =
                    format!("GET /v1/status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
                if stream.write_all(request.as_bytes()).is_ok() {
                    let mut answer = String::new();
                    let _ = std::io::Read::read_to_string(&mut stream, &mut answer);
                    if answer.starts_with("HTTP/1.1 200") {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the node at {} did not answer within 30 s", self.url);
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The institution attests a cardiologist in GB from `request`.
fn attest(inst_home: &Path, data: &Path, url: &str, request: &str, licence: &str) -> Value {
    let data = data.to_str().unwrap().to_owned();
    ok_with(
        inst_home,
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
            "365",
            "--data",
            &data,
            "--node",
            url,
        ],
        Some(request),
    )
}

#[test]
fn a_network_from_founding_to_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let root_home = dir.path().join("root-home");
    let inst_home = dir.path().join("institution-home");
    let ada = dir.path().join("ada");
    let root_dir = dir.path().join("root");
    let data = dir.path().join("node");
    let p = |p: &PathBuf| p.to_str().unwrap().to_owned();

    // The root founds the network.
    let founded =
        ok(&root_home, &["network", "new", "--name", "Story network", "--out", &p(&root_dir)]);
    let network = s(&founded["network"]);
    assert_eq!(network.len(), 64);
    assert!(root_dir.join("root.key").exists() && root_dir.join("genesis.json").exists());
    let again = fails(&root_home, &["network", "new", "--name", "X", "--out", &p(&root_dir)], 2);
    assert!(again.1.contains("refusing to overwrite"), "{}", again.1);

    // The institution makes its node and runs it.
    let genesis = p(&root_dir.join("genesis.json"));
    let init = ok(&inst_home, &["node", "init", "--genesis", &genesis, "--data", &p(&data)]);
    let node_key = s(&init["public_key"]);
    assert!(s(&init["peer_id"]).starts_with("12D3KooW"));
    let node = NodeProcess::start(&inst_home, &["--data", &p(&data)]);
    let url = node.url.clone();

    // The root charters it to verify in GB.
    let charter = ok(
        &root_home,
        &[
            "charter",
            "--root-key",
            &p(&root_dir.join("root.key")),
            "--node",
            &node_key,
            "--institution",
            "St Story's Hospital",
            "--verify",
            "GB",
            "--valid-days",
            "365",
            "--submit-to",
            &url,
        ],
    );
    assert_eq!(charter["status"], "stored", "{charter}");
    assert_eq!(charter["kind"], "charter");

    // A physician: a key, a request, an attestation.
    let id = ok(&ada, &["id", "new", "--handle", "dr-ada"]);
    let ada_key = s(&id["public_key"]);
    fails(&ada, &["id", "new", "--handle", "dr-ada"], 2);
    let shown = ok(&ada, &["id", "show", "--node", &url]);
    assert_eq!(shown["attested"], false, "{shown}");
    let request = ok(&ada, &["id", "request", "--node", &url]);
    let request = s(&request["request"]);
    assert!(request.starts_with("curbside-request-v1:"));
    let attested = attest(&inst_home, &data, &url, &request, "7654321");
    let attestation = s(&attested["id"]);
    assert_eq!(s(&attested["subject"]), ada_key);
    let shown = ok(&ada, &["id", "show", "--node", &url]);
    assert_eq!(shown["attested"], true, "{shown}");

    // Writing.
    let post = ok(
        &ada,
        &[
            "post",
            "--node",
            &url,
            "--hub",
            "general",
            "--title",
            "Hyponatraemia after a marathon",
            "--body",
            "Na 128 mmol/L, urine osmolality 620 mOsm/kg. Next step?",
        ],
    );
    assert_eq!(post["status"], "stored", "{post}");
    let post_id = s(&post["id"]);

    // The guard refuses identifiers before signing, and shows them.
    let (_, err) = fails(
        &ada,
        &[
            "post",
            "--node",
            &url,
            "--hub",
            "general",
            "--title",
            "A case",
            "--body",
            "MRN 1234567, seen 12/03/2024",
        ],
        1,
    );
    assert!(err.contains("\"MRN 1234567\"") && err.contains("post.body"), "{err}");
    assert!(err.contains("(identifying_text)"), "{err}");

    let case_file = dir.path().join("case.toml");
    std::fs::write(
        &case_file,
        "hub = \"cardiology\"\ntitle = \"Recurrent syncope in a young athlete\"\nage = 23\nsex = \"male\"\n\
         presentation = \"Three episodes of exertional syncope over 2 months.\"\n\
         findings = \"ECG: QTc 470 ms. Echo normal.\"\n\
         question = \"Beta-blocker before genetic testing?\"\ntags = [\"syncope\"]\n",
    )
    .unwrap();
    let case = ok(&ada, &["case", "--node", &url, "--file", &p(&case_file)]);
    assert_eq!(case["status"], "stored", "{case}");
    assert_eq!(case["age"], "18-29");

    let comment = ok(
        &ada,
        &[
            "comment",
            &post_id,
            "--node",
            &url,
            "--body",
            "Check urine sodium; if euvolaemic, fluid restrict.",
        ],
    );
    assert_eq!(comment["status"], "stored", "{comment}");

    // Reading: a session is opened (and cached) with the physician's key.
    let thread = run(&ada, &["show", &post_id, "--node", &url], None);
    assert!(thread.status.success(), "{}", text(&thread.stderr));
    let thread = text(&thread.stdout);
    for needle in
        ["dr-ada", "Hyponatraemia after a marathon", "↳ dr-ada", "fluid restrict", &post_id]
    {
        assert!(thread.contains(needle), "{needle:?} missing from:\n{thread}");
    }
    assert!(ada.join("session.json").exists());
    let feed = ok(&ada, &["feed", "general", "--node", &url]);
    let events = feed["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["id"] == post_id.as_str()), "{feed}");

    // A poll and a vote.
    let poll = ok(
        &ada,
        &[
            "poll",
            "--node",
            &url,
            "--hub",
            "general",
            "--question",
            "Fluid restrict first?",
            "--option",
            "Yes",
            "--option",
            "No",
            "--option",
            "Depends",
            "--closes-in",
            "7d",
        ],
    );
    let poll_id = s(&poll["id"]);
    let vote = ok(&ada, &["vote", &poll_id, "--node", &url, "--option", "2"]);
    assert_eq!(vote["status"], "stored", "{vote}");
    let (_, err) = fails(&ada, &["vote", &poll_id, "--node", &url, "--option", "5"], 1);
    assert!(err.contains("(no_such_option)") && err.contains("no option 5"), "{err}");
    let tally = ok(&ada, &["tally", &poll_id, "--node", &url]);
    assert_eq!(tally["tally"]["counts"], serde_json::json!([0, 1, 0]), "{tally}");
    let chart = run(&ada, &["tally", &poll_id, "--node", &url, "--by", "specialty"], None);
    let chart = text(&chart.stdout);
    assert!(chart.contains("██████████") && chart.contains("100.0%"), "{chart}");
    assert!(chart.contains("fewer than 5 voters"), "{chart}");

    // Five more cardiologists are attested and vote: the breakdown now shows
    // the cardiology group, with the cells of fewer than 5 voters suppressed.
    for (i, choice) in ["1", "1", "1", "1", "3"].iter().enumerate() {
        let home = dir.path().join(format!("dr-{i}"));
        let handle = format!("dr-card-{i}");
        ok(&home, &["id", "new", "--handle", &handle]);
        let request = s(&ok(&home, &["id", "request", "--node", &url])["request"]);
        let licence = format!("GMC-{i}");
        attest(&inst_home, &data, &url, &request, &licence);
        let vote = ok(&home, &["vote", &poll_id, "--node", &url, "--option", choice]);
        assert_eq!(vote["status"], "stored", "{vote}");
    }
    let tally = ok(&ada, &["tally", &poll_id, "--node", &url, "--by", "specialty"]);
    assert_eq!(tally["tally"]["counts"], serde_json::json!([4, 1, 1]), "{tally}");
    assert_eq!(tally["tally"]["voters"], 6, "{tally}");
    let row = &tally["tally"]["by_specialty"]["rows"][0];
    assert_eq!(
        (row["group"].as_str(), row["voters"].as_u64()),
        (Some("cardiology"), Some(6)),
        "{tally}"
    );
    assert_eq!(
        row["cells"],
        serde_json::json!(["suppressed", "suppressed", "suppressed"]),
        "{tally}"
    );
    let by_place = ok(&ada, &["tally", &poll_id, "--node", &url, "--by", "jurisdiction"]);
    assert_eq!(by_place["tally"]["by_jurisdiction"]["rows"][0]["group"], "GB", "{by_place}");
    let chart =
        text(&run(&ada, &["tally", &poll_id, "--node", &url, "--by", "specialty"], None).stdout);
    assert!(chart.contains("Cardiology") && chart.contains("<5"), "{chart}");

    // The institution revokes the attestation: what Ada writes now is refused.
    let revoked = ok(
        &inst_home,
        &[
            "revoke",
            &attestation,
            "--reason",
            "licence lapsed",
            "--data",
            &p(&data),
            "--node",
            &url,
        ],
    );
    assert_eq!(s(&revoked["target"]), attestation);
    let (_, err) = fails(
        &ada,
        &["post", "--node", &url, "--hub", "general", "--title", "Still here?", "--body", "Hello"],
        1,
    );
    assert!(err.starts_with("error: ") && err.contains("(attestation_revoked)"), "{err}");

    // No node: a clear message and exit 2.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let (_, err) = fails(&ada, &["feed", "general", "--node", &closed], 2);
    assert!(err.contains(&format!("no node answers at {closed}")), "{err}");
    assert!(err.contains("curbside node run"), "{err}");
    drop(node);
}

#[test]
fn the_development_network_attests_you_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let node = NodeProcess::start(&home, &[]);
    let url = node.url.clone();
    assert!(home.join("dev/node/admin.token").exists());

    // Before any identity, the development node's admin token reads.
    let feed = ok(&home, &["feed", "general", "--node", &url]);
    assert_eq!(feed["events"], serde_json::json!([]));

    ok(&home, &["id", "new", "--handle", "dr-dev"]);
    let request = run(&home, &["id", "request", "--node", &url], None);
    assert!(request.status.success(), "{}", text(&request.stderr));
    // `curbside id request | curbside attest - ...`: the admin token is found under --home.
    let attested = ok_with(
        &home,
        &[
            "attest",
            "-",
            "--jurisdiction",
            "DEV",
            "--specialty",
            "general-practice",
            "--licence",
            "DEV-0001",
            "--valid-days",
            "365",
            "--node",
            &url,
        ],
        Some(&text(&request.stdout)),
    );
    assert_eq!(attested["jurisdiction"], "DEV");
    let post = ok(
        &home,
        &["post", "--node", &url, "--hub", "general", "--title", "Hello", "--body", "First post"],
    );
    assert_eq!(post["status"], "stored", "{post}");
    let feed = run(&home, &["feed", "general", "--node", &url], None);
    let feed = text(&feed.stdout);
    assert!(feed.contains("dr-dev") && feed.contains("Hello"), "{feed}");
    drop(node);
}

/// `curbside id new` with `passphrase` in `CURBSIDE_PASSPHRASE`.
fn id_new_with(home: &Path, handle: &str, passphrase: &str, json: bool) -> Output {
    let mut cmd = curbside(home);
    cmd.env("CURBSIDE_PASSPHRASE", passphrase);
    if json {
        cmd.arg("--json");
    }
    cmd.args(["id", "new", "--handle", handle]).output().unwrap()
}

#[test]
fn a_weak_passphrase_is_refused_and_no_key_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");

    let out = id_new_with(&home, "dr-weak", "a", false);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    for needle in [
        "too weak",
        "at least 12",
        "four or more random words",
        "CURBSIDE_PASSPHRASE",
        "(weak_passphrase)",
    ] {
        assert!(err.contains(needle), "{needle:?} missing from:\n{err}");
    }
    assert!(!home.join("id.key").exists(), "a key was written under a weak passphrase");

    // Long enough, but it is the physician's own handle: refused, and said
    // so in JSON for scripts.
    let handle = "dr-zbigniew-kowalczyk";
    let out = id_new_with(&home, handle, handle, true);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["error"]["code"], "weak_passphrase", "{answer}");
    assert!(!home.join("id.key").exists());

    // A network's root key is held to the same rule, and nothing is written.
    let root = dir.path().join("root");
    let mut cmd = curbside(&home);
    cmd.env("CURBSIDE_PASSPHRASE", "password1234");
    let out = cmd
        .args(["network", "new", "--name", "Weak network", "--out"])
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("(weak_passphrase)"), "{}", text(&out.stderr));
    assert!(!root.join("root.key").exists() && !root.join("genesis.json").exists());

    // Four random words: the key is made.
    let made = ok(&home, &["id", "new", "--handle", handle]);
    assert_eq!(made["handle"], handle);
    assert!(home.join("id.key").exists());
}

/// A key's fingerprint as the command line prints it: the first 8 bytes in
/// hex, in groups of four.
fn fingerprint(key: &str) -> String {
    let hex = &key[..16];
    [&hex[..4], &hex[4..8], &hex[8..12], &hex[12..]].join(" ")
}

#[test]
fn a_second_key_attested_with_the_same_handle_is_told_apart_and_warned_about() {
    let network = Network::new();
    let node = TestNode::start(&network);
    let url = node.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("admin.token");
    std::fs::write(&token, &node.admin_token).unwrap();
    let token = token.to_str().unwrap().to_owned();
    let institution = dir.path().join("institution");

    // Each home gets a key with the handle rt-alice, attested at the node.
    let attested = |name: &str| -> (PathBuf, String) {
        let home = dir.path().join(name);
        let key = s(&ok(&home, &["id", "new", "--handle", "rt-alice"])["public_key"]);
        let request = s(&ok(&home, &["id", "request", "--node", &url])["request"]);
        let licence = format!("GMC-{name}");
        ok_with(
            &institution,
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
                &token,
                "--node",
                &url,
            ],
            Some(&request),
        );
        (home, key)
    };
    let post = |home: &Path, title: &str| -> String {
        let args = ["post", "--node", &url, "--hub", "general", "--title", title, "--body", "Hi"];
        s(&ok(home, &args)["id"])
    };

    let (alice, alice_key) = attested("alice");
    let first = post(&alice, "Hyponatraemia after a marathon");
    // One key with the handle: shown with key and verifier, no warning.
    let feed = text(&run(&alice, &["feed", "general", "--node", &url], None).stdout);
    let alice_label = format!(
        "rt-alice, cardiology, GB (key {}, attested by Test Hospital)",
        fingerprint(&alice_key)
    );
    assert!(feed.contains(&format!("by {alice_label}\n")), "{feed}");
    assert!(!feed.contains('⚠') && !feed.contains("warning"), "{feed}");

    // A second key attested as rt-alice posts, and replies to Alice.
    let (mallory, mallory_key) = attested("mallory");
    let second = post(&mallory, "Stop the fluids, says rt-alice");
    let reply = ok(&mallory, &["comment", &first, "--node", &url, "--body", "I was wrong."]);
    assert_eq!(reply["status"], "stored", "{reply}");
    assert_ne!(fingerprint(&alice_key), fingerprint(&mallory_key));
    let shared = "⚠ handle shared by 2 keys";
    let mallory_label = format!(
        "rt-alice, cardiology, GB (key {}, attested by Test Hospital)",
        fingerprint(&mallory_key)
    );

    // Text: each post under its own key, both marked, and a warning naming both.
    let feed = run(&alice, &["feed", "general", "--node", &url], None);
    assert!(feed.status.success(), "{}", text(&feed.stderr));
    let feed = text(&feed.stdout);
    for needle in [
        format!("by {alice_label} {shared}"),
        format!("by {mallory_label} {shared}"),
        "warning: the handle rt-alice is attested to 2 different keys".to_owned(),
        format!("key {} (Test Hospital)", fingerprint(&alice_key)),
        format!("key {} (Test Hospital)", fingerprint(&mallory_key)),
    ] {
        assert!(feed.contains(&needle), "{needle:?} missing from:\n{feed}");
    }
    let thread = text(&run(&alice, &["show", &first, "--node", &url], None).stdout);
    for needle in [
        format!("{alice_label} {shared} · "),
        format!("↳ {mallory_label} {shared} · "),
        "warning: the handle rt-alice is attested to 2 different keys".to_owned(),
    ] {
        assert!(thread.contains(&needle), "{needle:?} missing from:\n{thread}");
    }

    // JSON: the author's key, fingerprint, verifier and institution, the
    // count, and the warning.
    let feed = ok(&alice, &["feed", "general", "--node", &url]);
    let by_id = |id: &str| {
        feed["events"].as_array().unwrap().iter().find(|e| e["id"] == id).unwrap().clone()
    };
    for (id, key) in [(&first, &alice_key), (&second, &mallory_key)] {
        let e = by_id(id);
        assert_eq!(e["author"], key.as_str(), "{e}");
        assert_eq!(e["fingerprint"], fingerprint(key), "{e}");
        assert_eq!(e["handle"], "rt-alice", "{e}");
        assert_eq!(e["verifier"], json!(node.key), "{e}");
        assert_eq!(e["institution"], "Test Hospital", "{e}");
        assert_eq!(e["handle_keys"], 2, "{e}");
    }
    let warning = &feed["warnings"][0];
    assert_eq!(warning["code"], "shared_handle", "{feed}");
    assert_eq!(warning["handle"], "rt-alice", "{feed}");
    assert_eq!(warning["keys"], 2, "{feed}");
    let mut authors: Vec<PublicKey> = serde_json::from_value(warning["authors"].clone()).unwrap();
    authors.sort();
    let mut both: Vec<PublicKey> =
        [&alice_key, &mallory_key].iter().map(|k| k.parse().unwrap()).collect();
    both.sort();
    assert_eq!(authors, both, "{feed}");
    let thread = ok(&alice, &["show", &first, "--node", &url]);
    assert_eq!(thread["thread"][1]["event"]["author"], mallory_key.as_str(), "{thread}");
    assert_eq!(thread["thread"][1]["event"]["handle_keys"], 2, "{thread}");
    assert_eq!(thread["warnings"][0]["code"], "shared_handle", "{thread}");

    // The node says so to any client.
    let (status, view) = node.get(&format!("/v1/events/{second}"), Some(&node.admin_token));
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (view["handle_keys"].as_u64(), view["institution"].as_str()),
        (Some(2), Some("Test Hospital"))
    );
    drop(node);
}

fn short_pending(config: &mut curbside_node::config::NodeConfig) {
    config.ingest.pending_max_age_ms = 2_000;
}

/// Silent loss, no more: a post to a hub that does not exist is refused
/// (exit 1), a reply that must wait says so and exits 3, and `curbside
/// pending` shows what waits and, once it is dropped, what expired.
#[test]
fn a_reply_that_must_wait_says_so_and_curbside_pending_shows_it() {
    let network = Network::new();
    // A node of a federation with no peer to ask yet: a missing parent may
    // be on its way, so a reply to it waits (two seconds, here).
    let node = TestNode::start_unchartered(&[], &network, short_pending);
    assert_eq!(node.submit(&[network.charter(&node.key, &["GB"])]).0, 200);
    let url = node.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("admin.token");
    std::fs::write(&token, &node.admin_token).unwrap();
    let home = dir.path().join("dr-wait");
    ok(&home, &["id", "new", "--handle", "dr-wait"]);
    let request = s(&ok(&home, &["id", "request", "--node", &url])["request"]);
    let attest = [
        "attest",
        "-",
        "--specialty",
        "cardiology",
        "--jurisdiction",
        "GB",
        "--licence",
        "GMC-1",
        "--valid-days",
        "365",
        "--token-file",
        token.to_str().unwrap(),
        "--node",
        &url,
    ];
    ok_with(&dir.path().join("institution"), &attest, Some(&request));

    let typo = ["post", "--node", &url, "--hub", "cardiolgy", "--title", "Typo", "--body", "Hi"];
    let (_, err) = fails(&home, &typo, 1);
    assert!(err.contains("(unknown_hub)") && err.contains("cardiology"), "{err}");

    let parent = "ab".repeat(32);
    let reply = ["comment", &parent, "--node", &url, "--body", "Agreed."];
    let (_, err) = fails(&home, &reply, 3);
    assert!(err.contains("not stored yet") && err.contains("(pending)"), "{err}");
    assert!(err.contains("curbside pending"), "{err}");

    let listed = text(&run(&home, &["pending", "--node", &url], None).stdout);
    assert!(listed.contains(&format!("waits for event {parent}")), "{listed}");
    wait_until(Duration::from_secs(20), "the reply to expire", || {
        let listed = ok(&home, &["pending", "--node", &url]);
        listed["expired"].as_array().is_some_and(|e| !e.is_empty())
            && listed["waiting"].as_array().is_some_and(Vec::is_empty)
    });
    let listed = text(&run(&home, &["pending", "--node", &url], None).stdout);
    assert!(listed.contains("Dropped in the last week"), "{listed}");
}
