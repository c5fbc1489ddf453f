//! One module per subcommand.

pub mod ballot;
pub mod classify;
pub mod db;
pub mod ingest;
pub mod models;
pub mod queue;
pub mod replay;
pub mod review;
pub mod run;
pub mod serve;
pub mod soak;
pub mod speech;
pub mod status;
pub mod users;
pub mod worker;

use crate::config::Settings;
use anyhow::Context;
use recueil_queue::Queue;
use recueil_store::Store;
use tokio_util::sync::CancellationToken;

pub async fn store(settings: &Settings) -> anyhow::Result<Store> {
    Store::connect(&settings.database_url)
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                redact(&settings.database_url)
            )
        })
}

/// RabbitMQ when a URL is configured, else the in-process queue.
pub async fn queue(settings: &Settings) -> anyhow::Result<Queue> {
    match &settings.amqp_url {
        Some(url) => Ok(Queue::amqp(url, settings.queue.clone()).await?),
        None => Ok(Queue::memory(settings.queue.clone())),
    }
}

pub fn redact(url: &str) -> String {
    recueil_queue::amqp::redact_url(url)
}

/// A token cancelled on Ctrl-C or SIGTERM.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutdown requested: finishing the jobs in hand");
        t.cancel();
    });
    token
}
