//! The trained content model: a versioned JSON artefact, and the scoring it
//! defines.
//!
//! The model is two one-vs-rest logistic regressions whose probabilities
//! are averaged, head by head:
//!
//! * the **term model**, on binary unigram and bigram stem features,
//!   L2-normalized per text so that a long letter and a short voicemail
//!   weigh the same. It is deliberately transparent: every score is a bias
//!   plus a sum of per-term weights that can be printed next to the
//!   decision, which is what lets a reviewer see *why* a contribution was
//!   filed under a question;
//! * the **sentence model** ([`crate::sentence`]), on the
//!   multilingual-e5-small embedding of the whole text, which recognises
//!   what a text means when it says it in words the corpus never used.
//!
//! The thresholds are learned on the averaged scores.

use crate::error::ClassifyError;
use crate::sentence::SentenceHead;
use crate::text::{features, Normalizer};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The model has four logistic heads over the same features: one per
/// question, and one that recognizes what is not a contribution at all
/// (wrong numbers, hang-ups, appointment reminders), which the training
/// corpus labels with an empty set.
pub const HEADS: usize = 4;
/// Index of the "not a contribution" head.
pub(crate) const NONE: usize = 3;

/// The `format` field of every artefact.
pub const FORMAT: &str = "recueil-classifier";
/// Bumped whenever the meaning of a field or of the features changes; a
/// model of another format version is refused rather than misread.
pub const FORMAT_VERSION: u32 = 3;

/// The artefact, as stored under `models/classifier/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub format: String,
    pub format_version: u32,
    /// Human name, from the artefact's file name.
    pub name: String,
    /// Derived from the training corpus and hyper-parameters, so two models
    /// with the same version are the same model.
    pub version: String,
    /// How text becomes features; fixed by the format version, recorded so
    /// the artefact documents itself.
    pub features: FeatureSpec,
    pub training: TrainingInfo,
    /// Per-question decision thresholds, chosen by cross-validation on the
    /// averaged scores of the two models (the term model's alone when the
    /// artefact has no sentence model).
    pub thresholds: Thresholds,
    /// Intercepts of the four heads: questions 1, 2, 3, and "not a
    /// contribution".
    pub bias: [f64; HEADS],
    /// Term (stem or `stem stem`) to its weight in each head (questions 1,
    /// 2, 3, not a contribution). The keys are the vocabulary: every term
    /// seen in at least `min_df` training texts.
    pub vocabulary: BTreeMap<String, [f64; HEADS]>,
    /// The sentence model averaged with the term model; absent in a model
    /// trained without one (`recueil train classifier --terms-only`).
    pub sentence: Option<SentenceHead>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    pub stemmer: String,
    pub ngrams: String,
    pub weighting: String,
}

impl FeatureSpec {
    pub(crate) fn current() -> FeatureSpec {
        FeatureSpec {
            stemmer: "snowball french (rust-stemmers), accents folded, elisions expanded, \
                      hesitations dropped, numbers as 0"
                .into(),
            ngrams: "unigrams + bigrams within a clause".into(),
            weighting: "binary presence, L2-normalized over all distinct terms of the text".into(),
        }
    }
}

/// Where the model came from: enough to retrain it byte for byte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// SHA-256 of the training TSV, as bytes.
    pub corpus_sha256: String,
    pub corpus_examples: usize,
    /// Date given to the training command (not the clock, so that training
    /// is reproducible).
    pub date: String,
    pub hyper_parameters: HyperParameters,
    /// The L2 strength that cross-validation picked from the grid for the
    /// term model.
    pub chosen_l2: f64,
    /// Out of fold, the term model alone: macro-F1 at its own best
    /// thresholds.
    pub cv_macro_f1_terms: f64,
    /// Out-of-fold figures of the model as used (both models averaged) at
    /// the chosen thresholds.
    pub cv_f1: [f64; 3],
    pub cv_macro_f1: f64,
    pub cv_not_contribution_f1: f64,
    /// Out of fold, on the texts the content model decides (those its
    /// "not a contribution" head lets through): exact-set accuracy, the
    /// share published at the publish threshold, and their precision.
    pub cv_exact_set_accuracy: f64,
    pub cv_published_share: f64,
    pub cv_published_precision: f64,
}

