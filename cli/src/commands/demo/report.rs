//! Telling the user what happens, and keeping the record of it: each step
//! narrates, and each check is printed ✓ or ✗ as it is decided and kept
//! for the `--json` report.

use std::io::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::Interrupt;
use crate::output::wrap;

/// Narration is indented under the step's number.
pub(crate) const INDENT: &str = "     ";

/// Lines are wrapped to this width.
const WIDTH: usize = 84;

/// How often a condition is polled while waiting for it.
const POLL_EVERY: Duration = Duration::from_millis(25);

/// Where the narration goes: stdout for people, stderr with `--json` (so
/// that stdout holds only the report).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Narrator {
    pub(crate) to_stderr: bool,
}

impl Narrator {
    /// Prints `text` as it is. A closed stdout does not stop the demo: it
    /// still cleans up and exits with the steps' verdict.
    pub(crate) fn print(&self, text: &str) {
        if self.to_stderr {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{text}");
        } else {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }

    /// `text` wrapped to the width, each line prefixed with `indent`.
    pub(crate) fn paragraph(&self, indent: &str, text: &str) {
        self.hanging(indent, "", text);
    }

    /// `text` wrapped after `lead` (`✓ `), its later lines indented to
    /// line up with the first.
    pub(crate) fn hanging(&self, indent: &str, lead: &str, text: &str) {
        let hang = " ".repeat(lead.chars().count());
        let room = WIDTH.saturating_sub(indent.chars().count() + hang.len());
        let body: Vec<String> = wrap(text, room)
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{indent}{}{l}", if i == 0 { lead } else { &hang }))
            .collect();
        self.print(&body.join("\n"));
    }
}

/// A check as the report keeps it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CheckReport {
    /// What was checked, in words.
    pub(crate) check: String,
    pub(crate) passed: bool,
    /// A figure or a reason (why it did not hold).
    pub(crate) detail: String,
}

/// A step ended because a check did not hold (already printed).
#[derive(Debug, thiserror::Error)]
#[error("{check}: {reason}")]
pub(crate) struct CheckFailed {
    pub(crate) check: String,
    pub(crate) reason: String,
}

/// What one step says and checks.
#[derive(Debug)]
pub(crate) struct Log {
    narrator: Narrator,
    interrupt: Interrupt,
    pub(crate) checks: Vec<CheckReport>,
    pub(crate) facts: serde_json::Map<String, Value>,
}

impl Log {
    pub(crate) fn new(narrator: Narrator, interrupt: Interrupt) -> Self {
        Self { narrator, interrupt, checks: Vec::new(), facts: serde_json::Map::new() }
    }

    /// A line (wrapped) saying what happens and why it matters.
    pub(crate) fn say(&self, text: &str) {
        self.narrator.paragraph(INDENT, text);
    }

    /// Pre-formatted lines (a table), indented.
    pub(crate) fn show(&self, text: &str) {
        let body: Vec<String> = text
            .trim_end_matches('\n')
            .lines()
            .map(|l| format!("{INDENT}  {l}").trim_end().to_owned())
            .collect();
        self.narrator.print(&body.join("\n"));
    }

    /// What someone wrote, wrapped under who they are (handle, key, verifier).
    pub(crate) fn quote(&self, who: &str, text: &str) {
        self.narrator.print(&format!("{INDENT}  {who}:"));
        self.narrator.hanging(&format!("{INDENT}    "), "", text);
    }

    /// A machine-readable fact for the `--json` report.
    pub(crate) fn fact(&mut self, key: &str, value: impl Serialize) {
        self.facts.insert(key.to_owned(), serde_json::to_value(value).unwrap_or(Value::Null));
    }

