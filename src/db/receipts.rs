//! Vendor receipts (`receipts`): one per letter and event. A page of a receipts file is read
//! with two statements (its letters, and the receipts of them kept before) and what the rules
//! decided is written with a few multi-row statements: a statement per receipt cost a round
//! trip to SQLite's thread each, most of a receipt's time.

use std::collections::{HashMap, HashSet};

use super::builder::{execute_all, QueryBuilder, Statement};
use super::{
    all_changed, json_list, json_rows, now, parse_code, Db, DbError, LetterRef, ReceiptLetter, Tx,
    ROWS_PER_STATEMENT,
};
use pinbrev_core::free_text;
use pinbrev_core::letter::{BatchState, LetterState};
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

/// A receipt to keep.
#[derive(Debug, Clone)]
pub struct NewReceipt {
    pub letter_id: String,
    pub event: &'static str,
    pub batch_id: String,
    pub occurred_at: String,
    /// The vendor's words, as written (masked when stored).
    pub detail: Option<String>,
    pub source_line: u64,
}

/// An event of an order, in the order it happened.
#[derive(Debug, Clone)]
pub struct ReceiptEventRow {
    pub order_id: String,
    pub event: String,
    pub from: Option<OrderStatus>,
    pub to: Option<OrderStatus>,
    /// Masked when stored.
    pub detail: Option<String>,
}

/// What a page of receipts does to the store, written by [`Db::record_receipts`].
#[derive(Debug, Default)]
pub struct ReceiptWrites {
    /// The receipts to keep, none kept before.
    pub receipts: Vec<NewReceipt>,
    /// Orders that moved: order_id → (the status read with the page, the status reached).
    pub orders: HashMap<String, (OrderStatus, OrderStatus)>,
    /// Letters whose state changed: letter_id → (the state read, the state reached).
    pub letters: HashMap<String, (LetterState, LetterState)>,
    /// The orders' events, in the order they happened.
    pub events: Vec<ReceiptEventRow>,
}

