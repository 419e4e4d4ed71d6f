//! What this node's API refuses from its own callers though the protocol
//! accepts it: a node's policy on submission, not a rule of the network.
//! Events that arrive by gossip or sync are judged by the protocol alone,
//! so nodes need not agree on these; making one a rule of the network
//! would take a new rules version (docs/PROTOCOL.md).
//!
//! - **Titles are one line** (`title_not_one_line`): a post's or case's
//!   title and a poll's question are what feeds list, one line each; a
//!   newline or another control character in one broke every reader's
//!   layout (issue 16).
//! - **Specialties come from the network's list** (`unknown_specialty`):
//!   a poll open to `cardiologist` refused every attested cardiologist's
//!   vote; a poll's eligible specialties and an attestation's specialties
//!   must be listed (`curbside_protocol::registry`).
//! - **Only the author edits** (`not_your_event`): an edit of a post, case
//!   or comment this node knows (held, or by its tombstone) to be another
//!   key's is refused at once with its own code. The protocol refuses it
//!   too where the original is held (`not_target_author`), but where only
//!   an edit's tombstone is held it would wait for the original, and the
//!   caller would hear "pending" for what can never apply.
//! - **Jurisdictions come from the network's list**
//!   (`unknown_jurisdiction`): a charter for `UK` let its verifier attest
//!   no physician licensed in `GB`, and a tally split one country's voters
//!   over two spellings; a charter's jurisdictions and an attestation's
//!   must be listed (`curbside_protocol::registry::jurisdictions`).

use curbside_protocol::{Body, Jurisdiction, Revision, SignedEvent, Specialty, registry};

use super::types::EventOutcome;
use crate::codes::Code;
use crate::store::{Store, StoreError};

/// The refusal of `event`, an edit, if this node knows its original was
/// written by another key.
pub(crate) fn edit_refusal(
    event: &SignedEvent,
    store: &Store,
) -> Result<Option<EventOutcome>, StoreError> {
    let Body::Edit(e) = event.body() else { return Ok(None) };
    let owner = match store.events().get(&e.target)? {
        Some(original) => Some(*original.author()),
        None => store.events().tombstone(&e.target)?.map(|t| t.summary.author),
    };
    Ok(owner.filter(|owner| owner != event.author()).map(|owner| EventOutcome::Rejected {
        id: Some(event.id()),
        code: Code::NotYourEvent,
        message: format!("{} was written by {owner}; only its author can edit it", e.target),
    }))
}

/// The refusal of `event` if it breaks this node's policy.
pub(crate) fn refusal(event: &SignedEvent) -> Option<EventOutcome> {
    title_refusal(event)
        .or_else(|| specialty_refusal(event))
        .or_else(|| jurisdiction_refusal(event))
}

/// The refusal of `event` if it names a jurisdiction the network's list
/// does not.
fn jurisdiction_refusal(event: &SignedEvent) -> Option<EventOutcome> {
    let named: &[Jurisdiction] = match event.body() {
        Body::Charter(c) => &c.verify,
        Body::Attestation(a) => std::slice::from_ref(&a.jurisdiction),
        _ => return None,
    };
    let unknown = named.iter().find(|j| !registry::is_jurisdiction(j.as_str()))?;
    Some(EventOutcome::Rejected {
        id: Some(event.id()),
        code: Code::UnknownJurisdiction,
        message: registry::unknown_jurisdiction_message(unknown.as_str()),
    })
}

/// The refusal of `event` if it names a specialty the network's list does
/// not.
fn specialty_refusal(event: &SignedEvent) -> Option<EventOutcome> {
    let named: &[Specialty] = match event.body() {
        Body::Poll(p) => &p.eligible,
        Body::Attestation(a) => &a.specialties,
        _ => return None,
    };
    let unknown = named.iter().find(|s| !registry::is_specialty(s.as_str()))?;
    Some(EventOutcome::Rejected {
        id: Some(event.id()),
        code: Code::UnknownSpecialty,
        message: registry::unknown_specialty_message(unknown.as_str()),
    })
}

/// The refusal of `event` if its title is not one line.
fn title_refusal(event: &SignedEvent) -> Option<EventOutcome> {
    let (field, text) = match event.body() {
        Body::Post(p) => ("the post's title", &p.title),
        Body::Case(c) => ("the case's title", &c.title),
        Body::Poll(p) => ("the poll's question", &p.question),
        Body::Edit(e) => match &e.content {
            Revision::Post(p) => ("the post's title", &p.title),
            Revision::Case(c) => ("the case's title", &c.title),
            Revision::Comment(_) => return None,
        },
        _ => return None,
    };
    let bad = text.chars().find(|c| !is_one_line(*c))?;
    Some(EventOutcome::Rejected {
        id: Some(event.id()),
        code: Code::TitleNotOneLine,
        message: format!(
            "{field} must be one line: it holds {}; put the detail in the body",
            describe(bad)
        ),
    })
}

/// Whether `c` may stand in a line of text: no control character (line
/// feeds, carriage returns, tabs, escapes) and no Unicode line or
/// paragraph separator.
pub fn is_one_line(c: char) -> bool {
    !c.is_control() && c != '\u{2028}' && c != '\u{2029}'
}

fn describe(c: char) -> String {
    match c {
        '\n' => "a line break".to_owned(),
        '\r' => "a carriage return".to_owned(),
        '\t' => "a tab".to_owned(),
        other => format!("the control character U+{:04X}", u32::from(other)),
    }
}

#[cfg(test)]
mod tests {
    use curbside_protocol::testkit::key;
    use curbside_protocol::{Comment, Event, EventId, NetworkId, Post, Timestamp};

    use super::*;

    fn signed(body: Body) -> SignedEvent {
        let k = key("dr-policy");
        Event::new(NetworkId::from_bytes([1; 32]), k.public(), Timestamp::from_millis(1), body)
            .sign(&k)
            .unwrap()
    }

    fn post(title: &str) -> SignedEvent {
        signed(Body::Post(Post {
            hub: "general".parse().unwrap(),
            title: title.into(),
            body: "Line one\nline two".into(),
        }))
    }

    #[test]
    fn a_title_with_a_line_break_or_control_character_is_refused() {
        assert_eq!(refusal(&post("Syncope in a young athlete — ECG? ✓")), None);
        for (title, said) in [
            ("Syncope\nin an athlete", "a line break"),
            ("Syncope\r", "a carriage return"),
            ("Syncope\u{1b}[2J", "U+001B"),
            ("Syncope\u{2028}athlete", "U+2028"),
        ] {
            let Some(EventOutcome::Rejected { code, message, .. }) = refusal(&post(title)) else {
                panic!("{title:?} was not refused")
            };
            assert_eq!(code, Code::TitleNotOneLine);
            assert!(message.contains(said), "{title:?}: {message}");
        }
        // Bodies and comments may have as many lines as they like.
        let comment = signed(Body::Comment(Comment {
            parent: EventId::from_bytes([2; 32]),
            body: "a\nb".into(),
        }));
        assert_eq!(refusal(&comment), None);
    }
}
