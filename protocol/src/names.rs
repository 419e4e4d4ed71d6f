//! Validated names: [`HubId`], [`Specialty`], [`Jurisdiction`], [`Handle`], [`Tag`].
//!
//! Each is a string with a small, fixed alphabet, checked when it is made and
//! again when it is decoded, so a malformed name never reaches validation,
//! storage or a screen. Slugs are lowercase ASCII so that two spellings of
//! one hub or specialty cannot exist.

/// Why a string is not a valid name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {what}: {rule}")]
pub struct NameError {
    what: &'static str,
    rule: &'static str,
    value: String,
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $rule:literal, $max:expr, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Longest allowed value, in bytes.
            pub const MAX_LEN: usize = $max;

            /// Checks and wraps `value`.
            pub fn new(value: impl Into<String>) -> Result<Self, NameError> {
                let value = value.into();
                let check: fn(&str) -> bool = $check;
                if value.is_empty() || value.len() > Self::MAX_LEN || !check(&value) {
                    return Err(NameError { what: $what, rule: $rule, value });
                }
                Ok(Self(value))
            }

            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(value: String) -> Result<Self, NameError> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::new(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

/// Lowercase ASCII letters and digits in words joined by single hyphens.
fn is_slug(s: &str) -> bool {
    s.split('-')
        .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

name_type!(
    /// A specialty hub, such as `cardiology` or `infectious-diseases`.
    HubId, "hub", "lowercase letters and digits, words joined by '-', at most 40 bytes", 40, is_slug
);
name_type!(
    /// A medical specialty, such as `cardiology` or `family-medicine`.
    Specialty, "specialty", "lowercase letters and digits, words joined by '-', at most 40 bytes", 40, is_slug
);
name_type!(
    /// A licensing jurisdiction: an ISO 3166 code with an optional
    /// subdivision (`GB`, `US-CA`, `CA-ON`), or a network's own code such as
    /// `DEV`.
    Jurisdiction, "jurisdiction", "uppercase letters and digits, parts joined by '-', at most 16 bytes", 16,
    |s| s.split('-').all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
);
name_type!(
    /// A physician's chosen pseudonym, shown beside everything they write.
    Handle, "handle", "3 to 32 lowercase letters, digits, '-', '_' or '.', starting with a letter", 32,
    |s| s.len() >= 3
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
);
name_type!(
    /// A free tag on a case, such as `sepsis` or `drug-interaction`.
    Tag, "tag", "lowercase letters and digits, words joined by '-', at most 32 bytes", 32, is_slug
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_and_bad_names() {
        assert!(HubId::new("infectious-diseases").is_ok());
        for bad in ["", "Cardiology", "a--b", "-a", "a-", "a b", &"x".repeat(41)] {
            assert!(HubId::new(bad).is_err(), "{bad:?}");
        }
        assert!(Jurisdiction::new("US-CA").is_ok());
        assert!(Jurisdiction::new("DEV").is_ok());
        assert!(Jurisdiction::new("us-ca").is_err());
        assert!(Handle::new("dr.a_b-1").is_ok());
        assert!(Handle::new("ab").is_err());
        assert!(Handle::new("1ab").is_err());
        let err = Specialty::new("Cardio").unwrap_err();
        assert!(err.to_string().contains("\"Cardio\" is not a valid specialty"));
    }

    #[test]
    fn decoding_checks_names_too() {
        let bytes = postcard::to_stdvec(&"Not A Hub".to_string()).unwrap();
        assert!(postcard::from_bytes::<HubId>(&bytes).is_err());
        let ok = postcard::to_stdvec(&"oncology".to_string()).unwrap();
        assert_eq!(postcard::from_bytes::<HubId>(&ok).unwrap().as_str(), "oncology");
        assert!(serde_json::from_str::<Jurisdiction>("\"gb\"").is_err());
    }
}
