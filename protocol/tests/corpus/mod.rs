//! The guard v2 corpus (`tests/data/deid-corpus.tsv`) and its figures,
//! shared by the corpus test and the `deid` benchmark.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;

use curbside_protocol::deid::{IdentifierKind, v2};

/// The corpus text, built in.
pub const CORPUS: &str = include_str!("../data/deid-corpus.tsv");

/// The held-out samples, never tuned on.
pub const HOLDOUT: &str = include_str!("../data/deid-holdout.tsv");

/// The second held-out file, written after the warning vocabulary grew
/// from what the first taught, and never tuned on.
pub const HOLDOUT_2: &str = include_str!("../data/deid-holdout-2.tsv");

/// One labelled sample: a kind code, or `None` for clinical text.
pub struct Sample {
    pub label: Option<IdentifierKind>,
    pub text: &'static str,
}

/// Every sample of the corpus, in file order.
pub fn samples() -> Vec<Sample> {
    samples_of(CORPUS)
}

/// Every sample of `text` (a corpus file), in file order.
pub fn samples_of(text: &'static str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (label, text) = line.split_once('\t').unwrap_or(("?", line));
            let label = match label {
                "clinical" => None,
                code => Some(
                    IdentifierKind::ALL
                        .into_iter()
                        .find(|k| k.code() == code)
                        .unwrap_or_else(|| panic!("unknown label {code:?}")),
                ),
            };
            Sample { label, text }
        })
        .collect()
}

/// The findings (refusals, not warnings) of guard v2 on `text`, as one
/// line: `kind@start..end` for each, space-separated; empty for none.
pub fn findings_line(text: &str) -> String {
    let findings = v2::scan(text).findings;
    let items: Vec<String> =
        findings.iter().map(|f| format!("{}@{}..{}", f.kind.code(), f.start, f.end)).collect();
    items.join(" ")
}

/// How one kind fared.
#[derive(Default, Clone, Copy)]
pub struct KindFigures {
    pub samples: usize,
    pub refused: usize,
    pub warned: usize,
}

/// The corpus figures.
#[derive(Default)]
pub struct Figures {
    pub kinds: BTreeMap<&'static str, KindFigures>,
    pub identifiers: KindFigures,
    /// Identifiers of refused kinds, and how many were refused.
    pub refusable: KindFigures,
    pub clinical: KindFigures,
    /// Clinical samples refused or warned, for people to read.
    pub clinical_misses: Vec<String>,
    /// Identifiers neither refused nor warned.
    pub identifier_misses: Vec<String>,
}

impl Figures {
    pub fn recall(&self) -> f64 {
        ratio(self.identifiers.refused + self.identifiers.warned, self.identifiers.samples)
    }
    pub fn refused_recall(&self) -> f64 {
        ratio(self.refusable.refused, self.refusable.samples)
    }
    pub fn clinical_refused(&self) -> f64 {
        ratio(self.clinical.refused, self.clinical.samples)
    }
    pub fn clinical_warned(&self) -> f64 {
        ratio(self.clinical.warned, self.clinical.samples)
    }
}

pub fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Scans every sample of the corpus with guard v2.
pub fn evaluate() -> Figures {
    evaluate_samples(samples())
}

/// Scans `samples` with guard v2.
pub fn evaluate_samples(samples: Vec<Sample>) -> Figures {
    let mut f = Figures::default();
    for s in samples {
        let report = v2::scan(s.text);
        let refused = !report.findings.is_empty();
        let warned = !refused && !report.warnings.is_empty();
        let add = |k: &mut KindFigures| {
            k.samples += 1;
            k.refused += usize::from(refused);
            k.warned += usize::from(warned);
        };
        match s.label {
            None => {
                add(&mut f.clinical);
                if refused || warned {
                    let what: Vec<String> = report
                        .findings
                        .iter()
                        .chain(&report.warnings)
                        .map(|x| format!("{}:{:?}", x.kind.code(), x.excerpt(s.text)))
                        .collect();
                    f.clinical_misses.push(format!("{} -> {}", s.text, what.join(", ")));
                }
            }
            Some(kind) => {
                add(f.kinds.entry(kind.code()).or_default());
                add(&mut f.identifiers);
                if kind.is_refused() {
                    add(&mut f.refusable);
                }
                if !refused && !warned {
                    f.identifier_misses.push(format!("{}: {}", kind.code(), s.text));
                }
            }
        }
    }
    f
}
