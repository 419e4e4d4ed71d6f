//! A physician's inbox, follows, bookmarks and `mine` (issue 16) on real
//! nodes: a reply made on another node reaches the author's inbox, a
//! mention reaches the one it names, a followed thread brings its
//! replies, `inbox --watch` prints an item while it streams, and nobody
//! reads anybody else's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::BufRead as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::cli_kit::{curbside, ok, physician, s};
use curbside_protocol::testkit::key;
use curbside_protocol::{Body, Comment, EventId, SecretKey};
use curbside_tests::{Network, TestNode, wait_until};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(30);

/// The `(id, kind, read)` of each item `inbox --all` lists.
fn inbox_items(home: &Path, url: &str) -> Vec<(String, String, bool)> {
    let answer = ok(home, &["inbox", "--all", "--node", url]);
    answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (s(&i["id"]), s(&i["kind"]), i["read"].as_bool().unwrap()))
        .collect()
}

#[test]
fn a_reply_made_on_another_node_reaches_the_authors_inbox_and_mine_lists_what_one_wrote() {
    let net = Network::new();
    let first = TestNode::start_peer(&net, &[], &["GB"]);
    let second = TestNode::start_peer(&net, &[first.p2p_addr()], &[]);
    wait_until(LIMIT, "the nodes to admit each other", || first.admitted_peers() == 1);
    let dir = tempfile::tempdir().unwrap();
    let author = physician(dir.path(), &first, "dr-author");
    let colleague = physician(dir.path(), &first, "dr-colleague");
    let (at_first, at_second) = (first.url.clone(), second.url.clone());

    let args = ["post", "--hub", "general", "--title", "Syncope at rest", "--body", "Tilt test?"];
    let post = s(&ok(&author, &[&args[..], &["--node", &at_first]].concat())["id"]);
    let post_id: EventId = post.parse().unwrap();
    wait_until(LIMIT, "the post to reach the second node", || {
        second.has(&post_id, &second.admin_token)
    });
    // Written at the second node, by its first 8 digits.
    let reply = ok(
        &colleague,
        &["comment", &post[..8], "--body", "An event recorder first.", "--node", &at_second],
    );
    assert_eq!(s(&reply["status"]), "stored", "{reply}");
    let reply = s(&reply["id"]);

    // It reaches the author's inbox at the first node, unread, by gossip.
    let deadline = Instant::now() + LIMIT;
    loop {
        let items = inbox_items(&author, &at_first);
        if items.contains(&(reply.clone(), "reply".into(), false)) {
            break;
        }
        assert!(Instant::now() < deadline, "the reply never reached the inbox: {items:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Shown once, it is read: `inbox` (unread only) no longer lists it.
    assert!(ok(&author, &["inbox", "--node", &at_first])["items"].as_array().unwrap().is_empty());
    assert_eq!(inbox_items(&author, &at_first), vec![(reply.clone(), "reply".into(), true)]);
    // For people: why each item is there, who wrote it, where.
    let shown = super::cli_kit::run(&author, &["inbox", "--all", "--node", &at_first], None);
    let shown = super::cli_kit::text(&shown.stdout);
    assert!(shown.contains("replied to you") && shown.contains("dr-colleague"), "{shown}");
    assert!(shown.contains(&format!("in thread {post}")), "{shown}");
    // The colleague's inbox is theirs: nothing is addressed to them.
    assert!(inbox_items(&colleague, &at_second).is_empty());

    // `mine` lists what each wrote, newest first.
    let mine = ok(&author, &["mine", "--node", &at_first]);
    let ids: Vec<String> = mine["events"].as_array().unwrap().iter().map(|e| s(&e["id"])).collect();
    assert_eq!(ids, vec![post.clone()], "{mine}");
    let mine = ok(&colleague, &["mine", "--node", &at_second]);
    let ids: Vec<String> = mine["events"].as_array().unwrap().iter().map(|e| s(&e["id"])).collect();
    assert_eq!(ids, vec![reply.clone()], "{mine}");

    // Follows and bookmarks by prefix, through the command line.
    ok(&colleague, &["bookmark", &post[..8], "--node", &at_second]);
    let marks = ok(&colleague, &["bookmarks", "--node", &at_second]);
    assert_eq!(s(&marks["bookmarks"][0]["id"]), post, "{marks}");
    assert!(
        ok(&author, &["bookmarks", "--node", &at_second])["bookmarks"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    ok(&colleague, &["unbookmark", &post[..8], "--node", &at_second]);
    assert!(
        ok(&colleague, &["bookmarks", "--node", &at_second])["bookmarks"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let followed = ok(&colleague, &["follow", &reply[..8], "--node", &at_second]);
    assert_eq!(
        (s(&followed["following"]["thread"]), &followed["new"]),
        (post.clone(), &json!(true))
    );
    let left = ok(&colleague, &["unfollow", &post[..8], "--node", &at_second]);
    assert_eq!(left["removed"], json!(true), "{left}");
    ok(&colleague, &["follow", "cardiology", "--node", &at_second]);
    ok(&colleague, &["unfollow", "cardiology", "--node", &at_second]);
}

fn comment(
    net: &Network,
    who: &SecretKey,
    parent: &EventId,
    body: &str,
) -> curbside_protocol::SignedEvent {
    net.sign(who, Body::Comment(Comment { parent: *parent, body: body.into() }))
}

fn items(node: &TestNode, token: &str) -> Vec<(String, String)> {
    let (status, body) = node.get("/v1/me/inbox", Some(token));
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().iter().map(|i| (s(&i["id"]), s(&i["kind"]))).collect()
}

#[test]
fn a_mention_reaches_the_one_named_a_followed_thread_its_replies_and_nobody_reads_anothers() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let (a, b, c) = (key("inbox-a"), key("inbox-b"), key("inbox-c"));
    node.attest(&net, &a, "dr-asks", &["cardiology"], "GB");
    node.attest(&net, &b, "dr-answers", &["cardiology"], "GB");
    node.attest(&net, &c, "dr-okafor", &["nephrology"], "GB");
    let (ta, tb, tc) = (
        node.session_when_attested(&net, &a),
        node.session_when_attested(&net, &b),
        node.session_when_attested(&net, &c),
    );
    let post = net.post(&a, "Hyperkalaemia on an ACE inhibitor");
    let mention = comment(&net, &b, &post.id(), "@dr-okafor would you stop it?");
    let (status, body) = node.submit(&[post.clone(), mention.clone()]);
    assert_eq!(status, 200, "{body}");
    let mention_id = mention.id().to_string();
    assert_eq!(items(&node, &tc), vec![(mention_id.clone(), "mention".into())]);
    assert_eq!(items(&node, &ta), vec![(mention_id.clone(), "reply".into())]);
    assert!(items(&node, &tb).is_empty(), "one's own words are not news");

    // dr-okafor follows the thread (by the comment: its thread is followed).
    let (status, body) = node.post("/v1/me/follows", &json!({ "target": mention_id }), Some(&tc));
    assert_eq!(status, 200, "{body}");
    assert_eq!(s(&body["following"]["thread"]), post.id().to_string(), "{body}");
    std::thread::sleep(Duration::from_millis(5));
    let later = comment(&net, &b, &mention.id(), "Or halve the dose.");
    assert_eq!(node.submit(std::slice::from_ref(&later)).0, 200);
    let got = items(&node, &tc);
    assert_eq!(got[0], (later.id().to_string(), "thread_reply".into()), "{got:?}");

    // Marked read, it sorts after the unread ones.
    let (status, body) = node.post("/v1/me/inbox/read", &json!({ "all": true }), Some(&tc));
    assert_eq!((status, body["marked"].as_u64()), (200, Some(2)), "{body}");
    let (_, body) = node.get("/v1/me/inbox?unread=true", Some(&tc));
    assert!(body["items"].as_array().unwrap().is_empty(), "{body}");
    assert_eq!(body["unread"], 0);

    // Bookmarks are each physician's own: a's list does not show c's.
    let (status, _) = node.post("/v1/me/bookmarks", &json!({ "id": post.id() }), Some(&tc));
    assert_eq!(status, 200);
    let (_, theirs) = node.get("/v1/me/bookmarks", Some(&ta));
    assert!(theirs["bookmarks"].as_array().unwrap().is_empty(), "{theirs}");
    let (_, mine) = node.get("/v1/me/bookmarks", Some(&tc));
    assert_eq!(s(&mine["bookmarks"][0]["id"]), post.id().to_string(), "{mine}");
    // No session, no answer; the operator's token reads nobody's inbox.
    for path in ["/v1/me/inbox", "/v1/me/bookmarks", "/v1/me/follows", "/v1/me/events"] {
        let (status, body) = node.get(path, None);
        assert_eq!((status, s(&body["code"])), (401, "unauthenticated".into()), "{path}");
        let (status, body) = node.get(path, Some(&node.admin_token));
        assert_eq!((status, s(&body["code"])), (403, "forbidden".into()), "{path}");
    }
    // Following what is not here is refused with its code.
    let (status, body) =
        node.post("/v1/me/follows", &json!({ "target": "no-such-hub" }), Some(&tc));
    assert_eq!((status, s(&body["code"])), (404, "not_found".into()), "{body}");
}

#[test]
fn inbox_watch_prints_a_reply_while_it_streams() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let dir = tempfile::tempdir().unwrap();
    let author = physician(dir.path(), &node, "dr-watcher");
    let url = node.url.clone();
    let args = ["post", "--hub", "general", "--title", "Gout flare", "--body", "Colchicine dose?"];
    let post: EventId =
        s(&ok(&author, &[&args[..], &["--node", &url]].concat())["id"]).parse().unwrap();
    let colleague = key("watch-colleague");
    node.attest(&net, &colleague, "dr-replier", &["cardiology"], "GB");
    node.session_when_attested(&net, &colleague);

    let mut child = curbside(&author)
        .args(["--json", "inbox", "--watch", "--node", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, got) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    // The first line is the inbox as it was (empty); every later line is an
    // item streamed. A reply stored before the stream opened is not news to
    // it, so replies are made until one is streamed (bounded).
    let first: Value = serde_json::from_str(&got.recv_timeout(LIMIT).unwrap()).unwrap();
    assert!(first["items"].as_array().unwrap().is_empty(), "{first}");
    let deadline = Instant::now() + LIMIT;
    let mut made = Vec::new();
    let streamed = loop {
        assert!(Instant::now() < deadline, "no item streamed; replies made: {made:?}");
        let reply = comment(&net, &colleague, &post, &format!("Low dose, reply {}", made.len()));
        assert_eq!(node.submit(std::slice::from_ref(&reply)).0, 200);
        made.push(reply.id().to_string());
        if let Ok(line) = got.recv_timeout(Duration::from_secs(3)) {
            break serde_json::from_str::<Value>(&line).unwrap();
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(s(&streamed["kind"]), "reply", "{streamed}");
    assert!(made.contains(&s(&streamed["id"])), "{streamed}");
    assert_eq!(s(&streamed["event"]["handle"]), "dr-replier", "{streamed}");
}

#[test]
fn inbox_streams_are_bounded_and_end_when_the_node_stops() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let dr = key("stream-holder");
    node.attest(&net, &dr, "dr-streams", &["cardiology"], "GB");
    let token = node.session_when_attested(&net, &dr);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(LIMIT))
        .build()
        .into();
    let open = || {
        agent
            .get(format!("{}/v1/me/inbox/stream", node.url))
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .unwrap()
    };
    // Four streams for one physician; each is read to its end on a thread.
    let (ended, ends) = std::sync::mpsc::channel::<Result<u64, String>>();
    for _ in 0..4 {
        let response = open();
        assert_eq!(response.status().as_u16(), 200);
        let ended = ended.clone();
        std::thread::spawn(move || {
            let mut body = response.into_body().into_reader();
            let read = std::io::copy(&mut body, &mut std::io::sink());
            let _ = ended.send(read.map_err(|e| e.to_string()));
        });
    }
    let mut fifth = open();
    let body: Value = serde_json::from_str(&fifth.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!((fifth.status().as_u16(), s(&body["code"])), (429, "too_many_streams".into()));

    // Stopping the node ends them: it does not wait out the requests' limit.
    let started = Instant::now();
    drop(node.stop());
    assert!(started.elapsed() < Duration::from_secs(8), "stopping took {:?}", started.elapsed());
    for _ in 0..4 {
        let end = ends.recv_timeout(Duration::from_secs(5)).expect("every stream ended");
        // Ended by the node (the stream's last chunk), not cut off.
        assert!(end.is_ok(), "{end:?}");
    }
}
