//! `curbside edit ID`: an author's edit of their own post, case or comment
//! (rules 4).
//!
//! It reads the event as the node shows it now (the original, or the edit
//! in force, whose content it starts from), changes the fields given,
//! checks the new content as `post`, `case` and `comment` do (shape rules,
//! and the guard's findings and warnings before signing, asking about
//! warnings), and signs an edit naming the original (never an earlier
//! edit).

use std::process::ExitCode;

use curbside_protocol::{AgeBand, Body, Edit, Revision, Sex, Tag, limits};

use super::Ctx;
use super::write::{Extra, keep, publish, usage};
use crate::args::EditArgs;
use crate::checks::{guard, text_field};
use crate::session;

/// `curbside edit`.
pub(crate) fn edit(ctx: &Ctx, args: &EditArgs) -> anyhow::Result<ExitCode> {
    let target =
        crate::ids::resolve_at(ctx, args.node.node.as_deref(), &args.event_id, "EVENT_ID")?;
    let client = ctx.client(args.node.node.as_deref())?;
    let mut reader = session::Reader::new(&client, &ctx.home)?;
    let answer: crate::client::EventAnswer = reader.get(&format!("/v1/events/{target}"))?;
    let mine = session::physician_key(&ctx.home)?.map(|store| store.public_key());
    if mine != Some(answer.author) {
        return Err(usage(format!(
            "{target} is not yours (its author is {}): only its author can edit it",
            answer.author.short()
        )));
    }
    // The original and its content now: its own, or its edit in force's.
    let (original, created_at, current) = match answer.event.body() {
        Body::Post(p) => (answer.event.id(), answer.event.created_at(), Revision::Post(p.clone())),
        Body::Case(c) => (answer.event.id(), answer.event.created_at(), Revision::Case(c.clone())),
        Body::Comment(c) => {
            (answer.event.id(), answer.event.created_at(), Revision::Comment(c.clone()))
        }
        Body::Edit(e) => (e.target, e.target_created_at, e.content.clone()),
        _ => {
            return Err(usage(format!(
                "{target} is a {}: only posts, cases and comments can be edited",
                answer.kind
            )));
        }
    };
    let content = revise(current, args)?;
    let fields = texts(&content);
    guard(
        ctx.out,
        args.confirm.yes,
        &fields.iter().map(|(f, t)| (f.clone(), t.as_str())).collect::<Vec<_>>(),
    )?;
    let body = Body::Edit(Edit { target: original, target_created_at: created_at, content });
    publish(ctx, args.node.node.as_deref(), body, vec![Extra::plain("original", original)], keep)
}

/// `current` with the fields `args` give changed, checked as its kind's
/// command checks them; at least one must be given.
fn revise(current: Revision, args: &EditArgs) -> anyhow::Result<Revision> {
    let case_flags = args.age.is_some()
        || args.sex.is_some()
        || args.presentation.is_some()
        || args.history.is_some()
        || args.findings.is_some()
        || args.question.is_some()
        || !args.tags.is_empty();
    let nothing = args.title.is_none() && args.body.is_none() && !case_flags;
    if nothing {
        return Err(usage("say what changes: --title, --body (or --body-file), or a case's field"));
    }
    if let Some(title) = &args.title {
        text_field("--title", title, 1, limits::TITLE).map_err(usage)?;
        crate::oneline::title("--title", title)?;
    }
    if let Some(body) = &args.body {
        text_field("--body", body, 1, limits::TEXT).map_err(usage)?;
    }
    match current {
        Revision::Post(mut p) => {
            if case_flags {
                return Err(usage("a post has a title and a body only"));
            }
            p.title = args.title.clone().unwrap_or(p.title);
            p.body = args.body.clone().unwrap_or(p.body);
            Ok(Revision::Post(p))
        }
        Revision::Comment(mut c) => {
            if case_flags || args.title.is_some() {
                return Err(usage("a comment has a body only"));
            }
            c.body = args.body.clone().unwrap_or(c.body);
            Ok(Revision::Comment(c))
        }
        Revision::Case(mut c) => {
            if args.body.is_some() {
                return Err(usage(
                    "a case has no body: use --presentation, --history, --findings or --question",
                ));
            }
            c.title = args.title.clone().unwrap_or(c.title);
            if let Some(age) = &args.age {
                c.age = age.parse::<AgeBand>().map_err(usage)?;
            }
            if let Some(sex) = &args.sex {
                c.sex = sex.parse::<Sex>().map_err(usage)?;
            }
            for (flag, new, field, min, max) in [
                ("--presentation", &args.presentation, &mut c.presentation, 1, limits::TEXT),
                ("--history", &args.history, &mut c.history, 0, limits::TEXT),
                ("--findings", &args.findings, &mut c.findings, 0, limits::TEXT),
                ("--question", &args.question, &mut c.question, 1, limits::QUESTION),
            ] {
                if let Some(text) = new {
                    text_field(flag, text, min, max).map_err(usage)?;
                    field.clone_from(text);
                }
            }
            if !args.tags.is_empty() {
                c.tags = args
                    .tags
                    .iter()
                    .map(|t| Tag::new(t.trim()).map_err(|e| usage(format!("--tag {t:?}: {e}"))))
                    .collect::<anyhow::Result<_>>()?;
            }
            Ok(Revision::Case(c))
        }
    }
}

/// Every text field of `content`, named as the node names it, for the guard.
fn texts(content: &Revision) -> Vec<(String, String)> {
    match content {
        Revision::Post(p) => {
            vec![("post.title".into(), p.title.clone()), ("post.body".into(), p.body.clone())]
        }
        Revision::Comment(c) => vec![("comment.body".into(), c.body.clone())],
        Revision::Case(c) => {
            let mut out = vec![
                ("case.title".into(), c.title.clone()),
                ("case.presentation".into(), c.presentation.clone()),
                ("case.history".into(), c.history.clone()),
                ("case.findings".into(), c.findings.clone()),
                ("case.question".into(), c.question.clone()),
            ];
            out.extend(c.tags.iter().map(|t| {
                ("case.tags".to_owned(), curbside_protocol::deid::v2::tag_text(t.as_str()))
            }));
            out
        }
    }
}
