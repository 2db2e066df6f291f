//! The report of `pinbrev report`: what happened to the orders placed since a point in time — counts by
//! status and reason, the delivery deadline (SLA) and its breaches, the orders waiting for a
//! person (held, returned) and the batches of each print vendor.
//!
//! The store gives the raw rows ([`ReportData`], read in one transaction); everything else — deadlines in Europe/Oslo with Norwegian public
//! holidays, breach classification, ordering — is computed here, so it is the same for every
//! database backend and testable without one.
//!
//! The deadline: an order placed on day D (its `ordered_at` as a date in Europe/Oslo) must be
//! posted by the end of the [`SLA_WORKING_DAYS`]rd working day after D
//! ([`crate::holidays::add_working_days`]), that is before midnight Europe/Oslo at the end of
//! that day. An order counts as posted once its status reached `posted` (a later `returned` or
//! `superseded` keeps it posted); its posting time is when the vendor says it posted the letter
//! (the receipt's `occurred_at`), else when the order reached `posted`. A letter returned
//! without any `posted` receipt was necessarily posted too: its return time then stands for the
//! posting time (the latest it can have been). Orders that are not to get a letter (`rejected`,
//! `duplicate`, `cancelled`, and `held`, which are listed on their own) are not judged.
//!
//! No national id leaves this module unmasked, and no address is ever read.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Oslo;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::holidays::{add_working_days, next_working_day_from, working_days_between};
use crate::national_id::{mask, redact};
use crate::order::{parse_ordered_at, timestamp, OrderStatus};

/// Working days after the day of ordering by whose end the letter must be posted.
pub const SLA_WORKING_DAYS: u32 = 3;

/// How far back the report looks when no `--since` is given.
pub const DEFAULT_DAYS: i64 = 30;

/// Statuses of orders that are not to get a letter, so no deadline applies to them.
pub const NOT_JUDGED: [OrderStatus; 4] = [
    OrderStatus::Rejected,
    OrderStatus::Duplicate,
    OrderStatus::Cancelled,
    OrderStatus::Held,
];

// --- what the database gives ------------------------------------------------------------------

/// Everything the report needs from the database, read in one transaction.
#[derive(Debug, Clone, Default)]
pub struct ReportData {
    /// (status, orders) of orders placed since.
    pub by_status: Vec<(String, i64)>,
    /// (reason code, orders) of orders placed since that have a reason.
    pub by_reason: Vec<(String, i64)>,
    /// `held` orders placed since.
    pub held: Vec<HeldRow>,
    /// `returned` orders placed since, one row per (letter, returned receipt).
    pub returned: Vec<ReturnedRow>,
    /// Batches created since: one row per (batch, letter state, order status).
    pub batches: Vec<BatchLetterRow>,
    /// Orders placed since, counted per hour of `ordered_at` in UTC and status (see
    /// [`HourStatusRow`]); folded into days in Europe/Oslo by [`orders_per_day`].
    pub orders_by_hour: Vec<HourStatusRow>,
}

/// Orders placed in one UTC hour with one status: what the store counts in SQL, so that a
/// report on a month of big nights reads a few thousand rows instead of one per order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourStatusRow {
    /// The first 13 characters of the stored `ordered_at` (RFC 3339 in UTC):
    /// `2026-11-23T07`.
    pub hour: String,
    pub status: String,
    pub orders: i64,
}

/// An order whose deadline is judged, with the times it reached `posted` and `returned`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaOrderRow {
    pub order_id: String,
    pub status: OrderStatus,
    pub ordered_at: String,
    /// Earliest `posted` receipt of the order's letters (failed letters aside).
    pub posted_receipt_at: Option<String>,
    /// Earliest event that moved the order to `posted`.
    pub posted_event_at: Option<String>,
    /// Earliest `returned` receipt of the order's letters.
    pub returned_receipt_at: Option<String>,
    /// Earliest event that moved the order to `returned`.
    pub returned_event_at: Option<String>,
}

/// A held order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRow {
    pub order_id: String,
    /// Full, as stored: masked before it goes anywhere.
    pub national_id: String,
    pub reason: Option<String>,
    /// When the order became `held` (its latest such event).
    pub held_at: Option<String>,
}

/// A returned order and one of its letters' `returned` receipts (none: all `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnedRow {
    pub order_id: String,
    /// Full, as stored: masked before it goes anywhere.
    pub national_id: String,
    pub letter_id: Option<String>,
    pub receipt_at: Option<String>,
    /// The post office's reason, as the vendor's receipt gave it.
    pub receipt_detail: Option<String>,
    /// When the order became `returned` (its latest such event).
    pub event_at: Option<String>,
}

/// Letters of a batch with the same letter state and order status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchLetterRow {
    pub batch_id: String,
    pub vendor: String,
    pub created_at: String,
    pub state: String,
    /// `None` only for a batch without letters.
    pub letter_state: Option<String>,
    pub order_status: Option<String>,
    pub letters: i64,
}

// --- the report -------------------------------------------------------------------------------

/// Named counts, kept in the report's order and written as one JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(pub Vec<(String, i64)>);

impl Counts {
    /// The count of `name`, 0 when absent.
    pub fn get(&self, name: &str) -> i64 {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, c)| *c)
    }
}

impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, count) in &self.0 {
            map.serialize_entry(name, count)?;
        }
        map.end()
    }
}

