//! The content guard's benchmark (issue 15): recall per kind on the public
//! corpus (`tests/data/deid-corpus.tsv`) and on the two held-out files
//! (`deid-holdout.tsv`, `deid-holdout-2.tsv`), false refusals and warnings
//! on their clinical samples, and the guard's speed.
//!
//! ```text
//! cargo bench -p curbside-protocol --bench deid
//! ```
//!
//! Speed: the corpus's clinical samples joined into one text of about 1 MB
//! (clinical text is what nodes mostly see), scanned whole by guard v1
//! (`first_identifier`), guard v2's validation path (`first_refusal`) and
//! v2's full report for the author (`scan`), best of several rounds.

#[path = "../tests/corpus/mod.rs"]
mod corpus;

use std::hint::black_box;
use std::time::Instant;

use curbside_protocol::deid::{first_identifier, v2};

fn main() {
    println!("## The corpus (tests/data/deid-corpus.tsv)\n");
    table(&corpus::evaluate());
    println!("\n## Held out (tests/data/deid-holdout.tsv, never tuned on)\n");
    table(&corpus::evaluate_samples(corpus::samples_of(corpus::HOLDOUT)));
    println!("\n## Held out, second file (tests/data/deid-holdout-2.tsv, never tuned on)\n");
    table(&corpus::evaluate_samples(corpus::samples_of(corpus::HOLDOUT_2)));
    speed();
}

fn table(f: &corpus::Figures) {
    println!("| kind | samples | refused | warned | missed |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (kind, k) in &f.kinds {
        println!(
            "| {kind} | {} | {} | {} | {} |",
            k.samples,
            k.refused,
            k.warned,
            k.samples - k.refused - k.warned
        );
    }
    let pct = |x: f64| format!("{:.1}%", 100.0 * x);
    println!();
    println!(
        "identifiers: {} samples, refused or warned {}, refused (kinds the guard refuses) {}",
        f.identifiers.samples,
        pct(f.recall()),
        pct(f.refused_recall())
    );
    println!(
        "clinical: {} samples, refused {} ({}), warned {} ({})",
        f.clinical.samples,
        f.clinical.refused,
        pct(f.clinical_refused()),
        f.clinical.warned,
        pct(f.clinical_warned())
    );
    for miss in &f.identifier_misses {
        println!("  missed: {miss}");
    }
    for flagged in &f.clinical_misses {
        println!("  clinical flagged: {flagged}");
    }
}

fn speed() {
    let clinical: Vec<&str> =
        corpus::samples().into_iter().filter(|s| s.label.is_none()).map(|s| s.text).collect();
    let mut text = String::new();
    while text.len() < 1 << 20 {
        for s in &clinical {
            text.push_str(s);
            text.push('\n');
        }
    }
    let mb = text.len() as f64 / 1e6;
    println!();
    println!("speed on {mb:.2} MB of clinical text (best of 5):");
    type Run<'a> = (&'a str, &'a dyn Fn(&str) -> usize);
    let runs: [Run<'_>; 3] = [
        ("guard v1 first_identifier", &|t| usize::from(first_identifier(t).is_some())),
        ("guard v2 first_refusal", &|t| usize::from(v2::first_refusal(t).is_some())),
        ("guard v2 scan (findings and warnings)", &|t| v2::scan(t).warnings.len()),
    ];
    for (name, run) in runs {
        let best = (0..5)
            .map(|_| {
                let start = Instant::now();
                black_box(run(black_box(&text)));
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        println!("  {name}: {:.1} MB/s", mb / best);
    }
    // As validation meets it: one field at a time (the clinical samples,
    // about 60 bytes each), so per-call costs count.
    let fields: usize = clinical.iter().map(|s| s.len()).sum();
    let mb = fields as f64 / 1e6;
    let per_field: [Run<'_>; 3] = [
        ("guard v1 first_identifier, per field", &|t| usize::from(first_identifier(t).is_some())),
        ("guard v2 first_refusal, per field", &|t| usize::from(v2::first_refusal(t).is_some())),
        ("guard v2 scan, per field", &|t| v2::scan(t).warnings.len()),
    ];
    for (name, run) in per_field {
        let best = (0..5)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..20 {
                    for s in &clinical {
                        black_box(run(black_box(s)));
                    }
                }
                start.elapsed().as_secs_f64() / 20.0
            })
            .fold(f64::INFINITY, f64::min);
        println!("  {name}: {:.1} MB/s ({} fields)", mb / best, clinical.len());
    }
    if std::env::var_os("DEID_PROFILE").is_some() {
        for (name, secs) in v2::detector_timings(&text) {
            println!("  {name}: {:.1} ms", secs * 1e3);
        }
    }
}
