-- Publication rules: what was masked, the review workflow and its audit trail.

ALTER TABLE contributions ADD COLUMN redactions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE contributions ADD COLUMN reject_reason TEXT;

-- Every change a person makes to a contribution: who, when, before, after.
CREATE TABLE audit_events (
    id        BIGSERIAL PRIMARY KEY,
    source_id TEXT NOT NULL REFERENCES sources (id),
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    before    TEXT,
    after     TEXT
);
CREATE INDEX audit_events_source ON audit_events (source_id, id);
