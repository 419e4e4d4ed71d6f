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
use std::sync::LazyLock;

use regex::RegexSet;

use unicode_normalization::UnicodeNormalization as _;

use super::detectors::{Cursor, DETECTORS, Detector};
use super::{Finding, IdentifierKind, resolve};
use crate::mention::Mention;

pub mod refuse;
pub mod warn;
mod words;

/// What guard v2 found in a text: refusals and warnings, each in order of
/// position; refusals do not overlap one another (but for the first
/// invisible format character, reported as a refusal of its own wherever
/// it is), warnings neither, and no warning overlaps a refusal.
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
    scan_with(text, false).0
}

/// [`scan`] as rules 4 reads text: an `@handle` that is a [`Mention`]
/// is not refused as a social-media handle but given back, to be checked
/// against the handles physicians hold (which this pure module does not
/// know). See [`first_refusal_beside_mentions`].
pub fn scan_beside_mentions(text: &str) -> (Report, Vec<Mention>) {
    scan_with(text, true)
}

fn scan_with(text: &str, beside_mentions: bool) -> (Report, Vec<Mention>) {
    let norm = Normalised::new(text);
    let (mut findings, mentions) = refusals_beside(&norm, beside_mentions);
    if let Some(at) = first_format_char(text) {
        let width = text[at..].chars().next().map_or(1, char::len_utf8);
        findings.push(Finding {
            kind: IdentifierKind::FormatCharacter,
            start: at,
            end: at + width,
        });
    }
    let overlaps = |w: &Finding, start: usize, end: usize| start < w.end && w.start < end;
    let warnings: Vec<Finding> = warn::warnings(&norm.text)
        .into_iter()
        .filter(|w| !findings.iter().any(|f| overlaps(w, f.start, f.end)))
        .filter(|w| !mentions.iter().any(|m| overlaps(w, m.start, m.end)))
        .collect();
    let mut findings: Vec<Finding> = findings
        .into_iter()
        .map(|f| if f.kind == IdentifierKind::FormatCharacter { f } else { norm.original(f) })
        .collect();
    findings.sort_by_key(|f| (f.start, f.end));
    let report =
        Report { findings, warnings: warnings.into_iter().map(|w| norm.original(w)).collect() };
    (report, mentions.into_iter().map(|m| norm.original_mention(m)).collect())
}

/// The first refusal in `text`, ignoring format characters (validation
/// checks those first with [`first_format_char`]).
pub fn first_refusal(text: &str) -> Option<Finding> {
    let norm = Normalised::new(text);
    refusals(&norm.text).into_iter().next().map(|f| norm.original(f))
}

/// What guard v2 makes of a text from rules 4: its first refusal, and the
/// mentions it let through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guarded {
    /// The first refusal ([`first_refusal`]'s, but for what a mention
    /// covers).
    pub refusal: Option<Finding>,
    /// The mentions that covered something the guard would otherwise have
    /// refused (an `@handle` read as a social-media handle), in order: the
    /// text is acceptable only if each names a physician.
    pub mentions: Vec<Mention>,
}

/// [`first_refusal`] from rules 4: a [`Mention`] (an `@` and a valid
/// [`crate::Handle`], as [`crate::mention::mentions`] reads it, written in
/// plain ASCII) is set aside before the detectors' matches are resolved,
/// and every match lying wholly inside one is dropped; the mentions that
/// dropped something are given back, for validation to check that each
/// names a physician. Why set aside rather than accept: `@eleanor_w` is
/// a mention's shape and a patient's handle alike, and only the network's
/// attestations tell the two apart.
///
/// A match that reaches beyond a mention (`@dr.smith@gmail.com` is an
/// e-mail address, whatever `@dr.smith` is) is kept, and is resolved
/// against the others exactly as before, so text with no mention is judged
/// as [`first_refusal`] judges it. What a mention covers is a physician's
/// handle, which is public beside everything that physician writes: a
/// handle such as `dr-4155550132` is no patient's phone number.
pub fn first_refusal_beside_mentions(text: &str) -> Guarded {
    let norm = Normalised::new(text);
    let (findings, mentions) = refusals_beside(&norm, true);
    Guarded {
        refusal: findings.into_iter().next().map(|f| norm.original(f)),
        mentions: mentions.into_iter().map(|m| norm.original_mention(m)).collect(),
    }
}

