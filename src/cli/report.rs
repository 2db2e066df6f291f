//! `pinbrev report [--since DATE] [--format table|json|csv]`.

use chrono::{DateTime, Utc};
use clap::Args;

use super::output::{self, ListFormat};
use super::{Context, Exit};
use crate::local_time;
use crate::report::{self, Counts, Report, CSV_HEADERS, CSV_LAYOUT, SLA_WORKING_DAYS};

#[derive(Debug, Args)]
#[command(
    after_long_help = long_help(),
    after_help = EXAMPLES
)]
pub struct ReportArgs {
    /// Orders placed at or after this: a date YYYY-MM-DD (midnight in Europe/Oslo) or an
    /// RFC 3339 time [default: 30 days ago]
    #[arg(long, value_name = "DATE", value_parser = report::parse_since)]
    since: Option<DateTime<Utc>>,
    /// table: sections for reading; json: one JSON document; csv: one flat table (layout in
    /// --help)
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,
}

/// What `report --help` says after the options: the rules, then the CSV layout.
fn long_help() -> String {
    format!(
        "Reports the orders placed since --since (and the batches created since): counts by \
         status and reason, delivery-deadline (SLA) breaches, the orders waiting for a person \
         (held, returned) and each vendor's batches.\n\n\
         Deadline: an order placed on day D (Europe/Oslo) must be posted by the end of the \
         {SLA_WORKING_DAYS}rd working day after D; working days are Monday to Friday except \
         Norwegian public holidays. The posting time is the vendor's posted receipt. Rejected, \
         duplicate, cancelled and held orders have no deadline.\n\n\
         National ids are masked; no address is ever shown.\n\n{CSV_LAYOUT}\n\n{EXAMPLES}"
    )
}

const EXAMPLES: &str =
    "Examples:\n  pinbrev report\n  pinbrev report --since 2026-11-01 --format csv > november.csv";

pub async fn run(ctx: &Context, args: ReportArgs) -> anyhow::Result<Exit> {
    let db = ctx.existing_db().await?;
    let now = Utc::now();
    let since = args.since.unwrap_or_else(|| report::default_since(now));
    let report = report::generate(&db, since, now).await?;
    db.close().await;
    match args.format {
        ListFormat::Json => output::json(&report)?,
        ListFormat::Csv => output::csv(&CSV_HEADERS, &report::csv_rows(&report))?,
        ListFormat::Table => table(&report)?,
    }
    Ok(Exit::Done)
}

fn or_dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

fn counts(title: &str, header: &str, counts: &Counts) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = counts
        .0
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| vec![name.clone(), n.to_string()])
        .collect();
    let total: i64 = counts.0.iter().map(|(_, n)| n).sum();
    println!("{title} ({total} orders)");
    if rows.is_empty() {
        println!("  none");
        return Ok(());
    }
    output::table(&[header, "orders"], &rows)
}

fn section(title: &str, len: usize) -> bool {
    println!();
    println!("{title} ({len})");
    if len == 0 {
        println!("  none");
    }
    len > 0
}

fn table(r: &Report) -> std::io::Result<()> {
    println!(
        "Report on orders placed since {} (generated {})",
        local_time::show(&r.since),
        local_time::show(&r.generated_at)
    );
    println!();
    counts("Orders by status", "status", &r.by_status)?;
    println!();
    counts("Orders by reason", "reason", &r.by_reason)?;

    let s = &r.sla;
    println!();
    println!(
        "Delivery deadline: posted by the end of the {SLA_WORKING_DAYS}rd working day after the day of ordering ({}, Norwegian public holidays)",
        s.time_zone
    );
    println!(
        "{} orders judged: {} posted in time, {} posted late, {} overdue, {} not yet due",
        s.orders, s.posted_in_time, s.posted_late, s.overdue, s.not_yet_due
    );
    if section("SLA breaches", r.sla_breaches.len()) {
        let rows: Vec<Vec<String>> = r
            .sla_breaches
            .iter()
            .map(|b| {
                vec![
                    b.order_id.clone(),
                    b.status.code().to_string(),
                    local_time::show(&b.ordered_at),
                    b.deadline_day.to_string(),
                    local_time::show_or_dash(b.posted_at.as_deref()),
                    b.working_days_late.to_string(),
                ]
            })
            .collect();
        output::table(
            &[
                "order_id",
                "status",
                "ordered_at",
                "deadline_day",
                "posted_at",
                "working_days_late",
            ],
            &rows,
        )?;
    }

    if section("Held, waiting for a person", r.held.len()) {
        let rows: Vec<Vec<String>> = r
            .held
            .iter()
            .map(|h| {
                vec![
                    h.order_id.clone(),
                    h.national_id.clone(),
                    or_dash(&h.reason),
                    local_time::show_or_dash(h.held_since.as_deref()),
                ]
            })
            .collect();
        output::table(&["order_id", "national_id", "reason", "held_since"], &rows)?;
    }

    if section("Returned, waiting for a person", r.returned.len()) {
        let rows: Vec<Vec<String>> = r
            .returned
            .iter()
            .map(|x| {
                vec![
                    x.order_id.clone(),
                    or_dash(&x.letter_id),
                    x.national_id.clone(),
                    local_time::show_or_dash(x.returned_at.as_deref()),
                    or_dash(&x.reason),
                ]
            })
            .collect();
        output::table(
            &[
                "order_id",
                "letter_id",
                "national_id",
                "returned_at",
                "reason",
            ],
            &rows,
        )?;
    }

    if section("Vendors", r.vendors.len()) {
        for v in &r.vendors {
            println!(
                "vendor {}: {}, {}",
                v.vendor,
                crate::wording::count(v.batch_count, "batch", "batches"),
                crate::wording::count(v.letters, "letter", "letters")
            );
            let rows: Vec<Vec<String>> = v
                .batches
                .iter()
                .map(|b| {
                    let by: Vec<String> = b
                        .by_status
                        .0
                        .iter()
                        .map(|(s, n)| format!("{s} {n}"))
                        .collect();
                    vec![
                        b.batch_id.clone(),
                        local_time::show(&b.created_at),
                        b.state.clone(),
                        b.letters.to_string(),
                        by.join(", "),
                    ]
                })
                .collect();
            output::table(
                &[
                    "batch_id",
                    "created_at",
                    "state",
                    "letters",
                    "letters_by_status",
                ],
                &rows,
            )?;
        }
    }
    Ok(())
}
