//! A signed event: its id, its signature and its one wire form.
//!
//! Everything that turns an [`Event`] into bytes someone else will check
//! lives here, so that the id rule (`SHA-256(EVENT_ID_DOMAIN ||
//! canonical(event))`) is computed in exactly one place and the only ways
//! into a [`SignedEvent`] — signing, [`SignedEvent::decode`], the store's
//! trusted read-back and serde — all share it.

use serde::{Deserialize, Serialize};

use super::{Body, Event, Kind};
use crate::encoding::{self, EncodingError};
use crate::{EventId, PublicKey, SecretKey, Signature, Timestamp, ids::sha256};

/// Domain separation for event ids: an event id can never collide with a
/// hash of any other kind of Curbside message.
pub const EVENT_ID_DOMAIN: &[u8] = b"curbside/event/v1";

/// Largest encoding [`SignedEvent::decode`] will look at, whatever the
/// network's own (smaller) limit. Bounds work done on hostile input.
pub const MAX_DECODE_BYTES: usize = 1 << 20;

impl Event {
    /// The id these bytes would have.
    pub fn id(&self) -> EventId {
        id_of_encoding(&self.to_bytes())
    }

    /// The event with `signature`, made elsewhere over [`Event::id`] (by an
    /// agent that holds the author's key, say), if it verifies against
    /// the author.
    pub fn with_signature(self, signature: Signature) -> Option<SignedEvent> {
        let bytes = self.to_bytes();
        let id = id_of_encoding(&bytes);
        self.author.verify(id.as_bytes(), &signature).ok()?;
        Some(SignedEvent { encoded_len: bytes.len() + Signature::LEN, event: self, signature, id })
    }

    /// Signs the event with `key`, whose public half must be the author.
    ///
    /// Returns `None` if `key` is not the author's: an event signed by anyone
    /// else could never validate.
    pub fn sign(self, key: &SecretKey) -> Option<SignedEvent> {
        if key.public() != self.author {
            return None;
        }
        let bytes = self.to_bytes();
        let id = id_of_encoding(&bytes);
        let signature = key.sign(id.as_bytes());
        Some(SignedEvent { encoded_len: bytes.len() + Signature::LEN, event: self, signature, id })
    }
}

impl EventId {
    /// The id of the event whose wire encoding (`canonical(event) ||
    /// signature`) is `wire`, without decoding it: what gossip uses as a
    /// message id. For bytes that are not an event the result names
    /// nothing, and decoding will refuse them anyway.
    pub fn of_wire(wire: &[u8]) -> EventId {
        id_of_encoding(&wire[..wire.len().saturating_sub(Signature::LEN)])
    }
}

/// `SHA-256(EVENT_ID_DOMAIN || bytes)`.
fn id_of_encoding(bytes: &[u8]) -> EventId {
    EventId::from_bytes(sha256(&[EVENT_ID_DOMAIN, bytes]))
}

/// An event with its signature, exactly as received: canonical, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedEvent {
    event: Event,
    signature: Signature,
    /// Computed once at decode or signing; everything downstream keys on it.
    id: EventId,
    /// Length of the wire encoding, for size limits without re-encoding.
    encoded_len: usize,
}

impl SignedEvent {
    /// Joins an event and a signature without checking the signature (that
    /// is validation's job). For tools and tests that build events by hand.
    pub fn from_parts(event: Event, signature: Signature) -> Self {
        let bytes = event.to_bytes();
        let id = id_of_encoding(&bytes);
        Self { encoded_len: bytes.len() + Signature::LEN, event, signature, id }
    }

    /// Decodes `canonical(event) || signature`.
    ///
    /// Refuses inputs over [`MAX_DECODE_BYTES`], malformed or non-canonical
    /// encodings and trailing bytes. Does not check the signature.
    pub fn decode(bytes: &[u8]) -> Result<Self, crate::Rejection> {
        use crate::Rejection;
        if bytes.len() > MAX_DECODE_BYTES {
            return Err(Rejection::TooLarge { size: bytes.len(), limit: MAX_DECODE_BYTES });
        }
        let (event, rest) = encoding::take_canonical::<Event>(bytes).map_err(|e| match e {
            EncodingError::NonCanonical => Rejection::NonCanonical,
            other => Rejection::Malformed { detail: other.to_string() },
        })?;
        let event_len = bytes.len() - rest.len();
        if rest.len() < Signature::LEN {
            return Err(Rejection::Malformed {
                detail: format!("signature truncated: {} of 64 bytes", rest.len()),
            });
        }
        if rest.len() > Signature::LEN {
            return Err(Rejection::TrailingBytes { count: rest.len() - Signature::LEN });
        }
        let mut sig = [0u8; 64];
        sig.copy_from_slice(rest);
        Ok(Self {
            id: id_of_encoding(&bytes[..event_len]),
            event,
            signature: Signature::from_bytes(sig),
            encoded_len: bytes.len(),
        })
    }

