//! Training the content model from a labelled corpus.
//!
//! Everything here is deterministic: the vocabulary is sorted, folds are
//! assigned by position, the optimizer is full-batch (no sampling, no seed
//! to forget), and the artefact records the corpus hash, the date it was
//! given and the hyper-parameters. The same corpus and options therefore
//! give a byte-identical artefact, which a test checks against the
//! committed one so the model can never drift from its corpus.
//!
//! The weights and the thresholds both come from the data: the L2 strength
//! is picked from a small grid by k-fold cross-validation, and so are the
//! per-question decision thresholds (best out-of-fold F1) and the
//! "confident" thresholds (out-of-fold precision target).

use crate::corpus::{parse_tsv, Example};
use crate::error::ClassifyError;
use crate::model::{
    averaged, publishable, set_probability, sigmoid, FeatureSpec, HyperParameters, Model,
    Thresholds, TrainingInfo, FORMAT, FORMAT_VERSION, HEADS, NONE,
};
use crate::sentence::{fit_dense, SentenceEncoder, SentenceHead, SENTENCE_MODEL};
use crate::text::{features, Normalizer};
use recueil_core::{sha256_hex, Question, QuestionSet};
use std::collections::BTreeMap;

/// What the caller decides about a training run.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The model's name (the CLI uses the artefact's file stem).
    pub name: String,
    /// Recorded as the training date. Passed in rather than read from the
    /// clock so that training twice gives the same bytes.
    pub date: String,
    pub hyper_parameters: HyperParameters,
}

/// A text as the optimizer sees it: sorted vocabulary indices, all with the
/// same value (binary features, L2-normalized over all the text's terms).
struct Row {
    idx: Vec<u32>,
    value: f64,
}

