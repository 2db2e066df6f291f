//! `pinbrev worker`: renders parts of the batches that `nightly` (or `batch create`) plans on
//! PostgreSQL, on this machine or another sharing the outbox's filesystem. A worker claims one
//! part at a time under a lease, renders it into the batch's build folder under a file of its
//! own claim, and reports it done with its letters' code digests; the run that planned the
//! batch publishes it. A worker killed mid-part loses nothing: its lease runs out and another
//! worker, or the planning run, renders the part again with new codes.

use std::path::Path;
use std::sync::Arc;

use super::{hold, render_claimed, worker_name, DropError, RenderShared};
use crate::db::Db;
use crate::pin::PinKey;
use crate::settings::Settings;

/// What a worker did.
#[derive(Debug, Default, Clone, Copy)]
pub struct WorkDone {
    /// Parts rendered and reported done.
    pub parts: u64,
    /// Letters in them.
    pub letters: u64,
    /// Parts rendered whose lease had run out before they were reported (another worker
    /// renders them).
    pub lost: u64,
}

/// Why a worker stopped.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("render workers share batches through a PostgreSQL database; {0} is SQLite (there, batch create and nightly render every part themselves)")]
    NotShared(String),
    #[error("the build folder {0} of a claimed part is not there: give --outbox the folder the nightly run writes its drops to (shared with this machine)")]
    NoBuildFolder(std::path::PathBuf),
    #[error(transparent)]
    Drop(#[from] DropError),
}

/// Claims and renders parts until none is left to claim (with `until_idle`), or for ever,
/// looking for new parts every `poll`.
pub async fn work(
    db: &Db,
    settings: &Settings,
    key: &PinKey,
    outbox: &Path,
    until_idle: bool,
    poll: std::time::Duration,
) -> Result<WorkDone, WorkerError> {
    if !db.renders_by_claim() {
        return Err(WorkerError::NotShared(db.describe_self()));
    }
    let me = worker_name("worker");
    let lease = settings.part_lease();
    let mut done = WorkDone::default();
    let mut prepared: Option<(String, Arc<RenderShared>)> = None;
    tracing::info!(worker = %me, "waiting for parts to render");
    loop {
        let Some(claim) = db
            .claim_any_part(&me, lease)
            .await
            .map_err(DropError::from)?
        else {
            if until_idle {
                return Ok(done);
            }
            tokio::time::sleep(poll).await;
            continue;
        };
        hold("worker-after-claim");
        let batch = db
            .batch(&claim.batch_id)
            .await
            .map_err(DropError::from)?
            .ok_or_else(|| DropError::Inconsistent {
                batch_id: claim.batch_id.clone(),
                message: "a part of it was claimed, but the batch is gone".into(),
            })?;
        let dir = outbox.join(format!(".building-{}", batch.batch_id));
        if !dir.is_dir() {
            return Err(WorkerError::NoBuildFolder(dir));
        }
        let shared = match &prepared {
            Some((id, shared)) if *id == batch.batch_id => Arc::clone(shared),
            _ => {
                let shared = Arc::new(RenderShared::new(settings, key, &batch, &dir)?);
                prepared = Some((batch.batch_id.clone(), Arc::clone(&shared)));
                shared
            }
        };
        match render_claimed(db, &shared, &batch, &claim).await? {
            Some(placed) => {
                let letters = placed.job.jobs.len() as u64;
                done.parts += 1;
                done.letters += letters;
                tracing::info!(batch = %batch.batch_id, part = claim.part, letters, "part rendered");
            }
            None => done.lost += 1,
        }
    }
}
