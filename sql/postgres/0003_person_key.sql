-- The person (persons.person_id) each validated order resolved to, kept by its letters:
-- publishing a batch finds the people's earlier letters by this one key, one index search a
-- letter, where the search through the person's identifiers and their orders took five (25 s
-- of a 1,000,000-letter batch). Set when an order is validated; a merge of two people in the
-- register moves their orders' and letters' key to the person kept; a pseudonymised order and
-- its letters lose it. No foreign key: a merge deletes the person merged away. As
-- ../0008_person_key.sql on SQLite.
ALTER TABLE orders ADD COLUMN person_id BIGINT;
ALTER TABLE letters ADD COLUMN person_id BIGINT;
UPDATE orders SET person_id = (
    SELECT i.person_id FROM person_ids i WHERE i.national_id = orders.person_national_id)
WHERE status IN ('validated', 'batched', 'printed', 'posted', 'returned', 'superseded');
UPDATE letters SET person_id = (SELECT o.person_id FROM orders o WHERE o.order_id = letters.order_id);
CREATE INDEX letters_person ON letters (person_id);
