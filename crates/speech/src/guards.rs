//! Honesty guards: what Whisper writes that no caller said.
//!
//! Whisper was trained on subtitled video. On silence, line noise or the
//! tail of a message it writes the credits and captions it saw there, in
//! French notably `Sous-titrage ST' 501`, `Sous-titres réalisés par la
//! communauté d'Amara.org`, `Merci d'avoir regardé`, `[Musique]`; and a
//! decoder that loses its place repeats a phrase in a loop. Measured here:
//! the base model printed `[Musique]` on 6 s of line noise, and q8_0 looped
//! a made-up sentence on 20 s of leading silence (design/pitfalls.md).
//!
//! What the guards do, segment by segment:
//!
//! - **annotations** (`[Musique]`, `(rires)`, `*bruit*`, `♪`) are removed:
//!   they describe sounds, nobody said them;
//! - **known credit lines** (the phrases above, matched after
//!   normalisation) remove their whole segment;
//! - **repetition loops** (the same segment three times or more in a row;
//!   the same 1-2 words four times or more, or the same longer phrase three
//!   times or more, in a row) are collapsed to one occurrence;
//! - a transcript that is only a **courtesy word** (`merci`, `au revoir`...)
//!   is kept but flagged: it is what Whisper writes on a hang-up, and also
//!   what a caller might say.
//!
//! Whatever was removed or collapsed lowers the transcript's confidence
//! below any sensible review threshold ([`Flags::confidence_cap`]), so a
//! person checks it against the recording; when nothing is left the
//! message has no speech (status `empty`).

use recueil_eval::normalise;

/// Phrases, normalised like the WER (`recueil_eval::normalise`: lower
/// case, no punctuation, numbers in words), that end a segment's life
/// wherever they appear in it.
const CREDITS: &[&str] = &[
    "sous titrage",
    "sous titres réalisés",
    "sous titré par",
    "sous titres par",
    "amara org",
    "merci d avoir regardé",
    "merci de nous avoir regardé",
    "abonnez vous",
    "n oubliez pas de vous abonner",
    "like et abonne toi",
    "radio canada",
];

/// Whole transcripts that are only politeness: kept, but flagged.
const COURTESIES: &[&str] = &[
    "merci",
    "merci beaucoup",
    "merci à tous",
    "au revoir",
    "merci au revoir",
    "au revoir merci",
    "bonjour",
    "bonne journée",
    "allô",
];

/// What the guards changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// Annotations (`[Musique]`) removed.
    pub annotation: bool,
    /// A credit line removed.
    pub credits: bool,
    /// A repetition loop collapsed.
    pub repetition: bool,
    /// The whole transcript is a courtesy word.
    pub courtesy_only: bool,
}

impl Flags {
    /// The highest confidence a transcript may keep after these changes.
    ///
    /// Removing an annotation alone changes nothing said; a removed credit
    /// line or a collapsed loop means the decoder was writing from its
    /// training data, so what is left must be checked by a person; a lone
    /// courtesy word on a recording is more often a hang-up than a message.
    pub fn confidence_cap(&self) -> f32 {
        if self.repetition || self.courtesy_only {
            0.3
        } else if self.credits {
            0.5
        } else {
            1.0
        }
    }

    pub fn any(&self) -> bool {
        self.annotation || self.credits || self.repetition || self.courtesy_only
    }
}

/// Removes `[...]`, `(...)`, `*...*` and music notes.
pub fn strip_annotations(text: &str) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut closing: Option<char> = None;
    let mut removed = false;
    for c in text.chars() {
        match closing {
            Some(close) => {
                if c == close {
                    closing = None;
                }
            }
            None => match c {
                '[' => {
                    closing = Some(']');
                    removed = true;
                }
                '(' => {
                    closing = Some(')');
                    removed = true;
                }
                '*' => {
                    closing = Some('*');
                    removed = true;
                }
                '♪' | '♫' | '♬' => removed = true,
                c => out.push(c),
            },
        }
    }
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    (out, removed)
}

/// Whether the text has no word in it (only punctuation, dashes, dots).
pub fn is_wordless(text: &str) -> bool {
    !text.chars().any(char::is_alphanumeric)
}

/// Whether a (normalised) text contains a known credit line.
pub fn is_credit_line(text: &str) -> bool {
    let norm = format!(" {} ", normalise(text).join(" "));
    CREDITS.iter().any(|c| norm.contains(&format!(" {c} ")))
}