    /// Rebuilds an event from bytes that a node's own store wrote after
    /// [`SignedEvent::decode`] accepted them, under the id `decode`
    /// computed then.
    ///
    /// The canonical re-encoding and the hash are not redone: together they
    /// were a third of reading an event back. Only the node's store calls
    /// this, on its own records, whose ids its integrity check recomputes
    /// with `decode`; anything from outside goes through `decode`. Bytes
    /// that do not even parse are still refused.
    pub fn from_trusted_store(bytes: &[u8], id: EventId) -> Result<Self, crate::Rejection> {
        use crate::Rejection;
        let (event, rest) = postcard::take_from_bytes::<Event>(bytes)
            .map_err(|e| Rejection::Malformed { detail: e.to_string() })?;
        let sig: [u8; 64] = rest.try_into().map_err(|_| Rejection::Malformed {
            detail: format!("{} bytes after the event, not a 64-byte signature", rest.len()),
        })?;
        Ok(Self { event, signature: Signature::from_bytes(sig), id, encoded_len: bytes.len() })
    }

    /// The wire encoding: `canonical(event) || signature`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.event.to_bytes();
        out.extend_from_slice(self.signature.as_bytes());
        out
    }

    /// The signed content.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// The signature as received.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The event id.
    pub fn id(&self) -> EventId {
        self.id
    }

    /// Bytes on the wire.
    pub fn encoded_len(&self) -> usize {
        self.encoded_len
    }

    /// The author.
    pub fn author(&self) -> &PublicKey {
        &self.event.author
    }

    /// The author's timestamp.
    pub fn created_at(&self) -> Timestamp {
        self.event.created_at
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.event.body
    }

    /// The kind of the body.
    pub fn kind(&self) -> Kind {
        self.event.body.kind()
    }

    /// Strictly checks the signature over the id.
    pub fn verify_signature(&self) -> Result<(), crate::SignatureError> {
        self.event.author.verify(self.id.as_bytes(), &self.signature)
    }
}

/// On the wire a signed event is its canonical bytes (a postcard byte
/// string; base64url in human-readable formats), so it is decoded — and
/// checked for canonical form — exactly once, by [`SignedEvent::decode`].
impl Serialize for SignedEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bytes = self.to_bytes();
        if s.is_human_readable() {
            use base64::Engine as _;
            s.serialize_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
        } else {
            s.serialize_bytes(&bytes)
        }
    }
}

impl<'de> Deserialize<'de> for SignedEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        if d.is_human_readable() {
            use base64::Engine as _;
            let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s.as_bytes())
                .map_err(|e| D::Error::custom(format!("not base64url: {e}")))?;
            SignedEvent::decode(&bytes).map_err(D::Error::custom)
        } else {
            d.deserialize_bytes(WireBytes)
        }
    }
}

/// Decodes a signed event from a postcard byte string.
struct WireBytes;

impl serde::de::Visitor<'_> for WireBytes {
    type Value = SignedEvent;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the bytes of a signed event")
    }

    fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<SignedEvent, E> {
        SignedEvent::decode(bytes).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::key;
    use crate::{Body, Event, NetworkId, Post, Timestamp};

    fn event(author: &crate::SecretKey) -> Event {
        let body = Body::Post(Post {
            hub: "general".parse().unwrap(),
            title: "Syncope".into(),
            body: "Thoughts?".into(),
        });
        Event::new(NetworkId::from_bytes([7; 32]), author.public(), Timestamp::from_millis(1), body)
    }

    #[test]
    fn a_signature_made_elsewhere_is_taken_only_if_it_is_the_authors() {
        let author = key("dr-agent");
        let e = event(&author);
        let signed = e.clone().with_signature(author.sign(e.id().as_bytes())).unwrap();
        assert_eq!(signed, e.clone().sign(&author).unwrap(), "the same as signing with the key");
        // Another key's signature, or the author's over something else: refused.
        assert!(e.clone().with_signature(key("dr-other").sign(e.id().as_bytes())).is_none());
        assert!(e.with_signature(author.sign(b"not the id")).is_none());
    }
}
