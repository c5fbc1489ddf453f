//! The engines this build can run, per channel.
//!
//! A channel whose engine is not part of the build is refused with a clear
//! message: the binary never substitutes a fake. Sources of that channel
//! stay queued, untouched, until a build with the engine processes them.

use crate::config::Settings;
use recueil_core::Channel;
use recueil_pipeline::intake::Split;
use recueil_pipeline::Process;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
#[error("no {what} engine in this build of recueil: {channel} sources stay queued until one is available ({hint})")]
pub struct MissingEngine {
    pub channel: Channel,
    pub what: &'static str,
    pub hint: &'static str,
}

/// The engines of one process, built once and shared by its channels: the
/// question classifier holds the e5 sentence model (about 90 MB), which
/// `run` and `serve`, serving both channels, would otherwise load twice.
#[derive(Default)]
pub struct Engines {
    classifier: std::sync::OnceLock<Arc<dyn recueil_core::engine::Classifier>>,
}

impl Engines {
    /// The process for `channel`, configured from the sections it uses
    /// (`[policy]`, `[speech]` and `[models]` for voicemail, `[ballot]` for
    /// ballots, `[classifier]` and `[models]` for both), or why there is
    /// none. `speech_threads` is the `--threads` flag.
    pub fn process_for(
        &self,
        channel: Channel,
        settings: &Settings,
        speech_threads: Option<usize>,
    ) -> Result<Arc<dyn Process>, EngineError> {
        let config = &settings.config;
        let policy = config.policy()?;
        match channel {
            Channel::Voicemail => Ok(Arc::new(recueil_voicemail::VoicemailWorker::new(
                transcriber(settings, speech_threads)?,
                self.classifier(settings)?,
                policy,
            ))),
            Channel::Ballot => {
                let options = config.ballot()?;
                let classifier = self.classifier(settings)?;
                if !recueil_scan::engine_available() {
                    return Err(EngineError::Unavailable(
                        "tesseract cannot start: install tesseract-ocr-fra (scripts/install-deps.sh)"
                            .into(),
                    ));
                }
                Ok(Arc::new(recueil_ballot::BallotWorker::new(
                    Arc::new(recueil_scan::BallotScanner::new(options)),
                    classifier,
                    policy,
                )))
            }
        }
    }

    fn classifier(
        &self,
        settings: &Settings,
    ) -> Result<Arc<dyn recueil_core::engine::Classifier>, EngineError> {
        if let Some(built) = self.classifier.get() {
            return Ok(built.clone());
        }
        let built = classifier(settings)?;
        Ok(self.classifier.get_or_init(|| built).clone())
    }
}

/// Why a channel cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Missing(#[from] MissingEngine),
    #[error("engine unavailable: {0}")]
    Unavailable(String),
    /// A setting the engine needs is wrong.
    #[error(transparent)]
    Config(#[from] anyhow::Error),
}

/// The whisper transcriber: model `speech.model` from the verified model
/// directory `models.dir`, loaded once and shared by every job of the
/// worker; `threads` (else `speech.threads`, else the cores) threads per
/// transcription.
fn transcriber(
    settings: &Settings,
    threads: Option<usize>,
) -> Result<Arc<dyn recueil_core::engine::Transcriber>, EngineError> {
    let speech = settings.config.speech(None, threads)?;
    let models = settings.config.models(None)?;
    let mut config = recueil_speech::SpeechConfig::default();
    if let Some(threads) = speech.threads {
        config.threads = threads;
    }
    let transcriber = recueil_speech::WhisperTranscriber::load(&speech.model, &models.dir, &config)
        .map_err(|e| EngineError::Unavailable(format!("speech model {}: {e}", speech.model)))?;
    Ok(Arc::new(transcriber))
}

/// The question classifier, from `classifier.model` or the model built
/// into the binary, with the sentence model it reads from `models.dir`.
fn classifier(
    settings: &Settings,
) -> Result<Arc<dyn recueil_core::engine::Classifier>, EngineError> {
    let model = settings.config.classifier_model(None)?;
    let models = settings.config.models(None)?;
    let classifier = question_classifier(model.as_deref(), &models.dir)
        .map_err(|e| EngineError::Unavailable(format!("question classifier: {e:#}")))?;
    Ok(Arc::new(classifier))
}

/// The question classifier of the artefact at `model` (else the one built
/// into the binary), with the sentence model it was trained on, found in
/// `models_dir` and checked against its pinned sha256 as the speech models
/// are (`recueil models fetch e5-small` puts it there).
pub fn question_classifier(
    model: Option<&std::path::Path>,
    models_dir: &std::path::Path,
) -> anyhow::Result<recueil_classify::QuestionClassifier> {
    use anyhow::Context;
    use recueil_classify::QuestionClassifier;
    let model = match model {
        Some(path) => QuestionClassifier::model_from_path(path)?,
        None => QuestionClassifier::embedded_model().context("the built-in classifier model")?,
    };
    let sentence = match &model.sentence {
        None => None,
        Some(head) => Some(sentence_model(&head.model, models_dir)?),
    };
    Ok(QuestionClassifier::new(model, sentence)?)
}

/// The sentence model `name` from `models_dir`, verified.
pub fn sentence_model(
    name: &str,
    models_dir: &std::path::Path,
) -> anyhow::Result<Arc<dyn recueil_classify::SentenceEncoder>> {
    let path = recueil_models::resolve_verified(name, models_dir)?;
    Ok(Arc::new(recueil_embed::SentenceModel::load(&path)?))
}

/// The letter bundle intake makes of sheets scanned apart
/// ([`recueil_scan::bundle`]).
pub fn bundle_letter(files: &[(&str, &[u8])]) -> Result<Vec<u8>, String> {
    recueil_scan::bundle(files).map_err(|e| e.to_string())
}

/// How intake splits a scan: one source per page of a batch of forms, one
/// source for a letter of several sheets (`recueil_scan::file_layout`).
pub fn scan_pages(bytes: &[u8], name: &str) -> Result<Split, String> {
    let layout = recueil_scan::file_layout(bytes, name).map_err(|e| e.to_string())?;
    Ok(if layout.one_letter {
        Split::Whole
    } else {
        Split::Pages(layout.pages)
    })
}
