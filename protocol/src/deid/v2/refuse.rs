//! Guard v2's refusing detectors, beyond v1's: each a regex and a check
//! in Rust for what the regex cannot say. They run on normalised text.

use std::sync::LazyLock;

use regex::Regex;

use super::super::checks::{band_after, comparison_before, digits_apart, keep};
use super::super::detectors::{Detector, Verdict, char_after, char_before, compile, detector};
use super::words;
use crate::deid::IdentifierKind::*;

/// A name: a capitalised word (Unicode letters, apostrophes and hyphens
/// inside), optionally a second one, or initials and a surname.
macro_rules! name {
    () => {
        r"(?:\p{Lu}\.\s*)*\p{Lu}[\p{Ll}\p{Lu}'-]*\p{Ll}[\p{L}'-]*(?:\s+\p{Lu}[\p{Ll}\p{Lu}'-]*\p{Ll}[\p{L}'-]*)?"
    };
}
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
macro_rules! units_19 {
    () => {
        r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)"
    };
}

macro_rules! lazy {
    ($name:ident, $($pattern:expr),+ $(,)?) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| compile(concat!($($pattern),+)));
    };
}

lazy!(
    HONORIFIC,
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Sir|Dame|Lady|Lord|Rev|Fr|Herr|Frau|Sr|Sra|Mme|Mlle)\.?\s+",
    name!()
);
lazy!(
    ROLE,
    r"(?i:\b(?:patient|pt|husband|wife|son|daughter|mother|father|mum|mom|dad|brother|sister|partner|spouse|fianc[eé]e?|boyfriend|girlfriend|grandson|granddaughter|grandmother|grandfather|grandma|grandpa|niece|nephew|aunt|uncle|cousin|carer|caregiver|neighbou?r|friend|employer|colleague|guardian|landlord|roommate|flatmate)\b)",
    r"[,:]?\s+(?:(?i:named|called)\s+)?",
    name!()
);
lazy!(
    NAMED,
    r"(?i:\b(?:(?:man|woman|boy|girl|gentleman|lady|child|baby|infant|toddler|teenager|person|he|she|someone|veteran|farmer|teacher|nurse)\b(?:\s+[a-z]+){0,2}?\s+(?:named|called|is\s+called|goes\s+by|known\s+as)",
    r"|\b(?:his|her|their|patient's|pt's)\s+(?:first\s+|last\s+|sur|full\s+)?name\s+(?:is|was)|\b(?:patient|pt)\s+name\s*:))\s+",
    name!()
);
lazy!(
    ADDRESS,
    r"\b[0-9]{1,5}[A-Za-z]?,?\s+(?:\p{Lu}[\p{L}'.-]*\s+){1,3}",
    r"(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Place|Pl|Way|Terrace|Close|Crescent|Square|Sq|Highway|Hwy|Parkway|Pkwy|Gardens|Grove|Row|Mews|Walk|Circle|Cir|Trail|Plaza)\b\.?",
);
lazy!(
    UNIT,
    r"\b(?:Apt|Apartment|Suite|Flat|P\.?\s?O\.?\s+(?:Box|BOX)|[Pp]o\s+[Bb]ox)\.?\s*#?\s*[0-9]+[A-Za-z]?\b"
);
lazy!(POSTCODE_UK, r"\b(?:[A-Z]{1,2}[0-9][A-Z0-9]?|GIR) ?[0-9][ABD-HJLNP-UW-Z]{2}\b");
lazy!(POSTCODE_CA, r"\b[ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z] [0-9][ABCEGHJ-NPRSTV-Z][0-9]\b");
lazy!(
    ZIP_STATE,
    r"\b(?:(?:AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY),?\s+[0-9]{5}(?:-[0-9]{4})?|(?:NSW|VIC|QLD|TAS),?\s+[0-9]{4})\b"
);
lazy!(
    ZIP_CUED,
    r"(?i:\b(?:zip(?:\s*code)?|postal\s*code|post\s*code|postcode)\b)\s*[:#]?\s*[A-Za-z0-9]{2,4}(?:[ -]?[A-Za-z0-9]{2,4})?\b"
);
lazy!(ZIP_PLUS4, r"\b[0-9]{5}-[0-9]{4}\b");
lazy!(
    DAY_MONTH,
    r"(?i)\b(?:(?:the\s+)?",
    day!(),
    r"(?:\s+of)?[\s-]+",
    months!(),
    r"\b\.?|",
    months!(),
    r"\.?\s+(?:the\s+)?",
    day!(),
    r"\b)"
);
lazy!(
    AGE_WORDS,
    r"(?i)\b(?:(?:ninety|one\s+hundred|a\s+hundred|hundred)(?:[\s-]+(?:and\s+)?",
    units_19!(),
    r")?[\s-]+(?:years?|yrs?)[\s-]+(?:old|of\s+age)\b",
    r"|(?:aged?|age\s+of)\s+(?:ninety|one\s+hundred|a\s+hundred)(?:[\s-]+(?:and\s+)?",
    units_19!(),
    r")?\b",
    r"|(?:super)?(?:nonagenarian|centenarian)s?\b",
    r"|in\s+(?:his|her|their)\s+(?:late\s+|early\s+|mid[\s-]+)?(?:nineties|90s|hundreds)\b)"
);
lazy!(
    EMAIL_OBFUSCATED,
    r"(?i)\b[a-z0-9._%+-]+\s*(?:\[\s*at\s*\]|\(\s*at\s*\)|\{\s*at\s*\}|\s+at\s+|\s*@\s*)\s*[a-z0-9-]+",
    r"(?:\s*(?:\.|\[\s*dot\s*\]|\(\s*dot\s*\)|\{\s*dot\s*\}|\s+dot\s+)\s*[a-z0-9-]+)*",
    r"\s*(?:\.|\[\s*dot\s*\]|\(\s*dot\s*\)|\{\s*dot\s*\}|\s+dot\s+)\s*",
    r"(?:com|org|net|edu|gov|uk|ca|au|de|fr|nl|ie|nz|io|us|info|ch|es|it|in|za)\b"
);
lazy!(
    PHONE_CUED,
    r"(?i:\b(?:tel|telephone|phone|fax|facsimile|mob|mobile|cell|cellphone|landline|pager|whatsapp|contact\s+(?:number|no\.?))\b\.?)",
    r"\s*(?:no\.?|number|#)?\s*[:#]?\s*\+?[0-9][0-9\s().-]{5,}[0-9]"
);
lazy!(
    URL,
    r"(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>]+",
    r"|\b[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*",
    r"\.(?:com|org|net|edu|gov|mil|int|io|co|uk|ca|au|nz|ie|de|fr|es|it|nl|be|ch|se|no|dk|fi|pl|pt|in|jp|cn|br|mx|za|us|info|biz|health|app|dev|me|ly)\b(?:/[^\s<>]*)?"
);
lazy!(IPV4, r"\b[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\b");
lazy!(
    IPV6,
    r"(?i)\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|(?:\b[0-9a-f]{1,4})?(?::[0-9a-f]{1,4}){0,6}::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6}\b)?"
);
lazy!(HANDLE, r"@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?");
lazy!(RECORD_SHAPED, r"\b[A-Z]{1,3}-?[0-9]{6,10}\b|#\s?[0-9]{5,}\b");
lazy!(
    HEALTH_PLAN,
    r"(?i:\b(?:medicare|medicaid|mbi|hicn|health\s+plan|insurance|insurer|policy|member|subscriber|beneficiary|group)\b",
    r"(?:\s+(?:id|identifier|number|no\.?|#))?)\s*[:#]?\s*[A-Za-z0-9][A-Za-z0-9-]{4,}"
);
lazy!(
    MBI,
    r"\b[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]-?[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]-?[AC-HJKMNP-RT-Y]{2}[0-9]{2}\b"
);
lazy!(
    LICENCE,
    r"(?:(?i:\b(?:npi|dea|licen[cs]e|lic\.|driver'?s?\s+licen[cs]e|driving\s+licen[cs]e|passport|certificate|cert\.)\b",
    r"(?:\s+(?:id|number|no\.?|#))?)|\bDL\b)\s*[:#]?\s*[A-Za-z0-9][A-Za-z0-9-]{4,}"
);
lazy!(DEA_SHAPED, r"\b[ABCDEFGHJKLMPRSTUX][A-Z9][0-9]{7}\b");
lazy!(VIN, r"\b[A-HJ-NPR-Z0-9]{17}\b");
lazy!(
    PLATE,
    r"(?i:\b(?:licen[cs]e\s+plate|number\s+plate|plate|registration\s+plate|reg\.?|car\s+reg(?:istration)?|tag)\b",
    r"(?:\s+(?:number|no\.?|#))?)\s*[:#]?\s*[A-Z0-9]{1,4}[ -]?[A-Z0-9]{1,4}\b"
);
lazy!(
    DEVICE,
    r"(?i:\b(?:serial(?:\s+(?:number|no\.?|#))?|s/n|s\.n\.|sn|udi|imei|device\s+(?:id|identifier|serial)|lot\s+(?:number|no\.?|#))\b\.?)",
    r"\s*[:#]?\s*[A-Za-z0-9][A-Za-z0-9-]{3,}"
);

