//! The sentence half of the content model: a logistic regression on the
//! multilingual-e5-small embedding of the whole text.
//!
//! The term model ([`crate::Model`]) knows only the stems its corpus used:
//! a caller who says "je n'arrive plus à chauffer l'appartement" in words
//! the corpus never wrote scores low everywhere, and a transcript's
//! misheard words are simply lost. A sentence embedding places such a text
//! near the training texts that mean the same thing in other words. The
//! classifier averages the two models' probabilities, head by head, and
//! learns its thresholds on the averaged out-of-fold scores
//! ([`crate::train()`]); the figures that decided it are in the README.
//!
//! The explanation a reviewer reads stays with the terms: a weight on an
//! embedding dimension means nothing to a person. The sentence model's own
//! probability is quoted beside the terms, so a reviewer can see when the
//! sense of the whole text, not its words, filed it.
//!
//! The regression is fitted in a whitened space (centred, and decorrelated
//! by the Cholesky factor of the training texts' covariance): e5's
//! embeddings all point in nearly the same direction, which makes plain
//! gradient descent crawl, while whitened features make the problem well
//! conditioned and the step size known. The weights are mapped back to the
//! raw embedding, so scoring is one dot product per head.

use crate::error::ClassifyError;
use crate::model::{sigmoid, HyperParameters, HEADS};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The model whose embeddings the committed classifier reads, as named in
/// `models/manifest.toml`.
pub const SENTENCE_MODEL: &str = "e5-small";

/// What reads a text as a sentence embedding. The production encoder is
/// [`recueil_embed::SentenceModel`]; the trait is what the classifier and
/// training need of it, so that a test can, for instance, cache
/// embeddings.
pub trait SentenceEncoder: Send + Sync + fmt::Debug {
    /// The SHA-256 of the model file, which the artefact pins.
    fn sha256(&self) -> &str;
    /// The L2-normalised embedding of `text`, read as a passage (e5's
    /// role for a text that is searched for or classified).
    fn embed(&self, text: &str) -> Vec<f32>;
}

impl SentenceEncoder for recueil_embed::SentenceModel {
    fn sha256(&self) -> &str {
        recueil_embed::SentenceModel::sha256(self)
    }

    fn embed(&self, text: &str) -> Vec<f32> {
        recueil_embed::SentenceModel::embed(self, text, recueil_embed::Role::Passage)
    }
}

/// The sentence model's part of the artefact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentenceHead {
    /// The model in `models/manifest.toml` (`recueil models fetch NAME`).
    pub model: String,
    /// SHA-256 of its file: a classifier refuses any other.
    pub sha256: String,
    /// e5's prefix role the texts were embedded with.
    pub role: String,
    /// The L2 strength cross-validation picked, in the whitened space.
    pub chosen_l2: f64,
    /// Out of fold, this model alone: macro-F1 over the questions at its
    /// own best thresholds, to compare with the term model's and the
    /// average's in [`crate::TrainingInfo`].
    pub cv_macro_f1: f64,
    /// Intercepts of the four heads (questions 1, 2, 3, not a
    /// contribution), on the raw embedding.
    pub bias: [f64; HEADS],
    /// One row per embedding dimension: its weight in each head.
    pub weights: Vec<[f64; HEADS]>,
}

impl SentenceHead {
    pub(crate) fn check(&self) -> Result<(), ClassifyError> {
        if self.weights.len() != recueil_embed::DIMENSION {
            return Err(ClassifyError::SentenceModel(format!(
                "the classifier model has {} sentence weights, {} expected",
                self.weights.len(),
                recueil_embed::DIMENSION
            )));
        }
        Ok(())
    }

    /// The four heads' probabilities for an embedding.
    pub(crate) fn probabilities(&self, embedding: &[f32]) -> [f64; HEADS] {
        let mut z = self.bias;
        for (x, w) in embedding.iter().zip(&self.weights) {
            for (z, w) in z.iter_mut().zip(w) {
                *z += f64::from(*x) * w;
            }
        }
        z.map(sigmoid)
    }
}

/// A fitted sentence regression on the raw embedding.
pub(crate) struct DenseFit {
    pub bias: [f64; HEADS],
    pub weights: Vec<[f64; HEADS]>,
}

impl DenseFit {
    pub fn predict(&self, embedding: &[f64]) -> [f64; HEADS] {
        let mut z = self.bias;
        for (x, w) in embedding.iter().zip(&self.weights) {
            for (z, w) in z.iter_mut().zip(w) {
                *z += x * w;
            }
        }
        z.map(sigmoid)
    }
}

