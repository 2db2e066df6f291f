//! The vendor drop (`batch create`): every `validated` order into one batch, its letters
//! rendered into PDF parts, and the batch published atomically into the outbox.
//!
//! Crash safety, step by step (a re-run resumes whatever an earlier run left):
//! 1. One transaction makes the batch, a pending letter per order and the orders `batched`:
//!    from here every order is in exactly this batch.
//! 2. The files are built in the hidden folder `OUTBOX/.building-<batch_id>/`, each written,
//!    fsynced, and its letters' code digests stored; a crash here leaves nothing visible, and
//!    the re-run builds the batch again from scratch with new codes (none were ever published).
//! 3. The batch is marked `written`, the folder renamed to `OUTBOX/<batch_id>/`, and `READY`
//!    written last. A re-run finds a `written` batch, checks its files against `batch.json`
//!    and completes the publication.
//! 4. The database marks the batch published: its letters' codes become valid and every earlier
//!    letter of the same people is superseded.

mod spool;
mod worker;

pub use worker::{work, WorkDone, WorkerError};

use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::Utc;
use chrono_tz::Europe::Oslo;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::address::{AddressBlock, PostalZone};
use crate::csv_output::SafeWriter;
use crate::db::{
    attempt_file_name, BatchRow, Db, DbError, LetterJob, PartClaim, PartRecord, Table, TempStore,
};
use crate::external_sort::{ExternalSort, RUN_KEYS};
use crate::failpoint::{failpoint, failpoint_set};
use crate::letters::{self, LetterInput, RenderError};
use crate::lock::{self, LockError};
use crate::orders::Language;
use crate::pin::{self, PinKey};
use crate::settings::Settings;
use pinbrev_core::letter::{part_file_name, BatchState, PartState};
use spool::{Spool, SpooledParts};

/// What went wrong with a drop.
#[derive(Debug, thiserror::Error)]
pub enum DropError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Locked(#[from] LockError),
    #[error("{path} exists, but batch {batch_id} is still being built; move that folder away and run again")]
    Conflict { path: PathBuf, batch_id: String },
    #[error("batch {batch_id}: {message}")]
    Inconsistent { batch_id: String, message: String },
    #[error("{0}")]
    UnknownVendor(String),
}

