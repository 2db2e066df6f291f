//! An operator racing the night: `orders cancel` while `batch create` runs. Whatever the timing,
//! the order ends either cancelled with no valid codes, or in the published batch with its
//! codes valid — never both, never neither — and the batch is complete.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::Work;

/// `batch create` started in the background, with extra environment.
fn spawn_batch(w: &Work, env: &[(&str, String)]) -> Child {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("pinbrev"));
    c.current_dir(w.dir.path())
        .env("PINBREV_DB", &w.db_url)
        .env("PINBREV_ALLOW_SYNTHETIC", "true")
        .env("PINBREV_PIN_KEY", common::TEST_KEY)
        .env("PINBREV_MAX_LETTERS_PER_FILE", "5")
        .args([
            "batch", "create", "--vendor", "printco", "--outbox", "outbox",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c.spawn().unwrap()
}

/// A validated order to cancel, and how many are validated.
fn an_order(w: &Work) -> (String, usize) {
    let validated =
        w.sql("SELECT order_id FROM orders WHERE status = 'validated' ORDER BY order_id");
    assert!(validated.len() > 5, "{validated:?}");
    (validated[validated.len() / 2][0].clone(), validated.len())
}

/// The order's one outcome: `true` when cancelled (no letter of it valid or about to be),
/// `false` when batched with its letter issued. Panics on both or neither, and checks that the
/// batch is published, complete, and holds every other order with its letter issued.
fn one_outcome(w: &Work, order_id: &str, validated: usize) -> bool {
    let status = &w.sql(&format!(
        "SELECT status FROM orders WHERE order_id = '{order_id}'"
    ))[0][0];
    let letters = w.sql(&format!(
        "SELECT state FROM letters WHERE order_id = '{order_id}'"
    ));
    let live = letters
        .iter()
        .filter(|l| l[0] == "issued" || l[0] == "pending")
        .count();
    let cancelled = match status.as_str() {
        "cancelled" => {
            assert_eq!(live, 0, "cancelled, yet its codes are valid: {letters:?}");
            true
        }
        "batched" => {
            assert_eq!(
                letters,
                vec![vec!["issued".to_string()]],
                "batched, but not with one valid letter"
            );
            false
        }
        other => panic!("neither cancelled nor batched: {other}, letters {letters:?}"),
    };
    let batches = w.sql("SELECT batch_id, state FROM batches");
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert_eq!(batches[0][1], "published");
    let dir = w.path("outbox").join(&batches[0][0]);
    assert!(dir.join("READY").exists());
    let in_batch = if cancelled && letters.is_empty() {
        validated - 1
    } else {
        validated
    };
    assert_eq!(
        w.sql(&format!(
            "SELECT COUNT(*) FROM letters WHERE batch_id = '{}'",
            batches[0][0]
        ))[0][0],
        in_batch.to_string()
    );
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM orders WHERE status = 'batched'")[0][0],
        (validated - usize::from(cancelled)).to_string()
    );
    let manifest = std::fs::read_to_string(dir.join("manifest.csv")).unwrap();
    assert_eq!(manifest.lines().count() - 1, in_batch, "{manifest}");
    cancelled
}

#[test]
fn cancel_while_the_batch_renders_kills_that_letter_and_the_batch_completes() {
    let w = Work::new();
    w.load_fixtures();
    let (order_id, validated) = an_order(&w);
    let release = w.path("release");
    let mut child = spawn_batch(
        &w,
        &[
            ("PINBREV_FAILPOINT", "hold-rendering".into()),
            ("PINBREV_FAILPOINT_RELEASE", release.display().to_string()),
        ],
    );
    // The batch is made (its orders batched, its letters pending) and rendering waits.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let held = line.contains("failpoint hold-rendering");
        seen.push(line);
        if held {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.contains("hold-rendering")),
        "rendering did not wait: {seen:?}"
    );
    assert_eq!(
        w.sql(&format!(
            "SELECT status FROM orders WHERE order_id = '{order_id}'"
        ))[0][0],
        "batched"
    );
    let r = w.ok(&["orders", "cancel", &order_id, "--reason", "moved abroad"]);
    assert!(r.stdout.contains("cancelled"), "{}", r.stdout);
    std::fs::write(&release, b"").unwrap();
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "batch create failed: {seen:?} {rest:?}");

    assert!(one_outcome(&w, &order_id, validated));
    assert_eq!(
        w.sql(&format!(
            "SELECT state FROM letters WHERE order_id = '{order_id}'"
        )),
        vec![vec!["cancelled".to_string()]]
    );
}

#[test]
fn cancel_racing_the_batch_leaves_one_outcome_whatever_the_timing() {
    let mut outcomes = Vec::new();
    for delay_ms in [0u64, 30, 80, 150, 300] {
        let w = Work::new();
        w.load_fixtures();
        let (order_id, validated) = an_order(&w);
        let child = spawn_batch(&w, &[]);
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let cancel = w.run(&["orders", "cancel", &order_id, "--reason", "moved abroad"]);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "batch create failed (cancel after {delay_ms} ms): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cancelled = one_outcome(&w, &order_id, validated);
        // The cancel's answer agrees with what happened.
        assert_eq!(cancel.code == 0, cancelled, "{delay_ms} ms: {cancel:?}");
        outcomes.push(cancelled);
    }
    // Every run cancelled (before, during or after the batch was made, but before it was
    // posted); the runs differ in whether the letter was made first.
    assert!(outcomes.iter().all(|c| *c), "{outcomes:?}");
}
