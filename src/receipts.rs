//! Vendor receipts (`receipts ingest`): `batch_id,letter_id,event,occurred_at,detail` rows that
//! move letters' orders on: `printed`, `posted`, `failed` (back to `validated` for the next
//! batch), `returned` (with the post office's reason). Idempotent: a receipt seen before changes
//! nothing. An unknown batch or letter is a row error, never a crash.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::csv_input::{self, CsvRow, FileError};
use crate::db::{
    Db, DbError, GroupedTx, LetterRef, NewReceipt, ReceiptEventRow, ReceiptLetter, ReceiptOutcome,
    ReceiptWrites, Tx,
};
use crate::external_sort::{ExternalSort, SortError, SortedKeys, RUN_KEYS};
use crate::free_text::quote;
use crate::input_error::InputError;
use crate::orders::{parse_ordered_at, timestamp, OrderStatus};
use crate::row_errors::{RowErrors, Tell};
use pinbrev_core::letter::{BatchState, LetterState, ReceiptEvent};

const REQUIRED: [&str; 4] = ["batch_id", "letter_id", "event", "occurred_at"];
/// Columns read when the file has them.
const OPTIONAL: [&str; 1] = ["detail"];

/// How far the vendor's clock may be off from pinbrev's: a receipt up to this much in the
/// future, or before the batch was published, is still believed.
pub const CLOCK_SKEW: Duration = Duration::minutes(10);

/// Why a receipt's time cannot be true, if it cannot: in the future, or before the letter's
/// batch was published (the vendor cannot have touched a letter it did not have yet).
fn implausible_time(
    occurred: DateTime<Utc>,
    published_at: Option<&str>,
    now: DateTime<Utc>,
) -> Option<(&'static str, String)> {
    if occurred > now + CLOCK_SKEW {
        return Some((
            "occurred_in_future",
            format!(
                "in the future (now {}; allowed clock difference {} minutes)",
                timestamp(now),
                CLOCK_SKEW.num_minutes()
            ),
        ));
    }
    let published = published_at
        .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
        .map(|p| p.with_timezone(&Utc))?;
    (occurred < published - CLOCK_SKEW).then(|| {
        (
            "occurred_before_publication",
            format!(
                "before the batch was published at {} (allowed clock difference {} minutes)",
                timestamp(published),
                CLOCK_SKEW.num_minutes()
            ),
        )
    })
}

/// What ingesting one receipts file did.
#[derive(Debug, Default, Serialize)]
pub struct ReceiptReport {
    pub file: String,
    /// Receipts that moved an order on.
    pub applied: u64,
    /// New receipts kept without a status change (late or out of order).
    pub recorded: u64,
    /// Receipts seen before.
    pub already_known: u64,
    /// Row errors, passed on and stored in line order once the rows are applied
    /// ([`RowErrors`]).
    pub row_errors: u64,
}

/// A receipts file that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Db(#[from] DbError),
    /// The rows waiting to be applied could not be written or read back; what was applied
    /// before stays, and ingesting the file again applies the rest.
    #[error("sorting a receipts file's rows: {0}")]
    Sort(#[from] SortError),
}

