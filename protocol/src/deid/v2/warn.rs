//! Guard v2's warnings: what it cannot decide with high precision, shown
//! to the author before signing and never refused by a node.
//!
//! - a capitalised word (or run of them) that is not vocabulary
//!   ([`super::words`]), not an acronym and not the first word of a
//!   sentence, line or list item: [`Place`] after "in", "from", "at",
//!   "near"...; [`Institution`] before "Hospital", "Clinic"... or after
//!   "St"; otherwise [`PossibleName`]. Text written in title case (a title)
//!   is not read for these, since every word in it is capitalised;
//! - a month with its year ([`MonthYear`]): Safe Harbor counts the month.

use std::sync::LazyLock;

use regex::Regex;

use super::super::detectors::compile;
use super::words;
use crate::deid::{Finding, IdentifierKind::*, resolve};

static MONTH_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?i)\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?",
        r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?,?\s+(?:(?:19|20)[0-9]{2}|'[0-9]{2})\b",
    ))
});

/// Words after which a capitalised word is probably a place.
const PLACE_CUES: [&str; 12] = [
    "in",
    "from",
    "at",
    "near",
    "to",
    "visiting",
    "lives",
    "living",
    "moved",
    "travelled",
    "traveled",
    "outside",
];

/// Words that make the capitalised words before them an institution.
const INSTITUTION_WORDS: [&str; 16] = [
    "hospital",
    "clinic",
    "infirmary",
    "university",
    "college",
    "hospice",
    "surgery",
    "practice",
    "centre",
    "center",
    "institute",
    "school",
    "trust",
    "foundation",
    "prison",
    "nursing",
];

/// Every warning in normalised `text`, in order, non-overlapping.
pub fn warnings(text: &str) -> Vec<Finding> {
    let mut found: Vec<Finding> = MONTH_YEAR
        .find_iter(text)
        .filter(|m| {
            let first = m.as_str().chars().next();
            first.is_some_and(char::is_uppercase) || m.as_str().len() > 9
        })
        .map(|m| Finding { kind: MonthYear, start: m.start(), end: m.end() })
        .collect();
    if text.bytes().any(|b| b.is_ascii_uppercase()) || !text.is_ascii() {
        found.extend(capitalised(text));
    }
    resolve(found)
}

/// A word of `text`: its byte range.
#[derive(Clone, Copy)]
struct Word {
    start: usize,
    end: usize,
}

fn words_of(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let inner = c.is_alphabetic() || (start.is_some() && matches!(c, '\'' | '-'));
        match (inner, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(Word { start: s, end: i });
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(Word { start: s, end: text.len() });
    }
    out
}

/// Whether `w` opens a sentence, a line, a list item or a quotation.
fn starts_sentence(text: &str, w: Word) -> bool {
    let before = text[..w.start].trim_end_matches([' ', '\t', '"', '(', '\'', '*']);
    before.is_empty()
        || before.ends_with(['.', '!', '?', ':', ';', '\n', '-', '•', ')', '>', '/', '|'])
        || text[before.len()..w.start].contains('\n')
}

fn is_name_like(word: &str) -> bool {
    let word = word.trim_end_matches('-');
    if !word.starts_with(char::is_uppercase)
        || !word.chars().any(char::is_lowercase)
        || word.chars().count() < 2
    {
        return false;
    }
    // `IgG`, `AChR`, `SpO`: short words with a capital inside are notation.
    let notation = word.chars().skip(1).any(char::is_uppercase)
        && !word.contains(['\'', '-'])
        && word.chars().count() <= 4;
    // `D-dimer`, `EMPEROR-Preserved`, `Glasgow-Blatchford`: a letter, an
    // acronym or a known word in a compound makes it vocabulary.
    let vocabulary = word.split('-').any(|p| {
        p.chars().count() <= 1
            || p.chars().all(char::is_uppercase)
            || words::is_warning_vocabulary(p)
    });
    // `Ib`, `IIa`: a sub-grade (Forrest Ib), not a name.
    !notation && !vocabulary && !roman(word) && !product_name(word)
}

/// `GeneXpert`, `FibroScan`, `QuantiFERON`: a capital inside a word, after
/// a first part of four or more letters is a product's name. Surnames with an
/// inner capital have a short prefix (`McDonald`, `MacLeod`, `DiMaggio`,
/// `DeLuca`), or `Fitz`.
fn product_name(word: &str) -> bool {
    let mut chars = word.chars();
    if !chars.next().is_some_and(char::is_uppercase) || word.starts_with("Fitz") {
        return false;
    }
    let prefix = chars.by_ref().take_while(|c| c.is_lowercase()).count();
    prefix >= 3 && word.chars().nth(prefix + 1).is_some_and(char::is_uppercase)
}

