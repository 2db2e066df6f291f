//! SQL of `pinbrev report`: plain reads, in one transaction so that every section of a report
//! sees the same moment. Addresses are never read here.

use super::builder::QueryBuilder;
use super::{col, ctx, Db, DbError};
use futures_util::TryStreamExt;
use pinbrev_core::letter::{LetterState, ReceiptEvent};
use pinbrev_core::order::OrderStatus;
use pinbrev_core::report::{
    BatchLetterRow, HeldRow, HourStatusRow, ReportData, ReturnedRow, SlaOrderRow,
};

impl Db {
    /// The rows of a report on orders placed at or after `since` (stored timestamp form) and on
    /// batches created since; orders in one of `not_judged` have no delivery deadline, the
    /// others are handed to `judge` one at a time, oldest first, as they are read.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn report_data<E: From<DbError>>(
        &self,
        since: &str,
        not_judged: &[OrderStatus],
        mut judge: impl FnMut(SlaOrderRow) -> Result<(), E>,
    ) -> Result<ReportData, E> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(ctx("starting a read transaction"))?;

        let by_status = count_rows(
            sqlx::query(
                "SELECT status, COUNT(*) FROM orders WHERE ordered_at >= $1 GROUP BY status ORDER BY status",
            )
            .bind(since)
            .fetch_all(&mut *tx)
            .await
            .map_err(ctx("counting orders by status"))?,
        )?;
        let by_reason = count_rows(
            sqlx::query(
                "SELECT reason, COUNT(*) FROM orders WHERE ordered_at >= $1 AND reason IS NOT NULL \
                 GROUP BY reason ORDER BY reason",
            )
            .bind(since)
            .fetch_all(&mut *tx)
            .await
            .map_err(ctx("counting orders by reason"))?,
        )?;

        // Orders per UTC hour and status, for the orders per day: `ordered_at` is stored as
        // RFC 3339 in UTC (`2026-11-23T07:15:00.000000Z`), so its first 13 characters are the
        // hour. Counted here, folded into Oslo days by the core (a month of big nights is a
        // few thousand rows, not one per order).
        let orders_by_hour = sqlx::query(
            "SELECT substr(ordered_at, 1, 13), status, COUNT(*) FROM orders WHERE ordered_at >= $1 \
             GROUP BY substr(ordered_at, 1, 13), status ORDER BY 1, 2",
        )
        .bind(since)
        .fetch_all(&mut *tx)
        .await
        .map_err(ctx("counting orders by hour and status"))?
        .iter()
        .map(|r| {
            Ok(HourStatusRow {
                hour: col(r, 0)?,
                status: col(r, 1)?,
                orders: col(r, 2)?,
            })
        })
        .collect::<Result<_, DbError>>()?;

        // Posting and return times per order: the vendor's receipts of the order's letters
        // (a failed letter never left the vendor) and the events that moved the order.
        let mut qb = QueryBuilder::new(
                self.engine,
            "SELECT o.order_id, o.status, o.ordered_at, \
             (SELECT MIN(r.occurred_at) FROM letters l JOIN receipts r ON r.letter_id = l.letter_id \
               WHERE l.order_id = o.order_id AND r.event = ",
        );
        qb.push_bind(ReceiptEvent::Posted.code());
        qb.push(" AND l.state <> ");
        qb.push_bind(LetterState::Failed.code());
        qb.push("), (SELECT MIN(e.at) FROM order_events e WHERE e.order_id = o.order_id AND e.to_status = ");
        qb.push_bind(OrderStatus::Posted.code());
        qb.push("), (SELECT MIN(r.occurred_at) FROM letters l JOIN receipts r ON r.letter_id = l.letter_id WHERE l.order_id = o.order_id AND r.event = ");
        qb.push_bind(ReceiptEvent::Returned.code());
        qb.push("), (SELECT MIN(e.at) FROM order_events e WHERE e.order_id = o.order_id AND e.to_status = ");
        qb.push_bind(OrderStatus::Returned.code());
        qb.push(") FROM orders o WHERE o.ordered_at >= ");
        qb.push_bind(since);
        if !not_judged.is_empty() {
            qb.push(" AND o.status NOT IN (");
            let mut sep = qb.separated(", ");
            for s in not_judged {
                sep.push_bind(s.code());
            }
            qb.push(")");
        }
        qb.push(" ORDER BY o.ordered_at, o.order_id");
        // Handed on a row at a time: a night of a million orders is a million rows here, and
        // none is kept.
        let mut rows = qb.build().fetch(&mut *tx);
        while let Some(r) = rows
            .try_next()
            .await
            .map_err(ctx("reading orders' posting times"))?
        {
            let status: String = col(&r, 1)?;
            let row = SlaOrderRow {
                order_id: col(&r, 0)?,
                status: status.parse().map_err(|message| DbError::Corrupt {
                    what: "orders.status".into(),
                    message,
                })?,
                ordered_at: col(&r, 2)?,
                posted_receipt_at: col(&r, 3)?,
                posted_event_at: col(&r, 4)?,
                returned_receipt_at: col(&r, 5)?,
                returned_event_at: col(&r, 6)?,
            };
            judge(row)?;
        }
        drop(rows);

        let held = sqlx::query(
            "SELECT o.order_id, o.national_id, o.reason, \
             (SELECT MAX(e.at) FROM order_events e WHERE e.order_id = o.order_id AND e.to_status = $2) \
             FROM orders o WHERE o.status = $2 AND o.ordered_at >= $1 ORDER BY o.ordered_at, o.order_id",
        )
        .bind(since)
        .bind(OrderStatus::Held.code())
        .fetch_all(&mut *tx)
        .await
        .map_err(ctx("reading held orders"))?
        .iter()
        .map(|r| Ok(HeldRow {
            order_id: col(r, 0)?,
            national_id: col(r, 1)?,
            reason: col(r, 2)?,
            held_at: col(r, 3)?,
        }))
        .collect::<Result<_, DbError>>()?;

        let returned = sqlx::query(
            "SELECT o.order_id, o.national_id, l.letter_id, r.occurred_at, r.detail, \
             (SELECT MAX(e.at) FROM order_events e WHERE e.order_id = o.order_id AND e.to_status = $2) \
             FROM orders o \
             LEFT JOIN letters l ON l.order_id = o.order_id \
             LEFT JOIN receipts r ON r.letter_id = l.letter_id AND r.event = $3 \
             WHERE o.status = $2 AND o.ordered_at >= $1 \
             ORDER BY o.ordered_at, o.order_id, l.letter_id",
        )
        .bind(since)
        .bind(OrderStatus::Returned.code())
        .bind(ReceiptEvent::Returned.code())
        .fetch_all(&mut *tx)
        .await
        .map_err(ctx("reading returned orders"))?
        .iter()
        .map(|r| Ok(ReturnedRow {
            order_id: col(r, 0)?,
            national_id: col(r, 1)?,
            letter_id: col(r, 2)?,
            receipt_at: col(r, 3)?,
            receipt_detail: col(r, 4)?,
            event_at: col(r, 5)?,
        }))
        .collect::<Result<_, DbError>>()?;

        let batches = sqlx::query(
            "SELECT b.batch_id, b.vendor, b.created_at, b.state, l.state, o.status, COUNT(l.letter_id) \
             FROM batches b \
             LEFT JOIN letters l ON l.batch_id = b.batch_id \
             LEFT JOIN orders o ON o.order_id = l.order_id \
             WHERE b.created_at >= $1 \
             GROUP BY b.batch_id, b.vendor, b.created_at, b.state, l.state, o.status \
             ORDER BY b.vendor, b.created_at, b.batch_id",
        )
        .bind(since)
        .fetch_all(&mut *tx)
        .await
        .map_err(ctx("reading batches"))?
        .iter()
        .map(|r| Ok(BatchLetterRow {
            batch_id: col(r, 0)?,
            vendor: col(r, 1)?,
            created_at: col(r, 2)?,
            state: col(r, 3)?,
            letter_state: col(r, 4)?,
            order_status: col(r, 5)?,
            letters: col(r, 6)?,
        }))
        .collect::<Result<_, DbError>>()?;

        tx.rollback()
            .await
            .map_err(ctx("ending a read transaction"))?;
        Ok(ReportData {
            by_status,
            by_reason,
            held,
            returned,
            batches,
            orders_by_hour,
        })
    }
}

fn count_rows(rows: Vec<sqlx::any::AnyRow>) -> Result<Vec<(String, i64)>, DbError> {
    rows.iter().map(|r| Ok((col(r, 0)?, col(r, 1)?))).collect()
}
