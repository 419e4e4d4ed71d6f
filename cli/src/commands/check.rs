//! `check-text` and `codes`: what needs no node.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;
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
    let findings = deid::scan(&text);
    // A struct, so the fields keep this order (json! would sort them).
    #[derive(serde::Serialize)]
    struct Item {
        kind: &'static str,
        start: usize,
        end: usize,
    }
    let items: Vec<Item> =
        findings.iter().map(|f| Item { kind: f.kind.code(), start: f.start, end: f.end }).collect();
    #[derive(serde::Serialize)]
    struct Findings {
        findings: Vec<Item>,
    }
    ctx.out.emit(&Findings { findings: items }, || {
        if findings.is_empty() {
            return "no identifiers found".to_owned();
        }
        let width = findings.iter().map(|f| f.kind.describe().len()).max().unwrap_or(0);
        let mut out = String::new();
        for f in &findings {
            let at = format!("{}..{}", f.start, f.end);
            out.push_str(&format!(
                "  {at:<12} {:<width$}  {:?}\n",
                f.kind.describe(),
                f.excerpt(&text)
            ));
        }
        out.push_str(&format!("{} identifier(s): remove them before posting", findings.len()));
        out
    })?;
    Ok(if findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `curbside codes`.
pub(crate) fn codes(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    ctx.out
        .emit(&json!({ "codes": Rejection::CODES.as_slice() }), || Rejection::CODES.join("\n"))?;
    Ok(ExitCode::SUCCESS)
}
