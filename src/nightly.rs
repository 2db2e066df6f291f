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

use crate::db::Db;
use crate::drop;
use crate::lock::{self, LockError};
use crate::orders::{self, timestamp, IngestError};
use crate::pin::PinKey;
use crate::purge;
use crate::receipts::{self, ReceiptError};
use crate::register::{self, ImportError};
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
    pub unusable: Vec<String>,
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
    /// The step that failed, if one did; the steps after it did not run.
    pub failed_step: Option<String>,
    pub error: Option<String>,
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
        !(self.register.files.unusable.is_empty()
            && self.orders.files.unusable.is_empty()
            && self.receipts.files.unusable.is_empty())
    }
}

/// What stops the night before it starts.
#[derive(Debug, thiserror::Error)]
pub enum NightlyError {
    #[error(transparent)]
    Locked(#[from] LockError),
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
    let _lock = lock::try_lock(&lock_path(db_url))?;
    let key = PinKey::load(settings).map_err(|e| NightlyError::Setup(e.to_string()))?;
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
    let started = Instant::now();
    let mut s = Summary {
        started_at: timestamp(Utc::now()),
        ..Default::default()
    };
    let result = steps(&db, settings, &key, vendor, folders, &mut s).await;
    if let Err((step, error)) = result {
        tracing::error!(step, %error, "the nightly run stopped");
        s.failed_step = Some(step.to_string());
        s.error = Some(crate::national_id::redact(&error));
    }
    s.ok = s.failed_step.is_none() && !s.had_unusable_files();
    s.duration_s = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    db.close().await;
    Ok(s)
}

type StepResult = Result<(), (&'static str, String)>;

fn fail<E: std::fmt::Display>(step: &'static str) -> impl FnOnce(E) -> (&'static str, String) {
    move |e| (step, e.to_string())
}

async fn steps(
    db: &Db,
    settings: &Settings,
    key: &PinKey,
    vendor: &str,
    folders: &Folders,
    s: &mut Summary,
) -> StepResult {
    for file in inbox_files(&folders.inbox, "jsonl").map_err(fail("register"))? {
        let Some(name) = take_seen(db, &file, "register", &mut s.register.files)
            .await
            .map_err(fail("register"))?
        else {
            continue;
        };
        match register::import_file(db, &file).await {
            Ok(r) => {
                log_errors(&r.line_errors);
                s.register.people_loaded += r.loaded;
                s.register.line_errors += r.line_errors.len() as u64;
                finish(db, &file, "register", &name, &mut s.register.files)
                    .await
                    .map_err(fail("register"))?;
            }
            Err(ImportError::Read { .. }) => {
                unusable(&file, &mut s.register.files).map_err(fail("register"))?
            }
            Err(e) => return Err(("register", e.to_string())),
        }
    }
    for file in inbox_files(&folders.inbox, "csv").map_err(fail("orders"))? {
        let Some(name) = take_seen(db, &file, "orders", &mut s.orders.files)
            .await
            .map_err(fail("orders"))?
        else {
            continue;
        };
        match orders::ingest_file(db, &file).await {
            Ok(r) => {
                log_errors(&r.row_errors);
                s.orders.new += r.new;
                s.orders.already_known += r.already_known;
                s.orders.row_errors += r.row_errors.len() as u64;
                finish(db, &file, "orders", &name, &mut s.orders.files)
                    .await
                    .map_err(fail("orders"))?;
            }
            Err(IngestError::File(e)) => {
                tracing::warn!(file = %file.display(), error = %e, "order file unusable; moved to failed/");
                unusable(&file, &mut s.orders.files).map_err(fail("orders"))?
            }
            Err(e) => return Err(("orders", e.to_string())),
        }
    }
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
    for p in drop::create(db, settings, key, vendor, &folders.outbox)
        .await
        .map_err(fail("batch"))?
    {
        s.batch.batch_ids.push(p.batch_id);
        s.batch.letters += p.letters;
        s.batch.pages += p.pages;
        s.batch.resumed += u64::from(p.resumed);
        s.batch.superseded += p.superseded;
        s.batch.dirs.push(p.dir);
    }
    for file in inbox_files(&folders.receipts, "csv").map_err(fail("receipts"))? {
        let Some(name) = take_seen(db, &file, "receipts", &mut s.receipts.files)
            .await
            .map_err(fail("receipts"))?
        else {
            continue;
        };
        match receipts::ingest_file(db, &file).await {
            Ok(r) => {
                log_errors(&r.row_errors);
                s.receipts.applied += r.applied;
                s.receipts.recorded += r.recorded;
                s.receipts.already_known += r.already_known;
                s.receipts.row_errors += r.row_errors.len() as u64;
                finish(db, &file, "receipts", &name, &mut s.receipts.files)
                    .await
                    .map_err(fail("receipts"))?;
            }
            Err(ReceiptError::File(_)) => {
                unusable(&file, &mut s.receipts.files).map_err(fail("receipts"))?
            }
            Err(e) => return Err(("receipts", e.to_string())),
        }
    }
    let p = purge::purge(db, settings, false)
        .await
        .map_err(fail("purge"))?;
    s.purge = PurgeStep {
        pdfs_deleted: p.pdfs.len() as u64,
        pdfs_kept_unposted: p.pdfs_kept_unposted,
        orders_pseudonymised: p.orders_pseudonymised.len() as u64,
    };
    Ok(())
}

fn log_errors(errors: &[crate::input_error::InputError]) {
    for e in errors {
        tracing::warn!("{e}");
    }
}

/// The folder's files with this extension, by name (sub-folders such as done/ are not read).
fn inbox_files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case(ext)))
        .collect();
    files.sort();
    Ok(files)
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
    if let Some(first) = db.input_file_seen(&hash).await.map_err(|e| e.to_string())? {
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

fn unusable(file: &Path, files: &mut Files) -> Result<(), String> {
    move_into(file, "failed")?;
    files.unusable.push(file.display().to_string());
    Ok(())
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
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
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
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
    let mut out = Vec::new();
    let files = |f: &Files| {
        format!(
            "{} read, {} skipped as seen before, {} unusable",
            f.read.len(),
            f.skipped.len(),
            f.unusable.len()
        )
    };
    out.push(format!(
        "register: {}; {} people loaded, {} line errors",
        files(&s.register.files),
        s.register.people_loaded,
        s.register.line_errors
    ));
    out.push(format!(
        "orders: {}; {} new, {} already known, {} row errors",
        files(&s.orders.files),
        s.orders.new,
        s.orders.already_known,
        s.orders.row_errors
    ));
    let statuses: Vec<String> = s
        .validation
        .by_status
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    out.push(format!(
        "validation: {} orders ({})",
        s.validation.orders,
        statuses.join(", ")
    ));
    if s.batch.batch_ids.is_empty() {
        out.push("batch: none (no validated orders)".into());
    } else {
        let dirs: Vec<String> = s
            .batch
            .dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        out.push(format!(
            "batch: {} letters, {} pages in {}",
            s.batch.letters,
            s.batch.pages,
            dirs.join(", ")
        ));
    }
    out.push(format!(
        "receipts: {}; {} applied, {} already known, {} row errors",
        files(&s.receipts.files),
        s.receipts.applied,
        s.receipts.already_known,
        s.receipts.row_errors
    ));
    out.push(format!(
        "purge: {} PDFs deleted, {} kept (letters not posted yet), {} orders pseudonymised",
        s.purge.pdfs_deleted, s.purge.pdfs_kept_unposted, s.purge.orders_pseudonymised
    ));
    for f in s
        .register
        .files
        .unusable
        .iter()
        .chain(&s.orders.files.unusable)
        .chain(&s.receipts.files.unusable)
    {
        out.push(format!(
            "UNUSABLE: {f} (moved to failed/; fix it and put it back in the inbox)"
        ));
    }
    if let (Some(step), Some(e)) = (&s.failed_step, &s.error) {
        out.push(format!(
            "FAILED at {step}: {e}; the steps after it did not run"
        ));
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
