//! Honest propagation under a flood, in one run: three real nodes on
//! 127.0.0.1 (A verifies and is the flood's victim, B and C relay). A
//! physician posts at B at a steady rate; the time until each post is
//! readable at A and at C is its latency. First with no flood, then while
//! hostile chartered peers flood A one after another — alternately with
//! invalid events (forged signatures) and with a real physician's valid
//! posts far above the per-peer gossip rate — each replaced by the next
//! as soon as A cuts it off.
//!
//! `cargo bench -p curbside-tests --bench flood` (optional arguments:
//! seconds per phase, posts a second).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use curbside_protocol::{Body, Post, SecretKey, Signature, SignedEvent, testkit::key};
use curbside_tests::hostile::HostilePeer;
use curbside_tests::measure::percentile;
use curbside_tests::{Network, TestNode, wait_until};

/// The allocator the `curbside` binary runs nodes with (cli/src/main.rs):
/// the library leaves the choice to the program, and this benchmark
/// chooses the same one so its numbers stay comparable with the binary's
/// and with those recorded in docs/BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LIMIT: Duration = Duration::from_secs(60);
/// A post not readable after this long counts as lost.
const LOST_AFTER: Duration = Duration::from_secs(30);

fn post(net: &Network, who: &SecretKey, title: &str) -> SignedEvent {
    net.sign(
        who,
        Body::Post(Post {
            hub: "general".parse().unwrap(),
            title: title.into(),
            body: "Body".into(),
        }),
    )
}

/// Latencies (ms) at each reader, and posts never seen there.
struct Phase {
    at: Vec<(String, Vec<f64>, usize)>,
}

