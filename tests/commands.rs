//! The command line's contract: exit codes, formats, masking, `id check`, `status`, `orders list`.

mod common;

use common::{fixture, Work};

/// Builds a valid number from its parts with the library, for `id check` tests.
fn number(day: u32, month: u32, year: u32) -> String {
    (0..1000)
        .find_map(|i| pinbrev::national_id::build(day, month, year, i))
        .unwrap()
        .as_digits()
}

#[test]
fn id_check_kinds_validity_and_exit_codes() {
    let w = Work::new();
    let fnr = number(1, 1, 90);
    let dnr = number(41, 1, 90);
    let hnr = number(1, 41, 90);
    let synthetic = number(1, 81, 90);
    let r = w.ok(&["id", "check", &fnr, &dnr, &hnr, &synthetic]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "010190*****\tfnr\tvalid");
    assert_eq!(lines[1], "410190*****\tdnr\tvalid");
    assert_eq!(lines[2], "014190*****\thnr\tvalid");
    assert_eq!(lines[3], "018190*****\tsynthetic\tvalid");

    let mut wrong = fnr.clone().into_bytes();
    wrong[10] = b'0' + (wrong[10] - b'0' + 1) % 10;
    let wrong = String::from_utf8(wrong).unwrap();
    let r = w.run(&["id", "check", &fnr, &wrong, "12345"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("invalid: the check digits do not match"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("12345*****\t-\tinvalid: must be 11 digits"),
        "{}",
        r.stdout
    );

    let r = w.run_with(
        &["id", "check", &synthetic],
        &[("PINBREV_ALLOW_SYNTHETIC", "false")],
    );
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("allow_synthetic"), "{}", r.stdout);

    let r = w.ok(&[
        "id",
        "check",
        "--format",
        "json",
        &format!("{}-{}", &fnr[..6], &fnr[6..]),
    ]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v[0]["kind"], "fnr");
    assert_eq!(v[0]["valid"], true);
    assert_eq!(v[0]["number"], "010190*****");
}

#[test]
fn usage_errors_exit_2() {
    let w = Work::new();
    for args in [
        vec!["orders", "list", "--status", "shipped"],
        vec!["orders", "list", "--reason", "bad_luck"],
        vec!["orders", "list", "--format", "xml"],
        vec!["status"],
        vec!["no-such-command"],
    ] {
        let r = w.run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
    let r = w.run(&["orders", "list", "--status", "shipped"]);
    assert!(r.stderr.contains("received, validated"), "{}", r.stderr);
}

#[test]
fn status_shows_the_life_of_an_order_masked() {
    let w = Work::new();
    w.load_fixtures();
    let r = w.ok(&["status", "WEB-20261123-0001", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    for key in [
        "order_id",
        "status",
        "reason",
        "national_id",
        "letter_id",
        "batch_id",
        "events",
    ] {
        assert!(v.get(key).is_some(), "status JSON lacks {key}: {v}");
    }
    assert_eq!(v["order_id"], "WEB-20261123-0001");
    assert_eq!(v["status"], "validated");
    assert_eq!(v["national_id"], "098149*****");
    let events = v["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["event"], "received");
    assert_eq!(events[1]["event"], "validated");
    for e in events {
        assert!(e["at"].as_str().unwrap().ends_with('Z'));
        assert!(e.get("detail").is_some());
    }

    let rejected = w.ok(&["status", "WEB-20261123-0039"]);
    assert!(
        rejected
            .stdout
            .contains("reason       invalid_foreign_address (postkode:"),
        "{}",
        rejected.stdout
    );

    let by_id = w.ok(&[
        "status",
        "--national-id",
        "098149 00069",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&by_id.stdout).unwrap();
    assert_eq!(v["order_id"], "WEB-20261123-0001");

    let missing = w.run(&["status", "NOPE-1"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("no order \"NOPE-1\""),
        "{}",
        missing.stderr
    );
}

#[test]
fn status_by_national_id_finds_orders_placed_with_a_ceased_number() {
    let w = Work::new();
    w.load_fixtures();
    // WEB-20261123-0027 was placed with the person's ceased d-number, SUP-20261123-0002 with the
    // fødselsnummer in use (fixtures/README.md); asking by the ceased number shows both.
    let ceased =
        w.sql("SELECT national_id FROM orders WHERE order_id = 'WEB-20261123-0027'")[0][0].clone();
    assert!(ceased.starts_with('4'), "a d-number: {}", &ceased[..6]);
    let r = w.ok(&["status", "--national-id", &ceased, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let mut ids: Vec<String> = vec![v["order_id"].as_str().unwrap().to_string()];
    ids.extend(
        v["other_orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["order_id"].as_str().unwrap().to_string()),
    );
    ids.sort();
    assert_eq!(ids, vec!["SUP-20261123-0002", "WEB-20261123-0027"]);
}

#[test]
fn an_order_validated_for_the_persons_newer_number_makes_a_later_order_with_it_a_duplicate() {
    let w = Work::new();
    w.load_fixtures();
    // WEB-20261123-0027 was placed with X02's ceased d-number and validated for the
    // fødselsnummer in use: only the index of orders placed with another number finds it so.
    let row = w.sql(
        "SELECT national_id, person_national_id, status FROM orders WHERE order_id = 'WEB-20261123-0027'",
    );
    let (placed, person) = (row[0][0].clone(), row[0][1].clone());
    assert_ne!(placed, person);
    assert_eq!(row[0][2], "validated");
    for (order, number) in [("LATER-1", &person), ("LATER-2", &placed)] {
        std::fs::write(
            w.path("later.csv"),
            format!(
                "order_id,national_id,ordered_at\n{order},{number},2026-11-25T10:00:00+01:00\n"
            ),
        )
        .unwrap();
        w.ok(&["orders", "ingest", "later.csv"]);
        w.ok(&["orders", "validate"]);
        assert_eq!(
            w.sql(&format!(
                "SELECT status, reason FROM orders WHERE order_id = '{order}'"
            )),
            vec![vec!["duplicate".to_string(), "duplicate".to_string()]],
            "{order}"
        );
    }
}

#[test]
fn orders_list_filters_and_formats() {
    let w = Work::new();
    w.load_fixtures();
    let json = w.ok(&[
        "orders",
        "list",
        "--reason",
        "duplicate",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(
        |r| r["status"] == "duplicate" && r["national_id"].as_str().unwrap().ends_with("*****")
    ));

    let csv = w.ok(&["orders", "list", "--status", "held", "--format", "csv"]);
    let mut lines = csv.stdout.lines();
    assert_eq!(
        lines.next().unwrap(),
        "order_id,status,reason,national_id,ordered_at,channel,language,postal_zone,country"
    );
    assert_eq!(lines.count(), 2);

    let table = w.ok(&["orders", "list", "--status", "validated"]);
    assert_eq!(table.stdout.lines().count(), 31);
    assert!(table.stdout.lines().next().unwrap().starts_with("order_id"));
}

#[test]
fn settings_file_and_bad_settings() {
    let w = Work::new();
    std::fs::write(w.path("pinbrev.toml"), "min_agee = 3\n").unwrap();
    let r = w.run(&["orders", "validate"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("pinbrev.toml") && r.stderr.contains("min_agee"),
        "{}",
        r.stderr
    );
    std::fs::write(w.path("pinbrev.toml"), "min_age = 200\n").unwrap();
    let f = |r: &str| fixture(r).display().to_string();
    w.ok(&["register", "import", &f("register/freg-2026-11-23.jsonl")]);
    w.ok(&["orders", "ingest", &f("orders/orders-2026-11-23-web.csv")]);
    w.ok(&["orders", "validate"]);
    let outcomes = w.outcomes();
    assert_eq!(
        outcomes["WEB-20261123-0001"],
        ("rejected".into(), "too_young".into())
    );
    let missing = w.run(&["--config", "nowhere.toml", "orders", "validate"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("nowhere.toml"),
        "{}",
        missing.stderr
    );
}

/// The commands that only read never create a database: they say there is none, and how to
/// name one, and exit 1.
#[test]
fn read_only_commands_never_create_a_database() {
    let w = Work::sqlite();
    for args in [
        vec!["status", "WEB-1"],
        vec!["orders", "list"],
        vec!["report"],
        vec![
            "pin", "verify", "--letter", "L", "--index", "1", "--pin", "12345",
        ],
        vec!["backup", "copy.db"],
    ] {
        let r = w.run(&args);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        let expected = format!(
            "no database at {} — pass --db or set PINBREV_DB",
            w.path("pinbrev.db").display()
        );
        assert_eq!(
            r.stderr.matches(&expected).count(),
            1,
            "{args:?}: {}",
            r.stderr
        );
        assert!(
            !w.path("pinbrev.db").exists(),
            "{args:?} created the database"
        );
    }
    // A command that writes creates it, as the contract says.
    w.ok(&["purge", "--dry-run"]);
    assert!(w.path("pinbrev.db").exists());
    w.ok(&["orders", "list"]);
}

/// `--version` names the commit the binary was built from: the checkout's HEAD, or `unknown`
/// where git cannot say.
#[test]
fn version_names_the_commit() {
    let w = Work::sqlite();
    let r = w.ok(&["--version"]);
    let re =
        regex::Regex::new(r"^pinbrev \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}|unknown)\)$").unwrap();
    let named = re
        .captures(r.stdout.trim())
        .unwrap_or_else(|| panic!("{}", r.stdout))[1]
        .to_string();
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string());
    assert_eq!(named, head.unwrap_or_else(|| "unknown".into()));
}

/// What a person reads shows Oslo time to the minute with its offset; JSON and CSV keep RFC 3339.
/// SUP-20261123-0001 was ordered at 14:02:11 Oslo time (the file has no offset).
#[test]
fn people_read_oslo_time_and_machines_read_rfc_3339() {
    let w = Work::new();
    w.load_fixtures();
    let text = w.ok(&["status", "SUP-20261123-0001"]);
    assert!(
        text.stdout
            .contains("ordered at   2026-11-23 14:02 +01:00\n"),
        "{}",
        text.stdout
    );
    // Every event line starts with a local time, never a UTC stamp with microseconds.
    let local = regex::Regex::new(r"^  \d{4}-\d\d-\d\d \d\d:\d\d \+0[12]:00  ").unwrap();
    let events: Vec<&str> = text
        .stdout
        .lines()
        .skip_while(|l| *l != "events")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert!(!events.is_empty(), "{}", text.stdout);
    assert!(events.iter().all(|l| local.is_match(l)), "{events:?}");

    let json = w.ok(&["status", "SUP-20261123-0001", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["ordered_at"], "2026-11-23T13:02:11.000000Z");

    let table = w.ok(&["orders", "list"]);
    let row = table
        .stdout
        .lines()
        .find(|l| l.starts_with("SUP-20261123-0001 "))
        .expect("the order is listed");
    assert!(row.contains("2026-11-23 14:02 +01:00"), "{row}");
    let csv = w.ok(&["orders", "list", "--format", "csv"]);
    assert!(
        csv.stdout
            .lines()
            .any(|l| l.starts_with("SUP-20261123-0001,")
                && l.contains(",2026-11-23T13:02:11.000000Z,")),
        "{}",
        csv.stdout
    );

    let report = w.ok(&["report", "--since", "2026-11-23"]);
    assert!(
        report
            .stdout
            .starts_with("Report on orders placed since 2026-11-23 00:00 +01:00 (generated "),
        "{}",
        report.stdout
    );
    assert!(!report.stdout.contains(".000000Z"), "{}", report.stdout);

    // Text log lines start with the time in Oslo, to the second.
    let logged = w.run(&["-vv", "orders", "validate"]);
    let first = logged.stderr.lines().next().unwrap_or_default();
    let stamp = regex::Regex::new(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0[12]:00 ").unwrap();
    assert!(stamp.is_match(first), "{}", logged.stderr);
}

/// An error is printed once, names what is wrong and says what to do next.
#[test]
fn a_missing_database_folder_is_one_error_that_says_what_to_do() {
    let w = Work::sqlite();
    let db = format!("sqlite://{}", w.path("nowhere/pinbrev.db").display());
    for args in [vec!["orders", "validate"], vec!["status", "WEB-1"]] {
        let mut all = vec!["--db", db.as_str()];
        all.extend(&args);
        let r = w.run(&all);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: {}", r.stderr);
        assert!(
            lines[0].starts_with("error: ")
                && lines[0].contains(&w.path("nowhere").display().to_string())
                && lines[0].contains("create it, or give --db"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(!w.path("nowhere").exists());
    }
}

/// A listing longer than 10,000 rows is not fitted to the terminal (that would hold every row
/// in memory): it is written whole, every column at full width, as for a pipe, in order.
#[test]
fn a_listing_of_more_than_ten_thousand_orders_is_written_whole_at_full_width() {
    let w = Work::new();
    let mut csv = String::from("order_id,national_id,ordered_at,channel,language\n");
    for i in (0..10_001).rev() {
        csv.push_str(&format!(
            "BIG-{i:05},01018012346,2026-11-23T{:02}:{:02}:00+01:00,web,nb\n",
            i / 600,
            i / 10 % 60
        ));
    }
    std::fs::write(w.path("big.csv"), csv).unwrap();
    w.ok(&["orders", "ingest", "big.csv"]);
    let narrow = w.run_with(&["orders", "list"], &[("COLUMNS", "80")]);
    assert_eq!(narrow.code, 0, "{}", narrow.stderr);
    let lines: Vec<&str> = narrow.stdout.lines().collect();
    assert_eq!(lines.len(), 10_002);
    assert!(
        lines[0].starts_with("order_id") && lines[0].ends_with("country"),
        "{}",
        lines[0]
    );
    let ids: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let expected: Vec<String> = (0..10_001).map(|i| format!("BIG-{i:05}")).collect();
    assert_eq!(ids, expected, "oldest first");
    let width = lines[0].len();
    assert!(width > 80, "{}", lines[0]);
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.contains("  received  ") && l.len() <= width + 4),
        "{}",
        lines[1]
    );
    assert!(!narrow.stdout.contains("01018012346"), "masked");

    // The table's rows wait in a file without a name under `TMPDIR`: where that folder is
    // missing, the listing fails naming it.
    let r = w.run_with(
        &["orders", "list"],
        &[("TMPDIR", "/nonexistent/pinbrev-tmp")],
    );
    common::assert_failed_without_tmpdir(
        &r,
        "cannot keep the listing in a temporary file under /nonexistent/pinbrev-tmp",
    );
}

/// Tables fit the terminal: `COLUMNS` (or the tty's width) below 100 leaves out the columns a
/// listing can do without and wraps what may wrap, never an id; piped, every column at full
/// width on one line per row. `--limit` keeps the most recent orders, `--since` the newer ones.
#[test]
fn tables_fit_the_terminal_and_lists_can_be_limited() {
    let w = Work::new();
    w.load_fixtures();
    let piped = w.ok(&["orders", "list", "--status", "validated"]);
    assert_eq!(piped.stdout.lines().count(), 31);
    assert!(piped.stdout.lines().next().unwrap().ends_with("country"));

    let narrow = w.run_with(
        &["orders", "list", "--status", "validated"],
        &[("COLUMNS", "80")],
    );
    assert_eq!(narrow.code, 0, "{}", narrow.stderr);
    let header = narrow.stdout.lines().next().unwrap();
    assert!(
        header.starts_with("order_id")
            && !header.contains("channel")
            && !header.contains("country"),
        "{header}"
    );
    assert!(
        narrow.stdout.lines().all(|l| l.chars().count() <= 80),
        "{}",
        narrow.stdout
    );
    // Every order id of the piped listing is whole in the narrow one.
    for row in piped.stdout.lines().skip(1) {
        let id = row.split_whitespace().next().unwrap();
        assert!(narrow.stdout.contains(id), "{id} is cut: {}", narrow.stdout);
    }

    let limited = w.ok(&["orders", "list", "--limit", "3", "--format", "json"]);
    let all = w.ok(&["orders", "list", "--format", "json"]);
    let ids = |r: &common::Run| -> Vec<String> {
        serde_json::from_str::<Vec<serde_json::Value>>(&r.stdout)
            .unwrap()
            .iter()
            .map(|o| o["order_id"].as_str().unwrap().to_string())
            .collect()
    };
    let every = ids(&all);
    assert_eq!(ids(&limited), every[every.len() - 3..].to_vec());

    let since = w.ok(&[
        "orders",
        "list",
        "--since",
        "2026-11-24",
        "--format",
        "json",
    ]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&since.stdout).unwrap();
    assert!(!rows.is_empty() && rows.len() < every.len());
    // Midnight in Oslo is 23:00 UTC the day before.
    assert!(rows
        .iter()
        .all(|o| o["ordered_at"].as_str().unwrap() >= "2026-11-23T23:00:00"));
}

/// On a terminal a table goes through `$PAGER`; piped it does not.
#[test]
fn long_lists_on_a_terminal_go_through_the_pager() {
    let w = Work::new();
    w.load_fixtures();
    let paged = w.path("paged.txt");
    let pager = format!("cat > {}", paged.display());
    let bin = assert_cmd::cargo::cargo_bin("pinbrev");
    let mut c = std::process::Command::new("script");
    // `script` runs the command on a pseudo-terminal, as an operator's shell would.
    let command = format!("stty cols 250; {} orders list", bin.display());
    c.args(["-qec", &command, "/dev/null"])
        .current_dir(w.path("."))
        .env("PAGER", &pager);
    for (k, v) in w.cmd().get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    let out = c.output().expect("script (util-linux) runs");
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&paged).expect("the pager was given the table");
    assert!(text.starts_with("order_id"), "{text}");
    assert_eq!(text.lines().count(), 67, "{text}");
    // Piped, no pager.
    std::fs::remove_file(&paged).unwrap();
    w.run_with(&["orders", "list"], &[("PAGER", &pager)]);
    assert!(!paged.exists());
}
