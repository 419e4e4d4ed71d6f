//! The last act: a case that names its patient slips past the guard (a
//! surname with no title before it is only a warning), the root appoints
//! a cardiology moderator, who takes the case down; it is then gone from
//! all three nodes, and the placeholder stands in its thread.

use curbside_protocol::rules::RulesChange;
use curbside_protocol::{AgeBand, Appointment, Body, Case, HubId, Sex, Takedown, TakedownReason};
use serde_json::Value;

use super::cast::{self, ST_JAMES, ST_MARYS};
use super::federation::LIMIT;
use super::reads::{describe, expect_stored};
use super::report::Log;
use super::{Demo, DemoNode};

/// The leaked case: the patient's surname and village, which no rule of
/// the guard can tell from a clinical word.
fn leaked_case() -> anyhow::Result<Body> {
    Ok(Body::Case(Case {
        hub: HubId::new("cardiology")?,
        title: "Palpitations in a farmer".into(),
        age: AgeBand::from_years(58),
        sex: Sex::Female,
        presentation: "Whitfield from Little Snoring has palpitations at rest.".into(),
        history: String::new(),
        findings: "ECG: atrial fibrillation, rate 128.".into(),
        question: "Rate or rhythm control?".into(),
        tags: Vec::new(),
    }))
}

/// Whether `node` no longer serves the case and shows the placeholder in its place.
fn gone_from(node: &DemoNode, id: &curbside_protocol::EventId) -> anyhow::Result<bool> {
    if node.has(id)? {
        return Ok(false);
    }
    let thread: Value = node.admin_get(&format!("/v1/events/{id}/thread"))?;
    Ok(thread["thread"][0]["retracted"]["placeholder"] == "[taken down by a moderator]")
}

/// The step.
pub(crate) fn takedown(demo: &mut Demo, log: &mut Log) -> anyhow::Result<()> {
    let author = demo.physician(cast::POLLSTER)?.key.clone();
    let moderator = demo.physician(cast::COMMENTER_ST_JAMES)?;
    let (moderator_key, moderator_handle) = (moderator.key.clone(), moderator.who.handle);
    log.say(
        "A case names its patient by surname and village: the guard refuses what it can \
         recognise for sure, and this it cannot. The root raises the network's rules to 2, \
         which let moderators take content down, and appoints a cardiology moderator.",
    );
    let leak = demo.sign(&author, leaked_case()?)?;
    let st_marys = demo.node(ST_MARYS)?;
    expect_stored(st_marys, &leak, "the leaked case")?;
    let now = curbside_node::now();
    let rules =
        demo.sign(&demo.root.clone(), Body::Rules(RulesChange { version: 2, effective_at: now }))?;
    let appointment = demo.sign(
        &demo.root.clone(),
        Body::Appointment(Appointment {
            moderator: moderator_key.public(),
            hub: Some(HubId::new("cardiology")?),
            valid_until: now.plus_days(30),
        }),
    )?;
    expect_stored(st_marys, &rules, "the rules change")?;
    expect_stored(st_marys, &appointment, "the appointment")?;
    let (leak_id, needed) = (leak.id(), [leak.id(), rules.id(), appointment.id()]);
    let nodes = &demo.nodes;
    log.wait("the case, the rules and the appointment reached every node", LIMIT, || {
        super::federation::all_hold(nodes, &needed)
    })?;
    let body = Body::Takedown(Takedown {
        target: leak_id,
        target_kind: leak.kind(),
        target_author: author.public(),
        target_created_at: leak.created_at(),
        parent: None,
        hub: HubId::new("cardiology")?,
        reason: TakedownReason::Phi,
        note: "names the patient and her village".into(),
    });
    let takedown = demo.sign(&moderator_key, body)?;
    let outcome = demo.node(ST_JAMES)?.submit(&takedown)?;
    let stored = if matches!(outcome, crate::client::EventOutcome::Stored { .. }) {
        Ok(format!("{moderator_handle}, at St James's"))
    } else {
        Err(describe(&outcome))
    };
    log.check("the moderator's takedown is accepted", stored)?;
    let nodes = &demo.nodes;
    let started = std::time::Instant::now();
    log.wait("the case is gone from all three nodes, a placeholder in its thread", LIMIT, || {
        for n in nodes.iter().filter(|n| n.is_running()) {
            anyhow::ensure!(gone_from(n, &leak_id)?, "{} still shows it", n.site.short);
        }
        Ok(())
    })?;
    log.fact("takedown_millis", u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
    let refused = match st_marys_resubmit(demo, &leak)? {
        Some(code) if code == "taken_down" => Ok(code),
        other => Err(format!("sent again, the case got {other:?}")),
    };
    log.check("sent again, the case is refused (taken_down)", refused)?;
    Ok(())
}

/// The code St Mary's answers the leaked case with, sent again.
fn st_marys_resubmit(
    demo: &Demo,
    leak: &curbside_protocol::SignedEvent,
) -> anyhow::Result<Option<String>> {
    let outcome = demo.node(ST_MARYS)?.submit(leak)?;
    Ok(outcome.code().map(|c| c.as_str().to_owned()))
}
