//! Identifiers and time: [`EventId`], [`NetworkId`], [`Digest`], [`Timestamp`].

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::bytes::fixed_bytes;

/// The id of an event: `SHA-256("curbside/event/v1" || canonical(event))`.
///
/// Content-addressed, so the same event has the same id on every node, and an
/// id names exactly one event.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId([u8; 32]);
fixed_bytes!(EventId, 32, "event id");

/// The id of a network: `SHA-256(canonical(genesis))`. Every event carries
/// it, so an event signed for one network is refused by every other.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetworkId([u8; 32]);
fixed_bytes!(NetworkId, 32, "network id");

/// A SHA-256 value that is not an event or network id: a Merkle root, a
/// licence commitment.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest([u8; 32]);
fixed_bytes!(Digest, 32, "digest");

impl EventId {
    /// The first 8 bytes in hex (16 characters): enough to tell events apart
    /// on a screen, never used to look one up unambiguously.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..8])
    }
}

impl NetworkId {
    /// The first 8 bytes in hex.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..8])
    }
}

/// SHA-256 over the concatenation of `parts`.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Milliseconds since the Unix epoch, UTC.
///
/// The protocol never reads a clock: callers pass `now` in, which keeps
/// validation deterministic and testable.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// One second, in the unit of a timestamp.
    pub const SECOND: u64 = 1_000;
    /// One day, in milliseconds.
    pub const DAY: u64 = 86_400_000;

    /// From milliseconds since the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + ms`, saturating at the end of time.
    pub const fn plus_millis(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// `self - ms`, saturating at the epoch.
    pub const fn minus_millis(self, ms: u64) -> Self {
        Self(self.0.saturating_sub(ms))
    }

    /// `self + days`, saturating.
    pub const fn plus_days(self, days: u64) -> Self {
        self.plus_millis(days.saturating_mul(Self::DAY))
    }
}

impl std::fmt::Display for Timestamp {
    /// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-21T09:30:00.250Z`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0 % 1000;
        let secs = self.0 / 1000;
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
        let (y, mo, d) = civil_from_days(days);
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day)
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_short_form() {
        let id = EventId::from_bytes([0xab; 32]);
        let s = id.to_string();
        assert_eq!(s.len(), 64);
        assert_eq!(s.parse::<EventId>(), Ok(id));
        assert_eq!(id.short(), "abababababababab");
        assert!("abc".parse::<EventId>().is_err());
        assert!("zz".repeat(32).parse::<EventId>().is_err());
    }

    #[test]
    fn timestamps_print_as_rfc3339() {
        assert_eq!(Timestamp::from_millis(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp::from_millis(1_795_300_000_123).to_string(),
            "2026-11-21T22:26:40.123Z"
        );
        assert_eq!(Timestamp::from_millis(951_782_400_000).to_string(), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn json_is_hex_postcard_is_raw() {
        let id = EventId::from_bytes([1; 32]);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{}\"", "01".repeat(32)));
        assert_eq!(serde_json::from_str::<EventId>(&json).unwrap(), id);
        let raw = postcard::to_stdvec(&id).unwrap();
        assert_eq!(raw, vec![1u8; 32]);
        assert_eq!(postcard::from_bytes::<EventId>(&raw).unwrap(), id);
    }
}
