//! `recueil-eval`: the error rates every evaluation of recueil reports
//! (speech recognition, model conversion, OCR of the ballots), with one
//! normalisation, so that a figure in one README means what it means in
//! another.
//!
//! # Word error rate (speech)
//!
//! Both the reference and the hypothesis go through [`normalise`]:
//!
//! 1. Unicode canonical composition (NFC), then lower case; `œ` -> `oe`,
//!    `æ` -> `ae`. Accents are kept: they change French words (`a`/`à`,
//!    `ou`/`où`), so a missing accent is an error.
//! 2. **Numbers are said as French words**: `80` -> `quatre vingt`,
//!    `21` -> `vingt et un`, `2,5` -> `deux virgule cinq`, `1 000` (space,
//!    no-break or narrow no-break space before a group of three digits)
//!    -> `mille`, `%` -> `pour cent`; a number with a leading zero
//!    (`06 12`, `007`) or of 13 digits or more is said digit by digit.
//! 3. Apostrophes (straight, curly, `ʼ`, backtick) and hyphens become
//!    spaces, so elisions and compounds split alike on both sides
//!    (`l'accident` -> `l accident`, `rez-de-chaussée` -> `rez de chaussée`,
//!    `quatre-vingts` -> `quatre vingts`).
//! 4. Every other character that is not a letter or a digit is dropped
//!    (punctuation, guillemets, brackets).
//! 5. The plural `s` of `vingts` and `cents` is dropped (`quatre-vingts`
//!    and `quatre-vingt` are the same spoken words).
//!
//! Why numbers become words, and not words digits: a word error rate
//! measures the words said, and people (the FLEURS references, our own
//! transcripts of voicemails) write a number either way while Whisper
//! writes it either way too, so one side must be rewritten or the same
//! spoken words count as errors. Digits -> words is deterministic (a
//! number has one spelling once hyphens and the plural `s` are gone);
//! words -> digits needs a parser that guesses (`deux cent trois mille`,
//! `vingt et un` inside a sentence, `un` the article or the number). Known
//! limit: ordinals (`1er`, `2e`) are not rewritten (`1er` -> `un er`).
//!
//! # Character error rate (OCR)
//!
//! [`cer`] compares the characters written on paper with those read, after
//! [`normalise_characters`]: NFC, runs of white space (line breaks are
//! layout, not content) become one space, apostrophes become `'` and
//! hyphens `-`. Case, accents, punctuation and digits are kept: an OCR
//! engine must reproduce them, so `80` read for `80` is right and nothing
//! is spelled out. Both rates treat apostrophe and hyphen variants as one
//! character ([`APOSTROPHES`], [`HYPHENS`]).
//!
//! # Edit distance and corpus rates
//!
//! Edits are the Levenshtein distance (substitutions + deletions +
//! insertions) from `strsim`'s generic implementation, over words or
//! characters. A rate over a corpus sums the edits and the reference
//! lengths before dividing ([`Counts`] adds up), so long utterances weigh
//! more than short ones, as in every published WER; a mean of per-item
//! rates would not.

mod french;

pub use french::{french_number, normalise, APOSTROPHES, HYPHENS};

use unicode_normalization::UnicodeNormalization;

/// Edits against a reference length, in words or characters. Add them up
/// over a corpus, then take [`Counts::rate`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Substitutions + deletions + insertions.
    pub edits: usize,
    /// Words (or characters) of the reference.
    pub reference: usize,
}

impl Counts {
    /// Edits per reference unit. Against an empty reference, any output is
    /// wholly wrong: the rate is 1 (not infinite), and 0 when the output is
    /// empty too.
    pub fn rate(self) -> f64 {
        if self.reference == 0 {
            if self.edits == 0 {
                0.0
            } else {
                1.0
            }
        } else {
            self.edits as f64 / self.reference as f64
        }
    }
}

impl std::ops::Add for Counts {
    type Output = Counts;
    fn add(self, other: Counts) -> Counts {
        Counts {
            edits: self.edits + other.edits,
            reference: self.reference + other.reference,
        }
    }
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        *self = *self + other;
    }
}

impl std::iter::Sum for Counts {
    fn sum<I: Iterator<Item = Counts>>(iter: I) -> Counts {
        iter.fold(Counts::default(), |a, b| a + b)
    }
}

