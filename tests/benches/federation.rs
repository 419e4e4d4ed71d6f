//! A national network (issue 18): nodes in network namespaces of their
//! own, joined by links with the delays of a country's institutions.
//!
//! For each size N (`CURBSIDE_BENCH_SIZES`, default `16,32,64`) and each
//! network configuration (`CURBSIDE_BENCH_VARIANTS`, default
//! `gossip,after`: `before` is the network as it was before issue 18,
//! `gossip` the gossip as tuned but every node connected to and syncing
//! with every other, `after` as the node runs by default, with its bounded
//! set of peers), N real nodes run in
//! this process, each with its own store and API (on this process's
//! 127.0.0.1) and its libp2p side in a namespace of its own, reached only
//! through a user-space WAN (`curbside_tests::wan`: this kernel has no
//! `netem`) with a one-way delay of 10 to 80 ms between any two, plus up
//! to 10% jitter. Node i dials node i−1 and one earlier node at random;
//! the rest they find by kademlia. Node 0 is chartered to verify and
//! attests the physicians.
//!
//! Measured in each run:
//! - propagation: posts are submitted at `CURBSIDE_BENCH_RATE` a second
//!   (default 5) for `CURBSIDE_BENCH_SECONDS` (default 30), each at the
//!   next node in turn; every node reports each post it stores the moment
//!   it is durable (`NodeBuilder::observer`). For each receiving node: the
//!   time from just before the `POST /v1/events` to its storage there, and
//!   that time less the direct one-way delay from the submitting node (the
//!   physical limit).
//! - where the propagation time goes: each hop's verdict (the nodes'
//!   `curbside_gossip_judge_seconds` over the window), the overlay's floor
//!   (the earliest arrival over the peers and meshes the nodes report,
//!   with the links' delays and `CURBSIDE_BENCH_HOP_MS`, default 2, of work
//!   a hop), and the same overlay with each hop's work drawn from the
//!   measured verdicts.
//! - bandwidth: every byte each node sent (whole IP packets: gossip,
//!   announcements, kademlia, pings, reconciliation, TCP and encryption),
//!   counted by the WAN over the propagation window, per node and per
//!   post, against the post's size on the wire; and the same per second
//!   over a quiet window before it (the control traffic alone).
//! - catching up: one node is stopped, an hour of activity at
//!   `CURBSIDE_BENCH_HOUR_POSTS` posts (default 3,600: one a second) is
//!   submitted across the others, and once they all hold it the node
//!   starts again; the time until it holds every event.
//!
//! The figures go to stdout and, with the fits (each figure against N,
//! logarithmic or linear, extrapolated to 500 nodes), to
//! `CURBSIDE_BENCH_OUT` (default `target/federation.json`), from which
//! `docs/plots/federation.py` draws the plots in docs/.
//!
//! ```text
//! cargo bench -p curbside-tests --bench federation
//! CURBSIDE_BENCH_SIZES=16 CURBSIDE_BENCH_VARIANTS=after cargo bench -p curbside-tests --bench federation
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use curbside_node::config::NodeConfig;
use curbside_node::net::{GossipTuning, NetConfig};
use curbside_protocol::testkit::key;
use curbside_protocol::{Body, Post, SecretKey, SignedEvent};
use curbside_tests::measure::{self, Fit};
use curbside_tests::wan::{Geography, Rng, Wan};
use curbside_tests::{Network, TestNode, wait_until};
use serde_json::{Value, json};

/// The allocator the `curbside` binary runs nodes with (cli/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The seed of the institutions' places and of the links' jitter.
const SEED: u64 = 18;
/// Physicians posting (each stays far below the per-author limits).
const PHYSICIANS: usize = 30;
/// How long the control traffic alone is measured.
/// One sync interval (`NetConfig::sync_every`, 30 s): each node's periodic
/// sync round falls in it once, however the rounds are phased (a 10 s
/// window caught a round at some nodes and none at others).
const QUIET: Duration = Duration::from_secs(30);

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// What both configurations share: the hour of catching up submits
/// 60 posts a second across 30 physicians, over the API's and gossip's
/// per-author limits, which are not what this benchmark measures.
fn common(config: &mut NodeConfig) {
    config.author_limit.per_minute = 100_000;
    config.author_limit.burst = 10_000;
    if let Some(net) = config.net.as_mut() {
        net.gossip_author_per_minute = 100_000;
        net.gossip_author_burst = 10_000;
        net.gossip_per_second = 10_000;
        net.gossip_burst = 100_000;
    }
}

