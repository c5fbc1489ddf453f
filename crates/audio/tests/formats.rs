//! Every format the 0800 line or an operator may hand us decodes to the
//! same 16 kHz mono signal; every bad file is a clear error naming it.
//!
//! The encoded files are committed under `fixtures/voicemail/formats/`
//! (made by `fixtures/voicemail/generate.sh` with sox and lame from one
//! Pico phrase); the reference is the 16-bit 16 kHz original.

use recueil_audio::{decode, AudioConfig, AudioError, OverLimit, Recording};
use std::path::PathBuf;

fn formats_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/voicemail/formats"
    ))
}

fn load(file: &str) -> Result<Recording, AudioError> {
    let bytes = std::fs::read(formats_dir().join(file)).unwrap();
    decode(&bytes, file, "", &AudioConfig::default())
}

fn rms(v: &[f32]) -> f32 {
    (v.iter().map(|s| s * s).sum::<f32>() / v.len().max(1) as f32).sqrt()
}

fn correlation(a: &[f32], b: &[f32], lag: i64) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &x) in a.iter().enumerate() {
        let j = i as i64 + lag;
        if j < 0 || j as usize >= b.len() {
            continue;
        }
        let y = b[j as usize];
        ab += f64::from(x) * f64::from(y);
        aa += f64::from(x) * f64::from(x);
        bb += f64::from(y) * f64::from(y);
    }
    (ab / (aa.sqrt() * bb.sqrt() + 1e-12)) as f32
}

/// Highest normalised correlation over lags of +-`max_lag` samples (codecs
/// delay): a coarse search every 4 samples, then refined around the best.
fn similarity(a: &[f32], b: &[f32], max_lag: i64) -> f32 {
    let coarse = (-max_lag..=max_lag)
        .step_by(4)
        .map(|lag| (correlation(a, b, lag), lag))
        .fold((f32::MIN, 0), |m, c| if c.0 > m.0 { c } else { m });
    (coarse.1 - 4..=coarse.1 + 4)
        .map(|lag| correlation(a, b, lag))
        .fold(coarse.0, f32::max)
}

fn downsample_telephone(x: &[f32]) -> Vec<f32> {
    // Compare narrowband files with the reference as heard through 8 kHz.
    let narrow = recueil_audio::resample(x, 16000, 8000).unwrap();
    recueil_audio::resample(&narrow, 8000, 16000).unwrap()
}

#[test]
fn every_supported_format_decodes_to_the_reference() {
    let reference = load("reference-pcm16-16000.wav").unwrap();
    assert_eq!(reference.codec, "wav/pcm");
    assert!((reference.duration_s - 1.228).abs() < 0.01);
    let narrow_reference = downsample_telephone(&reference.samples);
    // (file, codec, source rate, channels, minimum similarity)
    let cases = [
        ("pcm8-22050.wav", "wav/pcm", 22050, 1, 0.95),
        ("pcm16-8000.wav", "wav/pcm", 8000, 1, 0.98),
        ("pcm24-44100-stereo.wav", "wav/pcm", 44100, 2, 0.99),
        ("pcm32-48000.wav", "wav/pcm", 48000, 1, 0.99),
        ("float32-16000-stereo.wav", "wav/float", 16000, 2, 0.999),
        ("alaw-8000.wav", "wav/a-law", 8000, 1, 0.98),
        ("mulaw-8000.wav", "wav/mu-law", 8000, 1, 0.98),
        ("phrase.flac", "flac", 16000, 1, 0.999),
        ("phrase.ogg", "ogg/vorbis", 16000, 1, 0.9),
        ("phrase.mp3", "mp3", 16000, 1, 0.8),
    ];
    for (file, codec, rate, channels, min_similarity) in cases {
        let r = load(file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (r.codec, r.source_rate, r.source_channels),
            (codec, rate, channels),
            "{file}"
        );
        assert!(!r.truncated);
        // MP3 pads with encoder delay and a whole last frame.
        let slack = if codec == "mp3" { 0.2 } else { 0.01 };
        assert!(
            (r.duration_s - reference.duration_s).abs() <= slack,
            "{file}: {} s",
            r.duration_s
        );
        let against = if rate == 8000 {
            &narrow_reference
        } else {
            &reference.samples
        };
        // MP3's encoder and decoder delays add up to about 70 ms.
        let max_lag = if codec == "mp3" { 1800 } else { 320 };
        let s = similarity(against, &r.samples, max_lag);
        assert!(s >= min_similarity, "{file}: similarity {s:.3}");
        // Same level: a mono or identical-channel stereo signal is not halved.
        let ratio = rms(&r.samples) / rms(against);
        assert!(
            (0.85..1.15).contains(&ratio),
            "{file}: level ratio {ratio:.3}"
        );
    }
}

#[test]
fn gsm_is_refused_with_the_asterisk_setting() {
    for file in ["wav49-gsm.wav", "asterisk.gsm"] {
        let e = load(file).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, AudioError::Unsupported { .. }), "{file}: {msg}");
        assert!(msg.starts_with(file), "{msg}");
        assert!(
            msg.contains("GSM 6.10") && msg.contains("format=wav"),
            "{msg}"
        );
    }
}

