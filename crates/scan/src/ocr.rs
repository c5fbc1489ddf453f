//! The free text: cleaning the frame crop, tesseract, and a confidence that
//! says how readable the writing really was.
//!
//! Tesseract's own word confidences are over-optimistic on handwriting it
//! cannot read (it confidently "reads" cursive as plausible letter soup), so
//! the page confidence also weighs how much of the output looks like
//! language: words made of letters, with vowels, without stray punctuation
//! inside or case flipping mid-word. Cursive comes out as fragments that
//! fail those checks.

use crate::error::ScanError;
use image::GrayImage;
use serde::Serialize;
use std::cell::RefCell;
use tesseract::Tesseract;

/// One recognised word, in pixels of the text crop.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Word {
    pub text: String,
    /// Tesseract's confidence, 0 to 1.
    pub confidence: f32,
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
    /// 1-based line number within the crop.
    pub line: u32,
}

/// What OCR made of a crop.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OcrOutput {
    pub text: String,
    pub words: Vec<Word>,
    /// Tesseract's mean word confidence, char-weighted, 0 to 1.
    pub engine_confidence: f32,
    /// Share of characters in words that look like language, 0 to 1.
    pub plausible: f32,
}

// Debian builds tesseract with OpenMP, whose threads spin-wait: with one
// page per worker thread already, on a shared machine, they slow OCR down
// several times (measured on 2 busy cores: 121 crops/min in process
// without, 712 with `OMP_THREAD_LIMIT=1`). libgomp reads that variable
// when it loads, before `main`, and tesseract's parallel loops name their
// thread count, so only the environment can fix it: run the worker and the
// benches with `OMP_THREAD_LIMIT=1`.
thread_local! {
    /// One tesseract per thread: initialising loads the French model
    /// (~15 MB) and takes a noticeable fraction of a second.
    static ENGINE: RefCell<Option<Tesseract>> = const { RefCell::new(None) };
}

/// The tesseract language data used.
pub const LANGUAGE: &str = "fra";

/// Whether tesseract and its French data can be initialised here.
pub fn engine_available() -> bool {
    Tesseract::new(None, Some(LANGUAGE)).is_ok()
}

/// Runs tesseract on a clean grey crop at `dpi`; the frame is read as a
/// single uniform block of text (one block on rules).
pub(crate) fn recognise(
    crop: &GrayImage,
    dpi: u32,
    mode: tesseract::PageSegMode,
) -> Result<OcrOutput, ScanError> {
    ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let tess = match slot.take() {
            Some(t) => t,
            None => {
                tracing::debug!("initialising tesseract for this thread");
                Tesseract::new(None, Some(LANGUAGE)).map_err(|e| {
                    ScanError::Ocr(format!(
                        "cannot initialise tesseract with {LANGUAGE}: {e} (install tesseract-ocr-fra)"
                    ))
                })?
            }
        };
        let (w, h) = crop.dimensions();
        let run = |tess: Tesseract| -> Result<(Tesseract, String), (Option<Tesseract>, String)> {
            let mut tess = tess
                .set_frame(crop.as_raw(), w as i32, h as i32, 1, w as i32)
                .map_err(|e| (None, e.to_string()))?
                .set_source_resolution(dpi as i32);
            tess.set_page_seg_mode(mode);
            let mut tess = tess.recognize().map_err(|e| (None, e.to_string()))?;
            match tess.get_tsv_text(0) {
                Ok(tsv) => Ok((tess, tsv)),
                Err(e) => Err((Some(tess), e.to_string())),
            }
        };
        match run(tess) {
            Ok((tess, tsv)) => {
                *slot = Some(tess);
                Ok(parse_tsv(&tsv))
            }
            Err((tess, e)) => {
                // A failed call consumed the engine; the next page makes a new one.
                *slot = tess;
                Err(ScanError::Ocr(e))
            }
        }
    })
}

/// Parses tesseract's TSV: level 5 rows are words.
fn parse_tsv(tsv: &str) -> OcrOutput {
    let mut words = Vec::new();
    let mut line_keys: Vec<(u32, u32, u32)> = Vec::new();
    for row in tsv.lines() {
        let f: Vec<&str> = row.split('\t').collect();
        if f.len() < 12 || f[0] != "5" {
            continue;
        }
        let num = |i: usize| f[i].trim().parse::<i64>().unwrap_or(0).max(0) as u32;
        let text = f[11].trim();
        if text.is_empty() {
            continue;
        }
        let conf = f[10].trim().parse::<f32>().unwrap_or(0.0).clamp(0.0, 100.0) / 100.0;
        let key = (num(2), num(3), num(4));
        let line = match line_keys.iter().position(|k| *k == key) {
            Some(i) => i as u32 + 1,
            None => {
                line_keys.push(key);
                line_keys.len() as u32
            }
        };
        words.push(Word {
            text: text.to_string(),
            confidence: conf,
            left: num(6),
            top: num(7),
            width: num(8),
            height: num(9),
            line,
        });
    }
    let mut text = String::new();
    let mut last_line = 0;
    let mut elided = false;
    for w in &words {
        if !text.is_empty() {
            if w.line != last_line {
                text.push('\n');
            } else if !elided {
                text.push(' ');
            }
        }
        text.push_str(&w.text);
        last_line = w.line;
        elided = elision(&w.text);
    }
    let chars: usize = words.iter().map(|w| w.text.chars().count()).sum();
    let engine_confidence = if chars == 0 {
        0.0
    } else {
        words
            .iter()
            .map(|w| w.confidence * w.text.chars().count() as f32)
            .sum::<f32>()
            / chars as f32
    };
    let plausible = if chars == 0 {
        0.0
    } else {
        words
            .iter()
            .filter(|w| plausible_word(&w.text))
            .map(|w| w.text.chars().count())
            .sum::<usize>() as f32
            / chars as f32
    };
    OcrOutput {
        text,
        words,
        engine_confidence,
        plausible,
    }
}

