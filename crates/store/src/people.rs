//! The people who use the web console: accounts, sessions, failed logins
//! and short claims on review items.
//!
//! The store keeps only what the console decides with: a role as text, an
//! argon2 hash made by the console (the store never sees a password), the
//! SHA-256 of a session token (a copy of the database opens no session).
//! What a role may do is the console's business, not the database's.

use crate::{Inner, Result, Store};
use chrono::{DateTime, Utc};
use recueil_core::SourceId;

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

impl Store {
    /// Creates an account, or sets the role and password of an existing one
    /// (which ends its sessions). Returns true when the account is new.
    pub async fn put_user(&self, name: &str, role: &str, password_hash: &str) -> Result<bool> {
        dispatch!(self, s => s.put_user(name, role, password_hash).await)
    }

    pub async fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        dispatch!(self, s => s.user(name).await)
    }

    /// Every account, by name (password hashes included: for the console).
    pub async fn users(&self) -> Result<Vec<UserRecord>> {
        dispatch!(self, s => s.users().await)
    }

    /// Opens a session; expired sessions are swept at the same time.
    pub async fn create_session(
        &self,
        token_sha256: &str,
        user_name: &str,
        csrf: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        dispatch!(self, s => s.create_session(token_sha256, user_name, csrf, expires_at).await)
    }

    /// The session with this token hash, if it has not expired.
    pub async fn session(&self, token_sha256: &str) -> Result<Option<SessionRecord>> {
        dispatch!(self, s => s.session(token_sha256).await)
    }

    pub async fn delete_session(&self, token_sha256: &str) -> Result<()> {
        dispatch!(self, s => s.delete_session(token_sha256).await)
    }

    pub async fn record_login_failure(&self, user_name: &str, address: &str) -> Result<()> {
        dispatch!(self, s => s.record_login_failure(user_name, address).await)
    }

    /// Failed logins for this name from this address since `since`: how
    /// many, and the latest.
    pub async fn login_failures(
        &self,
        user_name: &str,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<(u32, Option<DateTime<Utc>>)> {
        dispatch!(self, s => s.login_failures(user_name, address, since).await)
    }

    /// Forgets the failures of a name and address (after a good login).
    pub async fn clear_login_failures(&self, user_name: &str, address: &str) -> Result<()> {
        dispatch!(self, s => s.clear_login_failures(user_name, address).await)
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
        dispatch!(self, s => s.claim(id, user_name, until).await)
    }

    /// Lets go of an item (after a decision, or when the reviewer leaves it).
    pub async fn release_claim(&self, id: SourceId, user_name: &str) -> Result<()> {
        dispatch!(self, s => s.release_claim(id, user_name).await)
    }

    /// Claims that have not expired.
    pub async fn claims(&self) -> Result<Vec<Claim>> {
        dispatch!(self, s => s.claims().await)
    }

    /// Adds a line to a source's history, e.g. which person did what from
    /// the console.
    pub async fn note_event(&self, id: SourceId, kind: &str, message: &str) -> Result<()> {
        dispatch!(self, s => s.note_event(id, kind, message).await)
    }
}