#[test]
fn damaged_and_mislabelled_files_are_clear_errors() {
    let e = load("truncated.wav").unwrap_err();
    assert!(matches!(e, AudioError::Truncated { .. }), "{e}");
    assert!(e.to_string().contains("truncated.wav"), "{e}");
    assert!(e.to_string().contains("announces"), "{e}");

    let e = load("document-pdf.wav").unwrap_err();
    assert_eq!(e.to_string(), "document-pdf.wav: not an audio recording (a PDF document); expected WAV, MP3, Ogg Vorbis or FLAC");

    let cfg = AudioConfig::default();
    let e = decode(b"", "empty.wav", "audio/x-wav", &cfg).unwrap_err();
    assert_eq!(e.to_string(), "empty.wav: the file is empty (0 bytes)");

    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 56) as u8
        })
        .collect();
    let e = decode(&random, "random.wav", "audio/x-wav", &cfg).unwrap_err();
    assert!(e.to_string().starts_with("random.wav: "), "{e}");

    // A header alone, cut anywhere.
    let wav = std::fs::read(formats_dir().join("pcm16-8000.wav")).unwrap();
    for cut in [4, 11, 12, 20, 36, 43] {
        let e = decode(&wav[..cut], "cut.wav", "", &cfg).unwrap_err();
        assert!(
            matches!(e, AudioError::Truncated { .. }),
            "cut at {cut}: {e}"
        );
    }
}

/// A minimal RIFF/WAVE header for 16-bit PCM with a given data size field.
fn wav16(samples: &[i16], channels: u16, rate: u32, data_size: Option<u32>) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * 2 * u32::from(channels)).to_le_bytes());
    v.extend_from_slice(&(2 * channels).to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data_size.unwrap_or(data.len() as u32).to_le_bytes());
    v.extend_from_slice(&data);
    v
}

#[test]
fn stereo_is_averaged_and_mono_kept() {
    let cfg = AudioConfig::default();
    // Left speaks, right is silent: the average is half the left.
    let stereo: Vec<i16> = (0..1600).flat_map(|_| [16000i16, 0]).collect();
    let r = decode(&wav16(&stereo, 2, 16000, None), "s.wav", "", &cfg).unwrap();
    assert_eq!(r.samples.len(), 1600);
    assert!(r
        .samples
        .iter()
        .all(|&s| (s - 16000.0 / 32768.0 / 2.0).abs() < 1e-6));
    let mono = vec![16000i16; 1600];
    let r = decode(&wav16(&mono, 1, 16000, None), "m.wav", "", &cfg).unwrap();
    assert!(r
        .samples
        .iter()
        .all(|&s| (s - 16000.0 / 32768.0).abs() < 1e-6));
}

#[test]
fn an_empty_recording_decodes_to_no_samples() {
    let r = decode(
        &wav16(&[], 1, 8000, None),
        "nothing.wav",
        "",
        &AudioConfig::default(),
    )
    .unwrap();
    assert!(r.samples.is_empty());
    assert_eq!(r.duration_s, 0.0);
}

#[test]
fn a_streamed_wav_without_its_size_reads_to_the_end() {
    let samples = vec![1000i16; 8000];
    let r = decode(
        &wav16(&samples, 1, 8000, Some(u32::MAX)),
        "streamed.wav",
        "",
        &AudioConfig::default(),
    )
    .unwrap();
    assert!((r.duration_s - 1.0).abs() < 1e-6);
}

#[test]
fn over_long_recordings_are_truncated_and_flagged_or_refused() {
    let samples = vec![1000i16; 8000 * 5];
    let bytes = wav16(&samples, 1, 8000, None);
    let mut cfg = AudioConfig {
        max_duration_s: 2.0,
        ..AudioConfig::default()
    };
    let r = decode(&bytes, "long.wav", "", &cfg).unwrap();
    assert!(r.truncated);
    assert_eq!(r.duration_s, 5.0);
    assert_eq!(r.samples.len(), 32000);
    cfg.over_limit = OverLimit::Refuse;
    let e = decode(&bytes, "long.wav", "", &cfg).unwrap_err();
    assert_eq!(
        e.to_string(),
        "long.wav: the recording lasts 5 s, over the 2 s limit (raise the limit to transcribe it)"
    );
    // Compressed streams obey the same limit.
    let flac = std::fs::read(formats_dir().join("phrase.flac")).unwrap();
    cfg.max_duration_s = 0.5;
    cfg.over_limit = OverLimit::Truncate;
    let r = decode(&flac, "phrase.flac", "", &cfg).unwrap();
    assert!(
        r.truncated && r.samples.len() == 8000,
        "{}",
        r.samples.len()
    );
}

#[test]
fn damaged_compressed_files_never_panic() {
    let cfg = AudioConfig::default();
    for file in [
        "phrase.flac",
        "phrase.ogg",
        "phrase.mp3",
        "mulaw-8000.wav",
        "pcm24-44100-stereo.wav",
    ] {
        let good = std::fs::read(formats_dir().join(file)).unwrap();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for round in 0..60 {
            let mut bytes = good.clone();
            if round % 3 == 0 {
                bytes.truncate(bytes.len() * round / 60 + 1);
            } else {
                for _ in 0..(1 + round) {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let at = (state as usize) % bytes.len();
                    bytes[at] = (state >> 32) as u8;
                }
            }
            // Either a recording or an error naming the file; never a panic.
            if let Err(e) = decode(&bytes, file, "", &cfg) {
                assert!(e.to_string().starts_with(file), "{e}");
            }
        }
    }
}
