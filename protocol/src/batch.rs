//! Verifying many signatures at once.
//!
//! ed25519 batch verification checks one random linear combination of all
//! the signature equations with a single multiscalar multiplication, about
//! twice as fast per signature as checking them one by one. If a batch
//! fails, its halves are checked as batches in turn, down to single
//! signatures, so the bad ones are named and the good ones kept.
//!
//! Batch verification as ed25519-dalek implements it is not as strict as
//! `verify_strict`: it accepts small-order keys and small-order or
//! non-canonical `R`. Those are checked here first, so a signature this
//! module accepts is exactly one that `verify_strict` accepts (up to the
//! batch's 2^-128 soundness error).

use std::sync::LazyLock;

use ed25519_dalek::VerifyingKey;

use crate::{Rejection, SignatureVerified, SignedEvent};

/// A good batch size: large enough for the multiscalar speed-up, small
/// enough that one bad signature costs little to find.
pub const BATCH_SIZE: usize = 256;

/// The y-coordinates (sign bit cleared) of the eight small-order points.
static SMALL_ORDER_Y: LazyLock<Vec<[u8; 32]>> = LazyLock::new(|| {
    let mut ys: Vec<[u8; 32]> = curve25519_dalek::constants::EIGHT_TORSION
        .iter()
        .map(|p| {
            let mut y = p.compress().to_bytes();
            y[31] &= 0x7f;
            y
        })
        .collect();
    ys.sort_unstable();
    ys.dedup();
    ys
});

/// Whether a signature's `R` would be refused by `verify_strict` for its
/// encoding alone: a non-canonical y (y ≥ p) or a small-order point.
fn r_is_refused(r: &[u8]) -> bool {
    let mut y = [0u8; 32];
    y.copy_from_slice(&r[..32]);
    y[31] &= 0x7f;
    // y >= p = 2^255 - 19 (little-endian): top byte 0x7f, middle all 0xff, low byte >= 0xed.
    let non_canonical = y[31] == 0x7f && y[1..31].iter().all(|&b| b == 0xff) && y[0] >= 0xed;
    non_canonical || SMALL_ORDER_Y.contains(&y)
}

/// Verifies the signatures of `events`, in batches of [`BATCH_SIZE`].
///
/// Returns one result per event, in order. Bad signatures come back as
/// [`Rejection::BadSignature`] with the event, so callers can report them.
pub fn verify_batch(
    events: Vec<SignedEvent>,
) -> Vec<Result<SignatureVerified, (SignedEvent, Rejection)>> {
    let mut out = Vec::with_capacity(events.len());
    let mut chunk = Vec::with_capacity(BATCH_SIZE.min(events.len()));
    for event in events {
        chunk.push(event);
        if chunk.len() == BATCH_SIZE {
            verify_chunk(std::mem::take(&mut chunk), &mut out);
        }
    }
    if !chunk.is_empty() {
        verify_chunk(chunk, &mut out);
    }
    out
}

fn verify_chunk(
    events: Vec<SignedEvent>,
    out: &mut Vec<Result<SignatureVerified, (SignedEvent, Rejection)>>,
) {
    if batch_holds(&events) {
        out.extend(events.into_iter().map(|e| Ok(SignatureVerified::assume_checked(e))));
        return;
    }
    // Find the bad ones by halves: a batch with one bad signature costs
    // about 2·log2(n) small batches instead of n single verifications.
    if events.len() <= 4 {
        out.extend(events.into_iter().map(SignatureVerified::check));
        return;
    }
    let mut left = events;
    let right = left.split_off(left.len() / 2);
    verify_chunk(left, out);
    verify_chunk(right, out);
}

/// Whether every signature in `events` verifies, by one batch equation.
/// `false` if any key or `R` is refused by the strict screen, or the
/// equation fails.
fn batch_holds(events: &[SignedEvent]) -> bool {
    let mut keys = Vec::with_capacity(events.len());
    for event in events {
        match VerifyingKey::from_bytes(event.author().as_bytes()) {
            Ok(key) if !key.is_weak() && !r_is_refused(event.signature().as_bytes()) => {
                keys.push(key);
            }
            _ => return false,
        }
    }
    let ids: Vec<[u8; 32]> = events.iter().map(|e| e.id().to_bytes()).collect();
    let messages: Vec<&[u8]> = ids.iter().map(|m| m.as_slice()).collect();
    let signatures: Vec<ed25519_dalek::Signature> = events
        .iter()
        .map(|e| ed25519_dalek::Signature::from_bytes(e.signature().as_bytes()))
        .collect();
    ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Federation;
    use crate::{Body, Event, Post, Signature};

    fn posts(n: usize) -> (Federation, Vec<SignedEvent>) {
        let mut fed = Federation::new();
        let dr = fed.physician("dr-batch");
        let events = (0..n).map(|i| fed.post(&dr, &format!("post {i}"))).collect();
        (fed, events)
    }

    #[test]
    fn a_good_batch_verifies() {
        let (_, events) = posts(300);
        let results = verify_batch(events);
        assert_eq!(results.len(), 300);
        assert!(results.iter().all(|r| r.is_ok()));
    }

    #[test]
    fn bad_signatures_are_named_and_good_ones_kept() {
        let (_, mut events) = posts(40);
        for i in [3, 17, 39] {
            let e = events[i].clone();
            let mut sig = e.signature().to_bytes();
            sig[5] ^= 1;
            events[i] = SignedEvent::from_parts(e.event().clone(), Signature::from_bytes(sig));
        }
        let results = verify_batch(events);
        let bad: Vec<usize> =
            results.iter().enumerate().filter(|(_, r)| r.is_err()).map(|(i, _)| i).collect();
        assert_eq!(bad, vec![3, 17, 39]);
        for r in &results {
            if let Err((_, why)) = r {
                assert_eq!(why, &Rejection::BadSignature);
            }
        }
    }

    #[test]
    fn weak_key_forgery_is_refused_in_a_batch() {
        // Identity key, R = identity, s = 0: passes a plain (cofactorless)
        // batch equation for any message. Must be refused, as verify_strict does.
        let (fed, mut events) = posts(5);
        let mut key = [0u8; 32];
        key[0] = 1;
        let mut sig = [0u8; 64];
        sig[0] = 1;
        let forged = Event::new(
            fed.network(),
            crate::PublicKey::from_bytes(key),
            crate::Timestamp::from_millis(1),
            Body::Post(Post {
                hub: "general".parse().unwrap(),
                title: "x".into(),
                body: "y".into(),
            }),
        );
        events.push(SignedEvent::from_parts(forged, Signature::from_bytes(sig)));
        let results = verify_batch(events);
        assert!(results[..5].iter().all(|r| r.is_ok()));
        assert!(results[5].is_err());
    }

    #[test]
    fn small_order_points_are_recognised() {
        assert_eq!(SMALL_ORDER_Y.len(), 5);
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&identity);
        assert!(r_is_refused(&sig));
        let mut p = [0xffu8; 64];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(r_is_refused(&p), "y = p is non-canonical");
        let (_, events) = posts(1);
        assert!(!r_is_refused(events[0].signature().as_bytes()));
    }
}
