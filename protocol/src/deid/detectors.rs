//! The detectors: one regex per pattern of identifier, each with a check in
//! Rust for what the regex cannot say (in `checks.rs`).

use std::sync::LazyLock;

use regex::Regex;

use super::checks::*;
use super::{Finding, IdentifierKind};

/// What a detector's check says about one regex match.
pub(super) enum Verdict {
    /// A candidate finding.
    Keep,
    /// Not a finding; search again from the next character after its start.
    Retry,
    /// Not a finding; search again after its end.
    Skip,
}

/// One pattern for one kind of identifier.
pub(super) struct Detector {
    pub(super) kind: IdentifierKind,
    pub(super) regex: &'static LazyLock<Regex>,
    pub(super) check: fn(&str, usize, usize) -> Verdict,
}

/// The candidate matches of one detector in `text`, in order of start.
pub(super) struct Cursor<'t> {
    detector: &'static Detector,
    text: &'t str,
    pos: usize,
    done: bool,
}

impl<'t> Cursor<'t> {
    pub(super) fn new(detector: &'static Detector, text: &'t str) -> Self {
        Cursor { detector, text, pos: 0, done: false }
    }
}

impl Iterator for Cursor<'_> {
    type Item = Finding;

    fn next(&mut self) -> Option<Finding> {
        while !self.done && self.pos <= self.text.len() {
            let Some(m) = self.detector.regex.find_at(self.text, self.pos) else {
                break;
            };
            let (start, end) = (m.start(), m.end());
            match (self.detector.check)(self.text, start, end) {
                Verdict::Keep if end > start => {
                    self.pos = end;
                    return Some(Finding { kind: self.detector.kind, start, end });
                }
                Verdict::Skip if end > start => self.pos = end,
                _ => self.pos = next_char_start(self.text, start),
            }
        }
        self.done = true;
        None
    }
}

/// Byte offset of the character after the one at `i` (past the end at the end).
pub(super) fn next_char_start(text: &str, i: usize) -> usize {
    let width = text.get(i..).and_then(|s| s.chars().next()).map_or(1, char::len_utf8);
    i + width
}

pub(super) fn char_before(text: &str, i: usize) -> Option<char> {
    text.get(..i).and_then(|s| s.chars().next_back())
}

pub(super) fn char_after(text: &str, i: usize) -> Option<char> {
    text.get(i..).and_then(|s| s.chars().next())
}

pub(super) fn is_digit(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_digit())
}

pub(super) fn digit_count(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

/// Compiles a constant pattern. `\b` means an ASCII word boundary here, which
/// keeps the lazy DFA usable on non-ASCII text (a Unicode `\b` is not).
///
/// The `expect` is deliberate and the only one outside tests: the patterns
/// are constants, so a failure is a bug seen by the first test to run, not
/// something any input can cause.
#[allow(clippy::expect_used)]
pub(super) fn compile(pattern: &str) -> Regex {
    Regex::new(&pattern.replace(r"\b", r"(?-u:\b)")).expect("constant de-identification pattern")
}

// Pattern pieces, as macros so that `concat!` can assemble them.
macro_rules! months {
    () => {
        r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
    };
}
macro_rules! day {
    () => {
        r"(?:0?[1-9]|[12][0-9]|3[01])(?:st|nd|rd|th)?"
    };
}
macro_rules! year4 {
    () => {
        r"(?:1[89]|20)[0-9]{2}"
    };
}

pub(super) static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"));

pub(super) static PHONE_US: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"(?:\+1[ .-]?|\b1[ .-])?(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}")
});

pub(super) static PHONE_UK: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?:\+44 ?(?:\(0\) ?)?|\b0)",
        r"(?:[1-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}",
        r"|[1-9][0-9]{2}[ -]?[0-9]{3}[ -]?[0-9]{4}",
        r"|[1-9][0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{3}",
        r"|[1-9][0-9]{3}[ -]?[0-9]{6})",
    ))
});

pub(super) static PHONE_INTL: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\+[1-9][0-9]*(?:[ -]?(?:\([0-9]+\)|[0-9]+))*"));

pub(super) static SSN: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b"));

pub(super) static SSN_KEYED: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?i)\b(?:ssn|ss\s*#|social\s+security(?:\s+(?:number|no\b\.?|#))?)",
        r"\s*(?:#|no\b\.?|number)?\s*[:#=]?\s*",
        r"[0-9]{3}[ -]?[0-9]{2}[ -]?[0-9]{4}\b",
    ))
});

pub(super) static NHS: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\b(?:[0-9]{10}|[0-9]{3} [0-9]{3} [0-9]{4})\b"));

