//! Batches (`batches`), the vendor drops: made from every validated order at once (a pending
//! letter each), their build's state, and publishing, which issues their letters and supersedes
//! the people's earlier ones.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::builder::{execute_all, JsonColumn, QueryBuilder, Statement};
use super::bulk_load::BulkLoad;
use super::letters::BatchOrder;
use super::orders::{in_queue, status_page_sql};
use super::{
    all_changed, code_col, col, ctx, json_list, json_rows, now, Db, DbError, Engine, Tx,
    ROWS_PER_JSON_STATEMENT, ROWS_PER_STATEMENT,
};
use crate::external_sort::ExternalSort;
use pinbrev_core::address::PostalZone;
use pinbrev_core::free_text;
use pinbrev_core::letter::{
    letter_id, part_file_name, supersessions, BatchState, EarlierLetter, LetterState, PartLayout,
    Supersession, SUPERSEDABLE,
};
use pinbrev_core::order::{timestamp, OrderStatus};

/// Validated orders read per query when a batch is made.
const ORDERS_PER_READ: i64 = 20_000;

/// A batch's letters whose people's earlier letters are read per query when it is published:
/// read for all at once, the re-issue batch of a million letters peaked at 1,000 MB of RSS, read
/// this way at 160 MB.
const LETTERS_PER_SUPERSEDING_READ: i64 = 20_000;

/// A batch just made by [`Db::create_batch`].
#[derive(Debug)]
pub struct NewBatch {
    pub batch: BatchRow,
    /// The layout of its parts.
    pub layout: PartLayout,
    /// The sequence of each order's letter, by the order's place in the reading (the n-th
    /// order handed to `read` has letter `sequence_of_read[n]`).
    pub sequence_of_read: Vec<u32>,
}

/// A batch as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRow {
    pub batch_id: String,
    pub vendor: String,
    pub outbox: String,
    pub state: BatchState,
    pub created_at: String,
    pub letter_count: i64,
    /// When the drop was published (its codes became valid); `None` before.
    pub published_at: Option<String>,
}

