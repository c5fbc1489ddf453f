-- The backbone: sources and their original bytes, the outbox that feeds the
-- queue, contributions (one per source) and the history of each source.
-- Timestamps are RFC 3339 UTC text with a fixed width (sortable as text) so
-- that both backends share one query layer (sqlx's Any driver).

CREATE TABLE blobs (
    sha256      TEXT PRIMARY KEY,
    bytes       BLOB,              -- NULL once purged (retention)
    size        BIGINT NOT NULL,
    created_at  TEXT NOT NULL,
    purged_at   TEXT
);

CREATE TABLE sources (
    id            TEXT PRIMARY KEY,
    channel       TEXT NOT NULL CHECK (channel IN ('voicemail', 'ballot')),
    sha256        TEXT NOT NULL REFERENCES blobs (sha256),
    media_type    TEXT NOT NULL,
    size          BIGINT NOT NULL,
    original_name TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    caller_ref    TEXT,
    urn           TEXT,
    batch         TEXT,
    page          BIGINT NOT NULL DEFAULT 0,
    state         TEXT NOT NULL CHECK (state IN ('queued', 'processing', 'retrying', 'done', 'failed')),
    attempts      BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (channel, sha256, page)
);
CREATE INDEX sources_state ON sources (state, updated_at);

CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id     TEXT NOT NULL REFERENCES sources (id),
    channel       TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    claimed_until TEXT
);

CREATE TABLE contributions (
    source_id      TEXT PRIMARY KEY REFERENCES sources (id),
    channel        TEXT NOT NULL,
    questions      TEXT NOT NULL,
    evidence       TEXT NOT NULL,
    text           TEXT NOT NULL,
    raw_text       TEXT NOT NULL,
    language       TEXT,
    confidence     REAL NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('published', 'needs_review', 'rejected', 'empty')),
    received_at    TEXT NOT NULL,
    processed_at   TEXT NOT NULL,
    urn            TEXT,
    engine         TEXT NOT NULL,
    engine_version TEXT NOT NULL,
    late           BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX contributions_status ON contributions (status, processed_at);

CREATE TABLE source_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id TEXT NOT NULL REFERENCES sources (id),
    at        TEXT NOT NULL,
    kind      TEXT NOT NULL,
    message   TEXT NOT NULL
);
CREATE INDEX source_events_source ON source_events (source_id, id);
