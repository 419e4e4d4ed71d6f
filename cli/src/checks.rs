//! What the command line checks before it signs: the de-identification
//! guard on every clinical text field (showing what it found, where), and
//! the shape rules a node would refuse anyway (lengths, control
//! characters, option counts), with messages that say what to change.

use std::io::IsTerminal as _;

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

/// Runs guard v2 over every `(field, text)`: its findings (what a node
/// under rules 2 refuses, and this command line refuses whatever the
/// rules) and its warnings.
pub(crate) fn scan_fields(fields: &[(String, &str)]) -> (Vec<FieldFinding>, Vec<FieldFinding>) {
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    for (field, text) in fields {
        let report = deid::v2::scan(text);
        let item = |f: &deid::Finding| FieldFinding {
            field: field.clone(),
            kind: f.kind.code(),
            describe: f.kind.describe(),
            text: f.excerpt(text).to_owned(),
            start: f.start,
            end: f.end,
        };
        findings.extend(report.findings.iter().map(item));
        warnings.extend(report.warnings.iter().map(item));
    }
    (findings, warnings)
}

/// The findings (or warnings) for people.
pub(crate) fn findings_text(findings: &[FieldFinding]) -> String {
    let field_w = findings.iter().map(|f| f.field.len()).max().unwrap_or(0);
    let what_w = findings.iter().map(|f| f.describe.len()).max().unwrap_or(0);
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!("  {:<field_w$}  {:<what_w$}  {:?}\n", f.field, f.describe, f.text));
    }
    out
}

fn items(found: &[FieldFinding]) -> Vec<Value> {
    found
        .iter()
        .map(|f| {
            // `text` as before issue 15; `excerpt` as check-text and the API name it.
            json!({"field": f.field, "kind": f.kind, "text": f.text, "excerpt": f.text, "start": f.start, "end": f.end})
        })
        .collect()
}

/// Refuses (exit 1) if the guard finds anything, after printing each
/// finding with its field and text; then shows every warning and asks the
/// author to confirm ([`confirm`]). Nothing has been signed yet.
pub(crate) fn guard(out: Out, yes: bool, fields: &[(String, &str)]) -> anyhow::Result<()> {
    let (findings, warnings) = scan_fields(fields);
    if findings.is_empty() {
        return confirm(out, yes, &warnings);
    }
    if out.json {
        out.json_line(&json!({
            "status": "refused",
            "code": "identifying_text",
            "findings": items(&findings),
            "warnings": items(&warnings),
        }))?;
    } else {
        eprint!("{}", findings_text(&findings));
    }
    Err(Refusal::Coded {
        code: "identifying_text".into(),
        message: format!(
            "{} possible patient identifier(s) found above: remove or generalise them (write ages over 89 as 90+, dates as month and year or relative to the presentation); nothing was signed",
            findings.len()
        ),
    }
    .into())
}

/// [`guard`], asking the node about `@handle`s before refusing them.
///
/// From rules 4 an `@handle` that an attestation gives to a physician is a
/// mention, not a social-media handle; only the node knows the network's
/// attestations and its rules. So when every refusal the local guard
/// would make is an `@handle` (and only then: anything else is refused
/// here as before, with no call), each field holding one is checked with
/// `POST /v1/check`, which needs no session and is budgeted like a
/// submission. The node's answer decides: no finding, go on; a mention of
/// a handle nobody holds at rules 4, refused with `unknown_mention` before
/// signing; under older rules, the local guard's refusal.
pub(crate) fn guard_at(
    ctx: &crate::commands::Ctx,
    node: Option<&str>,
    yes: bool,
    fields: &[(String, &str)],
) -> anyhow::Result<()> {
    let beside: Vec<_> = fields.iter().map(|(_, t)| deid::v2::scan_beside_mentions(t)).collect();
    let only_handles = beside.iter().all(|(report, _)| report.findings.is_empty());
    if !only_handles || beside.iter().all(|(_, mentions)| mentions.is_empty()) {
        return guard(ctx.out, yes, fields);
    }
    let client = ctx.client(node)?;
    let mut unknown = Vec::new();
    for ((_, text), (_, mentions)) in fields.iter().zip(&beside) {
        if mentions.is_empty() {
            continue;
        }
        let answer: curbside_node::api::types::CheckAnswer =
            client.post("/v1/check", &json!({ "text": text }), None)?;
        if answer.rules.is_none_or(|r| r < 4) {
            // The network does not know mentions yet: refused as a handle.
            return guard(ctx.out, yes, fields);
        }
        for f in &answer.findings {
            if !unknown.contains(&f.excerpt) {
                unknown.push(f.excerpt.clone());
            }
        }
    }
    if unknown.is_empty() {
        let (_, warnings) = scan_fields(fields);
        return confirm(ctx.out, yes, &warnings);
    }
    let first = &unknown[0];
    Err(Refusal::Coded {
        code: "unknown_mention".into(),
        message: format!(
            "{first} is no physician's handle on this network; if it is a patient's \
             social-media handle, remove it; nothing was signed"
        ),
    }
    .into())
}

