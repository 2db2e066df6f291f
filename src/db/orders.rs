//! Orders (`orders`): storing new ones, reading them, and moving one from status to status
//! (checked against the core's transition table, with its event).

use std::collections::HashMap;

use futures_util::TryStreamExt;
use serde::Serialize;
use sqlx::Row;

use super::builder::{execute_all, QueryBuilder, Statement};
use super::{col, ctx, insert_event, json_list, now, Db, DbError, Engine, Tx, ROWS_PER_STATEMENT};
use pinbrev_core::free_text;
use pinbrev_core::order::{NewOrder, OrderStatus};

/// The two conditions that together say `{order}.person_national_id {test}` (the order was
/// validated for a person whose number passes `test`, such as `= $1` or `IN (...)`), each
/// answered by an index: the order was placed with that number too (the index on
/// `national_id`), or with another (the partial index `orders_person`, which holds only those;
/// see sql/0010_orders_person_partial.sql).
pub(super) fn resolved_to(order: &str, test: &str) -> [String; 2] {
    [
        format!("{order}.national_id {test} AND {order}.person_national_id {test}"),
        format!(
            "{order}.person_national_id {test} AND {order}.person_national_id <> {order}.national_id"
        ),
    ]
}

/// Result of storing an order row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted,
    /// The same order_id with identical content: a re-delivered file, skipped silently.
    SameContent,
    /// The same order_id with different content.
    Conflict,
}

/// An order as stored.
#[derive(Debug, Clone, Serialize)]
pub struct OrderRow {
    pub order_id: String,
    #[serde(skip)]
    pub national_id: String,
    pub ordered_at: String,
    pub channel: String,
    pub language: Option<String>,
    pub status: OrderStatus,
    pub reason: Option<String>,
    pub reason_detail: Option<String>,
    pub letter_language: Option<String>,
    pub postal_zone: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    pub source_file: String,
    pub source_line: i64,
    pub received_at: String,
    pub updated_at: String,
}

/// Filter of `orders list`.
#[derive(Debug, Default, Clone)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub reason: Option<String>,
    /// Only orders placed at or after this time (stored form, RFC 3339 UTC).
    pub since: Option<String>,
    /// At most this many: the most recent ones.
    pub limit: Option<i64>,
}

pub(super) const ORDER_COLUMNS: &str =
    "order_id, national_id, ordered_at, channel, language, status, reason, \
     reason_detail, letter_language, postal_zone, postcode, country, source_file, source_line, \
     received_at, updated_at";

pub(super) fn order_row(r: &sqlx::any::AnyRow) -> Result<OrderRow, DbError> {
    let status: String = col(r, "status")?;
    Ok(OrderRow {
        order_id: col(r, "order_id")?,
        national_id: col(r, "national_id")?,
        ordered_at: col(r, "ordered_at")?,
        channel: col(r, "channel")?,
        language: col(r, "language")?,
        status: status.parse().map_err(|message| DbError::Corrupt {
            what: "orders.status".into(),
            message,
        })?,
        reason: col(r, "reason")?,
        reason_detail: col(r, "reason_detail")?,
        letter_language: col(r, "letter_language")?,
        postal_zone: col(r, "postal_zone")?,
        postcode: col(r, "postcode")?,
        country: col(r, "country")?,
        source_file: col(r, "source_file")?,
        source_line: col(r, "source_line")?,
        received_at: col(r, "received_at")?,
        updated_at: col(r, "updated_at")?,
    })
}

/// The condition that an order is in `queue`, `received` or `validated`, as the partial index
/// of that queue names it (migration 0011): a literal, since SQLite never uses a partial index
/// for a condition whose value is bound only when the statement runs, and PostgreSQL not in a
/// generic plan.
pub(super) fn in_queue(queue: OrderStatus) -> String {
    debug_assert!(matches!(
        queue,
        OrderStatus::Received | OrderStatus::Validated
    ));
    format!("status = '{}'", queue.code())
}

