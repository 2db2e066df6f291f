//! Shared helpers of the integration tests: a temp workplace, the real binary, the database.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sqlx::{Connection, Row};

/// The PIN key of the tests.
pub const TEST_KEY: &str = "test-key-0123456789abcdef0123456789abcdef";

/// A temporary working directory with its own database: an SQLite file in the directory, or,
/// when the tests run on PostgreSQL, a new database on the test server (dropped at the end).
pub struct Work {
    pub dir: tempfile::TempDir,
    /// The `--db` URL of the work's database.
    pub db_url: String,
    /// The PostgreSQL database's name, when on PostgreSQL.
    pg_name: Option<String>,
}

/// The engine the integration tests run pinbrev on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// `PINBREV_TEST_ENGINE=postgres` runs the tests on the server named by `PINBREV_TEST_PG_URL`
/// (`make test` runs them once per engine); anything else, or nothing, on SQLite.
pub fn engine() -> Engine {
    match std::env::var("PINBREV_TEST_ENGINE").as_deref() {
        Ok("postgres") => Engine::Postgres,
        Ok("sqlite") | Err(_) => Engine::Sqlite,
        Ok(other) => panic!("PINBREV_TEST_ENGINE={other:?}: use sqlite or postgres"),
    }
}

/// The PostgreSQL server `make test` starts (`tools/pg.sh`), named by `PINBREV_TEST_PG_URL`.
pub fn postgres_url() -> String {
    std::env::var("PINBREV_TEST_PG_URL").expect(
        "PINBREV_TEST_PG_URL is not set: `make test` starts a PostgreSQL server (tools/pg.sh) and \
         sets it; to run tests alone, start one with `tools/pg.sh start DIR` and set it to \
         the URL printed",
    )
}

/// The URL of database `name` on the test server.
pub fn postgres_database_url(name: &str) -> String {
    let url = postgres_url();
    let (base, _) = url.rsplit_once('/').expect("a database in the URL");
    format!("{base}/{name}")
}

/// Runs SQL on the test server's own database (to create and drop the tests' databases).
/// Panics with the server's error if it still fails after a few tries: the server refuses to
/// copy its template database while another test's `CREATE DATABASE` is copying it ("source
/// database is being accessed by other users").
pub fn postgres_admin(sql: &str) {
    if let Err(e) = try_postgres_admin(sql) {
        panic!("{sql}: {e}");
    }
}

/// [`postgres_admin`], returning the last error.
pub fn try_postgres_admin(sql: &str) -> Result<(), String> {
    block_on(async {
        let mut last = String::new();
        for _ in 0..20 {
            let attempt = async {
                let mut admin = sqlx::PgConnection::connect(&postgres_url()).await?;
                sqlx::query(sql).execute(&mut admin).await.map(|_| ())
            };
            match attempt.await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    last = e.to_string();
                    eprintln!("{sql}: {last}; trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                }
            }
        }
        Err(last)
    })
}

/// A name no other test's database has.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

impl Drop for Work {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            // The test's outcome is decided; a database left behind goes with the server.
            if let Err(e) =
                try_postgres_admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            {
                eprintln!("database {name} not dropped: {e}");
            }
        }
    }
}

/// The repository's fixtures folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn fixture(rel: &str) -> PathBuf {
    fixtures().join(rel)
}

/// What a command printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// A finished process's outcome, checked to hold no full national id.
    pub fn checked(out: std::process::Output) -> Run {
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
        };
        assert_no_full_national_id(&run);
        run
    }
}

impl Work {
    pub fn new() -> Work {
        match engine() {
            Engine::Sqlite => Work::sqlite(),
            Engine::Postgres => Work::postgres(),
        }
    }

    /// A work on SQLite whatever the engine of the tests: for what only SQLite has (its file,
    /// its older schemas).
    pub fn sqlite() -> Work {
        let dir = tempfile::tempdir().expect("temp dir");
        Work {
            db_url: format!("sqlite://{}", dir.path().join("pinbrev.db").display()),
            dir,
            pg_name: None,
        }
    }

