//! Where recueil keeps what citizens sent and what it made of it.
//!
//! One [`Store`] over two backends: PostgreSQL in production, an SQLite file
//! for the embedded default. The interface is one; each backend has its own
//! implementation (`postgres.rs`, `sqlite.rs`), its own migrations and its own
//! natural types, as the queue has `Queue::{Amqp, Memory}`:
//!
//! - **PostgreSQL** is the platform's database: `uuid` ids, `timestamptz`,
//!   `boolean`, `smallint[]` question sets, `jsonb`; every query is checked
//!   against the schema at compile time (`sqlx::query!`, with the offline
//!   data in `.sqlx/`, so a build needs no database: `scripts/sqlx-prepare.sh`
//!   refreshes it, and CI checks it against the migrations). The published
//!   contract (`platform` schema, change feed) is in `docs/platform.md`.
//! - **SQLite** keeps text timestamps and JSON text; its queries are checked
//!   at run time by the same test suite (sqlx's macros check one database
//!   per crate, and PostgreSQL is the one other systems read).
//!
//! What both must agree on is written once: the source states and the moves
//! between them ([`state`]), and what a reviewer's change does
//! ([`review`]). A backend only turns those decisions into SQL.
//!
//! # Decisions
//! - **Original bytes live in the database** (`blobs`, addressed by SHA-256),
//!   not in a directory: workers on any number of machines then need only the
//!   database and the broker, backups hold everything, and a contribution can
//!   always be traced to its recording or scan in one join. A 10-minute
//!   telephone message is under 5 MB and a 300 dpi scan a few MB, well within
//!   what PostgreSQL's `bytea` and SQLite blobs handle.
//! - **Transactional outbox**: intake writes the source, its bytes and an
//!   outbox row in one transaction. A relay publishes outbox rows to the
//!   queue and deletes them once the broker confirmed. Intake therefore never
//!   loses a source when the broker is down; at worst a job is published
//!   twice, which the idempotent [`Store::record_contribution`] absorbs.
//! - **One contribution per source**: `contributions.source_id` is the primary
//!   key and the insert is `ON CONFLICT DO NOTHING`, so a redelivered message
//!   can neither duplicate a contribution nor overwrite a reviewer's decision.

/// Calls the same method on whichever backend the store has.
macro_rules! dispatch {
    ($self:ident, $s:ident => $call:expr) => {
        match &$self.inner {
            Inner::Postgres($s) => $call,
            Inner::Sqlite($s) => $call,
        }
    };
}

/// A batch names each source once: one row per source in each statement,
/// and one answer per source.
fn distinct(ids: impl Iterator<Item = SourceId>) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(StoreError::Invalid(format!(
                "source {id} appears twice in one batch"
            )));
        }
    }
    Ok(())
}

pub mod people;
mod postgres;
pub mod review;
mod sqlite;
pub mod state;
mod time;

pub use people::{Claim, ClaimOutcome, SessionRecord, UserRecord};
pub use review::{
    AuditEvent, EditedText, Filter, PurgeReport, Rejection, ReviewChange, ReviewError,
};
pub use state::SourceState;
use state::Transition;
pub use time::{format_ts, parse_ts};

use chrono::{DateTime, Utc};
use recueil_core::{Channel, Contribution, Job, Source, SourceId};
use std::time::Duration;

/// A store error. [`StoreError::is_transient`] tells whether a retry can help.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use postgres://… or sqlite://…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
    #[error("{0}")]
    Invalid(String),
}

impl StoreError {
    /// Connection and I/O problems pass; constraint violations and corrupt
    /// rows do not.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
                    | sqlx::Error::Protocol(_)
                    | sqlx::Error::Tls(_)
            )
        )
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A source with its processing record.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    pub source: Source,
    pub state: SourceState,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// What intake did with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intake {
    /// Stored and queued (through the outbox).
    Accepted(SourceId),
    /// The same bytes were already ingested on this channel, as this source.
    Duplicate(SourceId),
}

/// A job waiting in the outbox to be published.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub id: i64,
    pub job: Job,
}

