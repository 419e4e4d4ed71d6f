//! Byte layouts of the store's keys. Big-endian numbers, so sled's
//! lexicographic order is time order.

use curbside_protocol::{EventId, HubId, PublicKey, Timestamp};

/// `hub ‖ 0x00 ‖ created_at (8, BE) ‖ id`: a hub's feed in time order.
/// Hub ids never contain 0x00, so one hub's range never runs into another's.
pub(crate) fn feed(hub: &HubId, at: Timestamp, id: &EventId) -> Vec<u8> {
    let mut k = feed_prefix(hub);
    k.extend_from_slice(&at.as_millis().to_be_bytes());
    k.extend_from_slice(id.as_bytes());
    k
}

/// `hub ‖ 0x00`.
pub(crate) fn feed_prefix(hub: &HubId) -> Vec<u8> {
    let mut k = Vec::with_capacity(hub.as_str().len() + 41);
    k.extend_from_slice(hub.as_str().as_bytes());
    k.push(0);
    k
}

/// `a (32) ‖ b (32)`: pairs of ids or keys.
pub(crate) fn pair(a: &[u8; 32], b: &[u8; 32]) -> [u8; 64] {
    let mut k = [0u8; 64];
    k[..32].copy_from_slice(a);
    k[32..].copy_from_slice(b);
    k
}

/// `prefix (32) ‖ created_at (8, BE) ‖ id (32)`: replies by parent, the timeline.
pub(crate) fn timed(prefix: &[u8], at: Timestamp, id: &EventId) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 40);
    k.extend_from_slice(prefix);
    k.extend_from_slice(&at.as_millis().to_be_bytes());
    k.extend_from_slice(id.as_bytes());
    k
}

/// The id at the end of a feed, reply or timeline key.
pub(crate) fn trailing_id(key: &[u8]) -> Option<EventId> {
    let bytes: [u8; 32] = key.get(key.len().checked_sub(32)?..)?.try_into().ok()?;
    Some(EventId::from_bytes(bytes))
}

/// The time before the trailing id.
pub(crate) fn trailing_time(key: &[u8]) -> Option<Timestamp> {
    let start = key.len().checked_sub(40)?;
    let bytes: [u8; 8] = key.get(start..start + 8)?.try_into().ok()?;
    Some(Timestamp::from_millis(u64::from_be_bytes(bytes)))
}

/// A key's 32 bytes as a prefix.
pub(crate) fn key_prefix(key: &PublicKey) -> &[u8; 32] {
    key.as_bytes()
}