/// Nouns after which a capitalised word is an eponym (`Duke criteria`,
/// `Hurley stage`, `Parkland formula`), not a person.
const EPONYM_NOUNS: [&str; 40] = [
    "score",
    "scores",
    "criteria",
    "sign",
    "signs",
    "stage",
    "staging",
    "type",
    "classification",
    "formula",
    "scale",
    "syndrome",
    "disease",
    "test",
    "manoeuvre",
    "maneuver",
    "repair",
    "fracture",
    "catheter",
    "procedure",
    "operation",
    "phenomenon",
    "reflex",
    "triad",
    "rule",
    "rules",
    "index",
    "grade",
    "node",
    "nodes",
    "law",
    "equation",
    "method",
    "position",
    "tube",
    "surgery",
    "questionnaire",
    "palsy",
    "contracture",
    "cells",
];

/// A capitalised word in a clinical frame: glued to digits (`SpO2`,
/// `Ki-67`), after a number (`16 Fr`), before a number (`Centor 4`) or
/// before an eponym's noun (`Duke criteria`).
fn clinical_frame(text: &str, w: Word, next: Option<&str>) -> bool {
    let before = text[..w.start].chars().next_back();
    let after = text[w.end..].trim_start_matches('-').chars().next();
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    digit(before)
        || digit(after)
        || text[..w.start].trim_end().ends_with(|c: char| c.is_ascii_digit())
        || text[w.end..].trim_start().starts_with(|c: char| c.is_ascii_digit())
        || next.is_some_and(|n| EPONYM_NOUNS.contains(&n.to_lowercase().as_str()))
}

/// Nouns after which a place or a common name that names a classification
/// or a sign ([`words::is_framed_name`]) is that, not a person or a place:
/// the eponym nouns and more (`Milan criteria`, `Paris system`, `Marburg
/// virus`, `Auer rods`, `Bence Jones protein`).
const FRAME_NOUNS: [&str; 52] = [
    "definition",
    "consensus",
    "system",
    "level",
    "class",
    "grading",
    "category",
    "categories",
    "protocol",
    "nomogram",
    "guidelines",
    "tumour",
    "tumor",
    "sarcoma",
    "lymphoma",
    "carcinoma",
    "cell",
    "ulcer",
    "lesion",
    "virus",
    "fever",
    "angle",
    "waves",
    "spots",
    "murmur",
    "protein",
    "transformation",
    "chromosome",
    "rods",
    "bodies",
    "body",
    "stain",
    "smear",
    "pupil",
    "paralysis",
    "cyst",
    "neuroma",
    "lamp",
    "lines",
    "nails",
    "angina",
    "pouch",
    "balloon",
    "splint",
    "rosettes",
    "nuclei",
    "hump",
    "contractions",
    "sequence",
    "oedema",
    "edema",
    "inventory",
];

/// A Roman numeral, with a sub-grade letter (`IV`, `IIIB`, `Ib`, `IIc`).
fn roman(word: &str) -> bool {
    let numeral = word.trim_end_matches(['a', 'b', 'c', 'A', 'B', 'C']);
    !numeral.is_empty()
        && numeral.len() <= 4
        && numeral.chars().all(|c| matches!(c, 'I' | 'V' | 'X'))
        && word.len() - numeral.len() <= 1
}

