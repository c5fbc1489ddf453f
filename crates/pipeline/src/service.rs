//! Long-running workers: one or more channels served from a queue until
//! shutdown, with the outbox relayed beside them. `recueil worker` serves
//! one channel this way; `recueil serve --workers` serves both inside the
//! console's process.

use crate::relay;
use crate::worker::{self, WorkerSettings};
use crate::{Process, Shutdown};
use recueil_queue::{Queue, QueueError};
use recueil_store::{Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How often the relay looks at the outbox when nothing wakes it.
pub const RELAY_POLL: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Serves `processes` (one per channel) from `queue` until `shutdown`.
///
/// The in-process queue starts empty, so every unfinished source of the
/// served channels is queued again first (a restart resumes where the last
/// run stopped); a broker keeps its own messages. The outbox is relayed
/// throughout, so jobs stored while the broker was down reach it as soon as
/// any worker can. `wake` lets intake in the same process (the console's
/// upload) have its jobs relayed at once instead of at the next poll.
pub async fn serve_channels(
    store: Store,
    queue: Queue,
    processes: Vec<Arc<dyn Process>>,
    settings: WorkerSettings,
    wake: Arc<Notify>,
    shutdown: Shutdown,
) -> Result<(), ServiceError> {
    if let Queue::Memory(_) = queue {
        let served: Vec<_> = processes.iter().map(|p| p.channel()).collect();
        for job in store.unfinished().await? {
            if served.contains(&job.channel) {
                queue.publish(&job).await?;
            }
        }
    }
    let relay = tokio::spawn(relay::run(
        store.clone(),
        queue.clone(),
        wake,
        RELAY_POLL,
        shutdown.clone(),
    ));
    let mut workers = worker::spawn_all(&store, &queue, processes, &settings, &shutdown);
    let mut outcome = Ok(());
    while let Some(result) = workers.join_next().await {
        if let Ok(Err(e)) = result {
            // One channel's broker link failed for good: stop the others too.
            shutdown.cancel();
            outcome = Err(e.into());
        }
    }
    shutdown.cancel();
    let _ = relay.await;
    outcome
}
