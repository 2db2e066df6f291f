//! Vendor receipts (`receipts`): one per letter and event, and what each does to its letter and
//! order.

use super::{ctx, insert_event, move_order, now, Db, DbError, LetterRef, Tx};
use pinbrev_core::letter::LetterState;
use pinbrev_core::order::OrderStatus;

/// What a receipt row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptOutcome {
    /// New, and the order moved on.
    Applied,
    /// New, kept, but the order had already moved past it (a late or out-of-order receipt).
    Recorded,
    /// The same receipt was ingested before.
    AlreadyKnown,
}

impl Db {
    /// Applies one vendor receipt in the given transaction: kept once per (letter, event); the
    /// order moves on when its status allows.
    #[allow(clippy::too_many_arguments)]
    pub async fn apply_receipt(
        &self,
        tx: &mut Tx,
        letter: &LetterRef,
        event: &str,
        occurred_at: &str,
        detail: Option<&str>,
        source_file: &str,
        source_line: u64,
        transition: (&[OrderStatus], OrderStatus, Option<LetterState>),
    ) -> Result<ReceiptOutcome, DbError> {
        let inserted = sqlx::query(
            "INSERT INTO receipts (letter_id, event, batch_id, occurred_at, detail, source_file, source_line, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (letter_id, event) DO NOTHING",
        )
        .bind(&letter.letter_id)
        .bind(event)
        .bind(&letter.batch_id)
        .bind(occurred_at)
        .bind(detail.map(pinbrev_core::free_text::clean))
        .bind(source_file)
        .bind(source_line as i64)
        .bind(now())
        .execute(&mut **tx)
        .await
        .map_err(ctx("storing a receipt"))?
        .rows_affected();
        if inserted == 0 {
            return Ok(ReceiptOutcome::AlreadyKnown);
        }
        let (from, to, letter_state) = transition;
        let event_detail = match detail {
            Some(d) if !d.is_empty() => {
                format!("letter {} at {occurred_at}: {d}", letter.letter_id)
            }
            _ => format!("letter {} at {occurred_at}", letter.letter_id),
        };
        // Receipts only move the order of the letter that is its current one.
        let current = letter.state == LetterState::Issued;
        let moved = current
            && move_order(
                tx,
                &letter.order_id,
                from,
                to,
                "vendor",
                event,
                Some(&event_detail),
            )
            .await?;
        if moved {
            if let Some(state) = letter_state {
                sqlx::query("UPDATE letters SET state = $1 WHERE letter_id = $2")
                    .bind(state.code())
                    .bind(&letter.letter_id)
                    .execute(&mut **tx)
                    .await
                    .map_err(ctx("changing a letter's state"))?;
            }
        } else {
            let at = now();
            insert_event(
                tx,
                &letter.order_id,
                &at,
                "vendor",
                &format!("receipt {event} (no change)"),
                None,
                None,
                Some(&event_detail),
            )
            .await?;
        }
        Ok(if moved {
            ReceiptOutcome::Applied
        } else {
            ReceiptOutcome::Recorded
        })
    }
}
