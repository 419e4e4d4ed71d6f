//! A command line a physician can type (issue 16): ids by their first
//! digits, through the `curbside` binary against a real node.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::Path;

use super::cli_kit::{fails, ok, ok_with, physician, run, s, text};
use curbside_protocol::testkit::key;
use curbside_protocol::{Body, Event, Post, SecretKey, SignedEvent};
use curbside_tests::{Network, TestNode};

/// Two posts by `author` whose ids share their first 8 hex digits (32
/// bits: found among some 80,000 tries, by the birthday bound).
fn two_posts_sharing_eight_digits(
    network: &Network,
    author: &SecretKey,
) -> (SignedEvent, SignedEvent) {
    let at = curbside_node::now();
    let post = |i: u32| {
        Event::new(
            network.id(),
            author.public(),
            at,
            Body::Post(Post {
                hub: "general".parse().unwrap(),
                title: format!("Hyponatraemia {i}"),
                body: "Thoughts?".into(),
            }),
        )
        .sign(author)
        .unwrap()
    };
    let mut seen: HashMap<[u8; 4], u32> = HashMap::new();
    for i in 0..2_000_000 {
        let event = post(i);
        let first: [u8; 4] = event.id().as_bytes()[..4].try_into().unwrap();
        if let Some(earlier) = seen.insert(first, i) {
            return (post(earlier), event);
        }
    }
    panic!("no two of 2,000,000 ids shared 32 bits");
}

#[test]
fn an_id_prefix_resolves_and_an_ambiguous_one_lists_its_candidates() {
    let network = Network::new();
    let node = TestNode::start(&network);
    let url = node.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let home = physician(dir.path(), &node, "dr-typist");

    // Another physician's two posts, whose ids start with the same 8 digits.
    let other = key("dr-twins");
    node.attest(&network, &other, "dr-twins", &["cardiology"], "GB");
    let (a, b) = two_posts_sharing_eight_digits(&network, &other);
    let (status, body) = node.submit(&[a.clone(), b.clone()]);
    assert_eq!(status, 200, "{body}");
    let (a_hex, b_hex) = (a.id().to_string(), b.id().to_string());
    let shared = &a_hex[..8];
    assert_eq!(shared, &b_hex[..8]);

    // The shared 8 digits are refused, naming both, exit 1.
    let (_, err) = fails(&home, &["show", shared, "--node", &url], 1);
    assert!(err.contains("(ambiguous_id)"), "{err}");
    assert!(err.contains(&a_hex) && err.contains(&b_hex), "both candidates listed: {err}");
    assert!(err.contains("Hyponatraemia"), "candidates with their titles: {err}");
    let out = run(&home, &["--json", "comment", shared, "--body", "Which?", "--node", &url], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"code\":\"ambiguous_id\""), "{}", text(&out.stdout));

    // The API answers the same: 409 with both as candidates.
    let token = node.session_when_attested(&network, &other);
    let (status, body) = node.get(&format!("/v1/ids/{shared}"), Some(&token));
    assert_eq!((status, s(&body["code"])), (409, "ambiguous_id".to_owned()), "{body}");
    let candidates: Vec<String> =
        body["candidates"].as_array().unwrap().iter().map(|c| s(&c["id"])).collect();
    assert!(candidates.contains(&a_hex) && candidates.contains(&b_hex), "{body}");

    // Enough digits to tell them apart name one: show, comment and vote take them.
    let differ = a_hex.chars().zip(b_hex.chars()).position(|(x, y)| x != y).unwrap();
    let a_prefix = &a_hex[..(differ + 1).max(8)];
    let shown = ok(&home, &["show", a_prefix, "--node", &url]);
    assert_eq!(s(&shown["thread"][0]["event"]["id"]), a_hex, "{shown}");
    let reply = ok(&home, &["comment", a_prefix, "--body", "Check osmolality.", "--node", &url]);
    assert_eq!((s(&reply["status"]), s(&reply["parent"])), ("stored".into(), a_hex.clone()));
    let reply_id = s(&reply["id"]);

    // A comment's own 8 digits show it; the whole id still works.
    let shown = ok(&home, &["show", &reply_id[..8], "--node", &url]);
    assert_eq!(s(&shown["thread"][0]["event"]["id"]), reply_id, "{shown}");
    let shown = ok(&home, &["show", &a_hex, "--node", &url]);
    assert_eq!(shown["thread"].as_array().unwrap().len(), 2, "{shown}");

    // Digits no id starts with: not found (exit 1); too few: a usage error (exit 2).
    let unknown = if a_hex.starts_with("00000000") { "ffffffff" } else { "00000000" };
    let (_, err) = fails(&home, &["show", unknown, "--node", &url], 1);
    assert!(err.contains("(not_found)"), "{err}");
    let (_, err) = fails(&home, &["show", &a_hex[..7], "--node", &url], 2);
    assert!(err.contains("first 8 characters or more"), "{err}");
}

