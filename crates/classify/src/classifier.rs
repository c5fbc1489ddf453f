//! The classifier: combines ticked boxes, explicit mentions and the content
//! model, strongest evidence first, and says when it does not know.
//!
//! The rules, in order:
//!
//! 1. **Ticked boxes** (paper forms) decide the set. An explicit mention
//!    that agrees is kept as extra evidence; one that names a question that
//!    was *not* ticked is not added (the box is the stronger cue and the
//!    citizen ticked it deliberately) but sends the contribution to review,
//!    because box and text disagree and only a person can tell which is
//!    right.
//! 2. Otherwise **explicit mentions** in the text decide the set; the
//!    content model does not add to it (a caller who says "pour la trois"
//!    has told us where they meant to be filed).
//! 3. Otherwise the **content model** decides: the average of the term
//!    model and the sentence model (see [`crate::Model`]). If its "not a
//!    contribution" head fires (wrong number, hang-up, reminder...), no
//!    question and review. Else the best-scoring question that reaches its
//!    cross-validated threshold, and each other question that reaches its
//!    higher threshold for an *additional* question. The set is published
//!    only when the model is confident in the whole set (each question in
//!    it present, each one left out absent) at the threshold that
//!    cross-validation found for the target published-set precision, and
//!    never when it holds all three questions (a text that touches
//!    everything without naming a question: a person decides); otherwise,
//!    or if no question qualifies, it is kept as a suggestion and the
//!    contribution needs review.
//!
//! Whatever decided, a text with fewer than [`MIN_WORDS`] words, or that
//! the model takes for a non-contribution, needs review (ticked boxes or a
//! mention still give the set: a form with "question 2" and nothing else
//! readable is still a form about question 2). Scores are always
//! the content model's probabilities, so a reviewer can compare them with
//! the boxes or the mention.

use crate::error::ClassifyError;
use crate::explicit::find_mentions;
use crate::model::{averaged, publishable, set_probability, Model, Scorer, NONE};
use crate::sentence::{SentenceEncoder, SentenceHead};
use crate::text::only_function_words;
use recueil_core::engine::{Classification, Classifier};
use recueil_core::{EngineInfo, Evidence, EvidenceKind, Question, QuestionSet};
use std::path::Path;
use std::sync::Arc;

/// The engine name reported in [`EngineInfo`].
pub const ENGINE_NAME: &str = "recueil-classify";

/// Below this many words (hesitations excluded) a text is a hang-up, a
/// greeting or noise, whatever else it says: a policy, not a learned weight.
pub const MIN_WORDS: usize = 3;

/// How many of the model's terms to quote as content evidence.
const CUE_TERMS: usize = 4;

/// The model committed with this build.
const EMBEDDED_MODEL: &str = include_str!("../../../models/classifier/questions.json");

/// A classification with the content model's score for each question.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub classification: Classification,
    /// Probability per question 1, 2, 3 from the content model.
    pub scores: [f64; 3],
    /// The content model's probability that the text is not a
    /// contribution at all.
    pub not_contribution: f64,
    /// Whether an explicit mention in the text decided (or corroborated)
    /// the set.
    pub explicit: bool,
    /// When the content model alone chose a set it may publish (no box, no
    /// mention, a contribution long enough, not all three questions): how
    /// likely the whole set is right, each question in it present and each
    /// one left out absent, the heads taken as independent. A published
    /// contribution stands or falls by its whole set: one question wrongly
    /// added misfiles it.
    pub set_confidence: Option<f64>,
}

/// Files contributions under questions 1, 2, 3.
#[derive(Debug)]
pub struct QuestionClassifier {
    model: Model,
    scorer: Scorer,
    /// The encoder the artefact's sentence model reads, when it has one
    /// (checked against [`Model::sentence`] by [`QuestionClassifier::new`]).
    encoder: Option<Arc<dyn SentenceEncoder>>,
}

impl QuestionClassifier {
    /// The model embedded in the binary at build time, so that it works
    /// wherever the binary goes.
    pub fn embedded_model() -> Result<Model, ClassifyError> {
        Model::from_json(EMBEDDED_MODEL)
    }

    /// A model artefact on disk (e.g. a newly trained one).
    pub fn model_from_path(path: &Path) -> Result<Model, ClassifyError> {
        let json = std::fs::read_to_string(path).map_err(|source| ClassifyError::Io {
            path: path.to_owned(),
            source,
        })?;
        Model::from_json(&json)
    }

    /// The classifier `model` defines. A model with a sentence model needs
    /// its encoder, the very file it was trained on (see
    /// [`Model::sentence`]): without it, or with another, this is an error
    /// naming what to fetch, never a classifier that silently decides on
    /// half its evidence. A model without one ignores `sentence`.
    pub fn new(
        model: Model,
        sentence: Option<Arc<dyn SentenceEncoder>>,
    ) -> Result<QuestionClassifier, ClassifyError> {
        let encoder = match (&model.sentence, sentence) {
            (None, _) => None,
            (Some(head), None) => {
                return Err(ClassifyError::SentenceModel(format!(
                    "the classifier model {} reads {} sentence embeddings: \
                     run `recueil models fetch {}`",
                    model.version, head.model, head.model
                )))
            }
            (Some(head), Some(encoder)) if encoder.sha256() != head.sha256 => {
                return Err(ClassifyError::SentenceModel(format!(
                    "the classifier model {} was trained on {} {}, not on the file given ({})",
                    model.version,
                    head.model,
                    head.sha256,
                    encoder.sha256()
                )))
            }
            (Some(_), Some(encoder)) => Some(encoder),
        };
        let scorer = Scorer::new(&model);
        Ok(QuestionClassifier {
            model,
            scorer,
            encoder,
        })
    }