impl DropError {
    /// True when another run holds the outbox's lock (exit 4): this run did nothing.
    pub fn is_lock_held(&self) -> bool {
        matches!(self, DropError::Locked(LockError::Held { .. }))
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DropError + '_ {
    move |source| DropError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A file of the drop as `batch.json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
    /// For a part: `domestic` or `abroad` when all its letters are (always so for a vendor with
    /// `split_abroad`); absent for a part holding both, and for the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_zone: Option<String>,
}

/// `batch.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchManifest {
    pub batch_id: String,
    pub vendor: String,
    pub created_at: String,
    pub letter_count: u64,
    pub page_count: u64,
    pub files: Vec<FileEntry>,
}

/// What `batch create` published.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    pub batch_id: String,
    pub vendor: String,
    pub dir: PathBuf,
    pub letters: u64,
    pub pages: u64,
    pub files: usize,
    pub bytes: u64,
    /// Earlier letters of the same people whose codes stopped being valid.
    pub superseded: u64,
    /// True when an earlier, interrupted run had started this batch.
    pub resumed: bool,
}

/// The name of the lock file inside the outbox.
pub const LOCK_FILE: &str = ".pinbrev-batch.lock";

/// Runs `batch create`: finishes any batch an interrupted run left, then puts every
/// `validated` order into a new batch. Returns what was published (possibly nothing).
pub async fn create(
    db: &Db,
    settings: &Settings,
    key: &PinKey,
    vendor: &str,
    outbox: &Path,
) -> Result<Vec<Published>, DropError> {
    settings
        .check_vendor(vendor)
        .map_err(DropError::UnknownVendor)?;
    crate::files::create_private_dir(outbox).map_err(io(outbox))?;
    // Stored with the batch, so a run from another working directory resumes it in place.
    let outbox = &outbox.canonicalize().map_err(io(outbox))?;
    let _lock = lock::try_lock(&outbox.join(LOCK_FILE))?;
    // A batch's statements each change up to every letter of the night: their journals go to
    // disk, not into this process's memory.
    db.keep_temporary_data(TempStore::Disk).await?;
    let mut published = Vec::new();
    for batch in db.unfinished_batches().await? {
        tracing::warn!(batch = %batch.batch_id, state = %batch.state, "resuming a batch an earlier run did not finish");
        published.push(finish(db, settings, key, &batch, true, None).await?);
    }
    // Started after the resumed batches, which read their letters from the database: any
    // spool an interrupted run left is removed here.
    let spool_folder = spool::folder(outbox);
    let mut spool = Spool::start(outbox).map_err(io(&spool_folder))?;
    let now = Utc::now();
    let day = now.with_timezone(&Oslo).format("%Y%m%d").to_string();
    let outbox_text = outbox.display().to_string();
    if let Some(new) = db
        .create_batch(
            vendor,
            &outbox_text,
            now,
            &day,
            presort_key,
            |domestic| settings.part_layout(vendor, domestic),
            ExternalSort::in_folder(&spool_folder, RUN_KEYS),
            |order| spool.push(order),
        )
        .await?
    {
        let batch = &new.batch;
        tracing::info!(batch = %batch.batch_id, letters = batch.letter_count, "new batch");
        let spooled = spool
            .into_parts(&new)
            .inspect_err(|e| tracing::warn!(error = %e, "the letters could not be spooled; each part reads them from the database"))
            .ok();
        db.refresh_statistics(&[Table::Orders, Table::Letters])
            .await?;
        published.push(finish(db, settings, key, batch, false, spooled.as_ref()).await?);
    }
    Ok(published)
}

/// Presorting: Norwegian letters by postal code, then letters abroad by country.
fn presort_key(zone: &str, postcode: Option<&str>, country: &str) -> (u8, String, String) {
    let postcode = postcode.unwrap_or("").to_string();
    if zone == PostalZone::Domestic.code() {
        (0, postcode, String::new())
    } else {
        (1, country.to_string(), postcode)
    }
}

async fn finish(
    db: &Db,
    settings: &Settings,
    key: &PinKey,
    batch: &BatchRow,
    resumed: bool,
    spooled: Option<&SpooledParts>,
) -> Result<Published, DropError> {
    let outbox = PathBuf::from(&batch.outbox);
    crate::files::create_private_dir(&outbox).map_err(io(&outbox))?;
    let building = outbox.join(format!(".building-{}", batch.batch_id));
    let target = outbox.join(&batch.batch_id);
    if batch.state == BatchState::Written {
        if target.join("READY").exists() {
            return complete(db, batch, &target, resumed).await;
        }
        for dir in [&target, &building] {
            if dir.exists() && verify(dir).is_ok() {
                if *dir == building {
                    publish_dir(&building, &target, &outbox)?;
                } else {
                    write_ready(&target, &batch.batch_id)?;
                }
                return complete(db, batch, &target, resumed).await;
            }
        }
        tracing::warn!(batch = %batch.batch_id, "the written files are gone or damaged; building the batch again");
        if target.exists() {
            fs::remove_dir_all(&target).map_err(io(&target))?;
        }
        db.set_batch_state(&batch.batch_id, BatchState::Building, None)
            .await?;
    } else if target.exists() {
        return Err(DropError::Conflict {
            path: target,
            batch_id: batch.batch_id.clone(),
        });
    }
    build(db, settings, key, batch, &building, spooled).await?;
    publish_dir(&building, &target, &outbox)?;
    complete(db, batch, &target, resumed).await
}

/// What rendering one part needs, owned, so that it can go to a render thread.
struct PartJob {
    /// The part's file in the drop.
    name: String,
    /// The file the render writes: `name`, or rendering by claim, a file of this claim's own
    /// ([`attempt_file_name`]).
    file: String,
    jobs: Vec<LetterJob>,
    addresses: Vec<AddressBlock>,
    languages: Vec<Language>,
}

/// A part written to the build folder, with what the database and manifests need of it.
struct PartDone {
    job: PartJob,
    entry: FileEntry,
    pages: u32,
    records: Vec<PartRecord>,
}

/// A part on its way, in the order of the drop.
enum Slot {
    /// Rendered on a thread of this run (under `claim` when rendering by claim).
    Here {
        handle: tokio::task::JoinHandle<Result<PartDone, DropError>>,
        claim: Option<PartClaim>,
    },
    /// Claimed by another worker when this run came to it: waited for.
    Elsewhere { part: u32, from: i64, to: i64 },
}

/// A part whose file is written and whose codes are stored.
struct Placed {
    /// The claim under which it was rendered, when rendering by claim.
    attempt: Option<i64>,
    job: PartJob,
    /// Its entry in `batch.json`, under the part's name in the drop.
    entry: FileEntry,
    pages: u32,
}

/// Who claims parts, and for how long.
struct Claims {
    worker: String,
    lease: chrono::Duration,
}

/// The name a process claims parts under: its role, host and process id.
fn worker_name(role: &str) -> String {
    // uname(2), not /proc/sys/kernel/hostname: the systemd unit hides /proc/sys (ProcSubset=pid).
    // SAFETY: uname fills the zeroed struct it is given; its fields are NUL-terminated.
    let host = unsafe {
        let mut names: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut names) == 0 {
            std::ffi::CStr::from_ptr(names.nodename.as_ptr())
                .to_string_lossy()
                .into_owned()
        } else {
            String::new()
        }
    };
    let host = if host.is_empty() {
        "localhost".into()
    } else {
        host
    };
    format!("{role}@{host}:{}", std::process::id())
}