impl Db {
    /// The letters of these orders (those of a page of receipts), read in the transaction that
    /// applies them, each with its batch's publication and its order's newest letter, by
    /// letter_id. A page's orders come in order_id order, so the letters are found in that
    /// order in the index on their orders.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn receipt_letters_in(
        &self,
        tx: &mut Tx,
        order_ids: &[&str],
    ) -> Result<HashMap<String, ReceiptLetter>, DbError> {
        let in_list = self.engine.in_list();
        let rows = self.engine.rows_as_json(
            "l.letter_id, l.batch_id, b.state, l.order_id, l.state, o.status, b.published_at, \
             (SELECT n.letter_id FROM letters n WHERE n.order_id = l.order_id \
              ORDER BY n.created_at DESC, n.letter_id DESC LIMIT 1)",
        );
        type Row = (
            String,
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            String,
        );
        let found: Vec<Row> = json_rows(
            &mut **tx,
            sqlx::query(&format!(
                "SELECT {rows} FROM letters l JOIN orders o ON o.order_id = l.order_id \
                 JOIN batches b ON b.batch_id = l.batch_id WHERE l.order_id IN {in_list}"
            ))
            .bind(json_list(order_ids)),
            "reading receipts' letters",
        )
        .await?;
        found
            .into_iter()
            .map(
                |(
                    letter_id,
                    batch_id,
                    batch_state,
                    order_id,
                    state,
                    status,
                    published_at,
                    newest,
                )| {
                    let letter = LetterRef {
                        letter_id: letter_id.clone(),
                        batch_id,
                        batch_state: parse_code::<BatchState>(&batch_state, "batches.state")?,
                        order_id,
                        state: parse_code::<LetterState>(&state, "letters.state")?,
                        order_status: parse_code::<OrderStatus>(&status, "orders.status")?,
                        pin_digests: None,
                    };
                    Ok((
                        letter_id,
                        ReceiptLetter {
                            letter,
                            published_at,
                            newest_of_order: newest,
                        },
                    ))
                },
            )
            .collect()
    }

    /// The order of each of these letters, by letter_id (ids that name no letter are missing):
    /// what a receipts file's rows are put in order by before they are applied. Read outside
    /// any write transaction.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn orders_of_letters(
        &self,
        letter_ids: &[&str],
    ) -> Result<HashMap<String, String>, DbError> {
        let in_list = self.engine.in_list();
        let rows = self.engine.rows_as_json("letter_id, order_id");
        let found: Vec<(String, String)> = json_rows(
            &self.pool,
            sqlx::query(&format!(
                "SELECT {rows} FROM letters WHERE letter_id IN {in_list}"
            ))
            .bind(json_list(letter_ids)),
            "reading the orders of receipts' letters",
        )
        .await?;
        Ok(found.into_iter().collect())
    }

    /// The receipts kept before of these letters, as (letter_id, event).
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn receipts_kept_in(
        &self,
        tx: &mut Tx,
        letter_ids: &[&str],
    ) -> Result<HashSet<(String, String)>, DbError> {
        let in_list = self.engine.in_list();
        let rows = self.engine.rows_as_json("letter_id, event");
        let kept: Vec<(String, String)> = json_rows(
            &mut **tx,
            sqlx::query(&format!(
                "SELECT {rows} FROM receipts WHERE letter_id IN {in_list}"
            ))
            .bind(json_list(letter_ids)),
            "reading receipts kept before",
        )
        .await?;
        Ok(kept.into_iter().collect())
    }

    /// Writes what a page of receipts did, in the transaction that read it: the receipts, the
    /// orders' and letters' new statuses (each checked to be still what was read), and the
    /// orders' events in the order they happened.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn record_receipts(
        &self,
        tx: &mut Tx,
        source_file: &str,
        writes: &ReceiptWrites,
    ) -> Result<(), DbError> {
        let at = now();
        let engine = self.engine;
        let receipts = writes.receipts.chunks(ROWS_PER_STATEMENT).map(|chunk| {
            let mut qb = QueryBuilder::new(
                engine,
                "INSERT INTO receipts (letter_id, event, batch_id, occurred_at, detail, source_file, \
                 source_line, received_at) ",
            );
            qb.push_values(chunk, |mut row, r| {
                row.push_bind(r.letter_id.as_str())
                    .push_bind(r.event)
                    .push_bind(r.batch_id.as_str())
                    .push_bind(r.occurred_at.as_str())
                    .push_bind(r.detail.as_deref().map(free_text::clean))
                    .push_bind(source_file)
                    .push_bind(r.source_line as i64)
                    .push_bind(at.as_str());
            });
            Statement {
                builder: qb,
                rows: chunk.len(),
                context: "storing receipts",
            }
        });
        // Each as (key, the code read, the code reached), in key order.
        let mut order_changes: Vec<(&str, &str, &str)> = writes
            .orders
            .iter()
            .map(|(id, (was, status))| (id.as_str(), was.code(), status.code()))
            .collect();
        order_changes.sort_unstable();
        let mut letter_changes: Vec<(&str, &str, &str)> = writes
            .letters
            .iter()
            .map(|(id, (was, state))| (id.as_str(), was.code(), state.code()))
            .collect();
        letter_changes.sort_unstable();
        let moves = order_changes.chunks(ROWS_PER_STATEMENT).map(|chunk| {
            let mut qb = changes(engine, "orders", "order_id", "status", chunk);
            qb.push(", updated_at = ");
            qb.push_bind(at.as_str());
            finish_changes(qb, "orders", "order_id", "status", chunk.len())
        });
        let states = letter_changes.chunks(ROWS_PER_STATEMENT).map(|chunk| {
            let qb = changes(engine, "letters", "letter_id", "state", chunk);
            finish_changes(qb, "letters", "letter_id", "state", chunk.len())
        });
        let events = writes.events.chunks(ROWS_PER_STATEMENT).map(|chunk| {
            // Rows of one multi-row insert get their event_id in the order listed.
            let mut qb = QueryBuilder::new(
                engine,
                "INSERT INTO order_events (order_id, at, actor, event, from_status, to_status, detail) ",
            );
            qb.push_values(chunk, |mut row, e| {
                row.push_bind(e.order_id.as_str())
                    .push_bind(at.as_str())
                    .push_bind("vendor")
                    .push_bind(e.event.as_str())
                    .push_bind(e.from.map(|s| s.code()))
                    .push_bind(e.to.map(|s| s.code()))
                    .push_bind(e.detail.as_deref().map(free_text::clean));
            });
            Statement {
                builder: qb,
                rows: chunk.len(),
                context: "storing receipts' order events",
            }
        });
        // A receipt kept twice fails its insert (the table's key); the statuses are checked by
        // the rows each update changed.
        let receipt_statements = writes.receipts.len().div_ceil(ROWS_PER_STATEMENT);
        let move_statements = order_changes.len().div_ceil(ROWS_PER_STATEMENT);
        let changed = execute_all(tx, receipts.chain(moves).chain(states).chain(events)).await?;
        let (moved, rest) = changed[receipt_statements..].split_at(move_statements);
        let restated = &rest[..letter_changes.len().div_ceil(ROWS_PER_STATEMENT)];
        for (what, counts, sizes, not_changed) in [
            (
                "orders.status",
                moved,
                order_changes.len(),
                "orders moved by receipts were no longer in the status read",
            ),
            (
                "letters.state",
                restated,
                letter_changes.len(),
                "letters changed by receipts were no longer in the state read",
            ),
        ] {
            all_changed(counts.iter().sum(), sizes, what, not_changed)?;
        }
        Ok(())
    }
}

