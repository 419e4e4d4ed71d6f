//! Reading (with a session): `feed`, `show`, `tally`, `pending`.

use curbside_node::api::types::PendingAnswer;
use std::process::ExitCode;

use curbside_protocol::{Body, EventId, HubId, Tally, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Ctx;
use crate::args::{Breakdown, FeedArgs, ShowArgs, TallyArgs};
use crate::authors;
use crate::client::EventAnswer;
use crate::ids;
use crate::output::{self, ago, datetime, span, truncate, wrap};
use crate::session::Reader;

/// Text width for feeds and threads: the terminal's.
fn width() -> usize {
    output::text_width()
}

/// An event for `--json`: the node's view without the wire bytes, and the
/// author's key fingerprint.
pub(crate) fn event_json(e: &EventAnswer) -> Value {
    let mut value = authors::json_fields(e);
    value["id"] = json!(e.id);
    value["created_at"] = json!(e.created_at);
    value["kind"] = json!(e.kind);
    value["body"] = e.body.clone();
    if let Some(edited) = &e.edited {
        value["edited"] = edited.clone();
    }
    if let Some(n) = e.replies {
        value["replies"] = json!(n);
    }
    if let Some(o) = &e.outcome {
        value["outcome"] = json!(o);
    }
    if let Some(a) = &e.accepted {
        value["accepted"] = json!(a);
    }
    if e.accepted_answer == Some(true) {
        value["accepted_answer"] = json!(true);
    }
    if let Some(n) = e.answer {
        value["answer"] = json!(u16::from(n) + 1);
    }
    value
}

/// What an event shows: its own body, or, for the edit in force (which
/// the node serves in its original's place, under the original's id), the
/// revised post, case or comment.
fn shown_body(e: &EventAnswer) -> (std::borrow::Cow<'_, Body>, bool) {
    match e.event.body() {
        Body::Edit(edit) if e.id == edit.target => {
            let body = edit.content.to_body();
            (std::borrow::Cow::Owned(body), true)
        }
        body => (std::borrow::Cow::Borrowed(body), false),
    }
}

/// One line saying what an event is.
pub(crate) fn headline(e: &EventAnswer) -> String {
    let (body, edited) = shown_body(e);
    let line = body_headline(&body);
    if edited { format!("{line} (edited)") } else { line }
}

fn body_headline(body: &Body) -> String {
    match body {
        Body::Post(p) => p.title.clone(),
        Body::Case(c) => format!("{} ({}, {})", c.title, c.age.label(), sex(c.sex)),
        Body::Poll(p) => p.question.clone(),
        Body::Comment(c) => c.body.lines().next().unwrap_or("").to_owned(),
        Body::Vote(v) => {
            format!("vote for option {} in {}", u16::from(v.option) + 1, v.poll.short())
        }
        Body::Charter(c) => format!("charter for {} ({})", c.institution, c.node.short()),
        Body::Attestation(a) => format!("attestation of {} ({})", a.handle, a.jurisdiction),
        Body::Revocation(r) => format!("revocation of {}: {}", r.target.short(), r.reason),
        Body::TreeHead(t) => format!("audit log head: {} entries", t.size),
        Body::Cosignature(c) => {
            format!("cosignature of {}'s log head at {} entries", c.verifier.short(), c.size)
        }
        Body::Hub(h) => format!("hub {}: {}", h.id, h.title),
        Body::Rules(r) => format!("rules {} in force from {}", r.version, r.effective_at),
        Body::Retraction(r) => format!("retraction of {} {}", r.target_kind, r.target.short()),
        Body::Appointment(a) => format!(
            "appointment of moderator {} for {}",
            a.moderator.short(),
            a.hub.as_ref().map_or("every hub".to_string(), |h| format!("hub {h}"))
        ),
        Body::Takedown(t) => {
            format!("takedown of {} {} ({})", t.target_kind, t.target.short(), t.reason)
        }
        Body::Outcome(o) => format!("outcome of case {}: {}", o.case.short(), o.diagnosis),
        Body::Accept(a) => {
            format!("accepted answer {} in the thread of {}", a.comment.short(), a.thread.short())
        }
        Body::PollAnswer(p) => {
            format!("answer to poll {}: option {}", p.poll.short(), u16::from(p.option) + 1)
        }
        Body::Edit(edit) => {
            let now = match &edit.content {
                curbside_protocol::Revision::Post(p) => p.title.clone(),
                curbside_protocol::Revision::Case(c) => c.title.clone(),
                curbside_protocol::Revision::Comment(c) => {
                    c.body.lines().next().unwrap_or("").to_owned()
                }
            };
            // An edit seen as itself (the edit in force is shown as its
            // original, by `shown_body`).
            format!("edit of {} {}: {now}", edit.content.kind(), edit.target.short())
        }
    }
}

fn sex(s: curbside_protocol::Sex) -> &'static str {
    match s {
        curbside_protocol::Sex::Female => "female",
        curbside_protocol::Sex::Male => "male",
        curbside_protocol::Sex::Intersex => "intersex",
        curbside_protocol::Sex::Unspecified => "sex unspecified",
    }
}

