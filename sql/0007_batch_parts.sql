-- The parts of a batch rendered by `pinbrev worker` processes (PostgreSQL): one row per part
-- file, claimed under a lease. `attempt` counts the claims: a worker may only report the part
-- done under the claim it holds, so one whose lease ran out cannot overwrite a newer render.
CREATE TABLE batch_parts (
    batch_id        TEXT    NOT NULL REFERENCES batches (batch_id),
    part            INTEGER NOT NULL,
    first_sequence  INTEGER NOT NULL,
    last_sequence   INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('planned', 'claimed', 'done')),
    attempt         INTEGER NOT NULL DEFAULT 0,
    claimed_by      TEXT,
    lease_until     TEXT,
    bytes           INTEGER,
    sha256          TEXT,
    pages           INTEGER,
    PRIMARY KEY (batch_id, part)
);
