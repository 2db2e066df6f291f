//! `pinbrev orders ingest|validate|list`.

use crate::wording::count;
use std::path::PathBuf;

use crate::row_errors::on_stderr;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::output::{self, ListFormat};
use super::{code_values, Context, Exit};
use crate::csv_output::SafeWriter;
use crate::db::{Db, OrderFilter, OrderRow, TempStore};
use crate::diagnostics;
use crate::free_text::quote;
use crate::national_id::mask;
use crate::orders::{ingest_file, IngestError, OrderStatus, RejectReason};
use crate::validation::{Reissue, Validator};
use serde::ser::{SerializeSeq, Serializer as _};
use std::io::{BufRead, BufReader, BufWriter, Seek, Write};

#[derive(Debug, Subcommand)]
pub enum OrdersCommand {
    /// Ingest order CSV files.
    #[command(
        after_help = "Examples:\n  pinbrev orders ingest orders-2026-11-23-web.csv orders-2026-11-23-support.csv"
    )]
    Ingest {
        /// Order CSV files (order_id,national_id,ordered_at[,channel,language]), read in turn.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Resolve and validate every `received` order, oldest first.
    #[command(after_help = "Examples:\n  pinbrev orders validate")]
    Validate,
    /// List orders.
    List(ListArgs),
    /// Cancel an order not yet posted; a letter already made for it stops being valid.
    #[command(
        after_help = "Examples:\n  pinbrev orders cancel WEB-20261123-0001 --reason \"the customer called\""
    )]
    Cancel {
        /// The order to cancel.
        order_id: String,
        /// Why (kept in the order's history).
        #[arg(long)]
        reason: String,
    },
    /// A new letter with new codes for a posted or returned order (made by the next batch).
    #[command(after_help = "Examples:\n  pinbrev orders reissue WEB-20261123-0001")]
    Reissue {
        /// The posted or returned order that needs new codes.
        order_id: String,
    },
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  pinbrev orders list --status held\n  pinbrev orders list --since 2026-11-23 --limit 50\n  pinbrev orders list --reason duplicate --format csv > duplicates.csv"
)]
pub struct ListArgs {
    /// Only orders in this status.
    #[arg(long, value_parser = code_values(OrderStatus::ALL, OrderStatus::code))]
    status: Option<OrderStatus>,
    /// Only orders with this reason code.
    #[arg(long, value_parser = code_values(RejectReason::ALL, RejectReason::code))]
    reason: Option<RejectReason>,
    /// Only orders placed at or after this: a date YYYY-MM-DD (midnight in Europe/Oslo) or an
    /// RFC 3339 time.
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// At most N orders: the most recent N, listed oldest first.
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
    /// Output format: an aligned table fitted to the terminal, or JSON or CSV with RFC 3339 times.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,
}

fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    pinbrev_core::report::parse_since(s)
}

