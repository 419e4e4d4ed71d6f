//! Guard v2 (rules 2, issue 15): the guard covers what HIPAA Safe Harbor
//! (45 CFR 164.514(b)(2)) names, refusing what text shows with high
//! precision and warning about the rest.
//!
//! ```
//! use curbside_protocol::deid::{IdentifierKind, v2};
//!
//! let report = v2::scan("Mrs. Eleanor Whitfield, seen on March 14 at St Mary's");
//! let kinds: Vec<_> = report.findings.iter().map(|f| f.kind).collect();
//! assert_eq!(kinds, [IdentifierKind::PersonName, IdentifierKind::DayMonth]);
//! assert!(report.warnings.iter().any(|w| w.kind == IdentifierKind::Institution));
//! assert!(v2::scan("GCS 14/15, PR 220 ms. Pacemaker check.").is_empty());
//! ```
//!
//! # How it reads text
//!
//! 1. **Normalise**: Unicode NFKC (full-width and other compatibility
//!    digits become digits, `＠` becomes `@`), dashes become `-`, and
//!    invisible format characters (zero-width spaces and joiners, soft
//!    hyphens, bidirectional marks) are dropped, so an identifier split
//!    by them is still seen. Validation refuses such characters outright
//!    ([`first_format_char`], code `format_character`).
//! 2. **Refuse**: every detector of guard v1 (so v2 refuses all that v1
//!    refuses), then those of [`refuse`]: names after a cue, addresses,
//!    postcodes, day-and-month dates, URLs, IP addresses, handles, and
//!    the numbers of health plans, licences, vehicles and devices, ages
//!    over 89 in words, obfuscated e-mail addresses, numbers after a phone
//!    or fax cue.
//! 3. **Warn** ([`warn`]): what may be a name, a place or an institution
//!    (capitalised words that are not medical vocabulary, eponyms or
//!    sentence starts), and a month with its year.
//!
//! Findings and warnings are byte ranges of the text as given (not as
//! normalised), on `char` boundaries. Matching is case-insensitive except
//! where capitals are the signal (names, postcodes, plates).
//!
//! Pure and deterministic, like v1: a consensus rule from rules 2 on.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization as _;

use super::detectors::{Cursor, DETECTORS, Detector};
use super::{Finding, IdentifierKind, resolve};

pub mod refuse;
pub mod warn;
mod words;

/// What guard v2 found in a text: refusals and warnings, each in order of
/// position and non-overlapping; no warning overlaps a refusal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// What a node refuses.
    pub findings: Vec<Finding>,
    /// What the author should look at before signing.
    pub warnings: Vec<Finding>,
}

impl Report {
    /// Neither findings nor warnings.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty() && self.warnings.is_empty()
    }
}

/// Refusals and warnings in `text`.
pub fn scan(text: &str) -> Report {
    let norm = Normalised::new(text);
    let mut findings = refusals(&norm.text);
    if let Some(at) = first_format_char(text) {
        let width = text[at..].chars().next().map_or(1, char::len_utf8);
        findings.push(Finding {
            kind: IdentifierKind::FormatCharacter,
            start: at,
            end: at + width,
        });
    }
    let warnings: Vec<Finding> = warn::warnings(&norm.text)
        .into_iter()
        .filter(|w| !findings.iter().any(|f| f.start < w.end && w.start < f.end))
        .collect();
    let mut findings: Vec<Finding> = findings
        .into_iter()
        .map(|f| if f.kind == IdentifierKind::FormatCharacter { f } else { norm.original(f) })
        .collect();
    findings.sort_by_key(|f| (f.start, f.end));
    Report { findings, warnings: warnings.into_iter().map(|w| norm.original(w)).collect() }
}

/// The first refusal in `text`, ignoring format characters (validation
/// checks those first with [`first_format_char`]).
pub fn first_refusal(text: &str) -> Option<Finding> {
    let norm = Normalised::new(text);
    refusals(&norm.text).into_iter().next().map(|f| norm.original(f))
}

