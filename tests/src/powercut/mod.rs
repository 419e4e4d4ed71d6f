//! Power cuts: the node (the real `curbside node run`, a child process)
//! keeps its data directory on [`LossyFs`], a FUSE file system that loses
//! everything not synced at the cut, while the crash harness's clients
//! submit events and its verifier issues attestations. Each trial:
//!
//! ```text
//!  backing dir ──load──▶ LossyFs mounted ──▶ node runs on it, clients submit (a random while)
//!       ▲                                          │ SIGKILL, then the cut: only what was
//!       └──────── what survives ◀──────────────────┘ fsynced (files) and fsynced into their
//!                                                     directories (names) is written back
//!  then, on the plain backing dir: the store opens, passes its check, holds every event ever
//!  acknowledged (and every acknowledged attestation is in the node's log); `curbside node
//!  check --data DIR` passes; the next trial restarts the node on what survived.
//! ```
//!
//! The node's data directory is made on the file system too (trial 0 is a
//! cut straight after `DataDir::init`), so its key, token, genesis and
//! configuration must survive as well. Killing the node before the cut
//! makes the cut the moment of the kill: everything the node was told was
//! synced before it acknowledged is there, nothing else is.
//!
//! Needs root (it mounts) and `/dev/fuse`; not in the default test run
//! (docs/SECURITY.md, Power loss, has the command and the results).

pub mod fs;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use curbside_node::datadir::DataDir;
use serde_json::Value;

pub use fs::LossyFs;

use crate::Network;
use crate::crash::{CrashReport, NODE_TOML, NodeProcess, Workload, agent, verify};
use curbside_protocol::testkit::SplitMix64;

/// How a run goes.
#[derive(Debug, Clone)]
pub struct PowerCutConfig {
    /// Power cuts (trials) after the first, which follows `DataDir::init`.
    pub trials: usize,
    /// The node runs this long (uniformly at random, once it answers)
    /// before the cut.
    pub run_ms: (u64, u64),
    /// Client threads.
    pub clients: usize,
    /// Whether a thread also issues attestations.
    pub attest: bool,
    /// Seed of the schedule.
    pub seed: u64,
    /// The `curbside` binary the node runs (by default this build's).
    pub program: PathBuf,
}

impl PowerCutConfig {
    /// `trials` cuts, three clients and a verifier, runs of 0.3–3 s; the
    /// seed from `CURBSIDE_POWERCUT_SEED` (else the clock), the node's
    /// binary from `CURBSIDE_POWERCUT_BIN` (else this build's).
    pub fn new(trials: usize) -> Self {
        let seed = std::env::var("CURBSIDE_POWERCUT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        let program = std::env::var_os("CURBSIDE_POWERCUT_BIN")
            .map_or_else(crate::curbside_bin, PathBuf::from);
        Self { trials, run_ms: (300, 3000), clients: 3, attest: true, seed, program }
    }
}

/// What a run found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PowerCutReport {
    /// Power cuts made, the one after `DataDir::init` included.
    pub cuts: usize,
    /// Whether the data directory survived the cut straight after it was made.
    pub data_dir_survived: bool,
    /// Events acknowledged as stored, over the run.
    pub acknowledged: usize,
    /// Of which attestations.
    pub attestations: usize,
    /// Submissions that got no answer (indeterminate).
    pub unanswered: u64,
    /// How many acknowledged events were missing after a cut.
    pub lost_count: usize,
    /// Which (each counted once: the cut, the id, how long before the cut
    /// it was acknowledged).
    pub lost: Vec<String>,
    /// The longest time between acknowledging an event and a cut that lost it.
    pub longest_lost_ms: u64,
    /// Acknowledged attestations missing from the node's own log.
    pub unlogged: Vec<String>,
    /// Times the store would not open after a cut.
    pub open_failures: Vec<String>,
    /// Problems `Store::check` reported.
    pub check_failures: Vec<String>,
    /// Times `curbside node check --data DIR` failed.
    pub node_check_failures: Vec<String>,
    /// Times the node did not start again on what survived.
    pub restart_failures: Vec<String>,
    /// Syncs (`fsync`, `fdatasync` of files and directories) the file system served.
    pub syncs: u64,
    /// Events in the store at the end.
    pub events_at_end: u64,
    /// Blob files (sled's pages too large for its log) in the store at the end.
    pub blobs_at_end: usize,
    /// The node's binary.
    pub program: String,
    /// The seed.
    pub seed: u64,
    /// Wall time, seconds.
    pub seconds: f64,
    /// The backing directory, kept when the run failed (for evidence).
    pub kept: Option<PathBuf>,
}