/// The report, as `--format json` prints it. Its breaches are kept in a `B` ([`Breaches`]): a
/// vector here, a file in the application, which may hold a million of them.
#[derive(Debug, Clone, Serialize)]
pub struct Report<B = Vec<SlaBreach>> {
    /// Orders placed at or after this instant are reported (and batches created since).
    pub since: String,
    pub generated_at: String,
    /// Every status, in the order of an order's life, with 0 for those not seen.
    pub by_status: Counts,
    /// Reason codes seen, most frequent first.
    pub by_reason: Counts,
    /// The deadline rule and how the judged orders fared.
    pub sla: SlaSummary,
    /// Orders posted after their deadline or not posted with the deadline passed, oldest first.
    pub sla_breaches: B,
    /// Orders waiting for a person: held (address protected), oldest first.
    pub held: Vec<HeldOrder>,
    /// Orders waiting for a person: the letter came back, oldest first.
    pub returned: Vec<ReturnedOrder>,
    /// Batches per print vendor, vendors by name.
    pub vendors: Vec<VendorBatches>,
    /// Orders placed since, per day of ordering in Europe/Oslo (the day of `ordered_at`), by
    /// status: only days with orders, oldest first; each day's statuses in the order of an
    /// order's life, only those with orders. Summed over the days, it is `by_status`.
    pub orders_per_day: Vec<DayCounts>,
    /// The SLA breaches per *deadline day* (the day in Europe/Oslo by whose end the order
    /// should have been posted, the breach's `deadline_day`): the day each breach happened.
    /// Only days with breaches, oldest first. Summed over the days, `posted_late` and
    /// `overdue` are `sla.posted_late` and `sla.overdue`.
    pub sla_breaches_per_day: Vec<BreachDay>,
}

/// Orders placed on one day (Europe/Oslo), by status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCounts {
    /// `YYYY-MM-DD`, Europe/Oslo.
    pub day: NaiveDate,
    /// Statuses with orders, in the order of an order's life (one this version does not know
    /// after the others).
    pub by_status: Counts,
}

/// SLA breaches whose deadline day is one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreachDay {
    /// The deadline day, `YYYY-MM-DD`, Europe/Oslo.
    pub day: NaiveDate,
    /// Posted after the end of that day.
    pub posted_late: u64,
    /// Not posted, and that day has ended.
    pub overdue: u64,
}

/// How the orders that are to get a letter fared against the deadline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SlaSummary {
    /// The rule: posted by the end of this many working days after the day of ordering.
    pub working_days: u32,
    /// Days and the end of the day are taken in this time zone.
    pub time_zone: &'static str,
    /// Orders judged (placed since, not rejected, duplicate, cancelled or held).
    pub orders: u64,
    pub posted_in_time: u64,
    pub posted_late: u64,
    /// Not posted, deadline passed.
    pub overdue: u64,
    /// Not posted, deadline still ahead.
    pub not_yet_due: u64,
}

/// One order that missed its deadline (read back as written, by the application that keeps
/// breaches in a file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SlaBreach {
    pub order_id: String,
    pub status: OrderStatus,
    pub ordered_at: String,
    /// The last day for posting (Europe/Oslo).
    pub deadline_day: NaiveDate,
    /// The end of that day: posting at or after this instant is late.
    pub deadline: String,
    /// When it was posted; `null` when it still is not.
    pub posted_at: Option<String>,
    /// Working days after the deadline day up to the posting day (or today, when not posted);
    /// a posting on a weekend or holiday counts as the next working day.
    pub working_days_late: u32,
}

/// How many SLA breaches the short listings show (the HTML page's table).
pub const FIRST_BREACHES: usize = 100;

/// The SLA breaches of a report, oldest first, wherever they are kept.
pub trait Breaches {
    /// Why they cannot be read back.
    type Error: std::error::Error + Send + Sync + 'static;

    /// How many there are.
    fn count(&self) -> u64;

    /// The first [`FIRST_BREACHES`] of them (all, if fewer), at hand.
    fn first(&self) -> &[SlaBreach];

    /// Hands each to `each`, oldest first, stopping at the first error.
    fn try_for_each<E: From<Self::Error>>(
        &self,
        each: impl FnMut(&SlaBreach) -> Result<(), E>,
    ) -> Result<(), E>;
}

impl Breaches for Vec<SlaBreach> {
    type Error = std::convert::Infallible;

    fn count(&self) -> u64 {
        self.len() as u64
    }

    fn first(&self) -> &[SlaBreach] {
        &self[..self.len().min(FIRST_BREACHES)]
    }

    fn try_for_each<E: From<Self::Error>>(
        &self,
        each: impl FnMut(&SlaBreach) -> Result<(), E>,
    ) -> Result<(), E> {
        self.iter().try_for_each(each)
    }
}

/// A held order: masked national id, never an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldOrder {
    pub order_id: String,
    pub national_id: String,
    pub reason: Option<String>,
    /// When it was held.
    pub held_since: Option<String>,
}

/// A returned order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReturnedOrder {
    pub order_id: String,
    pub national_id: String,
    /// The letter that came back.
    pub letter_id: Option<String>,
    pub returned_at: Option<String>,
    /// The post office's reason, as the vendor's receipt gave it.
    pub reason: Option<String>,
}

/// One print vendor's batches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VendorBatches {
    pub vendor: String,
    pub batch_count: u64,
    pub letters: i64,
    /// Oldest first.
    pub batches: Vec<BatchSummary>,
}

/// One batch and where its letters are now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchSummary {
    pub batch_id: String,
    pub created_at: String,
    pub state: String,
    pub letters: i64,
    /// Letters by outcome: the letter's own state when it ended (`failed`, `returned`,
    /// `superseded`, `cancelled`), else its order's status (`batched`, `printed`, `posted` …).
    pub by_status: Counts,
}

/// A stored time the report cannot read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{what}: not a time: {message}")]
    BadTime { what: String, message: String },
}

/// The deadline rule applied to the judged orders one at a time, as the store reads them: it
/// counts them and hands out their breaches, so that a report on a night of a million orders
/// holds neither the orders nor (in the application, which writes them to a file) the breaches.
#[derive(Debug, Clone, Default)]
pub struct SlaJudge {
    now: DateTime<Utc>,
    summary: SlaSummary,
    per_day: BTreeMap<NaiveDate, BreachDay>,
}

