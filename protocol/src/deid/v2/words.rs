//! Word lists guard v2 consults: vocabulary that is not a name, reference
//! domains that name no patient, prefixes of codes that are not records.

use std::collections::HashSet;
use std::sync::LazyLock;

static VOCABULARY: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("vocabulary.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// Whether `word` (any case) is vocabulary rather than a possible name:
/// listed, or a possessive of a listed word, or a word the lists know
/// once a plural `s` is dropped.
pub(super) fn is_vocabulary(word: &str) -> bool {
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
    let lower: &str = &lower;
    if lower.is_empty() {
        return true;
    }
    let base = lower.strip_suffix("'s").unwrap_or(lower);
    VOCABULARY.contains(lower)
        || VOCABULARY.contains(base)
        || base.strip_suffix('s').is_some_and(|b| VOCABULARY.contains(b))
        || medical_suffix(base)
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
