//! The `recueil transcribe` and `recueil eval transcribe` commands, built
//! from the very module the `recueil` binary uses (`src/commands/speech.rs`),
//! so the speech engine can be run and measured from this crate alone:
//!
//! ```text
//! cargo run -p recueil-speech --example cli -- transcribe FILE --json
//! cargo run -p recueil-speech --example cli -- eval ../shared/data/speech/fleurs-fr --telephone
//! ```
//! `RECUEIL_LOG=debug` shows whisper's segments (transcript text included).

#[path = "../../../src/commands/speech.rs"]
mod speech;

use clap::Parser;
use std::process::ExitCode;

#[derive(Parser)]
enum Cli {
    /// Transcribe one recording.
    Transcribe(speech::TranscribeArgs),
    /// Measure on a folder with transcripts.tsv.
    Eval(speech::EvalTranscribeArgs),
}

fn main() -> ExitCode {
    let filter = std::env::var("RECUEIL_LOG").unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse() {
        Cli::Transcribe(a) => speech::run_transcribe(&a),
        Cli::Eval(a) => speech::run_eval_transcribe(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
