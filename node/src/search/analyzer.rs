//! How medical text is cut into search terms.
//!
//! The [`MedicalTokenizer`] finds words, then tantivy's `LowerCaser` and
//! English `Stemmer` fold them (so "infarctions" finds "infarction"). The
//! tokenizer itself does what a general-purpose one gets wrong for
//! clinical text:
//!
//! - **Codes and alphanumerics stay whole.** A word is a run of letters
//!   and digits, with a `.` kept between a character and a digit: `I21.4`,
//!   `BRCA1`, `HbA1c`, `3.5` are single terms. A dotted code is also
//!   indexed by its stem before the dot (`I21.4` is found by `I21`).
//! - **Hyphenated words both ways.** `post-op` is indexed as `post`, `op`
//!   and `postop`, so `post-op`, `postop` and `post op` all find it; a
//!   query's hyphenated word is searched as the joined form, which every
//!   hyphenated word indexes.
//! - **Abbreviations both ways** ([`ABBREVIATIONS`]): `MI` is indexed with
//!   `myocardial` and `infarction` beside it, and the words `myocardial
//!   infarction` with `mi` beside them, so either spelling of a query finds
//!   either spelling of the text. Expansion happens only when indexing:
//!   a query is not expanded (it would then require both spellings).
//!
//! Added terms take the position and text offsets of the words they come
//! from, so a snippet highlights the words that were written.
//!
//! Indexing folds each word through a cache ([`Folds`]): clinical text
//! repeats its words, and stemming was the largest part of the indexer's
//! work. A word not met yet is folded by the very filters a query's words
//! go through, so the terms are the same.

use std::collections::HashMap;

use tantivy::tokenizer::{
    Language, LowerCaser, RawTokenizer, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer,
};

/// The name the index's text fields are analysed under.
pub const MEDICAL: &str = "curbside_medical";

/// The name a query's words are analysed under (no expansion).
pub const MEDICAL_QUERY: &str = "curbside_medical_query";

/// Longest term kept, in bytes; longer runs (pasted hashes, base64) are
/// dropped rather than bloating the term dictionary.
const MAX_TERM_BYTES: usize = 40;

/// Common clinical abbreviations and what they stand for: each finds the
/// other. Small and explicit on purpose: an abbreviation is added here
/// only when it is unambiguous in clinical text. Lowercase.
pub const ABBREVIATIONS: &[(&str, &[&str])] = &[
    ("mi", &["myocardial", "infarction"]),
    ("af", &["atrial", "fibrillation"]),
    ("ckd", &["chronic", "kidney", "disease"]),
    ("copd", &["chronic", "obstructive", "pulmonary", "disease"]),
    ("chf", &["congestive", "heart", "failure"]),
    ("dvt", &["deep", "vein", "thrombosis"]),
    ("pe", &["pulmonary", "embolism"]),
    ("htn", &["hypertension"]),
    ("cad", &["coronary", "artery", "disease"]),
    ("acs", &["acute", "coronary", "syndrome"]),
    ("aki", &["acute", "kidney", "injury"]),
    ("uti", &["urinary", "tract", "infection"]),
    ("tia", &["transient", "ischaemic", "attack"]),
    ("gerd", &["gastroesophageal", "reflux", "disease"]),
    ("ards", &["acute", "respiratory", "distress", "syndrome"]),
    ("sle", &["systemic", "lupus", "erythematosus"]),
    ("ecg", &["electrocardiogram"]),
];

/// The analyzer of indexed text: [`MedicalTokenizer`] (expanding), its
/// words lowercased and stemmed (English) through a cache of [`Folds`].
pub fn index_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(MedicalTokenizer { expand: true, folds: Some(Folds::default()) }).build()
}

/// The analyzer of a query's words: the same folding (by Tantivy's
/// filters themselves), no expansion.
pub fn query_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(MedicalTokenizer { expand: false, folds: None })
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// Words the fold cache keeps; past this, it forgets them all (a bound on
/// what text from anyone can make it hold: about 5 MB).
const FOLDS_KEPT: usize = 50_000;