/// Ingests one receipts file in two passes. The first reads the rows, [`RECEIPTS_PER_PAGE`] at
/// a time, and finds each letter's order; the second applies them in the orders' order
/// (order_id, then line), [`RECEIPTS_PER_PAGE`] at a time (each page's letters and earlier
/// receipts read at once, its rows applied in memory, what they did written at once) and
/// [`RECEIPTS_PER_TRANSACTION`] per write transaction. A row sees what the rows of its order
/// before it did, as in file order: a receipt changes only its own letter and order. The rows
/// wait between the passes in an [`ExternalSort`], in runs on disk for a large file. The row
/// errors of both passes are passed on to `tell` and stored once the rows are applied, in line
/// order.
///
/// Why the order: a vendor's file comes in the drop's postal order, which puts a page's orders
/// at random places in the orders' table and in the index of their events, larger than the
/// page cache at a million. Applied in that order, a million receipts took 83-91 s.
pub async fn ingest_file(
    db: &Db,
    file: &Path,
    tell: Tell<'_>,
) -> Result<ReceiptReport, ReceiptError> {
    let name = file.display().to_string();
    let mut report = ReceiptReport {
        file: name.clone(),
        ..Default::default()
    };
    let mut rows = csv_input::open(file, &REQUIRED, &OPTIONAL)?;
    let mut waiting = Waiting::new(RUN_KEYS);

    let mut page: Vec<Result<CsvRow, InputError>> = Vec::with_capacity(RECEIPTS_PER_PAGE);
    loop {
        page.clear();
        page.extend(rows.by_ref().take(RECEIPTS_PER_PAGE));
        if page.is_empty() {
            break;
        }
        let letter_ids: Vec<&str> = page
            .iter()
            .filter_map(|row| row.as_ref().ok())
            .map(|row| row.get("letter_id"))
            .collect();
        let orders = db.orders_of_letters(&letter_ids).await?;
        for row in &page {
            match row {
                Err(e) => waiting.error(e)?,
                Ok(row) => {
                    // A row whose letter is unknown goes first, to be found in error.
                    let order = orders.get(row.get("letter_id")).map_or("", String::as_str);
                    waiting.row(order, &ReceiptRow::read(row))?;
                }
            }
        }
        if page.len() < RECEIPTS_PER_PAGE {
            break;
        }
    }
    drop(page);
    drop(rows);

    let (mut sorted, mut found) = waiting.rows()?;
    let mut writes = GroupedTx::new(RECEIPTS_PER_TRANSACTION, "committing receipts");
    let mut page: Vec<ReceiptRow> = Vec::with_capacity(RECEIPTS_PER_PAGE);
    let mut page_errors = Vec::new();
    loop {
        page.clear();
        for key in sorted.by_ref().take(RECEIPTS_PER_PAGE) {
            page.push(ReceiptRow::from_key(&key?)?);
        }
        if page.is_empty() {
            break;
        }
        let tx = writes.tx(db).await?;
        apply_page(db, tx, &name, &page, &mut report, &mut page_errors).await?;
        for e in page_errors.drain(..) {
            found.error(&e)?;
        }
        let last = page.len() < RECEIPTS_PER_PAGE;
        if writes.stored(page.len()).await? && !last {
            crate::failpoint::failpoint("receipts-after-commit");
        }
        if last {
            break;
        }
    }
    writes.finish().await?;

    let mut errors = RowErrors::new("receipts", tell);
    for e in found.finish()? {
        errors.push(e?);
        if errors.full() {
            errors.pass_on(db).await?;
        }
    }
    errors.pass_on(db).await?;
    report.row_errors = errors.count();
    Ok(report)
}

/// Receipts read and applied at a time (the letters they name read with one query).
const RECEIPTS_PER_PAGE: usize = 1_000;

/// Receipts applied per write transaction, in pages of [`RECEIPTS_PER_PAGE`]. A receipt file can
/// hold a row for every letter of a night: with a commit (and its fsync) for each, 9,416
/// receipts took 6.5 s. A commit writes every page its receipts changed, and their orders and
/// events lie all over their tables: 93,751 receipts took 3.87-4.32 s in transactions of 10,000
/// against 4.78-5.05 s in transactions of 1,000, writing 0.66 GB against 1.5 GB. A crash loses at
/// most the open transaction, and ingesting the file again applies what it lost: a receipt is
/// kept once per (letter, event).
const RECEIPTS_PER_TRANSACTION: usize = 10_000;

/// A receipt row as read, waiting for its turn between the two passes.
#[derive(Debug, Serialize, Deserialize)]
struct ReceiptRow {
    /// The order of the row's letter, as the first pass found it ("" when none).
    #[serde(skip)]
    order_id: String,
    line: u64,
    batch_id: String,
    letter_id: String,
    event: String,
    occurred_at: String,
    detail: String,
}

impl ReceiptRow {
    fn read(row: &CsvRow) -> ReceiptRow {
        ReceiptRow {
            order_id: String::new(),
            line: row.line,
            batch_id: row.get("batch_id").to_string(),
            letter_id: row.get("letter_id").to_string(),
            event: row.get("event").to_string(),
            occurred_at: row.get("occurred_at").to_string(),
            detail: row.get("detail").to_string(),
        }
    }

