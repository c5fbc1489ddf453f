//! The narrow traits behind which the heavy engines live.
//!
//! Workers call these synchronously on blocking threads: speech recognition
//! and OCR are CPU-bound and must never run on the async runtime. Real
//! engines (whisper, tesseract, the trained classifier) implement them in
//! their own crates; tests implement them with instant doubles.

use crate::contribution::EngineInfo;
use crate::error::Failure;
use crate::question::{Evidence, QuestionSet};
use crate::source::Urn;

/// The original bytes of a source, with what is known about them.
#[derive(Debug, Clone, Copy)]
pub struct Media<'a> {
    pub bytes: &'a [u8],
    /// Sniffed media type, e.g. `audio/x-wav`, `image/png`.
    pub media_type: &'a str,
    /// The name given at intake, used in error messages.
    pub name: &'a str,
    /// The page to read in a multi-page scan, from 1; 0 for a whole file
    /// (a recording, a single-page image, a letter of several sheets).
    pub page: u32,
}

/// One stretch of recognised speech, in seconds from the start of the
/// recording. Kept on the contribution for the reviewer (see
/// [`Contribution::segments`](crate::Contribution::segments)).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    pub start_s: f32,
    pub end_s: f32,
    pub text: String,
    /// 0 to 1.
    pub confidence: f32,
    /// The segment's words in order, each with the recogniser's
    /// probability, so that the review console can point at the unsure
    /// ones. Empty for segments stored before words were kept, and for
    /// engines that give no word probabilities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
}

/// One recognised word and how sure the recogniser was of it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Word {
    /// The word as written in the segment's text (punctuation attached).
    pub text: String,
    /// 0 to 1: the product of its tokens' probabilities.
    #[serde(rename = "p")]
    pub probability: f32,
}

impl Word {
    /// Probability below which the review console marks a word as unsure.
    /// Chosen by measurement (`recueil eval transcribe --words`, the table
    /// in the speech crate's README): how many words get marked against
    /// how many of the marked words are wrong.
    pub const UNSURE_BELOW: f32 = 0.3;

    pub fn is_unsure(&self) -> bool {
        self.probability < Self::UNSURE_BELOW
    }
}

/// What a speech engine heard.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub text: String,
    pub language: String,
    pub duration_s: f32,
    pub speech_s: f32,
    /// 0 to 1.
    pub confidence: f32,
    /// Nothing was said: silence, line noise, a hang-up.
    pub no_speech: bool,
    pub segments: Vec<Segment>,
}

/// Turns a recording into text.
pub trait Transcriber: Send + Sync {
    fn engine(&self) -> EngineInfo;
    fn transcribe(&self, media: Media<'_>) -> Result<Transcript, Failure>;
}

/// What kind of page a scan turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    Form,
    Blank,
    NotAForm,
}

/// What a ballot reader saw on one page.
#[derive(Debug, Clone, PartialEq)]
pub struct BallotReading {
    pub kind: PageKind,
    pub ticked: QuestionSet,
    /// Boxes the reader could not decide; never silently ticked or not.
    pub ambiguous: QuestionSet,
    /// From the QR code, when the form has one.
    pub urn: Option<Urn>,
    pub text: String,
    /// 0 to 1: how readable the writing really was.
    pub confidence: f32,
    pub needs_review: bool,
    /// The free-text area as a PNG, kept when the page needs review so the
    /// reviewer sees what the citizen wrote beside what was read.
    pub crop_png: Option<Vec<u8>>,
    /// The lines of `crop_png` and the OCR's reading of each, in order,
    /// kept with it: a reviewer corrects handwriting line by line, each
    /// line's image above its best guess. Empty when no crop is kept.
    pub lines: Vec<TextLine>,
}

/// One line of a scanned text: where it lies in the text crop (pixel rows)
/// and what the OCR read there.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TextLine {
    /// First pixel row of the line in the crop.
    pub top: u32,
    /// Rows the line spans, its ascenders and descenders included.
    pub height: u32,
    pub text: String,
    /// 0 to 1: the OCR's confidence in the line's words, by character.
    pub confidence: f32,
}

/// Reads a scanned B1 page.
pub trait BallotReader: Send + Sync {
    fn engine(&self) -> EngineInfo;
    fn read(&self, media: Media<'_>) -> Result<BallotReading, Failure>;
}

/// Which questions a text answers, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub questions: QuestionSet,
    pub evidence: Vec<Evidence>,
    /// No question is confident, or the text is not a contribution.
    pub needs_review: bool,
}

/// Files a contribution under questions 1, 2 and/or 3.
pub trait Classifier: Send + Sync {
    fn engine(&self) -> EngineInfo;
    /// `ticked` holds the boxes ticked on a paper form (empty for voicemail).
    fn classify(&self, text: &str, ticked: QuestionSet) -> Classification;
}
