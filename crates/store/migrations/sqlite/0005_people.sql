-- The people who use the web console (recueil-console): accounts, their
-- sessions, failed logins (throttling) and short claims on review items.
-- Passwords and session tokens are never stored: an argon2 hash for the
-- first, a SHA-256 of the random token for the second, so that a copy of
-- the database opens no session.

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('reviewer', 'staff', 'operator', 'admin')),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_name    TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- One row per failed login, per account name (existing or not) and address.
CREATE TABLE login_failures (
    user_name TEXT NOT NULL,
    address   TEXT NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (user_name, address, at);

-- Who is looking at a review item, until when (renewed while the page is open).
CREATE TABLE review_claims (
    source_id TEXT PRIMARY KEY REFERENCES sources (id),
    user_name TEXT NOT NULL,
    until     TEXT NOT NULL
);
