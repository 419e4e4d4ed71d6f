//! The specialties a network names, with the titles readers see, and
//! (in [`jurisdictions`]) its jurisdictions, with their names.
//!
//! A specialty is a slug ([`Specialty`]): what an attestation says a
//! physician practises, what a poll is open to, what a tally breaks votes
//! down by. Free text let one network hold `cardiology` and `cardiologist`
//! side by side, so a poll open to `cardiologist` refused every attested
//! cardiologist's vote (`not_eligible`). This is the list every network
//! names its specialties from: nodes refuse an unknown one from their own
//! callers (a policy, `unknown_specialty`, with the nearest names
//! suggested) and publish it (`GET /v1/specialties`) with the titles the
//! tallies' breakdowns show.
//!
//! It is not a rule of the network: events signed before the list existed,
//! or by a build with another list, stay valid wherever they travel, so no
//! two nodes can disagree about what is stored because of it. Making it one
//! would take a rules version (docs/PROTOCOL.md, Rules versions).
//!
//! ```
//! use curbside_protocol::registry;
//!
//! assert_eq!(registry::specialty_title("cardiology"), Some("Cardiology"));
//! assert!(!registry::is_specialty("cardiologist"));
//! assert_eq!(registry::nearest_specialties("cardiologist")[0], "cardiology");
//! ```

use crate::Specialty;

pub mod jurisdictions;
pub use jurisdictions::{
    JURISDICTIONS, is_jurisdiction, jurisdiction_name, name_or_code, nearest_jurisdictions,
    unknown_jurisdiction_message,
};

/// Every specialty: `(slug, title)`, in alphabetical order of slug.
pub const SPECIALTIES: &[(&str, &str)] = &[
    ("addiction-medicine", "Addiction medicine"),
    ("allergy-immunology", "Allergy and immunology"),
    ("anesthesiology", "Anaesthesiology"),
    ("cardiac-surgery", "Cardiac surgery"),
    ("cardiology", "Cardiology"),
    ("child-psychiatry", "Child and adolescent psychiatry"),
    ("clinical-genetics", "Clinical genetics"),
    ("clinical-pharmacology", "Clinical pharmacology"),
    ("colorectal-surgery", "Colorectal surgery"),
    ("critical-care", "Critical care medicine"),
    ("dermatology", "Dermatology"),
    ("emergency-medicine", "Emergency medicine"),
    ("endocrinology", "Endocrinology, diabetes and metabolism"),
    ("family-medicine", "Family medicine"),
    ("gastroenterology", "Gastroenterology"),
    ("general-practice", "General practice"),
    ("general-surgery", "General surgery"),
    ("geriatrics", "Geriatric medicine"),
    ("haematology", "Haematology"),
    ("hepatology", "Hepatology"),
    ("hospital-medicine", "Hospital medicine"),
    ("infectious-diseases", "Infectious diseases"),
    ("intensive-care", "Intensive care medicine"),
    ("internal-medicine", "Internal medicine"),
    ("interventional-radiology", "Interventional radiology"),
    ("medical-oncology", "Medical oncology"),
    ("neonatology", "Neonatology"),
    ("nephrology", "Nephrology"),
    ("neurology", "Neurology"),
    ("neurosurgery", "Neurosurgery"),
    ("nuclear-medicine", "Nuclear medicine"),
    ("obstetrics-gynaecology", "Obstetrics and gynaecology"),
    ("occupational-medicine", "Occupational medicine"),
    ("oncology", "Oncology"),
    ("ophthalmology", "Ophthalmology"),
    ("oral-maxillofacial-surgery", "Oral and maxillofacial surgery"),
    ("orthopaedic-surgery", "Orthopaedic surgery"),
    ("otolaryngology", "Otolaryngology (ENT)"),
    ("paediatric-surgery", "Paediatric surgery"),
    ("paediatrics", "Paediatrics"),
    ("pain-medicine", "Pain medicine"),
    ("palliative-care", "Palliative care"),
    ("pathology", "Pathology"),
    ("plastic-surgery", "Plastic surgery"),
    ("psychiatry", "Psychiatry"),
    ("public-health", "Public health"),
    ("radiation-oncology", "Radiation oncology"),
    ("radiology", "Radiology"),
    ("rehabilitation-medicine", "Physical and rehabilitation medicine"),
    ("respiratory-medicine", "Respiratory medicine"),
    ("rheumatology", "Rheumatology"),
    ("sleep-medicine", "Sleep medicine"),
    ("sports-medicine", "Sport and exercise medicine"),
    ("thoracic-surgery", "Thoracic surgery"),
    ("transplant-surgery", "Transplant surgery"),
    ("tropical-medicine", "Tropical medicine"),
    ("urology", "Urology"),
    ("vascular-surgery", "Vascular surgery"),
];

