//! How a failure is classified, so that a worker knows whether a retry can help.

use std::fmt;

/// Whether trying again later can change the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The input itself is bad (corrupt audio, a PDF named `.wav`, an image
    /// bomb): retrying gives the same result. Recorded and dead-lettered.
    Permanent,
    /// Something around the input is wrong (database down, engine busy):
    /// retried after a delay.
    Transient,
}

/// A failure to process one source, with a message that names the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    pub fn permanent(message: impl Into<String>) -> Failure {
        Failure {
            kind: FailureKind::Permanent,
            message: message.into(),
        }
    }

    pub fn transient(message: impl Into<String>) -> Failure {
        Failure {
            kind: FailureKind::Transient,
            message: message.into(),
        }
    }

    pub fn is_transient(&self) -> bool {
        self.kind == FailureKind::Transient
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            FailureKind::Permanent => "permanent",
            FailureKind::Transient => "transient",
        };
        write!(f, "{kind} failure: {}", self.message)
    }
}

impl std::error::Error for Failure {}
