//! Words and how sure whisper was of each.
//!
//! Whisper decodes sub-word tokens (byte-pair pieces, sometimes half a
//! UTF-8 character), each with a probability. A reviewer needs words: the
//! console underlines the ones whisper was unsure of, so that the ear goes
//! where the text is most likely wrong. A word is the run of tokens from
//! one that starts with a space to the next one; its probability is the
//! product of its tokens' probabilities (the probability whisper gave to
//! the whole word, by the chain rule).
//!
//! The guards ([`crate::guards`]) then delete words (annotations, loops),
//! never add or rewrite one, so the words of the final text are matched,
//! in order, against the words whisper produced.

use recueil_core::Word;

/// Builds words from a segment's text tokens, given as (bytes, probability)
/// in decoding order. Special and timestamp tokens must be left out.
pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = (&'a [u8], f32)>) -> Vec<Word> {
    let mut words = Vec::new();
    let mut bytes: Vec<u8> = Vec::new();
    let mut probability = 1.0f32;
    let mut flush = |bytes: &mut Vec<u8>, probability: &mut f32| {
        let text = String::from_utf8_lossy(bytes).trim().to_string();
        if !text.is_empty() {
            words.push(Word {
                text,
                probability: *probability,
            });
        }
        bytes.clear();
        *probability = 1.0;
    };
    for (piece, p) in tokens {
        if piece.first().is_some_and(u8::is_ascii_whitespace) {
            flush(&mut bytes, &mut probability);
        }
        bytes.extend_from_slice(piece);
        probability *= p.clamp(0.0, 1.0);
    }
    flush(&mut bytes, &mut probability);
    words
}

/// The words of `text` (what the guards kept of a segment), each with the
/// probability of the word whisper produced for it, matched in order.
/// A word of `text` that whisper's words do not hold (none should) takes
/// `fallback`, the segment's confidence.
pub fn matched(text: &str, heard: &[Word], fallback: f32) -> Vec<Word> {
    let mut next = 0;
    text.split_whitespace()
        .map(|word| {
            let found = heard[next..].iter().position(|h| h.text == word);
            let probability = match found {
                Some(offset) => {
                    next += offset + 1;
                    heard[next - 1].probability
                }
                None => fallback,
            };
            Word {
                text: word.to_string(),
                probability,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heard(words: &[(&str, f32)]) -> Vec<Word> {
        words
            .iter()
            .map(|&(text, probability)| Word {
                text: text.into(),
                probability,
            })
            .collect()
    }

    #[test]
    fn tokens_join_into_words_with_the_product_of_their_probabilities() {
        // " accueil" in two pieces, "é" split across two byte tokens,
        // punctuation glued to its word.
        let tokens: Vec<(&[u8], f32)> = vec![
            (b" un", 0.9),
            (b" acc", 0.5),
            (b"ueil", 0.8),
            (b" \xc3", 0.9),
            (b"\xa9t", 1.0),
            (b"\xc3\xa9", 0.5),
            (b",", 1.0),
            (b" merci", 0.99),
        ];
        let words = from_tokens(tokens);
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["un", "accueil", "été,", "merci"]);
        assert!((words[1].probability - 0.4).abs() < 1e-6);
        assert!((words[2].probability - 0.45).abs() < 1e-6);
    }

    #[test]
    fn the_first_token_needs_no_space_and_blank_tokens_make_no_word() {
        let words = from_tokens(vec![(&b"Bonjour"[..], 0.7), (b" ", 0.9), (b" oui", 0.6)]);
        assert_eq!(words, heard(&[("Bonjour", 0.7), ("oui", 0.6)]));
    }

    #[test]
    fn words_the_guards_kept_keep_their_probabilities_in_order() {
        let whisper = heard(&[
            ("je", 0.9),
            ("[Musique]", 0.2),
            ("merci", 0.3),
            ("merci", 0.8),
            ("beaucoup", 0.7),
        ]);
        // The annotation and the first of a doubled word removed.
        let words = matched("je merci beaucoup", &whisper, 0.5);
        assert_eq!(
            words,
            heard(&[("je", 0.9), ("merci", 0.3), ("beaucoup", 0.7)])
        );
        // A word whisper did not produce takes the segment's confidence.
        assert_eq!(matched("autre", &whisper, 0.5), heard(&[("autre", 0.5)]));
        assert!(matched("", &whisper, 0.5).is_empty());
    }
}