/// The SQL of a page of the orders in a work queue (`received` or `validated`), oldest first
/// (`ordered_at`, then order_id, the order of the queue's index), after a position: `columns`
/// of each order, all rows as one JSON text ([`Engine::rows_as_json`], for `json_rows`), and
/// with `with_row` a last column `row_id`, SQLite's rowid of the order (NULL on PostgreSQL).
/// Parameters: `$1` and `$2` the position (empty texts for the start), `$3` the page's size.
pub(super) fn status_page_sql(
    engine: Engine,
    queue: OrderStatus,
    columns: &str,
    with_row: bool,
) -> String {
    let (inner, outer) = match (with_row, engine) {
        (false, _) => (String::new(), String::new()),
        (true, Engine::Sqlite) => (", rowid AS row_id".into(), ", row_id".into()),
        (true, Engine::Postgres) => (", NULL AS row_id".into(), ", row_id".into()),
    };
    format!(
        "SELECT {} FROM (SELECT {columns}{inner} FROM orders \
         WHERE {} AND (ordered_at > $1 OR (ordered_at = $1 AND order_id > $2)) \
         ORDER BY ordered_at, order_id LIMIT $3) AS page",
        engine.rows_as_json(&format!("{columns}{outer}")),
        in_queue(queue)
    )
}

