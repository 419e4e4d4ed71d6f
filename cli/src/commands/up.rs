//! The way up from a comment to the post, case or poll its thread starts
//! from, so that `curbside show COMMENT` says what the comment answers.

use curbside_protocol::{Body, EventId, Timestamp};

use crate::authors;
use crate::client::EventAnswer;
use crate::output::{ago, truncate};
use crate::session::Reader;

/// Most parents fetched: deeper threads show the nearest ones, and say so.
const MOST: usize = 32;

/// What is above an event: the thread's start first.
#[derive(Debug, Default)]
pub(crate) struct Above {
    /// The events, root first (empty unless the event is a comment).
    pub(crate) chain: Vec<EventAnswer>,
    /// Why the way up stops short of the thread's start, if it does.
    pub(crate) cut: Option<Cut>,
}

/// Where the way up stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// More than [`MOST`] parents: the nearest are shown.
    TooDeep,
    /// The node does not show this parent (retracted, taken down, hidden,
    /// or not held): what is below it is still shown.
    NotShown(EventId),
}

/// The events above `event`, asked of the node one parent at a time.
pub(crate) fn parents(reader: &mut Reader<'_>, event: &EventAnswer) -> anyhow::Result<Above> {
    let mut above = Above::default();
    let mut next = match event.event.body() {
        Body::Comment(c) => Some(c.parent),
        _ => None,
    };
    while let Some(parent) = next {
        if above.chain.len() == MOST {
            above.cut = Some(Cut::TooDeep);
            break;
        }
        let answer: EventAnswer = match reader.get(&format!("/v1/events/{parent}")) {
            Ok(answer) => answer,
            Err(e) if crate::error::code(&e) == "not_found" => {
                above.cut = Some(Cut::NotShown(parent));
                break;
            }
            Err(e) => return Err(e),
        };
        next = match answer.event.body() {
            Body::Comment(c) => Some(c.parent),
            _ => None,
        };
        above.chain.push(answer);
    }
    above.chain.reverse();
    Ok(above)
}

/// One line an event above, indented by its depth: kind, author, when and
/// what it says.
pub(crate) fn text(above: &Above, now: Timestamp, width: usize) -> String {
    if above.chain.is_empty() && above.cut.is_none() {
        return String::new();
    }
    let mut out = String::from("in reply to:\n");
    match above.cut {
        Some(Cut::TooDeep) => out.push_str("  … (more above)\n"),
        Some(Cut::NotShown(id)) => out.push_str(&format!(
            "  {} is not shown by this node (retracted, taken down or not held)\n",
            &id.to_string()[..8]
        )),
        None => {}
    }
    for (depth, e) in above.chain.iter().enumerate() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parent_the_node_does_not_show_is_said_so_and_the_rest_still_shown() {
        let now = Timestamp::from_millis(1_000_000);
        assert_eq!(text(&Above::default(), now, 80), "", "a post has nothing above it");
        let gone = EventId::from_bytes([0xab; 32]);
        let above = Above { chain: Vec::new(), cut: Some(Cut::NotShown(gone)) };
        assert_eq!(
            text(&above, now, 80),
            "in reply to:\n  abababab is not shown by this node (retracted, taken down or not held)\n\n"
        );
    }
}