/// The knobs of training. Defaults are what the committed model used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HyperParameters {
    /// A term enters the vocabulary when at least this many texts have it.
    pub min_df: usize,
    /// Candidate L2 strengths of the term model; cross-validation picks
    /// one.
    pub l2_grid: Vec<f64>,
    /// Candidate L2 strengths of the sentence model (in its whitened
    /// space); cross-validation picks the one whose average with the term
    /// model scores best.
    pub sentence_l2_grid: Vec<f64>,
    /// Added to the covariance's diagonal, as a share of its mean
    /// variance, before the sentence model whitens the embeddings: without
    /// it the directions the training texts barely vary along would be
    /// blown up to unit variance and fitted on noise. Cross-validated
    /// macro-F1 of the averaged model on the committed corpus: 0.894 at
    /// 0.01, 0.897 at 0.05, 0.904 from 0.5 to 2 (1 is the best, 0.9045),
    /// 0.898 at 20.
    pub sentence_shrinkage: f64,
    /// Folds of the cross-validation (texts assigned by position).
    pub folds: usize,
    /// Full-batch accelerated gradient descent: at most this many steps...
    pub max_iter: usize,
    /// ...or until the gradient norm falls below this.
    pub tolerance: f64,
    /// A content-only decision is published (not sent to review) when the
    /// confidence in its whole set reaches the threshold at which
    /// cross-validated published-set precision is at least this.
    pub publish_precision: f64,
}

impl Default for HyperParameters {
    fn default() -> Self {
        HyperParameters {
            min_df: 2,
            l2_grid: vec![0.0001, 0.0003, 0.001, 0.003],
            sentence_l2_grid: vec![0.03, 0.1, 0.3, 1.0],
            sentence_shrinkage: 1.0,
            folds: 5,
            max_iter: 2000,
            tolerance: 1e-5,
            publish_precision: 0.95,
        }
    }
}

/// Per-question thresholds on the probability, for questions 1, 2, 3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// At or above: the question can be in the set (best cross-validated
    /// F1). The best-scoring such question is the set's first.
    pub decide: [f64; 3],
    /// At or above: the question joins the set as an *additional* one,
    /// beside a better-scoring question (best cross-validated exact-set
    /// accuracy). Most misfilings were an extra question added: an
    /// additional question must be said more clearly than a lone one.
    pub extra: [f64; 3],
    /// At or above: the content model's set is confident enough to be
    /// published without a person (cross-validated published-set
    /// precision; see [`HyperParameters::publish_precision`]).
    pub publish: f64,
    /// At or above on the last head: not a contribution (best
    /// cross-validated F1 for that class).
    pub not_contribution: f64,
}

/// The probability that `set` is exactly the right set, from the three
/// question heads' probabilities taken as independent.
pub(crate) fn set_probability(scores: &[f64; 3], set: recueil_core::QuestionSet) -> f64 {
    recueil_core::Question::ALL
        .into_iter()
        .enumerate()
        .map(|(i, q)| {
            if set.contains(q) {
                scores[i]
            } else {
                1.0 - scores[i]
            }
        })
        .product()
}

/// The term model's and the sentence model's probabilities combined: their
/// mean, head by head. Training and classifying both combine by this
/// function.
pub(crate) fn averaged(terms: &[f64; HEADS], sentence: &[f64; HEADS]) -> [f64; HEADS] {
    std::array::from_fn(|h| (terms[h] + sentence[h]) / 2.0)
}

/// Whether the content model may publish `set` at all (given enough
/// confidence): not an empty set, and not all three questions, which a
/// text that touches everything without naming a question gets from the
/// heads more often than it means it; a person decides those.
pub(crate) fn publishable(set: recueil_core::QuestionSet) -> bool {
    !set.is_empty() && set.len() < 3
}

