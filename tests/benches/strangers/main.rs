//! What a stranger with no credentials can do to physicians posting
//! through a node (issue 13). One real node runs as a child process with
//! 1,024 open files; attested physicians post through its HTTP API with
//! sessions, as the command line does, at a steady rate, first with no
//! attack (for three phases' time: every ratio is to its p99) and then
//! under each attack in turn, each phase on a fresh node (a full pending
//! set lasts 15 minutes and must not spill into the next phase). Every submission's latency is measured from when it was due
//! until its answer; it succeeds when the event is stored.
//!
//! ```text
//!  physicians ──POST /v1/events + Bearer──▶ ┌────────────────────┐
//!  (127.0.0.1, new connection each)        │ node (child, 1,024 │ ◀── strangers (127.1.x.x):
//!                                          │ fds, 2 cores)      │     floods, sockets, silent peers
//!                                          └────────────────────┘
//! ```
//!
//! `cargo bench -p curbside-tests --bench strangers` (20 s a phase, 10
//! posts a second); `-- SECONDS RATE` to change them;
//! `CURBSIDE_BENCH_ONLY=pending,cpu` runs the idle phase and those
//! attacks only (names: pending, drain, cpu, idle, slowloris, libp2p,
//! sessions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

mod attacks;
mod clinic;
mod http;
mod node;
mod report;

use std::process::ExitCode;
use std::time::Duration;

use attacks::{Attack, Tally, Target};
use clinic::Clinic;
use curbside_tests::{Network, measure, wait_until};
use node::ChildNode;
use report::Phase;

/// The allocator the `curbside` binary runs nodes with (cli/src/main.rs):
/// the library leaves the choice to the program, and this benchmark
/// chooses the same one so its numbers stay comparable with the binary's
/// and with those recorded in docs/BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The idle phase is this many phases long: every ratio is to its p99,
/// and on this shared machine a few fsyncs in a phase take 50–90 ms
/// however quiet the node is, so its p99 needs more samples than the
/// others' to be steady.
const IDLE_PHASES: f64 = 3.0;

/// How long an attack may take to reach full strength.
const RAMP_UP: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Settings {
    seconds: f64,
    rate: f64,
    attacks: Vec<Attack>,
}

impl Settings {
    fn from_args() -> Self {
        let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
        let seconds = args.next().and_then(|a| a.parse().ok()).unwrap_or(20.0);
        let rate = args.next().and_then(|a| a.parse().ok()).unwrap_or(10.0);
        let only = std::env::var("CURBSIDE_BENCH_ONLY").unwrap_or_default();
        let chosen: Vec<&str> = only.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let attacks = Attack::ALL
            .into_iter()
            .filter(|a| chosen.is_empty() || chosen.contains(&a.key()))
            .collect();
        Self { seconds, rate, attacks }
    }
}

fn main() -> ExitCode {
    if let Some(data) = node::serve_requested() {
        return node::serve(&data);
    }
    let settings = Settings::from_args();
    // This side holds more than a thousand sockets at once.
    curbside_node::api::raise_open_file_limit();
    let net = Network::new();
    let clinic = Clinic::new(settings.rate);
    println!("machine: {}", measure::machine());
    println!(
        "{} physicians post {} events a second together for {} s a phase ({} s idle; every second \
         event a reply before its parent); the node has {} open files",
        clinic.len(),
        settings.rate,
        settings.seconds,
        settings.seconds * IDLE_PHASES,
        node::OPEN_FILES
    );
    let idle = measure_phase(&net, &clinic, None, settings.seconds * IDLE_PHASES);
    let mut phases = vec![idle];
    for attack in settings.attacks {
        phases.push(measure_phase(&net, &clinic, Some(attack), settings.seconds));
    }
    report::print(&phases);
    ExitCode::SUCCESS
}

/// A fresh node; the physicians post for `seconds` while `attack` runs.
fn measure_phase(net: &Network, clinic: &Clinic, attack: Option<Attack>, seconds: f64) -> Phase {
    let name = attack.map_or("idle", Attack::title).to_string();
    println!("{name}: starting a node, attesting {} physicians", clinic.len() * 2 + 1);
    let node = ChildNode::start(net);
    let desks = clinic.open(&node.api, net);
    let target = Target {
        net,
        api: node.addr,
        p2p: node.p2p(),
        physicians: clinic.keys(),
        stored: clinic::warm_up(&desks, node.addr, net),
        rogue: &clinic.rogue,
        node: &node.api,
    };
    let tally = Tally::new();
    let (samples, node_cpu, bench_cpu) = std::thread::scope(|s| {
        let (target, tally) = (&target, &tally);
        let attacking = attack.map(|a| s.spawn(move || a.run(target, tally)));
        if attacking.is_some() {
            wait_until(RAMP_UP, "the attack at full strength", || tally.engaged());
        }
        let cpu = Cpu::start(&node);
        let samples = clinic::post(&desks, node.addr, net, seconds);
        let (node_cpu, bench_cpu) = cpu.cores(&node);
        tally.stop();
        if let Some(attacking) = attacking {
            attacking.join().unwrap();
        }
        (samples, node_cpu, bench_cpu)
    });
    let status = node.status();
    let phase = Phase {
        name,
        description: attack.map(Attack::describe),
        samples,
        attack: attack.map(|_| tally.summary()),
        node_cpu,
        bench_cpu,
        pending: status["pending"].as_u64().unwrap_or(0),
        disk_mb: node.disk_bytes() as f64 / 1e6,
        load: measure::load_average(),
    };
    println!("{}: done", phase.name);
    phase
}

/// CPU time of the node and of this process since a start.
#[derive(Debug)]
struct Cpu {
    at: std::time::Instant,
    node: f64,
    bench: f64,
}

impl Cpu {
    fn start(node: &ChildNode) -> Self {
        Self {
            at: std::time::Instant::now(),
            node: node.cpu_seconds(),
            bench: node::cpu_seconds("/proc/self/stat"),
        }
    }

    /// Cores each kept busy since the start, on average.
    fn cores(&self, node: &ChildNode) -> (f64, f64) {
        let wall = self.at.elapsed().as_secs_f64();
        let bench = node::cpu_seconds("/proc/self/stat");
        ((node.cpu_seconds() - self.node) / wall, (bench - self.bench) / wall)
    }
}