    /// The row as a sort key: its order's id, its line, then the row ([`from_payload`]).
    fn key(&self, order_id: &str) -> Result<String, serde_json::Error> {
        Ok(format!(
            "{order_id}\0{:020}\0{}",
            self.line,
            serde_json::to_string(self)?
        ))
    }

    fn from_key(key: &str) -> Result<ReceiptRow, SortError> {
        let order_id = key.split_once('\0').map_or("", |(order_id, _)| order_id);
        let mut row: ReceiptRow = from_payload(key)?;
        row.order_id = order_id.to_string();
        Ok(row)
    }
}

/// What a sort key carries after its sort fields: JSON, which holds no NUL (serde_json escapes
/// every control character), after the key's last one.
fn from_payload<T: serde::de::DeserializeOwned>(key: &str) -> Result<T, SortError> {
    let json = key.rsplit_once('\0').map_or(key, |(_, json)| json);
    serde_json::from_str(json).map_err(unreadable)
}

/// A key that cannot be written, or read back as what was written (a run file damaged in
/// `TMPDIR`, where the runs are).
fn unreadable(e: serde_json::Error) -> SortError {
    SortError {
        path: std::env::temp_dir(),
        source: io::Error::new(io::ErrorKind::InvalidData, e),
    }
}

/// Row errors waiting to be passed on in line order: errors of a line in the order found.
struct Found {
    sort: ExternalSort,
    count: u64,
}

impl Found {
    fn error(&mut self, e: &InputError) -> Result<(), SortError> {
        let json = serde_json::to_string(e).map_err(unreadable)?;
        self.count += 1;
        self.sort.push(format!(
            "{:020}\0{:020}\0{json}",
            e.line.unwrap_or(0),
            self.count
        ))
    }

    /// The errors, in line order.
    fn finish(self) -> Result<impl Iterator<Item = Result<InputError, SortError>>, SortError> {
        Ok(self
            .sort
            .finish()?
            .map(|key| key.and_then(|key| from_payload(&key))))
    }
}

/// What the first pass leaves for the second: the rows by (order_id, line), the errors by line.
struct Waiting {
    rows: ExternalSort,
    found: Found,
}

impl Waiting {
    /// Each sort's runs of `run_keys` in files without a name under `TMPDIR`: owner-only, and
    /// freed by the kernel when the ingest ends, even if killed, so that no letter id or
    /// vendor's detail is left on disk.
    fn new(run_keys: usize) -> Waiting {
        Waiting {
            rows: ExternalSort::in_unnamed_files("pinbrev-receipts-", run_keys),
            found: Found {
                sort: ExternalSort::in_unnamed_files("pinbrev-receipt-errors-", run_keys),
                count: 0,
            },
        }
    }

    fn row(&mut self, order_id: &str, row: &ReceiptRow) -> Result<(), SortError> {
        let key = row.key(order_id).map_err(unreadable)?;
        self.rows.push(key)
    }

    fn error(&mut self, e: &InputError) -> Result<(), SortError> {
        self.found.error(e)
    }

    /// The rows in their orders' order, and the errors found so far.
    fn rows(self) -> Result<(SortedKeys, Found), SortError> {
        Ok((self.rows.finish()?, self.found))
    }
}

/// Applies a page of rows in one transaction; their row errors go to `errors`.
async fn apply_page(
    db: &Db,
    tx: &mut Tx,
    name: &str,
    page: &[ReceiptRow],
    report: &mut ReceiptReport,
    errors: &mut Vec<InputError>,
) -> Result<(), DbError> {
    let letter_ids: Vec<&str> = page.iter().map(|row| row.letter_id.as_str()).collect();
    let mut order_ids: Vec<&str> = page
        .iter()
        .map(|row| row.order_id.as_str())
        .filter(|id| !id.is_empty())
        .collect();
    order_ids.dedup();
    let mut applying = Page {
        letters: db.receipt_letters_in(tx, &order_ids).await?,
        moved: HashMap::new(),
        kept: db.receipts_kept_in(tx, &letter_ids).await?,
        batches: HashMap::new(),
        writes: ReceiptWrites::default(),
    };
    for row in page {
        match applying.apply(db, tx, name, row).await? {
            Ok(ReceiptOutcome::Applied) => report.applied += 1,
            Ok(ReceiptOutcome::Recorded) => report.recorded += 1,
            Ok(ReceiptOutcome::AlreadyKnown) => report.already_known += 1,
            Err(e) => errors.push(e),
        }
    }
    db.record_receipts(tx, name, &applying.writes).await
}