impl PowerCutReport {
    /// Nothing lost, every open and check passed, every restart answered.
    pub fn passed(&self) -> bool {
        self.data_dir_survived
            && self.lost.is_empty()
            && self.unlogged.is_empty()
            && self.open_failures.is_empty()
            && self.check_failures.is_empty()
            && self.node_check_failures.is_empty()
            && self.restart_failures.is_empty()
    }
}

/// A [`LossyFs`] mounted over `mnt`, holding what `backing` holds.
struct Mounted {
    fs: LossyFs,
    session: fuser::BackgroundSession,
}

impl Mounted {
    fn mount(backing: &Path, mnt: &Path) -> Self {
        let fs = LossyFs::load(backing).unwrap();
        let mut config = fuser::Config::default();
        config.mount_options = vec![
            fuser::MountOption::FSName("curbside-lossy".into()),
            fuser::MountOption::DefaultPermissions,
        ];
        let session = fuser::spawn_mount(fs.clone(), mnt, &config).unwrap_or_else(|e| {
            panic!(
                "mounting the lossy file system on {} (root and /dev/fuse needed): {e}",
                mnt.display()
            )
        });
        Self { fs, session }
    }

    /// The power cut: what was synced replaces `backing`; then unmounted.
    /// Returns the syncs the file system served.
    fn cut(self, backing: &Path) -> u64 {
        self.fs.cut(backing).unwrap();
        let syncs = self.fs.syncs();
        if let Err(e) = self.session.umount_and_join() {
            eprintln!("powercut: unmounting: {e}");
        }
        syncs
    }
}

/// `curbside node check --data DIR`: `Err` with its output unless it passes.
fn node_check(program: &Path, data: &Path) -> Result<(), String> {
    let out = std::process::Command::new(program)
        .args(["--json", "node", "check", "--data"])
        .arg(data)
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let answer: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    if out.status.success() && answer["sound"] == true {
        Ok(())
    } else {
        Err(format!("{}: {stdout}{}", out.status, String::from_utf8_lossy(&out.stderr)))
    }
}

