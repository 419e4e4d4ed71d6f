//! Outcomes, accepted answers and poll answers on real nodes: what a case's,
//! thread's or poll's author adds reaches every node, a node that joins
//! afterwards included (sync carries the new kinds like any event), and
//! every node shows the same one in force.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use curbside_protocol::testkit::key;
use curbside_protocol::{
    Accept, AgeBand, Body, Case, Comment, EventId, Outcome, Poll, PollAnswer, SecretKey, Sex,
    SignedEvent, Vote,
};
use curbside_tests::{Network, TestNode, wait_until};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);

/// A verifier and two relays, connected, with three attested doctors and
/// rules 3 in force; each node's session for the colleague.
fn three_nodes(net: &Network) -> (Vec<TestNode>, Vec<SecretKey>, Vec<String>) {
    let first = TestNode::start_peer(net, &[], &["GB"]);
    let boot = vec![first.p2p_addr()];
    let nodes =
        vec![first, TestNode::start_peer(net, &boot, &[]), TestNode::start_peer(net, &boot, &[])];
    wait_until(LIMIT, "the first node to admit the others", || nodes[0].admitted_peers() == 2);
    let doctors = vec![key("outcome-author"), key("outcome-colleague"), key("outcome-third")];
    for (d, handle) in doctors.iter().zip(["dr-author", "dr-colleague", "dr-third"]) {
        nodes[0].attest(net, d, handle, &["cardiology"], "GB");
    }
    let rules = net.rules_from_now(3);
    assert_eq!(nodes[0].submit(std::slice::from_ref(&rules)).0, 200);
    let mut tokens = Vec::new();
    for n in &nodes {
        let token = n.session_when_attested(net, &doctors[1]);
        wait_until(LIMIT, "the rules change to reach every node", || n.has(&rules.id(), &token));
        tokens.push(token);
    }
    (nodes, doctors, tokens)
}

fn case(net: &Network, author: &SecretKey) -> SignedEvent {
    net.sign(
        author,
        Body::Case(Case {
            hub: "general".parse().unwrap(),
            title: "Exertional chest tightness".into(),
            age: AgeBand::Age40To49,
            sex: Sex::Female,
            presentation: "Two weeks of chest tightness on stairs.".into(),
            history: String::new(),
            findings: "Resting ECG normal; troponin negative.".into(),
            question: "CTCA or stress test first?".into(),
            tags: vec![],
        }),
    )
}

/// The feed entry of `id` at `node`.
fn in_feed(node: &TestNode, id: &EventId, token: &str) -> Option<Value> {
    let (status, body) = node.get("/v1/hubs/general/feed", Some(token));
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().iter().find(|e| e["id"] == id.to_string()).cloned()
}

/// The diagnosis `node` shows for the case in its feed, if solved.
fn solved(node: &TestNode, case: &EventId, token: &str) -> Option<String> {
    in_feed(node, case, token)?["outcome"]["diagnosis"].as_str().map(str::to_owned)
}

