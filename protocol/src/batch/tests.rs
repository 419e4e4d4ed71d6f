//! Batch verification gives every signature the verdict it gets alone:
//! honest ones, and the adversarial ones an attested author could craft to
//! make nodes disagree (torsion in `R` or in the key, errors that cancel in
//! an unweighted sum, encodings the screen refuses), alone and among honest
//! events, in batches of every size, each time with fresh random weights.

use std::sync::LazyLock;

use curve25519_dalek::scalar::Scalar;
use proptest::prelude::*;

use super::*;
use crate::keys::craft::{Crafter, random_scalar, torsion, with_s_plus_ell};
use crate::testkit::Federation;
use crate::{Arrival, Body, Event, NetworkId, Post, PublicKey, Signature, Timestamp};

/// The batch sizes adversarial events are mixed into.
const SIZES: [usize; 6] = [1, 2, 3, 5, 64, 256];

/// How many times each mix is verified (fresh weights every time): more for
/// small batches, where one weight decides the whole equation.
fn rounds(size: usize) -> usize {
    if size <= 5 { 16 } else { 4 }
}

fn post_by(author: PublicKey, n: u64) -> Event {
    Event::new(
        NetworkId::from_bytes([7; 32]),
        author,
        Timestamp::from_millis(n),
        Body::Post(Post {
            hub: "general".parse().unwrap(),
            title: format!("post {n}"),
            body: "body".into(),
        }),
    )
}

/// An event by `signer` with the signature `sign` makes over its id.
fn crafted(signer: &Crafter, n: u64, sign: impl FnOnce(&[u8]) -> Signature) -> SignedEvent {
    let event = post_by(signer.public(), n);
    let signature = sign(event.id().as_bytes());
    SignedEvent::from_parts(event, signature)
}

/// 256 honest events, signed by ed25519-dalek as every Curbside client signs.
static HONEST: LazyLock<Vec<SignedEvent>> = LazyLock::new(|| {
    let keys: Vec<_> = (0..16).map(|i| crate::testkit::key(&format!("dr-{i}"))).collect();
    (0..256u64)
        .map(|n| {
            let key = &keys[n as usize % keys.len()];
            post_by(key.public(), 1_000 + n).sign(key).unwrap()
        })
        .collect()
});

fn random_below(n: usize) -> usize {
    let mut bytes = [0u8; 8];
    crate::keys::getrandom_fill(&mut bytes);
    (u64::from_le_bytes(bytes) % n as u64) as usize
}

/// `suspects` scattered at random places among honest events, `size` in
/// all (or just the suspects, if there are more of them).
fn mix(suspects: &[SignedEvent], size: usize) -> Vec<SignedEvent> {
    let honest = size.saturating_sub(suspects.len());
    let mut events = HONEST[..honest].to_vec();
    for s in suspects {
        events.insert(random_below(events.len() + 1), s.clone());
    }
    events
}

/// Whether each event verifies alone ([`SignedEvent::verify_signature`]).
fn alone(events: &[SignedEvent]) -> Vec<bool> {
    events.iter().map(|e| e.verify_signature().is_ok()).collect()
}

/// Verifies `events` as one batch, `times` times, and checks each time
/// that every event gets the verdict it gets alone.
fn assert_batch_agrees(events: &[SignedEvent], times: usize) {
    let expected = alone(events);
    for round in 0..times {
        let results = verify_batch(events.to_vec());
        assert_eq!(results.len(), events.len());
        for (i, (result, expected)) in results.iter().zip(&expected).enumerate() {
            assert_eq!(
                result.is_ok(),
                *expected,
                "event {i} of {} (round {round}): batch and single verdicts differ",
                events.len()
            );
            match result {
                Ok(v) => assert_eq!(v.event(), &events[i]),
                Err((e, why)) => {
                    assert_eq!(e, &events[i]);
                    assert_eq!(why, &Rejection::BadSignature);
                }
            }
        }
    }
}

/// Mixes `suspects` into batches of every size in [`SIZES`] and checks
/// the verdicts, and that the honest neighbours all pass.
fn assert_agrees_in_every_batch(suspects: &[SignedEvent]) {
    for size in SIZES {
        let events = mix(suspects, size);
        assert_batch_agrees(&events, rounds(size));
    }
    assert!(alone(&HONEST).iter().all(|ok| *ok));
}

#[test]
fn torsion_in_r_gets_its_single_verdict_in_every_batch() {
    for order in [2, 4, 8] {
        let signer = Crafter::honest();
        let event = crafted(&signer, 1, |m| signer.sign(m, torsion(order), Scalar::ZERO));
        // The rule is cofactored, so the torsion is no error: valid alone.
        assert_eq!(alone(std::slice::from_ref(&event)), [true], "order {order}");
        assert_agrees_in_every_batch(&[event]);
    }
}

