//! The voicemail worker: what happens to one message left on the 0800 line.
//!
//! ```text
//! recording -> transcriber (decode, resample, trim, recognise, guards)
//!           -> nothing said? status `empty`, no text
//!           -> classifier (explicit mention > content)
//!           -> personal data masked in the publishable text; the timed
//!              segments kept beside the raw text for the reviewer
//!           -> status: `needs_review` when unsure or in another language
//!              than the consultation's, else `published`
//! ```

use recueil_core::engine::{Classifier, Media, Transcriber};
use recueil_core::{Channel, Contribution, EngineInfo, Failure, QuestionSet, Source, Status};
use recueil_pipeline::{mask_personal_data, Policy, Process};
use std::sync::Arc;

pub struct VoicemailWorker {
    transcriber: Arc<dyn Transcriber>,
    classifier: Arc<dyn Classifier>,
    policy: Policy,
}

impl VoicemailWorker {
    pub fn new(
        transcriber: Arc<dyn Transcriber>,
        classifier: Arc<dyn Classifier>,
        policy: Policy,
    ) -> VoicemailWorker {
        VoicemailWorker {
            transcriber,
            classifier,
            policy,
        }
    }
}

impl Process for VoicemailWorker {
    fn channel(&self) -> Channel {
        Channel::Voicemail
    }

    fn process(&self, source: &Source, original: &[u8]) -> Result<Contribution, Failure> {
        let transcript = self.transcriber.transcribe(Media {
            bytes: original,
            media_type: &source.media_type,
            name: &source.original_name,
            page: source.page,
        })?;
        let engine = EngineInfo::combined(self.transcriber.engine(), self.classifier.engine());
        let mut contribution =
            Contribution::new(source, engine, self.policy.is_late(source.received_at));
        contribution.language = Some(transcript.language.clone());
        contribution.confidence = transcript.confidence;
        if transcript.no_speech || transcript.text.trim().is_empty() {
            return Ok(contribution);
        }
        let classification = self
            .classifier
            .classify(&transcript.text, QuestionSet::empty());
        // A message in another language is kept in that language, for a
        // person who reads it (or has it translated) to file.
        let other_language = transcript.language != self.policy.language;
        let unsure = classification.needs_review
            || other_language
            || transcript.confidence < self.policy.review_below;
        contribution.questions = classification.questions;
        contribution.evidence = classification.evidence;
        let (text, redactions) = mask_personal_data(&transcript.text);
        contribution.text = text;
        contribution.redactions = redactions;
        contribution.raw_text = transcript.text;
        contribution.segments = transcript.segments;
        contribution.status = if unsure {
            Status::NeedsReview
        } else {
            Status::Published
        };
        Ok(contribution)
    }
}
