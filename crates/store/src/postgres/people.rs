//! The console's people on PostgreSQL (see `crate::people`).

use super::PgStore;
use crate::people::{Claim, ClaimOutcome, SessionRecord, UserRecord};
use crate::Result;
use chrono::{DateTime, Utc};
use recueil_core::SourceId;

impl PgStore {
    pub(crate) async fn put_user(
        &self,
        name: &str,
        role: &str,
        password_hash: &str,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let existed = sqlx::query_scalar!(
            "SELECT EXISTS (SELECT 1 FROM users WHERE name = $1) AS \"existed!\"",
            name
        )
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query!(
            "INSERT INTO users (name, role, password_hash, created_at, updated_at)
             VALUES ($1, $2, $3, now(), now())
             ON CONFLICT (name) DO UPDATE SET role = $2, password_hash = $3, updated_at = now()",
            name,
            role,
            password_hash
        )
        .execute(&mut *tx)
        .await?;
        if existed {
            // A new password ends the sessions opened with the old one.
            sqlx::query!("DELETE FROM sessions WHERE user_name = $1", name)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(!existed)
    }

    pub(crate) async fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        Ok(sqlx::query_as!(
            UserRecord,
            "SELECT name, role, password_hash FROM users WHERE name = $1",
            name
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    pub(crate) async fn users(&self) -> Result<Vec<UserRecord>> {
        Ok(sqlx::query_as!(
            UserRecord,
            "SELECT name, role, password_hash FROM users ORDER BY name"
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub(crate) async fn create_session(
        &self,
        token_sha256: &str,
        user_name: &str,
        csrf: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query!("DELETE FROM sessions WHERE expires_at < now()")
            .execute(&self.pool)
            .await?;
        sqlx::query!(
            "INSERT INTO sessions (token_sha256, user_name, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, now(), $4)",
            token_sha256,
            user_name,
            csrf,
            expires_at
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn session(&self, token_sha256: &str) -> Result<Option<SessionRecord>> {
        Ok(sqlx::query_as!(
            SessionRecord,
            "SELECT s.user_name, u.role, s.csrf, s.expires_at FROM sessions s
             JOIN users u ON u.name = s.user_name
             WHERE s.token_sha256 = $1 AND s.expires_at > now()",
            token_sha256
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    pub(crate) async fn delete_session(&self, token_sha256: &str) -> Result<()> {
        sqlx::query!("DELETE FROM sessions WHERE token_sha256 = $1", token_sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn record_login_failure(&self, user_name: &str, address: &str) -> Result<()> {
        sqlx::query!(
            "INSERT INTO login_failures (user_name, address, at) VALUES ($1, $2, now())",
            user_name,
            address
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn login_failures(
        &self,
        user_name: &str,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<(u32, Option<DateTime<Utc>>)> {
        let row = sqlx::query!(
            "SELECT COUNT(*) AS \"n!\", MAX(at) AS last FROM login_failures
             WHERE user_name = $1 AND address = $2 AND at >= $3",
            user_name,
            address,
            since
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.n as u32, row.last))
    }

    pub(crate) async fn clear_login_failures(&self, user_name: &str, address: &str) -> Result<()> {
        sqlx::query!(
            "DELETE FROM login_failures WHERE user_name = $1 AND address = $2",
            user_name,
            address
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn claim(
        &self,
        id: SourceId,
        user_name: &str,
        until: DateTime<Utc>,
    ) -> Result<ClaimOutcome> {
        let taken = sqlx::query!(
            "INSERT INTO review_claims (source_id, user_name, until) VALUES ($1, $2, $3)
             ON CONFLICT (source_id) DO UPDATE SET user_name = $2, until = $3
             WHERE review_claims.user_name = $2 OR review_claims.until < now()",
            id.0,
            user_name,
            until
        )
        .execute(&self.pool)
        .await?
        .rows_affected();
        if taken == 1 {
            return Ok(ClaimOutcome::Held(until));
        }
        let row = sqlx::query!(
            "SELECT user_name, until FROM review_claims WHERE source_id = $1",
            id.0
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(ClaimOutcome::Taken(Claim {
            source_id: id,
            user_name: row.user_name,
            until: row.until,
        }))
    }

    pub(crate) async fn release_claim(&self, id: SourceId, user_name: &str) -> Result<()> {
        sqlx::query!(
            "DELETE FROM review_claims WHERE source_id = $1 AND user_name = $2",
            id.0,
            user_name
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn claims(&self) -> Result<Vec<Claim>> {
        Ok(sqlx::query!(
            "SELECT source_id, user_name, until FROM review_claims WHERE until >= now()"
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| Claim {
            source_id: SourceId(r.source_id),
            user_name: r.user_name,
            until: r.until,
        })
        .collect())
    }

    pub(crate) async fn note_event(&self, id: SourceId, kind: &str, message: &str) -> Result<()> {
        sqlx::query!(
            "INSERT INTO source_events (source_id, at, kind, message) VALUES ($1, now(), $2, $3)",
            id.0,
            kind,
            message
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
