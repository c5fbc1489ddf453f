//! The worker loop: the deliveries a consumer has in hand, taken as one
//! batch, each acknowledged only after the database commit.
//!
//! ```text
//! deliveries ─ parse jobs ──────────── malformed/foreign ──> dead-letter
//!            ─ begin attempts (one statement: sources moved, events,
//!              sources and bytes read back)
//!                                      already done ───────> ack (redelivery)
//!            ─ Process each (blocking) ─ Ok ─> store contributions
//!                                              (one statement) ─> ack each
//!                                        transient ─> record, retry later (until max attempts)
//!                                        permanent / panic ─> record, dead-letter
//! store unreachable at any step ─────────────────────────> retry later, attempt not
//!                                                           counted; the consumer backs off
//! ```
//!
//! A batch is what the broker has already handed the consumer (at most the
//! prefetch) when it takes its next delivery: it never waits for more. With
//! the default prefetch of 1 a batch is one job; with slow engines the
//! finished contributions are written as soon as a job has taken more than
//! [`HOLD_RESULTS`], so a batch never holds a finished job back for long.
//! Batching is what lets instant jobs (a blank page, a silent call, and the
//! load benchmark's test engines) go through at the rate of the broker
//! rather than of the database's commits.
//!
//! A fault of the database (restarted, read-only, unreachable) is not the
//! job's: it never uses up one of the job's attempts nor sends it to the
//! dead letters, and the consumer waits longer after each such fault so
//! that a thousand queued jobs do not spin through the retry queue while
//! the database is away.
//!
//! A worker killed anywhere in this sequence leaves the messages
//! unacknowledged: the broker redelivers them, `begin_attempts` counts the
//! attempt, and after the delivery limit the broker dead-letters it. The
//! source's record says why in each case.

use crate::{Process, Shutdown};
use recueil_core::{Failure, Job};
use recueil_queue::{Delivery, Queue};
use recueil_store::{Begun, SourceRecord, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};
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
            batch: usize::from(queue.config().prefetch.max(1)),
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
    /// The most deliveries taken as one batch: the consumer's prefetch.
    batch: usize,
}

/// How long finished contributions may wait for the rest of their batch
/// before they are written: instant jobs are written together, a job that
/// took longer (a real transcription) is written at once.
pub const HOLD_RESULTS: Duration = Duration::from_millis(200);

/// A parsed delivery in hand, with its span.
struct InHand {
    job: Job,
    delivery: Delivery,
    span: tracing::Span,
    /// When the worker took it (for `recueil_job_seconds`).
    taken: Instant,
}

