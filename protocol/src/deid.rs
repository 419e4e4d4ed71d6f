//! The de-identification guard: finds obvious patient identifiers in free text.
//!
//! Every Curbside node refuses free text (case fields, post titles and bodies,
//! comments, poll questions and options) in which [`first_identifier`] finds
//! something, and the CLI shows the same findings ([`scan`]) before it signs.
//! The module is pure and deterministic: no I/O, no configuration, the same
//! answer on every node.
//!
//! # What is refused, and why
//!
//! The list follows the spirit of the HIPAA Safe Harbor method: identifiers
//! that are *obvious* from the shape of the text and that almost never appear
//! in a legitimate clinical discussion.
//!
//! - [`IdentifierKind::Email`]: e-mail addresses.
//! - [`IdentifierKind::Phone`]: US numbers (`(415) 555-0132`, `415-555-0132`,
//!   `415.555.0132`, `+1 415 555 0132`), UK numbers (`020 7946 0958`,
//!   `07700 900123`, `+44 7700 900123`) and any `+` country code followed by
//!   8 or more digits in all.
//! - [`IdentifierKind::UsSsn`]: `123-45-6789`, or nine digits after `SSN`.
//! - [`IdentifierKind::NhsNumber`]: ten digits, bare or spaced 3-3-4, whose
//!   NHS modulus-11 check digit is right (ten digits that fail the check are
//!   still refused, as a phone number or a long number).
//! - [`IdentifierKind::RecordNumber`]: a record keyword (`MRN`, `medical
//!   record number`, `hospital number`, `patient ID`, `chart #`, `case
//!   number`, `account number`, `NHS no`, ...) followed by a token with at
//!   least four digits.
//! - [`IdentifierKind::DateOfBirth`]: a birth keyword (`DOB`, `D.O.B.`, `date
//!   of birth`, `born`, `born on`, `born in`, ...) followed by a date, a month
//!   and year, or a year.
//! - [`IdentifierKind::FullDate`]: a calendar date with day, month *and* year
//!   (`12/03/2024`, `3/12/24`, `2024-03-12`, `12.03.2024`, `3 March 2024`,
//!   `March 3, 2024`). A month and year (`in March 2021`) or a year alone
//!   (`since 2019`) is fine.
//! - [`IdentifierKind::AgeOver89`]: an age of 90 or more (`93-year-old`,
//!   `aged 93`, `93 yo`, `a 92 y/o man`); write the `90+` band instead.
//!   `aged 90+`, `aged 90 or over` and `over 90 years old` are bands, not ages,
//!   and are fine.
//! - [`IdentifierKind::LongNumber`]: any other run of 7 or more digits, which
//!   is far more often an identifier than a measurement. Runs that are plainly
//!   bibliographic or terminology codes (after `PMID`, `NCT`, `SNOMED CT`,
//!   `SCTID`, inside a DOI, or the fractional part of a decimal) are fine.
//!
//! Everyday clinical numbers are deliberately left alone: ratios (`BP
//! 120/80`, `GCS 14/15`, `1:40`), two-part fractions (`follow-up at 6/12`),
//! decimals and units (`HbA1c 7.2%`, `eGFR 45 mL/min/1.73m2`), codes (`ICD-10
//! I21.4`, `HLA-B*57:01`, `T2N1M0`), ages up to 89 and years on their own.
//!
//! # A seatbelt, not a guarantee
//!
//! Pattern matching cannot prove that text is anonymous. This guard catches
//! the identifiers that a careful author removes anyway and that are easy to
//! leave in by accident; a determined or careless author can always write one
//! in a shape it does not know. Softer identifiers (names, places,
//! institutions, rare occupations, unusual events) are not attempted here:
//! the CLI warns about those separately, and the author remains responsible
//! for what they post.
//!
//! # Findings
//!
//! A [`Finding`] is a kind and a byte range into the scanned text; the range
//! always lies on `char` boundaries. When several patterns match overlapping
//! text, the longest match wins, then the most specific kind (a keyword-led
//! match such as `MRN 1234567` or `DOB 12/03/1961` beats the bare number or
//! date inside it), so findings never overlap.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// What kind of identifier a finding is.
///
/// [`code`](Self::code) gives a stable snake_case code, the same string that
/// serde uses, for JSON and error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    /// An e-mail address.
    Email,
    /// A telephone number (US, UK or `+` international).
    Phone,
    /// A US Social Security number.
    UsSsn,
    /// A UK NHS number (ten digits with a valid check digit).
    NhsNumber,
    /// A medical record, hospital, patient, chart, case or account number
    /// introduced by its keyword.
    RecordNumber,
    /// A date or year of birth introduced by a birth keyword.
    DateOfBirth,
    /// A calendar date with day, month and year.
    FullDate,
    /// An age of 90 or more, which must be written as the `90+` band.
    #[serde(rename = "age_over_89")]
    AgeOver89,
    /// A run of 7 or more digits not matched by a more specific kind.
    LongNumber,
}

impl IdentifierKind {
    /// Every kind, in declaration order.
    pub const ALL: [IdentifierKind; 9] = [
        IdentifierKind::Email,
        IdentifierKind::Phone,
        IdentifierKind::UsSsn,
        IdentifierKind::NhsNumber,
        IdentifierKind::RecordNumber,
        IdentifierKind::DateOfBirth,
        IdentifierKind::FullDate,
        IdentifierKind::AgeOver89,
        IdentifierKind::LongNumber,
    ];

