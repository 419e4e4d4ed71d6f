//! Takedown propagation (issue 15): from a moderator's takedown submitted
//! at one node until the content is gone from every node.
//!
//! The federation of the propagation benchmark: `CURBSIDE_BENCH_NODES`
//! real nodes (default 16) in this process on 127.0.0.1, node i dialling
//! node 0 and node i−1. The root raises the rules to 2 and appoints a
//! moderator; `CURBSIDE_BENCH_POSTS` posts (default 200) are spread to
//! every node; then the moderator takes each down, submitted at the middle
//! node at `CURBSIDE_BENCH_RATE` a second (default 20). A node deletes the
//! post in the very commit that stores the takedown, so the moment its
//! ingest thread reports the takedown durable
//! (`curbside_node::NodeBuilder::observer`) is the moment the content is
//! gone from its store. A takedown's latency is from just before its
//! `POST /v1/events` to that moment at the last node.
//!
//! ```text
//! cargo bench -p curbside-tests --bench takedown
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use curbside_node::ingest::Observer;
use curbside_protocol::rules::RulesChange;
use curbside_protocol::testkit::key;
use curbside_protocol::{
    Appointment, Body, EventId, Kind, SecretKey, SignedEvent, Takedown, TakedownReason,
};
use curbside_tests::{Network, TestNode, measure, wait_until};

