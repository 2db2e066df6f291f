//! Operations through the real binary: `nightly`, `orders cancel`, `purge`, `config show`,
//! completions and the man page.

mod common;

use std::path::Path;

use common::{fixture, summary, tool, Work, NIGHTLY};

fn counts(w: &Work) -> Vec<Vec<String>> {
    w.sql("SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM letters), (SELECT COUNT(*) FROM batches), (SELECT COUNT(*) FROM order_events), (SELECT COUNT(*) FROM receipts)")
}

#[test]
fn nightly_runs_the_whole_night_and_a_redelivered_inbox_changes_nothing() {
    let w = Work::new();
    let (inbox, _) = w.inbox_with_fixtures();
    w.ok(&[
        "postcodes",
        "import",
        &fixture("postcodes/Postnummerregister-sample.txt")
            .display()
            .to_string(),
    ]);
    let r = w.ok(&NIGHTLY);
    let s = summary(&r.stdout);
    assert_eq!(s["ok"], true);
    assert_eq!(s["register"]["files"]["read"].as_array().unwrap().len(), 2);
    // Register extracts are read before order files.
    assert!(s["register"]["files"]["read"][0]
        .as_str()
        .unwrap()
        .ends_with("freg-2026-11-23.jsonl"));
    assert_eq!(s["orders"]["new"], 66);
    assert_eq!(s["orders"]["row_errors"], 8);
    assert_eq!(s["validation"]["by_status"]["validated"], 30);
    assert_eq!(
        s["validation"]["rejected_by_reason"]["postcode_category"],
        4
    );
    assert_eq!(s["batch"]["letters"], 30);
    assert!(s["duration_s"].as_f64().unwrap() >= 0.0);
    assert!(r.stderr.contains("batch: 30 letters"), "{}", r.stderr);
    assert!(
        r.stderr.contains("orders-2026-11-24-web.csv:3: order_id:"),
        "row errors are logged: {}",
        r.stderr
    );
    let left: Vec<_> = std::fs::read_dir(&inbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(left, ["done"]);
    assert_eq!(std::fs::read_dir(inbox.join("done")).unwrap().count(), 5);

    // The same files again, under other names: skipped, nothing new.
    let before = counts(&w);
    std::fs::copy(
        fixture("orders/orders-2026-11-23-web.csv"),
        inbox.join("resent-web.csv"),
    )
    .unwrap();
    std::fs::copy(
        fixture("register/freg-2026-11-23.jsonl"),
        inbox.join("resent.jsonl"),
    )
    .unwrap();
    let quiet: Vec<&str> = std::iter::once("-q").chain(NIGHTLY).collect();
    let again = w.ok(&quiet);
    let s = summary(&again.stdout);
    assert_eq!(s["orders"]["files"]["skipped"].as_array().unwrap().len(), 1);
    assert_eq!(
        s["register"]["files"]["skipped"].as_array().unwrap().len(),
        1
    );
    assert!(s["batch"]["batch_ids"].as_array().unwrap().is_empty());
    assert_eq!(counts(&w), before);
    assert!(
        again.stderr.is_empty(),
        "-q is quiet on success: {}",
        again.stderr
    );
    assert!(inbox.join("done/resent-web.csv").exists());
}

#[test]
fn an_unusable_file_is_set_aside_and_the_night_exits_3() {
    let w = Work::new();
    let (inbox, _) = w.inbox_with_fixtures();
    std::fs::copy(
        fixture("orders/broken-not-utf8.csv"),
        inbox.join("broken.csv"),
    )
    .unwrap();
    let r = w.run(&NIGHTLY);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let s = summary(&r.stdout);
    assert_eq!(s["ok"], false);
    assert_eq!(s["orders"]["files"]["unusable"][0], "inbox/broken.csv");
    assert_eq!(s["batch"]["letters"], 34, "the rest of the night still ran");
    assert!(inbox.join("failed/broken.csv").exists());
    assert!(
        r.stderr.contains("UNUSABLE: inbox/broken.csv"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_second_nightly_while_one_holds_the_lock_exits_4_and_changes_nothing() {
    let w = Work::new();
    w.inbox_with_fixtures();
    w.create_database();
    let held = w.hold_night_lock();
    let before = counts(&w);
    let r = w.run(&NIGHTLY);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("another pinbrev run holds the lock"),
        "{}",
        r.stderr
    );
    assert_eq!(counts(&w), before);
    assert_eq!(
        std::fs::read_dir(w.path("inbox")).unwrap().count(),
        5,
        "no file was touched"
    );
    drop(held);
    // Two runs started together: each either ran or was turned away with 4; the database is
    // intact and holds each order once.
    let bin = assert_cmd::cargo::cargo_bin("pinbrev");
    let spawn = || {
        std::process::Command::new(&bin)
            .current_dir(w.dir.path())
            .env("PINBREV_DB", &w.db_url)
            .env("PINBREV_ALLOW_SYNTHETIC", "true")
            .env("PINBREV_PIN_KEY", common::TEST_KEY)
            .args(NIGHTLY)
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|sc| {
        let a = sc.spawn(spawn);
        let b = sc.spawn(spawn);
        (a.join().unwrap(), b.join().unwrap())
    });
    let codes = [a.status.code().unwrap(), b.status.code().unwrap()];
    assert!(codes.iter().all(|c| *c == 0 || *c == 4), "{codes:?}");
    assert!(codes.contains(&0), "{codes:?}");
    if w.on_sqlite("PRAGMA integrity_check") {
        assert_eq!(
            w.sql("PRAGMA integrity_check"),
            vec![vec!["ok".to_string()]]
        );
    }
    assert_eq!(w.sql("SELECT COUNT(*) FROM orders")[0][0], "66");
    assert_eq!(w.sql("SELECT COUNT(*) FROM letters")[0][0], "34");
}

#[test]
fn a_receipts_file_delivered_twice_changes_nothing() {
    let w = Work::new();
    w.inbox_with_fixtures();
    w.ok(&NIGHTLY);
    let letters = w.sql("SELECT batch_id, letter_id FROM letters ORDER BY letter_id LIMIT 3");
    let body: String = letters
        .iter()
        .map(|l| format!("{},{},posted,{},\n", l[0], l[1], common::receipt_times()[5]))
        .collect();
    std::fs::write(
        w.path("receipts/r1.csv"),
        format!("batch_id,letter_id,event,occurred_at,detail\n{body}"),
    )
    .unwrap();
    let r = w.ok(&NIGHTLY);
    assert_eq!(summary(&r.stdout)["receipts"]["applied"], 3);
    assert!(w.path("receipts/done/r1.csv").exists());
    let before = counts(&w);
    std::fs::write(
        w.path("receipts/r1-resent.csv"),
        format!("batch_id,letter_id,event,occurred_at,detail\n{body}"),
    )
    .unwrap();
    let r = w.ok(&NIGHTLY);
    assert_eq!(
        summary(&r.stdout)["receipts"]["files"]["skipped"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Same rows in a file with other content (a comment column): read, but each receipt is known.
    std::fs::write(
        w.path("receipts/r1-again.csv"),
        format!(
            "batch_id,letter_id,event,occurred_at,detail,note\n{}",
            body.replace(",\n", ",,x\n")
        ),
    )
    .unwrap();
    let r = w.ok(&NIGHTLY);
    assert_eq!(summary(&r.stdout)["receipts"]["already_known"], 3);
    assert_eq!(counts(&w), before);
}

#[test]
fn purge_deletes_only_pdfs_whose_letters_are_all_posted() {
    let w = Work::new();
    w.load_fixtures();
    w.run_with(
        &[
            "batch", "create", "--vendor", "printco", "--outbox", "outbox",
        ],
        &[("PINBREV_MAX_LETTERS_PER_FILE", "10")],
    );
    let batch = w.sql("SELECT batch_id FROM batches")[0][0].clone();
    let dir = w.path("outbox").join(&batch);
    let first_part = w.sql("SELECT letter_id FROM letters WHERE file = 'letters-0001.pdf'");
    assert_eq!(first_part.len(), 10);
    // All of part 1 posted; one letter of part 2 returned, the rest of part 2 not posted.
    let mut body = String::from("batch_id,letter_id,event,occurred_at,detail\n");
    for l in &first_part {
        body.push_str(&format!(
            "{batch},{},posted,{},\n",
            l[0],
            common::receipt_times()[2]
        ));
    }
    let second = w.sql("SELECT letter_id FROM letters WHERE file = 'letters-0002.pdf' LIMIT 1")[0]
        [0]
    .clone();
    body.push_str(&format!(
        "{batch},{second},returned,{},flyttet\n",
        common::receipt_times()[5]
    ));
    // All of part 3 posted but its last letter: the file is kept for that one.
    let third =
        w.sql("SELECT letter_id FROM letters WHERE file = 'letters-0003.pdf' ORDER BY sequence");
    assert_eq!(third.len(), 10);
    for l in &third[..9] {
        body.push_str(&format!(
            "{batch},{},posted,{},\n",
            l[0],
            common::receipt_times()[2]
        ));
    }
    std::fs::write(w.path("r.csv"), body).unwrap();
    w.ok(&["receipts", "ingest", "r.csv"]);

    let dry = w.ok(&["purge", "--dry-run"]);
    assert!(
        dry.stdout.contains("would delete") && dry.stdout.contains("letters-0001.pdf"),
        "{}",
        dry.stdout
    );
    assert!(
        dir.join("letters-0001.pdf").exists(),
        "a dry run deletes nothing"
    );
    let r = w.ok(&["purge"]);
    // 30 letters in parts of 10.
    assert!(
        r.stdout
            .contains("1 letter PDFs deleted, 2 kept because a letter in them is not posted yet"),
        "{}",
        r.stdout
    );
    assert!(!dir.join("letters-0001.pdf").exists());
    for part in ["letters-0002.pdf", "letters-0003.pdf"] {
        assert!(
            dir.join(part).exists(),
            "{part} holds unposted letters and must stay"
        );
    }
    // Unposted letters are still in batched orders whose PDFs are all kept.
    let unposted_files = w.sql("SELECT DISTINCT l.file FROM letters l JOIN orders o ON o.order_id = l.order_id WHERE o.status IN ('batched', 'printed')");
    for f in unposted_files {
        assert!(
            dir.join(&f[0]).exists(),
            "{} deleted while it holds an unposted letter",
            f[0]
        );
    }
}

#[test]
fn personal_data_of_finished_orders_is_pseudonymised_after_retention_and_history_stays() {
    let w = Work::new();
    w.load_fixtures();
    w.sql("UPDATE orders SET updated_at = '2026-01-01T00:00:00.000000Z' WHERE status = 'rejected'");
    let rejected: usize = w.sql("SELECT COUNT(*) FROM orders WHERE status = 'rejected'")[0][0]
        .parse()
        .unwrap();
    let events_before = w.sql("SELECT COUNT(*) FROM order_events")[0][0]
        .parse::<usize>()
        .unwrap();
    let dry = w.ok(&["purge", "--dry-run", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&dry.stdout).unwrap();
    assert_eq!(
        v["orders_pseudonymised"].as_array().unwrap().len(),
        rejected
    );
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM orders WHERE national_id = 'pseudonymised'")[0][0],
        "0"
    );
    w.ok(&["purge"]);
    assert_eq!(w.sql("SELECT COUNT(*) FROM orders WHERE national_id = 'pseudonymised' AND address IS NULL AND reason_detail IS NULL")[0][0], rejected.to_string());
    assert_eq!(w.sql("SELECT COUNT(*) FROM orders WHERE status = 'validated' AND national_id = 'pseudonymised'")[0][0], "0");
    let events_after = w.sql("SELECT COUNT(*) FROM order_events")[0][0]
        .parse::<usize>()
        .unwrap();
    assert_eq!(
        events_after,
        events_before + rejected,
        "history stays, with one 'pseudonymised' event each"
    );
    let again = w.ok(&["purge"]);
    assert!(
        again.stdout.contains("0 orders pseudonymised"),
        "{}",
        again.stdout
    );
}

#[test]
fn cancel_is_refused_once_posted_and_kills_a_letter_already_made() {
    let w = Work::new();
    w.load_fixtures();
    let r = w.ok(&[
        "orders",
        "cancel",
        "WEB-20261123-0002",
        "--reason",
        "customer called",
    ]);
    assert!(
        r.stdout.contains("cancelled (was validated)"),
        "{}",
        r.stdout
    );
    w.ok(&[
        "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ]);
    let letter = w
        .sql("SELECT letter_id, batch_id FROM letters WHERE order_id = 'WEB-20261123-0001'")[0]
        .clone();
    let r = w.ok(&[
        "orders",
        "cancel",
        "WEB-20261123-0001",
        "--reason",
        "lost phone",
    ]);
    assert!(
        r.stdout.contains("its codes no longer work"),
        "{}",
        r.stdout
    );
    assert_eq!(
        w.sql(&format!(
            "SELECT state FROM letters WHERE letter_id = '{}'",
            letter[0]
        ))[0][0],
        "cancelled"
    );
    let verify = w.run(&[
        "pin", "verify", "--letter", &letter[0], "--index", "1", "--pin", "00000",
    ]);
    assert!(verify.stdout.contains("cancelled"), "{}", verify.stdout);

    let other = w.sql("SELECT letter_id, batch_id, order_id FROM letters WHERE order_id <> 'WEB-20261123-0001' LIMIT 1")[0].clone();
    std::fs::write(
        w.path("r.csv"),
        format!(
            "batch_id,letter_id,event,occurred_at,detail\n{},{},posted,{},\n",
            other[1],
            other[0],
            common::receipt_times()[5]
        ),
    )
    .unwrap();
    w.ok(&["receipts", "ingest", "r.csv"]);
    let refused = w.run(&["orders", "cancel", &other[2], "--reason", "too late"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused
            .stderr
            .contains("is posted; only orders not yet posted can be cancelled"),
        "{}",
        refused.stderr
    );
    let events = w.sql("SELECT actor, detail FROM order_events WHERE order_id = 'WEB-20261123-0002' AND event = 'cancelled'");
    assert!(
        events[0][0].starts_with("operator:") && events[0][1] == "customer called",
        "{events:?}"
    );
}

/// What bash's completion offers after `words` (the last one being completed), with the script
/// pinbrev generated.
fn bash_completes(script: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _pinbrev pinbrev '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = common::tool("bash", &["-c", &program]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn completions_offer_statuses_reasons_formats_languages_and_configured_vendors() {
    let w = Work::new();
    std::fs::write(
        w.path("pinbrev.toml"),
        "[vendors.printco]\n[vendors.postco.window]\nleft_mm = 20\ntop_mm = 45\nwidth_mm = 85\nheight_mm = 45\nreturn_zone_mm = 17.7\n",
    )
    .unwrap();
    let r = w.ok(&["completions", "bash"]);
    let script = w.path("pinbrev.bash");
    std::fs::write(&script, &r.stdout).unwrap();
    let statuses = bash_completes(&script, &["pinbrev", "orders", "list", "--status", ""]);
    assert_eq!(statuses.len(), 11, "{statuses:?}");
    assert!(statuses.contains(&"held".to_string()) && statuses.contains(&"superseded".to_string()));
    let reasons = bash_completes(&script, &["pinbrev", "orders", "list", "--reason", "dec"]);
    assert_eq!(reasons, ["deceased"]);
    let formats = bash_completes(&script, &["pinbrev", "orders", "list", "--format", ""]);
    assert_eq!(formats, ["table", "json", "csv"]);
    let vendors = bash_completes(&script, &["pinbrev", "batch", "create", "--vendor", ""]);
    assert_eq!(vendors, ["postco", "printco"]);
    let vendors = bash_completes(&script, &["pinbrev", "nightly", "--vendor", "pr"]);
    assert_eq!(vendors, ["printco"]);
    let languages = bash_completes(&script, &["pinbrev", "letter", "proof", "--lang", ""]);
    assert_eq!(languages, ["nb", "nn", "en"]);
    // A code that is not one is a usage error naming the codes there are.
    let r = w.run(&["orders", "list", "--status", "bogus"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("possible values: received, validated"),
        "{}",
        r.stderr
    );
}

/// Every line of `stderr` as a JSON object.
fn json_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}\n{stderr}"));
            assert!(v.is_object(), "{l}");
            for key in ["timestamp", "level", "message", "target"] {
                assert!(v.get(key).is_some(), "no {key}: {l}");
            }
            v
        })
        .collect()
}

#[test]
fn with_json_logs_every_stderr_line_is_json_with_its_fields_apart() {
    let w = Work::new();
    w.inbox_with_fixtures();
    let args: Vec<&str> = ["--log-format", "json", "-v"]
        .into_iter()
        .chain(NIGHTLY)
        .collect();
    let r = w.ok(&args);
    let lines = json_lines(&r.stderr);
    // Row errors: file, line, field, code and order_id as fields, not only in the message.
    let row = lines
        .iter()
        .find(|l| {
            l["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("orders-2026-11-24-web.csv"))
                && l["line"] == 3
        })
        .unwrap_or_else(|| panic!("no row error for line 3: {}", r.stderr));
    assert_eq!(row["level"], "WARN");
    assert_eq!(row["field"], "order_id");
    assert!(row["code"].as_str().is_some_and(|c| !c.is_empty()), "{row}");
    assert!(row["message"].as_str().unwrap().starts_with("row error: "));
    assert!(
        lines
            .iter()
            .any(|l| l["order_id"].is_string() && l["code"].is_string()),
        "no row error names its order: {}",
        r.stderr
    );
    // The night's summary is one object too, with the summary as a field.
    let summary = lines
        .iter()
        .find(|l| l["message"] == "night summary")
        .unwrap_or_else(|| panic!("no summary line: {}", r.stderr));
    assert_eq!(summary["summary"], common::summary(&r.stdout));
    assert!(summary["summary"]["batch"]["letters"].as_u64().unwrap() > 0);
    assert!(
        lines.iter().any(|l| l["level"] == "DEBUG"),
        "-v logs debug lines"
    );

    // The final error of a failed command, and a usage error, are JSON lines as well.
    let r = w.run(&[
        "--log-format",
        "json",
        "orders",
        "cancel",
        "NO-SUCH",
        "--reason",
        "x",
    ]);
    assert_eq!(r.code, 1);
    let lines = json_lines(&r.stderr);
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert_eq!(lines[0]["level"], "ERROR");
    assert_eq!(lines[0]["message"], "error: no order \"NO-SUCH\"");
    let r = w.run(&[
        "--log-format",
        "json",
        "orders",
        "list",
        "--status",
        "bogus",
    ]);
    assert_eq!(r.code, 2);
    let lines = json_lines(&r.stderr);
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert_eq!(lines[0]["code"], "usage");
    let r = w.run(&[
        "--log-format",
        "json",
        "--db",
        "sqlite://nowhere/x.db",
        "orders",
        "validate",
    ]);
    assert_eq!(r.code, 1);
    assert!(json_lines(&r.stderr)[0]["message"]
        .as_str()
        .unwrap()
        .contains("nowhere"));
    // Text stays text.
    let r = w.run(&["orders", "cancel", "NO-SUCH", "--reason", "x"]);
    assert_eq!(r.stderr.trim_end(), "error: no order \"NO-SUCH\"");
}

#[test]
fn config_show_hides_secrets_and_completions_and_man_page_are_generated() {
    let w = Work::new();
    std::fs::write(
        w.path("pinbrev.toml"),
        "min_age = 15\npin_key_file = \"secret.key\"\n",
    )
    .unwrap();
    let r = w.ok(&["config", "show"]);
    // Each value says where it came from: the file, the environment or the default.
    assert!(
        r.stdout.contains("\nmin_age = 15  # file pinbrev.toml\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("\nallow_synthetic = true  # environment PINBREV_ALLOW_SYNTHETIC\n"),
        "the environment override shows: {}",
        r.stdout
    );
    assert!(
        r.stdout.contains("\nretention_days = 90  # default\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("PIN key: set in PINBREV_PIN_KEY (hidden)"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains(common::TEST_KEY));
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/pinbrev.toml.example");
    let shipped = w.ok(&["--config", &example.display().to_string(), "config", "show"]);
    assert!(
        shipped.stdout.contains("[vendors.printco.window]  # file "),
        "{}",
        shipped.stdout
    );
    // Decimals as written, not as the nearest 32-bit float's full expansion.
    assert!(
        shipped.stdout.contains("\nreturn_zone_mm = 17.7\n"),
        "{}",
        shipped.stdout
    );
    let bash = w.ok(&["completions", "bash"]);
    assert!(bash.stdout.contains("_pinbrev") && bash.stdout.contains("nightly"));
    // One page per command, each with the sections an operator looks for; every command that
    // does something has examples in its --help and on its page.
    let pages = w.ok(&["man", "--dir", "man"]);
    assert!(
        pages.stdout.contains("man pages written to man"),
        "{}",
        pages.stdout
    );
    for name in [
        "pinbrev",
        "pinbrev-nightly",
        "pinbrev-batch-create",
        "pinbrev-orders-list",
        "pinbrev-status",
        "pinbrev-report",
        "pinbrev-worker",
    ] {
        let page = std::fs::read_to_string(w.path(&format!("man/{name}.1")))
            .unwrap_or_else(|e| panic!("{name}.1: {e}"));
        for section in [".SH \"EXIT STATUS\"", ".SH ENVIRONMENT", ".SH FILES"] {
            assert!(page.contains(section), "{name}.1 has no {section}");
        }
        assert!(page.contains("PINBREV_PIN_KEY") && page.contains("PINBREV_DB"));
        if name != "pinbrev" {
            assert!(page.contains(".SH EXAMPLES"), "{name}.1 has no examples");
            let args: Vec<&str> = name.split('-').skip(1).chain(["--help"]).collect();
            let help = w.ok(&args);
            assert!(
                help.stdout.contains("\nExamples:\n  pinbrev "),
                "{args:?}: {}",
                help.stdout
            );
        }
    }
    let man = w.ok(&["man"]);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH pinbrev"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
}

#[test]
fn backup_is_a_consistent_private_copy() {
    let w = Work::new();
    w.load_fixtures();
    let r = w.ok(&["backup", "copy.db"]);
    assert!(
        r.stdout.contains("backup written to copy.db"),
        "{}",
        r.stdout
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(w.path("copy.db")).unwrap().permissions(),
    ) & 0o777;
    assert_eq!(mode, 0o600);
    let copy = Work::new();
    match w.engine() {
        common::Engine::Sqlite => {
            std::fs::copy(w.path("copy.db"), copy.db_file()).unwrap();
        }
        common::Engine::Postgres => {
            let restore = tool(
                "pg_restore",
                &[
                    "--no-owner",
                    "--exit-on-error",
                    "--dbname",
                    &copy.db_url,
                    &w.path("copy.db").display().to_string(),
                ],
            );
            assert!(
                restore.status.success(),
                "{}",
                String::from_utf8_lossy(&restore.stderr)
            );
        }
    }
    assert_eq!(
        copy.sql("SELECT COUNT(*) FROM orders"),
        w.sql("SELECT COUNT(*) FROM orders")
    );
    let again = w.run(&["backup", "copy.db"]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("copy.db exists"), "{}", again.stderr);
}