pub async fn run(ctx: &Context, cmd: OrdersCommand) -> anyhow::Result<Exit> {
    let db = match cmd {
        OrdersCommand::List { .. } => ctx.existing_db().await?,
        _ => ctx.db().await?,
    };
    let exit = match cmd {
        OrdersCommand::Ingest { files } => {
            let mut exit = Exit::Done;
            for file in &files {
                match ingest_file(&db, file, &mut on_stderr("row error")).await {
                    Ok(report) => {
                        println!(
                            "{}: {}, {} already known, {}",
                            report.file,
                            count(report.new, "new order", "new orders"),
                            report.already_known,
                            count(report.row_errors, "row error", "row errors")
                        );
                    }
                    Err(IngestError::File(e)) => {
                        diagnostics::error_with(
                            &format!("{e}; nothing was read from this file"),
                            &diagnostics::Fields::file(file),
                        );
                        exit = Exit::InputUnusable;
                    }
                    Err(e @ IngestError::NoUsableRow { .. }) => {
                        diagnostics::error_with(&e.to_string(), &diagnostics::Fields::file(file));
                        exit = Exit::InputUnusable;
                    }
                    Err(IngestError::Db(e)) => return Err(e.into()),
                }
            }
            exit
        }
        OrdersCommand::Validate => {
            let report = Validator::new(&db, &ctx.settings).await?.run().await?;
            let statuses: Vec<String> = report
                .by_status
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect();
            println!(
                "validated {}: {}",
                count(report.orders, "order", "orders"),
                if statuses.is_empty() {
                    "none waiting".into()
                } else {
                    statuses.join(", ")
                }
            );
            if !report.by_reason.is_empty() {
                let reasons: Vec<String> = report
                    .by_reason
                    .iter()
                    .map(|(r, n)| format!("{r} {n}"))
                    .collect();
                println!("reasons: {}", reasons.join(", "));
            }
            Exit::Done
        }
        OrdersCommand::Cancel { order_id, reason } => match db
            .cancel_order(&order_id, &reason, &super::operator())
            .await?
        {
            Some(before) => {
                let letter = if matches!(before, OrderStatus::Batched | OrderStatus::Printed) {
                    "; its letter is with the vendor, but its codes no longer work"
                } else {
                    ""
                };
                println!("{order_id}: cancelled (was {before}){letter}");
                Exit::Done
            }
            None => {
                match db.order(&order_id).await? {
                    Some(o) => diagnostics::error_with(
                        &format!(
                            "{order_id} is {}; only orders not yet posted can be cancelled",
                            o.status
                        ),
                        &diagnostics::Fields::order(&order_id),
                    ),
                    None => diagnostics::error(&format!("no order {}", quote(&order_id))),
                }
                Exit::Failed
            }
        },
        OrdersCommand::Reissue { order_id } => {
            let validator = Validator::new(&db, &ctx.settings).await?;
            match validator.reissue(&order_id, &super::operator()).await? {
                Reissue::Done(OrderStatus::Validated, _) => {
                    println!("{order_id}: validated again; the next batch makes its new letter with new codes, and the old codes stop working when that letter is published");
                    Exit::Done
                }
                Reissue::Done(status, reason) => {
                    println!("{order_id}: {status} ({}) on validation against the current register; no new letter", reason.unwrap_or_default());
                    Exit::Done
                }
                Reissue::NotAllowed => {
                    let status = db
                        .order(&order_id)
                        .await?
                        .map(|o| o.status.code().to_string());
                    match status {
                        Some(s) => diagnostics::error_with(
                            &format!(
                                "{order_id} is {s}; only posted or returned orders can be reissued"
                            ),
                            &diagnostics::Fields::order(&order_id),
                        ),
                        None => diagnostics::error(&format!("no order {}", quote(&order_id))),
                    }
                    Exit::Failed
                }
            }
        }
        OrdersCommand::List(args) => {
            let filter = OrderFilter {
                status: args.status,
                reason: args.reason.map(|r| r.code().to_string()),
                since: args.since.map(pinbrev_core::order::timestamp),
                limit: args.limit.map(i64::from),
            };
            list(&db, &filter, args.format).await?;
            Exit::Done
        }
    };
    db.close().await;
    Ok(exit)
}

/// An order as listed: national id masked, no address.
#[derive(Debug, Serialize)]
struct Listed<'a> {
    order_id: &'a str,
    status: OrderStatus,
    reason: Option<&'a str>,
    national_id: String,
    ordered_at: &'a str,
    channel: &'a str,
    language: Option<&'a str>,
    postal_zone: Option<&'a str>,
    country: Option<&'a str>,
}

const HEADERS: [&str; 9] = [
    "order_id",
    "status",
    "reason",
    "national_id",
    "ordered_at",
    "channel",
    "language",
    "postal_zone",
    "country",
];

/// The order as listed: its national id masked.
fn listed(o: &OrderRow) -> Listed<'_> {
    Listed {
        order_id: &o.order_id,
        status: o.status,
        reason: o.reason.as_deref(),
        national_id: mask(&o.national_id),
        ordered_at: &o.ordered_at,
        channel: &o.channel,
        language: o.letter_language.as_deref().or(o.language.as_deref()),
        postal_zone: o.postal_zone.as_deref(),
        country: o.country.as_deref(),
    }
}

