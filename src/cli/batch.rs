//! `pinbrev batch create --vendor NAME --outbox DIR`: PIN codes, letters and the vendor drop.

use crate::wording::count;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{Context, Exit};
use crate::drop;

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Put every validated order into a batch: PIN codes, PDF letters and the drop in OUTBOX.
    Create(CreateArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  pinbrev batch create --vendor printco --outbox /srv/pinbrev/outbox\n  PINBREV_PIN_KEY_FILE=/etc/pinbrev/pin.key pinbrev batch create --vendor printco --outbox out"
)]
pub struct CreateArgs {
    /// The print vendor (its envelope window comes from the settings' [vendors.NAME]).
    #[arg(long)]
    vendor: String,
    /// The folder the vendor collects drops from; each batch appears as OUTBOX/<batch_id>/.
    #[arg(long)]
    outbox: PathBuf,
}

pub async fn run(ctx: &Context, cmd: BatchCommand) -> anyhow::Result<Exit> {
    let BatchCommand::Create(args) = cmd;
    let key = crate::pin::load_key(&ctx.settings)?;
    let db = ctx.db().await?;
    let result = drop::create(&db, &ctx.settings, &key, &args.vendor, &args.outbox).await;
    db.close().await;
    match result {
        Ok(published) if published.is_empty() => {
            println!("no validated orders: no batch made");
            Ok(Exit::Done)
        }
        Ok(published) => {
            for p in &published {
                println!(
                    "{}batch {} for {}: {}, {}, {} ({}) in {}{}",
                    if p.resumed { "resumed " } else { "" },
                    p.batch_id,
                    p.vendor,
                    count(p.letters, "letter", "letters"),
                    count(p.pages, "page", "pages"),
                    count(p.files, "file", "files"),
                    humansize::format_size(p.bytes, humansize::DECIMAL),
                    p.dir.display(),
                    if p.superseded > 0 {
                        format!(
                            "; {} superseded",
                            count(p.superseded, "earlier letter", "earlier letters")
                        )
                    } else {
                        String::new()
                    }
                );
            }
            Ok(Exit::Done)
        }
        Err(e) if e.is_lock_held() => {
            crate::diagnostics::error(&e.to_string());
            Ok(Exit::Locked)
        }
        Err(e) => Err(e.into()),
    }
}