/// The network as it was before issue 18: libp2p's gossip settings, and
/// no bound on peers (see [`unbounded`]).
fn before(config: &mut NodeConfig) {
    common(config);
    if let Some(net) = config.net.as_mut() {
        net.gossip = GossipTuning::untuned();
        unbounded(net);
    }
}

/// The gossip as tuned, with no bound on peers (issue 18's first step).
fn gossip(config: &mut NodeConfig) {
    common(config);
    if let Some(net) = config.net.as_mut() {
        net.gossip = GossipTuning::default();
        unbounded(net);
    }
}

/// As the node runs by default: the gossip as tuned, at most `max_peers`
/// admitted peers, `sync_peers` of them synced each round. For trying
/// other gossip settings, `CURBSIDE_BENCH_HEARTBEAT_MS` and
/// `CURBSIDE_BENCH_MESH` set the heartbeat and the mesh degree.
fn after(config: &mut NodeConfig) {
    common(config);
    if let Some(net) = config.net.as_mut() {
        let tuned = GossipTuning::default();
        net.gossip = GossipTuning {
            heartbeat: Duration::from_millis(env(
                "CURBSIDE_BENCH_HEARTBEAT_MS",
                tuned.heartbeat.as_millis() as u64,
            )),
            mesh: env("CURBSIDE_BENCH_MESH", tuned.mesh as u64) as usize,
            ..tuned
        };
    }
}

/// Every peer kept and synced each round, and peers looked for and dialled
/// however many there are: each node ends up connected to every other, as
/// before the bound (which dialled only up to 8 itself but kept every
/// connection kademlia's walks made, and walked every minute).
fn unbounded(net: &mut NetConfig) {
    net.max_peers = usize::MAX;
    net.sync_peers = usize::MAX;
    net.target_peers = usize::MAX;
}

/// A post of a realistic size: a case of about 450 characters, as the
/// issue's measured posts (about 650 bytes on the wire).
fn case(net: &Network, author: &SecretKey, title: String) -> SignedEvent {
    let body = "62-year-old with exertional chest tightness for three weeks, relieved by rest. \
        Hypertensive, ex-smoker, LDL 4.1. Resting ECG: sinus rhythm, no ST changes; \
        high-sensitivity troponin negative twice, six hours apart. Exercise tolerance test \
        stopped at 7 minutes for symptoms with 1 mm horizontal ST depression in V4-V6. \
        Would you go straight to invasive angiography, or CT coronary angiography first \
        given the equivocal test? Any role for a functional test in between?";
    net.sign(author, Body::Post(Post { hub: "general".parse().unwrap(), title, body: body.into() }))
}

/// When each post was submitted, and at which node; when each node stored it.
type Times = measure::Times<(Instant, usize)>;

/// CPU time this process has used (every node, and the router).
fn cpu_time() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_SELF).map_or(Duration::ZERO, |u| {
        let t = |tv: nix::sys::time::TimeVal| {
            Duration::from_secs(tv.tv_sec() as u64) + Duration::from_micros(tv.tv_usec() as u64)
        };
        t(u.user_time()) + t(u.system_time())
    })
}

fn quantiles(sorted: &[f64]) -> Value {
    let q = |p| measure::percentile(sorted, p).unwrap_or(f64::NAN);
    json!({ "p50": q(50.0), "p90": q(90.0), "p99": q(99.0), "max": sorted.last().copied().unwrap_or(f64::NAN) })
}

/// What [`quantiles`] made, for people: `p50 … p90 … p99 … max … ms`.
fn spread(q: &Value) -> String {
    let at = |k: &str| q[k].as_f64().unwrap_or(f64::NAN);
    format!(
        "p50 {:.0} p90 {:.0} p99 {:.0} max {:.0} ms",
        at("p50"),
        at("p90"),
        at("p99"),
        at("max")
    )
}

/// At most `k` evenly spaced samples of a sorted list (for the plots).
fn thin(sorted: &[f64], k: usize) -> Vec<f64> {
    if sorted.len() <= k {
        return sorted.to_vec();
    }
    (0..k).map(|i| sorted[i * (sorted.len() - 1) / (k - 1)]).collect()
}

