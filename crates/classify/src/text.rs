//! French text normalization shared by the explicit-mention detector and the
//! content model.
//!
//! Contributions arrive in two registers that must look alike to the model:
//! written forms (accents, punctuation, elisions such as `l'aide`) and speech
//! recognition output (often lower case, no punctuation, hesitations, accents
//! sometimes lost). Normalizing both to the same tokens is what lets one
//! model serve voicemails and paper forms.

use rust_stemmers::{Algorithm, Stemmer};

/// One word of the original text, normalized, with where it came from so
/// that evidence can quote the citizen's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// Lower case, accents removed, elided forms expanded (`j'` gives `je`).
    pub norm: String,
    /// Byte range in the original text.
    pub start: usize,
    pub end: usize,
    /// Punctuation (or the start of the text) separates it from the previous
    /// token: a clause boundary, which speech recognition rarely produces.
    pub boundary_before: bool,
    /// The boundary is a full stop, question mark, semicolon and the like,
    /// rather than a comma or colon that may sit inside a list (`1, 2 et 3`).
    pub strong_boundary: bool,
}

/// Hesitations and fillers of spoken French. They carry no meaning, and
/// dropping them keeps `il faut euh aider` and `il faut aider` identical.
const FILLERS: &[&str] = &[
    "euh", "euhh", "euuh", "heu", "hum", "humm", "hmm", "mmh", "mh", "bah", "ben", "hein",
];

/// Elided articles and pronouns, expanded so that `qu'il` and `que il` (as
/// speech recognition may write it) give the same tokens.
fn expand_elision(word: &str) -> Option<&'static str> {
    Some(match word {
        "j" => "je",
        "l" => "le",
        "d" => "de",
        "qu" => "que",
        "n" => "ne",
        "s" => "se",
        "c" => "ce",
        "m" => "me",
        "t" => "te",
        "jusqu" => "jusque",
        "lorsqu" => "lorsque",
        "puisqu" => "puisque",
        "quoiqu" => "quoique",
        _ => return None,
    })
}

/// French function words. The model keeps them (inside bigrams they carry
/// the syntax that matters: `il faudr`, `je propos`), but quoting "et" or
/// "la" as the reason for a decision would explain nothing to a reviewer,
/// so evidence skips terms made only of these.
const FUNCTION_WORDS: &[&str] = &[
    "le", "la", "les", "de", "des", "du", "un", "une", "et", "a", "au", "aux", "en", "dans",
    "pour", "par", "sur", "avec", "ce", "cet", "cette", "ces", "il", "elle", "ils", "elles", "on",
    "nous", "vous", "je", "me", "te", "se", "moi", "lui", "leur", "leurs", "y", "ne", "pas",
    "plus", "que", "qui", "quoi", "est", "sont", "ai", "as", "ont", "c", "ca", "cela", "mais",
    "ou", "donc", "alors", "voila", "bonjour", "oui", "tout", "tous", "toute", "toutes", "tres",
    "bien", "si", "mon", "ma", "mes", "son", "sa", "ses", "notre", "nos", "votre", "vos", "0", "1",
    "2", "3", "d", "l", "j", "qu", "n", "s", "m", "t", "fait", "etre", "avoir", "ai", "suis", "es",
    "sommes", "etes",
];

/// Whether every word of `text` is a function word (see [`FUNCTION_WORDS`]).
pub(crate) fn only_function_words(text: &str) -> bool {
    tokenize(text).iter().all(|t| {
        is_filler(&t.norm)
            || FUNCTION_WORDS.contains(&t.norm.as_str())
            || t.norm.chars().all(|c| c.is_ascii_digit())
    })
}

/// Whether `word` is a hesitation that both registers should ignore.
pub(crate) fn is_filler(word: &str) -> bool {
    FILLERS.contains(&word)
}

/// Lower-cases `c` and removes its accent (`É` gives `e`, `œ` gives `oe`).
fn fold_char(c: char, out: &mut String) {
    for l in c.to_lowercase() {
        match l {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => out.push('a'),
            'ç' => out.push('c'),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'î' | 'ï' | 'í' | 'ì' => out.push('i'),
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' => out.push('o'),
            'ù' | 'û' | 'ü' | 'ú' => out.push('u'),
            'ÿ' | 'ý' => out.push('y'),
            'ñ' => out.push('n'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            other => out.push(other),
        }
    }
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '`' | '´')
}

/// Characters that separate words without marking a clause boundary.
fn is_soft_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '‐' | '–' | '_' | '/' | '°' | 'º' | '*')
}

