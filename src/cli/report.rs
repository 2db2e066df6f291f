//! `pinbrev report [--since DATE] [--format table|json|csv|html] [--out FILE]`.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};

use super::output;
use super::{Context, Exit};
use crate::local_time;
use crate::report::{
    self, BreachFile, Breaches, Counts, Report, SlaBreach, CSV_HEADERS, CSV_LAYOUT,
    SLA_WORKING_DAYS,
};

/// `--format` of `report`: the listing formats and the HTML page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Sections for reading.
    Table,
    /// One JSON document.
    Json,
    /// One flat table (layout in --help).
    Csv,
    /// One self-contained HTML page with charts (needs --out).
    Html,
}

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
    /// Output format (html needs --out)
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    /// Write the report to FILE instead of stdout (required for --format html): readable by
    /// the owner only, replaced atomically; stdout then says where it went
    #[arg(
        long,
        value_name = "FILE",
        required_if_eq("format", "html"),
        value_parser = out_path
    )]
    out: Option<PathBuf>,
}

/// `--out`: a path, not an empty one.
fn out_path(s: &str) -> Result<PathBuf, String> {
    if s.is_empty() {
        Err("name a file".to_string())
    } else {
        Ok(PathBuf::from(s))
    }
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
         JSON also has orders_per_day (per day of ordering in Europe/Oslo, by status) and \
         sla_breaches_per_day (per deadline day: posted_late, overdue).\n\n\
         --format html --out FILE writes one self-contained page (inline SVG charts, no script, \
         nothing loaded from the network) with the orders per day by status, the orders by \
         reason, the SLA breaches per deadline day and the letters and batches per vendor. \
         --out works with every format.\n\n\
         National ids are masked (the HTML page has none at all); no address is ever shown.\n\n\
         {CSV_LAYOUT}\n\n{EXAMPLES}"
    )
}

const EXAMPLES: &str = "Examples:\n  pinbrev report\n  pinbrev report --since 2026-11-01 --format csv > november.csv\n  \
     pinbrev report --since 2026-11-01 --format html --out november.html";

pub async fn run(ctx: &Context, args: ReportArgs) -> anyhow::Result<Exit> {
    let db = ctx.existing_db().await?;
    let now = Utc::now();
    let since = args.since.unwrap_or_else(|| report::default_since(now));
    let report = report::generate(&db, since, now).await?;
    db.close().await;
    match &args.out {
        // --format html always has --out (clap makes sure).
        None if args.format == ReportFormat::Html => {
            anyhow::bail!("--format html needs --out FILE")
        }
        None => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            write(&report, args.format, &mut out)?;
            out.flush()?;
        }
        Some(path) => {
            crate::files::write_private_atomic_with(path, |out| {
                write(&report, args.format, out).map_err(std::io::Error::other)
            })?;
            println!("report written to {}", path.display());
        }
    }
    Ok(Exit::Done)
}

/// The report in `format`, written as it is made: a report of a million SLA breaches is never
/// held as text too.
fn write(
    report: &Report<BreachFile>,
    format: ReportFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match format {
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, report)?;
            writeln!(out)?;
        }
        ReportFormat::Csv => {
            let mut w = crate::csv_output::SafeWriter::new(out);
            w.write_row(CSV_HEADERS)?;
            report::each_csv_row(report, |row| w.write_row(row))?;
            w.flush()?;
        }
        ReportFormat::Table => table(report, out)?,
        ReportFormat::Html => out.write_all(report::report_html::page(report).as_bytes())?,
    }
    Ok(())
}

fn or_dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

fn counts(out: &mut dyn Write, title: &str, header: &str, counts: &Counts) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = counts
        .0
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| vec![name.clone(), n.to_string()])
        .collect();
    let total: i64 = counts.0.iter().map(|(_, n)| n).sum();
    writeln!(out, "{title} ({total} orders)")?;
    if rows.is_empty() {
        out.write_all(b"  none\n")?;
        return Ok(());
    }
    output::stream_table(out, &[header, "orders"], || rows.iter().cloned())?;
    Ok(())
}

