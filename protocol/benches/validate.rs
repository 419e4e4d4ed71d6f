//! Signature verification versus validation versus batch verification, on
//! the same 10,000 realistic events in one run.
//!
//! ```text
//! cargo bench -p curbside-protocol --bench validate
//! ```
//!
//! The corpus: 200 attested physicians who have already written 200 posts
//! and 20 polls; the events measured are 4,000 comments, 2,000 new posts,
//! 1,000 cases and 3,000 votes. Each measurement runs `ROUNDS` times,
//! interleaved, and the best round counts (the machine is shared; the best
//! round is the one least disturbed). Ratios compare rounds of one process.
//!
//! "Raw" is one signature checked by the protocol's rule
//! (`PublicKey::verify`); ed25519-dalek's `verify_strict`, the rule before
//! it, is measured too for comparison.

use std::hint::black_box;
use std::time::{Duration, Instant};

use curbside_protocol::testkit::Federation;
use curbside_protocol::{
    AgeBand, Body, Case, HubId, SecretKey, Sex, SignedEvent, Tag, validate, verify_batch,
};

const EVENTS: usize = 10_000;
const ROUNDS: usize = 5;

fn corpus() -> (Federation, Vec<SignedEvent>) {
    let mut fed = Federation::new();
    let doctors: Vec<SecretKey> = (0..200).map(|i| fed.physician(&format!("dr-{i:03}"))).collect();
    let mut posts = Vec::new();
    for (i, dr) in doctors.iter().enumerate() {
        let post =
            fed.post(dr, &format!("Question {i}: persistent hypokalaemia despite replacement"));
        fed.accept(&post);
        posts.push(post);
    }
    let mut polls = Vec::new();
    for dr in doctors.iter().take(20) {
        let poll = fed.poll(
            dr,
            &["Start an SGLT2 inhibitor", "Add a GLP-1 agonist", "Watch and wait"],
            &[],
        );
        fed.accept(&poll);
        polls.push(poll);
    }
    let comment = "Agree with checking magnesium first; in our unit we see this after PPIs. \
        K 3.1 on repeat is worth an ECG (QTc?) and a look at urinary potassium losses.";
    let mut events = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        let dr = &doctors[i % doctors.len()];
        let event = match i % 10 {
            0..=3 => fed.comment(dr, &posts[(i * 7) % posts.len()], comment),
            4 | 5 => fed
                .post(dr, &format!("Case discussion {i}: atypical chest pain in a young athlete")),
            6 => fed.sign(
                dr,
                Body::Case(Case {
                    hub: HubId::new("cardiology").expect("hub"),
                    title: format!("Syncope on exertion, case {i}"),
                    age: AgeBand::Age18To29,
                    sex: Sex::Male,
                    presentation: "Two episodes of exertional syncope 2 weeks ago, no prodrome."
                        .into(),
                    history: "No family history of sudden death known. Occasional palpitations."
                        .into(),
                    findings: "BP 118/76, HR 54, ECG: LVH voltage, deep T inversion V4-V6. EF 60%."
                        .into(),
                    question: "Would you clear him to play before cardiac MRI?".into(),
                    tags: vec![
                        Tag::new("syncope").expect("tag"),
                        Tag::new("sports-cardiology").expect("tag"),
                    ],
                }),
            ),
            _ => fed.vote(dr, &polls[i % polls.len()], (i % 3) as u8),
        };
        events.push(event);
    }
    (fed, events)
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let (fed, events) = corpus();
    let now = curbside_protocol::Arrival::live(fed.now());
    let view = fed.view();
    for e in &events {
        assert!(validate(e, view, now).is_ok(), "corpus event must be valid");
    }
    let bytes: f64 =
        events.iter().map(|e| e.encoded_len() as f64).sum::<f64>() / events.len() as f64;
    println!("corpus: {} events, mean {bytes:.0} bytes", events.len());

    let (mut raw, mut full, mut batch, mut decode_validate, mut strict) =
        (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX);
    let wire: Vec<Vec<u8>> = events.iter().map(|e| e.to_bytes()).collect();
    for _ in 0..ROUNDS {
        // Raw ed25519: one signature by the rule (PublicKey::verify: the
        // encoding screen and the cofactored equation) over the 32-byte id.
        let t = Instant::now();
        for e in &events {
            black_box(e.author().verify(e.id().as_bytes(), e.signature()).is_ok());
        }
        raw = raw.min(t.elapsed());

        // For reference: ed25519-dalek's cofactorless `verify_strict`, the
        // rule before verification became cofactored (see keys.rs).
        let t = Instant::now();
        for e in &events {
            let key = ed25519_dalek::VerifyingKey::from_bytes(e.author().as_bytes());
            let sig = ed25519_dalek::Signature::from_bytes(e.signature().as_bytes());
            black_box(key.is_ok_and(|k| k.verify_strict(e.id().as_bytes(), &sig).is_ok()));
        }
        strict = strict.min(t.elapsed());

        // validate(): everything a node checks, signature included.
        let t = Instant::now();
        for e in &events {
            black_box(validate(e, view, now).is_ok());
        }
        full = full.min(t.elapsed());

        // Batch verification in batches of 256 (cloning the input is outside the timing).
        let input = events.clone();
        let t = Instant::now();
        let results = verify_batch(input);
        batch = batch.min(t.elapsed());
        assert!(results.iter().all(|r| r.is_ok()));

        // Decode from wire bytes, then validate.
        let t = Instant::now();
        for b in &wire {
            let e = SignedEvent::decode(b).expect("decodes");
            black_box(validate(&e, view, now).is_ok());
        }
        decode_validate = decode_validate.min(t.elapsed());
    }
    // The de-identification guard alone, over every clinical text field.
    let texts: Vec<&str> = events
        .iter()
        .flat_map(|e| -> Vec<&str> {
            match e.body() {
                Body::Post(p) => vec![&p.title, &p.body],
                Body::Comment(c) => vec![&c.body],
                Body::Case(c) => {
                    vec![&c.title, &c.presentation, &c.history, &c.findings, &c.question]
                }
                _ => vec![],
            }
        })
        .collect();
    let text_bytes: usize = texts.iter().map(|t| t.len()).sum();
    let mut guard = Duration::MAX;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        for text in &texts {
            black_box(curbside_protocol::deid::first_identifier(text));
        }
        guard = guard.min(t.elapsed());
    }
    println!(
        "de-identification guard: {} fields, {} KB, {:.1} us per event, {:.0} MB/s",
        texts.len(),
        text_bytes / 1024,
        guard.as_secs_f64() * 1e6 / events.len() as f64,
        text_bytes as f64 / guard.as_secs_f64() / 1e6
    );
    let n = events.len();
    let (r, v, b, dv) = (rate(n, raw), rate(n, full), rate(n, batch), rate(n, decode_validate));
    println!("{:<34} {:>12} {:>10}", "measurement (best of 5 rounds)", "events/s", "vs raw");
    println!("{:<34} {:>12.0} {:>10.2}", "raw ed25519 PublicKey::verify", r, 1.0);
    println!("{:<34} {:>12.0} {:>10.2}", "validate()", v, v / r);
    println!("{:<34} {:>12.0} {:>10.2}", "decode + validate()", dv, dv / r);
    println!("{:<34} {:>12.0} {:>10.2}", "verify_batch (256 per batch)", b, b / r);
    let st = rate(n, strict);
    println!("{:<34} {:>12.0} {:>10.2}", "(reference: dalek verify_strict)", st, st / r);
    println!();
    println!("validate / raw = {:.3} (target >= 0.85)", v / r);
    println!("batch / raw    = {:.3} (target >= 1.80)", b / r);
}
