-- Files the nightly run has read, by content, so that a re-delivered file is skipped whatever
-- its name.
CREATE TABLE input_files (
    sha256   TEXT PRIMARY KEY,
    kind     TEXT NOT NULL,
    name     TEXT NOT NULL,
    read_at  TEXT NOT NULL
);

-- When purge deleted a batch's letter PDFs and pseudonymised an order's personal data.
ALTER TABLE batches ADD COLUMN pdfs_purged_at TEXT;
ALTER TABLE orders ADD COLUMN pseudonymised_at TEXT;
