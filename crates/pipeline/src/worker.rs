//! The worker loop: one delivery at a time per consumer, acknowledged only
//! after the database commit.
//!
//! ```text
//! delivery ─ parse job ──────────── malformed/foreign ─> dead-letter
//!          ─ begin attempt ──────── already done ──────> ack (redelivery)
//!          ─ load source + bytes
//!          ─ Process (blocking) ─── Ok ─> store contribution ─> ack
//!                                   transient ─> record, retry later (until max attempts)
//!                                   permanent / panic ─> record, dead-letter
//! store unreachable at any step ──────────────────────> retry later, attempt not
//!                                                        counted; the consumer backs off
//! ```
//!
//! A fault of the database (restarted, read-only, unreachable) is not the
//! job's: it never uses up one of the job's attempts nor sends it to the
//! dead letters, and the consumer waits longer after each such fault so
//! that a thousand queued jobs do not spin through the retry queue while
//! the database is away.
//!
//! A worker killed anywhere in this sequence leaves the message
//! unacknowledged: the broker redelivers it, `begin_attempt` counts the
//! attempt, and after the delivery limit the broker dead-letters it. The
//! source's record says why in each case.

use crate::{Process, Shutdown};
use recueil_core::{Failure, Job};
use recueil_queue::{Delivery, Queue};
use recueil_store::{Attempt, Store};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Jobs processed at once by this worker (one consumer each).
    pub concurrency: usize,
    /// Attempts (delayed retries included) before a transient failure is final.
    pub max_attempts: u32,
    /// At shutdown, how long the job in hand may take to finish before it
    /// is handed back to the queue.
    pub shutdown_grace: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            concurrency: 1,
            max_attempts: 5,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// One [`run`] per process (channel), each on its own task, until `shutdown`.
pub fn spawn_all(
    store: &Store,
    queue: &Queue,
    processes: Vec<Arc<dyn Process>>,
    settings: &WorkerSettings,
    shutdown: &Shutdown,
) -> tokio::task::JoinSet<Result<(), recueil_queue::QueueError>> {
    let mut workers = tokio::task::JoinSet::new();
    for process in processes {
        workers.spawn(run(
            store.clone(),
            queue.clone(),
            process,
            settings.clone(),
            shutdown.clone(),
        ));
    }
    workers
}