/// Each word as written and its term (lowercased, then stemmed), for the
/// words met lately. A miss is folded by Tantivy's own `LowerCaser` and
/// English `Stemmer` (the query analyzer's filters) over the word alone:
/// both act on one token at a time, so the term is the one they would have
/// made of it in the stream. The map's hasher is the standard library's
/// (keyed at random): the words are anyone's text.
#[derive(Clone)]
pub struct Folds {
    terms: HashMap<String, String>,
    fold: TextAnalyzer,
}

impl Default for Folds {
    fn default() -> Self {
        Self {
            terms: HashMap::new(),
            fold: TextAnalyzer::builder(RawTokenizer::default())
                .filter(LowerCaser)
                .filter(Stemmer::new(Language::English))
                .build(),
        }
    }
}

impl std::fmt::Debug for Folds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Folds").field("kept", &self.terms.len()).finish_non_exhaustive()
    }
}

impl Folds {
    /// Replaces `text` (a word as written) by its term.
    fn fold(&mut self, text: &mut String) {
        if let Some(term) = self.terms.get(text.as_str()) {
            text.clone_from(term);
            return;
        }
        let term = {
            let mut stream = self.fold.token_stream(text);
            match stream.next() {
                Some(t) => t.text.clone(),
                None => text.clone(),
            }
        };
        if self.terms.len() >= FOLDS_KEPT {
            self.terms.clear();
        }
        self.terms.insert(std::mem::replace(text, term.clone()), term);
    }
}

/// Registers both analyzers with `index` (an index opened from disk knows
/// its fields' analyzer only by name).
pub fn register(index: &tantivy::Index) {
    index.tokenizers().register(MEDICAL, index_analyzer());
    index.tokenizers().register(MEDICAL_QUERY, query_analyzer());
}

/// The terms `analyzer` makes of `text`, in order (for tests and queries).
pub fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

/// Finds words in medical text (see the module doc). With `expand`, it
/// adds the joined form of hyphenated words, the stems of dotted codes and
/// the other spelling of abbreviations; without, a hyphenated word is
/// only its joined form, and nothing is added.
#[derive(Debug, Clone)]
pub struct MedicalTokenizer {
    expand: bool,
    /// Folds each word itself (the index analyzer) rather than leaving it
    /// to filters after it (the query analyzer).
    folds: Option<Folds>,
}

/// The tokens of one text, made eagerly (texts are bounded by the
/// protocol's size limits).
#[derive(Debug)]
pub struct MedicalTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for MedicalTokenStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for MedicalTokenizer {
    type TokenStream<'a> = MedicalTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> MedicalTokenStream {
        let mut tokens = tokenize(text, self.expand);
        if let Some(folds) = &mut self.folds {
            for t in &mut tokens {
                folds.fold(&mut t.text);
            }
        }
        MedicalTokenStream { tokens, next: 0 }
    }
}

/// A word as written: its byte range and its hyphen-separated parts.
struct Word<'t> {
    from: usize,
    to: usize,
    parts: Vec<(usize, &'t str)>,
}

/// The words of `text`: runs of alphanumerics, with `.` kept between an
/// alphanumeric and a digit and `-` kept between two alphanumerics.
fn words(text: &str) -> Vec<Word<'_>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].1.is_alphanumeric() {
            i += 1;
            continue;
        }
        let from = chars[i].0;
        let mut parts = Vec::new();
        let mut part_from = from;
        let mut j = i;
        loop {
            j += 1;
            let Some(&(at, c)) = chars.get(j) else { break };
            if c.is_alphanumeric() {
                continue;
            }
            let next = chars.get(j + 1).map(|&(_, n)| n);
            if c == '.' && next.is_some_and(|n| n.is_ascii_digit()) {
                continue;
            }
            if c == '-' && next.is_some_and(char::is_alphanumeric) {
                parts.push((part_from, &text[part_from..at]));
                part_from = at + 1;
                continue;
            }
            break;
        }
        let to = chars.get(j).map_or(text.len(), |&(at, _)| at);
        parts.push((part_from, &text[part_from..to]));
        out.push(Word { from, to, parts });
        i = j;
    }
    out
}