/// The binary's allocator, as in the propagation benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// When each node stored each event of the kinds watched.
#[derive(Default)]
struct Times {
    stored: HashMap<EventId, Vec<Instant>>,
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn takedown(net: &Network, moderator: &SecretKey, post: &SignedEvent) -> SignedEvent {
    net.sign(
        moderator,
        Body::Takedown(Takedown {
            target: post.id(),
            target_kind: Kind::Post,
            target_author: *post.author(),
            target_created_at: post.created_at(),
            parent: None,
            hub: "general".parse().unwrap(),
            reason: TakedownReason::Phi,
            note: String::new(),
        }),
    )
}

/// `n` nodes, each reporting to `times` what it stores.
fn federation(net: &Network, n: usize, times: &Arc<Mutex<Times>>) -> Vec<TestNode> {
    let mut nodes: Vec<TestNode> = Vec::with_capacity(n);
    for i in 0..n {
        let times = times.clone();
        let observer: Observer = Arc::new(move |stored| {
            let at = Instant::now();
            let mut times = times.lock().unwrap_or_else(|p| p.into_inner());
            for (_, id, kind) in stored {
                if matches!(kind, Kind::Post | Kind::Takedown | Kind::Appointment) {
                    times.stored.entry(*id).or_default().push(at);
                }
            }
        });
        let bootstrap: Vec<String> = match i {
            0 => vec![],
            1 => vec![nodes[0].p2p_addr()],
            _ => vec![nodes[0].p2p_addr(), nodes[i - 1].p2p_addr()],
        };
        let verify: &[&str] = if i == 0 { &["GB"] } else { &[] };
        nodes.push(TestNode::start_peer_observed(net, &bootstrap, verify, observer));
    }
    nodes
}

fn everywhere(times: &Arc<Mutex<Times>>, ids: &[EventId], n: usize) -> bool {
    let t = times.lock().unwrap();
    ids.iter().all(|id| t.stored.get(id).map_or(0, Vec::len) >= n)
}

fn main() {
    let n = env("CURBSIDE_BENCH_NODES", 16) as usize;
    let posts = env("CURBSIDE_BENCH_POSTS", 60) as usize;
    let rate = env("CURBSIDE_BENCH_RATE", 4);
    let net = Network::new();
    let times = Arc::new(Mutex::new(Times::default()));
    let limit = Duration::from_secs(120);
    let nodes = federation(&net, n, &times);
    wait_until(limit, "every node to admit at least two peers", || {
        nodes.iter().all(|node| node.admitted_peers() >= 2.min(n - 1))
    });
    // The API allows each key 60 events a minute in bursts of 30: ten posts
    // an author, twenty takedowns a moderator.
    let author_count = posts.div_ceil(10);
    let authors: Vec<SecretKey> =
        (0..author_count).map(|i| key(&format!("takedown-author-{i}"))).collect();
    let moderators: Vec<SecretKey> =
        (0..posts.div_ceil(20)).map(|i| key(&format!("takedown-moderator-{i}"))).collect();
    for (i, m) in moderators.iter().enumerate() {
        nodes[0].attest(&net, m, &format!("dr-moderator-{i}"), &["cardiology"], "GB");
    }
    for (i, a) in authors.iter().enumerate() {
        nodes[0].attest(&net, a, &format!("dr-author-{i}"), &["cardiology"], "GB");
    }
    let now = curbside_node::now();
    let rules =
        net.sign_at(&net.root, Body::Rules(RulesChange { version: 2, effective_at: now }), now);
    let appointments: Vec<SignedEvent> = moderators
        .iter()
        .map(|m| {
            net.sign(
                &net.root,
                Body::Appointment(Appointment {
                    moderator: m.public(),
                    hub: None,
                    valid_until: now.plus_days(1),
                }),
            )
        })
        .collect();
    assert_eq!(nodes[0].submit(&[rules]).0, 200);
    assert_eq!(nodes[0].submit(&appointments).0, 200);
    let appointed: Vec<EventId> = appointments.iter().map(SignedEvent::id).collect();
    wait_until(limit, "the appointments at every node", || everywhere(&times, &appointed, n));
    for m in &moderators {
        wait_until(limit, "the moderators' attestations at the submitting node", || {
            nodes[n / 2].session(&net, m).is_ok()
        });
    }
    for a in &authors {
        wait_until(limit, "the authors' attestations at the submitting node", || {
            nodes[n - 1].session(&net, a).is_ok()
        });
    }
    let events: Vec<SignedEvent> = (0..posts)
        .map(|k| net.post(&authors[k % author_count], &format!("Takedown {k}")))
        .collect();
    for chunk in events.chunks(author_count) {
        let (status, body) = nodes[n - 1].submit(chunk);
        assert_eq!(status, 200, "{body}");
    }
    let ids: Vec<EventId> = events.iter().map(SignedEvent::id).collect();
    wait_until(limit, "every post at every node", || everywhere(&times, &ids, n));
    std::thread::sleep(Duration::from_secs(3));

    let submitter = &nodes[n / 2];
    let every = Duration::from_secs_f64(1.0 / rate as f64);
    let mut submitted: Vec<(EventId, Instant)> = Vec::with_capacity(posts);
    let t0 = Instant::now();
    for (k, post) in events.iter().enumerate() {
        if let Some(wait) = (t0 + every * k as u32).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let event = takedown(&net, &moderators[k / 20], post);
        submitted.push((event.id(), Instant::now()));
        let (status, body) = submitter.submit(std::slice::from_ref(&event));
        assert_eq!(status, 200, "{body}");
    }
    let taken: Vec<EventId> = submitted.iter().map(|(id, _)| *id).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && !everywhere(&times, &taken, n) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let t = times.lock().unwrap();
    let mut to_last: Vec<Duration> = Vec::new();
    let mut incomplete = 0;
    for (id, at) in &submitted {
        match t.stored.get(id).filter(|s| s.len() >= n) {
            Some(stored) => {
                to_last.push(stored.iter().map(|s| s.duration_since(*at)).max().unwrap())
            }
            None => incomplete += 1,
        }
    }
    to_last.sort();
    let p = |q: f64| measure::percentile(&to_last, q).unwrap_or_default();
    println!(
        "takedown: {n} nodes on 127.0.0.1, {posts} posts taken down at {rate}/s, submitted at node {}",
        n / 2
    );
    println!(
        "machine: {} threads available",
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );
    println!(
        "measurement (ms, submission to gone at the last node)  p50      p90      p99      max"
    );
    println!(
        "{:<54} {:>8} {:>8} {:>8} {:>8}",
        "takedown, content deleted everywhere",
        ms(p(50.0)),
        ms(p(90.0)),
        ms(p(99.0)),
        ms(to_last.last().copied().unwrap_or_default())
    );
    println!("takedowns not applied by every node within 30 s: {incomplete}");
    println!("load average at the end (1, 5, 15 min): {}", measure::load_average());
    let target = Duration::from_secs(1);
    println!(
        "\np99 to the last node = {} ms (target < {} ms): {}",
        ms(p(99.0)),
        target.as_millis(),
        if incomplete == 0 && p(99.0) < target { "met" } else { "NOT met" }
    );
}