/// Guard v2's own detectors; v1's run beside them.
pub(in crate::deid) static DETECTORS: [Detector; 26] = [
    detector(PersonName, &HONORIFIC, cued_name),
    detector(PersonName, &ROLE, cued_name),
    detector(PersonName, &NAMED, cued_name),
    detector(StreetAddress, &ADDRESS, keep),
    detector(StreetAddress, &UNIT, keep),
    detector(Postcode, &POSTCODE_UK, keep),
    detector(Postcode, &POSTCODE_CA, keep),
    detector(Postcode, &ZIP_STATE, keep),
    detector(Postcode, &ZIP_CUED, has_digit),
    detector(Postcode, &ZIP_PLUS4, digits_apart),
    detector(DayMonth, &DAY_MONTH, day_month),
    detector(AgeOver89, &AGE_WORDS, age_in_words),
    detector(Email, &EMAIL_OBFUSCATED, obfuscated_email),
    detector(Phone, &PHONE_CUED, seven_digits),
    detector(Url, &URL, url),
    detector(IpAddress, &IPV4, ipv4),
    detector(IpAddress, &IPV6, ipv6),
    detector(SocialHandle, &HANDLE, handle),
    detector(RecordNumber, &RECORD_SHAPED, record_shaped),
    detector(HealthPlanNumber, &HEALTH_PLAN, four_digits),
    detector(HealthPlanNumber, &MBI, keep),
    detector(LicenceNumber, &LICENCE, four_digits),
    detector(LicenceNumber, &DEA_SHAPED, dea),
    detector(VehicleId, &VIN, vin),
    detector(VehicleId, &PLATE, plate),
    detector(DeviceId, &DEVICE, two_digits),
];

