//! The intake end to end, through the real binary: fixtures in, every outcome pinned.

mod common;

use std::collections::BTreeSet;

use common::{fixture, tsv, Work};
use pinbrev::orders::RejectReason;

#[test]
fn every_fixture_order_gets_its_expected_outcome() {
    let w = Work::new();
    w.load_fixtures();
    let got = w.outcomes();
    let expected: Vec<Vec<String>> = tsv("expected.tsv");
    assert_eq!(got.len(), expected.len(), "number of stored orders");
    for row in &expected {
        let reason = row.get(2).cloned().unwrap_or_default();
        assert_eq!(
            got.get(&row[0]),
            Some(&(row[1].clone(), reason)),
            "order {}",
            row[0]
        );
    }
}

#[test]
fn every_reason_code_of_the_contract_is_produced_by_a_fixture() {
    let w = Work::new();
    w.load_fixtures();
    let produced: BTreeSet<String> = w.outcomes().into_values().map(|(_, r)| r).collect();
    for reason in RejectReason::ALL {
        // reorder_limit needs letters already posted: tests/drop.rs
        // `reorder_limit_counts_letters_of_30_days` makes them.
        if *reason == RejectReason::ReorderLimit {
            continue;
        }
        // Not a contract code but pinbrev's extension; pinned by
        // `an_address_the_font_cannot_print_is_rejected` below.
        if *reason == RejectReason::UnprintableCharacters {
            continue;
        }
        assert!(
            produced.contains(reason.code()),
            "no fixture order produces {reason}"
        );
    }
}

#[test]
fn validated_orders_go_to_the_expected_zone_postcode_and_country() {
    let w = Work::new();
    w.load_fixtures();
    for row in tsv("expected-addresses.tsv") {
        let got = w.sql(&format!(
            "SELECT postal_zone, COALESCE(postcode, ''), country FROM orders WHERE order_id = '{}'",
            row[0]
        ));
        assert_eq!(
            got,
            vec![vec![row[1].clone(), row[2].clone(), row[3].clone()]],
            "order {}",
            row[0]
        );
    }
}

