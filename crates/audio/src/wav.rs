//! WAV files: a small RIFF chunk walker decides what the file holds, then
//! `hound` decodes PCM and float audio, and [`crate::g711`] decodes mu-law
//! and A-law (format tags 7 and 6, which `hound` refuses).
//!
//! Walking the chunks ourselves first gives precise messages for the cases
//! a voicemail line produces: a file cut short by a crash or a full disk
//! (the header announces more audio than the file holds), and Asterisk's
//! GSM 6.10 (`wav49`) recordings, which we do not decode.

use std::io::Cursor;

use crate::error::AudioError;
use crate::{g711, Interleaved};

/// Format tags of the WAVE `fmt ` chunk.
const PCM: u16 = 0x0001;
const IEEE_FLOAT: u16 = 0x0003;
const ALAW: u16 = 0x0006;
const MULAW: u16 = 0x0007;
const GSM610: u16 = 0x0031;
const EXTENSIBLE: u16 = 0xFFFE;
/// More channels than any telephone or voicemail system writes: such a
/// header is damaged or hostile (200 channels of 10 frames decode to
/// nothing and would pass for a silent message).
const MAX_CHANNELS: u16 = 8;

/// What Asterisk users must change to avoid GSM recordings.
pub(crate) const GSM_HINT: &str = "GSM 6.10 (Asterisk's `wav49`/`gsm` voicemail formats) is not \
     decoded; set `format=wav` in the [general] section of Asterisk's voicemail.conf so that \
     messages are stored as 16-bit PCM WAV";

struct Fmt {
    tag: u16,
    channels: u16,
    rate: u32,
    bits: u16,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn tag_name(tag: u16) -> &'static str {
    match tag {
        0x0002 => "Microsoft ADPCM",
        0x0011 => "IMA ADPCM",
        0x0022 => "TrueSpeech",
        0x0040 => "G.721 ADPCM",
        0x0050 => "MPEG audio",
        0x0055 => "MP3",
        0x0064 | 0x0065 => "G.726 ADPCM",
        _ => "an unknown codec",
    }
}

/// Decodes a RIFF/WAVE file; keeps at most `max_seconds` of audio and
/// reports how many frames the file holds.
pub(crate) fn decode(
    bytes: &[u8],
    name: &str,
    max_seconds: f64,
) -> Result<Interleaved, AudioError> {
    if bytes.len() < 12 {
        return Err(AudioError::truncated(
            name,
            format!("{} bytes, shorter than a RIFF header", bytes.len()),
        ));
    }
    let mut fmt: Option<Fmt> = None;
    let mut data: Option<&[u8]> = None;
    let mut data_at = 0usize;
    let mut streamed = false;
    let mut pos = 12usize;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32_at(bytes, pos + 4);
        let body_start = pos + 8;
        let available = bytes.len() - body_start;
        if id == b"data" {
            // 0xFFFFFFFF: written by a streaming recorder that never came
            // back to fill in the size; the audio runs to the end of file.
            let len = if size == u32::MAX {
                available
            } else {
                size as usize
            };
            if len > available {
                return Err(AudioError::truncated(
                    name,
                    format!(
                        "the header announces {len} bytes of audio, the file holds {available}"
                    ),
                ));
            }
            data = Some(&bytes[body_start..body_start + len]);
            data_at = body_start;
            streamed = size == u32::MAX;
            break;
        }
        if size as usize > available {
            return Err(AudioError::truncated(
                name,
                format!(
                    "chunk `{}` announces {size} bytes, the file holds {available}",
                    String::from_utf8_lossy(id)
                ),
            ));
        }
        if id == b"fmt " {
            let b = &bytes[body_start..body_start + size as usize];
            if b.len() < 16 {
                return Err(AudioError::corrupt(name, "the `fmt ` chunk is too short"));
            }
            let mut tag = u16_at(b, 0);
            if tag == EXTENSIBLE && b.len() >= 26 {
                // The sub-format GUID starts with the real format tag.
                tag = u16_at(b, 24);
            }
            fmt = Some(Fmt {
                tag,
                channels: u16_at(b, 2),
                rate: u32_at(b, 4),
                bits: u16_at(b, 14),
            });
        }
        // Chunks are padded to an even length.
        pos = body_start + size as usize + (size as usize & 1);
    }
    let Some(fmt) = fmt else {
        if data.is_none() {
            return Err(AudioError::truncated(
                name,
                "the file ends before its format (`fmt `) chunk",
            ));
        }
        return Err(AudioError::corrupt(
            name,
            "no `fmt ` chunk before the audio",
        ));
    };
    let Some(data) = data else {
        return Err(AudioError::truncated(
            name,
            "the file ends before any audio (`data` chunk)",
        ));
    };
    if fmt.channels == 0 || fmt.rate == 0 {
        return Err(AudioError::corrupt(
            name,
            format!("{} channels at {} Hz", fmt.channels, fmt.rate),
        ));
    }
    if fmt.channels > MAX_CHANNELS {
        return Err(AudioError::corrupt(
            name,
            format!(
                "{} channels: a recording of a call has one or two (at most {MAX_CHANNELS} accepted)",
                fmt.channels
            ),
        ));
    }
    let max_frames = (max_seconds * f64::from(fmt.rate)).ceil() as u64;
    match fmt.tag {
        PCM | IEEE_FLOAT if streamed => {
            // hound trusts the size field: hand it a copy that states the
            // real size, rounded down to whole frames.
            let block = usize::from(fmt.channels) * usize::from(fmt.bits.div_ceil(8)).max(1);
            let len = data.len() - data.len() % block;
            let at = data_at - 4;
            let mut patched = bytes[..data_at + len].to_vec();
            patched[at..at + 4].copy_from_slice(&(len as u32).to_le_bytes());
            decode_hound(&patched, name, max_frames)
        }
        PCM | IEEE_FLOAT => decode_hound(bytes, name, max_frames),
        ALAW | MULAW => {
            if fmt.bits != 8 {
                return Err(AudioError::corrupt(
                    name,
                    format!("G.711 with {} bits per sample (expected 8)", fmt.bits),
                ));
            }
            let table: fn(u8) -> i16 = if fmt.tag == MULAW {
                g711::ulaw_decode
            } else {
                g711::alaw_decode
            };
            let channels = usize::from(fmt.channels);
            let frames = (data.len() / channels) as u64;
            let keep = frames.min(max_frames) as usize * channels;
            Ok(Interleaved {
                samples: data[..keep]
                    .iter()
                    .map(|&c| f32::from(table(c)) / 32768.0)
                    .collect(),
                channels: fmt.channels,
                rate: fmt.rate,
                total_frames: frames,
                codec: if fmt.tag == MULAW {
                    "wav/mu-law"
                } else {
                    "wav/a-law"
                },
            })
        }
        GSM610 => Err(AudioError::unsupported(name, GSM_HINT)),
        tag => Err(AudioError::unsupported(
            name,
            format!(
                "WAV format tag {tag:#06x} ({}); expected PCM, float, mu-law or A-law",
                tag_name(tag)
            ),
        )),
    }
}