impl SlaJudge {
    /// A judge of orders whose deadline has passed or not as of `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        SlaJudge {
            now,
            summary: SlaSummary::default(),
            per_day: BTreeMap::new(),
        }
    }

    /// Counts one order in the summary, and gives it back as a breach if it missed its
    /// deadline (the store reads the orders oldest first, so the breaches come so too).
    pub fn judge(&mut self, row: SlaOrderRow) -> Result<Option<SlaBreach>, ReportError> {
        let sla = &mut self.summary;
        sla.orders += 1;
        let ordered_at = instant(&row.ordered_at, "orders.ordered_at")?;
        let day = deadline_day(ordered_at);
        let deadline = end_of_day(day);
        let posted_at = posting_time(&row);
        let late = match &posted_at {
            Some(text) => {
                let at = instant(text, "posting time")?;
                if at < deadline {
                    sla.posted_in_time += 1;
                    None
                } else {
                    sla.posted_late += 1;
                    Some(working_days_late(day, at))
                }
            }
            None if self.now >= deadline => {
                sla.overdue += 1;
                Some(working_days_late(day, self.now))
            }
            None => {
                sla.not_yet_due += 1;
                None
            }
        };
        let Some(working_days_late) = late else {
            return Ok(None);
        };
        let per_day = self.per_day.entry(day).or_insert(BreachDay {
            day,
            posted_late: 0,
            overdue: 0,
        });
        if posted_at.is_some() {
            per_day.posted_late += 1;
        } else {
            per_day.overdue += 1;
        }
        Ok(Some(SlaBreach {
            order_id: row.order_id,
            status: row.status,
            ordered_at: row.ordered_at,
            deadline_day: day,
            deadline: timestamp(deadline),
            posted_at,
            working_days_late,
        }))
    }

    /// Judges every row of `rows`, in their order, and keeps their breaches in a vector (for
    /// tests and small callers).
    pub fn judge_all(
        mut self,
        rows: impl IntoIterator<Item = SlaOrderRow>,
    ) -> Result<(Self, Vec<SlaBreach>), ReportError> {
        let mut breaches = Vec::new();
        for row in rows {
            breaches.extend(self.judge(row)?);
        }
        Ok((self, breaches))
    }
}

/// Builds the report from the database's rows, the judge that the orders to be judged went
/// through (see [`NOT_JUDGED`]) and the breaches it gave.
pub fn build<B: Breaches>(
    data: ReportData,
    judged: SlaJudge,
    sla_breaches: B,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Report<B>, ReportError> {
    let sla = SlaSummary {
        working_days: SLA_WORKING_DAYS,
        time_zone: "Europe/Oslo",
        ..judged.summary
    };
    let sla_breaches_per_day = judged.per_day.into_values().collect();
    Ok(Report {
        orders_per_day: orders_per_day(&data.orders_by_hour)?,
        sla_breaches_per_day,
        since: timestamp(since),
        generated_at: timestamp(now),
        by_status: status_counts(&data.by_status),
        by_reason: reason_counts(&data.by_reason),
        sla,
        sla_breaches,
        held: data
            .held
            .iter()
            .map(|h| HeldOrder {
                order_id: h.order_id.clone(),
                national_id: mask(&h.national_id),
                reason: h.reason.clone(),
                held_since: h.held_at.clone(),
            })
            .collect(),
        returned: returned_orders(&data.returned),
        vendors: vendors(&data.batches),
    })
}

/// Parses `--since`: a date `YYYY-MM-DD` is midnight at the start of that day in Europe/Oslo;
/// otherwise RFC 3339 (`T` or a space; without an offset, Europe/Oslo local time).
pub fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if s.len() == 10 {
        if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(start_of_day(day));
        }
    }
    parse_ordered_at(s).map_err(|_| {
        format!(
            "{} is neither a date (YYYY-MM-DD) nor an RFC 3339 time",
            crate::free_text::quote(s)
        )
    })
}

/// The default start of the report: [`DEFAULT_DAYS`] days before `now`.
pub fn default_since(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::days(DEFAULT_DAYS)
}

/// The last day on which an order placed at `ordered_at` may be posted.
pub fn deadline_day(ordered_at: DateTime<Utc>) -> NaiveDate {
    add_working_days(oslo_day(ordered_at), SLA_WORKING_DAYS)
}

/// The end of a day in Europe/Oslo: the first instant of the next day.
pub fn end_of_day(day: NaiveDate) -> DateTime<Utc> {
    start_of_day(day.succ_opt().expect("dates stay far from chrono's limits"))
}

/// Working days late when posted (or still not posted) at `at`, for a deadline day: the
/// working days after the deadline day up to the day of `at` in Europe/Oslo, where a day that
/// is not a working day counts as the next working day. Posted on the day after a Friday
/// deadline (a Saturday) is 1, on the Tuesday after it 2.
pub fn working_days_late(deadline_day: NaiveDate, at: DateTime<Utc>) -> u32 {
    working_days_between(deadline_day, next_working_day_from(oslo_day(at)))
}

/// Folds the store's counts per UTC hour and status into days in Europe/Oslo: each hour goes to
/// the Oslo day it falls in. Oslo is always a whole number of hours ahead of UTC (+01:00 in
/// winter, +02:00 in summer, the change on the hour), so a UTC hour never straddles two Oslo
/// days and the fold is exact: on the last Sunday of October 22:00–22:59 UTC is 23:00 on that
/// Sunday, 23:00 UTC already Monday; in summer the day starts at 22:00 UTC the day before.
/// Days come out oldest first, each with its statuses in the order of an order's life.
pub fn orders_per_day(rows: &[HourStatusRow]) -> Result<Vec<DayCounts>, ReportError> {
    let mut days: BTreeMap<NaiveDate, Vec<(String, i64)>> = BTreeMap::new();
    for row in rows {
        let day = oslo_day(utc_hour(&row.hour)?);
        let counts = days.entry(day).or_default();
        match counts.iter_mut().find(|(s, _)| *s == row.status) {
            Some((_, n)) => *n += row.orders,
            None => counts.push((row.status.clone(), row.orders)),
        }
    }
    Ok(days
        .into_iter()
        .map(|(day, rows)| {
            let mut by_status = status_counts(&rows);
            by_status.0.retain(|(_, n)| *n != 0);
            DayCounts { day, by_status }
        })
        .collect())
}