/// The byte offset of the first invisible format character, if any.
pub fn first_format_char(text: &str) -> Option<usize> {
    text.char_indices().find(|&(_, c)| is_format_char(c)).map(|(i, _)| i)
}

/// A case tag as text for the guard: `mrn-12345678` reads as `mrn
/// 12345678`, `dob-12-03-1961` as `dob 12-03-1961` (a hyphen next to a
/// letter is a space; between digits it stays). Same length, so offsets hold.
pub fn tag_text(tag: &str) -> String {
    let chars: Vec<char> = tag.chars().collect();
    let mut out = String::with_capacity(tag.len());
    for (i, &c) in chars.iter().enumerate() {
        let digit = |j: Option<&char>| j.is_some_and(char::is_ascii_digit);
        let between_digits = i > 0 && digit(chars.get(i - 1)) && digit(chars.get(i + 1));
        if matches!(c, '-' | '_') && !between_digits { out.push(' ') } else { out.push(c) }
    }
    out
}

/// Every refusal in normalised text: v1's detectors and v2's.
fn refusals(text: &str) -> Vec<Finding> {
    let v1 = DETECTORS.iter();
    let v2 = refuse::DETECTORS.iter();
    let candidates = v1.chain(v2).flat_map(|d: &'static Detector| Cursor::new(d, text)).collect();
    resolve(candidates)
}

/// Zero-width and other invisible format characters (Unicode category Cf
/// and the like) that can hide an identifier from a pattern.
pub fn is_format_char(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Text as the detectors read it, and the way back to the original bytes.
struct Normalised<'t> {
    text: Cow<'t, str>,
    /// For each byte of `text`, the original range of the character it
    /// came from (`None` when `text` is the original).
    map: Option<Vec<(usize, usize)>>,
}

impl<'t> Normalised<'t> {
    fn new(original: &'t str) -> Self {
        if original.is_ascii() {
            return Normalised { text: Cow::Borrowed(original), map: None };
        }
        let mut text = String::with_capacity(original.len());
        let mut map = Vec::with_capacity(original.len());
        let mut buf = [0u8; 4];
        for (i, c) in original.char_indices() {
            let range = (i, i + c.len_utf8());
            if is_format_char(c) {
                continue;
            }
            for n in std::iter::once(c).nfkc() {
                let n = match n {
                    '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' => '-',
                    '\u{2018}' | '\u{2019}' => '\'',
                    other => other,
                };
                text.push_str(n.encode_utf8(&mut buf));
                map.extend(std::iter::repeat_n(range, n.len_utf8()));
            }
        }
        Normalised { text: Cow::Owned(text), map: Some(map) }
    }

    /// `f`, whose range is into the normalised text, as a range of the original.
    fn original(&self, f: Finding) -> Finding {
        let Some(map) = &self.map else { return f };
        let start = map.get(f.start).map_or(0, |r| r.0);
        let end = f.end.checked_sub(1).and_then(|i| map.get(i)).map_or(start, |r| r.1);
        Finding { kind: f.kind, start, end: end.max(start) }
    }
}

#[cfg(test)]
mod tests;

/// Seconds each detector takes over `text` (v1's, then v2's, then the
/// warnings), for the `deid` benchmark to show where time goes.
#[cfg(feature = "testkit")]
#[doc(hidden)]
pub fn detector_timings(text: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for (i, d) in DETECTORS.iter().chain(refuse::DETECTORS.iter()).enumerate() {
        let start = std::time::Instant::now();
        let n = Cursor::new(d, text).count();
        out.push((format!("{i} {:?} ({n})", d.kind), start.elapsed().as_secs_f64()));
    }
    let start = std::time::Instant::now();
    let n = warn::warnings(text).len();
    out.push((format!("warnings ({n})"), start.elapsed().as_secs_f64()));
    out
}
