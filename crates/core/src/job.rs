//! The queue message: "process this source". Versioned JSON on the wire.
//!
//! A job carries no media and no personal data: only the source's identity.
//! The worker loads everything else from the store, so a message that is
//! duplicated, replayed or read by an operator reveals nothing.

use crate::source::{Channel, SourceId};
use serde::{Deserialize, Serialize};

/// The schema this build writes and the only one it reads.
pub const JOB_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub schema: u32,
    pub source_id: SourceId,
    pub channel: Channel,
    /// 1 for the first try; incremented by each delayed retry.
    pub attempt: u32,
}

/// A message that is not a job this build understands.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("malformed job message ({len} bytes, starts {preview:?}): {reason}")]
    Malformed {
        len: usize,
        preview: String,
        reason: String,
    },
    #[error("job message has schema version {found}; this build reads version {supported} only")]
    UnsupportedSchema { found: u32, supported: u32 },
}

impl Job {
    pub fn new(source_id: SourceId, channel: Channel) -> Job {
        Job {
            schema: JOB_SCHEMA_VERSION,
            source_id,
            channel,
            attempt: 1,
        }
    }

    /// The same job, one attempt later.
    pub fn next_attempt(&self) -> Job {
        Job {
            attempt: self.attempt + 1,
            ..self.clone()
        }
    }

    pub fn to_wire(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a job always serialises")
    }

    /// Reads a message, checking the schema version before anything else so
    /// that a message from a newer producer gets a precise error.
    pub fn from_wire(bytes: &[u8]) -> Result<Job, WireError> {
        #[derive(Deserialize)]
        struct Envelope {
            schema: u32,
        }
        let malformed = |reason: String| WireError::Malformed {
            len: bytes.len(),
            preview: String::from_utf8_lossy(&bytes[..bytes.len().min(48)]).into_owned(),
            reason,
        };
        let envelope: Envelope =
            serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        if envelope.schema != JOB_SCHEMA_VERSION {
            return Err(WireError::UnsupportedSchema {
                found: envelope.schema,
                supported: JOB_SCHEMA_VERSION,
            });
        }
        serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_round_trips() {
        let job = Job::new(SourceId::new(), Channel::Ballot);
        assert_eq!(Job::from_wire(&job.to_wire()).unwrap(), job);
        assert_eq!(job.next_attempt().attempt, 2);
    }

    #[test]
    fn unknown_schema_versions_are_rejected_by_name() {
        let msg = br#"{"schema":2,"source_id":"0192f0c4-5b7e-7c8a-9d3e-000000000000","channel":"ballot","attempt":1}"#;
        let err = Job::from_wire(msg).unwrap_err();
        assert!(matches!(err, WireError::UnsupportedSchema { found: 2, .. }));
        assert!(err.to_string().contains("schema version 2"));
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for msg in [&b""[..], b"\xff\xfe", b"{}", b"[1,2]", br#"{"schema":1}"#] {
            assert!(matches!(
                Job::from_wire(msg),
                Err(WireError::Malformed { .. })
            ));
        }
    }
}