/// Trains a model on a TSV corpus (see [`parse_tsv`]): the term model,
/// and the sentence model on `sentence`'s embeddings when one is given
/// (each text is embedded once, which takes most of the time).
pub fn train(
    tsv: &str,
    options: &TrainOptions,
    sentence: Option<&dyn SentenceEncoder>,
) -> Result<Model, ClassifyError> {
    let examples = parse_tsv(tsv)?;
    let hp = &options.hyper_parameters;
    if examples.len() < hp.folds.max(2) * 2 {
        return Err(ClassifyError::Training(format!(
            "{} examples are too few",
            examples.len()
        )));
    }
    if hp.folds < 2
        || hp.l2_grid.is_empty()
        || (sentence.is_some() && hp.sentence_l2_grid.is_empty())
    {
        return Err(ClassifyError::Training(
            "need at least 2 folds and one L2 strength".into(),
        ));
    }
    for q in Question::ALL {
        if !examples.iter().any(|e| e.labels.contains(q)) {
            return Err(ClassifyError::Training(format!(
                "no example of question {q}"
            )));
        }
    }

    let normalizer = Normalizer::default();
    let keys: Vec<Vec<String>> = examples
        .iter()
        .map(|e| {
            let mut k: Vec<String> = features(&normalizer.terms(&e.text))
                .into_iter()
                .map(|f| f.key)
                .collect();
            k.sort();
            k.dedup();
            k
        })
        .collect();
    let mut df: BTreeMap<&str, usize> = BTreeMap::new();
    for k in &keys {
        for key in k {
            *df.entry(key.as_str()).or_default() += 1;
        }
    }
    let vocab: Vec<&str> = df
        .into_iter()
        .filter(|(_, n)| *n >= hp.min_df)
        .map(|(k, _)| k)
        .collect();
    let index: BTreeMap<&str, u32> = vocab
        .iter()
        .enumerate()
        .map(|(i, k)| (*k, i as u32))
        .collect();
    let rows: Vec<Row> = keys
        .iter()
        .map(|k| {
            let idx: Vec<u32> = k
                .iter()
                .filter_map(|key| index.get(key.as_str()).copied())
                .collect();
            // Normalized over all the text's terms, known or not, so that
            // a text with one known word among noise stays weak evidence.
            let value = if k.is_empty() {
                0.0
            } else {
                1.0 / (k.len() as f64).sqrt()
            };
            Row { idx, value }
        })
        .collect();
    let targets: Vec<[f64; HEADS]> = examples.iter().map(targets_of).collect();
    tracing::info!(
        examples = examples.len(),
        vocabulary = vocab.len(),
        "training the question classifier"
    );

    // The term model: cross-validation over its L2 grid.
    let terms = choose_l2(&hp.l2_grid, &targets, |l2| {
        out_of_fold(rows.len(), hp.folds, |train_ids, test_ids| {
            let fitted = fit(&rows, &targets, train_ids, vocab.len(), l2, hp);
            test_ids.iter().map(|&i| fitted.predict(&rows[i])).collect()
        })
    });
    tracing::info!(
        l2 = terms.l2,
        macro_f1 = terms.macro_f1,
        "term model cross-validated"
    );
    let (l2, terms_macro_f1) = (terms.l2, terms.macro_f1);

    // The sentence model, if any: its L2 is the one whose average with the
    // term model scores best out of fold, since the average is what
    // decides.
    let embedded = sentence.map(|encoder| {
        let _span = tracing::info_span!("embed_corpus", texts = examples.len()).entered();
        let x: Vec<Vec<f64>> = examples
            .iter()
            .map(|e| encoder.embed(&e.text).into_iter().map(f64::from).collect())
            .collect();
        (encoder, x)
    });
    let mut sentence_alone_f1 = 0.0;
    let (l2_sentence, chosen) = match &embedded {
        None => (None, terms),
        Some((_, x)) => {
            let mut alone = Vec::new();
            let averaged = choose_l2(&hp.sentence_l2_grid, &targets, |l2| {
                let oof = out_of_fold(rows.len(), hp.folds, |train_ids, test_ids| {
                    let fitted = fit_dense(x, &targets, train_ids, l2, hp);
                    test_ids.iter().map(|&i| fitted.predict(&x[i])).collect()
                });
                alone.push(macro_f1_at_best(&oof, &targets).0);
                average(&terms.oof, &oof)
            });
            let pick = hp
                .sentence_l2_grid
                .iter()
                .position(|&l2| l2 == averaged.l2)
                .expect("the chosen L2 is from the grid");
            sentence_alone_f1 = alone[pick];
            tracing::info!(
                l2 = averaged.l2,
                alone = sentence_alone_f1,
                averaged = averaged.macro_f1,
                "sentence model cross-validated"
            );
            (Some(averaged.l2), averaged)
        }
    };
    let CrossValidated {
        oof,
        thresholds: decide,
        f1s: cv_f1,
        macro_f1: cv_macro_f1,
        ..
    } = chosen;
    let sets = SetDecisions::new(&oof, &targets, decide[NONE]);
    let mut thresholds = Thresholds {
        decide: [decide[0], decide[1], decide[2]],
        extra: [decide[0], decide[1], decide[2]],
        publish: 0.0,
        not_contribution: decide[NONE],
    };
    thresholds.extra = sets.extra_thresholds(&thresholds);
    let cv_exact = sets.exact_set_accuracy(&thresholds);
    let confidences = sets.confidences(&thresholds);
    thresholds.publish = threshold_for_precision(confidences.clone(), 0.0, hp.publish_precision);
    let published: Vec<bool> = confidences
        .iter()
        .filter(|(c, _)| *c >= thresholds.publish)
        .map(|(_, right)| *right)
        .collect();
    let cv_published_share = published.len() as f64 / sets.eligible.len().max(1) as f64;
    let cv_published_precision =
        published.iter().filter(|r| **r).count() as f64 / published.len().max(1) as f64;
    tracing::info!(
        ?thresholds.extra,
        thresholds.publish,
        cv_exact,
        cv_published_share,
        cv_published_precision,
        "set thresholds cross-validated"
    );

    let all: Vec<usize> = (0..rows.len()).collect();
    let fitted = fit(&rows, &targets, &all, vocab.len(), l2, hp);
    let sentence = embedded.map(|(encoder, x)| {
        let l2 = l2_sentence.expect("chosen with the embeddings");
        let fitted = fit_dense(&x, &targets, &all, l2, hp);
        SentenceHead {
            model: SENTENCE_MODEL.into(),
            sha256: encoder.sha256().into(),
            role: "passage".into(),
            chosen_l2: l2,
            cv_macro_f1: round4(sentence_alone_f1),
            bias: fitted.bias.map(round4),
            weights: fitted.weights.into_iter().map(|w| w.map(round4)).collect(),
        }
    });

    let corpus_sha256 = sha256_hex(tsv.as_bytes());
    let hp_json = serde_json::to_string(hp).expect("serializable");
    // The sentence model's file is part of what the model is.
    let sentence_sha256 = sentence.as_ref().map_or("", |s| s.sha256.as_str());
    let version = format!(
        "{FORMAT_VERSION}.{}",
        &sha256_hex(format!("{corpus_sha256}\n{hp_json}\n{sentence_sha256}").as_bytes())[..12]
    );
    let vocabulary = vocab
        .iter()
        .enumerate()
        .map(|(j, k)| (k.to_string(), fitted.weights[j].map(round4)))
        .collect();
    Ok(Model {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        name: options.name.clone(),
        version,
        features: FeatureSpec::current(),
        training: TrainingInfo {
            corpus_sha256,
            corpus_examples: examples.len(),
            date: options.date.clone(),
            hyper_parameters: hp.clone(),
            chosen_l2: l2,
            cv_macro_f1_terms: round4(terms_macro_f1),
            cv_f1: [0, 1, 2].map(|q| round4(cv_f1[q])),
            cv_macro_f1: round4(cv_macro_f1),
            cv_not_contribution_f1: round4(cv_f1[NONE]),
            cv_exact_set_accuracy: round4(cv_exact),
            cv_published_share: round4(cv_published_share),
            cv_published_precision: round4(cv_published_precision),
        },
        thresholds: Thresholds {
            decide: thresholds.decide.map(round4),
            extra: thresholds.extra.map(round4),
            publish: round4(thresholds.publish),
            not_contribution: round4(thresholds.not_contribution),
        },
        bias: fitted.bias.map(round4),
        vocabulary,
        sentence,
    })
}

