//! Search on real nodes: a case posted at one node is found at another by
//! a word in its findings once gossip brings it, by the API and by the
//! command line; once retracted it is found nowhere, at once; the API's
//! bounds; and `curbside node reindex` rebuilds a stopped node's index.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use curbside_protocol::testkit::key;
use curbside_protocol::{AgeBand, Body, Case, Retraction, Sex, SignedEvent, Tag};
use curbside_tests::{Network, TestNode, wait_until};
use serde_json::Value;

use crate::cli_kit;

const LIMIT: Duration = Duration::from_secs(30);

fn case(net: &Network, author: &curbside_protocol::SecretKey) -> SignedEvent {
    net.sign(
        author,
        Body::Case(Case {
            hub: "general".parse().unwrap(),
            title: "Recurrent syncope in a marathon runner".into(),
            age: AgeBand::Age30To39,
            sex: Sex::Male,
            presentation: "Three episodes of exertional syncope".into(),
            history: "No family history of sudden death".into(),
            findings: "Echocardiogram shows asymmetric septal hypertrophy; troponin normal; \
                       post-exercise ECG with deep T-wave inversion"
                .into(),
            question: "Genetic testing first, or cardiac MRI?".into(),
            tags: vec![Tag::new("cardiology").unwrap()],
        }),
    )
}