/// Whether a whole transcript is only a courtesy word.
pub fn is_courtesy_only(text: &str) -> bool {
    let norm = normalise(text).join(" ");
    COURTESIES.contains(&norm.as_str())
}

/// Collapses immediate repetitions of a word sequence: `n`-word phrases
/// repeated at least 4 times (n <= 2) or 3 times (n >= 3) become one.
/// Hyphens separate words here too (`limot-limot-limot-limot`, a loop
/// measured with beam search). Returns the text kept and whether anything
/// was collapsed. Words are compared after normalisation; the original
/// spelling and separators are kept.
pub fn collapse_loops(text: &str) -> (String, bool) {
    // (word, separator after it)
    let mut words: Vec<(&str, &str)> = Vec::new();
    for chunk in text.split_whitespace() {
        let mut parts = chunk.split('-').peekable();
        while let Some(p) = parts.next() {
            words.push((p, if parts.peek().is_some() { "-" } else { " " }));
        }
    }
    let keys: Vec<String> = words.iter().map(|(w, _)| normalise(w).join(" ")).collect();
    let mut out: Vec<(&str, &str)> = Vec::with_capacity(words.len());
    let mut collapsed = false;
    let mut i = 0;
    'outer: while i < words.len() {
        for n in 1..=12.min((words.len() - i) / 3) {
            let min_repeats = if n <= 2 { 4 } else { 3 };
            let mut repeats = 1;
            while i + (repeats + 1) * n <= words.len()
                && keys[i + repeats * n..i + (repeats + 1) * n] == keys[i..i + n]
            {
                repeats += 1;
            }
            if repeats >= min_repeats && keys[i..i + n].iter().any(|k| !k.is_empty()) {
                out.extend_from_slice(&words[i..i + n]);
                // Keep the separator that followed the last repetition.
                if let Some(last) = out.last_mut() {
                    last.1 = words[i + repeats * n - 1].1;
                }
                i += repeats * n;
                collapsed = true;
                continue 'outer;
            }
        }
        out.push(words[i]);
        i += 1;
    }
    let mut text = String::with_capacity(out.len() * 6);
    for (w, sep) in out {
        text.push_str(w);
        text.push_str(sep);
    }
    (text.trim_end().to_string(), collapsed)
}

/// One recognised segment before the guards.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSegment {
    pub start_s: f32,
    pub end_s: f32,
    pub text: String,
    pub confidence: f32,
    /// The words whisper produced, before the guards; matched to what the
    /// guards keep of `text` by [`crate::words::matched`].
    pub words: Vec<recueil_core::Word>,
}

/// How many words [`apply`] would remove from these segments as repetition
/// loops (0 when the decoder did not loop). The transcriber decodes a
/// piece again with whisper's temperature fallback when a loop ate more
/// than a repeated word or two (see `WhisperTranscriber::decode_piece`).
pub fn words_lost_to_loops(segments: &[RawSegment]) -> usize {
    let (kept, flags) = apply(segments.to_vec());
    if !flags.repetition {
        return 0;
    }
    let words = |s: &[RawSegment]| {
        s.iter()
            .map(|x| x.text.split_whitespace().count())
            .sum::<usize>()
    };
    words(segments).saturating_sub(words(&kept))
}

