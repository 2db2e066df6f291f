-- The parts of a batch rendered by `pinbrev worker` processes: one row per part file, claimed
-- under a lease (`FOR UPDATE SKIP LOCKED`). `attempt` counts the claims: a worker may only
-- report the part done under the claim it holds, so one whose lease ran out cannot overwrite a
-- newer render. As ../0007_batch_parts.sql on SQLite.
CREATE TABLE batch_parts (
    batch_id        TEXT COLLATE "C" NOT NULL REFERENCES batches (batch_id),
    part            BIGINT  NOT NULL,
    first_sequence  BIGINT  NOT NULL,
    last_sequence   BIGINT  NOT NULL,
    state           TEXT COLLATE "C" NOT NULL CONSTRAINT batch_parts_state_check
                        CHECK (state IN ('planned', 'claimed', 'done')),
    attempt         BIGINT  NOT NULL DEFAULT 0,
    claimed_by      TEXT COLLATE "C",
    lease_until     TEXT COLLATE "C",
    bytes           BIGINT,
    sha256          TEXT COLLATE "C",
    pages           BIGINT,
    PRIMARY KEY (batch_id, part)
);

-- A letter is written once and then changes state (issued at publication, later returned or
-- superseded): with room left in each page, those updates stay in the page and touch no index
-- (a publication of 100,000 letters took 0.5-1 s less).
ALTER TABLE letters SET (fillfactor = 50);
