//! Propagation across a federation on loopback (issue 4's figure).
//!
//! `CURBSIDE_BENCH_NODES` real nodes (default 16) run in this process, each
//! with its own store, API and libp2p swarm on 127.0.0.1; node i dials node
//! 0 and node i−1, and the rest they find by kademlia. Node 0 is chartered
//! to verify and attests the physicians. Then posts are submitted at the
//! last node at `CURBSIDE_BENCH_RATE` events a second (default 50) for
//! `CURBSIDE_BENCH_SECONDS` (default 20), each by one of enough physicians
//! that none nears the per-author limit. Every node reports each event it
//! stores, from its ingest thread, the moment the event is durable
//! (`curbside_node::NodeBuilder::observer`); an event's latency is from just before
//! its `POST /v1/events` to its storage at the last node to store it.
//!
//! ```text
//! cargo bench -p curbside-tests --bench propagation
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use curbside_protocol::SecretKey;
use curbside_protocol::testkit::key;
use curbside_tests::{Network, TestNode, measure, wait_until};

/// The allocator the `curbside` binary runs nodes with (cli/src/main.rs):
/// the library leaves the choice to the program, and this benchmark
/// chooses the same one so its numbers stay comparable with the binary's
/// and with those recorded in docs/BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// When each event was submitted, and when each node stored it.
type Times = measure::Times<Instant>;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    measure::percentile(sorted, p).unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// How many peers `node` shares a gossip mesh with.
fn meshed_peers(node: &TestNode) -> usize {
    node.network()["peers"]
        .as_array()
        .map_or(0, |peers| peers.iter().filter(|p| p["meshed"] == true).count())
}

/// For each node, how many posts it stored more than `late` after their
/// submission (or not at all).
fn late_per_node(t: &Times, n: usize, late: Duration) -> Vec<usize> {
    let mut counts = vec![0; n];
    for (id, at) in &t.submitted {
        let mut on_time = vec![false; n];
        for (i, stored) in t.stored.get(id).map(Vec::as_slice).unwrap_or_default() {
            on_time[*i] = stored.duration_since(*at) <= late;
        }
        for (count, on_time) in counts.iter_mut().zip(on_time) {
            *count += usize::from(!on_time);
        }
    }
    counts
}