/// What the drop's manifests collect, part after part.
struct Collected {
    /// `manifest.csv`, written a part at a time: held in memory until the end, its rows (67.6
    /// bytes a letter) were most of what a batch's memory grew by with the night.
    manifest: SafeWriter<HashedFile>,
    manifest_path: PathBuf,
    per_postcode: BTreeMap<String, (String, u64)>,
    files: Vec<FileEntry>,
    pages: u64,
    /// The part files rendered by claim: (name in the drop, the claim whose file it is).
    claimed: Vec<(String, i64)>,
}

impl Collected {
    /// Starts the drop's manifest in `dir`.
    fn new(dir: &Path) -> Result<Collected, DropError> {
        let path = dir.join("manifest.csv");
        let mut manifest = SafeWriter::new(HashedFile::create(&path)?);
        manifest
            .write_row([
                "sequence",
                "letter_id",
                "file",
                "first_page",
                "page_count",
                "postal_zone",
                "postcode",
                "country",
            ])
            .map_err(|e| io(&path)(e.into()))?;
        Ok(Collected {
            manifest,
            manifest_path: path,
            per_postcode: BTreeMap::new(),
            files: Vec::new(),
            pages: 0,
            claimed: Vec::new(),
        })
    }

    /// Adds a part's letters to the manifests.
    fn add(&mut self, placed: Placed) -> Result<(), DropError> {
        let Placed {
            attempt,
            job,
            entry,
            pages,
        } = placed;
        for (i, letter) in job.jobs.iter().enumerate() {
            self.manifest
                .write_row([
                    letter.sequence.to_string(),
                    letter.letter_id.clone(),
                    job.name.clone(),
                    (i + 1).to_string(),
                    "1".into(),
                    letter.postal_zone.clone(),
                    letter.postcode.clone().unwrap_or_default(),
                    letter.country.clone(),
                ])
                .map_err(|e| io(&self.manifest_path)(e.into()))?;
            if letter.postal_zone == PostalZone::Domestic.code() {
                let postcode = letter.postcode.clone().unwrap_or_default();
                let place = job.addresses[i]
                    .lines
                    .last()
                    .and_then(|l| l.strip_prefix(&postcode))
                    .map(|p| p.trim().to_string())
                    .unwrap_or_default();
                self.per_postcode.entry(postcode).or_insert((place, 0)).1 += 1;
            }
        }
        self.pages += u64::from(pages);
        if let Some(attempt) = attempt {
            self.claimed.push((job.name.clone(), attempt));
        }
        let zone = job.jobs.first().map(|l| l.postal_zone.clone());
        let one_stream = job
            .jobs
            .iter()
            .all(|l| Some(&l.postal_zone) == zone.as_ref());
        self.files.push(FileEntry {
            postal_zone: zone.filter(|_| one_stream),
            ..entry
        });
        Ok(())
    }

