//! The ballot worker: what happens to one scanned page of a B1 form.
//!
//! ```text
//! page -> reader (load, register, ticks, QR code, OCR, confidence)
//!      -> blank page? status `empty`      not a form (a letter)? read whole, `needs_review`
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
        // A letter or a plain sheet (not a form) takes the form's path: its
        // reading and the questions it seems to answer are a start for the
        // reviewer, who always checks them (see `BallotScanner::read_image`).
        let not_a_form = reading.kind == PageKind::NotAForm;
        match reading.kind {
            PageKind::Blank => return Ok(contribution),
            PageKind::NotAForm if reading.text.trim().is_empty() => {
                contribution.status = Status::NeedsReview;
                return Ok(contribution);
            }
            PageKind::NotAForm | PageKind::Form => {}
        }
        contribution.review_image = reading.crop_png.clone();
        contribution.lines = reading.lines.clone();
        let classification = self.classifier.classify(&reading.text, reading.ticked);
        let unsure = not_a_form
            || reading.needs_review
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

#[cfg(test)]
mod tests {
    //! The worker's decisions with instant test doubles for the reader and
    //! the classifier (the real engines are measured in `recueil-scan` and
    //! `recueil-classify`).
    use super::*;
    use recueil_core::engine::{BallotReading, Classification};
    use recueil_core::{QuestionSet, SourceId};

    struct Reads(BallotReading);
    impl BallotReader for Reads {
        fn engine(&self) -> EngineInfo {
            EngineInfo {
                name: "reader-double".into(),
                version: "1".into(),
            }
        }
        fn read(&self, _: Media<'_>) -> Result<BallotReading, Failure> {
            Ok(self.0.clone())
        }
    }

    struct Question3;
    impl Classifier for Question3 {
        fn engine(&self) -> EngineInfo {
            EngineInfo {
                name: "classifier-double".into(),
                version: "1".into(),
            }
        }
        fn classify(&self, _: &str, _: QuestionSet) -> Classification {
            Classification {
                questions: QuestionSet::parse_list("3").unwrap(),
                evidence: Vec::new(),
                needs_review: false,
            }
        }
    }

    fn source() -> Source {
        Source {
            id: SourceId::new(),
            channel: Channel::Ballot,
            sha256: "00".repeat(32),
            media_type: "image/jpeg".into(),
            size: 3,
            original_name: "lettre.jpg".into(),
            received_at: Policy::default().closing_time,
            caller_ref: None,
            urn: None,
            batch: None,
            page: 1,
        }
    }

    fn letter(text: &str) -> BallotReading {
        BallotReading {
            kind: PageKind::NotAForm,
            ticked: QuestionSet::empty(),
            ambiguous: QuestionSet::empty(),
            urn: None,
            text: text.into(),
            confidence: 0.9,
            needs_review: true,
            crop_png: None,
            lines: Vec::new(),
        }
    }

    #[test]
    fn a_letter_goes_to_a_person_with_its_reading_masked_and_a_suggested_question() {
        let text = "Madame, je propose un accueil le soir. Appelez-moi au 06 12 34 56 78.";
        let worker = BallotWorker::new(
            Arc::new(Reads(letter(text))),
            Arc::new(Question3),
            Policy::default(),
        );
        let c = worker.process(&source(), b"jpg").unwrap();
        assert_eq!(c.status, Status::NeedsReview);
        assert_eq!(c.raw_text, text);
        assert!(!c.text.contains("06 12 34 56 78"), "{}", c.text);
        assert!(c.text.starts_with("Madame, je propose un accueil le soir."));
        assert!(!c.redactions.is_empty());
        assert_eq!(c.questions, QuestionSet::parse_list("3").unwrap());
    }

    #[test]
    fn a_page_with_nothing_read_still_goes_to_a_person() {
        let worker = BallotWorker::new(
            Arc::new(Reads(letter(""))),
            Arc::new(Question3),
            Policy::default(),
        );
        let c = worker.process(&source(), b"jpg").unwrap();
        assert_eq!(c.status, Status::NeedsReview);
        assert!(c.text.is_empty() && c.questions.is_empty());
    }
}