/// The run `words[i..j]` is all places or common names that name a
/// classification or a sign (or vocabulary), in a clinical frame: followed
/// by a number, a Roman numeral, a frame noun or an eponym's noun,
/// possibly after more capitalised words (`Miller Fisher syndrome`,
/// `Ann Arbor stage IIA`, `Rome IV`, `Bethesda III`, `Milan criteria`).
/// "lives in Milan" and "saw Forrest" stay warnings.
fn framed_run(text: &str, words: &[Word], i: usize, j: usize) -> bool {
    let frame_noun = |w: &str| {
        let is = |list: &[&str], w: &str| list.iter().any(|n| n.eq_ignore_ascii_case(w));
        is(&FRAME_NOUNS, w)
            || is(&EPONYM_NOUNS, w)
            || w.strip_suffix(['s', 'S']).is_some_and(|n| is(&FRAME_NOUNS, n))
    };
    let all_framed = words[i..j].iter().all(|w| {
        let w = &text[w.start..w.end];
        w.split('-')
            .all(|p| words::is_framed_name(p) || words::is_warning_vocabulary(p) || frame_noun(p))
    });
    if !all_framed {
        return false;
    }
    // `Truelove and Witts`, `Kellgren and Lawrence`: paired with an eponym.
    let paired = i >= 2
        && text[words[i - 1].start..words[i - 1].end].eq_ignore_ascii_case("and")
        && text[words[i - 2].end..words[i].start].trim() == "and"
        && {
            let p = &text[words[i - 2].start..words[i - 2].end];
            p.starts_with(char::is_uppercase)
                && (words::is_framed_name(p) || words::is_warning_vocabulary(p))
        };
    if paired {
        return true;
    }
    let mut k = j;
    let adjacent = |k: usize| text[words[k - 1].end..words[k].start].trim().is_empty();
    while k < words.len()
        && k < j + 3
        && adjacent(k)
        && text[words[k].start..].starts_with(char::is_uppercase)
        && !roman(&text[words[k].start..words[k].end])
    {
        k += 1;
    }
    let end = words[k - 1].end;
    let after = text[end..].trim_start();
    if after.starts_with(|c: char| c.is_ascii_digit()) {
        return true;
    }
    if words.get(k).is_some_and(|n| {
        let n_text = &text[n.start..n.end];
        // Not a lone `I`: "in Paris I think" is the pronoun.
        after.starts_with(n_text) && roman(n_text) && n_text != "I"
    }) {
        return true;
    }
    // A frame noun within the next three words of the same clause
    // (`Mayo endoscopic score`, `Lugano classification`).
    let mut last = end;
    for n in words.iter().skip(k).take(3) {
        if !text[last..n.start].trim().is_empty() {
            return false;
        }
        if frame_noun(&text[n.start..n.end]) {
            return true;
        }
        last = n.end;
    }
    false
}

/// Written in title case: most of its vocabulary words (longer than three
/// letters) are capitalised, as they never are in prose. An institution's
/// word ("General Hospital") is capitalised in prose too, so it does not
/// count: "transferred from Northfield General Hospital" is prose.
fn title_case(text: &str, words: &[Word]) -> bool {
    let vocabulary: Vec<&str> = words
        .iter()
        .map(|w| &text[w.start..w.end])
        .filter(|w| {
            w.chars().count() > 3
                && words::is_vocabulary(w)
                && !INSTITUTION_WORDS.iter().any(|i| i.eq_ignore_ascii_case(w))
        })
        .collect();
    let capital = vocabulary.iter().filter(|w| w.starts_with(char::is_uppercase)).count();
    vocabulary.len() >= 2 && capital * 10 >= vocabulary.len() * 6
}

/// Runs of capitalised, non-vocabulary words that do not start a sentence.
fn capitalised(text: &str) -> Vec<Finding> {
    let words = words_of(text);
    if title_case(text, &words) {
        return Vec::new();
    }
    let lower = |w: Word| text[w.start..w.end].to_lowercase();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let saint = matches!(&text[w.start..w.end], "St" | "Saint" | "ST" | "SAINT")
            && text[w.end..].starts_with([' ', '.'])
            && words.get(i + 1).is_some_and(|n| is_name_like(&text[n.start..n.end]));
        let next = words.get(i + 1).map(|n| &text[n.start..n.end]);
        if !saint
            && (!is_name_like(&text[w.start..w.end])
                || starts_sentence(text, w)
                || clinical_frame(text, w, next))
        {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < words.len()
            && text[words[j - 1].end..words[j].start].trim().is_empty()
            && is_name_like(&text[words[j].start..words[j].end])
        {
            j += 1;
        }
        if !saint && framed_run(text, &words, i, j) {
            i = j;
            continue;
        }
        // "Northfield General Hospital": up to three capitalised words
        // between the run and the institution's word.
        let capital_next = |k: usize| {
            words.get(k).is_some_and(|n| {
                text[n.start..].starts_with(char::is_uppercase)
                    && text[words[k - 1].end..n.start].trim().is_empty()
            })
        };
        let mut k = j;
        while k < j + 3 && capital_next(k) && !INSTITUTION_WORDS.contains(&lower(words[k]).as_str())
        {
            k += 1;
        }
        let next_institution =
            capital_next(k) && INSTITUTION_WORDS.contains(&lower(words[k]).as_str());
        let end = if next_institution { words[k].end } else { words[j - 1].end };
        let kind = if saint || next_institution {
            Institution
        } else if i > 0 && PLACE_CUES.contains(&lower(words[i - 1]).as_str()) {
            Place
        } else {
            PossibleName
        };
        out.push(Finding { kind, start: w.start, end });
        i = j.max(i + 1);
    }
    out
}
