//! What comes out: a normalized contribution, one per source.

use crate::engine::{Segment, TextLine};
use crate::question::{Evidence, QuestionSet};
use crate::source::{Channel, Source, SourceId, Urn};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a contribution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Read with confidence; visible on the platform.
    Published,
    /// The machine was not sure: a person must look.
    NeedsReview,
    /// A reviewer decided it is not publishable.
    Rejected,
    /// Nothing to publish: silence, line noise, a blank page.
    Empty,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Published => "published",
            Status::NeedsReview => "needs_review",
            Status::Rejected => "rejected",
            Status::Empty => "empty",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "published" => Ok(Status::Published),
            "needs_review" => Ok(Status::NeedsReview),
            "rejected" => Ok(Status::Rejected),
            "empty" => Ok(Status::Empty),
            other => Err(format!("unknown status {other:?}")),
        }
    }
}

/// The engine that produced a result, for traceability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineInfo {
    pub name: String,
    pub version: String,
}

impl EngineInfo {
    /// A reader and a classifier together, for traceability:
    /// `whisper+recueil-classify` / `base-f16+1`.
    pub fn combined(reader: EngineInfo, classifier: EngineInfo) -> EngineInfo {
        EngineInfo {
            name: format!("{}+{}", reader.name, classifier.name),
            version: format!("{}+{}", reader.version, classifier.version),
        }
    }
}

impl fmt::Display for EngineInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.version)
    }
}

/// A contribution, normalized from a voicemail or a ballot page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// The source it came from; one contribution per source.
    pub source_id: SourceId,
    pub channel: Channel,
    pub questions: QuestionSet,
    /// Why each question was chosen.
    pub evidence: Vec<Evidence>,
    /// The text that may be published (personal data masked).
    pub text: String,
    /// The text as read by the machine: restricted to staff.
    pub raw_text: String,
    pub language: Option<String>,
    /// How sure the machine is of `raw_text`, from 0 to 1.
    pub confidence: f32,
    pub status: Status,
    pub received_at: DateTime<Utc>,
    pub processed_at: DateTime<Utc>,
    /// The urn (ballot) it came from.
    pub urn: Option<Urn>,
    /// Engines that read and classified it, e.g. `whisper base-f16`.
    pub engine: EngineInfo,
    /// Received after the consultation's closing time: kept, but flagged.
    pub late: bool,
    /// What was masked in `raw_text` to make `text`.
    #[serde(default)]
    pub redactions: Vec<Masked>,
    /// Timed stretches of the recording (voicemail), so a reviewer can
    /// listen to the part they doubt; empty for a ballot. Restricted like
    /// `raw_text`: the segments' text is not masked.
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// The lines of a scan's text crop (`review_image`) with the OCR's
    /// reading of each, so that a reviewer corrects line by line; empty for
    /// a recording and when no crop was kept. Restricted like `raw_text`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<TextLine>,
    /// An image for the reviewer (the free-text crop of a scan), stored
    /// beside the contribution; not part of the JSON form.
    #[serde(skip)]
    pub review_image: Option<Vec<u8>>,
}

impl Contribution {
    /// The contribution of `source` before anything was read from it:
    /// status `empty`, no text, no question, processed now. Every channel
    /// starts here and fills in what its engines found, so the fields that
    /// come from the source (identity, channel, reception time, urn) are
    /// copied in one place only.
    pub fn new(source: &Source, engine: EngineInfo, late: bool) -> Contribution {
        Contribution {
            source_id: source.id,
            channel: source.channel,
            questions: QuestionSet::empty(),
            evidence: Vec::new(),
            text: String::new(),
            raw_text: String::new(),
            language: None,
            confidence: 0.0,
            status: Status::Empty,
            received_at: source.received_at,
            processed_at: Utc::now(),
            urn: source.urn.clone(),
            engine,
            late,
            redactions: Vec::new(),
            segments: Vec::new(),
            lines: Vec::new(),
            review_image: None,
        }
    }
}

/// The kind of personal data a mask hid. Stored and exported in its
/// snake_case form (`"phone"`), which is also what [`MaskKind::as_str`]
/// and `Display` give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskKind {
    Phone,
    Email,
    Address,
    Name,
}

