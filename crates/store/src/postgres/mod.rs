//! The PostgreSQL store: the platform's database, with native types and
//! queries checked against the schema when the crate compiles.
//!
//! Every statement is a `sqlx::query!` macro: a column renamed or retyped by a
//! migration makes the build fail here instead of a worker at run time. The
//! macros read the schema from `crates/store/.sqlx` (committed), written by
//! `scripts/sqlx-prepare.sh` against a database migrated from scratch.

mod people;

use crate::review::{decide, AuditEvent, Filter, PurgeReport, ReviewChange, ReviewError};
use crate::state::{interrupted, not_begun, unfinished_names, EventKind, SourceState, Transition};
use crate::{
    corrupt, Begun, ContributionFacts, Counts, Intake, OutboxEntry, Result, SourceRecord,
    StoreError,
};
use chrono::{DateTime, Utc};
use recueil_core::engine::{Segment, TextLine};
use recueil_core::{
    Channel, Contribution, EngineInfo, Evidence, Job, Masked, Question, QuestionSet, Source,
    SourceId, Urn,
};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::types::Json;
use sqlx::PgConnection;
use std::time::Duration;
use uuid::Uuid;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone)]
pub(crate) struct PgStore {
    pub(super) pool: PgPool,
}

/// A `sources` row as PostgreSQL types it.
struct SourceRow {
    id: Uuid,
    channel: String,
    sha256: String,
    media_type: String,
    size: i64,
    original_name: String,
    received_at: DateTime<Utc>,
    caller_ref: Option<String>,
    urn: Option<String>,
    batch: Option<String>,
    page: i32,
    state: String,
    attempts: i32,
    last_error: Option<String>,
}

impl TryFrom<SourceRow> for SourceRecord {
    type Error = StoreError;
    fn try_from(r: SourceRow) -> Result<SourceRecord> {
        Ok(SourceRecord {
            source: Source {
                id: SourceId(r.id),
                channel: r.channel.parse().map_err(corrupt("sources"))?,
                sha256: r.sha256,
                media_type: r.media_type,
                size: u64::try_from(r.size).map_err(corrupt("sources"))?,
                original_name: r.original_name,
                received_at: r.received_at,
                caller_ref: r.caller_ref,
                urn: r
                    .urn
                    .map(|u| u.parse::<Urn>())
                    .transpose()
                    .map_err(corrupt("sources"))?,
                batch: r.batch,
                page: u32::try_from(r.page).map_err(corrupt("sources"))?,
            },
            state: r.state.parse().map_err(corrupt("sources"))?,
            attempts: u32::try_from(r.attempts).map_err(corrupt("sources"))?,
            last_error: r.last_error,
        })
    }
}

/// A `contributions` row as PostgreSQL types it.
struct ContributionRow {
    source_id: Uuid,
    channel: String,
    questions: Vec<i16>,
    evidence: Json<Vec<Evidence>>,
    text: String,
    raw_text: String,
    language: Option<String>,
    confidence: f32,
    status: String,
    received_at: DateTime<Utc>,
    processed_at: DateTime<Utc>,
    urn: Option<String>,
    engine: String,
    engine_version: String,
    late: bool,
    redactions: Json<Vec<Masked>>,
    segments: Json<Vec<Segment>>,
    lines: Json<Vec<TextLine>>,
}

impl TryFrom<ContributionRow> for Contribution {
    type Error = StoreError;
    fn try_from(r: ContributionRow) -> Result<Contribution> {
        Ok(Contribution {
            source_id: SourceId(r.source_id),
            channel: r.channel.parse().map_err(corrupt("contributions"))?,
            questions: question_set(&r.questions)?,
            evidence: r.evidence.0,
            text: r.text,
            raw_text: r.raw_text,
            language: r.language,
            confidence: r.confidence,
            status: r.status.parse().map_err(corrupt("contributions"))?,
            received_at: r.received_at,
            processed_at: r.processed_at,
            urn: r
                .urn
                .map(|u| u.parse::<Urn>())
                .transpose()
                .map_err(corrupt("contributions"))?,
            engine: EngineInfo {
                name: r.engine,
                version: r.engine_version,
            },
            late: r.late,
            redactions: r.redactions.0,
            segments: r.segments.0,
            lines: r.lines.0,
            // Loaded on demand: Store::review_image.
            review_image: None,
        })
    }
}

