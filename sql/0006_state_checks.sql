-- The state columns accept only the contract's codes (the core's OrderStatus, LetterState,
-- BatchState and ReceiptEvent; tests/migrations.rs checks that the lists here are theirs).
-- SQLite cannot add a CHECK constraint to an existing table in place, so these triggers make the
-- same check on every insert and on every update of the column. The codes are looked up in one
-- string (`instr`) rather than with `NOT IN (...)`, which costs SQLite three times as much a
-- row; a code never holds a comma.

CREATE TRIGGER orders_status_check_insert BEFORE INSERT ON orders
WHEN instr(NEW.status, ',') > 0 OR instr(',received,validated,rejected,held,duplicate,cancelled,batched,printed,posted,returned,superseded,', ',' || NEW.status || ',') = 0
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: orders.status');
END;

CREATE TRIGGER orders_status_check_update BEFORE UPDATE OF status ON orders
WHEN instr(NEW.status, ',') > 0 OR instr(',received,validated,rejected,held,duplicate,cancelled,batched,printed,posted,returned,superseded,', ',' || NEW.status || ',') = 0
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: orders.status');
END;

CREATE TRIGGER letters_state_check_insert BEFORE INSERT ON letters
WHEN instr(NEW.state, ',') > 0 OR instr(',pending,issued,failed,returned,superseded,cancelled,', ',' || NEW.state || ',') = 0
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: letters.state');
END;

CREATE TRIGGER letters_state_check_update BEFORE UPDATE OF state ON letters
WHEN instr(NEW.state, ',') > 0 OR instr(',pending,issued,failed,returned,superseded,cancelled,', ',' || NEW.state || ',') = 0
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: letters.state');
END;

CREATE TRIGGER batches_state_check_insert BEFORE INSERT ON batches
WHEN instr(NEW.state, ',') > 0 OR instr(',building,written,published,', ',' || NEW.state || ',') = 0
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: batches.state');
END;

CREATE TRIGGER batches_state_check_update BEFORE UPDATE OF state ON batches
WHEN instr(NEW.state, ',') > 0 OR instr(',building,written,published,', ',' || NEW.state || ',') = 0
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: batches.state');
END;

CREATE TRIGGER receipts_event_check_insert BEFORE INSERT ON receipts
WHEN instr(NEW.event, ',') > 0 OR instr(',printed,posted,failed,returned,', ',' || NEW.event || ',') = 0
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: receipts.event');
END;

CREATE TRIGGER receipts_event_check_update BEFORE UPDATE OF event ON receipts
WHEN instr(NEW.event, ',') > 0 OR instr(',printed,posted,failed,returned,', ',' || NEW.event || ',') = 0
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: receipts.event');
END;
