//! Real data and hostile input through the real binary: the register as Skatteetaten sends it,
//! nothing personal in any output, files that must not be lost or misread, and exit codes that
//! tell the truth. Each test checks the message, the exit code and that nothing was lost.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use common::{eleven_digit_runs, fixture, summary, Work, NIGHTLY};

/// A valid synthetic number (month + 80) from its parts.
fn number(day: u32, month: u32, year: u32) -> String {
    (0..1000)
        .find_map(|i| pinbrev::national_id::build(day, month, year, i))
        .unwrap()
        .as_digits()
}

fn write(w: &Work, name: &str, text: &str) -> String {
    let path = w.path(name);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Every order's (status, reason), by order_id.
type Outcomes = std::collections::BTreeMap<String, (String, String)>;

/// Ingests one order per (order_id, national_id), placed 23 November, validates, and returns
/// every order's (status, reason) and what `orders validate` printed.
fn validate_orders(w: &Work, orders: &[(&str, &str)]) -> (Outcomes, String) {
    let rows: String = orders
        .iter()
        .map(|(id, number)| format!("{id},{number},2026-11-23T10:00:00Z\n"))
        .collect();
    let file = write(
        w,
        "orders.csv",
        &format!("order_id,national_id,ordered_at\n{rows}"),
    );
    w.ok(&["orders", "ingest", &file]);
    let validated = w.ok(&["orders", "validate"]);
    (w.outcomes(), validated.stdout)
}

fn one(w: &Work, query: &str) -> String {
    w.sql(query)[0][0].clone()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

// --- The register as it really comes ----------------------------------------------------------

/// A Freg person document whose elements are single objects where the API sends them so, and
/// single objects everywhere else too.
fn doc(number: &str, extra: &str) -> String {
    format!(
        r#"{{"identifikasjonsnummer":{{"erGjeldende":true,"status":"iBruk","foedselsEllerDNummer":"{number}","identifikatortype":"foedselsnummer"}},"status":{{"erGjeldende":true,"status":"bosatt"}},"foedsel":{{"erGjeldende":true,"foedselsdato":"1980-01-01"}},"navn":{{"erGjeldende":true,"fornavn":"Kari","etternavn":"Nordmann"}},"bostedsadresse":{{"erGjeldende":true,"vegadresse":{{"adressenavn":"Storgata","adressenummer":{{"husnummer":"1"}},"poststed":{{"postnummer":"0150","poststedsnavn":"OSLO"}}}}}}{extra}}}"#
    )
}

#[test]
fn single_object_elements_load_and_decide_the_outcome() {
    let w = Work::new();
    let (dead, false_id, plain, not_false) = (
        number(1, 81, 80),
        number(2, 81, 80),
        number(3, 81, 80),
        number(4, 81, 80),
    );
    let extract = [
        doc(
            &dead,
            r#","doedsfall":{"erGjeldende":true,"doedsdato":"2026-11-20"}"#,
        ),
        doc(
            &false_id,
            r#","falskIdentitet":{"erGjeldende":true,"erFalsk":true,"rettIdentitetErUkjent":true}"#,
        ),
        doc(&plain, ""),
        doc(&not_false, r#","falskIdentitet":{"erFalsk":false}"#),
    ]
    .join("\n");
    let file = write(&w, "freg.jsonl", &extract);
    let r = w.ok(&["register", "import", &file]);
    assert!(
        r.stdout.contains("4 people loaded") && r.stdout.contains("0 line errors"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    let (outcomes, validated) = validate_orders(
        &w,
        &[
            ("D-1", &dead),
            ("F-1", &false_id),
            ("P-1", &plain),
            ("N-1", &not_false),
        ],
    );
    assert!(validated.contains("false_identity 1"), "{validated}");
    assert_eq!(outcomes["D-1"], ("rejected".into(), "deceased".into()));
    assert_eq!(
        outcomes["F-1"],
        ("rejected".into(), "false_identity".into())
    );
    assert_eq!(outcomes["P-1"], ("validated".into(), String::new()));
    assert_eq!(outcomes["N-1"], ("validated".into(), String::new()));
    let listed = w.ok(&["orders", "list", "--reason", "false_identity"]);
    assert!(listed.stdout.contains("F-1"), "{}", listed.stdout);
}

/// Shapes seen in real Freg answers: an ended record (`opphoerstidspunkt`) still flagged
/// current, a grading in capitals, a lookup's wrapper, the newest record listed first.
#[test]
fn real_api_shapes_are_read_as_the_register_means_them() {
    let w = Work::new();
    let (ended, graded, wrapped, newest) = (
        number(11, 81, 80),
        number(12, 81, 80),
        number(13, 81, 80),
        number(14, 81, 80),
    );
    let address = |street: &str| {
        format!(
            r#"{{"erGjeldende":true,"vegadresse":{{"adressenavn":"{street}","adressenummer":{{"husnummer":"1"}},"poststed":{{"postnummer":"0150","poststedsnavn":"OSLO"}}}}}}"#
        )
    };
    let person = |n: &str, extra: &str| {
        format!(
            r#"{{"identifikasjonsnummer":[{{"erGjeldende":true,"status":"iBruk","foedselsEllerDNummer":"{n}","identifikatortype":"foedselsnummer"}}],"status":[{{"erGjeldende":true,"status":"bosatt"}}],"foedsel":[{{"foedselsdato":"1980-01-01"}}],"navn":[{{"fornavn":"Kari","etternavn":"Nordmann"}}]{extra}}}"#
        )
    };
    let extract = [
        // The only address ended in March 2024, though still flagged current.
        person(
            &ended,
            &format!(
                r#","postadresse":[{}]"#,
                address("Gammelgata").replace(
                    r#""erGjeldende":true,"#,
                    r#""erGjeldende":true,"opphoerstidspunkt":"2024-03-21T10:00:00+01:00","#
                )
            ),
        ),
        person(
            &graded,
            &format!(
                r#","adressebeskyttelse":[{{"graderingsnivaa":"STRENGT_FORTROLIG"}}],"bostedsadresse":[{}]"#,
                address("Hemmeligveien")
            ),
        ),
        format!(
            r#"{{"foedselsEllerDNummer":"{wrapped}","folkeregisterperson":{}}}"#,
            person(&wrapped, &format!(r#","bostedsadresse":[{}]"#, address("Storgata")))
        ),
        person(
            &newest,
            &format!(
                r#","bostedsadresse":[{},{}]"#,
                address("Nyveien"),
                address("Gamleveien")
            ),
        ),
    ]
    .join("\n");
    let file = write(&w, "freg.jsonl", &extract);
    let r = w.ok(&["register", "import", &file]);
    assert!(
        r.stdout.contains("4 people loaded"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    let (outcomes, _) = validate_orders(
        &w,
        &[
            ("E-1", &ended),
            ("G-1", &graded),
            ("W-1", &wrapped),
            ("N-1", &newest),
        ],
    );
    assert_eq!(
        outcomes["E-1"],
        ("rejected".into(), "no_postal_address".into())
    );
    assert_eq!(outcomes["G-1"], ("held".into(), "address_protected".into()));
    assert_eq!(outcomes["W-1"], ("validated".into(), String::new()));
    assert_eq!(outcomes["N-1"], ("validated".into(), String::new()));
    let address_of_newest = one(&w, "SELECT address FROM orders WHERE order_id = 'N-1'");
    assert!(
        address_of_newest.contains("Nyveien 1"),
        "{address_of_newest}"
    );
}

#[test]
fn a_d_number_with_the_h_month_is_an_invalid_national_id() {
    let w = Work::new();
    // Day 41 (d-number) and month 81 is a synthetic d-number; month 41 is the H offset too.
    let bad = common::with_check_digits("414190123");
    let good = number(41, 81, 90);
    let (outcomes, _) = validate_orders(&w, &[("H-1", &bad), ("D-1", &good)]);
    assert_eq!(
        outcomes["H-1"],
        ("rejected".into(), "invalid_national_id".into())
    );
    // A well-formed d-number is looked up (and not found in this empty register).
    assert_eq!(
        outcomes["D-1"],
        ("rejected".into(), "unknown_person".into())
    );
    let status = w.ok(&["status", "H-1"]);
    assert!(
        status
            .stdout
            .contains("invalid_national_id (the date part is not a calendar date)"),
        "{}",
        status.stdout
    );
}

// --- Nothing personal in any output -----------------------------------------------------------

/// Every free text the database keeps, with no full national id in any of it.
fn assert_no_stored_national_id(w: &Work) {
    for (table, column) in [
        ("order_events", "detail"),
        ("receipts", "detail"),
        ("orders", "reason_detail"),
        ("input_errors", "message"),
    ] {
        for row in w.sql(&format!(
            "SELECT {column} FROM {table} WHERE {column} IS NOT NULL"
        )) {
            assert!(
                eleven_digit_runs(&row[0]).is_empty(),
                "{table}.{column} holds a full national id: {}",
                row[0]
            );
        }
    }
}

#[test]
fn operator_and_vendor_free_text_is_masked_before_it_is_stored() {
    let w = Work::new();
    w.load_fixtures();
    w.ok(&[
        "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ]);
    let cancelled = "WEB-20261123-0001";
    let r = w.ok(&[
        "orders",
        "cancel",
        cancelled,
        "--reason",
        "fnr 05057522244 ringte\tinn \u{1b}[31m",
    ]);
    assert!(r.stdout.contains("cancelled"), "{}", r.stdout);
    let returned = "WEB-20261123-0002";
    let letter = one(
        &w,
        &format!("SELECT letter_id || ',' || batch_id FROM letters WHERE order_id = '{returned}'"),
    );
    let (letter, batch) = letter.split_once(',').unwrap();
    let [.., now] = common::receipt_times();
    let receipts = write(
        &w,
        "r.csv",
        &format!("batch_id,letter_id,event,occurred_at,detail\n{batch},{letter},returned,{now},ukjent 12038512345\n"),
    );
    w.ok(&["receipts", "ingest", &receipts]);

    // Shown masked by status, text and JSON (the run helper fails on any 11-digit number).
    let text = w.ok(&["status", cancelled]);
    assert!(
        text.stdout.contains("fnr 050575***** ringte inn  [31m"),
        "{}",
        text.stdout
    );
    let json = w.ok(&["status", returned, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let details: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["detail"].as_str())
        .collect();
    assert!(
        details.iter().any(|d| d.ends_with(": ukjent 120385*****")),
        "{details:?}"
    );
    // Stored masked, so that purge (which keeps the history) keeps nothing personal.
    assert_eq!(
        one(
            &w,
            &format!("SELECT detail FROM receipts WHERE letter_id = '{letter}'")
        ),
        "ukjent 120385*****"
    );
    assert_no_stored_national_id(&w);
    // The person's key of the order and of its letter goes with the rest of its personal data.
    let keyed = format!(
        "SELECT COUNT(o.person_id), COUNT(l.person_id) FROM orders o \
         JOIN letters l ON l.order_id = o.order_id WHERE o.order_id = '{cancelled}'"
    );
    assert_eq!(w.sql(&keyed), vec![vec!["1".to_string(), "1".to_string()]]);
    w.run_with(&["purge"], &[("PINBREV_RETENTION_DAYS", "0")]);
    assert_eq!(
        one(
            &w,
            &format!("SELECT COUNT(*) FROM orders WHERE order_id = '{cancelled}' AND pseudonymised_at IS NOT NULL")
        ),
        "1"
    );
    assert_eq!(w.sql(&keyed), vec![vec!["0".to_string(), "0".to_string()]]);
    let history = w.sql(&format!(
        "SELECT detail FROM order_events WHERE order_id = '{cancelled}' AND event = 'cancelled'"
    ));
    assert_eq!(history[0][0], "fnr 050575***** ringte inn  [31m");
    assert_no_stored_national_id(&w);
}

#[test]
fn free_text_stored_before_masking_is_masked_by_the_migration() {
    let w = Work::new();
    if !w.on_sqlite("a data migration of databases from before masking; a PostgreSQL one never held unmasked text") {
        return;
    }
    w.load_fixtures();
    // As an earlier pinbrev left it: free text kept as given.
    w.sql("UPDATE order_events SET detail = 'fnr 05057522244' WHERE event_id = 1");
    w.sql(
        "UPDATE orders SET reason_detail = 'ring 12038512345' WHERE order_id = 'WEB-20261123-0039'",
    );
    w.sql("INSERT INTO input_errors (input, file, line, field, code, message, at) VALUES ('orders', 'x.csv', 2, 'channel', 'invalid_channel', '\"010190 12345\" is not one of web', '2026-11-24T00:00:00Z')");
    w.sql("UPDATE data_migrations SET done_at = NULL");
    assert_eq!(
        eleven_digit_runs(&one(
            &w,
            "SELECT detail FROM order_events WHERE event_id = 1"
        ))
        .len(),
        1,
        "the test starts from unmasked text"
    );
    w.ok(&["orders", "list"]);
    assert_eq!(
        one(&w, "SELECT detail FROM order_events WHERE event_id = 1"),
        "fnr 050575*****"
    );
    assert_eq!(
        one(
            &w,
            "SELECT reason_detail FROM orders WHERE order_id = 'WEB-20261123-0039'"
        ),
        "ring 120385*****"
    );
    assert_eq!(
        one(&w, "SELECT message FROM input_errors WHERE file = 'x.csv'"),
        "\"010190*****\" is not one of web"
    );
    assert_ne!(
        one(
            &w,
            "SELECT COALESCE(done_at, '') FROM data_migrations WHERE name = 'mask_free_text'"
        ),
        ""
    );
    assert_no_stored_national_id(&w);
}

#[test]
fn a_register_extract_given_as_an_order_file_is_not_echoed() {
    let w = Work::new();
    let extract = fixture("register/freg-2026-11-23.jsonl");
    let first_doc: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&extract)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let mut values = Vec::new();
    collect_strings(&first_doc, &mut values);
    let r = w.run(&["orders", "ingest", &extract.display().to_string()]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the first line looks like JSON (a register extract?), not a CSV header"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.len() < 600, "{}", r.stderr);
    for v in values.iter().filter(|v| v.chars().count() >= 4) {
        assert!(
            !r.stderr.contains(v.as_str()),
            "the error quotes register content {v:?}: {}",
            r.stderr
        );
    }
    assert_eq!(one(&w, "SELECT COUNT(*) FROM orders"), "0");
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// A receipts file's rows wait on disk between its two readings once they hold 32 MiB, however
/// few they are: 450 rows of five 20 KB fields (each kept up to 16 KiB) do, and go through
/// files under `TMPDIR`. Without a `TMPDIR` to write them in, the ingest fails naming the run
/// file, says the system's reason once, and nothing of the file is stored.
#[test]
fn a_receipts_file_of_long_rows_waits_on_disk_and_fails_whole_without_a_tmpdir() {
    let w = Work::new();
    w.create_database();
    let rows: String = (0..450)
        .map(|i| {
            let fields: Vec<String> = ['B', 'L', 'E', 'O', 'D']
                .iter()
                .map(|c| format!("{i}{}", c.to_string().repeat(20_000)))
                .collect();
            fields.join(",") + "\n"
        })
        .collect();
    let file = write(
        &w,
        "long-receipts.csv",
        &format!("batch_id,letter_id,event,occurred_at,detail\n{rows}"),
    );
    let r = w.run_with(
        &["receipts", "ingest", &file],
        &[("TMPDIR", "/nonexistent/pinbrev-tmp")],
    );
    common::assert_failed_without_tmpdir(
        &r,
        "error: sorting a receipts file's rows: cannot write or read back the sort file \
         /nonexistent/pinbrev-tmp/pinbrev-receipts-run-00001 (unnamed): No such file or directory",
    );
    assert_eq!(one(&w, "SELECT COUNT(*) FROM input_errors"), "0");

    let r = w.ok(&["receipts", "ingest", &file]);
    assert!(
        r.stdout
            .contains("0 applied, 0 recorded without change, 0 already known, 450 row errors"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.len() < 450 * 300,
        "stderr is {} bytes",
        r.stderr.len()
    );
    assert_eq!(one(&w, "SELECT COUNT(*) FROM input_errors"), "450");
}

/// An order file with a line of 128 MB (its national id) is read in bounded memory: the order
/// is stored with its number cut to 32 characters and rejected later, as any malformed number
/// is, the rows after it are read on their own lines, and an order id of 48 KiB is a row error
/// that counts all of its characters.
#[test]
fn an_order_line_of_128_mb_is_read_in_bounded_memory() {
    use std::io::Write;
    let w = Work::new();
    let good = number(5, 81, 80);
    let path = w.path("orders.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        writeln!(f, "order_id,national_id,ordered_at,channel").unwrap();
        write!(f, "A-1,").unwrap();
        let block = "7".repeat(1024 * 1024);
        for _ in 0..128 {
            f.write_all(block.as_bytes()).unwrap();
        }
        writeln!(f, ",2026-11-23T10:00:00Z,web").unwrap();
        writeln!(f).unwrap();
        writeln!(
            f,
            "{},{good},2026-11-23T10:00:00Z,web",
            "B".repeat(48 * 1024)
        )
        .unwrap();
        writeln!(f, "A-2,{good},2026-11-23T11:00:00Z,web").unwrap();
    }
    let file = path.display().to_string();
    let (r, peak_kib) = w.run_measuring_memory(&["orders", "ingest", &file]);
    assert_eq!(r.code, 0, "{}", &r.stderr[..r.stderr.len().min(2000)]);
    assert!(r.stderr.len() < 2000, "stderr is {} bytes", r.stderr.len());
    assert!(
        r.stderr.contains(
            "orders.csv:4: order_id: must be 1-64 characters, is 49152 (invalid_order_id)"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout
            .contains("2 new orders, 0 already known, 1 row error"),
        "{}",
        r.stdout
    );
    // The whole line held once would be 128 MiB; it used to be held about six times over.
    assert!(
        peak_kib < 100 * 1024,
        "peak resident memory {peak_kib} KiB for a line of 128 MiB"
    );
    assert_eq!(
        one(
            &w,
            "SELECT LENGTH(national_id) || ' ' || source_line FROM orders WHERE order_id = 'A-1'"
        ),
        "32 2"
    );
    assert_eq!(
        one(&w, "SELECT source_line FROM orders WHERE order_id = 'A-2'"),
        "5"
    );
    w.ok(&["orders", "validate"]);
    assert_eq!(
        w.outcomes()["A-1"],
        ("rejected".into(), "invalid_national_id".into())
    );
}

#[test]
fn a_50_mb_field_is_never_echoed_whole() {
    let w = Work::new();
    let huge = "Å".repeat(25 * 1024 * 1024); // 50 MB of UTF-8
    let good = number(5, 81, 80);
    // In an order file: as a channel (a row error) and as a national id (stored, rejected).
    let orders = write(
        &w,
        "orders.csv",
        &format!("order_id,national_id,ordered_at,channel\nA-1,{good},2026-11-23T10:00:00Z,{huge}\nA-2,{huge},2026-11-23T10:00:00Z,web\nA-3,{good},2026-11-23T10:00:00Z,web\n"),
    );
    let r = w.ok(&["orders", "ingest", &orders]);
    assert!(r.stderr.len() < 2000, "stderr is {} bytes", r.stderr.len());
    assert!(
        r.stderr.contains("orders.csv:2: channel: \"ÅÅÅ"),
        "{}",
        &r.stderr[..r.stderr.len().min(500)]
    );
    assert!(
        r.stdout
            .contains("2 new orders, 0 already known, 1 row error"),
        "{}",
        r.stdout
    );
    assert!(
        one(&w, "SELECT MAX(LENGTH(message)) FROM input_errors")
            .parse::<usize>()
            .unwrap()
            <= pinbrev::free_text::MAX_STORED + 1
    );
    assert_eq!(
        one(
            &w,
            "SELECT LENGTH(national_id) FROM orders WHERE order_id = 'A-2'"
        ),
        "32"
    );
    w.ok(&["orders", "validate"]);
    assert_eq!(
        w.outcomes()["A-2"],
        ("rejected".into(), "invalid_national_id".into())
    );
    let listed = w.ok(&["orders", "list", "--format", "csv"]);
    assert!(listed.stdout.len() < 2000);

    // In a register extract: a value of the wrong type, then a good person.
    let extract = write(
        &w,
        "freg.jsonl",
        &format!(
            "{{\"identifikasjonsnummer\":[{{\"foedselsEllerDNummer\":\"{good}\",\"status\":\"iBruk\"}}],\"doedsfall\":\"{huge}\"}}\n{}\n",
            doc(&number(6, 81, 80), "")
        ),
    );
    let r = w.ok(&["register", "import", &extract]);
    assert!(r.stderr.len() < 2000, "stderr is {} bytes", r.stderr.len());
    assert!(
        r.stderr.contains(
            "freg.jsonl:1: doedsfall: not a Freg person document: invalid type: string \"…\""
        ),
        "{}",
        &r.stderr[..r.stderr.len().min(500)]
    );
    assert!(r.stdout.contains("1 person loaded"), "{}", r.stdout);
    assert!(
        one(&w, "SELECT MAX(LENGTH(message)) FROM input_errors")
            .parse::<usize>()
            .unwrap()
            <= pinbrev::free_text::MAX_STORED + 1
    );
}

/// Every cell of a CSV text, with the header.
fn cells(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn assert_spreadsheet_safe(what: &str, text: &str) {
    for row in cells(text) {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{what}: the cell {cell:?} would start a formula"
            );
        }
    }
}

#[test]
fn every_csv_pinbrev_writes_is_safe_to_open_in_a_spreadsheet() {
    let w = Work::new();
    w.load_fixtures();
    // An order id may start with '-' (the contract allows it); "-2-3" is a formula to a spreadsheet.
    let extra = write(
        &w,
        "extra.csv",
        &format!(
            "order_id,national_id,ordered_at\n-2-3,{},2026-11-23T10:00:00Z\n",
            number(7, 81, 80)
        ),
    );
    w.ok(&["orders", "ingest", &extra]);
    w.ok(&["orders", "validate"]);
    w.ok(&[
        "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ]);
    let letter = one(
        &w,
        "SELECT letter_id || ',' || batch_id FROM letters WHERE order_id = 'WEB-20261123-0003'",
    );
    let (letter, batch) = letter.split_once(',').unwrap();
    let formula = r#"=HYPERLINK("http://evil.example/","Se her")"#;
    let [.., now] = common::receipt_times();
    let receipts = write(
        &w,
        "r.csv",
        &format!(
            "batch_id,letter_id,event,occurred_at,detail\n{batch},{letter},returned,{now},\"{}\"\n",
            formula.replace('"', "\"\"")
        ),
    );
    w.ok(&["receipts", "ingest", &receipts]);

    let report = w.ok(&["report", "--format", "csv"]).stdout;
    assert_spreadsheet_safe("report", &report);
    let returned = cells(&report)
        .into_iter()
        .find(|r| r[0] == "returned")
        .expect("a returned row");
    assert_eq!(
        returned.len(),
        9,
        "the contract's columns stay: {returned:?}"
    );
    assert_eq!(returned[8], format!("'{formula}"));

    let listed = w.ok(&["orders", "list", "--format", "csv"]).stdout;
    assert_spreadsheet_safe("orders list", &listed);
    assert!(cells(&listed).iter().any(|r| r[0] == "'-2-3"), "{listed}");
    let dir = w.path("outbox").join(batch);
    for name in ["manifest.csv", "postcodes.csv"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        assert_spreadsheet_safe(name, &text);
    }
}

#[test]
fn folders_and_files_are_owner_only_whatever_the_umask() {
    let w = Work::new();
    w.inbox_with_fixtures();
    std::fs::copy(
        fixture("orders/broken-no-header.csv"),
        w.path("inbox/broken-no-header.csv"),
    )
    .unwrap();
    write(
        &w,
        "receipts/none.csv",
        "batch_id,letter_id,event,occurred_at,detail\n",
    );
    let r = w.run_with_umask("000", &NIGHTLY);
    assert_eq!(r.code, 3, "{}", r.stderr);
    for dir in ["inbox/done", "inbox/failed", "receipts/done", "outbox"] {
        assert_eq!(mode(&w.path(dir)), 0o700, "{dir}");
    }
    let batch = one(&w, "SELECT batch_id FROM batches");
    let drop = w.path("outbox").join(&batch);
    assert_eq!(mode(&drop), 0o700);
    for f in std::fs::read_dir(&drop).unwrap() {
        let f = f.unwrap().path();
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    assert_eq!(mode(&w.path("outbox/.pinbrev-batch.lock")), 0o600);
    if w.on_sqlite("the database file and its lock file") {
        assert_eq!(mode(&w.db_file()), 0o600);
        assert_eq!(
            mode(Path::new(&format!("{}.lock", w.db_file().display()))),
            0o600
        );
    }
}

#[test]
fn a_symbolic_link_in_place_of_a_lock_file_is_never_followed() {
    let w = Work::new();
    w.load_fixtures();
    let validated = one(&w, "SELECT COUNT(*) FROM orders WHERE status = 'validated'");
    std::fs::create_dir(w.path("outbox")).unwrap();
    let victim = w.path("victim");
    std::os::unix::fs::symlink(&victim, w.path("outbox/.pinbrev-batch.lock")).unwrap();
    let r = w.run(&[
        "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(".pinbrev-batch.lock")
            && r.stderr
                .contains("a symbolic link is in its place; refusing to follow it"),
        "{}",
        r.stderr
    );
    assert!(!victim.exists(), "the link's target was created");
    assert_eq!(
        one(&w, "SELECT COUNT(*) FROM orders WHERE status = 'validated'"),
        validated,
        "nothing was batched"
    );
    assert_eq!(one(&w, "SELECT COUNT(*) FROM batches"), "0");

    // The nightly lock beside the database too.
    if !w.on_sqlite("the night's lock file beside the database") {
        return;
    }
    w.inbox_with_fixtures();
    std::fs::remove_file(w.path("outbox/.pinbrev-batch.lock")).unwrap();
    std::os::unix::fs::symlink(&victim, format!("{}.lock", w.db_file().display())).unwrap();
    let r = w.run(&NIGHTLY);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert!(!victim.exists());
    assert_eq!(
        std::fs::read_dir(w.path("inbox")).unwrap().count(),
        5,
        "no file was touched"
    );
}

// --- Files that must not be lost or misread -----------------------------------------------------

#[test]
fn an_order_file_misnamed_as_a_register_extract_is_read_when_it_comes_again() {
    let w = Work::new();
    w.inbox_with_fixtures();
    std::fs::rename(
        w.path("inbox/orders-2026-11-24-web.csv"),
        w.path("inbox/orders-2026-11-24-web.jsonl"),
    )
    .unwrap();
    let r = w.run(&NIGHTLY);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let s = summary(&r.stdout);
    let unusable = s["register"]["files"]["unusable"].as_array().unwrap();
    assert_eq!(unusable.len(), 1, "{s}");
    assert!(unusable[0]
        .as_str()
        .unwrap()
        .ends_with("orders-2026-11-24-web.jsonl"));
    assert!(
        r.stderr.contains("UNUSABLE:") && r.stderr.contains("no usable line"),
        "{}",
        r.stderr
    );
    assert!(w.path("inbox/failed/orders-2026-11-24-web.jsonl").exists());
    let before = one(&w, "SELECT COUNT(*) FROM orders");

    // Delivered again, correctly named: its orders are read, not skipped as seen.
    std::fs::rename(
        w.path("inbox/failed/orders-2026-11-24-web.jsonl"),
        w.path("inbox/orders-2026-11-24-web.csv"),
    )
    .unwrap();
    let r = w.ok(&NIGHTLY);
    let s = summary(&r.stdout);
    assert_eq!(
        s["orders"]["files"]["read"].as_array().unwrap().len(),
        1,
        "{s}"
    );
    assert!(s["orders"]["new"].as_u64().unwrap() > 0, "{s}");
    assert!(
        one(&w, "SELECT COUNT(*) FROM orders")
            .parse::<u64>()
            .unwrap()
            > before.parse().unwrap()
    );
    assert!(w.path("inbox/done/orders-2026-11-24-web.csv").exists());

    // The same content as a register extract is still "seen" only as what it was read as.
    assert_eq!(
        one(
            &w,
            "SELECT COUNT(*) FROM input_files WHERE kind = 'register'"
        ),
        "2"
    );
}

#[test]
fn files_with_no_usable_line_are_unusable_as_a_whole() {
    let w = Work::new();
    let orders_as_register = fixture("orders/orders-2026-11-23-web.csv")
        .display()
        .to_string();
    let r = w.run(&["register", "import", &orders_as_register]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("no usable line (") && r.stderr.contains("nothing was loaded"),
        "{}",
        r.stderr
    );
    assert_eq!(one(&w, "SELECT COUNT(*) FROM persons"), "0");
    // Its line errors are reported and kept, as any file's: one for each of its 47 lines.
    assert_eq!(r.stderr.matches("line error: ").count(), 47, "{}", r.stderr);
    assert_eq!(
        one(
            &w,
            "SELECT COUNT(*) FROM input_errors WHERE input = 'register'"
        ),
        "47"
    );
    let empty = write(&w, "empty.jsonl", "\n\n");
    assert_eq!(w.run(&["register", "import", &empty]).code, 3);

    let bad_rows = write(
        &w,
        "bad.csv",
        "order_id,national_id,ordered_at\nA/1,1,2026-11-23T10:00:00Z\nB-1,1,yesterday\n",
    );
    let r = w.run(&["orders", "ingest", &bad_rows]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("no usable row (2 rows, every one an error; first: line 2: order_id:"),
        "{}",
        r.stderr
    );
    assert_eq!(one(&w, "SELECT COUNT(*) FROM orders"), "0");
    let told: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("row error: "))
        .collect();
    assert_eq!(told.len(), 2, "{}", r.stderr);
    assert!(told[0].contains("bad.csv:2: order_id: "), "{}", told[0]);
    assert!(told[1].contains("bad.csv:3: ordered_at: "), "{}", told[1]);
    assert_eq!(
        one(
            &w,
            "SELECT COUNT(*) FROM input_errors WHERE input = 'orders'"
        ),
        "2"
    );
    // A file with only its header is an empty day, not an error.
    let header_only = write(&w, "empty.csv", "order_id,national_id,ordered_at\n");
    w.ok(&["orders", "ingest", &header_only]);
}

#[test]
fn a_file_of_many_bad_rows_reports_and_keeps_each_once_in_line_order_and_loads_the_good_ones() {
    let w = Work::new();
    // More row errors than are held at once (10,000), with good rows among them and a repeat
    // with other content, whose conflict is found only once its chunk is stored.
    let mut csv = String::from("order_id,national_id,ordered_at\n");
    let mut expected = Vec::new();
    for i in 0..12_000 {
        let line = i + 2;
        if i % 1000 == 0 {
            csv.push_str(&format!("G-{i},01018012345,2026-11-23T10:00:00Z\n"));
        } else if i % 1000 == 1 {
            csv.push_str(&format!("G-{},01018012346,2026-11-23T10:00:00Z\n", i - 1));
            expected.push((line, "order_id_conflict"));
        } else {
            csv.push_str(&format!("B-{i},01018012345,yesterday\n"));
            expected.push((line, "invalid_ordered_at"));
        }
    }
    let file = write(&w, "many.csv", &csv);
    let r = w.run(&["orders", "ingest", &file]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("12 new orders, 0 already known, 11988 row errors"),
        "{}",
        r.stdout
    );
    let told: Vec<(usize, &str)> = r
        .stderr
        .lines()
        .filter(|l| l.contains("row error: "))
        .map(|l| {
            let line = l
                .split("many.csv:")
                .nth(1)
                .unwrap()
                .split(':')
                .next()
                .unwrap();
            let code = l.rsplit('(').next().unwrap().trim_end_matches(')');
            (line.parse().unwrap(), code)
        })
        .collect();
    assert_eq!(told, expected);
    assert_eq!(one(&w, "SELECT COUNT(*) FROM orders"), "12");
    assert_eq!(
        one(
            &w,
            "SELECT COUNT(*) FROM input_errors WHERE input = 'orders'"
        ),
        "11988"
    );
    assert_eq!(
        one(
            &w,
            "SELECT COUNT(*) FROM input_errors WHERE code = 'order_id_conflict'"
        ),
        "12"
    );
}

#[test]
fn a_register_line_longer_than_any_document_is_skipped_without_being_held() {
    let w = Work::new();
    // A line of 65 MB (over the 64 MB a line may have) between two documents: a line error,
    // and both documents load.
    let extract = std::fs::read_to_string(fixture("register/freg-2026-11-23.jsonl")).unwrap();
    let mut documents = extract.lines().filter(|l| !l.trim().is_empty());
    let (first, second) = (documents.next().unwrap(), documents.next().unwrap());
    let long = format!("{{\"pad\": \"{}\"}}", "x".repeat(65 << 20));
    let file = write(&w, "long.jsonl", &format!("{first}\n{long}\n{second}\n"));
    let r = w.run(&["register", "import", &file]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("2 people loaded"), "{}", r.stdout);
    let told: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("line error: "))
        .collect();
    assert_eq!(told.len(), 1, "{}", r.stderr);
    assert!(
        told[0].contains("long.jsonl:2: the line is 68157452 bytes long")
            && told[0].ends_with("(line_too_long)"),
        "{}",
        told[0]
    );
    assert!(
        r.stderr.len() < 4096,
        "the line is not quoted: {}",
        r.stderr.len()
    );
}

#[test]
fn fifos_and_other_non_regular_files_are_refused_at_once() {
    let w = Work::new();
    w.create_database();
    let fifo = w.path("fifo.csv");
    mkfifo(&fifo);
    let fifo = fifo.display().to_string();
    for args in [
        vec!["orders", "ingest", fifo.as_str()],
        vec!["register", "import", fifo.as_str()],
        vec!["receipts", "ingest", fifo.as_str()],
        vec!["postcodes", "import", fifo.as_str()],
    ] {
        let out = w
            .cmd()
            .args(&args)
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code().is_some(),
            "{args:?} hung on a FIFO (killed by the timeout)"
        );
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(
            stderr.contains("a FIFO (named pipe), not a regular file; refused without reading it"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(w.run(&["orders", "ingest", &fifo]).code, 3);

    // In the night's inbox: named, left in place, and the rest of the night goes on.
    w.inbox_with_fixtures();
    mkfifo(&w.path("inbox/late.csv"));
    std::fs::create_dir(w.path("inbox/folder.jsonl")).unwrap();
    let out = w
        .cmd()
        .args(NIGHTLY)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let s = summary(&String::from_utf8(out.stdout).unwrap());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(s["orders"]["files"]["refused"][0]
        .as_str()
        .unwrap()
        .ends_with("late.csv"));
    assert!(s["register"]["files"]["refused"][0]
        .as_str()
        .unwrap()
        .ends_with("folder.jsonl"));
    assert!(
        stderr.contains("REFUSED:") && stderr.contains("late.csv: a FIFO (named pipe)"),
        "{stderr}"
    );
    assert_eq!(s["orders"]["new"], 66, "{s}");
    // No Posten register file here, so no postcode_category rejections: 34 letters.
    assert_eq!(s["batch"]["letters"], 34, "{s}");
    assert!(w.path("inbox/late.csv").exists(), "left in place");
}

#[test]
fn a_column_named_twice_and_bad_utf8_are_reported_exactly() {
    let w = Work::new();
    let n = number(8, 81, 80);
    let twice = write(
        &w,
        "twice.csv",
        &format!("order_id,national_id,ordered_at,National_ID\nA-1,{n},2026-11-23T10:00:00Z,{n}\n"),
    );
    let r = w.run(&["orders", "ingest", &twice]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("twice.csv: line 1: the header names the column \"national_id\" twice"),
        "{}",
        r.stderr
    );
    let receipts = write(
        &w,
        "r.csv",
        "batch_id,letter_id,event,occurred_at,detail,event\n",
    );
    let r = w.run(&["receipts", "ingest", &receipts]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("names the column \"event\" twice"),
        "{}",
        r.stderr
    );

    let mut bytes = format!(
        "order_id,national_id,ordered_at\nA-1,{n},2026-11-23T10:00:00Z\nA-2,{n},2026-11-23T10:00:00Z,"
    )
    .into_bytes();
    bytes.extend_from_slice(b"sp\xe5k\n");
    std::fs::write(w.path("latin1.csv"), bytes).unwrap();
    let r = w.run(&[
        "orders",
        "ingest",
        &w.path("latin1.csv").display().to_string(),
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("latin1.csv: line 3: not UTF-8 (at character 40 of the line)"),
        "{}",
        r.stderr
    );
    assert_eq!(
        one(&w, "SELECT COUNT(*) FROM orders"),
        "0",
        "nothing was stored"
    );
}

#[test]
fn receipts_from_the_future_or_before_publication_are_row_errors() {
    let w = Work::new();
    w.load_fixtures();
    w.ok(&[
        "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ]);
    let letters =
        w.sql("SELECT letter_id, batch_id, order_id FROM letters ORDER BY sequence LIMIT 3");
    let future = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let [.., now] = common::receipt_times();
    let receipts = write(
        &w,
        "r.csv",
        &format!(
            "batch_id,letter_id,event,occurred_at,detail\n{b},{l0},posted,{future},\n{b},{l1},posted,2020-01-01T10:00:00Z,\n{b},{l2},posted,{now},\n",
            b = letters[0][1],
            l0 = letters[0][0],
            l1 = letters[1][0],
            l2 = letters[2][0],
        ),
    );
    let r = w.ok(&["receipts", "ingest", &receipts]);
    assert!(
        r.stdout.contains("1 applied") && r.stdout.contains("2 row errors"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("r.csv:2: occurred_at:") && r.stderr.contains("(occurred_in_future)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("r.csv:3: occurred_at:")
            && r.stderr.contains("before the batch was published at")
            && r.stderr.contains("(occurred_before_publication)"),
        "{}",
        r.stderr
    );
    let status = |order: &str| {
        one(
            &w,
            &format!("SELECT status FROM orders WHERE order_id = '{order}'"),
        )
    };
    assert_eq!(status(&letters[0][2]), "batched");
    assert_eq!(status(&letters[1][2]), "batched");
    assert_eq!(status(&letters[2][2]), "posted");
    assert_eq!(one(&w, "SELECT COUNT(*) FROM receipts"), "1");
}

// --- Exit codes that tell the truth -----------------------------------------------------------

#[test]
fn nightly_meeting_a_manual_batch_exits_4_and_says_what_was_done() {
    let w = Work::new();
    w.inbox_with_fixtures();
    std::fs::create_dir(w.path("outbox")).unwrap();
    // A manual `batch create` holds the outbox's lock.
    let held = w.hold_lock("outbox/.pinbrev-batch.lock");
    let r = w.run(&NIGHTLY);
    assert_eq!(r.code, 4, "{}", r.stderr);
    let s = summary(&r.stdout);
    assert_eq!(s["locked"], true);
    assert_eq!(s["failed_step"], "batch");
    assert_eq!(
        s["steps_done"],
        serde_json::json!(["register", "orders", "validate"])
    );
    assert!(
        r.stderr
            .contains("STOPPED at batch: another pinbrev run holds the lock")
            && r.stderr
                .contains("done: register, orders, validate; not run: batch, receipts, purge"),
        "{}",
        r.stderr
    );
    // The summary's lines of the steps not done say so, not what a night without orders says.
    assert!(
        r.stderr.contains("validation: 66 orders (")
            && r.stderr
                .contains("\nbatch: not done\nreceipts: not done\npurge: not done\n")
            && !r.stderr.contains("no validated orders"),
        "{}",
        r.stderr
    );
    // Nothing lost: the night's orders are validated and waiting; no batch was made.
    assert_eq!(
        one(&w, "SELECT COUNT(*) FROM orders WHERE status = 'validated'"),
        "34"
    );
    assert_eq!(one(&w, "SELECT COUNT(*) FROM batches"), "0");
    drop(held);
    let r = w.ok(&NIGHTLY);
    assert_eq!(summary(&r.stdout)["batch"]["letters"], 34);
}

#[test]
fn a_database_in_a_missing_folder_is_exit_1_and_says_so() {
    let w = Work::new();
    w.inbox_with_fixtures();
    let url = format!(
        "sqlite://{}/no-such-folder/pinbrev.db",
        w.dir.path().display()
    );
    for args in [NIGHTLY.to_vec(), vec!["orders", "list"]] {
        let r = w.run_with(&args, &[("PINBREV_DB", &url)]);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("no-such-folder does not exist; create it"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("another pinbrev run"), "{}", r.stderr);
    }
    assert!(!w.path("no-such-folder").exists());
    assert_eq!(std::fs::read_dir(w.path("inbox")).unwrap().count(), 5);
}

#[test]
fn a_database_migrated_by_a_newer_pinbrev_says_so_once() {
    let w = Work::new();
    w.create_database();
    let checksum = match w.engine() {
        common::Engine::Sqlite => "x'00'",
        common::Engine::Postgres => "'\\x00'::bytea",
    };
    w.sql(&format!("INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) VALUES (9999, 'from the future', CURRENT_TIMESTAMP, TRUE, {checksum}, 0)"));
    let expected =
        "this database was migrated by a newer pinbrev (migration 9999); upgrade pinbrev";
    w.inbox_with_fixtures();
    for args in [vec!["orders", "list"], NIGHTLY.to_vec()] {
        let r = w.run(&args);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert_eq!(
            r.stderr.matches(expected).count(),
            1,
            "{args:?}: {}",
            r.stderr
        );
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
    }
    assert_eq!(std::fs::read_dir(w.path("inbox")).unwrap().count(), 5);
}

#[test]
fn a_stored_value_of_the_wrong_type_is_an_error_naming_the_column_not_a_panic() {
    let w = Work::new();
    w.load_fixtures();
    // As a hand edit or a broken tool might leave it: text where a line number belongs.
    let edit = "UPDATE orders SET source_line = 'two' WHERE order_id = 'WEB-20261123-0001'";
    if w.engine() == common::Engine::Postgres {
        let refused = w.try_sql(edit).unwrap_err();
        assert!(refused.contains("bigint"), "{refused}");
        return;
    }
    w.sql(edit);
    let r = w.run(&["orders", "list"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("reading a row") && r.stderr.contains("source_line"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}
