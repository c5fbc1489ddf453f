//! What can go wrong outside classification itself, which never fails.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the classifier model is not valid JSON: {0}")]
    ModelJson(#[source] serde_json::Error),
    #[error("the classifier model is {found}, this build reads {expected}")]
    ModelFormat { found: String, expected: String },
    #[error("corpus line {line}: {message}")]
    Corpus { line: usize, message: String },
    /// The sentence model the classifier model reads is missing, or is
    /// not the one it was trained on.
    #[error("{0}")]
    SentenceModel(String),
    #[error("cannot train: {0}")]
    Training(String),
}
