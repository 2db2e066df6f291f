//! `pinbrev postcodes import FILE`: replace the postal-code list with Posten's register file.

use crate::wording::count;
use std::path::PathBuf;

use clap::Subcommand;

use super::{Context, Exit};
use crate::postcodes::{import_file, PostcodeFileError};

#[derive(Debug, Subcommand)]
pub enum PostcodesCommand {
    /// Replace the postal-code list from Posten's register file (tab-separated, Windows-1252 or UTF-8).
    #[command(after_help = "Examples:\n  pinbrev postcodes import Postnummerregister-ansi.txt")]
    Import {
        /// Posten's postal-code register file (Postnummerregister).
        file: PathBuf,
    },
}

pub async fn run(ctx: &Context, cmd: PostcodesCommand) -> anyhow::Result<Exit> {
    let PostcodesCommand::Import { file } = cmd;
    let db = ctx.db().await?;
    let exit = match import_file(&db, &file).await {
        Ok(report) => {
            for e in &report.line_errors {
                crate::diagnostics::input_error("line error", e);
            }
            println!(
                "{}: {} loaded ({} with a category), {}; the list was replaced",
                file.display(),
                count(report.loaded, "postal code", "postal codes"),
                report.with_category,
                count(report.line_errors.len(), "line error", "line errors")
            );
            Exit::Done
        }
        Err(e @ (PostcodeFileError::Read { .. } | PostcodeFileError::NoRows { .. })) => {
            crate::diagnostics::error_with(
                &e.to_string(),
                &crate::diagnostics::Fields::file(&file),
            );
            Exit::InputUnusable
        }
        Err(e) => return Err(e.into()),
    };
    db.close().await;
    Ok(exit)
}