#[test]
fn held_orders_never_store_or_show_an_address() {
    let w = Work::new();
    w.load_fixtures();
    let held = w.sql("SELECT order_id, COALESCE(address, ''), COALESCE(postcode, ''), COALESCE(country, '') FROM orders WHERE status = 'held'");
    assert_eq!(held.len(), 2);
    for row in &held {
        assert_eq!(
            &row[1..],
            ["", "", ""],
            "held order {} keeps an address",
            row[0]
        );
        let status = w.ok(&["status", &row[0], "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
        assert_eq!(v["status"], "held");
        assert_eq!(v["reason"], "address_protected");
        assert!(v["postal_zone"].is_null() && v["country"].is_null());
        let text = w.ok(&["status", &row[0]]);
        let listed = w.ok(&["orders", "list", "--status", "held", "--format", "json"]);
        // The protected people's streets and towns in the fixture register must appear nowhere.
        for out in [&status.stdout, &text.stdout, &listed.stdout] {
            for secret in ["Tollbugata", "Drottninggatan", "Göteborg", "0015"] {
                assert!(!out.contains(secret), "{secret} shown in:\n{out}");
            }
        }
    }
}

#[test]
fn row_errors_name_file_line_and_field_and_the_good_rows_load() {
    let w = Work::new();
    let f = |r: &str| fixture(r).display().to_string();
    w.ok(&["register", "import", &f("register/freg-2026-11-23.jsonl")]);
    let r = w.ok(&[
        "orders",
        "ingest",
        &f("orders/orders-2026-11-23-web.csv"),
        &f("orders/orders-2026-11-24-web.csv"),
    ]);
    for row in tsv("expected-row-errors.tsv") {
        let needle = format!("{}:{}: {}: ", row[0], row[1], row[2]);
        let line = r.stderr.lines().find(|l| l.contains(&needle));
        let line = line.unwrap_or_else(|| panic!("no row error {needle} in:\n{}", r.stderr));
        assert!(line.ends_with(&format!("({})", row[3])), "{line}");
    }
    assert!(
        r.stdout
            .contains("orders-2026-11-24-web.csv: 11 new orders, 1 already known, 8 row errors"),
        "{}",
        r.stdout
    );
    let kept = w.sql(
        "SELECT file, line, field, code FROM input_errors WHERE input = 'orders' ORDER BY line",
    );
    assert_eq!(kept.len(), 8);
    assert!(
        kept[0][0].ends_with("orders-2026-11-24-web.csv")
            && kept[0][1] == "3"
            && kept[0][3] == "order_id_conflict"
    );
}

/// Blank lines, CRLF line ends and a line break inside a quoted field: every row is named by
/// the physical line it starts on, in the messages, in the kept row errors and in the orders.
#[test]
fn rows_after_blank_lines_are_named_by_their_own_line() {
    let w = Work::new();
    let path = w.path("blank-lines.csv");
    std::fs::write(
        &path,
        "order_id,national_id,ordered_at,channel\r\n\r\n\r\n\
         B-1,12345678901,2026-11-23T10:00:00Z,fax\r\n\
         \r\n\
         B-2,12345678901,\"2026-11-23\nT10:00:00Z\",web\n\
         \n\
         B-3,12345678901,2026-11-23T10:00:00Z,web\n",
    )
    .unwrap();
    let r = w.ok(&["orders", "ingest", &path.display().to_string()]);
    assert!(
        r.stderr.contains("blank-lines.csv:4: channel: ")
            && r.stderr.contains("blank-lines.csv:6: ordered_at: "),
        "{}",
        r.stderr
    );
    assert_eq!(
        w.sql("SELECT line, field FROM input_errors WHERE input = 'orders' ORDER BY line"),
        vec![
            vec!["4".to_string(), "channel".to_string()],
            vec!["6".to_string(), "ordered_at".to_string()]
        ]
    );
    assert_eq!(
        w.sql("SELECT order_id, source_line FROM orders"),
        vec![vec!["B-3".to_string(), "9".to_string()]]
    );
}

#[test]
fn a_redelivered_file_changes_nothing() {
    let w = Work::new();
    let file = fixture("orders/orders-2026-11-23-support.csv")
        .display()
        .to_string();
    let first = w.ok(&["orders", "ingest", &file]);
    assert!(
        first
            .stdout
            .contains("9 new orders, 0 already known, 0 row errors"),
        "{}",
        first.stdout
    );
    let events = w.sql("SELECT COUNT(*) FROM order_events");
    let second = w.ok(&["orders", "ingest", &file]);
    assert!(
        second
            .stdout
            .contains("0 new orders, 9 already known, 0 row errors"),
        "{}",
        second.stdout
    );
    assert!(second.stderr.is_empty(), "{}", second.stderr);
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM orders"),
        vec![vec!["9".to_string()]]
    );
    assert_eq!(w.sql("SELECT COUNT(*) FROM order_events"), events);
}

/// A file of at least a quarter of the orders held is stored with the index on the identity
/// number and the received queue set aside, and built again before the commit. A crash before
/// they are built again loses nothing, and leaves them as the migrations made them.
#[test]
fn a_crash_while_a_bulk_load_has_set_indexes_aside_stores_nothing_and_loses_no_index() {
    let w = Work::new();
    w.create_database();
    let indexes = w.index_definitions("orders");
    assert!(
        indexes.iter().any(|i| i[0] == "orders_national_id")
            && indexes.iter().any(|i| i[0] == "orders_received"),
        "{indexes:?}"
    );
    let file = fixture("orders/orders-2026-11-23-support.csv")
        .display()
        .to_string();
    let crash = [("PINBREV_FAILPOINT", "bulk-load-before-indexes-rebuilt")];
    let first = w.run_with(&["orders", "ingest", &file], &crash);
    if w.on_sqlite("a bulk load sets indexes aside") {
        assert!(
            first
                .stderr
                .contains("failpoint bulk-load-before-indexes-rebuilt: aborting"),
            "{}",
            first.stderr
        );
        assert_ne!(first.code, 0);
        for table in ["orders", "order_events", "input_errors"] {
            assert_eq!(
                w.sql(&format!("SELECT COUNT(*) FROM {table}")),
                vec![vec!["0".to_string()]],
                "{table}"
            );
        }
        assert_eq!(w.index_definitions("orders"), indexes);
        w.ok(&["orders", "ingest", &file]);
        // The indexes built again hold every order.
        for (index, column) in [
            ("orders_national_id", "national_id"),
            ("orders_received", "ordered_at"),
        ] {
            assert_eq!(
                w.sql(&format!(
                    "SELECT COUNT(*) FROM orders INDEXED BY {index} \
                     WHERE {column} > '' AND status = 'received'"
                )),
                vec![vec!["9".to_string()]],
                "{index}"
            );
        }
    } else {
        // PostgreSQL keeps every index: dropping one would lock out every reader.
        assert_eq!(first.code, 0, "{}", first.stderr);
    }
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM orders"),
        vec![vec!["9".to_string()]]
    );
    assert_eq!(w.index_definitions("orders"), indexes);
    // Fewer orders than a quarter of what the table holds are stored with every index in
    // place.
    let fewer = w.path("fewer.csv");
    std::fs::write(
        &fewer,
        "order_id,national_id,ordered_at,channel\n\
         F-1,12345678901,2026-11-23T10:00:00Z,web\n",
    )
    .unwrap();
    let second = w.run_with(&["orders", "ingest", &fewer.display().to_string()], &crash);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM orders"),
        vec![vec!["10".to_string()]]
    );
    assert_eq!(w.index_definitions("orders"), indexes);
    // A quarter of the orders held, or more, sets them aside again.
    let quarter = w.path("quarter.csv");
    std::fs::write(
        &quarter,
        "order_id,national_id,ordered_at,channel\n\
         Q-1,12345678901,2026-11-23T10:00:00Z,web\n\
         Q-2,12345678901,2026-11-23T10:00:01Z,web\n\
         Q-3,12345678901,2026-11-23T10:00:02Z,web\n",
    )
    .unwrap();
    let third = w.run_with(
        &["orders", "ingest", &quarter.display().to_string()],
        &crash,
    );
    let held = if w.on_sqlite("a load of a quarter of the table sets indexes aside") {
        assert!(
            third
                .stderr
                .contains("failpoint bulk-load-before-indexes-rebuilt: aborting"),
            "{}",
            third.stderr
        );
        assert_ne!(third.code, 0);
        "10"
    } else {
        assert_eq!(third.code, 0, "{}", third.stderr);
        "13"
    };
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM orders"),
        vec![vec![held.to_string()]]
    );
    assert_eq!(w.index_definitions("orders"), indexes);
}

