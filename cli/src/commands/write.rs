//! Writing: `post`, `case`, `comment`, `poll`, `vote`.
//!
//! Each builds the body, checks it locally (shape rules, and the
//! de-identification guard on every clinical text field, before anything
//! is signed), signs it on this device with the physician's key, submits
//! it and reports the node's outcome.

use std::process::ExitCode;

use anyhow::Context as _;
use curbside_protocol::{
    Body, Comment, Event, HubId, Poll, Post, Retraction, SignedEvent, Specialty, Vote, limits,
};
use serde_json::{Value, json};

use super::Ctx;
use crate::args::{CaseArgs, CommentArgs, PollArgs, PostArgs, RetractArgs, VoteArgs};
use crate::casefile::{self, Age, CaseFields};
use crate::checks::{guard, guard_at, text_field};
use crate::client::EventOutcome;
use crate::duration::parse_duration;
use crate::error::{Refusal, Waiting};
use crate::output::{self, kv};
use crate::session;

/// A usage mistake found before signing (exit 2).
pub(super) fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::anyhow!(message.into())
}

fn hub(text: &str) -> anyhow::Result<HubId> {
    HubId::new(text.trim()).map_err(|e| {
        usage(format!("{e}; hubs are such as general, cardiology, infectious-diseases"))
    })
}

/// A field shown with an outcome: its JSON value and its text for people.
#[derive(Debug)]
pub(crate) struct Extra {
    pub(crate) key: &'static str,
    pub(crate) json: Value,
    pub(crate) human: String,
}

impl Extra {
    /// A field whose text is its value's.
    pub(crate) fn plain(key: &'static str, value: impl std::fmt::Display) -> Self {
        Self { key, json: json!(value.to_string()), human: value.to_string() }
    }
}

