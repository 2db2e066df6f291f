//! Letters and the vendor drop through the real binary: `batch create`, the files a vendor
//! gets, `pin verify`, receipts, reissue, and crash recovery.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{fixture, pdf_text, tool, Work};

/// Fixture intake, then one batch into `outbox`.
fn batched(w: &Work) -> PathBuf {
    w.load_fixtures();
    let r = w.ok(&[
        "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ]);
    assert!(r.stdout.contains("batch B"), "{}", r.stdout);
    only_batch_dir(&w.path("outbox"))
}

fn only_batch_dir(outbox: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// letter_id → its 20 codes, read back from the PDFs with pdftotext.
fn codes_in(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let manifest = csv_rows(&dir.join("manifest.csv"));
    let mut by_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in &manifest {
        by_file
            .entry(row["file"].clone())
            .or_default()
            .push(row["letter_id"].clone());
    }
    let pair = regex::Regex::new(r"(?:^|\s)(\d{1,2})\. (\d{5})(?:\s|$)").unwrap();
    let mut out = BTreeMap::new();
    for (file, letters) in by_file {
        let text = pdf_text(&dir.join(&file));
        let pages: Vec<&str> = text.split('\u{c}').collect();
        for (i, letter) in letters.iter().enumerate() {
            let mut codes = vec![String::new(); 20];
            for line in pages[i].lines() {
                let mut rest = line;
                while let Some(c) = pair.captures(rest) {
                    let n: usize = c[1].parse().unwrap();
                    codes[n - 1] = c[2].to_string();
                    rest = &rest[c.get(2).unwrap().end()..];
                }
            }
            assert!(
                codes.iter().all(|c| c.len() == 5),
                "letter {letter}: codes not all found"
            );
            out.insert(letter.clone(), codes);
        }
    }
    out
}

fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Orders waiting for a batch.
fn validated_orders(w: &Work) -> usize {
    w.sql("SELECT COUNT(*) FROM orders WHERE status = 'validated'")[0][0]
        .parse()
        .unwrap()
}

#[test]
fn the_drop_has_every_file_complete_sorted_and_private() {
    let w = Work::new();
    let dir = batched(&w);
    let batch_id = dir.file_name().unwrap().to_string_lossy().to_string();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "READY",
            "batch.json",
            "letters-0001.pdf",
            "manifest.csv",
            "postcodes.csv"
        ]
    );
    for n in &names {
        let mode = std::fs::metadata(dir.join(n)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{n} has mode {mode:o}");
    }
    assert!(!w.path("outbox").read_dir().unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with(".building")));

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("batch.json")).unwrap()).unwrap();
    let validated: usize = w.sql("SELECT COUNT(*) FROM letters")[0][0].parse().unwrap();
    assert_eq!(json["batch_id"], batch_id.as_str());
    assert_eq!(json["vendor"], "printco");
    assert_eq!(json["letter_count"], validated);
    assert_eq!(json["page_count"], validated);
    for f in json["files"].as_array().unwrap() {
        let bytes = std::fs::read(dir.join(f["name"].as_str().unwrap())).unwrap();
        assert_eq!(f["bytes"], bytes.len());
        let sha = common::sha256_hex(&bytes);
        assert_eq!(f["sha256"], sha.as_str());
    }

    // Presorted: Norwegian letters by postal code, then letters abroad by country.
    let manifest = csv_rows(&dir.join("manifest.csv"));
    assert_eq!(manifest.len(), validated);
    let keys: Vec<(u8, String)> = manifest
        .iter()
        .map(|r| {
            if r["postal_zone"] == "domestic" {
                (0, r["postcode"].clone())
            } else {
                (1, r["country"].clone())
            }
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(manifest
        .iter()
        .enumerate()
        .all(|(i, r)| r["sequence"] == (i + 1).to_string()
            && r["first_page"] == (i + 1).to_string()
            && r["page_count"] == "1"));
    let mut per_postcode: BTreeMap<String, usize> = BTreeMap::new();
    for r in manifest.iter().filter(|r| r["postal_zone"] == "domestic") {
        *per_postcode.entry(r["postcode"].clone()).or_default() += 1;
    }
    let notice: BTreeMap<String, usize> = csv_rows(&dir.join("postcodes.csv"))
        .iter()
        .map(|r| (r["postcode"].clone(), r["letters"].parse().unwrap()))
        .collect();
    assert_eq!(notice, per_postcode);

    // Every order that was validated is batched, in exactly this batch.
    let states = w.sql("SELECT status, COUNT(*) FROM orders WHERE status IN ('validated', 'batched') GROUP BY status");
    assert_eq!(
        states,
        vec![vec!["batched".to_string(), validated.to_string()]]
    );
    let status = w.ok(&["status", "WEB-20261123-0001", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(v["batch_id"], batch_id.as_str());
    assert!(v["letter_id"].as_str().unwrap().starts_with(&batch_id));
    assert_eq!(v["status"], "batched");

    let again = w.ok(&[
        "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ]);
    assert!(
        again.stdout.contains("no validated orders"),
        "{}",
        again.stdout
    );
}

#[test]
fn every_name_and_address_is_in_the_letters() {
    let w = Work::new();
    let dir = batched(&w);
    let text = pdf_text(&dir.join("letters-0001.pdf"));
    for row in w.sql("SELECT address FROM orders WHERE status = 'batched'") {
        let block: serde_json::Value = serde_json::from_str(&row[0]).unwrap();
        for line in block["lines"].as_array().unwrap() {
            let line = line.as_str().unwrap();
            assert!(
                text.lines().any(|l| l == line),
                "address line {line:?} not in the PDF text"
            );
        }
    }
    assert!(
        !text.contains("*****"),
        "no national id, masked or not, belongs on a letter"
    );
    for id in w.sql("SELECT national_id FROM orders WHERE length(national_id) = 11") {
        assert!(
            !text.contains(&id[0]),
            "a national id is printed on a letter"
        );
    }
}

/// Everything the database holds, as text: SQLite's files byte for byte (freed pages and the
/// log too), or PostgreSQL's tables as `pg_dump` writes them.
fn database_bytes(w: &Work) -> String {
    match w.engine() {
        common::Engine::Sqlite => ["pinbrev.db", "pinbrev.db-wal"]
            .iter()
            .map(|f| {
                String::from_utf8_lossy(&std::fs::read(w.path(f)).unwrap_or_default()).into_owned()
            })
            .collect(),
        common::Engine::Postgres => {
            let dump = tool("pg_dump", &["--data-only", "--no-password", &w.db_url]);
            assert!(
                dump.status.success(),
                "{}",
                String::from_utf8_lossy(&dump.stderr)
            );
            let text = String::from_utf8(dump.stdout).unwrap();
            assert!(text.contains("COPY public.orders"), "{text}");
            text
        }
    }
}

#[test]
fn pin_codes_verify_and_never_reach_the_database_logs_or_manifests() {
    let w = Work::new();
    w.load_fixtures();
    // Five-digit numbers that were there before any code existed (foreign postcodes, …): a
    // code that happens to equal one of them cannot be told apart, so it is not looked for.
    let token = regex::Regex::new(r"(?:^|[^0-9A-Za-z])([0-9]{5})(?:[^0-9A-Za-z]|$)").unwrap();
    let mut before = database_bytes(&w);
    for f in [
        "register/freg-2026-11-23.jsonl",
        "register/freg-2026-11-24-update.jsonl",
    ] {
        before.push_str(&std::fs::read_to_string(fixture(f)).unwrap());
    }
    let baseline: BTreeSet<String> = token
        .captures_iter(&before)
        .map(|m| m[1].to_string())
        .collect();
    let r = w.run(&[
        "-vv", "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let dir = only_batch_dir(&w.path("outbox"));
    // The drop's file sizes, and their total that the summary prints, are numbers too: a code
    // that happens to equal one of them is no leak.
    let mut baseline = baseline;
    let mut total = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let size = entry.unwrap().metadata().unwrap().len();
        baseline.insert(size.to_string());
        total += size;
    }
    let listed = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(dir.join("batch.json")).unwrap(),
    )
    .unwrap()["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["bytes"].as_u64().unwrap())
        .sum::<u64>();
    baseline.insert(total.to_string());
    baseline.insert(listed.to_string());
    let codes = codes_in(&dir);
    let (letter, first) = codes.iter().next().unwrap();

    let ok = w.run(&[
        "pin", "verify", "--letter", letter, "--index", "1", "--pin", &first[0],
    ]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    let wrong_index = w.run(&[
        "pin", "verify", "--letter", letter, "--index", "2", "--pin", &first[0],
    ]);
    assert_eq!(wrong_index.code, 1);
    let unknown = w.run(&[
        "pin", "verify", "--letter", "NOPE", "--index", "1", "--pin", &first[0],
    ]);
    assert_eq!(unknown.code, 1);
    let bad_index = w.run(&[
        "pin", "verify", "--letter", letter, "--index", "21", "--pin", &first[0],
    ]);
    assert_eq!(bad_index.code, 2);
    for out in [&ok, &wrong_index, &unknown] {
        assert!(
            !out.stdout.contains(&first[0]) && !out.stderr.contains(&first[0]),
            "a PIN code was echoed"
        );
    }

    // No code may stand as a token anywhere but in the PDFs.
    let mut haystacks: Vec<(String, String)> = vec![
        ("batch stdout".into(), r.stdout.clone()),
        ("batch stderr (-vv)".into(), r.stderr.clone()),
    ];
    for name in ["manifest.csv", "postcodes.csv", "batch.json", "READY"] {
        haystacks.push((
            name.into(),
            std::fs::read_to_string(dir.join(name)).unwrap(),
        ));
    }
    haystacks.push(("the database".into(), database_bytes(&w)));
    let status = w.ok(&["status", "WEB-20261123-0001", "--format", "json"]);
    haystacks.push(("status".into(), status.stdout));
    let all_codes: BTreeSet<&String> = codes
        .values()
        .flatten()
        .filter(|c| !baseline.contains(*c))
        .collect();
    assert!(
        all_codes.len() > 500,
        "too few codes left to look for: {}",
        all_codes.len()
    );
    for (name, text) in &haystacks {
        for m in token.captures_iter(text) {
            let at = m.get(1).unwrap();
            // What surrounds it, to tell a leak from a number that happens to match a code.
            let around: String = text
                .get(at.start().saturating_sub(60)..)
                .unwrap_or_default()
                .chars()
                .take(130)
                .collect();
            assert!(
                !all_codes.contains(&m[1].to_string()),
                "a PIN code appears in {name}: {around:?}"
            );
        }
    }
    let stored = w.sql("SELECT pin_digests FROM letter_codes LIMIT 1");
    assert_eq!(stored[0][0].split(',').count(), 20);
    assert!(stored[0][0].split(',').all(|d| d.len() == 64));
}

#[test]
fn batch_create_without_a_key_fails_clearly_and_changes_nothing() {
    let w = Work::new();
    w.load_fixtures();
    let before = w.sql("SELECT status, COUNT(*) FROM orders GROUP BY status");
    let r = w.run_with(
        &[
            "batch", "create", "--vendor", "printco", "--outbox", "outbox",
        ],
        &[("PINBREV_PIN_KEY", "")],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no PIN key") && r.stderr.contains("pin_key_file"),
        "{}",
        r.stderr
    );
    assert_eq!(
        w.sql("SELECT status, COUNT(*) FROM orders GROUP BY status"),
        before
    );
    assert!(!w.path("outbox").exists());
    let short = w.run_with(
        &[
            "batch", "create", "--vendor", "printco", "--outbox", "outbox",
        ],
        &[("PINBREV_PIN_KEY", "too-short")],
    );
    assert_eq!(short.code, 1);
    assert!(short.stderr.contains("at least 32"), "{}", short.stderr);
}

#[test]
fn a_second_batch_run_while_one_holds_the_lock_exits_4() {
    let w = Work::new();
    w.load_fixtures();
    std::fs::create_dir_all(w.path("outbox")).unwrap();
    let _held = w.hold_lock("outbox/.pinbrev-batch.lock");
    let r = w.run(&[
        "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("another pinbrev run holds the lock"),
        "{}",
        r.stderr
    );
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM batches"),
        vec![vec!["0".to_string()]]
    );
}

/// Every order is in at most one batch, every published batch is complete, and nothing is
/// half-visible: the invariants a crash must never break.
fn check_invariants(w: &Work) {
    let twice = w.sql("SELECT order_id FROM letters WHERE state <> 'failed' GROUP BY order_id HAVING COUNT(DISTINCT batch_id) > 1");
    assert!(twice.is_empty(), "orders in two batches: {twice:?}");
    let outbox = w.path("outbox");
    if let Ok(entries) = std::fs::read_dir(&outbox) {
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() && p.join("READY").exists() {
                let json: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(p.join("batch.json")).unwrap()).unwrap();
                for f in json["files"].as_array().unwrap() {
                    let bytes = std::fs::read(p.join(f["name"].as_str().unwrap())).unwrap();
                    assert_eq!(
                        f["sha256"],
                        common::sha256_hex(&bytes).as_str(),
                        "{} in a READY batch is damaged",
                        f["name"]
                    );
                }
            }
        }
    }
}

fn finished_state(w: &Work, validated: usize) {
    check_invariants(w);
    let batches = w.sql("SELECT batch_id, state FROM batches");
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert_eq!(batches[0][1], "published");
    let dir = w.path("outbox").join(&batches[0][0]);
    assert!(dir.join("READY").exists());
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM letters WHERE state = 'issued'")[0][0],
        validated.to_string()
    );
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM orders WHERE status = 'batched'")[0][0],
        validated.to_string()
    );
    let leftovers: Vec<String> = std::fs::read_dir(w.path("outbox"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".building"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Each letter is stored where the manifest says it is.
    let mut placed: Vec<Vec<String>> = csv_rows(&dir.join("manifest.csv"))
        .iter()
        .map(|r| {
            vec![
                r["letter_id"].clone(),
                r["file"].clone(),
                r["first_page"].clone(),
            ]
        })
        .collect();
    placed.sort();
    assert_eq!(
        w.sql(&format!(
            "SELECT letter_id, file, first_page FROM letters WHERE batch_id = '{}' ORDER BY letter_id",
            batches[0][0]
        )),
        placed
    );
    // The codes in the published PDFs are the ones that verify.
    let codes = codes_in(&dir);
    for (letter, c) in codes.iter().take(3) {
        let r = w.run(&[
            "pin", "verify", "--letter", letter, "--index", "20", "--pin", &c[19],
        ]);
        assert_eq!(r.code, 0, "letter {letter}: {}", r.stdout);
    }
}

#[test]
fn a_crash_at_any_step_then_a_rerun_loses_and_duplicates_nothing() {
    for point in [
        "after-part",
        "before-written",
        "after-written",
        "after-rename",
        "after-ready",
    ] {
        let w = Work::new();
        w.load_fixtures();
        let validated: usize = w.sql("SELECT COUNT(*) FROM orders WHERE status = 'validated'")[0]
            [0]
        .parse()
        .unwrap();
        let env = [
            ("PINBREV_FAILPOINT", point),
            ("PINBREV_MAX_LETTERS_PER_FILE", "10"),
        ];
        let crashed = w.run_with(
            &[
                "batch", "create", "--vendor", "printco", "--outbox", "outbox",
            ],
            &env,
        );
        assert_ne!(crashed.code, 0, "{point}: the failpoint did not fire");
        assert!(
            crashed.stderr.contains(&format!("failpoint {point}")),
            "{point}: {}",
            crashed.stderr
        );
        check_invariants(&w);
        let rerun = w.run_with(
            &[
                "batch", "create", "--vendor", "printco", "--outbox", "outbox",
            ],
            &[("PINBREV_MAX_LETTERS_PER_FILE", "10")],
        );
        assert_eq!(rerun.code, 0, "{point}: {}", rerun.stderr);
        assert!(
            rerun.stdout.contains("resumed batch"),
            "{point}: {}",
            rerun.stdout
        );
        finished_state(&w, validated);
        let parts = std::fs::read_dir(w.path("outbox")).unwrap().count();
        assert!(parts >= 2, "{point}");
    }
}

/// A batch of at least as many letters as are stored stores them with the indexes on their
/// orders and people set aside, built again before it commits. A crash before they are built
/// again leaves no batch and no letter, and every index as the migrations made it.
#[test]
fn a_crash_while_a_batch_has_set_the_letters_indexes_aside_leaves_no_batch_and_every_index() {
    let w = Work::new();
    w.load_fixtures();
    let validated = validated_orders(&w);
    let indexes = w.index_definitions("letters");
    assert!(
        indexes.iter().any(|i| i[0] == "letters_order")
            && indexes.iter().any(|i| i[0] == "letters_person"),
        "{indexes:?}"
    );
    let create = [
        "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ];
    let crashed = w.run_with(
        &create,
        &[("PINBREV_FAILPOINT", "bulk-load-before-indexes-rebuilt")],
    );
    if w.on_sqlite("a batch sets the letters' indexes aside") {
        assert!(
            crashed
                .stderr
                .contains("failpoint bulk-load-before-indexes-rebuilt: aborting"),
            "{}",
            crashed.stderr
        );
        assert_ne!(crashed.code, 0);
        check_invariants(&w);
        for table in ["batches", "letters"] {
            assert_eq!(
                w.sql(&format!("SELECT COUNT(*) FROM {table}")),
                vec![vec!["0".to_string()]],
                "{table}"
            );
        }
        assert_eq!(
            w.sql("SELECT COUNT(*) FROM orders WHERE status = 'validated'")[0][0],
            validated.to_string()
        );
        assert_eq!(w.index_definitions("letters"), indexes);
        w.ok(&create);
        // The indexes built again hold every letter.
        for (index, column) in [
            ("letters_order", "order_id"),
            ("letters_person", "person_id"),
        ] {
            assert_eq!(
                w.sql(&format!(
                    "SELECT COUNT(*) FROM letters INDEXED BY {index} WHERE {column} IS NOT NULL"
                )),
                w.sql(&format!(
                    "SELECT COUNT(*) FROM letters NOT INDEXED WHERE {column} IS NOT NULL"
                )),
                "{index}"
            );
        }
    } else {
        // PostgreSQL keeps every index: dropping one would lock out every reader.
        assert_eq!(crashed.code, 0, "{}", crashed.stderr);
    }
    finished_state(&w, validated);
    assert_eq!(w.index_definitions("letters"), indexes);
}

#[test]
fn a_publication_killed_with_its_sort_runs_on_disk_is_resumed_over_them() {
    let w = Work::new();
    w.load_fixtures();
    let validated = validated_orders(&w);
    let create = [
        "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ];
    let crashed = w.run_with(&create, &[("PINBREV_FAILPOINT", "after-ready")]);
    assert!(
        crashed.stderr.contains("failpoint after-ready"),
        "{}",
        crashed.stderr
    );
    let batch = w.sql("SELECT batch_id FROM batches")[0][0].clone();
    // What a publication killed while sorting the superseded letters' orders leaves.
    let runs = w.path(&format!("outbox/.pinbrev-spool/publish-{batch}"));
    std::fs::create_dir_all(&runs).unwrap();
    std::fs::write(runs.join("run-00001"), [0xffu8; 64]).unwrap();
    let rerun = w.run(&create);
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert!(rerun.stdout.contains("resumed batch"), "{}", rerun.stdout);
    finished_state(&w, validated);
    assert!(!w.path("outbox/.pinbrev-spool").exists());
}

#[test]
fn killing_batch_create_at_random_moments_never_breaks_the_invariants() {
    let w = Work::new();
    w.load_fixtures();
    let validated = validated_orders(&w);
    let bin = assert_cmd::cargo::cargo_bin("pinbrev");
    for delay_ms in [5u64, 20, 40, 80, 150] {
        let mut child = std::process::Command::new(&bin)
            .current_dir(w.dir.path())
            .env("PINBREV_DB", &w.db_url)
            .env("PINBREV_ALLOW_SYNTHETIC", "true")
            .env("PINBREV_PIN_KEY", common::TEST_KEY)
            .env("PINBREV_MAX_LETTERS_PER_FILE", "5")
            .args([
                "-q", "batch", "create", "--vendor", "printco", "--outbox", "outbox",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        check_invariants(&w);
    }
    let r = w.run_with(
        &[
            "batch", "create", "--vendor", "printco", "--outbox", "outbox",
        ],
        &[("PINBREV_MAX_LETTERS_PER_FILE", "5")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    finished_state(&w, validated);
}

#[test]
fn a_kill_while_several_parts_are_rendered_then_a_rerun_loses_and_duplicates_nothing() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::ExitStatusExt;
    let w = Work::new();
    w.load_fixtures();
    let validated = validated_orders(&w);
    let env = [
        ("PINBREV_MAX_LETTERS_PER_FILE", "5"),
        ("PINBREV_RENDER_THREADS", "3"),
    ];
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pinbrev"))
        .current_dir(w.dir.path())
        .env("PINBREV_DB", &w.db_url)
        .env("PINBREV_ALLOW_SYNTHETIC", "true")
        .env("PINBREV_PIN_KEY", common::TEST_KEY)
        .envs(env)
        .env("PINBREV_FAILPOINT", "pause-rendering")
        .args([
            "batch", "create", "--vendor", "printco", "--outbox", "outbox",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The render threads stop once two parts are being rendered at once, and say so.
    // The pipe stays open until the child is gone: a thread's later line on stderr into a closed
    // pipe would end the child by SIGPIPE before the SIGKILL this test sends.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let paused = line.contains("failpoint pause-rendering");
        seen.push(line);
        if paused {
            break;
        }
    }
    assert!(
        seen.last()
            .is_some_and(|l| l.contains("parts being rendered")),
        "the process did not pause while rendering: {seen:?}"
    );
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    drop(lines);
    assert_eq!(status.signal(), Some(9), "not killed: {status:?}");
    // Killed mid-build: nothing published, every order in the one unfinished batch.
    assert_eq!(
        w.sql("SELECT state FROM batches"),
        vec![vec!["building".to_string()]]
    );
    check_invariants(&w);
    assert!(!std::fs::read_dir(w.path("outbox")).unwrap().any(|e| e
        .unwrap()
        .path()
        .join("READY")
        .exists()));

    // Resumed with fewer letters to a file than the batch was begun with: the letters move to
    // the parts they are rendered into.
    let rerun = w.run_with(
        &[
            "batch", "create", "--vendor", "printco", "--outbox", "outbox",
        ],
        &[("PINBREV_MAX_LETTERS_PER_FILE", "4")],
    );
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert!(rerun.stdout.contains("resumed batch"), "{}", rerun.stdout);
    finished_state(&w, validated);
    assert_eq!(
        w.sql("SELECT MAX(first_page) FROM letters")[0][0],
        "4",
        "the resumed batch's parts hold four letters each"
    );
}

/// The drop's text with every five-digit code replaced, so that two renders compare.
fn without_codes(text: &str) -> String {
    regex::Regex::new(r"\b\d{5}\b")
        .unwrap()
        .replace_all(text, "#####")
        .into_owned()
}

#[test]
fn the_drop_is_the_same_whatever_the_number_of_render_threads() {
    let mut drops = Vec::new();
    for threads in ["1", "3"] {
        let w = Work::new();
        w.load_fixtures();
        let r = w.run_with(
            &[
                "batch", "create", "--vendor", "printco", "--outbox", "outbox",
            ],
            &[
                ("PINBREV_MAX_LETTERS_PER_FILE", "7"),
                ("PINBREV_RENDER_THREADS", threads),
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let files = drop_contents(&only_batch_dir(&w.path("outbox")));
        let events = w.sql(
            "SELECT order_id, actor, event, from_status, to_status, detail FROM order_events \
             ORDER BY event_id",
        );
        let letters =
            w.sql("SELECT letter_id, order_id, sequence, file, first_page, state FROM letters");
        drops.push((files, events, letters, w));
    }
    let (one, three) = (&drops[0], &drops[1]);
    assert!(one.0.len() >= 4, "{:?}", one.0.keys());
    assert_eq!(
        one.0.keys().collect::<Vec<_>>(),
        three.0.keys().collect::<Vec<_>>()
    );
    for (name, content) in &one.0 {
        assert_eq!(content, &three.0[name], "{name} differs");
    }
    assert_eq!(one.1, three.1, "events differ");
    assert_eq!(one.2, three.2, "letters differ");
    // The codes themselves are new for every render.
    let codes_one = codes_in(&only_batch_dir(&one.3.path("outbox")));
    let codes_three = codes_in(&only_batch_dir(&three.3.path("outbox")));
    assert_eq!(
        codes_one.keys().collect::<Vec<_>>(),
        codes_three.keys().collect::<Vec<_>>()
    );
    assert_ne!(codes_one, codes_three);
}

/// The drop's PDF text (codes masked) and CSV files, by name.
fn drop_contents(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let content = match p.extension().and_then(|x| x.to_str()) {
            Some("pdf") => without_codes(&pdf_text(&p)),
            Some("csv") => std::fs::read_to_string(&p).unwrap(),
            _ => continue,
        };
        files.insert(name, content);
    }
    files
}

#[test]
fn the_drop_is_the_same_rendered_from_the_spool_or_from_the_database() {
    let env = [("PINBREV_MAX_LETTERS_PER_FILE", "7")];
    let batch = [
        "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ];
    // A new batch renders its parts from the spool of the orders it read.
    let spooled = Work::new();
    spooled.load_fixtures();
    let r = spooled.run_with(&batch, &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!spooled.path("outbox/.pinbrev-spool").exists());
    // A batch resumed after a crash renders every part from the database.
    let resumed = Work::new();
    resumed.load_fixtures();
    let crashed = resumed.run_with(&batch, &[env[0], ("PINBREV_FAILPOINT", "after-part")]);
    assert!(
        crashed.stderr.contains("failpoint after-part"),
        "{}",
        crashed.stderr
    );
    let left = std::fs::read_dir(resumed.path("outbox/.pinbrev-spool"))
        .unwrap()
        .count();
    assert!(
        left >= 2,
        "the crashed run spooled its parts ({left} files left)"
    );
    let r = resumed.run_with(&batch, &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("resumed batch"), "{}", r.stdout);
    assert!(!resumed.path("outbox/.pinbrev-spool").exists());
    let one = drop_contents(&only_batch_dir(&spooled.path("outbox")));
    let other = drop_contents(&only_batch_dir(&resumed.path("outbox")));
    assert!(
        one.keys().filter(|n| n.ends_with(".pdf")).count() >= 3,
        "{:?}",
        one.keys()
    );
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        other.keys().collect::<Vec<_>>()
    );
    for (name, content) in &one {
        assert_eq!(content, &other[name], "{name} differs");
    }
    let letters = "SELECT letter_id, order_id, sequence, file, first_page, state FROM letters \
                   ORDER BY letter_id";
    assert_eq!(spooled.sql(letters), resumed.sql(letters));
}

#[test]
fn receipts_move_orders_on_idempotently_and_name_unknown_letters() {
    let w = Work::new();
    let dir = batched(&w);
    let batch = dir.file_name().unwrap().to_string_lossy().to_string();
    let manifest = csv_rows(&dir.join("manifest.csv"));
    let l = |i: usize| manifest[i]["letter_id"].clone();
    let [t0, t1, t2, t3, _, t5] = common::receipt_times();
    let receipts = format!(
        "batch_id,letter_id,event,occurred_at,detail\n\
         {batch},{a},printed,{t0},\n\
         {batch},{a},posted,{t2},\n\
         {batch},{b},posted,{t2},\n\
         {batch},{b},returned,{t5},\"Ukjent adressat, flyttet\"\n\
         {batch},{c},failed,{t1},paper jam\n\
         {batch},NOPE-1,posted,{t2},\n\
         B19990101-001,{a},posted,{t2},\n\
         {batch},{d},lost,{t2},\n\
         {batch},{a},failed,{t3},\n\
         B19990101-001,NOPE-2,posted,{t2},\n\
         {batch},NOPE-3,posted,{t2},\n",
        a = l(0),
        b = l(1),
        c = l(2),
        d = l(3)
    );
    std::fs::write(w.path("r.csv"), receipts).unwrap();
    let first = w.ok(&["receipts", "ingest", "r.csv"]);
    assert!(
        first
            .stdout
            .contains("5 applied, 0 recorded without change, 0 already known, 6 row errors"),
        "{}",
        first.stdout
    );
    assert_row_errors(
        &first.stderr,
        "r.csv",
        &[
            (7, "letter_id", "unknown_letter"),
            (8, "batch_id", "unknown_batch"),
            (9, "event", "invalid_event"),
            (10, "event", "invalid_transition"),
            // A batch found unknown, or known, before in the page is still so.
            (11, "batch_id", "unknown_batch"),
            (12, "letter_id", "unknown_letter"),
        ],
    );
    let order_of = |letter: &str| {
        w.sql(&format!("SELECT o.status, l.state FROM letters l JOIN orders o ON o.order_id = l.order_id WHERE l.letter_id = '{letter}'"))[0].clone()
    };
    assert_eq!(order_of(&l(0)), ["posted", "issued"]);
    assert_eq!(order_of(&l(1)), ["returned", "returned"]);
    assert_eq!(order_of(&l(2)), ["validated", "failed"]);
    let returned = w.sql(&format!(
        "SELECT detail FROM order_events WHERE event = 'returned' AND detail LIKE '%{}%'",
        l(1)
    ));
    assert!(
        returned[0][0].contains("Ukjent adressat, flyttet"),
        "{returned:?}"
    );

    let events = w.sql("SELECT COUNT(*) FROM order_events");
    let again = w.ok(&["receipts", "ingest", "r.csv"]);
    assert!(
        again
            .stdout
            .contains("0 applied, 0 recorded without change, 5 already known"),
        "{}",
        again.stdout
    );
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM order_events"),
        events,
        "a re-delivered receipts file changes nothing"
    );

    // The failed letter's order goes into the next batch with a new letter; the old one's
    // codes never verify.
    let next = w.ok(&[
        "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ]);
    assert!(next.stdout.contains(": 1 letter,"), "{}", next.stdout);
    let broken = w.run(&["receipts", "ingest", "missing.csv"]);
    assert_eq!(broken.code, 3);
}

#[test]
fn a_receipt_repeated_or_late_within_one_file_is_known_or_kept_without_a_change() {
    let w = Work::new();
    let dir = batched(&w);
    let batch = dir.file_name().unwrap().to_string_lossy().to_string();
    let manifest = csv_rows(&dir.join("manifest.csv"));
    let a = manifest[0]["letter_id"].clone();
    let b = manifest[1]["letter_id"].clone();
    let [t0, t1, t2, ..] = common::receipt_times();
    // Within one page of the file, each row sees what the rows before it did: the second
    // `posted` of a is the same receipt, b's `printed` comes after its `posted` (late: kept,
    // nothing moves), and b's `returned` moves the order on from `posted`.
    let receipts = format!(
        "batch_id,letter_id,event,occurred_at,detail\n\
         {batch},{a},posted,{t1},\n\
         {batch},{a},posted,{t1},\n\
         {batch},{b},posted,{t1},\n\
         {batch},{b},printed,{t0},\n\
         {batch},{b},returned,{t2},moved\n"
    );
    std::fs::write(w.path("r.csv"), receipts).unwrap();
    let out = w.ok(&["receipts", "ingest", "r.csv"]);
    assert!(
        out.stdout
            .contains("3 applied, 1 recorded without change, 1 already known, 0 row errors"),
        "{}",
        out.stdout
    );
    let events_of = |letter: &str| {
        w.sql(&format!(
            "SELECT e.event, COALESCE(e.from_status, ''), COALESCE(e.to_status, '') \
             FROM order_events e JOIN letters l ON l.order_id = e.order_id \
             WHERE l.letter_id = '{letter}' AND e.actor = 'vendor' ORDER BY e.event_id"
        ))
    };
    assert_eq!(events_of(&a), [["posted", "batched", "posted"]]);
    assert_eq!(
        events_of(&b),
        [
            ["posted", "batched", "posted"],
            ["receipt printed (no change)", "", ""],
            ["returned", "posted", "returned"],
        ]
    );
    assert_eq!(
        w.sql(&format!(
            "SELECT o.status, l.state FROM letters l JOIN orders o ON o.order_id = l.order_id \
             WHERE l.letter_id = '{b}'"
        )),
        [["returned", "returned"]]
    );
    assert_eq!(
        w.sql(&format!(
            "SELECT event FROM receipts WHERE letter_id = '{b}' ORDER BY source_line"
        )),
        [["posted"], ["printed"], ["returned"]]
    );
}

#[test]
fn receipts_applied_in_their_orders_order_still_report_errors_in_line_order() {
    let w = Work::new();
    let dir = batched(&w);
    let batch = dir.file_name().unwrap().to_string_lossy().to_string();
    // Two letters whose orders come in the other order by order_id than in the file.
    let letters = w.sql("SELECT letter_id, order_id FROM letters ORDER BY order_id DESC LIMIT 2");
    let (late, early) = (&letters[0][0], &letters[1][0]);
    let [_, t1, t2, ..] = common::receipt_times();
    // Applied by order: the unknown letter (line 4) first, then the early order's bad event
    // (line 6), then the late order's `failed` after `posted` (line 3).
    let receipts = format!(
        "batch_id,letter_id,event,occurred_at,detail\n\
         {batch},{late},posted,{t1},\n\
         {batch},{late},failed,{t2},\n\
         {batch},NOPE-1,posted,{t1},\n\
         {batch},{early},posted,{t1},\n\
         {batch},{early},lost,{t2},\n"
    );
    std::fs::write(w.path("r.csv"), receipts).unwrap();
    let out = w.ok(&["receipts", "ingest", "r.csv"]);
    assert!(
        out.stdout
            .contains("2 applied, 0 recorded without change, 0 already known, 3 row errors"),
        "{}",
        out.stdout
    );
    let at = |line: &str| {
        out.stderr
            .find(&format!("r.csv:{line}: "))
            .unwrap_or_else(|| panic!("line {line} not reported: {}", out.stderr))
    };
    assert!(at("3") < at("4") && at("4") < at("6"), "{}", out.stderr);
    assert!(
        out.stderr.contains("(invalid_transition)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("(unknown_letter)"), "{}", out.stderr);
    assert!(out.stderr.contains("(invalid_event)"), "{}", out.stderr);
    assert_eq!(
        w.sql("SELECT line, code FROM input_errors WHERE input = 'receipts' ORDER BY error_id"),
        [
            ["3", "invalid_transition"],
            ["4", "unknown_letter"],
            ["6", "invalid_event"]
        ]
    );
    assert_eq!(
        w.sql(
            "SELECT COUNT(*) FROM letters l JOIN orders o ON o.order_id = l.order_id \
             WHERE o.status = 'posted'"
        ),
        [["2"]]
    );
}

#[test]
fn receipts_for_a_letter_of_another_batch_or_of_an_unpublished_one_are_row_errors() {
    let w = Work::new();
    let register = fixture("register/freg-2026-11-23.jsonl");
    w.ok(&["register", "import", &register.display().to_string()]);
    let [_, _, _, _, printed, posted] = common::receipt_times();
    let order = |id: &str| {
        ingest_and_validate(&w, &[(id, "09814900069", "2026-11-23T10:00:00+01:00")]);
    };
    let letter_of = |id: &str| {
        w.sql(&format!(
            "SELECT batch_id, letter_id FROM letters WHERE order_id = '{id}'"
        ))[0]
            .clone()
    };
    order("U-1");
    w.ok(&[
        "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ]);
    post_letters_of(&w, &["U-1"]);
    // The next letter's batch stops before it is published.
    order("U-2");
    let crashed = w.run_with(
        &[
            "batch", "create", "--vendor", "printco", "--outbox", "outbox",
        ],
        &[("PINBREV_FAILPOINT", "before-written")],
    );
    assert_ne!(crashed.code, 0, "the failpoint did not fire");
    let (published, unpublished) = (letter_of("U-1"), letter_of("U-2"));
    assert_ne!(published[0], unpublished[0]);
    std::fs::write(
        w.path("r.csv"),
        format!(
            "batch_id,letter_id,event,occurred_at,detail\n\
             {b2},{l2},printed,{printed},\n\
             {b2},{l1},printed,{printed},\n\
             {b1},{l2},printed,{printed},\n\
             {b1},{l1},returned,{posted},Flyttet\n",
            b1 = published[0],
            l1 = published[1],
            b2 = unpublished[0],
            l2 = unpublished[1],
        ),
    )
    .unwrap();
    let r = w.ok(&["receipts", "ingest", "r.csv"]);
    assert!(
        r.stdout
            .contains("1 applied, 0 recorded without change, 0 already known, 3 row errors"),
        "{}",
        r.stdout
    );
    assert_row_errors(
        &r.stderr,
        "r.csv",
        &[
            (2, "batch_id", "batch_not_published"),
            (3, "letter_id", "letter_not_in_batch"),
            (4, "letter_id", "letter_not_in_batch"),
        ],
    );
    assert_eq!(
        w.sql("SELECT order_id, status FROM orders ORDER BY order_id"),
        vec![
            vec!["U-1".to_string(), "returned".to_string()],
            vec!["U-2".to_string(), "batched".to_string()],
        ]
    );
}

#[test]
fn a_receipts_file_ingested_again_after_a_crash_applies_each_receipt_once() {
    let w = Work::new();
    let dir = batched(&w);
    let batch = dir.file_name().unwrap().to_string_lossy().to_string();
    let letters: Vec<String> = csv_rows(&dir.join("manifest.csv"))
        .into_iter()
        .map(|r| r["letter_id"].clone())
        .collect();
    let [_, _, _, _, printed, posted] = common::receipt_times();
    // More rows than one transaction takes (10,000, in pages of 1,000): every letter printed,
    // the first receipt again until the file has 10,000 rows, then every letter posted.
    let mut csv = String::from("batch_id,letter_id,event,occurred_at,detail\n");
    let row = |letter: &str, event: &str, at: &str| format!("{batch},{letter},{event},{at},\n");
    for l in &letters {
        csv.push_str(&row(l, "printed", &printed));
    }
    for _ in letters.len()..10_000 {
        csv.push_str(&row(&letters[0], "printed", &printed));
    }
    for l in &letters {
        csv.push_str(&row(l, "posted", &posted));
    }
    std::fs::write(w.path("r.csv"), csv).unwrap();

    let crashed = w.run_with(
        &["receipts", "ingest", "r.csv"],
        &[("PINBREV_FAILPOINT", "receipts-after-commit")],
    );
    assert!(
        crashed
            .stderr
            .contains("failpoint receipts-after-commit: aborting"),
        "{}",
        crashed.stderr
    );
    assert_ne!(crashed.code, 0);
    let statuses = || {
        w.sql(
            "SELECT o.status, COUNT(*) FROM letters l JOIN orders o ON o.order_id = l.order_id \
             GROUP BY o.status ORDER BY 1",
        )
    };
    let n = letters.len().to_string();
    // Rows are applied in their orders' order, each order's in line order: the first
    // transaction took every row of the first orders (printed, then posted) and the rest wait.
    let crashed_at = statuses();
    assert_eq!(crashed_at.len(), 2, "{crashed_at:?}");
    assert_eq!(crashed_at[0][0], "batched");
    assert_eq!(crashed_at[1][0], "posted");
    let posted: usize = crashed_at[1][1].parse().unwrap();
    assert!(posted > 0 && posted < letters.len(), "{crashed_at:?}");
    assert_eq!(
        w.sql(
            "SELECT CASE WHEN MAX(order_id) < (SELECT MIN(order_id) FROM orders \
             WHERE status = 'batched') THEN 'before' ELSE 'not before' END \
             FROM orders WHERE status = 'posted'"
        ),
        vec![vec!["before".to_string()]],
        "the orders applied before the crash come first by order_id"
    );
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM receipts"),
        vec![vec![(2 * posted).to_string()]]
    );

    let again = w.ok(&["receipts", "ingest", "r.csv"]);
    assert!(
        again.stdout.contains(&format!(
            "{n} applied, 0 recorded without change, 10000 already known, 0 row errors"
        )),
        "{}",
        again.stdout
    );
    assert_eq!(statuses(), vec![vec!["posted".to_string(), n.clone()]]);
    for event in ["printed", "posted"] {
        assert_eq!(
            w.sql(&format!(
                "SELECT COUNT(*), COUNT(DISTINCT order_id) FROM order_events WHERE event = '{event}'"
            )),
            vec![vec![n.clone(), n.clone()]],
            "{event}"
        );
    }
}

#[test]
fn reissue_makes_new_codes_and_the_old_ones_stop_working() {
    let w = Work::new();
    let dir = batched(&w);
    let batch = dir.file_name().unwrap().to_string_lossy().to_string();
    let codes = codes_in(&dir);
    let letter =
        w.sql("SELECT letter_id FROM letters WHERE order_id = 'WEB-20261123-0001'")[0][0].clone();
    let old = codes[&letter].clone();
    let early = w.run(&["orders", "reissue", "WEB-20261123-0001"]);
    assert_eq!(early.code, 1);
    assert!(
        early
            .stderr
            .contains("only posted or returned orders can be reissued"),
        "{}",
        early.stderr
    );

    let [t0, _, t2, ..] = common::receipt_times();
    std::fs::write(
        w.path("r.csv"),
        format!("batch_id,letter_id,event,occurred_at,detail\n{batch},{letter},posted,{t2},\n"),
    )
    .unwrap();
    w.ok(&["receipts", "ingest", "r.csv"]);
    let r = w.ok(&["orders", "reissue", "WEB-20261123-0001"]);
    assert!(r.stdout.contains("validated again"), "{}", r.stdout);
    // A late receipt for the old letter is kept but does not move the reissued order.
    std::fs::write(
        w.path("late.csv"),
        format!("batch_id,letter_id,event,occurred_at,detail\n{batch},{letter},printed,{t0},\n"),
    )
    .unwrap();
    let late = w.ok(&["receipts", "ingest", "late.csv"]);
    assert!(
        late.stdout.contains("0 applied, 1 recorded without change"),
        "{}",
        late.stdout
    );
    assert_eq!(w.outcomes()["WEB-20261123-0001"].0, "validated");
    // Until the new letter is published, the old codes still work.
    assert_eq!(
        w.run(&["pin", "verify", "--letter", &letter, "--index", "5", "--pin", &old[4]])
            .code,
        0
    );
    let next = w.ok(&[
        "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ]);
    assert!(
        next.stdout.contains("1 earlier letter superseded"),
        "{}",
        next.stdout
    );
    assert_eq!(
        w.run(&["pin", "verify", "--letter", &letter, "--index", "5", "--pin", &old[4]])
            .code,
        1
    );
    let status = w.ok(&["status", "WEB-20261123-0001", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_ne!(v["letter_id"], letter.as_str());
    let events: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "received",
            "validated",
            "batched",
            "posted",
            "reissue",
            "validated",
            "receipt printed (no change)",
            "batched"
        ]
    );
}

#[test]
fn reorder_limit_counts_letters_of_30_days() {
    let w = Work::new();
    let f = |r: &str| fixture(r).display().to_string();
    w.ok(&["register", "import", &f("register/freg-2026-11-23.jsonl")]);
    let number = "09814900069"; // WEB-20261123-0001's person in the fixture register
    for (i, order) in ["R-1", "R-2", "R-3", "R-4"].iter().enumerate() {
        let at = format!("2026-11-2{i}T10:00:00+01:00");
        ingest_and_validate(&w, &[(order, number, &at)]);
        let (status, reason) = w.outcomes()[*order].clone();
        if i == 3 {
            assert_eq!(
                (status.as_str(), reason.as_str()),
                ("rejected", "reorder_limit")
            );
            break;
        }
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("validated", ""),
            "{order}"
        );
        w.ok(&[
            "batch", "create", "--vendor", "printco", "--outbox", "outbox",
        ]);
        let letter = w.sql(&format!(
            "SELECT letter_id, batch_id FROM letters WHERE order_id = '{order}'"
        ))[0]
            .clone();
        std::fs::write(
            w.path("r.csv"),
            format!(
                "batch_id,letter_id,event,occurred_at,detail\n{},{},posted,{},\n",
                letter[1],
                letter[0],
                common::receipt_times()[5]
            ),
        )
        .unwrap();
        w.ok(&["receipts", "ingest", "r.csv"]);
    }
    let detail = w.sql("SELECT reason_detail FROM orders WHERE order_id = 'R-4'");
    assert_eq!(detail[0][0], "3 letters in the last 30 days (limit 3)");
    // Earlier letters of the person were superseded by each newer one.
    assert_eq!(
        w.sql("SELECT status FROM orders WHERE order_id = 'R-1'"),
        vec![vec!["superseded".to_string()]]
    );
    // The limit is a setting, overridable from the environment.
    std::fs::write(
        w.path("o.csv"),
        format!("order_id,national_id,ordered_at\nR-5,{number},2026-11-24T10:00:00+01:00\n"),
    )
    .unwrap();
    w.ok(&["orders", "ingest", "o.csv"]);
    w.run_with(
        &["orders", "validate"],
        &[("PINBREV_MAX_LETTERS_PER_30_DAYS", "4")],
    );
    assert_eq!(
        w.outcomes()["R-5"],
        ("validated".to_string(), String::new())
    );
}

/// Ingests orders (order_id, national_id, ordered_at) and validates them.
fn ingest_and_validate(w: &Work, rows: &[(&str, &str, &str)]) {
    let mut csv = String::from("order_id,national_id,ordered_at\n");
    for (order, number, at) in rows {
        csv.push_str(&format!("{order},{number},{at}\n"));
    }
    std::fs::write(w.path("o.csv"), csv).unwrap();
    w.ok(&["orders", "ingest", "o.csv"]);
    w.ok(&["orders", "validate"]);
}

/// Each (line, field, code) is a row error of `file` on stderr, ending with its code.
fn assert_row_errors(stderr: &str, file: &str, cases: &[(usize, &str, &str)]) {
    for (line, field, code) in cases {
        let needle = format!("{file}:{line}: {field}: ");
        let found = stderr
            .lines()
            .find(|x| x.contains(&needle))
            .unwrap_or_else(|| panic!("{needle} in {stderr}"));
        assert!(found.ends_with(&format!("({code})")), "{found}");
    }
}

/// Posts a receipt `posted` for each of these orders' letters, which finishes the orders.
fn post_letters_of(w: &Work, orders: &[&str]) {
    let mut csv = String::from("batch_id,letter_id,event,occurred_at,detail\n");
    for order in orders {
        let letter = w.sql(&format!(
            "SELECT batch_id, letter_id FROM letters WHERE order_id = '{order}'"
        ));
        let posted = &common::receipt_times()[5];
        csv.push_str(&format!(
            "{},{},posted,{posted},\n",
            letter[0][0], letter[0][1]
        ));
    }
    std::fs::write(w.path("r.csv"), csv).unwrap();
    w.ok(&["receipts", "ingest", "r.csv"]);
}

#[test]
fn letters_of_two_people_the_register_merges_are_superseded_by_the_next_letter() {
    let w = Work::new();
    let register = fixture("register/freg-2026-11-23.jsonl");
    w.ok(&["register", "import", &register.display().to_string()]);
    // Two people of the fixture register, each with a letter.
    let (first, second) = ("09814900069", "17857812069");
    let orders = |lines: &[(&str, &str)]| {
        let rows: Vec<(&str, &str, &str)> = lines
            .iter()
            .map(|(order, number)| (*order, *number, "2026-11-23T10:00:00+01:00"))
            .collect();
        ingest_and_validate(&w, &rows);
        w.ok(&[
            "batch", "create", "--vendor", "printco", "--outbox", "outbox",
        ])
    };
    orders(&[("M-1", first), ("M-2", second)]);
    post_letters_of(&w, &["M-1", "M-2"]);
    let key = |order: &str| {
        w.sql(&format!(
            "SELECT o.person_id, l.person_id FROM orders o JOIN letters l ON l.order_id = o.order_id \
             WHERE o.order_id = '{order}'"
        ))[0]
            .clone()
    };
    assert_ne!(key("M-1"), key("M-2"));
    // The register learns they are one person: the second number in use, the first ceased.
    let text = std::fs::read_to_string(&register).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    doc["identifikasjonsnummer"] = serde_json::json!([
        {"foedselsEllerDNummer": second, "identifikatortype": "foedselsnummer", "status": "iBruk", "erGjeldende": true},
        {"foedselsEllerDNummer": first, "identifikatortype": "foedselsnummer", "status": "opphoert", "erGjeldende": false},
    ]);
    std::fs::write(w.path("merge.jsonl"), format!("{doc}\n")).unwrap();
    w.ok(&["register", "import", "merge.jsonl"]);
    assert_eq!(
        key("M-1"),
        key("M-2"),
        "the merged people's letters name one person"
    );

    let next = orders(&[("M-3", second)]);
    assert!(
        next.stdout.contains("2 earlier letters superseded"),
        "{}",
        next.stdout
    );
    assert_eq!(key("M-3"), key("M-1"));
    for order in ["M-1", "M-2"] {
        assert_eq!(
            w.sql(&format!(
                "SELECT status FROM orders WHERE order_id = '{order}'"
            )),
            vec![vec!["superseded".to_string()]],
            "{order}"
        );
    }
}

/// Runs pinbrev in the work's folder with `env`, stderr piped, and reads stderr until a line
/// holding `until`: the child and its stderr (kept open, so that a later line cannot end the
/// child by SIGPIPE).
fn spawn_until(
    w: &Work,
    args: &[&str],
    env: &[(&str, &str)],
    until: &str,
) -> (
    std::process::Child,
    std::io::Lines<std::io::BufReader<std::process::ChildStderr>>,
) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pinbrev"))
        .current_dir(w.dir.path())
        .env("PINBREV_DB", &w.db_url)
        .env("PINBREV_ALLOW_SYNTHETIC", "true")
        .env("PINBREV_PIN_KEY", common::TEST_KEY)
        .envs(env.iter().copied())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let found = line.contains(until);
        seen.push(line);
        if found {
            return (child, lines);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{args:?} never said {until:?}: {seen:?}");
}

/// [`spawn_until`] with `settings` and the test hook `failpoint`: the child says it waits there,
/// and goes on once the file `release` exists.
fn spawn_held(
    w: &Work,
    args: &[&str],
    settings: &[(&str, &str)],
    failpoint: &str,
    release: &str,
) -> (
    std::process::Child,
    std::io::Lines<std::io::BufReader<std::process::ChildStderr>>,
) {
    let mut env = settings.to_vec();
    env.extend([
        ("PINBREV_FAILPOINT", failpoint),
        ("PINBREV_FAILPOINT_RELEASE", release),
    ]);
    spawn_until(w, args, &env, &format!("failpoint {failpoint}: waiting"))
}

/// PostgreSQL: workers share the night's parts. One worker is killed holding a part; another
/// renders the rest; the planning run takes the dead worker's part over once its lease runs
/// out, and publishes a complete drop whose codes verify.
#[test]
fn render_workers_share_a_batch_and_a_killed_workers_part_is_taken_over() {
    use std::os::unix::process::ExitStatusExt;
    let w = Work::postgres();
    w.load_fixtures();
    let validated = validated_orders(&w);
    let release = w.path("release");
    let release_text = release.display().to_string();
    let never = w.path("never").display().to_string();
    let settings = [
        ("PINBREV_MAX_LETTERS_PER_FILE", "3"),
        ("PINBREV_RENDER_THREADS", "1"),
        ("PINBREV_PART_LEASE_SECONDS", "2"),
    ];
    // The run that plans the batch waits once its parts are planned.
    let (batch, batch_stderr) = spawn_held(
        &w,
        &[
            "batch", "create", "--vendor", "printco", "--outbox", "outbox",
        ],
        &settings,
        "after-plan",
        &release_text,
    );
    // Worker A claims a part and is killed holding it.
    let (mut a, a_stderr) = spawn_held(
        &w,
        &["worker", "--outbox", "outbox"],
        &settings,
        "worker-after-claim",
        &never,
    );
    a.kill().unwrap(); // SIGKILL
    let status = a.wait().unwrap();
    drop(a_stderr);
    assert_eq!(status.signal(), Some(9), "not killed: {status:?}");
    let held = w.sql("SELECT part, attempt FROM batch_parts WHERE state = 'claimed'");
    assert_eq!(held, vec![vec!["1".to_string(), "1".to_string()]]);

    // Worker B renders what it can claim, and stops when nothing is left to claim.
    let b = w.run_with(&["worker", "--outbox", "outbox", "--until-idle"], &settings);
    assert_eq!(b.code, 0, "{}", b.stderr);
    assert!(b.stdout.contains("worker: "), "{}", b.stdout);

    // The planning run goes on: it takes the dead worker's part over and publishes.
    std::fs::write(&release, "go").unwrap();
    let out = batch.wait_with_output().unwrap();
    drop(batch_stderr);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains(&format!("{validated} letters")), "{stdout}");
    finished_state(&w, validated);

    let parts = w.sql("SELECT part, state, attempt, claimed_by FROM batch_parts ORDER BY part");
    assert_eq!(parts.len(), validated.div_ceil(3), "{parts:?}");
    assert!(parts.iter().all(|p| p[1] == "done"), "{parts:?}");
    assert_eq!(
        parts[0][2], "2",
        "the dead worker's part was claimed again: {parts:?}"
    );
    assert!(parts[0][3].starts_with("batch@"), "{parts:?}");
    assert!(
        parts.iter().filter(|p| p[3].starts_with("worker@")).count() >= 1,
        "worker B rendered parts: {parts:?}"
    );
    let dir = only_batch_dir(&w.path("outbox"));
    let stray: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");

    // On SQLite there is nothing to share: a worker says so.
    let lone = Work::sqlite();
    let r = lone.run(&["worker", "--outbox", "outbox", "--until-idle"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("through a PostgreSQL database"),
        "{}",
        r.stderr
    );
}

/// Once the settings list vendors, a batch for another vendor is refused, naming the ones there
/// are, and nothing is batched; `allow_unknown_vendors` lets it have the default window.
#[test]
fn a_vendor_not_in_the_settings_is_refused_when_vendors_are_listed() {
    let w = Work::new();
    w.load_fixtures();
    std::fs::write(
        w.path("pinbrev.toml"),
        "allow_synthetic = true\n\
         [vendors.printco.window]\nleft_mm = 20\ntop_mm = 45\nwidth_mm = 85\nheight_mm = 45\nreturn_zone_mm = 17.7\n\
         [vendors.postnord.window]\nleft_mm = 20\ntop_mm = 45\nwidth_mm = 85\nheight_mm = 45\nreturn_zone_mm = 17.7\n",
    )
    .unwrap();
    let validated = w.sql("SELECT COUNT(*) FROM orders WHERE status = 'validated'");
    let r = w.run(&[
        "batch", "create", "--vendor", "printko", "--outbox", "outbox",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "vendor \"printko\" is not in the settings; the configured vendors are: postnord, printco"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM orders WHERE status = 'validated'"),
        validated
    );
    assert_eq!(w.sql("SELECT COUNT(*) FROM batches")[0][0], "0");
    let allowed = w.run_with(
        &[
            "batch", "create", "--vendor", "printko", "--outbox", "outbox",
        ],
        &[("PINBREV_ALLOW_UNKNOWN_VENDORS", "true")],
    );
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    assert_eq!(w.sql("SELECT vendor FROM batches")[0][0], "printko");
}

/// PostgreSQL: a worker that outlives its lease cannot report its part. Worker A claims part 1
/// and stalls past its lease; worker B takes the part over and renders everything; A's late
/// report is refused, its file removed, and the published drop holds B's render, whose codes
/// verify.
#[test]
fn a_worker_whose_lease_ran_out_cannot_report_its_part() {
    let w = Work::postgres();
    w.load_fixtures();
    let validated = validated_orders(&w);
    let go_batch = w.path("go-batch").display().to_string();
    let go_a = w.path("go-a").display().to_string();
    let settings = [
        ("PINBREV_MAX_LETTERS_PER_FILE", "3"),
        ("PINBREV_RENDER_THREADS", "1"),
        ("PINBREV_PART_LEASE_SECONDS", "1"),
    ];
    let (batch, batch_stderr) = spawn_held(
        &w,
        &[
            "batch", "create", "--vendor", "printco", "--outbox", "outbox",
        ],
        &settings,
        "after-plan",
        &go_batch,
    );
    let (a, a_stderr) = spawn_held(
        &w,
        &["worker", "--outbox", "outbox", "--until-idle"],
        &settings,
        "worker-after-claim",
        &go_a,
    );
    // A's lease runs out; B takes its part over with every other one.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let b = w.run_with(&["worker", "--outbox", "outbox", "--until-idle"], &settings);
    assert_eq!(b.code, 0, "{}", b.stderr);
    let parts = validated.div_ceil(3);
    assert!(
        b.stdout.contains(&format!(
            "worker: {parts} parts rendered ({validated} letters)"
        )),
        "{}",
        b.stdout
    );
    // A goes on, renders part 1 under its old claim, and is refused.
    std::fs::write(&go_a, "go").unwrap();
    let out = a.wait_with_output().unwrap();
    drop(a_stderr);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(
            "worker: 0 parts rendered (0 letters); 1 part's lease ran out before it was done"
        ),
        "{stdout}"
    );
    // The planning run finds every part done and publishes B's renders.
    std::fs::write(&go_batch, "go").unwrap();
    let out = batch.wait_with_output().unwrap();
    drop(batch_stderr);
    assert!(out.status.success(), "{out:?}");
    finished_state(&w, validated);
    let first = w.sql("SELECT attempt, claimed_by FROM batch_parts WHERE part = 1");
    assert_eq!(first[0][0], "2", "{first:?}");
    assert!(first[0][1].starts_with("worker@"), "{first:?}");
    let dir = only_batch_dir(&w.path("outbox"));
    assert!(
        !std::fs::read_dir(&dir).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".part")),
        "a render of a lost claim is in the drop"
    );
}

/// A vendor with `split_abroad`: the letters abroad start a part of their own, so that no PDF
/// holds both mail streams; each part keeps the presort order, `batch.json` names each part's
/// stream, and each PDF has the pages the manifest gives it. The helpdesk's numbers come from
/// the settings: letters abroad get the one callable from abroad.
#[test]
fn a_vendor_that_splits_gets_the_letters_abroad_in_parts_of_their_own() {
    let w = Work::new();
    w.load_fixtures();
    std::fs::write(
        w.path("pinbrev.toml"),
        "allow_synthetic = true\nmax_letters_per_file = 4\nhelp_phone = \"22 33 44 55\"\n\
         help_phone_abroad = \"+47 22 33 44 55\"\n[vendors.printco]\nsplit_abroad = true\n",
    )
    .unwrap();
    w.ok(&[
        "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ]);
    let dir = only_batch_dir(&w.path("outbox"));
    let manifest = csv_rows(&dir.join("manifest.csv"));
    let zone_count = |zone: &str| manifest.iter().filter(|r| r["postal_zone"] == zone).count();
    let (domestic, abroad) = (zone_count("domestic"), zone_count("abroad"));
    assert!(domestic > 0 && abroad > 0, "the fixtures have both streams");
    assert_ne!(
        domestic % 4,
        0,
        "the split must fall inside a part to be seen"
    );
    let mut files: Vec<(String, Vec<&BTreeMap<String, String>>)> = Vec::new();
    for row in &manifest {
        match files.last_mut() {
            Some((name, rows)) if *name == row["file"] => rows.push(row),
            _ => files.push((row["file"].clone(), vec![row])),
        }
    }
    assert_eq!(files.len(), domestic.div_ceil(4) + abroad.div_ceil(4));
    let batch: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("batch.json")).unwrap()).unwrap();
    let listed: Vec<&serde_json::Value> = batch["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["name"].as_str().unwrap().starts_with("letters-"))
        .collect();
    assert_eq!(listed.len(), files.len());
    for ((name, rows), entry) in files.iter().zip(listed) {
        let zone = &rows[0]["postal_zone"];
        assert!(
            rows.iter().all(|r| &r["postal_zone"] == zone),
            "{name} mixes streams"
        );
        assert_eq!(entry["name"], name.as_str());
        assert_eq!(entry["postal_zone"], zone.as_str(), "{entry}");
        assert!(rows.len() <= 4);
        let pages: Vec<&str> = rows.iter().map(|r| r["first_page"].as_str()).collect();
        let expected: Vec<String> = (1..=rows.len()).map(|p| p.to_string()).collect();
        assert_eq!(pages, expected, "{name}: pages from 1");
        let info = tool("pdfinfo", &[dir.join(name).to_str().unwrap()]);
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(
            info.contains(&format!("Pages:           {}\n", rows.len())),
            "{name}: {info}"
        );
        let text = pdf_text(&dir.join(name)).replace('\n', " ");
        let (this, other) = match zone.as_str() {
            "abroad" => ("+47 22 33 44 55", "telefon 22 33 44 55"),
            _ => ("22 33 44 55", "+47"),
        };
        assert_eq!(text.matches(this).count(), rows.len(), "{name}: {this}");
        assert!(
            !text.contains(other) && !text.contains("800 30 300"),
            "{name}"
        );
    }
    // Presort order kept: domestic by postcode first, then abroad by country.
    let keys: Vec<(u8, &str)> = manifest
        .iter()
        .map(|r| match r["postal_zone"].as_str() {
            "domestic" => (0, r["postcode"].as_str()),
            _ => (1, r["country"].as_str()),
        })
        .collect();
    assert!(keys.windows(2).all(|k| k[0] <= k[1]), "{keys:?}");
}
