//! Guard v2 meets its targets on the public corpus (issue 15): recall of
//! identifiers refused or warned >= 95%, refused >= 85% (of the kinds it
//! refuses); clinical samples refused <= 1%, warned <= 5%. A regression
//! fails here; `cargo bench -p curbside-protocol --bench deid` prints the
//! table.

mod corpus;

#[test]
fn the_corpus_has_at_least_300_samples_of_every_kind() {
    let samples = corpus::samples();
    assert!(samples.len() >= 300, "{} samples", samples.len());
    for kind in curbside_protocol::deid::IdentifierKind::ALL {
        assert!(samples.iter().any(|s| s.label == Some(kind)), "no sample of {kind:?}");
    }
}

#[test]
fn guard_v2_meets_the_corpus_targets() {
    let f = corpus::evaluate();
    let report = format!(
        "recall {:.3}, refused {:.3}, clinical refused {:.3}, warned {:.3}\nmissed identifiers:\n  {}\nclinical flagged:\n  {}",
        f.recall(),
        f.refused_recall(),
        f.clinical_refused(),
        f.clinical_warned(),
        f.identifier_misses.join("\n  "),
        f.clinical_misses.join("\n  "),
    );
    assert!(f.recall() >= 0.95, "{report}");
    assert!(f.refused_recall() >= 0.85, "{report}");
    assert!(f.clinical_refused() <= 0.01, "{report}");
    assert!(f.clinical_warned() <= 0.05, "{report}");
}