    /// A work on PostgreSQL whatever the engine of the tests: for what only PostgreSQL has
    /// (render workers sharing a batch).
    pub fn postgres() -> Work {
        let dir = tempfile::tempdir().expect("temp dir");
        let name = unique_name("t");
        postgres_admin(&format!("CREATE DATABASE {name}"));
        Work {
            db_url: postgres_database_url(&name),
            dir,
            pg_name: Some(name),
        }
    }

    /// True on SQLite. On PostgreSQL, says on stderr that the named check is SQLite's own
    /// (a file, a pragma, an older SQLite schema) and does not apply, and false: the test
    /// runs it in the SQLite pass of `make test`.
    pub fn on_sqlite(&self, check: &str) -> bool {
        if self.engine() == Engine::Sqlite {
            return true;
        }
        eprintln!("not on PostgreSQL, SQLite's own: {check}");
        false
    }

    /// An SQL expression of the text at `field.sub` of the JSON text column `column`.
    pub fn json_text(&self, column: &str, field: &str, sub: &str) -> String {
        match self.engine() {
            Engine::Sqlite => format!("json_extract({column}, '$.{field}.{sub}')"),
            Engine::Postgres => format!("(CAST({column} AS json) -> '{field}' ->> '{sub}')"),
        }
    }

    /// Holds the night's lock as another nightly run would: the file beside an SQLite
    /// database, or the advisory lock on the PostgreSQL server.
    pub fn hold_night_lock(&self) -> Box<dyn std::any::Any> {
        match self.engine() {
            Engine::Sqlite => Box::new(self.hold_lock("pinbrev.db.lock")),
            Engine::Postgres => {
                // The key pinbrev's store takes ("pbnight" in ASCII).
                let conn = block_on(async {
                    let mut conn = sqlx::PgConnection::connect(&self.db_url).await.unwrap();
                    sqlx::query("SELECT pg_advisory_lock(x'0070626e69676874'::bigint)")
                        .execute(&mut conn)
                        .await
                        .unwrap();
                    conn
                });
                Box::new(conn)
            }
        }
    }

    /// The engine of this work's database.
    pub fn engine(&self) -> Engine {
        if self.pg_name.is_some() {
            Engine::Postgres
        } else {
            Engine::Sqlite
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The SQLite file of the work's database (only on SQLite).
    pub fn db_file(&self) -> PathBuf {
        assert_eq!(
            self.engine(),
            Engine::Sqlite,
            "a file only an SQLite database has"
        );
        self.path("pinbrev.db")
    }

    /// The binary, run in the temp dir with its database there and synthetic numbers allowed.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// The binary with the work's settings, as a plain `std::process::Command`.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("pinbrev"));
        c.current_dir(self.dir.path());
        for (k, _) in std::env::vars() {
            if k.starts_with("PINBREV_") || k == "RUST_LOG" {
                c.env_remove(k);
            }
        }
        c.env("PINBREV_DB", &self.db_url);
        c.env("PINBREV_ALLOW_SYNTHETIC", "true");
        c.env("PINBREV_PIN_KEY", TEST_KEY);
        c
    }

    /// Runs the binary with these arguments and returns its outcome with its peak resident
    /// memory in KiB, measured by GNU time (`/usr/bin/time`, Debian's `time`, which `make test`
    /// installs). The kernel's count for a child started from this process itself would include
    /// this test process's own memory at the start: the high-water mark is carried over `exec`.
    pub fn run_measuring_memory(&self, args: &[&str]) -> (Run, u64) {
        let measured = self.path("measured.time");
        let inner = self.std_cmd();
        let mut c = std::process::Command::new("/usr/bin/time");
        c.current_dir(self.dir.path());
        for (key, value) in inner.get_envs() {
            match value {
                Some(v) => c.env(key, v),
                None => c.env_remove(key),
            };
        }
        c.arg("-f").arg("%M").arg("-o").arg(&measured);
        c.arg(inner.get_program()).args(args);
        let run = Run::checked(
            c.output()
                .expect("/usr/bin/time runs (Debian package time)"),
        );
        let text = std::fs::read_to_string(&measured).expect("GNU time's report");
        let kib = text
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("GNU time's report: {text}"));
        (run, kib)
    }

    /// Creates the work's database (migrated, empty) with a command that writes: the commands
    /// that only read never create one.
    pub fn create_database(&self) {
        self.ok(&["purge", "--dry-run"]);
    }