/// The order's cells under [`HEADERS`]: for the table, times in local time and `-` for
/// nothing; for CSV, as stored and empty.
fn cells(l: &Listed<'_>, format: ListFormat) -> Vec<String> {
    let opt = |v: Option<&str>| {
        v.unwrap_or(if format == ListFormat::Table { "-" } else { "" })
            .to_string()
    };
    vec![
        l.order_id.to_string(),
        l.status.code().to_string(),
        opt(l.reason),
        l.national_id.clone(),
        if format == ListFormat::Table {
            crate::local_time::show(l.ordered_at)
        } else {
            l.ordered_at.to_string()
        },
        l.channel.to_string(),
        opt(l.language),
        opt(l.postal_zone),
        opt(l.country),
    ]
}

/// Tables of more rows than this are not fitted to the terminal (comfy-table holds every row
/// at about 2.5 KB): they are written at full width, one line per row, as for a pipe.
const FITTED_ROWS: usize = 10_000;

/// Lists the orders as they are read: JSON and CSV row by row, the table's rows kept in a file
/// without a name until the widths of its columns are known. `orders list` of a million orders
/// holds one at a time.
async fn list(db: &Db, filter: &OrderFilter, format: ListFormat) -> anyhow::Result<()> {
    // Listed oldest first: SQLite sorts every order listed, on disk (files without a name),
    // not in this process's memory.
    db.keep_temporary_data(TempStore::Disk).await?;
    match format {
        ListFormat::Json => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            let mut json = serde_json::Serializer::pretty(&mut out);
            let mut seq = json.serialize_seq(None)?;
            db.for_each_order(filter, |o| {
                seq.serialize_element(&listed(&o))?;
                anyhow::Ok(())
            })
            .await?;
            SerializeSeq::end(seq)?;
            writeln!(out)?;
            out.flush()?;
        }
        ListFormat::Csv => {
            let mut w = SafeWriter::new(BufWriter::new(std::io::stdout().lock()));
            w.write_row(HEADERS)?;
            db.for_each_order(filter, |o| {
                w.write_row(cells(&listed(&o), format))?;
                anyhow::Ok(())
            })
            .await?;
            w.flush()?;
        }
        ListFormat::Table => {
            // Masked ids and no address, in a file only this process can reach, freed when
            // it ends however it ends.
            let spill = crate::files::unnamed_private_file().with_context(|| {
                format!(
                    "cannot keep the listing in a temporary file under {}",
                    std::env::temp_dir().display()
                )
            })?;
            let mut layout = output::TableLayout::new(&HEADERS);
            let mut rows = 0usize;
            {
                let mut w = BufWriter::new(&spill);
                db.for_each_order(filter, |o| {
                    let row = cells(&listed(&o), format);
                    layout.fit(&row);
                    serde_json::to_writer(&mut w, &row)?;
                    w.write_all(b"\n")?;
                    rows += 1;
                    anyhow::Ok(())
                })
                .await?;
                w.flush()?;
            }
            (&spill).rewind()?;
            let mut spilled = BufReader::new(&spill).lines().map(|line| {
                let row: Vec<String> = serde_json::from_str(&line?)?;
                anyhow::Ok(row)
            });
            let mut out = output::pager::open();
            if output::terminal_width().is_some() && rows <= FITTED_ROWS {
                let rows = spilled.collect::<anyhow::Result<Vec<_>>>()?;
                // The columns a narrow terminal can do without: the order's own id and
                // status first.
                let fit = output::Fit {
                    droppable: &["channel", "language", "postal_zone", "country"],
                    wrappable: &["reason", "ordered_at"],
                };
                out.write_all(output::fitted_table(&HEADERS, &rows, &fit).as_bytes())?;
            } else {
                layout.write_row(&mut out, &HEADERS)?;
                spilled.try_for_each(|row| {
                    layout.write_row(&mut out, &row?)?;
                    anyhow::Ok(())
                })?;
            }
            out.finish()?;
        }
    }
    Ok(())
}
