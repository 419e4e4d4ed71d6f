//! The register of licences a regulator holds, read from CSV (RFC 4180:
//! comma-separated, `"` quotes with `""` inside them, LF or CRLF; a
//! leading byte-order mark is skipped; a header with no comma but a
//! semicolon makes `;` the separator, as spreadsheets in many countries
//! write it).
//!
//! The header names the columns, in any order, case and spacing aside:
//!
//! | column | also accepted | holds |
//! | --- | --- | --- |
//! | `licence` | `license`, `licence_number`, `license_number`, `licence_no`, `license_no`, `registration_number` | the licence number, as the register writes it |
//! | `end_date` | `end`, `valid_until`, `expires`, `expiry`, `expiry_date` | the last day the licence is in force (`YYYY-MM-DD`, UTC; empty: no end) |
//! | `jurisdiction` (optional) | | where it was issued (`GB`, `US-CA`...); without this column a licence number is matched in any jurisdiction |
//!
//! Other columns (a name, a status) are ignored. Licence numbers are
//! compared as the node compares them (`verifier::issued::same_licence`):
//! spaces and letter case aside.

use std::collections::HashMap;

use curbside_protocol::Timestamp;

/// Header names of the licence number column, normalised.
const LICENCE_COLUMNS: &[&str] = &[
    "licence",
    "license",
    "licence_number",
    "license_number",
    "licence_no",
    "license_no",
    "registration_number",
];
/// Header names of the end date column, normalised.
const END_COLUMNS: &[&str] =
    &["end_date", "end", "valid_until", "expires", "expiry", "expiry_date"];
/// The header name of the optional jurisdiction column.
const JURISDICTION_COLUMN: &str = "jurisdiction";

/// A day, in milliseconds.
const DAY_MS: u64 = 86_400_000;

/// A licence on the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Licence {
    /// The line of the register it is on (from 1, the header's).
    pub(super) line: usize,
    /// The licence number as the register writes it.
    pub(super) licence: String,
    /// Its jurisdiction, if the register has that column.
    pub(super) jurisdiction: Option<String>,
    /// Its last day in force as written (`YYYY-MM-DD`); `None`: no end.
    pub(super) end_date: Option<String>,
    /// The moment it stops being in force: midnight (UTC) after its end
    /// date.
    pub(super) ends_at: Option<Timestamp>,
}

/// The register, by licence.
#[derive(Debug, Default)]
pub(super) struct Register {
    by_key: HashMap<(Option<String>, String), Licence>,
    /// Whether licences are matched with their jurisdiction.
    pub(super) by_jurisdiction: bool,
}

/// A licence number as a register and the node compare it: spaces
/// dropped, letters in lower case.
pub(super) fn normalise(licence: &str) -> String {
    licence.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// A header name as matched: trimmed, lower case, spaces and hyphens as `_`.
fn column_name(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c.to_ascii_lowercase() })
        .collect()
}

impl Register {
    /// Reads a register from CSV text; the error names the line and says
    /// what to change.
    pub(super) fn parse(text: &str) -> Result<Register, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let first_line = text.lines().next().unwrap_or("");
        let separator =
            if !first_line.contains(',') && first_line.contains(';') { ';' } else { ',' };
        let records = records(text, separator)?;
        let mut records = records.into_iter();
        let Some((_, header)) = records.next() else {
            return Err("the register is empty: it needs a header line (licence,end_date)".into());
        };
        let names: Vec<String> = header.iter().map(|h| column_name(h)).collect();
        let find = |accepted: &[&str]| names.iter().position(|n| accepted.contains(&n.as_str()));
        let Some(licence_at) = find(LICENCE_COLUMNS) else {
            return Err(format!(
                "the register's header ({}) has no licence number column: name it `licence` \
                 (or one of {})",
                header.join(","),
                LICENCE_COLUMNS.join(", ")
            ));
        };
        let Some(end_at) = find(END_COLUMNS) else {
            return Err(format!(
                "the register's header ({}) has no end date column: name it `end_date` (or one \
                 of {}); leave a cell empty for a licence with no end",
                header.join(","),
                END_COLUMNS.join(", ")
            ));
        };
        let jurisdiction_at = find(&[JURISDICTION_COLUMN]);
        let mut register =
            Register { by_key: HashMap::new(), by_jurisdiction: jurisdiction_at.is_some() };
        for (line, fields) in records {
            if fields.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            if fields.len() != header.len() {
                return Err(format!(
                    "line {line} of the register has {} field(s), its header {}: quote a field \
                     that holds the separator",
                    fields.len(),
                    header.len()
                ));
            }
            let licence = fields[licence_at].trim().to_owned();
            if licence.is_empty() {
                return Err(format!("line {line} of the register has no licence number"));
            }
            let end = fields[end_at].trim();
            let (end_date, ends_at) = if end.is_empty() {
                (None, None)
            } else {
                (
                    Some(end.to_owned()),
                    Some(end_of_day(end).map_err(|e| format!("line {line}: {e}"))?),
                )
            };
            let jurisdiction = jurisdiction_at.map(|at| fields[at].trim().to_ascii_uppercase());
            let key = (jurisdiction.clone(), normalise(&licence));
            let entry = Licence { line, licence, jurisdiction, end_date, ends_at };
            if let Some(before) = register.by_key.get(&key) {
                return Err(format!(
                    "the register names licence {} twice (lines {} and {line}): keep one row per \
                     licence",
                    entry.licence, before.line
                ));
            }
            register.by_key.insert(key, entry);
        }
        Ok(register)
    }

    /// The licence `licence` of `jurisdiction`, if the register holds it.
    pub(super) fn find(&self, jurisdiction: &str, licence: &str) -> Option<&Licence> {
        let jurisdiction = self.by_jurisdiction.then(|| jurisdiction.trim().to_ascii_uppercase());
        self.by_key.get(&(jurisdiction, normalise(licence)))
    }

    /// How many licences it holds.
    pub(super) fn len(&self) -> usize {
        self.by_key.len()
    }
}

