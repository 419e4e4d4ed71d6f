//! For institutions: `node init` and `node run` (which, with no data
//! directory, runs a one-node development network under `--home`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use curbside_node::config::{LogFormat, NodeConfig, Overrides};
use curbside_node::datadir::{DataDir, peer_id, read_genesis};
use serde_json::{Value, json};

use super::{Ctx, shell_word};
use crate::args::RunArgs;
use crate::output::kv;

/// `curbside node init --genesis F --data DIR [--api A] [--listen M]... [--bootstrap M]...`.
pub(crate) fn init(
    ctx: &Ctx,
    genesis: &Path,
    data: &Path,
    settings: &curbside_node::config::InitialSettings,
) -> anyhow::Result<ExitCode> {
    check_multiaddrs(&settings.listen, &settings.bootstrap)?;
    let genesis = read_genesis(genesis)?;
    let node_toml = settings.node_toml().context("the settings given")?;
    let dir = DataDir::init_with(data, &genesis, &node_toml)?;
    let key = dir.key().public();
    let peer = peer_id(&key);
    let config = NodeConfig::load(dir.root(), &Overrides::default())
        .context("the configuration just written")?;
    let api = format!("http://{}", config.api);
    let addresses = peer_addresses(&config, &peer, None);
    ctx.out.emit(
        &json!({
            "public_key": key,
            "peer_id": peer,
            "data": dir.root(),
            "network": genesis.network_id(),
            "network_name": genesis.name,
            "api": api,
            "peer_addresses": addresses,
            "admin_token_file": dir.root().join("admin.token"),
        }),
        || {
            let mut text = kv(&[
                ("public key", key.to_string()),
                ("peer id", peer.clone()),
                ("network", format!("{} ({})", genesis.name, genesis.network_id().short())),
                ("data", dir.root().display().to_string()),
                ("API", api.clone()),
                ("peer address", addresses.first().cloned().unwrap_or_else(|| "none (no listen address)".into())),
                ("admin token", dir.root().join("admin.token").display().to_string()),
            ]);
            text.push_str(&format!(
                "\nNext: send the public key to a root of {:?} to be chartered, then run\n  curbside node run --data {}\n\
                 Other nodes bootstrap from this one with `--bootstrap $(curbside node address --data {})`\n\
                 (on another machine, add --host with this machine's name or address).\n",
                genesis.name,
                shell_word(&dir.root().display().to_string()),
                shell_word(&dir.root().display().to_string())
            ));
            text
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside node address --data DIR [--host H]`: where other nodes reach
/// this one, one multiaddr a line ending in its peer id, ready for their
/// `--bootstrap`.
pub(crate) fn address(ctx: &Ctx, data: &Path, host: Option<&str>) -> anyhow::Result<ExitCode> {
    let dir = DataDir::open(data)?;
    let config =
        NodeConfig::load(data, &Overrides::default()).context("the node's configuration")?;
    let addresses = peer_addresses(&config, &peer_id(&dir.key().public()), host);
    if addresses.is_empty() {
        anyhow::bail!(
            "{} listens for no peers (listen = [] in its node.toml): set listen there, e.g. [\"/ip4/0.0.0.0/tcp/7421\"]",
            data.display()
        );
    }
    ctx.out.emit(&json!({ "peer_addresses": addresses }), || addresses.join("\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// The node's listen addresses as others dial them: an unspecified IP
/// (`0.0.0.0`, `::`) replaced by `host` (a name or an address; loopback
/// when none is given, which is right on one machine only), a port of 0
/// left out (it is chosen at start and not known here), and `/p2p/<peer>`
/// appended.
fn peer_addresses(config: &NodeConfig, peer: &str, host: Option<&str>) -> Vec<String> {
    let Some(net) = &config.net else { return Vec::new() };
    net.listen
        .iter()
        .filter_map(|addr| {
            let text = addr.to_string();
            let mut parts: Vec<String> = text.split('/').map(str::to_owned).collect();
            // ["", "ip4", "0.0.0.0", "tcp", "7421", ...]
            if parts.len() < 5 || parts[4] == "0" {
                return None;
            }
            let unspecified = parts[2] == "0.0.0.0" || parts[2] == "::";
            if unspecified {
                match host {
                    Some(h) => {
                        let ip = h.parse::<std::net::IpAddr>();
                        parts[1] = match ip {
                            Ok(std::net::IpAddr::V4(_)) => "ip4".into(),
                            Ok(std::net::IpAddr::V6(_)) => "ip6".into(),
                            Err(_) => "dns".into(),
                        };
                        parts[2] = h.to_owned();
                    }
                    None if parts[1] == "ip6" => parts[2] = "::1".into(),
                    None => parts[2] = "127.0.0.1".into(),
                }
            }
            Some(format!("{}/p2p/{peer}", parts.join("/")))
        })
        .collect()
}

/// Logs on stderr: text or JSON lines, filtered by `RUST_LOG` (default `info`).
fn init_tracing(format: LogFormat) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("setting up logging: {e}"))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// `curbside node run`.
pub(crate) fn run(ctx: &Ctx, args: &RunArgs) -> anyhow::Result<ExitCode> {
    check_multiaddrs(&args.listen, &args.bootstrap)?;
    let dev = args.data.is_none();
    let data = data_dir(ctx, args)?;
    let dir = DataDir::open(&data)?;
    let config = configure(&data, args)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(async {
        let listener = bind_api(config.api).await?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        announce(ctx, dev, &data, &dir, &url)?;
        curbside_node::NodeBuilder::new(config, dir).run(listener, shutdown_signal()).await?;
        Ok(ExitCode::SUCCESS)
    });
    // Dropping the runtime would wait for every blocking task, however long
    // a hung disk holds one: the node has stopped, so wait a moment at most.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    result
}

/// Refuses a `--listen` or `--bootstrap` that is plainly not a multiaddr
/// before anything is opened, with an example of one: a host:port here is
/// a common slip, and libp2p's own error would not say what was meant.
fn check_multiaddrs(listen: &[String], bootstrap: &[String]) -> anyhow::Result<()> {
    for (flag, addr) in
        listen.iter().map(|a| ("--listen", a)).chain(bootstrap.iter().map(|a| ("--bootstrap", a)))
    {
        if !addr.starts_with('/') || addr.len() < 3 {
            anyhow::bail!(
                "{flag} {addr:?} is not a multiaddr: write it like /ip4/0.0.0.0/tcp/4001 (or /dns4/node.example/tcp/4001/p2p/12D3KooW...)"
            );
        }
    }
    Ok(())
}

/// The data directory to run: `--data`, or else the development network's
/// one node under `--home`, made on first use so that `node run` alone
/// gives a working node.
fn data_dir(ctx: &Ctx, args: &RunArgs) -> anyhow::Result<PathBuf> {
    Ok(match &args.data {
        Some(d) => d.clone(),
        None => {
            ctx.home.create()?;
            curbside_node::dev::ensure(ctx.home.dir(), curbside_node::now()).with_context(|| {
                format!("making the development network under {}", ctx.home.dir().display())
            })?
        }
    })
}

/// The node's configuration (its file, overridden by the flags), with
/// logging set up as it asks, so that everything after is logged its way;
/// a risky API address is warned about before the node starts.
fn configure(data: &Path, args: &RunArgs) -> anyhow::Result<NodeConfig> {
    let overrides = Overrides {
        api: args.api.clone(),
        allow_public_api: args.allow_public_api,
        log_format: args.log_format.map(|f| f.as_str().to_owned()),
        listen: args.listen.clone(),
        bootstrap: args.bootstrap.clone(),
        mdns: args.mdns,
    };
    let config = NodeConfig::load(data, &overrides).context("the node's configuration")?;
    init_tracing(config.log_format)?;
    if let Some(warning) = config.api_warning() {
        eprintln!("warning: {warning}");
    }
    Ok(config)
}

/// Binds the HTTP API, saying what to do when the address is taken: the
/// usual cause is a node already running.
async fn bind_api(api: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(api).await.map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            "the address is in use: is another node running? choose another with --api ADDR"
        } else {
            "choose another address with --api ADDR"
        };
        anyhow::anyhow!("cannot listen on {}: {e}; {hint}", api)
    })
}

/// Tells the operator which node is running and where, once its API is
/// bound (so the URL is the real one); a development node also says how to
/// attest yourself and post.
fn announce(ctx: &Ctx, dev: bool, data: &Path, dir: &DataDir, url: &str) -> anyhow::Result<()> {
    let genesis = dir.genesis();
    let key = dir.key().public();
    let token_file = data.join("admin.token");
    ctx.out.emit(
        &json!({
            "dev": dev,
            "network": genesis.network_id(),
            "network_name": genesis.name,
            "node_key": key,
            "peer_id": peer_id(&key),
            "api": url,
            "data": data,
            "admin_token_file": token_file,
        }),
        || {
            let mut text = String::new();
            if dev {
                text.push_str(&format!(
                    "Development network {:?}: one node, chartered to verify jurisdiction {}.\n\n",
                    genesis.name,
                    curbside_node::dev::DEV_JURISDICTION
                ));
            }
            text.push_str(&kv(&[
                ("network", format!("{} ({})", genesis.name, genesis.network_id().short())),
                ("node key", key.to_string()),
                ("peer id", peer_id(&key)),
                ("API", url.to_owned()),
                ("data", data.display().to_string()),
                ("admin token", token_file.display().to_string()),
            ]));
            if dev {
                let flags = ctx.suggest_flags(url);
                let home = ctx.suggest_flags(crate::args::DEFAULT_NODE);
                text.push_str(&format!(
                    "\nAttest yourself with:\n  curbside{home} id new --handle dr-you\n  \
                     curbside{flags} id request | curbside{flags} attest - --jurisdiction {} --specialty general-practice --licence DEV-0001 --valid-days 365\n\
                     then: curbside{flags} post --hub general --title ... --body ...\n",
                    curbside_node::dev::DEV_JURISDICTION
                ));
            }
            text.push_str("\nPress Ctrl-C to stop.");
            text
        },
    )?;
    Ok(())
}

/// `curbside node check --data DIR`: opens the store (which must not be in
/// use) and runs its integrity check; exit 1 if it finds a problem.
pub(crate) fn check(ctx: &Ctx, data: &Path) -> anyhow::Result<ExitCode> {
    let dir = DataDir::open(data)?;
    let started = std::time::Instant::now();
    let store = curbside_node::store::Store::open(&dir.store_dir(), dir.genesis().clone())
        .with_context(|| format!("opening the store in {}", dir.store_dir().display()))?;
    let report = store.check().context("reading the store")?;
    let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    ctx.out
        .emit(&json!({ "sound": report.is_sound(), "millis": millis, "report": report }), || {
            check_text(&report, millis)
        })?;
    Ok(if report.is_sound() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn check_text(report: &curbside_node::store::CheckReport, millis: u64) -> String {
    let mut text = kv(&[
        ("events", report.events.to_string()),
        ("index entries", report.index_entries.to_string()),
        ("pending", report.pending.to_string()),
        ("audit logs", report.logs.len().to_string()),
        ("unpublished own", report.unpublished_own.to_string()),
        ("took", format!("{millis} ms")),
    ]);
    for log in &report.logs {
        let head = log.head_size.map_or("no head".into(), |s| format!("head of size {s}"));
        let mut notes = Vec::new();
        if log.own {
            notes.push("this node's own");
        }
        if log.forked {
            notes.push("forked");
        }
        let notes =
            if notes.is_empty() { String::new() } else { format!(" ({})", notes.join(", ")) };
        text.push_str(&format!(
            "  log of {}: {} leaves, {head}, {} heads checked{notes}\n",
            log.verifier, log.leaves, log.heads_checked
        ));
    }
    if report.is_sound() {
        text.push_str("\nThe store is sound.");
    } else {
        text.push_str(&format!("\n{} problem(s):\n", report.problem_count));
        for p in &report.problems {
            text.push_str(&format!("  {}: {}\n", p.code, p.detail));
        }
        if report.problem_count as usize > report.problems.len() {
            text.push_str(&format!(
                "  ... and {} more\n",
                report.problem_count as usize - report.problems.len()
            ));
        }
    }
    text
}

/// `curbside node status`: the node's counts, then its peers and sync state.
pub(crate) fn status(
    ctx: &Ctx,
    node: Option<&str>,
    data: Option<&Path>,
    wait_peers: Option<usize>,
) -> anyhow::Result<ExitCode> {
    let (url, _) = ctx.node_url_or_data(node, data)?;
    let client = crate::client::Client::new(&url)?;
    let ask = || -> anyhow::Result<(Value, Value)> {
        Ok((client.get("/v1/status", None)?, client.get("/v1/network", None)?))
    };
    let (status, network) = match wait_peers {
        None => ask()?,
        Some(want) => {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                let last = ask();
                if let Ok((_, network)) = &last
                    && admitted_peers(network) >= want
                {
                    break last?;
                }
                if std::time::Instant::now() >= deadline {
                    let (status, network) = last.with_context(|| {
                        format!("the node at {url} did not answer within 60 s: is it running?")
                    })?;
                    ctx.out.emit(&json!({ "node": status, "network": network }), || {
                        status_text(&status, &network)
                    })?;
                    anyhow::bail!(
                        "{} admitted peer(s) after 60 s, not {want}: check the bootstrap \
                         addresses and that each node is chartered (the logs say why a peer \
                         was refused)",
                        admitted_peers(&network)
                    );
                }
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
        }
    };
    ctx.out
        .emit(&json!({ "node": status, "network": network }), || status_text(&status, &network))?;
    Ok(ExitCode::SUCCESS)
}

/// How many of the node's peers are admitted (chartered, checked).
fn admitted_peers(network: &Value) -> usize {
    network["peers"]
        .as_array()
        .map_or(0, |peers| peers.iter().filter(|p| p["admitted"] == json!(true)).count())
}

/// `curbside node key --data DIR`: the node's public key, for its charter.
pub(crate) fn key(ctx: &Ctx, data: &Path) -> anyhow::Result<ExitCode> {
    let key = DataDir::open(data)?.key().public();
    ctx.out.emit(&json!({ "public_key": key }), || key.to_string())?;
    Ok(ExitCode::SUCCESS)
}

/// What `node status` prints: the node's own counts, then, when it is on
/// the peer-to-peer network, where it listens, its peers and whom it
/// blocks.
fn status_text(status: &Value, network: &Value) -> String {
    let enabled = network["enabled"] == json!(true);
    let mut text = node_rows(status, network, enabled);
    if !enabled {
        text.push_str("\nPeer-to-peer: off (no listen address and no bootstrap peer).\n");
        return text;
    }
    for addr in network["listening"].as_array().into_iter().flatten() {
        text.push_str(&format!("  listening on {}\n", field(addr)));
    }
    if let Some(sets) = network["sets"].as_array() {
        let sets: Vec<String> =
            sets.iter().map(|p| format!("{} {}", field(&p[0]), field(&p[1]))).collect();
        text.push_str(&format!("  sync sets: {}\n", sets.join(", ")));
    }
    text.push_str(&peers_table(network));
    text.push_str(&blocked_list(network));
    text.push_str(&sync_rounds(network));
    text
}

/// The sync round an operator asked for (`curbside node sync`): running,
/// and the last finished.
fn sync_rounds(network: &Value) -> String {
    let line = |r: &Value| {
        format!(
            "round {}: {}/{} peers, {} needed, {} fetched, {} stored",
            field(&r["id"]),
            field(&r["peers_finished"]),
            r["peers"].as_array().map_or(0, Vec::len),
            field(&r["needed"]),
            field(&r["fetched"]),
            field(&r["stored"])
        )
    };
    let mut text = String::new();
    if !network["sync_round"].is_null() {
        text.push_str(&format!("\nsync asked for: {} (running)\n", line(&network["sync_round"])));
    }
    let last = &network["last_sync_round"];
    if !last.is_null() {
        text.push_str(&format!(
            "\nlast sync asked for: {}, finished {}\n",
            line(last),
            field(&last["finished_at"])
        ));
    }
    text
}

/// A field as shown: strings bare, a missing one as `-`.
fn field(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// The node's own key-value block; its peer id only when it has one.
fn node_rows(status: &Value, network: &Value, enabled: bool) -> String {
    let mut rows = vec![
        ("network", format!("{} ({})", field(&status["network_name"]), field(&status["network"]))),
        ("node key", field(&status["node_key"])),
    ];
    if enabled {
        rows.push(("peer id", field(&network["peer_id"])));
    }
    let charter = &status["charter"];
    rows.push((
        "charter",
        if charter.is_null() {
            "none in force: peers refuse this node and it attests no one (ask the root)".into()
        } else {
            let verify: Vec<String> = charter["verify"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|j| field(j).to_string())
                .collect();
            let what = if verify.is_empty() {
                "relay".to_owned()
            } else {
                format!("verifies {}", verify.join(", "))
            };
            let until = charter["valid_until"]
                .as_u64()
                .map(|ms| crate::output::date(curbside_protocol::Timestamp::from_millis(ms)))
                .unwrap_or_default();
            format!("{} ({what}) until {until}", field(&charter["institution"]))
        },
    ));
    rows.extend([
        ("events", field(&status["events"])),
        ("pending", field(&status["pending"])),
        ("version", field(&status["version"])),
    ]);
    kv(&rows)
}

/// One line per peer: whether it is admitted and meshed, its score, and
/// how far syncing with it has got.
fn peers_table(network: &Value) -> String {
    let peers = network["peers"].as_array().cloned().unwrap_or_default();
    let mut text = format!("\n{} peer(s)\n", peers.len());
    if !peers.is_empty() {
        text.push_str(&format!(
            "  {:<54} {:<9} {:<5} {:>7}  {}\n",
            "PEER", "ADMITTED", "MESH", "SCORE", "SYNC"
        ));
    }
    for p in &peers {
        let score = p["score"].as_f64().map_or("-".into(), |v| format!("{v:.1}"));
        let yes = |flag: &str| p[flag] == json!(true);
        let admitted = if yes("admitted") { "yes" } else { "checking" };
        let meshed = if yes("meshed") { "yes" } else { "no" };
        text.push_str(&format!(
            "  {:<54} {:<9} {:<5} {:>7}  {}\n",
            field(&p["peer_id"]),
            admitted,
            meshed,
            score,
            sync_state(p)
        ));
    }
    text
}

/// A peer's sync: under way, done (and what it took), or not yet begun.
fn sync_state(peer: &Value) -> String {
    if !peer["syncing"].is_null() {
        format!(
            "syncing {}: {}/{}",
            field(&peer["syncing"]["scope"]),
            field(&peer["syncing"]["fetched"]),
            field(&peer["syncing"]["needed"])
        )
    } else if !peer["last_sync"].is_null() {
        format!(
            "in sync ({} fetched, {} ms, {} rounds)",
            field(&peer["last_sync"]["fetched"]),
            field(&peer["last_sync"]["millis"]),
            field(&peer["last_sync"]["rounds"])
        )
    } else {
        "not yet synced".into()
    }
}

/// The peers the node refuses for now, why, and for how long yet; nothing
/// when there are none.
fn blocked_list(network: &Value) -> String {
    let blocked = network["blocked"].as_array().cloned().unwrap_or_default();
    let mut text = String::new();
    if !blocked.is_empty() {
        text.push_str(&format!("\n{} blocked peer(s)\n", blocked.len()));
        for b in &blocked {
            text.push_str(&format!(
                "  {}  {} ({}s left): {}\n",
                field(&b["peer_id"]),
                field(&b["code"]),
                field(&b["remaining_secs"]),
                field(&b["reason"])
            ));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/v1/status` and `/v1/network` as a node answers them (docs/API.md).
    fn answers() -> (serde_json::Value, serde_json::Value) {
        let status = json!({
            "network": "ab".repeat(32), "network_name": "Curbside UK", "version": "0.1.0",
            "node_key": "cd".repeat(32), "events": 34, "pending": 0,
        });
        let network = json!({
            "enabled": true,
            "peer_id": "12D3KooWSelf",
            "listening": ["/ip4/127.0.0.1/tcp/7421/p2p/12D3KooWSelf"],
            "sets": [["trust", 16], ["content", 18]],
            "peers": [
                { "peer_id": "12D3KooWSynced", "node_key": "ef".repeat(32), "admitted": true,
                  "meshed": true, "addresses": [], "score": 1.25, "syncing": null,
                  "last_sync": { "rounds": 2, "bytes_reconciling": 401, "needed": 2,
                                 "peer_lacks": 0, "fetched": 2, "bytes_fetched": 900,
                                 "stored": 2, "invalid": 0, "millis": 109 } },
                { "peer_id": "12D3KooWSyncing", "node_key": null, "admitted": true,
                  "addresses": [], "score": 0.0,
                  "syncing": { "scope": "content", "needed": 1000, "fetched": 250 },
                  "last_sync": null },
                { "peer_id": "12D3KooWNew", "node_key": null, "admitted": false,
                  "meshed": false, "addresses": [], "score": -60.0, "syncing": null, "last_sync": null },
            ],
            "blocked": [
                { "peer_id": "12D3KooWStranger", "code": "not_chartered",
                  "reason": "no charter names its key", "remaining_secs": 25 },
            ],
        });
        (status, network)
    }

    #[test]
    fn status_lists_peers_and_their_sync_state() {
        let (status, network) = answers();
        let text = status_text(&status, &network);
        let line = |needle: &str| {
            text.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle}: {text}"))
        };
        assert!(line("peer id").ends_with("12D3KooWSelf"), "{text}");
        assert!(line("events").ends_with("34"), "{text}");
        assert!(text.contains("sync sets: trust 16, content 18"), "{text}");
        assert!(text.contains("3 peer(s)"), "{text}");
        let synced = line("12D3KooWSynced");
        assert!(synced.contains("yes       yes") && synced.contains("1.2"), "{synced}");
        assert!(synced.contains("in sync (2 fetched, 109 ms, 2 rounds)"), "{synced}");
        assert!(line("12D3KooWSyncing").contains("syncing content: 250/1000"), "{text}");
        let new = line("12D3KooWNew");
        assert!(new.contains("checking  no") && new.contains("not yet synced"), "{new}");
        assert!(line("12D3KooWStranger").contains("not_chartered (25s left)"), "{text}");
        // The key-value block lines up.
        let starts: Vec<usize> = ["network ", "node key ", "peer id ", "events ", "pending "]
            .iter()
            .map(|k| {
                let l = line(k.trim_end());
                l.len() - l[k.len()..].trim_start().len()
            })
            .collect();
        assert!(starts.windows(2).all(|w| w[0] == w[1]), "{text}");
    }

    #[test]
    fn a_node_alone_says_peer_to_peer_is_off() {
        let (status, _) = answers();
        let text = status_text(&status, &json!({ "enabled": false }));
        assert!(text.contains("Peer-to-peer: off"), "{text}");
        assert!(!text.contains("peer id"), "{text}");
    }
}
