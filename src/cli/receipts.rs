//! `pinbrev receipts ingest FILE...`: the print vendor's receipts.

use crate::wording::count;
use std::path::PathBuf;

use crate::row_errors::on_stderr;
use clap::Subcommand;

use super::{Context, Exit};
use crate::receipts::{ingest_file, ReceiptError};

#[derive(Debug, Subcommand)]
pub enum ReceiptsCommand {
    /// Ingest vendor receipts (CSV: batch_id,letter_id,event,occurred_at,detail).
    #[command(after_help = "Examples:\n  pinbrev receipts ingest receipts/printco-2026-11-24.csv")]
    Ingest {
        /// The vendor's receipt CSV files, read in turn.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub async fn run(ctx: &Context, cmd: ReceiptsCommand) -> anyhow::Result<Exit> {
    let ReceiptsCommand::Ingest { files } = cmd;
    let db = ctx.db().await?;
    let mut exit = Exit::Done;
    for file in &files {
        match ingest_file(&db, file, &mut on_stderr("row error")).await {
            Ok(r) => {
                println!(
                    "{}: {} applied, {} recorded without change, {} already known, {}",
                    r.file,
                    r.applied,
                    r.recorded,
                    r.already_known,
                    count(r.row_errors, "row error", "row errors")
                );
            }
            Err(ReceiptError::File(e)) => {
                crate::diagnostics::error_with(
                    &format!("{e}; nothing was read from this file"),
                    &crate::diagnostics::Fields::file(file),
                );
                exit = Exit::InputUnusable;
            }
            Err(e) => return Err(e.into()),
        }
    }
    db.close().await;
    Ok(exit)
}