impl Thresholds {
    /// The set the content model chooses from its scores: the best-scoring
    /// question at or above its `decide` threshold, then each other one at
    /// or above its `extra` threshold. Training and classifying both decide
    /// by this function.
    pub(crate) fn content_set(&self, scores: &[f64; 3]) -> recueil_core::QuestionSet {
        let candidates = || (0..3).filter(|&i| scores[i] >= self.decide[i]);
        let Some(first) = candidates().max_by(|&a, &b| scores[a].total_cmp(&scores[b])) else {
            return recueil_core::QuestionSet::empty();
        };
        recueil_core::Question::ALL
            .into_iter()
            .enumerate()
            .filter(|&(i, _)| {
                i == first || (scores[i] >= self.extra[i] && scores[i] >= self.decide[i])
            })
            .map(|(_, q)| q)
            .collect()
    }
}

impl Model {
    /// Parses and checks an artefact.
    pub fn from_json(json: &str) -> Result<Model, ClassifyError> {
        let model: Model = serde_json::from_str(json).map_err(ClassifyError::ModelJson)?;
        if model.format != FORMAT || model.format_version != FORMAT_VERSION {
            return Err(ClassifyError::ModelFormat {
                found: format!("{} v{}", model.format, model.format_version),
                expected: format!("{FORMAT} v{FORMAT_VERSION}"),
            });
        }
        if let Some(head) = &model.sentence {
            head.check()?;
        }
        Ok(model)
    }

    /// The artefact as committed: indented JSON with each term's weights on
    /// one line (small, diffable), sorted vocabulary, trailing newline.
    /// Deterministic, so retraining can be compared byte for byte.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, InlineArrays::default());
        self.serialize(&mut ser).expect("a model always serializes");
        let mut s = String::from_utf8(out).expect("serde_json writes UTF-8");
        s.push('\n');
        s
    }
}

/// serde_json's pretty formatter, except that arrays of numbers stay on
/// one line (`"il faudr": [0.1, -0.2, 1.3, -0.8]`) and an array of arrays
/// has one inner array per line (the sentence model's weights, one
/// embedding dimension per line): small and diffable.
#[derive(Default)]
struct InlineArrays {
    pretty: serde_json::ser::PrettyFormatter<'static>,
    /// Objects open around the current value: the indentation.
    objects: usize,
    /// Per open array, whether it holds arrays.
    arrays: Vec<bool>,
    /// A separator is owed before the next array element: `, ` before a
    /// number, `,` and a new line before an inner array.
    separator: bool,
}

impl InlineArrays {
    fn indent<W: ?Sized + std::io::Write>(&self, w: &mut W, level: usize) -> std::io::Result<()> {
        w.write_all(b"\n")?;
        (0..level).try_for_each(|_| w.write_all(b"  "))
    }

    /// Writes the separator owed before a scalar element.
    fn scalar<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        if std::mem::take(&mut self.separator) {
            w.write_all(b", ")?;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for InlineArrays {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        if let Some(outer) = self.arrays.last_mut() {
            *outer = true;
            if std::mem::take(&mut self.separator) {
                w.write_all(b",")?;
            }
            self.indent(w, self.objects + 1)?;
        }
        self.arrays.push(false);
        w.write_all(b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        if self.arrays.pop() == Some(true) {
            self.indent(w, self.objects)?;
        }
        w.write_all(b"]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        _: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.separator = !first;
        Ok(())
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        Ok(())
    }
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f64) -> std::io::Result<()> {
        self.scalar(w)?;
        self.pretty.write_f64(w, v)
    }
    fn write_u64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: u64) -> std::io::Result<()> {
        self.scalar(w)?;
        self.pretty.write_u64(w, v)
    }
    fn write_i64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: i64) -> std::io::Result<()> {
        self.scalar(w)?;
        self.pretty.write_i64(w, v)
    }
    fn begin_string<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.scalar(w)?;
        self.pretty.begin_string(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.objects += 1;
        self.pretty.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.objects -= 1;
        self.pretty.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.pretty.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.end_object_value(w)
    }
}

