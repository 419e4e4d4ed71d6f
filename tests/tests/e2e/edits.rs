//! Edits on real nodes (rules 4): an author edits their post at one node,
//! and the other shows the new text in its place (same id, same thread),
//! while nothing of the old text is found by search on either; another
//! key's edit is refused at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use curbside_protocol::testkit::key;
use curbside_protocol::{Body, Comment, Edit, HubId, Post, Revision, SignedEvent};
use curbside_tests::{Network, TestNode, wait_until};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);

/// The ids a search at `node` answers.
fn found(node: &TestNode, query: &str, token: &str) -> Vec<String> {
    let (status, body) = node.get(&format!("/v1/search?{query}"), Some(token));
    assert_eq!(status, 200, "{query}: {body}");
    body["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().into()).collect()
}

/// `GET /v1/events/{id}` at `node`.
fn shown(node: &TestNode, post: &SignedEvent, token: &str) -> Value {
    let (status, body) = node.get(&format!("/v1/events/{}", post.id()), Some(token));
    assert_eq!(status, 200, "{body}");
    body
}

fn edit(
    net: &Network,
    author: &curbside_protocol::SecretKey,
    post: &SignedEvent,
    text: &str,
) -> SignedEvent {
    let Body::Post(p) = post.body().clone() else { panic!("not a post") };
    let content = Revision::Post(Post { body: text.into(), ..p });
    net.sign(author, Body::Edit(Edit::of(post, content).unwrap()))
}

#[test]
fn an_edit_replaces_the_text_everywhere() {
    let net = Network::new();
    let first = TestNode::start_peer(&net, &[], &["GB"]);
    let second = TestNode::start_peer(&net, &[first.p2p_addr()], &[]);
    wait_until(LIMIT, "the nodes to admit each other", || first.admitted_peers() == 1);
    let (author, colleague) = (key("edit-author"), key("edit-colleague"));
    first.attest(&net, &author, "dr-editor", &["cardiology"], "GB");
    first.attest(&net, &colleague, "dr-colleague", &["cardiology"], "GB");
    // Edits are valid from rules 4 on: the root raises them from now.
    let rules = net.rules_from_now(4);
    assert_eq!(first.submit(std::slice::from_ref(&rules)).0, 200);
    let nodes = [&first, &second];
    let tokens: Vec<String> = nodes
        .iter()
        .map(|n| {
            n.session_when_attested(&net, &colleague);
            n.session_when_attested(&net, &author)
        })
        .collect();
    wait_until(LIMIT, "the rules to reach the second node", || second.has(&rules.id(), &tokens[1]));

    let post = net.sign(
        &author,
        Body::Post(Post {
            hub: HubId::new("general").unwrap(),
            title: "Hyponatraemia after a marathon".into(),
            body: "Sodium 128, urine osmolality 620: exercise-associated?".into(),
        }),
    );
    let reply = net.sign(
        &colleague,
        Body::Comment(Comment { parent: post.id(), body: "Check thyroid function".into() }),
    );
    assert_eq!(first.submit(&[post.clone(), reply.clone()]).0, 200);
    wait_until(LIMIT, "the post to be found at the second node", || {
        found(&second, "q=osmolality", &tokens[1]) == vec![post.id().to_string()]
    });

    // Someone else's edit: refused at once, by this node's policy.
    let forged = edit(&net, &colleague, &post, "Nothing wrong here at all.");
    let (status, body) = first.submit(std::slice::from_ref(&forged));
    assert_eq!((status, body["code"].as_str()), (422, Some("not_your_event")), "{body}");

    // The author's edit at the first node.
    let edit = edit(&net, &author, &post, "Sodium 126 after fluid restriction; SIADH likely.");
    let (status, body) = first.submit(std::slice::from_ref(&edit));
    assert_eq!(status, 200, "{body}");
    wait_until(LIMIT, "the edit to reach the second node", || {
        shown(&second, &post, &tokens[1])["edited"]["id"] == edit.id().to_string().as_str()
    });
    for (node, token) in nodes.iter().zip(&tokens) {
        let view = shown(node, &post, token);
        assert_eq!(view["id"], post.id().to_string().as_str(), "{view}");
        assert_eq!(view["kind"], "post");
        assert_eq!(view["body"]["body"], "Sodium 126 after fluid restriction; SIADH likely.");
        assert_eq!(view["edited"]["edited_at"], serde_json::json!(edit.created_at()));
        // In the feed and in its thread, in its place, with its reply.
        let (_, feed) = node.get("/v1/hubs/general/feed", Some(token));
        let item = &feed["events"][0];
        assert_eq!(item["id"], post.id().to_string().as_str(), "{feed}");
        assert_eq!(item["edited"]["id"], edit.id().to_string().as_str(), "{feed}");
        assert_eq!(item["replies"], 1, "{feed}");
        let (_, thread) = node.get(&format!("/v1/events/{}/thread", post.id()), Some(token));
        let entries = thread["thread"].as_array().unwrap();
        assert_eq!(entries.len(), 2, "{thread}");
        assert_eq!(entries[0]["event"]["body"]["title"], "Hyponatraemia after a marathon");
        assert!(entries[0]["retracted"].is_null(), "{thread}");
        assert_eq!(entries[1]["id"], reply.id().to_string().as_str());
        // Nothing of the old text is found; the new text is, under the
        // original's id.
        wait_until(LIMIT, "the old text to leave the index", || {
            found(node, "q=osmolality", token).is_empty()
        });
        wait_until(LIMIT, "the new text to be found", || {
            found(node, "q=restriction", token) == vec![post.id().to_string()]
        });
        // The original sent again: refused, its text is gone.
        let (status, body) = node.submit(std::slice::from_ref(&post));
        assert_eq!((status, body["code"].as_str()), (422, Some("edited")), "{body}");
        // Still in its author's own list, as its edit, and the reply to it
        // still in their inbox.
        let (_, written) = node.get("/v1/me/events", Some(token));
        assert_eq!(written["events"][0]["id"], post.id().to_string().as_str(), "{written}");
        assert_eq!(written["events"][0]["edited"]["id"], edit.id().to_string().as_str());
        let (_, inbox) = node.get("/v1/me/inbox", Some(token));
        let replies: Vec<&str> = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == "reply")
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(replies, [reply.id().to_string()], "{inbox}");
    }
}