/// Posts `rate` a second at `poster` for `secs`, and polls `readers`.
fn measure(
    net: &Network,
    doctor: &SecretKey,
    poster: &TestNode,
    readers: &[(&str, &TestNode, String)],
    secs: u64,
    rate: u32,
    tag: &str,
) -> Phase {
    let total = secs as usize * rate as usize;
    let every = Duration::from_secs_f64(1.0 / f64::from(rate));
    let start = Instant::now();
    // (event, when submitted, seen at each reader)
    let mut sent: Vec<(SignedEvent, Instant, Vec<Option<Duration>>)> = Vec::new();
    loop {
        let now = Instant::now();
        if sent.len() < total && now >= start + every * sent.len() as u32 {
            let event = post(net, doctor, &format!("{tag} {}", sent.len()));
            let t = Instant::now();
            let (status, body) = poster.submit(std::slice::from_ref(&event));
            assert_eq!(status, 200, "{body}");
            sent.push((event, t, vec![None; readers.len()]));
        }
        let mut outstanding = 0;
        for (event, t, seen) in &mut sent {
            for (i, (_, node, token)) in readers.iter().enumerate() {
                if seen[i].is_none() && t.elapsed() < LOST_AFTER {
                    if node.has(&event.id(), token) {
                        seen[i] = Some(t.elapsed());
                    } else {
                        outstanding += 1;
                    }
                }
            }
        }
        if sent.len() == total && outstanding == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let at = readers
        .iter()
        .enumerate()
        .map(|(i, (name, _, _))| {
            let mut ms: Vec<f64> =
                sent.iter().filter_map(|(_, _, s)| s[i]).map(|d| d.as_secs_f64() * 1e3).collect();
            ms.sort_by(f64::total_cmp);
            let lost = total - ms.len();
            (name.to_string(), ms, lost)
        })
        .collect();
    Phase { at }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    percentile(sorted, p).unwrap_or(f64::NAN)
}

/// What the flood did.
#[derive(Default)]
struct FloodReport {
    peers: usize,
    published: usize,
    codes: Vec<String>,
    /// From a hostile peer's admission to its block, in seconds.
    cut_off: Vec<f64>,
}

fn blocked_code(node: &TestNode, peer_id: &str) -> Option<String> {
    node.network()["blocked"]
        .as_array()?
        .iter()
        .find(|b| b["peer_id"] == peer_id)
        .map(|b| b["code"].as_str().unwrap_or_default().to_string())
}

/// Hostile peers flood `victim` one after another until `stop`.
fn flood(net: &Network, victim: &TestNode, flooder: &SecretKey, stop: &AtomicBool) -> FloodReport {
    let topic = curbside_node::net::hub_topic(net.id(), "general");
    let mut report = FloodReport::default();
    let mut round = 0;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let evil = key(&format!("bench-flooder-{round}"));
        let charter = net.charter(&evil.public(), &[]);
        assert_eq!(victim.submit(std::slice::from_ref(&charter)).0, 200);
        let invalid = round % 2 == 1;
        // Signed before connecting, so the flood is as fast as publishing.
        let events: Vec<Vec<u8>> = (0..3000)
            .map(|i| {
                let good = post(net, flooder, &format!("flood {round} {i}"));
                if invalid {
                    SignedEvent::from_parts(good.event().clone(), Signature::from_bytes([7; 64]))
                        .to_bytes()
                } else {
                    good.to_bytes()
                }
            })
            .collect();
        let hostile = HostilePeer::connect(&evil, &charter, &topic, &victim.p2p_addr());
        wait_until(LIMIT, "a hostile peer admitted", || hostile.ready());
        report.peers += 1;
        let admitted = Instant::now();
        let mut sent = 0;
        'flooding: for chunk in events.chunks(100) {
            for bytes in chunk {
                hostile.publish(bytes.clone());
            }
            sent += chunk.len();
            if !hostile.ready() || stop.load(Ordering::Relaxed) {
                break 'flooding;
            }
        }
        report.published += sent;
        let blocked = Instant::now() + Duration::from_secs(10);
        while Instant::now() < blocked {
            if let Some(code) = blocked_code(victim, &hostile.peer_id) {
                report.cut_off.push(admitted.elapsed().as_secs_f64());
                report.codes.push(code);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    report
}

fn print_phase(name: &str, phase: &Phase) {
    for (reader, ms, lost) in &phase.at {
        println!(
            "{name:<10} at {reader}: n {:>4}  p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  lost {lost}",
            ms.len(),
            pct(ms, 50.0),
            pct(ms, 99.0),
            ms.last().copied().unwrap_or(f64::NAN),
        );
    }
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(15);
    let rate: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);

    let net = Network::new();
    let a = TestNode::start_peer(&net, &[], &["GB"]);
    // The poster takes more than the default 60 posts a minute from one
    // physician, the benchmark's steady rate.
    let b = TestNode::start_unchartered(&[a.p2p_addr()], &net, |c| {
        c.author_limit.per_minute = 100_000;
        c.author_limit.burst = 100_000;
    });
    assert_eq!(b.submit(&[net.charter(&b.key, &[])]).0, 200);
    let c = TestNode::start_peer(&net, &[a.p2p_addr()], &[]);
    wait_until(LIMIT, "three admitted peers", || {
        a.admitted_peers() == 2 && b.admitted_peers() >= 1 && c.admitted_peers() >= 1
    });
    let doctor = key("bench-honest-doctor");
    a.attest(&net, &doctor, "dr-honest", &["cardiology"], "GB");
    let flooder = key("bench-flooding-doctor");
    a.attest(&net, &flooder, "dr-flooder", &["cardiology"], "GB");
    let token = |node: &TestNode| {
        let mut token = None;
        wait_until(LIMIT, "a session", || {
            token = node.session(&net, &doctor).ok();
            token.is_some()
        });
        token.unwrap()
    };
    let readers = [("A (victim)", &a, token(&a)), ("C", &c, token(&c))];
    token(&b);
    // Let the meshes form before measuring.
    std::thread::sleep(Duration::from_secs(3));
    println!("{secs} s a phase, {rate} posts a second at B; latency until readable at A and C");

    let quiet = measure(&net, &doctor, &b, &readers, secs, rate, "quiet");
    print_phase("no flood", &quiet);

    let stop = AtomicBool::new(false);
    let (flooded, report) = std::thread::scope(|s| {
        let flooding = s.spawn(|| flood(&net, &a, &flooder, &stop));
        // The first hostile peer is connecting and signing its flood.
        std::thread::sleep(Duration::from_secs(1));
        let flooded = measure(&net, &doctor, &b, &readers, secs, rate, "flooded");
        stop.store(true, Ordering::Relaxed);
        (flooded, flooding.join().unwrap())
    });
    print_phase("flood", &flooded);
    for ((reader, q, _), (_, f, _)) in quiet.at.iter().zip(&flooded.at) {
        println!(
            "ratio (flood / no flood) at {reader}: p50 {:.2}  p99 {:.2}",
            pct(f, 50.0) / pct(q, 50.0),
            pct(f, 99.0) / pct(q, 99.0)
        );
    }
    let mut codes = report.codes.clone();
    codes.sort();
    codes.dedup();
    let counts: Vec<String> = codes
        .iter()
        .map(|c| format!("{c} x{}", report.codes.iter().filter(|x| *x == c).count()))
        .collect();
    let mut cut = report.cut_off.clone();
    cut.sort_by(f64::total_cmp);
    println!(
        "flood: {} hostile peers, {} messages published, blocked: {}; admission to block p50 {:.2} s, max {:.2} s",
        report.peers,
        report.published,
        counts.join(", "),
        pct(&cut, 50.0),
        cut.last().copied().unwrap_or(f64::NAN)
    );
}