/// Whether a word is a French elision ("l'", "D'", "qu'", "jusqu'"),
/// which the next word follows without a space. A typewriter gives the
/// apostrophe a whole letter's width, and tesseract then reads a space
/// after it ("AU CONSEIL D' ADMINISTRATION") that French never has.
fn elision(word: &str) -> bool {
    const ELIDED: [&str; 15] = [
        "l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu",
        "presqu", "quelqu",
    ];
    let Some(stem) = word.strip_suffix(['\'', '\u{2019}']) else {
        return false;
    };
    ELIDED.iter().any(|e| e.eq_ignore_ascii_case(stem))
}

/// Whether an OCR'd token looks like a French word, a number or ordinary
/// punctuation, rather than letter soup.
pub(crate) fn plausible_word(token: &str) -> bool {
    let core = token
        .trim_start_matches(['(', '«', '"', '\'', '“'])
        .trim_end_matches([',', '.', ';', ':', '!', '?', ')', '»', '"', '…', '\'', '”']);
    if core.is_empty() {
        // Lone punctuation is fine in moderation, but carries no letters.
        return matches!(token, "-" | "–" | "?" | "!" | ":" | ";" | "«" | "»" | "…");
    }
    if core
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | 'h' | '%' | '/' | '€'))
    {
        return core.chars().any(|c| c.is_ascii_digit());
    }
    // Letters with inner apostrophes or hyphens only (l'isolement, peut-être).
    if !core
        .chars()
        .all(|c| c.is_alphabetic() || matches!(c, '\'' | '’' | '-'))
    {
        return false;
    }
    let letters: Vec<char> = core.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.is_empty() {
        return false;
    }
    // Case: all lower, all upper, or capitalised.
    let rest_lower = letters[1..].iter().all(|c| !c.is_uppercase());
    let all_upper = letters.iter().all(|c| !c.is_lowercase());
    if !(rest_lower || all_upper) {
        return false;
    }
    let vowels = "aeiouyàâäéèêëîïôöùûüÿœæAEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŸŒÆ";
    let n_vowels = letters.iter().filter(|c| vowels.contains(**c)).count();
    if letters.len() >= 3 && n_vowels == 0 {
        return false;
    }
    // Five consonants in a row do not occur in French.
    let mut run = 0;
    for c in &letters {
        if vowels.contains(*c) {
            run = 0;
        } else {
            run += 1;
            if run >= 5 {
                return false;
            }
        }
    }
    // One-letter words: only the French ones.
    if letters.len() == 1 && core.chars().count() == 1 {
        return "aàyoôAÀYOô".contains(letters[0]) || token.ends_with('\'');
    }
    true
}

/// Page confidence from the OCR output: the engine's word confidence times
/// the share of plausible words, squashed so that a few odd tokens in good
/// print cost little while letter soup costs a lot.
pub(crate) fn page_confidence(out: &OcrOutput) -> f32 {
    if out.words.is_empty() {
        return 0.0;
    }
    let c = out.engine_confidence;
    let p = out.plausible;
    (c * p.powf(1.5)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_elision_is_joined_to_the_next_word() {
        let row = |n: u32, left: u32, text: &str| {
            format!("5\t1\t1\t1\t1\t{n}\t{left}\t10\t50\t20\t90\t{text}")
        };
        let tsv = [
            row(1, 0, "AU"),
            row(2, 60, "CONSEIL"),
            row(3, 120, "D\u{2019}"),
            row(4, 180, "ADMINISTRATION"),
            row(5, 240, "jusqu'"),
            row(6, 300, "ici,"),
            row(7, 360, "l'"),
        ]
        .join("\n");
        let out = parse_tsv(&tsv);
        assert_eq!(out.text, "AU CONSEIL D\u{2019}ADMINISTRATION jusqu'ici, l'");
        assert_eq!(out.words.len(), 7, "the words stay as read");
        // A quotation closed by an apostrophe is not an elision.
        assert!(!elision("dit'"));
        assert!(!elision("'"));
    }

    #[test]
    fn plausible_words() {
        for w in [
            "l'isolement,",
            "Précarité",
            "peut-être",
            "2022",
            "à",
            "«",
            "NANTES",
            "idées.",
        ] {
            assert!(plausible_word(w), "{w}");
        }
        for w in ["rnrnbk", "aBcd", "t;e", "j", "xqzpt", "~~", "ﬁ#"] {
            assert!(!plausible_word(w), "{w}");
        }
    }
}
