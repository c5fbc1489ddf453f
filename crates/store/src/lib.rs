//! Where recueil keeps what citizens sent and what it made of it.
//!
//! One [`Store`] over two backends: PostgreSQL in production, an SQLite file
//! for the embedded default. Both run the same SQL through sqlx's `Any`
//! driver; only the migrations differ (`migrations/postgres`,
//! `migrations/sqlite`), and they are applied at every connection.
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

pub mod people;
mod review;
mod time;

pub use review::{Filter, PurgeReport, Rejection, ReviewChange, ReviewError};

use chrono::{DateTime, Utc};
use recueil_core::{Channel, Contribution, EngineInfo, Job, QuestionSet, Source, SourceId, Urn};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Row};
use std::str::FromStr;
use std::time::Duration;

pub use time::{format_ts, parse_ts};

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

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

/// Where a source stands in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceState {
    /// Stored, its job in the outbox or the queue.
    Queued,
    /// A worker took it (and may have died with it: see `attempts`).
    Processing,
    /// A transient failure; a delayed retry is scheduled.
    Retrying,
    /// Its contribution is stored.
    Done,
    /// Processing failed for good; the reason is in `last_error`.
    Failed,
}

impl SourceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceState::Queued => "queued",
            SourceState::Processing => "processing",
            SourceState::Retrying => "retrying",
            SourceState::Done => "done",
            SourceState::Failed => "failed",
        }
    }
}

impl FromStr for SourceState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "queued" => SourceState::Queued,
            "processing" => SourceState::Processing,
            "retrying" => SourceState::Retrying,
            "done" => SourceState::Done,
            "failed" => SourceState::Failed,
            other => return Err(format!("unknown source state {other:?}")),
        })
    }
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
}

