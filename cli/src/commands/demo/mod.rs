//! `curbside demo`: a whole federation on this machine, narrated.
//!
//! Three real nodes on 127.0.0.1 (two hospitals chartered to verify
//! physicians, one regional relay) with OS-chosen ports, talking libp2p to
//! each other and HTTP to the demo, under a temporary directory removed
//! at the end (also on failure and on Ctrl-C). The demo plays the root,
//! the institutions' operators and twelve physicians, whose keys live in
//! memory and sign every event they write.
//!
//! The story is [`STEPS`], a list: each step narrates what happens, acts
//! through the nodes' APIs, and checks what the nodes then answer. A step
//! holds only if all its checks do; the first that does not ends the
//! demo, which then cleans up and exits 1 naming it. `--json` prints the
//! step report on stdout (the narration goes to stderr).

mod attest;
mod audit;
mod cast;
mod clinic;
mod federation;
mod nodes;
mod outage;
mod reads;
mod report;
mod struck_off;
mod takedown;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use curbside_protocol::{
    Body, Event, EventId, Genesis, Poll, SecretKey, SignedEvent, Timestamp, tally,
};
use serde::Serialize;
use serde_json::{Value, json};

use self::nodes::DemoNode;
use self::report::{CheckFailed, CheckReport, Log, Narrator, seconds};
use super::Ctx;

/// One step of the story.
pub(crate) struct Step {
    /// A stable name, for `--json` and scripts.
    pub(crate) key: &'static str,
    /// What it shows, for people.
    pub(crate) title: &'static str,
    /// Acts and checks.
    pub(crate) run: fn(&mut Demo, &mut Log) -> anyhow::Result<()>,
}

/// The story, in order. Each step relies on the ones before it.
pub(crate) const STEPS: &[Step] = &[
    Step { key: "start", title: "Three institutions start their nodes", run: federation::start },
    Step {
        key: "charter",
        title: "The root charters the nodes, and they admit each other",
        run: federation::charter,
    },
    Step { key: "attest", title: "Hospitals attest their physicians", run: attest::attest },
    Step { key: "case", title: "A case is presented at St Mary's", run: clinic::case },
    Step {
        key: "comments",
        title: "Colleagues comment from the other nodes",
        run: clinic::comments,
    },
    Step { key: "poll", title: "A poll runs, and every node counts it alike", run: clinic::poll },
    Step {
        key: "revoke",
        title: "An attestation is revoked; the next post is refused everywhere",
        run: clinic::revoke,
    },
    Step {
        key: "outage",
        title: "St James's goes offline, the others go on, and it catches up",
        run: outage::outage,
    },
    Step { key: "audit", title: "A regulator audits both hospitals' logs", run: audit::audit },
    Step {
        key: "takedown",
        title: "A case names its patient; a moderator takes it down everywhere",
        run: takedown::takedown,
    },
    Step {
        key: "struck_off",
        title: "A hospital struck off dates an attestation back; the nodes refuse it and the \
                regulator names it",
        run: struck_off::struck_off,
    },
];

/// Set on Ctrl-C (or SIGTERM): every wait gives up, the demo cleans up.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interrupt(Arc<AtomicBool>);

/// The user interrupted the demo.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub(crate) struct Interrupted;

impl Interrupt {
    /// `Err(Interrupted)` once the user has interrupted.
    pub(crate) fn check(&self) -> anyhow::Result<()> {
        if self.0.load(Ordering::SeqCst) { Err(Interrupted.into()) } else { Ok(()) }
    }

    pub(crate) fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Watches for Ctrl-C and SIGTERM: the first raises the flag (the demo
    /// stops its nodes and removes `dir`); a second removes `dir` and
    /// exits at once.
    fn watch(&self, dir: PathBuf) -> anyhow::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the signal watcher")?;
        // Registered here, before the nodes start, so no signal is missed.
        let (mut int, mut term) = {
            let _entered = runtime.enter();
            (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?)
        };
        let flag = self.clone();
        std::thread::Builder::new().name("demo-signals".into()).spawn(move || {
            runtime.block_on(async move {
                let mut seen = 0;
                loop {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                    seen += 1;
                    if seen == 1 {
                        flag.raise();
                        eprintln!(
                            "\ninterrupted: stopping the nodes and removing {} (again to quit at once)",
                            dir.display()
                        );
                    } else {
                        let _ = std::fs::remove_dir_all(&dir);
                        std::process::exit(130);
                    }
                }
            });
        })?;
        Ok(())
    }
}