#[test]
fn torsion_in_the_key_gets_its_single_verdict_in_every_batch() {
    for key_order in [2, 4, 8] {
        let signer = Crafter::new(torsion(key_order));
        let plain = crafted(&signer, 1, |m| signer.sign_honestly(m));
        let both = crafted(&signer, 2, |m| signer.sign(m, torsion(8), Scalar::ZERO));
        let wrong = crafted(&signer, 3, |m| signer.sign(m, torsion(2), random_scalar()));
        assert_eq!(alone(&[plain.clone(), both.clone(), wrong.clone()]), [true, true, false]);
        for suspect in [plain, both, wrong] {
            assert_agrees_in_every_batch(&[suspect]);
        }
    }
}

/// Errors that would cancel in a sum with equal weights must not cancel in
/// the weighted one: `s` off by `+δ` in one event and `−δ` in another (by
/// the same key or by two), and a wrong event hidden among torsion errors
/// that cancel each other.
#[test]
fn errors_that_cancel_without_weights_are_caught() {
    let delta = random_scalar();
    let a = Crafter::honest();
    let b = Crafter::honest();
    let same_key = [
        crafted(&a, 1, |m| a.sign(m, torsion(1), delta)),
        crafted(&a, 2, |m| a.sign(m, torsion(1), -delta)),
    ];
    let two_keys = [
        crafted(&a, 3, |m| a.sign(m, torsion(1), delta)),
        crafted(&b, 4, |m| b.sign(m, torsion(1), -delta)),
    ];
    for pair in [&same_key, &two_keys] {
        assert_eq!(alone(pair), [false, false]);
        assert_agrees_in_every_batch(pair);
    }

    // T + T = 0 for T of order 2, T + 3T = 0 for order 4, and the eight
    // multiples of an order-8 point sum to zero: valid events (the rule is
    // cofactored) that cancel in an unweighted sum, with a wrong one among them.
    let t8 = torsion(8);
    let mut tangle = vec![
        crafted(&a, 10, |m| a.sign(m, torsion(2), Scalar::ZERO)),
        crafted(&b, 11, |m| b.sign(m, torsion(2), Scalar::ZERO)),
        crafted(&a, 12, |m| a.sign(m, torsion(4), Scalar::ZERO)),
        crafted(&b, 13, |m| b.sign(m, -torsion(4), Scalar::ZERO)),
    ];
    let mut multiple = torsion(1);
    for n in 0..8 {
        multiple += t8;
        tangle.push(crafted(&a, 20 + n, |m| a.sign(m, multiple, Scalar::ZERO)));
    }
    tangle.push(crafted(&b, 30, |m| b.sign(m, t8, delta)));
    let verdicts = alone(&tangle);
    assert_eq!(verdicts.iter().filter(|ok| !**ok).count(), 1);
    assert_agrees_in_every_batch(&tangle);
}

/// Encodings the screen refuses are refused in a batch too, whatever the
/// equation says, and cost their honest neighbours nothing.
#[test]
fn refused_encodings_are_refused_in_every_batch() {
    let signer = Crafter::honest();
    let mut suspects = Vec::new();

    // s + ℓ: the equation holds, the encoding is not canonical.
    let honest = crafted(&signer, 1, |m| signer.sign_honestly(m));
    suspects
        .push(SignedEvent::from_parts(honest.event().clone(), with_s_plus_ell(honest.signature())));

    // A small-order R and s = 0 under a small-order key: the equation holds
    // for any message, cofactored or not.
    for (key, r) in [(4, 4), (2, 8), (1, 1)] {
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&torsion(r).compress().to_bytes());
        let key = PublicKey::from_bytes(torsion(key).compress().to_bytes());
        let event = post_by(key, 2);
        suspects.push(SignedEvent::from_parts(event, Signature::from_bytes(sig)));
    }

    // A non-canonical R (y = p + 1, the identity written with y ≥ p).
    let mut sig = honest.signature().to_bytes();
    sig[..32].copy_from_slice(&[0xffu8; 32]);
    sig[0] = 0xee;
    sig[31] = 0x7f;
    suspects.push(SignedEvent::from_parts(honest.event().clone(), Signature::from_bytes(sig)));

    // An R that is not on the curve at all (passes the screen, fails
    // decompression inside the batch).
    let mut off_curve = None;
    for y in 2u8.. {
        let mut sig = honest.signature().to_bytes();
        sig[..32].copy_from_slice(&[0; 32]);
        sig[0] = y;
        if curve25519_dalek::edwards::CompressedEdwardsY(sig[..32].try_into().unwrap())
            .decompress()
            .is_none()
        {
            off_curve = Some(Signature::from_bytes(sig));
            break;
        }
    }
    suspects.push(SignedEvent::from_parts(honest.event().clone(), off_curve.unwrap()));

    assert!(alone(&suspects).iter().all(|ok| !ok));
    assert_agrees_in_every_batch(&suspects);
    for suspect in &suspects {
        assert_agrees_in_every_batch(std::slice::from_ref(suspect));
    }
}