pub(super) static RECORD: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?i)\b(?:",
        r"mrn\b",
        r"|medical\s+record(?:\s+(?:number|num\b|no\b\.?|#))?",
        r"|(?:health\s+)?record\s+(?:number|num\b|no\b\.?|#)",
        r"|hosp(?:ital|\.)?\s+(?:number|num\b|no\b\.?|id\b|#)",
        r"|patient\s+(?:identifier|id\b|number|num\b|no\b\.?|#)",
        r"|pt\.?\s+(?:id\b|number|num\b|no\b\.?|#)",
        r"|chart\s+(?:number|num\b|no\b\.?|#)|chart\s*#",
        r"|case\s+(?:number|num\b|no\b\.?|id\b|#)|case\s*#",
        r"|(?:account|acct\.?)\s+(?:number|num\b|no\b\.?|#)|acct\s*#",
        r"|(?:nhs|chi|unit|ur|encounter|visit|accession|admission|episode)\s+(?:number|num\b|no\b\.?|id\b|#)",
        r"|(?:insurance|policy|member|medicare|medicaid|subscriber|beneficiary)\s+(?:number|num\b|no\b\.?|id\b|#)",
        r"|id\s+(?:number|num\b|no\b\.?|#)",
        r")",
        r"\s*[:#=-]?\s*(?:(?:is|was)\s+)?#?\s*",
        r"(?:[0-9]{2,4}(?: [0-9]{2,4}){1,3}\b|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)",
    ))
});

pub(super) static DOB: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?i)\b(?:d\.?o\.?b\b\.?|y\.?o\.?b\b\.?|date\s+of\s+birth|year\s+of\s+birth",
        r"|birth\s*date|birthday|born(?:\s+(?:on|in))?)",
        r"\s*[:=-]?\s*(?:the\s+)?(?:",
        day!(),
        r"(?:\s+of)?[\s-]+",
        months!(),
        r"\.?,?[\s-]+(?:",
        year4!(),
        r"|'?[0-9]{2})",
        r"|",
        months!(),
        r"\.?\s+",
        day!(),
        r",?\s+(?:",
        year4!(),
        r"|'?[0-9]{2})",
        r"|[0-9]{1,2}[/.-][0-9]{1,2}[/.-](?:[0-9]{4}|[0-9]{2})",
        r"|",
        year4!(),
        r"[/.-][0-9]{1,2}[/.-][0-9]{1,2}",
        r"|",
        months!(),
        r"\.?,?\s+(?:",
        year4!(),
        r"|'?[0-9]{2})",
        r"|(?:0?[1-9]|1[0-2])[/.-](?:",
        year4!(),
        r"|[0-9]{2})",
        r"|",
        year4!(),
        r"|'[0-9]{2})\b",
    ))
});

pub(super) static DATE_NUMERIC: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\b[0-9]{1,2}[/.-][0-9]{1,2}[/.-](?:[0-9]{4}|[0-9]{2})\b"));

pub(super) static DATE_ISO: LazyLock<Regex> =
    LazyLock::new(|| compile(concat!(r"\b", year4!(), r"[/.-][0-9]{1,2}[/.-][0-9]{1,2}\b")));

pub(super) static DATE_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?i)\b(?:",
        day!(),
        r"(?:\s+of)?[\s-]+",
        months!(),
        r"\.?,?[\s-]+(?:",
        year4!(),
        r"|'[0-9]{2})",
        r"|",
        months!(),
        r"\.?\s+",
        day!(),
        r",?\s+(?:",
        year4!(),
        r"|'[0-9]{2})",
        r"|(?:0?[1-9]|[12][0-9]|3[01])-",
        months!(),
        r"-[0-9]{2})\b",
    ))
});

pub(super) static AGE_SUFFIX: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?i)\b[1-9][0-9]{1,2}\s?-?\s?(?:",
        r"(?:years?|yrs?|y)\s?-?\s?old\b",
        r"|(?:years?|yrs?)\s+of\s+age\b",
        r"|y/o\b|y\.o\.?|yo\b|yrs?\b|y\b)",
    ))
});

pub(super) static AGE_KEYWORD: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)\b(?:aged?|age\s+of)\s*[:=]?\s*[1-9][0-9]{1,2}\b"));

pub(super) static LONG_NUMBER: LazyLock<Regex> = LazyLock::new(|| compile(r"[0-9]{7,}"));

/// All detectors. Their order does not matter: overlaps are resolved by
/// length and [`IdentifierKind::specificity`].
pub(super) static DETECTORS: [Detector; 15] = [
    detector(IdentifierKind::Email, &EMAIL, keep),
    detector(IdentifierKind::Phone, &PHONE_US, us_phone),
    detector(IdentifierKind::Phone, &PHONE_UK, digits_apart),
    detector(IdentifierKind::Phone, &PHONE_INTL, international_phone),
    detector(IdentifierKind::UsSsn, &SSN, digits_apart),
    detector(IdentifierKind::UsSsn, &SSN_KEYED, keep),
    detector(IdentifierKind::NhsNumber, &NHS, nhs_number),
    detector(IdentifierKind::RecordNumber, &RECORD, record_number),
    detector(IdentifierKind::DateOfBirth, &DOB, keep),
    detector(IdentifierKind::FullDate, &DATE_NUMERIC, numeric_date),
    detector(IdentifierKind::FullDate, &DATE_ISO, iso_date),
    detector(IdentifierKind::FullDate, &DATE_TEXT, keep),
    detector(IdentifierKind::AgeOver89, &AGE_SUFFIX, age_with_unit),
    detector(IdentifierKind::AgeOver89, &AGE_KEYWORD, age_after_keyword),
    detector(IdentifierKind::LongNumber, &LONG_NUMBER, long_number),
];

pub(super) const fn detector(
    kind: IdentifierKind,
    regex: &'static LazyLock<Regex>,
    check: fn(&str, usize, usize) -> Verdict,
) -> Detector {
    Detector { kind, regex, check }
}