fn section(out: &mut dyn Write, title: &str, len: u64) -> anyhow::Result<bool> {
    writeln!(out)?;
    writeln!(out, "{title} ({len})")?;
    if len == 0 {
        out.write_all(b"  none\n")?;
    }
    Ok(len > 0)
}

/// The report as sections for reading.
fn table(r: &Report<BreachFile>, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "Report on orders placed since {} (generated {})",
        local_time::show(&r.since),
        local_time::show(&r.generated_at)
    )?;
    writeln!(out)?;
    counts(out, "Orders by status", "status", &r.by_status)?;
    writeln!(out)?;
    counts(out, "Orders by reason", "reason", &r.by_reason)?;

    let s = &r.sla;
    writeln!(out)?;
    writeln!(
        out,
        "Delivery deadline: posted by the end of the {SLA_WORKING_DAYS}rd working day after the day of ordering ({}, Norwegian public holidays)",
        s.time_zone
    )?;
    writeln!(
        out,
        "{} orders judged: {} posted in time, {} posted late, {} overdue, {} not yet due",
        s.orders, s.posted_in_time, s.posted_late, s.overdue, s.not_yet_due
    )?;
    if section(out, "SLA breaches", r.sla_breaches.count())? {
        let cells = |b: &SlaBreach| {
            [
                b.order_id.clone(),
                b.status.code().to_string(),
                local_time::show(&b.ordered_at),
                b.deadline_day.to_string(),
                local_time::show_or_dash(b.posted_at.as_deref()),
                b.working_days_late.to_string(),
            ]
        };
        // Read back twice from their file: for the columns' widths, then for the lines.
        let headers = [
            "order_id",
            "status",
            "ordered_at",
            "deadline_day",
            "posted_at",
            "working_days_late",
        ];
        let mut layout = output::TableLayout::new(&headers);
        r.sla_breaches.try_for_each(|b| {
            layout.fit(&cells(b));
            anyhow::Ok(())
        })?;
        layout.write_row(out, &headers)?;
        r.sla_breaches.try_for_each(|b| {
            layout.write_row(out, &cells(b))?;
            anyhow::Ok(())
        })?;
    }

    if section(out, "Held, waiting for a person", r.held.len() as u64)? {
        let rows = || {
            r.held.iter().map(|h| {
                vec![
                    h.order_id.clone(),
                    h.national_id.clone(),
                    or_dash(&h.reason),
                    local_time::show_or_dash(h.held_since.as_deref()),
                ]
            })
        };
        output::stream_table(
            out,
            &["order_id", "national_id", "reason", "held_since"],
            rows,
        )?;
    }

    if section(
        out,
        "Returned, waiting for a person",
        r.returned.len() as u64,
    )? {
        let rows = || {
            r.returned.iter().map(|x| {
                vec![
                    x.order_id.clone(),
                    or_dash(&x.letter_id),
                    x.national_id.clone(),
                    local_time::show_or_dash(x.returned_at.as_deref()),
                    or_dash(&x.reason),
                ]
            })
        };
        output::stream_table(
            out,
            &[
                "order_id",
                "letter_id",
                "national_id",
                "returned_at",
                "reason",
            ],
            rows,
        )?;
    }

    if section(out, "Vendors", r.vendors.len() as u64)? {
        for v in &r.vendors {
            writeln!(
                out,
                "vendor {}: {}, {}",
                v.vendor,
                crate::wording::count(v.batch_count, "batch", "batches"),
                crate::wording::count(v.letters, "letter", "letters")
            )?;
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
            output::stream_table(
                out,
                &[
                    "batch_id",
                    "created_at",
                    "state",
                    "letters",
                    "letters_by_status",
                ],
                || rows.iter().cloned(),
            )?;
        }
    }
    Ok(())
}
