//! The node under attack: a child process running the node library as
//! `curbside node run` does (`NodeConfig::load`, a bound listener,
//! `curbside_node::NodeBuilder::run`, logs at `info` to a file), with at most
//! [`OPEN_FILES`] descriptors.
//!
//! A child process, because the attacks need the two sides' descriptors
//! apart: the node gets the 1,024 of the attack (which it may not
//! raise: soft and hard limit both), while this process holds more than a
//! thousand sockets against it; and because `/proc/<pid>/stat` then gives
//! the node's CPU time alone. The child is this benchmark's own program
//! started again (`serve-node DATA`) rather than the `curbside` binary,
//! which `cargo bench -p curbside-tests` does not build: the node measured
//! is always the one just built, never a stale binary.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use curbside_node::config::{NodeConfig, Overrides};
use curbside_node::datadir::DataDir;
use curbside_tests::stranger::tcp_addr;
use curbside_tests::{Api, Network};
use serde_json::{Value, json};

/// The node's open-file limit, soft and hard: the attack ran
/// against a node with 1,024.
pub(crate) const OPEN_FILES: u64 = 1024;

/// The first argument that makes this program the node.
const SERVE: &str = "serve-node";

/// A node of `net` running as a child process, chartered to verify in GB,
/// listening for peers on 127.0.0.1. Stopped, and its data removed, on drop.
#[derive(Debug)]
pub(crate) struct ChildNode {
    pub(crate) api: Api,
    /// The API's socket address.
    pub(crate) addr: SocketAddr,
    child: Child,
    stdin: Option<ChildStdin>,
    _stdout: BufReader<ChildStdout>,
    dir: tempfile::TempDir,
}

impl ChildNode {
    pub(crate) fn start(net: &Network) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("node");
        let datadir = DataDir::init(&data, &net.genesis).unwrap();
        std::fs::write(data.join("node.toml"), "listen = [\"/ip4/127.0.0.1/tcp/0\"]\n").unwrap();
        let log = std::fs::File::create(dir.path().join("node.log")).unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg(SERVE)
            .arg(&data)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let Some(url) = serde_json::from_str::<Value>(&line)
            .ok()
            .and_then(|v| v["api"].as_str().map(String::from))
        else {
            panic!("the node did not start; its log:\n{}", log_tail(dir.path()));
        };
        let addr = url.trim_start_matches("http://").parse().unwrap();
        let api = Api::new(url, datadir.admin_token().to_string());
        api.wait_ready();
        let (status, body) = api.submit(&[net.charter(&datadir.key().public(), &["GB"])]);
        assert_eq!(status, 200, "the node's charter: {body}");
        let stdin = child.stdin.take();
        Self { api, addr, child, stdin, _stdout: stdout, dir }
    }

    /// CPU seconds the node has used (user and system, all its threads).
    pub(crate) fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&format!("/proc/{}/stat", self.child.id()))
    }

    /// Its peer-to-peer address (`/ip4/127.0.0.1/tcp/PORT/p2p/ID`) and
    /// that address's socket.
    pub(crate) fn p2p(&self) -> (String, SocketAddr) {
        let multiaddr = self.api.p2p_addr();
        let socket = tcp_addr(&multiaddr);
        (multiaddr, socket)
    }

    /// Bytes the node's data directory takes on disk (blocks allocated,
    /// which is what fills a disk, rather than files' lengths).
    pub(crate) fn disk_bytes(&self) -> u64 {
        disk_bytes(self.dir.path())
    }

    /// `GET /v1/status`.
    pub(crate) fn status(&self) -> Value {
        let (status, body) = self.api.get("/v1/status", None);
        assert_eq!(status, 200, "{body}");
        body
    }
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        // The node stops, gracefully, when its standard input closes.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "the node did not stop within 30 s; killed. Its log:\n{}",
            log_tail(self.dir.path())
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// User and system CPU seconds in a `/proc/<pid>/stat` file (0 if unreadable).
pub(crate) fn cpu_seconds(stat: &str) -> f64 {
    // /proc counts in USER_HZ, which Linux fixes at 100 for user space.
    const TICKS: f64 = 100.0;
    let Ok(text) = std::fs::read_to_string(stat) else { return 0.0 };
    // Fields after the command name, which is in parentheses and may hold spaces;
    // utime and stime are the 14th and 15th fields of the whole line.
    let after = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / TICKS
}

fn disk_bytes(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
    let own = meta.blocks() * 512;
    if !meta.is_dir() {
        return own;
    }
    let entries = std::fs::read_dir(path).into_iter().flatten().flatten();
    own + entries.map(|e| disk_bytes(&e.path())).sum::<u64>()
}

fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("node.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The data directory, if this process was started to be the node.
pub(crate) fn serve_requested() -> Option<PathBuf> {
    let mut args = std::env::args().skip(1);
    (args.next().as_deref() == Some(SERVE)).then(|| args.next().map(PathBuf::from)).flatten()
}

/// Runs the node in `data` until standard input closes.
pub(crate) fn serve(data: &Path) -> ExitCode {
    use nix::sys::resource::{Resource, setrlimit};
    if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, OPEN_FILES, OPEN_FILES) {
        eprintln!("cannot lower the open-file limit to {OPEN_FILES}: {e}");
        return ExitCode::FAILURE;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let overrides = Overrides { api: Some("127.0.0.1:0".into()), ..Overrides::default() };
    let config = NodeConfig::load(data, &overrides).unwrap();
    let dir = DataDir::open(data).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.api).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{}", json!({ "api": url })).unwrap();
        stdout.flush().unwrap();
        let shutdown = async {
            let _ = tokio::task::spawn_blocking(|| {
                std::io::copy(&mut std::io::stdin(), &mut std::io::sink())
            })
            .await;
        };
        match curbside_node::NodeBuilder::new(config, dir).run(listener, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("the node failed: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
