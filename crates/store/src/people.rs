//! The people who use the web console: accounts, sessions, failed logins
//! and short claims on review items.
//!
//! The store keeps only what the console decides with: a role as text, an
//! argon2 hash made by the console (the store never sees a password), the
//! SHA-256 of a session token (a copy of the database opens no session).
//! What a role may do is the console's business, not the database's.

use crate::{format_ts, parse_id, parse_ts, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use recueil_core::SourceId;
use sqlx::Row;

/// An account of the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    /// `reviewer`, `staff`, `operator` or `admin`.
    pub role: String,
    /// argon2 PHC string.
    pub password_hash: String,
}

/// A live session with its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user_name: String,
    pub role: String,
    /// The per-session token every form must carry.
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// Who holds a review item, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub source_id: SourceId,
    pub user_name: String,
    pub until: DateTime<Utc>,
}

/// What [`Store::claim`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The item is this user's until the given time.
    Held(DateTime<Utc>),
    /// Another user holds it.
    Taken(Claim),
}

fn ts(r: &sqlx::any::AnyRow, column: &str, table: &'static str) -> Result<DateTime<Utc>> {
    parse_ts(&r.try_get::<String, _>(column)?).map_err(|e| StoreError::Corrupt {
        table,
        reason: e.to_string(),
    })
}

impl Store {
    /// Creates an account, or sets the role and password of an existing one.
    /// Returns true when the account is new.
    pub async fn put_user(&self, name: &str, role: &str, password_hash: &str) -> Result<bool> {
        let now = format_ts(Utc::now());
        let existed = self.user(name).await?.is_some();
        sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (name) DO UPDATE SET role = $2, password_hash = $3, updated_at = $4",
        )
        .bind(name)
        .bind(role)
        .bind(password_hash)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        if existed {
            // A new password ends the sessions opened with the old one.
            sqlx::query("DELETE FROM sessions WHERE user_name = $1")
                .bind(name)
                .execute(&self.pool)
                .await?;
        }
        Ok(!existed)
    }

    pub async fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query("SELECT name, role, password_hash FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(UserRecord {
                name: r.try_get("name")?,
                role: r.try_get("role")?,
                password_hash: r.try_get("password_hash")?,
            })
        })
        .transpose()
    }

    /// Every account, by name (password hashes included: for the console).
    pub async fn users(&self) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query("SELECT name, role, password_hash FROM users ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(UserRecord {
                    name: r.try_get("name")?,
                    role: r.try_get("role")?,
                    password_hash: r.try_get("password_hash")?,
                })
            })
            .collect()
    }

    /// Opens a session; expired sessions are swept at the same time.
    pub async fn create_session(
        &self,
        token_sha256: &str,
        user_name: &str,
        csrf: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let now = format_ts(Utc::now());
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(&now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_sha256, user_name, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_sha256)
        .bind(user_name)
        .bind(csrf)
        .bind(&now)
        .bind(format_ts(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session with this token hash, if it has not expired.
    pub async fn session(&self, token_sha256: &str) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT s.user_name, u.role, s.csrf, s.expires_at FROM sessions s
             JOIN users u ON u.name = s.user_name
             WHERE s.token_sha256 = $1 AND s.expires_at > $2",
        )
        .bind(token_sha256)
        .bind(format_ts(Utc::now()))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SessionRecord {
                user_name: r.try_get("user_name")?,
                role: r.try_get("role")?,
                csrf: r.try_get("csrf")?,
                expires_at: ts(&r, "expires_at", "sessions")?,
            })
        })
        .transpose()
    }

    pub async fn delete_session(&self, token_sha256: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1")
            .bind(token_sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn record_login_failure(&self, user_name: &str, address: &str) -> Result<()> {
        sqlx::query("INSERT INTO login_failures (user_name, address, at) VALUES ($1, $2, $3)")
            .bind(user_name)
            .bind(address)
            .bind(format_ts(Utc::now()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Failed logins for this name from this address since `since`: how
    /// many, and the latest.
    pub async fn login_failures(
        &self,
        user_name: &str,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<(u32, Option<DateTime<Utc>>)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MAX(at) AS last FROM login_failures
             WHERE user_name = $1 AND address = $2 AND at >= $3",
        )
        .bind(user_name)
        .bind(address)
        .bind(format_ts(since))
        .fetch_one(&self.pool)
        .await?;
        let n = row.try_get::<i64, _>("n")? as u32;
        let last = row
            .try_get::<Option<String>, _>("last")?
            .map(|s| parse_ts(&s))
            .transpose()
            .map_err(|e| StoreError::Corrupt {
                table: "login_failures",
                reason: e.to_string(),
            })?;
        Ok((n, last))
    }

    /// Forgets the failures of a name and address (after a good login).
    pub async fn clear_login_failures(&self, user_name: &str, address: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE user_name = $1 AND address = $2")
            .bind(user_name)
            .bind(address)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes or renews a claim on a review item until `until`, unless
    /// another user holds an unexpired one. One statement, so two reviewers
    /// racing for the same item cannot both win.
    pub async fn claim(
        &self,
        id: SourceId,
        user_name: &str,
        until: DateTime<Utc>,
    ) -> Result<ClaimOutcome> {
        let now = format_ts(Utc::now());
        let taken = sqlx::query(
            "INSERT INTO review_claims (source_id, user_name, until) VALUES ($1, $2, $3)
             ON CONFLICT (source_id) DO UPDATE SET user_name = $2, until = $3
             WHERE review_claims.user_name = $2 OR review_claims.until < $4",
        )
        .bind(id.to_string())
        .bind(user_name)
        .bind(format_ts(until))
        .bind(&now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if taken == 1 {
            return Ok(ClaimOutcome::Held(until));
        }
        let row = sqlx::query("SELECT user_name, until FROM review_claims WHERE source_id = $1")
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await?;
        Ok(ClaimOutcome::Taken(Claim {
            source_id: id,
            user_name: row.try_get("user_name")?,
            until: ts(&row, "until", "review_claims")?,
        }))
    }

    /// Lets go of an item (after a decision, or when the reviewer leaves it).
    pub async fn release_claim(&self, id: SourceId, user_name: &str) -> Result<()> {
        sqlx::query("DELETE FROM review_claims WHERE source_id = $1 AND user_name = $2")
            .bind(id.to_string())
            .bind(user_name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Claims that have not expired.
    pub async fn claims(&self) -> Result<Vec<Claim>> {
        let rows =
            sqlx::query("SELECT source_id, user_name, until FROM review_claims WHERE until >= $1")
                .bind(format_ts(Utc::now()))
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(Claim {
                    source_id: parse_id(r.try_get("source_id")?)?,
                    user_name: r.try_get("user_name")?,
                    until: ts(r, "until", "review_claims")?,
                })
            })
            .collect()
    }

    /// Adds a line to a source's history, e.g. which person asked for a
    /// replay (the console's actions are audited under the account's name).
    pub async fn note_event(&self, id: SourceId, kind: &str, message: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO source_events (source_id, at, kind, message) VALUES ($1, $2, $3, $4)",
        )
        .bind(id.to_string())
        .bind(format_ts(Utc::now()))
        .bind(kind)
        .bind(message)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
