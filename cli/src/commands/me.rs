//! What a physician keeps on their own node for themselves: `mine`,
//! `inbox` (and `--watch`), `follow`, `unfollow`, `bookmark`,
//! `unbookmark`, `bookmarks` (`/v1/me/...`).

use std::process::ExitCode;

use curbside_protocol::{EventId, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Ctx;
use super::read::{event_json, headline};
use crate::args::{FollowArgs, InboxArgs, MarkArgs, PageArgs};
use crate::authors;
use crate::client::EventAnswer;
use crate::output::ago;
use crate::session::Reader;

#[derive(Deserialize)]
struct Events {
    events: Vec<EventAnswer>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    id: EventId,
    kind: String,
    at: Timestamp,
    read: bool,
    thread: Option<EventId>,
    event: EventAnswer,
}

#[derive(Deserialize)]
struct Inbox {
    items: Vec<Item>,
    unread: usize,
    next: Option<String>,
}

#[derive(Deserialize)]
struct Bookmark {
    id: EventId,
    added_at: Timestamp,
    event: Option<EventAnswer>,
}

#[derive(Deserialize)]
struct Bookmarks {
    bookmarks: Vec<Bookmark>,
    next: Option<String>,
}

fn cursor_arg(before: Option<&str>) -> anyhow::Result<String> {
    match before {
        Some(c) if c.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => {
            Ok(format!("&before={c}"))
        }
        Some(c) => anyhow::bail!("--before {c:?} is not a cursor: use the `next` a page printed"),
        None => Ok(String::new()),
    }
}

/// One line of an event: when, kind, headline, id; then its author.
fn event_lines(e: &EventAnswer, now: Timestamp, lead: &str) -> String {
    format!(
        "{lead}{}  {}  {}\n    by {}\n    {}\n",
        ago(now, e.created_at),
        e.kind,
        headline(e),
        authors::label(e),
        e.id
    )
}

/// `curbside mine`.
pub(crate) fn mine(ctx: &Ctx, args: &PageArgs) -> anyhow::Result<ExitCode> {
    let client = ctx.client(args.node.node.as_deref())?;
    let mut reader = Reader::new(&client, &ctx.home)?;
    let path = format!("/v1/me/events?limit={}{}", args.limit, cursor_arg(args.before.as_deref())?);
    let page: Events = reader.get(&path)?;
    let now = curbside_node::now();
    ctx.out.emit(
        &json!({
            "events": page.events.iter().map(event_json).collect::<Vec<_>>(),
            "next": page.next,
        }),
        || {
            if page.events.is_empty() {
                return "you have written nothing this node holds yet\n".to_owned();
            }
            let mut out: String = page.events.iter().map(|e| event_lines(e, now, "")).collect();
            if let Some(next) = &page.next {
                out.push_str(&format!("\nmore: curbside mine --before {next}\n"));
            }
            out
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

fn item_json(item: &Item) -> Value {
    json!({
        "id": item.id,
        "kind": item.kind,
        "at": item.at,
        "read": item.read,
        "thread": item.thread,
        "event": event_json(&item.event),
    })
}

fn item_text(item: &Item, now: Timestamp) -> String {
    let why = match item.kind.as_str() {
        "reply" => "replied to you",
        "thread_reply" => "replied in a thread you follow",
        "mention" => "mentioned you",
        "hub_post" => "wrote in a hub you follow",
        "poll_closed" => "a poll you voted in closed",
        "outcome" => "said how a case you follow ended",
        other => other,
    };
    let mark = if item.read { "  " } else { "● " };
    let mut out = format!("{mark}{}  {why}\n", ago(now, item.at));
    out.push_str(&event_lines(&item.event, now, "  "));
    if let Some(thread) = item.thread.filter(|t| *t != item.id) {
        out.push_str(&format!("    in thread {thread}\n"));
    }
    out
}

/// `curbside inbox`: unread items (all with `--all`), marked read once
/// shown; `--watch` then prints new items as the node streams them.
pub(crate) fn inbox(ctx: &Ctx, args: &InboxArgs) -> anyhow::Result<ExitCode> {
    let client = ctx.client(args.node.node.as_deref())?;
    let mut reader = Reader::new(&client, &ctx.home)?;
    let unread = if args.all { "" } else { "&unread=true" };
    let inbox: Inbox = reader.get(&format!("/v1/me/inbox?limit={}{unread}", args.limit))?;
    let now = curbside_node::now();
    ctx.out.emit(
        &json!({
            "items": inbox.items.iter().map(item_json).collect::<Vec<_>>(),
            "unread": inbox.unread,
            "next": inbox.next,
        }),
        || {
            if inbox.items.is_empty() {
                return "nothing new\n".to_owned();
            }
            let mut out = format!("{} unread\n\n", inbox.unread);
            for item in &inbox.items {
                out.push_str(&item_text(item, now));
            }
            out
        },
    )?;
    let shown: Vec<EventId> = inbox.items.iter().filter(|i| !i.read).map(|i| i.id).collect();
    if !shown.is_empty() {
        let _: Value = reader.post("/v1/me/inbox/read", &json!({ "items": shown }))?;
    }
    if !args.watch {
        return Ok(ExitCode::SUCCESS);
    }
    let token = reader.session_token()?;
    let mut failed: Option<anyhow::Error> = None;
    client.stream("/v1/me/inbox/stream", &token, |name, data| {
        if name != "item" {
            return true;
        }
        let item: Item = match serde_json::from_str(data) {
            Ok(item) => item,
            Err(e) => {
                failed =
                    Some(anyhow::anyhow!("the node streamed an item this build cannot read: {e}"));
                return false;
            }
        };
        let printed = ctx.out.emit(&item_json(&item), || item_text(&item, curbside_node::now()));
        if let Err(e) = printed {
            failed = Some(e.into());
            return false;
        }
        // Read as it is shown.
        let marked: Result<Value, _> =
            client.post("/v1/me/inbox/read", &json!({ "items": [item.id] }), Some(&token));
        if let Err(e) = marked {
            failed = Some(e.into());
            return false;
        }
        true
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// `curbside follow` and `unfollow`.
pub(crate) fn follow(ctx: &Ctx, args: &FollowArgs, on: bool) -> anyhow::Result<ExitCode> {
    let client = ctx.client(args.node.node.as_deref())?;
    let mut reader = Reader::new(&client, &ctx.home)?;
    let target = args.target.trim();
    // A hub's name is lowercase words; anything hex of 8 or more is an id.
    let is_id = target.len() >= 8 && target.chars().all(|c| c.is_ascii_hexdigit());
    let target = if is_id {
        crate::ids::resolve(&mut reader, target, "follow")?.to_string()
    } else {
        target.to_owned()
    };
    let answer: Value = if on {
        reader.post("/v1/me/follows", &json!({ "target": target }))?
    } else {
        reader.delete(&format!("/v1/me/follows/{target}"))?
    };
    ctx.out.emit(&answer, || match (on, &answer) {
        (true, a) if a["new"] == json!(false) => format!("already following {target}\n"),
        (true, _) => format!("following {target}: new replies come to `curbside inbox`\n"),
        (false, a) if a["removed"] == json!(true) => format!("no longer following {target}\n"),
        (false, _) => format!("you were not following {target}\n"),
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside bookmark` and `unbookmark`.
pub(crate) fn bookmark(ctx: &Ctx, args: &MarkArgs, on: bool) -> anyhow::Result<ExitCode> {
    let client = ctx.client(args.node.node.as_deref())?;
    let mut reader = Reader::new(&client, &ctx.home)?;
    let id = crate::ids::resolve(&mut reader, &args.id, "bookmark")?;
    let answer: Value = if on {
        reader.post("/v1/me/bookmarks", &json!({ "id": id }))?
    } else {
        reader.delete(&format!("/v1/me/bookmarks/{id}"))?
    };
    ctx.out.emit(&answer, || match (on, answer["removed"] == json!(true)) {
        (true, _) => format!("bookmarked {id}\n"),
        (false, true) => format!("removed the bookmark of {id}\n"),
        (false, false) => format!("{id} was not bookmarked\n"),
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside bookmarks`.
pub(crate) fn bookmarks(ctx: &Ctx, args: &PageArgs) -> anyhow::Result<ExitCode> {
    let client = ctx.client(args.node.node.as_deref())?;
    let mut reader = Reader::new(&client, &ctx.home)?;
    let path =
        format!("/v1/me/bookmarks?limit={}{}", args.limit, cursor_arg(args.before.as_deref())?);
    let page: Bookmarks = reader.get(&path)?;
    let now = curbside_node::now();
    let list: Vec<Value> = page
        .bookmarks
        .iter()
        .map(|b| json!({ "id": b.id, "added_at": b.added_at, "event": b.event.as_ref().map(event_json) }))
        .collect();
    ctx.out.emit(&json!({ "bookmarks": list, "next": page.next }), || {
        if page.bookmarks.is_empty() {
            return "no bookmarks yet: `curbside bookmark ID`\n".to_owned();
        }
        let mut out = String::new();
        for b in &page.bookmarks {
            match &b.event {
                Some(e) => out.push_str(&event_lines(e, now, "")),
                None => out.push_str(&format!("{}  (taken back or hidden since)\n", b.id)),
            }
            out.push_str(&format!("    bookmarked {}\n", ago(now, b.added_at)));
        }
        if let Some(next) = &page.next {
            out.push_str(&format!("\nmore: curbside bookmarks --before {next}\n"));
        }
        out
    })?;
    Ok(ExitCode::SUCCESS)
}
