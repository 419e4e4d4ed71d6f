//! A patient case from a TOML file, flags, or both (flags win):
//!
//! ```toml
//! hub = "cardiology"
//! title = "Recurrent syncope in a young athlete"
//! age = 23                 # whole years, or a band: "18-29", "90+"
//! sex = "male"             # female, male, intersex, unspecified
//! presentation = "Three episodes of exertional syncope over 2 months."
//! history = "No family history of sudden death."
//! findings = "ECG: QTc 470 ms. Echo normal."
//! question = "Would you start a beta-blocker before genetic testing?"
//! tags = ["syncope", "long-qt"]
//! ```

use curbside_protocol::{AgeBand, Case, HubId, Sex, Tag, limits};
use serde::Deserialize;

use crate::checks::text_field;

/// An age as written: whole years or a band label.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub(crate) enum Age {
    /// `age = 47`
    Years(i64),
    /// `age = "40-49"` (or `"47"`)
    Text(String),
}

impl Age {
    fn band(&self) -> Result<AgeBand, String> {
        match self {
            Age::Years(y) => u32::try_from(*y)
                .map_err(|_| format!("age {y} is not an age in years"))
                .and_then(AgeBand::from_plausible_years),
            Age::Text(t) => t.parse(),
        }
    }
}

/// Every field of a case, each optional: from the file or from flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaseFields {
    pub(crate) hub: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) age: Option<Age>,
    pub(crate) sex: Option<String>,
    pub(crate) presentation: Option<String>,
    pub(crate) history: Option<String>,
    pub(crate) findings: Option<String>,
    pub(crate) question: Option<String>,
    #[serde(default)]
    pub(crate) tags: Vec<String>,
}

/// Parses the text of a case file.
pub(crate) fn parse(text: &str) -> Result<CaseFields, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())
}

impl CaseFields {
    /// `self`, with every field `flags` sets replacing the file's.
    pub(crate) fn overridden_by(self, flags: CaseFields) -> CaseFields {
        CaseFields {
            hub: flags.hub.or(self.hub),
            title: flags.title.or(self.title),
            age: flags.age.or(self.age),
            sex: flags.sex.or(self.sex),
            presentation: flags.presentation.or(self.presentation),
            history: flags.history.or(self.history),
            findings: flags.findings.or(self.findings),
            question: flags.question.or(self.question),
            tags: if flags.tags.is_empty() { self.tags } else { flags.tags },
        }
    }

