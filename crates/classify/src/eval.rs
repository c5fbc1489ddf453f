//! Measuring the classifier on a labelled corpus.

use crate::classifier::QuestionClassifier;
use crate::corpus::Example;
use crate::explicit::mentioned_questions;
use recueil_core::{Question, QuestionSet};
use serde::Serialize;
use std::fmt;

/// Precision, recall and F1 for one question.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QuestionMetrics {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Examples labelled with the question.
    pub support: usize,
}

/// One example the classifier got wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mismatch {
    pub id: String,
    pub expected: QuestionSet,
    pub predicted: QuestionSet,
    pub needs_review: bool,
}

/// The figures for a corpus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub examples: usize,
    /// Questions 1, 2, 3.
    pub per_question: [QuestionMetrics; 3],
    pub macro_f1: f64,
    /// Predicted set exactly equal to the labels.
    pub exact_set_accuracy: f64,
    /// Share of examples sent to review.
    pub review_rate: f64,
    /// Examples where an explicit mention decided (or agreed with boxes).
    pub explicit_decided: usize,
    /// Exact-set accuracy on those.
    pub explicit_accuracy: f64,
    /// Examples with no label (not contributions), and how many of those
    /// were sent to review with no question, as they should.
    pub non_contributions: usize,
    pub non_contributions_caught: usize,
    /// What reaches the platform without a person: contributions not sent
    /// to review, and how many of those carry exactly the right set.
    pub published: usize,
    pub published_right: usize,
    /// `published_right / published`: what the final report's readers get.
    pub published_precision: f64,
    /// Published with a question the text does not answer added to the
    /// right ones (the commonest misfiling), and published otherwise wrong
    /// (a question missing or the wrong one).
    pub published_extra: usize,
    pub published_wrong: usize,
    /// Non-contributions published: must be none.
    pub non_contributions_published: usize,
    /// Published-set precision against review rate as the threshold on
    /// the content model's set confidence moves (decisions taken by boxes
    /// or mentions, and those sent to review for other reasons, stay).
    pub curve: Vec<CurvePoint>,
    pub mismatches: Vec<Mismatch>,
}

/// One point of the precision/review trade-off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Content decisions are published at or above this set confidence.
    pub threshold: f64,
    pub review_rate: f64,
    pub published_precision: f64,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Classifies every example (no ticked boxes: text only) and scores the
/// result against its labels.
pub fn evaluate(classifier: &QuestionClassifier, examples: &[Example]) -> Report {
    let mut tp = [0usize; 3];
    let mut fp = [0usize; 3];
    let mut fn_ = [0usize; 3];
    let mut exact = 0;
    let mut review = 0;
    let mut explicit_decided = 0;
    let mut explicit_right = 0;
    let mut non = 0;
    let mut non_caught = 0;
    let mut mismatches = Vec::new();
    let (mut published, mut published_right, mut published_extra, mut non_published) = (0, 0, 0, 0);
    // Per example: the content model's set confidence (None when something
    // else decided), whether it was published, whether its set is right.
    let mut decisions: Vec<(Option<f64>, bool, bool)> = Vec::new();
    for e in examples {
        let out = classifier.classify_with_scores(&e.text, QuestionSet::empty());
        let predicted = out.classification.questions;
        let public = !out.classification.needs_review;
        let right = predicted == e.labels;
        decisions.push((out.set_confidence, public, right));
        if public {
            published += 1;
            published_right += usize::from(right);
            published_extra +=
                usize::from(!right && e.labels.iter().all(|q| predicted.contains(q)));
            non_published += usize::from(e.labels.is_empty());
        }
        for (i, q) in Question::ALL.into_iter().enumerate() {
            match (predicted.contains(q), e.labels.contains(q)) {
                (true, true) => tp[i] += 1,
                (true, false) => fp[i] += 1,
                (false, true) => fn_[i] += 1,
                (false, false) => {}
            }
        }
        exact += usize::from(right);
        review += usize::from(out.classification.needs_review);
        if out.explicit {
            explicit_decided += 1;
            explicit_right += usize::from(right);
        }
        if e.labels.is_empty() {
            non += 1;
            non_caught += usize::from(predicted.is_empty() && out.classification.needs_review);
        }
        if !right {
            mismatches.push(Mismatch {
                id: e.id.clone(),
                expected: e.labels,
                predicted,
                needs_review: out.classification.needs_review,
            });
        }
    }
    let per_question: [QuestionMetrics; 3] = std::array::from_fn(|i| {
        let precision = if tp[i] + fp[i] == 0 {
            0.0
        } else {
            ratio(tp[i], tp[i] + fp[i])
        };
        let recall = ratio(tp[i], tp[i] + fn_[i]);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        QuestionMetrics {
            precision,
            recall,
            f1,
            support: tp[i] + fn_[i],
        }
    });
    Report {
        examples: examples.len(),
        macro_f1: per_question.iter().map(|m| m.f1).sum::<f64>() / 3.0,
        per_question,
        exact_set_accuracy: ratio(exact, examples.len()),
        review_rate: ratio(review, examples.len()),
        explicit_decided,
        explicit_accuracy: ratio(explicit_right, explicit_decided),
        non_contributions: non,
        non_contributions_caught: non_caught,
        published,
        published_right,
        published_precision: ratio(published_right, published),
        published_extra,
        published_wrong: published - published_right - published_extra,
        non_contributions_published: non_published,
        curve: curve(&decisions),
        mismatches,
    }
}

