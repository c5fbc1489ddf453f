//! recueil-classify: files each contribution under the consultation's
//! question(s) 1, 2 and/or 3, says why, and says when it does not know.
//!
//! Evidence, strongest first (see [`classifier`] for the exact rules): the
//! boxes ticked on a paper form, an explicit mention in the text
//! ([`explicit`]: "question 2", "pour la trois", "Q3"...), then a small
//! content model ([`Model`]: a transparent logistic regression on French
//! stems averaged with one on the text's multilingual-e5-small sentence
//! embedding, [`sentence`]) trained by [`train`] on the labelled corpus committed under
//! `fixtures/classify/`. The trained artefact lives in
//! `models/classifier/questions.json` and is embedded in the binary.
//!
//! ```no_run
//! use recueil_classify::QuestionClassifier;
//! use recueil_core::engine::Classifier;
//! use recueil_core::QuestionSet;
//! use std::sync::Arc;
//!
//! // The sentence model, as `recueil models fetch e5-small` verified it.
//! let e5 = recueil_embed::SentenceModel::load("models/e5-small-q4.bin".as_ref())?;
//! let model = QuestionClassifier::embedded_model()?;
//! let classifier = QuestionClassifier::new(model, Some(Arc::new(e5)))?;
//! let c = classifier.classify("Pour la question 3 : il faudrait plus de bancs.", QuestionSet::empty());
//! assert_eq!(c.questions.to_string(), "3");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod classifier;
mod corpus;
mod error;
mod eval;
pub mod explicit;
mod model;
pub mod sentence;
mod text;
mod train;

pub use classifier::{Outcome, QuestionClassifier, ENGINE_NAME, MIN_WORDS};
pub use corpus::{parse_tsv, Example};
pub use error::ClassifyError;
pub use eval::{
    evaluate, evaluate_explicit, CurvePoint, ExplicitReport, Mismatch, QuestionMetrics, Report,
};
pub use model::{
    FeatureSpec, HyperParameters, Model, Thresholds, TrainingInfo, FORMAT, FORMAT_VERSION,
};
pub use sentence::{SentenceEncoder, SentenceHead, SENTENCE_MODEL};
pub use train::{train, TrainOptions};