impl Db {
    /// Stores a chunk of parsed orders in the write transaction `tx`, with a `received` event
    /// each: one query for the orders already known (stored before, or earlier in the same
    /// transaction), then multi-row inserts.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn insert_orders(
        &self,
        tx: &mut Tx,
        source: &str,
        orders: &[NewOrder],
    ) -> Result<Vec<InsertOutcome>, DbError> {
        let at = now();
        // What is stored of an order: national_id, ordered_at, channel, language.
        type Content = (String, String, String, Option<String>);
        let mut known: HashMap<String, Content> = HashMap::new();
        let mut order_ids: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
        // Looked up in the order of their index.
        order_ids.sort_unstable();
        let in_list = self.engine.in_list();
        let rows = sqlx::query(&format!(
            "SELECT order_id, national_id, ordered_at, channel, language FROM orders WHERE order_id IN {in_list}"
        ))
        .bind(json_list(&order_ids))
        .fetch_all(&mut **tx)
        .await
        .map_err(ctx("looking up orders"))?;
        for r in rows {
            let read = || ctx("looking up orders");
            known.insert(
                r.try_get(0).map_err(read())?,
                (
                    r.try_get(1).map_err(read())?,
                    r.try_get(2).map_err(read())?,
                    r.try_get(3).map_err(read())?,
                    r.try_get(4).map_err(read())?,
                ),
            );
        }
        let mut outcomes = Vec::with_capacity(orders.len());
        let mut new: Vec<&NewOrder> = Vec::with_capacity(orders.len());
        for o in orders {
            let content: Content = (
                o.national_id.clone(),
                o.ordered_at_text(),
                o.channel.code().to_string(),
                o.language.map(|l| l.code().to_string()),
            );
            // An order stored earlier, or earlier in this very file, is known.
            match known.get(o.order_id.as_str()) {
                Some(stored) if *stored == content => outcomes.push(InsertOutcome::SameContent),
                Some(_) => outcomes.push(InsertOutcome::Conflict),
                None => {
                    known.insert(o.order_id.as_str().to_string(), content);
                    new.push(o);
                    outcomes.push(InsertOutcome::Inserted);
                }
            }
        }
        // Stored oldest first, the order validation takes them in: each of its pages then
        // rewrites a few runs of neighbouring rows instead of rows scattered over the table.
        new.sort_by_cached_key(|o| (o.ordered_at, o.order_id.as_str()));
        // The events in order_id order, the order of their index: a statement's rows are then
        // neighbours in it.
        let mut by_id = new.clone();
        by_id.sort_unstable_by_key(|o| o.order_id.as_str());
        let engine = self.engine;
        let orders = new.chunks(ROWS_PER_STATEMENT).map(|chunk| {
            let mut qb = QueryBuilder::new(
                engine,
                "INSERT INTO orders (order_id, national_id, ordered_at, channel, language, source_file, source_line, \
                 received_at, status, updated_at) ",
            );
            qb.push_values(chunk, |mut row, o| {
                row.push_bind(o.order_id.as_str())
                    .push_bind(o.national_id.as_str())
                    .push_bind(o.ordered_at_text())
                    .push_bind(o.channel.code())
                    .push_bind(o.language.map(|l| l.code()))
                    .push_bind(source)
                    .push_bind(o.line as i64)
                    .push_bind(at.as_str())
                    .push_bind(OrderStatus::Received.code())
                    .push_bind(at.as_str());
            });
            Statement {
                builder: qb,
                rows: chunk.len(),
                context: "storing orders",
            }
        });
        let events = by_id.chunks(ROWS_PER_STATEMENT).map(|chunk| {
            let mut qb = QueryBuilder::new(
                engine,
                "INSERT INTO order_events (order_id, at, actor, event, from_status, to_status, detail) ",
            );
            qb.push_values(chunk, |mut row, o| {
                row.push_bind(o.order_id.as_str())
                    .push_bind(at.as_str())
                    .push_bind("ingest")
                    .push_bind("received")
                    .push_bind(None::<&str>)
                    .push_bind(OrderStatus::Received.code())
                    .push_bind(free_text::clean(&format!("{source}:{}", o.line)));
            });
            Statement {
                builder: qb,
                rows: chunk.len(),
                context: "storing order events",
            }
        });
        execute_all(tx, orders.chain(events)).await?;
        Ok(outcomes)
    }

    /// Orders in a work queue (`received` or `validated`), counted through its index.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn count_queue(&self, queue: OrderStatus) -> Result<i64, DbError> {
        sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM orders WHERE {}",
            in_queue(queue)
        ))
        .fetch_one(&self.pool)
        .await
        .map_err(ctx("counting orders"))
    }

    /// Orders matching the filter, oldest first.
    pub async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<OrderRow>, DbError> {
        let mut rows = Vec::new();
        self.for_each_order(filter, |row| {
            rows.push(row);
            Ok::<_, DbError>(())
        })
        .await?;
        Ok(rows)
    }

    /// Hands each order matching the filter, oldest first, to `each` as it is read, stopping
    /// at its first error: `orders list` of a million orders holds one row at a time.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn for_each_order<E: From<DbError>>(
        &self,
        filter: &OrderFilter,
        mut each: impl FnMut(OrderRow) -> Result<(), E>,
    ) -> Result<(), E> {
        // The most recent `limit` are chosen newest first, then listed oldest first.
        let outer = if filter.limit.is_some() {
            "SELECT * FROM ("
        } else {
            ""
        };
        let mut qb = QueryBuilder::new(
            self.engine,
            format!("{outer}SELECT {ORDER_COLUMNS} FROM orders WHERE 1 = 1"),
        );
        if let Some(s) = filter.status {
            qb.push(" AND status = ").push_bind(s.code());
        }
        if let Some(r) = &filter.reason {
            qb.push(" AND reason = ").push_bind(r.clone());
        }
        if let Some(since) = &filter.since {
            qb.push(" AND ordered_at >= ").push_bind(since.clone());
        }
        if let Some(limit) = filter.limit {
            qb.push(" ORDER BY ordered_at DESC, order_id DESC LIMIT ")
                .push_bind(limit)
                .push(") recent");
        }
        qb.push(" ORDER BY ordered_at, order_id");
        let mut rows = qb.build().fetch(&self.pool);
        while let Some(r) = rows.try_next().await.map_err(ctx("listing orders"))? {
            each(order_row(&r)?)?;
        }
        Ok(())
    }

    /// One order.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn order(&self, order_id: &str) -> Result<Option<OrderRow>, DbError> {
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = $1"
        ))
        .bind(order_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(ctx("reading an order"))?;
        row.as_ref().map(order_row).transpose()
    }

    /// One order, read inside a transaction.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn order_in(&self, tx: &mut Tx, order_id: &str) -> Result<Option<OrderRow>, DbError> {
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = $1"
        ))
        .bind(order_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(ctx("reading an order"))?;
        row.as_ref().map(order_row).transpose()
    }

    /// Orders placed with this number or resolved to any identifier of its person.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn orders_of_national_id(&self, national_id: &str) -> Result<Vec<OrderRow>, DbError> {
        // The number and every number its person has had. An order validated for one of them
        // and placed with one of them is found by the first test.
        let numbers = "(SELECT $1 UNION SELECT b.national_id FROM person_ids a \
             JOIN person_ids b ON a.person_id = b.person_id WHERE a.national_id = $1)";
        let [_, moved] = resolved_to("o", &format!("IN {numbers}"));
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders o WHERE o.national_id IN {numbers} OR ({moved}) \
             ORDER BY ordered_at, order_id"
        ))
        .bind(national_id)
        .fetch_all(&self.pool)
        .await
        .map_err(ctx("reading a person's orders"))?;
        rows.iter().map(order_row).collect()
    }
}

