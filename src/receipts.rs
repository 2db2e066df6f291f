//! Vendor receipts (`receipts ingest`): `batch_id,letter_id,event,occurred_at,detail` rows that
//! move letters' orders on: `printed`, `posted`, `failed` (back to `validated` for the next
//! batch), `returned` (with the post office's reason). Idempotent: a receipt seen before changes
//! nothing. An unknown batch or letter is a row error, never a crash.

use std::path::Path;

use serde::Serialize;

use crate::code_enum;
use crate::csv_input::{self, CsvRow, FileError};
use crate::db::{Db, DbError, ReceiptOutcome};
use crate::input_error::InputError;
use crate::orders::{parse_ordered_at, timestamp, OrderStatus};

code_enum! {
    /// What the vendor reports about a letter.
    pub enum ReceiptEvent {
        Printed => "printed",
        Posted => "posted",
        Failed => "failed",
        Returned => "returned",
    }
}

impl ReceiptEvent {
    /// From which order statuses the event moves the order, to which status, and the letter's
    /// new state (when its codes stop being valid).
    fn transition(self) -> (&'static [OrderStatus], OrderStatus, Option<&'static str>) {
        use OrderStatus::*;
        match self {
            ReceiptEvent::Printed => (&[Batched], Printed, None),
            ReceiptEvent::Posted => (&[Batched, Printed], Posted, None),
            // The letter never left the vendor: its codes die, the order waits for the next batch.
            ReceiptEvent::Failed => (&[Batched, Printed], Validated, Some("failed")),
            // Back from an address where the person does not live: someone may have opened it.
            ReceiptEvent::Returned => (&[Batched, Printed, Posted], Returned, Some("returned")),
        }
    }
}

const REQUIRED: [&str; 4] = ["batch_id", "letter_id", "event", "occurred_at"];

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
    pub row_errors: Vec<InputError>,
}

/// A receipts file that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Ingests one receipts file.
pub async fn ingest_file(db: &Db, file: &Path) -> Result<ReceiptReport, ReceiptError> {
    let name = file.display().to_string();
    let mut report = ReceiptReport {
        file: name.clone(),
        ..Default::default()
    };
    for row in csv_input::open(file, &REQUIRED)? {
        match row {
            Err(e) => report.row_errors.push(e),
            Ok(row) => match apply(db, &name, &row).await? {
                Ok(ReceiptOutcome::Applied) => report.applied += 1,
                Ok(ReceiptOutcome::Recorded) => report.recorded += 1,
                Ok(ReceiptOutcome::AlreadyKnown) => report.already_known += 1,
                Err(e) => report.row_errors.push(e),
            },
        }
    }
    db.record_input_errors("receipts", &report.row_errors)
        .await?;
    Ok(report)
}

async fn apply(
    db: &Db,
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
                    "{:?} is not one of printed, posted, failed, returned",
                    row.get("event")
                ),
            );
        }
    };
    let occurred_at = match parse_ordered_at(row.get("occurred_at")) {
        Ok(t) => timestamp(t),
        Err(m) => return err("occurred_at", "invalid_occurred_at", m),
    };
    let Some(batch) = db.batch(batch_id).await? else {
        return err(
            "batch_id",
            "unknown_batch",
            format!("no batch {batch_id:?}"),
        );
    };
    let Some(letter) = db.letter(letter_id).await? else {
        return err(
            "letter_id",
            "unknown_letter",
            format!("no letter {letter_id:?}"),
        );
    };
    if letter.batch_id != batch.batch_id {
        return err(
            "letter_id",
            "letter_not_in_batch",
            format!(
                "letter {letter_id} belongs to batch {}, not {batch_id}",
                letter.batch_id
            ),
        );
    }
    if batch.state != "published" {
        return err(
            "batch_id",
            "batch_not_published",
            format!("batch {batch_id} was never published"),
        );
    }
    let detail = Some(row.get("detail")).filter(|d| !d.is_empty());
    let (from, to, letter_state) = event.transition();
    // Only the order's newest letter moves it, and only while the order is with the vendor: a
    // late receipt for a letter that a reissue is replacing is kept but moves nothing.
    let newest = db
        .latest_letter(&letter.order_id)
        .await?
        .map(|l| l.letter_id);
    let with_vendor = matches!(
        letter.order_status,
        OrderStatus::Batched | OrderStatus::Printed | OrderStatus::Posted | OrderStatus::Returned
    );
    let from: &[OrderStatus] =
        if newest.as_deref() == Some(letter.letter_id.as_str()) && with_vendor {
            from
        } else {
            &[]
        };
    if letter.state == "issued"
        && !from.is_empty()
        && !from.contains(&letter.order_status)
        && letter.order_status != to
    {
        let late =
            matches!(event, ReceiptEvent::Printed) && letter.order_status == OrderStatus::Posted;
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
    let outcome = db
        .apply_receipt(
            &letter,
            event.code(),
            &occurred_at,
            detail,
            name,
            row.line,
            (from, to, letter_state),
        )
        .await?;
    Ok(Ok(outcome))
}
