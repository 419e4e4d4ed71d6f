//! Events by the first hex digits of their id: what a physician types
//! instead of 64 characters (`curbside show 91d654fe`).
//!
//! `events` is keyed by id, so the ids that start with a prefix are one
//! contiguous range: from the prefix padded with `0`s to the prefix padded
//! with `f`s. A read takes at most `limit` of them, so an answer costs a
//! bounded range read however short the prefix and however large the store.

use curbside_protocol::{EventId, VerifiedEvent};

use super::StoreError;
use super::keys::{self, Space};
use super::reads::Events;

/// A prefix of an event id: 1 to 64 lowercase hex digits (upper case is
/// read as lower).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdPrefix(String);

impl IdPrefix {
    /// `text` as a prefix, or why it is not one.
    pub fn new(text: &str) -> Result<Self, String> {
        let hex = text.trim().to_ascii_lowercase();
        if hex.is_empty() || hex.len() > 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{text:?} is not the start of an event id (1 to 64 hex digits)"));
        }
        Ok(Self(hex))
    }

    /// How many hex digits it has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never: a prefix has at least one digit.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The lowest and the highest id that start with it.
    fn bounds(&self) -> (EventId, EventId) {
        let pad = |digit: char| {
            let mut full = self.0.clone();
            full.extend(std::iter::repeat_n(digit, 64 - self.0.len()));
            let mut bytes = [0u8; 32];
            // 64 hex digits by construction.
            let _ = hex::decode_to_slice(&full, &mut bytes);
            EventId::from_bytes(bytes)
        };
        (pad('0'), pad('f'))
    }
}

impl std::fmt::Display for IdPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Events<'_> {
    /// The stored events whose ids start with `prefix`, in id order, at
    /// most `limit` of them.
    pub fn with_id_prefix(
        &self,
        prefix: &IdPrefix,
        limit: usize,
    ) -> Result<Vec<VerifiedEvent>, StoreError> {
        let (low, high) = prefix.bounds();
        let mut found = Vec::new();
        for entry in self.store.tree.range(keys::event(&low)..=keys::event(&high)).take(limit) {
            let (key, value) = entry?;
            let id = keys::trailing_id(&key).ok_or_else(|| StoreError::Corrupt {
                tree: Space::Events.name(),
                detail: "a key shorter than an id".into(),
            })?;
            found.push(self.store.load(&id, &value)?);
        }
        Ok(found)
    }

    /// The posts, cases and comments whose ids start with `prefix` that
    /// an edit replaced (not stored: their tombstones are), with the edit
    /// in force of each, at most `limit`: an author edits by the
    /// original's id.
    pub fn edited_with_id_prefix(
        &self,
        prefix: &IdPrefix,
        limit: usize,
    ) -> Result<Vec<(EventId, VerifiedEvent)>, StoreError> {
        let (low, high) = prefix.bounds();
        let mut found = Vec::new();
        for entry in self.store.tree.range(keys::tombstone(&low)..=keys::tombstone(&high)) {
            if found.len() >= limit {
                break;
            }
            let (key, _) = entry?;
            let id = keys::trailing_id(&key).ok_or_else(|| StoreError::Corrupt {
                tree: Space::Tombstones.name(),
                detail: "a key shorter than an id".into(),
            })?;
            if let Some(edit) = self.edit_in_force(&id)? {
                found.push((id, edit));
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_is_hex_and_bounds_the_ids_that_start_with_it() {
        assert!(IdPrefix::new("").is_err());
        assert!(IdPrefix::new("91d654fg").is_err());
        assert!(IdPrefix::new(&"a".repeat(65)).is_err());
        let p = IdPrefix::new(" 91D65 ").unwrap();
        assert_eq!(p.to_string(), "91d65");
        let (low, high) = p.bounds();
        assert_eq!(low.to_string(), format!("91d65{}", "0".repeat(59)));
        assert_eq!(high.to_string(), format!("91d65{}", "f".repeat(59)));
    }
}