#[derive(Debug, Deserialize)]
struct Feed {
    events: Vec<EventAnswer>,
    next: Option<String>,
}

/// `curbside feed HUB`.
pub(crate) fn feed(ctx: &Ctx, args: &FeedArgs) -> anyhow::Result<ExitCode> {
    let hub = HubId::new(args.hub.trim())?;
    let client = ctx.client(args.node.node.as_deref())?;
    let mut reader = Reader::new(&client, &ctx.home)?;
    let mut path = format!("/v1/hubs/{hub}/feed?limit={}", args.limit);
    if let Some(before) = &args.before {
        if !before.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            anyhow::bail!("--before {before:?} is not a cursor: use the `next` a page printed");
        }
        path.push_str(&format!("&before={before}"));
    }
    let feed: Feed = reader.get(&path)?;
    let now = curbside_node::now();
    ctx.out.emit(
        &json!({
            "hub": hub,
            "events": feed.events.iter().map(event_json).collect::<Vec<_>>(),
            "next": feed.next,
            "warnings": authors::warnings_json(&feed.events),
        }),
        || {
            feed_text(
                &hub,
                &feed.events,
                feed.next.as_deref(),
                now,
                &ctx.suggest_flags(client.url()),
            )
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

fn feed_text(
    hub: &HubId,
    events: &[EventAnswer],
    next: Option<&str>,
    now: Timestamp,
    flags: &str,
) -> String {
    if events.is_empty() {
        return format!("nothing in {hub} yet: start with `curbside{flags} post --hub {hub} ...`");
    }
    let when: Vec<String> = events.iter().map(|e| ago(now, e.created_at)).collect();
    let when_w = when.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    let kind_w = events.iter().map(|e| e.kind.len()).max().unwrap_or(0);
    let indent = " ".repeat(when_w + 2);
    let mut out = String::new();
    for (e, when) in events.iter().zip(&when) {
        let head = format!("{when:<when_w$}  {:<kind_w$}  ", e.kind);
        let room = width().saturating_sub(head.chars().count()).max(20);
        out.push_str(&format!("{head}{}\n", truncate(&headline(e), room)));
        out.push_str(&format!("{indent}by {}\n", authors::label(e)));
        if let Some(o) = &e.outcome {
            let room = width().saturating_sub(indent.len() + 8).max(20);
            out.push_str(&format!("{indent}solved: {}\n", truncate(&o.diagnosis, room)));
        }
        match e.replies {
            Some(1) => out.push_str(&format!("{indent}{} · 1 reply\n", e.id)),
            Some(n @ 2..) => out.push_str(&format!("{indent}{} · {n} replies\n", e.id)),
            _ => out.push_str(&format!("{indent}{}\n", e.id)),
        }
    }
    out.push_str(&authors::warnings_text(events));
    if let Some(next) = next {
        out.push_str(&format!("\nmore: curbside{flags} feed {hub} --before {next}\n"));
    }
    out
}

#[derive(Debug, Deserialize)]
struct ThreadEntry {
    depth: usize,
    id: EventId,
    /// `None` where the event was taken back.
    event: Option<EventAnswer>,
    /// What is shown in its place, then.
    #[serde(default)]
    retracted: Option<curbside_node::api::types::RetractedView>,
    /// Set where this node's operator hid the event.
    #[serde(default)]
    hidden: Option<String>,
}

/// One page of a thread.
#[derive(Debug, Deserialize)]
struct ThreadPage {
    thread: Vec<ThreadEntry>,
    /// The cursor of the next page (the last entry's id), if any remain.
    #[serde(default)]
    next: Option<EventId>,
}

/// The whole thread of `id`, page after page (a node answers at most a
/// page at a time).
fn whole_thread(reader: &mut Reader<'_>, id: &EventId) -> anyhow::Result<Vec<ThreadEntry>> {
    let mut entries = Vec::new();
    let mut after: Option<EventId> = None;
    loop {
        let path = match &after {
            None => format!("/v1/events/{id}/thread"),
            Some(cursor) => format!("/v1/events/{id}/thread?after={cursor}"),
        };
        let page: ThreadPage = reader.get(&path)?;
        let last = page.thread.last().map(|e| e.id);
        entries.extend(page.thread);
        match page.next {
            None => return Ok(entries),
            // A node must move on from page to page; stop rather than loop.
            Some(next) if Some(next) != last || after == Some(next) => {
                anyhow::bail!("the node's thread pages do not advance (cursor {next})")
            }
            Some(next) => after = Some(next),
        }
    }
}

/// `curbside show EVENT_ID`.
pub(crate) fn show(ctx: &Ctx, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let client = ctx.client(args.node.node.as_deref())?;
    let mut reader = Reader::new(&client, &ctx.home)?;
    let id = ids::resolve(&mut reader, &args.event_id, "EVENT_ID")?;
    let thread = whole_thread(&mut reader, &id)?;
    // A thread shown from a retracted event has no content to go up from.
    let up = match thread.first().and_then(|first| first.event.as_ref()) {
        Some(event) => super::up::parents(&mut reader, event)?,
        None => super::up::Above::default(),
    };
    let now = curbside_node::now();
    ctx.out.emit(
        &json!({
            "up": up.chain.iter().map(event_json).collect::<Vec<_>>(),
            "thread": thread.iter().map(|t| json!({
                "depth": t.depth,
                "id": t.id,
                "event": t.event.as_ref().map(event_json),
                "retracted": t.retracted,
            })).collect::<Vec<_>>(),
            "warnings": authors::warnings_json(thread.iter().filter_map(|t| t.event.as_ref())),
        }),
        || super::up::text(&up, now, width()) + &thread_text(&thread, now),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Text of one event's content, wrapped to `w`.
fn content_lines(e: &EventAnswer, now: Timestamp, w: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let section = |label: &str, text: &str, lines: &mut Vec<String>| {
        if text.trim().is_empty() {
            return;
        }
        lines.push(format!("{label}:"));
        lines.extend(wrap(text, w.saturating_sub(2)).into_iter().map(|l| format!("  {l}")));
    };
    let (body, edited) = shown_body(e);
    match &*body {
        Body::Post(p) => {
            lines.extend(wrap(&p.title, w));
            lines.push(String::new());
            lines.extend(wrap(&p.body, w));
        }
        Body::Case(c) => {
            lines.extend(wrap(&c.title, w));
            lines.push(format!("age {}, {}", c.age.label(), sex(c.sex)));
            section("Presentation", &c.presentation, &mut lines);
            section("History", &c.history, &mut lines);
            section("Findings", &c.findings, &mut lines);
            section("Question", &c.question, &mut lines);
            if !c.tags.is_empty() {
                lines.push(c.tags.iter().map(|t| format!("#{t}")).collect::<Vec<_>>().join(" "));
            }
        }
        Body::Poll(p) => {
            lines.extend(wrap(&p.question, w));
            for (i, o) in p.options.iter().enumerate() {
                let mut wrapped = wrap(o, w.saturating_sub(5)).into_iter();
                lines.push(format!("  {}. {}", i + 1, wrapped.next().unwrap_or_default()));
                lines.extend(wrapped.map(|l| format!("     {l}")));
            }
            let closes = if p.closes_at > now {
                format!(
                    "closes in {} ({})",
                    span(p.closes_at.as_millis() - now.as_millis()),
                    datetime(p.closes_at)
                )
            } else {
                format!("closed {}", datetime(p.closes_at))
            };
            lines.push(closes);
            if !p.eligible.is_empty() {
                let list: Vec<&str> = p.eligible.iter().map(|s| s.as_str()).collect();
                lines.push(format!("for {}", list.join(", ")));
            }
        }
        Body::Comment(c) => lines.extend(wrap(&c.body, w)),
        other => lines.extend(wrap(&body_headline(other), w)),
    }
    if edited && let Some(first) = lines.first_mut() {
        first.push_str(" (edited)");
    }
    if let Some(o) = &e.outcome {
        lines.push(String::new());
        lines.push(format!("Solved {}: {}", ago(now, o.created_at), o.diagnosis));
        lines.extend(wrap(&o.text, w.saturating_sub(2)).into_iter().map(|l| format!("  {l}")));
    }
    if let Some(a) = &e.accepted {
        lines.push(format!("Accepted answer: {}", a.comment));
    }
    if let (Some(n), Body::Poll(p)) = (e.answer, e.event.body()) {
        let text = p.options.get(usize::from(n)).map_or("", String::as_str);
        lines.push(format!("Answer: {}. {text}", u16::from(n) + 1));
    }
    lines
}

fn thread_text(thread: &[ThreadEntry], now: Timestamp) -> String {
    let mut out = String::new();
    for (n, entry) in thread.iter().enumerate() {
        let indent = "    ".repeat(entry.depth.min(8));
        let w = width().saturating_sub(indent.len()).max(30);
        if n > 0 {
            out.push('\n');
        }
        let bar = if entry.depth > 0 { "↳ " } else { "" };
        let Some(e) = &entry.event else {
            let placeholder = match (&entry.retracted, &entry.hidden) {
                (Some(r), _) => r.placeholder.as_str(),
                (None, Some(h)) => h.as_str(),
                (None, None) => "[not shown]",
            };
            out.push_str(&format!("{indent}{bar}{placeholder}\n"));
            out.push_str(&format!("{indent}{}id {}\n", " ".repeat(bar.chars().count()), entry.id));
            continue;
        };
        let accepted = if e.accepted_answer == Some(true) { " · ✓ accepted answer" } else { "" };
        out.push_str(&format!(
            "{indent}{bar}{} · {} · {}{accepted}\n",
            authors::label(e),
            ago(now, e.created_at),
            e.kind
        ));
        let body_indent = format!("{indent}{}", " ".repeat(bar.chars().count()));
        for line in content_lines(e, now, w.saturating_sub(bar.chars().count())) {
            if line.is_empty() {
                out.push('\n');
            } else {
                out.push_str(&format!("{body_indent}{line}\n"));
            }
        }
        out.push_str(&format!("{body_indent}id {}\n", e.id));
    }
    out.push_str(&authors::warnings_text(thread.iter().filter_map(|t| t.event.as_ref())));
    out
}

#[derive(Debug, Deserialize)]
struct TallyAnswer {
    poll: EventAnswer,
    tally: Tally,
    /// Once the poll's author named the right option.
    #[serde(default)]
    calibration: Option<curbside_protocol::tally::Calibration>,
}

/// `curbside tally POLL_ID`.
pub(crate) fn tally(ctx: &Ctx, args: &TallyArgs) -> anyhow::Result<ExitCode> {
    let client = ctx.client(args.node.node.as_deref())?;
    let mut reader = Reader::new(&client, &ctx.home)?;
    let id = ids::resolve(&mut reader, &args.poll_id, "POLL_ID")?;
    let answer: TallyAnswer = reader.get(&format!("/v1/polls/{id}/tally"))?;
    let Body::Poll(poll) = answer.poll.event.body() else {
        anyhow::bail!("{id} is a {}, not a poll", answer.poll.kind);
    };
    let now = curbside_node::now();
    let tally = &answer.tally;
    ctx.out.emit(
        &json!({
            "poll": id,
            "question": poll.question,
            "options": poll.options,
            "closes_at": poll.closes_at,
            "closed": poll.closes_at <= now,
            "author": authors::json_fields(&answer.poll),
            "tally": tally,
            "calibration": answer.calibration,
            "warnings": authors::warnings_json([&answer.poll]),
        }),
        || {
            let mut text = String::new();
            for line in wrap(&poll.question, width()) {
                text.push_str(&line);
                text.push('\n');
            }
            let state = if poll.closes_at > now {
                format!("open, closes in {}", span(poll.closes_at.as_millis() - now.as_millis()))
            } else {
                format!("closed {}", datetime(poll.closes_at))
            };
            text.push_str(&format!(
                "{} · {} · {state}\n\n",
                authors::label(&answer.poll),
                ago(now, answer.poll.created_at)
            ));
            let by = args.by.map(|b| match b {
                Breakdown::Specialty => ("specialty", &tally.by_specialty),
                Breakdown::Jurisdiction => ("jurisdiction", &tally.by_jurisdiction),
            });
            text.push_str(&output::tally_text(&poll.options, tally, by));
            if let Some(c) = &answer.calibration {
                text.push_str(&calibration_text(&poll.options, c, args.by));
            }
            text.push_str(&authors::warnings_text([&answer.poll]));
            text
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// How the vote compared with the answer, overall and in the breakdown shown.
fn calibration_text(
    options: &[String],
    c: &curbside_protocol::tally::Calibration,
    by: Option<Breakdown>,
) -> String {
    let percent =
        |share: Option<f64>| share.map_or("-".to_owned(), |s| format!("{:.0}%", s * 100.0));
    let answer = options.get(usize::from(c.answer)).map_or("", String::as_str);
    let mut text = format!(
        "\nThe answer, by the poll's author: {}. {answer}\n{} of {} voters chose it ({}).\n",
        u16::from(c.answer) + 1,
        c.right,
        c.voters,
        percent(c.share)
    );
    let (heading, groups) = match by {
        Some(Breakdown::Specialty) => ("specialty", &c.by_specialty),
        Some(Breakdown::Jurisdiction) => ("jurisdiction", &c.by_jurisdiction),
        None => return text,
    };
    for g in groups {
        let right = match g.right {
            curbside_protocol::Cell::Count(n) => n.to_string(),
            curbside_protocol::Cell::Suppressed => "<k".to_owned(),
        };
        let group = output::group_name(heading, &g.group);
        text.push_str(&format!("  {group}: {right} of {} ({})\n", g.voters, percent(g.share)));
    }
    text
}

/// `curbside pending`.
pub(crate) fn pending(ctx: &Ctx, node: Option<&str>) -> anyhow::Result<ExitCode> {
    let client = ctx.client(node)?;
    let mut reader = Reader::new(&client, &ctx.home)?;
    let answer: PendingAnswer = reader.get("/v1/pending")?;
    let now = curbside_node::now();
    ctx.out.emit(&json!({ "waiting": answer.waiting, "expired": answer.expired }), || {
        let mut text = String::new();
        if answer.waiting.is_empty() {
            text.push_str("Nothing of yours waits at this node.\n");
        } else {
            text.push_str("Waiting (not stored yet):\n");
            for w in &answer.waiting {
                let left = w.expires_at.as_millis().saturating_sub(now.as_millis());
                text.push_str(&format!(
                    "  {}  {}  waits for {}; dropped in {} unless it arrives\n",
                    w.id.short(),
                    w.kind,
                    w.waiting_for,
                    span(left)
                ));
            }
        }
        if !answer.expired.is_empty() {
            text.push_str("\nDropped in the last week (what they waited for never came):\n");
            for e in &answer.expired {
                text.push_str(&format!(
                    "  {}  {}  waited for {}; dropped {}\n",
                    e.id.short(),
                    e.kind,
                    e.waiting_for,
                    ago(now, e.expired_at)
                ));
            }
            text.push_str("\nCheck the ids (`curbside show`), and post again if need be.\n");
        }
        text
    })?;
    Ok(ExitCode::SUCCESS)
}
