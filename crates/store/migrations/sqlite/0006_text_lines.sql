-- The lines of a scan's text crop with the OCR's reading of each (JSON
-- text), for the review console (see the PostgreSQL migration).
ALTER TABLE contributions ADD COLUMN lines TEXT NOT NULL DEFAULT '[]';