/// One feature's contribution to one question's score.
#[derive(Debug, Clone)]
pub(crate) struct Contribution {
    /// Byte range of the citizen's words the feature came from.
    pub start: usize,
    pub end: usize,
    pub weight: [f64; HEADS],
}

/// The model ready to score: a hash map instead of a sorted map.
#[derive(Debug)]
pub(crate) struct Scorer {
    normalizer: Normalizer,
    weights: HashMap<String, [f64; HEADS]>,
    bias: [f64; HEADS],
}

/// What scoring a text produced.
pub(crate) struct Scored {
    /// Questions 1, 2, 3, then "not a contribution".
    pub probabilities: [f64; HEADS],
    /// Per present feature, its weighted contribution (weight times value).
    pub contributions: Vec<Contribution>,
    /// Non-hesitation words in the text.
    pub words: usize,
}

pub(crate) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl Scorer {
    pub fn new(model: &Model) -> Scorer {
        Scorer {
            normalizer: Normalizer::default(),
            weights: model
                .vocabulary
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            bias: model.bias,
        }
    }

    pub fn score(&self, text: &str) -> Scored {
        let terms = self.normalizer.terms(text);
        let words = terms.len();
        let feats = features(&terms);
        let mut seen: HashSet<&str> = HashSet::with_capacity(feats.len());
        let mut present: Vec<(&[f64; HEADS], usize, usize)> = Vec::new();
        for f in &feats {
            if seen.insert(f.key.as_str()) {
                if let Some(w) = self.weights.get(f.key.as_str()) {
                    present.push((w, f.start, f.end));
                }
            }
        }
        // Distinct terms of the text, in the vocabulary or not.
        let value = if seen.is_empty() {
            0.0
        } else {
            1.0 / (seen.len() as f64).sqrt()
        };
        let mut z = self.bias;
        let mut contributions = Vec::with_capacity(present.len());
        for (w, start, end) in present {
            let c = w.map(|w| w * value);
            for (z, c) in z.iter_mut().zip(c) {
                *z += c;
            }
            contributions.push(Contribution {
                start,
                end,
                weight: c,
            });
        }
        Scored {
            probabilities: z.map(sigmoid),
            contributions,
            words,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recueil_core::QuestionSet;

    fn set(s: &str) -> QuestionSet {
        QuestionSet::parse_list(s).unwrap()
    }

    #[test]
    fn number_arrays_stay_on_one_line_and_arrays_of_arrays_go_one_per_line() {
        #[derive(Serialize)]
        struct Sample {
            grid: Vec<f64>,
            rows: Vec<[f64; 2]>,
            empty: Vec<f64>,
        }
        let sample = Sample {
            grid: vec![0.5, 1.0],
            rows: vec![[1.0, -2.0], [0.25, 3.0]],
            empty: vec![],
        };
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, InlineArrays::default());
        sample.serialize(&mut ser).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n  \"grid\": [0.5, 1.0],\n  \"rows\": [\n    [1.0, -2.0],\n    [0.25, 3.0]\n  ],\n  \"empty\": []\n}"
        );
    }

    #[test]
    fn the_whole_set_is_scored_and_all_three_is_never_published_alone() {
        let scores = [0.9, 0.2, 0.6];
        assert!((set_probability(&scores, set("1,3")) - 0.9 * 0.8 * 0.6).abs() < 1e-12);
        assert!((set_probability(&scores, set("1")) - 0.9 * 0.8 * 0.4).abs() < 1e-12);
        assert!(publishable(set("1")) && publishable(set("2,3")));
        assert!(!publishable(set("1,2,3")));
        assert!(!publishable(QuestionSet::empty()));
    }
}
