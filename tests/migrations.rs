//! Databases written by an earlier pinbrev: opened by this one, their schema is migrated and
//! nothing they hold is lost.

mod common;

use common::{postgres_url, Work};
use sqlx::Connection;

/// A database as pinbrev left it before the given migration: the schema migrations before it,
/// applied by sqlx exactly as that pinbrev applied them (same files, same checksums).
fn database_before(w: &Work, version: i64) {
    let old = w.path("sql-before");
    std::fs::create_dir_all(&old).unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/sql")).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue; // sql/postgres: the other engine's migrations
        }
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
    let w = Work::sqlite();
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

#[test]
fn orders_and_letters_of_an_older_database_get_their_persons_key() {
    let w = Work::sqlite();
    database_before(&w, 8);
    w.sql(
        "INSERT INTO persons (person_id, record, source_file, source_line, imported_at) \
           VALUES (7, '{}', 'p.jsonl', 1, '2026-11-20T08:00:00.000000Z')",
    );
    w.sql(
        "INSERT INTO person_ids (national_id, person_id, id_type, in_use) \
           VALUES ('09814900069', 7, 'foedselsnummer', 1)",
    );
    // A posted order of the person, one rejected for the reorder limit, one resolved to a
    // number the register no longer has.
    for (order, status, number) in [
        ("WEB-1", "posted", "09814900069"),
        ("WEB-2", "rejected", "09814900069"),
        ("WEB-3", "batched", "17857812069"),
    ] {
        w.sql(&format!(
            "INSERT INTO orders (order_id, national_id, ordered_at, channel, source_file, source_line, received_at, status, person_national_id, updated_at) \
             VALUES ('{order}', '{number}', '2026-11-20T08:00:00.000000Z', 'web', 'o.csv', 2, '2026-11-20T08:00:00.000000Z', '{status}', '{number}', '2026-11-20T08:00:00.000000Z')"
        ));
    }
    w.sql("INSERT INTO batches (batch_id, vendor, outbox, state, created_at, letter_count) \
           VALUES ('B20261120-001', 'default', '/tmp', 'published', '2026-11-20T09:00:00.000000Z', 2)");
    w.sql(
        "INSERT INTO letters (letter_id, order_id, batch_id, sequence, file, first_page, state, created_at) VALUES \
         ('B20261120-001-000001', 'WEB-1', 'B20261120-001', 1, 'letters-0001.pdf', 1, 'issued', '2026-11-20T09:00:00.000000Z'), \
         ('B20261120-001-000002', 'WEB-3', 'B20261120-001', 2, 'letters-0001.pdf', 2, 'issued', '2026-11-20T09:00:00.000000Z')",
    );

    w.ok(&["orders", "list"]);

    let keys = |table: &str| {
        w.sql(&format!(
            "SELECT order_id, COALESCE(person_id, -1) FROM {table} ORDER BY order_id"
        ))
    };
    let rows = |pairs: &[(&str, i64)]| -> Vec<Vec<String>> {
        pairs
            .iter()
            .map(|(o, p)| vec![o.to_string(), p.to_string()])
            .collect()
    };
    assert_eq!(
        keys("orders"),
        rows(&[("WEB-1", 7), ("WEB-2", -1), ("WEB-3", -1)])
    );
    assert_eq!(keys("letters"), rows(&[("WEB-1", 7), ("WEB-3", -1)]));
    let index =
        w.sql("SELECT name FROM pragma_index_list('letters') WHERE name = 'letters_person'");
    assert_eq!(
        index.len(),
        1,
        "the letters are indexed by the person's key"
    );
}