impl Db {
    /// Batches whose drop is not published yet.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn unfinished_batches(&self) -> Result<Vec<BatchRow>, DbError> {
        let rows = sqlx::query(
            "SELECT batch_id, vendor, outbox, state, created_at, letter_count, published_at FROM batches \
             WHERE state <> $1 ORDER BY batch_id",
        )
        .bind(BatchState::Published.code())
        .fetch_all(&self.pool)
        .await
        .map_err(ctx("reading unfinished batches"))?;
        rows.iter().map(batch_row).collect()
    }

    /// One batch.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn batch(&self, batch_id: &str) -> Result<Option<BatchRow>, DbError> {
        batch_with(&self.pool, batch_id).await
    }

    /// [`Db::batch`] within a transaction.
    pub async fn batch_in(&self, tx: &mut Tx, batch_id: &str) -> Result<Option<BatchRow>, DbError> {
        batch_with(&mut **tx, batch_id).await
    }

    /// Puts every `validated` order into a new batch, in one transaction: the batch row, a
    /// pending letter per order in presorting order, and the orders `batched`. `None` when no
    /// order is waiting. `order_key` gives each order's place in the drop (domestic letters
    /// first); `parts` the layout of the parts, given how many letters are domestic; `sort`
    /// puts the orders in that order (in runs on disk for a large night). Each order read goes
    /// to `read` as it comes, with what its letter needs (see [`NewBatch`]).
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    #[allow(clippy::too_many_arguments)]
    pub async fn create_batch(
        &self,
        vendor: &str,
        outbox: &str,
        created: DateTime<Utc>,
        day: &str,
        order_key: impl Fn(&str, Option<&str>, &str) -> (u8, String, String),
        parts: impl Fn(i64) -> PartLayout,
        sort: ExternalSort,
        read: impl FnMut(BatchOrder<'_>),
    ) -> Result<Option<NewBatch>, DbError> {
        // SQLite checks each new letter's order (a foreign key) with a search of the orders'
        // index at a place as random as the order ids: 3.3-3.7 s of storing a million letters
        // (4.5 / 4.7 s without the checks against 7.8 / 8.4 s). Every letter's order is one this
        // transaction read under the write lock, and its batch the one it inserts, so the checks
        // are off for this transaction and on again after it, whatever its outcome (the
        // setting is the connection's, and a no-op inside a transaction). PostgreSQL checks.
        let unchecked = self.engine == Engine::Sqlite;
        if unchecked {
            self.check_foreign_keys(false).await?;
        }
        let made = self
            .create_batch_in(vendor, outbox, created, day, order_key, parts, sort, read)
            .await;
        if unchecked {
            self.check_foreign_keys(true).await?;
        }
        made
    }

    /// [`Db::create_batch`] in its write transaction.
    #[allow(clippy::too_many_arguments)]
    async fn create_batch_in(
        &self,
        vendor: &str,
        outbox: &str,
        created: DateTime<Utc>,
        day: &str,
        order_key: impl Fn(&str, Option<&str>, &str) -> (u8, String, String),
        parts: impl Fn(i64) -> PartLayout,
        mut sort: ExternalSort,
        mut read: impl FnMut(BatchOrder<'_>),
    ) -> Result<Option<NewBatch>, DbError> {
        let mut tx = self.begin_write().await?;
        // One compact sort key per order (its place in the drop, then its id, joined by NULs,
        // which no field holds; the person's key and the order's place in the reading ride at
        // the end), sorted in runs of bounded size.
        let mut domestic = 0;
        // Read a page at a time, as one JSON text each (see `Engine::rows_as_json`), in the
        // order of the index of validated orders: a page's rows are neighbours in it.
        type Validated = (
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<String>,
            Option<String>,
        );
        let sql = status_page_sql(
            self.engine,
            OrderStatus::Validated,
            "ordered_at, order_id, postal_zone, postcode, country, person_id, letter_language, \
             address",
            false,
        );
        let mut after = (String::new(), String::new());
        // The last (ordered_at, order_id) of each page read: the orders move to `batched` page
        // by page, below.
        let mut page_ends: Vec<(String, String)> = Vec::new();
        loop {
            let page: Vec<Validated> = json_rows(
                &mut *tx,
                sqlx::query(&sql)
                    .bind(&after.0)
                    .bind(&after.1)
                    .bind(ORDERS_PER_READ),
                "reading validated orders",
            )
            .await?;
            let Some(last) = page.iter().map(|r| (&r.0, &r.1)).max() else {
                break;
            };
            after = (last.0.clone(), last.1.clone());
            page_ends.push(after.clone());
            for (_, order_id, zone, postcode, country, person_id, language, address) in &page {
                read(BatchOrder {
                    order_id,
                    language: language.as_deref(),
                    address: address.as_deref(),
                    postal_zone: zone.as_deref(),
                    postcode: postcode.as_deref(),
                    country: country.as_deref(),
                });
                let read_as = sort.len().to_string();
                let (rank, first, second) = order_key(
                    zone.as_deref().unwrap_or_default(),
                    postcode.as_deref(),
                    country.as_deref().unwrap_or_default(),
                );
                domestic += i64::from(zone.as_deref() == Some(PostalZone::Domestic.code()));
                let person = person_id.map(|p| p.to_string()).unwrap_or_default();
                let mut key = String::with_capacity(
                    first.len() + second.len() + order_id.len() + person.len() + read_as.len() + 7,
                );
                for part in [&rank.to_string(), &first, &second, order_id, &person] {
                    key.push_str(part);
                    key.push('\0');
                }
                key.push_str(&read_as);
                sort.push(key)?;
            }
        }
        let count = sort.len();
        if count == 0 {
            return Ok(None);
        }
        let layout = parts(domestic);
        let prefix = format!("B{day}-");
        let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM batches WHERE batch_id LIKE $1")
            .bind(format!("{prefix}%"))
            .fetch_one(&mut *tx)
            .await
            .map_err(ctx("numbering the batch"))?;
        let batch = BatchRow {
            batch_id: format!("{prefix}{:03}", taken + 1),
            vendor: vendor.to_string(),
            outbox: outbox.to_string(),
            state: BatchState::Building,
            created_at: timestamp(created),
            letter_count: count as i64,
            published_at: None,
        };
        sqlx::query("INSERT INTO batches (batch_id, vendor, outbox, state, created_at, letter_count) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&batch.batch_id)
            .bind(&batch.vendor)
            .bind(&batch.outbox)
            .bind(batch.state.code())
            .bind(&batch.created_at)
            .bind(batch.letter_count)
            .execute(&mut *tx)
            .await
            .map_err(ctx("storing a batch"))?;
        let aside = self
            .set_aside_indexes(&mut tx, BulkLoad::Letters, count as u64)
            .await?;
        let engine = self.engine;
        // The sorted keys are taken a statement's worth at a time; each key's letter gets the
        // next sequence, which is also recorded for the order's place in the reading.
        let mut sorted = sort.finish()?;
        let mut sequence_of_read = vec![0u32; count];
        let mut sorted_failed = None;
        let mut placed = 0;
        let letters = std::iter::from_fn(|| {
            let mut chunk = Vec::with_capacity(ROWS_PER_JSON_STATEMENT.min(count));
            while chunk.len() < ROWS_PER_JSON_STATEMENT {
                match sorted.next() {
                    Some(Ok(key)) => chunk.push(key),
                    Some(Err(e)) => {
                        sorted_failed = Some(e);
                        return None;
                    }
                    None => break,
                }
            }
            (!chunk.is_empty()).then_some(chunk)
        })
        .map(|chunk| {
            let first = placed as i64 + 1;
            placed += chunk.len();
            type Row<'a> = (String, &'a str, i64, String, i64, Option<i64>);
            let rows: Vec<Row> = (first..)
                .zip(&chunk)
                .map(|(sequence, key)| {
                    let mut fields = key.rsplitn(4, '\0');
                    let read_as = fields.next().and_then(|r| r.parse::<usize>().ok());
                    if let Some(slot) = read_as.and_then(|r| sequence_of_read.get_mut(r)) {
                        *slot = sequence as u32;
                    }
                    let person_id = fields.next().and_then(|p| p.parse::<i64>().ok());
                    let order_id = fields.next().unwrap_or_default();
                    // Placed at once: the parts then store their letters' codes and nothing else.
                    let (part, page) = layout.place(sequence);
                    (
                        letter_id(&batch.batch_id, sequence),
                        order_id,
                        sequence,
                        part_file_name(part),
                        page,
                        person_id,
                    )
                })
                .collect();
            let mut qb = QueryBuilder::new(
                engine,
                "INSERT INTO letters (batch_id, state, created_at, letter_id, order_id, sequence, file, first_page, person_id) SELECT ",
            );
            qb.push_bind(&batch.batch_id)
                .push(", ")
                .push_bind(LetterState::Pending.code())
                .push(", ")
                .push_bind(&batch.created_at)
                .push(", r.letter_id, r.order_id, r.sequence, r.file, r.first_page, r.person_id FROM (");
            qb.push_json_rows(
                &[
                    ("letter_id", JsonColumn::Text),
                    ("order_id", JsonColumn::Text),
                    ("sequence", JsonColumn::Integer),
                    ("file", JsonColumn::Text),
                    ("first_page", JsonColumn::Integer),
                    ("person_id", JsonColumn::Integer),
                ],
                json_list(&rows),
            );
            qb.push(") AS r");
            Statement {
                builder: qb,
                rows: chunk.len(),
                context: "storing a batch's letters",
            }
        });
        execute_all(&mut tx, letters).await?;
        if let Some(e) = sorted_failed {
            return Err(e.into());
        }
        all_changed(
            placed as u64,
            count,
            "letters",
            "letters of the orders read were not stored",
        )?;
        if let Some(aside) = aside {
            aside.rebuild(&mut tx).await?;
        }
        // Every order just read is still `validated` (the write lock is held since the read),
        // and every `validated` order was read: they all move to `batched`, each with its
        // event. Found by their status alone, not checked against the batch's letters one by
        // one (at 1,000,000 orders that check took 2 of the statement's 9.3 s, sqlite3); the
        // count of rows changed is checked instead. A page read at a time, in the index's
        // order: one statement for all took 6.0 s at 1,000,000 orders and 17.5 s at 2,000,000,
        // these 4.1 s and 8.9 s (sqlite3, one run each). SQLite changes a statement's rows in
        // rowid order, so a single statement went through the whole index on status once for
        // every run of rows that ingest stored, each time beyond the page cache; a page's rows
        // lie together in it.
        let at = now();
        let mut moved = 0;
        let mut from = ("", "");
        for to in &page_ends {
            moved += sqlx::query(&format!(
                "UPDATE orders SET status = $1, updated_at = $2 WHERE {} \
                 AND (ordered_at > $3 OR (ordered_at = $3 AND order_id > $4)) \
                 AND (ordered_at < $5 OR (ordered_at = $5 AND order_id <= $6))",
                in_queue(OrderStatus::Validated)
            ))
            .bind(OrderStatus::Batched.code())
            .bind(&at)
            .bind(from.0)
            .bind(from.1)
            .bind(&to.0)
            .bind(&to.1)
            .execute(&mut *tx)
            .await
            .map_err(ctx("moving orders into a batch"))?
            .rows_affected();
            from = (&to.0, &to.1);
        }
        all_changed(
            moved,
            count,
            "orders.status",
            "the orders moved into a batch were not the orders read for it",
        )?;
        // In order_id order, the order of the events' index, so that the index is swept once
        // from end to end. In the letters' (postal) order each new entry landed on a page of its
        // own, most of them no longer in SQLite's cache: at 1,000,000 letters this statement
        // took 8.7 s that way and 2.8 s this way.
        sqlx::query(
            "INSERT INTO order_events (order_id, at, actor, event, from_status, to_status, detail) \
             SELECT order_id, $1, 'batch', $3, $2, $3, 'batch ' || batch_id || ', letter ' || letter_id \
             FROM letters WHERE batch_id = $4 ORDER BY order_id",
        )
        .bind(&at)
        .bind(OrderStatus::Validated.code())
        // The event is named for the status reached.
        .bind(OrderStatus::Batched.code())
        .bind(&batch.batch_id)
        .execute(&mut *tx)
        .await
        .map_err(ctx("storing the orders' batch events"))?;
        tx.commit().await.map_err(ctx("committing a batch"))?;
        Ok(Some(NewBatch {
            batch,
            layout,
            sequence_of_read,
        }))
    }

    /// Sets a batch's state (and page count, when known).
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn set_batch_state(
        &self,
        batch_id: &str,
        state: BatchState,
        page_count: Option<i64>,
    ) -> Result<(), DbError> {
        sqlx::query("UPDATE batches SET state = $1, page_count = COALESCE($2, page_count) WHERE batch_id = $3")
            .bind(state.code())
            .bind(page_count)
            .bind(batch_id)
            .execute(&self.pool)
            .await
            .map_err(ctx("changing a batch's state"))?;
        Ok(())
    }

    /// How many of a batch's letters go to addresses in Norway (they come first in the
    /// presort order).
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn domestic_letters(&self, batch_id: &str) -> Result<i64, DbError> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM letters l JOIN orders o ON o.order_id = l.order_id \
             WHERE l.batch_id = $1 AND o.postal_zone = $2",
        )
        .bind(batch_id)
        .bind(PostalZone::Domestic.code())
        .fetch_one(&self.pool)
        .await
        .map_err(ctx("counting a batch's domestic letters"))
    }

    /// Marks a batch published: its letters' codes become valid, and every earlier letter of the
    /// same people stops being valid (`superseded`, and so do their finished orders). `sort`
    /// puts the orders of the earlier letters in order_id order (in runs on disk for a large
    /// night), to be moved in that order.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn publish_batch(&self, batch_id: &str, sort: ExternalSort) -> Result<u64, DbError> {
        self.publish_batch_by(batch_id, LETTERS_PER_SUPERSEDING_READ, sort)
            .await
    }

    /// [`Db::publish_batch`], the earlier letters found for `per_read` of the batch's letters at
    /// a time, in sequence order. Each read's supersessions are stored before the next read,
    /// which then no longer finds those letters `issued`: every earlier letter is superseded
    /// once, by the first of the batch's letters to its person, as when all are read at once.
    ///
    /// Their orders are moved after the letters, in order_id order: in the order of the new
    /// letters (postal order) each statement's thousand orders and their events lay all over
    /// the orders' table and the index on the events' orders, and at a million that was most
    /// of a re-issue batch's time (moving the orders 38.9 s and their events 20.5 s of 126 s).
    /// Nothing that finds the earlier letters reads the orders' statuses, so the moves are the
    /// same: each order once, with the detail of the first of the batch's letters to it.
    async fn publish_batch_by(
        &self,
        batch_id: &str,
        per_read: i64,
        mut sort: ExternalSort,
    ) -> Result<u64, DbError> {
        let mut tx = self.begin_write().await?;
        let at = now();
        let last: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(sequence), 0) FROM letters WHERE batch_id = $1",
        )
        .bind(batch_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(ctx("reading a batch's last letter"))?;
        tx.prefer_index_lookups().await?;
        let mut superseded = 0;
        let mut from = 1;
        while from <= last {
            let to = from + per_read.max(1) - 1;
            // Every issued letter of a person these letters write to, by the person's key that
            // the letters keep (see sql/0008_person_key.sql).
            let rows = sqlx::query(
                "SELECT n.sequence, n.letter_id, n.order_id, old.letter_id, old.order_id \
                 FROM letters n JOIN letters old ON old.person_id = n.person_id AND old.state = $2 \
                 WHERE n.batch_id = $1 AND n.sequence >= $4 AND n.sequence <= $5 AND n.state = $3 \
                 ORDER BY 1, 4",
            )
            .bind(batch_id)
            .bind(LetterState::Issued.code())
            .bind(LetterState::Pending.code())
            .bind(from)
            .bind(to)
            .fetch_all(&mut *tx)
            .await
            .map_err(ctx("finding earlier letters of the batch's people"))?;
            let found = rows
                .iter()
                .map(|r| {
                    Ok(EarlierLetter {
                        new_sequence: col(r, 0)?,
                        new_letter: col(r, 1)?,
                        new_order: col(r, 2)?,
                        old_letter: col(r, 3)?,
                        old_order: col(r, 4)?,
                    })
                })
                .collect::<Result<Vec<_>, DbError>>()?;
            drop(rows);
            let supersessions = supersessions(found);
            for chunk in supersessions.chunks(ROWS_PER_STATEMENT) {
                self.supersede_letters(&mut tx, chunk).await?;
            }
            for s in &supersessions {
                if let Some(order_id) = &s.old_order {
                    sort.push(order_move_key(order_id, sort.len(), &s.detail))?;
                }
            }
            superseded += supersessions.len() as u64;
            from = to + 1;
        }
        let mut keys = sort.finish()?.peekable();
        let mut moves: Vec<(String, String)> = Vec::with_capacity(ROWS_PER_STATEMENT);
        let mut last_order = String::new();
        while let Some(key) = keys.next() {
            let (order_id, detail) = order_move(&key?);
            // The first key of an order is its first new letter's.
            if order_id != last_order {
                last_order.clone_from(&order_id);
                moves.push((order_id, detail));
            }
            if moves.len() == ROWS_PER_STATEMENT || keys.peek().is_none() {
                self.supersede_orders(&mut tx, &moves).await?;
                moves.clear();
            }
        }
        sqlx::query(
            "UPDATE letters SET state = $1, issued_at = $2 WHERE batch_id = $3 AND state = $4",
        )
        .bind(LetterState::Issued.code())
        .bind(&at)
        .bind(batch_id)
        .bind(LetterState::Pending.code())
        .execute(&mut *tx)
        .await
        .map_err(ctx("issuing a batch's letters"))?;
        sqlx::query("UPDATE batches SET state = $1, published_at = $2 WHERE batch_id = $3")
            .bind(BatchState::Published.code())
            .bind(&at)
            .bind(batch_id)
            .execute(&mut *tx)
            .await
            .map_err(ctx("publishing a batch"))?;
        tx.commit()
            .await
            .map_err(ctx("committing a published batch"))?;
        Ok(superseded)
    }
}