fn digits(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

/// The part of a cue-led match after the cue: its last token.
fn last_token(s: &str) -> &str {
    s.rsplit(|c: char| c.is_whitespace() || c == ':' || c == '#').next().unwrap_or("")
}

fn has_digit(text: &str, start: usize, end: usize) -> Verdict {
    if digits(last_token(&text[start..end])) >= 1 { Verdict::Keep } else { Verdict::Retry }
}

fn seven_digits(text: &str, start: usize, end: usize) -> Verdict {
    if digits(&text[start..end]) >= 7 { Verdict::Keep } else { Verdict::Retry }
}

fn four_digits(text: &str, start: usize, end: usize) -> Verdict {
    if digits(last_token(&text[start..end])) >= 4 { Verdict::Keep } else { Verdict::Retry }
}

fn two_digits(text: &str, start: usize, end: usize) -> Verdict {
    if digits(last_token(&text[start..end])) >= 2 { Verdict::Keep } else { Verdict::Retry }
}

/// The capitalised words after the cue are not all medical or common
/// vocabulary ("the patient Presented" is a typo, not a name).
fn cued_name(text: &str, start: usize, end: usize) -> Verdict {
    let s = &text[start..end];
    let mut names = s
        .split(|c: char| c.is_whitespace() || c == ',' || c == ':')
        .skip(1)
        .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
        .peekable();
    if names.peek().is_none() {
        return Verdict::Retry;
    }
    // `220 Ms.`, `16 Fr Foley`: a unit after a number, not an honorific.
    let after_unit = text[..start].trim_end().ends_with(|c: char| c.is_ascii_digit());
    if after_unit || names.all(|w| words::is_vocabulary(w.trim_end_matches(['.', '\'']))) {
        Verdict::Retry
    } else {
        Verdict::Keep
    }
}

/// A day and month: the month is capitalised, or a full name other than
/// "may" and "march" (verbs); not a range of scores ("3-4 days").
fn day_month(text: &str, start: usize, end: usize) -> Verdict {
    let s = &text[start..end];
    let month = s
        .split(|c: char| !c.is_alphabetic())
        .find(|w| w.len() >= 3 && !matches!(w.to_lowercase().as_str(), "the" | "of"))
        .unwrap_or("");
    let lower = month.to_lowercase();
    let capital = month.chars().next().is_some_and(char::is_uppercase);
    if capital || lower.len() > 3 && !matches!(lower.as_str(), "march" | "sept") {
        Verdict::Keep
    } else {
        Verdict::Retry
    }
}

/// `sepsis.It was`: a missing space after a full stop, not a domain.
fn sentence_typo(s: &str) -> bool {
    s.split_once('.').is_some_and(|(_, rest)| rest.starts_with(char::is_uppercase))
}

/// Not a bound (`over ninety years old`) nor a band (`ninety or over`).
fn age_in_words(text: &str, start: usize, end: usize) -> Verdict {
    if comparison_before(text, start) || band_after(text, end) {
        Verdict::Retry
    } else {
        Verdict::Keep
    }
}

/// An obfuscated address (a real `@` address is v1's): at least one of the
/// obfuscations, and a word before " at " that looks like a mailbox.
fn obfuscated_email(text: &str, start: usize, end: usize) -> Verdict {
    let s = text[start..end].to_lowercase();
    let bracketed = s.contains("[at]") || s.contains("(at)") || s.contains("{at}");
    let spelled =
        s.contains(" at ") && (s.contains(" dot ") || s.contains("(dot)") || s.contains("[dot]"));
    let mailbox =
        s.split(" at ").next().is_some_and(|m| m.contains(['.', '_']) && !m.contains(' '));
    let spaced_at = s.contains(" @") || s.contains("@ ");
    if bracketed || spelled || mailbox && s.contains(" at ") || spaced_at {
        Verdict::Keep
    } else {
        Verdict::Retry
    }
}

/// Not a reference link (a DOI, PubMed, a trial registry, a guideline
/// body): those name no patient.
fn url(text: &str, start: usize, end: usize) -> Verdict {
    let s = text[start..end].to_lowercase();
    let bare = !s.contains("://") && !s.starts_with("www.") && !s.contains('/');
    let tld = s.rsplit('.').next().unwrap_or("");
    let wordlike =
        matches!(tld, "in" | "it" | "me" | "no" | "be" | "at" | "is" | "us" | "es" | "se" | "co");
    if char_before(text, start) == Some('@')
        || words::is_reference_domain(&s)
        || bare && (wordlike || sentence_typo(&text[start..end]))
    {
        Verdict::Skip
    } else {
        Verdict::Keep
    }
}

fn ipv4(text: &str, start: usize, end: usize) -> Verdict {
    let ok = text[start..end].split('.').all(|p| p.parse::<u16>().is_ok_and(|n| n <= 255));
    let glued = matches!(char_before(text, start), Some('.'))
        || matches!(char_after(text, end), Some('.'))
            && text[end + 1..].starts_with(|c: char| c.is_ascii_digit());
    if ok && !glued { Verdict::Keep } else { Verdict::Retry }
}

/// Eight groups, or `::` with at least two groups and a hex letter or
/// three groups (`10:30` is a time; `HLA-B*58:01` an allele).
fn ipv6(text: &str, start: usize, end: usize) -> Verdict {
    let s = &text[start..end];
    let groups = s.split(':').filter(|g| !g.is_empty()).count();
    let hex_letter = s.chars().any(|c| c.is_ascii_alphabetic());
    let ok = groups == 8 || s.contains("::") && groups >= 2 && (hex_letter || groups >= 3);
    if ok { Verdict::Keep } else { Verdict::Skip }
}

/// `@handle`, not an e-mail address's domain nor `@ 10 mg`-style shorthand.
fn handle(text: &str, start: usize, end: usize) -> Verdict {
    let glued =
        char_before(text, start).is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '_'));
    let word = text[start + 1..end].to_lowercase();
    let shorthand = matches!(
        word.as_str(),
        "home" | "night" | "rest" | "work" | "baseline" | "risk" | "bedtime"
    );
    if glued || shorthand || word.chars().all(|c| c.is_ascii_digit()) {
        Verdict::Skip
    } else {
        Verdict::Keep
    }
}

