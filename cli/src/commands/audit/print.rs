//! `audit verify` for people: a table with one row per verifier, then
//! every finding with its evidence.

use std::path::Path;

use curbside_protocol::NetworkId;
use curbside_protocol::audit::{Finding, Standing, VerifierReport};

use super::GenesisSource;
use crate::output::{datetime, truncate};

/// Everything one run prints.
pub(super) struct Run<'a> {
    pub(super) network: &'a NetworkId,
    pub(super) name: &'a str,
    pub(super) source: &'a GenesisSource,
    pub(super) nodes: usize,
    pub(super) read: usize,
    pub(super) quorum: Option<usize>,
    pub(super) reports: &'a [VerifierReport],
    pub(super) findings: &'a [Finding],
    pub(super) state_path: &'a Path,
    pub(super) saved: usize,
    pub(super) total: usize,
}

/// Columns padded to the widest cell; numbers right-aligned.
fn table(rows: &[Vec<String>], right: &[bool]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, s)| {
                let pad = widths[c].saturating_sub(s.chars().count());
                if right.get(c).copied().unwrap_or(false) {
                    format!("{}{s}", " ".repeat(pad))
                } else {
                    format!("{s}{}", " ".repeat(pad))
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn row(r: &VerifierReport, quorum: Option<usize>) -> Vec<String> {
    let agree = r.nodes.iter().filter(|n| n.standing == Standing::Agrees).count();
    let behind = r.nodes.iter().filter(|n| n.standing == Standing::Behind).count();
    let mut nodes = format!("{agree}/{}", r.nodes.len());
    if behind > 0 {
        nodes.push_str(&format!(" ({behind} behind)"));
    }
    vec![
        r.verifier.short(),
        truncate(r.institution.as_deref().unwrap_or("(no charter)"), 28),
        r.size.to_string(),
        r.heads.to_string(),
        r.latest.map(|h| datetime(h.created_at)).unwrap_or_else(|| "-".to_owned()),
        match quorum {
            Some(q) => format!("{}/{q}", r.cosigners.len()),
            None => r.cosigners.len().to_string(),
        },
        nodes,
        r.findings.len().to_string(),
    ]
}

/// One finding and its evidence, indented.
pub(super) fn finding(f: &Finding, whose: Option<&VerifierReport>) -> String {
    let mut out = format!("{}", f.code);
    if let Some(r) = whose {
        out.push_str(&format!(
            "  verifier {}{}",
            r.verifier.short(),
            r.institution.as_deref().map(|i| format!(" ({i})")).unwrap_or_default()
        ));
    }
    out.push('\n');
    out.push_str(&format!("    {}\n", f.message));
    let e = &f.evidence;
    let mut lines: Vec<(String, String)> = Vec::new();
    if let Some(node) = &e.node {
        lines.push(("node".into(), node.clone()));
    }
    for h in &e.heads {
        lines.push((
            "head".into(),
            format!(
                "{} size {} root {} signed {}{}",
                h.head.id,
                h.head.size,
                h.head.root,
                h.head.created_at,
                h.node.as_deref().map(|n| format!(" (shown by {n})")).unwrap_or_default()
            ),
        ));
    }
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            lines.push((k.into(), v));
        }
    };
    put("size", e.size.map(|s| s.to_string()));
    put("signed root", e.signed_root.map(|d| d.to_string()));
    put("computed root", e.computed_root.map(|d| d.to_string()));
    put("leaves shown", e.leaves_shown.map(|n| n.to_string()));
    put("leaf index", e.leaf_index.map(|n| n.to_string()));
    put("leaf", e.leaf.map(|id| id.to_string()));
    put("event", e.event.map(|id| id.to_string()));
    put("key", e.key.map(|k| k.to_string()));
    put("rejection", e.rejection.clone());
    put("cosigners", e.cosigners.map(|n| n.to_string()));
    put("quorum", e.quorum.map(|n| n.to_string()));
    let w = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in lines {
        out.push_str(&format!("    {k:<w$}  {v}\n"));
    }
    out
}

/// The whole run, for people.
pub(super) fn text(run: &Run<'_>) -> String {
    let mut out = format!(
        "Audit of {:?} (network {}), {} of {} node(s) read.\n",
        run.name,
        run.network.short(),
        run.read,
        run.nodes
    );
    out.push_str(&match (run.source.source, run.source.pinned_now) {
        ("node", _) => format!(
            "The genesis was taken from {} on first use and is now pinned under --home; \
             to pin it from a trusted copy instead, pass --genesis FILE.\n",
            run.source.from
        ),
        ("file", true) => format!("Genesis from {}, now pinned under --home.\n", run.source.from),
        ("file", false) => format!("Genesis from {}.\n", run.source.from),
        _ => format!("Genesis as pinned under --home ({}).\n", run.source.from),
    });
    out.push('\n');
    if run.reports.is_empty() {
        out.push_str("No verifier's log found.\n");
    } else {
        let mut rows = vec![vec![
            "verifier".to_owned(),
            "institution".to_owned(),
            "leaves".to_owned(),
            "heads".to_owned(),
            "latest head".to_owned(),
            if run.quorum.is_some() { "cosigners/quorum" } else { "cosigners" }.to_owned(),
            "nodes agreeing".to_owned(),
            "findings".to_owned(),
        ]];
        rows.extend(run.reports.iter().map(|r| row(r, run.quorum)));
        out.push_str(&table(&rows, &[false, false, true, true, false, true, false, true]));
    }
    if run.total > 0 {
        out.push_str("\nFindings\n\n");
        for f in run.findings {
            out.push_str(&finding(f, None));
            out.push('\n');
        }
        for r in run.reports {
            for f in &r.findings {
                out.push_str(&finding(f, Some(r)));
                out.push('\n');
            }
        }
    } else {
        out.push('\n');
    }
    out.push_str(&format!(
        "{} finding(s). Saved the latest head of {} verifier(s) in {}.\n",
        run.total,
        run.saved,
        run.state_path.display()
    ));
    out
}