/// The start of a UTC hour written `2026-11-23T07` (the first 13 characters of a stored time).
fn utc_hour(hour: &str) -> Result<DateTime<Utc>, ReportError> {
    chrono::NaiveDateTime::parse_from_str(&format!("{hour}:00:00"), "%Y-%m-%dT%H:%M:%S")
        .map(|t| t.and_utc())
        .map_err(|e| ReportError::BadTime {
            what: "orders.ordered_at (its hour)".to_string(),
            message: format!("{hour:?}: {e}"),
        })
}

fn oslo_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&Oslo).date_naive()
}

/// Midnight at the start of a day in Europe/Oslo (clocks change at 02:00 and 03:00, so
/// midnight always exists).
fn start_of_day(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(NaiveTime::MIN);
    Oslo.from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

fn instant(text: &str, what: &str) -> Result<DateTime<Utc>, ReportError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ReportError::BadTime {
            what: what.to_string(),
            message: format!("{text:?}: {e}"),
        })
}

/// When an order was posted, if it was (see the module documentation).
fn posting_time(row: &SlaOrderRow) -> Option<String> {
    if row.posted_event_at.is_some() {
        row.posted_receipt_at
            .clone()
            .or_else(|| row.posted_event_at.clone())
    } else if row.returned_event_at.is_some() {
        row.returned_receipt_at
            .clone()
            .or_else(|| row.returned_event_at.clone())
    } else {
        None
    }
}

fn status_counts(rows: &[(String, i64)]) -> Counts {
    let mut counts: Vec<(String, i64)> = OrderStatus::ALL
        .iter()
        .map(|s| {
            let n = rows
                .iter()
                .filter(|(code, _)| code == s.code())
                .map(|(_, n)| n)
                .sum();
            (s.code().to_string(), n)
        })
        .collect();
    // A status this version does not know still shows (after the known ones).
    let mut unknown: Vec<(String, i64)> = rows
        .iter()
        .filter(|(code, _)| code.parse::<OrderStatus>().is_err())
        .cloned()
        .collect();
    unknown.sort();
    counts.extend(unknown);
    Counts(counts)
}

fn reason_counts(rows: &[(String, i64)]) -> Counts {
    let mut merged: BTreeMap<&str, i64> = BTreeMap::new();
    for (reason, n) in rows {
        *merged.entry(reason.as_str()).or_default() += n;
    }
    let mut counts: Vec<(String, i64)> = merged
        .into_iter()
        .map(|(r, n)| (r.to_string(), n))
        .collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Counts(counts)
}

/// One entry per returned order, with its latest `returned` receipt (or event).
fn returned_orders(rows: &[ReturnedRow]) -> Vec<ReturnedOrder> {
    let mut out: Vec<ReturnedOrder> = Vec::new();
    let mut latest: Vec<Option<String>> = Vec::new();
    for row in rows {
        let index = match out.iter().position(|o| o.order_id == row.order_id) {
            Some(i) => i,
            None => {
                out.push(ReturnedOrder {
                    order_id: row.order_id.clone(),
                    national_id: mask(&row.national_id),
                    letter_id: None,
                    returned_at: row.event_at.clone(),
                    reason: None,
                });
                latest.push(None);
                out.len() - 1
            }
        };
        if let Some(at) = &row.receipt_at {
            if latest[index].as_ref().is_none_or(|seen| at > seen) {
                latest[index] = Some(at.clone());
                let entry = &mut out[index];
                entry.letter_id = row.letter_id.clone();
                entry.returned_at = Some(at.clone());
                // Free text from the post office: keep any full national id out of it.
                entry.reason = row
                    .receipt_detail
                    .as_deref()
                    .filter(|d| !d.is_empty())
                    .map(redact);
            }
        }
    }
    out
}

/// Where letters in a batch stand, in the order of a letter's life.
const OUTCOME_ORDER: [&str; 14] = [
    "received",
    "validated",
    "rejected",
    "held",
    "duplicate",
    "pending",
    "batched",
    "printed",
    "posted",
    "returned",
    "failed",
    "superseded",
    "cancelled",
    "issued",
];

fn outcome(letter_state: Option<&str>, order_status: Option<&str>) -> String {
    match letter_state {
        Some("pending") | Some("issued") | None => order_status.unwrap_or("unknown"),
        Some(state) => state,
    }
    .to_string()
}

fn vendors(rows: &[BatchLetterRow]) -> Vec<VendorBatches> {
    let mut by_vendor: BTreeMap<&str, BTreeMap<&str, BatchSummary>> = BTreeMap::new();
    for row in rows {
        let batch = by_vendor
            .entry(row.vendor.as_str())
            .or_default()
            .entry(row.batch_id.as_str())
            .or_insert_with(|| BatchSummary {
                batch_id: row.batch_id.clone(),
                created_at: row.created_at.clone(),
                state: row.state.clone(),
                letters: 0,
                by_status: Counts::default(),
            });
        if row.letters == 0 {
            continue;
        }
        batch.letters += row.letters;
        let name = outcome(row.letter_state.as_deref(), row.order_status.as_deref());
        match batch.by_status.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, count)) => *count += row.letters,
            None => batch.by_status.0.push((name, row.letters)),
        }
    }
    by_vendor
        .into_iter()
        .map(|(vendor, batches)| {
            let mut batches: Vec<BatchSummary> = batches.into_values().collect();
            batches.sort_by(|a, b| (&a.created_at, &a.batch_id).cmp(&(&b.created_at, &b.batch_id)));
            for b in &mut batches {
                b.by_status.0.sort_by_key(|(name, _)| {
                    (
                        OUTCOME_ORDER
                            .iter()
                            .position(|o| o == name)
                            .unwrap_or(OUTCOME_ORDER.len()),
                        name.clone(),
                    )
                });
            }
            VendorBatches {
                vendor: vendor.to_string(),
                batch_count: batches.len() as u64,
                letters: batches.iter().map(|b| b.letters).sum(),
                batches,
            }
        })
        .collect()
}