/// Applies every guard to a list of segments; returns what is left.
pub fn apply(segments: Vec<RawSegment>) -> (Vec<RawSegment>, Flags) {
    let mut flags = Flags::default();
    let mut kept: Vec<RawSegment> = Vec::with_capacity(segments.len());
    for mut s in segments {
        let (text, annotated) = strip_annotations(&s.text);
        flags.annotation |= annotated;
        if is_wordless(&text) {
            continue;
        }
        if is_credit_line(&text) {
            flags.credits = true;
            continue;
        }
        let (text, looped) = collapse_loops(&text);
        flags.repetition |= looped;
        s.text = text;
        kept.push(s);
    }
    // The same segment three times or more in a row: a loop across
    // segments; keep the first, stretched over the run.
    let mut deduped: Vec<RawSegment> = Vec::with_capacity(kept.len());
    let mut i = 0;
    while i < kept.len() {
        let key = normalise(&kept[i].text);
        let run = kept[i..]
            .iter()
            .take_while(|k| normalise(&k.text) == key)
            .count();
        let mut first = kept[i].clone();
        if run >= 3 {
            flags.repetition = true;
            first.end_s = kept[i + run - 1].end_s;
            deduped.push(first);
        } else {
            deduped.extend_from_slice(&kept[i..i + run]);
        }
        i += run;
    }
    let kept = deduped;
    let whole: String = kept
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    if !kept.is_empty() && is_courtesy_only(&whole) {
        flags.courtesy_only = true;
    }
    (kept, flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(text: &str) -> RawSegment {
        RawSegment {
            start_s: 0.0,
            end_s: 1.0,
            text: text.to_string(),
            confidence: 0.9,
            words: Vec::new(),
        }
    }

    #[test]
    fn words_lost_to_a_loop_are_counted() {
        // No loop.
        assert_eq!(words_lost_to_loops(&[seg("je voudrais un accueil")]), 0);
        // The same segment five times: four copies of two words go.
        let looped: Vec<RawSegment> = (0..5).map(|_| seg("Votre expérience")).collect();
        assert_eq!(words_lost_to_loops(&looped), 8);
        // A word said four times in a row inside a segment: three go.
        assert_eq!(words_lost_to_loops(&[seg("non non non non merci")]), 3);
    }

    #[test]
    fn annotations_are_removed() {
        assert_eq!(strip_annotations(" [Musique]"), (String::new(), true));
        assert_eq!(
            strip_annotations("Bonjour (rires) je vous ♪ appelle"),
            ("Bonjour je vous appelle".to_string(), true)
        );
        assert_eq!(
            strip_annotations("Question deux."),
            ("Question deux.".to_string(), false)
        );
        let (kept, flags) = apply(vec![seg(" [Musique]"), seg(" *bruit*"), seg(" ...")]);
        assert!(kept.is_empty() && flags.annotation);
    }

    #[test]
    fn known_french_credits_are_removed() {
        for credit in [
            "Sous-titrage ST' 501",
            " Sous-titres réalisés par la communauté d'Amara.org",
            "Merci d'avoir regardé cette vidéo !",
            "Sous-titrage Société Radio-Canada",
            "Abonnez-vous !",
        ] {
            assert!(is_credit_line(credit), "{credit}");
        }
        for legit in [
            "Je voudrais des sous pour le titre de transport",
            "Merci de votre attention",
            "il faudrait des sous et des titres de séjour",
        ] {
            assert!(!is_credit_line(legit), "{legit}");
        }
        let (kept, flags) = apply(vec![
            seg("Pour la question deux, il faut aider les voisins."),
            seg("Sous-titrage ST' 501"),
        ]);
        assert_eq!(kept.len(), 1);
        assert!(flags.credits && flags.confidence_cap() < 0.6);
    }

    #[test]
    fn loops_are_collapsed_and_flagged() {
        let (t, looped) = collapse_loops("je suis là je suis là je suis là je suis là");
        assert_eq!((t.as_str(), looped), ("je suis là", true));
        let (t, looped) = collapse_loops("non non non, ce n'est pas possible");
        assert!(!looped, "three times 'non' is French, not a loop: {t}");
        let (t, looped) = collapse_loops("merci merci merci merci merci");
        assert_eq!((t.as_str(), looped), ("merci", true));
        let (t, looped) = collapse_loops("par le non-flot-limot-limot-limot-limot-limot-l");
        assert_eq!((t.as_str(), looped), ("par le non-flot-limot-l", true));
        let (t, looped) = collapse_loops("rez-de-chaussée, peut-être, c'est-à-dire");
        assert_eq!(
            (t.as_str(), looped),
            ("rez-de-chaussée, peut-être, c'est-à-dire", false)
        );
        let (kept, flags) = apply(vec![
            seg("Il faut des bancs."),
            seg("Il faut des bancs."),
            seg("Il faut des bancs."),
            seg("Il faut des bancs."),
        ]);
        assert_eq!(kept.len(), 1);
        assert!(flags.repetition && flags.confidence_cap() <= 0.3);
        // Twice is allowed: people repeat themselves.
        let (kept, flags) = apply(vec![seg("Allô ?"), seg("Allô ?"), seg("Oui, bonjour.")]);
        assert_eq!(kept.len(), 3);
        assert!(!flags.repetition);
    }

    #[test]
    fn a_lone_courtesy_is_flagged_not_removed() {
        let (kept, flags) = apply(vec![seg(" Merci.")]);
        assert_eq!(kept.len(), 1);
        assert!(flags.courtesy_only && flags.confidence_cap() < 0.6);
        let (_, flags) = apply(vec![seg("Merci pour cette initiative.")]);
        assert!(!flags.any());
    }
}
