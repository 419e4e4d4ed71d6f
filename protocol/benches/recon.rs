//! Range-based set reconciliation (`curbside_protocol::recon`), measured:
//!
//! 1. whole sessions between two sets of n items that differ by d ids, half
//!    on each side at random positions: round trips, postcard bytes each
//!    way, and the CPU time each role spends (its calls to
//!    `initiate`/`reconcile` or `respond`, plus encoding what it sends and
//!    decoding what it receives);
//! 2. building a set of 1,000,000 items, and inserting 1,000 more.
//!
//! ```text
//! cargo bench -p curbside-protocol --bench recon
//! ```
//!
//! Times are thread CPU time from `/proc/thread-self/schedstat` (wall time
//! where that file is missing). Items are pseudo-random (fixed seed): times
//! spread over a year, ids uniform. Every session's result is checked
//! against the true set differences.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use curbside_protocol::recon::{Item, MAX_RANGES, Message, SyncSet, initiate, reconcile, respond};
use curbside_protocol::testkit::SplitMix64;

/// The allocator the `curbside` binary runs nodes with (cli/src/main.rs):
/// the library leaves the choice to the program, and this benchmark
/// chooses the same one so its numbers stay comparable with the binary's
/// and with those recorded in docs/BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// 2026-01-01T00:00:00Z, and a year, in milliseconds.
const START_MS: u64 = 1_767_225_600_000;
const YEAR_MS: u64 = 365 * 24 * 3600 * 1000;

fn random_items(rng: &mut SplitMix64, n: usize) -> Vec<Item> {
    (0..n).map(|_| Item::new(START_MS + rng.next_u64() % YEAR_MS, rng.bytes32())).collect()
}

/// This thread's CPU time. The kernel brings the figure up to date when the
/// thread is scheduled out, so yield first.
fn cpu() -> Duration {
    std::thread::yield_now();
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|ns| ns.parse().ok()))
        .map_or_else(|| EPOCH.with(|e| e.elapsed()), Duration::from_nanos)
}

thread_local! {
    static EPOCH: Instant = Instant::now();
}

fn timed<T>(clock: &mut Duration, f: impl FnOnce() -> T) -> T {
    let start = cpu();
    let out = f();
    *clock += cpu() - start;
    out
}

#[derive(Default)]
struct Session {
    rounds: usize,
    bytes_out: usize,
    bytes_back: usize,
    largest: usize,
    initiator: Duration,
    responder: Duration,
    have: Vec<[u8; 32]>,
    need: Vec<[u8; 32]>,
}

/// A whole session, every message through postcard.
fn session(a: &SyncSet, b: &SyncSet) -> Session {
    let mut s = Session::default();
    let mut request: Message = timed(&mut s.initiator, || initiate(a));
    loop {
        s.rounds += 1;
        let bytes = timed(&mut s.initiator, || request.encode().unwrap());
        s.bytes_out += bytes.len();
        s.largest = s.largest.max(bytes.len());
        let reply = timed(&mut s.responder, || {
            let request = Message::decode(&bytes).unwrap();
            respond(b, &request).unwrap().next.map(|m| m.encode().unwrap())
        });
        let Some(bytes) = reply else { break };
        s.bytes_back += bytes.len();
        s.largest = s.largest.max(bytes.len());
        let step = timed(&mut s.initiator, || {
            let reply = Message::decode(&bytes).unwrap();
            reconcile(a, &reply).unwrap()
        });
        s.have.extend(step.have);
        s.need.extend(step.need);
        match step.next {
            Some(next) => request = next,
            None => break,
        }
    }
    s
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1e3)
}

/// Two sets of `n` items each from a pool of `n + d / 2`, differing by `d`
/// ids: `d / 2` only in `a`, `d / 2` only in `b`.
fn case(rng: &mut SplitMix64, n: usize, d: usize, label: &str) {
    let pool = random_items(rng, n + d / 2);
    let mut side = vec![0u8; pool.len()];
    let mut placed = 0;
    while placed < d {
        let k = (rng.next_u64() % pool.len() as u64) as usize;
        if side[k] == 0 {
            side[k] = if placed % 2 == 0 { 1 } else { 2 };
            placed += 1;
        }
    }
    let a: SyncSet = pool.iter().zip(&side).filter(|(_, s)| **s != 2).map(|(i, _)| *i).collect();
    let b: SyncSet = pool.iter().zip(&side).filter(|(_, s)| **s != 1).map(|(i, _)| *i).collect();
    check_and_print(label, &a, &b);
}

fn check_and_print(label: &str, a: &SyncSet, b: &SyncSet) {
    let s = session(a, b);
    let ids = |s: &SyncSet| s.items().iter().map(|i| i.id).collect::<HashSet<_>>();
    let (ia, ib) = (ids(a), ids(b));
    let have: HashSet<_> = s.have.iter().copied().collect();
    let need: HashSet<_> = s.need.iter().copied().collect();
    assert_eq!(have.len(), s.have.len());
    assert_eq!(need.len(), s.need.len());
    assert_eq!(have, ia.difference(&ib).copied().collect());
    assert_eq!(need, ib.difference(&ia).copied().collect());
    println!(
        "{label:<34} {:>6} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
        s.rounds,
        kb(s.bytes_out),
        kb(s.bytes_back),
        kb(s.bytes_out + s.bytes_back),
        kb(s.largest),
        ms(s.initiator),
        ms(s.responder),
    );
}

