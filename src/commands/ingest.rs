//! `recueil ingest voicemail|ballots|asterisk`

use crate::config::Settings;
use anyhow::Context;
use chrono::{DateTime, Utc};
use recueil_core::{Channel, Urn};
use recueil_pipeline::intake::{ingest_file, ingest_letter, Arrival};
use recueil_pipeline::relay::relay_pending;
use recueil_store::{Intake, Store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum IngestCommand {
    /// Voicemail recordings (WAV, MP3, FLAC, Ogg, …).
    Voicemail {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The caller's number: stored only as a keyed reference
        /// (needs RECUEIL_CALLER_KEY).
        #[arg(long)]
        caller: Option<String>,
        /// When the message was left (RFC 3339); default: now.
        #[arg(long)]
        received_at: Option<DateTime<Utc>>,
    },
    /// Scanned B1 forms (PNG, JPEG, TIFF, PDF).
    Ballots {
        #[arg(required_unless_present = "watch", conflicts_with = "watch")]
        files: Vec<PathBuf>,
        /// Watch a folder a scanner writes into, until stopped: each file
        /// is taken once complete, then moved to DIR/done/ or to
        /// DIR/failed/ beside a NAME.error.txt; a file in DIR/<urn>/
        /// takes the folder's name as its urn.
        #[arg(long, value_name = "DIR")]
        watch: Option<PathBuf>,
        /// The files are the sheets of one letter, scanned apart, in
        /// reading order: one contribution, the sheets' texts in order
        /// (the files are kept byte for byte in one bundle).
        #[arg(long, conflicts_with = "watch")]
        letter: bool,
        /// The urn the forms were taken from.
        #[arg(long)]
        urn: Option<Urn>,
        /// The scan batch; with --watch, default: the date the file is taken.
        #[arg(long)]
        batch: Option<String>,
        /// When the urn was emptied (RFC 3339); default: now.
        #[arg(long)]
        received_at: Option<DateTime<Utc>>,
        /// With --watch: time between two looks at the folder, e.g. 2s.
        #[arg(
            long,
            default_value = "2s",
            value_name = "DURATION",
            requires = "watch"
        )]
        interval: crate::config::Duration,
        /// With --watch: how long a file must stay unchanged to be taken.
        #[arg(
            long,
            default_value = "5s",
            value_name = "DURATION",
            requires = "watch"
        )]
        settle: crate::config::Duration,
    },
    /// An Asterisk voicemail spool (`<context>/<mailbox>/INBOX/msgNNNN.*`).
    /// Idempotent: safe from cron or Asterisk's externnotify hook.
    Asterisk {
        spool: PathBuf,
        /// Keep watching the spool, looking again every --interval.
        #[arg(long)]
        watch: bool,
        /// Time between two looks at the spool, e.g. 10s.
        #[arg(long, default_value = "10s", value_name = "DURATION")]
        interval: crate::config::Duration,
    },
}

/// What a batch of intake did.
#[derive(Default)]
struct Tally {
    accepted: usize,
    duplicates: usize,
    refused: usize,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        self.refused += other.refused;
    }
}