/// The comments `node` marks as accepted in the thread of `root`.
fn accepted(node: &TestNode, root: &EventId, token: &str) -> Vec<String> {
    let (status, body) = node.get(&format!("/v1/events/{root}/thread"), Some(token));
    assert_eq!(status, 200, "{body}");
    body["thread"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["accepted_answer"] == true)
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_outcome_and_an_accept_mark_the_case_solved_on_every_node() {
    let net = Network::new();
    let (nodes, doctors, tokens) = three_nodes(&net);
    let (author, colleague, third) = (&doctors[0], &doctors[1], &doctors[2]);
    let case = case(&net, author);
    let reply = net.sign(
        colleague,
        Body::Comment(Comment { parent: case.id(), body: "CTCA first: low pretest.".into() }),
    );
    let nested = net.sign(
        third,
        Body::Comment(Comment { parent: reply.id(), body: "Agree, and a lipid panel.".into() }),
    );
    assert_eq!(nodes[0].submit(&[case.clone(), reply.clone(), nested.clone()]).0, 200);
    for (n, t) in nodes.iter().zip(&tokens) {
        wait_until(LIMIT, "the thread to reach every node", || n.has(&nested.id(), t));
        assert_eq!(solved(n, &case.id(), t), None, "not solved yet");
    }

    // The author says how it ended, at the second node; an earlier
    // outcome signed before it arrives at the third node last.
    let earlier = net.sign(
        author,
        Body::Outcome(Outcome {
            case: case.id(),
            diagnosis: "Costochondritis".into(),
            text: String::new(),
        }),
    );
    std::thread::sleep(Duration::from_millis(5));
    let outcome = net.sign(
        author,
        Body::Outcome(Outcome {
            case: case.id(),
            diagnosis: "Stable angina".into(),
            text: "70% LAD stenosis on CTCA; medical therapy.".into(),
        }),
    );
    let (status, body) = nodes[1].submit(std::slice::from_ref(&outcome));
    assert_eq!(status, 200, "{body}");
    // Another doctor's outcome of the case is refused with its code.
    let theirs = net.sign(
        colleague,
        Body::Outcome(Outcome { case: case.id(), diagnosis: "GERD".into(), text: String::new() }),
    );
    let (status, body) = nodes[0].submit(std::slice::from_ref(&theirs));
    assert_eq!((status, body["code"].as_str()), (422, Some("not_target_author")), "{body}");
    for (n, t) in nodes.iter().zip(&tokens) {
        wait_until(LIMIT, "the case to show solved everywhere", || {
            solved(n, &case.id(), t).as_deref() == Some("Stable angina")
        });
    }
    let (status, body) = nodes[2].submit(std::slice::from_ref(&earlier));
    assert_eq!(status, 200, "{body}");
    for (n, t) in nodes.iter().zip(&tokens) {
        wait_until(LIMIT, "the earlier outcome to reach every node", || n.has(&earlier.id(), t));
        assert_eq!(solved(n, &case.id(), t).as_deref(), Some("Stable angina"), "the latest wins");
    }

    // The author accepts the nested reply, at the third node.
    let accept = net.sign(author, Body::Accept(Accept { comment: nested.id(), thread: case.id() }));
    let (status, body) = nodes[2].submit(std::slice::from_ref(&accept));
    assert_eq!(status, 200, "{body}");
    for (n, t) in nodes.iter().zip(&tokens) {
        wait_until(LIMIT, "the accepted answer to show everywhere", || {
            accepted(n, &case.id(), t) == vec![nested.id().to_string()]
        });
        let shown = in_feed(n, &case.id(), t).unwrap();
        assert_eq!(shown["accepted"]["comment"], nested.id().to_string(), "{shown}");
    }

    // A node that joins afterwards learns all of it by sync.
    let fresh = TestNode::start_peer(&net, &[nodes[0].p2p_addr()], &[]);
    let token = fresh.session_when_attested(&net, colleague);
    wait_until(LIMIT, "the new node to sync the outcome and the accept", || {
        solved(&fresh, &case.id(), &token).as_deref() == Some("Stable angina")
            && accepted(&fresh, &case.id(), &token) == vec![nested.id().to_string()]
    });
    let fresh = fresh.stop();
    assert_eq!(fresh.holds(&outcome.id()), (true, true), "held, and the store checks sound");
    for n in nodes {
        assert_eq!(n.stop().holds(&outcome.id()), (true, true));
    }
}

#[test]
fn a_polls_answer_after_it_closed_shows_calibration_on_every_node() {
    let net = Network::new();
    let (nodes, doctors, tokens) = three_nodes(&net);
    let closes_at = curbside_node::now().plus_millis(3_000);
    let poll = net.sign(
        &doctors[0],
        Body::Poll(Poll {
            hub: "general".parse().unwrap(),
            question: "Most likely diagnosis?".into(),
            options: vec!["Angina".into(), "Reflux".into(), "Anxiety".into()],
            closes_at,
            eligible: vec![],
        }),
    );
    let votes: Vec<SignedEvent> = doctors
        .iter()
        .zip([0u8, 0, 1])
        .map(|(d, option)| net.sign(d, Body::Vote(Vote { poll: poll.id(), option })))
        .collect();
    let mut batch = vec![poll.clone()];
    batch.extend(votes);
    assert_eq!(nodes[0].submit(&batch).0, 200);
    // Before it closes, its answer is refused.
    let early = net.sign(&doctors[0], Body::PollAnswer(PollAnswer { poll: poll.id(), option: 0 }));
    let (status, body) = nodes[0].submit(std::slice::from_ref(&early));
    assert_eq!((status, body["code"].as_str()), (422, Some("poll_still_open")), "{body}");
    wait_until(LIMIT, "the poll to close", || curbside_node::now() > closes_at);
    let answer = net.sign(&doctors[0], Body::PollAnswer(PollAnswer { poll: poll.id(), option: 0 }));
    let (status, body) = nodes[1].submit(std::slice::from_ref(&answer));
    assert_eq!(status, 200, "{body}");
    for (n, t) in nodes.iter().zip(&tokens) {
        wait_until(LIMIT, "the calibration to show everywhere", || {
            let (status, body) = n.get(&format!("/v1/polls/{}/tally", poll.id()), Some(t));
            status == 200
                && body["calibration"]["answer"] == 0
                && body["calibration"]["right"] == 2
                && body["calibration"]["voters"] == 3
        });
    }
}

/// Through the `curbside` binary: a physician presents a case, says how it
/// ended and accepts a reply, by id prefixes; `feed` and `show` mark the
/// case solved and the reply accepted; a colleague cannot add an outcome
/// to it, and a poll's answer waits until it closes.
#[test]
fn the_command_line_adds_an_outcome_and_an_accept_and_shows_them() {
    use super::cli_kit::physician;
    use super::cli_kit::{fails, ok, run, s, text};

    let net = Network::new();
    let node = TestNode::start(&net);
    let url = node.url.clone();
    assert_eq!(node.submit(&[net.rules_from_now(3)]).0, 200);
    let dir = tempfile::tempdir().unwrap();
    let home = physician(dir.path(), &node, "dr-case");
    let colleague = physician(dir.path(), &node, "dr-colleague");
    let case = ok(
        &home,
        &[
            "case",
            "--hub",
            "general",
            "--title",
            "Exertional chest tightness",
            "--age",
            "47",
            "--sex",
            "f",
            "--presentation",
            "Two weeks of chest tightness on stairs.",
            "--question",
            "CTCA or stress test first?",
            "--yes",
            "--node",
            &url,
        ],
    );
    let case_id = s(&case["id"]);
    let reply = s(&ok(
        &colleague,
        &["comment", &case_id[..8], "--body", "CTCA first: low pretest.", "--node", &url],
    )["id"]);

    // Not the colleague's case: refused before anything is signed.
    let (_, err) =
        fails(&colleague, &["outcome", &case_id[..8], "--diagnosis", "GERD", "--node", &url], 2);
    assert!(err.contains("only its author"), "{err}");
    // An identifier in the text is refused by the guard before signing.
    let (_, err) = fails(
        &home,
        &[
            "outcome",
            &case_id[..8],
            "--diagnosis",
            "Stable angina",
            "--text",
            "Call her on 617-555-0142.",
            "--node",
            &url,
        ],
        1,
    );
    assert!(err.contains("phone") || err.contains("identif"), "{err}");

    let outcome = ok(
        &home,
        &[
            "outcome",
            &case_id[..8],
            "--diagnosis",
            "Stable angina",
            "--text",
            "70% LAD stenosis on CTCA.",
            "--node",
            &url,
        ],
    );
    assert_eq!(outcome["status"], "stored", "{outcome}");
    let accept = ok(&home, &["accept", &reply[..8], "--node", &url]);
    assert_eq!(accept["status"], "stored", "{accept}");
    assert_eq!(s(&accept["thread"]), case_id, "{accept}");

    let feed = ok(&home, &["feed", "general", "--node", &url]);
    assert_eq!(feed["events"][0]["outcome"]["diagnosis"], "Stable angina", "{feed}");
    let feed = text(&run(&home, &["feed", "general", "--node", &url], None).stdout);
    assert!(feed.contains("solved: Stable angina"), "{feed}");
    let shown = text(&run(&home, &["show", &case_id[..8], "--node", &url], None).stdout);
    assert!(shown.contains("Solved"), "{shown}");
    assert!(shown.contains("Stable angina"), "{shown}");
    assert!(shown.contains("70% LAD stenosis on CTCA."), "{shown}");
    assert!(shown.contains(&format!("Accepted answer: {reply}")), "{shown}");
    assert!(shown.contains("comment · ✓ accepted answer"), "{shown}");
    let shown = ok(&home, &["show", &case_id, "--node", &url]);
    assert_eq!(shown["thread"][1]["event"]["accepted_answer"], true, "{shown}");

    // A poll's answer waits until the poll has closed.
    let poll = ok(
        &home,
        &[
            "poll",
            "--hub",
            "general",
            "--question",
            "CTCA first?",
            "--option",
            "yes",
            "--option",
            "no",
            "--closes-in",
            "90m",
            "--node",
            &url,
        ],
    );
    let poll_id = s(&poll["id"]);
    let (_, err) = fails(&home, &["answer", &poll_id[..8], "--option", "1", "--node", &url], 2);
    assert!(err.contains("still open"), "{err}");
    let (_, err) =
        fails(&colleague, &["answer", &poll_id[..8], "--option", "1", "--node", &url], 2);
    assert!(err.contains("only its author"), "{err}");
}
