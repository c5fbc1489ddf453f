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
    /// Database maintenance.
    #[command(subcommand)]
    Db(commands::db::DbCommand),
}

fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
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

/// Logs go to stderr; `RECUEIL_LOG` (or `RUST_LOG`) sets the filter.
/// Transcripts and caller data are never logged at info level.
fn init_tracing() {
    let filter = std::env::var("RECUEIL_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
}
