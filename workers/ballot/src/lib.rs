//! The ballot worker: what happens to one scanned page of a B1 form.
//!
//! ```text
//! page -> reader (load, register, ticks, QR code, OCR, confidence)
//!      -> blank page? status `empty`      not a form? `needs_review`
//!      -> urn: QR code, else the one given at intake; a conflict goes to review
//!      -> classifier (ticked boxes > explicit mention > content)
//!      -> personal data masked in the publishable text
//!      -> status: `needs_review` when anything is unsure, else `published`
//! ```

use chrono::Utc;
use recueil_core::engine::{BallotReader, Classifier, Media, PageKind};
use recueil_core::{Channel, Contribution, EngineInfo, Failure, QuestionSet, Status};
use recueil_pipeline::{mask_personal_data, Policy, Process};
use recueil_store::SourceRecord;
use std::sync::Arc;

pub struct BallotWorker {
    reader: Arc<dyn BallotReader>,
    classifier: Arc<dyn Classifier>,
    policy: Policy,
}

impl BallotWorker {
    pub fn new(
        reader: Arc<dyn BallotReader>,
        classifier: Arc<dyn Classifier>,
        policy: Policy,
    ) -> BallotWorker {
        BallotWorker {
            reader,
            classifier,
            policy,
        }
    }
}

impl Process for BallotWorker {
    fn channel(&self) -> Channel {
        Channel::Ballot
    }

    fn process(&self, record: &SourceRecord, original: &[u8]) -> Result<Contribution, Failure> {
        let source = &record.source;
        let reading = self.reader.read(Media {
            bytes: original,
            media_type: &source.media_type,
            name: &source.original_name,
            page: source.page,
        })?;
        let urn_conflict = matches!((&reading.urn, &source.urn), (Some(a), Some(b)) if a != b);
        let mut contribution = Contribution {
            source_id: source.id,
            channel: Channel::Ballot,
            questions: QuestionSet::empty(),
            evidence: Vec::new(),
            text: String::new(),
            raw_text: reading.text.clone(),
            language: Some("fr".into()),
            confidence: reading.confidence,
            status: Status::Empty,
            received_at: source.received_at,
            processed_at: Utc::now(),
            // The printed QR code is evidence; the urn typed at intake is a
            // fallback, and a disagreement is for a person to settle.
            urn: reading.urn.clone().or_else(|| source.urn.clone()),
            engine: EngineInfo::combined(self.reader.engine(), self.classifier.engine()),
            late: self.policy.is_late(source.received_at),
            redactions: Vec::new(),
            segments: Vec::new(),
            review_image: None,
        };
        match reading.kind {
            PageKind::Blank => return Ok(contribution),
            PageKind::NotAForm => {
                contribution.status = Status::NeedsReview;
                return Ok(contribution);
            }
            PageKind::Form => {}
        }
        contribution.review_image = reading.crop_png.clone();
        let classification = self.classifier.classify(&reading.text, reading.ticked);
        let unsure = reading.needs_review
            || !reading.ambiguous.is_empty()
            || urn_conflict
            || classification.needs_review
            || reading.confidence < self.policy.review_below;
        contribution.questions = classification.questions;
        contribution.evidence = classification.evidence;
        let (text, redactions) = mask_personal_data(&reading.text);
        contribution.text = text;
        contribution.redactions = redactions;
        contribution.status = if unsure {
            Status::NeedsReview
        } else {
            Status::Published
        };
        Ok(contribution)
    }
}
