//! `pinbrev register import FILE...`: load Folkeregister extracts.

use std::path::PathBuf;

use clap::Subcommand;

use super::{Context, Exit};
use crate::register::{import_file, ImportError};

#[derive(Debug, Subcommand)]
pub enum RegisterCommand {
    /// Load Folkeregister person documents (JSON Lines); a later document replaces the earlier.
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
        match import_file(&db, file).await {
            Ok(report) => {
                for e in &report.line_errors {
                    eprintln!("line error: {e}");
                }
                println!(
                    "{}: {} people loaded ({} replaced an earlier document), {} line errors",
                    file.display(),
                    report.loaded,
                    report.replaced,
                    report.line_errors.len()
                );
            }
            Err(e @ (ImportError::Read { .. } | ImportError::NoUsableLine { .. })) => {
                eprintln!("error: {e}");
                exit = Exit::InputUnusable;
            }
            Err(e) => return Err(e.into()),
        }
    }
    db.close().await;
    Ok(exit)
}