/// A job processed and waiting for its contribution to be written.
struct Finished {
    in_hand: InHand,
    contribution: recueil_core::Contribution,
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
            let first = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                d = consumer.next() => d,
            };
            let mut deliveries = vec![first];
            while deliveries.len() < self.batch {
                match consumer.ready() {
                    Some(d) => deliveries.push(d),
                    None => break,
                }
            }
            let handling = self.handle(deliveries);
            tokio::pin!(handling);
            tokio::select! {
                outcomes = &mut handling => backoff.after(outcomes.contains(&STORE_UNAVAILABLE)),
                _ = shutdown.cancelled() => {
                    // Finish the jobs in hand if it is quick enough; dropping
                    // them unanswered hands them back to the queue.
                    if tokio::time::timeout(self.settings.shutdown_grace, &mut handling).await.is_err() {
                        tracing::warn!("shutdown: jobs in hand handed back to the queue");
                    }
                    return;
                }
            }
        }
    }

    /// Handles a batch of deliveries; returns the outcomes' names (as
    /// counted in the metrics).
    async fn handle(&self, deliveries: Vec<Delivery>) -> Vec<&'static str> {
        let taken = Instant::now();
        let mut outcomes = Vec::with_capacity(deliveries.len());
        let mut pending = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            match self.parse(delivery, taken).await {
                Ok(in_hand) => pending.push(in_hand),
                Err(outcome) => outcomes.push(outcome),
            }
        }
        // A source appears once in a batch: a second delivery of the same
        // job (a redelivery beside its retry) waits for the first's answer,
        // as it would on another consumer.
        while !pending.is_empty() {
            let mut batch = Vec::with_capacity(pending.len());
            let mut later = Vec::new();
            for in_hand in pending {
                if batch
                    .iter()
                    .any(|b: &InHand| b.job.source_id == in_hand.job.source_id)
                {
                    later.push(in_hand);
                } else {
                    batch.push(in_hand);
                }
            }
            outcomes.extend(self.settle(batch).await);
            pending = later;
        }
        outcomes
    }

    /// A delivery's job, or the outcome of a delivery that holds none for
    /// this worker (answered here).
    async fn parse(&self, delivery: Delivery, taken: Instant) -> Result<InHand, &'static str> {
        let channel = self.process.channel();
        match Job::from_wire(delivery.payload()) {
            Ok(job) if job.channel == channel => {
                let span = tracing::info_span!("job", source = %job.source_id, attempt = job.attempt, delivery = delivery.count());
                Ok(InHand {
                    job,
                    delivery,
                    span,
                    taken,
                })
            }
            Ok(job) => {
                tracing::error!(source = %job.source_id, channel = %job.channel, "job for another channel: dead-lettered");
                answer(delivery.dead_letter().await);
                Err("foreign")
            }
            Err(e) => {
                tracing::error!(error = %e, "unreadable message: dead-lettered");
                metrics::counter!("recueil_jobs_total", "channel" => channel.as_str(), "outcome" => "malformed").increment(1);
                answer(delivery.dead_letter().await);
                Err("malformed")
            }
        }
    }

    /// Processes a batch of jobs (each source once) and answers their
    /// deliveries; returns the outcomes' names.
    async fn settle(&self, batch: Vec<InHand>) -> Vec<&'static str> {
        let keys: Vec<_> = batch
            .iter()
            .map(|h| (h.job.source_id, h.delivery.count()))
            .collect();
        let answers = match self.store.begin_attempts(&keys).await {
            Ok(answers) => answers,
            Err(e) => {
                // The database is the problem, not the jobs: try again
                // later without using up one of their attempts.
                let mut outcomes = Vec::with_capacity(batch.len());
                for h in batch {
                    h.span
                        .in_scope(|| tracing::warn!(error = %e, "store unavailable: retry later"));
                    outcomes.push(self.retry_later(h).await);
                }
                return outcomes;
            }
        };
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut finished = Vec::new();
        let mut held_since = Instant::now();
        for (h, begun) in batch.into_iter().zip(answers) {
            let (source, original) = match begun {
                Ok(Begun::Proceed { source, original }) => (source, original),
                Ok(Begun::AlreadyDone) => {
                    h.span
                        .in_scope(|| tracing::info!("already processed: acknowledged"));
                    answer(h.delivery.ack().instrument(h.span.clone()).await);
                    outcomes.push(self.count(&h.span, h.taken, "already_done"));
                    continue;
                }
                Ok(Begun::UnknownSource) => {
                    h.span
                        .in_scope(|| tracing::error!("no such source in the store: dead-lettered"));
                    answer(h.delivery.dead_letter().instrument(h.span.clone()).await);
                    outcomes.push(self.count(&h.span, h.taken, "unknown_source"));
                    continue;
                }
                Err(e) => {
                    h.span.in_scope(|| tracing::warn!(error = %e, "cannot read the source from the store: retry later"));
                    outcomes.push(self.retry_later(h).await);
                    continue;
                }
            };
            match self.process(source, original, &h.span).await {
                Ok(contribution) => finished.push(Finished {
                    in_hand: h,
                    contribution,
                }),
                Err(failure) => outcomes.push(self.fail(h, failure).await),
            }
            if held_since.elapsed() >= HOLD_RESULTS {
                outcomes.extend(self.store_finished(std::mem::take(&mut finished)).await);
                held_since = Instant::now();
            }
        }
        outcomes.extend(self.store_finished(finished).await);
        outcomes
    }

    /// Writes the finished jobs' contributions in one statement and
    /// acknowledges their deliveries.
    async fn store_finished(&self, finished: Vec<Finished>) -> Vec<&'static str> {
        if finished.is_empty() {
            return Vec::new();
        }
        let contributions: Vec<_> = finished.iter().map(|f| &f.contribution).collect();
        let stored = self.store.record_contributions(&contributions).await;
        let mut outcomes = Vec::with_capacity(finished.len());
        match stored {
            Ok(_) => {
                for f in finished {
                    let h = f.in_hand;
                    let status = f.contribution.status;
                    h.span
                        .in_scope(|| tracing::info!(%status, "contribution stored"));
                    answer(h.delivery.ack().instrument(h.span.clone()).await);
                    outcomes.push(self.count(&h.span, h.taken, status.as_str()));
                }
            }
            Err(e) => {
                for f in finished {
                    let h = f.in_hand;
                    h.span.in_scope(
                        || tracing::warn!(error = %e, "cannot store the contribution: retry later"),
                    );
                    outcomes.push(self.retry_later(h).await);
                }
            }
        }
        outcomes
    }

    /// A job the database could not serve: queued again after the retry
    /// delay, its attempt not counted.
    async fn retry_later(&self, h: InHand) -> &'static str {
        answer(
            h.delivery
                .retry_later(&h.job)
                .instrument(h.span.clone())
                .await,
        );
        self.count(&h.span, h.taken, STORE_UNAVAILABLE)
    }

    /// A job that failed on its own: recorded, then retried later while
    /// transient and attempts remain, dead-lettered otherwise.
    async fn fail(&self, h: InHand, failure: Failure) -> &'static str {
        let retry = failure.is_transient() && h.job.attempt < self.settings.max_attempts;
        let result = async {
            if retry {
                tracing::warn!(%failure, "transient failure: retry later");
            } else {
                tracing::error!(%failure, "failed: recorded and dead-lettered");
            }
            self.record(&h.job, retry, &failure).await;
            if retry {
                h.delivery.retry_later(&h.job.next_attempt()).await
            } else {
                h.delivery.dead_letter().await
            }
        }
        .instrument(h.span.clone())
        .await;
        answer(result);
        self.count(&h.span, h.taken, if retry { "retried" } else { "failed" })
    }

    /// Counts a job's outcome in the metrics and returns its name.
    fn count(&self, span: &tracing::Span, taken: Instant, outcome: &'static str) -> &'static str {
        let channel = self.process.channel().as_str();
        metrics::counter!("recueil_jobs_total", "channel" => channel, "outcome" => outcome)
            .increment(1);
        metrics::histogram!("recueil_job_seconds", "channel" => channel)
            .record(taken.elapsed().as_secs_f64());
        span.in_scope(|| tracing::debug!(outcome, "job answered"));
        outcome
    }

    /// Runs the channel's process on a blocking thread, in the job's span.
    async fn process(
        &self,
        record: SourceRecord,
        original: Option<Vec<u8>>,
        span: &tracing::Span,
    ) -> Result<recueil_core::Contribution, Failure> {
        let Some(original) = original else {
            return Err(Failure::permanent(format!(
                "{}: original bytes were purged; nothing left to process",
                record.source.original_name
            )));
        };
        let process = self.process.clone();
        let name = record.source.original_name.clone();
        let source = record.source;
        // The blocking thread does not inherit the task's span: carry the
        // job's span over, so that what the engines log (whisper, tesseract)
        // names the source it is about.
        let span = span.clone();
        tokio::task::spawn_blocking(move || span.in_scope(|| process.process(&source, &original)))
            .await
            .unwrap_or_else(|e| {
                // A panicking engine must not take the worker down with it.
                Err(Failure::permanent(format!("{name}: engine crashed: {e}")))
            })
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

    /// After a batch: `store_failed` when the database failed one of its
    /// jobs.
    fn after(&mut self, store_failed: bool) {
        self.next = if store_failed {
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
            backoff.after(true);
            pauses.push(backoff.pause().expect("a pause after a store fault"));
        }
        assert_eq!(pauses[0], StoreBackoff::FIRST);
        assert_eq!(pauses[1], StoreBackoff::FIRST * 2);
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*pauses.last().unwrap(), StoreBackoff::MAX);
        // A job that goes through (or fails on its own) ends the pauses.
        backoff.after(false);
        assert_eq!(backoff.pause(), None);
    }
}