    /// The stable snake_case code of this kind (also its JSON form).
    pub fn code(self) -> &'static str {
        match self {
            IdentifierKind::Email => "email",
            IdentifierKind::Phone => "phone",
            IdentifierKind::UsSsn => "us_ssn",
            IdentifierKind::NhsNumber => "nhs_number",
            IdentifierKind::RecordNumber => "record_number",
            IdentifierKind::DateOfBirth => "date_of_birth",
            IdentifierKind::FullDate => "full_date",
            IdentifierKind::AgeOver89 => "age_over_89",
            IdentifierKind::LongNumber => "long_number",
        }
    }

    /// A short human description, a noun phrase such as "an e-mail address".
    pub fn describe(self) -> &'static str {
        match self {
            IdentifierKind::Email => "an e-mail address",
            IdentifierKind::Phone => "a phone number",
            IdentifierKind::UsSsn => "a US Social Security number",
            IdentifierKind::NhsNumber => "an NHS number",
            IdentifierKind::RecordNumber => "a medical record or other patient number",
            IdentifierKind::DateOfBirth => "a date of birth",
            IdentifierKind::FullDate => "a full date (day, month and year)",
            IdentifierKind::AgeOver89 => "an age over 89 (write 90+ instead)",
            IdentifierKind::LongNumber => "a run of 7 or more digits",
        }
    }

    /// Tie-break between equally long overlapping matches: higher wins.
    /// Every kind has a distinct value, so resolution is a total order.
    fn specificity(self) -> u8 {
        match self {
            IdentifierKind::LongNumber => 0,
            IdentifierKind::FullDate => 1,
            IdentifierKind::AgeOver89 => 2,
            IdentifierKind::Phone => 3,
            IdentifierKind::UsSsn => 4,
            IdentifierKind::NhsNumber => 5,
            IdentifierKind::Email => 6,
            IdentifierKind::DateOfBirth => 7,
            IdentifierKind::RecordNumber => 8,
        }
    }
}

impl fmt::Display for IdentifierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// One identifier found in a text: its kind and byte range (`start..end`,
/// on `char` boundaries of the scanned text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What kind of identifier it is.
    pub kind: IdentifierKind,
    /// Byte offset of the first byte of the match.
    pub start: usize,
    /// Byte offset just past the match.
    pub end: usize,
}

impl Finding {
    /// The offending excerpt of `text`, which must be the scanned text.
    ///
    /// Returns `""` rather than panicking if the range does not fit `text`.
    pub fn excerpt<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.start..self.end).unwrap_or("")
    }
}

/// Every finding in `text`, in order of position, non-overlapping.
///
/// Where patterns overlap, the longest match is kept, then the most specific
/// kind.
pub fn scan(text: &str) -> Vec<Finding> {
    if !worth_scanning(text) {
        return Vec::new();
    }
    let candidates = DETECTORS.iter().flat_map(|detector| Cursor::new(detector, text)).collect();
    resolve(candidates)
}

/// The first finding of [`scan`], if any.
///
/// This is the fast path for validation: it stops reading as soon as the
/// first group of overlapping matches is complete, and always agrees with
/// `scan(text).first()`.
pub fn first_identifier(text: &str) -> Option<Finding> {
    if !worth_scanning(text) {
        return None;
    }
    let mut cursors: Vec<_> =
        DETECTORS.iter().map(|detector| Cursor::new(detector, text).peekable()).collect();
    // Candidates that overlap one another transitively form a cluster, and
    // resolving a cluster does not depend on anything outside it. So the first
    // finding of the whole text is the first finding of the first cluster.
    let mut cluster = Vec::new();
    let mut cluster_end = 0;
    loop {
        let next = cursors
            .iter_mut()
            .enumerate()
            .filter_map(|(i, cursor)| cursor.peek().map(|c| (c.start, i)))
            .min();
        let Some((start, i)) = next else { break };
        if !cluster.is_empty() && start >= cluster_end {
            break;
        }
        let Some(candidate) = cursors[i].next() else {
            break;
        };
        cluster_end = cluster_end.max(candidate.end);
        cluster.push(candidate);
    }
    resolve(cluster).into_iter().next()
}

/// Every pattern needs an ASCII digit, except e-mail, which needs `@`.
fn worth_scanning(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_digit() || b == b'@')
}

/// Keeps the longest, then most specific, of overlapping candidates.
fn resolve(mut candidates: Vec<Finding>) -> Vec<Finding> {
    candidates.sort_by(|a, b| {
        (b.end - b.start)
            .cmp(&(a.end - a.start))
            .then(b.kind.specificity().cmp(&a.kind.specificity()))
            .then(a.start.cmp(&b.start))
    });
    // start -> (end, kind), pairwise disjoint.
    let mut kept: BTreeMap<usize, (usize, IdentifierKind)> = BTreeMap::new();
    for c in candidates {
        let overlaps = kept.range(..c.end).next_back().is_some_and(|(_, &(end, _))| end > c.start);
        if !overlaps {
            kept.insert(c.start, (c.end, c.kind));
        }
    }
    kept.into_iter().map(|(start, (end, kind))| Finding { kind, start, end }).collect()
}

// ---------------------------------------------------------------------------
// Detectors: one regex each, plus checks in Rust for what regex cannot say.

/// What a detector's check says about one regex match.
enum Verdict {
    /// A candidate finding.
    Keep,
    /// Not a finding; search again from the next character after its start.
    Retry,
    /// Not a finding; search again after its end.
    Skip,
}