/// The start of a statement that changes `column` of rows of `table` found by `key`, each
/// `(key, was, becomes)` of `rows`, up to its `SET` list (for more to be added).
fn changes<'a>(
    engine: super::Engine,
    table: &str,
    key: &str,
    column: &str,
    rows: &[(&'a str, &'a str, &'a str)],
) -> QueryBuilder<'a> {
    let mut qb = QueryBuilder::new(engine, format!("WITH v ({key}, was, becomes) AS ("));
    qb.push_values(rows, |mut row, (id, was, becomes)| {
        row.push_bind(*id).push_bind(*was).push_bind(*becomes);
    });
    qb.push(format_args!(") UPDATE {table} SET {column} = v.becomes"));
    qb
}

/// The end of a statement begun by [`changes`]: each row changed only while `column` still
/// holds what was read.
fn finish_changes<'a>(
    mut qb: QueryBuilder<'a>,
    table: &str,
    key: &str,
    column: &str,
    rows: usize,
) -> Statement<'a> {
    qb.push(format_args!(
        " FROM v WHERE {table}.{key} = v.{key} AND {table}.{column} = v.was"
    ));
    Statement {
        builder: qb,
        rows,
        context: "changing statuses after receipts",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_changed_since_the_page_was_read_fails_the_page_and_writes_nothing() {
        super::super::tests::runtime().block_on(async {
            let (_dir, db) = super::super::tests::temp_db().await;
            let mut tx = db.begin_write().await.unwrap();
            sqlx::query(
                "INSERT INTO orders (order_id, national_id, ordered_at, channel, source_file, \
                 source_line, received_at, status, updated_at) \
                 VALUES ('A-1', '01010112345', '2026-12-01T10:00:00.000000Z', 'web', 'o.csv', 2, \
                 'now', 'batched', 'now')",
            )
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.commit().await.unwrap();
            let mut tx = db.begin_write().await.unwrap();
            let event = |to| ReceiptEventRow {
                order_id: "A-1".into(),
                event: "posted".into(),
                from: Some(OrderStatus::Printed),
                to: Some(to),
                detail: None,
            };
            // Read as `printed`, but the order is `batched`.
            let stale = ReceiptWrites {
                orders: HashMap::from([(
                    "A-1".to_string(),
                    (OrderStatus::Printed, OrderStatus::Posted),
                )]),
                events: vec![event(OrderStatus::Posted)],
                ..ReceiptWrites::default()
            };
            let err = db
                .record_receipts(&mut tx, "r.csv", &stale)
                .await
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("1 of 1 orders moved by receipts were no longer in the status read"),
                "{err}"
            );
            drop(tx);
            let status: String =
                sqlx::query_scalar("SELECT status FROM orders WHERE order_id = 'A-1'")
                    .fetch_one(&db.pool)
                    .await
                    .unwrap();
            assert_eq!(status, "batched");
            let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_events")
                .fetch_one(&db.pool)
                .await
                .unwrap();
            assert_eq!(events, 0, "the page's event is not kept");
        });
    }
}
