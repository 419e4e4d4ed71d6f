//! Word lists guard v2 consults: vocabulary that is not a name, reference
//! domains that name no patient, prefixes of codes that are not records.

use std::collections::HashSet;
use std::sync::LazyLock;

/// The vocabulary the name refusal reads ([`is_vocabulary`]): a word
/// added here would stop `Dr <word>` from being refused, which would split
/// nodes, so this list is frozen with guard v2's refusals (the pinned
/// findings in `tests/deid_corpus.rs` fail if it changes what v2 refuses).
/// Words that should only stop a warning go in the lists below.
static VOCABULARY: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| lines(include_str!("vocabulary.txt")));

/// Clinical proper nouns that are not people (microorganisms, rare
/// eponyms): vocabulary for the warnings only.
static CLINICAL_NAMES: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| lines(include_str!("clinical-names.txt")));

/// Places, surnames and first names that name a classification or a
/// sign: vocabulary for the warnings only, and only in a clinical frame.
static FRAMED_NAMES: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| lines(include_str!("framed-names.txt")));

fn lines(list: &'static str) -> HashSet<&'static str> {
    list.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

/// Whether `word` (any case) is vocabulary rather than a possible name:
/// listed, or a possessive of a listed word, or a word the lists know
/// once a plural `s` is dropped.
///
/// Guard v2's name refusal reads this: it must not change (see
/// [`VOCABULARY`]). The warnings read [`is_warning_vocabulary`].
pub(super) fn is_vocabulary(word: &str) -> bool {
    with_lowercase(word, |lower| {
        if lower.is_empty() {
            return true;
        }
        let base = lower.strip_suffix("'s").unwrap_or(lower);
        listed(&VOCABULARY, lower) || medical_suffix(base)
    })
}

/// Whether `word` is vocabulary for the warnings: [`is_vocabulary`], or a
/// clinical proper noun that is not a person (a microorganism, a rare
/// eponym). Warnings are not a consensus rule, so this list may grow.
pub(super) fn is_warning_vocabulary(word: &str) -> bool {
    is_vocabulary(word)
        || with_lowercase(word, |lower| {
            let base = lower.strip_suffix("'s").unwrap_or(lower);
            listed(&CLINICAL_NAMES, lower) || organism_suffix(base)
        })
}

/// Whether `word` is a place or a common name that names a classification
/// or a sign (`Milan`, `Bethesda`, `Clark`): vocabulary only in a
/// clinical frame, which the caller judges.
pub(super) fn is_framed_name(word: &str) -> bool {
    with_lowercase(word, |lower| !lower.is_empty() && listed(&FRAMED_NAMES, lower))
}

/// `lower` is listed in `set`, or its possessive's base, or its singular.
fn listed(set: &HashSet<&'static str>, lower: &str) -> bool {
    let base = lower.strip_suffix("'s").unwrap_or(lower);
    set.contains(lower)
        || set.contains(base)
        || base.strip_suffix('s').is_some_and(|b| set.contains(b))
}

/// Calls `f` with `word`, its punctuation trimmed, in lowercase.
fn with_lowercase<T>(word: &str, f: impl FnOnce(&str) -> T) -> T {
    let word = word.trim_matches(|c: char| !c.is_alphanumeric());
    let mut buf = [0u8; 32];
    let lower: std::borrow::Cow<'_, str> = if word.is_ascii() && word.len() <= buf.len() {
        // The common case, without an allocation.
        let bytes = &mut buf[..word.len()];
        bytes.copy_from_slice(word.as_bytes());
        bytes.make_ascii_lowercase();
        std::borrow::Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default())
    } else {
        std::borrow::Cow::Owned(word.to_lowercase())
    };
    f(&lower)
}

/// Word endings that are medical vocabulary, not surnames.
fn medical_suffix(w: &str) -> bool {
    const ENDINGS: [&str; 24] = [
        "itis", "osis", "emia", "aemia", "ectomy", "otomy", "ostomy", "plasty", "scopy", "graphy",
        "pathy", "algia", "oma", "mab", "nib", "pril", "sartan", "olol", "statin", "azole",
        "cillin", "mycin", "ology", "logist",
    ];
    w.len() > 5 && ENDINGS.iter().any(|e| w.ends_with(e))
}

/// Endings of microorganism genera and their adjectives (`Enterococcus`,
/// `Citrobacter`, `Stenotrophomonas`, `Histoplasma`, `Cryptosporidium`,
/// `Streptococcal`), which no surname has.
fn organism_suffix(w: &str) -> bool {
    const ENDINGS: [&str; 20] = [
        "coccus",
        "cocci",
        "coccal",
        "bacter",
        "bacteria",
        "bacterium",
        "bacterial",
        "bacillus",
        "bacilli",
        "monas",
        "myces",
        "mycetes",
        "virus",
        "viruses",
        "viridae",
        "plasma",
        "sporidium",
        "sporidia",
        "spora",
        "vibrio",
    ];
    w.len() > 6 && ENDINGS.iter().any(|e| w.ends_with(e))
}

/// Reference links: a DOI, PubMed, a trial registry, a guideline body or
/// a journal. They name no patient, so they are let through.
pub(super) fn is_reference_domain(url: &str) -> bool {
    const DOMAINS: [&str; 16] = [
        "doi.org",
        "ncbi.nlm.nih.gov",
        "pubmed",
        "clinicaltrials.gov",
        "nice.org.uk",
        "who.int",
        "cdc.gov",
        "nih.gov",
        "fda.gov",
        "ema.europa.eu",
        "nejm.org",
        "thelancet.com",
        "bmj.com",
        "jamanetwork.com",
        "ahajournals.org",
        "escardio.org",
    ];
    DOMAINS.iter().any(|d| url.contains(d))
}

/// Letters before digits that make a code, not a record: trial registries,
/// PubMed, variant and structure ids.
pub(super) fn is_code_prefix(prefix: &str) -> bool {
    matches!(
        prefix.to_ascii_uppercase().as_str(),
        "NCT"
            | "PMC"
            | "PMID"
            | "RS"
            | "GSE"
            | "PDB"
            | "CAS"
            | "EC"
            | "ISRCTN"
            | "OMIM"
            | "ORPHA"
            | "HGNC"
            | "CHEMBL"
            | "SCV"
            | "RCV"
            | "VCV"
            | "ENSG"
            | "NM"
            | "NP"
    )
}