/// One pattern for one kind of identifier.
struct Detector {
    kind: IdentifierKind,
    regex: &'static LazyLock<Regex>,
    check: fn(&str, usize, usize) -> Verdict,
}

/// The candidate matches of one detector in `text`, in order of start.
struct Cursor<'t> {
    detector: &'static Detector,
    text: &'t str,
    pos: usize,
    done: bool,
}

impl<'t> Cursor<'t> {
    fn new(detector: &'static Detector, text: &'t str) -> Self {
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
fn next_char_start(text: &str, i: usize) -> usize {
    let width = text.get(i..).and_then(|s| s.chars().next()).map_or(1, char::len_utf8);
    i + width
}

fn char_before(text: &str, i: usize) -> Option<char> {
    text.get(..i).and_then(|s| s.chars().next_back())
}

fn char_after(text: &str, i: usize) -> Option<char> {
    text.get(i..).and_then(|s| s.chars().next())
}

fn is_digit(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_digit())
}

fn digit_count(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

/// Compiles a constant pattern. `\b` means an ASCII word boundary here, which
/// keeps the lazy DFA usable on non-ASCII text (a Unicode `\b` is not).
///
/// The `expect` is deliberate and the only one outside tests: the patterns
/// are constants, so a failure is a bug seen by the first test to run, not
/// something any input can cause.
#[allow(clippy::expect_used)]
fn compile(pattern: &str) -> Regex {
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

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"));

static PHONE_US: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"(?:\+1[ .-]?|\b1[ .-])?(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}")
});

static PHONE_UK: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?:\+44 ?(?:\(0\) ?)?|\b0)",
        r"(?:[1-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}",
        r"|[1-9][0-9]{2}[ -]?[0-9]{3}[ -]?[0-9]{4}",
        r"|[1-9][0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{3}",
        r"|[1-9][0-9]{3}[ -]?[0-9]{6})",
    ))
});

static PHONE_INTL: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\+[1-9][0-9]*(?:[ -]?(?:\([0-9]+\)|[0-9]+))*"));

static SSN: LazyLock<Regex> = LazyLock::new(|| compile(r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b"));

static SSN_KEYED: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?i)\b(?:ssn|ss\s*#|social\s+security(?:\s+(?:number|no\b\.?|#))?)",
        r"\s*(?:#|no\b\.?|number)?\s*[:#=]?\s*",
        r"[0-9]{3}[ -]?[0-9]{2}[ -]?[0-9]{4}\b",
    ))
});

static NHS: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\b(?:[0-9]{10}|[0-9]{3} [0-9]{3} [0-9]{4})\b"));

static RECORD: LazyLock<Regex> = LazyLock::new(|| {
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

static DOB: LazyLock<Regex> = LazyLock::new(|| {
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

static DATE_NUMERIC: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\b[0-9]{1,2}[/.-][0-9]{1,2}[/.-](?:[0-9]{4}|[0-9]{2})\b"));

static DATE_ISO: LazyLock<Regex> =
    LazyLock::new(|| compile(concat!(r"\b", year4!(), r"[/.-][0-9]{1,2}[/.-][0-9]{1,2}\b")));

static DATE_TEXT: LazyLock<Regex> = LazyLock::new(|| {
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

static AGE_SUFFIX: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?i)\b[1-9][0-9]{1,2}\s?-?\s?(?:",
        r"(?:years?|yrs?|y)\s?-?\s?old\b",
        r"|(?:years?|yrs?)\s+of\s+age\b",
        r"|y/o\b|y\.o\.?|yo\b|yrs?\b|y\b)",
    ))
});

static AGE_KEYWORD: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)\b(?:aged?|age\s+of)\s*[:=]?\s*[1-9][0-9]{1,2}\b"));

static LONG_NUMBER: LazyLock<Regex> = LazyLock::new(|| compile(r"[0-9]{7,}"));

/// All detectors. Their order does not matter: overlaps are resolved by
/// length and [`IdentifierKind::specificity`].
static DETECTORS: [Detector; 15] = [
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

const fn detector(
    kind: IdentifierKind,
    regex: &'static LazyLock<Regex>,
    check: fn(&str, usize, usize) -> Verdict,
) -> Detector {
    Detector { kind, regex, check }
}

// ---------------------------------------------------------------------------
// Checks.

fn keep(_: &str, _: usize, _: usize) -> Verdict {
    Verdict::Keep
}

/// The match is not part of a longer digit run on either side.
fn digits_apart(text: &str, start: usize, end: usize) -> Verdict {
    if is_digit(char_before(text, start)) || is_digit(char_after(text, end)) {
        Verdict::Retry
    } else {
        Verdict::Keep
    }
}

/// A US number, not part of a longer digit run. Written with spaces only
/// (`415 555 0132`) it must also be a valid North American number (area code
/// and exchange starting 2-9), so that runs of results such as `Hb 100 110
/// 1000` pass.
fn us_phone(text: &str, start: usize, end: usize) -> Verdict {
    if let Verdict::Retry = digits_apart(text, start, end) {
        return Verdict::Retry;
    }
    let s = &text[start..end];
    let spaces_only = !s.contains(['(', '+', '-', '.']);
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_digit).collect();
    let national = digits.strip_prefix(b"1").filter(|_| digits.len() == 11).unwrap_or(&digits);
    let nanp = matches!(national, [b'2'..=b'9', _, _, b'2'..=b'9', ..]);
    if spaces_only && !nanp { Verdict::Retry } else { Verdict::Keep }
}

/// `+CC ...` with at least 8 digits in all, not glued to a word before it.
fn international_phone(text: &str, start: usize, end: usize) -> Verdict {
    let glued = char_before(text, start).is_some_and(|c| c.is_alphanumeric());
    if glued || digit_count(&text[start..end]) < 8 { Verdict::Skip } else { Verdict::Keep }
}

/// Ten digits with a valid NHS modulus-11 check digit.
fn nhs_number(text: &str, start: usize, end: usize) -> Verdict {
    let s = &text[start..end];
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    let spaced = s.contains(' ');
    if nhs_check_digit_ok(&digits) && (spaced || !is_code_context(text, start, end)) {
        Verdict::Keep
    } else {
        Verdict::Retry
    }
}

fn nhs_check_digit_ok(digits: &[u32]) -> bool {
    let [body @ .., check] = digits else {
        return false;
    };
    if body.len() != 9 {
        return false;
    }
    let sum: u32 = body.iter().zip((2..=10).rev()).map(|(d, w)| d * w).sum();
    match 11 - sum % 11 {
        11 => *check == 0,
        10 => false,
        expected => *check == expected,
    }
}

/// A record keyword and a token with at least four digits (the keywords
/// themselves contain no digits).
fn record_number(text: &str, start: usize, end: usize) -> Verdict {
    if digit_count(&text[start..end]) >= 4 { Verdict::Keep } else { Verdict::Retry }
}

/// Splits `12/03/2024` into numbers and separators.
fn date_parts(s: &str) -> Option<([u32; 3], [usize; 3], [char; 2])> {
    let mut numbers = [0u32; 3];
    let mut widths = [0; 3];
    let mut seps = ['\0'; 2];
    let mut part = 0;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            numbers[part] = numbers[part].saturating_mul(10).saturating_add(d);
            widths[part] += 1;
        } else {
            if part >= 2 {
                return None;
            }
            seps[part] = c;
            part += 1;
        }
    }
    (part == 2 && widths.iter().all(|&w| (1..=4).contains(&w))).then_some((numbers, widths, seps))
}