/// One model's cross-validation at the L2 strength it keeps.
struct CrossValidated {
    l2: f64,
    /// Out-of-fold probabilities of the four heads, per text.
    oof: Vec<[f64; HEADS]>,
    /// Per head, the best out-of-fold F1 and its threshold.
    thresholds: [f64; HEADS],
    f1s: [f64; HEADS],
    /// Mean of the three questions' F1s (the last head only filters).
    macro_f1: f64,
}

/// Each text's scores from a model fitted on the other folds (texts are
/// assigned to folds by position). `fit_predict(train, test)` returns the
/// scores of the `test` texts, in order.
fn out_of_fold(
    texts: usize,
    folds: usize,
    mut fit_predict: impl FnMut(&[usize], &[usize]) -> Vec<[f64; HEADS]>,
) -> Vec<[f64; HEADS]> {
    let mut oof = vec![[0.0; HEADS]; texts];
    for fold in 0..folds {
        let (test, train): (Vec<usize>, Vec<usize>) = (0..texts).partition(|i| i % folds == fold);
        for (i, scores) in test.iter().zip(fit_predict(&train, &test)) {
            oof[*i] = scores;
        }
    }
    oof
}

/// Per head the best-F1 threshold on out-of-fold scores, and the mean F1
/// of the questions.
fn macro_f1_at_best(
    oof: &[[f64; HEADS]],
    targets: &[[f64; HEADS]],
) -> (f64, [f64; HEADS], [f64; HEADS]) {
    let mut thresholds = [0.5; HEADS];
    let mut f1s = [0.0; HEADS];
    for h in 0..HEADS {
        (thresholds[h], f1s[h]) = best_f1_threshold(oof, targets, h);
    }
    (f1s[..3].iter().sum::<f64>() / 3.0, thresholds, f1s)
}

/// The L2 strength of `grid` whose out-of-fold scores (`scores(l2)`) have
/// the best macro-F1; ties go to the stronger regularisation, the simpler
/// model (the grid ascends).
fn choose_l2(
    grid: &[f64],
    targets: &[[f64; HEADS]],
    mut scores: impl FnMut(f64) -> Vec<[f64; HEADS]>,
) -> CrossValidated {
    let mut best: Option<CrossValidated> = None;
    for &l2 in grid {
        let oof = scores(l2);
        let (macro_f1, thresholds, f1s) = macro_f1_at_best(&oof, targets);
        tracing::debug!(l2, macro_f1, "cross-validated");
        if best.as_ref().is_none_or(|b| macro_f1 >= b.macro_f1 - 1e-12) {
            best = Some(CrossValidated {
                l2,
                oof,
                thresholds,
                f1s,
                macro_f1,
            });
        }
    }
    best.expect("the grid is not empty")
}

