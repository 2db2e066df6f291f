//! `pinbrev nightly --inbox DIR --outbox DIR --receipts DIR --vendor NAME`.

use std::path::PathBuf;

use clap::Args;

use super::{Context, Exit};
use crate::nightly::{self, Folders, NightlyError};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  pinbrev nightly --inbox /srv/pinbrev/inbox --outbox /srv/pinbrev/outbox --receipts /srv/pinbrev/receipts --vendor printco\n  pinbrev -q --log-format json nightly --inbox in --outbox out --receipts rc --vendor printco"
)]
pub struct NightlyArgs {
    /// The night's files: every *.jsonl a register extract (read first), every *.csv an order file.
    #[arg(long)]
    inbox: PathBuf,
    /// Where the vendor collects drops.
    #[arg(long)]
    outbox: PathBuf,
    /// The vendor's receipts files (*.csv).
    #[arg(long)]
    receipts: PathBuf,
    /// The print vendor.
    #[arg(long)]
    vendor: String,
}

pub async fn run(ctx: &Context, args: NightlyArgs, quiet: bool) -> anyhow::Result<Exit> {
    let folders = Folders {
        inbox: args.inbox,
        outbox: args.outbox,
        receipts: args.receipts,
    };
    let summary = match nightly::run(&ctx.db_url, &ctx.settings, &args.vendor, &folders).await {
        Ok(s) => s,
        Err(NightlyError::Locked(e)) => {
            crate::diagnostics::error(&e.to_string());
            return Ok(Exit::Locked);
        }
        Err(NightlyError::Setup(e)) => {
            crate::diagnostics::error(&format!("{e}; nothing was done"));
            return Ok(Exit::Failed);
        }
    };
    println!("{}", serde_json::to_string(&summary)?);
    if !quiet || !summary.ok {
        let level = if summary.ok {
            crate::diagnostics::Level::Info
        } else {
            crate::diagnostics::Level::Error
        };
        let fields = crate::diagnostics::Fields {
            other: vec![("summary", serde_json::to_value(&summary)?)],
            ..Default::default()
        };
        crate::diagnostics::emit(level, &nightly::human(&summary), "night summary", &fields);
    }
    Ok(if summary.locked {
        Exit::Locked
    } else if summary.failed_step.is_some() {
        Exit::Failed
    } else if summary.had_unusable_files() {
        Exit::InputUnusable
    } else {
        Exit::Done
    })
}
