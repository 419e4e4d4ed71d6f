//! The guard v2 corpus (`tests/data/deid-corpus.tsv`) and its figures,
//! shared by the corpus test and the `deid` benchmark.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;

use curbside_protocol::deid::{IdentifierKind, v2};

/// The corpus text, built in.
pub const CORPUS: &str = include_str!("../data/deid-corpus.tsv");

/// One labelled sample: a kind code, or `None` for clinical text.
pub struct Sample {
    pub label: Option<IdentifierKind>,
    pub text: &'static str,
}

/// Every sample, in file order.
pub fn samples() -> Vec<Sample> {
    CORPUS
        .lines()
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

/// Scans every sample with guard v2.
pub fn evaluate() -> Figures {
    let mut f = Figures::default();
    for s in samples() {
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