/// `AB1234567`, `#123456`: shaped like a record number, but not a trial,
/// PubMed or variant identifier.
fn record_shaped(text: &str, start: usize, end: usize) -> Verdict {
    let s = &text[start..end];
    let prefix: String = s.chars().take_while(char::is_ascii_alphabetic).collect();
    if words::is_code_prefix(&prefix) || super::super::checks::is_code_context(text, start, end) {
        Verdict::Skip
    } else {
        Verdict::Keep
    }
}

/// A DEA number: two letters, seven digits, its check digit right.
fn dea(text: &str, start: usize, end: usize) -> Verdict {
    let d: Vec<u32> = text[start..end].chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 7 {
        return Verdict::Retry;
    }
    let sum = d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5]);
    if sum % 10 == d[6] { Verdict::Keep } else { Verdict::Retry }
}

/// Seventeen characters with letters and digits both (a DNA sequence has
/// no digits).
fn vin(text: &str, start: usize, end: usize) -> Verdict {
    let s = &text[start..end];
    let letters = s.chars().filter(char::is_ascii_alphabetic).count();
    if digits(s) >= 3 && letters >= 3 { Verdict::Keep } else { Verdict::Retry }
}

/// A plate after its cue has a letter and a digit.
fn plate(text: &str, start: usize, end: usize) -> Verdict {
    let s = &text[start..end];
    let tail: String =
        s.rsplit(|c: char| c.is_whitespace() || c == ':' || c == '#').take(2).collect();
    let letters = tail.chars().any(|c| c.is_ascii_uppercase());
    if digits(&tail) >= 1 && letters { Verdict::Keep } else { Verdict::Retry }
}
