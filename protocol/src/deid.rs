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

mod checks;
mod detectors;
pub mod v2;

#[cfg(test)]
use checks::nhs_check_digit_ok;
use detectors::{Cursor, DETECTORS};

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
    // Guard v2 (rules 2) adds the kinds below; guard v1 never reports them.
    /// A person's name after a cue: an honorific, a role, "named".
    PersonName,
    /// A street address, apartment or PO box.
    StreetAddress,
    /// A ZIP code after a cue or a state, a UK, Canadian or other postcode.
    Postcode,
    /// A day and month (a date element other than the year).
    DayMonth,
    /// A web address.
    Url,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// A social-media handle.
    SocialHandle,
    /// A health plan, Medicare, Medicaid or insurance number.
    HealthPlanNumber,
    /// A licence or certificate number: DEA, NPI, driver's licence, passport.
    LicenceNumber,
    /// A vehicle identifier: a VIN, a plate after a cue.
    VehicleId,
    /// A device identifier or serial number.
    DeviceId,
    /// An invisible format character (zero-width space, joiner, ...).
    FormatCharacter,
    /// Warned, not refused: a capitalised word that may be a person's name.
    PossibleName,
    /// Warned, not refused: a capitalised word after "in", "from", "at"...
    Place,
    /// Warned, not refused: a hospital, clinic, practice or university.
    Institution,
    /// Warned, not refused: a month with its year.
    MonthYear,
}

impl IdentifierKind {
    /// The kinds guard v1 reports, in declaration order.
    pub const V1: [IdentifierKind; 9] = [
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

    /// Every kind, in declaration order.
    pub const ALL: [IdentifierKind; 25] = [
        IdentifierKind::Email,
        IdentifierKind::Phone,
        IdentifierKind::UsSsn,
        IdentifierKind::NhsNumber,
        IdentifierKind::RecordNumber,
        IdentifierKind::DateOfBirth,
        IdentifierKind::FullDate,
        IdentifierKind::AgeOver89,
        IdentifierKind::LongNumber,
        IdentifierKind::PersonName,
        IdentifierKind::StreetAddress,
        IdentifierKind::Postcode,
        IdentifierKind::DayMonth,
        IdentifierKind::Url,
        IdentifierKind::IpAddress,
        IdentifierKind::SocialHandle,
        IdentifierKind::HealthPlanNumber,
        IdentifierKind::LicenceNumber,
        IdentifierKind::VehicleId,
        IdentifierKind::DeviceId,
        IdentifierKind::FormatCharacter,
        IdentifierKind::PossibleName,
        IdentifierKind::Place,
        IdentifierKind::Institution,
        IdentifierKind::MonthYear,
    ];

    /// Whether the guard refuses this kind (otherwise it only warns).
    pub const fn is_refused(self) -> bool {
        !matches!(
            self,
            IdentifierKind::PossibleName
                | IdentifierKind::Place
                | IdentifierKind::Institution
                | IdentifierKind::MonthYear
        )
    }

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
            IdentifierKind::PersonName => "person_name",
            IdentifierKind::StreetAddress => "street_address",
            IdentifierKind::Postcode => "postcode",
            IdentifierKind::DayMonth => "day_month",
            IdentifierKind::Url => "url",
            IdentifierKind::IpAddress => "ip_address",
            IdentifierKind::SocialHandle => "social_handle",
            IdentifierKind::HealthPlanNumber => "health_plan_number",
            IdentifierKind::LicenceNumber => "licence_number",
            IdentifierKind::VehicleId => "vehicle_id",
            IdentifierKind::DeviceId => "device_id",
            IdentifierKind::FormatCharacter => "format_character",
            IdentifierKind::PossibleName => "possible_name",
            IdentifierKind::Place => "place",
            IdentifierKind::Institution => "institution",
            IdentifierKind::MonthYear => "month_year",
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
            IdentifierKind::PersonName => "a person's name",
            IdentifierKind::StreetAddress => "a street address",
            IdentifierKind::Postcode => "a ZIP code or postcode",
            IdentifierKind::DayMonth => "a day and month (a date element)",
            IdentifierKind::Url => "a web address",
            IdentifierKind::IpAddress => "an IP address",
            IdentifierKind::SocialHandle => "a social-media handle",
            IdentifierKind::HealthPlanNumber => "a health plan or insurance number",
            IdentifierKind::LicenceNumber => "a licence or certificate number",
            IdentifierKind::VehicleId => "a vehicle identifier",
            IdentifierKind::DeviceId => "a device identifier or serial number",
            IdentifierKind::FormatCharacter => "an invisible format character",
            IdentifierKind::PossibleName => "what may be a person's name",
            IdentifierKind::Place => "what may be a place",
            IdentifierKind::Institution => "what may be an institution",
            IdentifierKind::MonthYear => "a month with its year",
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
            IdentifierKind::MonthYear => 9,
            IdentifierKind::PossibleName => 10,
            IdentifierKind::Place => 11,
            IdentifierKind::Institution => 12,
            IdentifierKind::DayMonth => 13,
            IdentifierKind::Postcode => 14,
            IdentifierKind::IpAddress => 15,
            IdentifierKind::Url => 16,
            IdentifierKind::SocialHandle => 17,
            IdentifierKind::StreetAddress => 18,
            IdentifierKind::VehicleId => 19,
            IdentifierKind::DeviceId => 20,
            IdentifierKind::HealthPlanNumber => 21,
            IdentifierKind::LicenceNumber => 22,
            IdentifierKind::PersonName => 23,
            IdentifierKind::FormatCharacter => 24,
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
pub(crate) fn resolve(mut candidates: Vec<Finding>) -> Vec<Finding> {
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

#[cfg(test)]
mod tests;
