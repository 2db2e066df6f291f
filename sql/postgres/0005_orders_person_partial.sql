-- The index on the person behind an order keeps only the orders whose person's number is not
-- the number they were placed with. As ../0010_orders_person_partial.sql on SQLite.
DROP INDEX orders_person;
CREATE INDEX orders_person ON orders (person_national_id) WHERE person_national_id <> national_id;
