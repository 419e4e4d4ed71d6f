//! Verifying many signatures at once.
//!
//! Batch verification checks one random linear combination of all the
//! signature equations with a single multiscalar multiplication, about twice
//! as fast per signature as checking them one by one. If a batch fails, its
//! halves are checked as batches in turn, down to single signatures, so the
//! bad ones are named and the good ones kept.
//!
//! The rule is exactly the one of [`crate::PublicKey::verify`] (see
//! `keys.rs`): every event first passes the same byte screen
//! ([`keys::screen`]: canonical key and `R` not of small order, `s < ℓ`),
//! which decides it on its own; those that pass are checked by
//! ed25519-zebra's batch form of the cofactored equation,
//!
//! ```text
//! [8]( −(Σ zᵢsᵢ)B + Σ zᵢRᵢ + Σ (zᵢhᵢ)Aᵢ ) = 0
//! ```
//!
//! with fresh 128-bit weights `zᵢ` from the operating system's generator for
//! every batch equation, including each half checked after a failure. The
//! factor 8 removes every small-order component, so each term is `zᵢ` times
//! a point of the prime-order subgroup, and that point is zero exactly when
//! signature `i` verifies on its own. If all are zero the batch holds; if one
//! is not, the batch holds only for one value of its weight modulo ℓ (2^-128).
//! A signature with a torsion component in `R` or in the key therefore gets
//! the same verdict here as alone, whatever the weights and whatever else is
//! in the batch. (ed25519-dalek's batch, used before, computed the same sum
//! without the factor 8, with weights derived from the batch's contents,
//! and was paired with the cofactorless `verify_strict`: a torsion error
//! survived or vanished depending on the weight, so the same event passed
//! in some batches and not in others.)

use ed25519_zebra::VerificationKeyBytes;
use ed25519_zebra::batch::{Item, Verifier};
use getrandom::SysRng;
use getrandom::rand_core::UnwrapErr;

use crate::keys;
use crate::{AttestationRequest, Body, Rejection, SignatureVerified, SignedEvent};

/// A good batch size: large enough for the multiscalar speed-up, small
/// enough that one bad signature costs little to find.
pub const BATCH_SIZE: usize = 256;

/// Below this many signatures a failed batch is settled one by one rather
/// than by halves.
const SINGLES_BELOW: usize = 5;

/// Verifies the signatures of `events`, in batches of [`BATCH_SIZE`].
///
/// Returns one result per event, in order. Bad signatures come back as
/// [`Rejection::BadSignature`] with the event, so callers can report them.
/// An attestation's proof of possession is checked in the same batch; its
/// verdict travels in the [`SignatureVerified`] for validation to report.
/// An event is accepted here exactly when [`SignedEvent::verify_signature`]
/// accepts it (up to the batch's 2^-128 soundness error).
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
    // Events the screen refuses are decided now, as the single path decides
    // them; the others become batch items, each hashed (h) once. An
    // attestation brings a second item, its proof of possession, into the
    // same equation: after `events.len()` in the numbering.
    let n = events.len();
    let mut items: Vec<(usize, Item)> =
        events.iter().enumerate().filter_map(|(i, e)| Some((i, item(e)?))).collect();
    let proofs: Vec<Option<Option<Item>>> = events.iter().map(possession).collect();
    let attestations: Vec<bool> = proofs.iter().map(Option::is_some).collect();
    items.extend(proofs.into_iter().enumerate().filter_map(|(i, p)| Some((n + i, p??))));
    let mut good = vec![false; 2 * n];
    settle(&items, &mut good);
    out.extend(events.into_iter().enumerate().map(|(i, event)| {
        if good[i] {
            let possession = attestations[i].then_some(good[n + i]);
            Ok(SignatureVerified::assume_checked(event, possession))
        } else {
            Err((event, Rejection::BadSignature))
        }
    }));
}

/// The batch item for `event`, or `None` if the screen refuses it.
fn item(event: &SignedEvent) -> Option<Item> {
    keys::screen(event.author(), event.signature()).ok()?;
    Some(Item::from((
        VerificationKeyBytes::from(event.author().to_bytes()),
        ed25519_zebra::Signature::from_bytes(event.signature().as_bytes()),
        event.id().as_bytes(),
    )))
}

/// For an attestation, the batch item for its proof of possession, or
/// `Some(None)` if the screen refuses it; `None` for any other event.
fn possession(event: &SignedEvent) -> Option<Option<Item>> {
    let Body::Attestation(a) = event.body() else { return None };
    if keys::screen(&a.subject, &a.possession).is_err() {
        return Some(None);
    }
    let message =
        AttestationRequest::message(&event.event().network, &a.subject, &a.handle, a.requested_at);
    Some(Some(Item::from((
        VerificationKeyBytes::from(a.subject.to_bytes()),
        ed25519_zebra::Signature::from_bytes(a.possession.as_bytes()),
        &message,
    ))))
}

/// Marks in `good` the items that verify: all of them if one batch equation
/// holds, otherwise by halves; a few, or one, are checked one by one.
fn settle(items: &[(usize, Item)], good: &mut [bool]) {
    if let [(i, item)] = items {
        good[*i] = verifies_alone(item);
        return;
    }
    if items.is_empty() {
        return;
    }
    if batch_holds(items) {
        for (i, _) in items {
            good[*i] = true;
        }
        return;
    }
    // Find the bad ones by halves: a batch with one bad signature costs
    // about 2·log2(n) small batches instead of n single verifications.
    if items.len() < SINGLES_BELOW {
        for (i, item) in items {
            good[*i] = verifies_alone(item);
        }
        return;
    }
    let (left, right) = items.split_at(items.len() / 2);
    settle(left, good);
    settle(right, good);
}

/// The single cofactored check of a screened item: the equation of
/// [`crate::PublicKey::verify`], with the `h` already computed.
fn verifies_alone(item: &Item) -> bool {
    item.clone().verify_single().is_ok()
}

/// Whether one batch equation, with fresh random weights, holds for `items`.
fn batch_holds(items: &[(usize, Item)]) -> bool {
    let mut batch = Verifier::new();
    for (_, item) in items {
        batch.queue(item.clone());
    }
    // The weights must be unpredictable to whoever chose the signatures.
    // `UnwrapErr` panics if the OS generator fails, as `SecretKey::generate`
    // does: there is no sound way to go on without it.
    batch.verify(UnwrapErr(SysRng)).is_ok()
}

#[cfg(test)]
mod tests;
