//! `recueil review`, `recueil purge`, `recueil export`, `recueil redact`:
//! the publication rules as operators use them.

use crate::config::Settings;
use anyhow::Context;
use chrono::{DateTime, Datelike, Utc};
use recueil_core::{Contribution, QuestionSet, SourceId, Status};
use recueil_store::{Filter, Rejection, ReviewChange};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum ReviewCommand {
    /// Contributions waiting for a person (or another status).
    List {
        #[arg(long, default_value = "needs_review")]
        status: Status,
    },
    /// One contribution beside its original; `--original FILE` saves the
    /// recording or scan to listen to or look at.
    Show {
        id: SourceId,
        #[arg(long)]
        original: Option<PathBuf>,
        /// Save the image kept for review (a scan's free-text area, PNG).
        #[arg(long)]
        crop: Option<PathBuf>,
    },
    /// Correct the publishable text and/or the questions.
    Edit {
        id: SourceId,
        #[arg(long)]
        text: Option<String>,
        /// e.g. `1,3`
        #[arg(long)]
        questions: Option<String>,
        #[command(flatten)]
        reviewer: Reviewer,
    },
    /// Publish it.
    Approve {
        id: SourceId,
        #[command(flatten)]
        reviewer: Reviewer,
    },
    /// Do not publish it, with a reason: not_a_contribution, off_topic,
    /// abusive, duplicate, unreadable.
    Reject {
        id: SourceId,
        #[arg(long)]
        reason: Rejection,
        #[command(flatten)]
        reviewer: Reviewer,
    },
}

#[derive(clap::Args)]
pub struct Reviewer {
    /// Who decides (recorded in the audit trail).
    #[arg(long, env = "RECUEIL_REVIEWER")]
    reviewer: Option<String>,
}

impl Reviewer {
    fn name(&self) -> anyhow::Result<String> {
        self.reviewer
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .context("who is reviewing? set --reviewer or RECUEIL_REVIEWER")
    }
}

