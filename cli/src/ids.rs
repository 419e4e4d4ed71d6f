//! Event ids as a physician types them: the whole 64 hex digits, or the
//! first 8 or more, which the node resolves (`GET /v1/ids/{prefix}`). A
//! prefix that more than one event's id starts with is refused
//! (`ambiguous_id`) with the events it could mean, so the physician can
//! type more of the one they meant.

use curbside_node::api::types::{AmbiguousIdAnswer, MIN_ID_PREFIX};
use curbside_protocol::{EventId, Timestamp};

use crate::client::{Client, Resolved};
use crate::commands::Ctx;
use crate::error::Refusal;
use crate::output::ago;
use crate::session::Reader;

/// An id argument: whole, or the start of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdArg {
    /// All 64 digits: no need to ask the node.
    Whole(EventId),
    /// 8 to 63 lowercase hex digits.
    Prefix(String),
}

/// `text` as an id argument, or a usage error that says what is wanted.
pub(crate) fn parse(text: &str, what: &str) -> anyhow::Result<IdArg> {
    let hex = text.trim().to_ascii_lowercase();
    if hex.len() == 64
        && let Ok(id) = hex.parse::<EventId>()
    {
        return Ok(IdArg::Whole(id));
    }
    if hex.len() < MIN_ID_PREFIX || hex.len() > 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        anyhow::bail!(
            "{what} {text:?} is not an event id: give the id that `curbside feed` or \
             `curbside show` prints, or its first {MIN_ID_PREFIX} characters or more"
        );
    }
    Ok(IdArg::Prefix(hex))
}

/// The id `text` names, asking the node with `token` if it is a prefix.
pub(crate) fn resolve_with(
    client: &Client,
    token: Option<&str>,
    text: &str,
    what: &str,
) -> anyhow::Result<EventId> {
    match parse(text, what)? {
        IdArg::Whole(id) => Ok(id),
        IdArg::Prefix(prefix) => answer(client.resolve_id(&prefix, token), &prefix),
    }
}

/// The id `text` names, asking the node with a reader's session if it is
/// a prefix.
pub(crate) fn resolve(reader: &mut Reader<'_>, text: &str, what: &str) -> anyhow::Result<EventId> {
    match parse(text, what)? {
        IdArg::Whole(id) => Ok(id),
        IdArg::Prefix(prefix) => {
            let resolved = reader.call(|client, token| client.resolve_id(&prefix, Some(token)));
            answer(resolved, &prefix)
        }
    }
}

/// For writing: the id `text` names, at the node `node` (a reader's
/// session is opened only if `text` is a prefix).
pub(crate) fn resolve_at(
    ctx: &Ctx,
    node: Option<&str>,
    text: &str,
    what: &str,
) -> anyhow::Result<EventId> {
    if let IdArg::Whole(id) = parse(text, what)? {
        return Ok(id);
    }
    let client = ctx.client(node)?;
    let mut reader = Reader::new(&client, &ctx.home)?;
    resolve(&mut reader, text, what)
}

fn answer<E>(resolved: Result<Resolved, E>, prefix: &str) -> anyhow::Result<EventId>
where
    anyhow::Error: From<E>,
{
    match resolved? {
        Resolved::One(one) if one.id.to_string().starts_with(prefix) => Ok(one.id),
        Resolved::One(one) => {
            anyhow::bail!("the node answered {} for the prefix {prefix}", one.id)
        }
        Resolved::Ambiguous(several) => Err(Refusal::Coded {
            code: several.code.to_string(),
            message: ambiguous_message(&several, curbside_node::now()),
        }
        .into()),
    }
}

/// The node's message, then one line per candidate.
fn ambiguous_message(several: &AmbiguousIdAnswer, now: Timestamp) -> String {
    let mut text = several.message.clone();
    for c in &several.candidates {
        let title = if c.title.is_empty() { String::new() } else { format!("  {}", c.title) };
        text.push_str(&format!(
            "\n  {}  {}  {}{title}",
            c.id,
            c.kind.as_str(),
            ago(now, c.created_at)
        ));
    }
    if several.more {
        text.push_str("\n  … and more");
    }
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use curbside_node::api::types::IdMatch;
    use curbside_node::codes::Code;
    use curbside_protocol::Kind;

    use super::*;

    #[test]
    fn ids_are_whole_or_at_least_eight_hex_digits() {
        let whole = "91d654fe".repeat(8);
        assert_eq!(parse(&whole, "ID").unwrap(), IdArg::Whole(whole.parse().unwrap()));
        assert_eq!(parse(" 91D654FE ", "ID").unwrap(), IdArg::Prefix("91d654fe".into()));
        assert_eq!(parse("91d654fe0", "ID").unwrap(), IdArg::Prefix("91d654fe0".into()));
        for bad in ["91d654f", "91d654fz", "", &"a".repeat(65)] {
            let e = parse(bad, "EVENT_ID").unwrap_err().to_string();
            assert!(e.contains("first 8 characters or more"), "{bad}: {e}");
        }
    }

    #[test]
    fn an_ambiguous_prefix_is_refused_with_its_candidates() {
        let now = Timestamp::from_millis(100_000_000);
        let candidate = |byte: u8, title: &str| IdMatch {
            created_at: Timestamp::from_millis(100_000_000 - 3 * 3_600_000),
            id: EventId::from_bytes([byte; 32]),
            kind: Kind::Post,
            title: title.into(),
        };
        let several = AmbiguousIdAnswer {
            candidates: vec![candidate(0xab, "Hyponatraemia"), candidate(0xac, "")],
            code: Code::AmbiguousId,
            message: "2 events have ids starting abab".into(),
            more: false,
        };
        let text = ambiguous_message(&several, now);
        let e = answer::<anyhow::Error>(Ok(Resolved::Ambiguous(several)), "abab").unwrap_err();
        assert_eq!(crate::error::code(&e), "ambiguous_id");
        assert_eq!(crate::error::exit_code(&e), 1);
        assert!(
            text.contains(&format!("{}  post  3h ago  Hyponatraemia", "ab".repeat(32))),
            "{text}"
        );
        assert!(text.contains(&"ac".repeat(32)), "{text}");
    }
}
