//! Downmix, resampling and silence trimming.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Averages the channels of interleaved audio into one.
///
/// Averaging (not summing, and not halving unconditionally as whisper-rs'
/// upstream example does) keeps a mono signal as it is and keeps a stereo
/// signal within [-1, 1].
pub fn downmix(interleaved: &[f32], channels: u16) -> Vec<f32> {
    match channels {
        0 => Vec::new(),
        1 => interleaved.to_vec(),
        n => {
            let n = usize::from(n);
            let scale = 1.0 / n as f32;
            interleaved
                .chunks_exact(n)
                .map(|frame| frame.iter().sum::<f32>() * scale)
                .collect()
        }
    }
}

/// Resamples mono audio from `from` Hz to `to` Hz with rubato's FFT
/// resampler (fixed ratio, band-limited: no aliasing when going down to
/// 8 kHz, no imaging when going up). The output has `len * to / from`
/// samples, rounded up, aligned with the input (the filter delay is removed).
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, String> {
    if from == to || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let mut resampler = Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Both)
        .map_err(|e| format!("cannot resample {from} Hz to {to} Hz: {e}"))?;
    let input = InterleavedSlice::new(samples, 1, samples.len()).map_err(|e| e.to_string())?;
    let output = resampler
        .process_all(&input, samples.len(), None)
        .map_err(|e| format!("resampling {from} Hz to {to} Hz failed: {e}"))?;
    Ok(output.take_data())
}

/// How leading and trailing silence is found.
///
/// The recording is cut into 20 ms frames and each frame's energy (RMS, in
/// dB relative to full scale) is compared with the line's noise floor (the
/// 10th percentile of the frames' energies):
///
/// - every frame under `silence_dbfs`: a silent line, no speech;
/// - no frame `speech_above_noise_db` over the floor (steady line noise,
///   or speech without a pause): kept whole, recognition decides;
/// - otherwise the frames `edge_above_noise_db` over the floor are
///   "active": less than `min_active_s` of them is a click (a hang-up, a
///   key press), not speech; else everything from `margin_s` before the
///   first active frame to `margin_s` after the last one is kept. Nothing
///   in the middle is ever cut.
///
/// The edge threshold is deliberately low (a quiet voice on a noisy line
/// is still active), so trimming errs on keeping too much.
#[derive(Debug, Clone, PartialEq)]
pub struct TrimConfig {
    /// Kept before the first and after the last active frame, so that soft
    /// onsets (`f`, `s`) and word ends are not clipped.
    pub margin_s: f32,
    /// Frames quieter than this are silence whatever the noise floor
    /// (a mu-law line's idle code is near -72 dBFS).
    pub silence_dbfs: f32,
    /// Some frame must stand this far over the floor for trimming to apply.
    pub speech_above_noise_db: f32,
    /// How far over the floor a frame counts as active.
    pub edge_above_noise_db: f32,
    /// Less active time than this is a click, not speech: the shortest
    /// French words ("oui", "non") last longer.
    pub min_active_s: f32,
}

impl Default for TrimConfig {
    fn default() -> Self {
        TrimConfig {
            margin_s: 0.3,
            silence_dbfs: -60.0,
            speech_above_noise_db: 10.0,
            edge_above_noise_db: 4.0,
            min_active_s: 0.15,
        }
    }
}

/// Where speech may be, in a 16 kHz recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// First sample to recognise (margin included).
    pub start: usize,
    /// One past the last sample to recognise (margin included).
    pub end: usize,
    /// From the first to the end of the last active frame, in seconds.
    pub voiced_s: f32,
}

