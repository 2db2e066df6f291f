//! `pinbrev orders ingest|validate|list`.

use crate::wording::count;
use std::path::PathBuf;

use crate::row_errors::on_stderr;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::output::{self, ListFormat};
use super::{code_values, Context, Exit};
use crate::db::{OrderFilter, OrderRow};
use crate::diagnostics;
use crate::free_text::quote;
use crate::national_id::mask;
use crate::orders::{ingest_file, IngestError, OrderStatus, RejectReason};
use crate::validation::{Reissue, Validator};

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
            list(&db.list_orders(&filter).await?, args.format)?;
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

fn list(rows: &[OrderRow], format: ListFormat) -> anyhow::Result<()> {
    let listed: Vec<Listed> = rows
        .iter()
        .map(|o| Listed {
            order_id: &o.order_id,
            status: o.status,
            reason: o.reason.as_deref(),
            national_id: mask(&o.national_id),
            ordered_at: &o.ordered_at,
            channel: &o.channel,
            language: o.letter_language.as_deref().or(o.language.as_deref()),
            postal_zone: o.postal_zone.as_deref(),
            country: o.country.as_deref(),
        })
        .collect();
    if format == ListFormat::Json {
        return output::json(&listed);
    }
    let cells: Vec<Vec<String>> = listed
        .iter()
        .map(|l| {
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
        })
        .collect();
    match format {
        ListFormat::Csv => output::csv(&HEADERS, &cells),
        // The columns a narrow terminal can do without: the order's own id and status first.
        _ => Ok(output::pager::show(&output::fitted_table(
            &HEADERS,
            &cells,
            &output::Fit {
                droppable: &["channel", "language", "postal_zone", "country"],
                wrappable: &["reason", "ordered_at"],
            },
        ))?),
    }
}
