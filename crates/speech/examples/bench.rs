//! Speed and memory of the transcriber beside a bare `whisper_full` call.
//!
//! ```text
//! cargo run --release -p recueil-speech --example bench -- [THREADS] [ROUNDS] [MODEL]...
//! cargo run --release -p recueil-speech --example bench -- 2 3 base base-q8_0
//! ```
//!
//! On the ten FLEURS recordings of fixtures/real/speech/fleurs-fr, clip by
//! clip and interleaved (so that a load change on the machine hits both
//! sides alike):
//!
//! - **transcriber**: `WhisperTranscriber::transcribe_bytes` on the file's
//!   bytes: decoding, resampling, trimming, recognition, guards;
//! - **bare (same input)**: `WhisperState::full` through whisper-rs on the
//!   samples the transcriber handed to whisper (decoded, trimmed), with the
//!   same parameters (`full_params()`), same model, same threads, one
//!   reused state, and nothing around it;
//! - **bare (whole file)**: the same call on the whole decoded file.
//!
//! The ratio transcriber / bare (same input) is the pipeline's own
//! overhead. Each side's time per clip is the fastest of ROUNDS runs. Memory: resident set after loading the model, and after one
//! transcription (model + one decoder state), before the bare side loads
//! its own copy of the model. Never run two measurements at once.

use std::path::PathBuf;
use std::time::Instant;

use recueil_speech::{SpeechConfig, WhisperTranscriber};
use whisper_rs::{WhisperContext, WhisperContextParameters};

fn rss_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let threads: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(2);
    let rounds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let models: Vec<String> = if args.len() > 2 {
        args[2..].to_vec()
    } else {
        vec!["base".to_string()]
    };
    let data = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/real/speech/fleurs-fr"
    ));
    let items = recueil_speech::eval::read_manifest(&data).expect("fixtures/real/speech/fleurs-fr");
    let clips: Vec<(String, Vec<u8>)> = items
        .iter()
        .map(|i| (i.name.clone(), std::fs::read(&i.path).unwrap()))
        .collect();
    let dir = recueil_models::resolve_models_dir(
        std::env::var_os("RECUEIL_MODELS_DIR").map(Into::into),
        std::env::var_os("HOME").map(Into::into),
    );
    let config = SpeechConfig {
        threads,
        ..SpeechConfig::default()
    };
    let load_avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{} clips, {threads} threads, {rounds} rounds; load average at start: {}",
        clips.len(),
        load_avg.trim()
    );
    for name in &models {
        let rss0 = rss_kb("VmRSS:");
        let t = WhisperTranscriber::load(name, &dir, &config).unwrap_or_else(|e| panic!("{e}"));
        let rss_loaded = rss_kb("VmRSS:");
        // Decode each clip once, and find what the transcriber gives whisper.
        let mut inputs = Vec::new();
        for (clip, bytes) in &clips {
            let rec = recueil_audio::decode(bytes, clip, "", &config.audio).unwrap();
            let span =
                recueil_audio::find_speech(&rec.samples, 16_000, &config.audio.trim).unwrap();
            inputs.push((rec.samples[span.start..span.end].to_vec(), rec.samples));
        }
        // Warm-up (allocates the decoder state), then memory of one worker.
        t.transcribe_bytes(&clips[0].1, &clips[0].0, "").unwrap();
        let rss_worker = rss_kb("VmRSS:");
        let path = recueil_models::resolve_verified(name, &dir).unwrap();
        let mut cp = WhisperContextParameters::default();
        cp.flash_attn(config.flash_attn);
        cp.use_gpu(false);
        let bare_ctx = WhisperContext::new_with_params(&path, cp).unwrap();
        let mut state = bare_ctx.create_state().unwrap();
        state
            .full(t.full_params(inputs[0].0.len()), &inputs[0].0)
            .unwrap();

        // Per clip and side, the fastest of the rounds: the usual robust
        // estimate on a machine whose load varies.
        let mut best = vec![[f64::MAX; 3]; clips.len()];
        for _ in 0..rounds {
            for (((clip, bytes), (trimmed, whole)), best) in
                clips.iter().zip(&inputs).zip(best.iter_mut())
            {
                let (mut t_pipe, mut t_same, mut t_whole) = (0.0f64, 0.0f64, 0.0f64);
                let s = Instant::now();
                let tr = t.transcribe_bytes(bytes, clip, "").unwrap();
                t_pipe += s.elapsed().as_secs_f64();
                std::hint::black_box(tr);

                let s = Instant::now();
                state.full(t.full_params(trimmed.len()), trimmed).unwrap();
                let text: String = state
                    .as_iter()
                    .map(|seg| seg.to_str_lossy().unwrap().into_owned())
                    .collect();
                t_same += s.elapsed().as_secs_f64();
                std::hint::black_box(text);

                let s = Instant::now();
                state.full(t.full_params(whole.len()), whole).unwrap();
                let text: String = state
                    .as_iter()
                    .map(|seg| seg.to_str_lossy().unwrap().into_owned())
                    .collect();
                t_whole += s.elapsed().as_secs_f64();
                std::hint::black_box(text);
                best[0] = best[0].min(t_pipe);
                best[1] = best[1].min(t_same);
                best[2] = best[2].min(t_whole);
            }
        }
        let audio: f64 = inputs.iter().map(|(_, w)| w.len() as f64 / 16_000.0).sum();
        let t_pipe: f64 = best.iter().map(|b| b[0]).sum();
        let t_same: f64 = best.iter().map(|b| b[1]).sum();
        let t_whole: f64 = best.iter().map(|b| b[2]).sum();
        let mut ratios: Vec<f64> = best.iter().map(|b| b[0] / b[1]).collect();
        ratios.sort_by(f64::total_cmp);
        println!("model {}:", t.model());
        println!(
            "  transcriber          {:7.2} audio s/s  (RTF {:.3}, {:.1} s)",
            audio / t_pipe,
            t_pipe / audio,
            t_pipe
        );
        println!(
            "  bare whisper_full    {:7.2} audio s/s  (RTF {:.3}, {:.1} s) same input",
            audio / t_same,
            t_same / audio,
            t_same
        );
        println!(
            "  bare whisper_full    {:7.2} audio s/s  (RTF {:.3}, {:.1} s) whole decoded file",
            audio / t_whole,
            t_whole / audio,
            t_whole
        );
        println!(
            "  overhead ratio transcriber/bare: {:.3} (same input), {:.3} (whole file)",
            t_pipe / t_same,
            t_pipe / t_whole
        );
        println!(
            "  per-clip ratio transcriber/bare (same input): median {:.3}, min {:.3}, max {:.3}",
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1]
        );
        println!(
            "  memory: RSS {} MB before, {} MB with the model loaded, {} MB after one transcription (one worker: model + one state)",
            rss0 / 1024,
            rss_loaded / 1024,
            rss_worker / 1024
        );
    }
    println!(
        "peak RSS of this process (both sides): {} MB",
        rss_kb("VmHWM:") / 1024
    );
    println!(
        "load average at end: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}
