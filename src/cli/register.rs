//! `pinbrev register import FILE...`: load Folkeregister extracts.

use crate::wording::count;
use std::path::PathBuf;

use crate::row_errors::on_stderr;
use clap::Subcommand;

use super::{Context, Exit};
use crate::register::{import_file, ImportError};

#[derive(Debug, Subcommand)]
pub enum RegisterCommand {
    /// Load Folkeregister person documents (JSON Lines); a later document replaces the earlier.
    #[command(
        after_help = "Examples:\n  pinbrev register import freg-2026-11-23.jsonl\n  pinbrev register import inbox/*.jsonl"
    )]
    Import {
        /// Extract files, read in the order given.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub async fn run(ctx: &Context, cmd: RegisterCommand) -> anyhow::Result<Exit> {
    let RegisterCommand::Import { files } = cmd;
    let db = ctx.db().await?;
    let mut exit = Exit::Done;
    for file in &files {
        match import_file(&db, file, &mut on_stderr("line error")).await {
            Ok(report) => {
                println!(
                    "{}: {} loaded ({} replaced an earlier document), {}",
                    file.display(),
                    count(report.loaded, "person", "people"),
                    report.replaced,
                    count(report.line_errors, "line error", "line errors")
                );
            }
            Err(e @ (ImportError::Read { .. } | ImportError::NoUsableLine { .. })) => {
                crate::diagnostics::error_with(
                    &e.to_string(),
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