/// A page of receipts being applied: its letters as read, changed as its rows change them.
struct Page {
    /// The page's letters by letter_id, each with its state as the rows so far left it.
    letters: HashMap<String, ReceiptLetter>,
    /// The status the rows so far moved each order to, by order_id (a letter's order status
    /// as read holds for an order not in it).
    moved: HashMap<String, OrderStatus>,
    /// Receipts kept, before or by this page: (letter_id, event).
    kept: HashSet<(String, String)>,
    /// Whether each batch named by a row in error so far exists: a file of a million rows
    /// naming an unknown batch took 60.6 s with a lookup each.
    batches: HashMap<String, bool>,
    writes: ReceiptWrites,
}

impl Page {
    async fn apply(
        &mut self,
        db: &Db,
        tx: &mut Tx,
        name: &str,
        row: &ReceiptRow,
    ) -> Result<Result<ReceiptOutcome, InputError>, DbError> {
        let err = |field: &str, code: &str, message: String| {
            Ok(Err(InputError::row(
                name,
                row.line,
                Some(field),
                code,
                message,
            )))
        };
        let batch_id = row.batch_id.as_str();
        let letter_id = row.letter_id.as_str();
        let event = match row.event.to_ascii_lowercase().parse::<ReceiptEvent>() {
            Ok(e) => e,
            Err(_) => {
                return err(
                    "event",
                    "invalid_event",
                    format!(
                        "{} is not one of printed, posted, failed, returned",
                        quote(&row.event)
                    ),
                );
            }
        };
        let occurred = match parse_ordered_at(&row.occurred_at) {
            Ok(t) => t,
            Err(m) => return err("occurred_at", "invalid_occurred_at", m),
        };
        let occurred_at = timestamp(occurred);
        let found = match self.letters.get(letter_id) {
            Some(found) if found.letter.batch_id == batch_id => {
                let mut found = found.clone();
                if let Some(status) = self.moved.get(&found.letter.order_id) {
                    found.letter.order_status = *status;
                }
                found
            }
            found => {
                // A row in error: the first of its errors, in the order they are checked.
                let batch_known = match self.batches.get(batch_id) {
                    Some(known) => *known,
                    None => {
                        let known = db.batch_in(tx, batch_id).await?.is_some();
                        self.batches.insert(batch_id.to_string(), known);
                        known
                    }
                };
                if !batch_known {
                    return err(
                        "batch_id",
                        "unknown_batch",
                        format!("no batch {}", quote(batch_id)),
                    );
                }
                let Some(found) = found else {
                    return err(
                        "letter_id",
                        "unknown_letter",
                        format!("no letter {}", quote(letter_id)),
                    );
                };
                return err(
                    "letter_id",
                    "letter_not_in_batch",
                    format!(
                        "letter {letter_id} belongs to batch {}, not {batch_id}",
                        found.letter.batch_id
                    ),
                );
            }
        };
        let letter = &found.letter;
        if letter.batch_state != BatchState::Published {
            return err(
                "batch_id",
                "batch_not_published",
                format!("batch {batch_id} was never published"),
            );
        }
        if let Some((code, message)) =
            implausible_time(occurred, found.published_at.as_deref(), Utc::now())
        {
            return err(
                "occurred_at",
                code,
                format!("{occurred_at}: {message} (batch {batch_id})"),
            );
        }
        // The post office's words, as the vendor wrote them (the store masks them before it keeps them).
        let detail = Some(row.detail.trim()).filter(|d| !d.is_empty());
        let (from, to, letter_state) = event.transition();
        // Only the order's newest letter moves it, and only while the order is with the vendor: a
        // late receipt for a letter that a reissue is replacing is kept but moves nothing.
        let with_vendor = matches!(
            letter.order_status,
            OrderStatus::Batched
                | OrderStatus::Printed
                | OrderStatus::Posted
                | OrderStatus::Returned
        );
        let from: &[OrderStatus] = if found.newest_of_order == letter.letter_id && with_vendor {
            from
        } else {
            &[]
        };
        if letter.state == LetterState::Issued
            && !from.is_empty()
            && !from.contains(&letter.order_status)
            && letter.order_status != to
        {
            let late = matches!(event, ReceiptEvent::Printed)
                && letter.order_status == OrderStatus::Posted;
            if !late {
                return err(
                    "event",
                    "invalid_transition",
                    format!(
                        "letter {letter_id}: {event} cannot follow the order's status {}",
                        letter.order_status
                    ),
                );
            }
        }
        let receipt = NewReceipt {
            letter_id: letter.letter_id.clone(),
            event: event.code(),
            batch_id: letter.batch_id.clone(),
            occurred_at,
            detail: detail.map(str::to_string),
            source_line: row.line,
        };
        self.record(letter, receipt, (from, to, letter_state))
            .map(Ok)
    }