/// The trade-off over thresholds 0.05 to 0.95 on the set confidence.
fn curve(decisions: &[(Option<f64>, bool, bool)]) -> Vec<CurvePoint> {
    (1..=19)
        .map(|k| {
            let threshold = f64::from(k) * 0.05;
            let (mut public, mut right) = (0, 0);
            for &(confidence, was_public, was_right) in decisions {
                let now_public = match confidence {
                    Some(c) => c >= threshold,
                    None => was_public,
                };
                if now_public {
                    public += 1;
                    right += usize::from(was_right);
                }
            }
            CurvePoint {
                threshold,
                review_rate: ratio(decisions.len() - public, decisions.len()),
                published_precision: ratio(right, public),
            }
        })
        .collect()
}

/// The explicit-mention detector alone, on a corpus whose labels are the
/// questions each text *explicitly names* (empty for look-alikes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplicitReport {
    pub examples: usize,
    pub accuracy: f64,
    pub mismatches: Vec<Mismatch>,
}

pub fn evaluate_explicit(examples: &[Example]) -> ExplicitReport {
    let mut mismatches = Vec::new();
    for e in examples {
        let found = mentioned_questions(&e.text);
        if found != e.labels {
            mismatches.push(Mismatch {
                id: e.id.clone(),
                expected: e.labels,
                predicted: found,
                needs_review: false,
            });
        }
    }
    ExplicitReport {
        examples: examples.len(),
        accuracy: ratio(examples.len() - mismatches.len(), examples.len()),
        mismatches,
    }
}

fn set_or_none(s: &QuestionSet) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "examples            {}", self.examples)?;
        writeln!(f, "question  precision  recall  f1     support")?;
        for (q, m) in self.per_question.iter().enumerate() {
            writeln!(
                f,
                "{:<9} {:<10.3} {:<7.3} {:<6.3} {}",
                q + 1,
                m.precision,
                m.recall,
                m.f1,
                m.support
            )?;
        }
        writeln!(f, "macro-F1            {:.3}", self.macro_f1)?;
        writeln!(f, "exact-set accuracy  {:.3}", self.exact_set_accuracy)?;
        writeln!(f, "review rate         {:.3}", self.review_rate)?;
        writeln!(
            f,
            "explicit mentions   {:.3} accuracy on {} decided by a mention",
            self.explicit_accuracy, self.explicit_decided
        )?;
        writeln!(
            f,
            "non-contributions   {}/{} sent to review with no question",
            self.non_contributions_caught, self.non_contributions
        )?;
        writeln!(
            f,
            "published           {} of {}: {} with the right set (precision {:.3}), {} with a question added, {} otherwise wrong, {} non-contributions",
            self.published,
            self.examples,
            self.published_right,
            self.published_precision,
            self.published_extra,
            self.published_wrong,
            self.non_contributions_published
        )?;
        writeln!(f, "set confidence  review rate  published precision")?;
        for p in &self.curve {
            writeln!(
                f,
                "  >= {:.2}        {:.3}        {:.3}",
                p.threshold, p.review_rate, p.published_precision
            )?;
        }
        for m in &self.mismatches {
            writeln!(
                f,
                "  wrong: {:<12} expected {:<6} got {:<6}{}",
                m.id,
                set_or_none(&m.expected),
                set_or_none(&m.predicted),
                if m.needs_review { " (review)" } else { "" }
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for ExplicitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "explicit mentions: {:.3} exact accuracy on {} texts",
            self.accuracy, self.examples
        )?;
        for m in &self.mismatches {
            writeln!(
                f,
                "  wrong: {:<12} expected {:<6} got {}",
                m.id,
                set_or_none(&m.expected),
                set_or_none(&m.predicted)
            )?;
        }
        Ok(())
    }
}
