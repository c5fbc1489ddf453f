-- The lines of a scan's text crop with the OCR's reading of each (a JSON
-- array of {top, height, text, confidence}), so that the review console
-- shows handwriting line by line. Restricted like raw_text: not in the
-- platform's view.
ALTER TABLE contributions
    ADD COLUMN lines jsonb NOT NULL DEFAULT '[]'::jsonb
        CONSTRAINT contributions_lines_array CHECK (jsonb_typeof(lines) = 'array');
