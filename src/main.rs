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
    /// Configuration file (TOML) [default: ./recueil.toml when present]
    #[arg(long, env = "RECUEIL_CONFIG", global = true)]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// A command's own arguments with the connection flags, for the commands
/// that open the database or the queue (and those only).
#[derive(clap::Args)]
struct Connected<T: clap::Args> {
    #[command(flatten)]
    connection: config::Connection,
    #[command(flatten)]
    args: T,
}

/// A group of subcommands with the connection flags.
#[derive(clap::Args)]
struct ConnectedGroup<T: Subcommand> {
    #[command(flatten)]
    connection: config::Connection,
    #[command(subcommand)]
    command: T,
}

#[derive(clap::Args)]
struct IngestArgs {
    #[command(flatten)]
    connection: config::Connection,
    /// Secret turning caller numbers into keyed references (32+ bytes).
    /// [env: RECUEIL_CALLER_KEY]
    #[arg(long, global = true)]
    caller_key: Option<String>,
    #[command(subcommand)]
    command: commands::ingest::IngestCommand,
}

#[derive(Subcommand)]
enum Command {
    /// Store files and queue them for processing.
    Ingest(IngestArgs),
    /// Serve one channel's queue until stopped (SIGTERM or Ctrl-C).
    Worker(commands::worker::WorkerArgs),
    /// The embedded default: process every voicemail and scan under a
    /// folder in this process, and print the contributions.
    Run(Connected<commands::run::RunArgs>),
    /// Queue depths and where sources stand.
    Status(config::Connection),
    /// The broker topology the workers declare, as RabbitMQ definitions.
    Queue(ConnectedGroup<commands::queue::QueueCommand>),
    /// Publish jobs waiting in the outbox (after a broker outage), until stopped.
    Relay(Connected<commands::worker::RelayArgs>),
    /// Put failed sources back in the queue.
    Replay(Connected<commands::replay::ReplayArgs>),
    /// One source's record and history.
    Source(Connected<commands::replay::SourceArgs>),
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
    Review(ConnectedGroup<commands::review::ReviewCommand>),
    /// Delete originals of old published or rejected contributions.
    Purge(Connected<commands::review::PurgeArgs>),
    /// Contributions for the platform and the report.
    Export(Connected<commands::review::ExportArgs>),
    /// Mask personal data in a text.
    Redact(commands::review::RedactArgs),
    /// Database maintenance.
    Db(ConnectedGroup<commands::db::DbCommand>),
    /// The web console (review, accounts) on the configured database.
    Serve(Connected<commands::serve::ServeArgs>),
    /// Accounts of the web console.
    Users(ConnectedGroup<commands::users::UsersCommand>),
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Precision, recall and F1 per question on a labelled TSV file.
    Classify(commands::classify::EvalClassifyArgs),
    /// Redaction recall and false masks on annotated sentences.
    Redact(commands::review::EvalRedactArgs),
    /// Word error rate, real-time factor, empty and hallucination counts.
    Transcribe(commands::speech::EvalTranscribeArgs),
    /// Write a test set as recueil hands it to whisper, through the
    /// simulated telephone line or not (for other engines to read the same
    /// samples).
    Prepare(commands::speech::EvalPrepareArgs),
    /// WER of another engine's transcripts, by recueil's normalisation.
    Score(commands::speech::EvalScoreArgs),
    /// Tick accuracy, character error rate per font, review rate.
    Ballots(commands::ballot::EvalBallotsArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Pages per minute beside the tesseract CLI.
    Ballots(commands::ballot::BenchBallotsArgs),
    /// The real engines many times over in one process: resident memory
    /// after the warm-up and at the end (growth fails).
    Soak(commands::soak::SoakArgs),
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
    if !matches!(
        cli.command,
        Command::Worker(_) | Command::Relay(_) | Command::Serve(_)
    ) {
        end_quietly_on_closed_pipe();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The file and the environment, read once; each command then resolves
    // the sections it uses, and only those.
    let config = match config::Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    // Commands that need neither database nor broker.
    let offline = match &cli.command {
        Command::Classify(a) => Some(commands::classify::run_classify(a, &config)),
        Command::Eval(EvalCommand::Classify(a)) => Some(commands::classify::run_eval(a, &config)),
        Command::Train(TrainCommand::Classifier(a)) => {
            Some(commands::classify::run_train(a, &config))
        }
        Command::Redact(a) => Some(commands::review::redact(a)),
        Command::ReadBallot(a) => Some(commands::ballot::run_read_ballot(a)),
        Command::Transcribe(a) => Some(commands::speech::run_transcribe(a, &config)),
        Command::Eval(EvalCommand::Transcribe(a)) => {
            Some(commands::speech::run_eval_transcribe(a, &config))
        }
        Command::Eval(EvalCommand::Prepare(a)) => Some(commands::speech::run_eval_prepare(a)),
        Command::Eval(EvalCommand::Score(a)) => Some(commands::speech::run_eval_score(a)),
        Command::Forms(c) => Some(commands::ballot::run_forms(c)),
        Command::Eval(EvalCommand::Ballots(a)) => Some(commands::ballot::run_eval_ballots(a)),
        Command::Bench(BenchCommand::Ballots(a)) => Some(commands::ballot::run_bench_ballots(a)),
        // The engines' settings (models, policy); connects to nothing.
        Command::Bench(BenchCommand::Soak(a)) => Some(
            config
                .settings(&config::Connection::default())
                .and_then(|s| commands::soak::run(a, &s)),
        ),
        Command::Eval(EvalCommand::Redact(a)) => Some(commands::review::eval_redact(a)),
        // Reads the queue settings; connects to nothing.
        Command::Queue(g) => Some(
            config
                .settings(&g.connection)
                .and_then(|s| commands::queue::run(&g.command, &s)),
        ),
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
        match cli.command {
            Command::Ingest(a) => {
                let mut settings = config.settings(&a.connection)?;
                settings.caller_key = config.caller_key(a.caller_key)?;
                commands::ingest::run(a.command, &settings).await
            }
            Command::Worker(a) => commands::worker::run(a, &config).await,
            Command::Run(a) => commands::run::run(a.args, &config.settings(&a.connection)?).await,
            Command::Status(c) => commands::status::run(&config.settings(&c)?).await,
            Command::Relay(a) => {
                commands::worker::relay(a.args, &config.settings(&a.connection)?).await
            }
            Command::Replay(a) => {
                commands::replay::run(a.args, &config.settings(&a.connection)?).await
            }
            Command::Source(a) => {
                commands::replay::show(a.args, &config.settings(&a.connection)?).await
            }
            Command::Db(g) => commands::db::run(g.command, &config.settings(&g.connection)?).await,
            Command::Serve(a) => {
                // The webhook turns caller numbers into references, as ingest does.
                let mut settings = config.settings(&a.connection)?;
                settings.caller_key = config.caller_key(None)?;
                commands::serve::run(a.args, &settings).await
            }
            Command::Users(g) => {
                commands::users::run(g.command, &config.settings(&g.connection)?).await
            }
            Command::Models(a) => commands::models::run(a, config.clone())
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Review(g) => {
                commands::review::review(g.command, &config.settings(&g.connection)?).await
            }
            Command::Purge(a) => {
                commands::review::purge(a.args, &config.settings(&a.connection)?).await
            }
            Command::Export(a) => {
                commands::review::export(a.args, &config.settings(&a.connection)?).await
            }
            Command::Classify(_)
            | Command::Eval(_)
            | Command::Train(_)
            | Command::Redact(_)
            | Command::ReadBallot(_)
            | Command::Transcribe(_)
            | Command::Forms(_)
            | Command::Queue(_)
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

/// `recueil export … | head`: once the reader is gone, end as Unix tools
/// do, killed quietly by SIGPIPE, instead of panicking in `println!` (Rust
/// ignores SIGPIPE, so every write fails with EPIPE). The services (worker,
/// relay) keep ignoring it: a lost log stream must not interrupt a job in
/// hand, and they write through tracing, which drops what it cannot write.
fn end_quietly_on_closed_pipe() {
    // SAFETY: restores the default disposition of one signal, before any
    // thread of ours exists; no handler of ours is involved.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
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
