//! Word error rate with a simple, documented normalisation.
#![allow(dead_code)]

/// Lower-case; apostrophes (straight and curly) and hyphens become spaces, so
/// elisions split (`l'accident` -> `l accident`, `états-unis` -> `états unis`);
/// every other character that is not a letter or a digit is dropped
/// (punctuation, guillemets); then split on white space. Numbers are left as
/// written (a reference in words against digits counts as an error).
pub fn normalise(s: &str) -> Vec<String> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if c.is_whitespace()
            || matches!(
                c,
                '\'' | '\u{2019}' | '\u{2018}' | '-' | '\u{2010}' | '\u{2011}'
            )
        {
            out.push(' ');
        }
    }
    out.split_whitespace().map(str::to_string).collect()
}

/// Word-level Levenshtein distance between two normalised texts.
pub fn edit_distance(reference: &[String], hypothesis: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=hypothesis.len()).collect();
    for (i, r) in reference.iter().enumerate() {
        let mut cur = vec![i + 1; hypothesis.len() + 1];
        for (j, h) in hypothesis.iter().enumerate() {
            let sub = prev[j] + usize::from(r != h);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[hypothesis.len()]
}

/// (edits, reference words) for one utterance.
pub fn wer_counts(reference: &str, hypothesis: &str) -> (usize, usize) {
    let r = normalise(reference);
    let h = normalise(hypothesis);
    (edit_distance(&r, &h), r.len())
}

/// `../shared` relative to the repository root.
pub fn shared_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"))
}

#[test]
fn normalisation_and_distance() {
    assert_eq!(
        normalise("Il a ajouté qu’« on ne devrait pas », l'USOC (États-Unis)."),
        ["il", "a", "ajouté", "qu", "on", "ne", "devrait", "pas", "l", "usoc", "états", "unis"]
    );
    let w = |s: &str| normalise(s);
    assert_eq!(edit_distance(&w("a b c d"), &w("a x c")), 2);
    assert_eq!(edit_distance(&w(""), &w("a b")), 2);
    assert_eq!(
        wer_counts("L'accident a eu lieu.", "l accident a eu lieu"),
        (0, 5)
    );
}