/// `d/m/y` or `m/d/y` with one separator throughout and a plausible day and
/// month. Dotted and hyphenated dates need a four-digit year or a two-digit
/// day and month, so that section numbers (`4.2.15`) and sequences (`doses
/// 10-12-14`, `1-2-10`) pass; slashed ones (`3/12/24`) do not.
fn numeric_date(text: &str, start: usize, end: usize) -> Verdict {
    let Some(([a, b, _], widths, [s1, s2])) = date_parts(&text[start..end]) else {
        return Verdict::Retry;
    };
    let day_month = |x: u32, y: u32| (1..=31).contains(&x) && (1..=12).contains(&y);
    let plausible = s1 == s2 && (day_month(a, b) || day_month(b, a));
    let shape_ok = s1 == '/' || widths[2] == 4 || (widths[0] == 2 && widths[1] == 2);
    // `1.12.03.2024` is a version or section number, not a date.
    let in_dotted_run = s1 == '.' && char_before(text, start) == Some('.');
    if plausible && shape_ok && !in_dotted_run { Verdict::Keep } else { Verdict::Retry }
}

/// `yyyy-mm-dd` with one separator throughout.
fn iso_date(text: &str, start: usize, end: usize) -> Verdict {
    let Some(([_, m, d], _, [s1, s2])) = date_parts(&text[start..end]) else {
        return Verdict::Retry;
    };
    if s1 == s2 && (1..=12).contains(&m) && (1..=31).contains(&d) {
        Verdict::Keep
    } else {
        Verdict::Retry
    }
}

/// The first run of ASCII digits in `s`, if short enough to be an age.
fn first_number(s: &str) -> Option<u32> {
    let from = s.find(|c: char| c.is_ascii_digit())?;
    let digits = &s[from..];
    let to = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits[..to].parse().ok()
}

fn is_reportable_age(age: Option<u32>) -> bool {
    age.is_some_and(|a| (90..=130).contains(&a))
}

/// `93-year-old`, `93 yo`, `93y`, ... unless it is a band (`over 90 years
/// old`, `90 yo or older`) or a decimal.
fn age_with_unit(text: &str, start: usize, end: usize) -> Verdict {
    let decimal = matches!(char_before(text, start), Some('.' | ','))
        && is_digit(char_before(text, start - 1));
    if decimal
        || !is_reportable_age(first_number(&text[start..end]))
        || comparison_before(text, start)
        || band_after(text, end)
    {
        Verdict::Retry
    } else {
        Verdict::Keep
    }
}

/// `aged 93`, `age: 95`, ... unless it is a band (`aged 90+`, `aged 90 or
/// over`), a percentage, or an age in days, weeks or months.
fn age_after_keyword(text: &str, start: usize, end: usize) -> Verdict {
    if !is_reportable_age(first_number(&text[start..end]))
        || matches!(char_after(text, end), Some('%' | '+'))
        || band_after(text, end)
        || shorter_unit_after(text, end)
    {
        Verdict::Retry
    } else {
        Verdict::Keep
    }
}

/// Up to `n` characters of `text` from byte `i`, lowercased.
fn lower_after(text: &str, i: usize, n: usize) -> String {
    text.get(i..).unwrap_or("").chars().take(n).collect::<String>().to_lowercase()
}