    /// Renames each part's winning render into place and removes every other render (of a
    /// claim whose lease ran out).
    fn adopt_claimed_files(&self, dir: &Path) -> Result<(), DropError> {
        for (name, attempt) in &self.claimed {
            let from = dir.join(attempt_file_name(name, *attempt));
            fs::rename(&from, dir.join(name)).map_err(io(&from))?;
        }
        for entry in fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            if path.extension().is_some_and(|x| x == "part") {
                fs::remove_file(&path).map_err(io(&path))?;
            }
        }
        sync_dir(dir)
    }
}

/// A render thread's part, checked to have a page per letter.
async fn joined(
    handle: tokio::task::JoinHandle<Result<PartDone, DropError>>,
    batch: &BatchRow,
) -> Result<PartDone, DropError> {
    let done = handle.await.map_err(|e| DropError::Inconsistent {
        batch_id: batch.batch_id.clone(),
        message: format!("a render thread failed: {e}"),
    })??;
    if u64::from(done.pages) != done.job.jobs.len() as u64 {
        return Err(DropError::Inconsistent {
            batch_id: batch.batch_id.clone(),
            message: format!(
                "{} has {} pages for {} letters",
                done.job.name,
                done.pages,
                done.job.jobs.len()
            ),
        });
    }
    Ok(done)
}

/// Reports a part rendered under `claim` done. `None` when the lease had run out and another
/// worker took the part over: this render's file is removed and its codes never stored.
async fn report_done(
    db: &Db,
    dir: &Path,
    claim: &PartClaim,
    done: PartDone,
) -> Result<Option<Placed>, DropError> {
    let stored = db
        .complete_part(
            claim,
            &done.records,
            done.entry.bytes,
            &done.entry.sha256,
            done.pages,
        )
        .await?;
    if !stored {
        tracing::warn!(batch = %claim.batch_id, part = claim.part, "the part's lease ran out while it was rendered; another worker renders it");
        let file = dir.join(&done.job.file);
        fs::remove_file(&file).map_err(io(&file))?;
        return Ok(None);
    }
    Ok(Some(Placed {
        attempt: Some(claim.attempt),
        job: done.job,
        entry: done.entry,
        pages: done.pages,
    }))
}

/// Renders a claimed part on a render thread and reports it done; `None` when the claim's
/// lease ran out first (see [`report_done`]).
async fn render_claimed(
    db: &Db,
    shared: &Arc<RenderShared>,
    batch: &BatchRow,
    claim: &PartClaim,
) -> Result<Option<Placed>, DropError> {
    let (part, from, to) = claim_range(claim);
    let job = read_part(db, batch, part, from, to, Some(claim), None).await?;
    let renderer = Arc::clone(shared);
    let handle = tokio::task::spawn_blocking(move || render_and_write(job, &renderer));
    let done = joined(handle, batch).await?;
    report_done(db, &shared.dir, claim, done).await
}

/// The part and letters of a claim.
fn claim_range(claim: &PartClaim) -> (u32, i64, i64) {
    (
        u32::try_from(claim.part).unwrap_or(u32::MAX),
        claim.first_sequence,
        claim.last_sequence,
    )
}

