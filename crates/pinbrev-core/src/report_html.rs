//! `pinbrev report --format html`: the [`Report`] as one self-contained HTML page with charts, for
//! a team lead to look at rather than read.
//!
//! The page is one UTF-8 file: inline CSS, inline SVG charts, no script at all, and no reference
//! to anything outside it (no URL, no web font, no image); a `Content-Security-Policy` meta tag
//! forbids a browser to load anything even so. It shows the period and the time it was made in
//! Europe/Oslo time ([`local_time`]), the orders per day by status (stacked bars), the orders by
//! reason (horizontal bars), the SLA breaches per deadline day, and the letters and batches per
//! vendor, with the totals and the breached orders as tables.
//!
//! Every number a chart shows is in the page as text (each bar's `<title>`, the tooltip, and the
//! labels) and as attributes a program can read from the rendered page: each bar is
//! `<rect data-series="S" data-key="K" [data-status="X"] data-value="N">`, with the series named
//! as in `--format json`:
//!
//! | `data-series` | `data-key` | `data-status` | `data-value` |
//! |---|---|---|---|
//! | `orders_per_day` | the day, `YYYY-MM-DD` | the status | orders |
//! | `by_reason` | the reason code | – | orders |
//! | `sla_breaches_per_day` | the deadline day | `posted_late` or `overdue` | orders |
//! | `vendor_letters` | the vendor | the letters' outcome (as a batch's `by_status`) | letters |
//! | `vendor_batches` | the vendor | – | batches |
//!
//! Bars are drawn for non-zero counts only. All text from the data (reason codes, vendor names,
//! statuses) goes through [`escape`]. No national id, not even masked, and no address is on the
//! page: the held and returned orders are only counted (their lists are in the other formats).

use std::borrow::Cow;
use std::fmt::Write;

use chrono::NaiveDate;

use crate::local_time;
use crate::report::{Breaches, Report, SLA_WORKING_DAYS};

/// Writes to a `String`, which cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}

/// The breached orders listed in the table under the chart; the rest are counted.
pub const BREACH_ROWS: usize = crate::report::FIRST_BREACHES;

