//! `recueil status`: what an operator watches.

use crate::config::Settings;
use std::process::ExitCode;

pub async fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = super::store(settings).await?;
    let counts = store.counts().await?;
    match &settings.amqp_url {
        Some(url) => {
            let queue = super::queue(settings).await?;
            println!("queues on {}:", super::redact(url));
            println!("  {:<32} {:>8} {:>10}", "queue", "ready", "consumers");
            for d in queue.depths().await? {
                println!("  {:<32} {:>8} {:>10}", d.queue, d.ready, d.consumers);
            }
            println!("  (unacknowledged deliveries: the sources 'processing' below)");
        }
        None => println!("queue: in-process (no broker configured)"),
    }
    println!("sources in {}:", super::redact(&settings.database_url));
    println!("  waiting in the outbox  {:>8}", counts.outbox);
    println!("  queued                 {:>8}", counts.queued);
    println!("  processing             {:>8}", counts.processing);
    println!("  retrying               {:>8}", counts.retrying);
    println!("  failed                 {:>8}", counts.failed);
    println!("  done                   {:>8}", counts.done);
    println!("  processed, last hour   {:>8}", counts.processed_last_hour);
    if let Some(oldest) = counts.oldest_unfinished {
        let age = chrono::Utc::now() - oldest;
        println!(
            "  oldest unfinished      stored {} ({} min ago)",
            oldest.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            age.num_minutes()
        );
    }
    Ok(ExitCode::SUCCESS)
}
