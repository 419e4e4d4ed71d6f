//! `check-text` and `codes`: what needs no node.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;
use curbside_node::api::types::CheckAnswer;
use curbside_protocol::{Rejection, deid};
use serde_json::json;

use super::Ctx;

/// `curbside check-text FILE|-`.
pub(crate) fn check_text(ctx: &Ctx, file: &str) -> anyhow::Result<ExitCode> {
    let text = if file == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("reading standard input")?;
        s
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?
    };
    // The node's answer type, so `check-text --json` and `POST /v1/check`
    // say the same thing in the same shape.
    let answer = CheckAnswer::of(&text, None);
    let refused = !answer.findings.is_empty();
    ctx.out.emit(&answer, || human(&answer))?;
    Ok(if refused { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// The findings and warnings for people.
fn human(answer: &CheckAnswer) -> String {
    if answer.findings.is_empty() && answer.warnings.is_empty() {
        return "no identifiers found, and nothing to look at again".to_owned();
    }
    let describe = |kind: &str| {
        deid::IdentifierKind::ALL
            .into_iter()
            .find(|k| k.code() == kind)
            .map_or("an identifier", |k| k.describe())
    };
    let all = answer.findings.iter().chain(&answer.warnings);
    let width = all.map(|f| describe(&f.kind).len()).max().unwrap_or(0);
    let mut out = String::new();
    for (title, list) in [("refused", &answer.findings), ("warning", &answer.warnings)] {
        for f in list {
            let at = format!("{}..{}", f.start, f.end);
            out.push_str(&format!(
                "  {title:<8} {at:<12} {:<width$}  {:?}\n",
                describe(&f.kind),
                f.excerpt
            ));
        }
    }
    if !answer.findings.is_empty() {
        out.push_str(&format!(
            "{} identifier(s) a node refuses: remove them before posting",
            answer.findings.len()
        ));
        if !answer.warnings.is_empty() {
            out.push_str("; ");
        }
    }
    if !answer.warnings.is_empty() {
        out.push_str(&format!(
            "{} warning(s): nodes accept these, but look again; post, case and comment ask before signing",
            answer.warnings.len()
        ));
    }
    out
}

/// `curbside codes`.
pub(crate) fn codes(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    ctx.out
        .emit(&json!({ "codes": Rejection::CODES.as_slice() }), || Rejection::CODES.join("\n"))?;
    Ok(ExitCode::SUCCESS)
}
