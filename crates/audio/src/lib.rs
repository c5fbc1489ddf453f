//! From the bytes of a voicemail to 16 kHz mono samples for Whisper.
//!
//! ```text
//! bytes -> sniff (magic bytes, not the file name) -> decode
//!       -> downmix (average) -> resample to 16 kHz -> cap the duration
//!       -> find speech (trim leading/trailing silence, with a margin)
//! ```
//!
//! Formats: WAV (PCM 8/16/24/32-bit, 32-bit float, extensible; G.711
//! mu-law and A-law), MP3, Ogg Vorbis and FLAC, any channel count and sample
//! rate. GSM 6.10 (Asterisk's `wav49` and `.gsm`) is refused with the
//! voicemail.conf setting that avoids it. Every refusal is an
//! [`AudioError`] naming the input; nothing here panics on bad bytes.
//!
//! Over-long recordings (default limit 10 minutes): the default,
//! [`OverLimit::Truncate`], keeps the first 10 minutes and sets
//! [`Recording::truncated`], so the caller's words are transcribed and a
//! person reviews the message with the original recording at hand; nothing
//! is silently dropped. [`OverLimit::Refuse`] refuses the file instead.
//! The limit bounds memory and recognition time: a line left open for an
//! hour must not hold a worker for an hour.

mod compressed;
mod dsp;
mod error;
pub mod g711;
pub mod telephone;
mod wav;

pub use dsp::{downmix, find_speech, resample, Span, TrimConfig};
pub use error::AudioError;
pub use wav::{write_mulaw, write_pcm16};

/// The sample rate Whisper expects.
pub const WHISPER_RATE: u32 = 16_000;

/// What to do with a recording over [`AudioConfig::max_duration_s`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverLimit {
    /// Keep the beginning, flag the recording as truncated.
    Truncate,
    /// Refuse the file ([`AudioError::TooLong`]).
    Refuse,
}

/// Limits and trimming.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioConfig {
    /// Longest recording processed, in seconds (default 600).
    pub max_duration_s: f32,
    pub over_limit: OverLimit,
    pub trim: TrimConfig,
}

impl Default for AudioConfig {
    fn default() -> Self {
        AudioConfig {
            max_duration_s: 600.0,
            over_limit: OverLimit::Truncate,
            trim: TrimConfig::default(),
        }
    }
}

/// A decoded recording: 16 kHz mono, whole (up to the limit).
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub samples: Vec<f32>,
    /// Duration of the file as recorded, truncation or not.
    pub duration_s: f32,
    /// The limit cut the recording: `samples` hold only its beginning.
    pub truncated: bool,
    /// e.g. `wav/mu-law`, `wav/pcm`, `mp3`.
    pub codec: &'static str,
    pub source_rate: u32,
    pub source_channels: u16,
}

/// Interleaved samples as decoded, before downmix and resampling.
pub(crate) struct Interleaved {
    pub samples: Vec<f32>,
    pub channels: u16,
    pub rate: u32,
    /// Frames in the file (may exceed what `samples` holds).
    pub total_frames: u64,
    pub codec: &'static str,
}

enum Kind {
    Wav,
    Compressed(&'static str),
}

/// Decides the format from the first bytes; a file name or media type can
/// lie (a PDF named `.wav`), magic bytes do not.
fn sniff(bytes: &[u8], name: &str, media_type: &str) -> Result<Kind, AudioError> {
    let b = bytes;
    let starts = |m: &[u8]| b.starts_with(m);
    if b.is_empty() {
        return Err(AudioError::Empty {
            name: name.to_string(),
        });
    }
    if starts(b"RIFF") || starts(b"RIFX") || starts(b"RF64") {
        if b.len() >= 12 && &b[8..12] != b"WAVE" {
            return Err(AudioError::NotAudio {
                name: name.to_string(),
                looks_like: format!(
                    "a RIFF file of type `{}`",
                    String::from_utf8_lossy(&b[8..12]).trim()
                ),
            });
        }
        if !starts(b"RIFF") {
            return Err(AudioError::unsupported(
                name,
                "big-endian (RIFX) or 64-bit (RF64) WAV",
            ));
        }
        return Ok(Kind::Wav);
    }
    if starts(b"OggS") {
        return Ok(Kind::Compressed("ogg"));
    }
    if starts(b"fLaC") {
        return Ok(Kind::Compressed("flac"));
    }
    // MPEG audio: an ID3 tag, or a frame sync (11 set bits) with a valid
    // layer and bit-rate index.
    if starts(b"ID3")
        || (b.len() >= 3
            && b[0] == 0xFF
            && b[1] & 0xE0 == 0xE0
            && b[1] & 0x06 != 0
            && b[2] & 0xF0 != 0xF0)
    {
        return Ok(Kind::Compressed("mp3"));
    }
    if looks_like_gsm(b, name, media_type) {
        return Err(AudioError::unsupported(name, wav::GSM_HINT));
    }
    Err(AudioError::NotAudio {
        name: name.to_string(),
        looks_like: describe(b).to_string(),
    })
}

/// Raw GSM 6.10 (Asterisk's `.gsm`): 33-byte frames whose first nibble is
/// the 0xD signature.
fn looks_like_gsm(b: &[u8], name: &str, media_type: &str) -> bool {
    let frames_ok = b.len().is_multiple_of(33) && b.chunks(33).all(|f| f[0] >> 4 == 0xD);
    let named = name.to_ascii_lowercase().ends_with(".gsm") || media_type.contains("gsm");
    frames_ok && (named || b.len() >= 33 * 5)
}

fn describe(b: &[u8]) -> &'static str {
    let starts = |m: &[u8]| b.starts_with(m);
    if starts(b"%PDF") {
        "a PDF document"
    } else if starts(b"\x89PNG") {
        "a PNG image"
    } else if starts(b"\xFF\xD8\xFF") {
        "a JPEG image"
    } else if starts(b"GIF8") {
        "a GIF image"
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        "a TIFF image"
    } else if starts(b"PK\x03\x04") {
        "a ZIP archive or office document"
    } else if b.len() >= 8 && &b[4..8] == b"ftyp" {
        "an MP4/M4A file (AAC is not decoded)"
    } else if std::str::from_utf8(&b[..b.len().min(512)])
        .map(|s| s.chars().all(|c| !c.is_control() || c.is_whitespace()))
        .unwrap_or(false)
    {
        "text"
    } else {
        "unrecognised binary data"
    }
}