fn hound_error(name: &str, e: hound::Error) -> AudioError {
    match e {
        hound::Error::Unsupported => {
            AudioError::unsupported(name, "a WAV layout hound does not read")
        }
        hound::Error::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            AudioError::truncated(name, "the audio ends in the middle of a sample")
        }
        e => AudioError::corrupt(name, e),
    }
}

fn decode_hound(bytes: &[u8], name: &str, max_frames: u64) -> Result<Interleaved, AudioError> {
    let reader = hound::WavReader::new(Cursor::new(bytes)).map_err(|e| hound_error(name, e))?;
    let spec = reader.spec();
    let total_frames = u64::from(reader.duration());
    let keep = (total_frames.min(max_frames) * u64::from(spec.channels)) as usize;
    let samples: Result<Vec<f32>, hound::Error> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => reader.into_samples::<f32>().take(keep).collect(),
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            reader
                .into_samples::<i32>()
                .take(keep)
                .map(|s| s.map(|s| s as f32 * scale))
                .collect()
        }
        (format, bits) => {
            return Err(AudioError::unsupported(
                name,
                format!("{bits}-bit {format:?} WAV samples"),
            ))
        }
    };
    Ok(Interleaved {
        samples: samples.map_err(|e| hound_error(name, e))?,
        channels: spec.channels,
        rate: spec.sample_rate,
        total_frames,
        codec: if spec.sample_format == hound::SampleFormat::Float {
            "wav/float"
        } else {
            "wav/pcm"
        },
    })
}

/// Writes mono 16-bit PCM WAV (through `hound`): what the speech benchmark
/// hands every engine, so that each reads the very same samples.
pub fn write_pcm16(samples: &[f32], rate: u32) -> Result<Vec<u8>, String> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::with_capacity(44 + 2 * samples.len()));
    let mut writer = hound::WavWriter::new(&mut out, spec).map_err(|e| e.to_string())?;
    for &s in samples {
        let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        writer.write_sample(v).map_err(|e| e.to_string())?;
    }
    writer.finalize().map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// Writes mono 8-bit mu-law WAV (format tag 7), the way a telephone
/// system stores what the line carried. Used to build fixtures.
pub fn write_mulaw(samples: &[f32], rate: u32) -> Vec<u8> {
    let data: Vec<u8> = samples
        .iter()
        .map(|&s| g711::ulaw_encode((s.clamp(-1.0, 1.0) * 32767.0).round() as i16))
        .collect();
    let mut out = Vec::with_capacity(data.len() + 58);
    let pad = data.len() & 1;
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&((4 + 26 + 12 + 8 + data.len() + pad) as u32).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    // fmt: non-PCM formats carry cbSize (0), 18 bytes in all.
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&18u32.to_le_bytes());
    out.extend_from_slice(&MULAW.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes()); // bytes per second
    out.extend_from_slice(&1u16.to_le_bytes()); // block align
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    // fact: sample count, required for non-PCM formats.
    out.extend_from_slice(b"fact");
    out.extend_from_slice(&4u32.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    if pad == 1 {
        out.push(0);
    }
    out
}
