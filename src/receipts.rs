//! Vendor receipts (`receipts ingest`): `batch_id,letter_id,event,occurred_at,detail` rows that
//! move letters' orders on: `printed`, `posted`, `failed` (back to `validated` for the next
//! batch), `returned` (with the post office's reason). Idempotent: a receipt seen before changes
//! nothing. An unknown batch or letter is a row error, never a crash.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::csv_input::{self, CsvRow, FileError};
use crate::db::{
    Db, DbError, GroupedTx, LetterRef, NewReceipt, ReceiptEventRow, ReceiptLetter, ReceiptOutcome,
    ReceiptWrites, Tx,
};
use crate::free_text::quote;
use crate::input_error::InputError;
use crate::orders::{parse_ordered_at, timestamp, OrderStatus};
use crate::row_errors::{RowErrors, Tell};
use pinbrev_core::letter::{BatchState, LetterState, ReceiptEvent};

const REQUIRED: [&str; 4] = ["batch_id", "letter_id", "event", "occurred_at"];

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
    /// Row errors, each passed on and stored as it was found ([`RowErrors`]).
    pub row_errors: u64,
}

/// A receipts file that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Ingests one receipts file, [`RECEIPTS_PER_PAGE`] rows at a time and
/// [`RECEIPTS_PER_TRANSACTION`] per write transaction: each page's letters and earlier receipts
/// are read at once, its rows applied in file order in memory (a row sees what the rows before
/// it did), and what they did written at once, with the page's row errors (each passed on to
/// `tell`).
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
    let mut rows = csv_input::open(file, &REQUIRED)?;
    let mut errors = RowErrors::new("receipts", tell);
    let mut page: Vec<Result<CsvRow, InputError>> = Vec::with_capacity(RECEIPTS_PER_PAGE);
    let mut writes = GroupedTx::new(RECEIPTS_PER_TRANSACTION, "committing receipts");
    loop {
        page.clear();
        page.extend(rows.by_ref().take(RECEIPTS_PER_PAGE));
        if page.is_empty() {
            break;
        }
        let tx = writes.tx(db).await?;
        apply_page(db, tx, &name, &page, &mut report, &mut errors).await?;
        errors.pass_on_in(db, tx).await?;
        let last = page.len() < RECEIPTS_PER_PAGE;
        if writes.stored(page.len()).await? && !last {
            crate::failpoint::failpoint("receipts-after-commit");
        }
        if last {
            break;
        }
    }
    writes.finish().await?;
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

/// Applies a page of rows (or their errors) in one transaction.
async fn apply_page(
    db: &Db,
    tx: &mut Tx,
    name: &str,
    page: &[Result<CsvRow, InputError>],
    report: &mut ReceiptReport,
    errors: &mut RowErrors<'_>,
) -> Result<(), DbError> {
    let letter_ids: Vec<&str> = page
        .iter()
        .filter_map(|row| row.as_ref().ok())
        .map(|row| row.get("letter_id"))
        .collect();
    let mut applying = Page {
        letters: db.receipt_letters_in(tx, &letter_ids).await?,
        moved: HashMap::new(),
        kept: db.receipts_kept_in(tx, &letter_ids).await?,
        batches: HashMap::new(),
        writes: ReceiptWrites::default(),
    };
    for row in page {
        match row {
            Err(e) => errors.push(e.clone()),
            Ok(row) => match applying.apply(db, tx, name, row).await? {
                Ok(ReceiptOutcome::Applied) => report.applied += 1,
                Ok(ReceiptOutcome::Recorded) => report.recorded += 1,
                Ok(ReceiptOutcome::AlreadyKnown) => report.already_known += 1,
                Err(e) => errors.push(e),
            },
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
        row: &CsvRow,
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
        let batch_id = row.get("batch_id");
        let letter_id = row.get("letter_id");
        let event = match row
            .get("event")
            .to_ascii_lowercase()
            .parse::<ReceiptEvent>()
        {
            Ok(e) => e,
            Err(_) => {
                return err(
                    "event",
                    "invalid_event",
                    format!(
                        "{} is not one of printed, posted, failed, returned",
                        quote(row.get("event"))
                    ),
                );
            }
        };
        let occurred = match parse_ordered_at(row.get("occurred_at")) {
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
        let detail = Some(row.get("detail").trim()).filter(|d| !d.is_empty());
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