/// Midnight (UTC) after the date `YYYY-MM-DD`: when a licence whose last
/// day that is stops being in force.
fn end_of_day(date: &str) -> Result<Timestamp, String> {
    let well_formed = date.len() == 10
        && date
            .bytes()
            .enumerate()
            .all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    let bad = || format!("{date:?} is not a date YYYY-MM-DD");
    if !well_formed {
        return Err(bad());
    }
    let day = curbside_node::search::query::parse_since(date).map_err(|_| bad())?;
    Ok(Timestamp::from_millis(day.as_millis() + DAY_MS))
}

/// The records of CSV `text` split at `separator`, each with the line it
/// starts on (from 1).
fn records(text: &str, separator: char) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut out = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut starts_on = 1;
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            '"' => {
                return Err(format!(
                    "line {line} of the register has a quote inside an unquoted field: quote the \
                     whole field and double the quote (\"\")"
                ));
            }
            c if c == separator => fields.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                out.push((starts_on, std::mem::take(&mut fields)));
                line += 1;
                starts_on = line;
                any = false;
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(format!(
            "the quote opened on line {starts_on} of the register is never closed"
        ));
    }
    if any {
        fields.push(field);
        out.push((starts_on, fields));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_crlf_and_a_bom_are_read() {
        let text = "\u{feff}name,licence,end_date\r\n\"Okafor, Ada\",GMC 7654321,2027-03-31\r\n\"Say \"\"Bea\"\"\",\"IMC\n42\",\r\n";
        let records = records(text.strip_prefix('\u{feff}').unwrap(), ',').unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(
            records[1],
            (2, vec!["Okafor, Ada".into(), "GMC 7654321".into(), "2027-03-31".into()])
        );
        assert_eq!(records[2], (3, vec!["Say \"Bea\"".into(), "IMC\n42".into(), String::new()]));

        let register = Register::parse(text).unwrap();
        assert_eq!(register.len(), 2);
        assert!(!register.by_jurisdiction);
        let ada = register.find("GB", "gmc7654321").unwrap();
        assert_eq!(ada.line, 2);
        assert_eq!(ada.end_date.as_deref(), Some("2027-03-31"));
        // Through the whole of its last day.
        let midnight = curbside_node::search::query::parse_since("2027-04-01").unwrap();
        assert_eq!(ada.ends_at, Some(midnight));
        assert_eq!(register.find("IE", "IMC\n42").unwrap().ends_at, None, "an empty end: no end");
        assert!(register.find("GB", "7654321").is_none());
    }

    #[test]
    fn common_column_names_a_jurisdiction_and_semicolons_are_accepted() {
        let text = "Jurisdiction;License Number;Expiry Date;Status\nGB;7654321;2026-12-31;active\nie;7654321;;active\n";
        let register = Register::parse(text).unwrap();
        assert!(register.by_jurisdiction);
        assert_eq!(register.find("GB", "7654321").unwrap().end_date.as_deref(), Some("2026-12-31"));
        assert_eq!(register.find("IE", "7654321").unwrap().line, 3);
        assert!(register.find("FR", "7654321").is_none());
    }

    #[test]
    fn a_bad_register_is_refused_with_its_line_and_what_to_do() {
        let refused = |text: &str| Register::parse(text).unwrap_err();
        assert!(refused("").contains("empty"));
        assert!(refused("name,end_date\nAda,2027-01-01\n").contains("no licence number column"));
        assert!(refused("licence,name\n1,Ada\n").contains("no end date column"));
        let e = refused("licence,end_date\n1,2027-01-01\n2\n");
        assert!(e.contains("line 3") && e.contains("1 field(s), its header 2"), "{e}");
        let e = refused("licence,end_date\n1,31/12/2027\n");
        assert!(e.contains("line 2") && e.contains("YYYY-MM-DD"), "{e}");
        let e = refused("licence,end_date\nGMC 1,2027-01-01\n\ngmc1,2028-01-01\n");
        assert!(e.contains("twice (lines 2 and 4)"), "{e}");
        let e = refused("licence,end_date\n,2027-01-01\n");
        assert!(e.contains("line 2 of the register has no licence number"), "{e}");
        assert!(refused("licence,end_date\n\"1,2027-01-01\n").contains("never closed"));
        assert!(refused("licence,end_date\n1\"2,2027-01-01\n").contains("quote inside"));
    }

    #[test]
    fn licences_are_normalised_as_the_node_compares_them() {
        for (a, b) in
            [("GMC 7654321", "gmc7654321"), (" 76 54 ", "7654"), ("A-1", "a-1"), ("1", "2")]
        {
            assert_eq!(
                normalise(a) == normalise(b),
                curbside_node::verifier::issued::same_licence(a, b),
                "{a:?} {b:?}"
            );
        }
    }
}
