//! `recueil`: the command-line entry point. Argument parsing and wiring
//! only; every capability lives in a crate under `crates/` or `workers/`.

mod commands;
mod config;
mod engines;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "recueil",
    version,
    about = "Ingests the voicemails and paper ballots of the Nantes consultation"
)]
struct Cli {
    #[command(flatten)]
    connection: config::Connection,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Store files and queue them for processing.
    #[command(subcommand)]
    Ingest(commands::ingest::IngestCommand),
    /// Serve one channel's queue until stopped (SIGTERM or Ctrl-C).
    Worker(commands::worker::WorkerArgs),
    /// The embedded default: process every voicemail and scan under a
    /// folder in this process, and print the contributions.
    Run(commands::run::RunArgs),
    /// Queue depths and where sources stand.
    Status,
    /// Publish jobs waiting in the outbox (after a broker outage), until stopped.
    Relay(commands::worker::RelayArgs),
    /// Put failed sources back in the queue.
    Replay(commands::replay::ReplayArgs),
    /// One source's record and history.
    Source(commands::replay::SourceArgs),
    /// Speech models: fetch, verify, list.
    Models(commands::models::ModelsArgs),
    /// Transcribe one recording and print what was heard.
    Transcribe(commands::speech::TranscribeArgs),
    /// Read one scanned B1 file (every page) and print what was read.
    ReadBallot(commands::ballot::ReadBallotArgs),
    /// Printable B1 forms, and the generated evaluation set.
    #[command(subcommand)]
    Forms(commands::ballot::FormsCommand),
    /// Speed beside the reference tools.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Which questions a text answers, and why.
    Classify(commands::classify::ClassifyArgs),
    /// Measure an engine on material with ground truth.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Train a model from a committed corpus.
    #[command(subcommand)]
    Train(TrainCommand),
    /// The review workflow: list, show, edit, approve, reject.
    #[command(subcommand)]
    Review(commands::review::ReviewCommand),
    /// Delete originals of old published or rejected contributions.
    Purge(commands::review::PurgeArgs),
    /// Contributions for the platform and the report.
    Export(commands::review::ExportArgs),
    /// Mask personal data in a text.
    Redact(commands::review::RedactArgs),
    /// Database maintenance.
    #[command(subcommand)]
    Db(commands::db::DbCommand),
    /// The web console (review, accounts) on the configured database.
    Serve(commands::serve::ServeArgs),
    /// Accounts of the web console.
    #[command(subcommand)]
    Users(commands::users::UsersCommand),
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Precision, recall and F1 per question on a labelled TSV file.
    Classify(commands::classify::EvalClassifyArgs),
    /// Redaction recall and false masks on annotated sentences.
    Redact(commands::review::EvalRedactArgs),
    /// Word error rate, real-time factor, empty and hallucination counts.
    Transcribe(commands::speech::EvalTranscribeArgs),
    /// Tick accuracy, character error rate per font, review rate.
    Ballots(commands::ballot::EvalBallotsArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Pages per minute beside the tesseract CLI.
    Ballots(commands::ballot::BenchBallotsArgs),
}

#[derive(Subcommand)]
enum TrainCommand {
    /// The question classifier's content model.
    Classifier(commands::classify::TrainClassifierArgs),
}

fn main() -> ExitCode {
    limit_openmp();
    init_tracing();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Commands that need neither database nor broker.
    let offline = match &cli.command {
        Command::Classify(a) => Some(commands::classify::run_classify(a)),
        Command::Eval(EvalCommand::Classify(a)) => Some(commands::classify::run_eval(a)),
        Command::Train(TrainCommand::Classifier(a)) => Some(commands::classify::run_train(a)),
        Command::Redact(a) => Some(commands::review::redact(a)),
        Command::ReadBallot(a) => Some(commands::ballot::run_read_ballot(a)),
        Command::Transcribe(a) => Some(commands::speech::run_transcribe(a)),
        Command::Eval(EvalCommand::Transcribe(a)) => Some(commands::speech::run_eval_transcribe(a)),
        Command::Forms(c) => Some(commands::ballot::run_forms(c)),
        Command::Eval(EvalCommand::Ballots(a)) => Some(commands::ballot::run_eval_ballots(a)),
        Command::Bench(BenchCommand::Ballots(a)) => Some(commands::ballot::run_bench_ballots(a)),
        Command::Eval(EvalCommand::Redact(a)) => Some(commands::review::eval_redact(a)),
        _ => None,
    };
    if let Some(result) = offline {
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let result = runtime.block_on(async {
        let settings = cli.connection.settings()?;
        match cli.command {
            Command::Ingest(c) => commands::ingest::run(c, &settings).await,
            Command::Worker(a) => commands::worker::run(a, &settings).await,
            Command::Run(a) => commands::run::run(a, &settings).await,
            Command::Status => commands::status::run(&settings).await,
            Command::Relay(a) => commands::worker::relay(a, &settings).await,
            Command::Replay(a) => commands::replay::run(a, &settings).await,
            Command::Source(a) => commands::replay::show(a, &settings).await,
            Command::Db(c) => commands::db::run(c, &settings).await,
            Command::Serve(a) => commands::serve::run(a, &settings).await,
            Command::Users(c) => commands::users::run(c, &settings).await,
            Command::Models(a) => commands::models::run(a).await.map(|()| ExitCode::SUCCESS),
            Command::Review(c) => commands::review::review(c, &settings).await,
            Command::Purge(a) => commands::review::purge(a, &settings).await,
            Command::Export(a) => commands::review::export(a, &settings).await,
            Command::Classify(_)
            | Command::Eval(_)
            | Command::Train(_)
            | Command::Redact(_)
            | Command::ReadBallot(_)
            | Command::Transcribe(_)
            | Command::Forms(_)
            | Command::Bench(_) => {
                unreachable!("handled above")
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Debian's tesseract uses OpenMP, whose spinning threads fight over the
/// cores with our own worker threads: measured 2.8x faster with one OpenMP
/// thread. libgomp reads `OMP_THREAD_LIMIT` when it is loaded, before
/// `main`, so the only way to set it from here is to start again with it.
fn limit_openmp() {
    #[cfg(unix)]
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        use std::os::unix::process::CommandExt;
        if let Ok(exe) = std::env::current_exe() {
            let err = std::process::Command::new(exe)
                .args(std::env::args_os().skip(1))
                .env("OMP_THREAD_LIMIT", "1")
                .exec();
            // exec only returns on failure: go on with OpenMP's default.
            eprintln!("warning: could not limit OpenMP threads: {err}");
        }
    }
}

/// Logs go to stderr; `RECUEIL_LOG` (or `RUST_LOG`) sets the filter; whisper.cpp, chatty at info, is kept to warnings by default.
/// Transcripts and caller data are never logged at info level.
fn init_tracing() {
    let filter = std::env::var("RECUEIL_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,whisper_rs=warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
}
