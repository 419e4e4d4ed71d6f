//! The deployment artefacts in `deploy/`, checked by the tools that read
//! them where those tools are installed (and skipped, saying so, where not).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use curbside_tests::{Network, TestNode, curbside_bin};

fn deploy(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("deploy").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `systemd-analyze verify` of the unit, with `ExecStart` pointed at this
/// build's binary (verify checks that it exists): no error and no warning,
/// since a misspelt hardening key is only a warning and would leave the
/// service unprotected.
#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("skipped: systemd-analyze is not installed here");
        return;
    }
    let unit = deploy("curbside-node.service");
    assert!(unit.contains("ExecStart=/usr/local/bin/curbside node run --data /var/lib/curbside"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("curbside-node.service");
    let bin = curbside_bin().display().to_string();
    std::fs::write(&path, unit.replace("/usr/local/bin/curbside", &bin)).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ours: Vec<&str> = stderr.lines().filter(|l| l.contains("curbside-node.service")).collect();
    assert!(out.status.success() && ours.is_empty(), "systemd-analyze verify:\n{stderr}");
}

/// `deploy/prometheus/alerts.yml` as Prometheus reads a rules file: every
/// field known, every rule with an expression, a severity and a summary.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    groups: Vec<RuleGroup>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleGroup {
    name: String,
    rules: Vec<Rule>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    alert: String,
    expr: String,
    #[serde(rename = "for")]
    _for: Option<String>,
    labels: std::collections::BTreeMap<String, String>,
    annotations: std::collections::BTreeMap<String, String>,
}

/// The `curbside_*` metric names `text` refers to.
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("curbside_") {
        let before = rest[..at].chars().next_back();
        let tail = &rest[at..];
        let end =
            tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            names.insert(tail[..end].to_owned());
        }
        rest = &tail[end..];
    }
    names
}

/// The sample names a `/metrics` text exposes: each family's samples as
/// its `# TYPE` line makes them (a counter's `_total`, a histogram's
/// `_bucket`, `_sum` and `_count`), and every sample line's name.
fn exposed(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for line in text.lines() {
        if let Some(decl) = line.strip_prefix("# TYPE ") {
            let mut words = decl.split_whitespace();
            let (Some(name), Some(kind)) = (words.next(), words.next()) else { continue };
            let suffixes: &[&str] = match kind {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                "summary" => &["", "_sum", "_count"],
                _ => &[""],
            };
            names.extend(suffixes.iter().map(|s| format!("{name}{s}")));
        } else if !line.starts_with('#') && !line.is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_owned());
        }
    }
    names
}