impl Db {
    /// Supersedes earlier letters, one multi-row statement for up to [`ROWS_PER_STATEMENT`]
    /// letters (a national re-issue supersedes a letter for nearly every new one).
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn supersede_letters(&self, tx: &mut Tx, chunk: &[Supersession]) -> Result<(), DbError> {
        let mut qb = QueryBuilder::new(self.engine, "WITH s (letter_id, by_letter) AS (");
        qb.push_values(chunk, |mut row, s| {
            row.push_bind(s.old_letter.as_str())
                .push_bind(s.by_letter.as_str());
        });
        qb.push(") UPDATE letters SET state = ");
        qb.push_bind(LetterState::Superseded.code());
        qb.push(", superseded_by = s.by_letter FROM s WHERE letters.letter_id = s.letter_id");
        let changed = qb
            .execute_rows(tx, chunk.len(), "superseding letters")
            .await?;
        all_changed(
            changed,
            chunk.len(),
            "letters.letter_id",
            "earlier letters were not found",
        )?;
        Ok(())
    }

    /// Moves the orders of superseded letters, each `(order_id, detail)` of `orders`, that are
    /// still batched, printed, posted or returned to `superseded`, each with its event: a few
    /// multi-row statements for up to [`ROWS_PER_STATEMENT`] orders.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn supersede_orders(
        &self,
        tx: &mut Tx,
        orders: &[(String, String)],
    ) -> Result<(), DbError> {
        let ids: Vec<&str> = orders.iter().map(|(id, _)| id.as_str()).collect();
        if ids.is_empty() {
            return Ok(());
        }
        let in_list = self.engine.in_list();
        let rows = sqlx::query(&format!(
            "SELECT order_id, status FROM orders WHERE order_id IN {in_list}"
        ))
        .bind(json_list(&ids))
        .fetch_all(&mut **tx)
        .await
        .map_err(ctx("reading superseded letters' orders"))?;
        let mut current = HashMap::with_capacity(rows.len());
        for r in &rows {
            let order_id: String = col(r, 0)?;
            let status: OrderStatus = code_col(r, 1, "orders.status")?;
            current.insert(order_id, status);
        }
        // As `move_order` would, one order at a time: only from the statuses a superseded
        // letter's order may be in, and each order once.
        let mut moves: Vec<(&str, &str, OrderStatus)> = Vec::new();
        for (order_id, detail) in orders {
            let order_id = order_id.as_str();
            let Some(from) = current.remove(order_id) else {
                continue;
            };
            if !SUPERSEDABLE.contains(&from) {
                continue;
            }
            if !from.may_become(OrderStatus::Superseded) {
                return Err(DbError::Transition {
                    order_id: order_id.to_string(),
                    from,
                    to: OrderStatus::Superseded,
                });
            }
            moves.push((detail.as_str(), order_id, from));
        }
        if moves.is_empty() {
            return Ok(());
        }
        let at = now();
        let mut qb = QueryBuilder::new(self.engine, "WITH m (order_id, from_status) AS (");
        qb.push_values(&moves, |mut row, (_, order_id, from)| {
            row.push_bind(*order_id).push_bind(from.code());
        });
        qb.push(") UPDATE orders SET status = ");
        qb.push_bind(OrderStatus::Superseded.code());
        qb.push(", updated_at = ");
        qb.push_bind(at.as_str());
        qb.push(" FROM m WHERE orders.order_id = m.order_id AND orders.status = m.from_status");
        let changed = qb
            .execute_rows(tx, moves.len(), "moving superseded letters' orders")
            .await?;
        all_changed(
            changed,
            moves.len(),
            "orders.status",
            "orders of superseded letters changed while being moved",
        )?;
        let mut qb = QueryBuilder::new(
            self.engine,
            "INSERT INTO order_events (order_id, at, actor, event, from_status, to_status, detail) ",
        );
        qb.push_values(&moves, |mut row, (detail, order_id, from)| {
            row.push_bind(*order_id)
                .push_bind(at.as_str())
                .push_bind("batch")
                // The event is named for the status reached.
                .push_bind(OrderStatus::Superseded.code())
                .push_bind(from.code())
                .push_bind(OrderStatus::Superseded.code())
                .push_bind(free_text::clean(detail));
        });
        qb.execute_rows(tx, moves.len(), "storing superseded orders' events")
            .await?;
        Ok(())
    }
}

