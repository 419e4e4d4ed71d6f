//! What the steps ask the nodes, as a physician or an operator would:
//! submitting, signing in, reading threads and tallies.

use anyhow::{Context as _, bail};
use curbside_protocol::tally::{self, Ballot, Breakdown};
use curbside_protocol::{Cell, EventId, Jurisdiction, Poll, SignedEvent, Specialty, Tally};
use serde::Deserialize;
use serde_json::{Value, json};

use super::nodes::DemoNode;
use super::{Demo, Physician};
use crate::client::{Challenge, ClientError, EventOutcome, Session};

/// Submits `event` at `node`, expecting it stored.
pub(crate) fn expect_stored(
    node: &DemoNode,
    event: &SignedEvent,
    what: &str,
) -> anyhow::Result<()> {
    let outcome = node.submit(event)?;
    if !matches!(outcome, EventOutcome::Stored { .. }) {
        bail!("{} did not store {what}: {}", node.site.short, describe(&outcome));
    }
    Ok(())
}

/// An outcome for people: `rejected: <message> (<code>)`.
pub(crate) fn describe(outcome: &EventOutcome) -> String {
    match (outcome.code(), outcome.message()) {
        (Some(code), Some(message)) => format!("{}: {message} ({code})", outcome.status()),
        _ => outcome.status().to_owned(),
    }
}

/// Opens a read session at `node` for `who`: the node's challenge, signed
/// with their key. The token.
pub(crate) fn session(
    demo: &Demo,
    node: &DemoNode,
    who: &Physician,
) -> Result<String, ClientError> {
    let client = node.client().map_err(|e| ClientError::Transport {
        url: node.site.short.into(),
        detail: e.to_string(),
    })?;
    let public = who.key.public();
    let challenge: Challenge =
        client.post("/v1/session/challenge", &json!({ "key": public }), None)?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(&challenge.challenge, &mut bytes).map_err(|_| ClientError::BadAnswer {
        url: client.url().to_owned(),
        path: "/v1/session/challenge".into(),
        detail: "the challenge is not 64 hex characters".into(),
    })?;
    let message = curbside_node::api::session_message(&demo.genesis.network_id(), &bytes);
    let signature = who.key.sign(&message);
    let session: Session = client.post(
        "/v1/session",
        &json!({ "key": public, "challenge": challenge.challenge, "signature": signature }),
        None,
    )?;
    Ok(session.token)
}

#[derive(Deserialize)]
struct ThreadEntry {
    id: EventId,
}

#[derive(Deserialize)]
struct Thread {
    thread: Vec<ThreadEntry>,
    next: Option<EventId>,
}

/// The ids of `root`'s thread at `node` (root first, then replies, depth
/// first, every page), read with `token`, else the node's admin token.
pub(crate) fn thread_at(
    node: &DemoNode,
    root: &EventId,
    token: Option<&str>,
) -> anyhow::Result<Vec<EventId>> {
    let mut ids = Vec::new();
    let mut path = format!("/v1/events/{root}/thread");
    loop {
        let page: Thread = match token {
            Some(t) => node.client()?.get(&path, Some(t))?,
            None => node.admin_get(&path)?,
        };
        let got = page.thread.len();
        ids.extend(page.thread.into_iter().map(|e| e.id));
        match page.next {
            Some(next) if got > 0 => path = format!("/v1/events/{root}/thread?after={next}"),
            _ => return Ok(ids),
        }
    }
}

#[derive(Deserialize)]
struct TallyAnswer {
    tally: Tally,
}

/// The poll's tally as `node` counts it.
pub(crate) fn tally_at(node: &DemoNode, poll: &EventId) -> anyhow::Result<Tally> {
    let answer: TallyAnswer = node.admin_get(&format!("/v1/polls/{poll}/tally"))?;
    Ok(answer.tally)
}

/// The ballot `vote` (by `who`, for `option`) is, for the reference tally.
pub(crate) fn ballot(who: &Physician, vote: &SignedEvent, option: u8) -> anyhow::Result<Ballot> {
    let jurisdiction = super::cast::SITES[who.who.hospital]
        .verifies
        .context("a physician's hospital verifies no jurisdiction")?;
    Ok(Ballot {
        voter: who.key.public(),
        vote: vote.id(),
        option,
        cast_at: vote.created_at(),
        specialties: vec![Specialty::new(who.who.specialty)?],
        jurisdiction: Jurisdiction::new(jurisdiction)?,
    })
}

/// The poll counted here, from the ballots the demo cast, by the pure
/// rules of `curbside_protocol::tally`: what every node must answer.
pub(crate) fn reference_tally(demo: &Demo, poll: &Poll) -> Tally {
    tally::tally(poll, demo.ballots.iter().cloned(), demo.genesis.params.min_cell_size)
}

/// `8–4`.
pub(crate) fn counts_text(counts: &[u64]) -> String {
    counts.iter().map(u64::to_string).collect::<Vec<_>>().join("–")
}

/// A breakdown in one line: `cardiology 5/<5, GB 5/<5`.
pub(crate) fn breakdown_line(breakdown: &Breakdown, k: u32) -> String {
    breakdown
        .rows
        .iter()
        .map(|row| {
            let cells: Vec<String> = row
                .cells
                .iter()
                .map(|c| match c {
                    Cell::Count(n) => n.to_string(),
                    Cell::Suppressed => format!("<{k}"),
                })
                .collect();
            format!("{} {}", row.group, cells.join("/"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Ok` when a breakdown shows only groups and cells of at least `k`.
pub(crate) fn only_large_cells(breakdown: &Breakdown, k: u32) -> Result<(), String> {
    let k64 = u64::from(k);
    for row in &breakdown.rows {
        if row.voters < k64 {
            return Err(format!("group {} of {} voters is shown", row.group, row.voters));
        }
        if let Some(Cell::Count(n)) =
            row.cells.iter().find(|c| matches!(c, Cell::Count(n) if *n < k64))
        {
            return Err(format!("a cell of {n} in {} is shown", row.group));
        }
    }
    Ok(())
}

/// Whether `value` is the API's view of `event`: the same wire bytes.
pub(crate) fn same_wire(value: &Value, event: &SignedEvent) -> bool {
    serde_json::to_value(event).is_ok_and(|wire| value["event"] == wire)
}
