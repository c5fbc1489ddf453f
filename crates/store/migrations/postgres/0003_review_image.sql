-- The image a reviewer needs beside the text (a scan's free-text crop),
-- stored as a blob like the originals, and purged with them.
ALTER TABLE contributions ADD COLUMN review_image_sha256 TEXT REFERENCES blobs (sha256);