/// The lowercased tail (at most `n` characters) of `text[..i]`, trimmed of
/// whitespace and the given punctuation.
fn lower_before(text: &str, i: usize, n: usize, punctuation: &[char]) -> String {
    let before = text.get(..i).unwrap_or("");
    let trimmed = before.trim_end_matches(|c: char| c.is_whitespace() || punctuation.contains(&c));
    let tail: Vec<char> = trimmed.chars().rev().take(n).collect();
    tail.into_iter().rev().collect::<String>().to_lowercase()
}

/// `s` ends with `word`, which does not continue a longer word to its left.
fn ends_with_word(s: &str, word: &str) -> bool {
    s.strip_suffix(word)
        .is_some_and(|rest| !rest.chars().next_back().is_some_and(char::is_alphanumeric))
}

/// `> 90 years old`, `over 90 yo`, ...: a bound, not an age.
fn comparison_before(text: &str, start: usize) -> bool {
    let before = lower_before(text, start, 16, &[]);
    before.ends_with(['>', '<', '≥', '≤'])
        || ["over", "above", "under", "below", "than", "beyond", "exceeding"]
            .iter()
            .any(|w| ends_with_word(&before, w))
}

/// `90+`, `90 or over`, `90 years and older`, `90 plus`, ...: the band, not
/// an age.
fn band_after(text: &str, end: usize) -> bool {
    let after = lower_after(text, end, 32);
    let after = after.trim_start();
    if after.starts_with('+') {
        return true;
    }
    let mut words: Vec<&str> =
        after.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()).take(3).collect();
    if let ["years" | "year" | "yrs" | "yr" | "y" | "yo", ..] = words.as_slice() {
        words.remove(0);
    }
    matches!(
        words.as_slice(),
        ["plus", ..]
            | [
                "or" | "and",
                "over" | "older" | "above" | "more" | "greater" | "up" | "upwards",
                ..
            ]
    )
}

/// `aged 100 days`: an infant's age, not years.
fn shorter_unit_after(text: &str, end: usize) -> bool {
    let after = lower_after(text, end, 16);
    let after = after.trim_start_matches(|c: char| c.is_whitespace() || c == '-');
    let word: String = after.chars().take_while(char::is_ascii_alphabetic).collect();
    matches!(
        word.as_str(),
        "d" | "day"
            | "days"
            | "wk"
            | "wks"
            | "week"
            | "weeks"
            | "mo"
            | "mos"
            | "mth"
            | "mths"
            | "month"
            | "months"
            | "hr"
            | "hrs"
            | "hour"
            | "hours"
            | "min"
            | "mins"
            | "minute"
            | "minutes"
    )
}

/// 7+ digits, unless they are the fractional part of a decimal or a
/// bibliographic or terminology code.
fn long_number(text: &str, start: usize, end: usize) -> Verdict {
    let fraction = char_before(text, start) == Some('.') && is_digit(char_before(text, start - 1));
    if is_digit(char_before(text, start)) || fraction || is_code_context(text, start, end) {
        Verdict::Skip
    } else {
        Verdict::Keep
    }
}

