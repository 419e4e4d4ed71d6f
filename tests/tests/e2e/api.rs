//! A real node over HTTP: every class of bad input gets its code and the
//! node keeps serving; reads need a session, admin calls the token; a
//! restart keeps everything acknowledged.

#![allow(clippy::unwrap_used)]

use curbside_protocol::{
    AgeBand, Body, Case, Comment, Event, NetworkId, Poll, Post, SecretKey, Sex, Signature,
    SignedEvent, Vote, testkit::key,
};
use curbside_tests::{Network, TestNode, wire};
use serde_json::json;

fn post(network: &Network, author: &SecretKey, title: &str, body: &str) -> SignedEvent {
    network.sign(
        author,
        Body::Post(Post {
            hub: "general".parse().unwrap(),
            title: title.into(),
            body: body.into(),
        }),
    )
}

/// Submits one event and returns (HTTP status, code).
fn refused(node: &TestNode, event: &SignedEvent) -> (u16, String) {
    let (status, body) = node.submit(std::slice::from_ref(event));
    (status, body["code"].as_str().unwrap_or("").to_string())
}

#[test]
fn bad_input_gets_its_code_and_the_node_keeps_serving() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let dr = key("dr-good");
    node.attest(&net, &dr, "dr-good", &["cardiology"], "GB");
    let good = post(&net, &dr, "Fine", "BP 120/80, EF 35%.");
    assert_eq!(node.submit(std::slice::from_ref(&good)).0, 200);

    // Bad signature (on a new event: a known id is a harmless duplicate,
    // whatever signature comes with it).
    let fresh = post(&net, &dr, "Fresh", "GCS 14/15");
    let mut sig = fresh.signature().to_bytes();
    sig[7] ^= 1;
    let forged = SignedEvent::from_parts(fresh.event().clone(), Signature::from_bytes(sig));
    assert_eq!(refused(&node, &forged), (422, "bad_signature".into()));
    let (status, body) = node.submit(std::slice::from_ref(&SignedEvent::from_parts(
        good.event().clone(),
        Signature::from_bytes(sig),
    )));
    assert_eq!((status, body["outcomes"][0]["status"].as_str().unwrap()), (200, "duplicate"));

    // Changed body under the old signature.
    let mut changed = good.event().clone();
    changed.body = Body::Post(Post {
        hub: "general".parse().unwrap(),
        title: "Fine".into(),
        body: "changed".into(),
    });
    assert_eq!(
        refused(&node, &SignedEvent::from_parts(changed, *good.signature())),
        (422, "bad_signature".into())
    );

    // Wrong network.
    let other = Event::new(
        NetworkId::from_bytes([9; 32]),
        dr.public(),
        curbside_node::now(),
        good.body().clone(),
    )
    .sign(&dr)
    .unwrap();
    assert_eq!(refused(&node, &other), (422, "wrong_network".into()));

    // Future timestamp.
    let future = Event::new(
        net.id(),
        dr.public(),
        curbside_node::now().plus_millis(3_600_000),
        good.body().clone(),
    )
    .sign(&dr)
    .unwrap();
    assert_eq!(refused(&node, &future), (422, "future_timestamp".into()));

    // Unattested author: held as pending, not stored, and said so.
    let stranger = key("stranger");
    let (status, body) = node.submit(&[post(&net, &stranger, "Hello", "Who am I")]);
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["outcomes"][0]["status"], "pending");

    // Revoked author.
    let bad_dr = key("dr-revoked");
    let attestation = node.attest(&net, &bad_dr, "dr-revoked", &["oncology"], "GB");
    let (status, body) = node.post(
        "/v1/admin/revoke",
        &json!({ "target": attestation.to_string(), "reason": "licence suspended" }),
        Some(&node.admin_token),
    );
    assert_eq!(status, 200, "{body}");
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(
        refused(&node, &post(&net, &bad_dr, "Still here", "x")),
        (422, "attestation_revoked".into())
    );

    // A case with an identifier.
    let case = net.sign(
        &dr,
        Body::Case(Case {
            hub: "cardiology".parse().unwrap(),
            title: "Syncope".into(),
            age: AgeBand::Age50To59,
            sex: Sex::Male,
            presentation: "Collapsed at work.".into(),
            history: "MRN 1234567".into(),
            findings: String::new(),
            question: "ICD?".into(),
            tags: vec![],
        }),
    );
    assert_eq!(refused(&node, &case), (422, "identifying_text".into()));

    // A poll open to a specialty the network's list does not name: no
    // attested physician could vote in it (issue 16). Refused, with the
    // name meant.
    let unknown = net.sign(
        &dr,
        Body::Poll(Poll {
            hub: "general".parse().unwrap(),
            question: "Which?".into(),
            options: vec!["a".into(), "b".into()],
            closes_at: curbside_node::now().plus_millis(60_000),
            eligible: vec!["cardiologist".parse().unwrap()],
        }),
    );
    let (status, body) = node.submit(std::slice::from_ref(&unknown));
    assert_eq!((status, body["code"].as_str()), (422, Some("unknown_specialty")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("did you mean cardiology"), "{body}");
    let (status, body) = node.get("/v1/specialties", None);
    assert_eq!(status, 200);
    assert!(body["specialties"].as_array().unwrap().iter().any(|s| s["id"] == "cardiology"));

    // A charter for a jurisdiction the network's list does not name: its
    // verifier could attest nobody licensed in GB (issue 16). Refused,
    // with the code meant; so is an attestation in one.
    let uk = net.charter(&key("uk-node").public(), &["UK"]);
    let (status, body) = node.submit(std::slice::from_ref(&uk));
    assert_eq!((status, body["code"].as_str()), (422, Some("unknown_jurisdiction")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("did you mean GB"), "{body}");
    let request = curbside_protocol::AttestationRequest::new(
        net.id(),
        &key("dr-uk"),
        "dr-uk".parse().unwrap(),
        curbside_node::now(),
    );
    let (status, body) = node.post(
        "/v1/admin/attest",
        &json!({
            "request": request.to_text(), "specialties": ["cardiology"],
            "jurisdiction": "US-CAL", "licence": "LIC-1", "valid_days": 30,
        }),
        Some(&node.admin_token),
    );
    assert_eq!((status, body["code"].as_str()), (422, Some("unknown_jurisdiction")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("did you mean US-CA"), "{body}");
    let (status, body) = node.get("/v1/jurisdictions", None);
    assert_eq!(status, 200);
    let listed = body["jurisdictions"].as_array().unwrap();
    assert!(listed.iter().any(|j| j["id"] == "GB" && j["name"] == "United Kingdom"), "{body}");
    assert!(listed.iter().any(|j| j["id"] == "DEV"), "the development networks' jurisdiction");

    // Votes: after closing, and for a missing option.
    // Long enough that a loaded machine still votes before closing.
    let closes_at = curbside_node::now().plus_millis(3_000);
    let poll = net.sign(
        &dr,
        Body::Poll(Poll {
            hub: "general".parse().unwrap(),
            question: "Which?".into(),
            options: vec!["a".into(), "b".into()],
            closes_at,
            eligible: vec![],
        }),
    );
    assert_eq!(node.submit(std::slice::from_ref(&poll)).0, 200);
    let missing_option = net.sign(&dr, Body::Vote(Vote { poll: poll.id(), option: 5 }));
    assert_eq!(refused(&node, &missing_option), (422, "no_such_option".into()));
    let wait = closes_at.as_millis().saturating_sub(curbside_node::now().as_millis()) + 50;
    std::thread::sleep(std::time::Duration::from_millis(wait));
    let late = net.sign(&dr, Body::Vote(Vote { poll: poll.id(), option: 0 }));
    assert_eq!(refused(&node, &late), (422, "poll_closed".into()));

    // Malformed JSON, a malformed event, an oversized body.
    let (status, body) = node.post_raw("/v1/events", "{\"events\": [", None);
    assert_eq!((status, body["code"].as_str().unwrap()), (400, "malformed_json"));
    let (status, body) = node.post("/v1/events", &json!({ "events": ["AAAA"] }), None);
    assert_eq!((status, body["code"].as_str().unwrap()), (422, "malformed"));
    let (status, body) = announce_oversized_body(&node.url);
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("\"code\":\"too_large\""), "{body}");

    // Unauthenticated read; admin call without the token, and with a session.
    let (status, body) = node.get("/v1/hubs/general/feed", None);
    assert_eq!((status, body["code"].as_str().unwrap()), (401, "unauthenticated"));
    let (status, body) = node.post(
        "/v1/admin/revoke",
        &json!({ "target": good.id().to_string(), "reason": "x" }),
        None,
    );
    assert_eq!((status, body["code"].as_str().unwrap()), (401, "unauthenticated"));
    let session = node.session(&net, &dr).unwrap();
    let (status, body) = node.post(
        "/v1/admin/revoke",
        &json!({ "target": good.id().to_string(), "reason": "x" }),
        Some(&session),
    );
    assert_eq!((status, body["code"].as_str().unwrap()), (403, "forbidden"));

    // Still serving, and only the good events are in the feed.
    let (status, body) = node.get("/v1/hubs/general/feed", Some(&session));
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> =
        body["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![poll.id().to_string(), good.id().to_string()]);
    assert_eq!(body["events"][1]["handle"], "dr-good");
    let (_, metrics) = node.get("/metrics", None);
    let metrics = metrics.as_str().unwrap().to_string();
    assert!(
        metrics.contains("curbside_events_rejected_total{code=\"bad_signature\",source=\"api\"}"),
        "{metrics}"
    );
}

#[test]
fn sessions_need_an_attested_key_and_a_fresh_signature() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let stranger = key("not-attested");
    let (status, body) = node.session(&net, &stranger).unwrap_err();
    assert_eq!((status, body["code"].as_str().unwrap()), (403, "not_attested"));

    let dr = key("dr-s");
    node.attest(&net, &dr, "dr-s", &["oncology"], "GB");
    // A challenge answered with the wrong key's signature.
    let (_, c) = node.post("/v1/session/challenge", &json!({ "key": dr.public() }), None);
    let (status, body) = node.post(
        "/v1/session",
        &json!({ "key": dr.public(), "challenge": c["challenge"], "signature": stranger.sign(b"x") }),
        None,
    );
    assert_eq!((status, body["code"].as_str().unwrap()), (401, "bad_challenge"));
    // The challenge was used up by the failed attempt.
    let token = node.session(&net, &dr).unwrap();
    let (status, body) = node.get(&format!("/v1/keys/{}/attestation", dr.public()), Some(&token));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["attested"], true);
    assert_eq!(body["attestations"][0]["handle"], "dr-s");

    // Revoking the attestation ends the session at once.
    let attestation = body["attestations"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = node.post(
        "/v1/admin/revoke",
        &json!({ "target": attestation, "reason": "licence suspended" }),
        Some(&node.admin_token),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = node.get("/v1/hubs", Some(&token));
    assert_eq!((status, body["code"].as_str().unwrap()), (403, "not_attested"), "{body}");
    let (status, _) = node.get("/v1/hubs", Some(&token));
    assert_eq!(status, 401, "the session is gone");

    // Status has no content: counts, identity (and the node's public charter) and health only.
    let (_, status_body) = node.get("/v1/status", None);
    let mut keys: Vec<&str> = status_body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    let expected =
        ["charter", "events", "network", "network_name", "node_key", "pending", "store", "version"];
    assert_eq!(keys, expected, "{status_body}");
    assert_eq!(status_body["store"], "ok", "{status_body}");
}

#[test]
fn a_restart_keeps_every_acknowledged_event() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let dr = key("dr-r");
    node.attest(&net, &dr, "dr-r", &["general-practice"], "GB");
    let posts: Vec<SignedEvent> =
        (0..20).map(|i| post(&net, &dr, &format!("post {i}"), "text")).collect();
    let (status, body) = node.submit(&posts);
    assert_eq!(status, 200, "{body}");
    let node = node.restart();
    let token = node.session(&net, &dr).unwrap();
    for p in &posts {
        let (status, body) = node.get(&format!("/v1/events/{}", p.id()), Some(&token));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["event"], wire(p));
    }
}

