//! How an author is shown: never by handle alone.
//!
//! A handle is chosen by the physician and nothing yet makes it unique on
//! the network, so a second key attested as `rt-alice` would post as
//! `rt-alice`. Until handles are unique, everything that shows an author
//! shows the handle with the verifier that attested it (its charter's
//! institution, or its short key when the node cannot say) and a
//! fingerprint of the author's key, and warns when the node counts more
//! than one key attested with that handle.

use std::collections::BTreeMap;

use curbside_protocol::PublicKey;
use serde_json::{Value, json};

use crate::client::EventAnswer;

/// The author's key as people compare it: its first 8 bytes in hex, in
/// groups of four (`3f2a 9c10 77de 01b4`). 64 bits, so that no one can
/// make a key that looks like someone else's by trying keys until the
/// prefix matches, as they could with a few hex characters.
pub(crate) fn fingerprint(key: &PublicKey) -> String {
    let short = key.short();
    let groups: Vec<&str> =
        short.as_bytes().chunks(4).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    groups.join(" ")
}

/// Text the node sent, safe to print: control characters (escape
/// sequences that could rewrite the line) become `�`.
fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect()
}

/// Who attested the author: the institution, or the verifier's short key.
fn verifier(e: &EventAnswer) -> Option<String> {
    let key = e.verifier?;
    Some(match &e.institution {
        Some(name) => printable(name),
        None => format!("verifier {}", key.short()),
    })
}

/// How many keys the node says are attested with the event's handle, when
/// more than one.
fn shared(e: &EventAnswer) -> Option<u32> {
    e.handle.as_ref()?;
    e.handle_keys.filter(|n| *n > 1)
}

/// The author, for people: `rt-alice, cardiology, GB (key 3f2a 9c10 77de
/// 01b4, attested by St Mary's Hospital)` — what a reader weighs an answer
/// by —, with `⚠ handle shared by N keys` when it is;
/// `key 3f2a 9c10 77de 01b4` for events no physician signed (charters,
/// attestations, audit heads).
pub(crate) fn label(e: &EventAnswer) -> String {
    let key = fingerprint(&e.author);
    let Some(handle) = &e.handle else {
        return format!("key {key}");
    };
    let mut who = printable(handle);
    for s in e.specialties.iter().flatten().chain(&e.jurisdiction) {
        who.push_str(&format!(", {}", printable(s)));
    }
    let mut out = match verifier(e) {
        Some(by) => format!("{who} (key {key}, attested by {by})"),
        None => format!("{who} (key {key})"),
    };
    if let Some(n) = shared(e) {
        out.push_str(&format!(" ⚠ handle shared by {n} keys"));
    }
    out
}

/// The author fields of an event for `--json`.
pub(crate) fn json_fields(e: &EventAnswer) -> Value {
    json!({
        "author": e.author,
        "fingerprint": fingerprint(&e.author),
        "handle": e.handle,
        "attestation": e.attestation,
        "verifier": e.verifier,
        "institution": e.institution,
        "handle_keys": e.handle_keys,
        "specialties": e.specialties,
        "jurisdiction": e.jurisdiction,
    })
}

/// A handle shown that more than one key is attested with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SharedHandle {
    handle: String,
    /// Keys attested with it, as the node counts them.
    keys: u32,
    /// The keys of those shown here that used it, with their verifiers,
    /// in the order first shown.
    shown: Vec<(PublicKey, Option<String>)>,
}

/// The shared handles among `events`, in the order first shown.
pub(crate) fn shared_handles<'a>(
    events: impl IntoIterator<Item = &'a EventAnswer>,
) -> Vec<SharedHandle> {
    let mut order: Vec<String> = Vec::new();
    let mut found: BTreeMap<String, SharedHandle> = BTreeMap::new();
    for e in events {
        let (Some(handle), Some(keys)) = (&e.handle, shared(e)) else { continue };
        let entry = found.entry(handle.clone()).or_insert_with(|| {
            order.push(handle.clone());
            SharedHandle { handle: handle.clone(), keys, shown: Vec::new() }
        });
        entry.keys = entry.keys.max(keys);
        if !entry.shown.iter().any(|(k, _)| *k == e.author) {
            entry.shown.push((e.author, verifier(e)));
        }
    }
    order.into_iter().filter_map(|h| found.remove(&h)).collect()
}

impl SharedHandle {
    /// The warning, for people.
    pub(crate) fn text(&self) -> String {
        let shown: Vec<String> = self
            .shown
            .iter()
            .map(|(key, by)| match by {
                Some(by) => format!("key {} ({by})", fingerprint(key)),
                None => format!("key {}", fingerprint(key)),
            })
            .collect();
        format!(
            "warning: the handle {} is attested to {} different keys, so the handle alone does not say who wrote it; \
             tell them apart by key and verifier (here: {})",
            printable(&self.handle),
            self.keys,
            shown.join(", ")
        )
    }

    /// The warning for `--json`.
    pub(crate) fn json(&self) -> Value {
        json!({
            "code": "shared_handle",
            "handle": self.handle,
            "keys": self.keys,
            "authors": self.shown.iter().map(|(key, _)| key).collect::<Vec<_>>(),
            "message": self.text().trim_start_matches("warning: "),
        })
    }
}

