-- Letters, batches (the vendor drops) and vendor receipts.

CREATE TABLE batches (
    batch_id      TEXT    PRIMARY KEY,
    vendor        TEXT    NOT NULL,
    outbox        TEXT    NOT NULL,
    -- building: rows made, files being written; written: every file complete in the hidden
    -- build folder; published: renamed into place and READY written.
    state         TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    published_at  TEXT,
    letter_count  INTEGER NOT NULL,
    page_count    INTEGER
);

-- One row per letter. The PIN codes are never stored: pin_digests holds the 20 keyed
-- HMAC-SHA256 digests of (letter, number, code), comma-separated in number order.
CREATE TABLE letters (
    letter_id      TEXT    PRIMARY KEY,
    order_id       TEXT    NOT NULL REFERENCES orders (order_id),
    batch_id       TEXT    NOT NULL REFERENCES batches (batch_id),
    sequence       INTEGER NOT NULL,
    file           TEXT,
    first_page     INTEGER,
    pin_digests    TEXT,
    -- pending (batch not yet published), issued (codes valid), failed, returned, superseded
    state          TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    issued_at      TEXT,
    superseded_by  TEXT
);
CREATE UNIQUE INDEX letters_batch_sequence ON letters (batch_id, sequence);
CREATE INDEX letters_order ON letters (order_id);

-- Vendor receipts, one per letter and event: a re-delivered receipt changes nothing.
CREATE TABLE receipts (
    letter_id    TEXT    NOT NULL REFERENCES letters (letter_id),
    event        TEXT    NOT NULL,
    batch_id     TEXT    NOT NULL,
    occurred_at  TEXT    NOT NULL,
    detail       TEXT,
    source_file  TEXT    NOT NULL,
    source_line  INTEGER NOT NULL,
    received_at  TEXT    NOT NULL,
    PRIMARY KEY (letter_id, event)
);