pub async fn run(command: IngestCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = super::store(settings).await?;
    let tally = match command {
        IngestCommand::Voicemail {
            files,
            caller,
            received_at,
        } => {
            let mut a = Arrival::new(Channel::Voicemail);
            a.received_at = received_at;
            a.caller_ref = caller.map(|c| caller_ref(settings, &c)).transpose()?;
            ingest_files(&store, &files, &a, false).await?
        }
        IngestCommand::Ballots {
            watch: Some(dir),
            urn,
            batch,
            received_at,
            interval,
            settle,
            ..
        } => {
            let folder = recueil_pipeline::scan_folder::FolderSettings {
                urn,
                batch,
                received_at,
                settle: settle.0,
                paginate: Some(crate::engines::scan_pages),
            };
            watch_folder(&store, &dir, folder, interval.0, settings).await?
        }
        IngestCommand::Ballots {
            files,
            letter,
            urn,
            batch,
            received_at,
            ..
        } => {
            let mut a = Arrival::new(Channel::Ballot);
            a.urn = urn;
            a.batch = batch;
            a.received_at = received_at;
            a.paginate = Some(crate::engines::scan_pages);
            if letter {
                let mut tally = Tally::default();
                let outcome =
                    ingest_letter(&store, &files, &a, crate::engines::bundle_letter).await;
                let first = files.first().map(PathBuf::as_path).unwrap_or(Path::new(""));
                let letter = PathBuf::from(format!(
                    "{} (first of a letter of {} sheets)",
                    first.display(),
                    files.len()
                ));
                println!("{}", report(outcome, &letter, &mut tally)?);
                tally
            } else {
                ingest_files(&store, &files, &a, true).await?
            }
        }
        IngestCommand::Asterisk {
            spool,
            watch,
            interval,
        } => {
            if !watch {
                let messages = recueil_pipeline::asterisk::scan(&spool)?;
                ingest_messages(&store, messages, settings).await?
            } else {
                let shutdown = super::shutdown_on_signal();
                let interval = interval.0;
                // Each pass reads only the messages it has not taken yet;
                // the total is what the whole watch did.
                let mut spool = recueil_pipeline::asterisk::SpoolWatch::new(&spool);
                let mut total = Tally::default();
                loop {
                    let t = ingest_messages(&store, spool.pass()?, settings).await?;
                    if t.accepted > 0 {
                        hand_over(&store, settings).await;
                    }
                    total += t;
                    tokio::select! {
                        _ = shutdown.cancelled() => break total,
                        _ = tokio::time::sleep(interval) => {}
                    }
                }
            }
        }
    };
    println!(
        "{} ingested, {} already there, {} refused",
        tally.accepted, tally.duplicates, tally.refused
    );
    hand_over(&store, settings).await;
    Ok(if tally.refused > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn caller_ref(settings: &Settings, number: &str) -> anyhow::Result<String> {
    let key = settings.caller_key.as_ref().context(
        "a caller number needs a caller key (RECUEIL_CALLER_KEY): the number itself is never stored",
    )?;
    Ok(key.reference(number)?)
}

async fn ingest_files(
    store: &Store,
    files: &[PathBuf],
    arrival: &Arrival,
    progress_bar: bool,
) -> anyhow::Result<Tally> {
    let progress = indicatif::ProgressBar::new(files.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {wide_msg}")
            .expect("valid template"),
    );
    if !progress_bar || files.len() < 10 {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut tally = Tally::default();
    for path in files {
        progress.set_message(path.display().to_string());
        let line = ingest_one(store, path, arrival, &mut tally).await?;
        progress.suspend(|| println!("{line}"));
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(tally)
}

async fn ingest_one(
    store: &Store,
    path: &Path,
    arrival: &Arrival,
    tally: &mut Tally,
) -> anyhow::Result<String> {
    report(ingest_file(store, path, arrival).await, path, tally)
}

/// What intake did with one file (or one letter's sheets), as printed.
fn report(
    outcome: Result<Vec<Intake>, recueil_pipeline::intake::IntakeError>,
    path: &Path,
    tally: &mut Tally,
) -> anyhow::Result<String> {
    Ok(match outcome {
        Ok(intakes) => {
            let paged = intakes.len() > 1;
            let lines: Vec<String> = intakes
                .iter()
                .enumerate()
                .map(|(n, intake)| {
                    let page = if paged {
                        format!(" page {}", n + 1)
                    } else {
                        String::new()
                    };
                    match intake {
                        Intake::Accepted(id) => {
                            tally.accepted += 1;
                            format!("{id}  {}{page}", path.display())
                        }
                        Intake::Duplicate(id) => {
                            tally.duplicates += 1;
                            format!("{id}  {}{page}: already ingested, skipped", path.display())
                        }
                    }
                })
                .collect();
            lines.join("\n")
        }
        Err(e) if e.is_bad_input() => {
            tally.refused += 1;
            format!("error: {e}")
        }
        Err(e) => return Err(e).context("intake stopped"),
    })
}

/// `ingest ballots --watch DIR`: until Ctrl-C or SIGTERM, then the totals
/// of the whole watch.
async fn watch_folder(
    store: &Store,
    dir: &Path,
    folder: recueil_pipeline::scan_folder::FolderSettings,
    interval: std::time::Duration,
    settings: &Settings,
) -> anyhow::Result<Tally> {
    use recueil_pipeline::scan_folder::{self, Outcome, ScanFolder};
    let mut folder = ScanFolder::new(dir, folder)?;
    // With a broker, each pass's jobs are handed over at once; without
    // one, they wait in the outbox for `recueil run` or a worker.
    let queue = match &settings.amqp_url {
        Some(url) => match super::queue(settings).await {
            Ok(queue) => Some(queue),
            Err(e) => {
                println!(
                    "broker {} unreachable ({e}); jobs kept in the outbox",
                    super::redact(url)
                );
                None
            }
        },
        None => None,
    };
    let shutdown = super::shutdown_on_signal();
    println!("watching {} (Ctrl-C to stop)", dir.display());
    let totals = scan_folder::watch(
        store,
        &mut folder,
        queue.as_ref(),
        interval,
        &shutdown,
        |outcome| match outcome {
            Outcome::Done {
                file,
                moved_to,
                intakes,
            } => {
                for (n, intake) in intakes.iter().enumerate() {
                    let page = if intakes.len() > 1 {
                        format!(" page {}", n + 1)
                    } else {
                        String::new()
                    };
                    match intake {
                        Intake::Accepted(id) => println!("{id}  {}{page}", file.display()),
                        Intake::Duplicate(id) => {
                            println!("{id}  {}{page}: already ingested, skipped", file.display())
                        }
                    }
                }
                println!("  moved to {}", moved_to.display());
            }
            Outcome::Failed {
                moved_to, reason, ..
            } => println!("error: {reason} (moved to {})", moved_to.display()),
        },
    )
    .await?;
    Ok(Tally {
        accepted: totals.accepted,
        duplicates: totals.duplicates,
        refused: totals.failed,
    })
}

async fn ingest_messages(
    store: &Store,
    messages: Vec<recueil_pipeline::asterisk::SpoolMessage>,
    settings: &Settings,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    for message in messages {
        let mut arrival = Arrival::new(Channel::Voicemail);
        arrival.received_at = message.received_at;
        arrival.batch = Some(match &message.msg_id {
            Some(id) => format!("asterisk:{}:{id}", message.mailbox),
            None => format!("asterisk:{}", message.mailbox),
        });
        arrival.caller_ref = message
            .caller_number
            .as_deref()
            .map(|n| caller_ref(settings, n))
            .transpose()?;
        let line = ingest_one(store, &message.audio, &arrival, &mut tally).await?;
        println!("{line}");
    }
    Ok(tally)
}

/// Hands the jobs to the broker now; if it is down they wait in the outbox
/// for any running worker (or `recueil relay`) to deliver.
async fn hand_over(store: &Store, settings: &Settings) {
    let Some(url) = &settings.amqp_url else {
        println!("jobs kept in the outbox; `recueil run` or a worker will process them");
        return;
    };
    match super::queue(settings).await {
        Ok(queue) => match relay_pending(store, &queue).await {
            Ok(n) => println!("{n} jobs queued on {}", super::redact(url)),
            Err(e) => println!("broker error ({e}); jobs kept in the outbox"),
        },
        Err(e) => println!(
            "broker unreachable ({e}); jobs kept in the outbox until a worker or `recueil relay` delivers them"
        ),
    }
}
