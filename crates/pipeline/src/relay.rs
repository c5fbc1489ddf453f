//! The outbox relay: moves jobs from the database to the queue.
//!
//! Intake writes a job into the outbox in the same transaction as its
//! source, so a source is never stored without its job nor queued without
//! being stored. The relay publishes each job, waits for the broker's
//! confirm, then deletes the row. A crash between the two publishes the job
//! again later: harmless, the store keeps one contribution per source.

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
        for (n, entry) in batch.iter().enumerate() {
            if let Err(e) = queue.publish(&entry.job).await {
                // Let the next pass, or another relay, take this job and
                // the rest of the batch at once: left claimed, they would
                // wait out the lease (a minute) after the broker is back.
                for unpublished in &batch[n..] {
                    store.release_outbox(unpublished.id).await?;
                }
                return Err(e.into());
            }
            store.complete_outbox(entry.id).await?;
            metrics::counter!("recueil_outbox_published_total").increment(1);
            published += 1;
        }
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