    /// The case, checked as far as it can be without a node.
    pub(crate) fn build(self) -> Result<Case, String> {
        let missing = |name: &str, what: &str| {
            format!(
                "the case has no {name}: give --{name} {what}, or `{name} = ...` in the case file"
            )
        };
        let hub = self.hub.ok_or_else(|| missing("hub", "HUB"))?;
        let hub = HubId::new(hub.trim()).map_err(|e| e.to_string())?;
        let title = self.title.ok_or_else(|| missing("title", "TEXT"))?;
        let age =
            self.age.ok_or_else(|| missing("age", "YEARS or a band such as 40-49"))?.band()?;
        let sex: Sex = self.sex.as_deref().unwrap_or("unspecified").parse()?;
        let presentation = self.presentation.ok_or_else(|| missing("presentation", "TEXT"))?;
        let history = self.history.unwrap_or_default();
        let findings = self.findings.unwrap_or_default();
        let question = self.question.ok_or_else(|| missing("question", "TEXT"))?;
        text_field("the title", &title, 1, limits::TITLE)?;
        text_field("the presentation", &presentation, 1, limits::TEXT)?;
        text_field("the history", &history, 0, limits::TEXT)?;
        text_field("the findings", &findings, 0, limits::TEXT)?;
        text_field("the question", &question, 1, limits::QUESTION)?;
        let mut tags = Vec::with_capacity(self.tags.len());
        for t in &self.tags {
            let tag = Tag::new(t.trim()).map_err(|e| e.to_string())?;
            if tags.contains(&tag) {
                return Err(format!("the tag {tag} is given twice"));
            }
            tags.push(tag);
        }
        if tags.len() > limits::TAGS {
            return Err(format!("{} tags; a case may have at most {}", tags.len(), limits::TAGS));
        }
        Ok(Case { hub, title, age, sex, presentation, history, findings, question, tags })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
hub = "cardiology"
title = "Recurrent syncope in a young athlete"
age = 23
sex = "male"
presentation = """Three episodes of exertional syncope
over 2 months."""
findings = "ECG: QTc 470 ms. Echo normal."
question = "Would you start a beta-blocker before genetic testing?"
tags = ["syncope", "long-qt"]
"#;

    #[test]
    fn a_case_file_parses_into_a_case() {
        let case = parse(FILE).unwrap().build().unwrap();
        assert_eq!(case.hub.as_str(), "cardiology");
        assert_eq!(case.age, AgeBand::Age18To29);
        assert_eq!(case.sex, Sex::Male);
        assert_eq!(case.presentation, "Three episodes of exertional syncope\nover 2 months.");
        assert_eq!(case.history, "");
        assert_eq!(case.tags.len(), 2);
    }

    #[test]
    fn flags_override_the_file() {
        let flags = CaseFields {
            age: Some(Age::Text("90+".into())),
            sex: Some("f".into()),
            tags: vec!["arrhythmia".into()],
            ..CaseFields::default()
        };
        let case = parse(FILE).unwrap().overridden_by(flags).build().unwrap();
        assert_eq!(case.age, AgeBand::Age90Plus);
        assert_eq!(case.sex, Sex::Female);
        assert_eq!(case.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(), ["arrhythmia"]);
        assert_eq!(case.title, "Recurrent syncope in a young athlete");
    }

    #[test]
    fn ages_as_bands_or_years() {
        let with_age = |age: &str| parse(&format!("{FILE}\n").replace("age = 23", age));
        assert_eq!(with_age("age = \"40-49\"").unwrap().build().unwrap().age, AgeBand::Age40To49);
        assert_eq!(with_age("age = \"<1\"").unwrap().build().unwrap().age, AgeBand::Infant);
        assert_eq!(with_age("age = 95").unwrap().build().unwrap().age, AgeBand::Age90Plus);
        // An implausible age is refused, not clamped to 90+ (issue 15).
        let err = with_age("age = 200").unwrap().build().unwrap_err();
        assert!(err.contains("not a plausible age"), "{err}");
        let err = with_age("age = \"200\"").unwrap().build().unwrap_err();
        assert!(err.contains("not a plausible age"), "{err}");
        let err = with_age("age = -3").unwrap().build().unwrap_err();
        assert!(err.contains("-3"), "{err}");
        let err = with_age("age = \"forties\"").unwrap().build().unwrap_err();
        assert!(err.contains("not an age band"), "{err}");
    }

    #[test]
    fn mistakes_are_explained() {
        let err = parse("titel = \"x\"").unwrap_err();
        assert!(err.contains("titel"), "{err}");
        let err = parse("title = ").unwrap_err();
        assert!(!err.is_empty());
        let err = CaseFields::default().build().unwrap_err();
        assert!(err.contains("--hub"), "{err}");
        let no_question = parse(FILE).unwrap();
        let err = CaseFields { question: None, ..no_question }.build().unwrap_err();
        assert!(err.contains("--question"), "{err}");
        let err = parse(&FILE.replace("\"male\"", "\"yes\"")).unwrap().build().unwrap_err();
        assert!(err.contains("female, male"), "{err}");
        let err = parse(&FILE.replace("\"long-qt\"", "\"Long QT\"")).unwrap().build().unwrap_err();
        assert!(err.contains("not a valid tag"), "{err}");
        let err = parse(&FILE.replace("\"long-qt\"", "\"syncope\"")).unwrap().build().unwrap_err();
        assert!(err.contains("twice"), "{err}");
        let err = parse(&FILE.replace("cardiology", "Cardiology")).unwrap().build().unwrap_err();
        assert!(err.contains("not a valid hub"), "{err}");
    }
}
