//! Fixed-size byte newtypes shared by keys, ids and digests.
//!
//! On the wire (postcard, `is_human_readable() == false`) a value is its raw
//! bytes as a fixed-length tuple: no length prefix, no tag. In JSON it is
//! lowercase hex. Both directions are total: any `N` bytes are a value; any
//! hex string of the right length parses.

/// Implements hex `Display`/`Debug`/`FromStr` and the dual-format serde for a
/// tuple struct around `[u8; N]`.
macro_rules! fixed_bytes {
    ($name:ident, $len:expr, $what:literal) => {
        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// Wraps raw bytes.
            pub const fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// The raw bytes, by value.
            pub const fn to_bytes(self) -> [u8; $len] {
                self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let mut buf = [0u8; $len * 2];
                // Infallible: the buffer is exactly twice the input length.
                if ::hex::encode_to_slice(self.0, &mut buf).is_err() {
                    return Err(::std::fmt::Error);
                }
                f.write_str(::std::str::from_utf8(&buf).map_err(|_| ::std::fmt::Error)?)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::bytes::ParseHexError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let mut out = [0u8; $len];
                ::hex::decode_to_slice(s.trim(), &mut out).map_err(|_| {
                    $crate::bytes::ParseHexError { what: $what, expected_hex_chars: $len * 2 }
                })?;
                Ok(Self(out))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.collect_str(self)
                } else {
                    $crate::bytes::serialize_array(&self.0, s)
                }
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if d.is_human_readable() {
                    let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                    s.parse().map_err(::serde::de::Error::custom)
                } else {
                    $crate::bytes::deserialize_array::<D, $len>(d).map(Self)
                }
            }
        }
    };
}
pub(crate) use fixed_bytes;

/// A hex string that is not the right length or not hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {what}: expected {expected_hex_chars} hex characters")]
pub struct ParseHexError {
    pub(crate) what: &'static str,
    pub(crate) expected_hex_chars: usize,
}

/// Serializes an array as a fixed-length tuple of bytes (no length prefix).
pub(crate) fn serialize_array<S: serde::Serializer, const N: usize>(
    bytes: &[u8; N],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeTuple;
    let mut t = s.serialize_tuple(N)?;
    for b in bytes {
        t.serialize_element(b)?;
    }
    t.end()
}

/// The inverse of [`serialize_array`].
pub(crate) fn deserialize_array<'de, D: serde::Deserializer<'de>, const N: usize>(
    d: D,
) -> Result<[u8; N], D::Error> {
    struct Visitor<const N: usize>;
    impl<'de, const N: usize> serde::de::Visitor<'de> for Visitor<N> {
        type Value = [u8; N];
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{N} bytes")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<[u8; N], A::Error> {
            let mut out = [0u8; N];
            for (i, slot) in out.iter_mut().enumerate() {
                *slot = seq
                    .next_element()?
                    .ok_or_else(|| serde::de::Error::invalid_length(i, &self))?;
            }
            Ok(out)
        }
    }
    d.deserialize_tuple(N, Visitor::<N>)
}