// --- CSV --------------------------------------------------------------------------------------

/// The columns of `report --format csv`: one flat table, every row has all of them, a row's
/// `section` says which it uses (the others are empty). See [`CSV_LAYOUT`].
pub const CSV_HEADERS: [&str; 9] = [
    "section",
    "key",
    "name",
    "value",
    "at",
    "deadline",
    "posted_at",
    "national_id",
    "detail",
];

/// The rows of `report --format csv`, for `--help` and the README.
pub const CSV_LAYOUT: &str = "\
One CSV table with the header section,key,name,value,at,deadline,posted_at,national_id,detail; \
each row uses the columns its section names, the others are empty:
  meta,since|generated_at,,,AT
  status,STATUS,,ORDERS                      (every status, 0 included)
  reason,REASON,,ORDERS
  sla,orders|posted_in_time|posted_late|overdue|not_yet_due,,ORDERS
  sla_breach,ORDER_ID,STATUS,WORKING_DAYS_LATE,ORDERED_AT,DEADLINE,POSTED_AT,,DEADLINE_DAY
  held,ORDER_ID,REASON,,HELD_SINCE,,,NATIONAL_ID (masked)
  returned,ORDER_ID,LETTER_ID,,RETURNED_AT,,,NATIONAL_ID (masked),POST_OFFICE_REASON
  vendor,VENDOR,batches|letters,COUNT
  batch,BATCH_ID,VENDOR,LETTERS,CREATED_AT,,,,STATE
  batch_status,BATCH_ID,STATUS,LETTERS
  day,DAY,STATUS,ORDERS                      (orders per day of ordering, Europe/Oslo)
  breach_day,DAY,posted_late|overdue,ORDERS  (SLA breaches per deadline day)";

/// The report as rows of [`CSV_HEADERS`] (see [`CSV_LAYOUT`]), collected.
pub fn csv_rows(report: &Report) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let collected: Result<(), std::convert::Infallible> = each_csv_row(report, |cells| {
        rows.push(cells.iter().map(|c| c.to_string()).collect());
        Ok(())
    });
    match collected {
        Ok(()) => rows,
    }
}