/// What an operator watches is what a node serves: a two-node federation
/// is started, each scraped once its peer is admitted and a sync with it
/// has finished, and every metric that `deploy/prometheus/alerts.yml` and
/// `deploy/grafana/curbside.json` name is among those exposed (the peer
/// and sync gauges with the values the federation has). The alert file
/// parses as a rules file, and passes `promtool check rules` where promtool
/// is installed.
#[test]
fn every_metric_the_alerts_and_the_dashboard_use_is_served() {
    let alerts = deploy("prometheus/alerts.yml");
    let rules: RuleFile = serde_norway::from_str(&alerts).unwrap();
    let mut alert_names = std::collections::BTreeSet::new();
    for group in &rules.groups {
        assert!(!group.rules.is_empty(), "group {} has no rule", group.name);
        for rule in &group.rules {
            assert!(alert_names.insert(rule.alert.clone()), "{} named twice", rule.alert);
            assert!(!rule.expr.trim().is_empty(), "{}", rule.alert);
            let severity = rule.labels.get("severity").map(String::as_str);
            assert!(matches!(severity, Some("warning" | "critical")), "{}", rule.alert);
            assert!(rule.annotations.contains_key("summary"), "{}", rule.alert);
            assert!(rule.annotations.contains_key("description"), "{}", rule.alert);
        }
    }
    let dashboard: serde_json::Value =
        serde_json::from_str(&deploy("grafana/curbside.json")).unwrap();
    assert!(dashboard["panels"].as_array().is_some_and(|p| p.len() >= 10), "{dashboard}");

    let used_by_alerts = metric_names(&alerts);
    let used_by_dashboard = metric_names(&deploy("grafana/curbside.json"));
    for watched in ["curbside_peers_admitted", "curbside_sync_last_ok_timestamp_seconds"] {
        assert!(used_by_alerts.contains(watched) && used_by_dashboard.contains(watched));
    }
    for watched in ["curbside_store_failed", "curbside_data_free_bytes"] {
        assert!(used_by_alerts.contains(watched) && used_by_dashboard.contains(watched));
    }
    assert!(used_by_alerts.contains("curbside_events_rejected_total"));

    let network = Network::new();
    let first = TestNode::start_peer(&network, &[], &["GB"]);
    let second = TestNode::start_peer(&network, &[first.p2p_addr()], &["GB"]);
    let synced = |node: &TestNode| {
        node.metric("curbside_peers_admitted").is_some_and(|n| n >= 1.0)
            && node.metric("curbside_sync_last_ok_timestamp_seconds").is_some_and(|t| t > 0.0)
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    while !(synced(&first) && synced(&second)) {
        assert!(Instant::now() < deadline, "the two nodes did not admit and sync in 90 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    // A refusal, so that the refusals' family has a sample to show (a
    // family with none is not printed at all): an event of another network.
    for node in [&first, &second] {
        let (_, body) = node.submit(&[Network::new().charter(&node.key, &[])]);
        assert_eq!(body["outcomes"][0]["status"], "rejected", "{body}");
    }
    for node in [&first, &second] {
        let (status, text) = node.get("/metrics", None);
        assert_eq!(status, 200);
        let served = exposed(text.as_str().unwrap());
        for name in used_by_alerts.iter().chain(&used_by_dashboard) {
            assert!(served.contains(name), "{name} is used in deploy/ but not served:\n{served:?}");
        }
        assert_eq!(node.metric("curbside_peers_connected"), Some(1.0));
        assert_eq!(node.metric("curbside_store_failed"), Some(0.0));
        assert!(node.metric("curbside_syncs_total{outcome=\"ok\"}").is_some_and(|n| n >= 1.0));
        let free = node.metric("curbside_data_free_bytes").unwrap();
        assert!(free > 0.0 && node.metric("curbside_data_size_bytes").unwrap() >= free);
    }

    match Command::new("promtool").arg("--version").output() {
        Err(_) => eprintln!(
            "skipped `promtool check rules`: promtool is not installed here \
             (the rules were still parsed and their metrics checked)"
        ),
        Ok(_) => {
            let path =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus/alerts.yml");
            let out =
                Command::new("promtool").args(["check", "rules"]).arg(&path).output().unwrap();
            assert!(
                out.status.success(),
                "promtool check rules:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// A port the OS says is free now (for a child process to bind next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed (and reaped) when the test ends, pass or fail.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `deploy/compose-init.sh`, the compose federation's setup, run as the
/// `init` container runs it but on this machine (hosts and ports from the
/// environment, as the script allows): it makes the root and two chartered
/// nodes that each name the other as a bootstrap peer, and once both run
/// each has admitted the other. Run twice, it changes nothing. This runs
/// wherever the tests run, Docker or not.
#[test]
fn the_compose_setup_script_makes_two_chartered_nodes_that_federate() {
    let dir = tempfile::tempdir().unwrap();
    let (council, a, b) = (dir.path().join("council"), dir.path().join("a"), dir.path().join("b"));
    for d in [&council, &a, &b] {
        std::fs::create_dir(d).unwrap();
    }
    let bin_dir = curbside_bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let (api_a, api_b) =
        (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/compose-init.sh");
    let setup = || {
        Command::new("sh")
            .arg(&script)
            .env("PATH", &path)
            .env("CURBSIDE_HOME", dir.path().join("home"))
            .env("CURBSIDE_PASSPHRASE", crate::cli_kit::PASSPHRASE)
            .env("CURBSIDE_KDF_FAST", "1")
            .env_remove("CURBSIDE_NODE")
            .env("COUNCIL", &council)
            .env("NODE_A_DATA", &a)
            .env("NODE_B_DATA", &b)
            .env("NODE_A_HOST", "127.0.0.1")
            .env("NODE_B_HOST", "127.0.0.1")
            .env("NODE_A_P2P_PORT", free_port().to_string())
            .env("NODE_B_P2P_PORT", free_port().to_string())
            .env("NODE_A_API", &api_a)
            .env("NODE_B_API", &api_b)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let out = setup();
    let said = |out: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    };
    assert!(out.status.success(), "compose-init.sh failed:\n{}", said(&out));
    assert!(said(&out).contains("the federation is set up: start node-a and node-b"));
    let again = setup();
    assert!(again.status.success() && said(&again).contains("set up already"), "{}", said(&again));

    let home = dir.path().join("home");
    let toml = |d: &Path| std::fs::read_to_string(d.join("node.toml")).unwrap();
    assert!(toml(&a).contains(&format!("api = \"{api_a}\"")));
    assert!(!toml(&a).contains("bootstrap = []") && !toml(&b).contains("bootstrap = []"));
    let _nodes: Vec<Killed> = [&a, &b]
        .into_iter()
        .map(|data| {
            Killed(
                crate::cli_kit::curbside(&home)
                    .args(["node", "run", "--data", data.to_str().unwrap()])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap(),
            )
        })
        .collect();
    for data in [&a, &b] {
        let out = crate::cli_kit::run(
            &home,
            &["node", "status", "--data", data.to_str().unwrap(), "--wait-peers", "1"],
            None,
        );
        assert!(out.status.success(), "{} has no peer:\n{}", data.display(), said(&out));
    }
}

/// Runs `argv` for at most `secs` seconds, its output kept in a file (a
/// build prints more than a pipe holds): its success and what it printed,
/// or that it was killed at the deadline.
fn bounded(argv: &[&str], envs: &[(&str, &str)], secs: u64) -> (bool, String) {
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(argv[0])
        .args(&argv[1..])
        .envs(envs.iter().copied())
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap())
        .stdin(std::process::Stdio::null())
        .stdout(log.reopen().unwrap())
        .stderr(log.reopen().unwrap())
        .spawn();
    let Ok(child) = child.as_mut() else { return (false, format!("{} cannot run", argv[0])) };
    let deadline = Instant::now() + Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let said = std::fs::read_to_string(log.path()).unwrap_or_default();
    match status {
        Some(status) => (status.success(), said),
        None => (false, format!("{argv:?} killed after {secs} s:\n{said}")),
    }
}

/// A container engine that answers, and how to run compose with it; or
/// why there is none.
fn container_engine() -> Result<(&'static str, Vec<&'static str>), String> {
    let mut why = Vec::new();
    for engine in ["docker", "podman"] {
        let (ok, said) = bounded(&[engine, "info"], &[], 30);
        if !ok {
            let first = said.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
            why.push(format!("`{engine} info`: {first}"));
            continue;
        }
        if bounded(&[engine, "compose", "version"], &[], 30).0 {
            return Ok((engine, vec![engine, "compose"]));
        }
        let standalone = if engine == "docker" { "docker-compose" } else { "podman-compose" };
        if bounded(&[standalone, "version"], &[], 30).0 {
            return Ok((engine, vec![standalone]));
        }
        why.push(format!("{engine} runs but has no compose (`{engine} compose`, `{standalone}`)"));
    }
    Err(why.join("; "))
}

/// Takes the compose project down when the test ends (containers,
/// network, volumes and the image it built), and the base images the test
/// pulled.
struct ComposeProject {
    name: String,
    compose: Vec<&'static str>,
    engine: &'static str,
    envs: Vec<(&'static str, String)>,
    pulled: Vec<&'static str>,
}

impl ComposeProject {
    fn run(&self, args: &[&str], secs: u64) -> (bool, String) {
        let mut argv = self.compose.clone();
        argv.extend(["--project-name", self.name.as_str()]);
        argv.extend(args);
        let envs: Vec<(&str, &str)> = self.envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        bounded(&argv, &envs, secs)
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        let (ok, said) = self.run(
            &["-f", "deploy/compose.yml", "down", "--volumes", "--rmi", "all", "--remove-orphans"],
            300,
        );
        if !ok {
            eprintln!("could not take the compose project down:\n{said}");
        }
        for image in &self.pulled {
            let _ = bounded(&[self.engine, "rmi", image], &[], 120);
        }
    }
}

/// The container image builds (a release build in Rust's image, run in
/// Debian's slim one) and `deploy/compose.yml` starts a federation whose
/// two nodes become healthy and admit each other. It needs a running
/// Docker or Podman engine with compose and both base images (pulled if
/// absent); otherwise it is skipped, saying why on stderr. Where an engine
/// works it runs, and its release build takes 15-30 minutes on two cores:
/// `CURBSIDE_DOCKER_TESTS=0` skips it (saying so) when that is too long.
/// Everything it made is removed when it ends.
#[test]
fn the_container_image_builds_and_the_compose_federation_starts() {
    let (engine, compose) = match container_engine() {
        Ok(found) => found,
        Err(why) => {
            eprintln!("skipped: no container engine with compose works here ({why})");
            return;
        }
    };
    if std::env::var("CURBSIDE_DOCKER_TESTS").as_deref() == Ok("0") {
        eprintln!("skipped: {engine} works here, but CURBSIDE_DOCKER_TESTS=0 says not to build");
        return;
    }
    let mut pulled: Vec<&'static str> = Vec::new();
    for image in ["rust:1-slim-bookworm", "debian:bookworm-slim"] {
        if bounded(&[engine, "image", "inspect", image], &[], 60).0 {
            continue;
        }
        let (ok, said) = bounded(&[engine, "pull", image], &[], 600);
        if !ok {
            for image in pulled {
                let _ = bounded(&[engine, "rmi", image], &[], 120);
            }
            let last = said.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
            eprintln!("skipped: no base image reachable: `{engine} pull {image}` failed: {last}");
            return;
        }
        pulled.push(image);
    }
    let name = format!("curbside-test-{}", std::process::id());
    let project = ComposeProject {
        name: name.clone(),
        compose,
        engine,
        envs: vec![
            ("COMPOSE_PROJECT_NAME", name.clone()),
            ("CURBSIDE_IMAGE", format!("{name}:local")),
        ],
        pulled,
    };
    let file = ["-f", "deploy/compose.yml"];
    let (ok, said) = project.run(&[&file[..], &["up", "--detach", "--build"]].concat(), 45 * 60);
    assert!(ok, "compose up:\n{said}");
    for node in ["node-a", "node-b"] {
        let status = [
            &file[..],
            &["exec", "-T", node, "curbside", "node", "status"],
            &["--data", "/var/lib/curbside", "--wait-peers", "1"],
        ]
        .concat();
        let (ok, said) = project.run(&status, 120);
        assert!(ok && said.contains("1 peer(s)"), "{node} has no peer:\n{said}");
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    for node in ["node-a", "node-b"] {
        loop {
            // By the labels both Docker Compose and podman-compose set
            // (podman-compose's `ps` takes no service).
            let (project_label, service_label) = (
                format!("label=com.docker.compose.project={name}"),
                format!("label=com.docker.compose.service={node}"),
            );
            let (_, id) = bounded(
                &[engine, "ps", "--quiet", "--filter", &project_label, "--filter", &service_label],
                &[],
                60,
            );
            if engine == "podman" {
                // Podman runs health checks from systemd timers, which a
                // machine without systemd lacks: run the check itself (its
                // outcome is the status read below).
                let _ = bounded(&["podman", "healthcheck", "run", id.trim()], &[], 60);
            }
            let format = "{{.State.Health.Status}}";
            let (_, health) = bounded(&[engine, "inspect", "--format", format, id.trim()], &[], 60);
            if health.trim() == "healthy" {
                break;
            }
            assert!(Instant::now() < deadline, "{node} is not healthy after 120 s: {health}");
            std::thread::sleep(Duration::from_secs(2));
        }
    }
}

/// `deploy/nginx.conf` in front of a real node: nginx accepts it
/// (`nginx -t`), terminates TLS with a certificate made for the test,
/// forwards reads to the node, refuses the admin routes from outside
/// even with the admin token, and stops a body over 1 MiB itself. The
/// example is changed only where a test must: its certificate paths, its
/// ports, and `http2 on` on an nginx older than 1.25.1 (as its comment
/// says). Skipped, saying so, where nginx, openssl or curl is missing.
#[test]
fn the_reverse_proxy_example_terminates_tls_in_front_of_the_api() {
    for tool in [&["nginx", "-v"][..], &["openssl", "version"], &["curl", "--version"]] {
        if Command::new(tool[0]).args(&tool[1..]).output().is_err() {
            eprintln!("skipped: {} is not installed here", tool[0]);
            return;
        }
    }
    let node = TestNode::start(&Network::new());
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let cert = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost"])
        .args(["-keyout", &at("key.pem"), "-out", &at("cert.pem")])
        .output()
        .unwrap();
    assert!(cert.status.success(), "openssl: {}", String::from_utf8_lossy(&cert.stderr));

    let version = Command::new("nginx").arg("-v").output().unwrap();
    let version = String::from_utf8_lossy(&version.stderr).into_owned();
    let numbers: Vec<u32> = version
        .rsplit('/')
        .next()
        .unwrap_or("")
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let has_http2_on = numbers[..] >= [1, 25, 1][..];
    let port = free_port();
    let node_port = node.url.rsplit(':').next().unwrap().to_owned();
    let mut conf = deploy("nginx.conf");
    let listen = if has_http2_on {
        format!("listen 127.0.0.1:{port} ssl;")
    } else {
        format!("listen 127.0.0.1:{port} ssl http2;")
    };
    let mut replace = |from: &str, to: &str| {
        assert!(conf.contains(from), "deploy/nginx.conf no longer has `{from}`");
        conf = conf.replace(from, to);
    };
    replace("listen 443 ssl;", &listen);
    replace("listen [::]:443 ssl;", "");
    if !has_http2_on {
        replace("http2 on;", "");
    }
    replace("server 127.0.0.1:7420;", &format!("server 127.0.0.1:{node_port};"));
    replace("/etc/letsencrypt/live/curbside.stmarys.example/fullchain.pem", &at("cert.pem"));
    replace("/etc/letsencrypt/live/curbside.stmarys.example/privkey.pem", &at("key.pem"));
    std::fs::write(at("curbside.conf"), conf).unwrap();
    std::fs::create_dir(at("temp")).unwrap();
    let temp = at("temp");
    let main = format!(
        "pid {pid};\nerror_log {log} warn;\nevents {{}}\nhttp {{\n  access_log off;\n  \
         client_body_temp_path {temp}/body;\n  proxy_temp_path {temp}/proxy;\n  \
         fastcgi_temp_path {temp}/fastcgi;\n  uwsgi_temp_path {temp}/uwsgi;\n  \
         scgi_temp_path {temp}/scgi;\n  include {site};\n}}\n",
        pid = at("nginx.pid"),
        log = at("error.log"),
        site = at("curbside.conf"),
    );
    std::fs::write(at("nginx.conf"), main).unwrap();
    // One process as this user: no workers switching to another user that
    // could not read the test's files.
    let globals = "daemon off; master_process off;";
    let nginx = |extra: &[&str]| {
        let mut cmd = Command::new("nginx");
        cmd.args(["-p", &at(""), "-c", &at("nginx.conf"), "-e", &at("error.log"), "-g", globals]);
        cmd.args(extra);
        cmd
    };
    let checked = nginx(&["-t"]).output().unwrap();
    assert!(checked.status.success(), "nginx -t: {}", String::from_utf8_lossy(&checked.stderr));
    let _proxy = Killed(
        nginx(&[])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );

    let base = format!("https://localhost:{port}");
    let curl = |args: &[&str]| -> (String, String) {
        let out = Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "10", "--cacert", &at("cert.pem")])
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .args(["--write-out", "\n%{http_code}"])
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
        (code.to_owned(), format!("{body}{}", String::from_utf8_lossy(&out.stderr)))
    };
    // nginx was spawned just now: wait until it answers.
    let deadline = Instant::now() + Duration::from_secs(20);
    let network = loop {
        let (code, body) = curl(&[&format!("{base}/v1/network")]);
        if code == "200" {
            break body;
        }
        assert!(Instant::now() < deadline, "no answer through nginx: {code} {body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let through: serde_json::Value = serde_json::from_str(&network).unwrap();
    assert_eq!(through["network"], node.network()["network"], "{network}");

    let bearer = format!("Authorization: Bearer {}", node.admin_token);
    let (code, body) = curl(&["--header", &bearer, &format!("{base}/v1/admin/operators")]);
    assert_eq!(code, "403", "the admin routes answered from outside: {body}");

    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; 1024 * 1024 + 1]).unwrap();
    let (code, body) = curl(&[
        "--header",
        "Content-Type: application/json",
        "--data-binary",
        &format!("@{}", big.display()),
        &format!("{base}/v1/events"),
    ]);
    assert_eq!(code, "413", "a body over 1 MiB reached the node: {body}");

    let (code, body) = curl(&["--http1.1", &format!("http://localhost:{port}/v1/network")]);
    assert_ne!(code, "200", "plain HTTP was served on the TLS port: {body}");
}