/// Serves a channel's queue until `shutdown`, then returns once every job in
/// hand is finished or handed back.
pub async fn run(
    store: Store,
    queue: Queue,
    process: Arc<dyn Process>,
    settings: WorkerSettings,
    shutdown: Shutdown,
) -> Result<(), recueil_queue::QueueError> {
    let channel = process.channel();
    // Subscribe every consumer before starting any, so that a broker that
    // is unreachable at start-up is reported rather than half-served.
    let mut consumers = Vec::new();
    for _ in 0..settings.concurrency.max(1) {
        consumers.push(queue.consume(channel).await?);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (n, consumer) in consumers.into_iter().enumerate() {
        let worker = Worker {
            store: store.clone(),
            process: process.clone(),
            settings: settings.clone(),
        };
        let shutdown = shutdown.clone();
        tasks.spawn(
            worker
                .serve(consumer, shutdown)
                .instrument(tracing::info_span!("consumer", %channel, n)),
        );
    }
    tracing::info!(%channel, consumers = settings.concurrency, "worker started");
    while tasks.join_next().await.is_some() {}
    tracing::info!(%channel, "worker stopped");
    Ok(())
}

struct Worker {
    store: Store,
    process: Arc<dyn Process>,
    settings: WorkerSettings,
}

impl Worker {
    async fn serve(self, mut consumer: recueil_queue::Consumer, shutdown: Shutdown) {
        let mut backoff = StoreBackoff::default();
        loop {
            if let Some(pause) = backoff.pause() {
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(pause) => {}
                }
            }
            let delivery = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                d = consumer.next() => d,
            };
            let handling = self.handle(delivery);
            tokio::pin!(handling);
            tokio::select! {
                outcome = &mut handling => backoff.after(outcome),
                _ = shutdown.cancelled() => {
                    // Finish the job in hand if it is quick enough; dropping
                    // it unanswered hands it back to the queue.
                    if tokio::time::timeout(self.settings.shutdown_grace, &mut handling).await.is_err() {
                        tracing::warn!("shutdown: job in hand handed back to the queue");
                    }
                    return;
                }
            }
        }
    }

    /// Handles one delivery; returns the outcome's name (as counted in
    /// the metrics).
    async fn handle(&self, delivery: Delivery) -> &'static str {
        let job = match Job::from_wire(delivery.payload()) {
            Ok(job) if job.channel == self.process.channel() => job,
            Ok(job) => {
                tracing::error!(source = %job.source_id, channel = %job.channel, "job for another channel: dead-lettered");
                answer(delivery.dead_letter().await);
                return "foreign";
            }
            Err(e) => {
                tracing::error!(error = %e, "unreadable message: dead-lettered");
                metrics::counter!("recueil_jobs_total", "channel" => self.process.channel().as_str(), "outcome" => "malformed").increment(1);
                answer(delivery.dead_letter().await);
                return "malformed";
            }
        };
        let span = tracing::info_span!("job", source = %job.source_id, attempt = job.attempt, delivery = delivery.count());
        self.handle_job(job, delivery).instrument(span).await
    }

    async fn handle_job(&self, job: Job, delivery: Delivery) -> &'static str {
        let started = std::time::Instant::now();
        let outcome = self.settle_job(job, delivery).await;
        let channel = self.process.channel().as_str();
        metrics::counter!("recueil_jobs_total", "channel" => channel, "outcome" => outcome)
            .increment(1);
        metrics::histogram!("recueil_job_seconds", "channel" => channel)
            .record(started.elapsed().as_secs_f64());
        outcome
    }

    /// Processes one job and answers its delivery; returns the outcome's
    /// name for the metrics.
    async fn settle_job(&self, job: Job, delivery: Delivery) -> &'static str {
        let id = job.source_id;
        match self.store.begin_attempt(id, delivery.count()).await {
            Ok(Attempt::Proceed { .. }) => {}
            Ok(Attempt::AlreadyDone) => {
                tracing::info!("already processed: acknowledged");
                answer(delivery.ack().await);
                return "already_done";
            }
            Ok(Attempt::UnknownSource) => {
                tracing::error!("no such source in the store: dead-lettered");
                answer(delivery.dead_letter().await);
                return "unknown_source";
            }
            Err(e) => {
                // The database is the problem, not the job: try again later
                // without using up one of the job's attempts.
                tracing::warn!(error = %e, "store unavailable: retry later");
                answer(delivery.retry_later(&job).await);
                return STORE_UNAVAILABLE;
            }
        }
        let outcome = match self.process(&job).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the source from the store: retry later");
                answer(delivery.retry_later(&job).await);
                return STORE_UNAVAILABLE;
            }
        };
        let (result, name) = match outcome {
            Ok(contribution) => match self.store.record_contribution(&contribution).await {
                Ok(_) => {
                    tracing::info!(status = %contribution.status, "contribution stored");
                    (delivery.ack().await, contribution.status.as_str())
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot store the contribution: retry later");
                    (delivery.retry_later(&job).await, STORE_UNAVAILABLE)
                }
            },
            Err(failure) if failure.is_transient() && job.attempt < self.settings.max_attempts => {
                tracing::warn!(%failure, "transient failure: retry later");
                self.record(&job, true, &failure).await;
                (delivery.retry_later(&job.next_attempt()).await, "retried")
            }
            Err(failure) => {
                tracing::error!(%failure, "failed: recorded and dead-lettered");
                self.record(&job, false, &failure).await;
                (delivery.dead_letter().await, "failed")
            }
        };
        answer(result);
        name
    }

    /// Loads the source and runs the channel's process on a blocking thread.
    /// The outer error is the store's (not the job's fault); the inner one
    /// the job's outcome.
    async fn process(
        &self,
        job: &Job,
    ) -> Result<Result<recueil_core::Contribution, Failure>, recueil_store::StoreError> {
        let Some((record, original)) = self.store.source_with_original(job.source_id).await? else {
            return Ok(Err(Failure::permanent("source vanished from the store")));
        };
        let Some(original) = original else {
            return Ok(Err(Failure::permanent(format!(
                "{}: original bytes were purged; nothing left to process",
                record.source.original_name
            ))));
        };
        let process = self.process.clone();
        let name = record.source.original_name.clone();
        let source = record.source;
        // The blocking thread does not inherit the task's span: carry the
        // job's span over, so that what the engines log (whisper, tesseract)
        // names the source it is about.
        let span = tracing::Span::current();
        Ok(tokio::task::spawn_blocking(move || {
            span.in_scope(|| process.process(&source, &original))
        })
        .await
        .unwrap_or_else(|e| {
            // A panicking engine must not take the worker down with it.
            Err(Failure::permanent(format!("{name}: engine crashed: {e}")))
        }))
    }

    async fn record(&self, job: &Job, will_retry: bool, failure: &Failure) {
        let reason = format!("attempt {}: {failure}", job.attempt);
        if let Err(e) = self
            .store
            .record_failure(job.source_id, will_retry, &reason)
            .await
        {
            tracing::warn!(error = %e, "could not record the failure");
        }
    }
}

/// The outcome of a job the database could not serve.
const STORE_UNAVAILABLE: &str = "store_unavailable";

/// How long a consumer waits before its next delivery after the database
/// failed it: 100 ms, doubling to 5 s while the faults go on, nothing once
/// a job goes through. The broker's retry delay alone would not do: with
/// a thousand jobs queued, each would be taken, failed and re-queued in a
/// loop for as long as the database is away.
#[derive(Debug, Default)]
struct StoreBackoff {
    next: Option<Duration>,
}

impl StoreBackoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(5);

    fn after(&mut self, outcome: &str) {
        self.next = if outcome == STORE_UNAVAILABLE {
            Some(self.next.map_or(Self::FIRST, |d| (d * 2).min(Self::MAX)))
        } else {
            None
        };
    }

    fn pause(&self) -> Option<Duration> {
        self.next
    }
}

/// A failed answer leaves the message unacknowledged: the broker redelivers
/// it, which the store makes harmless.
fn answer(result: Result<(), recueil_queue::QueueError>) {
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not answer the broker; the message will be redelivered");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consumer_backs_off_while_the_store_fails_and_not_after() {
        let mut backoff = StoreBackoff::default();
        assert_eq!(backoff.pause(), None);
        let mut pauses = Vec::new();
        for _ in 0..10 {
            backoff.after(STORE_UNAVAILABLE);
            pauses.push(backoff.pause().expect("a pause after a store fault"));
        }
        assert_eq!(pauses[0], StoreBackoff::FIRST);
        assert_eq!(pauses[1], StoreBackoff::FIRST * 2);
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*pauses.last().unwrap(), StoreBackoff::MAX);
        // A job that goes through (or fails on its own) ends the pauses.
        backoff.after("published");
        assert_eq!(backoff.pause(), None);
        backoff.after("failed");
        assert_eq!(backoff.pause(), None);
    }
}