/// Shows the warnings before signing and asks whether to go on: on a
/// terminal, a question; with `--yes`, accepted; otherwise (`--json`, or no
/// terminal to ask on) refused with `needs_confirmation`, listing them.
pub(crate) fn confirm(out: Out, yes: bool, warnings: &[FieldFinding]) -> anyhow::Result<()> {
    if warnings.is_empty() {
        return Ok(());
    }
    if !out.json {
        eprintln!(
            "The content guard asks you to look again at {} passage(s) before signing (nodes do not refuse them; a reader could still recognise a patient):",
            warnings.len()
        );
        eprint!("{}", findings_text(warnings));
    }
    if yes {
        return Ok(());
    }
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !out.json && terminal {
        eprint!("Sign and publish anyway? [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Ok(());
        }
    } else if out.json {
        out.json_line(&json!({
            "status": "refused",
            "code": "needs_confirmation",
            "warnings": items(warnings),
        }))?;
    }
    Err(Refusal::Coded {
        code: "needs_confirmation".into(),
        message: format!(
            "{} warning(s) not confirmed: edit the text, or pass --yes to accept them; nothing was signed",
            warnings.len()
        ),
    }
    .into())
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

/// The specialty `typed` names, if the network's list has it; refused
/// with `unknown_specialty` and the nearest names otherwise (nodes refuse
/// it too: better to say so before signing).
pub(crate) fn specialty(typed: &str) -> anyhow::Result<curbside_protocol::Specialty> {
    use curbside_protocol::registry;
    let trimmed = typed.trim();
    match curbside_protocol::Specialty::new(trimmed) {
        Ok(s) if registry::is_specialty(s.as_str()) => Ok(s),
        _ => Err(Refusal::Coded {
            code: "unknown_specialty".into(),
            message: registry::unknown_specialty_message(trimmed),
        }
        .into()),
    }
}

/// The jurisdiction `typed` names, if the network's list has it; refused
/// with `unknown_jurisdiction` and the nearest names otherwise (nodes
/// refuse it too: better to say so before signing).
pub(crate) fn jurisdiction(typed: &str) -> anyhow::Result<curbside_protocol::Jurisdiction> {
    use curbside_protocol::registry;
    let trimmed = typed.trim();
    match curbside_protocol::Jurisdiction::new(trimmed) {
        Ok(j) if registry::is_jurisdiction(j.as_str()) => Ok(j),
        _ => Err(Refusal::Coded {
            code: "unknown_jurisdiction".into(),
            message: registry::unknown_jurisdiction_message(trimmed),
        }
        .into()),
    }
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
        let (found, _) = scan_fields(&fields);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|f| f.field == "case.history"));
        let text = findings_text(&found);
        assert!(text.contains("\"MRN 1234567\""), "{text}");
        assert!(text.contains("\"12/03/2024\""), "{text}");
        assert!(text.contains("case.history"), "{text}");
        assert_eq!(scan_fields(&[("post.body".to_owned(), "BP 120/80, EF 35%")]), (vec![], vec![]));
    }

    #[test]
    fn names_after_honorifics_are_refused_and_softer_ones_warned() {
        let fields = vec![
            ("case.history".to_owned(), "Seen by Dr. Patel; Mrs Jones reports DM type 2."),
            ("case.findings".to_owned(), "PR 220 ms. Pacemaker normal; seen at St Mary's."),
        ];
        let (found, warned) = scan_fields(&fields);
        let found: Vec<&str> = found.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(found, ["Dr. Patel", "Mrs Jones"]);
        let warned: Vec<(&str, &str)> =
            warned.iter().map(|f| (f.field.as_str(), f.text.as_str())).collect();
        assert_eq!(warned, [("case.findings", "St Mary's")]);
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