/// A physician of the demo: their key lives in memory (no keystore: the
/// demo needs no passphrase, and Argon2id would only slow it down).
#[derive(Debug)]
pub(crate) struct Physician {
    pub(crate) who: cast::Doctor,
    pub(crate) key: SecretKey,
    /// Their attestation, once issued.
    pub(crate) attestation: Option<EventId>,
    /// The licence number the hospital checked against the register.
    pub(crate) licence: Option<String>,
}

/// Everything the story needs from step to step.
#[derive(Debug)]
pub(crate) struct Demo {
    pub(crate) root: SecretKey,
    pub(crate) genesis: Genesis,
    pub(crate) nodes: Vec<DemoNode>,
    pub(crate) physicians: Vec<Physician>,
    /// Every event the nodes stored, in the order the demo made them: the
    /// set every node must end with.
    pub(crate) made: Vec<EventId>,
    /// Each node's charter, by site.
    pub(crate) charters: Vec<EventId>,
    pub(crate) case: Option<EventId>,
    pub(crate) poll: Option<(EventId, Poll)>,
    /// The counted ballots, for the reference tally.
    pub(crate) ballots: Vec<tally::Ballot>,
    pub(crate) interrupt: Interrupt,
    dir: PathBuf,
}

impl Demo {
    fn new(dir: &Path, interrupt: Interrupt) -> Self {
        let root = SecretKey::generate();
        let genesis = Genesis::new("Curbside demo", vec![root.public()], curbside_node::now());
        let physicians = cast::DOCTORS
            .iter()
            .map(|who| Physician {
                who: *who,
                key: SecretKey::generate(),
                attestation: None,
                licence: None,
            })
            .collect();
        Self {
            root,
            genesis,
            nodes: Vec::new(),
            physicians,
            made: Vec::new(),
            charters: Vec::new(),
            case: None,
            poll: None,
            ballots: Vec::new(),
            interrupt,
            dir: dir.to_path_buf(),
        }
    }

    /// `body` signed by `author`, now.
    pub(crate) fn sign(&self, author: &SecretKey, body: Body) -> anyhow::Result<SignedEvent> {
        self.sign_at(author, curbside_node::now(), body)
    }

    /// `body` signed by `author`, dated `at`: for a body that names its own
    /// time too (a revocation effective when made), so the two agree.
    pub(crate) fn sign_at(
        &self,
        author: &SecretKey,
        at: Timestamp,
        body: Body,
    ) -> anyhow::Result<SignedEvent> {
        Event::new(self.genesis.network_id(), author.public(), at, body)
            .sign(author)
            .context("signing")
    }

    /// The physician with `handle`.
    pub(crate) fn physician(&self, handle: &str) -> anyhow::Result<&Physician> {
        self.physicians
            .iter()
            .find(|p| p.who.handle == handle)
            .with_context(|| format!("no physician {handle} in the demo"))
    }

    /// The node at `site` (see `cast`).
    pub(crate) fn node(&self, site: usize) -> anyhow::Result<&DemoNode> {
        self.nodes.get(site).context("that node has not been started")
    }

    /// The case presented in step 4.
    pub(crate) fn case(&self) -> anyhow::Result<EventId> {
        self.case.context("no case was presented")
    }

    /// The poll opened in step 6.
    pub(crate) fn poll(&self) -> anyhow::Result<&(EventId, Poll)> {
        self.poll.as_ref().context("no poll was opened")
    }

