//! The way up from a comment to the post, case or poll its thread starts
//! from, so that `curbside show COMMENT` says what the comment answers.

use curbside_protocol::{Body, Timestamp};

use crate::authors;
use crate::client::EventAnswer;
use crate::output::{ago, truncate};
use crate::session::Reader;

/// Most parents fetched: deeper threads show the nearest ones, and say so.
const MOST: usize = 32;

/// The events above `event`, the thread's start first (empty unless
/// `event` is a comment), and whether more were left out above them.
pub(crate) fn parents(
    reader: &mut Reader<'_>,
    event: &EventAnswer,
) -> anyhow::Result<(Vec<EventAnswer>, bool)> {
    let mut chain = Vec::new();
    let mut next = match event.event.body() {
        Body::Comment(c) => Some(c.parent),
        _ => None,
    };
    while let Some(parent) = next {
        if chain.len() == MOST {
            chain.reverse();
            return Ok((chain, true));
        }
        let above: EventAnswer = reader.get(&format!("/v1/events/{parent}"))?;
        next = match above.event.body() {
            Body::Comment(c) => Some(c.parent),
            _ => None,
        };
        chain.push(above);
    }
    chain.reverse();
    Ok((chain, false))
}

/// One line an event above, indented by its depth: kind, author, when and
/// what it says.
pub(crate) fn text(chain: &[EventAnswer], cut: bool, now: Timestamp, width: usize) -> String {
    if chain.is_empty() {
        return String::new();
    }
    let mut out = String::from("in reply to:\n");
    if cut {
        out.push_str("  … (more above)\n");
    }
    for (depth, e) in chain.iter().enumerate() {
        let indent = "  ".repeat(depth.min(8) + 1);
        let what = match e.event.body() {
            Body::Post(p) => p.title.clone(),
            Body::Case(c) => c.title.clone(),
            Body::Poll(p) => p.question.clone(),
            Body::Comment(c) => c.body.clone(),
            _ => String::new(),
        };
        let what: String = what.split_whitespace().collect::<Vec<_>>().join(" ");
        let head = format!(
            "{indent}{} {} · {} · {} · ",
            e.kind,
            &e.id.to_string()[..8],
            authors::label(e),
            ago(now, e.created_at)
        );
        let room = width.saturating_sub(head.chars().count()).max(20);
        out.push_str(&format!("{head}{}\n", truncate(&what, room)));
    }
    out.push('\n');
    out
}
