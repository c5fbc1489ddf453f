//! The committed redaction set: every piece of personal data masked, and
//! nothing else.

use recueil_privacy::redact::{evaluate, parse_examples};

const SET: &str = include_str!("../../../fixtures/redaction/sentences.tsv");

#[test]
fn the_set_is_large_and_varied_enough() {
    let examples = parse_examples(SET).unwrap();
    assert!(examples.len() >= 60, "{} sentences", examples.len());
    let with = examples.iter().filter(|e| !e.expected.is_empty()).count();
    assert!(with >= 30 && examples.len() - with >= 25);
    for register in ["spoken", "written"] {
        assert!(examples.iter().any(|e| e.register == register));
    }
}

#[test]
fn recall_is_total_and_nothing_else_is_masked() {
    let report = evaluate(&parse_examples(SET).unwrap());
    assert!(
        report.misses.is_empty(),
        "missed {} of {}:\n{}",
        report.misses.len(),
        report.expected,
        report.misses.join("\n")
    );
    assert!(
        report.over.is_empty(),
        "{} false masks:\n{}",
        report.false_masks,
        report.over.join("\n")
    );
}
