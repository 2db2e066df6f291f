-- The index on the person behind an order no longer holds the order's status, so that a change
-- of status does not move each order's entry within it. As ../0009_orders_person_index.sql on
-- SQLite.
DROP INDEX orders_person;
CREATE INDEX orders_person ON orders (person_national_id);
