-- The index on the person behind an order keeps only the orders whose person's number is not
-- the number they were placed with (a d-number holder who has a fødselsnummer since, say).
-- For every other order the index on national_id finds it: validation no longer adds an entry
-- for each order at a place as random as the identity numbers. Setting the person's number of
-- 1,000,000 orders took 9.1 s with the full index and 6.2 s without (sqlite3, one run each).
-- Readers look for `person_national_id = x` as `national_id = x AND person_national_id = x`
-- or `person_national_id = x AND person_national_id <> national_id`, each through its index.
DROP INDEX orders_person;
CREATE INDEX orders_person ON orders (person_national_id) WHERE person_national_id <> national_id;
