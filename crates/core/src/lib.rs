//! The vocabulary of recueil.
//!
//! Everything the other crates exchange is defined here, and nothing else:
//! what arrived ([`Source`]), the message that asks a worker to process it
//! ([`Job`]), what comes out ([`Contribution`]), the three consultation
//! questions ([`Question`], [`QuestionSet`]), and the narrow traits behind
//! which the heavy engines live ([`engine`]). Keeping this crate free of I/O
//! lets every other crate depend on it without pulling a database or a broker.

pub mod contribution;
pub mod engine;
pub mod error;
pub mod job;
pub mod question;
pub mod source;

pub use contribution::{Contribution, EngineInfo, MaskKind, Masked, Status};
pub use engine::{Segment, TextLine, Word};
pub use error::{Failure, FailureKind};
pub use job::{Job, WireError, JOB_SCHEMA_VERSION};
pub use question::{Evidence, EvidenceKind, Question, QuestionSet};
pub use source::{Channel, Source, SourceId, Urn, UrnError};

/// Hex-encoded SHA-256 of `bytes`: the identity of an original recording or scan.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}