/// The most a request can ask of a responder: `MAX_RANGES` ranges, each
/// with a fingerprint that does not match, over 1,000,000 items. Crafted
/// as bytes, since only the algorithm makes messages.
fn worst_request(rng: &mut SplitMix64) {
    let set: SyncSet = random_items(rng, 1_000_000).into_iter().collect();
    let mut bytes = Vec::new();
    let varint = |mut x: u64, out: &mut Vec<u8>| loop {
        let b = (x & 0x7f) as u8;
        x >>= 7;
        if x == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    };
    varint(MAX_RANGES as u64, &mut bytes);
    // Bounds spread over the set's year: the first at START_MS, then
    // equal steps; the last is infinity.
    let step = YEAR_MS / MAX_RANGES as u64;
    for k in 0..MAX_RANGES {
        let time = match k {
            _ if k + 1 == MAX_RANGES => 0,
            0 => START_MS + step + 1,
            _ => step + 1,
        };
        varint(time, &mut bytes);
        bytes.push(0); // no prefix
        bytes.push(1); // Fingerprint
        bytes.extend_from_slice(&rng.bytes32()[..16]);
    }
    let mut clock = Duration::ZERO;
    let (reply, len) = timed(&mut clock, || {
        let request = Message::decode(&bytes).unwrap();
        let reply = respond(&set, &request).unwrap().next.unwrap();
        let len = reply.encode().unwrap().len();
        (reply, len)
    });
    println!(
        "worst request: {} ranges ({}), each a mismatching fingerprint, 1,000,000 items: \
         responder {}, reply {} ranges, {}",
        MAX_RANGES,
        kb(bytes.len()),
        ms(clock),
        reply.range_count(),
        kb(len),
    );
}

fn main() {
    let mut rng = SplitMix64(0x5eed);
    println!("sessions (checked against the true differences; times are CPU time)");
    println!(
        "{:<34} {:>6} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
        "case", "rounds", "to resp.", "to init.", "total", "largest", "initiator", "responder"
    );
    case(&mut rng, 100_000, 100, "n=100,000 d=100");
    case(&mut rng, 1_000_000, 0, "n=1,000,000 d=0");
    case(&mut rng, 1_000_000, 10, "n=1,000,000 d=10");
    case(&mut rng, 1_000_000, 1_000, "n=1,000,000 d=1,000");
    case(&mut rng, 1_000_000, 10_000, "n=1,000,000 d=10,000");
    let full: SyncSet = random_items(&mut rng, 100_000).into_iter().collect();
    check_and_print("empty vs n=100,000 (initiator empty)", &SyncSet::new(), &full);
    check_and_print("n=100,000 vs empty (responder empty)", &full, &SyncSet::new());
    drop(full);

    worst_request(&mut rng);

    println!();
    println!("building and inserting (CPU time)");
    let items = random_items(&mut rng, 1_000_000);
    let mut clock = Duration::ZERO;
    let set = timed(&mut clock, || SyncSet::from_items(items.iter().copied()));
    println!("build 1,000,000 items, unsorted input      {:>10}", ms(clock));
    let mut sorted = items.clone();
    sorted.sort_unstable();
    let mut clock = Duration::ZERO;
    let again = timed(&mut clock, || SyncSet::from_items(sorted.iter().copied()));
    println!("build 1,000,000 items, sorted input        {:>10}", ms(clock));
    assert_eq!(again.fingerprint(), set.fingerprint());
    drop(again);
    println!(
        "memory: {:.1} bytes per item ({:.1} MB for 1,000,000)",
        set.heap_bytes() as f64 / set.len() as f64,
        set.heap_bytes() as f64 / 1e6,
    );
    let last = set.items().last().unwrap().created_at_ms;
    let new_at_end: Vec<Item> =
        (0..1000u64).map(|k| Item::new(last + 1 + k * 50, rng.bytes32())).collect();
    let new_anywhere = random_items(&mut rng, 1000);
    for (what, new) in
        [("at the end, in time order", &new_at_end), ("at random times", &new_anywhere)]
    {
        let mut s = set.clone();
        let mut clock = Duration::ZERO;
        timed(&mut clock, || {
            for i in new {
                assert!(s.insert(*i));
            }
        });
        println!(
            "insert 1,000 {what:<29} {:>10} ({:.2} us each)",
            ms(clock),
            clock.as_secs_f64() * 1e3
        );
        let mut t = set.clone();
        let mut clock = Duration::ZERO;
        timed(&mut clock, || t.extend(new.iter().copied()));
        println!("extend by 1,000 {what:<26} {:>10}", ms(clock));
        assert_eq!(s.fingerprint(), t.fingerprint());
        black_box((s, t));
    }
}
