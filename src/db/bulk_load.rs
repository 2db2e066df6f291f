//! Bulk loads on SQLite: the indexes that a large load's rows would enter at random places are
//! dropped for the load and built again, from their own definitions, before its transaction
//! commits.
//!
//! A row entering an index at a random place costs more the larger the index grows: storing a
//! million orders cost 14.6-16.2 times what 100,000 cost in SQLite alone, against 10.6 times
//! without the index on the identity number and the queue of received orders. Built again
//! after the rows, an index is sorted once and written in order. That costs in proportion to
//! the whole table, so it is done only when the load is large enough against the table (see
//! [`BulkLoad::sets_aside`]), and a night added to a long history is stored as before.

use super::{ctx, Db, DbError, Engine, Tx};

/// A table loaded in bulk, and its indexes that the load's rows enter at random places.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkLoad {
    /// A file of new orders: their identity numbers are in no order, and their times in the
    /// order of the file, so that the index on `national_id` and the queue of received orders
    /// (`ordered_at`, `order_id`) take them all over. The other indexes take none of a new
    /// order (`orders_person`, `orders_validated`) or take them in the file's order (the key).
    Orders,
    /// A new batch's letters: stored in postal order, their order ids and their people's keys
    /// come at random to the indexes on them (`letters_order`, `letters_person`). The key and
    /// (batch_id, sequence) take them in order.
    Letters,
}

impl BulkLoad {
    const fn table(self) -> &'static str {
        match self {
            BulkLoad::Orders => "orders",
            BulkLoad::Letters => "letters",
        }
    }

    /// Whether `incoming` rows into a table that holds `held` set its indexes aside: when they
    /// are at least a quarter of the orders held, or at least as many as the letters held.
    /// Measured with `orders ingest` into a database of a million orders: a million more took
    /// 16.9-17.4 s with the indexes set aside against 21.7-22.0 s without when the earlier
    /// orders were all posted (a re-issue night, two runs each), and 14.8 s against 25.6 s when
    /// they were all still received (the second half of a night of two million, one run each);
    /// 300,000 took 5.1-5.5 s against 7.4 s, but 100,000 2.7-3.1 s against 2.4-2.8 s and 62,500
    /// 2.5-2.8 s against 1.9-2.0 s (two runs each). A batch of 281,201 letters into a database
    /// of 936,943 took 24.3-26.6 s with them set aside against 22.5-23.2 s without: a letter is
    /// a wider row than an order, and building an index reads the whole table.
    const fn sets_aside(self, incoming: u64, held: u64) -> bool {
        let held = if held == 0 { 1 } else { held };
        match self {
            BulkLoad::Orders => incoming.saturating_mul(4) >= held,
            BulkLoad::Letters => incoming >= held,
        }
    }

    const fn indexes(self) -> &'static [&'static str] {
        match self {
            BulkLoad::Orders => &["orders_national_id", "orders_received"],
            BulkLoad::Letters => &["letters_order", "letters_person"],
        }
    }
}

/// Indexes dropped in the open transaction for a bulk load, with the statements that made
/// them: [`IndexesSetAside::rebuild`] builds them again before the transaction commits. Should
/// the transaction end otherwise (an error, a crash), its rollback restores them with
/// everything else.
#[derive(Debug)]
#[must_use = "the indexes must be built again before the transaction commits"]
pub struct IndexesSetAside {
    /// `CREATE INDEX` statements, as the schema holds them.
    definitions: Vec<String>,
}

impl Db {
    /// On SQLite, drops the indexes of `load` in `tx` when `incoming` rows are enough against
    /// the rows its table holds ([`BulkLoad::sets_aside`]), and returns their definitions. Else
    /// (fewer rows coming, or on PostgreSQL, where dropping an index locks the table against
    /// every reader until the commit) nothing is dropped and `None` is returned.
    #[tracing::instrument(level = "debug", skip(self, tx), err(level = "debug"))]
    pub(crate) async fn set_aside_indexes(
        &self,
        tx: &mut Tx,
        load: BulkLoad,
        incoming: u64,
    ) -> Result<Option<IndexesSetAside>, DbError> {
        if self.engine != Engine::Sqlite {
            return Ok(None);
        }
        let table = load.table();
        // The highest rowid is at least the rows held (rows are deleted, never renumbered) and,
        // unlike a count, is read from one end of the table.
        let held: i64 = sqlx::query_scalar(&format!("SELECT COALESCE(MAX(rowid), 0) FROM {table}"))
            .fetch_one(&mut **tx)
            .await
            .map_err(ctx("sizing a bulk load"))?;
        if !load.sets_aside(incoming, held.max(0) as u64) {
            return Ok(None);
        }
        let mut definitions = Vec::with_capacity(load.indexes().len());
        for index in load.indexes() {
            let definition: Option<String> = sqlx::query_scalar(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1 AND tbl_name = $2",
            )
            .bind(*index)
            .bind(table)
            .fetch_optional(&mut **tx)
            .await
            .map_err(ctx("reading an index's definition"))?;
            let Some(definition) = definition else {
                continue;
            };
            sqlx::query(&format!("DROP INDEX {index}"))
                .execute(&mut **tx)
                .await
                .map_err(ctx("setting an index aside for a bulk load"))?;
            definitions.push(definition);
        }
        tracing::debug!(table, incoming, held, "indexes set aside for a bulk load");
        Ok(Some(IndexesSetAside { definitions }))
    }
}