    /// Runs the binary with these arguments.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.cmd();
        c.args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        Run::checked(c.output().expect("runs"))
    }

    /// Runs and expects exit code `code`.
    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "{args:?} failed:\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        r
    }

    /// One SQL query on the database; every column read as text (NULL as "").
    pub fn sql(&self, query: &str) -> Vec<Vec<String>> {
        self.try_sql(query).expect("query")
    }

    /// The indexes of `table` (name and definition, by name) as the engine describes them.
    pub fn index_definitions(&self, table: &str) -> Vec<Vec<String>> {
        self.sql(&match self.engine() {
            Engine::Sqlite => format!(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}' \
                 ORDER BY name"
            ),
            Engine::Postgres => format!(
                "SELECT CAST(indexname AS TEXT), indexdef FROM pg_indexes \
                 WHERE tablename = '{table}' ORDER BY 1"
            ),
        })
    }

    /// Runs SQL on the test's database: its rows as text, or the database's error message.
    pub fn try_sql(&self, query: &str) -> Result<Vec<Vec<String>>, String> {
        sqlx::any::install_default_drivers();
        block_on(async {
            let mut conn = sqlx::AnyConnection::connect(&self.db_url)
                .await
                .expect("connect");
            let rows = sqlx::query(query)
                .fetch_all(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            Ok(rows
                .iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| {
                            r.try_get::<Option<String>, _>(i)
                                .map(|v| v.unwrap_or_default())
                                .or_else(|_| {
                                    r.try_get::<Option<i64>, _>(i)
                                        .map(|v| v.map(|n| n.to_string()).unwrap_or_default())
                                })
                                .expect("text or integer column")
                        })
                        .collect()
                })
                .collect())
        })
    }

    /// The whole fixture intake: Posten sample, both register extracts, the three good order
    /// files, validation.
    pub fn load_fixtures(&self) {
        let f = |r: &str| fixture(r).display().to_string();
        self.ok(&[
            "postcodes",
            "import",
            &f("postcodes/Postnummerregister-sample.txt"),
        ]);
        self.ok(&[
            "register",
            "import",
            &f("register/freg-2026-11-23.jsonl"),
            &f("register/freg-2026-11-24-update.jsonl"),
        ]);
        self.ok(&[
            "orders",
            "ingest",
            &f("orders/orders-2026-11-23-web.csv"),
            &f("orders/orders-2026-11-23-support.csv"),
            &f("orders/orders-2026-11-24-web.csv"),
        ]);
        self.ok(&["orders", "validate"]);
    }

    /// Runs a Debian tool the tests rely on; fails the test (never skips) if it is missing.
    pub fn tool(&self, program: &str, args: &[&str]) -> std::process::Output {
        tool(program, args)
    }

    /// order_id → (status, reason) from the database.
    pub fn outcomes(&self) -> BTreeMap<String, (String, String)> {
        self.sql("SELECT order_id, status, COALESCE(reason, '') FROM orders")
            .into_iter()
            .map(|r| (r[0].clone(), (r[1].clone(), r[2].clone())))
            .collect()
    }
}

