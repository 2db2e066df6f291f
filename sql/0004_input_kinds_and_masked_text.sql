-- A file's content is "seen" per kind: an order file once misread as a register extract (and
-- unusable as one) is still read when it comes again as an order file.
CREATE TABLE input_files_by_kind (
    kind     TEXT NOT NULL,
    sha256   TEXT NOT NULL,
    name     TEXT NOT NULL,
    read_at  TEXT NOT NULL,
    PRIMARY KEY (kind, sha256)
);
INSERT INTO input_files_by_kind (kind, sha256, name, read_at)
    SELECT kind, sha256, name, read_at FROM input_files;
DROP TABLE input_files;
ALTER TABLE input_files_by_kind RENAME TO input_files;

-- Data migrations that SQL alone cannot do, run by pinbrev itself right after the schema
-- migrations (src/db/data_migrations.rs); done_at is set in the transaction that did the work.
CREATE TABLE data_migrations (
    name     TEXT PRIMARY KEY,
    done_at  TEXT
);
-- Free text kept before pinbrev masked it on the way in (cancel reasons, receipt details, event
-- details, validation details, input-error messages): masked now.
INSERT INTO data_migrations (name) VALUES ('mask_free_text');
