//! `recueil ingest voicemail|ballots FILE...`

use crate::config::Settings;
use anyhow::Context;
use chrono::{DateTime, Utc};
use recueil_core::{Channel, Urn};
use recueil_pipeline::intake::{ingest_file, Arrival};
use recueil_pipeline::relay::relay_pending;
use recueil_store::Intake;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum IngestCommand {
    /// Voicemail recordings (WAV, MP3, FLAC, Ogg, …).
    Voicemail {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// When the message was left (RFC 3339); default: now.
        #[arg(long)]
        received_at: Option<DateTime<Utc>>,
    },
    /// Scanned B1 forms (PNG, JPEG, TIFF, PDF).
    Ballots {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The urn the forms were taken from.
        #[arg(long)]
        urn: Option<Urn>,
        /// The scan batch.
        #[arg(long)]
        batch: Option<String>,
        /// When the urn was emptied (RFC 3339); default: now.
        #[arg(long)]
        received_at: Option<DateTime<Utc>>,
    },
}

pub async fn run(command: IngestCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let (files, mut arrival) = match command {
        IngestCommand::Voicemail { files, received_at } => {
            let mut a = Arrival::new(Channel::Voicemail);
            a.received_at = received_at;
            (files, a)
        }
        IngestCommand::Ballots {
            files,
            urn,
            batch,
            received_at,
        } => {
            let mut a = Arrival::new(Channel::Ballot);
            a.urn = urn;
            a.batch = batch;
            a.received_at = received_at;
            (files, a)
        }
    };
    let store = super::store(settings).await?;
    let progress = indicatif::ProgressBar::new(files.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .expect("valid template"),
    );
    if files.len() < 10 {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let (mut accepted, mut duplicates, mut bad) = (0, 0, 0);
    for path in &files {
        progress.set_message(path.display().to_string());
        arrival.page = 0;
        match ingest_file(&store, path, &arrival).await {
            Ok(Intake::Accepted(id)) => {
                accepted += 1;
                progress.println(format!("{}  {}", id, path.display()));
            }
            Ok(Intake::Duplicate(id)) => {
                duplicates += 1;
                progress.println(format!(
                    "{}  {}: already ingested, skipped",
                    id,
                    path.display()
                ));
            }
            Err(e) if e.is_bad_input() => {
                bad += 1;
                progress.println(format!("error: {e}"));
            }
            Err(e) => return Err(e).context("intake stopped"),
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    println!("{accepted} ingested, {duplicates} already there, {bad} refused");

    if let Some(url) = &settings.amqp_url {
        // Hand the jobs to the broker now; if it is down they wait in the
        // outbox for any running worker (or `recueil relay`) to deliver.
        match super::queue(settings).await {
            Ok(queue) => match relay_pending(&store, &queue).await {
                Ok(n) => println!("{n} jobs queued on {}", super::redact(url)),
                Err(e) => println!("broker error ({e}); jobs kept in the outbox"),
            },
            Err(e) => println!(
                "broker unreachable ({e}); jobs kept in the outbox until a worker or `recueil relay` delivers them"
            ),
        }
    } else {
        println!("jobs kept in the outbox; `recueil run` or a worker will process them");
    }
    Ok(if bad > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