/// Moves an order from one of `from` to `to`, with its event. Returns false (and changes
/// nothing) when the order is not in one of `from`.
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn move_order(
    tx: &mut Tx,
    order_id: &str,
    from: &[OrderStatus],
    to: OrderStatus,
    actor: &str,
    event: &str,
    detail: Option<&str>,
) -> Result<bool, DbError> {
    let current: Option<String> =
        sqlx::query_scalar("SELECT status FROM orders WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(ctx("reading an order's status"))?;
    let Some(current) = current.and_then(|s| s.parse::<OrderStatus>().ok()) else {
        return Ok(false);
    };
    if !from.contains(&current) {
        return Ok(false);
    }
    if !current.may_become(to) {
        return Err(DbError::Transition {
            order_id: order_id.to_string(),
            from: current,
            to,
        });
    }
    let at = now();
    sqlx::query("UPDATE orders SET status = $1, updated_at = $2 WHERE order_id = $3")
        .bind(to.code())
        .bind(&at)
        .bind(order_id)
        .execute(&mut **tx)
        .await
        .map_err(ctx("changing an order's status"))?;
    insert_event(
        tx,
        order_id,
        &at,
        actor,
        event,
        Some(current),
        Some(to),
        detail,
    )
    .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What SQLite plans for a statement, as `EXPLAIN QUERY PLAN` details joined (each
    /// parameter bound to an empty text).
    async fn plan(db: &Db, sql: &str) -> String {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query = sqlx::query_as(&explain);
        for n in 1..10 {
            if sql.contains(&format!("${n}")) {
                query = query.bind("");
            }
        }
        let rows: Vec<(i64, i64, i64, String)> = query.fetch_all(&db.pool).await.unwrap();
        rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
    }

    #[test]
    fn each_work_queue_is_read_counted_and_moved_through_its_own_index() {
        super::super::tests::runtime().block_on(async {
            let (_dir, db) = super::super::tests::temp_db().await;
            for (queue, index) in [
                (OrderStatus::Received, "orders_received"),
                (OrderStatus::Validated, "orders_validated"),
            ] {
                let page = plan(
                    &db,
                    &status_page_sql(Engine::Sqlite, queue, "order_id, national_id", true),
                )
                .await;
                assert!(page.contains(&format!("INDEX {index}")), "{page}");
                assert!(
                    !page.contains("TEMP B-TREE"),
                    "read in the index's order: {page}"
                );
                let count = plan(
                    &db,
                    &format!("SELECT COUNT(*) FROM orders WHERE {}", in_queue(queue)),
                )
                .await;
                assert!(count.contains(&format!("INDEX {index}")), "{count}");
            }
            // A status bound as a parameter cannot use a partial index: the whole table.
            let bound = plan(
                &db,
                "SELECT order_id FROM orders WHERE status = $1 ORDER BY ordered_at, order_id",
            )
            .await;
            assert!(!bound.contains("orders_received"), "{bound}");
        });
    }
}