/// The refusals in normalised text, with the mentions set aside if
/// `beside_mentions`, and the mentions that covered a match.
fn refusals_beside(norm: &Normalised<'_>, beside_mentions: bool) -> (Vec<Finding>, Vec<Mention>) {
    if !beside_mentions || !norm.text.contains('@') {
        return (refusals(&norm.text), Vec::new());
    }
    // A mention whose normalised text is not what was written (a
    // full-width `＠`, say) is not one: the inbox reads what was written.
    let spans: Vec<Mention> = crate::mention::mentions(&norm.text)
        .into_iter()
        .filter(|m| norm.is_as_written(m))
        .collect();
    let mut covered = vec![false; spans.len()];
    let candidates = candidates(&norm.text)
        .into_iter()
        .filter(|c| {
            let inside = spans.iter().position(|m| m.start <= c.start && c.end <= m.end);
            if let Some(i) = inside {
                covered[i] = true;
            }
            inside.is_none()
        })
        .collect();
    let mentions = spans.into_iter().zip(covered).filter(|(_, c)| *c).map(|(m, _)| m).collect();
    (resolve(candidates), mentions)
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

/// Every detector's pattern in one set, so that one pass over a text says
/// which detectors can match at all: most match nowhere in clinical text,
/// and their cursors (a pass each) are not run. Skipping a detector whose
/// pattern matches nowhere changes no finding.
static ALL_PATTERNS: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    let patterns = all_detectors().map(|d| d.regex.as_str());
    RegexSet::new(patterns).ok()
});

fn all_detectors() -> impl Iterator<Item = &'static Detector> {
    DETECTORS.iter().chain(refuse::DETECTORS.iter())
}

/// Every refusal in normalised text: v1's detectors and v2's.
fn refusals(text: &str) -> Vec<Finding> {
    resolve(candidates(text))
}

/// Every detector's matches in normalised text, before resolution.
fn candidates(text: &str) -> Vec<Finding> {
    let hits = ALL_PATTERNS.as_ref().map(|set| set.matches(text));
    all_detectors()
        .enumerate()
        .filter(|(i, _)| hits.as_ref().is_none_or(|h| h.matched(*i)))
        .flat_map(|(_, d)| Cursor::new(d, text))
        .collect()
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
    original: &'t str,
    text: Cow<'t, str>,
    /// For each byte of `text`, the original range of the character it
    /// came from (`None` when `text` is the original).
    map: Option<Vec<(usize, usize)>>,
}

impl<'t> Normalised<'t> {
    fn new(original: &'t str) -> Self {
        if original.is_ascii() {
            return Normalised { original, text: Cow::Borrowed(original), map: None };
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
        Normalised { original, text: Cow::Owned(text), map: Some(map) }
    }

    /// `f`, whose range is into the normalised text, as a range of the original.
    fn original(&self, f: Finding) -> Finding {
        let (start, end) = self.original_range(f.start, f.end);
        Finding { kind: f.kind, start, end }
    }

    /// `m`, whose range is into the normalised text, as a range of the original.
    fn original_mention(&self, m: Mention) -> Mention {
        let (start, end) = self.original_range(m.start, m.end);
        Mention { handle: m.handle, start, end }
    }

    fn original_range(&self, start: usize, end: usize) -> (usize, usize) {
        let Some(map) = &self.map else { return (start, end) };
        let s = map.get(start).map_or(0, |r| r.0);
        let e = end.checked_sub(1).and_then(|i| map.get(i)).map_or(s, |r| r.1);
        (s, e.max(s))
    }

    /// Whether the original text of `m` is byte for byte what the
    /// normalised text holds there.
    fn is_as_written(&self, m: &Mention) -> bool {
        let (start, end) = self.original_range(m.start, m.end);
        self.original.get(start..end) == self.text.get(m.start..m.end)
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
