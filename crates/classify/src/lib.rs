//! recueil-classify: files each contribution under the consultation's
//! question(s) 1, 2 and/or 3, says why, and says when it does not know.
//!
//! Evidence, strongest first (see [`classifier`] for the exact rules): the
//! boxes ticked on a paper form, an explicit mention in the text
//! ([`explicit`]: "question 2", "pour la trois", "Q3"...), then a small
//! transparent content model ([`Model`]: logistic regression on French
//! stems) trained by [`train`] on the labelled corpus committed under
//! `fixtures/classify/`. The trained artefact lives in
//! `models/classifier/questions.json` and is embedded in the binary.
//!
//! ```
//! use recueil_classify::QuestionClassifier;
//! use recueil_core::engine::Classifier;
//! use recueil_core::QuestionSet;
//!
//! let classifier = QuestionClassifier::embedded().unwrap();
//! let c = classifier.classify("Pour la question 3 : il faudrait plus de bancs.", QuestionSet::empty());
//! assert_eq!(c.questions.to_string(), "3");
//! ```

pub mod classifier;
mod corpus;
mod error;
mod eval;
pub mod explicit;
mod model;
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
pub use train::{train, TrainOptions};