impl IndexesSetAside {
    /// Builds the indexes again in `tx`, the transaction they were dropped in.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub(crate) async fn rebuild(self, tx: &mut Tx) -> Result<(), DbError> {
        crate::failpoint::failpoint("bulk-load-before-indexes-rebuilt");
        for definition in &self.definitions {
            sqlx::query(definition)
                .execute(&mut **tx)
                .await
                .map_err(ctx("building an index again after a bulk load"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{index_definitions, runtime, temp_db};
    use super::*;

    const INDEXES: &[&str] = BulkLoad::Orders.indexes();

    #[test]
    fn orders_are_set_aside_from_a_quarter_of_the_table_and_letters_from_as_many_as_it_holds() {
        for (load, incoming, held, aside) in [
            (BulkLoad::Orders, 1, 0, true),
            (BulkLoad::Orders, 3, 12, true),
            (BulkLoad::Orders, 2, 12, false),
            (BulkLoad::Orders, 250_000, 1_000_000, true),
            (BulkLoad::Orders, 249_999, 1_000_000, false),
            (BulkLoad::Letters, 1, 0, true),
            (BulkLoad::Letters, 12, 12, true),
            (BulkLoad::Letters, 11, 12, false),
            (BulkLoad::Letters, 281_201, 936_943, false),
            (BulkLoad::Orders, u64::MAX, u64::MAX, true),
        ] {
            assert_eq!(
                load.sets_aside(incoming, held),
                aside,
                "{load:?}: {incoming} into {held}"
            );
        }
    }

    async fn indexes_in(tx: &mut Tx) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders' \
             AND sql IS NOT NULL ORDER BY name",
        )
        .fetch_all(&mut **tx)
        .await
        .unwrap()
    }

    async fn add_orders(tx: &mut Tx, from: usize, count: usize) {
        for i in from..from + count {
            sqlx::query(
                "INSERT INTO orders (order_id, national_id, ordered_at, channel, source_file, \
                 source_line, received_at, status, updated_at) \
                 VALUES ($1, $2, '2026-12-01T10:00:00Z', 'web', 'f.csv', 2, 'x', 'received', 'x')",
            )
            .bind(format!("O-{i}"))
            .bind(format!("{:011}", 7_000_000_000u64 + i as u64))
            .execute(&mut **tx)
            .await
            .unwrap();
        }
    }

    #[test]
    fn indexes_set_aside_come_back_as_defined_and_only_a_load_of_a_quarter_of_the_table_sets_them_aside(
    ) {
        runtime().block_on(async {
            let (_dir, db) = temp_db().await;
            let defined = index_definitions(&db, "orders").await;
            assert!(INDEXES
                .iter()
                .all(|i| defined.iter().any(|(name, _)| name == i)));
            // An empty table: any load sets them aside, and they are gone until rebuilt.
            let mut tx = db.begin_write().await.unwrap();
            let aside = db
                .set_aside_indexes(&mut tx, BulkLoad::Orders, 3)
                .await
                .unwrap()
                .expect("set aside");
            let during = indexes_in(&mut tx).await;
            assert!(INDEXES.iter().all(|i| !during.iter().any(|n| n == i)));
            add_orders(&mut tx, 0, 3).await;
            aside.rebuild(&mut tx).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(index_definitions(&db, "orders").await, defined);
            let found: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM orders INDEXED BY orders_national_id WHERE national_id = $1",
            )
            .bind("07000000001")
            .fetch_one(&db.pool)
            .await
            .unwrap();
            assert_eq!(found, 1, "the rebuilt index holds the rows loaded");
            let mut tx = db.begin_write().await.unwrap();
            add_orders(&mut tx, 3, 9).await;
            tx.commit().await.unwrap();
            // Twelve held: two coming (a sixth) leave them in place, three (a quarter) set them
            // aside.
            let mut tx = db.begin_write().await.unwrap();
            let kept = db
                .set_aside_indexes(&mut tx, BulkLoad::Orders, 2)
                .await
                .unwrap();
            assert!(kept.is_none());
            assert_eq!(indexes_in(&mut tx).await.len(), defined.len());
            let aside = db
                .set_aside_indexes(&mut tx, BulkLoad::Orders, 3)
                .await
                .unwrap();
            assert!(aside.is_some());
            // Rolled back without a rebuild: the indexes are back with the rollback.
            drop(tx);
            assert_eq!(index_definitions(&db, "orders").await, defined);
        });
    }
}
