//! `curbside node sync`: asks a running node to sync with its peers now
//! and shows the round until it ends (`POST /v1/admin/sync`, then `GET
//! /v1/network` for progress). A second `node sync` while one runs joins
//! it: the node runs one round at a time.

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use super::Ctx;
use crate::args::{AdminTokenArgs, NodeUrl};
use crate::duration::parse_duration;

/// How often the round's progress is read.
const POLL: Duration = Duration::from_millis(250);

/// `curbside node sync [--timeout 10m]`: exit 0 when every peer's sync in
/// the round finished, 1 when one failed or the round outlasted the wait.
pub(crate) fn sync(
    ctx: &Ctx,
    admin: &AdminTokenArgs,
    node: &NodeUrl,
    timeout: &str,
) -> anyhow::Result<ExitCode> {
    let wait = parse_duration(timeout)
        .map(Duration::from_millis)
        .map_err(|e| anyhow::anyhow!("--timeout: {e}"))?;
    let (client, token) = super::admin::admin_client(ctx, admin, node)?;
    let asked: Value = client.post("/v1/admin/sync", &json!({}), Some(&token))?;
    let id = asked["round"]["id"].as_u64().context("the node's answer named no round")?;
    let joined = asked["joined"] == json!(true);
    let bar = (!ctx.out.json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        let style = indicatif::ProgressStyle::with_template(
            "syncing [{bar:30}] {pos}/{len} peers  {msg} ({elapsed})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar
    });
    let started = Instant::now();
    let finished = loop {
        let network: Value = client.get("/v1/network", None)?;
        let running = &network["sync_round"];
        if running["id"].as_u64() == Some(id) {
            if let Some(bar) = &bar {
                bar.set_length(running["peers"].as_array().map_or(0, Vec::len) as u64);
                bar.set_position(running["peers_finished"].as_u64().unwrap_or(0));
                bar.set_message(format!("{}{}", counts(running), earlier(&network)));
            }
        } else if network["last_sync_round"]["id"].as_u64() == Some(id) {
            break network["last_sync_round"].clone();
        } else {
            bail!("the node no longer knows round {id} (was it restarted?)");
        }
        if started.elapsed() >= wait {
            if let Some(bar) = &bar {
                bar.abandon();
            }
            bail!(
                "round {id} still runs after {timeout}: see `curbside node status`, or wait longer with --timeout"
            );
        }
        std::thread::sleep(POLL);
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let failed = finished["peers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["state"] == json!("failed"))
        .count();
    ctx.out.emit(&json!({ "round": finished, "joined": joined }), || text(&finished, joined))?;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// A round's counts, for the bar and the summary.
fn counts(round: &Value) -> String {
    format!(
        "{} needed, {} fetched, {} stored",
        round["needed"].as_u64().unwrap_or(0),
        round["fetched"].as_u64().unwrap_or(0),
        round["stored"].as_u64().unwrap_or(0)
    )
}

/// A sync with one of the round's peers that began before the round was
/// asked for, while the round waits for it to end (then syncs again).
fn earlier(network: &Value) -> String {
    let round = &network["sync_round"]["peers"];
    let queued = |id: &Value| {
        round
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["peer_id"] == *id && p["state"] == "queued")
    };
    network["peers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| !p["syncing"].is_null() && queued(&p["peer_id"]))
        .map_or_else(String::new, |p| {
            format!(
                "; first finishing a sync begun before: {}/{} fetched",
                p["syncing"]["fetched"].as_u64().unwrap_or(0),
                p["syncing"]["needed"].as_u64().unwrap_or(0)
            )
        })
}

/// The finished round: its totals, then one line a peer.
fn text(round: &Value, joined: bool) -> String {
    let peers = round["peers"].as_array().cloned().unwrap_or_default();
    let mut out = format!(
        "Sync round {}{} finished with {} peer(s): {}.\n",
        round["id"],
        if joined { " (already running; joined)" } else { "" },
        peers.len(),
        counts(round)
    );
    for p in &peers {
        let id = p["peer_id"].as_str().unwrap_or("-");
        match p["error"].as_str() {
            Some(error) => out.push_str(&format!("  {id}  failed: {error}\n")),
            None => out.push_str(&format!("  {id}  {}\n", counts(p))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_each_peer_and_why_one_failed() {
        let round = json!({
            "id": 3, "needed": 12, "fetched": 12, "stored": 10, "peers_finished": 2,
            "peers": [
                {"peer_id": "12D3a", "state": "done", "needed": 12, "fetched": 12, "stored": 10, "error": null},
                {"peer_id": "12D3b", "state": "failed", "needed": 0, "fetched": 0, "stored": 0, "error": "the peer is not connected"},
            ],
        });
        let shown = text(&round, false);
        assert!(
            shown.starts_with(
                "Sync round 3 finished with 2 peer(s): 12 needed, 12 fetched, 10 stored.\n"
            ),
            "{shown}"
        );
        assert!(shown.contains("  12D3b  failed: the peer is not connected\n"), "{shown}");
        assert!(text(&round, true).contains("(already running; joined)"));
    }

    #[test]
    fn a_sync_begun_before_the_round_is_shown_while_the_round_waits_for_it() {
        let network = json!({
            "peers": [{"peer_id": "12D3a", "syncing": {"scope": "content", "needed": 900, "fetched": 300}}],
            "sync_round": {"id": 1, "peers": [{"peer_id": "12D3a", "state": "queued"}]},
        });
        assert_eq!(earlier(&network), "; first finishing a sync begun before: 300/900 fetched");
        let started = json!({
            "peers": [{"peer_id": "12D3a", "syncing": {"scope": "content", "needed": 9, "fetched": 3}}],
            "sync_round": {"id": 1, "peers": [{"peer_id": "12D3a", "state": "syncing"}]},
        });
        assert_eq!(earlier(&started), "");
    }
}
