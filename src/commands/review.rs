//! `recueil review`, `recueil purge`, `recueil export`, `recueil redact`:
//! the publication rules as operators use them. What an export writes is
//! the `recueil-export` crate's; this module only reads the rows and picks
//! the output.

use crate::config::Settings;
use anyhow::Context;
use chrono::{DateTime, Utc};
use recueil_core::{QuestionSet, SourceId, Status};
use recueil_store::{Filter, Rejection, ReviewChange};
use std::io::Read;
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
                    ..Filter::default()
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
    /// Age of the contributions whose originals go, e.g. `90d`, `12w`
    /// (at least one day).
    #[arg(long, value_name = "DURATION", value_parser = retention)]
    older_than: std::time::Duration,
    /// Say what would go, delete nothing.
    #[arg(long)]
    dry_run: bool,
}

/// A retention period in the one duration syntax, at least a day: `6m` is
/// six *minutes* in that syntax, and a purge of everything older than six
/// minutes is never what an operator meant.
fn retention(s: &str) -> Result<std::time::Duration, String> {
    let d = s.parse::<crate::config::Duration>()?.0;
    if d < std::time::Duration::from_secs(86_400) {
        return Err(format!(
            "{s:?} is less than a day; a retention is counted in days or weeks (90d, 12w)"
        ));
    }
    Ok(d)
}

pub async fn purge(args: PurgeArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = super::store(settings).await?;
    let age = chrono::Duration::from_std(args.older_than).context("--older-than is too long")?;
    let cutoff = Utc::now() - age;
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

impl From<Format> for recueil_export::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Csv => recueil_export::Format::Csv,
            Format::Json => recueil_export::Format::Json,
            Format::Jsonl => recueil_export::Format::Jsonl,
            Format::Decidim => recueil_export::Format::Decidim,
            Format::Counts => recueil_export::Format::Counts,
        }
    }
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
            ..Filter::default()
        })
        .await?;
    let written = match &args.out {
        Some(p) => {
            let file = std::fs::File::create(p)
                .with_context(|| format!("cannot create {}", p.display()))?;
            recueil_export::write(args.format.into(), &rows, std::io::BufWriter::new(file))
                .with_context(|| format!("cannot write {}", p.display()))
        }
        None => match recueil_export::write(args.format.into(), &rows, std::io::stdout().lock()) {
            // `recueil export | head`: the reader has what it wanted.
            Err(e) if e.is_broken_pipe() => Ok(()),
            other => other.map_err(Into::into),
        },
    };
    written?;
    Ok(ExitCode::SUCCESS)
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