/// What a worker may do with a delivery, decided by [`Store::begin_attempt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Go ahead; this is the n-th attempt on the source.
    Proceed { attempt: u32 },
    /// The contribution is already stored (a redelivery): just acknowledge.
    AlreadyDone,
    /// No such source (a message from another installation, or a bug).
    UnknownSource,
}

/// What a worker may do with one delivery of a batch, decided by
/// [`Store::begin_attempts`].
#[derive(Debug, Clone)]
// The answers of a batch live for one batch, a prefetch's worth of them:
// the refusals' unused bytes cost nothing worth an allocation per job.
#[allow(clippy::large_enum_variant)]
pub enum Begun {
    /// Go ahead: the source as it stands now (`attempts` counts this one)
    /// and its original's bytes, `None` once purged.
    Proceed {
        source: SourceRecord,
        original: Option<Vec<u8>>,
    },
    /// The contribution is already stored (a redelivery): just acknowledge.
    AlreadyDone,
    /// No such source (a message from another installation, or a bug).
    UnknownSource,
}

impl Begun {
    /// The same answer without what the worker loads.
    pub fn attempt(&self) -> Attempt {
        match self {
            Begun::Proceed { source, .. } => Attempt::Proceed {
                attempt: source.attempts,
            },
            Begun::AlreadyDone => Attempt::AlreadyDone,
            Begun::UnknownSource => Attempt::UnknownSource,
        }
    }
}

/// A contribution's facts, without its words (see
/// [`Store::contribution_facts`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ContributionFacts {
    pub channel: Channel,
    pub status: recueil_core::Status,
    pub questions: recueil_core::QuestionSet,
    pub urn: Option<recueil_core::Urn>,
    pub received_at: DateTime<Utc>,
    pub processed_at: DateTime<Utc>,
    pub engine: recueil_core::EngineInfo,
}

/// Counts for `recueil status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub outbox: u64,
    pub queued: u64,
    pub processing: u64,
    pub retrying: u64,
    pub failed: u64,
    pub done: u64,
    pub processed_last_hour: u64,
    /// When the oldest source not yet finished (queued, processing or
    /// retrying) was stored by intake: the backlog's age, which a depth alone does
    /// not give (a thousand fresh jobs are fine, ten week-old ones are not).
    pub oldest_unfinished: Option<DateTime<Utc>>,
    /// Contributions per channel and status, counted by the database (a
    /// scrape must not read every text of a 120-day consultation).
    pub contributions: Vec<(Channel, recueil_core::Status, u64)>,
}

impl Counts {
    /// Adds `n` sources in `state`: every state has its field, so none is
    /// dropped (a state the code does not know is a corrupt row, refused
    /// where the row is read).
    pub(crate) fn add(&mut self, state: SourceState, n: u64) {
        let field = match state {
            SourceState::Queued => &mut self.queued,
            SourceState::Processing => &mut self.processing,
            SourceState::Retrying => &mut self.retrying,
            SourceState::Done => &mut self.done,
            SourceState::Failed => &mut self.failed,
        };
        *field += n;
    }
}

/// The database handle: cheap to clone, shared by every task of a process.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    Postgres(postgres::PgStore),
    Sqlite(sqlite::SqliteStore),
}

