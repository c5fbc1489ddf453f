//! The engines this build can run, per channel.
//!
//! A channel whose engine is not part of the build is refused with a clear
//! message: the binary never substitutes a fake. Sources of that channel
//! stay queued, untouched, until a build with the engine processes them.

use recueil_core::Channel;
use recueil_pipeline::{Policy, Process};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
#[error("no {what} engine in this build of recueil: {channel} sources stay queued until one is available ({hint})")]
pub struct MissingEngine {
    pub channel: Channel,
    pub what: &'static str,
    pub hint: &'static str,
}

/// The process for `channel`, or why there is none.
pub fn process_for(
    channel: Channel,
    policy: &Policy,
    speech_threads: Option<usize>,
) -> Result<Arc<dyn Process>, EngineError> {
    match channel {
        Channel::Voicemail => Ok(Arc::new(recueil_voicemail::VoicemailWorker::new(
            transcriber(speech_threads)?,
            classifier()?,
            policy.clone(),
        ))),
        Channel::Ballot => {
            if !recueil_scan::engine_available() {
                return Err(EngineError::Unavailable(
                    "tesseract cannot start: install tesseract-ocr-fra (scripts/install-deps.sh)"
                        .into(),
                ));
            }
            Ok(Arc::new(recueil_ballot::BallotWorker::new(
                Arc::new(recueil_scan::BallotScanner::default()),
                classifier()?,
                policy.clone(),
            )))
        }
    }
}

/// Why a channel cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Missing(#[from] MissingEngine),
    #[error("engine unavailable: {0}")]
    Unavailable(String),
}

/// The whisper transcriber: model `RECUEIL_SPEECH_MODEL` (default `base`)
/// from the verified model directory, loaded once and shared by every job
/// of the worker; `threads` (else `RECUEIL_SPEECH_THREADS`, else the cores)
/// threads per transcription.
fn transcriber(
    threads: Option<usize>,
) -> Result<Arc<dyn recueil_core::engine::Transcriber>, EngineError> {
    let model = std::env::var("RECUEIL_SPEECH_MODEL").unwrap_or_else(|_| "base".into());
    let mut config = recueil_speech::SpeechConfig::default();
    if let Some(threads) = threads.or_else(|| {
        std::env::var("RECUEIL_SPEECH_THREADS")
            .ok()
            .and_then(|t| t.parse().ok())
    }) {
        config.threads = threads;
    }
    let transcriber =
        recueil_speech::WhisperTranscriber::load(&model, &recueil_models::models_dir(), &config)
            .map_err(|e| EngineError::Unavailable(format!("speech model {model}: {e}")))?;
    Ok(Arc::new(transcriber))
}

/// The question classifier, from `RECUEIL_CLASSIFIER_MODEL` or the model
/// built into the binary.
fn classifier() -> Result<Arc<dyn recueil_core::engine::Classifier>, EngineError> {
    let classifier = match std::env::var_os("RECUEIL_CLASSIFIER_MODEL") {
        Some(path) => recueil_classify::QuestionClassifier::from_path(std::path::Path::new(&path)),
        None => recueil_classify::QuestionClassifier::embedded(),
    }
    .map_err(|e| EngineError::Unavailable(format!("question classifier: {e}")))?;
    Ok(Arc::new(classifier))
}

/// Pages of a scan, so that intake makes one source per page.
pub fn scan_pages(bytes: &[u8]) -> Result<u32, String> {
    recueil_scan::page_count(bytes).map_err(|e| e.to_string())
}
