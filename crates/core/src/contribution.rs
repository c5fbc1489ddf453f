//! What comes out: a normalized contribution, one per source.

use crate::question::{Evidence, QuestionSet};
use crate::source::{Channel, SourceId, Urn};
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
    /// The timed segments of a transcript (voicemail), as the engine read
    /// them (raw text: restricted like `raw_text`).
    #[serde(default)]
    pub segments: Vec<crate::engine::Segment>,
    /// An image for the reviewer (the free-text crop of a scan), stored
    /// beside the contribution; not part of the JSON form.
    #[serde(skip)]
    pub review_image: Option<Vec<u8>>,
}

/// One piece of personal data masked before publication: its kind
/// (`phone`, `email`, `address`, `name`) and where it was in the raw text,
/// in characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Masked {
    pub kind: String,
    pub start: usize,
    pub end: usize,
}
