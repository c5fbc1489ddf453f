//! `recueil replay` and `recueil source`: operators' hands on sources.

use crate::config::Settings;
use recueil_core::SourceId;
use recueil_store::SourceState;
use std::process::ExitCode;

/// Which sources: some by id, or every failed one; nothing named is an
/// error, not a silent "0 of 0".
#[derive(clap::Args)]
#[command(group(
    clap::ArgGroup::new("which")
        .args(["ids", "failed", "stalled"])
        .required(true)
        .multiple(false)
))]
pub struct ReplayArgs {
    /// Sources to requeue.
    ids: Vec<SourceId>,
    /// Requeue every failed source.
    #[arg(long)]
    failed: bool,
    /// Requeue every source still `processing` after this long (e.g. `2h`):
    /// its message was lost, dead-lettered by the broker after workers died
    /// on it. Longer than the longest job (RabbitMQ's consumer timeout,
    /// deploy/rabbitmq.conf: 1 h), so that no source a worker is still on
    /// is taken.
    #[arg(long, value_name = "DURATION")]
    stalled: Option<crate::config::Duration>,
}

#[derive(clap::Args)]
pub struct SourceArgs {
    id: SourceId,
}

pub async fn run(args: ReplayArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = super::store(settings).await?;
    let actor = std::env::var("USER").unwrap_or_else(|_| "operator".into());
    if let Some(crate::config::Duration(age)) = args.stalled {
        let rescued = store
            .requeue_stalled(age, &format!("{actor} (cli)"))
            .await?;
        for id in &rescued {
            println!("requeued {id}");
        }
        println!(
            "{} source(s) processing for more than {} requeued",
            rescued.len(),
            humantime::format_duration(age)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let ids = if args.failed {
        store
            .sources()
            .await?
            .into_iter()
            .filter(|r| r.state == SourceState::Failed)
            .map(|r| r.source.id)
            .collect()
    } else {
        args.ids
    };
    let n = store.replay(&ids, &format!("{actor} (cli)")).await?;
    println!(
        "{n} of {} sources requeued (only failed sources are)",
        ids.len()
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn show(args: SourceArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = super::store(settings).await?;
    let Some(record) = store.source(args.id).await? else {
        anyhow::bail!("no source {}", args.id);
    };
    let s = &record.source;
    println!("source    {}", s.id);
    println!("channel   {}", s.channel);
    println!(
        "file      {} ({} bytes, {})",
        s.original_name, s.size, s.media_type
    );
    println!("sha256    {}", s.sha256);
    println!("received  {}", s.received_at);
    if let Some(urn) = &s.urn {
        println!("urn       {urn}");
    }
    println!(
        "state     {} after {} attempt(s)",
        record.state.as_str(),
        record.attempts
    );
    if let Some(e) = &record.last_error {
        println!("error     {e}");
    }
    if let Some(c) = store.contribution(s.id).await? {
        println!(
            "result    {} questions [{}] confidence {:.2} by {}",
            c.status, c.questions, c.confidence, c.engine
        );
    }
    for (at, kind, message) in store.events(s.id).await? {
        println!("  {at}  {kind:<12} {message}");
    }
    Ok(ExitCode::SUCCESS)
}