pub async fn review(command: ReviewCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = super::store(settings).await?;
    match command {
        ReviewCommand::List { status } => {
            let list = store
                .select(&Filter {
                    status: Some(status),
                    since: None,
                })
                .await?;
            for c in &list {
                println!(
                    "{}  {:<9} {:<9} {:>4.2}  {}",
                    c.source_id,
                    c.channel,
                    c.questions.to_string(),
                    c.confidence,
                    c.text.chars().take(70).collect::<String>()
                );
            }
            println!("{} {status}", list.len());
        }
        ReviewCommand::Show { id, original, crop } => {
            let c = store
                .contribution(id)
                .await?
                .with_context(|| format!("no contribution for {id}"))?;
            let record = store.source(id).await?.context("source vanished")?;
            let s = &record.source;
            println!("source      {id} ({}, {})", s.channel, s.original_name);
            println!(
                "original    {} bytes {} sha256 {}{}",
                s.size,
                s.media_type,
                s.sha256,
                if s.page > 0 {
                    format!(" page {}", s.page)
                } else {
                    String::new()
                }
            );
            println!(
                "status      {}  questions [{}]  confidence {:.2}{}",
                c.status,
                c.questions,
                c.confidence,
                if c.late { "  LATE" } else { "" }
            );
            for e in &c.evidence {
                println!("evidence    q{} {:?}: {}", e.question, e.kind, e.cue);
            }
            println!("publishable {}", c.text);
            println!("read        {}", c.raw_text);
            for m in &c.redactions {
                println!("masked      {} at {}..{}", m.kind, m.start, m.end);
            }
            if let Some(path) = original {
                let bytes = store
                    .original(&s.sha256)
                    .await?
                    .context("the original was purged")?;
                std::fs::write(&path, bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                println!("original saved to {}", path.display());
            }
            match store.review_image(id).await? {
                Some(png) => {
                    println!("crop        {} bytes kept for review", png.len());
                    if let Some(path) = crop {
                        std::fs::write(&path, png)
                            .with_context(|| format!("cannot write {}", path.display()))?;
                        println!("crop saved to {}", path.display());
                    }
                }
                None if crop.is_some() => anyhow::bail!("no image kept for {id}"),
                None => {}
            }
            for e in store.audit(id).await? {
                println!(
                    "audit       {} {} {} -> {}",
                    recueil_store::format_ts(e.at),
                    e.actor,
                    e.action,
                    e.after
                );
            }
        }
        ReviewCommand::Edit {
            id,
            text,
            questions,
            reviewer,
        } => {
            let questions = questions
                .map(|q| QuestionSet::parse_list(&q))
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let c = store
                .review(
                    id,
                    &reviewer.name()?,
                    ReviewChange::Edit {
                        text: text.as_deref().map(recueil_pipeline::edited_text),
                        questions,
                    },
                )
                .await?;
            println!("{id} edited: [{}] {}", c.questions, c.text);
        }
        ReviewCommand::Approve { id, reviewer } => {
            store
                .review(id, &reviewer.name()?, ReviewChange::Approve)
                .await?;
            println!("{id} published");
        }
        ReviewCommand::Reject {
            id,
            reason,
            reviewer,
        } => {
            store
                .review(id, &reviewer.name()?, ReviewChange::Reject(reason))
                .await?;
            println!("{id} rejected ({})", reason.as_str());
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct PurgeArgs {
    /// Age of the contributions whose originals go, e.g. `90d`, `12w`, `6m`.
    #[arg(long)]
    older_than: Age,
    /// Say what would go, delete nothing.
    #[arg(long)]
    dry_run: bool,
}

/// A retention period: a number of days (`d`), weeks (`w`) or 30-day months (`m`).
#[derive(Debug, Clone, Copy)]
pub struct Age(chrono::Duration);

impl std::str::FromStr for Age {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (n, unit) = s.split_at(s.len().saturating_sub(1));
        let n: i64 = n
            .parse()
            .map_err(|_| format!("{s:?}: expected e.g. 90d, 12w, 6m"))?;
        let days = match unit {
            "d" => n,
            "w" => n * 7,
            "m" => n * 30,
            _ => return Err(format!("{s:?}: unit must be d, w or m")),
        };
        Ok(Age(chrono::Duration::days(days)))
    }
}

pub async fn purge(args: PurgeArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = super::store(settings).await?;
    let cutoff = Utc::now() - args.older_than.0;
    let report = store.purge(cutoff, args.dry_run).await?;
    println!(
        "{} {} originals ({} bytes) of {} sources processed before {}",
        if args.dry_run {
            "would delete"
        } else {
            "deleted"
        },
        report.originals,
        report.bytes,
        report.sources,
        cutoff.format("%Y-%m-%d %H:%M UTC")
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Jsonl,
    /// CSV for Decidim's proposal import (title/fr, body/fr, …).
    Decidim,
    /// Counts by question × channel × site × ISO week, as CSV.
    Counts,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Only this status (default: published).
    #[arg(long, default_value = "published")]
    status: Status,
    /// Only contributions received since (RFC 3339).
    #[arg(long)]
    since: Option<DateTime<Utc>>,
    /// Write here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub async fn export(args: ExportArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = super::store(settings).await?;
    let rows = store
        .select(&Filter {
            status: Some(args.status),
            since: args.since,
        })
        .await?;
    let mut out: Box<dyn Write> = match &args.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    match args.format {
        Format::Json => serde_json::to_writer_pretty(&mut out, &public_rows(&rows))?,
        Format::Jsonl => {
            for r in public_rows(&rows) {
                serde_json::to_writer(&mut out, &r)?;
                writeln!(out)?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            for r in public_rows(&rows) {
                w.serialize(r)?;
            }
            w.flush()?;
        }
        Format::Decidim => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "id",
                "title/fr",
                "body/fr",
                "scope/id",
                "address",
                "latitude",
                "longitude",
            ])?;
            for c in &rows {
                w.write_record([
                    c.source_id.to_string(),
                    decidim_title(c),
                    c.text.clone(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ])?;
            }
            w.flush()?;
        }
        Format::Counts => {
            let mut counts: BTreeMap<(String, String, String, String), u64> = BTreeMap::new();
            for c in &rows {
                let week = c.received_at.iso_week();
                let week = format!("{}-W{:02}", week.year(), week.week());
                let site = c.urn.as_ref().map_or("-".to_owned(), |u| u.to_string());
                let questions: Vec<String> = if c.questions.is_empty() {
                    vec!["none".into()]
                } else {
                    c.questions.iter().map(|q| q.to_string()).collect()
                };
                for q in questions {
                    *counts
                        .entry((q, c.channel.to_string(), site.clone(), week.clone()))
                        .or_default() += 1;
                }
            }
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(["question", "channel", "site", "week", "contributions"])?;
            for ((q, ch, site, week), n) in counts {
                w.write_record([q, ch, site, week, n.to_string()])?;
            }
            w.flush()?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// What leaves recueil: never the raw text, the caller reference nor the
/// file name.
#[derive(serde::Serialize)]
struct PublicRow {
    id: String,
    channel: String,
    questions: String,
    text: String,
    site: String,
    received_at: String,
    processed_at: String,
    status: String,
    late: bool,
}

fn public_rows(rows: &[Contribution]) -> Vec<PublicRow> {
    rows.iter()
        .map(|c| PublicRow {
            id: c.source_id.to_string(),
            channel: c.channel.to_string(),
            questions: c.questions.to_string(),
            text: c.text.clone(),
            site: c.urn.as_ref().map(|u| u.to_string()).unwrap_or_default(),
            received_at: c.received_at.to_rfc3339(),
            processed_at: c.processed_at.to_rfc3339(),
            status: c.status.to_string(),
            late: c.late,
        })
        .collect()
}

/// Decidim wants a title: the channel, the date and the questions.
fn decidim_title(c: &Contribution) -> String {
    let channel = match c.channel {
        recueil_core::Channel::Voicemail => "Message vocal",
        recueil_core::Channel::Ballot => "Bulletin papier",
    };
    let questions = match c.questions.len() {
        0 => String::new(),
        1 => format!(" – question {}", c.questions),
        _ => format!(
            " – questions {}",
            c.questions.to_string().replace(',', ", ")
        ),
    };
    format!(
        "{channel} du {}{questions}",
        c.received_at.format("%d/%m/%Y")
    )
}

#[derive(clap::Args)]
pub struct RedactArgs {
    /// The text, or `-` (or nothing) to read standard input.
    text: Option<String>,
    #[arg(long)]
    json: bool,
}

pub fn redact(args: &RedactArgs) -> anyhow::Result<()> {
    let text = match args.text.as_deref() {
        None | Some("-") => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        }
        Some(t) => t.to_owned(),
    };
    let r = recueil_privacy::redact(&text);
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!("{}", r.text);
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct EvalRedactArgs {
    /// Annotated sentences (`fixtures/redaction/sentences.tsv`).
    file: PathBuf,
}

pub fn eval_redact(args: &EvalRedactArgs) -> anyhow::Result<()> {
    let tsv = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let examples = recueil_privacy::redact::parse_examples(&tsv).map_err(anyhow::Error::msg)?;
    let report = recueil_privacy::redact::evaluate(&examples);
    println!("sentences      {}", report.sentences);
    println!(
        "recall         {:.3} ({} of {} personal data spans masked)",
        report.recall(),
        report.found,
        report.expected
    );
    println!("false masks    {}", report.false_masks);
    for m in &report.misses {
        println!("  missed  {m}");
    }
    for o in &report.over {
        println!("  over    {o}");
    }
    Ok(())
}
