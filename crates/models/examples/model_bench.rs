//! Speed and WER of the installed models on fixtures/real/speech/fleurs-fr,
//! interleaved clip by clip so that background load hits every model alike.
//!
//! ```text
//! cargo run -p recueil-models --example model_bench -- [THREADS] [MODEL...]
//! ```
//! (whisper.cpp itself is built optimised even in a debug build: see the
//! workspace's `[profile.dev.build-override]`.) Run it alone on the machine.

use std::time::Instant;

use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: i32 = args
        .next()
        .map(|t| t.parse().expect("THREADS"))
        .unwrap_or(2);
    let mut names: Vec<String> = args.collect();
    if names.is_empty() {
        names = vec!["base".into(), "base-q8_0".into(), "base-q5_0".into()];
    }
    let dir = recueil_models::resolve_models_dir(
        std::env::var_os("RECUEIL_MODELS_DIR").map(Into::into),
        std::env::var_os("HOME").map(Into::into),
    );
    let data = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/real/speech/fleurs-fr"
    ));
    let tsv = std::fs::read_to_string(data.join("transcripts.tsv")).unwrap();
    let clips: Vec<(Vec<f32>, String)> = tsv
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once('\t'))
        .map(|(f, t)| {
            let r = hound::WavReader::open(data.join(f)).unwrap();
            let s = r
                .into_samples::<i16>()
                .map(|s| s.unwrap() as f32 / 32768.0)
                .collect();
            (s, t.to_string())
        })
        .collect();
    let audio: f64 = clips.iter().map(|c| c.0.len() as f64 / 16000.0).sum();
    let ctxs: Vec<WhisperContext> = names
        .iter()
        .map(|n| {
            let path = recueil_models::resolve_verified(n, &dir).unwrap_or_else(|e| panic!("{e}"));
            let mut cp = WhisperContextParameters::default();
            cp.flash_attn(false);
            WhisperContext::new_with_params(path.to_str().unwrap(), cp).unwrap()
        })
        .collect();
    let mut states: Vec<_> = ctxs.iter().map(|c| c.create_state().unwrap()).collect();
    let mut secs = vec![0f64; names.len()];
    let mut counts = vec![recueil_eval::Counts::default(); names.len()];
    let run = |state: &mut whisper_rs::WhisperState, samples: &[f32]| -> String {
        let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        p.set_language(Some("fr"));
        p.set_n_threads(threads);
        p.set_print_progress(false);
        p.set_print_realtime(false);
        p.set_print_special(false);
        p.set_print_timestamps(false);
        p.set_temperature_inc(0.0);
        state.full(p, samples).unwrap();
        state
            .as_iter()
            .map(|s| s.to_str_lossy().unwrap().into_owned())
            .collect()
    };
    for s in states.iter_mut() {
        run(s, &clips[5].0); // warm-up
    }
    for (samples, reference) in &clips {
        for (i, s) in states.iter_mut().enumerate() {
            let t = Instant::now();
            let text = run(s, samples);
            secs[i] += t.elapsed().as_secs_f64();
            counts[i] += recueil_eval::wer_counts(reference, &text);
        }
    }
    for (i, n) in names.iter().enumerate() {
        println!(
            "{n:<10} WER {:5.1} %  {:6.1} s for {audio:.0} s of audio  RTF {:.3}  ({threads} threads)",
            100.0 * counts[i].rate(),
            secs[i],
            secs[i] / audio
        );
    }
}
