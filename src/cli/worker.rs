//! `pinbrev worker --outbox DIR`: renders parts of the batches the nightly run plans on
//! PostgreSQL, claimed under a lease (see `drop::worker`).

use crate::wording::count;
use std::path::PathBuf;

use clap::Args;

use super::{Context, Exit};
use crate::drop;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  pinbrev --db postgres://pinbrev@db/pinbrev worker --outbox /srv/pinbrev/outbox\n  pinbrev worker --outbox out --until-idle"
)]
pub struct WorkerArgs {
    /// The outbox the nightly run writes its drops to, as this machine mounts it: parts are
    /// rendered into OUTBOX/.building-<batch_id>/.
    #[arg(long)]
    outbox: PathBuf,
    /// Stop once no part is left to claim, instead of waiting for the next night's batch.
    #[arg(long)]
    until_idle: bool,
}

pub async fn run(ctx: &Context, args: WorkerArgs) -> anyhow::Result<Exit> {
    let key = crate::pin::load_key(&ctx.settings)?;
    let db = ctx.db().await?;
    let result = drop::work(
        &db,
        &ctx.settings,
        &key,
        &args.outbox,
        args.until_idle,
        std::time::Duration::from_millis(500),
    )
    .await;
    db.close().await;
    let done = result?;
    println!(
        "worker: {} rendered ({}){}",
        count(done.parts, "part", "parts"),
        count(done.letters, "letter", "letters"),
        if done.lost > 0 {
            format!(
                "; {} ran out before {} done",
                count(done.lost, "part's lease", "parts' leases"),
                if done.lost == 1 {
                    "it was"
                } else {
                    "they were"
                }
            )
        } else {
            String::new()
        }
    );
    Ok(Exit::Done)
}