fn question_set(numbers: &[i16]) -> Result<QuestionSet> {
    let mut set = QuestionSet::empty();
    for &n in numbers {
        let q = u8::try_from(n)
            .ok()
            .and_then(Question::new)
            .ok_or_else(|| StoreError::Corrupt {
                table: "contributions",
                reason: format!("question {n} is not 1, 2 or 3"),
            })?;
        set.insert(q);
    }
    Ok(set)
}

fn question_numbers(set: QuestionSet) -> Vec<i16> {
    set.iter().map(|q| i16::from(q.number())).collect()
}

fn invalid_json(e: serde_json::Error) -> StoreError {
    StoreError::Invalid(format!("a contribution could not be written as JSON: {e}"))
}

fn page(p: u32) -> Result<i32> {
    i32::try_from(p).map_err(|_| StoreError::Invalid(format!("page {p} is out of range")))
}

impl PgStore {
    pub(crate) async fn connect(url: &str) -> Result<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(PgStore { pool })
    }

    pub(crate) async fn migrate(&self) -> Result<()> {
        MIGRATIONS.run(&self.pool).await?;
        Ok(())
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    /// Stores a file's pages: one statement per page (source, outbox entry
    /// and event together, the original's bytes with the first page), so a
    /// voicemail costs one round trip and one commit; the pages of one file
    /// share a transaction.
    pub(crate) async fn ingest_pages(&self, pages: &[Source], bytes: &[u8]) -> Result<Vec<Intake>> {
        if let [source] = pages {
            let mut db = self.pool.acquire().await?;
            return Ok(vec![ingest_page(&mut db, source, Some(bytes)).await?]);
        }
        let mut tx = self.pool.begin().await?;
        let mut intakes = Vec::with_capacity(pages.len());
        for (n, source) in pages.iter().enumerate() {
            let original = (n == 0).then_some(bytes);
            intakes.push(ingest_page(&mut tx, source, original).await?);
        }
        tx.commit().await?;
        Ok(intakes)
    }

    /// Moves `ids` by `t` (a replay or a rescue) back to the queue through
    /// the outbox, each only if it is in one of `t`'s starting states and,
    /// with a `cutoff`, unchanged since before it.
    pub(crate) async fn requeue(
        &self,
        ids: &[SourceId],
        t: Transition,
        cutoff: Option<DateTime<Utc>>,
        note: &str,
    ) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let mut n = 0;
        for id in ids {
            let channel = sqlx::query_scalar!(
                "UPDATE sources SET state = $2, last_error = NULL, updated_at = now()
                 WHERE id = $1 AND state = ANY($3)
                   AND ($4::timestamptz IS NULL OR updated_at < $4)
                 RETURNING channel",
                id.0,
                t.to().as_str(),
                &t.starting_names(),
                cutoff,
            )
            .fetch_optional(&mut *tx)
            .await?;
            let Some(channel) = channel else { continue };
            let channel: Channel = channel.parse().map_err(corrupt("sources"))?;
            insert_outbox(&mut tx, &Job::new(*id, channel)).await?;
            insert_event(&mut tx, *id, EventKind::Replayed, note).await?;
            n += 1;
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Rescues the sources `processing` since before `cutoff` (see
    /// [`crate::Store::requeue_stalled`]).
    pub(crate) async fn requeue_stalled(
        &self,
        cutoff: DateTime<Utc>,
        note: &str,
    ) -> Result<Vec<SourceId>> {
        let t = Transition::Rescue;
        let stalled: Vec<SourceId> = sqlx::query_scalar!(
            "SELECT id FROM sources WHERE state = ANY($1) AND updated_at < $2 ORDER BY created_at",
            &t.starting_names(),
            cutoff,
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(SourceId)
        .collect();
        let mut rescued = Vec::new();
        for id in stalled {
            // One by one: a source a worker finished meanwhile is skipped.
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
        let lease_s = lease.as_secs_f64();
        // SKIP LOCKED: relays racing for the same rows each take others.
        let rows = sqlx::query!(
            "UPDATE outbox SET claimed_until = now() + make_interval(secs => $2)
             WHERE id IN (
                 SELECT id FROM outbox
                 WHERE claimed_until IS NULL OR claimed_until < now()
                 ORDER BY id LIMIT $1
                 FOR UPDATE SKIP LOCKED)
             RETURNING id, payload::text AS \"payload!\"",
            i64::from(limit),
            lease_s,
        )
        .fetch_all(&self.pool)
        .await?;
        let mut entries: Vec<OutboxEntry> = rows
            .into_iter()
            .map(|r| {
                let job = Job::from_wire(r.payload.as_bytes()).map_err(corrupt("outbox"))?;
                Ok(OutboxEntry { id: r.id, job })
            })
            .collect::<Result<_>>()?;
        entries.sort_by_key(|e| e.id);
        Ok(entries)
    }

    pub(crate) async fn complete_outbox(&self, ids: &[i64]) -> Result<()> {
        sqlx::query!("DELETE FROM outbox WHERE id = ANY($1)", ids)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn release_outbox(&self, ids: &[i64]) -> Result<()> {
        sqlx::query!(
            "UPDATE outbox SET claimed_until = NULL WHERE id = ANY($1)",
            ids
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn source(&self, id: SourceId) -> Result<Option<SourceRecord>> {
        sqlx::query_as!(
            SourceRow,
            "SELECT id, channel, sha256, media_type, size, original_name, received_at,
                    caller_ref, urn, batch, page, state, attempts, last_error
             FROM sources WHERE id = $1",
            id.0
        )
        .fetch_optional(&self.pool)
        .await?
        .map(SourceRecord::try_from)
        .transpose()
    }

    pub(crate) async fn source_by_batch(
        &self,
        channel: Channel,
        batch: &str,
    ) -> Result<Option<SourceId>> {
        let id = sqlx::query_scalar!(
            "SELECT id FROM sources WHERE channel = $1 AND batch = $2
             ORDER BY created_at, id LIMIT 1",
            channel.as_str(),
            batch
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(id.map(SourceId))
    }

    pub(crate) async fn sources(&self) -> Result<Vec<SourceRecord>> {
        sqlx::query_as!(
            SourceRow,
            "SELECT id, channel, sha256, media_type, size, original_name, received_at,
                    caller_ref, urn, batch, page, state, attempts, last_error
             FROM sources ORDER BY created_at, id"
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(SourceRecord::try_from)
        .collect()
    }

    pub(crate) async fn review_image(&self, id: SourceId) -> Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar!(
            "SELECT b.bytes FROM contributions c JOIN blobs b ON b.sha256 = c.review_image_sha256
             WHERE c.source_id = $1",
            id.0
        )
        .fetch_optional(&self.pool)
        .await?
        .flatten())
    }

    pub(crate) async fn original(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar!("SELECT bytes FROM blobs WHERE sha256 = $1", sha256)
                .fetch_optional(&self.pool)
                .await?
                .flatten(),
        )
    }

    /// One statement for the whole batch in the common case: the sources
    /// moved to `processing`, their `attempt` events written, and each
    /// source read back with its original's bytes (what the worker needs
    /// next); a second one only to say why some did not move.
    pub(crate) async fn begin_attempts(
        &self,
        deliveries: &[(SourceId, u32)],
    ) -> Result<Vec<Result<Begun>>> {
        let t = Transition::Begin;
        let started = crate::time::format_ts(Utc::now());
        let ids: Vec<Uuid> = deliveries.iter().map(|(id, _)| id.0).collect();
        let last_errors: Vec<String> = deliveries
            .iter()
            .map(|(_, d)| interrupted(*d, &started))
            .collect();
        let messages: Vec<String> = deliveries
            .iter()
            .map(|(_, d)| format!("delivery {d}"))
            .collect();
        let rows = sqlx::query!(
            "WITH batch AS (
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[])
                     AS b(id, last_error, message)
             ), begun AS (
                 UPDATE sources s SET state = $4, attempts = s.attempts + 1,
                     last_error = b.last_error, updated_at = now()
                 FROM batch b
                 WHERE s.id = b.id AND s.state = ANY($5)
                   AND NOT EXISTS (SELECT 1 FROM contributions c WHERE c.source_id = s.id)
                 RETURNING s.id, s.channel, s.sha256, s.media_type, s.size, s.original_name,
                     s.received_at, s.caller_ref, s.urn, s.batch, s.page, s.state, s.attempts,
                     s.last_error, b.message
             ), logged AS (
                 INSERT INTO source_events (source_id, at, kind, message)
                 SELECT id, now(), $6, message FROM begun
             )
             SELECT g.id AS \"id!\", g.channel AS \"channel!\", g.sha256 AS \"sha256!\",
                    g.media_type AS \"media_type!\", g.size AS \"size!\",
                    g.original_name AS \"original_name!\", g.received_at AS \"received_at!\",
                    g.caller_ref, g.urn, g.batch, g.page AS \"page!\", g.state AS \"state!\",
                    g.attempts AS \"attempts!\", g.last_error, o.bytes AS \"bytes?\"
             FROM begun g LEFT JOIN blobs o ON o.sha256 = g.sha256",
            &ids,
            &last_errors,
            &messages,
            t.to().as_str(),
            &t.starting_names(),
            EventKind::Attempt.as_str(),
        )
        .fetch_all(&self.pool)
        .await?;
        let mut begun = std::collections::HashMap::with_capacity(rows.len());
        for row in rows {
            let source = SourceRecord::try_from(SourceRow {
                id: row.id,
                channel: row.channel,
                sha256: row.sha256,
                media_type: row.media_type,
                size: row.size,
                original_name: row.original_name,
                received_at: row.received_at,
                caller_ref: row.caller_ref,
                urn: row.urn,
                batch: row.batch,
                page: row.page,
                state: row.state,
                attempts: row.attempts,
                last_error: row.last_error,
            });
            begun.insert(
                row.id,
                source.map(|source| Begun::Proceed {
                    source,
                    original: row.bytes,
                }),
            );
        }
        let not_begun_ids: Vec<Uuid> = ids
            .iter()
            .filter(|id| !begun.contains_key(*id))
            .copied()
            .collect();
        if !not_begun_ids.is_empty() {
            // Some rows did not move: their job is done (its contribution is
            // stored), or there is no such source. A statement of its own
            // reads the answer: when another delivery of the job committed
            // while the UPDATE above waited for its row lock (a worker
            // SIGKILLed while its COMMIT was in flight: the server completes
            // it after the broker has already handed the message on), the
            // UPDATE saw the new state, but the rest of its statement still
            // had the old snapshot.
            let rows = sqlx::query!(
                "SELECT b.id AS \"id!\", s.state AS \"state?\",
                        EXISTS (SELECT 1 FROM contributions c WHERE c.source_id = b.id)
                            AS \"done!\"
                 FROM UNNEST($1::uuid[]) AS b(id) LEFT JOIN sources s ON s.id = b.id",
                &not_begun_ids,
            )
            .fetch_all(&self.pool)
            .await?;
            for row in rows {
                let answer = if row.done {
                    Ok(Begun::AlreadyDone)
                } else {
                    not_begun(row.state.as_deref())
                };
                begun.insert(row.id, answer);
            }
        }
        Ok(ids
            .iter()
            .map(|id| {
                begun.remove(id).unwrap_or_else(|| {
                    Err(StoreError::Invalid(format!(
                        "source {id}: the attempt was neither begun nor explained"
                    )))
                })
            })
            .collect())
    }

    /// The contributions of a batch, the sources' moves to `done`, their
    /// events and the reviewers' images in one statement: one round trip and
    /// one commit for the batch. A second delivery of a job stores nothing
    /// (`false` in its place).
    pub(crate) async fn record_contributions(&self, batch: &[&Contribution]) -> Result<Vec<bool>> {
        let t = Transition::Complete;
        let ids: Vec<Uuid> = batch.iter().map(|c| c.source_id.0).collect();
        let column = |f: &dyn Fn(&Contribution) -> String| -> Vec<String> {
            batch.iter().map(|c| f(c)).collect()
        };
        let json = |f: &dyn Fn(&Contribution) -> serde_json::Result<String>| {
            batch
                .iter()
                .map(|c| f(c))
                .collect::<serde_json::Result<Vec<String>>>()
        };
        let channels = column(&|c| c.channel.as_str().to_owned());
        // `smallint[]` literals: a column of arrays cannot be unnested from
        // an array of arrays (PostgreSQL's arrays are rectangular).
        let questions = column(&|c| {
            let numbers: Vec<String> = question_numbers(c.questions)
                .iter()
                .map(i16::to_string)
                .collect();
            format!("{{{}}}", numbers.join(","))
        });
        let evidence = json(&|c| serde_json::to_string(&c.evidence)).map_err(invalid_json)?;
        let texts = column(&|c| c.text.clone());
        let raw_texts = column(&|c| c.raw_text.clone());
        let languages: Vec<Option<String>> = batch.iter().map(|c| c.language.clone()).collect();
        let confidences: Vec<f32> = batch.iter().map(|c| c.confidence).collect();
        let statuses = column(&|c| c.status.as_str().to_owned());
        let received: Vec<DateTime<Utc>> = batch.iter().map(|c| c.received_at).collect();
        let processed: Vec<DateTime<Utc>> = batch.iter().map(|c| c.processed_at).collect();
        let urns: Vec<Option<String>> = batch
            .iter()
            .map(|c| c.urn.as_ref().map(|u| u.as_str().to_owned()))
            .collect();
        let engines = column(&|c| c.engine.name.clone());
        let versions = column(&|c| c.engine.version.clone());
        let late: Vec<bool> = batch.iter().map(|c| c.late).collect();
        let redactions = json(&|c| serde_json::to_string(&c.redactions)).map_err(invalid_json)?;
        let segments = json(&|c| serde_json::to_string(&c.segments)).map_err(invalid_json)?;
        let lines = json(&|c| serde_json::to_string(&c.lines)).map_err(invalid_json)?;
        let images: Vec<Option<&[u8]>> = batch.iter().map(|c| c.review_image.as_deref()).collect();
        let image_shas: Vec<Option<String>> = images
            .iter()
            .map(|i| i.map(recueil_core::sha256_hex))
            .collect();
        let rows = sqlx::query!(
            "WITH batch AS (
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::text[], $7::text[], $8::real[], $9::text[], $10::timestamptz[],
                     $11::timestamptz[], $12::text[], $13::text[], $14::text[], $15::bool[],
                     $16::text[], $17::text[], $18::text[], $19::text[], $20::bytea[])
                 AS b(source_id, channel, questions, evidence, text, raw_text, language,
                      confidence, status, received_at, processed_at, urn, engine,
                      engine_version, late, redactions, segments, lines, image_sha, image)
             ), image AS (
                 INSERT INTO blobs (sha256, bytes, size, created_at)
                 SELECT DISTINCT ON (image_sha) image_sha, image, length(image), now()
                 FROM batch WHERE image IS NOT NULL
                 ON CONFLICT (sha256) DO NOTHING
             ), stored AS (
                 INSERT INTO contributions (source_id, channel, questions, evidence, text,
                     raw_text, language, confidence, status, received_at, processed_at, urn,
                     engine, engine_version, late, redactions, segments, lines,
                     review_image_sha256, updated_at)
                 SELECT source_id, channel, questions::smallint[], evidence::jsonb, text,
                        raw_text, language, confidence, status, received_at, processed_at, urn,
                        engine, engine_version, late, redactions::jsonb, segments::jsonb,
                        lines::jsonb, image_sha, now()
                 FROM batch
                 ON CONFLICT (source_id) DO NOTHING
                 RETURNING source_id, status
             ), moved AS (
                 UPDATE sources s SET state = $21, last_error = NULL, updated_at = now()
                 FROM batch b
                 WHERE s.id = b.source_id AND s.state = ANY($22)
             ), logged AS (
                 INSERT INTO source_events (source_id, at, kind, message)
                 SELECT source_id, now(), $23, status FROM stored
             )
             SELECT b.source_id AS \"source_id!\",
                    EXISTS (SELECT 1 FROM stored WHERE stored.source_id = b.source_id)
                        AS \"inserted!\"
             FROM batch b",
            &ids,
            &channels,
            &questions,
            &evidence,
            &texts,
            &raw_texts,
            &languages as &[Option<String>],
            &confidences,
            &statuses,
            &received,
            &processed,
            &urns as &[Option<String>],
            &engines,
            &versions,
            &late,
            &redactions,
            &segments,
            &lines,
            &image_shas as &[Option<String>],
            &images as &[Option<&[u8]>],
            t.to().as_str(),
            &t.starting_names(),
            EventKind::Contribution.as_str(),
        )
        .fetch_all(&self.pool)
        .await?;
        let inserted: std::collections::HashMap<Uuid, bool> = rows
            .into_iter()
            .map(|r| (r.source_id, r.inserted))
            .collect();
        Ok(ids
            .iter()
            .map(|id| inserted.get(id).copied().unwrap_or(false))
            .collect())
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
        let mut tx = self.pool.begin().await?;
        sqlx::query!(
            "UPDATE sources SET state = $2, last_error = $3, updated_at = now()
             WHERE id = $1 AND state = ANY($4)",
            id.0,
            t.to().as_str(),
            reason,
            &t.starting_names(),
        )
        .execute(&mut *tx)
        .await?;
        insert_event(&mut tx, id, kind, reason).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn unfinished(&self) -> Result<Vec<Job>> {
        let unfinished: Vec<String> = SourceState::ALL
            .into_iter()
            .filter(|s| s.is_unfinished())
            .map(|s| s.as_str().to_owned())
            .collect();
        sqlx::query!(
            "SELECT id, channel FROM sources
             WHERE state = ANY($1) AND id NOT IN (SELECT source_id FROM outbox)
             ORDER BY created_at, id",
            &unfinished
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            let channel = r.channel.parse().map_err(corrupt("sources"))?;
            Ok(Job::new(SourceId(r.id), channel))
        })
        .collect()
    }

    pub(crate) async fn contribution(&self, id: SourceId) -> Result<Option<Contribution>> {
        fetch_contribution(&self.pool, id).await
    }

    pub(crate) async fn contribution_facts(&self) -> Result<Vec<ContributionFacts>> {
        sqlx::query!(
            "SELECT channel, status, questions, urn, received_at, processed_at, engine,
                    engine_version
             FROM contributions ORDER BY received_at, source_id"
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(ContributionFacts {
                channel: r.channel.parse().map_err(corrupt("contributions"))?,
                status: r.status.parse().map_err(corrupt("contributions"))?,
                questions: question_set(&r.questions)?,
                urn: r
                    .urn
                    .map(|u| u.parse::<Urn>())
                    .transpose()
                    .map_err(corrupt("contributions"))?,
                received_at: r.received_at,
                processed_at: r.processed_at,
                engine: EngineInfo {
                    name: r.engine,
                    version: r.engine_version,
                },
            })
        })
        .collect()
    }

    pub(crate) async fn select(&self, filter: &Filter) -> Result<Vec<Contribution>> {
        sqlx::query_as!(
            ContributionRow,
            r#"SELECT source_id, channel, questions, evidence AS "evidence: Json<Vec<Evidence>>",
                    text, raw_text, language, confidence, status, received_at, processed_at,
                    urn, engine, engine_version, late,
                    redactions AS "redactions: Json<Vec<Masked>>",
                    segments AS "segments: Json<Vec<Segment>>",
                    lines AS "lines: Json<Vec<TextLine>>"
             FROM contributions
             WHERE ($1::text IS NULL OR status = $1) AND ($2::timestamptz IS NULL OR received_at >= $2)
             ORDER BY received_at, source_id"#,
            filter.status.map(|s| s.as_str()),
            filter.since,
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(Contribution::try_from)
        .collect()
    }

    pub(crate) async fn counts(&self) -> Result<Counts> {
        let mut counts = Counts::default();
        let rows = sqlx::query!("SELECT state, COUNT(*) AS \"n!\" FROM sources GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        for row in rows {
            let state: SourceState = row.state.parse().map_err(corrupt("sources"))?;
            counts.add(state, row.n as u64);
        }
        counts.processed_last_hour = sqlx::query_scalar!(
            "SELECT COUNT(*) AS \"n!\" FROM contributions
             WHERE processed_at >= now() - interval '1 hour'"
        )
        .fetch_one(&self.pool)
        .await? as u64;
        counts.outbox = sqlx::query_scalar!("SELECT COUNT(*) AS \"n!\" FROM outbox")
            .fetch_one(&self.pool)
            .await? as u64;
        counts.oldest_unfinished = sqlx::query_scalar!(
            "SELECT MIN(created_at) FROM sources WHERE state = ANY($1)",
            &unfinished_names()
        )
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query!(
            "SELECT channel, status, COUNT(*) AS \"n!\" FROM contributions GROUP BY channel, status"
        )
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            counts.contributions.push((
                row.channel.parse().map_err(corrupt("contributions"))?,
                row.status.parse().map_err(corrupt("contributions"))?,
                row.n as u64,
            ));
        }
        Ok(counts)
    }

    pub(crate) async fn events(
        &self,
        id: SourceId,
    ) -> Result<Vec<(DateTime<Utc>, String, String)>> {
        Ok(sqlx::query!(
            "SELECT at, kind, message FROM source_events WHERE source_id = $1 ORDER BY id",
            id.0
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| (r.at, r.kind, r.message))
        .collect())
    }

    pub(crate) async fn review(
        &self,
        id: SourceId,
        actor: &str,
        change: ReviewChange,
    ) -> std::result::Result<Contribution, ReviewError> {
        let mut tx = self.pool.begin().await?;
        // The row is locked for the rest of the transaction, so two
        // reviewers' changes apply one after the other instead of one
        // silently undoing the other.
        sqlx::query!(
            "SELECT source_id FROM contributions WHERE source_id = $1 FOR UPDATE",
            id.0
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(ReviewError::NotFound(id))?;
        let before = fetch_contribution(&mut *tx, id)
            .await?
            .ok_or(ReviewError::NotFound(id))?;
        let d = decide(&before, actor, change)?;
        let after = &d.after;
        sqlx::query!(
            "UPDATE contributions SET text = $2, raw_text = $3, redactions = $4, questions = $5,
                 evidence = $6, status = $7, reject_reason = $8
             WHERE source_id = $1",
            id.0,
            after.text,
            after.raw_text,
            Json(&after.redactions) as _,
            &question_numbers(after.questions),
            Json(&after.evidence) as _,
            after.status.as_str(),
            d.reject_reason.map(|r| r.as_str()),
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "INSERT INTO audit_events (source_id, at, actor, action, before, after)
             VALUES ($1, now(), $2, $3, $4, $5)",
            id.0,
            actor,
            d.action,
            d.audit_before,
            d.audit_after,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(d.after)
    }

    pub(crate) async fn audit(&self, id: SourceId) -> Result<Vec<AuditEvent>> {
        Ok(sqlx::query!(
            "SELECT at, actor, action, before, after FROM audit_events
             WHERE source_id = $1 ORDER BY id",
            id.0
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| AuditEvent {
            at: r.at,
            actor: r.actor,
            action: r.action,
            before: r.before.unwrap_or_default(),
            after: r.after.unwrap_or_default(),
        })
        .collect())
    }

    pub(crate) async fn purge(&self, cutoff: DateTime<Utc>, dry_run: bool) -> Result<PurgeReport> {
        let mut tx = self.pool.begin().await?;
        // An original goes only when every page made from it is published
        // or rejected before the cutoff.
        let rows = sqlx::query!(
            "SELECT b.sha256, b.size,
                    ARRAY(SELECT s.id FROM sources s WHERE s.sha256 = b.sha256) AS \"sources!\"
             FROM blobs b
             WHERE b.bytes IS NOT NULL
               AND EXISTS (SELECT 1 FROM sources s WHERE s.sha256 = b.sha256)
               AND NOT EXISTS (
                 SELECT 1 FROM sources s
                 LEFT JOIN contributions c ON c.source_id = s.id
                 WHERE s.sha256 = b.sha256
                   AND (c.source_id IS NULL
                        OR c.status NOT IN ('published', 'rejected')
                        OR c.processed_at >= $1))",
            cutoff
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut report = PurgeReport::default();
        for row in rows {
            report.originals += 1;
            report.bytes += row.size as u64;
            report.sources += row.sources.len() as u64;
            if dry_run {
                continue;
            }
            sqlx::query!(
                "UPDATE blobs SET bytes = NULL, purged_at = now() WHERE sha256 = $1",
                row.sha256
            )
            .execute(&mut *tx)
            .await?;
            for id in row.sources {
                insert_event(
                    &mut tx,
                    SourceId(id),
                    EventKind::Purged,
                    "original deleted (retention)",
                )
                .await?;
            }
        }
        // Reviewers' images of those contributions go with the originals.
        let crops = sqlx::query!(
            "UPDATE blobs SET bytes = NULL, purged_at = now()
             WHERE bytes IS NOT NULL AND sha256 IN (
                 SELECT review_image_sha256 FROM contributions
                 WHERE review_image_sha256 IS NOT NULL
                   AND status IN ('published', 'rejected') AND processed_at < $1)",
            cutoff
        )
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

    pub(crate) async fn grant_platform(&self, role: &str) -> Result<()> {
        let exists = sqlx::query_scalar!(
            "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS \"exists!\"",
            role
        )
        .fetch_one(&self.pool)
        .await?;
        if !exists {
            return Err(StoreError::Invalid(format!(
                "PostgreSQL role {role:?} does not exist: CREATE ROLE {role} LOGIN PASSWORD '…' first"
            )));
        }
        // Identifiers cannot be bound: `role` was checked to be a plain
        // lower-case name (crate::platform_role).
        let mut tx = self.pool.begin().await?;
        for statement in [
            format!("GRANT USAGE ON SCHEMA platform TO {role}"),
            format!("GRANT SELECT ON ALL TABLES IN SCHEMA platform TO {role}"),
        ] {
            sqlx::raw_sql(&statement).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// A contribution by id.
async fn fetch_contribution<'c, E>(executor: E, id: SourceId) -> Result<Option<Contribution>>
where
    E: sqlx::PgExecutor<'c>,
{
    sqlx::query_as!(
        ContributionRow,
        r#"SELECT source_id, channel, questions, evidence AS "evidence: Json<Vec<Evidence>>",
                text, raw_text, language, confidence, status, received_at, processed_at,
                urn, engine, engine_version, late,
                redactions AS "redactions: Json<Vec<Masked>>",
                segments AS "segments: Json<Vec<Segment>>",
                    lines AS "lines: Json<Vec<TextLine>>"
         FROM contributions WHERE source_id = $1"#,
        id.0
    )
    .fetch_optional(executor)
    .await?
    .map(Contribution::try_from)
    .transpose()
}

/// One page of an intake in one statement: the original's bytes (when
/// given), the source, its outbox entry and its `ingested` event. Data-
/// modifying CTEs run as one statement: all of it or none, and the foreign
/// keys are checked at its end, when the blob is there.
async fn ingest_page(
    db: &mut PgConnection,
    source: &Source,
    original: Option<&[u8]>,
) -> Result<Intake> {
    let size = i64::try_from(source.size)
        .map_err(|_| StoreError::Invalid(format!("size {} too large", source.size)))?;
    let payload = outbox_payload(&Job::new(source.id, source.channel));
    let inserted = sqlx::query_scalar!(
        "WITH original AS (
             INSERT INTO blobs (sha256, bytes, size, created_at)
             SELECT $3, $12::bytea, length($12::bytea), now() WHERE $12::bytea IS NOT NULL
             ON CONFLICT (sha256) DO NOTHING
         ), stored AS (
             INSERT INTO sources (id, channel, sha256, media_type, size, original_name,
                 received_at, caller_ref, urn, batch, page, state, attempts, created_at,
                 updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'queued', 0, now(), now())
             ON CONFLICT (channel, sha256, page) DO NOTHING
             RETURNING id, channel
         ), queued AS (
             INSERT INTO outbox (source_id, channel, payload, created_at)
             SELECT id, channel, $13, now() FROM stored
         ), logged AS (
             INSERT INTO source_events (source_id, at, kind, message)
             SELECT id, now(), $14, $6 FROM stored
         )
         SELECT id FROM stored",
        source.id.0,
        source.channel.as_str(),
        source.sha256,
        source.media_type,
        size,
        source.original_name,
        source.received_at,
        source.caller_ref,
        source.urn.as_ref().map(Urn::as_str),
        source.batch,
        page(source.page)?,
        original,
        payload,
        EventKind::Ingested.as_str(),
    )
    .fetch_optional(&mut *db)
    .await?;
    if inserted.is_some() {
        return Ok(Intake::Accepted(source.id));
    }
    // Already there. Read in a statement of its own: one that committed
    // while this one waited on the unique key is not in this one's snapshot.
    let id = sqlx::query_scalar!(
        "SELECT id FROM sources WHERE channel = $1 AND sha256 = $2 AND page = $3",
        source.channel.as_str(),
        source.sha256,
        page(source.page)?,
    )
    .fetch_one(db)
    .await?;
    Ok(Intake::Duplicate(SourceId(id)))
}

/// A job as the outbox's `jsonb` payload: its wire form, parsed.
fn outbox_payload(job: &Job) -> serde_json::Value {
    serde_json::from_slice(&job.to_wire()).expect("a job serialises to JSON")
}

async fn insert_outbox(tx: &mut PgConnection, job: &Job) -> Result<()> {
    let payload = outbox_payload(job);
    sqlx::query!(
        "INSERT INTO outbox (source_id, channel, payload, created_at) VALUES ($1, $2, $3, now())",
        job.source_id.0,
        job.channel.as_str(),
        payload,
    )
    .execute(tx)
    .await?;
    Ok(())
}

async fn insert_event(
    tx: &mut PgConnection,
    id: SourceId,
    kind: EventKind,
    message: &str,
) -> Result<()> {
    sqlx::query!(
        "INSERT INTO source_events (source_id, at, kind, message) VALUES ($1, now(), $2, $3)",
        id.0,
        kind.as_str(),
        message,
    )
    .execute(tx)
    .await?;
    Ok(())
}
