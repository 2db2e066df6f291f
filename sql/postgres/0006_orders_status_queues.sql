-- Only the two work queues are indexed by status, each oldest first. As
-- ../0011_orders_status_queues.sql on SQLite.
DROP INDEX orders_status;
CREATE INDEX orders_received ON orders (ordered_at, order_id) WHERE status = 'received';
CREATE INDEX orders_validated ON orders (ordered_at, order_id) WHERE status = 'validated';