#[test]
fn whoami_says_who_readers_see_and_hubs_how_lately_each_was_used() {
    let network = Network::new();
    let node = TestNode::start(&network);
    let url = node.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let home = physician(dir.path(), &node, "dr-whoami");

    let me = ok(&home, &["whoami", "--node", &url]);
    assert_eq!(me["handle"], "dr-whoami", "{me}");
    assert_eq!(me["attested"], true, "{me}");
    assert_eq!(me["specialties"], serde_json::json!(["cardiology"]), "{me}");
    assert_eq!(me["jurisdiction"], "GB", "{me}");
    let valid_until = me["valid_until"].as_u64().unwrap();
    let year = 365 * 24 * 3_600_000;
    assert!(valid_until > curbside_node::now().as_millis() + year - 3_600_000, "{me}");
    let out = text(&run(&home, &["whoami", "--node", &url], None).stdout);
    assert!(out.starts_with("dr-whoami (key "), "{out}");
    assert!(out.contains("cardiology · GB\nattested by "), "{out}");

    // Before any post no hub has a latest; after one, general has, and leads.
    let hubs = ok(&home, &["hubs", "--node", &url]);
    let list = hubs["hubs"].as_array().unwrap();
    assert!(list.iter().any(|h| h["id"] == "cardiology"), "{hubs}");
    assert!(list.iter().all(|h| h["latest"].is_null()), "{hubs}");
    let post = ok(
        &home,
        &["post", "--hub", "general", "--title", "Hello", "--body", "First post", "--node", &url],
    );
    assert_eq!(post["status"], "stored", "{post}");
    let hubs = ok(&home, &["hubs", "--node", &url]);
    let general = hubs["hubs"].as_array().unwrap().iter().find(|h| h["id"] == "general").unwrap();
    assert!(general["latest"].as_u64().is_some(), "{hubs}");
    let out = text(&run(&home, &["hubs", "--node", &url], None).stdout);
    assert!(
        out.starts_with("general ") && out.lines().next().unwrap().contains("just now"),
        "{out}"
    );
}

#[test]
fn a_comment_is_shown_below_the_way_up_to_its_post_and_authors_with_specialty() {
    let network = Network::new();
    let node = TestNode::start(&network);
    let url = node.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let home = physician(dir.path(), &node, "dr-up");
    let post = ok(
        &home,
        &["post", "--hub", "general", "--title", "Syncope", "--body", "MRI first?", "--node", &url],
    );
    let post_id = s(&post["id"]);
    let reply =
        s(&ok(&home, &["comment", &post_id, "--body", "Exercise test.", "--node", &url])["id"]);
    let nested = s(&ok(&home, &["comment", &reply, "--body", "Agreed.", "--node", &url])["id"]);

    // The nested reply: the post, then the reply, one line each, root first.
    let shown = ok(&home, &["show", &nested[..8], "--node", &url]);
    let up: Vec<String> = shown["up"].as_array().unwrap().iter().map(|e| s(&e["id"])).collect();
    assert_eq!(up, [post_id.clone(), reply.clone()], "{shown}");
    assert_eq!(s(&shown["thread"][0]["event"]["id"]), nested);
    let out = text(&run(&home, &["show", &nested, "--node", &url], None).stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "in reply to:", "{out}");
    assert!(
        lines[1].starts_with(&format!("  post {} · dr-up, cardiology, GB (key ", &post_id[..8])),
        "{out}"
    );
    assert!(lines[1].ends_with(" · Syncope"), "{out}");
    assert!(lines[2].starts_with(&format!("    comment {} · ", &reply[..8])), "{out}");
    assert!(lines[2].ends_with(" · Exercise test."), "{out}");

    // A post has nothing above it.
    let shown = ok(&home, &["show", &post_id, "--node", &url]);
    assert_eq!(shown["up"], serde_json::json!([]), "{shown}");
    let feed = text(&run(&home, &["feed", "general", "--node", &url], None).stdout);
    assert!(feed.contains("by dr-up, cardiology, GB (key "), "{feed}");
    let feed = ok(&home, &["feed", "general", "--node", &url]);
    assert_eq!(feed["events"][0]["specialties"], serde_json::json!(["cardiology"]), "{feed}");
    assert_eq!(feed["events"][0]["jurisdiction"], "GB", "{feed}");
    // The feed counts the post's thread: two comments, at any depth.
    assert_eq!(feed["events"][0]["replies"], 2, "{feed}");
    let feed = text(&run(&home, &["feed", "general", "--node", &url], None).stdout);
    assert!(feed.contains(&format!("{post_id} · 2 replies\n")), "{feed}");
}

