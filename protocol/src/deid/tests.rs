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
    for kind in IdentifierKind::V1 {
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
