-- Timed transcript segments (the reviewer's console seeks the recording with
-- them) and the time of each contribution's last change. SQLite keeps its
-- natural types: text timestamps, JSON text (docs/platform.md describes the
-- PostgreSQL contract; the embedded mode has no platform reader).
ALTER TABLE contributions ADD COLUMN segments TEXT NOT NULL DEFAULT '[]';
ALTER TABLE contributions ADD COLUMN updated_at TEXT NOT NULL DEFAULT '';
UPDATE contributions SET updated_at = processed_at;
CREATE INDEX contributions_changes ON contributions (updated_at, source_id);
