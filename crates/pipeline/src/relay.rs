//! The outbox relay: moves jobs from the database to the queue.
//!
//! Intake writes a job into the outbox in the same transaction as its
//! source, so a source is never stored without its job nor queued without
//! being stored. The relay publishes a batch of jobs, waits for the
//! broker's confirms, then deletes the rows. A crash between the two
//! publishes the jobs again later: harmless, the store keeps one
//! contribution per source.

use crate::Shutdown;
use recueil_queue::{Queue, QueueError};
use recueil_store::{Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long a relay owns the rows it claimed before another may take them.
const LEASE: Duration = Duration::from_secs(60);
const BATCH: u32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Publishes what the outbox holds, until it is empty or the broker fails.
/// Returns how many jobs were published.
pub async fn relay_pending(store: &Store, queue: &Queue) -> Result<usize, RelayError> {
    let mut published = 0;
    loop {
        let batch = store.claim_outbox(BATCH, LEASE).await?;
        if batch.is_empty() {
            return Ok(published);
        }
        // The whole batch in one go: its confirms awaited together, its
        // rows deleted in one statement (one round trip each, not one per
        // job: the relay was the pipeline's bottleneck, benches/pipeline.rs).
        let jobs: Vec<_> = batch.iter().map(|e| e.job.clone()).collect();
        let ids: Vec<i64> = batch.iter().map(|e| e.id).collect();
        if let Err(e) = queue.publish_all(&jobs).await {
            // Let the next pass, or another relay, take the batch at once:
            // left claimed, it would wait out the lease (a minute) after
            // the broker is back. Jobs of it that did reach the broker are
            // published again then: harmless.
            store.release_outbox(&ids).await?;
            return Err(e.into());
        }
        store.complete_outbox(&ids).await?;
        metrics::counter!("recueil_outbox_published_total").increment(ids.len() as u64);
        published += ids.len();
    }
}

/// Runs the relay until shutdown: on `wake` (intake in this process) and
/// every `poll` (intake elsewhere, or a broker that came back).
pub async fn run(
    store: Store,
    queue: Queue,
    wake: Arc<Notify>,
    poll: Duration,
    shutdown: Shutdown,
) {
    let mut backoff = poll;
    loop {
        let wait = match relay_pending(&store, &queue).await {
            Ok(n) => {
                if n > 0 {
                    tracing::debug!(published = n, "outbox relayed");
                }
                backoff = poll;
                poll
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "outbox relay failed; jobs stay in the outbox");
                let wait = backoff;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                wait
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
