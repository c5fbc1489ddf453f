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

use recueil_core::engine::{BallotReader, Classifier, Media, PageKind};
use recueil_core::{Channel, Contribution, EngineInfo, Failure, Source, Status};
use recueil_pipeline::{mask_personal_data, Policy, Process};
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

    fn process(&self, source: &Source, original: &[u8]) -> Result<Contribution, Failure> {
        let reading = self.reader.read(Media {
            bytes: original,
            media_type: &source.media_type,
            name: &source.original_name,
            page: source.page,
        })?;
        let urn_conflict = matches!((&reading.urn, &source.urn), (Some(a), Some(b)) if a != b);
        let mut contribution = Contribution::new(
            source,
            EngineInfo::combined(self.reader.engine(), self.classifier.engine()),
            self.policy.is_late(source.received_at),
        );
        contribution.raw_text = reading.text.clone();
        contribution.language = Some("fr".into());
        contribution.confidence = reading.confidence;
        // The printed QR code is evidence; the urn typed at intake is a
        // fallback, and a disagreement is for a person to settle.
        contribution.urn = reading.urn.clone().or_else(|| source.urn.clone());
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
