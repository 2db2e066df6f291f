-- pinbrev schema, first version. Append-only: later changes go into new files.

-- One row per person of the Folkeregister extract; `record` is the person's current records
-- (see src/register.rs) as JSON. A re-import of the same person keeps person_id.
CREATE TABLE persons (
    person_id    INTEGER PRIMARY KEY,
    record       TEXT    NOT NULL,
    source_file  TEXT    NOT NULL,
    source_line  INTEGER NOT NULL,
    imported_at  TEXT    NOT NULL
);

-- Every identifier a person has or had, so that an order placed with a ceased number still
-- finds the person.
CREATE TABLE person_ids (
    national_id  TEXT    PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES persons (person_id),
    id_type      TEXT    NOT NULL,
    in_use       INTEGER NOT NULL
);
CREATE INDEX person_ids_person ON person_ids (person_id);

-- Norway's postal codes: shipped list or Posten's register file.
CREATE TABLE postcodes (
    postcode           TEXT PRIMARY KEY,
    place              TEXT NOT NULL,
    municipality_code  TEXT,
    municipality       TEXT,
    category           TEXT
);

CREATE TABLE postcode_source (
    id         INTEGER PRIMARY KEY,
    source     TEXT NOT NULL,
    loaded_at  TEXT NOT NULL
);

CREATE TABLE orders (
    order_id            TEXT    PRIMARY KEY,
    national_id         TEXT    NOT NULL,
    ordered_at          TEXT    NOT NULL,
    channel             TEXT    NOT NULL,
    language            TEXT,
    source_file         TEXT    NOT NULL,
    source_line         INTEGER NOT NULL,
    received_at         TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    reason              TEXT,
    reason_detail       TEXT,
    person_national_id  TEXT,
    letter_language     TEXT,
    address             TEXT,
    postal_zone         TEXT,
    postcode            TEXT,
    country             TEXT,
    validated_at        TEXT,
    updated_at          TEXT    NOT NULL
);
CREATE INDEX orders_status ON orders (status, ordered_at, order_id);
CREATE INDEX orders_national_id ON orders (national_id);
CREATE INDEX orders_person ON orders (person_national_id, status);

-- Every status change of an order, kept forever.
CREATE TABLE order_events (
    event_id     INTEGER PRIMARY KEY,
    order_id     TEXT NOT NULL REFERENCES orders (order_id),
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    event        TEXT NOT NULL,
    from_status  TEXT,
    to_status    TEXT,
    detail       TEXT
);
CREATE INDEX order_events_order ON order_events (order_id, event_id);

-- Row and line errors of every input file, for the helpdesk and the reports.
CREATE TABLE input_errors (
    error_id  INTEGER PRIMARY KEY,
    input     TEXT    NOT NULL,
    file      TEXT    NOT NULL,
    line      INTEGER,
    field     TEXT,
    code      TEXT    NOT NULL,
    message   TEXT    NOT NULL,
    at        TEXT    NOT NULL
);