fn delta(after: &[u64], before: &[u64]) -> Vec<u64> {
    after.iter().zip(before).map(|(a, b)| a - b).collect()
}

fn run(net: &Network, n: usize, variant: &str) -> Value {
    let tweak: fn(&mut NodeConfig) = match variant {
        "before" => before,
        "gossip" => gossip,
        "after" => after,
        other => panic!("unknown variant {other}: use before, gossip or after"),
    };
    let rate = env("CURBSIDE_BENCH_RATE", 5);
    let seconds = env("CURBSIDE_BENCH_SECONDS", 30);
    let hour = env("CURBSIDE_BENCH_HOUR_POSTS", 3600) as usize;
    let hour_rate = hour as f64 / 3600.0;
    let geography = Geography::random(n, SEED);
    let wan = match Wan::new(geography.clone(), SEED) {
        Ok(wan) => wan,
        Err(e) => panic!("this benchmark needs network namespaces and TUN devices: {e}"),
    };
    // The router stands for the network, which the nodes' CPU load (and
    // the other work on this machine) should not slow: its threads run at
    // a real-time priority when this process may set one.
    let realtime = wan.realtime();
    let times = Arc::new(Mutex::new(Times::default()));
    let started = Instant::now();
    let mut rng = Rng::new(SEED);
    let mut nodes: Vec<Option<TestNode>> = Vec::with_capacity(n);
    let mut addrs: Vec<String> = Vec::with_capacity(n);
    for (i, host) in wan.hosts().iter().enumerate() {
        let observer = Times::observer(&times, i);
        let mut bootstrap = Vec::new();
        if i > 0 {
            bootstrap.push(addrs[i - 1].clone());
            let other = rng.below(i);
            if other != i - 1 {
                bootstrap.push(addrs[other].clone());
            }
        }
        let verify: &[&str] = if i == 0 { &["GB"] } else { &[] };
        let node = TestNode::start_in_netns_observed(
            net,
            &host.path,
            &host.listen_addr(),
            &bootstrap,
            verify,
            tweak,
            Some(observer),
        );
        addrs.push(node.p2p_addr());
        nodes.push(Some(node));
    }
    let limit = Duration::from_secs(180);
    wait_until(limit, "every node to admit at least two peers", || {
        nodes.iter().flatten().all(|node| node.admitted_peers() >= 2.min(n - 1))
    });
    let doctors: Vec<SecretKey> =
        (0..PHYSICIANS).map(|i| key(&format!("federation-{i}"))).collect();
    for (i, doctor) in doctors.iter().enumerate() {
        get(&nodes, 0).attest(net, doctor, &format!("dr-fed-{i}"), &["cardiology"], "GB");
    }
    for node in nodes.iter().flatten() {
        for doctor in &doctors {
            wait_until(limit, "every attestation at every node", || {
                node.session(net, doctor).is_ok()
            });
        }
    }
    // Let the gossip mesh settle (a few heartbeats) before measuring.
    std::thread::sleep(Duration::from_secs(5));
    let peers: Vec<usize> = nodes.iter().flatten().map(|n| n.admitted_peers()).collect();
    let meshed: Vec<usize> = nodes.iter().flatten().map(meshed_peers).collect();
    let setup = started.elapsed();

    // The control traffic alone.
    let quiet_sent = wan.sent();
    let quiet_cpu = cpu_time();
    std::thread::sleep(QUIET);
    let quiet: Vec<f64> =
        delta(&wan.sent(), &quiet_sent).iter().map(|b| *b as f64 / QUIET.as_secs_f64()).collect();
    let quiet_cpu = (cpu_time() - quiet_cpu).as_secs_f64() / QUIET.as_secs_f64();

    // Propagation.
    let total = rate * seconds;
    let every = Duration::from_secs_f64(1.0 / rate as f64);
    let sent0 = wan.sent();
    let cpu0 = cpu_time();
    let judged0 = judge_buckets(&nodes);
    let overlay = Overlay::of(&nodes);
    let t0 = Instant::now();
    let mut wire_bytes = 0;
    for k in 0..total {
        let due = t0 + every * k as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let at = k as usize % n;
        let event = case(net, &doctors[k as usize % PHYSICIANS], format!("Chest pain, case {k}"));
        wire_bytes += event.to_bytes().len();
        times.lock().unwrap().submitted.insert(event.id(), (Instant::now(), at));
        let (status, body) = get(&nodes, at).submit(std::slice::from_ref(&event));
        assert_eq!(status, 200, "{body}");
    }
    let everywhere =
        |t: &Times| t.submitted.keys().all(|id| t.stored.get(id).map_or(0, Vec::len) >= n);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && !everywhere(&times.lock().unwrap()) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let window = t0.elapsed();
    let judged = judge_buckets(&nodes);
    let judged: Vec<(f64, f64)> =
        judged.iter().zip(&judged0).map(|((le, a), (_, b))| (*le, a - b)).collect();
    let sent: Vec<u64> = delta(&wan.sent(), &sent0);
    let cpu = (cpu_time() - cpu0).as_secs_f64() / window.as_secs_f64();
    let event_size = wire_bytes as f64 / total as f64;
    let per_event: Vec<f64> = sent.iter().map(|b| *b as f64 / total as f64).collect();
    let above_quiet: Vec<f64> = sent
        .iter()
        .zip(&quiet)
        .map(|(b, q)| (*b as f64 - q * window.as_secs_f64()) / total as f64)
        .collect();

    let (mut absolute, mut excess, mut to_last) = (Vec::new(), Vec::new(), Vec::new());
    let mut incomplete = 0;
    {
        let t = times.lock().unwrap();
        for (id, (at, from)) in &t.submitted {
            let stored = t.stored.get(id).map(Vec::as_slice).unwrap_or_default();
            incomplete += usize::from(stored.len() < n);
            let mut last = 0.0f64;
            for (to, when) in stored.iter().filter(|(to, _)| to != from) {
                let took = ms(when.duration_since(*at));
                absolute.push(took);
                excess.push(took - ms(geography.one_way(*from, *to)));
                last = last.max(took);
            }
            to_last.push(last);
        }
    }
    let hop_ms = env("CURBSIDE_BENCH_HOP_MS", 2) as f64;
    let mut floor = overlay.excess(&geography, &mut |_| hop_ms);
    // The same overlay with each node's work on each post drawn from the
    // verdict times this run measured: how much of the tail that work
    // explains.
    let mut draws = Rng::new(SEED);
    let mut modelled: Vec<f64> = (0..total)
        .flat_map(|_| overlay.excess(&geography, &mut |_| bucket_draw(&judged, &mut draws)))
        .collect();
    for list in [&mut absolute, &mut excess, &mut to_last, &mut floor, &mut modelled] {
        list.sort_by(f64::total_cmp);
    }
    let not_sent: f64 =
        nodes.iter().flatten().filter_map(|n| n.metric("curbside_gossip_not_sent_total")).sum();

    // Catching up after an hour offline.
    let c = n / 2;
    let stopped = nodes[c].take().unwrap().stop();
    let mut hour_ids = Vec::with_capacity(hour);
    let hour_started = Instant::now();
    let batch = 100;
    for (b, start) in (0..hour).step_by(batch).enumerate() {
        let due = hour_started + Duration::from_secs(b as u64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let events: Vec<SignedEvent> = (start..(start + batch).min(hour))
            .map(|k| case(net, &doctors[k % PHYSICIANS], format!("An hour's case {k}")))
            .collect();
        hour_ids.extend(events.iter().map(SignedEvent::id));
        let mut at = b % n;
        if at == c {
            at = (at + 1) % n;
        }
        let (status, body) = nodes[at].as_ref().unwrap().submit(&events);
        assert_eq!(status, 200, "{body}");
    }
    wait_until(Duration::from_secs(600), "the hour's posts at every running node", || {
        let t = times.lock().unwrap();
        hour_ids.iter().all(|id| t.stored.get(id).map_or(0, Vec::len) >= n - 1)
    });
    let hour_spread = hour_started.elapsed();
    let target = get(&nodes, 0).event_count();
    let received0 = wan.received()[c];
    let sent_c0 = wan.sent()[c];
    let restarted = Instant::now();
    let back = stopped.start();
    let started_in = restarted.elapsed();
    wait_until(Duration::from_secs(600), "the restarted node to catch up", || {
        back.event_count() >= target
    });
    let catch_up = restarted.elapsed();
    let catch_up_in = wan.received()[c] - received0;
    let catch_up_out = wan.sent()[c] - sent_c0;
    nodes[c] = Some(back);

    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let max = |v: &[f64]| v.iter().copied().fold(f64::MIN, f64::max);
    let report = json!({
        "nodes": n,
        "variant": variant,
        "rate": rate,
        "posts": total,
        "event_bytes": event_size,
        "setup_s": setup.as_secs_f64(),
        "window_s": window.as_secs_f64(),
        "admitted_peers": peers,
        "meshed_peers": meshed,
        "incomplete": incomplete,
        "gossip_not_sent": not_sent,
        "latency_ms": quantiles(&absolute),
        "excess_ms": quantiles(&excess),
        "to_last_ms": quantiles(&to_last),
        "overlay_floor_ms": { "hop_ms": hop_ms, "excess": quantiles(&floor),
                              "direct_share": overlay.direct_share() },
        "overlay_with_measured_verdicts_ms": quantiles(&modelled),
        "judge_ms_at_most": { "p50": bucket_quantile(&judged, 0.5), "p90": bucket_quantile(&judged, 0.9),
                              "p99": bucket_quantile(&judged, 0.99), "count": judged.last().map_or(0.0, |b| b.1) },
        "latency_samples": thin(&absolute, 2000),
        "excess_samples": thin(&excess, 2000),
        "bytes_per_node_per_event": { "mean": mean(&per_event), "max": max(&per_event) },
        "bytes_per_node_per_event_above_quiet": { "mean": mean(&above_quiet), "max": max(&above_quiet) },
        "amplification": mean(&per_event) / event_size,
        "quiet_bytes_per_node_per_s": { "mean": mean(&quiet), "max": max(&quiet) },
        "cpu_cores_quiet": quiet_cpu,
        "cpu_cores_propagating": cpu,
        "router_worst_lateness_ms": ms(wan.worst_lateness()),
        "router_late_over_5ms": wan.late_deliveries(),
        "router_realtime": realtime,
        "hour": { "posts": hour, "rate_per_s": hour_rate, "spread_s": hour_spread.as_secs_f64(),
                  "restart_s": started_in.as_secs_f64(), "catch_up_s": catch_up.as_secs_f64(),
                  "bytes_in": catch_up_in, "bytes_out": catch_up_out },
        "load_average": measure::load_average(),
    });
    println!(
        "{n:>3} nodes, {variant:<6}: latency p50 {:.0} p99 {:.0} max {:.0} ms; less the direct delay p50 {:.0} p99 {:.0} max {:.0} ms; \
         {:.0} B/node/post ({:.1}x the {:.0} B post; above quiet {:.0}); quiet {:.0} B/s/node; catch-up {:.1} s ({} posts); \
         CPU {:.2} cores (quiet {:.2}); incomplete {incomplete}; setup {:.0} s; load {}",
        report["latency_ms"]["p50"].as_f64().unwrap(),
        report["latency_ms"]["p99"].as_f64().unwrap(),
        report["latency_ms"]["max"].as_f64().unwrap(),
        report["excess_ms"]["p50"].as_f64().unwrap(),
        report["excess_ms"]["p99"].as_f64().unwrap(),
        report["excess_ms"]["max"].as_f64().unwrap(),
        mean(&per_event),
        mean(&per_event) / event_size,
        event_size,
        mean(&above_quiet),
        mean(&quiet),
        catch_up.as_secs_f64(),
        hour,
        cpu,
        quiet_cpu,
        setup.as_secs_f64(),
        measure::load_average(),
    );
    println!(
        "    each hop's verdict (gossip arrival to forwarding, all nodes, {} messages): p50 ≤ {} p90 ≤ {} p99 ≤ {} ms",
        report["judge_ms_at_most"]["count"],
        report["judge_ms_at_most"]["p50"],
        report["judge_ms_at_most"]["p90"],
        report["judge_ms_at_most"]["p99"],
    );
    println!(
        "    this overlay's floor (first arrival by flood publish, then mesh forwarding, {hop_ms} ms a hop): \
         less the direct delay {}; {:.0}% of nodes direct peers of the origin",
        spread(&report["overlay_floor_ms"]["excess"]),
        100.0 * overlay.direct_share(),
    );
    println!(
        "    the same overlay with each hop's work drawn from the verdicts above: less the direct delay {}",
        spread(&report["overlay_with_measured_verdicts_ms"]),
    );
    println!("    admitted peers {peers:?}\n    meshed peers {meshed:?}");
    drop(nodes);
    drop(wan);
    report
}

/// The running node `i`.
fn get(nodes: &[Option<TestNode>], i: usize) -> &TestNode {
    nodes[i].as_ref().expect("a running node")
}

/// Who each node pushes a post to, as the nodes report it when the
/// propagation window opens: its admitted peers, to which it publishes its
/// own posts (gossipsub's flood publishing), and its mesh peers, to which
/// it forwards what it receives. Mesh membership is per topic in
/// gossipsub; a node reports whether a peer is in any of its meshes, so
/// this is the best case for the hub the posts are in.
struct Overlay {
    admitted: Vec<Vec<usize>>,
    meshed: Vec<Vec<usize>>,
}

impl Overlay {
    fn of(nodes: &[Option<TestNode>]) -> Self {
        let views: Vec<Value> = nodes.iter().flatten().map(|n| n.network()).collect();
        let index: std::collections::HashMap<String, usize> = views
            .iter()
            .enumerate()
            .map(|(i, v)| (v["peer_id"].as_str().unwrap_or_default().to_string(), i))
            .collect();
        let peers = |v: &Value, meshed: bool| -> Vec<usize> {
            v["peers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["admitted"] == true && (!meshed || p["meshed"] == true))
                .filter_map(|p| index.get(p["peer_id"].as_str()?).copied())
                .collect()
        };
        Self {
            admitted: views.iter().map(|v| peers(v, false)).collect(),
            meshed: views.iter().map(|v| peers(v, true)).collect(),
        }
    }

    /// For every origin and every other node, the earliest a post could be
    /// stored there over these links (one-way delays, no jitter), less the
    /// direct delay, with `work(node)` milliseconds at each node it
    /// reaches (drawn once per node and post) before the node stores and
    /// forwards it. With a small constant: what this overlay would give on
    /// machines that are never the delay.
    fn excess(&self, geography: &Geography, work: &mut dyn FnMut(usize) -> f64) -> Vec<f64> {
        let n = self.admitted.len();
        let mut out = Vec::with_capacity(n * n.saturating_sub(1));
        for origin in 0..n {
            let hop: Vec<f64> = (0..n).map(&mut *work).collect();
            let delay = |a: usize, b: usize| ms(geography.one_way(a, b)) + hop[b];
            // Dijkstra over the first hop (flood publish) then mesh links.
            let mut best = vec![f64::INFINITY; n];
            let mut done = vec![false; n];
            for &p in &self.admitted[origin] {
                best[p] = delay(origin, p);
            }
            done[origin] = true;
            while let Some(u) = (0..n)
                .filter(|&v| !done[v] && best[v].is_finite())
                .min_by(|&a, &b| best[a].total_cmp(&best[b]))
            {
                done[u] = true;
                for &v in &self.meshed[u] {
                    best[v] = best[v].min(best[u] + delay(u, v));
                }
            }
            for (to, at) in best.iter().enumerate().filter(|(to, _)| *to != origin) {
                out.push(at - ms(geography.one_way(origin, to)));
            }
        }
        out
    }

    /// The share of (origin, receiver) pairs where the receiver is an
    /// admitted peer of the origin.
    fn direct_share(&self) -> f64 {
        let n = self.admitted.len();
        let direct: usize = self.admitted.iter().map(Vec::len).sum();
        direct as f64 / (n * n.saturating_sub(1)).max(1) as f64
    }
}

/// `curbside_gossip_judge_seconds` summed over the running nodes: each
/// bucket's upper bound in milliseconds and its cumulative count, `+Inf`
/// last.
fn judge_buckets(nodes: &[Option<TestNode>]) -> Vec<(f64, f64)> {
    let mut sum: Vec<(f64, f64)> = Vec::new();
    for node in nodes.iter().flatten() {
        let (_, text) = node.get("/metrics", None);
        let buckets = text.as_str().unwrap_or_default().lines().filter_map(|line| {
            let rest = line.strip_prefix("curbside_gossip_judge_seconds_bucket{le=\"")?;
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse::<f64>().ok()? * 1000.0 };
            Some((le, count.trim().parse::<f64>().ok()?))
        });
        for (i, (le, count)) in buckets.enumerate() {
            match sum.get_mut(i) {
                Some(bucket) => bucket.1 += count,
                None => sum.push((le, count)),
            }
        }
    }
    sum
}

/// A time drawn from a cumulative histogram: a bucket in proportion to
/// its count, then uniformly within it (the `+Inf` bucket as its lower
/// bound).
fn bucket_draw(buckets: &[(f64, f64)], rng: &mut Rng) -> f64 {
    let total = buckets.last().map_or(0.0, |b| b.1);
    let at = rng.unit() * total;
    let mut lower = 0.0;
    for (le, count) in buckets {
        if *count > at {
            return if le.is_finite() { lower + rng.unit() * (le - lower) } else { lower };
        }
        lower = *le;
    }
    lower
}

/// The upper bound (ms) of the bucket that holds quantile `q` of a
/// cumulative histogram.
fn bucket_quantile(buckets: &[(f64, f64)], q: f64) -> f64 {
    let total = buckets.last().map_or(0.0, |b| b.1);
    buckets.iter().find(|(_, count)| *count >= q * total).map_or(f64::NAN, |(le, _)| *le)
}

/// How many peers `node` shares a gossip mesh with.
fn meshed_peers(node: &TestNode) -> usize {
    node.network()["peers"]
        .as_array()
        .map_or(0, |peers| peers.iter().filter(|p| p["meshed"] == true).count())
}

/// The figures fitted against N, and their extrapolation to 500 nodes.
const FITTED: [(&str, &[&str]); 8] = [
    ("latency p50 (ms)", &["latency_ms", "p50"]),
    ("latency p99 (ms)", &["latency_ms", "p99"]),
    ("less the direct delay, p50 (ms)", &["excess_ms", "p50"]),
    ("less the direct delay, p99 (ms)", &["excess_ms", "p99"]),
    ("bytes sent per node per post", &["bytes_per_node_per_event", "mean"]),
    ("quiet bytes per node per second", &["quiet_bytes_per_node_per_s", "mean"]),
    ("catch-up after an hour (s)", &["hour", "catch_up_s"]),
    ("CPU while propagating (cores)", &["cpu_cores_propagating"]),
];

fn main() {
    let sizes: Vec<usize> =
        env_list("CURBSIDE_BENCH_SIZES", "16,32,64").iter().map(|s| s.parse().unwrap()).collect();
    let variants = env_list("CURBSIDE_BENCH_VARIANTS", "gossip,after");
    let out = std::env::var("CURBSIDE_BENCH_OUT").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/federation.json").into()
    });
    println!("federation: {sizes:?} nodes, gossip {variants:?}; {}", measure::machine());
    println!("load average at the start (1, 5, 15 min): {}", measure::load_average());
    let net = Network::new();
    let mut runs = Vec::new();
    for &n in &sizes {
        for variant in &variants {
            runs.push(run(&net, n, variant));
            // Written after every run, so a later one that fails (a node
            // too slow to answer on a loaded machine) loses nothing.
            let so_far = json!({ "machine": measure::machine(), "runs": runs, "fits": [] });
            std::fs::write(&out, serde_json::to_string_pretty(&so_far).unwrap()).unwrap();
        }
    }
    let mut fits = Vec::new();
    for variant in &variants {
        let of: Vec<&Value> = runs.iter().filter(|r| r["variant"] == variant.as_str()).collect();
        if of.len() < 2 {
            continue;
        }
        println!("\n{variant}: figure against N (best of y = a + b·log2 N and y = a + b·N)");
        for (name, path) in FITTED {
            let points: Vec<(f64, f64)> = of
                .iter()
                .map(|r| {
                    let y = path.iter().fold(*r, |v, k| &v[*k]).as_f64().unwrap_or(f64::NAN);
                    (r["nodes"].as_f64().unwrap(), y)
                })
                .collect();
            let fit = Fit::best(&points);
            println!("  {name:<34} {:<34} at 500 nodes: {:.1}", fit.formula(), fit.at(500.0));
            fits.push(json!({
                "variant": variant, "figure": name, "model": format!("{:?}", fit.growth),
                "formula": fit.formula(), "a": fit.a, "b": fit.b, "at_500": fit.at(500.0),
                "points": points,
            }));
        }
    }
    println!("load average at the end (1, 5, 15 min): {}", measure::load_average());
    let report = json!({ "machine": measure::machine(), "runs": runs, "fits": fits });
    std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!("written to {out}");
}
