//! Moderation from the command line: a physician's report, a moderator's
//! queue, the operator's local hide, the public record of moderation.
//! (A moderator's takedown is signed like any event: `write::takedown`.)

use std::process::ExitCode;

use serde_json::{Value, json};

use super::{Ctx, parse_event_id};
use curbside_protocol::{Appointment, Body, Event, HubId, PublicKey, Revocation};

use super::write::Extra;
use crate::args::{AppointArgs, AuditModerationArgs, HideArgs, ModQueueArgs, ReportArgs};
use crate::output::kv;
use crate::session::Reader;

/// `curbside report ID --reason R`: kept on the node it is filed at, for
/// the moderators of the event's hub.
pub(crate) fn report(ctx: &Ctx, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let event = crate::ids::resolve_at(ctx, args.node.node.as_deref(), &args.event_id, "EVENT_ID")?;
    let reason: curbside_protocol::TakedownReason =
        args.reason.parse().map_err(anyhow::Error::msg)?;
    let client = ctx.client(args.node.node.as_deref())?;
    let mut reader = Reader::new(&client, &ctx.home)?;
    let body = json!({ "event": event, "reason": reason.as_str(), "note": args.note });
    let answer: Value = reader.post("/v1/reports", &body)?;
    ctx.out.emit(&answer, || {
        kv(&[
            ("reported", event.to_string()),
            ("reason", reason.to_string()),
            ("hub", answer["hub"].as_str().unwrap_or("(unknown)").to_string()),
            ("seen by", "the moderators of that hub who use this node".to_string()),
        ])
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside mod queue`.
pub(crate) fn queue(ctx: &Ctx, args: &ModQueueArgs) -> anyhow::Result<ExitCode> {
    let client = ctx.client(args.node.node.as_deref())?;
    let mut reader = Reader::new(&client, &ctx.home)?;
    let reports = all_pages("/v1/mod/queue", "reports", |path| reader.get(path))?;
    let answer = json!({ "reports": reports });
    ctx.out.emit(&answer, || {
        let reports = answer["reports"].as_array().cloned().unwrap_or_default();
        if reports.is_empty() {
            return "no reports for your hubs\n".to_string();
        }
        let mut out = String::new();
        for r in reports {
            out.push_str(&format!(
                "{}  {}  in {}  {}\n    {}\n",
                r["event"].as_str().unwrap_or_default(),
                r["reason"].as_str().unwrap_or_default(),
                r["hub"].as_str().unwrap_or("?"),
                r["note"].as_str().unwrap_or_default(),
                format_args!(
                    "curbside takedown {} --reason {}",
                    r["event"].as_str().unwrap_or_default(),
                    r["reason"].as_str().unwrap_or_default()
                ),
            ));
        }
        out
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside hide ID [--note N] [--undo]`: this node only.
pub(crate) fn hide(ctx: &Ctx, args: &HideArgs) -> anyhow::Result<ExitCode> {
    let id = parse_event_id(&args.event_id, "EVENT_ID")?;
    let (client, token) = super::admin::admin_client(ctx, &args.admin, &args.node)?;
    let answer: Value = if args.undo {
        client.post("/v1/admin/unhide", &json!({ "id": id }), Some(&token))?
    } else {
        client.post("/v1/admin/hide", &json!({ "id": id, "note": args.note }), Some(&token))?
    };
    ctx.out.emit(&answer, || {
        let state = if args.undo { "shown again on this node" } else { "hidden on this node only" };
        kv(&[("event", id.to_string()), ("now", state.to_string())])
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside appoint`: the root signs an appointment (or the end of one)
/// and submits it to the node.
pub(crate) fn appoint(ctx: &Ctx, args: &AppointArgs) -> anyhow::Result<ExitCode> {
    let (genesis, store) =
        super::network::root_of_network(&args.root_key, args.genesis.as_deref())?;
    let now = curbside_node::now();
    let (body, extra) = match (&args.moderator, &args.end) {
        (_, Some(end)) => {
            let target = parse_event_id(end, "--end")?;
            let body = Body::Revocation(Revocation {
                target,
                reason: "appointment ended".into(),
                effective_at: now,
            });
            (body, vec![Extra::plain("ended", target)])
        }
        (Some(moderator), None) => {
            let moderator: PublicKey = moderator.trim().parse().map_err(|_| {
                anyhow::anyhow!("--moderator {moderator:?} is not a public key (64 hex characters)")
            })?;
            let hub = args.hub.as_deref().map(|h| HubId::new(h.trim())).transpose()?;
            let hub_text = hub.as_ref().map_or("every hub".to_string(), |h| h.to_string());
            let valid_until = now.plus_days(args.valid_days.max(1));
            let body = Body::Appointment(Appointment { moderator, hub, valid_until });
            (body, vec![Extra::plain("moderator", moderator), Extra::plain("hub", hub_text)])
        }
        (None, None) => anyhow::bail!("name --moderator KEY, or --end APPOINTMENT_ID"),
    };
    let client = ctx.client(args.node.node.as_deref())?;
    if client.status()?.network != genesis.network_id() {
        anyhow::bail!("the node at {} belongs to another network", client.url());
    }
    let prompt = format!("Passphrase for the root key {}: ", args.root_key.display());
    let key = crate::keystore::open_with_passphrase(&prompt, |pass| store.open(pass))?;
    let event = Event::new(genesis.network_id(), key.public(), now, body)
        .sign(&key)
        .ok_or_else(|| anyhow::anyhow!("the root key file's key does not match its public key"))?;
    let outcome = client
        .submit(std::slice::from_ref(&event))?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("the node gave no outcome"))?;
    super::write::report(ctx, &event, &outcome, extra)
}

/// `curbside audit moderation`: every appointment, its end and every
/// takedown the node holds.
pub(crate) fn record(ctx: &Ctx, args: &AuditModerationArgs) -> anyhow::Result<ExitCode> {
    let client = ctx.client(args.node.node.as_deref())?;
    let record =
        all_pages("/v1/audit/moderation", "moderation", |path| Ok(client.get(path, None)?))?;
    let answer = json!({ "moderation": record });
    ctx.out.emit(&answer, || {
        let mut out = String::new();
        for m in answer["moderation"].as_array().cloned().unwrap_or_default() {
            let e = &m["event"];
            let body = &e["body"];
            let line = match m["what"].as_str() {
                Some("takedown") => format!(
                    "takedown   by {} of {} {} ({}): {}",
                    e["author"].as_str().unwrap_or_default(),
                    body["target_kind"].as_str().unwrap_or_default(),
                    body["target"].as_str().unwrap_or_default(),
                    body["reason"].as_str().unwrap_or_default(),
                    body["note"].as_str().unwrap_or_default(),
                ),
                Some("appointment") => format!(
                    "appointed  {} for {} until {}",
                    body["moderator"].as_str().unwrap_or_default(),
                    body["hub"].as_str().unwrap_or("every hub"),
                    body["valid_until"]
                        .as_u64()
                        .map(|t| crate::output::datetime(
                            curbside_protocol::Timestamp::from_millis(t)
                        ))
                        .unwrap_or_default(),
                ),
                _ => format!("ended      {}", body["target"].as_str().unwrap_or_default()),
            };
            let at = e["created_at"].as_u64().map(curbside_protocol::Timestamp::from_millis);
            out.push_str(&format!(
                "{}  {line}\n",
                at.map(crate::output::datetime).unwrap_or_default()
            ));
        }
        if out.is_empty() { "no appointments or takedowns\n".to_string() } else { out }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Every item of a paged list (`{field: [...], "next": cursor}`), page by
/// page from `path`.
fn all_pages(
    path: &str,
    field: &str,
    mut get: impl FnMut(&str) -> anyhow::Result<Value>,
) -> anyhow::Result<Vec<Value>> {
    let mut items = Vec::new();
    let mut page_path = format!("{path}?limit=200");
    loop {
        let mut page = get(&page_path)?;
        if let Some(list) = page[field].as_array_mut() {
            items.append(list);
        }
        match page["next"].as_str() {
            Some(next) => page_path = format!("{path}?limit=200&after={next}"),
            None => return Ok(items),
        }
    }
}
