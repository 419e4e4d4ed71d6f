//! Step 8: a node goes offline while the others go on, and catches up
//! when it returns; `curbside node status` shows how.

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use curbside_protocol::{Body, Comment, EventId, Vote};
use serde_json::{Value, json};

use super::Demo;
use super::cast::{self, RELAY, ST_JAMES, ST_MARYS};
use super::federation::{LIMIT, all_hold};
use super::nodes::DemoNode;
use super::reads::{ballot, counts_text, expect_stored, reference_tally, tally_at};
use super::report::{Log, seconds};
use crate::client::{Client, ClientError};

/// Step 8.
pub(crate) fn outage(demo: &mut Demo, log: &mut Log) -> anyhow::Result<()> {
    st_james_stops(demo, log)?;
    life_goes_on(demo, log)?;
    let restarted = st_james_restarts(demo, log)?;
    let caught_up = st_james_catches_up(demo, log, restarted)?;
    changed_vote_counted(demo, log)?;
    node_status(demo, log)?;
    log.say(&format!("St James's was back in step {} after it restarted.", seconds(caught_up)));
    Ok(())
}

/// St James's is stopped as an operator would stop it, and the other two
/// notice: the rest of the step depends on it truly being gone.
fn st_james_stops(demo: &mut Demo, log: &mut Log) -> anyhow::Result<()> {
    log.say(
        "St James's is shut down, as Ctrl-C stops `curbside node run`. St Mary's and the relay \
         carry on, and so do St James's physicians, through the relay.",
    );
    let old_url = demo.node(ST_JAMES)?.url();
    demo.nodes.get_mut(ST_JAMES).context("no St James's")?.stop()?;
    let gone = match Client::new(&old_url)?.status() {
        Err(ClientError::NoNode { .. }) => Ok(format!("nothing answers at {old_url}")),
        Err(e) => Err(format!("{old_url}: {e}")),
        Ok(_) => Err(format!("{old_url} still answers")),
    };
    log.check("St James's is stopped", gone)?;
    let st_james_key = demo.node(ST_JAMES)?.key.to_string();
    let nodes = &demo.nodes;
    log.wait("St Mary's and the relay see it gone", LIMIT, || {
        for site in [ST_MARYS, RELAY] {
            let n = &nodes[site];
            ensure!(
                !n.admitted()?.contains(&st_james_key),
                "{} still lists St James's",
                n.site.short
            );
        }
        Ok(())
    })
}

/// While St James's is down the others take new events (an update to the
/// case at St Mary's, a changed vote at the relay): what it must catch up
/// on when it returns.
fn life_goes_on(demo: &mut Demo, log: &mut Log) -> anyhow::Result<()> {
    let case = demo.case()?;
    let (poll_id, poll) = demo.poll()?.clone();
    let presenter = demo.physician(cast::PRESENTER)?;
    let update = demo.sign(
        &presenter.key,
        Body::Comment(Comment { parent: case, body: cast::COMMENT_OUTAGE.into() }),
    )?;
    expect_stored(demo.node(ST_MARYS)?, &update, "the update")?;
    let changer = demo.physician(cast::CHANGES_VOTE)?;
    let new_option = cast::CHANGES_VOTE_TO;
    let changed =
        demo.sign(&changer.key, Body::Vote(Vote { poll: poll_id, option: new_option }))?;
    expect_stored(demo.node(RELAY)?, &changed, "the changed vote")?;
    let changed_ballot = ballot(changer, &changed, new_option)?;
    log.say(&format!(
        "Meanwhile {} posts an update to the case through St Mary's, and {} (of St James's) \
         changes their vote to \"{}\" through the relay: a later vote replaces the earlier one.",
        presenter.who.handle,
        changer.who.handle,
        poll.options.get(usize::from(new_option)).map_or("?", String::as_str)
    ));
    demo.made.extend([update.id(), changed.id()]);
    demo.ballots.push(changed_ballot);
    let during = [update.id(), changed.id()];
    let nodes = &demo.nodes;
    log.wait("St Mary's and the relay both hold the update and the new vote", LIMIT, || {
        all_hold(nodes, &during)
    })
}

/// St James's starts again on its own data with no bootstrap address, and
/// it and its peers admit each other by their charters. Answers when it
/// was restarted, from which its catching up is timed.
fn st_james_restarts(demo: &mut Demo, log: &mut Log) -> anyhow::Result<Instant> {
    log.say(
        "St James's starts again on the same data, with no bootstrap address: it dials the \
         peers its store remembers, they admit it by its charter, and it reconciles what it \
         missed with them. Fingerprints of ranges of events are compared and only what differs \
         is fetched, so the traffic grows with what it missed, not with the history.",
    );
    let restarted = Instant::now();
    demo.nodes.get_mut(ST_JAMES).context("no St James's")?.start(&demo.interrupt)?;
    let others: Vec<String> =
        [ST_MARYS, RELAY].iter().map(|s| demo.nodes[*s].key.to_string()).collect();
    let nodes = &demo.nodes;
    let st_james_key = demo.nodes[ST_JAMES].key.to_string();
    log.wait("St James's is back, and it and both peers admit each other again", LIMIT, || {
        let admitted = nodes[ST_JAMES].admitted()?;
        ensure!(
            others.iter().all(|k| admitted.contains(k)),
            "St James's has admitted {} of 2 peers",
            admitted.len()
        );
        for site in [ST_MARYS, RELAY] {
            let n = &nodes[site];
            ensure!(
                n.admitted()?.contains(&st_james_key),
                "{} has not admitted it yet",
                n.site.short
            );
        }
        Ok(())
    })?;
    Ok(restarted)
}