    /// The sentence model's head and its encoder, when the model has one.
    fn sentence_head(&self) -> Option<(&SentenceHead, &dyn SentenceEncoder)> {
        self.model.sentence.as_ref().zip(self.encoder.as_deref())
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Classifies `text`; `ticked` holds the boxes ticked on a paper form.
    pub fn classify_with_scores(&self, text: &str, ticked: QuestionSet) -> Outcome {
        let scored = self.scorer.score(text);
        let sentence = self
            .sentence_head()
            .map(|(head, encoder)| head.probabilities(&encoder.embed(text)));
        let p = match &sentence {
            Some(s) => averaged(&scored.probabilities, s),
            None => scored.probabilities,
        };
        let scores = [p[0], p[1], p[2]];
        let not_contribution = p[NONE] >= self.model.thresholds.not_contribution;
        let mentions = find_mentions(text);
        let mentioned = mentions
            .iter()
            .fold(QuestionSet::empty(), |acc, m| acc.union(m.questions));
        let explicit_evidence = |q: Question| -> Option<Evidence> {
            let cues: Vec<&str> = mentions
                .iter()
                .filter(|m| m.questions.contains(q))
                .map(|m| m.cue.as_str())
                .collect();
            (!cues.is_empty()).then(|| Evidence {
                question: q,
                kind: EvidenceKind::Explicit,
                cue: cues.join(" | "),
            })
        };
        let too_short = scored.words < MIN_WORDS;

        let mut evidence = Vec::new();
        let mut set_confidence = None;
        let (questions, mut needs_review, explicit) = if !ticked.is_empty() {
            for q in ticked.iter() {
                evidence.push(Evidence {
                    question: q,
                    kind: EvidenceKind::Checkbox,
                    cue: format!("case {q} cochée"),
                });
                evidence.extend(explicit_evidence(q));
            }
            let conflict = mentioned.iter().any(|q| !ticked.contains(q));
            if conflict {
                tracing::debug!(%ticked, %mentioned, "boxes and text disagree");
            }
            (
                ticked,
                conflict,
                ticked.iter().any(|q| mentioned.contains(q)),
            )
        } else if !mentioned.is_empty() {
            evidence.extend(mentioned.iter().filter_map(explicit_evidence));
            (mentioned, false, true)
        } else if not_contribution {
            (QuestionSet::empty(), true, false)
        } else {
            let thresholds = &self.model.thresholds;
            let chosen = thresholds.content_set(&scores);
            let confidence = publishable(chosen).then(|| set_probability(&scores, chosen));
            if !too_short {
                set_confidence = confidence;
            }
            let confident = confidence.is_some_and(|c| c >= thresholds.publish);
            for q in chosen.iter() {
                evidence.push(Evidence {
                    question: q,
                    kind: EvidenceKind::Content,
                    cue: content_cue(text, &scored.contributions, sentence.as_ref(), q),
                });
            }
            (chosen, !confident, false)
        };
        needs_review |= too_short || not_contribution || questions.is_empty();
        Outcome {
            classification: Classification {
                questions,
                evidence,
                needs_review,
            },
            scores,
            not_contribution: p[NONE],
            explicit,
            set_confidence,
        }
    }
}

fn idx(q: Question) -> usize {
    usize::from(q.number() - 1)
}

/// The terms that pushed question `q` up the most, quoted from the text
/// with their contribution to the term model's score, then the sentence
/// model's probability: `« il faudrait » +0.84, ... ; sens du texte 0.91`.
fn content_cue(
    text: &str,
    contributions: &[crate::model::Contribution],
    sentence: Option<&[f64; crate::model::HEADS]>,
    q: Question,
) -> String {
    let i = idx(q);
    let mut top: Vec<&crate::model::Contribution> =
        contributions.iter().filter(|c| c.weight[i] > 0.0).collect();
    top.sort_by(|a, b| {
        b.weight[i]
            .total_cmp(&a.weight[i])
            .then(a.start.cmp(&b.start))
    });
    let mut parts: Vec<String> = Vec::new();
    for c in top {
        let words = &text[c.start..c.end];
        // A bigram and its own unigram say the same thing twice; "et" or
        // "la" explain nothing.
        if only_function_words(words) || parts.iter().any(|p| p.contains(words)) {
            continue;
        }
        parts.push(format!("« {words} » +{:.2}", c.weight[i]));
        if parts.len() == CUE_TERMS {
            break;
        }
    }
    let terms = parts.join(", ");
    match sentence {
        Some(s) if terms.is_empty() => format!("sens du texte {:.2}", s[i]),
        Some(s) => format!("{terms} ; sens du texte {:.2}", s[i]),
        None => terms,
    }
}

impl Classifier for QuestionClassifier {
    fn engine(&self) -> EngineInfo {
        EngineInfo {
            name: ENGINE_NAME.into(),
            version: self.model.version.clone(),
        }
    }

    fn classify(&self, text: &str, ticked: QuestionSet) -> Classification {
        self.classify_with_scores(text, ticked).classification
    }
}
