//! The checks the detectors run on each regex match: digit boundaries,
//! check digits, calendar dates, age bands and code contexts.

use super::detectors::{Verdict, char_after, char_before, digit_count, is_digit};

pub(super) fn keep(_: &str, _: usize, _: usize) -> Verdict {
    Verdict::Keep
}

/// The match is not part of a longer digit run on either side.
pub(super) fn digits_apart(text: &str, start: usize, end: usize) -> Verdict {
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
pub(super) fn us_phone(text: &str, start: usize, end: usize) -> Verdict {
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
pub(super) fn international_phone(text: &str, start: usize, end: usize) -> Verdict {
    let glued = char_before(text, start).is_some_and(|c| c.is_alphanumeric());
    if glued || digit_count(&text[start..end]) < 8 { Verdict::Skip } else { Verdict::Keep }
}

/// Ten digits with a valid NHS modulus-11 check digit.
pub(super) fn nhs_number(text: &str, start: usize, end: usize) -> Verdict {
    let s = &text[start..end];
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    let spaced = s.contains(' ');
    if nhs_check_digit_ok(&digits) && (spaced || !is_code_context(text, start, end)) {
        Verdict::Keep
    } else {
        Verdict::Retry
    }
}

pub(super) fn nhs_check_digit_ok(digits: &[u32]) -> bool {
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
pub(super) fn record_number(text: &str, start: usize, end: usize) -> Verdict {
    if digit_count(&text[start..end]) >= 4 { Verdict::Keep } else { Verdict::Retry }
}

/// Splits `12/03/2024` into numbers and separators.
pub(super) fn date_parts(s: &str) -> Option<([u32; 3], [usize; 3], [char; 2])> {
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
pub(super) fn numeric_date(text: &str, start: usize, end: usize) -> Verdict {
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
pub(super) fn iso_date(text: &str, start: usize, end: usize) -> Verdict {
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
pub(super) fn first_number(s: &str) -> Option<u32> {
    let from = s.find(|c: char| c.is_ascii_digit())?;
    let digits = &s[from..];
    let to = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits[..to].parse().ok()
}

pub(super) fn is_reportable_age(age: Option<u32>) -> bool {
    age.is_some_and(|a| (90..=130).contains(&a))
}

/// `93-year-old`, `93 yo`, `93y`, ... unless it is a band (`over 90 years
/// old`, `90 yo or older`) or a decimal.
pub(super) fn age_with_unit(text: &str, start: usize, end: usize) -> Verdict {
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
pub(super) fn age_after_keyword(text: &str, start: usize, end: usize) -> Verdict {
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
pub(super) fn lower_after(text: &str, i: usize, n: usize) -> String {
    text.get(i..).unwrap_or("").chars().take(n).collect::<String>().to_lowercase()
}

/// The lowercased tail (at most `n` characters) of `text[..i]`, trimmed of
/// whitespace and the given punctuation.
pub(super) fn lower_before(text: &str, i: usize, n: usize, punctuation: &[char]) -> String {
    let before = text.get(..i).unwrap_or("");
    let trimmed = before.trim_end_matches(|c: char| c.is_whitespace() || punctuation.contains(&c));
    let tail: Vec<char> = trimmed.chars().rev().take(n).collect();
    tail.into_iter().rev().collect::<String>().to_lowercase()
}

/// `s` ends with `word`, which does not continue a longer word to its left.
pub(super) fn ends_with_word(s: &str, word: &str) -> bool {
    s.strip_suffix(word)
        .is_some_and(|rest| !rest.chars().next_back().is_some_and(char::is_alphanumeric))
}

/// `> 90 years old`, `over 90 yo`, ...: a bound, not an age.
pub(super) fn comparison_before(text: &str, start: usize) -> bool {
    let before = lower_before(text, start, 16, &[]);
    before.ends_with(['>', '<', '≥', '≤'])
        || ["over", "above", "under", "below", "than", "beyond", "exceeding"]
            .iter()
            .any(|w| ends_with_word(&before, w))
}

/// `90+`, `90 or over`, `90 years and older`, `90 plus`, ...: the band, not
/// an age.
pub(super) fn band_after(text: &str, end: usize) -> bool {
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
pub(super) fn shorter_unit_after(text: &str, end: usize) -> bool {
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
pub(super) fn long_number(text: &str, start: usize, end: usize) -> Verdict {
    let fraction = char_before(text, start) == Some('.') && is_digit(char_before(text, start - 1));
    if is_digit(char_before(text, start)) || fraction || is_code_context(text, start, end) {
        Verdict::Skip
    } else {
        Verdict::Keep
    }
}

/// The digits at `start..end` are a PubMed, trial-registry, DOI, SNOMED CT or
/// similar code rather than anything about a patient.
pub(super) fn is_code_context(text: &str, start: usize, end: usize) -> bool {
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