/// Text made safe for HTML, in element content and in quoted attribute values alike: `&`, `<`,
/// `>`, `"` and `'` become character references.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The colour of a status, letter outcome or breach kind in the charts and legends.
fn colour(name: &str) -> &'static str {
    match name {
        "received" => "#9aa5b1",
        "validated" => "#4e79a7",
        "rejected" => "#e15759",
        "held" => "#b07aa1",
        "duplicate" => "#ff9da7",
        "cancelled" => "#bab0ac",
        "batched" => "#76b7b2",
        "printed" => "#8cd17d",
        "posted" => "#2f8f4e",
        "returned" => "#f28e2b",
        "superseded" => "#9c755f",
        "failed" => "#b6202c",
        "pending" => "#c9c9c9",
        "issued" => "#17becf",
        "posted_late" => "#f28e2b",
        "overdue" => "#d62728",
        _ => "#7f7f7f",
    }
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0;\
background:#f6f7f9;color:#1d2430}\
main{max-width:1040px;margin:0 auto;padding:24px}\
h1{font-size:26px;margin:0 0 4px}\
h2{font-size:19px;margin:0 0 8px}\
.period{color:#4a5566;margin:0 0 20px}\
section{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:16px 20px;\
margin:0 0 18px}\
.tiles{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 18px}\
.tile{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:10px 16px;\
min-width:120px}\
.tile b{display:block;font-size:26px}\
.tile span{color:#4a5566;font-size:13px}\
.empty{color:#4a5566;font-style:italic}\
.note{color:#4a5566;font-size:13px}\
svg{display:block;width:100%;height:auto}\
svg text{font-size:12px;fill:#1d2430}\
svg .axis{stroke:#9aa5b1;stroke-width:1}\
svg .grid{stroke:#e4e7ec;stroke-width:1}\
ul.legend{list-style:none;padding:0;margin:8px 0 0;display:flex;flex-wrap:wrap;gap:14px;\
font-size:13px}\
ul.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;\
vertical-align:-1px}\
table{border-collapse:collapse;font-size:14px}\
th,td{text-align:left;padding:3px 14px 3px 0;border-bottom:1px solid #eef0f3}\
td.n,th.n{text-align:right}\
.cols{display:flex;flex-wrap:wrap;gap:40px;margin-top:14px}\
section>table{margin-top:14px}\
h3{font-size:15px;margin:14px 0 4px}\
@media print{body{background:#fff}section{break-inside:avoid}}";

/// The page of a report.
pub fn page<B: Breaches>(report: &Report<B>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let since = local_time::show(&report.since);
    let generated = local_time::show(&report.generated_at);
    let total: i64 = report.by_status.0.iter().map(|(_, n)| n).sum();
    w!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>pinbrev report: orders since {since} (generated {generated})</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <h1>PIN-code letters: report</h1>\n\
         <p class=\"period\">Orders placed since <time datetime=\"{since_raw}\">{since}</time>; \
         generated <time datetime=\"{generated_raw}\">{generated}</time> (Europe/Oslo time).</p>\n",
        since = escape(&since),
        generated = escape(&generated),
        since_raw = escape(&report.since),
        generated_raw = escape(&report.generated_at),
    );
    tiles(&mut out, report, total);
    if total == 0 {
        out.push_str(
            "<section id=\"orders\"><h2>Orders</h2><p class=\"empty\">There were no orders in this period.</p>\
             </section>\n",
        );
    } else {
        orders_section(&mut out, report, total);
        reasons_section(&mut out, report);
        breaches_section(&mut out, report);
    }
    vendors_section(&mut out, report);
    let waiting = report.held.len() + report.returned.len();
    w!(
        out,
        "<section id=\"waiting\"><h2>Waiting for a person</h2><p>{held} held (address protected), \
         {returned} returned by the post office.{list}</p></section>\n",
        held = report.held.len(),
        returned = report.returned.len(),
        list = if waiting > 0 {
            " Their lists are in <code>pinbrev report</code> (table, JSON or CSV), with the \
             national ids masked."
        } else {
            ""
        },
    );
    out.push_str(
        "<p class=\"note\">Made by pinbrev. Days are days in Europe/Oslo. No national id and no \
         address is on this page.</p>\n</main>\n</body>\n</html>\n",
    );
    out
}

fn tiles<B: Breaches>(out: &mut String, r: &Report<B>, total: i64) {
    let letters: i64 = r.vendors.iter().map(|v| v.letters).sum();
    let batches: u64 = r.vendors.iter().map(|v| v.batch_count).sum();
    let tiles: [(String, &str); 6] = [
        (total.to_string(), "orders"),
        (r.by_status.get("rejected").to_string(), "rejected"),
        (r.by_status.get("posted").to_string(), "posted"),
        (
            (r.sla.posted_late + r.sla.overdue).to_string(),
            "SLA breaches",
        ),
        (batches.to_string(), "batches"),
        (letters.to_string(), "letters in batches"),
    ];
    out.push_str("<div class=\"tiles\">");
    for (n, what) in tiles {
        w!(
            out,
            "<div class=\"tile\"><b>{n}</b><span>{what}</span></div>"
        );
    }
    out.push_str("</div>\n");
}

fn orders_section<B: Breaches>(out: &mut String, r: &Report<B>, total: i64) {
    out.push_str("<section id=\"orders\"><h2>Orders per day, by status</h2>\n");
    let days: Vec<(NaiveDate, Vec<(String, i64)>)> = r
        .orders_per_day
        .iter()
        .map(|d| (d.day, d.by_status.0.clone()))
        .collect();
    day_chart(out, "orders_per_day", "orders", &days);
    legend(
        out,
        r.by_status
            .0
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(s, _)| s.as_str()),
    );
    out.push_str("<div class=\"cols\"><table><tr><th>status</th><th class=\"n\">orders</th></tr>");
    for (status, n) in r.by_status.0.iter().filter(|(_, n)| *n > 0) {
        w!(
            out,
            "<tr><td>{}</td><td class=\"n\">{n}</td></tr>",
            escape(status)
        );
    }
    w!(
        out,
        "<tr><th>all</th><th class=\"n\">{total}</th></tr></table></div>\n</section>\n"
    );
}

fn reasons_section<B: Breaches>(out: &mut String, r: &Report<B>) {
    out.push_str("<section id=\"reasons\"><h2>Orders by reason (rejected, held, duplicate)</h2>\n");
    if r.by_reason.0.is_empty() {
        out.push_str("<p class=\"empty\">No order had a reason in this period.</p>");
    } else {
        let rows: Vec<HBar> = r
            .by_reason
            .0
            .iter()
            .map(|(reason, n)| HBar {
                key: reason.clone(),
                parts: vec![(None, *n)],
                after: n.to_string(),
            })
            .collect();
        hbar_chart(out, "by_reason", "orders", &rows);
    }
    out.push_str("</section>\n");
}

fn breaches_section<B: Breaches>(out: &mut String, r: &Report<B>) {
    let s = &r.sla;
    w!(
        out,
        "<section id=\"breaches\"><h2>SLA breaches per deadline day</h2>\n<p>Rule: posted by the end of the \
         {SLA_WORKING_DAYS}rd working day after the day of ordering (Europe/Oslo, Norwegian \
         public holidays). {} orders judged: {} posted in time, {} posted late, {} overdue, {} \
         not yet due.</p>\n",
        s.orders,
        s.posted_in_time,
        s.posted_late,
        s.overdue,
        s.not_yet_due
    );
    if r.sla_breaches_per_day.is_empty() {
        out.push_str("<p class=\"empty\">No SLA breaches.</p></section>\n");
        return;
    }
    let days: Vec<(NaiveDate, Vec<(String, i64)>)> = r
        .sla_breaches_per_day
        .iter()
        .map(|d| {
            let mut parts = Vec::new();
            for (kind, n) in [("posted_late", d.posted_late), ("overdue", d.overdue)] {
                if n > 0 {
                    parts.push((kind.to_string(), i64::try_from(n).unwrap_or(i64::MAX)));
                }
            }
            (d.day, parts)
        })
        .collect();
    day_chart(out, "sla_breaches_per_day", "breaches", &days);
    legend(out, ["posted_late", "overdue"].into_iter());
    out.push_str(
        "<table><tr><th>order</th><th>status</th><th>ordered</th><th>deadline day</th>\
         <th>posted</th><th class=\"n\">working days late</th></tr>",
    );
    for b in r.sla_breaches.first() {
        w!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            escape(&b.order_id),
            b.status.code(),
            escape(&local_time::show(&b.ordered_at)),
            b.deadline_day,
            b.posted_at
                .as_deref()
                .map_or(Cow::Borrowed("not posted"), |p| Cow::Owned(
                    escape(&local_time::show(p)).into_owned()
                )),
            b.working_days_late
        );
    }
    out.push_str("</table>");
    if r.sla_breaches.count() > BREACH_ROWS as u64 {
        w!(
            out,
            "<p class=\"note\">and {} more: all are in <code>pinbrev report --format csv</code>.</p>",
            r.sla_breaches.count() - BREACH_ROWS as u64
        );
    }
    out.push_str("</section>\n");
}

fn vendors_section<B: Breaches>(out: &mut String, r: &Report<B>) {
    out.push_str("<section id=\"vendors\"><h2>Batches and letters per vendor</h2>\n");
    if r.vendors.is_empty() {
        out.push_str("<p class=\"empty\">No batches were created in this period.</p></section>\n");
        return;
    }
    let mut outcomes: Vec<String> = Vec::new();
    let letters: Vec<HBar> = r
        .vendors
        .iter()
        .map(|v| {
            let mut parts: Vec<(Option<String>, i64)> = Vec::new();
            for b in &v.batches {
                for (outcome, n) in &b.by_status.0 {
                    match parts
                        .iter_mut()
                        .find(|(o, _)| o.as_deref() == Some(outcome))
                    {
                        Some((_, total)) => *total += n,
                        None => parts.push((Some(outcome.clone()), *n)),
                    }
                    if !outcomes.contains(outcome) {
                        outcomes.push(outcome.clone());
                    }
                }
            }
            HBar {
                key: v.vendor.clone(),
                parts,
                after: format!(
                    "{} in {}",
                    crate::wording::count(v.letters, "letter", "letters"),
                    crate::wording::count(v.batch_count, "batch", "batches")
                ),
            }
        })
        .collect();
    out.push_str("<h3>Letters, by where they are now</h3>\n");
    hbar_chart(out, "vendor_letters", "letters", &letters);
    legend(out, outcomes.iter().map(String::as_str));
    let batches: Vec<HBar> = r
        .vendors
        .iter()
        .map(|v| HBar {
            key: v.vendor.clone(),
            parts: vec![(None, i64::try_from(v.batch_count).unwrap_or(i64::MAX))],
            after: v.batch_count.to_string(),
        })
        .collect();
    out.push_str("<h3>Batches</h3>\n");
    hbar_chart(out, "vendor_batches", "batches", &batches);
    out.push_str("</section>\n");
}

fn legend<'a>(out: &mut String, names: impl Iterator<Item = &'a str>) {
    out.push_str("<ul class=\"legend\">");
    for name in names {
        w!(
            out,
            "<li><i style=\"background:{}\"></i>{}</li>",
            colour(name),
            escape(name)
        );
    }
    out.push_str("</ul>\n");
}

/// A round number at least `x`: 1, 2 or 5 times a power of ten.
fn nice_step(x: f64) -> i64 {
    let mut step: i64 = 1;
    loop {
        for m in [1, 2, 5] {
            if (step * m) as f64 >= x {
                return step * m;
            }
        }
        match step.checked_mul(10) {
            Some(s) => step = s,
            None => return step,
        }
    }
}

/// The width of the charts' coordinate system (they scale to the page).
const WIDTH: f64 = 960.0;

/// Stacked vertical bars, one slot per day from the first to the last day given (days without
/// data are gaps), each bar's parts stacked from the bottom in the order given.
fn day_chart(out: &mut String, series: &str, unit: &str, days: &[(NaiveDate, Vec<(String, i64)>)]) {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return;
    };
    let (left, right, top, plot_h, bottom) = (56.0, 12.0, 14.0, 240.0, 44.0);
    let plot_w = WIDTH - left - right;
    let slots = (last.0 - first.0).num_days().max(0) as f64 + 1.0;
    let slot = plot_w / slots;
    let bar_w = (slot * 0.8).max(0.5);
    let max = days
        .iter()
        .map(|(_, parts)| parts.iter().map(|(_, n)| n).sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let step = nice_step(max as f64 / 4.0);
    let y_max = ((max + step - 1) / step * step) as f64;
    let height = top + plot_h + bottom;
    w!(
        out,
        "<svg viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{series}\" \
         data-chart=\"{series}\">\n"
    );
    // Grid and y labels.
    let mut tick = 0;
    while tick as f64 <= y_max {
        let y = top + plot_h - tick as f64 / y_max * plot_h;
        w!(
            out,
            "<line class=\"grid\" x1=\"{left}\" x2=\"{x2:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{lx}\" y=\"{ty:.1}\" text-anchor=\"end\">{tick}</text>\n",
            x2 = left + plot_w,
            lx = left - 6.0,
            ty = y + 4.0
        );
        tick += step;
    }
    w!(
        out,
        "<line class=\"axis\" x1=\"{left}\" x2=\"{x2:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\n",
        x2 = left + plot_w,
        y = top + plot_h
    );
    // X labels: at most about ten, evenly spaced, always the first day.
    let label_every = (slots / 10.0).ceil().max(1.0) as i64;
    let mut index = 0;
    while index as f64 <= slots - 1.0 {
        let day = first.0 + chrono::Duration::days(index);
        let x = left + (index as f64 + 0.5) * slot;
        w!(
            out,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">{day}</text>\n",
            y = top + plot_h + 18.0
        );
        index += label_every;
    }
    // The bars.
    let show_totals = slot >= 24.0;
    for (day, parts) in days {
        let index = (*day - first.0).num_days() as f64;
        let x = left + index * slot + (slot - bar_w) / 2.0;
        let day_total: i64 = parts.iter().map(|(_, n)| n).sum();
        let mut base = top + plot_h;
        w!(out, "<g><title>{day}: {day_total} {unit}</title>\n");
        for (name, n) in parts.iter().filter(|(_, n)| *n > 0) {
            let h = *n as f64 / y_max * plot_h;
            base -= h;
            w!(
                out,
                "<rect x=\"{x:.2}\" y=\"{base:.2}\" width=\"{bar_w:.2}\" height=\"{h:.2}\" \
                 fill=\"{fill}\" data-series=\"{series}\" data-key=\"{day}\" \
                 data-status=\"{name}\" data-value=\"{n}\"><title>{day} {name}: {n} {unit}</title></rect>\n",
                fill = colour(name),
                name = escape(name),
            );
        }
        if show_totals {
            w!(
                out,
                "<text x=\"{cx:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">{day_total}</text>\n",
                cx = x + bar_w / 2.0,
                ty = base - 4.0
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
}

/// One row of a horizontal bar chart.
struct HBar {
    /// The row's label and `data-key`.
    key: String,
    /// The bar's parts left to right: (`data-status`, count); one part without a status for a
    /// simple bar.
    parts: Vec<(Option<String>, i64)>,
    /// Written after the bar.
    after: String,
}

/// Labels longer than this are cut in the chart (the tooltip and `data-key` keep them whole).
const LABEL_CHARS: usize = 30;

/// Horizontal bars, one row each, scaled to the longest.
fn hbar_chart(out: &mut String, series: &str, unit: &str, rows: &[HBar]) {
    let (label_w, right, row_h, bar_h, top) = (230.0, 150.0, 26.0, 18.0, 6.0);
    let plot_w = WIDTH - label_w - right;
    let max = rows
        .iter()
        .map(|r| r.parts.iter().map(|(_, n)| n).sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let height = top * 2.0 + row_h * rows.len() as f64;
    w!(
        out,
        "<svg viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{series}\" \
         data-chart=\"{series}\">\n"
    );
    for (i, row) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let total: i64 = row.parts.iter().map(|(_, n)| n).sum();
        let key = escape(&row.key);
        let shown: String = if row.key.chars().count() > LABEL_CHARS {
            let cut: String = row.key.chars().take(LABEL_CHARS - 1).collect();
            format!("{cut}…")
        } else {
            row.key.clone()
        };
        w!(
            out,
            "<g><title>{key}: {total} {unit}</title>\
             <text x=\"{lx}\" y=\"{ty:.1}\" text-anchor=\"end\">{shown}</text>\n",
            lx = label_w - 8.0,
            ty = y + bar_h - 4.0,
            shown = escape(&shown),
        );
        let mut x = label_w;
        for (status, n) in row.parts.iter().filter(|(_, n)| *n > 0) {
            let width = *n as f64 / max * plot_w;
            let (fill, status_attr, what) = match status {
                Some(s) => (
                    colour(s),
                    format!(" data-status=\"{}\"", escape(s)),
                    format!(" {}", escape(s)),
                ),
                None => ("#4e79a7", String::new(), String::new()),
            };
            w!(
                out,
                "<rect x=\"{x:.2}\" y=\"{y:.1}\" width=\"{width:.2}\" height=\"{bar_h}\" \
                 fill=\"{fill}\" data-series=\"{series}\" data-key=\"{key}\"{status_attr} \
                 data-value=\"{n}\"><title>{key}{what}: {n} {unit}</title></rect>\n"
            );
            x += width;
        }
        w!(
            out,
            "<text x=\"{tx:.1}\" y=\"{ty:.1}\">{after}</text></g>\n",
            tx = x + 6.0,
            ty = y + bar_h - 4.0,
            after = escape(&row.after),
        );
    }
    out.push_str("</svg>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{parse_ordered_at, OrderStatus};
    use crate::report::{
        build, BatchLetterRow, HeldRow, HourStatusRow, ReportData, ReturnedRow, SlaJudge,
        SlaOrderRow,
    };
    use std::collections::BTreeMap;

    fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
        parse_ordered_at(s).unwrap()
    }

    const HOSTILE: &str = "<script>alert(\"x\")</script> & 'y'";

    fn batch(id: &str, vendor: &str, letter: &str, order: &str, n: i64) -> BatchLetterRow {
        BatchLetterRow {
            batch_id: id.into(),
            vendor: vendor.into(),
            created_at: "2026-11-23T01:00:00.000000Z".into(),
            state: "published".into(),
            letter_state: Some(letter.into()),
            order_status: Some(order.into()),
            letters: n,
        }
    }

    fn hour(h: &str, status: &str, n: i64) -> HourStatusRow {
        HourStatusRow {
            hour: h.into(),
            status: status.into(),
            orders: n,
        }
    }

    fn sample() -> Report {
        let mut late = SlaOrderRow {
            order_id: "WEB-1".into(),
            status: OrderStatus::Posted,
            ordered_at: "2026-11-02T09:00:00.000000Z".into(),
            posted_receipt_at: None,
            posted_event_at: Some("2026-11-20T09:00:00.000000Z".into()),
            returned_receipt_at: None,
            returned_event_at: None,
        };
        let overdue = SlaOrderRow {
            order_id: "WEB-2".into(),
            posted_event_at: None,
            status: OrderStatus::Batched,
            ..late.clone()
        };
        late.order_id = "WEB-1".into();
        let (judged, breaches) = SlaJudge::new(t("2026-11-23T07:15:00Z"))
            .judge_all([late, overdue])
            .unwrap();
        let data = ReportData {
            by_status: vec![
                ("posted".into(), 13),
                ("batched".into(), 1),
                ("rejected".into(), 4),
                ("held".into(), 1),
                ("returned".into(), 1),
            ],
            by_reason: vec![
                ("deceased".into(), 3),
                (HOSTILE.into(), 1),
                ("address_protected".into(), 1),
            ],
            held: vec![HeldRow {
                order_id: "WEB-9".into(),
                national_id: "31888200000".into(),
                reason: Some("address_protected".into()),
                held_at: None,
            }],
            returned: vec![ReturnedRow {
                order_id: "WEB-8".into(),
                national_id: "01019012345".into(),
                letter_id: Some("L1".into()),
                receipt_at: Some("2026-11-21T08:00:00.000000Z".into()),
                receipt_detail: Some("Storgata 1, 0155 OSLO".into()),
                event_at: None,
            }],
            batches: vec![
                batch("B1", "printco", "issued", "posted", 12),
                batch("B1", "printco", "failed", "batched", 1),
                batch("B2", "printco", "returned", "returned", 1),
                batch("B3", HOSTILE, "issued", "posted", 1),
            ],
            orders_by_hour: vec![
                hour("2026-11-02T09", "posted", 12),
                hour("2026-11-02T09", "batched", 1),
                hour("2026-11-02T23", "rejected", 4), // 00:xx on 3 November in Oslo
                hour("2026-11-05T10", "held", 1),
                hour("2026-11-05T10", "returned", 1),
                hour("2026-11-05T11", "posted", 1),
            ],
        };
        build(
            data,
            judged,
            breaches,
            t("2026-11-01T00:00:00Z"),
            t("2026-11-23T07:15:00Z"),
        )
        .unwrap()
    }

    /// (series, key, status) → value of every bar, attributes unescaped.
    fn bars(html: &str) -> BTreeMap<(String, String, String), i64> {
        let rect = regex::Regex::new(r"<rect ([^>]*)>").unwrap();
        let attr = regex::Regex::new(r#"(data-[a-z]+)="([^"]*)""#).unwrap();
        let unescape = |s: &str| {
            s.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&")
        };
        let mut out = BTreeMap::new();
        for r in rect.captures_iter(html) {
            let attrs: BTreeMap<&str, String> = attr
                .captures_iter(&r[1])
                .map(|c| (c.get(1).unwrap().as_str(), unescape(&c[2])))
                .collect();
            let key = (
                attrs["data-series"].clone(),
                attrs["data-key"].clone(),
                attrs.get("data-status").cloned().unwrap_or_default(),
            );
            let value: i64 = attrs["data-value"].parse().unwrap();
            assert!(out.insert(key, value).is_none(), "a bar twice");
        }
        out
    }

    #[test]
    fn escape_makes_text_inert() {
        assert_eq!(
            escape(HOSTILE),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert!(matches!(
            escape("printco æøå"),
            Cow::Borrowed("printco æøå")
        ));
        assert_eq!(escape("a&amp;b"), "a&amp;amp;b");
    }

    #[test]
    fn the_page_has_no_script_no_url_and_nothing_personal() {
        let html = page(&sample());
        let lower = html.to_lowercase();
        assert!(!lower.contains("<script"), "a script in the page");
        assert!(lower.contains("&lt;script&gt;"), "hostile text is escaped");
        for url in ["http:", "https:", "//", "url(", "@import", "src=", "href="] {
            assert!(!lower.contains(url), "{url} in the page");
        }
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        // Neither full nor masked national ids, nor the post office's free text.
        for personal in [
            "31888200000",
            "318882",
            "01019012345",
            "010190",
            "*****",
            "Storgata",
        ] {
            assert!(!html.contains(personal), "{personal} in the page");
        }
        assert!(html.contains("1 held (address protected), 1 returned"));
        // The period and the time it was made, in Oslo time.
        assert!(html.contains("since 2026-11-01 01:00 +01:00"), "{html}");
        assert!(html.contains("generated 2026-11-23 08:15 +01:00"), "{html}");
    }

    #[test]
    fn every_bar_carries_the_report_numbers() {
        let report = sample();
        let got = bars(&page(&report));
        let mut want = BTreeMap::new();
        let mut put = |series: &str, key: &str, status: &str, n: i64| {
            if n > 0 {
                want.insert((series.to_string(), key.to_string(), status.to_string()), n);
            }
        };
        for d in &report.orders_per_day {
            for (s, n) in &d.by_status.0 {
                put("orders_per_day", &d.day.to_string(), s, *n);
            }
        }
        for (reason, n) in &report.by_reason.0 {
            put("by_reason", reason, "", *n);
        }
        for d in &report.sla_breaches_per_day {
            put(
                "sla_breaches_per_day",
                &d.day.to_string(),
                "posted_late",
                d.posted_late as i64,
            );
            put(
                "sla_breaches_per_day",
                &d.day.to_string(),
                "overdue",
                d.overdue as i64,
            );
        }
        for v in &report.vendors {
            let mut letters: BTreeMap<&str, i64> = BTreeMap::new();
            for b in &v.batches {
                for (s, n) in &b.by_status.0 {
                    *letters.entry(s).or_default() += n;
                }
            }
            for (s, n) in letters {
                put("vendor_letters", &v.vendor, s, n);
            }
            put("vendor_batches", &v.vendor, "", v.batch_count as i64);
        }
        assert_eq!(got, want);
        // And by hand: the night of 2 to 3 November, and the vendors.
        let k = |s: &str, key: &str, st: &str| (s.to_string(), key.to_string(), st.to_string());
        assert_eq!(got[&k("orders_per_day", "2026-11-02", "posted")], 12);
        assert_eq!(got[&k("orders_per_day", "2026-11-03", "rejected")], 4);
        assert_eq!(got[&k("by_reason", HOSTILE, "")], 1);
        assert_eq!(
            got[&k("sla_breaches_per_day", "2026-11-05", "posted_late")],
            1
        );
        assert_eq!(got[&k("sla_breaches_per_day", "2026-11-05", "overdue")], 1);
        assert_eq!(got[&k("vendor_letters", "printco", "posted")], 12);
        assert_eq!(got[&k("vendor_letters", "printco", "failed")], 1);
        assert_eq!(got[&k("vendor_batches", "printco", "")], 2);
        assert_eq!(got[&k("vendor_batches", HOSTILE, "")], 1);
        // Every number is also text: the bars' tooltips.
        let html = page(&report);
        assert!(html.contains("<title>2026-11-02 posted: 12 orders</title>"));
        assert!(html.contains("<title>printco failed: 1 letters</title>"));
        assert!(html.contains("<title>deceased: 3 orders</title>"));
    }

    #[test]
    fn an_empty_period_says_so_without_charts() {
        let report = build(
            ReportData::default(),
            SlaJudge::default(),
            Vec::new(),
            t("2026-11-01T00:00:00Z"),
            t("2026-11-23T07:15:00Z"),
        )
        .unwrap();
        let html = page(&report);
        assert!(html.contains("There were no orders in this period."));
        assert!(html.contains("No batches were created in this period."));
        assert!(!html.contains("<svg"), "a chart of nothing");
        assert!(!html.contains("NaN") && !html.contains("\"inf") && !html.contains("\"-inf"));
        assert!(bars(&html).is_empty());
        assert!(html.ends_with("</html>\n"));
    }

    #[test]
    fn long_periods_and_big_counts_stay_finite() {
        let mut report = sample();
        report.orders_per_day[0].day = "2020-01-01".parse().unwrap();
        for (status, n) in &mut report.orders_per_day[0].by_status.0 {
            if status == "posted" {
                *n = 100_000;
            }
        }
        let html = page(&report);
        assert!(!html.contains("NaN") && !html.contains("\"inf") && !html.contains("\"-inf"));
        assert_eq!(
            bars(&html)[&(
                "orders_per_day".to_string(),
                "2020-01-01".to_string(),
                "posted".to_string()
            )],
            100_000
        );
        assert_eq!(nice_step(0.25), 1);
        assert_eq!(nice_step(3.0), 5);
        assert_eq!(nice_step(25_000.0), 50_000);
    }
}