/// `curbside edit`, by id prefix: a post's body and a case's field
/// change, a second edit edits the original again (not the first edit),
/// the guard refuses an identifier before signing, and a colleague cannot
/// edit it.
#[test]
fn the_command_line_edits_a_post_and_a_case() {
    use super::cli_kit::physician;
    use super::cli_kit::{fails, ok, s};

    let net = Network::new();
    let node = TestNode::start(&net);
    let url = node.url.clone();
    assert_eq!(node.submit(&[net.rules_from_now(4)]).0, 200);
    let dir = tempfile::tempdir().unwrap();
    let home = physician(dir.path(), &node, "dr-editor");
    let colleague = physician(dir.path(), &node, "dr-colleague");
    let post = ok(
        &home,
        &[
            "post",
            "--hub",
            "general",
            "--title",
            "Syncope",
            "--body",
            "QTc 480 ms.",
            "--node",
            &url,
        ],
    );
    let id = s(&post["id"]);
    let (_, err) = fails(&colleague, &["edit", &id[..8], "--body", "Forged.", "--node", &url], 2);
    assert!(err.contains("only its author"), "{err}");
    let (_, err) =
        fails(&home, &["edit", &id[..8], "--body", "Call her on 617-555-0142.", "--node", &url], 1);
    assert!(err.contains("phone") || err.contains("identif"), "{err}");
    let first = ok(&home, &["edit", &id[..8], "--body", "QTc 490 ms on repeat.", "--node", &url]);
    assert_eq!(first["status"], "stored", "{first}");
    assert_eq!(s(&first["original"]), id, "{first}");
    let second = ok(&home, &["edit", &id[..8], "--title", "Syncope at rest", "--node", &url]);
    assert_eq!(second["status"], "stored", "{second}");
    let shown = ok(&home, &["feed", "general", "--node", &url]);
    let item = &shown["events"][0];
    assert_eq!(s(&item["id"]), id, "{shown}");
    assert_eq!(item["body"]["title"], "Syncope at rest", "{shown}");
    // The second edit started from the first's text.
    assert_eq!(item["body"]["body"], "QTc 490 ms on repeat.", "{shown}");

    let case = ok(
        &home,
        &[
            "case",
            "--hub",
            "general",
            "--title",
            "Chest tightness",
            "--age",
            "47",
            "--sex",
            "f",
            "--presentation",
            "Two weeks on stairs.",
            "--question",
            "CTCA first?",
            "--yes",
            "--node",
            &url,
        ],
    );
    let case_id = s(&case["id"]);
    let edited = ok(
        &home,
        &["edit", &case_id[..8], "--findings", "Resting ECG normal.", "--yes", "--node", &url],
    );
    assert_eq!(edited["status"], "stored", "{edited}");
    let shown = ok(&home, &["feed", "general", "--node", &url]);
    let view = &shown["events"][0];
    assert_eq!(s(&view["id"]), case_id, "{shown}");
    assert_eq!(view["body"]["findings"], "Resting ECG normal.", "{view}");
    assert_eq!(view["body"]["presentation"], "Two weeks on stairs.", "{view}");
}