/// The database handle: cheap to clone, shared by every task of a process.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `url` (`postgres://…` or `sqlite://…`; an SQLite file is
    /// created when missing) and applies the migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned())
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            // Create the file if needed; WAL lets readers (status, review)
            // work beside the writer.
            let sep = if rest.contains('?') { '&' } else { '?' };
            let extra = if rest.contains("mode=") {
                String::new()
            } else {
                format!("{sep}mode=rwc")
            };
            (Backend::Sqlite, format!("{url}{extra}"))
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            // SQLite allows one writer: one connection avoids "database is
            // locked" between our own tasks.
            Backend::Sqlite => options
                .max_connections(1)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        use sqlx::Executor;
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
                            .await?;
                        Ok(())
                    })
                })
                .connect(&url)
                .await?,
            Backend::Postgres => options.max_connections(8).connect(&url).await?,
        };
        let store = Store { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations (also done by [`Store::connect`]).
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
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
        let Some(first) = pages.first() else {
            return Ok(Vec::new());
        };
        let now = format_ts(Utc::now());
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO blobs (sha256, bytes, size, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(&first.sha256)
        .bind(bytes)
        .bind(bytes.len() as i64)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        let mut intakes = Vec::with_capacity(pages.len());
        for source in pages {
            let inserted = sqlx::query(
                "INSERT INTO sources (id, channel, sha256, media_type, size, original_name,
                     received_at, caller_ref, urn, batch, page, state, attempts, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'queued', 0, $12, $12)
                 ON CONFLICT (channel, sha256, page) DO NOTHING",
            )
            .bind(source.id.to_string())
            .bind(source.channel.as_str())
            .bind(&source.sha256)
            .bind(&source.media_type)
            .bind(source.size as i64)
            .bind(&source.original_name)
            .bind(format_ts(source.received_at))
            .bind(source.caller_ref.as_deref())
            .bind(source.urn.as_ref().map(Urn::as_str))
            .bind(source.batch.as_deref())
            .bind(i64::from(source.page))
            .bind(&now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                let row = sqlx::query(
                    "SELECT id FROM sources WHERE channel = $1 AND sha256 = $2 AND page = $3",
                )
                .bind(source.channel.as_str())
                .bind(&source.sha256)
                .bind(i64::from(source.page))
                .fetch_one(&mut *tx)
                .await?;
                intakes.push(Intake::Duplicate(parse_id(row.try_get("id")?)?));
                continue;
            }
            let job = Job::new(source.id, source.channel);
            insert_outbox(&mut tx, &job, &now).await?;
            insert_event(&mut tx, source.id, &now, "ingested", &source.original_name).await?;
            intakes.push(Intake::Accepted(source.id));
        }
        tx.commit().await?;
        Ok(intakes)
    }

    /// Puts failed sources back in the queue (through the outbox), e.g. after
    /// an engine was fixed. Returns how many were requeued.
    pub async fn replay(&self, ids: &[SourceId]) -> Result<u64> {
        let now = format_ts(Utc::now());
        let mut tx = self.pool.begin().await?;
        let mut n = 0;
        for id in ids {
            let row = sqlx::query("SELECT channel FROM sources WHERE id = $1 AND state = 'failed'")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else { continue };
            let channel = parse_channel(row.try_get("channel")?)?;
            sqlx::query(
                "UPDATE sources SET state = 'queued', last_error = NULL, updated_at = $2 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            insert_outbox(&mut tx, &Job::new(*id, channel), &now).await?;
            insert_event(&mut tx, *id, &now, "replayed", "requeued by an operator").await?;
            n += 1;
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Claims up to `limit` outbox entries for `lease`: another relay skips
    /// them until the lease runs out (a relay that died mid-way is covered).
    pub async fn claim_outbox(&self, limit: u32, lease: Duration) -> Result<Vec<OutboxEntry>> {
        let now = Utc::now();
        let until = format_ts(now + chrono::Duration::from_std(lease).unwrap_or_default());
        let now = format_ts(now);
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT id, payload FROM outbox
             WHERE claimed_until IS NULL OR claimed_until < $1
             ORDER BY id LIMIT $2",
        )
        .bind(&now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id")?;
            // The condition is repeated so that of two relays racing for the
            // same row, the second one's update matches nothing.
            let claimed = sqlx::query(
                "UPDATE outbox SET claimed_until = $2
                 WHERE id = $1 AND (claimed_until IS NULL OR claimed_until < $3)",
            )
            .bind(id)
            .bind(&until)
            .bind(&now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 {
                continue;
            }
            let payload: String = row.try_get("payload")?;
            let job = Job::from_wire(payload.as_bytes()).map_err(|e| StoreError::Corrupt {
                table: "outbox",
                reason: e.to_string(),
            })?;
            entries.push(OutboxEntry { id, job });
        }
        tx.commit().await?;
        Ok(entries)
    }

    /// Forgets an outbox entry once the broker confirmed its job.
    pub async fn complete_outbox(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM outbox WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Releases a claimed entry (the publish failed) so it is retried soon.
    pub async fn release_outbox(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE outbox SET claimed_until = NULL WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn source(&self, id: SourceId) -> Result<Option<SourceRecord>> {
        let row = sqlx::query("SELECT * FROM sources WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| source_record(&r)).transpose()
    }

    /// The image kept for the reviewer of a contribution, if any.
    pub async fn review_image(&self, id: SourceId) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query(
            "SELECT b.bytes FROM contributions c JOIN blobs b ON b.sha256 = c.review_image_sha256
             WHERE c.source_id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<Vec<u8>>, _>("bytes")?,
            None => None,
        })
    }

    /// The original bytes of a source, `None` once purged.
    pub async fn original(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT bytes FROM blobs WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<Vec<u8>>, _>("bytes")?,
            None => None,
        })
    }

    /// Marks the start of an attempt. The source's record says an attempt
    /// was interrupted until [`Store::record_contribution`] or
    /// [`Store::record_failure`] overwrites it, so a worker killed mid-job
    /// leaves an explanation behind even when nothing else can write one.
    pub async fn begin_attempt(&self, id: SourceId, delivery: u32) -> Result<Attempt> {
        let now = format_ts(Utc::now());
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("SELECT 1 AS one FROM contributions WHERE source_id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_some() {
            tx.rollback().await?;
            return Ok(Attempt::AlreadyDone);
        }
        let row = sqlx::query(
            "UPDATE sources SET state = 'processing', attempts = attempts + 1,
                 last_error = $2, updated_at = $3
             WHERE id = $1 RETURNING attempts",
        )
        .bind(id.to_string())
        .bind(format!(
            "interrupted: delivery {delivery} started at {now} and did not finish (worker killed or timed out)"
        ))
        .bind(&now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(Attempt::UnknownSource);
        };
        let attempt: i64 = row.try_get("attempts")?;
        insert_event(
            &mut tx,
            id,
            &now,
            "attempt",
            &format!("delivery {delivery}"),
        )
        .await?;
        tx.commit().await?;
        Ok(Attempt::Proceed {
            attempt: attempt as u32,
        })
    }

    /// Stores the contribution of a source and marks the source done, in one
    /// transaction. Returns `false` when the source already had one (a
    /// redelivery): the stored contribution is left untouched.
    pub async fn record_contribution(&self, c: &Contribution) -> Result<bool> {
        let now = format_ts(Utc::now());
        let evidence = serde_json::to_string(&c.evidence).expect("evidence serialises");
        let mut tx = self.pool.begin().await?;
        let image_sha = match &c.review_image {
            Some(png) => {
                let sha = recueil_core::sha256_hex(png);
                sqlx::query(
                    "INSERT INTO blobs (sha256, bytes, size, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (sha256) DO NOTHING",
                )
                .bind(&sha)
                .bind(png.as_slice())
                .bind(png.len() as i64)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
                Some(sha)
            }
            None => None,
        };
        let inserted = sqlx::query(
            "INSERT INTO contributions (source_id, channel, questions, evidence, text, raw_text,
                 language, confidence, status, received_at, processed_at, urn, engine,
                 engine_version, late, redactions, review_image_sha256)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             ON CONFLICT (source_id) DO NOTHING",
        )
        .bind(c.source_id.to_string())
        .bind(c.channel.as_str())
        .bind(c.questions.to_string())
        .bind(evidence)
        .bind(&c.text)
        .bind(&c.raw_text)
        .bind(c.language.as_deref())
        .bind(f64::from(c.confidence))
        .bind(c.status.as_str())
        .bind(format_ts(c.received_at))
        .bind(format_ts(c.processed_at))
        .bind(c.urn.as_ref().map(Urn::as_str))
        .bind(&c.engine.name)
        .bind(&c.engine.version)
        .bind(i64::from(c.late))
        .bind(serde_json::to_string(&c.redactions).expect("redactions serialise"))
        .bind(image_sha)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        sqlx::query(
            "UPDATE sources SET state = 'done', last_error = NULL, updated_at = $2 WHERE id = $1",
        )
        .bind(c.source_id.to_string())
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        if inserted {
            insert_event(
                &mut tx,
                c.source_id,
                &now,
                "contribution",
                c.status.as_str(),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// Records a failure on the source: `retrying` when a delayed retry is
    /// scheduled, `failed` when it is final.
    pub async fn record_failure(&self, id: SourceId, will_retry: bool, reason: &str) -> Result<()> {
        let now = format_ts(Utc::now());
        let state = if will_retry { "retrying" } else { "failed" };
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE sources SET state = $2, last_error = $3, updated_at = $4
             WHERE id = $1 AND state <> 'done'",
        )
        .bind(id.to_string())
        .bind(state)
        .bind(reason)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        insert_event(&mut tx, id, &now, state, reason).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sources not yet done nor failed, oldest first. The embedded mode
    /// requeues them at start-up, since its in-process queue does not survive
    /// the process.
    pub async fn unfinished(&self) -> Result<Vec<Job>> {
        let rows = sqlx::query(
            "SELECT id, channel FROM sources
             WHERE state IN ('queued', 'processing', 'retrying')
               AND id NOT IN (SELECT source_id FROM outbox)
             ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Job::new(
                    parse_id(r.try_get("id")?)?,
                    parse_channel(r.try_get("channel")?)?,
                ))
            })
            .collect()
    }

    pub async fn contribution(&self, id: SourceId) -> Result<Option<Contribution>> {
        let row = sqlx::query("SELECT * FROM contributions WHERE source_id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| contribution(&r)).transpose()
    }

    /// Contributions, oldest first.
    pub async fn contributions(&self) -> Result<Vec<Contribution>> {
        let rows = sqlx::query("SELECT * FROM contributions ORDER BY received_at, source_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(contribution).collect()
    }

    /// Sources, oldest first.
    pub async fn sources(&self) -> Result<Vec<SourceRecord>> {
        let rows = sqlx::query("SELECT * FROM sources ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(source_record).collect()
    }

    pub async fn counts(&self) -> Result<Counts> {
        let mut counts = Counts::default();
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM sources GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        for row in rows {
            let n = row.try_get::<i64, _>("n")? as u64;
            match row.try_get::<String, _>("state")?.as_str() {
                "queued" => counts.queued = n,
                "processing" => counts.processing = n,
                "retrying" => counts.retrying = n,
                "done" => counts.done = n,
                "failed" => counts.failed = n,
                _ => {}
            }
        }
        let hour_ago = format_ts(Utc::now() - chrono::Duration::hours(1));
        counts.processed_last_hour = count(
            &self.pool,
            sqlx::query("SELECT COUNT(*) AS n FROM contributions WHERE processed_at >= $1")
                .bind(hour_ago),
        )
        .await?;
        counts.outbox = count(&self.pool, sqlx::query("SELECT COUNT(*) AS n FROM outbox")).await?;
        Ok(counts)
    }

    /// The history of a source: (time, kind, message), oldest first.
    pub async fn events(&self, id: SourceId) -> Result<Vec<(DateTime<Utc>, String, String)>> {
        let rows = sqlx::query(
            "SELECT at, kind, message FROM source_events WHERE source_id = $1 ORDER BY id",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    parse_ts(&r.try_get::<String, _>("at")?).map_err(corrupt("source_events"))?,
                    r.try_get("kind")?,
                    r.try_get("message")?,
                ))
            })
            .collect()
    }
}

async fn count<'q>(
    pool: &AnyPool,
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> Result<u64> {
    Ok(query.fetch_one(pool).await?.try_get::<i64, _>("n")? as u64)
}

async fn insert_outbox(tx: &mut sqlx::AnyConnection, job: &Job, now: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (source_id, channel, payload, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(job.source_id.to_string())
    .bind(job.channel.as_str())
    .bind(String::from_utf8(job.to_wire()).expect("JSON is UTF-8"))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn insert_event(
    tx: &mut sqlx::AnyConnection,
    id: SourceId,
    now: &str,
    kind: &str,
    message: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO source_events (source_id, at, kind, message) VALUES ($1, $2, $3, $4)")
        .bind(id.to_string())
        .bind(now)
        .bind(kind)
        .bind(message)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

fn corrupt<E: std::fmt::Display>(table: &'static str) -> impl Fn(E) -> StoreError {
    move |e| StoreError::Corrupt {
        table,
        reason: e.to_string(),
    }
}

fn parse_id(s: String) -> Result<SourceId> {
    s.parse().map_err(corrupt("sources"))
}

fn parse_channel(s: String) -> Result<Channel> {
    s.parse().map_err(corrupt("sources"))
}

fn parse_urn(s: Option<String>, table: &'static str) -> Result<Option<Urn>> {
    s.map(|u| u.parse().map_err(corrupt(table))).transpose()
}

fn source_record(r: &AnyRow) -> Result<SourceRecord> {
    let source = Source {
        id: parse_id(r.try_get("id")?)?,
        channel: parse_channel(r.try_get("channel")?)?,
        sha256: r.try_get("sha256")?,
        media_type: r.try_get("media_type")?,
        size: r.try_get::<i64, _>("size")? as u64,
        original_name: r.try_get("original_name")?,
        received_at: parse_ts(&r.try_get::<String, _>("received_at")?)
            .map_err(corrupt("sources"))?,
        caller_ref: r.try_get("caller_ref")?,
        urn: parse_urn(r.try_get("urn")?, "sources")?,
        batch: r.try_get("batch")?,
        page: r.try_get::<i64, _>("page")? as u32,
    };
    Ok(SourceRecord {
        source,
        state: r
            .try_get::<String, _>("state")?
            .parse()
            .map_err(corrupt("sources"))?,
        attempts: r.try_get::<i64, _>("attempts")? as u32,
        last_error: r.try_get("last_error")?,
    })
}

fn contribution(r: &AnyRow) -> Result<Contribution> {
    Ok(Contribution {
        source_id: parse_id(r.try_get("source_id")?)?,
        channel: parse_channel(r.try_get("channel")?)?,
        questions: QuestionSet::parse_list(&r.try_get::<String, _>("questions")?)
            .map_err(corrupt("contributions"))?,
        evidence: serde_json::from_str(&r.try_get::<String, _>("evidence")?)
            .map_err(corrupt("contributions"))?,
        text: r.try_get("text")?,
        raw_text: r.try_get("raw_text")?,
        language: r.try_get("language")?,
        confidence: r.try_get::<f64, _>("confidence")? as f32,
        status: r
            .try_get::<String, _>("status")?
            .parse()
            .map_err(corrupt("contributions"))?,
        received_at: parse_ts(&r.try_get::<String, _>("received_at")?)
            .map_err(corrupt("contributions"))?,
        processed_at: parse_ts(&r.try_get::<String, _>("processed_at")?)
            .map_err(corrupt("contributions"))?,
        urn: parse_urn(r.try_get("urn")?, "contributions")?,
        engine: EngineInfo {
            name: r.try_get("engine")?,
            version: r.try_get("engine_version")?,
        },
        late: r.try_get::<i64, _>("late")? != 0,
        redactions: serde_json::from_str(&r.try_get::<String, _>("redactions")?)
            .map_err(corrupt("contributions"))?,
        // Loaded on demand: Store::review_image.
        review_image: None,
    })
}