#[test]
fn unusable_order_files_exit_3_and_the_others_still_load() {
    let w = Work::new();
    let f = |r: &str| fixture(r).display().to_string();
    let r = w.run(&[
        "orders",
        "ingest",
        &f("orders/broken-no-header.csv"),
        &f("orders/orders-2026-11-23-support.csv"),
        &f("orders/broken-not-utf8.csv"),
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("broken-no-header.csv: line 1: header lacks the required column(s) order_id, national_id, ordered_at"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("broken-not-utf8.csv: line 1: not UTF-8 (at character 42 of the line)"),
        "{}",
        r.stderr
    );
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM orders"),
        vec![vec!["9".to_string()]]
    );
    let missing = w.run(&["orders", "ingest", "no-such-file.csv"]);
    assert_eq!(missing.code, 3);
    assert!(
        missing.stderr.contains("no-such-file.csv: cannot read"),
        "{}",
        missing.stderr
    );
}

#[test]
fn register_line_errors_are_reported_and_the_rest_loads() {
    let w = Work::new();
    let f = |r: &str| fixture(r).display().to_string();
    w.ok(&["register", "import", &f("register/freg-2026-11-23.jsonl")]);
    let before = w.sql("SELECT person_id, record FROM persons ORDER BY person_id");
    let r = w.ok(&[
        "register",
        "import",
        &f("register/freg-2026-11-24-update.jsonl"),
    ]);
    for row in tsv("expected-register-errors.tsv") {
        let needle = format!("{}:{}: ", row[0], row[1]);
        let line = r
            .stderr
            .lines()
            .find(|l| l.contains(&needle))
            .unwrap_or_else(|| panic!("no {needle} in {}", r.stderr));
        assert!(line.ends_with(&format!("({})", row[2])), "{line}");
    }
    assert!(
        r.stdout
            .contains("2 people loaded (1 replaced an earlier document), 2 line errors"),
        "{}",
        r.stdout
    );
    let persons = w.sql("SELECT COUNT(*) FROM persons");
    assert_eq!(persons, vec![vec!["54".to_string()]]);
    let after = w.sql("SELECT person_id, record FROM persons ORDER BY person_id");
    let changed = before.iter().zip(&after).filter(|(b, a)| b != a).count();
    assert_eq!(
        changed, 1,
        "exactly the re-imported person is replaced, under the same person_id"
    );
    let unreadable = w.run(&["register", "import", "missing.jsonl"]);
    assert_eq!(unreadable.code, 3);
}

#[test]
fn shipped_postcode_list_loads_on_first_use() {
    let w = Work::new();
    let f = |r: &str| fixture(r).display().to_string();
    w.ok(&["register", "import", &f("register/freg-2026-11-23.jsonl")]);
    w.ok(&["orders", "ingest", &f("orders/orders-2026-11-23-web.csv")]);
    w.ok(&["orders", "validate"]);
    let source = w.sql("SELECT source FROM postcode_source");
    assert!(source[0][0].starts_with("shipped:"), "{source:?}");
    let count: i64 = w.sql("SELECT COUNT(*) FROM postcodes")[0][0]
        .parse()
        .unwrap();
    assert!(count > 5000, "{count}");
    // Without categories the category rule cannot apply; every other rule still does.
    let outcomes = w.outcomes();
    assert_eq!(outcomes["WEB-20261123-0001"].0, "validated");
    assert_eq!(outcomes["WEB-20261123-0037"].1, "postcode_place_mismatch");
}

#[test]
fn posten_register_file_in_windows_1252_replaces_the_list() {
    let w = Work::new();
    let r = w.ok(&[
        "postcodes",
        "import",
        &fixture("postcodes/Postnummerregister-sample.txt")
            .display()
            .to_string(),
    ]);
    assert!(
        r.stdout
            .contains("42 postal codes loaded (42 with a category), 0 line errors"),
        "{}",
        r.stdout
    );
    assert_eq!(
        w.sql("SELECT place, category FROM postcodes WHERE postcode = '9008'"),
        vec![vec!["TROMSØ".to_string(), "G".to_string()]]
    );
    let utf8 = w.ok(&[
        "postcodes",
        "import",
        &fixture("postcodes/Postnummerregister-sample-utf8.txt")
            .display()
            .to_string(),
    ]);
    assert!(utf8.stdout.contains("42 postal codes loaded"));
    std::fs::write(w.path("junk.txt"), "no postal codes here\nnor here\n").unwrap();
    let junk = w.run(&["postcodes", "import", "junk.txt"]);
    assert_eq!(junk.code, 3, "{}", junk.stderr);
    assert!(
        junk.stderr.contains("junk.txt: no usable postal-code rows"),
        "{}",
        junk.stderr
    );
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM postcodes"),
        vec![vec!["42".to_string()]],
        "a bad file leaves the list alone"
    );
    // Larger than any postal-code register (16 MB): refused before it is held whole.
    let line = "0101\tOSLO\t0301\tOSLO\tP\n";
    std::fs::write(w.path("huge.txt"), line.repeat((16 << 20) / line.len() + 1)).unwrap();
    let huge = w.run(&["postcodes", "import", "huge.txt"]);
    assert_eq!(huge.code, 3, "{}", huge.stderr);
    assert!(
        huge.stderr.contains(
            "huge.txt: cannot read: the file is larger than 16777216 bytes, more than such a file can be"
        ),
        "{}",
        huge.stderr
    );
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM postcodes"),
        vec![vec!["42".to_string()]],
        "a refused file leaves the list alone"
    );
    // A postal code listed twice: a line error, the first line kept, the rest loaded.
    std::fs::write(
        w.path("twice.txt"),
        "0101\tOSLO\t0301\tOSLO\tP\n9008\tTROMSØ\t5501\tTROMSØ\tG\n0101\tBERGEN\t4601\tBERGEN\tG\n",
    )
    .unwrap();
    let twice = w.ok(&["postcodes", "import", "twice.txt"]);
    assert!(
        twice.stdout.contains("2 postal codes loaded") && twice.stdout.contains("1 line error"),
        "{}",
        twice.stdout
    );
    assert!(
        twice
            .stderr
            .contains("twice.txt:3: postnummer: 0101 is listed on line 1 already; that line is kept (duplicate_postcode)"),
        "{}",
        twice.stderr
    );
    assert_eq!(
        w.sql("SELECT place FROM postcodes WHERE postcode = '0101'"),
        vec![vec!["OSLO".to_string()]]
    );
}

