//! `nightly`: the whole night's run under an exclusive lock beside the database. Register
//! extracts (`*.jsonl`, read first) and order files (`*.csv`) from the inbox, validation, the
//! batch, the vendor's receipts, purge; one JSON summary.
//!
//! Every file read is moved into `done/` beside it; a file whose content was read before is
//! skipped (and moved) whatever its name, so a re-delivered file is harmless. A file unusable as
//! a whole is moved into `failed/` and makes the run exit 3 after all other work is done.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::{Db, Engine};
use crate::drop;
use crate::lock::{self, LockError};
use crate::orders::{self, timestamp, IngestError};
use crate::pin::PinKey;
use crate::purge;
use crate::receipts::{self, ReceiptError};
use crate::register::{self, ImportError};
use crate::row_errors::on_stderr;
use crate::settings::Settings;
use crate::validation::Validator;

/// Where the night's files are.
#[derive(Debug, Clone)]
pub struct Folders {
    pub inbox: PathBuf,
    pub outbox: PathBuf,
    pub receipts: PathBuf,
}

/// Files of one kind: read, skipped as seen before, unusable.
#[derive(Debug, Default, Serialize)]
pub struct Files {
    pub read: Vec<String>,
    pub skipped: Vec<String>,
    /// Files unusable as a whole, moved into `failed/`.
    pub unusable: Vec<String>,
    /// Why each unusable or refused file was, by its path.
    pub problems: BTreeMap<String, String>,
    /// Entries named like input that are not regular files (a FIFO, a device, a folder):
    /// refused without being opened, and left where they are for the operator.
    pub refused: Vec<String>,
}

impl Files {
    fn troubled(&self) -> impl Iterator<Item = &String> {
        self.unusable.iter().chain(&self.refused)
    }
}