    /// The data directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops every running node; the first error.
    fn shut_down(&mut self) -> anyhow::Result<()> {
        let mut first = Ok(());
        for node in &mut self.nodes {
            if let Err(e) = node.stop()
                && first.is_ok()
            {
                first = Err(e);
            }
        }
        first
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    Passed,
    Failed,
    Interrupted,
    /// Not run, because an earlier step did not hold.
    Skipped,
}

/// A step as the `--json` report shows it.
#[derive(Debug, Serialize)]
struct StepReport {
    number: usize,
    key: &'static str,
    title: &'static str,
    status: Verdict,
    millis: u64,
    checks: Vec<CheckReport>,
    /// Why it did not hold.
    error: Option<String>,
    /// Figures for machines: addresses, tallies, timings.
    facts: serde_json::Map<String, Value>,
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// How the story ended when it did not end well: the step, how, why.
#[derive(Debug, Clone)]
struct Ending {
    number: usize,
    verdict: Verdict,
    error: String,
}

/// Tells `steps` in order; after one fails (or is interrupted) the rest
/// are skipped.
fn tell(steps: &[Step], demo: &mut Demo, narrator: Narrator) -> (Vec<StepReport>, Option<Ending>) {
    let mut reports: Vec<StepReport> = Vec::new();
    let mut ended: Option<Ending> = None;
    for (i, step) in steps.iter().enumerate() {
        let number = i + 1;
        let mut report = StepReport {
            number,
            key: step.key,
            title: step.title,
            status: Verdict::Skipped,
            millis: 0,
            checks: Vec::new(),
            error: None,
            facts: serde_json::Map::new(),
        };
        if ended.is_some() {
            reports.push(report);
            continue;
        }
        narrator.print(&format!("{number:>2}. {}", step.title));
        let mut log = Log::new(narrator, demo.interrupt.clone());
        let t = Instant::now();
        let result = (step.run)(demo, &mut log);
        report.millis = millis(t.elapsed());
        report.status = match result {
            Ok(()) => Verdict::Passed,
            Err(e) => {
                let verdict = if e.downcast_ref::<Interrupted>().is_some() {
                    Verdict::Interrupted
                } else {
                    if e.downcast_ref::<CheckFailed>().is_none() {
                        // An action failed rather than a check: say so here.
                        narrator.hanging(report::INDENT, "✗ ", &format!("{e:#}"));
                    }
                    Verdict::Failed
                };
                let error = format!("{e:#}");
                report.error = Some(error.clone());
                ended = Some(Ending { number, verdict, error });
                verdict
            }
        };
        narrator.print("");
        report.checks = log.checks;
        report.facts = log.facts;
        reports.push(report);
    }
    (reports, ended)
}

/// The last words: which step did not hold, or that all did.
fn verdict_text(
    steps: &[Step],
    reports: &[StepReport],
    ended: Option<&Ending>,
    took: &str,
) -> String {
    match ended {
        None => format!("All {} steps held, in {took}.", steps.len()),
        Some(Ending { number, verdict, error }) => {
            let passed = reports.iter().filter(|r| r.status == Verdict::Passed).count();
            let step = &steps[number - 1];
            let how = if *verdict == Verdict::Interrupted {
                "was interrupted".to_owned()
            } else {
                format!("did not hold: {error}")
            };
            format!(
                "Step {number} ({}: \"{}\") {how}\n{passed} of {} steps held, in {took}.",
                step.key,
                step.title,
                steps.len(),
            )
        }
    }
}

/// 0 when every step held and everything was cleaned up; 130 when
/// interrupted; 1 otherwise.
fn exit_code(ended: Option<&Ending>, cleaned_up: bool) -> u8 {
    match ended {
        Some(Ending { verdict: Verdict::Interrupted, .. }) => 130,
        None if cleaned_up => 0,
        _ => 1,
    }
}

/// `curbside demo`.
pub(crate) fn run(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if std::env::var_os("RUST_LOG").is_some() {
        // The nodes' logs, for whoever asks for them; off by default so
        // they do not drown the narration.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    let narrator = Narrator { to_stderr: ctx.out.json };
    let tmp = tempfile::Builder::new()
        .prefix("curbside-demo-")
        .tempdir()
        .context("making a temporary directory for the demo's nodes")?;
    let interrupt = Interrupt::default();
    interrupt.watch(tmp.path().to_path_buf())?;
    let mut demo = Demo::new(tmp.path(), interrupt);

    narrator.print(&format!(
        "Curbside demo: a federation of three nodes on this machine, talking libp2p on 127.0.0.1.\n\
         Their data lives in {} until the end.\n",
        tmp.path().display()
    ));
    let started = Instant::now();
    let (reports, ended) = tell(STEPS, &mut demo, narrator);
    let took = started.elapsed();

    // Clean up whatever happened: stop the nodes, remove their data.
    let stopped = demo.shut_down();
    drop(demo);
    let path = tmp.path().to_path_buf();
    let removed = tmp.close().map_err(anyhow::Error::from).and_then(|()| {
        anyhow::ensure!(!path.exists(), "{} is still there", path.display());
        Ok(())
    });
    let cleanup_error = match (&stopped, &removed) {
        (Err(e), _) | (_, Err(e)) => Some(format!("{e:#}")),
        _ => None,
    };

    let verdict = verdict_text(STEPS, &reports, ended.as_ref(), &seconds(took));
    let cleanup = match &cleanup_error {
        None => format!("The nodes are stopped and {} is removed.", path.display()),
        Some(e) => format!("Cleaning up failed: {e}"),
    };
    narrator.print(&format!("{verdict} {cleanup}"));
    if ctx.out.json {
        let failed = ended.as_ref().map(|e| {
            let step = &STEPS[e.number - 1];
            json!({ "number": e.number, "key": step.key, "title": step.title, "error": e.error })
        });
        ctx.out.json_line(&json!({
            "ok": ended.is_none() && cleanup_error.is_none(),
            "millis": millis(took),
            "steps": reports,
            "failed_step": failed,
            "interrupted": ended.as_ref().is_some_and(|e| e.verdict == Verdict::Interrupted),
            "data_dir": path,
            "cleaned_up": cleanup_error.is_none(),
            "cleanup_error": cleanup_error,
        }))?;
    }
    Ok(ExitCode::from(exit_code(ended.as_ref(), cleanup_error.is_none())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(_: &mut Demo, log: &mut Log) -> anyhow::Result<()> {
        log.check("this holds", Ok(String::new()))
    }

    fn does_not_hold(_: &mut Demo, log: &mut Log) -> anyhow::Result<()> {
        log.check("this holds", Ok(String::new()))?;
        log.check("so does this", Err("it does not".into()))?;
        log.check("never checked", Ok(String::new()))
    }

    fn cannot_act(_: &mut Demo, _: &mut Log) -> anyhow::Result<()> {
        anyhow::bail!("the node did not answer")
    }

    fn story(second: fn(&mut Demo, &mut Log) -> anyhow::Result<()>) -> [Step; 3] {
        [
            Step { key: "one", title: "First", run: holds },
            Step { key: "two", title: "Second", run: second },
            Step { key: "three", title: "Third", run: holds },
        ]
    }

    #[test]
    fn the_first_step_that_does_not_hold_ends_the_story_and_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut demo = Demo::new(dir.path(), Interrupt::default());
        let steps = story(does_not_hold);
        let (reports, ended) = tell(&steps, &mut demo, Narrator { to_stderr: true });
        let status: Vec<Verdict> = reports.iter().map(|r| r.status).collect();
        assert_eq!(status, [Verdict::Passed, Verdict::Failed, Verdict::Skipped]);
        assert_eq!(reports[1].checks.len(), 2);
        assert!(!reports[1].checks[1].passed);
        let ended = ended.unwrap();
        assert_eq!(ended.number, 2);
        assert_eq!(ended.error, "so does this: it does not");
        let text = verdict_text(&steps, &reports, Some(&ended), "1 s");
        assert!(text.starts_with("Step 2 (two: \"Second\") did not hold: so does this"), "{text}");
        assert!(text.contains("1 of 3 steps held"), "{text}");
        assert_eq!(exit_code(Some(&ended), true), 1);
    }

    #[test]
    fn an_action_that_fails_fails_its_step() {
        let dir = tempfile::tempdir().unwrap();
        let mut demo = Demo::new(dir.path(), Interrupt::default());
        let (reports, ended) = tell(&story(cannot_act), &mut demo, Narrator { to_stderr: true });
        assert_eq!(reports[1].status, Verdict::Failed);
        assert_eq!(reports[1].error.as_deref(), Some("the node did not answer"));
        assert_eq!(ended.unwrap().number, 2);
    }

    #[test]
    fn an_interrupt_ends_the_story_with_130() {
        let dir = tempfile::tempdir().unwrap();
        let interrupt = Interrupt::default();
        interrupt.raise();
        let mut demo = Demo::new(dir.path(), interrupt);
        fn waits(_: &mut Demo, log: &mut Log) -> anyhow::Result<()> {
            log.wait("forever", std::time::Duration::from_secs(60), || -> anyhow::Result<()> {
                anyhow::bail!("not yet")
            })
        }
        let (reports, ended) = tell(&story(waits), &mut demo, Narrator { to_stderr: true });
        assert_eq!(reports[1].status, Verdict::Interrupted);
        assert_eq!(exit_code(ended.as_ref(), true), 130);
    }

    #[test]
    fn all_held_and_clean_is_success() {
        let dir = tempfile::tempdir().unwrap();
        let mut demo = Demo::new(dir.path(), Interrupt::default());
        let steps = story(holds);
        let (reports, ended) = tell(&steps, &mut demo, Narrator { to_stderr: true });
        assert!(ended.is_none());
        assert!(reports.iter().all(|r| r.status == Verdict::Passed));
        assert_eq!(exit_code(None, true), 0);
        assert_eq!(exit_code(None, false), 1, "a demo that could not clean up fails");
        assert_eq!(verdict_text(&steps, &reports, None, "2 s"), "All 3 steps held, in 2 s.");
    }

    #[test]
    fn step_keys_are_unique() {
        let mut keys: Vec<&str> = STEPS.iter().map(|s| s.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), STEPS.len());
    }
}