/// Finds the part of a mono recording at `rate` Hz that may hold speech;
/// `None` when it is silent or holds only a click (see [`TrimConfig`]).
pub fn find_speech(samples: &[f32], rate: u32, config: &TrimConfig) -> Option<Span> {
    let frame = (rate as usize / 50).max(1);
    let db: Vec<f32> = samples
        .chunks(frame)
        .map(|c| {
            let energy = c.iter().map(|s| s * s).sum::<f32>() / c.len() as f32;
            10.0 * (energy + 1e-12).log10()
        })
        .collect();
    if db.is_empty() {
        return None;
    }
    let peak = db.iter().copied().fold(f32::MIN, f32::max);
    if peak < config.silence_dbfs {
        return None;
    }
    let mut sorted = db.clone();
    sorted.sort_by(f32::total_cmp);
    let floor = sorted[sorted.len() / 10];
    let frame_s = frame as f32 / rate as f32;
    let (first, last) = if peak < floor + config.speech_above_noise_db {
        (0, db.len() - 1)
    } else {
        let edge = config.silence_dbfs.max(floor + config.edge_above_noise_db);
        let active = db.iter().filter(|&&d| d >= edge).count() as f32 * frame_s;
        if active < config.min_active_s {
            return None;
        }
        (
            db.iter().position(|&d| d >= edge)?,
            db.iter().rposition(|&d| d >= edge)?,
        )
    };
    let margin = (config.margin_s * rate as f32) as usize;
    let start = (first * frame).saturating_sub(margin);
    let end = ((last + 1) * frame + margin).min(samples.len());
    Some(Span {
        start,
        end,
        voiced_s: ((last + 1 - first) as f32 * frame_s).min(samples.len() as f32 / rate as f32),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(seconds: f32, amplitude: f32) -> Vec<f32> {
        (0..(seconds * 16000.0) as usize)
            .map(|i| amplitude * (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 16000.0).sin())
            .collect()
    }

    #[test]
    fn downmix_averages_and_keeps_mono() {
        assert_eq!(downmix(&[0.5, -0.5, 0.25], 1), vec![0.5, -0.5, 0.25]);
        assert_eq!(downmix(&[0.5, 0.5, 1.0, 0.0], 2), vec![0.5, 0.5]);
        assert_eq!(downmix(&[0.3, 0.3, 0.3], 3), vec![0.3f32 * 3.0 / 3.0]);
    }

    #[test]
    fn resampling_keeps_length_and_level() {
        let x = tone(1.0, 0.5);
        let y = resample(&x, 16000, 8000).unwrap();
        assert!((y.len() as i64 - 8000).abs() <= 1, "{}", y.len());
        let z = resample(&y, 8000, 16000).unwrap();
        assert!((z.len() as i64 - 16000).abs() <= 2, "{}", z.len());
        let rms = |v: &[f32]| (v.iter().map(|s| s * s).sum::<f32>() / v.len() as f32).sqrt();
        let (a, b) = (rms(&x[1000..15000]), rms(&z[1000..15000]));
        assert!((a - b).abs() / a < 0.02, "{a} vs {b}");
        // Aligned: no filter delay left.
        let err: f32 = x[1000..15000]
            .iter()
            .zip(&z[1000..15000])
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f32::max);
        assert!(err < 0.05, "max error {err}");
    }

    #[test]
    fn trims_leading_and_trailing_silence_with_margin() {
        let mut x = vec![0.0f32; 16000 * 3];
        x.extend(tone(1.0, 0.3));
        x.extend(vec![0.0f32; 16000 * 2]);
        let span = find_speech(&x, 16000, &TrimConfig::default()).unwrap();
        assert_eq!(span.start, 16000 * 3 - 4800);
        assert_eq!(span.end, 16000 * 4 + 4800);
        assert!((span.voiced_s - 1.0).abs() < 0.03);
    }

    #[test]
    fn silence_and_clicks_are_not_speech() {
        let cfg = TrimConfig::default();
        assert_eq!(find_speech(&[], 16000, &cfg), None);
        assert_eq!(find_speech(&vec![0.0; 16000], 16000, &cfg), None);
        // Dither-level noise (-70 dBFS) is silence.
        let hiss: Vec<f32> = (0..16000)
            .map(|i| if i % 2 == 0 { 3e-4 } else { -3e-4 })
            .collect();
        assert_eq!(find_speech(&hiss, 16000, &cfg), None);
        // A 10 ms click in 0.5 s.
        let mut click = vec![0.0f32; 8000];
        for s in &mut click[4000..4160] {
            *s = 0.8;
        }
        assert_eq!(find_speech(&click, 16000, &cfg), None);
    }

    #[test]
    fn a_quiet_voice_on_a_noisy_line_is_kept() {
        // Noise at -50 dBFS, "syllables" 6 dB over it for 0.4 s in 2 s.
        let mut x: Vec<f32> = (0..32000)
            .map(|i| 0.0045 * ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 1.7)
            .collect();
        for (i, s) in x[12000..18400].iter_mut().enumerate() {
            *s += 0.006 * (i as f32 * 0.2).sin();
        }
        let span = find_speech(&x, 16000, &TrimConfig::default()).expect("kept");
        assert!(span.start <= 12000 && span.end >= 18400, "{span:?}");
    }

    #[test]
    fn steady_signal_is_kept_whole() {
        let x = tone(2.0, 0.1);
        let span = find_speech(&x, 16000, &TrimConfig::default()).unwrap();
        assert_eq!((span.start, span.end), (0, x.len()));
    }
}