#[test]
fn an_older_databases_index_on_the_orders_person_keeps_no_status_then_only_orders_placed_with_another_number(
) {
    let w = Work::sqlite();
    database_before(&w, 9);
    let columns =
        |w: &Work| w.sql("SELECT name FROM pragma_index_info('orders_person') ORDER BY seqno");
    assert_eq!(
        columns(&w),
        vec![
            vec!["person_national_id".to_string()],
            vec!["status".to_string()]
        ],
        "before the migration the index held the status"
    );
    // WEB-1 placed with the number of its person, WEB-2 with an earlier d-number.
    for (order, placed) in [("WEB-1", "09814900069"), ("WEB-2", "49814900069")] {
        w.sql(&format!(
            "INSERT INTO orders (order_id, national_id, ordered_at, channel, source_file, source_line, received_at, status, person_national_id, updated_at) \
             VALUES ('{order}', '{placed}', '2026-11-20T08:00:00.000000Z', 'web', 'o.csv', 2, '2026-11-20T08:00:00.000000Z', 'validated', '09814900069', '2026-11-20T08:00:00.000000Z')",
        ));
    }

    w.ok(&["orders", "list"]);

    assert_eq!(columns(&w), vec![vec!["person_national_id".to_string()]]);
    assert_eq!(
        w.sql(
            "SELECT order_id FROM orders INDEXED BY orders_person \
               WHERE person_national_id = '09814900069' AND person_national_id <> national_id"
        ),
        vec![vec!["WEB-2".to_string()]],
        "the order placed with another number is found through the new index"
    );
    assert_eq!(
        w.sql(
            "SELECT COUNT(*) FROM orders INDEXED BY orders_person \
               WHERE person_national_id > '' AND person_national_id <> national_id"
        ),
        vec![vec!["1".to_string()]],
        "the order placed with its person's number is not in the index"
    );
    assert_eq!(
        w.sql(
            "SELECT order_id FROM orders INDEXED BY orders_national_id \
               WHERE national_id = '09814900069' AND person_national_id = '09814900069'"
        ),
        vec![vec!["WEB-1".to_string()]],
        "the other is found by the number it was placed with"
    );
}

/// Rows that exercise the state columns: each statement is expected to be accepted, or refused
/// naming the column. Every code of the core's types is accepted; anything else is refused.
fn state_cases() -> Vec<(String, Option<&'static str>)> {
    use pinbrev::letter::{BatchState, LetterState, ReceiptEvent};
    use pinbrev::orders::OrderStatus;

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
    let letter = |id: &str, sequence: usize, state: &str| {
        format!(
            "INSERT INTO letters (letter_id, order_id, batch_id, sequence, state, created_at) \
             VALUES ('{id}', 'WEB-0', 'B20261120-000', {sequence}, '{state}', '2026-11-20T09:00:00.000000Z')"
        )
    };
    let receipt = |event: &str| {
        format!(
            "INSERT INTO receipts (letter_id, event, batch_id, occurred_at, source_file, source_line, received_at) \
             VALUES ('L-issued', '{event}', 'B20261120-000', '2026-11-21T09:00:00.000000Z', 'r.csv', 2, '2026-11-21T09:00:00.000000Z')"
        )
    };
    let mut cases: Vec<(String, Option<&'static str>)> = Vec::new();
    for status in OrderStatus::ALL {
        cases.push((order(&format!("WEB-{status}"), status.code()), None));
    }
    for bad in ["sent", "Validated", "received,validated", ""] {
        cases.push((
            order(&format!("WEB-X{}", bad.len()), bad),
            Some("orders.status"),
        ));
    }
    cases.push((
        "UPDATE orders SET status = 'Validated' WHERE order_id = 'WEB-received'".into(),
        Some("orders.status"),
    ));
    cases.push((order("WEB-0", "batched"), None));
    for state in BatchState::ALL {
        cases.push((batch(&format!("B-{state}"), state.code()), None));
    }
    cases.push((batch("B20261120-000", "written"), None));
    cases.push((batch("B-X", "done"), Some("batches.state")));
    cases.push((
        "UPDATE batches SET state = '' WHERE batch_id = 'B-written'".into(),
        Some("batches.state"),
    ));
    for (i, state) in LetterState::ALL.iter().enumerate() {
        cases.push((letter(&format!("L-{state}"), i + 1, state.code()), None));
    }
    cases.push((letter("L-X", 99, "valid"), Some("letters.state")));
    cases.push((
        "UPDATE letters SET state = 'ISSUED' WHERE letter_id = 'L-issued'".into(),
        Some("letters.state"),
    ));
    for event in ReceiptEvent::ALL {
        cases.push((receipt(event.code()), None));
    }
    cases.push((receipt("delivered"), Some("receipts.event")));
    cases
}

/// Runs the state cases through `run` (a statement on a migrated database: `Err` with the
/// database's message when refused).
fn check_state_cases(mut run: impl FnMut(&str) -> Result<(), String>) {
    for (sql, refused) in state_cases() {
        match (run(&sql), refused) {
            (Ok(()), None) => {}
            // SQLite's triggers name the column (`orders.status`), PostgreSQL its constraint
            // (`orders_status_check`).
            (Err(e), Some(column)) => assert!(
                (e.contains(column) || e.contains(&column.replace('.', "_")))
                    && e.to_lowercase().contains("check"),
                "{sql}: refused, but not by the check of {column}: {e}"
            ),
            (Ok(()), Some(column)) => panic!("{sql}: accepted, yet {column} should refuse it"),
            (Err(e), None) => panic!("{sql}: refused: {e}"),
        }
    }
}

/// On SQLite, the state columns take exactly the core's codes: each one of them, and nothing
/// else, on insert and on update.
#[test]
fn state_columns_take_only_the_contracts_codes() {
    let w = Work::sqlite();
    w.create_database();
    check_state_cases(|sql| w.try_sql(sql).map(|_| ()));
}

/// A new, empty PostgreSQL database for one test, and a connection to it.
async fn fresh_postgres_database(name: &str) -> sqlx::PgConnection {
    let url = postgres_url();
    let mut admin = sqlx::PgConnection::connect(&url)
        .await
        .expect("connect to PostgreSQL");
    let db = format!("{name}_{}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db}"))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (base, _) = url.rsplit_once('/').expect("a database in the URL");
    sqlx::PgConnection::connect(&format!("{base}/{db}"))
        .await
        .expect("connect to the new database")
}