/// Reads a fixture TSV (header skipped) into rows of fields.
pub fn tsv(rel: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(fixture(rel))
        .expect("fixture")
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// No output of pinbrev may hold a full national id: any run of exactly 11 digits fails.
/// The run failed (exit 1) without a `TMPDIR` (`/nonexistent/pinbrev-tmp`), with `message` in
/// its error, the system's reason said once (not again as the message's cause) and nothing on
/// stdout.
pub fn assert_failed_without_tmpdir(run: &Run, message: &str) {
    assert_eq!(run.code, 1, "{}", &run.stderr[..run.stderr.len().min(2000)]);
    assert!(run.stderr.contains(message), "{}", run.stderr);
    assert_eq!(
        run.stderr.matches("No such file or directory").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

pub fn assert_no_full_national_id(run: &Run) {
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_digit() {
                let start = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                assert_ne!(
                    i - start,
                    11,
                    "{name} holds an 11-digit number: {}",
                    &text[start.saturating_sub(20)..(i + 5).min(text.len())]
                );
            } else {
                i += 1;
            }
        }
    }
}

/// Runs an external checking tool; a missing tool fails the test with what to install.
pub fn tool(program: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(program).args(args).output().unwrap_or_else(|e| {
        panic!("{program} is needed by this test ({e}); install Debian's poppler-utils, qpdf and dmtx-utils (`make deps`)")
    })
}

/// `pdftotext -raw` of a PDF.
pub fn pdf_text(pdf: &Path) -> String {
    let out = tool(
        "pdftotext",
        &["-raw", "-enc", "UTF-8", &pdf.display().to_string(), "-"],
    );
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// SHA-256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Six receipt times around now, oldest first (five minutes ago up to now): a vendor's receipt
/// must be after its batch was published and not in the future, and these tests publish a
/// batch just before they write receipts.
pub fn receipt_times() -> [String; 6] {
    let now = chrono::Utc::now();
    [-300, -240, -120, -60, -30, 0].map(|s| {
        (now + chrono::Duration::seconds(s)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    })
}

/// A number with the classic check digits computed for its first nine digits (which may break
/// the date rules on purpose, unlike `pinbrev::national_id::build`).
pub fn with_check_digits(nine: &str) -> String {
    let d: Vec<u32> = nine.bytes().map(|b| u32::from(b - b'0')).collect();
    let w1 = [3, 7, 6, 1, 8, 9, 4, 5, 2];
    let w2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
    let k1 = (11 - d.iter().zip(w1).map(|(a, b)| a * b).sum::<u32>() % 11) % 11;
    assert!(k1 < 10, "pick other digits than {nine}");
    let mut ten = d.clone();
    ten.push(k1);
    let k2 = (11 - ten.iter().zip(w2).map(|(a, b)| a * b).sum::<u32>() % 11) % 11;
    assert!(k2 < 10, "pick other digits than {nine}");
    format!("{nine}{k1}{k2}")
}

impl Work {
    /// Runs the binary under `sh` with this umask (the same environment as [`Work::cmd`]).
    pub fn run_with_umask(&self, umask: &str, args: &[&str]) -> Run {
        let bin = assert_cmd::cargo::cargo_bin("pinbrev");
        let cmd = self.cmd();
        let mut c = std::process::Command::new("sh");
        c.arg("-c")
            .arg(format!("umask {umask}; exec \"$@\""))
            .arg("sh")
            .arg(bin)
            .args(args)
            .current_dir(self.dir.path());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        Run::checked(c.output().expect("runs"))
    }

    /// The night's inbox with the fixture register extracts and order files, and an empty
    /// receipts folder; returns (inbox, receipts).
    pub fn inbox_with_fixtures(&self) -> (PathBuf, PathBuf) {
        let inbox = self.path("inbox");
        let receipts = self.path("receipts");
        std::fs::create_dir_all(&inbox).unwrap();
        std::fs::create_dir_all(&receipts).unwrap();
        for f in [
            "register/freg-2026-11-23.jsonl",
            "register/freg-2026-11-24-update.jsonl",
            "orders/orders-2026-11-23-web.csv",
            "orders/orders-2026-11-23-support.csv",
            "orders/orders-2026-11-24-web.csv",
        ] {
            let name = Path::new(f).file_name().unwrap();
            std::fs::copy(fixture(f), inbox.join(name)).unwrap();
        }
        (inbox, receipts)
    }

    /// Takes the `flock` on a lock file, as another pinbrev run would hold it, until dropped.
    pub fn hold_lock(&self, rel: &str) -> std::fs::File {
        let held = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path(rel))
            .unwrap();
        held.try_lock().unwrap();
        held
    }
}

/// `nightly` on the folders of [`Work::inbox_with_fixtures`], for the vendor printco.
pub const NIGHTLY: [&str; 9] = [
    "nightly",
    "--inbox",
    "inbox",
    "--outbox",
    "outbox",
    "--receipts",
    "receipts",
    "--vendor",
    "printco",
];

/// The one JSON summary line `nightly` prints.
pub fn summary(stdout: &str) -> serde_json::Value {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON summary line: {stdout}");
    serde_json::from_str(lines[0]).unwrap()
}

/// Every run of exactly 11 digits in `text`.
pub fn eleven_digit_runs(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|run| run.len() == 11)
        .map(str::to_string)
        .collect()
}
