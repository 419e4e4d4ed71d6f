//! An institution's operator: the README's walk-through pasted into a shell
//! as written (two nodes that federate), a port another node holds, and an
//! admin command that reaches a node other than the one it meant.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use curbside_tests::curbside_bin;

use crate::cli_kit;

/// The `sh` block that follows `marker` in the README.
pub(crate) fn readme_block(marker: &str) -> String {
    readme_blocks(marker).swap_remove(0)
}

/// The `sh` block that follows each `marker` in the README, in order (at
/// least one).
pub(crate) fn readme_blocks(marker: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("README.md"),
    )
    .unwrap();
    let blocks: Vec<String> = readme
        .match_indices(marker)
        .map(|(at, _)| {
            let rest = &readme[at..];
            let start = rest.find("```sh\n").unwrap() + "```sh\n".len();
            let end = rest[start..].find("```").unwrap();
            rest[start..start + end].to_owned()
        })
        .collect();
    assert!(!blocks.is_empty(), "README.md has no {marker:?}");
    blocks
}

/// Kills a process group on drop, so that nodes a failed script started in
/// the background do not outlive the test. The signal goes by `killpg`
/// itself: procps-ng 4.0's `kill -KILL -PGID` was seen to take the
/// negative number for something else and signal far more than the group.
pub(crate) struct Group(pub(crate) u32);