    /// Keeps a receipt once per (letter, event), and moves the letter's order on when its
    /// status allows (and the letter, to the state the receipt gives it).
    fn record(
        &mut self,
        letter: &LetterRef,
        receipt: NewReceipt,
        (from, to, letter_state): (&[OrderStatus], OrderStatus, Option<LetterState>),
    ) -> Result<ReceiptOutcome, DbError> {
        if !self
            .kept
            .insert((receipt.letter_id.clone(), receipt.event.to_string()))
        {
            return Ok(ReceiptOutcome::AlreadyKnown);
        }
        let event = receipt.event;
        let event_detail = match receipt.detail.as_deref() {
            Some(d) => format!(
                "letter {} at {}: {d}",
                letter.letter_id, receipt.occurred_at
            ),
            None => format!("letter {} at {}", letter.letter_id, receipt.occurred_at),
        };
        self.writes.receipts.push(receipt);
        // Receipts only move the order of the letter that is its current one.
        let current = letter.order_status;
        let moved = letter.state == LetterState::Issued && from.contains(&current);
        if moved {
            if !current.may_become(to) {
                return Err(DbError::Transition {
                    order_id: letter.order_id.clone(),
                    from: current,
                    to,
                });
            }
            self.writes
                .orders
                .entry(letter.order_id.clone())
                .or_insert((current, to))
                .1 = to;
            self.writes.events.push(ReceiptEventRow {
                order_id: letter.order_id.clone(),
                event: event.to_string(),
                from: Some(current),
                to: Some(to),
                detail: Some(event_detail),
            });
            // Every letter of the order read with the page sees the order's new status.
            self.moved.insert(letter.order_id.clone(), to);
            if let Some(state) = letter_state {
                self.writes
                    .letters
                    .entry(letter.letter_id.clone())
                    .or_insert((letter.state, state))
                    .1 = state;
                if let Some(changed) = self.letters.get_mut(&letter.letter_id) {
                    changed.letter.state = state;
                }
            }
        } else {
            self.writes.events.push(ReceiptEventRow {
                order_id: letter.order_id.clone(),
                event: format!("receipt {event} (no change)"),
                from: None,
                to: None,
                detail: Some(event_detail),
            });
        }
        Ok(if moved {
            ReceiptOutcome::Applied
        } else {
            ReceiptOutcome::Recorded
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(line: u64, letter_id: &str, detail: &str) -> ReceiptRow {
        ReceiptRow {
            order_id: String::new(),
            line,
            batch_id: "B-1".into(),
            letter_id: letter_id.into(),
            event: "posted".into(),
            occurred_at: "2026-11-24T12:00:00Z".into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn rows_wait_in_runs_on_disk_and_come_back_by_order_then_line_and_errors_by_line() {
        let mut waiting = Waiting::new(2);
        let rows = [
            ("O-2", 2, "L-4"),
            ("O-10", 3, "L-1"),
            ("", 4, "NOPE"),
            ("O-2", 5, "L-4"),
            ("O-1", 6, "L-9"),
            ("O-10", 7, "L-1"),
        ];
        for (order, line, letter) in rows {
            waiting
                .row(order, &row(line, letter, "moved, \"away\"\n\0"))
                .unwrap();
        }
        let error = |line: u64, code: &str| {
            InputError::row("r.csv", line, Some("event"), code, "bad".into())
        };
        waiting.error(&error(9, "a")).unwrap();
        waiting.error(&error(8, "b")).unwrap();
        assert_eq!(
            waiting.rows.runs(),
            3,
            "three full runs of two rows written"
        );
        let (sorted, mut found) = waiting.rows().unwrap();
        found.error(&error(3, "c")).unwrap();
        found.error(&error(9, "d")).unwrap();
        let back: Vec<(String, u64, String)> = sorted
            .map(|key| {
                let r = ReceiptRow::from_key(&key.unwrap()).unwrap();
                assert_eq!(r.detail, "moved, \"away\"\n\0");
                (r.order_id, r.line, r.letter_id)
            })
            .collect();
        let back: Vec<(&str, u64, &str)> = back
            .iter()
            .map(|(o, l, id)| (o.as_str(), *l, id.as_str()))
            .collect();
        // Byte order of the ids: "O-10" before "O-2".
        assert_eq!(
            back,
            [
                ("", 4, "NOPE"),
                ("O-1", 6, "L-9"),
                ("O-10", 3, "L-1"),
                ("O-10", 7, "L-1"),
                ("O-2", 2, "L-4"),
                ("O-2", 5, "L-4"),
            ]
        );
        let errors: Vec<(Option<u64>, String)> = found
            .finish()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.line, e.code)
            })
            .collect();
        let codes: Vec<(Option<u64>, &str)> =
            errors.iter().map(|(l, c)| (*l, c.as_str())).collect();
        assert_eq!(
            codes,
            [
                (Some(3), "c"),
                (Some(8), "b"),
                (Some(9), "a"),
                (Some(9), "d")
            ]
        );
    }

    proptest! {
        #[test]
        fn a_waiting_row_is_read_back_as_written_and_sorts_by_order_then_line(
            orders in proptest::collection::vec("[A-Za-z0-9._-]{0,8}", 2),
            lines in proptest::collection::vec(0u64..100_000_000, 2),
            texts in proptest::collection::vec(any::<String>(), 5),
        ) {
            let mut keys = Vec::new();
            for i in 0..2 {
                let written = ReceiptRow {
                    order_id: String::new(),
                    line: lines[i],
                    batch_id: texts[0].clone(),
                    letter_id: texts[1].clone(),
                    event: texts[2].clone(),
                    occurred_at: texts[3].clone(),
                    detail: texts[4].clone(),
                };
                let key = written.key(&orders[i]).unwrap();
                let read = ReceiptRow::from_key(&key).unwrap();
                prop_assert_eq!(&read.order_id, &orders[i]);
                prop_assert_eq!(read.line, written.line);
                prop_assert_eq!(&read.batch_id, &written.batch_id);
                prop_assert_eq!(&read.letter_id, &written.letter_id);
                prop_assert_eq!(&read.event, &written.event);
                prop_assert_eq!(&read.occurred_at, &written.occurred_at);
                prop_assert_eq!(&read.detail, &written.detail);
                keys.push(key);
            }
            if (&orders[0], lines[0]) != (&orders[1], lines[1]) {
                prop_assert_eq!(
                    keys[0].cmp(&keys[1]),
                    (orders[0].as_bytes(), lines[0]).cmp(&(orders[1].as_bytes(), lines[1]))
                );
            }
        }
    }

    #[test]
    fn receipt_times_must_be_possible() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let now = t("2026-11-24T12:00:00Z");
        let published = Some("2026-11-24T02:00:00.000000Z");
        let code = |at: &str| implausible_time(t(at), published, now).map(|(c, _)| c);
        assert_eq!(code("2026-11-24T11:00:00Z"), None);
        assert_eq!(code("2026-11-24T12:09:59Z"), None);
        assert_eq!(code("2026-11-24T12:10:01Z"), Some("occurred_in_future"));
        assert_eq!(code("2026-11-24T01:50:00Z"), None);
        assert_eq!(
            code("2026-11-24T01:49:59Z"),
            Some("occurred_before_publication")
        );
        assert_eq!(implausible_time(t("2020-01-01T00:00:00Z"), None, now), None);
    }
}