#[test]
fn synthetic_numbers_are_refused_unless_allowed() {
    let w = Work::new();
    let f = |r: &str| fixture(r).display().to_string();
    w.ok(&["register", "import", &f("register/freg-2026-11-23.jsonl")]);
    w.ok(&["orders", "ingest", &f("orders/orders-2026-11-23-web.csv")]);
    w.run_with(
        &["orders", "validate"],
        &[("PINBREV_ALLOW_SYNTHETIC", "false")],
    );
    let outcomes = w.outcomes();
    assert!(
        outcomes
            .values()
            .all(|(s, r)| s == "rejected" && r == "invalid_national_id"),
        "{outcomes:?}"
    );
    let detail = w.sql("SELECT reason_detail FROM orders WHERE order_id = 'WEB-20261123-0001'");
    assert!(detail[0][0].contains("allow_synthetic"), "{detail:?}");
}

#[test]
fn database_runs_in_wal_mode_with_events_for_every_change() {
    let w = Work::new();
    w.load_fixtures();
    if w.on_sqlite("WAL mode and the database files' permissions") {
        assert_eq!(w.sql("PRAGMA journal_mode"), vec![vec!["wal".to_string()]]);
        for f in ["pinbrev.db", "pinbrev.db-wal", "pinbrev.db-shm"] {
            if let Ok(meta) = std::fs::metadata(w.path(f)) {
                let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777;
                assert_eq!(mode, 0o600, "{f} has mode {mode:o}");
            }
        }
    }
    let orders: i64 = w.sql("SELECT COUNT(*) FROM orders")[0][0].parse().unwrap();
    let received = w.sql("SELECT COUNT(*) FROM order_events WHERE event = 'received'");
    let decided = w.sql(
        "SELECT COUNT(*) FROM order_events WHERE actor = 'validate' AND from_status = 'received'",
    );
    assert_eq!(received[0][0], orders.to_string());
    assert_eq!(decided[0][0], orders.to_string());
}

