//! Why a recording could not be turned into samples.
//!
//! Every variant names the input (`name`, as given at intake) so that the
//! message recorded against a source says which file was refused and why.
//! All of them describe the input itself: retrying gives the same result
//! (the worker records them as permanent failures).

/// A recording that cannot be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AudioError {
    /// Zero bytes: nothing was recorded, or the upload was lost.
    #[error("{name}: the file is empty (0 bytes)")]
    Empty { name: String },

    /// The bytes are not audio in a format we read (a PDF, an image, text,
    /// random bytes). `looks_like` says what they seem to be instead.
    #[error(
        "{name}: not an audio recording ({looks_like}); expected WAV, MP3, Ogg Vorbis or FLAC"
    )]
    NotAudio { name: String, looks_like: String },

    /// A WAV file cut short: its header announces more audio than it holds.
    #[error("{name}: truncated WAV file: {detail}")]
    Truncated { name: String, detail: String },

    /// Audio in a codec or layout we do not decode.
    #[error("{name}: unsupported audio: {detail}")]
    Unsupported { name: String, detail: String },

    /// The container or the coded audio is damaged.
    #[error("{name}: corrupt audio: {detail}")]
    Corrupt { name: String, detail: String },

    /// Longer than the configured limit, with [`crate::OverLimit::Refuse`].
    #[error(
        "{name}: the recording lasts {seconds:.0} s, over the {limit:.0} s limit \
         (raise the limit to transcribe it)"
    )]
    TooLong {
        name: String,
        seconds: f32,
        limit: f32,
    },
}

impl AudioError {
    pub(crate) fn corrupt(name: &str, detail: impl std::fmt::Display) -> AudioError {
        AudioError::Corrupt {
            name: name.to_string(),
            detail: detail.to_string(),
        }
    }

    pub(crate) fn unsupported(name: &str, detail: impl std::fmt::Display) -> AudioError {
        AudioError::Unsupported {
            name: name.to_string(),
            detail: detail.to_string(),
        }
    }

    pub(crate) fn truncated(name: &str, detail: impl std::fmt::Display) -> AudioError {
        AudioError::Truncated {
            name: name.to_string(),
            detail: detail.to_string(),
        }
    }
}
