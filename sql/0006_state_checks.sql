-- The state columns accept only the contract's codes (the core's OrderStatus, LetterState and
-- BatchState; tests/migrations.rs checks that the lists here are theirs). SQLite cannot add a
-- CHECK constraint to an existing table in place, so these triggers make the same check on every
-- insert and on every update of the column.

CREATE TRIGGER orders_status_check_insert BEFORE INSERT ON orders
WHEN NEW.status NOT IN ('received', 'validated', 'rejected', 'held', 'duplicate', 'cancelled', 'batched', 'printed', 'posted', 'returned', 'superseded')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: orders.status');
END;

CREATE TRIGGER orders_status_check_update BEFORE UPDATE OF status ON orders
WHEN NEW.status NOT IN ('received', 'validated', 'rejected', 'held', 'duplicate', 'cancelled', 'batched', 'printed', 'posted', 'returned', 'superseded')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: orders.status');
END;

CREATE TRIGGER letters_state_check_insert BEFORE INSERT ON letters
WHEN NEW.state NOT IN ('pending', 'issued', 'failed', 'returned', 'superseded', 'cancelled')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: letters.state');
END;

CREATE TRIGGER letters_state_check_update BEFORE UPDATE OF state ON letters
WHEN NEW.state NOT IN ('pending', 'issued', 'failed', 'returned', 'superseded', 'cancelled')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: letters.state');
END;

CREATE TRIGGER batches_state_check_insert BEFORE INSERT ON batches
WHEN NEW.state NOT IN ('building', 'written', 'published')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: batches.state');
END;

CREATE TRIGGER batches_state_check_update BEFORE UPDATE OF state ON batches
WHEN NEW.state NOT IN ('building', 'written', 'published')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: batches.state');
END;