#[test]
fn an_address_the_font_cannot_print_is_rejected() {
    let w = Work::new();
    let number = (0..1000)
        .find_map(|i| pinbrev::national_id::build(41, 85, 90, i))
        .unwrap()
        .as_digits();
    let doc = format!(
        r#"{{"identifikasjonsnummer":[{{"erGjeldende":true,"status":"iBruk","foedselsEllerDNummer":"{number}","identifikatortype":"dNummer"}}],"status":[{{"erGjeldende":true,"status":"ikkeBosatt"}}],"navn":[{{"erGjeldende":true,"fornavn":"Wei","etternavn":"Li"}}],"foedsel":[{{"foedselsdato":"1990-05-01"}}],"postadresseIUtlandet":[{{"erGjeldende":true,"utenlandskAdresse":{{"adressenavn":"王府井大街 1","postkode":"100006","byEllerStedsnavn":"Beijing","region":"Beijing Shi","landkode":"CN"}}}}]}}"#
    );
    std::fs::write(w.path("freg.jsonl"), doc + "\n").unwrap();
    std::fs::write(
        w.path("o.csv"),
        format!("order_id,national_id,ordered_at\nCJK-1,{number},2026-11-23T10:00:00Z\n"),
    )
    .unwrap();
    w.ok(&["register", "import", "freg.jsonl"]);
    w.ok(&["orders", "ingest", "o.csv"]);
    w.ok(&["orders", "validate"]);
    assert_eq!(
        w.outcomes()["CJK-1"],
        ("rejected".to_string(), "unprintable_characters".to_string())
    );
    let detail = w.sql("SELECT reason_detail FROM orders WHERE order_id = 'CJK-1'");
    assert!(detail[0][0].contains("U+738B"), "{detail:?}");
}