    /// Records and prints a check: `Ok(detail)` held, `Err(reason)` did
    /// not, which ends the step.
    pub(crate) fn check(
        &mut self,
        what: impl Into<String>,
        result: Result<String, String>,
    ) -> anyhow::Result<()> {
        match result {
            Ok(detail) => {
                let check = what.into();
                let line =
                    if detail.is_empty() { check.clone() } else { format!("{check} ({detail})") };
                self.narrator.hanging(INDENT, "✓ ", &line);
                self.checks.push(CheckReport { check, passed: true, detail });
                Ok(())
            }
            Err(reason) => Err(self.fail(what.into(), reason)),
        }
    }

    /// Records and prints a check that did not hold; the error that ends the step.
    fn fail(&mut self, check: String, reason: String) -> anyhow::Error {
        self.narrator.hanging(INDENT, "✗ ", &format!("{check}: {reason}"));
        self.checks.push(CheckReport {
            check: check.clone(),
            passed: false,
            detail: reason.clone(),
        });
        CheckFailed { check, reason }.into()
    }

    /// Polls `probe` until it answers `Ok` or `limit` passes, then records
    /// the check with how long it took. `probe` answers `Err` with why the
    /// condition does not hold yet; the last reason is the failure's.
    pub(crate) fn wait<T>(
        &mut self,
        what: impl Into<String>,
        limit: Duration,
        mut probe: impl FnMut() -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let start = Instant::now();
        loop {
            self.interrupt.check()?;
            match probe() {
                Ok(value) => {
                    self.check(what, Ok(seconds(start.elapsed())))?;
                    return Ok(value);
                }
                Err(e) if start.elapsed() >= limit => {
                    let reason = format!("not within {} s: {e:#}", limit.as_secs());
                    return Err(self.fail(what.into(), reason));
                }
                Err(_) => std::thread::sleep(POLL_EVERY),
            }
        }
    }
}

/// `42 ms`, `1.25 s`, `12.3 s`.
pub(crate) fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{} ms", d.as_millis())
    } else if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_check_ends_the_step_and_is_kept() {
        let mut log = Log::new(Narrator { to_stderr: true }, Interrupt::default());
        assert!(log.check("one", Ok("fine".into())).is_ok());
        let err = log.check("two", Err("no".into())).unwrap_err();
        assert_eq!(err.to_string(), "two: no");
        assert!(err.downcast_ref::<CheckFailed>().is_some());
        assert_eq!(log.checks.len(), 2);
        assert!(log.checks[0].passed && !log.checks[1].passed);
    }

    #[test]
    fn waiting_is_bounded_and_says_why_it_failed() {
        let mut log = Log::new(Narrator { to_stderr: true }, Interrupt::default());
        let mut tries = 0;
        let got = log.wait("soon", Duration::from_secs(5), || {
            tries += 1;
            if tries < 3 { anyhow::bail!("not yet") } else { Ok(tries) }
        });
        assert_eq!(got.unwrap(), 3);
        let start = Instant::now();
        let err = log
            .wait("never", Duration::from_millis(100), || -> anyhow::Result<()> {
                anyhow::bail!("still 1 of 2")
            })
            .unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(2));
        assert!(err.to_string().contains("still 1 of 2"), "{err}");
        assert!(!log.checks.last().unwrap().passed);
    }

    #[test]
    fn an_interrupt_stops_a_wait() {
        let interrupt = Interrupt::default();
        interrupt.raise();
        let mut log = Log::new(Narrator { to_stderr: true }, interrupt);
        let err = log
            .wait("x", Duration::from_secs(60), || -> anyhow::Result<()> { anyhow::bail!("no") })
            .unwrap_err();
        assert!(err.downcast_ref::<super::super::Interrupted>().is_some(), "{err}");
    }

    #[test]
    fn seconds_read_well() {
        assert_eq!(seconds(Duration::from_millis(420)), "420 ms");
        assert_eq!(seconds(Duration::from_millis(1_250)), "1.25 s");
        assert_eq!(seconds(Duration::from_millis(12_340)), "12.3 s");
    }
}