#[test]
fn a_title_is_one_line_and_a_body_may_come_from_a_file_or_standard_input() {
    let network = Network::new();
    let node = TestNode::start(&network);
    let url = node.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let home = physician(dir.path(), &node, "dr-oneline");

    let args = ["--hub", "general", "--body", "Details.", "--node", &url];
    let mut post = vec!["post", "--title", "Syncope\nin an athlete"];
    post.extend_from_slice(&args);
    let (_, err) = fails(&home, &post, 1);
    assert!(err.contains("(title_not_one_line)"), "{err}");
    let mut poll = vec!["poll", "--question", "First\tline?", "--option", "A", "--option", "B"];
    poll.extend_from_slice(&["--closes-in", "1d", "--hub", "general", "--node", &url]);
    let (_, err) = fails(&home, &poll, 1);
    assert!(err.contains("(title_not_one_line)"), "{err}");

    // Signed elsewhere and sent to the API: refused by the node's policy.
    let author = key("dr-elsewhere");
    node.attest(&network, &author, "dr-elsewhere", &["cardiology"], "GB");
    let bad = network.post(&author, "Two\nlines");
    let (status, body) = node.submit(std::slice::from_ref(&bad));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["outcomes"][0]["code"], "title_not_one_line", "{body}");
    assert_eq!(body["outcomes"][0]["id"], bad.id().to_string(), "{body}");
    let good = network.post(&author, "One line");
    assert_eq!(node.submit(std::slice::from_ref(&good)).0, 200);

    // Long text from a file, or from standard input with `-`.
    let file = dir.path().join("body.txt");
    std::fs::write(&file, "Two episodes on exertion.\n\nBP 118/76, QTc 480 ms.\n").unwrap();
    let file = file.to_str().unwrap();
    let args = ["post", "--hub", "general", "--title", "Syncope", "--body-file", file];
    let mut post = args.to_vec();
    post.extend_from_slice(&["--node", &url]);
    let id = s(&ok(&home, &post)["id"]);
    let shown = ok(&home, &["show", &id, "--node", &url]);
    let body = &shown["thread"][0]["event"]["body"]["body"];
    assert_eq!(body, "Two episodes on exertion.\n\nBP 118/76, QTc 480 ms.", "{shown}");
    let comment = ["comment", &id, "--body-file", "-", "--node", &url];
    let reply = ok_with(&home, &comment, Some("Exercise test first.\n"));
    let shown = ok(&home, &["show", &s(&reply["id"]), "--node", &url]);
    assert_eq!(shown["thread"][0]["event"]["body"]["body"], "Exercise test first.", "{shown}");
    // Neither, and no terminal: told how to give it, nothing sent.
    let (_, err) = fails(&home, &["comment", &id, "--node", &url], 2);
    assert!(err.contains("--body-file"), "{err}");
}

/// Closes an unlocked key when the test ends, however it ends.
struct Locked<'a>(&'a Path);

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let _ = run(self.0, &["lock"], None);
    }
}

/// `curbside unlock` keeps the key open in an agent: commands then sign
/// without a passphrase (none is given, and there is no terminal to ask
/// on), until `curbside lock`; the agent's socket is the owner's alone.
#[test]
fn unlock_signs_without_the_passphrase_until_lock() {
    use std::os::unix::fs::PermissionsExt as _;
    let network = Network::new();
    let node = TestNode::start(&network);
    let url = node.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let home = physician(dir.path(), &node, "dr-sitting");
    let without_passphrase = |args: &[&str]| {
        let mut cmd = super::cli_kit::curbside(&home);
        cmd.env_remove("CURBSIDE_PASSPHRASE").arg("--json").args(args);
        cmd.output().unwrap()
    };
    let post = ["post", "--hub", "general", "--title", "Hyponatraemia", "--body", "Thoughts?"];
    let post: Vec<&str> = post.iter().copied().chain(["--node", url.as_str()]).collect();

    // Locked: no passphrase, no terminal, nothing signed.
    let out = without_passphrase(&post);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stdout));

    let unlocked = ok(&home, &["unlock", "--for", "10m"]);
    let _closes = Locked(&home);
    assert!(unlocked["unlocked"].is_string(), "{unlocked}");
    let socket = home.join("agent.sock");
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the agent's socket is the owner's alone");

    let out = without_passphrase(&post);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s(&answer["status"]), "stored", "{answer}");
    // Reading opens a session with the agent's signature too.
    let out = without_passphrase(&["feed", "general", "--node", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    assert_eq!(ok(&home, &["lock"])["locked"], true);
    assert!(!socket.exists(), "the agent removed its socket");
    let out = without_passphrase(&post);
    assert_ne!(out.status.code(), Some(0), "locked again: {}", text(&out.stdout));
    assert_eq!(ok(&home, &["lock"])["locked"], false, "nothing left to lock");
}