/// Other names physicians type for a listed specialty: `(alias, slug)`.
/// Only suggestions: an alias is not itself a specialty.
const ALIASES: &[(&str, &str)] = &[
    ("anaesthesia", "anesthesiology"),
    ("anaesthetics", "anesthesiology"),
    ("anesthesia", "anesthesiology"),
    ("cardiologist", "cardiology"),
    ("ent", "otolaryngology"),
    ("gp", "general-practice"),
    ("gynecology", "obstetrics-gynaecology"),
    ("hematology", "haematology"),
    ("icu", "intensive-care"),
    ("obgyn", "obstetrics-gynaecology"),
    ("obstetrics", "obstetrics-gynaecology"),
    ("orthopedics", "orthopaedic-surgery"),
    ("pediatrics", "paediatrics"),
    ("pulmonology", "respiratory-medicine"),
    ("surgery", "general-surgery"),
];

/// Whether `slug` names a listed specialty.
pub fn is_specialty(slug: &str) -> bool {
    specialty_title(slug).is_some()
}

/// The title of the listed specialty `slug`.
pub fn specialty_title(slug: &str) -> Option<&'static str> {
    SPECIALTIES.binary_search_by(|(s, _)| (*s).cmp(slug)).ok().map(|i| SPECIALTIES[i].1)
}

/// What a reader sees for `specialty`: its title if listed, else the slug.
pub fn title_or_slug(specialty: &Specialty) -> &str {
    specialty_title(specialty.as_str()).unwrap_or(specialty.as_str())
}

/// The listed specialties nearest to `typed` (at most three, nearest
/// first): an alias's specialty, then those whose slug or title is most
/// alike (Jaro–Winkler on lowercase), then those containing it.
pub fn nearest_specialties(typed: &str) -> Vec<&'static str> {
    let typed = typed.trim().to_lowercase();
    let mut out: Vec<&'static str> = ALIASES
        .iter()
        .filter(|(alias, _)| *alias == typed || typed.starts_with(alias) && alias.len() > 3)
        .map(|(_, slug)| *slug)
        .collect();
    let mut scored: Vec<(f64, &'static str)> = SPECIALTIES
        .iter()
        .map(|(slug, title)| {
            let by_slug = strsim::jaro_winkler(&typed, slug);
            let by_title = strsim::jaro_winkler(&typed, &title.to_lowercase());
            let contains = slug.contains(typed.as_str()) || typed.contains(slug);
            (by_slug.max(by_title) + if contains { 0.5 } else { 0.0 }, *slug)
        })
        .filter(|(score, _)| *score >= 0.75)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    for (_, slug) in scored {
        if !out.contains(&slug) {
            out.push(slug);
        }
    }
    out.truncate(3);
    out
}

/// Why a specialty was refused: not listed, with the nearest names.
pub fn unknown_specialty_message(typed: &str) -> String {
    let nearest = nearest_specialties(typed);
    if nearest.is_empty() {
        format!(
            "{typed:?} is not a specialty this network names (GET /v1/specialties, or `curbside specialties`, lists them)"
        )
    } else {
        format!(
            "{typed:?} is not a specialty this network names; did you mean {}? (`curbside specialties` lists them all)",
            nearest.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_unique_and_every_slug_is_a_valid_specialty() {
        assert!(SPECIALTIES.windows(2).all(|w| w[0].0 < w[1].0), "sorted, no duplicates");
        for (slug, title) in SPECIALTIES {
            assert!(Specialty::new(*slug).is_ok(), "{slug}");
            assert!(!title.is_empty());
        }
        for (alias, slug) in ALIASES {
            assert!(is_specialty(slug), "{alias} points at {slug}, which is not listed");
            assert!(!is_specialty(alias), "{alias} is listed itself");
        }
    }

    #[test]
    fn what_physicians_mistype_gets_the_specialty_they_meant_first() {
        for (typed, meant) in [
            ("cardiologist", "cardiology"),
            ("Cardiology ", "cardiology"),
            ("pediatrics", "paediatrics"),
            ("hematology", "haematology"),
            ("gp", "general-practice"),
            ("neurologist", "neurology"),
            ("dermatologist", "dermatology"),
            ("emergency", "emergency-medicine"),
            ("nephrologist", "nephrology"),
            ("oncologist", "oncology"),
            ("ent", "otolaryngology"),
        ] {
            let nearest = nearest_specialties(typed);
            assert_eq!(nearest.first(), Some(&meant), "{typed}: {nearest:?}");
            assert!(nearest.len() <= 3);
        }
        assert!(nearest_specialties("zzzz qqqq").is_empty());
    }

    #[test]
    fn every_hub_that_is_a_specialty_is_listed() {
        for (hub, _) in crate::genesis::DEFAULT_HUBS {
            let condition = [
                "general",
                "diabetes",
                "obesity",
                "multiple-sclerosis",
                "depression",
                "bipolar-disorder",
            ];
            if !condition.contains(&hub) {
                assert!(is_specialty(hub), "hub {hub} is a specialty the list lacks");
            }
        }
    }
}