/// Sync brings St James's back to the very events the others hold; how
/// long that took from `restarted` is recorded, and answered.
fn st_james_catches_up(demo: &Demo, log: &mut Log, restarted: Instant) -> anyhow::Result<Duration> {
    let made = demo.made.clone();
    let nodes = &demo.nodes;
    let count = log.wait(
        format!(
            "St James's caught up: all three hold the same events, all {} the demo made",
            made.len()
        ),
        LIMIT,
        || same_events(nodes, &made),
    )?;
    let caught_up = restarted.elapsed();
    log.fact("events_per_node", count);
    log.fact("catch_up_millis", u64::try_from(caught_up.as_millis()).unwrap_or(u64::MAX));
    Ok(caught_up)
}

/// The vote changed while St James's was away now counts there too: every
/// node's tally equals the one counted from the ballots.
fn changed_vote_counted(demo: &Demo, log: &mut Log) -> anyhow::Result<()> {
    let (poll_id, poll) = demo.poll()?;
    let reference = reference_tally(demo, poll);
    let tallies: anyhow::Result<()> = demo.nodes.iter().try_for_each(|n| {
        let t = tally_at(n, poll_id)?;
        ensure!(t == reference, "{} counts {:?}", n.site.short, t.counts);
        Ok(())
    });
    log.check(
        format!(
            "St James's counts the changed vote too: every tally reads {}",
            counts_text(&reference.counts)
        ),
        tallies.map(|()| String::new()).map_err(|e| format!("{e:#}")),
    )
}

/// `Ok(count)` when every node holds `count` events, the same sync sets,
/// and every one of `made` (a verifier's audit-log heads, when there are
/// any, are events too: the sets are compared, not a fixed number).
fn same_events(nodes: &[DemoNode], made: &[EventId]) -> anyhow::Result<u64> {
    let counts: Vec<u64> = nodes.iter().map(DemoNode::event_count).collect::<Result<_, _>>()?;
    let sets: Vec<Value> =
        nodes.iter().map(|n| Ok(n.network()?["sets"].clone())).collect::<anyhow::Result<_>>()?;
    let summary = || {
        nodes
            .iter()
            .zip(&counts)
            .map(|(n, c)| format!("{} {c}", n.site.short))
            .collect::<Vec<_>>()
            .join(", ")
    };
    ensure!(counts.windows(2).all(|w| w[0] == w[1]), "event counts differ: {}", summary());
    ensure!(sets.windows(2).all(|w| w[0] == w[1]), "sync sets differ: {sets:?}");
    all_hold(nodes, made)?;
    Ok(counts[0])
}

/// Runs `curbside node status --json` against St James's (this very
/// binary, as a user would) and shows its peers and their sync state.
fn node_status(demo: &Demo, log: &mut Log) -> anyhow::Result<()> {
    let node = demo.node(ST_JAMES)?;
    let url = node.url();
    // The sync that caught it up is recorded when it finishes, a moment
    // after its last events are stored.
    log.wait("St James's records the sync that caught it up", LIMIT, || {
        let net = node.network()?;
        let synced =
            net["peers"].as_array().into_iter().flatten().any(|p| !p["last_sync"].is_null());
        ensure!(synced, "no sync recorded yet");
        Ok(())
    })?;
    let exe = std::env::current_exe().context("finding this program")?;
    let output = std::process::Command::new(&exe)
        .args(["--json", "--node", &url, "node", "status"])
        .arg("--home")
        .arg(demo.dir().join("home"))
        .env_remove("CURBSIDE_NODE")
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("running {} node status", exe.display()))?;
    let parsed: anyhow::Result<Value> = if output.status.success() {
        serde_json::from_slice(&output.stdout).context("its output is not JSON")
    } else {
        Err(anyhow::anyhow!(
            "it exited {:?}: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    };
    let status = match parsed {
        Ok(v) => v,
        Err(e) => {
            return log
                .check("`curbside node status` answers for St James's", Err(format!("{e:#}")));
        }
    };
    let peers = status["network"]["peers"].as_array().cloned().unwrap_or_default();
    let name = |key: &Value| {
        demo.nodes
            .iter()
            .find(|n| json!(n.key) == *key)
            .map_or_else(|| "An unknown node".to_owned(), |n| n.site.heading())
    };
    let mut table = String::new();
    for p in &peers {
        let admitted = if p["admitted"] == json!(true) { "admitted" } else { "checking" };
        let sync = match (&p["syncing"], &p["last_sync"]) {
            (s, _) if !s.is_null() => format!(
                "syncing {}: {}/{}",
                s["scope"].as_str().unwrap_or("?"),
                s["fetched"],
                s["needed"]
            ),
            (_, l) if !l.is_null() => format!(
                "synced: {} fetched in {} ms, {} round(s), {} B reconciling",
                l["fetched"], l["millis"], l["rounds"], l["bytes_reconciling"]
            ),
            _ => "not synced yet".into(),
        };
        table.push_str(&format!("{:<10}  {admitted:<8}  {sync}\n", name(&p["node_key"])));
    }
    log.say(&format!("`curbside node status --node {url}` lists St James's peers:"));
    log.show(&table);
    let listed: Result<String, String> = {
        let admitted = peers.iter().filter(|p| p["admitted"] == json!(true)).count();
        let synced = peers.iter().filter(|p| !p["last_sync"].is_null()).count();
        if admitted == 2 && synced >= 1 {
            Ok(format!("{admitted} admitted, {synced} synced"))
        } else {
            Err(format!("{admitted} admitted and {synced} synced of {} listed", peers.len()))
        }
    };
    log.check("`curbside node status` lists both peers and their sync state", listed)
}
