-- The code digests of a letter in a table of their own: a letter row is rewritten on every
-- change of state (pending, issued, superseded …) and read by every search for a person's
-- letters; carrying 1.3 kB of digests made each of those a read and write of fat rows.
CREATE TABLE letter_codes (
    letter_id    TEXT PRIMARY KEY REFERENCES letters (letter_id),
    -- The 20 keyed digests (HMAC-SHA-256) of the letter's PIN codes, never the codes.
    pin_digests  TEXT NOT NULL
);
INSERT INTO letter_codes (letter_id, pin_digests)
    SELECT letter_id, pin_digests FROM letters WHERE pin_digests IS NOT NULL;
ALTER TABLE letters DROP COLUMN pin_digests;
