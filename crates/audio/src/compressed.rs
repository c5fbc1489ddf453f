//! MP3, Ogg Vorbis and FLAC through `symphonia` (pure Rust, maintained;
//! only these three codecs are compiled in).

use std::io::Cursor;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use crate::error::AudioError;
use crate::Interleaved;

/// Packets that fail to decode are skipped (a damaged frame in an MP3 is
/// a click, not a reason to lose the message); more than this many in a
/// row means the stream is not what it claims to be.
const MAX_CONSECUTIVE_ERRORS: usize = 20;

pub(crate) fn decode(
    bytes: &[u8],
    name: &str,
    extension: &str,
    max_seconds: f64,
) -> Result<Interleaved, AudioError> {
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(extension);
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| {
            AudioError::corrupt(name, format!("cannot read the {extension} stream: {e}"))
        })?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| AudioError::corrupt(name, "no audio track"))?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| AudioError::corrupt(name, "no audio codec parameters"))?
        .clone();
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| AudioError::unsupported(name, e))?;

    let mut samples: Vec<f32> = Vec::new();
    let mut chunk: Vec<f32> = Vec::new();
    let mut channels = 0u16;
    let mut rate = 0u32;
    let mut total_frames = 0u64;
    let mut errors = 0usize;
    let mut max_frames = u64::MAX;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            // A stream cut short ends where the bytes end: what was decoded is kept.
            Err(Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(Error::ResetRequired) => break,
            Err(e) => {
                errors += 1;
                if errors > MAX_CONSECUTIVE_ERRORS {
                    return Err(AudioError::corrupt(name, e));
                }
                continue;
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                errors = 0;
                let spec = buf.spec();
                let ch = spec.channels().count() as u16;
                if channels == 0 {
                    channels = ch;
                    rate = spec.rate();
                    max_frames = (max_seconds * f64::from(rate)).ceil() as u64;
                } else if ch != channels || spec.rate() != rate {
                    return Err(AudioError::unsupported(
                        name,
                        "the channel count or sample rate changes within the stream",
                    ));
                }
                let frames = buf.frames() as u64;
                if total_frames < max_frames {
                    buf.copy_to_vec_interleaved(&mut chunk);
                    let keep = (max_frames - total_frames).min(frames) as usize * usize::from(ch);
                    samples.extend_from_slice(&chunk[..keep.min(chunk.len())]);
                }
                total_frames += frames;
            }
            Err(Error::DecodeError(e)) => {
                errors += 1;
                if errors > MAX_CONSECUTIVE_ERRORS {
                    return Err(AudioError::corrupt(name, e));
                }
            }
            Err(e) => return Err(AudioError::corrupt(name, e)),
        }
    }
    if channels == 0 {
        return Err(AudioError::corrupt(
            name,
            format!("no audio could be decoded from the {extension} stream"),
        ));
    }
    Ok(Interleaved {
        samples,
        channels,
        rate,
        total_frames,
        codec: match extension {
            "mp3" => "mp3",
            "ogg" => "ogg/vorbis",
            "flac" => "flac",
            _ => "compressed",
        },
    })
}
