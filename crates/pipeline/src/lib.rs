//! The flow of recueil, stage by stage:
//!
//! ```text
//! intake     file -> Source + bytes + outbox row, one transaction   (intake.rs)
//! relay      outbox row -> queue, deleted once the broker confirmed  (relay.rs)
//! worker     delivery -> load source -> Process (blocking thread)
//!            -> contribution stored -> ack                           (worker.rs)
//! embedded   all of the above in one process over an inbox folder   (embedded.rs)
//! service    workers and relay served until shutdown                 (service.rs)
//! watching   a scanner's shared folder, an Asterisk spool            (scan_folder.rs, asterisk.rs)
//! ```
//!
//! What a channel does with its bytes (decode, recognise, read, classify) is
//! a [`Process`], implemented by the voicemail and ballot workers.

pub mod asterisk;
pub mod discard;
pub mod embedded;
pub mod intake;
pub mod relay;
pub mod scan_folder;
pub mod service;
pub mod worker;

use chrono::{DateTime, Utc};
use recueil_core::{Channel, Contribution, Failure, Masked, Source};

pub use tokio_util::sync::CancellationToken as Shutdown;

/// What a channel's worker does with one source. Called on a blocking
/// thread: implementations may take seconds of CPU.
///
/// It takes the domain [`Source`], not the store's record of it: what a
/// channel does with its bytes does not depend on how they are kept, so the
/// worker crates need no database.
pub trait Process: Send + Sync + 'static {
    fn channel(&self) -> Channel;
    fn process(&self, source: &Source, original: &[u8]) -> Result<Contribution, Failure>;
}

/// Decisions that belong to the consultation, not to the code.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Contributions received after this are kept but flagged `late`.
    pub closing_time: DateTime<Utc>,
    /// Below this confidence, a text goes to human review.
    pub review_below: f32,
    /// The consultation's language (ISO 639-1): a message read in another
    /// one goes to a person, labelled with its language.
    pub language: String,
}

impl Policy {
    pub fn is_late(&self, received_at: DateTime<Utc>) -> bool {
        received_at > self.closing_time
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            // 20 June 2022 23:59:59 Europe/Paris (CEST, UTC+2).
            closing_time: DateTime::parse_from_rfc3339("2022-06-20T23:59:59+02:00")
                .expect("valid date")
                .with_timezone(&Utc),
            review_below: 0.6,
            language: "fr".into(),
        }
    }
}

/// The publishable form of a text read by the machine: personal data
/// masked, and where it was.
pub fn mask_personal_data(raw: &str) -> (String, Vec<Masked>) {
    let redacted = recueil_privacy::redact(raw);
    (redacted.text, redacted.redactions)
}

/// A reviewer's text, ready for the store: kept as written (restricted) and
/// masked for publication, as the machine's reading is.
pub fn edited_text(raw: &str) -> recueil_store::EditedText {
    let (text, redactions) = mask_personal_data(raw);
    recueil_store::EditedText {
        raw: raw.to_owned(),
        text,
        redactions,
    }
}
