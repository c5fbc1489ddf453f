//! Where someone speaks in a recording: Silero VAD, as whisper.cpp runs it.
//!
//! The detector gives the stretches of speech; whisper then reads only
//! those, in pieces of at most [`MAX_PIECE_S`] each (the silences between
//! stretches of one piece are kept, so whisper hears the message as it was
//! said, and a piece is never spliced). A message of a few seconds is one
//! piece, decoded with an encoder window fitted to it; a three-minute
//! message becomes several pieces cut at pauses, each fitted, instead of
//! whole 30 s windows that whisper.cpp moves by blindly. Long silences
//! (hold music, a caller thinking) are never decoded at all.
//!
//! Without the model (`SpeechConfig::vad` is `None`), the energy trim of
//! `recueil_audio::find_speech` is the fallback: one piece from the first
//! to the last voiced frame.

use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;

use whisper_rs::{WhisperVadContext, WhisperVadContextParams, WhisperVadParams};

use crate::SpeechError;

/// The longest piece whisper reads at once: under one 30 s window, with
/// room for the encoder's margin.
pub const MAX_PIECE_S: f32 = 28.0;

/// The detector's settings; the defaults are the measured choice
/// (crates/speech/README.md, "Voice activity detection").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadSettings {
    /// A 32 ms frame whose speech probability reaches this is speech.
    pub threshold: f32,
    /// Speech shorter than this is dropped (a click, a breath).
    pub min_speech_ms: u32,
    /// A pause must last this long to end a stretch of speech.
    pub min_silence_ms: u32,
    /// Kept before and after each stretch, so that no word is clipped.
    pub pad_ms: u32,
}

impl Default for VadSettings {
    fn default() -> Self {
        VadSettings {
            threshold: 0.35,
            min_speech_ms: 250,
            min_silence_ms: 500,
            pad_ms: 800,
        }
    }
}

/// Silero VAD loaded once, shared by the transcriber's threads (a frame
/// costs well under a millisecond: one detector behind a lock is enough).
pub struct VoiceDetector {
    ctx: Mutex<WhisperVadContext>,
    settings: VadSettings,
}

impl std::fmt::Debug for VoiceDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceDetector")
            .field("settings", &self.settings)
            .finish()
    }
}

impl VoiceDetector {
    /// Loads a ggml Silero VAD model (`recueil models fetch silero-vad`).
    pub fn load(path: &Path, threads: usize, settings: VadSettings) -> Result<Self, SpeechError> {
        let failed = |message: String| SpeechError::Load {
            path: path.to_path_buf(),
            message,
        };
        if !(0.0..1.0).contains(&settings.threshold) {
            return Err(SpeechError::Config(format!(
                "VAD threshold {} is not a probability below 1",
                settings.threshold
            )));
        }
        let path_str = path
            .to_str()
            .ok_or_else(|| failed("the path is not UTF-8".into()))?;
        let mut params = WhisperVadContextParams::new();
        params.set_n_threads(threads.clamp(1, 8) as i32);
        params.set_use_gpu(false);
        let ctx = WhisperVadContext::new(path_str, params)
            .map_err(|e| failed(format!("not a Silero VAD model: {e}")))?;
        Ok(VoiceDetector {
            ctx: Mutex::new(ctx),
            settings,
        })
    }

    pub fn settings(&self) -> VadSettings {
        self.settings
    }

    /// The stretches of speech in 16 kHz `samples`, in samples, padded,
    /// in order and apart.
    pub fn speech(&self, samples: &[f32], name: &str) -> Result<Vec<Range<usize>>, SpeechError> {
        let failed = |message: String| SpeechError::Recognition {
            name: name.to_string(),
            message: format!("voice activity detection: {message}"),
        };
        let s = self.settings;
        let mut params = WhisperVadParams::new();
        params.set_threshold(s.threshold);
        params.set_min_speech_duration(s.min_speech_ms as i32);
        params.set_min_silence_duration(s.min_silence_ms as i32);
        params.set_speech_pad(s.pad_ms as i32);
        let mut ctx = self
            .ctx
            .lock()
            .map_err(|_| failed("the detector was poisoned by a panic".into()))?;
        let segments = ctx
            .segments_from_samples(params, samples)
            .map_err(|e| failed(e.to_string()))?;
        // whisper.cpp gives centiseconds.
        let rate = recueil_audio::WHISPER_RATE as f32 / 100.0;
        let stretches = segments
            .map(|seg| {
                let start = (seg.start.max(0.0) * rate) as usize;
                let end = ((seg.end.max(0.0) * rate) as usize).min(samples.len());
                start.min(end)..end
            })
            .filter(|r| !r.is_empty())
            .collect::<Vec<_>>();
        Ok(merge_overlaps(stretches))
    }
}

/// Sorts stretches and joins those that overlap or touch (padding can make
/// neighbours overlap).
fn merge_overlaps(mut stretches: Vec<Range<usize>>) -> Vec<Range<usize>> {
    stretches.sort_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(stretches.len());
    for r in stretches {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// Groups stretches of speech into the pieces whisper reads: consecutive
/// stretches, silences between them included, while a piece spans at most
/// `max_len` samples. A single stretch longer than that is a piece of its
/// own (whisper reads it in whole windows).
pub fn pieces(stretches: &[Range<usize>], max_len: usize) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for r in stretches {
        match out.last_mut() {
            Some(piece) if r.end - piece.start <= max_len => piece.end = r.end,
            _ => out.push(r.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretches_group_into_pieces_cut_at_pauses() {
        // Seconds, at 1 sample per second for reading.
        let s = [0..5, 6..20, 22..27, 29..40, 41..100, 101..102];
        assert_eq!(pieces(&s, 28), vec![0..27, 29..40, 41..100, 101..102]);
        assert_eq!(pieces(&s[..1], 28), vec![0..5]);
        assert!(pieces(&[], 28).is_empty());
        // Everything fits: one piece from the first word to the last.
        assert_eq!(pieces(&s, 1000), vec![0..102]);
    }

    #[test]
    fn padded_stretches_that_overlap_are_joined() {
        assert_eq!(
            merge_overlaps(vec![10..20, 0..5, 18..30, 30..31, 40..41]),
            vec![0..5, 10..31, 40..41]
        );
    }
}