/// Levenshtein distance between two sequences (normalised words,
/// characters): the fewest substitutions, deletions and insertions that
/// turn `reference` into `hypothesis`.
pub fn edit_distance<T: PartialEq>(reference: &[T], hypothesis: &[T]) -> usize {
    strsim::generic_levenshtein(&Seq(reference), &Seq(hypothesis))
}

/// Which elements of `hypothesis` are wrong (substituted for a reference
/// element, or inserted) in a least-cost alignment with `reference`; among
/// the least-cost alignments, one with the most matches (so that a right
/// word is not blamed for a neighbour's error).
///
/// `strsim` gives the distance only, not the alignment, so this is the
/// textbook dynamic programme with a backtrace (quadratic, as the
/// distance is; utterances are short).
pub fn wrong_in_hypothesis<T: PartialEq>(reference: &[T], hypothesis: &[T]) -> Vec<bool> {
    let (n, m) = (reference.len(), hypothesis.len());
    // best[i][j]: (edits, matches missed) between reference[..i] and
    // hypothesis[..j], compared in that order. "Matches missed" counts
    // down from the most possible so that smaller is better throughout.
    let most = n.min(m);
    let mut best = vec![vec![(0usize, most); m + 1]; n + 1];
    for (i, row) in best.iter_mut().enumerate() {
        row[0] = (i, most);
    }
    for (j, cell) in best[0].iter_mut().enumerate() {
        *cell = (j, most);
    }
    let diagonal = |best: &[Vec<(usize, usize)>], i: usize, j: usize| {
        let (e, missed) = best[i - 1][j - 1];
        if reference[i - 1] == hypothesis[j - 1] {
            (e, missed - 1)
        } else {
            (e + 1, missed)
        }
    };
    for i in 1..=n {
        for j in 1..=m {
            let (up, left) = (best[i - 1][j], best[i][j - 1]);
            best[i][j] = diagonal(&best, i, j)
                .min((up.0 + 1, up.1))
                .min((left.0 + 1, left.1));
        }
    }
    let mut wrong = vec![false; m];
    let (mut i, mut j) = (n, m);
    while j > 0 {
        if i > 0 && best[i][j] == diagonal(&best, i, j) {
            wrong[j - 1] = reference[i - 1] != hypothesis[j - 1];
            i -= 1;
            j -= 1;
        } else if i > 0 && best[i][j] == (best[i - 1][j].0 + 1, best[i - 1][j].1) {
            // A reference word left out: no hypothesis word to blame.
            i -= 1;
        } else {
            wrong[j - 1] = true;
            j -= 1;
        }
    }
    wrong
}

/// A slice as `strsim` takes a sequence: a sized value that a shared
/// reference iterates (it walks the second sequence once per element of
/// the first).
struct Seq<'a, T>(&'a [T]);

impl<'a, T> IntoIterator for &Seq<'a, T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Word edits of one utterance, after [`normalise`].
pub fn wer_counts(reference: &str, hypothesis: &str) -> Counts {
    counts(&normalise(reference), &normalise(hypothesis))
}

/// Word error rate of one utterance (see [`Counts::rate`]).
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    wer_counts(reference, hypothesis).rate()
}

/// The characters an OCR reading is compared on (see the crate
/// documentation): NFC, white space collapsed to single spaces and trimmed,
/// apostrophes as `'`, hyphens as `-`.
pub fn normalise_characters(text: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.nfc().map(|c| {
            if APOSTROPHES.contains(&c) {
                '\''
            } else if HYPHENS.contains(&c) {
                '-'
            } else {
                c
            }
        }));
    }
    out
}

/// Character edits of one text, after [`normalise_characters`].
pub fn cer_counts(reference: &str, hypothesis: &str) -> Counts {
    counts(
        &normalise_characters(reference),
        &normalise_characters(hypothesis),
    )
}

fn counts<T: PartialEq>(reference: &[T], hypothesis: &[T]) -> Counts {
    Counts {
        edits: edit_distance(reference, hypothesis),
        reference: reference.len(),
    }
}