impl Drop for Group {
    fn drop(&mut self) {
        if let Ok(pgid) = i32::try_from(self.0)
            && pgid > 1
        {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Runs `script` with `bash -e` in `dir`, as a reader pasting it would:
/// only `curbside` added to the PATH, HOME in `dir`, the passphrase in the
/// environment (as the README says scripts set it), nothing else of the
/// caller's. Every process it starts is killed when it ends or after
/// `limit` (a panic then).
pub(crate) fn run_walk_through(dir: &Path, script: &str, limit: Duration) -> Output {
    let bin_dir = curbside_bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut child = Command::new("bash")
        .arg("-e")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("PATH", path)
        .env("HOME", dir.join("home"))
        .env("CURBSIDE_PASSPHRASE", cli_kit::PASSPHRASE)
        .env_remove("CURBSIDE_NODE")
        .env_remove("CURBSIDE_HOME")
        .env_remove("CURBSIDE_KDF_FAST")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let _group = Group(child.id());
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the walk-through did not finish in {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

/// The operator's walk-through, run by `bash -e` in an empty directory with
/// only `curbside` on the PATH added and a passphrase in the environment
/// (as its text says): every command must succeed, which includes
/// `node status --wait-peers 1` (St James's admitted St Mary's) and
/// `id show` on the other node (the attestation crossed). Before its nodes
/// stop, the regulator's blocks about this federation run as written too:
/// `audit verify --quorum 1`, `audit list`, and every licence exported
/// and checked against a register (a clean one: exit 0).
#[test]
fn the_operator_walk_through_runs_as_written_and_federates() {
    let operator = readme_block("<!-- walk-through: operator");
    let stop = operator.find("# Stop both nodes").expect("the walk-through stops its nodes");
    let regulator =
        readme_blocks("<!-- walk-through: regulator on the operator's federation").concat();
    let script = format!("{}{regulator}{}", &operator[..stop], &operator[stop..]);
    let dir = tempfile::tempdir().unwrap();
    let output = run_walk_through(dir.path(), &script, Duration::from_secs(240));
    let logs = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    assert!(
        output.status.success(),
        "the walk-through failed (ports 7520-7531 in use?)\nstdout:\n{}\nstderr:\n{}\nstmarys.log:\n{}\nstjames.log:\n{}",
        cli_kit::text(&output.stdout),
        cli_kit::text(&output.stderr),
        logs("stmarys.log"),
        logs("stjames.log"),
    );
    let stdout = cli_kit::text(&output.stdout);
    assert!(stdout.contains("1 peer(s)"), "{stdout}");
    assert!(stdout.contains("attested     yes, at http://127.0.0.1:7520"), "{stdout}");
    assert!(stdout.contains("The store is sound."), "{stdout}");
    // The regulator's part: the attestation listed from St James's log,
    // and the register check clean.
    assert!(stdout.contains("St James's Hospital ("), "{stdout}");
    assert!(stdout.contains("1 attestation(s), 0 revoked"), "{stdout}");
    assert!(stdout.contains("No finding: every opening opens its commitment"), "{stdout}");
    let export = std::fs::read_to_string(dir.path().join("stjames-openings.jsonl")).unwrap();
    assert!(export.contains("7654321"), "{export}");
}

/// The API URL `node init --api` wrote into `data`'s node.toml.
fn api_url(data: &Path) -> String {
    let toml = std::fs::read_to_string(data.join("node.toml")).unwrap();
    let api = toml
        .lines()
        .find_map(|l| l.strip_prefix("api = \"")?.split('"').next().map(str::to_owned))
        .unwrap();
    format!("http://{api}")
}

/// `curbside node run --data DATA` in its own process group (killed with
/// the returned guard), once its API answers; the node and its status.
fn run_node(home: &Path, data: &Path) -> (std::process::Child, Group, serde_json::Value) {
    let node = cli_kit::curbside(home)
        .args(["node", "run", "--data", data.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let group = Group(node.id());
    let status = cli_kit::ok(
        home,
        &["node", "status", "--data", data.to_str().unwrap(), "--wait-peers", "0"],
    );
    (node, group, status)
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Inits a node under `dir/name` with the given listen address and an
/// OS-chosen API port; its data directory.
fn init(home: &Path, genesis: &Path, data: &Path, listen: &str) {
    cli_kit::ok(
        home,
        &[
            "node",
            "init",
            "--genesis",
            genesis.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--api",
            &format!("127.0.0.1:{}", free_port()),
            "--listen",
            listen,
        ],
    );
}

/// libp2p's TCP listeners share a port with any other that asks
/// (`SO_REUSEPORT`): a second node told to listen where a running one does
/// must be refused, naming the setting, rather than split the first one's
/// peers with it.
#[test]
fn a_second_node_on_a_taken_peer_port_is_refused_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let root = cli_kit::ok(
        &home,
        &[
            "network",
            "new",
            "--name",
            "Port test",
            "--out",
            dir.path().join("net").to_str().unwrap(),
        ],
    );
    assert!(root.is_object());
    let genesis = dir.path().join("net/genesis.json");
    let listen = format!("/ip4/127.0.0.1/tcp/{}", free_port());
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    init(&home, &genesis, &first, &listen);
    init(&home, &genesis, &second, &listen);

    let (mut running, _group, _) = run_node(&home, &first);

    let mut refused = cli_kit::curbside(&home)
        .args(["node", "run", "--data", second.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while refused.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = refused.kill();
            panic!("the second node started on a port the first holds");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = refused.wait_with_output().unwrap();
    let stderr = cli_kit::text(&output.stderr);
    assert!(!output.status.success());
    let said = format!("cannot listen on {listen}: the port is in use");
    assert!(stderr.contains(&said), "{stderr}");
    assert!(stderr.contains("--listen, or `listen` in node.toml"), "{stderr}");
    assert_eq!(stderr.matches(&said).count(), 1, "said more than once: {stderr}");
    assert!(running.try_wait().unwrap().is_none(), "the first node stopped");
}

/// `--data` names one node and `--node` reaches another: the command is
/// refused before anything is sent, naming both; the token sent straight
/// to the other node is refused as that node's, not as "wrong".
#[test]
fn an_admin_command_that_reaches_another_node_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    cli_kit::ok(
        &home,
        &["network", "new", "--name", "Two", "--out", dir.path().join("net").to_str().unwrap()],
    );
    let genesis = dir.path().join("net/genesis.json");
    let (ours, theirs) = (dir.path().join("ours"), dir.path().join("theirs"));
    init(&home, &genesis, &ours, "/ip4/127.0.0.1/tcp/0");
    init(&home, &genesis, &theirs, "/ip4/127.0.0.1/tcp/0");
    let (mut node, _group, status) = run_node(&home, &theirs);
    let their_key = status["node"]["node_key"].as_str().unwrap().to_owned();
    let their_url = api_url(&theirs);
    let our_key = cli_kit::ok(&home, &["node", "key", "--data", ours.to_str().unwrap()]);
    let our_key = our_key["public_key"].as_str().unwrap();

    let id = "ab".repeat(32);
    let revoke = |admin: &[&str]| {
        let mut args = vec!["revoke", id.as_str(), "--reason", "test", "--node", &their_url];
        args.extend_from_slice(admin);
        cli_kit::run(&home, &args, None)
    };
    let refused = revoke(&["--data", ours.to_str().unwrap()]);
    let stderr = cli_kit::text(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains(&their_key[..16]) && stderr.contains(&our_key[..16]), "{stderr}");
    assert!(stderr.contains("not the node of"), "{stderr}");

    let token = ours.join("admin.token");
    let refused = revoke(&["--token-file", token.to_str().unwrap()]);
    let stderr = cli_kit::text(&refused.stderr);
    assert!(stderr.contains("(wrong_node)"), "{stderr}");
    assert!(node.try_wait().unwrap().is_none(), "the node stopped");
}

/// The root stays offline: a charter signed there (`--no-submit --out`)
/// is sent later with `curbside submit`; a charter with no `--verify` is a
/// relay only when `--relay` says so.
#[test]
fn an_offline_charter_is_submitted_later_and_a_relay_must_be_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let net = dir.path().join("net");
    cli_kit::ok(&home, &["network", "new", "--name", "Offline", "--out", net.to_str().unwrap()]);
    let data = dir.path().join("relay");
    init(&home, &net.join("genesis.json"), &data, "/ip4/127.0.0.1/tcp/0");
    let key = cli_kit::ok(&home, &["node", "key", "--data", data.to_str().unwrap()]);
    let key = key["public_key"].as_str().unwrap().to_owned();
    let file = dir.path().join("charter.txt");
    let root_key = net.join("root.key");
    let charter = |extra: &[&str]| {
        let mut args = vec![
            "charter",
            "--root-key",
            root_key.to_str().unwrap(),
            "--node",
            &key,
            "--institution",
            "Relay Trust",
            "--valid-days",
            "30",
            "--no-submit",
            "--out",
            file.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        cli_kit::run(&home, &args, None)
    };
    let refused = charter(&[]);
    assert!(!refused.status.success());
    let stderr = cli_kit::text(&refused.stderr);
    assert!(stderr.contains("--relay if a relay is meant"), "{stderr}");
    assert!(!file.exists(), "nothing is signed when refused");
    let signed = charter(&["--relay"]);
    assert!(signed.status.success(), "{}", cli_kit::text(&signed.stderr));

    let (mut node, _group, status) = run_node(&home, &data);
    assert_eq!(status["node"]["node_key"], key.as_str());
    let url = api_url(&data);
    let sent = cli_kit::ok(&home, &["submit", file.to_str().unwrap(), "--node", &url]);
    assert_eq!((sent["kind"].as_str(), sent["status"].as_str()), (Some("charter"), Some("stored")));
    let again = cli_kit::ok(&home, &["submit", file.to_str().unwrap(), "--node", &url]);
    assert_eq!(again["status"], "duplicate", "{again}");
    // node status says what the node is chartered as, and until when.
    assert!(status["node"]["charter"].is_null(), "no charter before: {status}");
    let status = cli_kit::ok(&home, &["node", "status", "--data", data.to_str().unwrap()]);
    let charter = &status["node"]["charter"];
    assert_eq!(
        (charter["institution"].as_str(), charter["verify"].as_array().map(Vec::len)),
        (Some("Relay Trust"), Some(0)),
        "{status}"
    );
    let shown = cli_kit::run(&home, &["node", "status", "--data", data.to_str().unwrap()], None);
    let shown = cli_kit::text(&shown.stdout);
    assert!(shown.contains("Relay Trust (relay) until"), "{shown}");
    let garbage = dir.path().join("garbage.txt");
    std::fs::write(&garbage, "not an event\n").unwrap();
    let refused = cli_kit::run(&home, &["submit", garbage.to_str().unwrap(), "--node", &url], None);
    assert!(!refused.status.success());
    assert!(
        cli_kit::text(&refused.stderr).contains("line 1"),
        "{}",
        cli_kit::text(&refused.stderr)
    );
    assert!(node.try_wait().unwrap().is_none(), "the node stopped");
}

/// `network new` takes the network's hubs and cell size; a root adds a
/// hub later with `curbside hub add`, and nodes list it.
#[test]
fn a_network_starts_with_its_own_hubs_and_the_root_adds_one() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let net = dir.path().join("net");
    let bad = cli_kit::run(
        &home,
        &["network", "new", "--name", "Hubs", "--out", net.to_str().unwrap(), "--hub", "icu"],
        None,
    );
    assert!(!bad.status.success());
    assert!(cli_kit::text(&bad.stderr).contains("SLUG=TITLE"), "{}", cli_kit::text(&bad.stderr));
    cli_kit::ok(
        &home,
        &[
            "network",
            "new",
            "--name",
            "Hubs",
            "--out",
            net.to_str().unwrap(),
            "--hub",
            "general=General",
            "--hub",
            "icu=Intensive care",
            "--min-cell-size",
            "7",
        ],
    );
    let genesis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(net.join("genesis.json")).unwrap()).unwrap();
    assert_eq!(genesis["params"]["min_cell_size"], 7, "{genesis}");
    let hubs: Vec<&str> =
        genesis["hubs"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert_eq!(hubs, ["general", "icu"], "{genesis}");

    let data = dir.path().join("node");
    init(&home, &net.join("genesis.json"), &data, "/ip4/127.0.0.1/tcp/0");
    let (mut node, _group, _) = run_node(&home, &data);
    let url = api_url(&data);
    let root_key = net.join("root.key");
    let added = cli_kit::ok(
        &home,
        &[
            "hub",
            "add",
            "paediatrics",
            "--title",
            "Paediatrics",
            "--root-key",
            root_key.to_str().unwrap(),
            "--submit-to",
            &url,
        ],
    );
    assert_eq!((added["kind"].as_str(), added["status"].as_str()), (Some("hub"), Some("stored")));
    // Listing hubs needs a physician's session; the signed event is public.
    let id = added["id"].as_str().unwrap();
    let mut answer = ureq::get(format!("{url}/v1/audit/events/{id}")).call().unwrap();
    let event: serde_json::Value = answer.body_mut().read_json().unwrap();
    assert_eq!(event["kind"], "hub", "{event}");
    let again = cli_kit::run(
        &home,
        &[
            "hub",
            "add",
            "icu",
            "--title",
            "ICU",
            "--root-key",
            root_key.to_str().unwrap(),
            "--submit-to",
            &url,
        ],
        None,
    );
    assert!(
        cli_kit::text(&again.stderr).contains("already a hub"),
        "{}",
        cli_kit::text(&again.stderr)
    );
    assert!(node.try_wait().unwrap().is_none(), "the node stopped");
}