/// The warnings of `events` as text: one paragraph each, after a blank
/// line; empty when no handle shown is shared.
pub(crate) fn warnings_text<'a>(events: impl IntoIterator<Item = &'a EventAnswer>) -> String {
    shared_handles(events).iter().map(|w| format!("\n{}\n", w.text())).collect()
}

/// The warnings of `events` for `--json`.
pub(crate) fn warnings_json<'a>(events: impl IntoIterator<Item = &'a EventAnswer>) -> Value {
    Value::Array(shared_handles(events).iter().map(SharedHandle::json).collect())
}

#[cfg(test)]
mod tests {
    use curbside_protocol::testkit::key;
    use curbside_protocol::{Body, Event, NetworkId, Post, Timestamp};

    use super::*;

    fn view(
        author: &curbside_protocol::SecretKey,
        handle: Option<&str>,
        institution: Option<&str>,
        handle_keys: u32,
    ) -> EventAnswer {
        let body = Body::Post(Post {
            hub: "general".parse().unwrap(),
            title: "Hyponatraemia".into(),
            body: "Next step?".into(),
        });
        let event = Event::new(
            NetworkId::from_bytes([1; 32]),
            author.public(),
            Timestamp::from_millis(1),
            body,
        )
        .sign(author)
        .unwrap();
        let verifier = key("verifier").public();
        EventAnswer {
            id: event.id(),
            author: author.public(),
            handle: handle.map(str::to_owned),
            attestation: handle.map(|_| event.id()),
            verifier: handle.map(|_| verifier),
            institution: institution.map(str::to_owned),
            handle_keys: handle.map(|_| handle_keys),
            specialties: handle.map(|_| vec!["cardiology".to_owned()]),
            jurisdiction: handle.map(|_| "GB".to_owned()),
            replies: None,
            created_at: Timestamp::from_millis(1),
            kind: "post".into(),
            body: Value::Null,
            event,
            thread: None,
            outcome: None,
            accepted: None,
            accepted_answer: None,
            answer: None,
            edited: None,
        }
    }

    #[test]
    fn fingerprints_are_the_first_8_bytes_in_groups_of_four() {
        let k = key("alice").public();
        let f = fingerprint(&k);
        assert_eq!(f.len(), 19, "{f}");
        assert_eq!(f.replace(' ', ""), k.short());
        assert_eq!(f.split(' ').count(), 4);
        assert_ne!(f, fingerprint(&key("mallory").public()));
    }

    #[test]
    fn an_author_is_shown_with_key_and_verifier_never_by_handle_alone() {
        let alice = key("alice");
        let e = view(&alice, Some("rt-alice"), Some("St Mary's"), 1);
        assert_eq!(
            label(&e),
            format!(
                "rt-alice, cardiology, GB (key {}, attested by St Mary's)",
                fingerprint(&alice.public())
            )
        );
        // A node that cannot name the institution: the verifier's short key.
        let e = view(&alice, Some("rt-alice"), None, 1);
        assert!(
            label(&e)
                .contains(&format!("attested by verifier {}", key("verifier").public().short()))
        );
        // An event no physician signed: the key alone.
        let e = view(&alice, None, None, 0);
        assert_eq!(label(&e), format!("key {}", fingerprint(&alice.public())));
        // Escape sequences from a node are not printed.
        let e = view(&alice, Some("rt-alice"), Some("St \u{1b}[2JMary's"), 1);
        assert!(!label(&e).contains('\u{1b}'), "{}", label(&e));
    }

    #[test]
    fn a_handle_shared_by_several_keys_is_marked_and_warned_about_once() {
        let alice = key("alice");
        let mallory = key("mallory");
        let bob = key("bob");
        let events = [
            view(&alice, Some("rt-alice"), Some("St Mary's"), 2),
            view(&bob, Some("dr-bob"), Some("St Mary's"), 1),
            view(&mallory, Some("rt-alice"), Some("Lax Clinic"), 2),
            view(&alice, Some("rt-alice"), Some("St Mary's"), 2),
        ];
        assert!(label(&events[0]).ends_with("⚠ handle shared by 2 keys"), "{}", label(&events[0]));
        assert!(!label(&events[1]).contains('⚠'));
        let shared = shared_handles(&events);
        assert_eq!(shared.len(), 1, "{shared:?}");
        let text = shared[0].text();
        for needle in [
            "rt-alice".to_owned(),
            "2 different keys".to_owned(),
            format!("key {} (St Mary's)", fingerprint(&alice.public())),
            format!("key {} (Lax Clinic)", fingerprint(&mallory.public())),
        ] {
            assert!(text.contains(&needle), "{needle:?} missing from {text}");
        }
        let json = shared[0].json();
        assert_eq!(json["code"], "shared_handle");
        assert_eq!(json["keys"], 2);
        assert_eq!(json["authors"], json!([alice.public(), mallory.public()]));
        // No warning when every handle shown names one key.
        assert_eq!(warnings_text(&events[1..2]), "");
        assert_eq!(warnings_json(&events[1..2]), json!([]));
    }
}
