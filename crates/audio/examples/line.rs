//! Builds a voicemail as the 0800 line delivers it: 8 kHz mu-law WAV,
//! 300-3400 Hz, with line noise. Used by `fixtures/voicemail/generate.sh`.
//!
//! ```text
//! cargo run -p recueil-audio --example line -- speech IN.wav OUT.wav [--lead S] [--trail S] [--seed N]
//! cargo run -p recueil-audio --example line -- noise SECONDS OUT.wav [--noise-dbfs DB] [--seed N]
//! cargo run -p recueil-audio --example line -- silence SECONDS OUT.wav
//! cargo run -p recueil-audio --example line -- hangup OUT.wav
//! ```
//!
//! Speech is normalised to a -6 dBFS peak before the line (text-to-speech
//! engines differ by 10 dB), as an automatic gain control would.

use recueil_audio::telephone::{degrade, line_noise, Line, LINE_RATE};
use recueil_audio::{decode, write_mulaw, AudioConfig};
use std::process::ExitCode;

fn flag(args: &[String], name: &str, default: f32) -> Result<f32, String> {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a number")),
        None => Ok(default),
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let seed = flag(args, "--seed", 1.0)? as u64;
    let mut line = Line {
        // Speech is normalised below, on the 16 kHz signal.
        peak_dbfs: None,
        seed,
        ..Line::default()
    };
    let (samples, out) = match args.first().map(String::as_str) {
        Some("speech") => {
            let [_, input, out, ..] = args else {
                return Err("speech IN.wav OUT.wav".into());
            };
            let bytes = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
            let rec =
                decode(&bytes, input, "", &AudioConfig::default()).map_err(|e| e.to_string())?;
            let peak = rec.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            let gain = if peak > 0.0 { 0.5 / peak } else { 1.0 };
            let rate = 16_000.0;
            let lead = (flag(args, "--lead", 0.5)? * rate) as usize;
            let trail = (flag(args, "--trail", 0.5)? * rate) as usize;
            let mut voice = vec![0.0f32; lead];
            voice.extend(rec.samples.iter().map(|s| s * gain));
            voice.extend(std::iter::repeat_n(0.0, trail));
            (degrade(&voice, 16_000, &line)?, out)
        }
        Some("noise") => {
            let [_, seconds, out, ..] = args else {
                return Err("noise SECONDS OUT.wav".into());
            };
            line.noise_dbfs = flag(args, "--noise-dbfs", -45.0)?;
            let s: f32 = seconds.parse().map_err(|_| "SECONDS")?;
            (line_noise(s, &line), out)
        }
        Some("silence") => {
            let [_, seconds, out, ..] = args else {
                return Err("silence SECONDS OUT.wav".into());
            };
            // A quiet digital line: what a caller who says nothing leaves.
            line.noise_dbfs = -72.0;
            line.hum_dbfs = -90.0;
            let s: f32 = seconds.parse().map_err(|_| "SECONDS")?;
            (line_noise(s, &line), out)
        }
        Some("hangup") => {
            let [_, out, ..] = args else {
                return Err("hangup OUT.wav".into());
            };
            // 0.5 s: line noise, and the receiver put down at 0.2 s (a
            // sharp click ringing down over 15 ms).
            let mut x = line_noise(0.5, &line);
            let at = (0.2 * LINE_RATE as f32) as usize;
            for i in 0..120 {
                let decay = (-(i as f32) / 30.0).exp();
                let ring = (i as f32 * 0.9).sin();
                x[at + i] += 0.7 * decay * ring;
            }
            (x, out)
        }
        _ => return Err("usage: line speech|noise|silence|hangup ... (see the source)".into()),
    };
    std::fs::write(out, write_mulaw(&samples, LINE_RATE)).map_err(|e| format!("{out}: {e}"))?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("line: {e}");
            ExitCode::FAILURE
        }
    }
}