/// Runs the harness.
pub fn run(config: &PowerCutConfig) -> PowerCutReport {
    let started = Instant::now();
    let mut rng = SplitMix64(config.seed);
    let mut report = PowerCutReport {
        seed: config.seed,
        program: config.program.display().to_string(),
        ..PowerCutReport::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    let (backing, mnt) = (tmp.path().join("backing"), tmp.path().join("mnt"));
    std::fs::create_dir(&backing).unwrap();
    std::fs::create_dir(&mnt).unwrap();
    let log = tmp.path().join("node.log");
    let network = Network::new();

    // Cut 0: straight after the data directory is made on the file system.
    let mounted = Mounted::mount(&backing, &mnt);
    let mounted_data = mnt.join("node");
    DataDir::init(&mounted_data, &network.genesis).unwrap();
    curbside_node::datadir::write_durably(&mounted_data.join("node.toml"), NODE_TOML.as_bytes())
        .unwrap();
    report.syncs += mounted.cut(&backing);
    report.cuts += 1;
    let data_path = backing.join("node");
    let data = match DataDir::open(&data_path) {
        Ok(data) => data,
        Err(e) => {
            eprintln!("powercut: the data directory did not survive: {e}");
            report.kept = Some(tmp.keep());
            return report;
        }
    };
    report.data_dir_survived =
        std::fs::read_to_string(data_path.join("node.toml")).is_ok_and(|t| t == NODE_TOML);
    let me = data.key().public();
    let agent = agent();
    let mut network = Some(network);
    let mut workload: Option<Workload> = None;
    let mut counted = CrashReport::default();

    while report.cuts <= config.trials {
        let mounted = Mounted::mount(&backing, &mnt);
        let mut node = NodeProcess::spawn_program(&config.program, &mounted_data, &log, None);
        let url = match node.wait_ready(&agent) {
            Ok(url) => url,
            Err(e) => {
                report.restart_failures.push(format!("after cut {}: {e}", report.cuts));
                node.kill();
                mounted.cut(&backing);
                break;
            }
        };
        if let Some(w) = &workload {
            *w.shared.url.write().unwrap() = Some(url);
        } else {
            let network = network.take().expect("the network is handed over once");
            workload = Some(Workload::start(network, &data, &url, config.clients, config.attest));
        }
        let shared = workload.as_ref().map(|w| w.shared.clone()).expect("started above");
        std::thread::sleep(Duration::from_millis(rng.between(config.run_ms.0, config.run_ms.1)));
        *shared.url.write().unwrap() = None;
        node.kill();
        let cut_at = Instant::now();
        report.syncs += mounted.cut(&backing);
        report.cuts += 1;

        counted.kills = report.cuts - 1;
        counted.lost.clear();
        if !verify(&data, &me, &shared, &mut counted) {
            report.open_failures.append(&mut counted.open_failures);
            break;
        }
        report.check_failures.append(&mut counted.check_failures);
        // An attestation lost outright is counted as lost, not also as unlogged.
        report.unlogged.extend(counted.unlogged.drain(..).filter(|line| {
            let id = line.rsplit(' ').next().unwrap_or_default();
            !counted.lost.iter().any(|lost| lost.ends_with(id))
        }));
        if !counted.lost.is_empty() {
            // Count each loss once: forget it for the cuts to come.
            let at = shared.acked_at.lock().unwrap();
            let mut acked = shared.acked.lock().unwrap();
            for line in counted.lost.drain(..) {
                let id = line.rsplit(' ').next().unwrap_or_default().to_owned();
                let age = acked
                    .iter()
                    .find(|a| a.to_string() == id)
                    .and_then(|a| at.get(a))
                    .map_or(0, |t| cut_at.saturating_duration_since(*t).as_millis() as u64);
                report.longest_lost_ms = report.longest_lost_ms.max(age);
                report.lost.push(format!("{line} (acknowledged {age} ms before the cut)"));
                acked.retain(|a| a.to_string() != id);
                shared.attested.lock().unwrap().retain(|a| a.to_string() != id);
            }
        }
        if let Err(e) = node_check(&config.program, &data_path) {
            report.node_check_failures.push(format!("after cut {}: {e}", report.cuts));
        }
        if report.cuts.is_multiple_of(10) {
            eprintln!(
                "powercut: {} cuts, {} acknowledged, {} lost, {:.0} s",
                report.cuts,
                shared.acked.lock().unwrap().len() + report.lost.len(),
                report.lost.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    if let Some(w) = workload {
        report.attestations = w.shared.attested.lock().unwrap().len();
        report.acknowledged = w.shared.acked.lock().unwrap().len() + report.lost.len();
        report.unanswered = w.shared.unanswered.load(std::sync::atomic::Ordering::Relaxed);
        w.stop();
    }
    report.events_at_end = counted.events_at_end;
    report.lost_count = report.lost.len();
    report.blobs_at_end =
        std::fs::read_dir(data.store_dir().join("blobs")).map_or(0, |d| d.count());

    // Last, the node on the plain directory: it must start and answer.
    let mut node = NodeProcess::spawn_program(&config.program, &data_path, &log, None);
    if let Err(e) = node.wait_ready(&agent) {
        report.restart_failures.push(format!("on the plain directory at the end: {e}"));
    }
    node.kill();
    report.seconds = started.elapsed().as_secs_f64();
    if !report.passed() {
        report.kept = Some(tmp.keep());
    }
    report
}