/// Decodes any supported recording to 16 kHz mono, applying the duration limit.
///
/// `name` is used in errors; `media_type` only helps recognise raw GSM.
pub fn decode(
    bytes: &[u8],
    name: &str,
    media_type: &str,
    config: &AudioConfig,
) -> Result<Recording, AudioError> {
    let max_s = f64::from(config.max_duration_s.max(0.0));
    let raw = match sniff(bytes, name, media_type)? {
        Kind::Wav => wav::decode(bytes, name, max_s)?,
        Kind::Compressed(ext) => compressed::decode(bytes, name, ext, max_s)?,
    };
    if !(1000..=384_000).contains(&raw.rate) {
        return Err(AudioError::unsupported(
            name,
            format!("a sample rate of {} Hz", raw.rate),
        ));
    }
    let duration_s = raw.total_frames as f64 / f64::from(raw.rate);
    let truncated = duration_s > max_s;
    if truncated && config.over_limit == OverLimit::Refuse {
        return Err(AudioError::TooLong {
            name: name.to_string(),
            seconds: duration_s as f32,
            limit: max_s as f32,
        });
    }
    let mut mono = downmix(&raw.samples, raw.channels);
    drop(raw.samples);
    let keep = (max_s * f64::from(raw.rate)).ceil() as usize;
    mono.truncate(keep);
    let samples =
        resample(&mono, raw.rate, WHISPER_RATE).map_err(|e| AudioError::corrupt(name, e))?;
    if truncated {
        tracing::warn!(
            input = name,
            duration_s,
            limit_s = max_s,
            "recording over the duration limit: only its beginning is transcribed"
        );
    }
    Ok(Recording {
        samples,
        duration_s: duration_s as f32,
        truncated,
        codec: raw.codec,
        source_rate: raw.rate,
        source_channels: raw.channels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm16_written_reads_back_the_same_samples() {
        let samples: Vec<f32> = (0..1600).map(|i| ((i as f32) * 0.01).sin() * 0.5).collect();
        let bytes = write_pcm16(&samples, WHISPER_RATE).unwrap();
        let rec = decode(&bytes, "sine.wav", "", &AudioConfig::default()).unwrap();
        assert_eq!(rec.codec, "wav/pcm");
        assert_eq!(rec.samples.len(), samples.len());
        let worst = rec
            .samples
            .iter()
            .zip(&samples)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1.0 / 16_000.0, "{worst}");
    }

    #[test]
    fn sniffing_ignores_names() {
        let err =
            |b: &[u8]| decode(b, "m.wav", "audio/x-wav", &AudioConfig::default()).unwrap_err();
        assert!(matches!(err(b""), AudioError::Empty { .. }));
        assert!(
            err(b"%PDF-1.4 hello")
                .to_string()
                .contains("a PDF document"),
            "{}",
            err(b"%PDF-1.4")
        );
        assert!(err(b"hello world\n").to_string().contains("text"));
        assert!(err(&[0x01, 0x9C, 0x00, 0x33, 0x80])
            .to_string()
            .contains("unrecognised binary data"));
        assert!(err(b"RIFF\x10\x00\x00\x00AVI LIST")
            .to_string()
            .contains("RIFF file of type `AVI`"));
    }

    #[test]
    fn raw_gsm_is_refused_with_the_asterisk_setting() {
        let gsm: Vec<u8> = (0..33 * 10)
            .map(|i| if i % 33 == 0 { 0xD5 } else { 0x42 })
            .collect();
        let e = decode(&gsm, "msg0000.gsm", "", &AudioConfig::default()).unwrap_err();
        assert!(matches!(e, AudioError::Unsupported { .. }));
        assert!(e.to_string().contains("format=wav"), "{e}");
        assert!(e.to_string().contains("msg0000.gsm"), "{e}");
    }
}
