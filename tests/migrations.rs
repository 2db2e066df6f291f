//! Databases written by an earlier pinbrev: opened by this one, their schema is migrated and
//! nothing they hold is lost.

mod common;

use common::Work;
use sqlx::Connection;

/// A database as pinbrev left it before the given migration: the schema migrations before it,
/// applied by sqlx exactly as that pinbrev applied them (same files, same checksums).
fn database_before(w: &Work, version: i64) {
    let old = w.path("sql-before");
    std::fs::create_dir_all(&old).unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/sql")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let number: i64 = name[..4].parse().unwrap();
        if number < version {
            std::fs::copy(&path, old.join(&name)).unwrap();
        }
    }
    let url = format!("sqlite://{}?mode=rwc", w.db_file().display());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let migrator = sqlx::migrate::Migrator::new(old.as_path()).await.unwrap();
            migrator.run(&mut conn).await.unwrap();
        });
}

#[test]
fn code_digests_stored_in_the_letter_rows_move_to_their_own_table() {
    let w = Work::new();
    database_before(&w, 5);
    let digests = "ab".repeat(32 * 20);
    w.sql("INSERT INTO orders (order_id, national_id, ordered_at, channel, source_file, source_line, received_at, status, updated_at) \
           VALUES ('WEB-1', 'pseudonymised', '2026-11-20T08:00:00.000000Z', 'web', 'o.csv', 2, '2026-11-20T08:00:00.000000Z', 'batched', '2026-11-20T08:00:00.000000Z')");
    w.sql("INSERT INTO batches (batch_id, vendor, outbox, state, created_at, letter_count) \
           VALUES ('B20261120-001', 'default', '/tmp', 'published', '2026-11-20T09:00:00.000000Z', 2)");
    w.sql(&format!(
        "INSERT INTO letters (letter_id, order_id, batch_id, sequence, file, first_page, pin_digests, state, created_at) VALUES \
         ('B20261120-001-000001', 'WEB-1', 'B20261120-001', 1, 'letters-0001.pdf', 1, '{digests}', 'issued', '2026-11-20T09:00:00.000000Z'), \
         ('B20261120-001-000002', 'WEB-1', 'B20261120-001', 2, 'letters-0001.pdf', 2, NULL, 'failed', '2026-11-20T09:00:00.000000Z')"
    ));

    // Any command opens the database, and so migrates it.
    w.ok(&["orders", "list"]);

    assert_eq!(
        w.sql("SELECT letter_id, pin_digests FROM letter_codes"),
        vec![vec!["B20261120-001-000001".to_string(), digests]]
    );
    let columns = w.sql("SELECT name FROM pragma_table_info('letters')");
    assert!(
        !columns.iter().any(|c| c[0] == "pin_digests"),
        "letters keeps no digests: {columns:?}"
    );
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM letters"),
        vec![vec!["2".to_string()]]
    );
}

/// The state columns take exactly the core's codes: each one of them, and nothing else, on insert
/// and on update.
#[test]
fn state_columns_take_only_the_contracts_codes() {
    use pinbrev::letter::{BatchState, LetterState};
    use pinbrev::orders::OrderStatus;

    let w = Work::new();
    w.ok(&["orders", "list"]);
    let order = |id: &str, status: &str| {
        format!(
            "INSERT INTO orders (order_id, national_id, ordered_at, channel, source_file, source_line, received_at, status, updated_at) \
             VALUES ('{id}', 'pseudonymised', '2026-11-20T08:00:00.000000Z', 'web', 'o.csv', 2, '2026-11-20T08:00:00.000000Z', '{status}', '2026-11-20T08:00:00.000000Z')"
        )
    };
    let batch = |id: &str, state: &str| {
        format!(
            "INSERT INTO batches (batch_id, vendor, outbox, state, created_at, letter_count) \
             VALUES ('{id}', 'default', '/tmp', '{state}', '2026-11-20T09:00:00.000000Z', 1)"
        )
    };
    let letter = |id: &str, state: &str| {
        format!(
            "INSERT INTO letters (letter_id, order_id, batch_id, sequence, state, created_at) \
             VALUES ('{id}', 'WEB-0', 'B20261120-000', {}, '{state}', '2026-11-20T09:00:00.000000Z')",
            id.len() * 1000 + id.bytes().map(usize::from).sum::<usize>()
        )
    };
    let refused = |sql: String, column: &str| {
        let e = w.try_sql(&sql).expect_err(&sql);
        assert!(
            e.contains(&format!("CHECK constraint failed: {column}")),
            "{e}"
        );
    };
    for status in OrderStatus::ALL {
        w.sql(&order(&format!("WEB-{status}"), status.code()));
    }
    refused(order("WEB-X", "sent"), "orders.status");
    refused(order("WEB-Y", "received,validated"), "orders.status");
    refused(
        "UPDATE orders SET status = 'Validated' WHERE order_id = 'WEB-received'".into(),
        "orders.status",
    );
    w.sql(&order("WEB-0", "batched"));
    for state in BatchState::ALL {
        w.sql(&batch(&format!("B-{state}"), state.code()));
    }
    w.sql(&batch("B20261120-000", "written"));
    refused(batch("B-X", "done"), "batches.state");
    refused(
        "UPDATE batches SET state = '' WHERE batch_id = 'B-written'".into(),
        "batches.state",
    );
    for state in LetterState::ALL {
        w.sql(&letter(&format!("L-{state}"), state.code()));
    }
    refused(letter("L-X", "valid"), "letters.state");
    refused(
        "UPDATE letters SET state = 'ISSUED' WHERE letter_id = 'L-issued'".into(),
        "letters.state",
    );
}