/// Character error rate of one text (see [`Counts::rate`]).
pub fn cer(reference: &str, hypothesis: &str) -> f64 {
    cer_counts(reference, hypothesis).rate()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alignment_blames_substituted_and_inserted_words_only() {
        let words = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        let reference = words("un accueil le soir pour les personnes seules");
        // A substitution, an insertion, a deletion ("les").
        let hypothesis = words("un acceuil le soir euh pour personnes seules");
        let wrong = wrong_in_hypothesis(&reference, &hypothesis);
        assert_eq!(
            wrong,
            [false, true, false, false, true, false, false, false]
        );
        // As many wrong words as the distance counts, less the deletions.
        assert_eq!(edit_distance(&reference, &hypothesis), 3);
        assert_eq!(wrong_in_hypothesis(&reference, &[]), Vec::<bool>::new());
        assert_eq!(wrong_in_hypothesis(&[], &words("a b")), [true, true]);
    }

    #[test]
    fn word_normalisation() {
        assert_eq!(
            normalise("Il a ajouté qu’« on ne devrait pas », l'USOC (États-Unis)."),
            [
                "il", "a", "ajouté", "qu", "on", "ne", "devrait", "pas", "l", "usoc", "états",
                "unis"
            ]
        );
        assert_eq!(normalise("Cœur"), ["coeur"]);
        // Accents are kept: `ou` and `où` are different words.
        assert_ne!(normalise("où"), normalise("ou"));
        // ... whether composed or not.
        assert_eq!(normalise("e\u{301}te\u{301}"), ["été"]);
        // Every apostrophe splits the elision.
        for a in ["'", "’", "‘", "ʼ", "`"] {
            assert_eq!(normalise(&format!("l{a}eau")), ["l", "eau"], "{a}");
        }
    }

    #[test]
    fn numbers_in_digits_and_in_words_match() {
        assert_eq!(
            normalise("allume la chambre à 80%"),
            normalise("Allume la chambre à quatre-vingts pour cent.")
        );
        assert_eq!(
            normalise("J'ai soixante-dix-huit ans et je vis avec six cents euros"),
            normalise("j'ai 78 ans et je vis avec 600 euros")
        );
        assert_eq!(wer("Il a 21 ans.", "il a vingt et un ans"), 0.0);
    }

    #[test]
    fn exact_word_error_rates() {
        // One substitution (b -> x), one deletion (d): 2 edits / 4 words.
        assert_eq!(
            wer_counts("a b c d", "a x c"),
            Counts {
                edits: 2,
                reference: 4
            }
        );
        assert_eq!(wer("a b c d", "a x c"), 0.5);
        // Insertions count: 2 edits over 1 word.
        assert_eq!(wer("oui", "oui oui oui"), 2.0);
        assert_eq!(
            wer_counts("L'accident a eu lieu.", "l accident a eu lieu"),
            Counts {
                edits: 0,
                reference: 5
            }
        );
        assert_eq!(wer_counts("", ""), Counts::default());
        assert_eq!(wer("", "merci"), 1.0);
        assert_eq!(wer("bonjour", ""), 1.0);
    }

    #[test]
    fn corpus_rates_sum_before_dividing() {
        let total: Counts = [
            wer_counts("un deux", "un trois"),
            wer_counts("a b c d e f", "a b c d e f"),
        ]
        .into_iter()
        .sum();
        assert_eq!(
            total,
            Counts {
                edits: 1,
                reference: 8
            }
        );
        assert_eq!(total.rate(), 0.125);
    }

    #[test]
    fn exact_character_error_rates() {
        assert_eq!(cer("abcd", "abcd"), 0.0);
        // One substitution, one deletion over 4 characters.
        assert_eq!(cer("abcd", "axc"), 0.5);
        // Line breaks and runs of spaces are layout, not content.
        assert_eq!(cer("Je vis\nseule", "Je  vis seule "), 0.0);
        // Apostrophes and hyphens in any form are the same character.
        assert_eq!(cer("l’eau, rez‑de‑chaussée", "l'eau, rez-de-chaussée"), 0.0);
        // Case, accents, punctuation and digits are what is on paper.
        assert_eq!(cer("Été", "ete"), 2.0 / 3.0);
        assert_eq!(cer("le 3 mars.", "le trois mars"), 6.0 / 10.0);
        assert_eq!(cer("", ""), 0.0);
        assert_eq!(cer("", "x"), 1.0);
        assert_eq!(
            cer_counts("aé", "ae\u{301}"),
            Counts {
                edits: 0,
                reference: 2
            }
        );
    }

    #[test]
    fn distance_over_any_sequence() {
        assert_eq!(edit_distance(&['k', 'i', 't'], &['s', 'i', 't', 's']), 2);
        let empty: [&str; 0] = [];
        assert_eq!(edit_distance(&empty, &["a", "b"]), 2);
        assert_eq!(edit_distance(&["a", "b"], &empty), 2);
    }
}