/// Two models' out-of-fold probabilities, averaged text by text as the
/// classifier averages them.
fn average(a: &[[f64; HEADS]], b: &[[f64; HEADS]]) -> Vec<[f64; HEADS]> {
    a.iter().zip(b).map(|(a, b)| averaged(a, b)).collect()
}

/// Four decimals are far below what moves a decision, and keep the
/// artefact small and diffable.
fn round4(x: f64) -> f64 {
    let r = (x * 10_000.0).round() / 10_000.0;
    if r == 0.0 {
        0.0 // no "-0.0" in the artefact
    } else {
        r
    }
}

fn targets_of(e: &Example) -> [f64; HEADS] {
    let mut t = [0.0; HEADS];
    for (h, q) in Question::ALL.into_iter().enumerate() {
        t[h] = if e.labels.contains(q) { 1.0 } else { 0.0 };
    }
    t[NONE] = if e.labels.is_empty() { 1.0 } else { 0.0 };
    t
}

struct Fitted {
    /// `weights[j][q]`.
    weights: Vec<[f64; HEADS]>,
    bias: [f64; HEADS],
}

impl Fitted {
    fn predict(&self, row: &Row) -> [f64; HEADS] {
        let mut z = self.bias;
        for &j in &row.idx {
            let w = &self.weights[j as usize];
            for (z, w) in z.iter_mut().zip(w) {
                *z += w * row.value;
            }
        }
        z.map(sigmoid)
    }
}