fn token(text: String, from: usize, to: usize, position: usize) -> Token {
    Token { offset_from: from, offset_to: to, position, text, position_length: 1 }
}

fn tokenize(text: &str, expand: bool) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut position = 0;
    // The words so far with where each started and its position: for
    // spotting an abbreviation's expansion written out.
    let mut recent: Vec<(Written, usize, usize)> = Vec::new();
    for word in words(text) {
        let start = position;
        if word.parts.len() > 1 {
            if expand {
                for (from, part) in &word.parts {
                    push_word(&mut tokens, part, *from, position, expand);
                    position += 1;
                }
            }
            let joined: String = word.parts.iter().map(|(_, p)| *p).collect();
            if joined.len() <= MAX_TERM_BYTES {
                tokens.push(token(joined, word.from, word.to, start));
            }
            if !expand {
                position += 1;
            }
        } else {
            push_word(&mut tokens, &text[word.from..word.to], word.from, position, expand);
            position += 1;
        }
        if expand {
            recent.push((Written::of(&text[word.from..word.to]), word.from, start));
            if recent.len() > 4 {
                recent.remove(0);
            }
            for (short, long) in ABBREVIATIONS {
                if recent.len() >= long.len()
                    && recent[recent.len() - long.len()..]
                        .iter()
                        .zip(long.iter())
                        .all(|((w, _, _), l)| w.lowercase_is(l))
                {
                    let (_, from, at) = recent[recent.len() - long.len()];
                    tokens.push(token((*short).to_string(), from, word.to, at));
                }
            }
        }
    }
    tokens
}

/// A word as written, compared with lowercase words (abbreviations and
/// their expansions) without making a lowercase copy of it when it is
/// ASCII, as it nearly always is.
#[derive(Clone, Copy)]
struct Written<'t> {
    word: &'t str,
    ascii: bool,
}

impl<'t> Written<'t> {
    fn of(word: &'t str) -> Self {
        Self { word, ascii: word.is_ascii() }
    }

    /// Whether the word lowercased is `lower` (itself lowercase).
    fn lowercase_is(self, lower: &str) -> bool {
        if self.ascii {
            self.word.len() == lower.len() && self.word.eq_ignore_ascii_case(lower)
        } else {
            self.word.to_lowercase() == lower
        }
    }
}

