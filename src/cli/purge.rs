//! `pinbrev purge [--dry-run]`.

use clap::Args;

use super::output::{self, ItemFormat};
use super::{Context, Exit};

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  pinbrev purge --dry-run\n  pinbrev purge")]
pub struct PurgeArgs {
    /// Only list what would be deleted or pseudonymised.
    #[arg(long)]
    dry_run: bool,
    /// text: what was (or would be) done, in words; json: the counts for tools.
    #[arg(long, value_enum, default_value_t = ItemFormat::Text)]
    format: ItemFormat,
}

pub async fn run(ctx: &Context, args: PurgeArgs) -> anyhow::Result<Exit> {
    let db = ctx.db().await?;
    let report = crate::purge::purge(&db, &ctx.settings, args.dry_run).await;
    db.close().await;
    let report = report?;
    if args.format == ItemFormat::Json {
        output::json(&report)?;
        return Ok(Exit::Done);
    }
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for p in &report.pdfs {
        println!("{verb} {}", p.display());
    }
    for o in &report.orders_pseudonymised {
        println!(
            "{} personal data of order {o}",
            if args.dry_run {
                "would pseudonymise"
            } else {
                "pseudonymised"
            }
        );
    }
    println!(
        "{}: {} letter PDFs {verb}, {} kept because a letter in them is not posted yet; {} orders pseudonymised; {} old input-error rows {verb}",
        if args.dry_run { "dry run" } else { "purge" },
        report.pdfs.len(),
        report.pdfs_kept_unposted,
        report.orders_pseudonymised.len(),
        report.input_errors
    );
    Ok(Exit::Done)
}