/// The sort key of a superseded letter's order: its order_id, then the supersession's place
/// (`n`, in the order of the new letters) and the event's detail, so that an order's keys come
/// together, its first new letter's first.
fn order_move_key(order_id: &str, n: usize, detail: &str) -> String {
    // An order_id holds no NUL (it is letters, digits and `._-`), which sorts before them all.
    format!("{order_id}\0{n:020}\0{detail}")
}

/// The order_id and the detail of an [`order_move_key`].
fn order_move(key: &str) -> (String, String) {
    let mut parts = key.splitn(3, '\0');
    let order_id = parts.next().unwrap_or_default().to_string();
    let detail = parts.nth(1).unwrap_or_default().to_string();
    (order_id, detail)
}

async fn batch_with<'e, E>(ex: E, batch_id: &str) -> Result<Option<BatchRow>, DbError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query("SELECT batch_id, vendor, outbox, state, created_at, letter_count, published_at FROM batches WHERE batch_id = $1")
        .bind(batch_id)
        .fetch_optional(ex)
        .await
        .map_err(ctx("reading a batch"))?;
    row.as_ref().map(batch_row).transpose()
}

fn batch_row(r: &sqlx::any::AnyRow) -> Result<BatchRow, DbError> {
    Ok(BatchRow {
        batch_id: col(r, 0)?,
        vendor: col(r, 1)?,
        outbox: col(r, 2)?,
        state: code_col(r, 3, "batches.state")?,
        created_at: col(r, 4)?,
        letter_count: col(r, 5)?,
        published_at: col(r, 6)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{runtime, temp_db};
    use super::*;

    async fn validated_orders(db: &Db, n: usize) {
        for i in 0..n {
            sqlx::query(
                "INSERT INTO orders (order_id, national_id, ordered_at, channel, source_file, \
                 source_line, received_at, status, updated_at, letter_language, address, \
                 postal_zone, postcode, country) \
                 VALUES ($1, '01019000000', $2, 'web', 'o.csv', 2, 'now', 'validated', 'now', 'nb', \
                 '{}', 'domestic', $3, 'NO')",
            )
            .bind(format!("O-{i}"))
            .bind(format!("2026-12-01T10:00:0{i}.000000Z"))
            .bind(format!("{:04}", 9000 - i))
            .execute(&db.pool)
            .await
            .unwrap();
        }
    }

    /// Batches, letters and orders no longer `validated`: none after a batch that failed.
    async fn batched_anything(db: &Db) -> i64 {
        sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM batches) + (SELECT COUNT(*) FROM letters) + \
             (SELECT COUNT(*) FROM orders WHERE status <> 'validated')",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap()
    }

    async fn foreign_keys_on(db: &Db) -> bool {
        sqlx::query_scalar::<_, i64>("PRAGMA foreign_keys")
            .fetch_one(&db.pool)
            .await
            .unwrap()
            == 1
    }

    async fn batch(db: &Db, read: &mut Vec<String>) -> Result<Option<NewBatch>, DbError> {
        sorted_batch(db, read, ExternalSort::in_memory()).await
    }

    async fn sorted_batch(
        db: &Db,
        read: &mut Vec<String>,
        sort: ExternalSort,
    ) -> Result<Option<NewBatch>, DbError> {
        db.create_batch(
            "v",
            "out",
            Utc::now(),
            "20261207",
            |_, postcode, _| (0, postcode.unwrap_or("").to_string(), String::new()),
            |_| PartLayout::new(2),
            sort,
            |order| read.push(order.order_id.to_string()),
        )
        .await
    }

    async fn letter_rows(db: &Db) -> Vec<(String, String, i64, String, i64)> {
        sqlx::query_as(
            "SELECT letter_id, order_id, sequence, file, first_page FROM letters ORDER BY sequence",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap()
    }

    fn sort_folder() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("sort");
        crate::files::create_private_dir(&folder).unwrap();
        (dir, folder)
    }

    #[test]
    fn a_batch_sorted_in_runs_on_disk_is_the_batch_sorted_in_memory() {
        runtime().block_on(async {
            let (_a, in_memory) = temp_db().await;
            let (_b, on_disk) = temp_db().await;
            let (_dir, folder) = sort_folder();
            let (mut read_a, mut read_b) = (Vec::new(), Vec::new());
            validated_orders(&in_memory, 7).await;
            validated_orders(&on_disk, 7).await;
            let a = batch(&in_memory, &mut read_a).await.unwrap().unwrap();
            // Three runs of two on disk, one key kept in memory.
            let b = sorted_batch(&on_disk, &mut read_b, ExternalSort::in_folder(&folder, 2))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(read_a, read_b);
            assert_eq!(a.sequence_of_read, b.sequence_of_read);
            assert_eq!(b.batch.letter_count, 7);
            let letters = letter_rows(&on_disk).await;
            assert_eq!(letters, letter_rows(&in_memory).await);
            // By postcode: the orders placed last have the lowest.
            let orders: Vec<&str> = letters.iter().map(|l| l.1.as_str()).collect();
            assert_eq!(orders, ["O-6", "O-5", "O-4", "O-3", "O-2", "O-1", "O-0"]);
            assert_eq!(
                std::fs::read_dir(&folder).unwrap().count(),
                0,
                "the run files are removed"
            );
        })
    }

    #[test]
    fn a_batch_whose_letters_cannot_be_sorted_on_disk_names_the_file_and_stores_nothing() {
        runtime().block_on(async {
            let (_dir, db) = temp_db().await;
            let (_sort_dir, folder) = sort_folder();
            validated_orders(&db, 3).await;
            // A folder where the first run's file should go.
            std::fs::create_dir(folder.join("run-00001")).unwrap();
            let err = sorted_batch(&db, &mut Vec::new(), ExternalSort::in_folder(&folder, 2))
                .await
                .unwrap_err();
            assert!(matches!(err, DbError::Sort(_)), "{err:?}");
            let message = err.to_string();
            assert!(
                message.starts_with("sorting a batch's letters: ")
                    && message.contains(&folder.join("run-00001").display().to_string()),
                "{message}"
            );
            assert_eq!(batched_anything(&db).await, 0);
            assert!(foreign_keys_on(&db).await);
        })
    }

    #[test]
    fn a_batch_made_without_foreign_key_checks_leaves_them_on_and_every_reference_whole() {
        runtime().block_on(async {
            let (_dir, db) = temp_db().await;
            validated_orders(&db, 5).await;
            let mut read = Vec::new();
            let new = batch(&db, &mut read).await.unwrap().unwrap();
            assert!(foreign_keys_on(&db).await);
            let broken: Vec<(String, i64, String, i64)> =
                sqlx::query_as("PRAGMA foreign_key_check")
                    .fetch_all(&db.pool)
                    .await
                    .unwrap();
            assert!(broken.is_empty(), "{broken:?}");
            // Sorted by postcode, the reverse of the reading: the map says which is which.
            assert_eq!(read, ["O-0", "O-1", "O-2", "O-3", "O-4"]);
            assert_eq!(new.sequence_of_read, [5, 4, 3, 2, 1]);
            let letters: Vec<(String, i64)> =
                sqlx::query_as("SELECT order_id, sequence FROM letters ORDER BY sequence")
                    .fetch_all(&db.pool)
                    .await
                    .unwrap();
            for (order_id, sequence) in letters {
                let read_as = read.iter().position(|o| *o == order_id).unwrap();
                assert_eq!(i64::from(new.sequence_of_read[read_as]), sequence);
            }
        })
    }

    /// Letters of an earlier, published batch to people 7 (two) and 8, and a new batch whose
    /// letters 1 and 2 go to person 7, 3 to person 8 and 4 to person 9.
    async fn earlier_and_new_letters(db: &Db) {
        validated_orders(db, 7).await;
        for sql in [
            "UPDATE orders SET status = 'posted' WHERE order_id IN ('O-0', 'O-1', 'O-2')",
            "INSERT INTO batches (batch_id, vendor, outbox, state, created_at, letter_count) VALUES \
             ('B-OLD', 'v', 'out', 'published', 'then', 3), ('B-NEW', 'v', 'out', 'written', 'now', 4)",
            "INSERT INTO letters (letter_id, order_id, batch_id, sequence, state, created_at, person_id) VALUES \
             ('OLD-1', 'O-0', 'B-OLD', 1, 'issued', 'then', 7), \
             ('OLD-2', 'O-1', 'B-OLD', 2, 'issued', 'then', 7), \
             ('OLD-3', 'O-2', 'B-OLD', 3, 'issued', 'then', 8), \
             ('NEW-1', 'O-3', 'B-NEW', 1, 'pending', 'now', 7), \
             ('NEW-2', 'O-4', 'B-NEW', 2, 'pending', 'now', 7), \
             ('NEW-3', 'O-5', 'B-NEW', 3, 'pending', 'now', 8), \
             ('NEW-4', 'O-6', 'B-NEW', 4, 'pending', 'now', 9)",
        ] {
            sqlx::query(sql).execute(&db.pool).await.unwrap();
        }
    }

    #[test]
    fn a_batch_published_a_few_letters_at_a_time_supersedes_as_one_published_at_once() {
        runtime().block_on(async {
            let mut outcomes = Vec::new();
            let runs = tempfile::tempdir().unwrap();
            for (per_read, run_keys) in [(1, None), (2, Some(1)), (20_000, Some(2)), (20_000, None)] {
                let (_dir, db) = temp_db().await;
                earlier_and_new_letters(&db).await;
                // Order O-0 has a second issued letter, to person 8, superseded by NEW-3: its
                // event names the first new letter to it, NEW-1.
                sqlx::query(
                    "INSERT INTO letters (letter_id, order_id, batch_id, sequence, state, created_at, person_id) \
                     VALUES ('OLD-4', 'O-0', 'B-OLD', 4, 'issued', 'then', 8)",
                )
                .execute(&db.pool)
                .await
                .unwrap();
                let sort = match run_keys {
                    Some(keys) => ExternalSort::in_folder(runs.path(), keys),
                    None => ExternalSort::in_memory(),
                };
                let superseded = db.publish_batch_by("B-NEW", per_read, sort).await.unwrap();
                let letters: Vec<(String, String, Option<String>)> = sqlx::query_as(
                    "SELECT letter_id, state, superseded_by FROM letters ORDER BY letter_id",
                )
                .fetch_all(&db.pool)
                .await
                .unwrap();
                let orders: Vec<(String, String)> =
                    sqlx::query_as("SELECT order_id, status FROM orders ORDER BY order_id")
                        .fetch_all(&db.pool)
                        .await
                        .unwrap();
                let events: Vec<(String, String, String)> = sqlx::query_as(
                    "SELECT order_id, from_status, detail FROM order_events \
                     WHERE to_status = 'superseded' ORDER BY order_id",
                )
                .fetch_all(&db.pool)
                .await
                .unwrap();
                outcomes.push((per_read, superseded, letters, (orders, events)));
            }
            assert_eq!(std::fs::read_dir(runs.path()).unwrap().count(), 0);
            let (_, superseded, letters, (_, events)) = &outcomes[0];
            assert_eq!(*superseded, 4);
            let events: Vec<(&str, &str, &str)> = events
                .iter()
                .map(|(o, f, d)| (o.as_str(), f.as_str(), d.as_str()))
                .collect();
            assert_eq!(
                events,
                [
                    ("O-0", "posted", "letter OLD-1 superseded by NEW-1"),
                    ("O-1", "posted", "letter OLD-2 superseded by NEW-1"),
                    ("O-2", "posted", "letter OLD-3 superseded by NEW-3"),
                ]
            );
            let by = |id: &str| {
                letters
                    .iter()
                    .find(|l| l.0 == id)
                    .map(|l| (l.1.as_str(), l.2.as_deref()))
                    .unwrap()
            };
            // Each earlier letter by the first new letter to its person, also when that one
            // and the person's second new letter are read separately.
            assert_eq!(by("OLD-1"), ("superseded", Some("NEW-1")));
            assert_eq!(by("OLD-2"), ("superseded", Some("NEW-1")));
            assert_eq!(by("OLD-3"), ("superseded", Some("NEW-3")));
            assert_eq!(by("NEW-2"), ("issued", None));
            assert_eq!(by("NEW-4"), ("issued", None));
            assert_eq!(by("OLD-4"), ("superseded", Some("NEW-3")));
            for other in &outcomes[1..] {
                assert_eq!(other.1, outcomes[0].1, "per_read {}", other.0);
                assert_eq!(other.2, outcomes[0].2, "per_read {}", other.0);
                assert_eq!(other.3, outcomes[0].3, "per_read {}", other.0);
            }
        })
    }

    #[test]
    fn a_batch_that_fails_leaves_the_foreign_key_checks_on_and_nothing_stored() {
        runtime().block_on(async {
            let (_dir, db) = temp_db().await;
            validated_orders(&db, 3).await;
            sqlx::query(
                "CREATE TEMP TRIGGER refuse BEFORE INSERT ON letters \
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
            )
            .execute(&db.pool)
            .await
            .unwrap();
            let err = batch(&db, &mut Vec::new()).await.unwrap_err();
            assert!(err.to_string().contains("refused by the test"), "{err}");
            assert!(foreign_keys_on(&db).await);
            assert_eq!(batched_anything(&db).await, 0);
            // The checks are really on: a letter of no order is refused.
            sqlx::query("DROP TRIGGER temp.refuse")
                .execute(&db.pool)
                .await
                .unwrap();
            let orphan = sqlx::query(
                "INSERT INTO letters (letter_id, order_id, batch_id, sequence, state, created_at) \
                 VALUES ('L', 'no such order', 'no such batch', 1, 'pending', 'now')",
            )
            .execute(&db.pool)
            .await
            .unwrap_err();
            assert!(
                orphan.to_string().contains("FOREIGN KEY constraint failed"),
                "{orphan}"
            );
        })
    }
}