/// The digits at `start..end` are a PubMed, trial-registry, DOI, SNOMED CT or
/// similar code rather than anything about a patient.
fn is_code_context(text: &str, start: usize, end: usize) -> bool {
    // The whitespace-delimited token holding the digits.
    let token_start = text
        .get(..start)
        .and_then(|s| s.char_indices().rev().find(|(_, c)| c.is_whitespace()))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let token_end =
        text.get(end..).and_then(|s| s.find(char::is_whitespace)).map_or(text.len(), |i| end + i);
    let token = text.get(token_start..token_end).unwrap_or("").to_lowercase();
    let token = token.trim_start_matches(|c: char| !c.is_alphanumeric());
    if token.starts_with("doi")
        || token.starts_with("10.") && token.contains('/')
        || token.contains("doi.org")
        || token.contains("pubmed")
        || token.contains("clinicaltrials.gov")
    {
        return true;
    }
    let before = lower_before(text, start, 16, &[':', '#', '=', '(', '-']);
    [
        "pmid",
        "pmcid",
        "pmc",
        "nct",
        "isrctn",
        "snomed",
        "snomed ct",
        "snomed-ct",
        "sctid",
        "isbn",
        "doi",
        "rxcui",
        "rxnorm",
    ]
    .iter()
    .any(|w| ends_with_word(&before, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    use IdentifierKind::*;

    /// (text, kind, excerpt): each must give exactly this one finding.
    const REFUSED: &[(&str, IdentifierKind, &str)] = &[
        // e-mail
        ("contact jane.doe@example.org for notes", Email, "jane.doe@example.org"),
        ("Email: j.smith+ref@nhs.net.", Email, "j.smith+ref@nhs.net"),
        // phone
        ("call (415) 555-0132 today", Phone, "(415) 555-0132"),
        ("cell 415-555-0132", Phone, "415-555-0132"),
        ("tel 415.555.0132", Phone, "415.555.0132"),
        ("reach her on +1 415 555 0132", Phone, "+1 415 555 0132"),
        ("call me on 020 7946 0958", Phone, "020 7946 0958"),
        ("mobile 07700 900123", Phone, "07700 900123"),
        ("mobile +44 7700 900123", Phone, "+44 7700 900123"),
        ("GP surgery 0161 496 0000", Phone, "0161 496 0000"),
        ("Paris +33 1 23 45 67 89", Phone, "+33 1 23 45 67 89"),
        ("Berlin +49 30 12345678", Phone, "+49 30 12345678"),
        ("US 1-800-555-0199", Phone, "1-800-555-0199"),
        ("cell 415 555 0132", Phone, "415 555 0132"),
        // US SSN
        ("SSN on file 123-45-6789", UsSsn, "123-45-6789"),
        ("SSN 123456789", UsSsn, "SSN 123456789"),
        ("social security number: 123 45 6789", UsSsn, "social security number: 123 45 6789"),
        // NHS number
        ("NHS 943 476 5919 on referral", NhsNumber, "943 476 5919"),
        ("ref 9434765919", NhsNumber, "9434765919"),
        // record numbers
        ("Seen before, MRN 1234567.", RecordNumber, "MRN 1234567"),
        ("MRN: A12345", RecordNumber, "MRN: A12345"),
        ("medical record number 12345", RecordNumber, "medical record number 12345"),
        ("hospital number RX12345", RecordNumber, "hospital number RX12345"),
        ("patient ID 8812345", RecordNumber, "patient ID 8812345"),
        ("see chart #44521", RecordNumber, "chart #44521"),
        ("NHS no 9434765919", RecordNumber, "NHS no 9434765919"),
        ("NHS number 943 476 5919", RecordNumber, "NHS number 943 476 5919"),
        ("case number 20931", RecordNumber, "case number 20931"),
        ("account no. 00451234", RecordNumber, "account no. 00451234"),
        ("Hosp No: RX-1234", RecordNumber, "Hosp No: RX-1234"),
        // dates of birth
        ("DOB 12/03/1961", DateOfBirth, "DOB 12/03/1961"),
        ("D.O.B.: 1961", DateOfBirth, "D.O.B.: 1961"),
        ("date of birth 3 March 1961", DateOfBirth, "date of birth 3 March 1961"),
        ("she was born 12.03.1961 in Leeds", DateOfBirth, "born 12.03.1961"),
        ("born on 3rd March 1961", DateOfBirth, "born on 3rd March 1961"),
        ("born in 1931", DateOfBirth, "born in 1931"),
        ("DOB: 03/61", DateOfBirth, "DOB: 03/61"),
        ("born in March 1961", DateOfBirth, "born in March 1961"),
        ("date of birth 1961-03-12", DateOfBirth, "date of birth 1961-03-12"),
        // full dates
        ("admitted 12/03/2024", FullDate, "12/03/2024"),
        ("seen 3/12/24 in clinic", FullDate, "3/12/24"),
        ("CT on 2024-03-12 showed", FullDate, "2024-03-12"),
        ("op 12.03.2024", FullDate, "12.03.2024"),
        ("op 12-03-2024", FullDate, "12-03-2024"),
        ("on 3 March 2024 she", FullDate, "3 March 2024"),
        ("on 3rd Mar 2024", FullDate, "3rd Mar 2024"),
        ("on March 3, 2024", FullDate, "March 3, 2024"),
        ("on Mar 3rd 2024", FullDate, "Mar 3rd 2024"),
        ("bloods 03-Mar-24", FullDate, "03-Mar-24"),
        ("on the 3rd of March 2024", FullDate, "3rd of March 2024"),
        ("echo 12.03.24", FullDate, "12.03.24"),
        // ages over 89
        ("a 93-year-old man", AgeOver89, "93-year-old"),
        ("a 93 year old man", AgeOver89, "93 year old"),
        ("woman aged 93 with", AgeOver89, "aged 93"),
        ("age 93", AgeOver89, "age 93"),
        ("age: 95", AgeOver89, "age: 95"),
        ("93 yo F", AgeOver89, "93 yo"),
        ("93y F", AgeOver89, "93y"),
        ("93yo with AF", AgeOver89, "93yo"),
        ("is 101 years old", AgeOver89, "101 years old"),
        ("a 92 y/o man", AgeOver89, "92 y/o"),
        ("90 years of age", AgeOver89, "90 years of age"),
        ("at the age of 97", AgeOver89, "age of 97"),
        // long numbers
        ("ref 12345678", LongNumber, "12345678"),
        ("ring 4155550132", LongNumber, "4155550132"),
        ("lab accession 2024031200017", LongNumber, "2024031200017"),
    ];

    /// Must give no finding at all.
    const ALLOWED: &[&str] = &[
        // from the brief, verbatim
        "BP 120/80",
        "HbA1c 7.2%",
        "T 38.5C",
        "2 weeks ago",
        "GCS 14/15",
        "EF 35%",
        "ICD-10 I21.4",
        "Na 134 mmol/L",
        "troponin 0.45 ng/mL",
        "aged 85",
        "an 89-year-old woman",
        "90+",
        "age band 90+",
        "since 2019",
        "in March 2021",
        "HR 110 bpm",
        "SpO2 92% on room air",
        "eGFR 45 mL/min/1.73m2",
        "day 3 post-op",
        "platelets 150 x10^9/L",
        "WBC 12000",
        "CD4 200 cells/uL",
        "metformin 500 mg BD",
        "QTc 480 ms",
        "INR 2.5",
        "pH 7.21",
        "BMI 41",
        "3 cm lesion",
        "1/3 of patients",
        "PSA 4.5 ng/mL",
        "CURB-65 score 3",
        "NYHA class III",
        "stage T2N1M0",
        "ferritin 1200 ug/L",
        "dose 0.5 mg/kg q6h",
        "HLA-B*57:01 negative",
        "ratio 1:40",
        "follow-up at 6/12",
        "temperature 39.2",
        "weight 72 kg",
        "height 1.68 m",
        // more clinical text
        "aged 90+",
        "aged 90 or over",
        "aged 90 or over.",
        "patients aged 90 years and over",
        "aged 90 plus",
        "titrate 5-10-20 mg",
        "score 1-2-10",
        "Hb 100 110 1000",
        "Age: 90+; sex F.",
        "patients over 90 years old",
        "age >90",
        "ages 90-99 excluded",
        "in her 90s",
        "outcomes in 90-year-olds",
        "infant aged 100 days",
        "born at 32/40 by section",
        "born at term, 3.4 kg",
        "gestation 34/40",
        "see section 4.2.15",
        "mRNA-1273 vaccine",
        "pt notes from 2019",
        "case #12 from last week",
        "MRN not available",
        "PMID: 31475795",
        "trial NCT04280705",
        "doi:10.1056/NEJMoa2034577",
        "SNOMED CT 22298006",
        "pi is 3.14159265",
        "viral load 1,200,000 copies/mL",
        "on 3 March she improved",
        "CHA2DS2-VASc 4, HAS-BLED 2",
        "APACHE II 25, SOFA 9",
        "BP 90/60 then 100/70",
        "visual acuity 6/9 and 6/12",
        "2019-2021 cohort",
        "K 5.5, Cr 120, urea 9.8",
        "troponin 1234 ng/L at 0830 and 1400",
        "temp 98.6F",
        "+2 pitting oedema, ER+ PR+ HER2-",
        "café 3€ für 2 Ärzte — ok ✓",
        "email me via the app",
        "@cardiology what do you think?",
        "smoked 40 pack-years",
        "HbA1c 53 mmol/mol, FBC normal",
    ];

    #[test]
    fn refused_samples_give_the_expected_finding() {
        assert!(REFUSED.len() >= 30, "{} refused samples", REFUSED.len());
        for &(text, kind, excerpt) in REFUSED {
            let found = scan(text);
            let got: Vec<(IdentifierKind, &str)> =
                found.iter().map(|f| (f.kind, f.excerpt(text))).collect();
            assert_eq!(got, vec![(kind, excerpt)], "in {text:?}");
            assert_eq!(first_identifier(text), found.first().cloned(), "in {text:?}");
        }
    }

    #[test]
    fn allowed_samples_give_no_finding() {
        assert!(ALLOWED.len() >= 30, "{} allowed samples", ALLOWED.len());
        for text in ALLOWED {
            let found: Vec<(IdentifierKind, &str)> =
                scan(text).iter().map(|f| (f.kind, f.excerpt(text))).collect();
            assert!(found.is_empty(), "{text:?} gave {found:?}");
            assert_eq!(first_identifier(text), None, "in {text:?}");
        }
    }

    #[test]
    fn every_kind_is_covered_by_the_refused_table() {
        for kind in IdentifierKind::ALL {
            assert!(REFUSED.iter().any(|&(_, k, _)| k == kind), "{kind:?} untested");
        }
    }

    #[test]
    fn positions_and_excerpts_are_byte_exact() {
        let text = "Pt, MRN 1234567, seen.";
        let found = scan(text);
        assert_eq!(found, vec![Finding { kind: RecordNumber, start: 4, end: 15 }]);
        assert_eq!(found[0].excerpt(text), "MRN 1234567");

        // Multibyte characters before the match shift byte offsets.
        let text = "Ärztin → DOB 12/03/1961 ✓";
        let found = scan(text);
        let start = text.find("DOB").unwrap_or(usize::MAX);
        assert_eq!(found, vec![Finding { kind: DateOfBirth, start, end: start + 14 }]);
        assert_eq!(found[0].excerpt(text), "DOB 12/03/1961");

        // An excerpt never panics, even against the wrong text.
        assert_eq!(found[0].excerpt("short"), "");
    }

    #[test]
    fn several_identifiers_are_found_in_order() {
        let text = "Mr X, DOB 12/03/1931, MRN 1234567, aged 93, tel 020 7946 0958, \
                    email x@example.com; seen 2024-03-12 and again on 3 March 2024; \
                    SSN 123-45-6789, NHS 943 476 5919, ref 87654321.";
        let found: Vec<(IdentifierKind, &str)> =
            scan(text).iter().map(|f| (f.kind, f.excerpt(text))).collect();
        assert_eq!(
            found,
            vec![
                (DateOfBirth, "DOB 12/03/1931"),
                (RecordNumber, "MRN 1234567"),
                (AgeOver89, "aged 93"),
                (Phone, "020 7946 0958"),
                (Email, "x@example.com"),
                (FullDate, "2024-03-12"),
                (FullDate, "3 March 2024"),
                (UsSsn, "SSN 123-45-6789"),
                (NhsNumber, "943 476 5919"),
                (LongNumber, "87654321"),
            ]
        );
        assert_eq!(first_identifier(text), scan(text).first().cloned());
    }

    #[test]
    fn overlaps_keep_the_longest_then_most_specific() {
        // The keyword forms swallow the bare number or date inside them.
        assert_eq!(scan("DOB 12/03/1961").len(), 1);
        assert_eq!(scan("MRN 1234567")[0].kind, RecordNumber);
        // Same span: NHS (checksum) beats phone; phone beats long number.
        assert_eq!(scan("943 476 5919")[0].kind, NhsNumber);
        assert_eq!(scan("07700900123")[0].kind, Phone);
        // A bad check digit is still refused, just as a phone number.
        assert_eq!(scan("943 476 5918")[0].kind, Phone);
        assert_eq!(scan("9434765918")[0].kind, LongNumber);
        // Findings never overlap and are sorted.
        let text = "+44 20 7946 0958 12/03/2024 x@y.org MRN 12345678";
        let found = scan(text);
        assert!(found.windows(2).all(|w| w[0].end <= w[1].start), "{found:?}");
    }

    #[test]
    fn first_identifier_agrees_with_scan() {
        let texts =
            REFUSED.iter().map(|&(t, _, _)| t).chain(ALLOWED.iter().copied()).collect::<Vec<_>>();
        for pair in texts.windows(3) {
            let text = pair.join(" ");
            assert_eq!(first_identifier(&text), scan(&text).first().cloned(), "in {text:?}");
        }
        // Overlapping candidates where the earliest-starting one loses.
        let text = "age 93 years old";
        assert_eq!(first_identifier(text), scan(text).first().cloned());
    }

    #[test]
    fn codes_are_stable_and_match_serde() {
        let mut seen = std::collections::HashSet::new();
        for kind in IdentifierKind::ALL {
            assert!(seen.insert(kind.code()), "duplicate code {}", kind.code());
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.code()));
            let back: Option<IdentifierKind> = serde_json::from_str(&json).ok();
            assert_eq!(back, Some(kind));
            assert_eq!(kind.to_string(), kind.describe());
        }
        assert_eq!(AgeOver89.code(), "age_over_89");
    }

    #[test]
    fn nhs_check_digit() {
        assert!(nhs_check_digit_ok(&[9, 4, 3, 4, 7, 6, 5, 9, 1, 9]));
        assert!(!nhs_check_digit_ok(&[9, 4, 3, 4, 7, 6, 5, 9, 1, 8]));
        assert!(!nhs_check_digit_ok(&[1, 2, 3]));
    }

    /// A small deterministic generator (xorshift64*), so no extra dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            // n is small; the modulo bias is irrelevant here.
            (self.next() % n as u64) as usize
        }
    }

    const PIECES: &[&str] = &[
        "0",
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
        "9",
        "0",
        "12",
        "93",
        "1961",
        "2024",
        " ",
        " ",
        "-",
        "/",
        ".",
        ",",
        ":",
        "#",
        "+",
        "(",
        ")",
        "@",
        "'",
        "\n",
        "\u{a0}",
        "é",
        "€",
        "→",
        "😀",
        "٣",
        "９",
        "\u{200b}",
        "ß",
        "K",
        "a",
        "x",
        "y",
        "o",
        "yo",
        " y/o",
        "-year-old",
        " years old",
        "MRN ",
        "DOB ",
        "born in ",
        "aged ",
        "age: ",
        "SSN ",
        "NHS no ",
        "chart #",
        "March ",
        "Mar ",
        "3rd ",
        "+44 ",
        "+1 ",
        "020 ",
        "@ex.com",
        ".org",
        "PMID ",
        "doi:10.",
        "or over",
        "days",
    ];

    fn random_text(rng: &mut Rng, max_pieces: usize) -> String {
        let n = rng.below(max_pieces + 1);
        (0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect()
    }

    #[test]
    fn scan_never_panics_and_keeps_its_invariants() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let text = random_text(&mut rng, 40);
            let found = scan(&text);
            for f in &found {
                assert!(f.start < f.end && f.end <= text.len(), "{f:?} in {text:?}");
                assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
                assert!(!f.excerpt(&text).is_empty());
            }
            assert!(found.windows(2).all(|w| w[0].end <= w[1].start), "{found:?} in {text:?}");
            assert_eq!(first_identifier(&text), found.first().cloned(), "in {text:?}");
        }
        // Arbitrary code points, too.
        for _ in 0..2_000 {
            let len = rng.below(64);
            let text: String =
                (0..len).filter_map(|_| char::from_u32((rng.next() % 0x11_0000) as u32)).collect();
            let found = scan(&text);
            assert_eq!(first_identifier(&text), found.first().cloned());
        }
    }

    #[test]
    fn scanning_is_linear_on_long_texts() {
        // Not an assertion on time (the machine is shared): it must simply
        // finish promptly, and the numbers are printed for a human to read.
        let mut clinical = String::new();
        for sample in ALLOWED.iter().cycle() {
            if clinical.len() >= 20_000 {
                break;
            }
            clinical.push_str(sample);
            clinical.push_str(". ");
        }
        // Joining allowed samples must not create identifiers either.
        assert_eq!(scan(&clinical), vec![]);
        let mut inputs = vec![
            ("clinical", clinical.clone()),
            ("clinical x4", clinical.repeat(4)),
            ("digits", "9".repeat(20_000)),
            ("decimal", format!("0.{}", "1".repeat(20_000))),
            ("dots", "1.".repeat(10_000)),
            ("slashes", "12/".repeat(7_000)),
            ("plus", "+1 ".repeat(7_000)),
            ("keywords", "MRN DOB aged born in ".repeat(1_000)),
            ("dashes", "1-".repeat(10_000)),
            ("unicode", "٣9é😀".repeat(2_000)),
        ];
        inputs.push(("mixed", inputs.iter().map(|(_, t)| t.as_str()).collect::<String>()));
        for (name, text) in &inputs {
            let started = std::time::Instant::now();
            let found = scan(text);
            let first = first_identifier(text);
            assert_eq!(first, found.first().cloned());
            eprintln!(
                "{name:12} {:>7} bytes: {:>5} findings in {:?}",
                text.len(),
                found.len(),
                started.elapsed()
            );
        }
    }
}