/// Splits `text` into normalized tokens.
///
/// Letters and digits form words; apostrophes end elided words (`l'`,
/// `qu'`) and otherwise separate (`aujourd'hui` gives two tokens, which is
/// harmless); hyphens split compounds; any other punctuation marks a
/// boundary.
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut start = 0;
    // (boundary, strong): what separates the next token from the last one.
    let mut boundary = (true, true);

    fn flush(
        tokens: &mut Vec<Token>,
        word: &mut String,
        start: usize,
        end: usize,
        boundary: &mut (bool, bool),
    ) {
        if word.is_empty() {
            return;
        }
        tokens.push(Token {
            norm: std::mem::take(word),
            start,
            end,
            boundary_before: boundary.0,
            strong_boundary: boundary.1,
        });
        *boundary = (false, false);
    }

    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            if word.is_empty() {
                start = i;
            }
            fold_char(c, &mut word);
        } else if is_apostrophe(c) {
            if let Some(full) = expand_elision(&word) {
                word.clear();
                word.push_str(full);
            }
            flush(&mut tokens, &mut word, start, i, &mut boundary);
        } else if is_soft_separator(c) {
            flush(&mut tokens, &mut word, start, i, &mut boundary);
        } else {
            flush(&mut tokens, &mut word, start, i, &mut boundary);
            boundary.0 = true;
            boundary.1 |= !matches!(c, ',' | ':');
        }
    }
    flush(&mut tokens, &mut word, start, text.len(), &mut boundary);
    tokens
}

/// A unit of the content model: the stem of a word, where the word was.
#[derive(Debug, Clone)]
pub(crate) struct Term {
    pub stem: String,
    pub start: usize,
    pub end: usize,
    pub boundary_before: bool,
}

/// Turns text into the stems the content model reads.
///
/// Uses the Snowball French stemmer (the maintained `rust-stemmers` crate)
/// on accent-folded words so that `propose`, `proposé` and `proposerais`
/// meet, whether or not speech recognition kept the accents. Numbers
/// become `0`: amounts and phone numbers say nothing about the question.
pub(crate) struct Normalizer {
    stemmer: Stemmer,
}

impl std::fmt::Debug for Normalizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Normalizer(snowball-french)")
    }
}

impl Default for Normalizer {
    fn default() -> Self {
        Normalizer {
            stemmer: Stemmer::create(Algorithm::French),
        }
    }
}

impl Normalizer {
    pub fn terms(&self, text: &str) -> Vec<Term> {
        let mut terms = Vec::new();
        let mut pending_boundary = false;
        for tok in tokenize(text) {
            pending_boundary |= tok.boundary_before;
            if is_filler(&tok.norm) {
                continue;
            }
            let stem = if tok.norm.chars().all(|c| c.is_ascii_digit()) {
                "0".to_string()
            } else {
                self.stemmer.stem(&tok.norm).into_owned()
            };
            terms.push(Term {
                stem,
                start: tok.start,
                end: tok.end,
                boundary_before: pending_boundary,
            });
            pending_boundary = false;
        }
        terms
    }
}

/// One feature of the content model present in a text: a stem or a pair of
/// adjacent stems, with the original words it came from.
#[derive(Debug, Clone)]
pub(crate) struct Feature {
    pub key: String,
    pub start: usize,
    pub end: usize,
}

/// Unigrams and bigrams (bigrams do not cross a clause boundary). Bigrams
/// capture what single stems cannot: `il faudr`, `je propos`, `on pourr`.
pub(crate) fn features(terms: &[Term]) -> Vec<Feature> {
    let mut out = Vec::with_capacity(terms.len() * 2);
    for (i, t) in terms.iter().enumerate() {
        out.push(Feature {
            key: t.stem.clone(),
            start: t.start,
            end: t.end,
        });
        if let Some(next) = terms.get(i + 1) {
            if !next.boundary_before {
                out.push(Feature {
                    key: format!("{} {}", t.stem, next.stem),
                    start: t.start,
                    end: next.end,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norms(text: &str) -> Vec<String> {
        tokenize(text).into_iter().map(|t| t.norm).collect()
    }

    #[test]
    fn folds_case_accents_and_elisions() {
        assert_eq!(
            norms("J'ai écrit à l'Élu qu’il"),
            ["je", "ai", "ecrit", "a", "le", "elu", "que", "il"]
        );
        assert_eq!(norms("Œuvre"), ["oeuvre"]);
    }

    #[test]
    fn punctuation_marks_boundaries_but_spaces_and_hyphens_do_not() {
        let toks = tokenize("bonjour, peut-être. Oui");
        let b: Vec<bool> = toks.iter().map(|t| t.boundary_before).collect();
        assert_eq!(b, [true, true, false, true]);
    }

    #[test]
    fn accents_and_fillers_do_not_change_the_stems() {
        let n = Normalizer::default();
        let a: Vec<String> = n
            .terms("il faudrait proposer")
            .into_iter()
            .map(|t| t.stem)
            .collect();
        let b: Vec<String> = n
            .terms("Il faudrait, euh, proposer")
            .into_iter()
            .map(|t| t.stem)
            .collect();
        assert_eq!(a, b);
        let c: Vec<String> = n.terms("précarité").into_iter().map(|t| t.stem).collect();
        let d: Vec<String> = n.terms("precarite").into_iter().map(|t| t.stem).collect();
        assert_eq!(c, d);
    }

    #[test]
    fn offsets_point_into_the_original_text() {
        let text = "L’épicerie solidaire";
        let t = tokenize(text);
        assert_eq!(&text[t[1].start..t[1].end], "épicerie");
    }
}