impl Store {
    /// Connects to `url` (`postgres://…` or `sqlite://…`; an SQLite file is
    /// created when missing) and applies the migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        let inner = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Inner::Postgres(postgres::PgStore::connect(url).await?)
        } else if url.starts_with("sqlite:") {
            Inner::Sqlite(sqlite::SqliteStore::connect(url).await?)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let store = Store { inner };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations (also done by [`Store::connect`]).
    pub async fn migrate(&self) -> Result<()> {
        dispatch!(self, s => s.migrate().await)
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Postgres(_) => Backend::Postgres,
            Inner::Sqlite(_) => Backend::Sqlite,
        }
    }

    pub async fn close(&self) {
        dispatch!(self, s => s.close().await)
    }

    /// Stores a new source, its bytes and its job in one transaction.
    /// The same bytes on the same channel and page are stored once.
    pub async fn ingest(&self, source: &Source, bytes: &[u8]) -> Result<Intake> {
        let mut intakes = self
            .ingest_pages(std::slice::from_ref(source), bytes)
            .await?;
        Ok(intakes.pop().expect("one source in, one intake out"))
    }

    /// Stores the pages of one file (sources differing only by `page` and
    /// id), its bytes once, and a job per new page, in one transaction.
    /// Pages already stored are reported as duplicates, so an interrupted
    /// intake can simply be run again.
    pub async fn ingest_pages(&self, pages: &[Source], bytes: &[u8]) -> Result<Vec<Intake>> {
        if pages.is_empty() {
            return Ok(Vec::new());
        }
        dispatch!(self, s => s.ingest_pages(pages, bytes).await)
    }

    /// Puts failed sources back in the queue (through the outbox), e.g. after
    /// an engine was fixed. Returns how many were requeued; sources that are
    /// not failed are left alone.
    pub async fn replay(&self, ids: &[SourceId], actor: &str) -> Result<u64> {
        let note = format!("requeued by {actor}");
        dispatch!(self, s => s.requeue(ids, Transition::Replay, None, &note).await)
    }

    /// Puts back in the queue every source still `processing` whose last
    /// change is older than `stalled_for`, and returns them. Such a source
    /// lost its message: the broker dead-letters a message after workers
    /// died on it `x-delivery-limit` times, and nothing records a failure
    /// then. `stalled_for` must exceed the longest job (RabbitMQ's consumer
    /// timeout bounds it): a source a worker is still on is left alone, and
    /// one requeued too early is still done once (the contribution is
    /// unique per source), at the cost of a second reading.
    pub async fn requeue_stalled(
        &self,
        stalled_for: Duration,
        actor: &str,
    ) -> Result<Vec<SourceId>> {
        let cutoff = Utc::now() - chrono::Duration::from_std(stalled_for).unwrap_or_default();
        let note = format!(
            "requeued by {actor}: processing since before {}, no worker finished it",
            cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        dispatch!(self, s => s.requeue_stalled(cutoff, &note).await)
    }

    /// Claims up to `limit` outbox entries for `lease`: another relay skips
    /// them until the lease runs out (a relay that died mid-way is covered).
    pub async fn claim_outbox(&self, limit: u32, lease: Duration) -> Result<Vec<OutboxEntry>> {
        dispatch!(self, s => s.claim_outbox(limit, lease).await)
    }

    /// Forgets outbox entries once the broker confirmed their jobs (one
    /// statement for a relay's whole batch).
    pub async fn complete_outbox(&self, ids: &[i64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        dispatch!(self, s => s.complete_outbox(ids).await)
    }

    /// Releases claimed entries (the publish failed) so they are retried
    /// soon.
    pub async fn release_outbox(&self, ids: &[i64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        dispatch!(self, s => s.release_outbox(ids).await)
    }

    pub async fn source(&self, id: SourceId) -> Result<Option<SourceRecord>> {
        dispatch!(self, s => s.source(id).await)
    }

    /// A source and its original's bytes (`None` once purged), read
    /// together: what a worker needs before it runs the engines.
    /// The first source (by arrival in the store) whose `batch` field is
    /// `batch` on `channel`: how an intake that keeps the sender's own
    /// message id there (the telephony webhook, the Asterisk intake) knows
    /// a message it has already taken, whatever its bytes.
    pub async fn source_by_batch(&self, channel: Channel, batch: &str) -> Result<Option<SourceId>> {
        dispatch!(self, s => s.source_by_batch(channel, batch).await)
    }

    /// The image kept for the reviewer of a contribution, if any.
    pub async fn review_image(&self, id: SourceId) -> Result<Option<Vec<u8>>> {
        dispatch!(self, s => s.review_image(id).await)
    }

    /// The original bytes of a source, `None` once purged.
    pub async fn original(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        dispatch!(self, s => s.original(sha256).await)
    }

    /// Marks the start of an attempt. The source's record says an attempt
    /// was interrupted until [`Store::record_contribution`] or
    /// [`Store::record_failure`] overwrites it, so a worker killed mid-job
    /// leaves an explanation behind even when nothing else can write one.
    pub async fn begin_attempt(&self, id: SourceId, delivery: u32) -> Result<Attempt> {
        match &self.inner {
            Inner::Postgres(s) => {
                let mut begun = s.begin_attempts(&[(id, delivery)]).await?;
                begun
                    .pop()
                    .unwrap_or(Ok(Begun::UnknownSource))
                    .map(|b| b.attempt())
            }
            Inner::Sqlite(s) => s.begin_attempt(id, delivery).await,
        }
    }

    /// [`Store::begin_attempt`] for a batch of deliveries (`(source,
    /// delivery count)`, each source once), with what the worker needs to
    /// go ahead: each source and its original's bytes. The answers are in
    /// the deliveries' order; an answer is an error alone when that
    /// source's record cannot be read. On PostgreSQL it is one statement
    /// for the batch (a second when some did not begin); on SQLite, whose
    /// round trips stay in the process, one call per delivery.
    pub async fn begin_attempts(
        &self,
        deliveries: &[(SourceId, u32)],
    ) -> Result<Vec<Result<Begun>>> {
        distinct(deliveries.iter().map(|(id, _)| *id))?;
        match &self.inner {
            Inner::Postgres(s) => s.begin_attempts(deliveries).await,
            Inner::Sqlite(s) => {
                let mut answers = Vec::with_capacity(deliveries.len());
                for &(id, delivery) in deliveries {
                    let answer = match s.begin_attempt(id, delivery).await? {
                        Attempt::Proceed { .. } => match s.source_with_original(id).await? {
                            Some((source, original)) => Begun::Proceed { source, original },
                            None => Begun::UnknownSource,
                        },
                        Attempt::AlreadyDone => Begun::AlreadyDone,
                        Attempt::UnknownSource => Begun::UnknownSource,
                    };
                    answers.push(Ok(answer));
                }
                Ok(answers)
            }
        }
    }

    /// Stores the contribution of a source and marks the source done, in one
    /// transaction. Returns `false` when the source already had one (a
    /// redelivery): the stored contribution is left untouched.
    pub async fn record_contribution(&self, c: &Contribution) -> Result<bool> {
        Ok(self
            .record_contributions(&[c])
            .await?
            .pop()
            .unwrap_or(false))
    }

    /// [`Store::record_contribution`] for a batch (each source once): one
    /// statement and one commit on PostgreSQL; one transaction per
    /// contribution on SQLite. The answers are in the batch's order.
    pub async fn record_contributions(&self, batch: &[&Contribution]) -> Result<Vec<bool>> {
        distinct(batch.iter().map(|c| c.source_id))?;
        match &self.inner {
            Inner::Postgres(s) => s.record_contributions(batch).await,
            Inner::Sqlite(s) => {
                let mut answers = Vec::with_capacity(batch.len());
                for c in batch {
                    answers.push(s.record_contribution(c).await?);
                }
                Ok(answers)
            }
        }
    }

    /// Records a failure on the source: `retrying` when a delayed retry is
    /// scheduled, `failed` when it is final.
    pub async fn record_failure(&self, id: SourceId, will_retry: bool, reason: &str) -> Result<()> {
        let transition = if will_retry {
            state::Transition::Retry
        } else {
            state::Transition::Fail
        };
        dispatch!(self, s => s.record_failure(id, transition, reason).await)
    }

    /// Sources not yet done nor failed, oldest first. The embedded mode
    /// requeues them at start-up, since its in-process queue does not survive
    /// the process.
    pub async fn unfinished(&self) -> Result<Vec<Job>> {
        dispatch!(self, s => s.unfinished().await)
    }

    pub async fn contribution(&self, id: SourceId) -> Result<Option<Contribution>> {
        dispatch!(self, s => s.contribution(id).await)
    }

    /// Contributions, oldest first.
    pub async fn contributions(&self) -> Result<Vec<Contribution>> {
        self.select(&Filter::default()).await
    }

    /// What every contribution is, without what it says (no text, no
    /// evidence, masks, segments or lines), oldest first: the operator's
    /// charts and counts, which must stay cheap over a whole consultation.
    pub async fn contribution_facts(&self) -> Result<Vec<ContributionFacts>> {
        dispatch!(self, s => s.contribution_facts().await)
    }

    /// Contributions matching `filter`, oldest first.
    pub async fn select(&self, filter: &Filter) -> Result<Vec<Contribution>> {
        let mut rows = dispatch!(self, s => s.select(filter).await)?;
        rows.retain(|c| filter.matches(c));
        Ok(rows)
    }

    /// Sources, oldest first.
    pub async fn sources(&self) -> Result<Vec<SourceRecord>> {
        dispatch!(self, s => s.sources().await)
    }

    pub async fn counts(&self) -> Result<Counts> {
        dispatch!(self, s => s.counts().await)
    }

    /// The history of a source: (time, kind, message), oldest first.
    pub async fn events(&self, id: SourceId) -> Result<Vec<(DateTime<Utc>, String, String)>> {
        dispatch!(self, s => s.events(id).await)
    }

    /// Applies a reviewer's change; returns the contribution after it.
    pub async fn review(
        &self,
        id: SourceId,
        actor: &str,
        change: ReviewChange,
    ) -> std::result::Result<Contribution, ReviewError> {
        dispatch!(self, s => s.review(id, actor, change).await)
    }

    /// The audit trail of a contribution, oldest first.
    pub async fn audit(&self, id: SourceId) -> Result<Vec<AuditEvent>> {
        dispatch!(self, s => s.audit(id).await)
    }

    /// Deletes the original recordings and scans of contributions published
    /// or rejected before `cutoff`. Text, questions and audit stay; nothing
    /// still in review (or not yet processed) is touched, even when it shares
    /// its original with a purgeable page.
    pub async fn purge(&self, cutoff: DateTime<Utc>, dry_run: bool) -> Result<PurgeReport> {
        dispatch!(self, s => s.purge(cutoff, dry_run).await)
    }

    /// Grants the PostgreSQL role `role` the published contract (the
    /// `platform` schema's views) and nothing else. The role must exist.
    pub async fn grant_platform(&self, role: &str) -> Result<()> {
        let role = platform_role(role)?;
        match &self.inner {
            Inner::Postgres(s) => s.grant_platform(role).await,
            Inner::Sqlite(_) => Err(StoreError::Invalid(
                "the platform contract is PostgreSQL's: the embedded SQLite mode has no roles"
                    .into(),
            )),
        }
    }
}

/// A role name safe to put in a GRANT (identifiers cannot be bound).
fn platform_role(role: &str) -> Result<&str> {
    let ok = !role.is_empty()
        && role.len() <= 63
        && role.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && role
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(role)
    } else {
        Err(StoreError::Invalid(format!(
            "role name {role:?}: use lower-case letters, digits and _ (at most 63), starting with a letter"
        )))
    }
}

/// A value read from the database that the code cannot accept.
fn corrupt<E: std::fmt::Display>(table: &'static str) -> impl Fn(E) -> StoreError {
    move |e| StoreError::Corrupt {
        table,
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_every_state() {
        let mut counts = Counts::default();
        for (i, state) in SourceState::ALL.into_iter().enumerate() {
            counts.add(state, i as u64 + 1);
        }
        assert_eq!(
            (
                counts.queued,
                counts.processing,
                counts.retrying,
                counts.done,
                counts.failed
            ),
            (1, 2, 3, 4, 5)
        );
    }

    #[test]
    fn role_names_that_could_inject_sql_are_refused() {
        assert!(platform_role("recueil_platform").is_ok());
        for bad in ["", "Robert", "x; DROP TABLE blobs", "a\"b", "1role"] {
            assert!(platform_role(bad).is_err(), "{bad:?}");
        }
    }
}