/// Announces a 2 MiB body and reads the answer without sending it: the
/// node must refuse from the headers alone.
fn announce_oversized_body(url: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "POST /v1/events HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        2 << 20
    )
    .unwrap();
    let mut answer = String::new();
    if let Err(e) = stream.read_to_string(&mut answer) {
        answer.push_str(&format!(" [read error: {e}]"));
    }
    let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer)
}

/// A physician submitting faster than the node takes from one physician
/// is refused with `rate_limited` (429) and told how long to wait; others
/// are unaffected and nothing is lost.
#[test]
fn a_physician_over_the_rate_limit_is_told_to_wait() {
    let net = Network::new();
    let node = TestNode::start_tweaked(&net, |c| {
        c.author_limit = curbside_node::config::AuthorLimit { per_minute: 60, burst: 5 };
    });
    let (busy, calm) = (key("busy-dr"), key("calm-dr"));
    node.attest(&net, &busy, "dr-busy", &["oncology"], "GB");
    node.attest(&net, &calm, "dr-calm", &["oncology"], "GB");
    let posts: Vec<SignedEvent> =
        (0..8).map(|i| post(&net, &busy, &format!("Question {i}"), "Thoughts?")).collect();
    let (status, body) = node.submit(&posts);
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "rate_limited", "{body}");
    let outcomes = body["outcomes"].as_array().unwrap();
    let stored = outcomes.iter().filter(|o| o["status"] == "stored").count();
    let limited = outcomes.iter().filter(|o| o["code"] == "rate_limited").count();
    assert_eq!((stored, limited), (5, 3), "{body}");
    assert!(body["message"].as_str().unwrap().contains("try again in"), "{body}");
    // Another physician is not held back by the first.
    let (status, body) = node.submit(&[post(&net, &calm, "Mine", "Thoughts?")]);
    assert_eq!(status, 200, "{body}");
    // A token comes back after a second.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let (status, body) = node.submit(&posts[5..6]);
    assert_eq!(status, 200, "{body}");
}

