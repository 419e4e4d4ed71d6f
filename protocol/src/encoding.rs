//! The canonical encoding: postcard 1.x, defined once, here.
//!
//! postcard's wire format is specified and stable across 1.x releases.
//! Canonical means: the bytes decode with nothing left over, and re-encoding
//! the decoded value gives the same bytes. That rules out over-long varints,
//! trailing garbage and any other second spelling of the same value, so an
//! id (a hash of these bytes) names one value only.

use serde::{Serialize, de::DeserializeOwned};

/// Why bytes are not the canonical encoding of a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    /// postcard could not decode them.
    #[error("malformed encoding: {0}")]
    Malformed(String),
    /// A value decoded, with this many bytes after it.
    #[error("{0} unexpected bytes after the value")]
    TrailingBytes(usize),
    /// The value re-encodes to different bytes.
    #[error("the encoding is not canonical")]
    NonCanonical,
}

/// Canonical bytes of `value`.
///
/// Serializing the crate's own types into a `Vec` cannot fail: none of them
/// has a map with non-string keys, an unsized sequence or a custom error.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).unwrap_or_default()
}

/// Decodes `value` from the front of `bytes`, returning the rest.
/// Checks that the consumed prefix is canonical.
pub fn take_canonical<T: Serialize + DeserializeOwned>(
    bytes: &[u8],
) -> Result<(T, &[u8]), EncodingError> {
    let (value, rest) = postcard::take_from_bytes::<T>(bytes)
        .map_err(|e| EncodingError::Malformed(e.to_string()))?;
    let used = &bytes[..bytes.len() - rest.len()];
    if to_vec(&value) != used {
        return Err(EncodingError::NonCanonical);
    }
    Ok((value, rest))
}

/// Decodes exactly `bytes` as a canonical `T`.
pub fn from_canonical_bytes<T: Serialize + DeserializeOwned>(
    bytes: &[u8],
) -> Result<T, EncodingError> {
    let (value, rest) = take_canonical(bytes)?;
    if !rest.is_empty() {
        return Err(EncodingError::TrailingBytes(rest.len()));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlong_varints_are_not_canonical() {
        // 1 as a one-byte varint is canonical; 0x81 0x00 also decodes to 1.
        assert_eq!(from_canonical_bytes::<u32>(&[1]), Ok(1));
        assert_eq!(from_canonical_bytes::<u32>(&[0x81, 0x00]), Err(EncodingError::NonCanonical));
        assert_eq!(from_canonical_bytes::<u32>(&[1, 2]), Err(EncodingError::TrailingBytes(1)));
        assert!(matches!(from_canonical_bytes::<u32>(&[]), Err(EncodingError::Malformed(_))));
    }
}