fn main() {
    let n = env("CURBSIDE_BENCH_NODES", 16) as usize;
    let rate = env("CURBSIDE_BENCH_RATE", 50);
    let seconds = env("CURBSIDE_BENCH_SECONDS", 20);
    let total = rate * seconds;
    // Each physician posts at most 40 a minute (the API allows 60).
    let physicians = (rate * 60).div_ceil(40) as usize;
    let net = Network::new();
    let times = Arc::new(Mutex::new(Times::default()));

    let started = Instant::now();
    let mut nodes: Vec<TestNode> = Vec::with_capacity(n);
    for i in 0..n {
        let observer = Times::observer(&times, i);
        let bootstrap: Vec<String> = match i {
            0 => vec![],
            1 => vec![nodes[0].p2p_addr()],
            _ => vec![nodes[0].p2p_addr(), nodes[i - 1].p2p_addr()],
        };
        let verify: &[&str] = if i == 0 { &["GB"] } else { &[] };
        nodes.push(TestNode::start_peer_observed(&net, &bootstrap, verify, observer));
    }
    let limit = Duration::from_secs(120);
    wait_until(limit, "every node to admit at least two peers", || {
        nodes.iter().all(|node| node.admitted_peers() >= 2.min(n - 1))
    });
    let doctors: Vec<SecretKey> =
        (0..physicians).map(|i| key(&format!("propagation-{i}"))).collect();
    for (i, doctor) in doctors.iter().enumerate() {
        nodes[0].attest(&net, doctor, &format!("dr-prop-{i}"), &["cardiology"], "GB");
    }
    for node in &nodes {
        for doctor in &doctors {
            wait_until(limit, "every attestation at every node", || {
                node.session(&net, doctor).is_ok()
            });
        }
    }
    let peers: Vec<usize> = nodes.iter().map(|n| n.admitted_peers()).collect();
    // Let the gossip mesh settle (a few heartbeats) before measuring.
    std::thread::sleep(Duration::from_secs(3));
    let meshed_before: Vec<usize> = nodes.iter().map(meshed_peers).collect();
    let ready = started.elapsed();

    let submitter = &nodes[n - 1];
    let every = Duration::from_secs_f64(1.0 / rate as f64);
    let t0 = Instant::now();
    for k in 0..total {
        let due = t0 + every * k as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let doctor = &doctors[k as usize % physicians];
        let event = net.post(doctor, &format!("Propagation {k}"));
        times.lock().unwrap().submitted.insert(event.id(), Instant::now());
        let (status, body) = submitter.submit(std::slice::from_ref(&event));
        assert_eq!(status, 200, "{body}");
    }
    let submitting = t0.elapsed();
    let everywhere =
        |t: &Times| t.submitted.keys().all(|id| t.stored.get(id).map_or(0, Vec::len) == n);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && !everywhere(&times.lock().unwrap()) {
        std::thread::sleep(Duration::from_millis(50));
    }

    let meshed_after: Vec<usize> = nodes.iter().map(meshed_peers).collect();
    let t = times.lock().unwrap();
    let late_at = late_per_node(&t, n, Duration::from_secs(1));
    let mut to_last: Vec<Duration> = Vec::new();
    let mut to_first_peer: Vec<Duration> = Vec::new();
    let mut incomplete = 0;
    for (id, at) in &t.submitted {
        let stored = t.stored.get(id).map(Vec::as_slice).unwrap_or_default();
        if stored.len() < n {
            incomplete += 1;
            continue;
        }
        let mut sorted: Vec<Duration> = stored.iter().map(|(_, s)| s.duration_since(*at)).collect();
        sorted.sort();
        to_last.push(sorted[n - 1]);
        if n > 1 {
            to_first_peer.push(sorted[1]);
        }
    }
    to_last.sort();
    to_first_peer.sort();
    let target = Duration::from_millis(200);
    let p99 = percentile(&to_last, 99.0);

    println!(
        "propagation: {n} nodes on 127.0.0.1, {rate} events/s for {seconds} s ({total} posts by {physicians} physicians), submitted at node {}",
        n - 1
    );
    println!(
        "machine: {} threads available",
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );
    println!(
        "setup (nodes, attestations, mesh): {:.1} s; submitting took {:.1} s",
        ready.as_secs_f64(),
        submitting.as_secs_f64()
    );
    println!("admitted peers per node: {peers:?}");
    println!("meshed peers per node, before and after: {meshed_before:?} {meshed_after:?}");
    println!("posts each node stored over 1 s after submission: {late_at:?}");
    println!("measurement (ms, submission to durable storage)     p50      p90      p99      max");
    for (name, sorted) in
        [("at the first other node", &to_first_peer), ("at the last of all nodes", &to_last)]
    {
        println!(
            "{name:<48} {:>8} {:>8} {:>8} {:>8}",
            ms(percentile(sorted, 50.0)),
            ms(percentile(sorted, 90.0)),
            ms(percentile(sorted, 99.0)),
            ms(sorted.last().copied().unwrap_or_default()),
        );
    }
    println!("events not stored by every node within 30 s: {incomplete}");
    let not_sent: f64 =
        nodes.iter().filter_map(|node| node.metric("curbside_gossip_not_sent_total")).sum();
    println!("gossip messages not sent to slow peers, all nodes: {not_sent}");
    for (i, late) in late_at.iter().enumerate().filter(|(_, late)| **late > 0) {
        // How the late node came by what it stored, and what it refused.
        let (_, text) = nodes[i].get("/metrics", None);
        let counters: Vec<&str> = text
            .as_str()
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.starts_with('#') && (l.contains("events_") || l.contains("gossip_")))
            .filter(|l| !l.ends_with(" 0"))
            .collect();
        println!("node {i} ({late} late): {}", counters.join("; "));
    }
    println!("load average at the end (1, 5, 15 min): {}", measure::load_average());
    println!(
        "\np99 to the last node = {} ms (target < {} ms): {}",
        ms(p99),
        target.as_millis(),
        if incomplete == 0 && p99 < target { "met" } else { "NOT met" }
    );
    drop(t);
    drop(nodes);
}
