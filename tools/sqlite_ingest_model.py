#!/usr/bin/env python3
"""What SQLite alone costs to store a night's orders, without pinbrev: a model of `orders ingest`.

Makes N synthetic orders (sequential order ids, random 11-digit numbers, times at random over
four days, as `make bench` does) and stores them in a fresh database with pinbrev's orders and
events tables, indexes and pragmas (WAL, synchronous FULL, a 32 MB page cache), the way pinbrev
does: transactions of up to 500,000 rows, read 50,000 at a time, orders sorted oldest first and
events by order id, 1,000 rows to a statement. Prints the time spent and the microseconds per
order, so that two sizes can be compared: the same figure at every N is linear cost.

Variants (second argument) take out what makes the cost grow faster than N:
  base          as pinbrev stores them
  nonid         without the index on national_id
  norecv        without the queue index on (ordered_at, order_id) of received orders
  noidx         without either
  bynid         each chunk of 50,000 stored in national_id order instead of oldest first
  bynid_norecv  both: the one index left that rows enter at random is entered in order
  aside         as pinbrev stores them since the ninth sitting: a transaction that at least
                doubles the table drops those two indexes and builds them again before its
                commit (temp_store FILE, as ingest sets it)
CACHE_KB and MMAP in the environment set the page cache and mmap_size.

    python3 tools/sqlite_ingest_model.py 100000 base
    python3 tools/sqlite_ingest_model.py 1000000 base
"""
import os
import random
import sqlite3
import sys
import tempfile
import time

N = int(sys.argv[1])
VARIANT = sys.argv[2] if len(sys.argv) > 2 else "base"
VARIANTS = {"aside", "base", "nonid", "norecv", "noidx", "bynid", "bynid_norecv"}
if VARIANT not in VARIANTS:
    sys.exit(f"variant must be one of {sorted(VARIANTS)}")
CACHE_KB = int(os.environ.get("CACHE_KB", "32768"))
MMAP = int(os.environ.get("MMAP", "0"))

random.seed(7)
folder = tempfile.mkdtemp(prefix="pinbrev-model-")
path = os.path.join(folder, "model.db")
db = sqlite3.connect(path, isolation_level=None)
db.executescript(f"""
PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-{CACHE_KB};
PRAGMA wal_autocheckpoint=100000; PRAGMA temp_store={"FILE" if VARIANT == "aside" else "MEMORY"}; PRAGMA mmap_size={MMAP};
CREATE TABLE orders (order_id TEXT PRIMARY KEY, national_id TEXT NOT NULL, ordered_at TEXT NOT NULL,
 channel TEXT NOT NULL, language TEXT, source_file TEXT NOT NULL, source_line INTEGER NOT NULL,
 received_at TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, reason_detail TEXT,
 person_national_id TEXT, letter_language TEXT, address TEXT, postal_zone TEXT, postcode TEXT,
 country TEXT, validated_at TEXT, updated_at TEXT NOT NULL);
CREATE INDEX orders_national_id ON orders (national_id);
CREATE INDEX orders_person ON orders (person_national_id) WHERE person_national_id <> national_id;
CREATE INDEX orders_received ON orders (ordered_at, order_id) WHERE status = 'received';
CREATE INDEX orders_validated ON orders (ordered_at, order_id) WHERE status = 'validated';
CREATE TABLE order_events (event_id INTEGER PRIMARY KEY,
 order_id TEXT NOT NULL REFERENCES orders (order_id), at TEXT NOT NULL, actor TEXT NOT NULL,
 event TEXT NOT NULL, from_status TEXT, to_status TEXT, detail TEXT);
CREATE INDEX order_events_order ON order_events (order_id, event_id);
""")
if VARIANT in ("nonid", "noidx"):
    db.execute("DROP INDEX orders_national_id")
if VARIANT in ("norecv", "noidx", "bynid_norecv"):
    db.execute("DROP INDEX orders_received")

base = 1763593200  # 2026-11-20 00:00 Oslo
rows = []
for i in range(1, N + 1):
    number = "%011d" % random.randrange(10**10, 10**11)
    at = time.strftime("%Y-%m-%dT%H:%M:%S+01:00", time.gmtime(base + random.randrange(4 * 86400)))
    rows.append((f"BENCH-{i:08d}", number, at, "web", "nb"))
now = "2026-12-07T10:00:00Z"
start = time.time()
orders_s = events_s = 0.0
for tx in range(0, N, 500_000):
    db.execute("BEGIN IMMEDIATE")
    aside = []
    if VARIANT == "aside" and min(N - tx, 500_000) >= tx:
        for name in ("orders_national_id", "orders_received"):
            aside += [r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,))]
            db.execute(f"DROP INDEX {name}")
    for c in range(tx, min(N, tx + 500_000), 50_000):
        chunk = rows[c:c + 50_000]
        if VARIANT.startswith("bynid"):
            new = sorted(chunk, key=lambda r: r[1])
        else:
            new = sorted(chunk, key=lambda r: (r[2], r[0]))
        by_id = sorted(chunk, key=lambda r: r[0])
        a = time.time()
        for s in range(0, len(new), 1000):
            part = new[s:s + 1000]
            params = []
            for k, r in enumerate(part):
                params += [r[0], r[1], r[2], r[3], r[4], "orders.csv", c + s + k + 2, now, "received", now]
            db.execute(
                "INSERT INTO orders (order_id, national_id, ordered_at, channel, language, source_file, "
                "source_line, received_at, status, updated_at) VALUES "
                + ",".join(["(?,?,?,?,?,?,?,?,?,?)"] * len(part)),
                params,
            )
        b = time.time()
        for s in range(0, len(by_id), 1000):
            part = by_id[s:s + 1000]
            params = []
            for k, r in enumerate(part):
                params += [r[0], now, "ingest", "received", None, "received", "orders.csv:%d" % (c + s + k + 2)]
            db.execute(
                "INSERT INTO order_events (order_id, at, actor, event, from_status, to_status, detail) VALUES "
                + ",".join(["(?,?,?,?,?,?,?)"] * len(part)),
                params,
            )
        orders_s += b - a
        events_s += time.time() - b
    for definition in aside:
        db.execute(definition)
    db.execute("COMMIT")
total = time.time() - start
db.close()
for suffix in ("", "-wal", "-shm"):
    try:
        os.remove(path + suffix)
    except FileNotFoundError:
        pass
os.rmdir(folder)
print(f"N={N} variant={VARIANT} total={total:.2f} s orders={orders_s:.2f} s "
      f"events={events_s:.2f} s microseconds an order={total / N * 1e6:.1f}")