/// One-vs-rest L2-regularised logistic regression of the four heads on the
/// embeddings `x[ids]`, fitted in the whitened space by Nesterov's
/// accelerated gradient with adaptive restart (as the term model's
/// [`crate::train()`] fit), then mapped back to the raw embedding.
pub(crate) fn fit_dense(
    x: &[Vec<f64>],
    targets: &[[f64; HEADS]],
    ids: &[usize],
    l2: f64,
    hp: &HyperParameters,
) -> DenseFit {
    let d = x[0].len();
    let n = ids.len();
    let raw = DMatrix::from_fn(n, d, |r, c| x[ids[r]][c]);
    let mean = DVector::from_fn(d, |c, _| raw.column(c).mean());
    let mut centred = raw;
    for mut row in centred.row_iter_mut() {
        row -= mean.transpose();
    }
    let mut covariance = centred.transpose() * &centred / n as f64;
    let ridge = hp.sentence_shrinkage * covariance.trace() / d as f64;
    for i in 0..d {
        covariance[(i, i)] += ridge;
    }
    let cholesky = covariance
        .cholesky()
        .expect("a covariance plus a positive ridge is positive definite");
    let l = cholesky.l();
    // Whitened features, one text per column, and a last row of ones for
    // the bias: Z = L⁻¹ (X - mean)ᵀ.
    let whitened = l
        .solve_lower_triangular(&centred.transpose())
        .expect("the Cholesky factor is invertible");
    let z = whitened.insert_row(d, 1.0);
    let y = DMatrix::from_fn(HEADS, n, |h, r| targets[ids[r]][h]);

    // ‖z‖² averages d·(1 - shrinkage share) + 1 over the texts and the
    // whitened covariance is at most the identity: the loss's curvature is
    // at most 1/4 (logistic) times 1 (features and bias), plus L2.
    let step = 1.0 / (0.25 + l2);
    let mut w = DMatrix::<f64>::zeros(HEADS, d + 1);
    let mut v = w.clone();
    let mut t = 1.0_f64;
    for _ in 0..hp.max_iter {
        let scores = (&v * &z).map(sigmoid);
        let mut grad = (scores - &y) * z.transpose() / n as f64;
        let mut penalty = v.clone();
        penalty.column_mut(d).fill(0.0); // the bias is not regularised
        grad += penalty * l2;
        if grad.norm() < hp.tolerance {
            w = v;
            break;
        }
        let next = &v - &grad * step;
        // Restart the momentum when it points uphill.
        let uphill = grad.dot(&(&next - &w)) > 0.0;
        let t_next = if uphill {
            1.0
        } else {
            (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0
        };
        let momentum = if uphill { 0.0 } else { (t - 1.0) / t_next };
        v = &next + (&next - &w) * momentum;
        w = next;
        t = t_next;
    }

    // Back to the raw embedding: wᵀ L⁻¹ (x - mean) = (L⁻ᵀ w)ᵀ x - (L⁻ᵀ w)ᵀ mean.
    let head_weights = w.columns(0, d).transpose();
    let raw_weights = l
        .transpose()
        .solve_upper_triangular(&head_weights)
        .expect("the Cholesky factor is invertible");
    let mut bias = [0.0; HEADS];
    for (h, b) in bias.iter_mut().enumerate() {
        *b = w[(h, d)] - raw_weights.column(h).dot(&mean);
    }
    let weights = (0..d)
        .map(|j| std::array::from_fn(|h| raw_weights[(j, h)]))
        .collect();
    DenseFit { bias, weights }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two classes along a direction every embedding shares but the
    /// classes differ on slightly: whitening is what lets the regression
    /// separate them within the iteration budget.
    #[test]
    fn a_separable_signal_in_correlated_features_is_learned() {
        let mut x = Vec::new();
        let mut targets = Vec::new();
        for i in 0..200 {
            let positive = i % 2 == 0;
            let jitter = ((i * 37 % 101) as f64 / 101.0 - 0.5) * 0.01;
            let signal = if positive { 0.02 } else { -0.02 };
            x.push(vec![1.0 + jitter, 1.0 + jitter + signal, 0.5 - jitter]);
            let p = if positive { 1.0 } else { 0.0 };
            targets.push([p, 1.0 - p, p, 0.0]);
        }
        let ids: Vec<usize> = (0..x.len()).collect();
        let fit = fit_dense(&x, &targets, &ids, 0.001, &HyperParameters::default());
        let right = ids
            .iter()
            .filter(|&&i| (fit.predict(&x[i])[0] > 0.5) == (targets[i][0] > 0.5))
            .count();
        assert!(right >= 190, "{right} of 200");
        // The last head never fires: its bias says so.
        assert!(fit.predict(&x[0])[3] < 0.1);
    }
}
