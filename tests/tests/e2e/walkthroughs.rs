//! The README's physician walk-through, pasted as a physician would: each
//! command as written, against a development node (`curbside node run`),
//! with each placeholder (`EVENT_ID`, `COMMENT_ID`, `CASE_ID`, `POLL_ID`,
//! `ATTESTATION_ID`, `SALT`) replaced by what the command that made it
//! printed, which is what the README tells its reader to do; then the
//! regulator's blocks about the development node, on the same node.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use curbside_tests::curbside_bin;

use crate::cli_kit;
use crate::operator::{Group, readme_block, readme_blocks};

/// The walk-through's commands, one per entry: comments dropped, lines
/// continued with `\` joined.
fn commands(block: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        let line = line.trim_end();
        if current.is_empty() && (line.trim_start().starts_with('#') || line.trim().is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    assert!(current.is_empty(), "the block ends inside a continued line: {current}");
    out
}

/// Which placeholder what `command` prints fills, if any, and the label
/// of the line that prints it.
fn makes(command: &str) -> Option<(&'static str, &'static str)> {
    let verb = command.split_whitespace().nth(1)?;
    Some(match verb {
        "post" => ("EVENT_ID", "id"),
        "comment" => ("COMMENT_ID", "id"),
        "case" => ("CASE_ID", "id"),
        "poll" => ("POLL_ID", "id"),
        "attest" => ("ATTESTATION_ID", "id"),
        "reveal" => ("SALT", "salt"),
        _ => return None,
    })
}

/// The 64 hex digits on the `LABEL  HEX` line a command prints.
fn printed(stdout: &str, label: &str) -> Option<String> {
    stdout.lines().find_map(|l| {
        let value = l.strip_prefix(label)?;
        let value = value.strip_prefix(char::is_whitespace)?.trim();
        (value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| value.to_owned())
    })
}

const PLACEHOLDERS: [&str; 6] =
    ["EVENT_ID", "COMMENT_ID", "CASE_ID", "POLL_ID", "ATTESTATION_ID", "SALT"];

/// `bash -c command` as a physician's shell has it: their HOME,
/// `curbside` on the PATH, the passphrase typed (here, from the
/// environment, as the README says scripts do), in `dir`. The node is named
/// by CURBSIDE_NODE rather than the default port 7420, which another
/// program may hold.
fn shell(dir: &Path, home: &Path, url: &str, command: &str) -> Command {
    let bin_dir = curbside_bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .env("PATH", &path)
        .env("HOME", home)
        .env("CURBSIDE_PASSPHRASE", cli_kit::PASSPHRASE)
        .env("CURBSIDE_NODE", url)
        .env_remove("CURBSIDE_HOME")
        .env_remove("CURBSIDE_KDF_FAST")
        .env_remove("EDITOR")
        .env_remove("VISUAL")
        .stdin(Stdio::null());
    cmd
}

/// A process started in its own group: the group killed, and the process
/// waited for, on drop (whether the test passed or panicked).
struct Reaped(Option<Group>, std::process::Child);

impl Reaped {
    fn new(child: std::process::Child) -> Self {
        Self(Some(Group(child.id())), child)
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        drop(self.0.take());
        let _ = self.1.wait();
    }
}

#[test]
fn the_physician_walk_through_runs_as_written() {
    let physician = commands(&readme_block("<!-- walk-through: physician"));
    assert!(physician.len() >= 20, "the walk-through lost its commands: {physician:?}");
    let regulator: Vec<String> =
        readme_blocks("<!-- walk-through: regulator on the development node")
            .iter()
            .flat_map(|b| commands(b))
            .collect();
    assert!(regulator.len() >= 4, "the regulator's blocks lost their commands: {regulator:?}");
    let inbox = commands(&readme_block("<!-- walk-through: inbox on the development node"));
    let retraction =
        commands(&readme_block("<!-- walk-through: retraction on the development node"));
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let shell = |command: &str| shell(dir.path(), &home, &url, command);

    let _node = Reaped::new(
        shell(&format!("curbside node run --api 127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(dir.path().join("node.log")).unwrap()))
            .process_group(0)
            .spawn()
            .unwrap(),
    );
    let up = shell("curbside node status").output().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut answered = up.status.success();
    while !answered {
        assert!(Instant::now() < deadline, "the development node did not answer in 60 s");
        std::thread::sleep(Duration::from_millis(200));
        answered = shell("curbside node status").output().unwrap().status.success();
    }

    let mut ids: BTreeMap<&str, String> = BTreeMap::new();
    let run_all = |commands: &[&String], ids: &mut BTreeMap<&str, String>| {
        for command in commands.iter().copied() {
            let mut run = command.clone();
            for (placeholder, id) in ids.iter() {
                run = run.replace(placeholder, id);
            }
            assert!(
                !PLACEHOLDERS.iter().any(|p| run.contains(p)),
                "`{command}` needs a value no command before it printed"
            );
            let output = shell(&run).output().unwrap();
            let stdout = cli_kit::text(&output.stdout);
            assert!(
                output.status.success(),
                "`{run}` failed\nstdout:\n{stdout}\nstderr:\n{}\nnode.log:\n{}",
                cli_kit::text(&output.stderr),
                std::fs::read_to_string(dir.path().join("node.log")).unwrap_or_default(),
            );
            if let Some((placeholder, label)) = makes(command) {
                let value = printed(&stdout, label)
                    .unwrap_or_else(|| panic!("`{run}` printed no {label} line:\n{stdout}"));
                ids.insert(placeholder, value);
            }
            // What the walk-through says each step shows.
            let verb = command.split_whitespace().nth(1).unwrap_or_default();
            match verb {
                "whoami" => assert!(stdout.contains("dr-ada"), "{stdout}"),
                "search" => assert!(stdout.contains("Recurrent exertional syncope"), "{stdout}"),
                // Alone on the node, nobody has replied to you until you
                // name yourself.
                "inbox" if command.contains("outcomes") => {
                    assert!(stdout.contains("nothing new"), "{stdout}")
                }
                "inbox" => assert!(stdout.contains("would you stop the ACE inhibitor"), "{stdout}"),
                "mine" => assert!(stdout.contains("Recurrent exertional syncope"), "{stdout}"),
                "show" => assert!(stdout.contains("Exercise test before MRI"), "{stdout}"),
                "audit" if command.contains(" open ") => {
                    assert!(stdout.contains("opens"), "{stdout}")
                }
                _ => {}
            }
        }
    };
    let before_retraction: Vec<&String> =
        physician.iter().chain(&regulator).chain(&inbox).collect();
    run_all(&before_retraction, &mut ids);
    let shown = cli_kit::text(
        &shell(&format!("curbside show {}", ids["CASE_ID"])).output().unwrap().stdout,
    );
    assert!(shown.contains("Long QT syndrome type 1"), "the outcome is not shown:\n{shown}");
    let shown = cli_kit::text(
        &shell(&format!("curbside show {}", ids["EVENT_ID"])).output().unwrap().stdout,
    );
    // The edited text itself, not only its mark (`show` once printed the
    // title with "(edited)" and no text at all).
    assert!(shown.contains("QTc 490 ms on repeat"), "the edit is not shown:\n{shown}");
    assert!(shown.contains("accepted answer"), "the accepted answer is not shown:\n{shown}");
    run_all(&retraction.iter().collect::<Vec<_>>(), &mut ids);
    let shown = cli_kit::text(
        &shell(&format!("curbside show {}", ids["EVENT_ID"])).output().unwrap().stdout,
    );
    assert!(shown.contains("retracted by its author"), "the retraction is not shown:\n{shown}");
    assert!(!shown.contains("QTc 490 ms on repeat"), "the retracted text is still shown:\n{shown}");
}

#[test]
fn commands_are_joined_across_continued_lines_and_comments_dropped() {
    let block = "# a comment\ncurbside a \\\n    --b c\n\ncurbside d  # trailing\n";
    assert_eq!(commands(block), vec!["curbside a      --b c", "curbside d  # trailing"]);
    assert_eq!(makes("curbside post --hub x"), Some(("EVENT_ID", "id")));
    assert_eq!(makes("curbside feed x"), None);
    let id = "ab".repeat(32);
    assert_eq!(printed(&format!("id      {id}\nkind    post\n"), "id"), Some(id.clone()));
    assert_eq!(printed("id  xyz\n", "id"), None);
    // A label is a whole word: `identity` is not `id`.
    assert_eq!(printed(&format!("identity {id}\n"), "id"), None);
}

/// The README's identifier examples (a case refused for the identifiers
/// in it, and `check-text`), pasted as written with no node and no key:
/// each command exits as the text says, and every line shown under it (a
/// `...` standing for words left out) is a line of what it printed.
#[test]
fn the_identifier_examples_print_what_the_readme_shows() {
    let blocks = readme_blocks("<!-- walk-through: identifiers");
    assert_eq!(blocks.len(), 2, "the two identifier examples lost their markers");
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = curbside_bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut checked = 0;
    for block in &blocks {
        // Each command with the comment lines that follow it.
        let mut examples: Vec<(String, Vec<String>)> = Vec::new();
        for line in block.lines() {
            match line.strip_prefix('#') {
                Some(shown) => examples.last_mut().unwrap().1.push(shown.trim().to_owned()),
                None if examples.last().is_some_and(|(c, _)| c.ends_with('\\')) => {
                    let (command, _) = examples.last_mut().unwrap();
                    command.pop();
                    command.push_str(line.trim_start());
                }
                None => examples.push((line.to_owned(), Vec::new())),
            }
        }
        for (command, shown) in examples {
            let out = Command::new("bash")
                .arg("-c")
                .arg(&command)
                .current_dir(dir.path())
                .env("PATH", &path)
                .env("HOME", dir.path())
                .env_remove("CURBSIDE_HOME")
                .env_remove("CURBSIDE_NODE")
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let printed = format!("{}{}", cli_kit::text(&out.stdout), cli_kit::text(&out.stderr));
            let refused = shown.iter().any(|l| l.starts_with("refused") || l.starts_with("error:"));
            assert_eq!(out.status.code(), Some(i32::from(refused)), "{command}\n{printed}");
            for line in &shown {
                let parts: Vec<&str> = line.split("...").map(str::trim).collect();
                let found = printed.lines().any(|p| {
                    let mut rest = p.trim();
                    parts.iter().all(|part| match rest.find(part) {
                        Some(at) => {
                            rest = &rest[at + part.len()..];
                            true
                        }
                        None => false,
                    })
                });
                assert!(found, "`{command}` did not print {line:?}; it printed:\n{printed}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 9, "the examples lost their output lines ({checked})");
}

/// The README's hub moderator walk-through, on a network made as the
/// operator's walk-through makes one (the root's `council/`, a node
/// `stjames` chartered to verify in GB) with one attested physician who
/// has posted: each command as written, with `YOUR_PUBLIC_KEY` the
/// physician's key, `EVENT_ID` their post and `APPOINTMENT_ID` what
/// `appoint` printed. The post is reported, queued, taken down and then
/// gone from the feed; the appointment and the takedown are listed by
/// `audit moderation`; an ended appointment leaves a takedown refused.
#[test]
fn the_moderator_walk_through_runs_as_written() {
    let block = readme_block("<!-- walk-through: moderator");
    let moderator = commands(&block);
    assert!(moderator.len() >= 7, "the walk-through lost its commands: {moderator:?}");
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let shell = |command: &str| shell(dir.path(), &home, &url, command);
    let run = |command: &str| -> String {
        let output = shell(command).output().unwrap();
        let stdout = cli_kit::text(&output.stdout);
        assert!(
            output.status.success(),
            "`{command}` failed\nstdout:\n{stdout}\nstderr:\n{}\nnode.log:\n{}",
            cli_kit::text(&output.stderr),
            std::fs::read_to_string(dir.path().join("node.log")).unwrap_or_default(),
        );
        stdout
    };

    // The operator's part, set up as its walk-through does.
    run("curbside network new --name \"Moderation walk-through\" --out council/");
    run(&format!(
        "curbside node init --genesis council/genesis.json --data stjames --api 127.0.0.1:{port} \
         --listen /ip4/127.0.0.1/tcp/0"
    ));
    let _node = Reaped::new(
        shell("curbside node run --data stjames")
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(dir.path().join("node.log")).unwrap()))
            .process_group(0)
            .spawn()
            .unwrap(),
    );
    run("curbside node status --data stjames --wait-peers 0");
    run(&format!(
        "curbside charter --root-key council/root.key --node $(curbside node key --data stjames) \
         --institution \"St James's Hospital\" --verify GB --valid-days 365 --submit-to {url}"
    ));
    run("curbside id new --handle dr-okafor");
    run("curbside id request > request.txt");
    run("curbside attest request.txt --specialty cardiology --jurisdiction GB --licence 7654321 \
         --valid-days 365 --data stjames");
    let mut ids: BTreeMap<&str, String> = BTreeMap::new();
    let shown = run("curbside id show");
    ids.insert("YOUR_PUBLIC_KEY", printed(&shown, "public key").unwrap());
    let posted = run(
        "curbside post --hub cardiology --title \"Stethoscopes for sale\" --body \"Ask me for prices.\"",
    );
    ids.insert("EVENT_ID", printed(&posted, "id").unwrap());

    for command in &moderator {
        let mut line = command.clone();
        for (placeholder, value) in &ids {
            line = line.replace(placeholder, value);
        }
        assert!(!line.contains("_ID") && !line.contains("YOUR_"), "`{command}` needs a value");
        let stdout = run(&line);
        let verb = command.split_whitespace().nth(1).unwrap_or_default();
        match verb {
            "appoint" if !command.contains("--end") => {
                let id = printed(&stdout, "id").unwrap_or_else(|| panic!("no id:\n{stdout}"));
                ids.insert("APPOINTMENT_ID", id);
            }
            "mod" => assert!(stdout.contains(&ids["EVENT_ID"][..8]), "not queued:\n{stdout}"),
            "audit" => {
                assert!(stdout.contains("identifies the patient"), "no takedown:\n{stdout}");
                assert!(stdout.contains("cardiology"), "no appointment:\n{stdout}");
            }
            _ => {}
        }
    }
    let feed = run("curbside feed cardiology");
    assert!(
        !feed.contains("Stethoscopes for sale"),
        "the taken-down post is still in the feed:\n{feed}"
    );
    // The appointment was ended: another takedown is refused by the node.
    let again =
        run("curbside post --hub cardiology --title \"Gloves for sale\" --body \"Boxes of 100.\"");
    let id = printed(&again, "id").unwrap();
    let refused = shell(&format!("curbside takedown {id} --reason spam")).output().unwrap();
    let said = cli_kit::text(&refused.stderr);
    assert!(!refused.status.success() && said.contains("not_moderator"), "{said}");
}