/// A thread is read a page at a time: each page names the cursor of the
/// next, the pages together are the whole thread depth first, and a cursor
/// from elsewhere is refused with its code.
#[test]
fn a_thread_comes_in_pages_that_follow_the_cursor() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let dr = key("dr-thread");
    node.attest(&net, &dr, "dr-thread", &["cardiology"], "GB");
    let token = node.session(&net, &dr).unwrap();
    // Explicit times (from now: the attestation is only just issued), so
    // that the order of replies is known.
    let base = curbside_node::now();
    let at = |i: u64| base.plus_millis(i);
    let comment = |parent: &SignedEvent, text: &str, i: u64| {
        let body = Comment { parent: parent.id(), body: text.into() };
        net.sign_at(&dr, Body::Comment(body), at(i))
    };
    let root = net.sign_at(
        &dr,
        Body::Post(Post {
            hub: "general".parse().unwrap(),
            title: "AKI on ACE inhibitor".into(),
            body: "Creatinine up 40%.".into(),
        }),
        at(0),
    );
    let r0 = comment(&root, "Stop it for now", 1);
    let r1 = comment(&root, "Renal ultrasound?", 2);
    let r2 = comment(&root, "Check volume status", 3);
    let r3 = comment(&root, "Restart at half dose later", 4);
    let n0 = comment(&r1, "Normal last year", 5);
    let n1 = comment(&n0, "Repeat anyway", 6);
    let events = [&root, &r0, &r1, &r2, &r3, &n0, &n1].map(|e| e.clone());
    let (status, body) = node.submit(&events);
    assert_eq!(status, 200, "{body}");
    let expected: Vec<(u64, String)> =
        [(0, &root), (1, &r0), (1, &r1), (2, &n0), (3, &n1), (1, &r2), (1, &r3)]
            .into_iter()
            .map(|(d, e)| (d, e.id().to_string()))
            .collect();

    let thread = format!("/v1/events/{}/thread", root.id());
    let (status, whole) = node.get(&thread, Some(&token));
    assert_eq!(status, 200, "{whole}");
    assert_eq!(whole["next"], serde_json::Value::Null, "one default page holds it all");
    let mut seen = Vec::new();
    let mut path = format!("{thread}?limit=3");
    let mut pages = 0;
    loop {
        let (status, page) = node.get(&path, Some(&token));
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let entries = page["thread"].as_array().unwrap();
        assert!(entries.len() <= 3, "{page}");
        seen.extend(entries.iter().map(|e| {
            (e["depth"].as_u64().unwrap(), e["event"]["id"].as_str().unwrap().to_string())
        }));
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(Some(next), seen.last().map(|(_, id)| id.as_str()), "the last id");
                path = format!("{thread}?limit=3&after={next}");
            }
            None => break,
        }
    }
    assert_eq!((seen, pages), (expected.clone(), 3));
    let (status, page) = node.get(&format!("{thread}?limit=0"), Some(&token));
    assert_eq!((status, page["thread"].as_array().unwrap().len()), (200, 1), "{page}");

    let elsewhere = post(&net, &dr, "Other", "Unrelated");
    assert_eq!(node.submit(std::slice::from_ref(&elsewhere)).0, 200);
    let never = post(&net, &dr, "Never sent", "x");
    for cursor in [elsewhere.id(), never.id()] {
        let (status, body) = node.get(&format!("{thread}?after={cursor}"), Some(&token));
        assert_eq!((status, body["code"].as_str()), (400, Some("cursor_not_in_thread")), "{body}");
    }
    let (status, body) = node.get(&format!("{thread}?after=zz"), Some(&token));
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")), "{body}");
    let (status, body) = node.get(&format!("/v1/events/{}/thread", never.id()), Some(&token));
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{body}");
}