/// The ids a search at `node` answers.
fn found(node: &TestNode, query: &str, token: &str) -> Vec<String> {
    let (status, body) = node.get(&format!("/v1/search?{query}"), Some(token));
    assert_eq!(status, 200, "{query}: {body}");
    body["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().into()).collect()
}

#[test]
fn a_case_is_found_at_another_node_and_not_after_its_retraction() {
    let net = Network::new();
    let first = TestNode::start_peer(&net, &[], &["GB"]);
    let second = TestNode::start_peer(&net, &[first.p2p_addr()], &[]);
    wait_until(LIMIT, "the nodes to admit each other", || first.admitted_peers() == 1);
    let author = key("search-author");
    first.attest(&net, &author, "dr-search", &["cardiology"], "GB");
    let rules = net.rules_from_now(2);
    assert_eq!(first.submit(std::slice::from_ref(&rules)).0, 200);
    let tokens: Vec<String> =
        [&first, &second].iter().map(|n| n.session_when_attested(&net, &author)).collect();
    wait_until(LIMIT, "the rules to reach the second node", || second.has(&rules.id(), &tokens[1]));

    let case = case(&net, &author);
    let id = case.id().to_string();
    let (status, body) = first.submit(std::slice::from_ref(&case));
    assert_eq!(status, 200, "{body}");
    // Found at the other node by a word of its findings (searchable within
    // about a second of being stored there).
    wait_until(LIMIT, "the case to be found at the second node", || {
        found(&second, "q=hypertrophy", &tokens[1]) == vec![id.clone()]
    });
    let (_, body) = second.get("/v1/search?q=septal+hypertrophy&kind=case", Some(&tokens[1]));
    let hit = &body["results"][0];
    assert_eq!(hit["id"], id.as_str(), "{body}");
    assert_eq!((hit["kind"].as_str(), hit["hub"].as_str()), (Some("case"), Some("general")));
    assert_eq!(hit["author"], "dr-search");
    let snippet = hit["snippet"].as_str().unwrap();
    let [from, to] = [&hit["highlights"][0][0], &hit["highlights"][0][1]]
        .map(|v| usize::try_from(v.as_u64().unwrap()).unwrap());
    assert!(["septal", "hypertrophy"].contains(&&snippet[from..to]), "{snippet} {from}..{to}");
    // Hyphens, stems and filters, at the node that received it by gossip.
    for query in [
        "q=postexercise",
        "q=t-wave+inversion",
        "q=runners&sex=male&age_band=35",
        "q=syncope&specialty=cardiology&tag=cardiology&hub=general&since=2020-01-01",
    ] {
        assert_eq!(found(&second, query, &tokens[1]), vec![id.clone()], "{query}");
    }
    for query in
        ["q=hypertrophy&sex=female", "q=hypertrophy&kind=post", "q=hypertrophy&solved=true"]
    {
        assert!(found(&second, query, &tokens[1]).is_empty(), "{query}");
    }

    // Through the command line too, as the node's operator.
    let home = tempfile::tempdir().unwrap();
    let dev = home.path().join("dev").join("node");
    std::fs::create_dir_all(&dev).unwrap();
    std::fs::write(dev.join("admin.token"), &second.admin_token).unwrap();
    let answer = cli_kit::ok(
        home.path(),
        &["search", "hypertrophy", "--kind", "case", "--node", &second.url],
    );
    assert_eq!(answer["results"][0]["id"], id.as_str(), "{answer}");
    let out = cli_kit::run(home.path(), &["search", "septal", "--node", &second.url], None);
    let shown = cli_kit::text(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains(&id[..8]) && shown.contains("dr-search") && shown.contains("septal"),
        "{shown}"
    );

    // Retracted at the first node: found at neither once it is gone, and
    // at the first from the moment the retraction is acknowledged.
    let retraction = net.sign(&author, Body::Retraction(Retraction::of(&case, "wrong patient")));
    let (status, body) = first.submit(std::slice::from_ref(&retraction));
    assert_eq!(status, 200, "{body}");
    assert!(found(&first, "q=hypertrophy", &tokens[0]).is_empty());
    wait_until(LIMIT, "the retraction to reach the second node", || {
        !second.has(&case.id(), &tokens[1])
    });
    assert!(found(&second, "q=hypertrophy", &tokens[1]).is_empty());
    assert!(found(&second, "q=syncope", &tokens[1]).is_empty());

    // Rebuilt offline from the store, the index still does not hold it.
    let stopped = second.stop();
    let search_dir = stopped.data_dir().join("search");
    assert!(search_dir.join("meta.json").exists(), "the index lives beside the store");
    std::fs::remove_dir_all(&search_dir).unwrap();
    let data = stopped.data_dir().to_str().unwrap().to_owned();
    let rebuilt = cli_kit::ok(home.path(), &["node", "reindex", "--data", &data]);
    assert_eq!(rebuilt["documents"], 0, "{rebuilt}");
    assert!(search_dir.join("meta.json").exists());
    drop(first);
}

#[test]
fn searches_are_bounded_and_bad_ones_refused_with_a_code() {
    let net = Network::new();
    // One author posts 120 events at once: past the default per-author rate.
    let node = TestNode::start_tweaked(&net, |c| {
        c.author_limit = curbside_node::config::AuthorLimit { per_minute: 10_000, burst: 1_000 };
    });
    let author = key("search-bounds");
    node.attest(&net, &author, "dr-bounds", &["cardiology"], "GB");
    let token = node.session_when_attested(&net, &author);
    // A read like the feed: a session is needed.
    let (status, body) = node.get("/v1/search?q=syncope", None);
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthenticated")), "{body}");
    let refused =
        |query: &str| -> (u16, Value) { node.get(&format!("/v1/search?{query}"), Some(&token)) };
    let long = format!("q={}", "a".repeat(201));
    let words = "q=a+b+c+d+e+f+g+h+i".to_string();
    for (query, status, code) in [
        ("q=", 400, "bad_query"),
        ("q=%2C%3B", 400, "bad_query"),
        (long.as_str(), 400, "bad_query"),
        (words.as_str(), 400, "bad_query"),
        ("q=x&kind=vote", 400, "bad_query"),
        ("q=x&sex=q", 400, "bad_query"),
        ("q=x&since=yesterday", 400, "bad_query"),
        ("q=x&cursor=zz", 400, "bad_request"),
        ("q=x&cursor=o3e8", 400, "bad_request"),
        ("q=x&limit=-1", 400, "bad_request"),
    ] {
        let (got, body) = refused(query);
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{query}: {body}");
    }
    // Many matches: pages of at most 100, with a cursor, bounded in depth.
    let posts: Vec<SignedEvent> = (0..120)
        .map(|i| {
            net.sign(
                &author,
                Body::Post(curbside_protocol::Post {
                    hub: "general".parse().unwrap(),
                    title: format!("Bradycardia question {i}"),
                    body: "Bradycardia on beta blockers".into(),
                }),
            )
        })
        .collect();
    assert_eq!(node.submit(&posts).0, 200);
    wait_until(LIMIT, "the posts to be searchable", || {
        refused("q=bradycardia&limit=1000").1["results"].as_array().map_or(0, Vec::len) == 100
    });
    let (_, page) = refused("q=bradycardia");
    assert_eq!(page["results"].as_array().unwrap().len(), 20, "the default page");
    let (_, first) = refused("q=bradycardia&limit=100");
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let (_, second) = refused(&format!("q=bradycardia&limit=100&cursor={cursor}"));
    assert_eq!(second["results"].as_array().unwrap().len(), 20);
    assert!(second["next_cursor"].is_null(), "{second}");
    let mut all: Vec<Value> = first["results"].as_array().unwrap().clone();
    all.extend(second["results"].as_array().unwrap().iter().cloned());
    all.sort_by_key(|r| r["id"].as_str().unwrap().to_owned());
    all.dedup_by_key(|r| r["id"].as_str().unwrap().to_owned());
    assert_eq!(all.len(), 120, "two pages hold every match once");
}