/// On PostgreSQL, the migrations under `sql/postgres` make every table of the SQLite schema with
/// the same columns, and the state columns take exactly the core's codes.
#[test]
fn postgres_schema_matches_sqlite_and_checks_the_same_codes() {
    let w = Work::sqlite();
    w.create_database();
    let sqlite_columns = w.sql(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' \
         ORDER BY 1, 2",
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conn = fresh_postgres_database("pinbrev_schema").await;
        let migrator = sqlx::migrate::Migrator::new(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/sql/postgres"
        )))
        .await
        .unwrap();
        migrator
            .run(&mut conn)
            .await
            .expect("the PostgreSQL migrations run");
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' ORDER BY 1, 2",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let postgres_columns: Vec<Vec<String>> =
            rows.into_iter().map(|(t, c)| vec![t, c]).collect();
        assert_eq!(postgres_columns, sqlite_columns);

        let mut results = Vec::new();
        for (sql, _) in state_cases() {
            let r = sqlx::query(&sql)
                .execute(&mut conn)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
            results.push(r);
        }
        let mut results = results.into_iter();
        check_state_cases(|_| results.next().expect("one result a case"));
    });
}

/// `--db postgres://…` naming a database that does not exist yet creates and migrates it, as a
/// new SQLite file is; the URL's password never reaches the output.
#[test]
fn a_new_postgres_database_is_created_and_migrated_on_first_use() {
    let w = Work::sqlite();
    let name = common::unique_name("created");
    let url = common::postgres_database_url(&name);
    // A command that only reads does not create it.
    let r = w.run(&["--db", &url, "orders", "list"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("no database at postgres://"),
        "{}",
        r.stderr
    );
    w.ok(&["--db", &url, "purge", "--dry-run"]);
    let r = w.ok(&["--db", &url, "orders", "list", "--format", "json"]);
    assert_eq!(r.stdout.trim(), "[]", "{}", r.stderr);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tables: i64 = rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_name IN ('orders', 'letters', 'batches')",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap()
    });
    assert_eq!(tables, 3);
    common::postgres_admin(&format!("DROP DATABASE {name} WITH (FORCE)"));

    // A server that cannot be reached is an error that names it, without the password.
    let r = w.run(&[
        "--db",
        "postgres://pinbrev:s3cret-pw@127.0.0.1:1/pinbrev",
        "orders",
        "list",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("postgres://pinbrev:***@127.0.0.1:1/pinbrev"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("s3cret-pw"), "{}", r.stderr);
}
