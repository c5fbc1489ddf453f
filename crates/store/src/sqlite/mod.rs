//! The SQLite store of the embedded mode: one file, one writer.
//!
//! SQLite keeps its natural types: timestamps as fixed-width RFC 3339 UTC
//! text (which sorts as time), question sets as `1,3`, JSON as text, booleans
//! as 0/1. Queries are checked at run time, by the same tests that run the
//! PostgreSQL store (sqlx's compile-time macros check one database per
//! crate, and PostgreSQL is the one other systems read).

mod people;

use crate::review::{decide, AuditEvent, Filter, PurgeReport, ReviewChange, ReviewError};
use crate::state::{interrupted, not_begun, unfinished_names, EventKind, SourceState, Transition};
use crate::time::{format_ts, parse_ts};
use crate::{
    corrupt, Attempt, ContributionFacts, Counts, Intake, OutboxEntry, Result, SourceRecord,
};
use chrono::{DateTime, Utc};
use recueil_core::{Channel, Contribution, EngineInfo, Job, QuestionSet, Source, SourceId, Urn};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{Row, SqliteConnection};
use std::str::FromStr;
use std::time::Duration;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, Clone)]
pub(crate) struct SqliteStore {
    pub(super) pool: SqlitePool,
}

/// `state IN (…)` for a transition's starting states, as a JSON array bound
/// to one parameter (SQLite has no array type).
fn states_json(t: Transition) -> String {
    names_json(&t.starting_names())
}

/// State names as the JSON array `json_each` reads for `state IN (…)`.
fn names_json(names: &[String]) -> String {
    serde_json::to_string(names).expect("names serialise")
}