/// One-vs-rest L2-regularized logistic regression (one head per question
/// plus the "not a contribution" head), minimized by full-batch
/// Nesterov accelerated gradient descent with adaptive restart. The loss is
/// smooth with a known Lipschitz constant (rows have unit norm plus the
/// bias), so the step size needs no tuning.
fn fit(
    rows: &[Row],
    targets: &[[f64; HEADS]],
    ids: &[usize],
    dim: usize,
    l2: f64,
    hp: &HyperParameters,
) -> Fitted {
    let n = ids.len() as f64;
    // |x|^2 <= 1 (features) + 1 (bias); logistic curvature <= 1/4.
    let step = 1.0 / (0.25 * 2.0 + l2);
    let mut weights = vec![[0.0; HEADS]; dim];
    let mut bias = [0.0; HEADS];
    for q in 0..HEADS {
        let mut x = vec![0.0; dim + 1]; // last entry: bias
        let mut y = x.clone();
        let mut grad = vec![0.0; dim + 1];
        let mut t = 1.0_f64;
        for _ in 0..hp.max_iter {
            grad.iter_mut().for_each(|g| *g = 0.0);
            for &i in ids {
                let row = &rows[i];
                let mut z = y[dim];
                for &j in &row.idx {
                    z += y[j as usize] * row.value;
                }
                let g = (sigmoid(z) - targets[i][q]) / n;
                for &j in &row.idx {
                    grad[j as usize] += g * row.value;
                }
                grad[dim] += g;
            }
            for j in 0..dim {
                grad[j] += l2 * y[j];
            }
            let norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
            if norm < hp.tolerance {
                x.copy_from_slice(&y);
                break;
            }
            let x_next: Vec<f64> = y.iter().zip(&grad).map(|(y, g)| y - step * g).collect();
            // Restart the momentum when it points uphill.
            let uphill = grad
                .iter()
                .zip(x_next.iter().zip(&x))
                .map(|(g, (a, b))| g * (a - b))
                .sum::<f64>()
                > 0.0;
            let t_next = if uphill {
                1.0
            } else {
                (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0
            };
            let momentum = if uphill { 0.0 } else { (t - 1.0) / t_next };
            for j in 0..=dim {
                y[j] = x_next[j] + momentum * (x_next[j] - x[j]);
            }
            x = x_next;
            t = t_next;
        }
        for j in 0..dim {
            weights[j][q] = x[j];
        }
        bias[q] = x[dim];
    }
    Fitted { weights, bias }
}

/// The threshold with the best F1 on out-of-fold scores: the midpoint
/// between two consecutive distinct scores. Ties go to the threshold
/// closest to 0.5, the uninformed choice.
fn best_f1_threshold(scores: &[[f64; HEADS]], targets: &[[f64; HEADS]], q: usize) -> (f64, f64) {
    let mut s: Vec<(f64, bool)> = scores
        .iter()
        .zip(targets)
        .map(|(s, t)| (s[q], t[q] > 0.5))
        .collect();
    s.sort_by(|a, b| b.0.total_cmp(&a.0));
    let positives = s.iter().filter(|x| x.1).count() as f64;
    let mut best: (f64, f64) = (0.5, -1.0);
    let mut tp = 0.0;
    let mut fp = 0.0;
    for k in 0..s.len() {
        if s[k].1 {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        // Cut between k and k+1 only where the scores differ.
        if k + 1 < s.len() && s[k + 1].0 == s[k].0 {
            continue;
        }
        let threshold = match s.get(k + 1) {
            Some(next) => (s[k].0 + next.0) / 2.0,
            None => s[k].0 / 2.0,
        };
        let f1 = 2.0 * tp / (tp + fp + positives);
        let better = f1 > best.1 + 1e-12
            || ((f1 - best.1).abs() <= 1e-12 && (threshold - 0.5).abs() < (best.0 - 0.5).abs());
        if better {
            best = (threshold, f1);
        }
    }
    best
}

/// The out-of-fold question scores of the texts the content model decides
/// (those the "not a contribution" head lets through), with their labels:
/// what the set thresholds are learned on.
struct SetDecisions {
    eligible: Vec<([f64; 3], QuestionSet)>,
}

impl SetDecisions {
    fn new(oof: &[[f64; HEADS]], targets: &[[f64; HEADS]], not_contribution: f64) -> Self {
        let eligible = oof
            .iter()
            .zip(targets)
            .filter(|(s, _)| s[NONE] < not_contribution)
            .map(|(s, t)| {
                let labels = Question::ALL
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| t[*i] > 0.5)
                    .map(|(_, q)| q)
                    .collect();
                ([s[0], s[1], s[2]], labels)
            })
            .collect();
        SetDecisions { eligible }
    }

    fn exact_set_accuracy(&self, t: &Thresholds) -> f64 {
        let right = self
            .eligible
            .iter()
            .filter(|(s, labels)| t.content_set(s) == *labels)
            .count();
        right as f64 / self.eligible.len().max(1) as f64
    }

    /// Per additional question, the threshold with the best exact-set
    /// accuracy, the others held (coordinate ascent, three rounds). The
    /// candidates are `decide` and the cuts between the scores above it;
    /// ties go to the higher threshold (fewer questions added).
    fn extra_thresholds(&self, start: &Thresholds) -> [f64; 3] {
        let mut t = start.clone();
        for _ in 0..3 {
            for q in 0..3 {
                let mut scores: Vec<f64> = self
                    .eligible
                    .iter()
                    .map(|(s, _)| s[q])
                    .filter(|&s| s > t.decide[q])
                    .collect();
                scores.sort_by(f64::total_cmp);
                scores.dedup();
                let mut candidates = vec![t.decide[q]];
                candidates.extend(scores.windows(2).map(|w| (w[0] + w[1]) / 2.0));
                candidates.push(1.0);
                let mut best = (t.extra[q], self.exact_set_accuracy(&t));
                for c in candidates {
                    t.extra[q] = c;
                    let accuracy = self.exact_set_accuracy(&t);
                    if accuracy > best.1 + 1e-12
                        || ((accuracy - best.1).abs() <= 1e-12 && c > best.0)
                    {
                        best = (c, accuracy);
                    }
                }
                t.extra[q] = best.0;
            }
        }
        t.extra
    }

    /// Each publishable decision's set confidence, and whether its set is
    /// right.
    fn confidences(&self, t: &Thresholds) -> Vec<(f64, bool)> {
        self.eligible
            .iter()
            .map(|(s, labels)| (s, t.content_set(s), labels))
            .filter(|(_, chosen, _)| publishable(*chosen))
            .map(|(s, chosen, labels)| (set_probability(s, chosen), chosen == *labels))
            .collect()
    }
}

/// The lowest threshold at or above `floor` at which the precision of what
/// scores at or above it reaches `target`; 1.0 (never) if none does.
fn threshold_for_precision(mut s: Vec<(f64, bool)>, floor: f64, target: f64) -> f64 {
    s.retain(|(score, _)| *score >= floor);
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Walk up from the lowest accepted score; precision of the suffix.
    let mut tp = s.iter().filter(|x| x.1).count() as f64;
    let mut total = s.len() as f64;
    let mut k = 0;
    while k < s.len() {
        if tp / total >= target {
            return if k == 0 {
                floor
            } else {
                (s[k - 1].0 + s[k].0) / 2.0
            };
        }
        let v = s[k].0;
        while k < s.len() && s[k].0 == v {
            if s[k].1 {
                tp -= 1.0;
            }
            total -= 1.0;
            k += 1;
        }
    }
    1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores and targets on the first head only.
    fn head0(v: &[f64]) -> Vec<[f64; HEADS]> {
        v.iter().map(|&x| [x, 0.0, 0.0, 0.0]).collect()
    }

    #[test]
    fn best_threshold_separates_separable_scores() {
        let scores = head0(&[0.9, 0.7, 0.3, 0.1]);
        let targets = head0(&[1.0, 1.0, 0.0, 0.0]);
        let (t, f1) = best_f1_threshold(&scores, &targets, 0);
        assert!((t - 0.5).abs() < 1e-9);
        assert!((f1 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_precision_threshold_climbs_until_precision_is_reached() {
        let s = vec![(0.9, true), (0.8, true), (0.6, false), (0.55, true)];
        // From 0.5: 3/4 precision; above 0.55: 2/3; above 0.6: 2/2.
        let t = threshold_for_precision(s.clone(), 0.5, 0.9);
        assert!((t - 0.7).abs() < 1e-9);
        assert_eq!(threshold_for_precision(s.clone(), 0.5, 0.7), 0.5);
        assert_eq!(threshold_for_precision(vec![(0.9, false)], 0.5, 0.9), 1.0);
    }

    fn thresholds(decide: f64, extra: [f64; 3]) -> Thresholds {
        Thresholds {
            decide: [decide; 3],
            extra,
            publish: 0.0,
            not_contribution: 0.5,
        }
    }

    #[test]
    fn an_additional_question_needs_its_own_higher_threshold() {
        let t = thresholds(0.4, [0.4, 0.7, 0.4]);
        let set = |s: &str| QuestionSet::parse_list(s).unwrap();
        assert_eq!(
            t.content_set(&[0.9, 0.5, 0.1]),
            set("1"),
            "2 is not clear enough beside 1"
        );
        assert_eq!(
            t.content_set(&[0.3, 0.5, 0.1]),
            set("2"),
            "alone, 2 needs only its decide threshold"
        );
        assert_eq!(t.content_set(&[0.9, 0.8, 0.45]), set("1,2,3"));
        assert_eq!(t.content_set(&[0.1, 0.2, 0.3]), QuestionSet::empty());
    }

    #[test]
    fn extra_thresholds_are_learned_where_extras_were_wrong() {
        // Question 2 often scores high beside question 1 without being
        // meant; question 3 beside 1 is meant when it scores high.
        let set = |s: &str| QuestionSet::parse_list(s).unwrap();
        let sets = SetDecisions {
            eligible: vec![
                ([0.9, 0.6, 0.1], set("1")),
                ([0.8, 0.65, 0.1], set("1")),
                ([0.95, 0.9, 0.1], set("1,2")),
                ([0.9, 0.1, 0.8], set("1,3")),
                ([0.1, 0.6, 0.1], set("2")),
            ],
        };
        let start = thresholds(0.5, [0.5; 3]);
        assert!(sets.exact_set_accuracy(&start) < 1.0);
        let extra = sets.extra_thresholds(&start);
        assert!(extra[1] > 0.65 && extra[1] < 0.9, "{extra:?}");
        let learned = Thresholds { extra, ..start };
        assert_eq!(sets.exact_set_accuracy(&learned), 1.0);
    }
}
