//! A simulated telephone line: what the 0800 number does to a voice.
//!
//! Used to measure recognition at telephone quality on recordings made
//! with a good microphone, and to build the voicemail fixtures. The chain
//! follows a narrowband PSTN call: band-limited resampling to 8 kHz, the
//! 300-3400 Hz voice band (two 2nd-order Butterworth sections each side),
//! line noise (white noise plus 50 Hz hum) and G.711 mu-law coding.

use crate::{dsp, g711};

/// The sample rate of a narrowband telephone line.
pub const LINE_RATE: u32 = 8000;

/// How loud the caller is and how noisy the simulated line is.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The voice is brought to this peak level first, as a handset and the
    /// network's level control would (recordings made for other purposes
    /// can be 40 dB quieter than a phone call). `None` keeps the level.
    pub peak_dbfs: Option<f32>,
    /// RMS level of the white noise, dB relative to full scale.
    pub noise_dbfs: f32,
    /// Level of the mains hum, dB relative to full scale.
    pub hum_dbfs: f32,
    /// Seed of the noise generator: the same seed gives the same bytes.
    pub seed: u64,
}

impl Default for Line {
    /// About the idle noise of a poor analogue subscriber line (-50 dBFS).
    fn default() -> Self {
        Line {
            peak_dbfs: Some(-6.0),
            noise_dbfs: -50.0,
            hum_dbfs: -60.0,
            seed: 0x0800_0073_2335,
        }
    }
}

/// A deterministic noise source (xorshift64*), so fixtures rebuild identically.
pub(crate) struct Noise(u64);

impl Noise {
    pub(crate) fn new(seed: u64) -> Noise {
        Noise(seed.max(1))
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [-1, 1).
    fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// Approximately normal, unit variance (sum of four uniforms).
    pub(crate) fn gaussian(&mut self) -> f32 {
        let s: f32 = (0..4).map(|_| self.uniform()).sum();
        s * (3.0f32 / 4.0).sqrt()
    }
}

struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    z: [f32; 2],
}

impl Biquad {
    /// RBJ cookbook Butterworth (Q = 1/sqrt 2) low- or high-pass.
    fn new(rate: f32, cutoff: f32, high_pass: bool) -> Biquad {
        let w0 = 2.0 * std::f32::consts::PI * cutoff / rate;
        let (sin, cos) = w0.sin_cos();
        let alpha = sin / (2.0 * std::f32::consts::FRAC_1_SQRT_2);
        let a0 = 1.0 + alpha;
        let b = if high_pass {
            [(1.0 + cos) / 2.0, -(1.0 + cos), (1.0 + cos) / 2.0]
        } else {
            [(1.0 - cos) / 2.0, 1.0 - cos, (1.0 - cos) / 2.0]
        };
        Biquad {
            b: b.map(|x| x / a0),
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
            z: [0.0; 2],
        }
    }

    /// Transposed direct form II.
    fn run(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.z[0];
        self.z[0] = self.b[1] * x - self.a[0] * y + self.z[1];
        self.z[1] = self.b[2] * x - self.a[1] * y;
        y
    }
}

/// Sends mono audio at `rate` Hz down the simulated line; returns what
/// reaches the voicemail system: 8 kHz samples, already mu-law quantised
/// (see [`to_mulaw`] for the bytes).
pub fn degrade(samples: &[f32], rate: u32, line: &Line) -> Result<Vec<f32>, String> {
    let mut narrow = dsp::resample(samples, rate, LINE_RATE)?;
    let peak = narrow.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    if let (Some(target), true) = (line.peak_dbfs, peak > 1e-6) {
        let gain = 10f32.powf(target / 20.0) / peak;
        narrow.iter_mut().for_each(|s| *s *= gain);
    }
    let fs = LINE_RATE as f32;
    let mut filters = [
        Biquad::new(fs, 300.0, true),
        Biquad::new(fs, 300.0, true),
        Biquad::new(fs, 3400.0, false),
        Biquad::new(fs, 3400.0, false),
    ];
    let mut noise = Noise::new(line.seed);
    let noise_amp = 10f32.powf(line.noise_dbfs / 20.0);
    let hum_amp = 10f32.powf(line.hum_dbfs / 20.0) * std::f32::consts::SQRT_2;
    Ok(narrow
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let voice = filters.iter_mut().fold(x, |v, f| f.run(v));
            let hum = hum_amp * (2.0 * std::f32::consts::PI * 50.0 * i as f32 / fs).sin();
            let y = voice + noise_amp * noise.gaussian() + hum;
            f32::from(g711::ulaw_decode(to_ulaw(y))) / 32768.0
        })
        .collect())
}

fn to_ulaw(x: f32) -> u8 {
    g711::ulaw_encode((x.clamp(-1.0, 1.0) * 32767.0).round() as i16)
}

/// Line noise alone, as heard when a caller says nothing: `seconds` at 8 kHz.
pub fn line_noise(seconds: f32, line: &Line) -> Vec<f32> {
    let silence = vec![0.0f32; (seconds * LINE_RATE as f32) as usize];
    degrade(&silence, LINE_RATE, line).unwrap_or(silence)
}

/// Mu-law bytes of 8 kHz samples (a `.ul` stream, the body of a mu-law WAV).
pub fn to_mulaw(samples: &[f32]) -> Vec<u8> {
    samples.iter().map(|&x| to_ulaw(x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, rate: u32, seconds: f32) -> Vec<f32> {
        (0..(seconds * rate as f32) as usize)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    fn rms(v: &[f32]) -> f32 {
        (v.iter().map(|s| s * s).sum::<f32>() / v.len() as f32).sqrt()
    }

    #[test]
    fn keeps_the_voice_band_and_cuts_the_rest() {
        let quiet = Line {
            peak_dbfs: None,
            noise_dbfs: -120.0,
            hum_dbfs: -120.0,
            seed: 1,
        };
        let pass = degrade(&tone(1000.0, 16000, 1.0), 16000, &quiet).unwrap();
        assert_eq!(pass.len(), 8000);
        assert!((rms(&pass[800..]) / rms(&tone(1000.0, 16000, 0.5)) - 1.0).abs() < 0.1);
        let low = degrade(&tone(100.0, 16000, 1.0), 16000, &quiet).unwrap();
        assert!(
            rms(&low[800..]) < 0.05 * 0.35,
            "100 Hz at {}",
            rms(&low[800..])
        );
        let high = degrade(&tone(5000.0, 16000, 1.0), 16000, &quiet).unwrap();
        assert!(rms(&high[800..]) < 0.01, "5 kHz at {}", rms(&high[800..]));
    }

    #[test]
    fn line_noise_is_at_its_level_and_reproducible() {
        let line = Line::default();
        let a = line_noise(2.0, &line);
        assert_eq!(a, line_noise(2.0, &line));
        let db = 20.0 * rms(&a).log10();
        assert!((-56.0..-44.0).contains(&db), "{db} dBFS");
    }
}