/// Prints an outcome of `POST /v1/events`; a refusal is an error (exit 1).
pub(crate) fn report(
    ctx: &Ctx,
    event: &SignedEvent,
    outcome: &EventOutcome,
    mut extra: Vec<Extra>,
) -> anyhow::Result<ExitCode> {
    let id = outcome.id().unwrap_or(event.id());
    let kind = event.kind();
    let mut fields = serde_json::Map::new();
    fields.insert("id".into(), json!(id));
    fields.insert("kind".into(), json!(kind.as_str()));
    fields.insert("status".into(), json!(outcome.status()));
    if let EventOutcome::Pending { waiting_for, .. } = outcome {
        fields.insert("waiting_for".into(), json!(waiting_for));
    }
    if let EventOutcome::Rejected { code, message, .. } = outcome {
        if ctx.out.json {
            fields.insert("code".into(), json!(code));
            fields.insert("message".into(), json!(message));
            ctx.out.json_line(&fields)?;
        }
        return Err(Refusal::Coded { code: code.to_string(), message: message.clone() }.into());
    }
    let mut rows: Vec<(String, String)> =
        vec![("id".into(), id.to_string()), ("kind".into(), kind.as_str().to_owned())];
    let status = match outcome {
        EventOutcome::Duplicate { .. } => "already stored (duplicate)".to_owned(),
        EventOutcome::Pending { waiting_for, .. } => {
            format!("pending: the node holds it until it has {waiting_for}")
        }
        other => other.status().to_owned(),
    };
    rows.push(("status".into(), status));
    for Extra { key, json, human } in extra.drain(..) {
        rows.push((key.replace('_', " "), human));
        fields.insert(key.into(), json);
    }
    if let EventOutcome::Pending { waiting_for: waiting, message, .. } = outcome {
        // Not stored yet, and it may never be: say so plainly, and exit
        // with the code that says it (3).
        let message = if message.is_empty() {
            format!("the node holds it until {waiting} arrives; it is not stored yet")
        } else {
            message.clone()
        };
        if ctx.out.json {
            fields.insert("code".into(), json!("pending"));
            fields.insert("message".into(), json!(message));
            ctx.out.json_line(&fields)?;
        }
        return Err(Waiting {
            message: format!(
                "not stored yet: the node holds {} until {waiting} arrives, and drops it if \
                 that does not come in time; `curbside pending` shows what waits and what \
                 expired",
                id.short()
            ),
        }
        .into());
    }
    ctx.out.emit(&fields, || {
        kv(&rows.iter().map(|(k, v)| (k.as_str(), v.clone())).collect::<Vec<_>>())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Signs `body` with the physician's key and submits it.
pub(super) fn publish(
    ctx: &Ctx,
    node: Option<&str>,
    body: Body,
    extra: Vec<Extra>,
    explain: impl FnOnce(&str, String) -> String,
) -> anyhow::Result<ExitCode> {
    let store = session::physician_key(&ctx.home)?.ok_or_else(|| {
        usage(format!(
            "there is no identity in {}: create one with `curbside id new --handle H` and have it attested",
            ctx.home.dir().display()
        ))
    })?;
    let client = ctx.client(node)?;
    // Ask the node first: no passphrase for nothing if it does not answer.
    let status = client.status()?;
    let key = session::signer(&store, &ctx.home)?;
    let event = Event::new(status.network, key.public(), curbside_node::now(), body);
    let signature = key.sign(event.id().as_bytes())?;
    let event = event
        .with_signature(signature)
        .context("the key file's key does not match its public key")?;
    // With a session, the node checks the event on this physician's own
    // budget, not on the one every caller without credentials shares.
    let mut token = session::session_for_writing(&client, &ctx.home, &key, false)?;
    let events = std::slice::from_ref(&event);
    let outcomes = match client.submit_as(events, token.as_deref()) {
        // The node forgot the session (it restarted): a new one, once.
        Err(e) if token.is_some() && e.code() == Some("unauthenticated") => {
            token = session::session_for_writing(&client, &ctx.home, &key, true)?;
            client.submit_as(events, token.as_deref())?
        }
        // The key lost its attestation since the session opened: the node
        // closed the session; let it judge the event itself, which says why.
        Err(e) if token.is_some() && e.code() == Some("not_attested") => {
            session::forget_session(&ctx.home, client.url());
            client.submit_as(events, None)?
        }
        other => other?,
    };
    let mut outcome = outcomes.into_iter().next().context("the node gave no outcome")?;
    let code = outcome.code();
    if let (
        Some(code),
        EventOutcome::Pending { message, .. } | EventOutcome::Rejected { message, .. },
    ) = (code, &mut outcome)
    {
        *message = explain(code.as_str(), std::mem::take(message));
    }
    report(ctx, &event, &outcome, extra)
}

/// Keeps the node's message as it is.
pub(super) fn keep(_code: &str, message: String) -> String {
    message
}

/// `curbside post`.
pub(crate) fn post(ctx: &Ctx, args: &PostArgs) -> anyhow::Result<ExitCode> {
    let hub = hub(&args.hub)?;
    text_field("--title", &args.title, 1, limits::TITLE).map_err(usage)?;
    crate::oneline::title("--title", &args.title)?;
    text_field("--body", &args.body, 1, limits::TEXT).map_err(usage)?;
    let fields =
        [("post.title".into(), args.title.as_str()), ("post.body".into(), args.body.as_str())];
    guard_at(ctx, args.node.node.as_deref(), args.confirm.yes, &fields)?;
    let body = Body::Post(Post { hub, title: args.title.clone(), body: args.body.clone() });
    publish(ctx, args.node.node.as_deref(), body, vec![Extra::plain("hub", args.hub.trim())], keep)
}

/// `curbside case`.
pub(crate) fn case(ctx: &Ctx, args: &CaseArgs) -> anyhow::Result<ExitCode> {
    let from_file = match &args.file {
        Some(path) => {
            let text = if path.as_os_str() == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                    .context("reading the case from standard input")?;
                s
            } else {
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading the case file {}", path.display()))?
            };
            casefile::parse(&text)
                .map_err(|e| usage(format!("{} is not a case file: {e}", path.display())))?
        }
        None => CaseFields::default(),
    };
    let flags = CaseFields {
        hub: args.hub.clone(),
        title: args.title.clone(),
        age: args.age.clone().map(Age::Text),
        sex: args.sex.clone(),
        presentation: args.presentation.clone(),
        history: args.history.clone(),
        findings: args.findings.clone(),
        question: args.question.clone(),
        tags: args.tags.clone(),
    };
    let case = from_file.overridden_by(flags).build().map_err(usage)?;
    crate::oneline::title("the case's title", &case.title)?;
    // Tags are typed too: `mrn-12345678` is read as `mrn 12345678`.
    let tags: Vec<String> =
        case.tags.iter().map(|t| curbside_protocol::deid::v2::tag_text(t.as_str())).collect();
    let mut fields = vec![
        ("case.title".to_owned(), case.title.as_str()),
        ("case.presentation".to_owned(), case.presentation.as_str()),
        ("case.history".to_owned(), case.history.as_str()),
        ("case.findings".to_owned(), case.findings.as_str()),
        ("case.question".to_owned(), case.question.as_str()),
    ];
    fields.extend(tags.iter().map(|t| ("case.tags".to_owned(), t.as_str())));
    guard_at(ctx, args.node.node.as_deref(), args.confirm.yes, &fields)?;
    let hub = case.hub.to_string();
    let age = case.age.label();
    let extra = vec![Extra::plain("hub", hub), Extra::plain("age", age)];
    publish(ctx, args.node.node.as_deref(), Body::Case(case), extra, keep)
}

/// `curbside comment`.
pub(crate) fn comment(ctx: &Ctx, args: &CommentArgs) -> anyhow::Result<ExitCode> {
    let parent =
        crate::ids::resolve_at(ctx, args.node.node.as_deref(), &args.event_id, "EVENT_ID")?;
    text_field("--body", &args.body, 1, limits::TEXT).map_err(usage)?;
    let fields = [("comment.body".into(), args.body.as_str())];
    guard_at(ctx, args.node.node.as_deref(), args.confirm.yes, &fields)?;
    let body = Body::Comment(Comment { parent, body: args.body.clone() });
    publish(ctx, args.node.node.as_deref(), body, vec![Extra::plain("parent", parent)], keep)
}

/// The options of a poll, checked: 2 to 8, each 1 to 200 bytes, distinct.
pub(crate) fn poll_options(options: &[String]) -> Result<Vec<String>, String> {
    if !(limits::MIN_OPTIONS..=limits::MAX_OPTIONS).contains(&options.len()) {
        return Err(format!(
            "a poll has {} to {} options; {} given: repeat --option for each",
            limits::MIN_OPTIONS,
            limits::MAX_OPTIONS,
            options.len()
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(options.len());
    for (i, o) in options.iter().enumerate() {
        text_field(&format!("option {}", i + 1), o, 1, limits::OPTION)?;
        if out.contains(o) {
            return Err(format!("option {} ({o:?}) is given twice", i + 1));
        }
        out.push(o.clone());
    }
    Ok(out)
}

/// `curbside poll`.
pub(crate) fn poll(ctx: &Ctx, args: &PollArgs) -> anyhow::Result<ExitCode> {
    let hub = hub(&args.hub)?;
    text_field("--question", &args.question, 1, limits::QUESTION).map_err(usage)?;
    crate::oneline::title("--question", &args.question)?;
    let options = poll_options(&args.options).map_err(usage)?;
    let open_ms =
        parse_duration(&args.closes_in).map_err(|e| usage(format!("--closes-in: {e}")))?;
    let mut eligible: Vec<Specialty> = Vec::new();
    for s in &args.eligible {
        let s = crate::checks::specialty(s)?;
        if !eligible.contains(&s) {
            eligible.push(s);
        }
    }
    if eligible.len() > limits::SPECIALTIES {
        return Err(usage(format!("at most {} --eligible specialties", limits::SPECIALTIES)));
    }
    let mut fields = vec![("poll.question".to_owned(), args.question.as_str())];
    for (i, o) in options.iter().enumerate() {
        fields.push((format!("poll.option {}", i + 1), o.as_str()));
    }
    guard_at(ctx, args.node.node.as_deref(), args.confirm.yes, &fields)?;
    // The poll closes `open_ms` after it is signed; `publish` stamps the
    // same clock a moment later, so take the time here and close from it.
    let closes_at = curbside_node::now().plus_millis(open_ms);
    let body =
        Body::Poll(Poll { hub, question: args.question.clone(), options, closes_at, eligible });
    let extra = vec![Extra {
        key: "closes_at",
        json: json!(closes_at),
        human: format!("{} (in {})", output::datetime(closes_at), output::span(open_ms)),
    }];
    publish(ctx, args.node.node.as_deref(), body, extra, keep)
}

/// `curbside vote`.
pub(crate) fn vote(ctx: &Ctx, args: &VoteArgs) -> anyhow::Result<ExitCode> {
    let poll = crate::ids::resolve_at(ctx, args.node.node.as_deref(), &args.poll_id, "POLL_ID")?;
    if args.option == 0 || usize::from(args.option) > limits::MAX_OPTIONS {
        return Err(usage(format!(
            "--option {}: options are numbered 1 to {} (as `curbside show` and `curbside tally` list them)",
            args.option,
            limits::MAX_OPTIONS
        )));
    }
    let option = u8::try_from(args.option - 1).context("option number")?;
    let body = Body::Vote(Vote { poll, option });
    let number = args.option;
    let extra = vec![
        Extra::plain("poll", poll),
        Extra { key: "option", json: json!(number), human: number.to_string() },
    ];
    // The node counts options from 0; people here count from 1.
    publish(ctx, args.node.node.as_deref(), body, extra, |code, message| {
        if code == "no_such_option" {
            format!(
                "the poll has no option {number}: options are numbered from 1, as `curbside show {poll}` lists them"
            )
        } else {
            message
        }
    })
}

/// `curbside retract`: reads the event from the node (to name its kind,
/// time and parent, which the retraction repeats), checks it is this
/// physician's own, and signs its retraction.
pub(crate) fn retract(ctx: &Ctx, args: &RetractArgs) -> anyhow::Result<ExitCode> {
    let target =
        crate::ids::resolve_at(ctx, args.node.node.as_deref(), &args.event_id, "EVENT_ID")?;
    let reason = args.reason.clone().unwrap_or_default();
    if !reason.is_empty() {
        text_field("--reason", &reason, 1, limits::REASON).map_err(usage)?;
        guard(ctx.out, true, &[("retraction.reason".into(), reason.as_str())])?;
    }
    let client = ctx.client(args.node.node.as_deref())?;
    let mut reader = session::Reader::new(&client, &ctx.home)?;
    let answer: crate::client::EventAnswer = reader.get(&format!("/v1/events/{target}"))?;
    let mine = session::physician_key(&ctx.home)?.map(|store| store.public_key());
    if mine != Some(answer.author) {
        return Err(usage(format!(
            "{target} is not yours (its author is {}): only its author can retract it; a hub's \
             moderators can take it down (`curbside report {target} --reason phi`)",
            answer.author.short()
        )));
    }
    // An edited event is shown by its edit in force: retracting it
    // retracts the original (`Retraction::of`).
    let kind = match answer.event.body() {
        Body::Edit(e) if e.target == target => e.content.kind(),
        _ => answer.event.kind(),
    };
    if !kind.is_retractable() {
        return Err(usage(format!("{target} is a {}: it cannot be retracted", answer.kind)));
    }
    let body = Body::Retraction(Retraction::of(&answer.event, reason));
    let extra = vec![Extra::plain("target", target)];
    publish(ctx, args.node.node.as_deref(), body, extra, keep)
}

/// `curbside takedown ID --reason R`: a moderator's takedown, naming the
/// event as the node shows it (and the hub of its thread).
pub(crate) fn takedown(ctx: &Ctx, args: &crate::args::TakedownArgs) -> anyhow::Result<ExitCode> {
    let target =
        crate::ids::resolve_at(ctx, args.node.node.as_deref(), &args.event_id, "EVENT_ID")?;
    let reason: curbside_protocol::TakedownReason = args.reason.parse().map_err(usage)?;
    if !args.note.is_empty() {
        text_field("--note", &args.note, 1, limits::REASON).map_err(usage)?;
        guard(ctx.out, true, &[("takedown.note".into(), args.note.as_str())])?;
    }
    let client = ctx.client(args.node.node.as_deref())?;
    let mut reader = session::Reader::new(&client, &ctx.home)?;
    let answer: crate::client::EventAnswer = reader.get(&format!("/v1/events/{target}"))?;
    let event = &answer.event;
    // An edited post or case is shown by its edit in force, which repeats
    // the original's hub.
    let own_hub = match event.body() {
        Body::Edit(e) if e.target == target => e.content.hub(),
        body => body.hub(),
    };
    let hub = match (own_hub, &args.hub) {
        (Some(own), _) => own.clone(),
        (None, Some(h)) => HubId::new(h.trim())?,
        (None, None) => {
            return Err(usage(format!(
                "{target} is a {}: name the hub of its thread with --hub",
                answer.kind
            )));
        }
    };
    let r = Retraction::of(event, "");
    let body = Body::Takedown(curbside_protocol::Takedown {
        target,
        target_kind: r.target_kind,
        target_author: *event.author(),
        target_created_at: r.target_created_at,
        parent: r.parent,
        hub: hub.clone(),
        reason,
        note: args.note.clone(),
    });
    let extra = vec![Extra::plain("target", target), Extra::plain("hub", hub)];
    publish(ctx, args.node.node.as_deref(), body, extra, keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_options_are_checked() {
        let opts = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(poll_options(&opts(&["Yes", "No"])).is_ok());
        let err = poll_options(&opts(&["Yes"])).unwrap_err();
        assert!(err.contains("2 to 8 options; 1 given"), "{err}");
        assert!(poll_options(&opts(&["a", "b", "c", "d", "e", "f", "g", "h", "i"])).is_err());
        let err = poll_options(&opts(&["Yes", "Yes"])).unwrap_err();
        assert!(err.contains("twice"), "{err}");
        let err = poll_options(&opts(&["Yes", " "])).unwrap_err();
        assert!(err.contains("option 2 must not be empty"), "{err}");
    }
}
