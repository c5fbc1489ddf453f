//! The engines this build can run, per channel.
//!
//! A channel whose engine is not part of the build is refused with a clear
//! message: the binary never substitutes a fake. Sources of that channel
//! stay queued, untouched, until a build with the engine processes them.

use recueil_core::Channel;
use recueil_pipeline::{Policy, Process};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
#[error("no {what} engine in this build of recueil: {channel} sources stay queued until one is available ({hint})")]
pub struct MissingEngine {
    pub channel: Channel,
    pub what: &'static str,
    pub hint: &'static str,
}

/// The process for `channel`, or why there is none.
pub fn process_for(channel: Channel, _policy: &Policy) -> Result<Arc<dyn Process>, MissingEngine> {
    match channel {
        Channel::Voicemail => Err(MissingEngine {
            channel,
            what: "speech recognition (whisper)",
            hint: "the whisper transcriber is not integrated yet",
        }),
        Channel::Ballot => Err(MissingEngine {
            channel,
            what: "ballot reading (OCR)",
            hint: "the tesseract ballot reader is not integrated yet",
        }),
    }
}

/// Pages of a scan, so that intake makes one source per page.
pub fn scan_pages(bytes: &[u8]) -> Result<u32, String> {
    recueil_scan::page_count(bytes).map_err(|e| e.to_string())
}