#[test]
fn a_good_batch_verifies() {
    let mut events = HONEST.clone();
    events.extend(HONEST[..44].iter().cloned());
    let results = verify_batch(events);
    assert_eq!(results.len(), 300);
    assert!(results.iter().all(|r| r.is_ok()));
}

#[test]
fn bad_signatures_are_named_and_good_ones_kept() {
    let mut fed = Federation::new();
    let dr = fed.physician("dr-batch");
    let mut events: Vec<SignedEvent> =
        (0..40).map(|i| fed.post(&dr, &format!("post {i}"))).collect();
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
}

#[test]
fn weak_key_forgery_is_refused_in_a_batch() {
    // Identity key, R = identity, s = 0: passes the batch equation for any
    // message. Must be refused, as the single check refuses it.
    let mut key = [0u8; 32];
    key[0] = 1;
    let mut sig = [0u8; 64];
    sig[0] = 1;
    let mut events = HONEST[..5].to_vec();
    events.push(SignedEvent::from_parts(
        post_by(PublicKey::from_bytes(key), 1),
        Signature::from_bytes(sig),
    ));
    let results = verify_batch(events);
    assert!(results[..5].iter().all(|r| r.is_ok()));
    assert!(results[5].is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random bit flips of an honest signature, alone or among honest
    /// events: the batch's verdict is the single one.
    #[test]
    fn bit_flips_get_the_same_verdict(
        which in 0usize..256,
        flips in prop::collection::vec(0usize..512, 1..4),
        size in prop::sample::select(vec![1usize, 2, 3, 5, 64]),
    ) {
        let original = &HONEST[which];
        let mut sig = original.signature().to_bytes();
        for bit in flips {
            sig[bit / 8] ^= 1 << (bit % 8);
        }
        let flipped = SignedEvent::from_parts(original.event().clone(), Signature::from_bytes(sig));
        let events = mix(&[flipped], size);
        let expected = alone(&events);
        let results = verify_batch(events);
        let got: Vec<bool> = results.iter().map(|r| r.is_ok()).collect();
        prop_assert_eq!(got, expected);
    }
}

/// An attestation's proof of possession is judged in the batch, and
/// validation reports the verdict exactly as it does for the single path:
/// a stolen proof is `bad_possession_proof` however the event arrived.
#[test]
fn possession_proofs_are_judged_in_the_batch_as_alone() {
    let mut fed = Federation::new();
    let verifier = fed.verifier().clone();
    let mut events = Vec::new();
    for i in 0..12 {
        let dr = crate::SecretKey::generate();
        let att = fed.attestation(&dr, &format!("dr-p{i}"), &["oncology"], "GB");
        if i % 4 == 1 {
            // Someone else's key, with this physician's proof.
            let Body::Attestation(a) = att.body().clone() else { unreachable!() };
            let other = crate::SecretKey::generate().public();
            events.push(
                fed.sign(&verifier, Body::Attestation(crate::Attestation { subject: other, ..a })),
            );
        } else {
            events.push(att);
        }
    }
    let dr = fed.physician("dr-posts");
    events.extend((0..20).map(|i| fed.post(&dr, &format!("post {i}"))));
    for (event, result) in events.iter().zip(verify_batch(events.clone())) {
        let batched = result
            .expect("every event signature is good")
            .validate(fed.view(), Arrival::live(fed.now()));
        let alone = crate::validate(event, fed.view(), Arrival::live(fed.now()));
        match (batched, alone) {
            (Ok(_), Ok(_)) => {}
            (Err((_, b)), Err(a)) => assert_eq!(b, a),
            (b, a) => panic!("batch {:?} but alone {:?}", b.map(|_| ()), a.map(|_| ())),
        }
    }
    let verdicts: Vec<_> = verify_batch(events)
        .into_iter()
        .map(|r| r.unwrap().validate(fed.view(), Arrival::live(fed.now())))
        .collect();
    let stolen = verdicts
        .iter()
        .filter(|r| {
            matches!(r, Err((_, crate::NotAccepted::Invalid(Rejection::BadPossessionProof { .. }))))
        })
        .count();
    assert_eq!(stolen, 3);
    assert_eq!(verdicts.iter().filter(|r| r.is_ok()).count(), 29);
}