#[test]
fn people_repeated_or_merged_within_one_file_are_stored_in_file_order() {
    let w = Work::new();
    let id = |n: &str, in_use: bool| {
        format!(
            r#"{{"erGjeldende":{in_use},"status":"{}","foedselsEllerDNummer":"{n}","identifikatortype":"foedselsnummer"}}"#,
            if in_use { "iBruk" } else { "opphoert" }
        )
    };
    let doc = |ids: &[String], name: &str| {
        format!(
            r#"{{"identifikasjonsnummer":[{}],"status":[{{"erGjeldende":true,"status":"bosatt"}}],"navn":[{{"fornavn":"{name}","etternavn":"Test"}}]}}"#,
            ids.join(",")
        )
    };
    let (x, y, z, v, u) = (
        "01010000001",
        "01010000002",
        "01010000003",
        "01010000004",
        "01010000005",
    );
    let lines = [
        doc(&[id(x, true)], "Anne"),
        doc(&[id(y, true)], "Berit"),
        // The same person again: replaces the first line's, under its person_id.
        doc(&[id(x, true)], "Annelise"),
        // A stored number and a new one: replaces the second line's person.
        doc(&[id(y, true), id(z, false)], "Cecilie"),
        // One number listed twice: stored once, in use.
        doc(&[id(u, false), id(u, true)], "Dag"),
        // A number of the first person: replaces it again, and brings a new number along.
        doc(&[id(x, false), id(v, true)], "Erik"),
    ];
    let file = w.path("people.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let r = w.ok(&["register", "import", &file.display().to_string()]);
    assert!(
        r.stdout
            .contains("6 people loaded (3 replaced an earlier document), 0 line errors"),
        "{}",
        r.stdout
    );
    assert_eq!(
        w.sql(
            "SELECT national_id, person_id, id_type, in_use FROM person_ids ORDER BY national_id"
        ),
        [(x, 1, 0), (y, 2, 1), (z, 2, 0), (v, 1, 1), (u, 3, 1)]
            .iter()
            .map(|(n, p, u)| vec![
                n.to_string(),
                p.to_string(),
                "foedselsnummer".into(),
                u.to_string()
            ])
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        w.sql(&format!(
            "SELECT person_id, {} FROM persons ORDER BY person_id",
            w.json_text("record", "name", "fornavn")
        )),
        vec![
            vec!["1".to_string(), "Erik".to_string()],
            vec!["2".to_string(), "Cecilie".to_string()],
            vec!["3".to_string(), "Dag".to_string()],
        ]
    );
}
