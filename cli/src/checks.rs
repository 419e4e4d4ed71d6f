//! What the command line checks before it signs: the de-identification
//! guard on every clinical text field (showing what it found, where), and
//! the shape rules a node would refuse anyway (lengths, control
//! characters, option counts), with messages that say what to change.

use curbside_protocol::deid;
use serde_json::{Value, json};

use crate::error::Refusal;
use crate::output::Out;

/// An identifier found in one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldFinding {
    /// The field, as the protocol names it (`case.history`).
    pub(crate) field: String,
    /// The finding's kind code (`record_number`).
    pub(crate) kind: &'static str,
    /// What kind of identifier, for people.
    pub(crate) describe: &'static str,
    /// The offending text.
    pub(crate) text: String,
    /// Byte range in the field.
    pub(crate) start: usize,
    /// Byte range end.
    pub(crate) end: usize,
}

/// Runs the guard over every `(field, text)`.
pub(crate) fn scan_fields(fields: &[(String, &str)]) -> Vec<FieldFinding> {
    let mut found = Vec::new();
    for (field, text) in fields {
        for f in deid::scan(text) {
            found.push(FieldFinding {
                field: field.clone(),
                kind: f.kind.code(),
                describe: f.kind.describe(),
                text: f.excerpt(text).to_owned(),
                start: f.start,
                end: f.end,
            });
        }
    }
    found
}

/// The findings for people.
pub(crate) fn findings_text(findings: &[FieldFinding]) -> String {
    let field_w = findings.iter().map(|f| f.field.len()).max().unwrap_or(0);
    let what_w = findings.iter().map(|f| f.describe.len()).max().unwrap_or(0);
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!("  {:<field_w$}  {:<what_w$}  {:?}\n", f.field, f.describe, f.text));
    }
    out
}

/// Refuses (exit 1) if the guard finds anything, after printing each
/// finding with its field and text. Nothing has been signed.
pub(crate) fn guard(out: Out, fields: &[(String, &str)]) -> anyhow::Result<()> {
    let findings = scan_fields(fields);
    if findings.is_empty() {
        return Ok(());
    }
    if out.json {
        let items: Vec<Value> = findings
            .iter()
            .map(|f| {
                json!({"field": f.field, "kind": f.kind, "text": f.text, "start": f.start, "end": f.end})
            })
            .collect();
        out.json_line(
            &json!({ "status": "refused", "code": "identifying_text", "findings": items }),
        )?;
    } else {
        eprint!("{}", findings_text(&findings));
    }
    Err(Refusal::Coded {
        code: "identifying_text".into(),
        message: format!(
            "{} possible patient identifier(s) found above: remove or generalise them (write ages over 89 as 90+, dates as month and year); nothing was signed",
            findings.len()
        ),
    }
    .into())
}

/// Honorifics that usually precede a person's name.
const HONORIFICS: [&str; 8] = ["mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir"];

/// Softer identifiers no node detects: an honorific followed by a
/// capitalised word (`Mrs Jones`, `Dr. Patel`). Only a warning: the text
/// may name a colleague or an eponym, and the author decides.
pub(crate) fn possible_names(fields: &[(String, &str)]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (field, text) in fields {
        let words: Vec<&str> = text.split_whitespace().collect();
        for pair in words.windows(2) {
            let title = pair[0].trim_end_matches('.').to_ascii_lowercase();
            let name = pair[1].trim_end_matches(|c: char| !c.is_alphanumeric());
            let mut chars = name.chars();
            let capitalised = chars.next().is_some_and(char::is_uppercase)
                && chars.next().is_some_and(char::is_lowercase);
            if HONORIFICS.contains(&title.as_str()) && capitalised {
                found.push((field.clone(), format!("{} {name}", pair[0])));
            }
        }
    }
    found
}

/// Prints [`possible_names`] as warnings on stderr.
pub(crate) fn warn_about_names(fields: &[(String, &str)]) {
    for (field, text) in possible_names(fields) {
        eprintln!(
            "warning: {field}: {text:?} may be a person's name; nodes do not detect names or places, so check before it is published"
        );
    }
}

/// Characters no node accepts in text: controls other than newline and
/// tab, and bidirectional overrides.
fn is_forbidden_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The shape rules for a text field: at least `min` non-blank bytes, at
/// most `max` bytes, no control or bidirectional-override characters.
pub(crate) fn text_field(flag: &str, value: &str, min: usize, max: usize) -> Result<(), String> {
    if value.trim().len() < min {
        return Err(format!("{flag} must not be empty"));
    }
    if value.len() > max {
        return Err(format!(
            "{flag} is {} bytes long; the limit is {max}: shorten it",
            value.len()
        ));
    }
    if value.chars().any(is_forbidden_char) {
        return Err(format!(
            "{flag} contains control or bidirectional-override characters: remove them"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_name_the_field_and_the_text() {
        let fields = vec![
            ("case.title".to_owned(), "Chest pain"),
            ("case.history".to_owned(), "Seen 12/03/2024, MRN 1234567."),
        ];
        let found = scan_fields(&fields);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|f| f.field == "case.history"));
        let text = findings_text(&found);
        assert!(text.contains("\"MRN 1234567\""), "{text}");
        assert!(text.contains("\"12/03/2024\""), "{text}");
        assert!(text.contains("case.history"), "{text}");
        assert!(scan_fields(&[("post.body".to_owned(), "BP 120/80, EF 35%")]).is_empty());
    }

    #[test]
    fn names_after_honorifics_are_flagged() {
        let fields = vec![
            (
                "case.history".to_owned(),
                "Seen by Dr. Patel; Mrs Jones (her sister) reports DM type 2.",
            ),
            ("case.findings".to_owned(), "MR angiography normal; Dr on call agreed."),
        ];
        let found = possible_names(&fields);
        assert_eq!(
            found,
            [
                ("case.history".to_owned(), "Dr. Patel".to_owned()),
                ("case.history".to_owned(), "Mrs Jones".to_owned())
            ]
        );
    }

    #[test]
    fn shape_rules() {
        assert!(text_field("--title", "ok", 1, 10).is_ok());
        assert!(text_field("--history", "", 0, 10).is_ok());
        assert!(
            text_field("--title", "  ", 1, 10).unwrap_err().contains("--title must not be empty")
        );
        assert!(
            text_field("--title", "x".repeat(11).as_str(), 1, 10)
                .unwrap_err()
                .contains("limit is 10")
        );
        assert!(text_field("--body", "a\u{1b}[2Jb", 1, 100).is_err());
        assert!(text_field("--body", "a\u{202E}b", 1, 100).is_err());
        assert!(text_field("--body", "line\n\tnext", 1, 100).is_ok());
    }
}