impl MaskKind {
    pub const ALL: [MaskKind; 4] = [
        MaskKind::Phone,
        MaskKind::Email,
        MaskKind::Address,
        MaskKind::Name,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MaskKind::Phone => "phone",
            MaskKind::Email => "email",
            MaskKind::Address => "address",
            MaskKind::Name => "name",
        }
    }

    /// The placeholder left in the published text.
    pub fn placeholder(self) -> &'static str {
        match self {
            MaskKind::Phone => "[téléphone]",
            MaskKind::Email => "[courriel]",
            MaskKind::Address => "[adresse]",
            MaskKind::Name => "[nom]",
        }
    }
}

impl fmt::Display for MaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MaskKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MaskKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown mask kind {s:?} (phone, email, address or name)"))
    }
}

/// One piece of personal data masked before publication: its kind and
/// where it was in the raw text, in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Masked {
    pub kind: MaskKind,
    pub start: usize,
    pub end: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceId;

    fn source() -> Source {
        Source {
            id: SourceId::new(),
            channel: Channel::Ballot,
            sha256: "00".repeat(32),
            media_type: "image/png".into(),
            size: 3,
            original_name: "p.png".into(),
            received_at: DateTime::parse_from_rfc3339("2022-06-01T10:00:00+02:00")
                .unwrap()
                .with_timezone(&Utc),
            caller_ref: None,
            urn: Some("mairie-annexe".parse().unwrap()),
            batch: None,
            page: 1,
        }
    }

    #[test]
    fn a_new_contribution_copies_the_source_and_publishes_nothing() {
        let s = source();
        let engine = EngineInfo {
            name: "tesseract".into(),
            version: "5".into(),
        };
        let c = Contribution::new(&s, engine.clone(), true);
        assert_eq!(c.source_id, s.id);
        assert_eq!(c.channel, Channel::Ballot);
        assert_eq!(c.received_at, s.received_at);
        assert_eq!(c.urn, s.urn);
        assert_eq!(c.engine, engine);
        assert!(c.late);
        assert_eq!(c.status, Status::Empty);
        assert!(c.text.is_empty() && c.raw_text.is_empty() && c.questions.is_empty());
    }

    #[test]
    fn mask_kinds_keep_their_stored_form() {
        let m = Masked {
            kind: MaskKind::Phone,
            start: 3,
            end: 17,
        };
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"kind":"phone","start":3,"end":17}"#);
        assert_eq!(serde_json::from_str::<Masked>(&json).unwrap(), m);
        for k in MaskKind::ALL {
            assert_eq!(k.as_str().parse::<MaskKind>().unwrap(), k);
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        assert!("telephone".parse::<MaskKind>().is_err());
        assert!(serde_json::from_str::<Masked>(r#"{"kind":"ssn","start":0,"end":1}"#).is_err());
    }

    #[test]
    fn contributions_stored_before_segments_or_words_existed_still_read() {
        let mut c = Contribution::new(
            &source(),
            EngineInfo {
                name: "x".into(),
                version: "1".into(),
            },
            false,
        );
        c.segments.push(Segment {
            start_s: 0.0,
            end_s: 1.5,
            text: "bonjour".into(),
            confidence: 0.9,
            words: vec![crate::Word {
                text: "bonjour".into(),
                probability: 0.5,
            }],
        });
        let mut value = serde_json::to_value(&c).unwrap();
        assert_eq!(value["segments"][0]["text"], "bonjour");
        assert_eq!(value["segments"][0]["words"][0]["p"], 0.5);
        // A segment stored before words were kept.
        value["segments"][0]
            .as_object_mut()
            .unwrap()
            .remove("words");
        let wordless: Contribution = serde_json::from_value(value.clone()).unwrap();
        assert!(wordless.segments[0].words.is_empty());
        assert_eq!(wordless.segments[0].text, "bonjour");
        value.as_object_mut().unwrap().remove("segments");
        let old: Contribution = serde_json::from_value(value).unwrap();
        assert!(old.segments.is_empty());
    }
}
