//! The review workflow, retention and export.
//!
//! A person's change to a contribution (edit, approve, reject) is one
//! transaction that updates the contribution and appends an audit event
//! with the state before and after, so the public report can show who
//! decided what, and when.

use crate::{contribution, format_ts, insert_event, parse_id, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use recueil_core::{Contribution, Evidence, EvidenceKind, QuestionSet, SourceId, Status};
use sqlx::Row;
use std::str::FromStr;

/// Why a reviewer rejected a contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    NotAContribution,
    OffTopic,
    Abusive,
    Duplicate,
    Unreadable,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::NotAContribution => "not_a_contribution",
            Rejection::OffTopic => "off_topic",
            Rejection::Abusive => "abusive",
            Rejection::Duplicate => "duplicate",
            Rejection::Unreadable => "unreadable",
        }
    }
}

impl FromStr for Rejection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "not_a_contribution" => Rejection::NotAContribution,
            "off_topic" => Rejection::OffTopic,
            "abusive" => Rejection::Abusive,
            "duplicate" => Rejection::Duplicate,
            "unreadable" => Rejection::Unreadable,
            other => {
                return Err(format!(
                    "unknown reason {other:?}: not_a_contribution, off_topic, abusive, duplicate or unreadable"
                ))
            }
        })
    }
}

/// What a reviewer does to a contribution.
#[derive(Debug, Clone, PartialEq)]
pub enum ReviewChange {
    /// New publishable text and/or questions; the status does not change.
    Edit {
        text: Option<String>,
        questions: Option<QuestionSet>,
    },
    Approve,
    Reject(Rejection),
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no contribution for source {0}")]
    NotFound(SourceId),
    #[error("contribution {id} is {status}: {action} is not possible")]
    NotAllowed {
        id: SourceId,
        status: Status,
        action: &'static str,
    },
    #[error("a published contribution needs at least one question")]
    NoQuestion,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ReviewError {
    fn from(e: sqlx::Error) -> Self {
        ReviewError::Store(e.into())
    }
}

/// Which contributions an export or a listing takes.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<Status>,
    /// Received at or after.
    pub since: Option<DateTime<Utc>>,
}

/// What a purge removed (or would remove, in a dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub sources: u64,
    pub originals: u64,
    pub bytes: u64,
}

impl Store {
    /// Applies a reviewer's change; returns the contribution after it.
    pub async fn review(
        &self,
        id: SourceId,
        actor: &str,
        change: ReviewChange,
    ) -> std::result::Result<Contribution, ReviewError> {
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT * FROM contributions WHERE source_id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(ReviewError::NotFound(id))?;
        let before = contribution(&row)?;
        let mut after = before.clone();
        let mut reject_reason: Option<&str> = None;
        let action = match &change {
            ReviewChange::Edit { text, questions } => {
                if before.status == Status::Rejected {
                    return Err(ReviewError::NotAllowed {
                        id,
                        status: before.status,
                        action: "edit",
                    });
                }
                if let Some(text) = text {
                    // A reviewer's text is published as written: it is
                    // masked again, in case it reintroduces personal data.
                    let redacted = recueil_privacy::redact(text);
                    after.text = redacted.text;
                }
                if let Some(q) = questions {
                    after.questions = *q;
                    after.evidence = q
                        .iter()
                        .map(|question| Evidence {
                            question,
                            kind: EvidenceKind::Reviewer,
                            cue: format!("set by {actor}"),
                        })
                        .collect();
                }
                "edit"
            }
            ReviewChange::Approve => {
                if !matches!(before.status, Status::NeedsReview | Status::Rejected) {
                    return Err(ReviewError::NotAllowed {
                        id,
                        status: before.status,
                        action: "approve",
                    });
                }
                if after.questions.is_empty() {
                    return Err(ReviewError::NoQuestion);
                }
                after.status = Status::Published;
                "approve"
            }
            ReviewChange::Reject(reason) => {
                after.status = Status::Rejected;
                reject_reason = Some(reason.as_str());
                "reject"
            }
        };
        sqlx::query(
            "UPDATE contributions SET text = $2, questions = $3, evidence = $4, status = $5,
                 reject_reason = $6
             WHERE source_id = $1",
        )
        .bind(id.to_string())
        .bind(&after.text)
        .bind(after.questions.to_string())
        .bind(serde_json::to_string(&after.evidence).expect("evidence serialises"))
        .bind(after.status.as_str())
        .bind(reject_reason)
        .execute(&mut *tx)
        .await?;
        let snapshot = |c: &Contribution, reason: Option<&str>| {
            serde_json::json!({
                "status": c.status,
                "questions": c.questions,
                "text": c.text,
                "reason": reason,
            })
            .to_string()
        };
        sqlx::query(
            "INSERT INTO audit_events (source_id, at, actor, action, before, after)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.to_string())
        .bind(format_ts(now))
        .bind(actor)
        .bind(action)
        .bind(snapshot(&before, None))
        .bind(snapshot(&after, reject_reason))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The audit trail of a contribution: (time, actor, action, before, after).
    pub async fn audit(
        &self,
        id: SourceId,
    ) -> Result<Vec<(String, String, String, String, String)>> {
        let rows = sqlx::query(
            "SELECT at, actor, action, before, after FROM audit_events
             WHERE source_id = $1 ORDER BY id",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("at")?,
                    r.try_get("actor")?,
                    r.try_get("action")?,
                    r.try_get::<Option<String>, _>("before")?
                        .unwrap_or_default(),
                    r.try_get::<Option<String>, _>("after")?.unwrap_or_default(),
                ))
            })
            .collect()
    }

    /// Contributions matching `filter`, oldest first.
    pub async fn select(&self, filter: &Filter) -> Result<Vec<Contribution>> {
        let rows = sqlx::query(
            "SELECT * FROM contributions
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR received_at >= $2)
             ORDER BY received_at, source_id",
        )
        .bind(filter.status.map(Status::as_str))
        .bind(filter.since.map(format_ts))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(contribution).collect()
    }

    /// Deletes the original recordings and scans of contributions published
    /// or rejected before `cutoff`. Text, questions and audit stay; nothing
    /// still in review (or not yet processed) is touched, even when it shares
    /// its original with a purgeable page.
    pub async fn purge(&self, cutoff: DateTime<Utc>, dry_run: bool) -> Result<PurgeReport> {
        let cutoff = format_ts(cutoff);
        let mut tx = self.pool.begin().await?;
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
        let now = format_ts(Utc::now());
        for row in rows {
            let sha: String = row.try_get("sha256")?;
            report.originals += 1;
            report.bytes += row.try_get::<i64, _>("size")? as u64;
            let sources = sqlx::query("SELECT id FROM sources WHERE sha256 = $1")
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
            for s in sources {
                let id = parse_id(s.try_get("id")?)?;
                insert_event(&mut tx, id, &now, "purged", "original deleted (retention)").await?;
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