/// Hands each row of [`CSV_HEADERS`] (see [`CSV_LAYOUT`]) to `row` in turn, stopping at its
/// first error: a report with a million breaches is written without its rows held.
pub fn each_csv_row<B: Breaches, E: From<B::Error>>(
    report: &Report<B>,
    mut row: impl FnMut([&str; 9]) -> Result<(), E>,
) -> Result<(), E> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    row(["meta", "since", "", "", &report.since, "", "", "", ""])?;
    row([
        "meta",
        "generated_at",
        "",
        "",
        &report.generated_at,
        "",
        "",
        "",
        "",
    ])?;
    for (status, n) in &report.by_status.0 {
        row(["status", status, "", &n.to_string(), "", "", "", "", ""])?;
    }
    for (reason, n) in &report.by_reason.0 {
        row(["reason", reason, "", &n.to_string(), "", "", "", "", ""])?;
    }
    let s = &report.sla;
    for (name, n) in [
        ("orders", s.orders),
        ("posted_in_time", s.posted_in_time),
        ("posted_late", s.posted_late),
        ("overdue", s.overdue),
        ("not_yet_due", s.not_yet_due),
    ] {
        row(["sla", name, "", &n.to_string(), "", "", "", "", ""])?;
    }
    report.sla_breaches.try_for_each(|b| {
        row([
            "sla_breach",
            &b.order_id,
            b.status.code(),
            &b.working_days_late.to_string(),
            &b.ordered_at,
            &b.deadline,
            &opt(&b.posted_at),
            "",
            &b.deadline_day.to_string(),
        ])
    })?;
    for h in &report.held {
        row([
            "held",
            &h.order_id,
            &opt(&h.reason),
            "",
            &opt(&h.held_since),
            "",
            "",
            &h.national_id,
            "",
        ])?;
    }
    for r in &report.returned {
        row([
            "returned",
            &r.order_id,
            &opt(&r.letter_id),
            "",
            &opt(&r.returned_at),
            "",
            "",
            &r.national_id,
            &opt(&r.reason),
        ])?;
    }
    for v in &report.vendors {
        let batches = v.batch_count.to_string();
        let letters = v.letters.to_string();
        row(["vendor", &v.vendor, "batches", &batches, "", "", "", "", ""])?;
        row(["vendor", &v.vendor, "letters", &letters, "", "", "", "", ""])?;
        for b in &v.batches {
            row([
                "batch",
                &b.batch_id,
                &v.vendor,
                &b.letters.to_string(),
                &b.created_at,
                "",
                "",
                "",
                &b.state,
            ])?;
            for (status, n) in &b.by_status.0 {
                row([
                    "batch_status",
                    &b.batch_id,
                    status,
                    &n.to_string(),
                    "",
                    "",
                    "",
                    "",
                    "",
                ])?;
            }
        }
    }
    for d in &report.orders_per_day {
        let day = d.day.to_string();
        for (status, n) in &d.by_status.0 {
            row(["day", &day, status, &n.to_string(), "", "", "", "", ""])?;
        }
    }
    for d in &report.sla_breaches_per_day {
        let day = d.day.to_string();
        for (kind, n) in [("posted_late", d.posted_late), ("overdue", d.overdue)] {
            if n > 0 {
                row(["breach_day", &day, kind, &n.to_string(), "", "", "", "", ""])?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        parse_ordered_at(s).unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn sla_row(id: &str, status: OrderStatus, ordered: &str) -> SlaOrderRow {
        SlaOrderRow {
            order_id: id.into(),
            status,
            ordered_at: timestamp(t(ordered)),
            posted_receipt_at: None,
            posted_event_at: None,
            returned_receipt_at: None,
            returned_event_at: None,
        }
    }

    #[test]
    fn since_is_oslo_midnight_or_rfc3339() {
        assert_eq!(
            timestamp(parse_since("2026-05-20").unwrap()),
            "2026-05-19T22:00:00.000000Z"
        );
        assert_eq!(
            timestamp(parse_since("2026-01-15").unwrap()),
            "2026-01-14T23:00:00.000000Z"
        );
        // The days the clocks change still start at midnight.
        assert_eq!(
            timestamp(parse_since("2026-03-29").unwrap()),
            "2026-03-28T23:00:00.000000Z"
        );
        assert_eq!(
            timestamp(parse_since("2026-10-25").unwrap()),
            "2026-10-24T22:00:00.000000Z"
        );
        assert_eq!(
            timestamp(parse_since("2026-05-19T22:30:00Z").unwrap()),
            "2026-05-19T22:30:00.000000Z"
        );
        assert_eq!(
            timestamp(parse_since("2026-05-20T00:30:00+02:00").unwrap()),
            "2026-05-19T22:30:00.000000Z"
        );
        assert!(parse_since("20.05.2026").is_err());
        assert!(parse_since("2026-02-30").is_err());
        assert!(parse_since("yesterday").is_err());
    }

    #[test]
    fn deadlines_end_at_oslo_midnight() {
        // Placed late on Monday 30 March in Oslo time (still the 30th in UTC, too).
        assert_eq!(deadline_day(t("2026-03-30T21:30:00Z")), d("2026-04-07"));
        // 23:30 UTC on the 30th is already Tuesday 31 March in Oslo.
        assert_eq!(deadline_day(t("2026-03-30T23:30:00Z")), d("2026-04-08"));
        assert_eq!(
            timestamp(end_of_day(d("2026-04-07"))),
            "2026-04-07T22:00:00.000000Z"
        );
        assert_eq!(
            timestamp(end_of_day(d("2026-12-01"))),
            "2026-12-01T23:00:00.000000Z"
        );
    }

    #[test]
    fn lateness_in_working_days() {
        let friday = d("2026-11-27");
        assert_eq!(working_days_late(friday, t("2026-11-28T10:00:00+01:00")), 1);
        assert_eq!(working_days_late(friday, t("2026-11-30T10:00:00+01:00")), 1);
        assert_eq!(working_days_late(friday, t("2026-12-01T10:00:00+01:00")), 2);
        // Deadline Wednesday 13 May; Thursday is Ascension Day, Sunday 17 May.
        assert_eq!(
            working_days_late(d("2026-05-13"), t("2026-05-18T10:00:00+02:00")),
            2
        );
        // Just after midnight in Oslo is the next day, though still the same day in UTC.
        assert_eq!(
            working_days_late(d("2026-04-07"), t("2026-04-07T22:30:00Z")),
            1
        );
    }

    #[test]
    fn breaches_are_classified_against_the_deadline() {
        let mut in_time = sla_row("A", OrderStatus::Posted, "2026-03-30T10:00:00+02:00");
        in_time.posted_event_at = Some("2026-11-20T01:00:00.000000Z".into());
        in_time.posted_receipt_at = Some("2026-04-07T21:59:59.000000Z".into());
        let mut late = sla_row("B", OrderStatus::Returned, "2026-03-30T10:00:00+02:00");
        late.posted_event_at = Some("2026-04-08T08:00:00.000000Z".into());
        late.returned_event_at = Some("2026-04-20T08:00:00.000000Z".into());
        let overdue = sla_row("C", OrderStatus::Validated, "2026-03-30T10:00:00+02:00");
        let fresh = sla_row("D", OrderStatus::Batched, "2026-11-24T10:00:00+01:00");
        // Returned without a posted receipt: posted at the latest when it came back.
        let mut back = sla_row("E", OrderStatus::Returned, "2026-03-30T10:00:00+02:00");
        back.returned_event_at = Some("2026-11-01T08:00:00.000000Z".into());
        back.returned_receipt_at = Some("2026-04-03T08:00:00.000000Z".into());
        let now = t("2026-04-10T12:00:00+02:00");
        let (judged, breaches) = SlaJudge::new(now)
            .judge_all([in_time, late, overdue, fresh, back])
            .unwrap();
        let data = ReportData {
            ..Default::default()
        };
        let r = build(data, judged, breaches, t("2026-01-01T00:00:00Z"), now).unwrap();
        assert_eq!(
            r.sla,
            SlaSummary {
                working_days: 3,
                time_zone: "Europe/Oslo",
                orders: 5,
                posted_in_time: 2,
                posted_late: 1,
                overdue: 1,
                not_yet_due: 1,
            }
        );
        let got: Vec<(&str, Option<&str>, u32)> = r
            .sla_breaches
            .iter()
            .map(|b| {
                (
                    b.order_id.as_str(),
                    b.posted_at.as_deref(),
                    b.working_days_late,
                )
            })
            .collect();
        // C: deadline Tuesday 7 April, today Friday 10 April: 3 working days late.
        assert_eq!(
            got,
            [
                ("B", Some("2026-04-08T08:00:00.000000Z"), 1),
                ("C", None, 3)
            ]
        );
        assert_eq!(r.sla_breaches[0].deadline, "2026-04-07T22:00:00.000000Z");
        assert_eq!(r.sla_breaches[0].deadline_day, d("2026-04-07"));
    }

    #[test]
    fn counts_keep_their_order_and_mask_ids() {
        let data = ReportData {
            by_status: vec![("posted".into(), 2), ("held".into(), 1)],
            by_reason: vec![
                ("duplicate".into(), 1),
                ("address_protected".into(), 1),
                ("deceased".into(), 3),
            ],
            held: vec![HeldRow {
                order_id: "H".into(),
                national_id: "31888200000".into(),
                reason: Some("address_protected".into()),
                held_at: Some("2026-03-30T08:00:00.000000Z".into()),
            }],
            returned: vec![
                ReturnedRow {
                    order_id: "R".into(),
                    national_id: "01019012345".into(),
                    letter_id: Some("L1".into()),
                    receipt_at: Some("2026-04-01T08:00:00.000000Z".into()),
                    receipt_detail: Some("old".into()),
                    event_at: Some("2026-11-01T08:00:00.000000Z".into()),
                },
                ReturnedRow {
                    order_id: "R".into(),
                    national_id: "01019012345".into(),
                    letter_id: Some("L2".into()),
                    receipt_at: Some("2026-04-09T08:00:00.000000Z".into()),
                    receipt_detail: Some("Ukjent, se 01019012345".into()),
                    event_at: Some("2026-11-01T08:00:00.000000Z".into()),
                },
            ],
            ..Default::default()
        };
        let r = build(
            data,
            SlaJudge::default(),
            Vec::new(),
            t("2026-01-01T00:00:00Z"),
            t("2026-04-10T12:00:00Z"),
        )
        .unwrap();
        let statuses: Vec<&str> = r.by_status.0.iter().map(|(s, _)| s.as_str()).collect();
        let all: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(statuses, all);
        assert_eq!(r.by_status.get("posted"), 2);
        assert_eq!(r.by_status.get("rejected"), 0);
        assert_eq!(
            r.by_reason.0,
            [
                ("deceased".to_string(), 3),
                ("address_protected".to_string(), 1),
                ("duplicate".to_string(), 1)
            ]
        );
        assert_eq!(r.held[0].national_id, "318882*****");
        assert_eq!(r.returned.len(), 1);
        assert_eq!(r.returned[0].letter_id.as_deref(), Some("L2"));
        assert_eq!(r.returned[0].national_id, "010190*****");
        assert_eq!(
            r.returned[0].reason.as_deref(),
            Some("Ukjent, se 010190*****")
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["by_status"]["posted"], 2);
        for key in [
            "since",
            "generated_at",
            "by_status",
            "by_reason",
            "sla_breaches",
            "held",
            "returned",
            "vendors",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn batches_by_vendor_with_letter_outcomes() {
        let row = |batch: &str, vendor: &str, letter: &str, order: &str, n: i64| BatchLetterRow {
            batch_id: batch.into(),
            vendor: vendor.into(),
            created_at: format!("2026-11-2{}T01:00:00.000000Z", &batch[batch.len() - 1..]),
            state: "published".into(),
            letter_state: Some(letter.into()),
            order_status: Some(order.into()),
            letters: n,
        };
        let rows = vec![
            row("B2", "printco", "issued", "posted", 2),
            row("B1", "printco", "failed", "batched", 1),
            row("B1", "printco", "issued", "posted", 3),
            row("B1", "printco", "issued", "printed", 1),
            row("B1", "printco", "returned", "returned", 1),
            row("B3", "another", "pending", "batched", 4),
        ];
        let v = vendors(&rows);
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].vendor.as_str(), v[0].batch_count, v[0].letters),
            ("another", 1, 4)
        );
        let printco = &v[1];
        assert_eq!((printco.batch_count, printco.letters), (2, 8));
        assert_eq!(printco.batches[0].batch_id, "B1");
        assert_eq!(printco.batches[0].letters, 6);
        assert_eq!(
            printco.batches[0].by_status.0,
            [
                ("printed".to_string(), 1),
                ("posted".to_string(), 3),
                ("returned".to_string(), 1),
                ("failed".to_string(), 1)
            ]
        );
    }

    fn hour(h: &str, status: &str, n: i64) -> HourStatusRow {
        HourStatusRow {
            hour: h.into(),
            status: status.into(),
            orders: n,
        }
    }

    fn days(per_day: &[DayCounts]) -> Vec<(String, Vec<(String, i64)>)> {
        per_day
            .iter()
            .map(|d| (d.day.to_string(), d.by_status.0.clone()))
            .collect()
    }

    fn c(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
        pairs.iter().map(|(s, n)| (s.to_string(), *n)).collect()
    }

    #[test]
    fn hours_fold_into_oslo_days_across_the_october_change() {
        // Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET, a day of 25 hours, from
        // 22:00 UTC on the 24th to 23:00 UTC on the 25th.
        let rows = [
            hour("2026-10-24T21", "posted", 1),    // 23:00 CEST on Saturday
            hour("2026-10-24T22", "posted", 2),    // 00:00 CEST on Sunday
            hour("2026-10-25T00", "posted", 4),    // 02:00 CEST, the first 02:00
            hour("2026-10-25T01", "posted", 8),    // 02:00 CET, the second
            hour("2026-10-25T22", "rejected", 16), // 23:00 CET on Sunday
            hour("2026-10-25T23", "posted", 32),   // 00:00 CET on Monday
        ];
        assert_eq!(
            days(&orders_per_day(&rows).unwrap()),
            [
                ("2026-10-24".to_string(), c(&[("posted", 1)])),
                (
                    "2026-10-25".to_string(),
                    c(&[("rejected", 16), ("posted", 14)])
                ),
                ("2026-10-26".to_string(), c(&[("posted", 32)])),
            ]
        );
    }

    #[test]
    fn hours_fold_into_oslo_days_across_the_march_change() {
        // Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST, a day of 23 hours, from
        // 23:00 UTC on the 28th to 22:00 UTC on the 29th.
        let rows = [
            hour("2026-03-28T22", "validated", 1),  // 23:00 CET on Saturday
            hour("2026-03-28T23", "validated", 2),  // 00:00 CET on Sunday
            hour("2026-03-29T01", "held", 4),       // 03:00 CEST (02:00 never was)
            hour("2026-03-29T21", "validated", 8),  // 23:00 CEST on Sunday
            hour("2026-03-29T22", "validated", 16), // 00:00 CEST on Monday
        ];
        assert_eq!(
            days(&orders_per_day(&rows).unwrap()),
            [
                ("2026-03-28".to_string(), c(&[("validated", 1)])),
                (
                    "2026-03-29".to_string(),
                    c(&[("validated", 10), ("held", 4)])
                ),
                ("2026-03-30".to_string(), c(&[("validated", 16)])),
            ]
        );
    }

    #[test]
    fn days_list_statuses_in_life_order_and_sum_to_the_totals() {
        let rows = [
            hour("2026-11-23T08", "posted", 3),
            hour("2026-11-22T23", "teleported", 1), // an unknown status still counts
            hour("2026-11-23T09", "received", 2),
            hour("2026-11-23T09", "posted", 5),
            hour("2026-11-20T12", "duplicate", 7),
        ];
        assert_eq!(
            days(&orders_per_day(&rows).unwrap()),
            [
                ("2026-11-20".to_string(), c(&[("duplicate", 7)])),
                (
                    "2026-11-23".to_string(),
                    c(&[("received", 2), ("posted", 8), ("teleported", 1)])
                ),
            ]
        );
        let data = ReportData {
            by_status: vec![
                ("posted".into(), 8),
                ("received".into(), 2),
                ("duplicate".into(), 7),
                ("teleported".into(), 1),
            ],
            orders_by_hour: rows.to_vec(),
            ..Default::default()
        };
        let r = build(
            data,
            SlaJudge::default(),
            Vec::new(),
            t("2026-11-01T00:00:00Z"),
            t("2026-11-24T12:00:00Z"),
        )
        .unwrap();
        let mut summed: BTreeMap<String, i64> = BTreeMap::new();
        for d in &r.orders_per_day {
            for (s, n) in &d.by_status.0 {
                *summed.entry(s.clone()).or_default() += n;
            }
        }
        for (s, n) in &r.by_status.0 {
            assert_eq!(summed.get(s).copied().unwrap_or(0), *n, "{s}");
        }
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["orders_per_day"][1],
            serde_json::json!({"day": "2026-11-23", "by_status": {"received": 2, "posted": 8, "teleported": 1}})
        );
        assert!(orders_per_day(&[]).unwrap().is_empty());
    }

    #[test]
    fn an_unreadable_hour_is_an_error() {
        for bad in ["2026-11-23 0", "2026-11-23T24", "garbage", ""] {
            let e = orders_per_day(&[hour(bad, "posted", 1)]).unwrap_err();
            assert!(e.to_string().contains("ordered_at"), "{e}");
        }
    }

    #[test]
    fn breaches_are_counted_per_deadline_day() {
        let mut late = sla_row("B", OrderStatus::Posted, "2026-03-30T10:00:00+02:00");
        late.posted_event_at = Some("2026-04-08T08:00:00.000000Z".into());
        let overdue = sla_row("C", OrderStatus::Validated, "2026-03-30T11:00:00+02:00");
        let other = sla_row("D", OrderStatus::Printed, "2026-03-31T11:00:00+02:00");
        let (judged, breaches) = SlaJudge::new(t("2026-04-10T12:00:00Z"))
            .judge_all([late, overdue, other])
            .unwrap();
        let data = ReportData {
            ..Default::default()
        };
        let r = build(
            data,
            judged,
            breaches,
            t("2026-01-01T00:00:00Z"),
            t("2026-04-10T12:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            r.sla_breaches_per_day,
            [
                BreachDay {
                    day: d("2026-04-07"),
                    posted_late: 1,
                    overdue: 1
                },
                BreachDay {
                    day: d("2026-04-08"),
                    posted_late: 0,
                    overdue: 1
                },
            ]
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["sla_breaches_per_day"][0],
            serde_json::json!({"day": "2026-04-07", "posted_late": 1, "overdue": 1})
        );
        let rows = csv_rows(&r);
        assert!(rows.contains(&vec![
            "breach_day".to_string(),
            "2026-04-08".into(),
            "overdue".into(),
            "1".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new()
        ]));
        assert!(!rows
            .iter()
            .any(|r| r[0] == "breach_day" && r[1] == "2026-04-08" && r[2] == "posted_late"));
    }

    #[test]
    fn csv_rows_have_every_column() {
        let (judged, breaches) = SlaJudge::new(t("2026-04-08T12:00:00Z"))
            .judge_all([sla_row("C", OrderStatus::Validated, "2026-03-30T10:00:00Z")])
            .unwrap();
        let data = ReportData {
            ..Default::default()
        };
        let r = build(
            data,
            judged,
            breaches,
            t("2026-01-01T00:00:00Z"),
            t("2026-04-08T12:00:00Z"),
        )
        .unwrap();
        let rows = csv_rows(&r);
        assert!(rows.iter().all(|r| r.len() == CSV_HEADERS.len()));
        let breach = rows.iter().find(|r| r[0] == "sla_breach").unwrap();
        assert_eq!(
            breach,
            &[
                "sla_breach",
                "C",
                "validated",
                "1",
                "2026-03-30T10:00:00.000000Z",
                "2026-04-07T22:00:00.000000Z",
                "",
                "",
                "2026-04-07"
            ]
        );
        assert!(rows.contains(&vec![
            "sla".to_string(),
            "overdue".into(),
            String::new(),
            "1".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new()
        ]));
    }
}