/// Waits until another worker has done part `part`, taking it over (and rendering it here)
/// if that worker's lease runs out first.
async fn wait_for_part(
    db: &Db,
    shared: &Arc<RenderShared>,
    batch: &BatchRow,
    claims: &Claims,
    part: u32,
    from: i64,
    to: i64,
) -> Result<Placed, DropError> {
    loop {
        let status = db
            .part_status(&batch.batch_id, i64::from(part), Utc::now())
            .await?
            .ok_or_else(|| DropError::Inconsistent {
                batch_id: batch.batch_id.clone(),
                message: format!("part {part} is not planned"),
            })?;
        if status.state == PartState::Done {
            let job = read_part(db, batch, part, from, to, None, None).await?;
            let entry = FileEntry {
                name: job.name.clone(),
                bytes: status.bytes.unwrap_or_default().max(0) as u64,
                sha256: status.sha256.clone().unwrap_or_default(),
                postal_zone: None,
            };
            return Ok(Placed {
                attempt: Some(status.attempt),
                entry,
                pages: u32::try_from(status.pages.unwrap_or_default()).unwrap_or_default(),
                job,
            });
        }
        if status.state == PartState::Planned || status.lease_expired {
            if let Some(claim) = db
                .claim_part(
                    &batch.batch_id,
                    i64::from(part),
                    &claims.worker,
                    claims.lease,
                )
                .await?
            {
                tracing::warn!(batch = %batch.batch_id, part, "taking over a part whose worker's lease ran out");
                if let Some(placed) = render_claimed(db, shared, batch, &claim).await? {
                    return Ok(placed);
                }
                continue;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// What every render thread shares.
struct RenderShared {
    dir: PathBuf,
    /// Prepared once for the batch's window and return address; shared by the threads.
    renderer: letters::PartRenderer,
    key: PinKey,
    today: chrono::NaiveDate,
    /// Parts being rendered right now (for the `pause-rendering` test hook).
    rendering: AtomicUsize,
}

/// Builds every file of the batch in `dir`, storing the letters' code digests part by part.
///
/// Parts are rendered on up to `render_threads` threads at once, each writing its own file;
/// this task alone talks to the database and writes the manifests, taking the parts in order,
/// so that the drop is the same whatever the number of threads (apart from the random codes).
///
/// On PostgreSQL the parts are planned in the database and rendered by claim: this run claims
/// each in turn, and a part that a `pinbrev worker` holds is waited for (and taken over if
/// the worker's lease runs out). Each render writes a file of its own claim; the winners are
/// renamed into place once every part is done.
async fn build(
    db: &Db,
    settings: &Settings,
    key: &PinKey,
    batch: &BatchRow,
    dir: &Path,
    spooled: Option<&SpooledParts>,
) -> Result<(), DropError> {
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(io(dir))?;
    }
    crate::files::create_private_dir(dir).map_err(io(dir))?;
    let shared = Arc::new(RenderShared::new(settings, key, batch, dir)?);
    // The parts as the settings say now (a resumed batch's letters move to the parts they are
    // rendered into): `max_letters_per_file` to a part, and for a vendor that splits, the letters
    // abroad in parts of their own.
    let domestic = match settings.split_abroad(&batch.vendor) {
        true => db.domestic_letters(&batch.batch_id).await?,
        false => 0,
    };
    let ranges = settings
        .part_layout(&batch.vendor, domestic)
        .ranges(batch.letter_count);
    let threads = settings.render_threads().max(1);
    let by_claim = db.renders_by_claim();
    let claims = Claims {
        worker: worker_name("batch"),
        lease: settings.part_lease(),
    };
    if by_claim {
        db.plan_parts(&batch.batch_id, &ranges).await?;
        hold("after-plan");
    }
    let mut collected = Collected::new(dir)?;
    let bar = crate::progress::bar(
        batch.letter_count as u64,
        "letters",
        crate::progress::Unit::Items,
    );
    let mut in_flight = VecDeque::new();
    let mut parts = (1..).zip(ranges.iter().copied());
    loop {
        // Keep every thread busy, but no more parts in memory than threads.
        while in_flight.len() < threads {
            let Some((part, (from, to))) = parts.next() else {
                break;
            };
            let claim = match by_claim {
                true => {
                    db.claim_part(
                        &batch.batch_id,
                        i64::from(part),
                        &claims.worker,
                        claims.lease,
                    )
                    .await?
                }
                false => None,
            };
            if by_claim && claim.is_none() {
                in_flight.push_back(Slot::Elsewhere { part, from, to });
            } else {
                let job = read_part(db, batch, part, from, to, claim.as_ref(), spooled).await?;
                let shared = Arc::clone(&shared);
                let handle = tokio::task::spawn_blocking(move || render_and_write(job, &shared));
                in_flight.push_back(Slot::Here { handle, claim });
            }
        }
        let Some(next) = in_flight.pop_front() else {
            break;
        };
        let placed = match next {
            Slot::Here {
                handle,
                claim: None,
            } => {
                let done = joined(handle, batch).await?;
                db.store_part(&batch.batch_id, &done.records).await?;
                Placed {
                    attempt: None,
                    job: done.job,
                    entry: done.entry,
                    pages: done.pages,
                }
            }
            Slot::Here {
                handle,
                claim: Some(claim),
            } => {
                let done = joined(handle, batch).await?;
                match report_done(db, dir, &claim, done).await? {
                    Some(placed) => placed,
                    None => {
                        let (part, from, to) = claim_range(&claim);
                        wait_for_part(db, &shared, batch, &claims, part, from, to).await?
                    }
                }
            }
            Slot::Elsewhere { part, from, to } => {
                wait_for_part(db, &shared, batch, &claims, part, from, to).await?
            }
        };
        bar.inc(u64::from(placed.pages));
        tracing::debug!(batch = %batch.batch_id, file = %placed.job.name, letters = placed.job.jobs.len(), "part written");
        collected.add(placed)?;
        failpoint("after-part");
    }
    if by_claim {
        collected.adopt_claimed_files(dir)?;
    }
    let Collected {
        manifest,
        manifest_path,
        per_postcode,
        mut files,
        pages,
        ..
    } = collected;
    bar.finish_and_clear();
    files.push(
        manifest
            .into_inner()
            .map_err(io(&manifest_path))?
            .finish()?,
    );
    let mut postcodes = SafeWriter::new(Vec::new());
    postcodes
        .write_row(["postcode", "place", "letters"])
        .expect("in memory");
    for (postcode, (place, n)) in &per_postcode {
        postcodes
            .write_row([postcode.as_str(), place.as_str(), &n.to_string()])
            .expect("in memory");
    }
    files.push(write_file(
        &dir.join("postcodes.csv"),
        &postcodes.into_inner().expect("in memory"),
    )?);
    let manifest = BatchManifest {
        batch_id: batch.batch_id.clone(),
        vendor: batch.vendor.clone(),
        created_at: batch.created_at.clone(),
        letter_count: batch.letter_count as u64,
        page_count: pages,
        files,
    };
    let json = serde_json::to_vec_pretty(&manifest).expect("serializes");
    write_file(&dir.join("batch.json"), &json)?;
    sync_dir(dir)?;
    failpoint("before-written");
    db.set_batch_state(&batch.batch_id, BatchState::Written, Some(pages as i64))
        .await?;
    failpoint("after-written");
    Ok(())
}

/// Reads the letters `from..=to` of a batch, with their addresses and languages parsed: from
/// the spool when it has the part, else from the database.
async fn read_part(
    db: &Db,
    batch: &BatchRow,
    part: u32,
    from: i64,
    to: i64,
    claim: Option<&PartClaim>,
    spooled: Option<&SpooledParts>,
) -> Result<PartJob, DropError> {
    let from_spool = match spooled {
        Some(spooled) => spooled.take(&batch.batch_id, part, from, to)?,
        None => None,
    };
    let jobs = match from_spool {
        Some(jobs) => jobs,
        None => db.batch_letters(&batch.batch_id, from, to).await?,
    };
    if jobs.len() as i64 != to - from + 1 {
        return Err(DropError::Inconsistent {
            batch_id: batch.batch_id.clone(),
            message: format!(
                "letters {from}..{to}: found {} of {}",
                jobs.len(),
                to - from + 1
            ),
        });
    }
    let mut addresses = Vec::with_capacity(jobs.len());
    let mut languages = Vec::with_capacity(jobs.len());
    for job in &jobs {
        let block: AddressBlock =
            serde_json::from_str(&job.address).map_err(|e| DbError::Corrupt {
                what: format!("address of letter {}", job.letter_id),
                message: e.to_string(),
            })?;
        addresses.push(block);
        languages.push(
            job.language
                .parse::<Language>()
                .map_err(|message| DbError::Corrupt {
                    what: format!("language of letter {}", job.letter_id),
                    message,
                })?,
        );
    }
    let name = part_file_name(i64::from(part));
    Ok(PartJob {
        file: match claim {
            Some(claim) => attempt_file_name(&name, claim.attempt),
            None => name.clone(),
        },
        name,
        jobs,
        addresses,
        languages,
    })
}

/// On a render thread: new codes for the part's letters, the PDF rendered and written (fsynced)
/// into the build folder, and the codes' digests. The codes leave this function only inside
/// the PDF.
fn render_and_write(job: PartJob, shared: &RenderShared) -> Result<PartDone, DropError> {
    let rendering = shared.rendering.fetch_add(1, Ordering::SeqCst) + 1;
    pause_while_rendering(&shared.rendering, rendering);
    let codes: Vec<[u32; pin::CODES_PER_LETTER]> =
        job.jobs.iter().map(|_| pin::generate_codes()).collect();
    let inputs: Vec<LetterInput<'_>> = job
        .jobs
        .iter()
        .enumerate()
        .map(|(i, letter)| LetterInput {
            letter_id: &letter.letter_id,
            order_id: &letter.order_id,
            language: job.languages[i],
            address: &job.addresses[i],
            codes: &codes[i],
            date: shared.today,
        })
        .collect();
    let rendered = shared.renderer.render(&inputs);
    drop(inputs);
    shared.rendering.fetch_sub(1, Ordering::SeqCst);
    let rendered = rendered?;
    let mut entry = write_file(&shared.dir.join(&job.file), &rendered.pdf)?;
    entry.name = job.name.clone();
    let pages = rendered.pages;
    drop(rendered);
    release_freed_memory();
    let records = job
        .jobs
        .iter()
        .zip(&codes)
        .enumerate()
        .map(|(i, (letter, codes))| PartRecord {
            letter_id: letter.letter_id.clone(),
            sequence: letter.sequence,
            file: job.name.clone(),
            first_page: i as i64 + 1,
            digests: pin::digests(&shared.key, &letter.letter_id, codes),
        })
        .collect();
    Ok(PartDone {
        job,
        entry,
        pages,
        records,
    })
}

impl RenderShared {
    fn new(
        settings: &Settings,
        key: &PinKey,
        batch: &BatchRow,
        dir: &Path,
    ) -> Result<RenderShared, DropError> {
        Ok(RenderShared {
            dir: dir.to_path_buf(),
            renderer: letters::PartRenderer::with_helpdesk(
                &settings.window(&batch.vendor),
                &settings.return_address,
                &settings.helpdesk(),
            )?,
            key: key.clone(),
            today: Utc::now().with_timezone(&Oslo).date_naive(),
            rendering: AtomicUsize::new(0),
        })
    }
}

/// Renames the complete build folder into place and writes `READY` last.
fn publish_dir(building: &Path, target: &Path, outbox: &Path) -> Result<(), DropError> {
    fs::rename(building, target).map_err(io(target))?;
    sync_dir(outbox)?;
    failpoint("after-rename");
    let batch_id = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    write_ready(target, &batch_id)
}

fn write_ready(dir: &Path, batch_id: &str) -> Result<(), DropError> {
    let tmp = dir.join(".READY.tmp");
    if tmp.exists() {
        fs::remove_file(&tmp).map_err(io(&tmp))?;
    }
    write_file(&tmp, format!("{batch_id}\n").as_bytes())?;
    let ready = dir.join("READY");
    fs::rename(&tmp, &ready).map_err(io(&ready))?;
    sync_dir(dir)?;
    failpoint("after-ready");
    Ok(())
}

async fn complete(
    db: &Db,
    batch: &BatchRow,
    dir: &Path,
    resumed: bool,
) -> Result<Published, DropError> {
    let manifest = verify(dir)?;
    // The superseded letters' orders are sorted in runs in a folder of the spool's. One that a
    // killed run left is removed first (as is the whole spool when the next batch starts).
    let runs =
        spool::folder(&PathBuf::from(&batch.outbox)).join(format!("publish-{}", batch.batch_id));
    if runs.exists() {
        fs::remove_dir_all(&runs).map_err(io(&runs))?;
    }
    crate::files::create_private_dir(&runs).map_err(io(&runs))?;
    let superseded = db
        .publish_batch(&batch.batch_id, ExternalSort::in_folder(&runs, RUN_KEYS))
        .await?;
    // Its run files were removed with the sort; the folder is empty.
    fs::remove_dir(&runs).map_err(io(&runs))?;
    Ok(Published {
        batch_id: batch.batch_id.clone(),
        vendor: batch.vendor.clone(),
        dir: dir.to_path_buf(),
        letters: manifest.letter_count,
        pages: manifest.page_count,
        files: manifest.files.len(),
        bytes: manifest.files.iter().map(|f| f.bytes).sum(),
        superseded,
        resumed,
    })
}

/// Checks every file `batch.json` lists: present, same size, same SHA-256.
pub fn verify(dir: &Path) -> Result<BatchManifest, DropError> {
    let path = dir.join("batch.json");
    let text = fs::read(&path).map_err(io(&path))?;
    let manifest: BatchManifest =
        serde_json::from_slice(&text).map_err(|e| DropError::Inconsistent {
            batch_id: dir.display().to_string(),
            message: format!("batch.json: {e}"),
        })?;
    for f in &manifest.files {
        let p = dir.join(&f.name);
        // Read through, not into memory: the manifest of a night of a million letters is
        // about 64 MB, and each part several.
        let mut hasher = Sha256::new();
        let bytes = File::open(&p)
            .and_then(|mut file| std::io::copy(&mut file, &mut hasher))
            .map_err(io(&p))?;
        if bytes != f.bytes || hex::encode(hasher.finalize()) != f.sha256 {
            return Err(DropError::Inconsistent {
                batch_id: manifest.batch_id.clone(),
                message: format!("{} does not match batch.json", f.name),
            });
        }
    }
    Ok(manifest)
}

/// Writes a new file readable by the owner only, fsynced, and returns its entry.
fn write_file(path: &Path, bytes: &[u8]) -> Result<FileEntry, DropError> {
    let mut file = HashedFile::create(path)?;
    file.write_all(bytes).map_err(io(path))?;
    file.finish()
}

/// A new owner-only file of the drop, written through a buffer, with its size and SHA-256
/// counted on the way.
struct HashedFile {
    path: PathBuf,
    out: std::io::BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
}

impl HashedFile {
    fn create(path: &Path) -> Result<HashedFile, DropError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io(path))?;
        Ok(HashedFile {
            path: path.to_path_buf(),
            out: std::io::BufWriter::with_capacity(1 << 16, file),
            hasher: Sha256::new(),
            bytes: 0,
        })
    }

    /// Flushes the file to disk and describes it as `batch.json` lists it.
    fn finish(mut self) -> Result<FileEntry, DropError> {
        let path = std::mem::take(&mut self.path);
        self.out.flush().map_err(io(&path))?;
        self.out.get_ref().sync_all().map_err(io(&path))?;
        Ok(FileEntry {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            bytes: self.bytes,
            sha256: hex::encode(self.hasher.finalize()),
            postal_zone: None,
        })
    }
}

impl Write for HashedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.out.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

fn sync_dir(dir: &Path) -> Result<(), DropError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Hands memory freed after a part back to the system. A part's PDF is built whole in memory,
/// and without this glibc keeps the freed heap, so the process grows part after part. (mimalloc
/// as the allocator was measured too: 5-10 % faster import, ingest and validation, but a
/// 1,000,000-letter batch peaked at 734 MB against 212 MB.)
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap pages; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Test hook: with `PINBREV_FAILPOINT=NAME`, says so on stderr and waits here until the file
/// named by `PINBREV_FAILPOINT_RELEASE` exists.
fn hold(name: &str) {
    if !failpoint_set(name) {
        return;
    }
    if let Some(release) = std::env::var_os("PINBREV_FAILPOINT_RELEASE") {
        eprintln!("failpoint {name}: waiting");
        while !Path::new(&release).exists() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// Test hook: with `PINBREV_FAILPOINT=pause-rendering`, render threads stop for good once two
/// parts are being rendered at the same time, and say so on stderr; the crash test then kills
/// the process there. With `PINBREV_FAILPOINT=hold-rendering`, the first part's thread says so and
/// waits until the file named by `PINBREV_FAILPOINT_RELEASE` exists, then goes on (the race tests
/// act on the database meanwhile).
fn pause_while_rendering(rendering: &AtomicUsize, now: usize) {
    if failpoint_set("hold-rendering") {
        if let Some(release) = std::env::var_os("PINBREV_FAILPOINT_RELEASE") {
            static HELD: std::sync::Once = std::sync::Once::new();
            HELD.call_once(|| {
                eprintln!("failpoint hold-rendering: waiting");
                while !std::path::Path::new(&release).exists() {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            });
        }
        return;
    }
    if !failpoint_set("pause-rendering") {
        return;
    }
    let mut now = now;
    while now < 2 {
        std::thread::sleep(std::time::Duration::from_millis(5));
        now = rendering.load(Ordering::SeqCst);
    }
    eprintln!("failpoint pause-rendering: {now} parts being rendered");
    loop {
        std::thread::park();
    }
}