/// One word without hyphens: itself, and when expanding, its code stem
/// and its abbreviation's expansion, at the same position.
fn push_word(tokens: &mut Vec<Token>, word: &str, from: usize, position: usize, expand: bool) {
    if word.len() > MAX_TERM_BYTES {
        return;
    }
    let to = from + word.len();
    tokens.push(token(word.to_string(), from, to, position));
    if !expand {
        return;
    }
    if let Some(dot) = word.find('.') {
        let stem = &word[..dot];
        if stem.chars().any(|c| c.is_alphabetic()) {
            tokens.push(token(stem.to_string(), from, to, position));
        }
    }
    let written = Written::of(word);
    if let Some((_, long)) = ABBREVIATIONS.iter().find(|(short, _)| written.lowercase_is(short)) {
        for w in *long {
            tokens.push(token((*w).to_string(), from, to, position));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(text: &str) -> Vec<String> {
        terms(&mut index_analyzer(), text)
    }

    fn query(text: &str) -> Vec<String> {
        terms(&mut query_analyzer(), text)
    }

    #[test]
    fn codes_and_alphanumerics_are_single_terms() {
        assert_eq!(query("I21.4 BRCA1 HbA1c 3.5 mg"), ["i21.4", "brca1", "hba1c", "3.5", "mg"]);
        // A sentence's full stop is not part of a code; the stem of a
        // dotted code is indexed too.
        assert_eq!(index("code I21.4."), ["code", "i21.4", "i21"]);
        assert!(index("HbA1c of 9.1%").contains(&"hba1c".to_string()));
    }

    #[test]
    fn hyphenated_words_are_found_both_ways() {
        assert_eq!(index("post-op day"), ["post", "op", "postop", "day"]);
        assert_eq!(query("post-op"), ["postop"]);
        assert_eq!(query("postop"), ["postop"]);
        // A trailing or doubled hyphen is not part of a word.
        assert_eq!(query("well- known"), ["well", "known"]);
    }

    #[test]
    fn abbreviations_and_their_expansions_find_each_other() {
        let short = index("Prior MI in 2019");
        for term in ["mi", "myocardi", "infarct"] {
            assert!(short.contains(&term.to_string()), "{term} in {short:?}");
        }
        let long = index("history of chronic kidney disease");
        assert!(long.contains(&"ckd".to_string()), "{long:?}");
        assert!(index("new onset atrial fibrillation").contains(&"af".to_string()));
        // A query is not expanded.
        assert_eq!(query("MI"), ["mi"]);
        assert_eq!(query("myocardial infarction"), ["myocardi", "infarct"]);
    }

    #[test]
    fn words_are_lowercased_and_stemmed() {
        assert_eq!(query("Infarctions Treated"), ["infarct", "treat"]);
        assert_eq!(query("running"), query("runs"));
    }

    #[test]
    fn offsets_point_at_the_words_written() {
        let text = "Known CKD, post-op";
        let mut analyzer = index_analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut seen = Vec::new();
        while let Some(t) = stream.next() {
            seen.push((t.text.clone(), &text[t.offset_from..t.offset_to]));
        }
        assert!(seen.contains(&("kidney".into(), "CKD")), "{seen:?}");
        assert!(seen.contains(&("postop".into(), "post-op")), "{seen:?}");
        assert!(seen.contains(&("op".into(), "op")), "{seen:?}");
    }

    /// The cached folding makes exactly the terms Tantivy's filters make
    /// after the same tokenizer, hit or miss, past the cache's bound too.
    #[test]
    fn the_fold_cache_makes_the_terms_the_filters_make() {
        let mut uncached = TextAnalyzer::builder(MedicalTokenizer { expand: true, folds: None })
            .filter(LowerCaser)
            .filter(Stemmer::new(Language::English))
            .build();
        let mut cached = index_analyzer();
        let texts = [
            "Prior MI; Troponins rising, troponin 3400 ng/L. I21.4 on discharge",
            "New onset Atrial Fibrillation post-op, HbA1c 9.1%, CKD stage 3",
            "ΟΔΥΣΣΕΥΣ ΣΑΣ Σ: Greek final sigma; İstanbul; STRASSE Straße; \u{212A}elvin CKD",
            "running runs ran Running RUNNING generalisations generalizations",
            "chronic kidney disease, Chronic Kidney Disease, CHRONIC KIDNEY DISEASE",
        ];
        // Twice over, so that the second pass is all hits.
        for text in texts.iter().chain(texts.iter()) {
            assert_eq!(terms(&mut cached, text), terms(&mut uncached, text), "{text}");
        }
        // More distinct words than it keeps: it forgets and goes on right.
        let many: String = (0..FOLDS_KEPT + 10).map(|i| format!("w{i}ing ")).collect();
        assert_eq!(terms(&mut cached, &many), terms(&mut uncached, &many));
        assert_eq!(terms(&mut cached, texts[0]), terms(&mut uncached, texts[0]));
    }

    #[test]
    fn overlong_runs_are_dropped() {
        let long = "a".repeat(MAX_TERM_BYTES + 1);
        assert_eq!(query(&format!("x {long} y")), ["x", "y"]);
    }
}
