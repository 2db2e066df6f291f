//! `purge`: letter PDFs are deleted once no letter in them still waits for the post (they hold
//! PIN codes), and personal data of finished orders is pseudonymised after `retention_days`.
//! A PDF holding a letter that is not posted yet is never deleted. The event history stays.

use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use serde::Serialize;

use crate::db::{Db, DbError};
use crate::orders::timestamp;
use crate::settings::Settings;

/// What purge did, or with `--dry-run` would do.
#[derive(Debug, Default, Serialize)]
pub struct PurgeReport {
    pub dry_run: bool,
    /// PDF files deleted (or to delete).
    pub pdfs: Vec<PathBuf>,
    /// PDF files kept because a letter in them is not posted yet.
    pub pdfs_kept_unposted: u64,
    /// Orders whose personal data was (or would be) pseudonymised.
    pub orders_pseudonymised: Vec<String>,
    /// Input-file error rows older than the retention period, deleted (or to delete).
    pub input_errors: i64,
}

/// A file that could not be deleted.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error("cannot delete {path}: {source}")]
    Delete {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Runs purge; with `dry_run` only lists what would go.
pub async fn purge(db: &Db, settings: &Settings, dry_run: bool) -> Result<PurgeReport, PurgeError> {
    let mut report = PurgeReport {
        dry_run,
        ..Default::default()
    };
    let parts = db.part_files().await?;
    let mut batches: Vec<(String, bool)> = Vec::new();
    for part in &parts {
        match batches.last_mut() {
            Some((id, all_gone)) if *id == part.batch_id => *all_gone &= !part.unposted,
            _ => batches.push((part.batch_id.clone(), !part.unposted)),
        }
        let path = Path::new(&part.outbox)
            .join(&part.batch_id)
            .join(&part.file);
        if part.unposted {
            report.pdfs_kept_unposted += 1;
            continue;
        }
        if path.exists() {
            if !dry_run {
                std::fs::remove_file(&path).map_err(|source| PurgeError::Delete {
                    path: path.clone(),
                    source,
                })?;
            }
            report.pdfs.push(path);
        }
    }
    if !dry_run {
        for (batch_id, all_gone) in &batches {
            if *all_gone {
                db.mark_pdfs_purged(batch_id).await?;
            }
        }
    }
    let before = timestamp(Utc::now() - Duration::days(i64::from(settings.retention_days)));
    report.orders_pseudonymised = db.orders_to_pseudonymise(&before).await?;
    if !dry_run {
        db.pseudonymise(&report.orders_pseudonymised).await?;
    }
    report.input_errors = db.purge_input_errors(&before, dry_run).await?;
    Ok(report)
}
