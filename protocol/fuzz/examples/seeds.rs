//! Writes the checked-in seed corpus, `seeds/<target>/<name>`.
//!
//! ```text
//! cd protocol/fuzz && cargo run --example seeds
//! ```
//!
//! Deterministic: testkit keys come from fixed seeds and ed25519 signing is
//! deterministic, so re-running it rewrites the same bytes. Each
//! `decode_validate` seed is printed with the verdict `validate` gives it
//! against the fuzz targets' fixture.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use curbside_protocol::merkle;
use curbside_protocol::testkit::{self, key};
use curbside_protocol::{
    AgeBand, AttestationRequest, Body, Case, Charter, Digest, Handle, HubDef, HubId, Jurisdiction,
    Revocation, Sex, SignedEvent, Tag, TreeHead, Vote, validate,
};
use curbside_protocol_fuzz::{fixture, merkle_bytes, merkle_leaves};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("create seed dir");
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn main() {
    let root: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds"));

    // --- decode_validate -------------------------------------------------
    // The target validates against a fresh `fixture()`; these events are made
    // after it, by a second fixture that is identical up to that point.
    let fx = fixture();
    let mut fed = fixture().fed;
    let [root_key, verifier, a, b, c] = [0, 1, 2, 3, 4].map(|i| fx.keys[i].clone());
    let hub = |h: &str| HubId::new(h).unwrap();

    let mut events: Vec<(&str, SignedEvent)> = vec![
        ("post-duplicate", fx.post.clone()),
        ("attestation-duplicate", fx.attestations[0].clone()),
    ];
    events.push(("post", fed.post(&b, "Hypokalaemia on a thiazide")));
    events.push(("comment-on-poll", fed.comment(&a, &fx.poll, "Depends on eGFR; 45 here.")));
    events.push(("vote", fed.vote(&a, &fx.poll, 1)));
    events.push(("vote-ineligible", fed.vote(&a, &fx.cardio_poll, 0)));
    events.push(("vote-bad-option", fed.vote(&c, &fx.cardio_poll, 7)));
    events.push(("poll", fed.poll(&c, &["Yes", "No", "Unsure"], &["cardiology"])));
    let case = Body::Case(Case {
        hub: hub("cardiology"),
        title: "Syncope on exertion in a young athlete".into(),
        age: AgeBand::Age18To29,
        sex: Sex::Male,
        presentation: "Two episodes of exertional syncope, no prodrome.".into(),
        history: "No family history of sudden death known.".into(),
        findings: "BP 118/76, HR 54, ECG: LVH voltage, T inversion V4-V6. EF 60%.".into(),
        question: "Clear him to play before cardiac MRI?".into(),
        tags: vec![Tag::new("syncope").unwrap()],
    });
    events.push(("case", fed.sign(&c, case)));
    let new_doctor = key("dr-d");
    events.push(("attestation", fed.attestation(&new_doctor, "dr-d", &["oncology"], "GB")));
    let at = fed.tick();
    events.push((
        "revocation",
        fed.sign_at(
            &verifier,
            at,
            Body::Revocation(Revocation {
                target: fx.attestations[1].id(),
                reason: "licence lapsed".into(),
                effective_at: at,
            }),
        ),
    ));
    events.push((
        "tree-head",
        fed.sign(
            &verifier,
            Body::TreeHead(TreeHead { size: 4, root: Digest::from_bytes(merkle::empty_root()) }),
        ),
    ));
    events.push((
        "hub",
        fed.sign(
            &root_key,
            Body::Hub(HubDef { id: hub("nephrology"), title: "Nephrology".into() }),
        ),
    ));
    let node = key("node-2").public();
    let at = fed.tick();
    events.push((
        "charter",
        fed.sign_at(
            &root_key,
            at,
            Body::Charter(Charter {
                node,
                institution: "Second Hospital".into(),
                verify: vec![Jurisdiction::new("GB").unwrap()],
                valid_until: at.plus_days(30),
            }),
        ),
    ));
    events.push((
        "vote-by-root",
        fed.sign(&root_key, Body::Vote(Vote { poll: fx.poll.id(), option: 0 })),
    ));
    // The published golden vector: another network.
    let vote_hex = testkit::vectors()
        .into_iter()
        .find(|(name, _)| *name == "vote signed bytes")
        .expect("golden vote")
        .1;
    let golden = SignedEvent::decode(&unhex(&vote_hex)).unwrap();
    events.push(("golden-vote-other-network", golden));

    let dir = root.join("decode_validate");
    for (name, event) in &events {
        let verdict = match validate(event, fx.fed.view(), curbside_protocol::Arrival::live(fx.fed.now())) {
            Ok(_) => "accepted".to_string(),
            Err(e) => format!("not accepted: {e}"),
        };
        println!("decode_validate/{name}: {} bytes, {verdict}", event.encoded_len());
        write(&dir, name, &event.to_bytes());
    }

    // --- attestation_request --------------------------------------------
    let dir = root.join("attestation_request");
    let network = fx.fed.network();
    let ts = fx.fed.now();
    for (name, handle) in [("request-dr-a", "dr-a"), ("request-long-handle", "dr.e_x-ample.2026")] {
        let text = AttestationRequest::new(network, &key(handle), Handle::new(handle).unwrap(), ts)
            .to_text();
        write(&dir, name, text.as_bytes());
    }
    let text = AttestationRequest::new(network, &b, Handle::new("dr-b").unwrap(), ts).to_text();
    let wrapped: String = text
        .chars()
        .collect::<Vec<_>>()
        .chunks(40)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("\n  ");
    write(&dir, "request-wrapped", wrapped.as_bytes());
    let golden = testkit::vectors()
        .into_iter()
        .find(|(name, _)| *name == "attestation request")
        .expect("golden request")
        .1;
    write(&dir, "request-golden", golden.as_bytes());
    for name in ["request-dr-a", "request-long-handle", "request-wrapped", "request-golden"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(AttestationRequest::from_text(&text).is_ok(), "{name} parses");
    }

    // --- deid_scan -------------------------------------------------------
    let dir = root.join("deid_scan");
    let texts = [
        (
            "clinical-clean",
            "HbA1c 7.2%, BP 120/80, eGFR 45 mL/min/1.73m2, GCS 14/15, follow-up at 6/12. ICD-10 I21.4, HLA-B*57:01, T2N1M0; since 2019, in March 2021; aged 90+.",
        ),
        (
            "email-phone",
            "Contact jane.doe@example.org or (415) 555-0132, +44 7700 900123, 020 7946 0958.",
        ),
        (
            "ssn-nhs-mrn",
            "SSN 123456789; 123-45-6789. NHS 943 476 5919. MRN: A1234567, hospital number 00123456.",
        ),
        (
            "dates-ages",
            "DOB 12/03/1950, born on 3 March 1950. Seen 2024-03-12 and March 3, 2024. A 93-year-old, aged 92, 91 y/o man.",
        ),
        (
            "codes",
            "PMID 12345678, NCT01234567, SNOMED CT 22298006, doi:10.1000/182.1234567, 3.14159265.",
        ),
        (
            "unicode",
            "Patientin, 45 J., Größe 1,70 m — Tel. ０３１２３４５６７８; été 2023 🙂 ١٢٣٤٥٦٧٨",
        ),
    ];
    for (name, text) in texts {
        write(&dir, name, text.as_bytes());
    }

    // --- merkle_proofs ---------------------------------------------------
    let dir = root.join("merkle_proofs");
    // n = 1 + n_raw % 128, size = 1 + size_raw % n, etc.; see MerkleInput.
    let leaves7 = merkle_leaves(7, 1);
    let leaves13 = merkle_leaves(13, 2);
    let leaves64 = merkle_leaves(64, 4); // salt % 4 == 0: all leaves equal
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("one-leaf", merkle_bytes(0, 1, 0, 0, 0, 0, (0, 1, 1), &[])),
        (
            "inclusion-7",
            merkle_bytes(
                6,
                1,
                6,
                3,
                2,
                5,
                (5, 7, 3),
                &merkle::inclusion_proof(&leaves7, 5, 7).unwrap(),
            ),
        ),
        (
            "consistency-3-7",
            merkle_bytes(
                6,
                1,
                4,
                2,
                2,
                9,
                (1, 7, 3),
                &merkle::consistency_proof(&leaves7, 3, 7).unwrap(),
            ),
        ),
        (
            "inclusion-13",
            merkle_bytes(
                12,
                2,
                12,
                11,
                5,
                1,
                (12, 13, 6),
                &merkle::inclusion_proof(&leaves13, 12, 13).unwrap(),
            ),
        ),
        (
            "consistency-6-13",
            merkle_bytes(
                12,
                2,
                12,
                0,
                5,
                3,
                (0, 13, 6),
                &merkle::consistency_proof(&leaves13, 6, 13).unwrap(),
            ),
        ),
        (
            "consistency-8-13",
            merkle_bytes(
                12,
                2,
                10,
                7,
                7,
                0,
                (7, 13, 8),
                &merkle::consistency_proof(&leaves13, 8, 13).unwrap(),
            ),
        ),
        (
            "equal-leaves-64",
            merkle_bytes(
                63,
                4,
                63,
                31,
                31,
                7,
                (33, 64, 32),
                &merkle::consistency_proof(&leaves64, 32, 64).unwrap(),
            ),
        ),
        (
            "huge-sizes",
            merkle_bytes(127, 3, 127, 64, 100, 255, (u64::MAX - 1, u64::MAX, 1 << 63), &leaves7),
        ),
    ];
    for (name, bytes) in seeds {
        write(&dir, name, &bytes);
    }
    println!("seeds written under {}", root.display());
}
