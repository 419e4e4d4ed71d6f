//! What an author adds to their own case, thread or poll once it has run
//! its course: `outcome`, `accept`, `answer` (rules 3 events).
//!
//! Each reads its target from the node first, to refuse before signing
//! (and before the passphrase) what the node would refuse: another
//! author's case, a comment outside one's own thread, a poll still open.

use std::process::ExitCode;

use curbside_protocol::{Accept, Body, EventId, Outcome, PollAnswer, limits};
use serde_json::json;

use super::Ctx;
use super::write::{Extra, keep, publish, usage};
use crate::args::{AcceptArgs, AnswerArgs, OutcomeArgs};
use crate::checks::{guard_at, text_field};
use crate::client::EventAnswer;
use crate::session;

/// The event `id` as the node shows it.
fn fetch(ctx: &Ctx, node: Option<&str>, id: &EventId) -> anyhow::Result<EventAnswer> {
    let client = ctx.client(node)?;
    let mut reader = session::Reader::new(&client, &ctx.home)?;
    reader.get(&format!("/v1/events/{id}"))
}

/// Refuses (before signing) an event of another author.
fn own(ctx: &Ctx, answer: &EventAnswer, what: &str) -> anyhow::Result<()> {
    let mine = session::physician_key(&ctx.home)?.map(|store| store.public_key());
    if mine != Some(answer.author) {
        return Err(usage(format!(
            "{} is not yours (its author is {}): only its author can {what}",
            answer.id,
            answer.handle.clone().unwrap_or_else(|| answer.author.short())
        )));
    }
    Ok(())
}

/// `curbside outcome CASE --diagnosis D [--text T]`.
pub(crate) fn outcome(ctx: &Ctx, args: &OutcomeArgs) -> anyhow::Result<ExitCode> {
    let node = args.node.node.as_deref();
    let case = crate::ids::resolve_at(ctx, node, &args.case_id, "CASE_ID")?;
    text_field("--diagnosis", &args.diagnosis, 1, limits::TITLE).map_err(usage)?;
    crate::oneline::title("--diagnosis", &args.diagnosis)?;
    if !args.text.is_empty() {
        text_field("--text", &args.text, 1, limits::TEXT).map_err(usage)?;
    }
    let answer = fetch(ctx, node, &case)?;
    if answer.kind != "case" {
        return Err(usage(format!("{case} is a {}: an outcome is for a case", answer.kind)));
    }
    own(ctx, &answer, "say how it ended")?;
    let mut fields = vec![("outcome.diagnosis".to_owned(), args.diagnosis.as_str())];
    if !args.text.is_empty() {
        fields.push(("outcome.text".to_owned(), args.text.as_str()));
    }
    guard_at(ctx, node, args.confirm.yes, &fields)?;
    let body =
        Body::Outcome(Outcome { case, diagnosis: args.diagnosis.clone(), text: args.text.clone() });
    let extra = vec![Extra::plain("case", case), Extra::plain("diagnosis", &args.diagnosis)];
    publish(ctx, node, body, extra, keep)
}

/// `curbside accept COMMENT`: the comment's thread is read from the node.
pub(crate) fn accept(ctx: &Ctx, args: &AcceptArgs) -> anyhow::Result<ExitCode> {
    let node = args.node.node.as_deref();
    let comment = crate::ids::resolve_at(ctx, node, &args.comment_id, "COMMENT_ID")?;
    let answer = fetch(ctx, node, &comment)?;
    if answer.kind != "comment" {
        return Err(usage(format!("{comment} is a {}: accept a reply (a comment)", answer.kind)));
    }
    let thread = answer.thread.ok_or_else(|| {
        anyhow::anyhow!("the node did not say which thread {comment} is in: is it older than outcomes (rules 3)?")
    })?;
    let root = fetch(ctx, node, &thread)?;
    if !matches!(root.kind.as_str(), "post" | "case") {
        return Err(usage(format!(
            "{comment} replies in a {}'s thread: answers are accepted in posts and cases",
            root.kind
        )));
    }
    own(ctx, &root, "accept an answer in its thread")?;
    let body = Body::Accept(Accept { comment, thread });
    let extra = vec![Extra::plain("comment", comment), Extra::plain("thread", thread)];
    publish(ctx, node, body, extra, keep)
}

/// `curbside answer POLL --option N`: once the poll has closed.
pub(crate) fn answer(ctx: &Ctx, args: &AnswerArgs) -> anyhow::Result<ExitCode> {
    let node = args.node.node.as_deref();
    let poll = crate::ids::resolve_at(ctx, node, &args.poll_id, "POLL_ID")?;
    let shown = fetch(ctx, node, &poll)?;
    let Body::Poll(p) = shown.event.body() else {
        return Err(usage(format!("{poll} is a {}: an answer is for a poll", shown.kind)));
    };
    own(ctx, &shown, "give its answer")?;
    let options = p.options.len();
    if args.option == 0 || usize::from(args.option) > options {
        return Err(usage(format!(
            "--option {}: this poll's options are numbered 1 to {options}",
            args.option
        )));
    }
    let now = curbside_node::now();
    if now < p.closes_at {
        return Err(usage(format!(
            "the poll is still open until {}: give its answer once it has closed",
            crate::output::datetime(p.closes_at)
        )));
    }
    let option = u8::try_from(args.option - 1).map_err(|_| usage("option number"))?;
    let number = args.option;
    let body = Body::PollAnswer(PollAnswer { poll, option });
    let extra = vec![
        Extra::plain("poll", poll),
        Extra { key: "option", json: json!(number), human: p.options[usize::from(option)].clone() },
    ];
    publish(ctx, node, body, extra, keep)
}