impl SqliteStore {
    pub(crate) async fn connect(url: &str) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            // WAL lets readers (status, review) work beside the writer.
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        // SQLite allows one writer: one connection avoids "database is
        // locked" between our own tasks.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(SqliteStore { pool })
    }

    pub(crate) async fn migrate(&self) -> Result<()> {
        MIGRATIONS.run(&self.pool).await?;
        Ok(())
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) async fn ingest_pages(&self, pages: &[Source], bytes: &[u8]) -> Result<Vec<Intake>> {
        let first = &pages[0];
        let now = format_ts(Utc::now());
        let mut tx = self.pool.begin().await?;
        insert_blob(&mut tx, &first.sha256, bytes, &now).await?;
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
                let id: String = sqlx::query_scalar(
                    "SELECT id FROM sources WHERE channel = $1 AND sha256 = $2 AND page = $3",
                )
                .bind(source.channel.as_str())
                .bind(&source.sha256)
                .bind(i64::from(source.page))
                .fetch_one(&mut *tx)
                .await?;
                intakes.push(Intake::Duplicate(parse_id(id)?));
                continue;
            }
            insert_outbox(&mut tx, &Job::new(source.id, source.channel), &now).await?;
            insert_event(
                &mut tx,
                source.id,
                &now,
                EventKind::Ingested,
                &source.original_name,
            )
            .await?;
            intakes.push(Intake::Accepted(source.id));
        }
        tx.commit().await?;
        Ok(intakes)
    }

    /// Moves `ids` by `t` back to the queue (see the PostgreSQL store).
    pub(crate) async fn requeue(
        &self,
        ids: &[SourceId],
        t: Transition,
        cutoff: Option<DateTime<Utc>>,
        note: &str,
    ) -> Result<u64> {
        let now = format_ts(Utc::now());
        let mut tx = self.pool.begin().await?;
        let mut n = 0;
        for id in ids {
            let channel: Option<String> = sqlx::query_scalar(
                "UPDATE sources SET state = $2, last_error = NULL, updated_at = $3
                 WHERE id = $1 AND state IN (SELECT value FROM json_each($4))
                   AND ($5 IS NULL OR updated_at < $5)
                 RETURNING channel",
            )
            .bind(id.to_string())
            .bind(t.to().as_str())
            .bind(&now)
            .bind(states_json(t))
            .bind(cutoff.map(format_ts))
            .fetch_optional(&mut *tx)
            .await?;
            let Some(channel) = channel else { continue };
            let channel: Channel = channel.parse().map_err(corrupt("sources"))?;
            insert_outbox(&mut tx, &Job::new(*id, channel), &now).await?;
            insert_event(&mut tx, *id, &now, EventKind::Replayed, note).await?;
            n += 1;
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Rescues the sources `processing` since before `cutoff`.
    pub(crate) async fn requeue_stalled(
        &self,
        cutoff: DateTime<Utc>,
        note: &str,
    ) -> Result<Vec<SourceId>> {
        let t = Transition::Rescue;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM sources WHERE state IN (SELECT value FROM json_each($1))
               AND updated_at < $2 ORDER BY created_at",
        )
        .bind(states_json(t))
        .bind(format_ts(cutoff))
        .fetch_all(&self.pool)
        .await?;
        let mut rescued = Vec::new();
        for id in ids {
            let id = parse_id(id)?;
            if self.requeue(&[id], t, Some(cutoff), note).await? == 1 {
                rescued.push(id);
            }
        }
        Ok(rescued)
    }

    pub(crate) async fn claim_outbox(
        &self,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<OutboxEntry>> {
        let now = Utc::now();
        let until = format_ts(now + chrono::Duration::from_std(lease).unwrap_or_default());
        let now = format_ts(now);
        // One connection, one writer: the transaction alone keeps two relays
        // of this process from claiming the same rows.
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "UPDATE outbox SET claimed_until = $2
             WHERE id IN (SELECT id FROM outbox
                          WHERE claimed_until IS NULL OR claimed_until < $1
                          ORDER BY id LIMIT $3)
             RETURNING id, payload",
        )
        .bind(&now)
        .bind(&until)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut entries = rows
            .iter()
            .map(|row| {
                let payload: String = row.try_get("payload")?;
                let job = Job::from_wire(payload.as_bytes()).map_err(corrupt("outbox"))?;
                Ok(OutboxEntry {
                    id: row.try_get("id")?,
                    job,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        entries.sort_by_key(|e| e.id);
        Ok(entries)
    }

    pub(crate) async fn complete_outbox(&self, ids: &[i64]) -> Result<()> {
        in_ids("DELETE FROM outbox WHERE id IN (", ids)
            .build()
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn release_outbox(&self, ids: &[i64]) -> Result<()> {
        in_ids("UPDATE outbox SET claimed_until = NULL WHERE id IN (", ids)
            .build()
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn source(&self, id: SourceId) -> Result<Option<SourceRecord>> {
        let row = sqlx::query("SELECT * FROM sources WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| source_record(&r)).transpose()
    }

    pub(crate) async fn source_with_original(
        &self,
        id: SourceId,
    ) -> Result<Option<(SourceRecord, Option<Vec<u8>>)>> {
        let row = sqlx::query(
            "SELECT s.*, b.bytes AS original_bytes
             FROM sources s LEFT JOIN blobs b ON b.sha256 = s.sha256 WHERE s.id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((source_record(&r)?, r.try_get("original_bytes")?)))
            .transpose()
    }

    pub(crate) async fn source_by_batch(
        &self,
        channel: Channel,
        batch: &str,
    ) -> Result<Option<SourceId>> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM sources WHERE channel = $1 AND batch = $2
             ORDER BY created_at, id LIMIT 1",
        )
        .bind(channel.as_str())
        .bind(batch)
        .fetch_optional(&self.pool)
        .await?;
        id.map(parse_id).transpose()
    }

    pub(crate) async fn sources(&self) -> Result<Vec<SourceRecord>> {
        let rows = sqlx::query("SELECT * FROM sources ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(source_record).collect()
    }

    pub(crate) async fn review_image(&self, id: SourceId) -> Result<Option<Vec<u8>>> {
        let bytes: Option<Option<Vec<u8>>> = sqlx::query_scalar(
            "SELECT b.bytes FROM contributions c JOIN blobs b ON b.sha256 = c.review_image_sha256
             WHERE c.source_id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(bytes.flatten())
    }

    pub(crate) async fn original(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let bytes: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT bytes FROM blobs WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(&self.pool)
                .await?;
        Ok(bytes.flatten())
    }

    pub(crate) async fn begin_attempt(&self, id: SourceId, delivery: u32) -> Result<Attempt> {
        let t = Transition::Begin;
        let now = format_ts(Utc::now());
        let mut tx = self.pool.begin().await?;
        let done: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM contributions WHERE source_id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_some() {
            tx.rollback().await?;
            return Ok(Attempt::AlreadyDone);
        }
        let attempts: Option<i64> = sqlx::query_scalar(
            "UPDATE sources SET state = $2, attempts = attempts + 1, last_error = $3, updated_at = $4
             WHERE id = $1 AND state IN (SELECT value FROM json_each($5)) RETURNING attempts",
        )
        .bind(id.to_string())
        .bind(t.to().as_str())
        .bind(interrupted(delivery, &now))
        .bind(&now)
        .bind(states_json(t))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(attempts) = attempts else {
            let state: Option<String> =
                sqlx::query_scalar("SELECT state FROM sources WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
            tx.rollback().await?;
            return not_begun(state.as_deref()).map(|refused| refused.attempt());
        };
        insert_event(
            &mut tx,
            id,
            &now,
            EventKind::Attempt,
            &format!("delivery {delivery}"),
        )
        .await?;
        tx.commit().await?;
        Ok(Attempt::Proceed {
            attempt: u32::try_from(attempts).map_err(corrupt("sources"))?,
        })
    }

    pub(crate) async fn record_contribution(&self, c: &Contribution) -> Result<bool> {
        let t = Transition::Complete;
        let now = format_ts(Utc::now());
        let mut tx = self.pool.begin().await?;
        let image_sha = match &c.review_image {
            Some(png) => {
                let sha = recueil_core::sha256_hex(png);
                insert_blob(&mut tx, &sha, png, &now).await?;
                Some(sha)
            }
            None => None,
        };
        let inserted = sqlx::query(
            "INSERT INTO contributions (source_id, channel, questions, evidence, text, raw_text,
                 language, confidence, status, received_at, processed_at, urn, engine,
                 engine_version, late, redactions, segments, lines, review_image_sha256,
                 updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                     $17, $18, $19, $20)
             ON CONFLICT (source_id) DO NOTHING",
        )
        .bind(c.source_id.to_string())
        .bind(c.channel.as_str())
        .bind(c.questions.to_string())
        .bind(json(&c.evidence))
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
        .bind(c.late)
        .bind(json(&c.redactions))
        .bind(json(&c.segments))
        .bind(json(&c.lines))
        .bind(image_sha)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        sqlx::query(
            "UPDATE sources SET state = $2, last_error = NULL, updated_at = $3
             WHERE id = $1 AND state IN (SELECT value FROM json_each($4))",
        )
        .bind(c.source_id.to_string())
        .bind(t.to().as_str())
        .bind(&now)
        .bind(states_json(t))
        .execute(&mut *tx)
        .await?;
        if inserted {
            insert_event(
                &mut tx,
                c.source_id,
                &now,
                EventKind::Contribution,
                c.status.as_str(),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    pub(crate) async fn record_failure(
        &self,
        id: SourceId,
        t: Transition,
        reason: &str,
    ) -> Result<()> {
        let kind = if t.to() == SourceState::Retrying {
            EventKind::Retrying
        } else {
            EventKind::Failed
        };
        let now = format_ts(Utc::now());
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE sources SET state = $2, last_error = $3, updated_at = $4
             WHERE id = $1 AND state IN (SELECT value FROM json_each($5))",
        )
        .bind(id.to_string())
        .bind(t.to().as_str())
        .bind(reason)
        .bind(&now)
        .bind(states_json(t))
        .execute(&mut *tx)
        .await?;
        insert_event(&mut tx, id, &now, kind, reason).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn unfinished(&self) -> Result<Vec<Job>> {
        let unfinished: Vec<&str> = SourceState::ALL
            .into_iter()
            .filter(|s| s.is_unfinished())
            .map(SourceState::as_str)
            .collect();
        let rows = sqlx::query(
            "SELECT id, channel FROM sources
             WHERE state IN (SELECT value FROM json_each($1))
               AND id NOT IN (SELECT source_id FROM outbox)
             ORDER BY created_at, id",
        )
        .bind(serde_json::to_string(&unfinished).expect("names serialise"))
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

    pub(crate) async fn contribution(&self, id: SourceId) -> Result<Option<Contribution>> {
        let row = sqlx::query("SELECT * FROM contributions WHERE source_id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| contribution(&r)).transpose()
    }

    pub(crate) async fn contribution_facts(&self) -> Result<Vec<ContributionFacts>> {
        let rows = sqlx::query(
            "SELECT channel, status, questions, urn, received_at, processed_at, engine,
                    engine_version
             FROM contributions ORDER BY received_at, source_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ContributionFacts {
                    channel: parse_channel(r.try_get("channel")?)?,
                    status: r
                        .try_get::<String, _>("status")?
                        .parse()
                        .map_err(corrupt("contributions"))?,
                    questions: QuestionSet::parse_list(&r.try_get::<String, _>("questions")?)
                        .map_err(corrupt("contributions"))?,
                    urn: parse_urn(r.try_get("urn")?, "contributions")?,
                    received_at: parse_ts(&r.try_get::<String, _>("received_at")?)
                        .map_err(corrupt("contributions"))?,
                    processed_at: parse_ts(&r.try_get::<String, _>("processed_at")?)
                        .map_err(corrupt("contributions"))?,
                    engine: EngineInfo {
                        name: r.try_get("engine")?,
                        version: r.try_get("engine_version")?,
                    },
                })
            })
            .collect()
    }

    pub(crate) async fn select(&self, filter: &Filter) -> Result<Vec<Contribution>> {
        let rows = sqlx::query(
            "SELECT * FROM contributions
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR received_at >= $2)
             ORDER BY received_at, source_id",
        )
        .bind(filter.status.map(|s| s.as_str()))
        .bind(filter.since.map(format_ts))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(contribution).collect()
    }

    pub(crate) async fn counts(&self) -> Result<Counts> {
        let mut counts = Counts::default();
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM sources GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        for row in rows {
            let state: SourceState = row
                .try_get::<String, _>("state")?
                .parse()
                .map_err(corrupt("sources"))?;
            counts.add(state, row.try_get::<i64, _>("n")? as u64);
        }
        let hour_ago = format_ts(Utc::now() - chrono::Duration::hours(1));
        counts.processed_last_hour = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM contributions WHERE processed_at >= $1",
        )
        .bind(hour_ago)
        .fetch_one(&self.pool)
        .await? as u64;
        counts.outbox = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM outbox")
            .fetch_one(&self.pool)
            .await? as u64;
        let oldest: Option<String> = sqlx::query_scalar(
            "SELECT MIN(created_at) FROM sources WHERE state IN (SELECT value FROM json_each($1))",
        )
        .bind(names_json(&unfinished_names()))
        .fetch_one(&self.pool)
        .await?;
        counts.oldest_unfinished = oldest
            .as_deref()
            .map(parse_ts)
            .transpose()
            .map_err(corrupt("sources"))?;
        let rows = sqlx::query(
            "SELECT channel, status, COUNT(*) AS n FROM contributions GROUP BY channel, status",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            counts.contributions.push((
                row.try_get::<String, _>("channel")?
                    .parse()
                    .map_err(corrupt("contributions"))?,
                row.try_get::<String, _>("status")?
                    .parse()
                    .map_err(corrupt("contributions"))?,
                row.try_get::<i64, _>("n")? as u64,
            ));
        }
        Ok(counts)
    }

    pub(crate) async fn events(
        &self,
        id: SourceId,
    ) -> Result<Vec<(DateTime<Utc>, String, String)>> {
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

    pub(crate) async fn review(
        &self,
        id: SourceId,
        actor: &str,
        change: ReviewChange,
    ) -> std::result::Result<Contribution, ReviewError> {
        let now = format_ts(Utc::now());
        // The one connection serialises writers: the row cannot change
        // between this read and the update.
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT * FROM contributions WHERE source_id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(ReviewError::NotFound(id))?;
        let before = contribution(&row)?;
        let d = decide(&before, actor, change)?;
        let after = &d.after;
        sqlx::query(
            "UPDATE contributions SET text = $2, raw_text = $3, redactions = $4, questions = $5,
                 evidence = $6, status = $7, reject_reason = $8, updated_at = $9
             WHERE source_id = $1",
        )
        .bind(id.to_string())
        .bind(&after.text)
        .bind(&after.raw_text)
        .bind(json(&after.redactions))
        .bind(after.questions.to_string())
        .bind(json(&after.evidence))
        .bind(after.status.as_str())
        .bind(d.reject_reason.map(|r| r.as_str()))
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO audit_events (source_id, at, actor, action, before, after)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.to_string())
        .bind(&now)
        .bind(actor)
        .bind(d.action)
        .bind(d.audit_before.to_string())
        .bind(d.audit_after.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(d.after)
    }

    pub(crate) async fn audit(&self, id: SourceId) -> Result<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT at, actor, action, before, after FROM audit_events
             WHERE source_id = $1 ORDER BY id",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let value = |col: &str| -> Result<serde_json::Value> {
                    match r.try_get::<Option<String>, _>(col)? {
                        Some(s) => serde_json::from_str(&s).map_err(corrupt("audit_events")),
                        None => Ok(serde_json::Value::Null),
                    }
                };
                Ok(AuditEvent {
                    at: parse_ts(&r.try_get::<String, _>("at")?)
                        .map_err(corrupt("audit_events"))?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    before: value("before")?,
                    after: value("after")?,
                })
            })
            .collect()
    }

    pub(crate) async fn purge(&self, cutoff: DateTime<Utc>, dry_run: bool) -> Result<PurgeReport> {
        let cutoff = format_ts(cutoff);
        let now = format_ts(Utc::now());
        let mut tx = self.pool.begin().await?;
        // An original goes only when every page made from it is published
        // or rejected before the cutoff.
        let rows = sqlx::query(
            "SELECT b.sha256, b.size FROM blobs b
             WHERE b.bytes IS NOT NULL
               AND EXISTS (SELECT 1 FROM sources s WHERE s.sha256 = b.sha256)
               AND NOT EXISTS (
                 SELECT 1 FROM sources s
                 LEFT JOIN contributions c ON c.source_id = s.id
                 WHERE s.sha256 = b.sha256
                   AND (c.source_id IS NULL
                        OR c.status NOT IN ('published', 'rejected')
                        OR c.processed_at >= $1))",
        )
        .bind(&cutoff)
        .fetch_all(&mut *tx)
        .await?;
        let mut report = PurgeReport::default();
        for row in rows {
            let sha: String = row.try_get("sha256")?;
            report.originals += 1;
            report.bytes += row.try_get::<i64, _>("size")? as u64;
            let sources: Vec<String> =
                sqlx::query_scalar("SELECT id FROM sources WHERE sha256 = $1")
                    .bind(&sha)
                    .fetch_all(&mut *tx)
                    .await?;
            report.sources += sources.len() as u64;
            if dry_run {
                continue;
            }
            sqlx::query("UPDATE blobs SET bytes = NULL, purged_at = $2 WHERE sha256 = $1")
                .bind(&sha)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            for id in sources {
                insert_event(
                    &mut tx,
                    parse_id(id)?,
                    &now,
                    EventKind::Purged,
                    "original deleted (retention)",
                )
                .await?;
            }
        }
        // Reviewers' images of those contributions go with the originals.
        let crops = sqlx::query(
            "UPDATE blobs SET bytes = NULL, purged_at = $2
             WHERE bytes IS NOT NULL AND sha256 IN (
                 SELECT review_image_sha256 FROM contributions
                 WHERE review_image_sha256 IS NOT NULL
                   AND status IN ('published', 'rejected') AND processed_at < $1)",
        )
        .bind(&cutoff)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        report.originals += crops;
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(report)
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain values serialise to JSON")
}

async fn insert_blob(
    tx: &mut SqliteConnection,
    sha256: &str,
    bytes: &[u8],
    now: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO blobs (sha256, bytes, size, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(sha256)
    .bind(bytes)
    .bind(bytes.len() as i64)
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
}

async fn insert_outbox(tx: &mut SqliteConnection, job: &Job, now: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (source_id, channel, payload, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(job.source_id.to_string())
    .bind(job.channel.as_str())
    .bind(String::from_utf8(job.to_wire()).expect("JSON is UTF-8"))
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
}

async fn insert_event(
    tx: &mut SqliteConnection,
    id: SourceId,
    now: &str,
    kind: EventKind,
    message: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO source_events (source_id, at, kind, message) VALUES ($1, $2, $3, $4)")
        .bind(id.to_string())
        .bind(now)
        .bind(kind.as_str())
        .bind(message)
        .execute(tx)
        .await?;
    Ok(())
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

fn source_record(r: &SqliteRow) -> Result<SourceRecord> {
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
        page: u32::try_from(r.try_get::<i64, _>("page")?).map_err(corrupt("sources"))?,
    };
    Ok(SourceRecord {
        source,
        state: r
            .try_get::<String, _>("state")?
            .parse()
            .map_err(corrupt("sources"))?,
        attempts: u32::try_from(r.try_get::<i64, _>("attempts")?).map_err(corrupt("sources"))?,
        last_error: r.try_get("last_error")?,
    })
}

fn contribution(r: &SqliteRow) -> Result<Contribution> {
    let from_json = |col: &str| -> Result<serde_json::Value> {
        serde_json::from_str(&r.try_get::<String, _>(col)?).map_err(corrupt("contributions"))
    };
    Ok(Contribution {
        source_id: parse_id(r.try_get("source_id")?)?,
        channel: parse_channel(r.try_get("channel")?)?,
        questions: QuestionSet::parse_list(&r.try_get::<String, _>("questions")?)
            .map_err(corrupt("contributions"))?,
        evidence: serde_json::from_value(from_json("evidence")?)
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
        late: r.try_get::<bool, _>("late")?,
        redactions: serde_json::from_value(from_json("redactions")?)
            .map_err(corrupt("contributions"))?,
        segments: serde_json::from_value(from_json("segments")?)
            .map_err(corrupt("contributions"))?,
        lines: serde_json::from_value(from_json("lines")?).map_err(corrupt("contributions"))?,
        // Loaded on demand: Store::review_image.
        review_image: None,
    })
}

/// `head` followed by the ids, bound, and the closing parenthesis: SQLite
/// has no array parameter. A relay's batch is at most a few hundred ids,
/// under SQLite's limit on bound parameters (32,766).
fn in_ids<'a>(head: &str, ids: &'a [i64]) -> sqlx::QueryBuilder<'a, sqlx::Sqlite> {
    let mut query = sqlx::QueryBuilder::new(head);
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    query.push(")");
    query
}