#[derive(Debug, Default, Serialize)]
pub struct RegisterStep {
    pub files: Files,
    pub people_loaded: u64,
    pub line_errors: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct OrdersStep {
    pub files: Files,
    pub new: u64,
    pub already_known: u64,
    pub row_errors: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct ValidationStep {
    pub orders: u64,
    pub by_status: BTreeMap<String, u64>,
    pub rejected_by_reason: BTreeMap<String, u64>,
}

#[derive(Debug, Default, Serialize)]
pub struct BatchStep {
    pub batch_ids: Vec<String>,
    pub letters: u64,
    pub pages: u64,
    pub resumed: u64,
    pub superseded: u64,
    pub dirs: Vec<PathBuf>,
}

#[derive(Debug, Default, Serialize)]
pub struct ReceiptsStep {
    pub files: Files,
    pub applied: u64,
    pub recorded: u64,
    pub already_known: u64,
    pub row_errors: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct PurgeStep {
    pub pdfs_deleted: u64,
    pub pdfs_kept_unposted: u64,
    pub orders_pseudonymised: u64,
}

/// The night's summary: one JSON line on stdout.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub started_at: String,
    pub duration_s: f64,
    /// True when every step ran and no input file was unusable.
    pub ok: bool,
    /// The steps that ran to their end, in order.
    pub steps_done: Vec<String>,
    /// The step that failed, if one did; the steps after it did not run.
    pub failed_step: Option<String>,
    pub error: Option<String>,
    /// True when the failed step met a lock another run holds (a manual `batch create` holding
    /// the outbox): exit 4, and nothing of that step was done.
    pub locked: bool,
    pub register: RegisterStep,
    pub orders: OrdersStep,
    pub validation: ValidationStep,
    pub batch: BatchStep,
    pub receipts: ReceiptsStep,
    pub purge: PurgeStep,
}

impl Summary {
    /// Whether some input file was unusable as a whole.
    pub fn had_unusable_files(&self) -> bool {
        [
            &self.register.files,
            &self.orders.files,
            &self.receipts.files,
        ]
        .iter()
        .any(|f| f.troubled().next().is_some())
    }
}

/// What stops the night before it starts.
#[derive(Debug, thiserror::Error)]
pub enum NightlyError {
    /// Another run holds the night's lock (beside an SQLite file, or on the PostgreSQL server).
    #[error(transparent)]
    Locked(LockError),
    #[error("{0}")]
    Setup(String),
}

/// The lock file of a database: beside it, `<database file>.lock`.
pub fn lock_path(db_url: &str) -> PathBuf {
    PathBuf::from(format!("{}.lock", Db::describe(db_url).display()))
}

/// Runs the night under the lock. Step failures are reported in the summary, not as errors.
pub async fn run(
    db_url: &str,
    settings: &Settings,
    vendor: &str,
    folders: &Folders,
) -> Result<Summary, NightlyError> {
    let engine = Engine::of(db_url);
    let _file_lock = match engine {
        Engine::Sqlite => {
            // A database in a folder that does not exist is a set-up error, not someone else's
            // lock.
            crate::db::check_folder(&Db::describe(db_url))
                .map_err(|e| NightlyError::Setup(e.to_string()))?;
            Some(lock::try_lock(&lock_path(db_url)).map_err(|e| match e {
                LockError::Held { .. } => NightlyError::Locked(e),
                _ => NightlyError::Setup(e.to_string()),
            })?)
        }
        // On a shared server the lock is the server's (below): runs on other machines see it.
        Engine::Postgres => None,
    };
    let key = crate::pin::load_key(settings).map_err(|e| NightlyError::Setup(e.to_string()))?;
    for dir in [&folders.inbox, &folders.receipts] {
        if !dir.is_dir() {
            return Err(NightlyError::Setup(format!(
                "{} is not a folder; create it or fix the path",
                dir.display()
            )));
        }
    }
    let db = Db::open(db_url)
        .await
        .map_err(|e| NightlyError::Setup(e.to_string()))?;
    let _server_lock = match engine {
        Engine::Sqlite => None,
        Engine::Postgres => match db.try_night_lock().await {
            Ok(Some(held)) => Some(held),
            Ok(None) => {
                db.close().await;
                return Err(NightlyError::Locked(LockError::HeldOnServer {
                    database: Db::describe(db_url).display().to_string(),
                }));
            }
            Err(e) => return Err(NightlyError::Setup(e.to_string())),
        },
    };
    let started = Instant::now();
    let mut s = Summary {
        started_at: timestamp(Utc::now()),
        ..Default::default()
    };
    let result = steps(&db, settings, &key, vendor, folders, &mut s).await;
    if let Err(f) = result {
        let not_run: Vec<&str> = STEPS
            .iter()
            .copied()
            .filter(|st| !s.steps_done.iter().any(|d| d == st))
            .collect();
        let error = if f.locked {
            format!(
                "{}; done: {}; not run: {}. Run nightly again once the other run has finished (every step is safe to repeat)",
                f.error,
                if s.steps_done.is_empty() { "nothing".to_string() } else { s.steps_done.join(", ") },
                not_run.join(", ")
            )
        } else {
            f.error
        };
        tracing::error!(step = f.step, %error, "the nightly run stopped");
        s.failed_step = Some(f.step.to_string());
        s.error = Some(crate::free_text::clean(&error));
        s.locked = f.locked;
    }
    s.ok = s.failed_step.is_none() && !s.had_unusable_files();
    s.duration_s = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    db.close().await;
    Ok(s)
}

/// The night's steps, in order.
const STEPS: [&str; 6] = [
    "register", "orders", "validate", "batch", "receipts", "purge",
];

/// A step that stopped the night.
struct StepFailure {
    step: &'static str,
    error: String,
    /// It met another run's lock.
    locked: bool,
}

type StepResult = Result<(), StepFailure>;

fn fail<E: std::fmt::Display>(step: &'static str) -> impl FnOnce(E) -> StepFailure {
    move |e| StepFailure {
        step,
        error: e.to_string(),
        locked: false,
    }
}

async fn steps(
    db: &Db,
    settings: &Settings,
    key: &PinKey,
    vendor: &str,
    folders: &Folders,
    s: &mut Summary,
) -> StepResult {
    let g = &mut s.register;
    read_files(
        db,
        &folders.inbox,
        "jsonl",
        "register",
        &mut g.files,
        |file| async move { register::import_file(db, &file, &mut on_stderr("line error")).await },
        |r| {
            g.people_loaded += r.loaded;
            g.line_errors += r.line_errors;
        },
    )
    .await?;
    s.steps_done.push("register".into());
    let o = &mut s.orders;
    read_files(
        db,
        &folders.inbox,
        "csv",
        "orders",
        &mut o.files,
        |file| async move { orders::ingest_file(db, &file, &mut on_stderr("row error")).await },
        |r| {
            o.new += r.new;
            o.already_known += r.already_known;
            o.row_errors += r.row_errors;
        },
    )
    .await?;
    s.steps_done.push("orders".into());
    let report = Validator::new(db, settings)
        .await
        .map_err(fail("validate"))?
        .run()
        .await
        .map_err(fail("validate"))?;
    s.validation = ValidationStep {
        orders: report.orders,
        by_status: report.by_status,
        rejected_by_reason: report.by_reason,
    };
    s.steps_done.push("validate".into());
    let published = drop::create(db, settings, key, vendor, &folders.outbox)
        .await
        .map_err(|e| StepFailure {
            step: "batch",
            locked: e.is_lock_held(),
            error: e.to_string(),
        })?;
    for p in published {
        s.batch.batch_ids.push(p.batch_id);
        s.batch.letters += p.letters;
        s.batch.pages += p.pages;
        s.batch.resumed += u64::from(p.resumed);
        s.batch.superseded += p.superseded;
        s.batch.dirs.push(p.dir);
    }
    s.steps_done.push("batch".into());
    let r = &mut s.receipts;
    read_files(
        db,
        &folders.receipts,
        "csv",
        "receipts",
        &mut r.files,
        |file| async move { receipts::ingest_file(db, &file, &mut on_stderr("row error")).await },
        |report| {
            r.applied += report.applied;
            r.recorded += report.recorded;
            r.already_known += report.already_known;
            r.row_errors += report.row_errors;
        },
    )
    .await?;
    s.steps_done.push("receipts".into());
    let p = purge::purge(db, settings, false)
        .await
        .map_err(fail("purge"))?;
    s.purge = PurgeStep {
        pdfs_deleted: p.pdfs.len() as u64,
        pdfs_kept_unposted: p.pdfs_kept_unposted,
        orders_pseudonymised: p.orders_pseudonymised.len() as u64,
    };
    s.steps_done.push("purge".into());
    Ok(())
}

/// An error of reading one input file: either the file is unusable as a whole (it goes into
/// `failed/` and the night goes on) or the run itself failed.
trait FileProblem: std::fmt::Display {
    /// True when the file, not the run, is at fault.
    fn is_unusable_file(&self) -> bool;
}

impl FileProblem for ImportError {
    fn is_unusable_file(&self) -> bool {
        !matches!(self, ImportError::Db(_))
    }
}

impl FileProblem for IngestError {
    fn is_unusable_file(&self) -> bool {
        !matches!(self, IngestError::Db(_))
    }
}

impl FileProblem for ReceiptError {
    fn is_unusable_file(&self) -> bool {
        matches!(self, ReceiptError::File(_))
    }
}

/// Reads every file of one kind in `dir` by name: a file whose content was read before as this
/// kind is skipped, a file unusable as a whole goes into `failed/` (and is not marked as read,
/// so that it is read when it comes again, fixed or under the right name), every other file
/// into `done/` once read. `tally` adds each file's report to the night's counts.
async fn read_files<R, E, Fut>(
    db: &Db,
    dir: &Path,
    ext: &str,
    kind: &'static str,
    files: &mut Files,
    read: impl Fn(PathBuf) -> Fut,
    mut tally: impl FnMut(R),
) -> StepResult
where
    Fut: std::future::Future<Output = Result<R, E>>,
    E: FileProblem,
{
    for file in inbox_files(dir, ext, files).map_err(fail(kind))? {
        let Some(hash) = take_seen(db, &file, kind, files)
            .await
            .map_err(fail(kind))?
        else {
            continue;
        };
        match read(file.clone()).await {
            Ok(report) => {
                tally(report);
                finish(db, &file, kind, &hash, files)
                    .await
                    .map_err(fail(kind))?;
            }
            Err(e) if e.is_unusable_file() => {
                tracing::warn!(file = %file.display(), error = %e, "{kind} file unusable; moved to failed/");
                files.problems.insert(
                    file.display().to_string(),
                    crate::free_text::clean(&e.to_string()),
                );
                move_into(&file, "failed").map_err(fail(kind))?;
                files.unusable.push(file.display().to_string());
            }
            Err(e) => return Err(fail(kind)(e)),
        }
    }
    Ok(())
}

/// The folder's files with this extension, by name (sub-folders such as done/ are not read).
/// An entry with the name of an input that is not a regular file (a FIFO, a device, a folder)
/// is refused without being opened: noted in `files`, logged, and left where it is.
fn inbox_files(dir: &Path, ext: &str, files: &mut Files) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = entry.path();
        if !path
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case(ext))
        {
            continue;
        }
        // The entry itself, or what a symbolic link points to.
        let kind = std::fs::metadata(&path)
            .map(|m| crate::files::not_regular_kind(&m.file_type()))
            .unwrap_or(Some("a broken symbolic link"));
        match kind {
            None => found.push(path),
            Some(kind) => {
                let why = format!("{kind}, not a regular file; refused without reading it");
                tracing::warn!(file = %path.display(), "{why}");
                files.problems.insert(path.display().to_string(), why);
                files.refused.push(path.display().to_string());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Hashes a file; if its content was read before, moves it into done/ and returns `None`.
/// Else returns the hash, to record once the file is read.
async fn take_seen(
    db: &Db,
    file: &Path,
    kind: &str,
    files: &mut Files,
) -> Result<Option<String>, String> {
    let hash = sha256_file(file).map_err(|e| format!("{}: {e}", file.display()))?;
    if let Some(first) = db
        .input_file_seen(kind, &hash)
        .await
        .map_err(|e| e.to_string())?
    {
        tracing::info!(file = %file.display(), first = %first, kind, "content read before; skipped");
        move_into(file, "done")?;
        files.skipped.push(file.display().to_string());
        return Ok(None);
    }
    Ok(Some(hash))
}

async fn finish(
    db: &Db,
    file: &Path,
    kind: &str,
    hash: &str,
    files: &mut Files,
) -> Result<(), String> {
    db.record_input_file(hash, kind, &file.display().to_string())
        .await
        .map_err(|e| e.to_string())?;
    move_into(file, "done")?;
    files.read.push(file.display().to_string());
    Ok(())
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = crate::files::open_input(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Moves a file into the sub-folder `sub` beside it, never overwriting an earlier file there.
fn move_into(file: &Path, sub: &str) -> Result<PathBuf, String> {
    let dir = file.parent().unwrap_or(Path::new(".")).join(sub);
    crate::files::create_private_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut target = dir.join(&name);
    let mut n = 1;
    while target.exists() {
        target = dir.join(format!("{name}.{n}"));
        n += 1;
    }
    std::fs::rename(file, &target)
        .map_err(|e| format!("moving {} to {}: {e}", file.display(), target.display()))?;
    Ok(target)
}

/// The human summary, for stderr.
pub fn human(s: &Summary) -> String {
    use crate::wording::count;
    let mut out = vec![format!(
        "night started {}",
        crate::local_time::show(&s.started_at)
    )];
    let files = |f: &Files| {
        let mut text = format!(
            "{} read, {} skipped as seen before, {} unusable",
            f.read.len(),
            f.skipped.len(),
            f.unusable.len()
        );
        if !f.refused.is_empty() {
            text.push_str(&format!(
                ", {} refused (not regular files)",
                f.refused.len()
            ));
        }
        text
    };
    // A step that did not finish says so, not what an empty step would say ("no validated
    // orders" of a batch that failed on a full disk).
    let done = |step: &str| s.steps_done.iter().any(|d| d == step);
    let line = |step: &str, label: &str, text: String| match done(step) {
        true => text,
        false => format!("{label}: not done"),
    };
    out.push(line(
        "register",
        "register",
        format!(
            "register: {}; {} loaded, {}",
            files(&s.register.files),
            count(s.register.people_loaded, "person", "people"),
            count(s.register.line_errors, "line error", "line errors")
        ),
    ));
    out.push(line(
        "orders",
        "orders",
        format!(
            "orders: {}; {} new, {} already known, {}",
            files(&s.orders.files),
            s.orders.new,
            s.orders.already_known,
            count(s.orders.row_errors, "row error", "row errors")
        ),
    ));
    let statuses: Vec<String> = s
        .validation
        .by_status
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    out.push(line(
        "validate",
        "validation",
        format!(
            "validation: {} ({})",
            count(s.validation.orders, "order", "orders"),
            statuses.join(", ")
        ),
    ));
    let batch = if s.batch.batch_ids.is_empty() {
        "batch: none (no validated orders)".to_string()
    } else {
        let dirs: Vec<String> = s
            .batch
            .dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        format!(
            "batch: {}, {} in {}",
            count(s.batch.letters, "letter", "letters"),
            count(s.batch.pages, "page", "pages"),
            dirs.join(", ")
        )
    };
    out.push(line("batch", "batch", batch));
    out.push(line(
        "receipts",
        "receipts",
        format!(
            "receipts: {}; {} applied, {} already known, {}",
            files(&s.receipts.files),
            s.receipts.applied,
            s.receipts.already_known,
            count(s.receipts.row_errors, "row error", "row errors")
        ),
    ));
    out.push(line(
        "purge",
        "purge",
        format!(
            "purge: {} PDFs deleted, {} kept (letters not posted yet), {} orders pseudonymised",
            s.purge.pdfs_deleted, s.purge.pdfs_kept_unposted, s.purge.orders_pseudonymised
        ),
    ));
    for files in [&s.register.files, &s.orders.files, &s.receipts.files] {
        for f in &files.unusable {
            out.push(format!(
                "UNUSABLE: {f}: {} (moved to failed/; fix it and put it back in the inbox)",
                files.problems.get(f).map_or("", String::as_str)
            ));
        }
        for f in &files.refused {
            out.push(format!(
                "REFUSED: {f}: {} (left in place; remove it or replace it with the real file)",
                files.problems.get(f).map_or("", String::as_str)
            ));
        }
    }
    match (&s.failed_step, &s.error) {
        (Some(step), Some(e)) if s.locked => out.push(format!("STOPPED at {step}: {e}")),
        (Some(step), Some(e)) => out.push(format!(
            "FAILED at {step}: {e}; the steps after it did not run"
        )),
        _ => {}
    }
    out.push(format!(
        "{} in {:.1} s",
        if s.ok {
            "done"
        } else {
            "finished with problems"
        },
        s.duration_s
    ));
    out.join("\n")
}
