//! Data migrations that SQL alone cannot do, run right after the schema migrations: each is
//! listed by a schema migration in `data_migrations` and done in one transaction with the mark
//! that it is done, so a crash mid-way leaves it to the next run.

use sqlx::Row;

use super::{ctx, now, Db, DbError, Tx};
use pinbrev_core::free_text;

/// Rows read per round.
const PAGE: i64 = 1000;

impl Db {
    /// Runs every data migration not done yet.
    pub(super) async fn run_data_migrations(&self) -> Result<(), DbError> {
        let pending: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM data_migrations WHERE done_at IS NULL ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(ctx("reading data migrations"))?;
        for name in pending {
            let mut tx = self.begin_write().await?;
            match name.as_str() {
                "mask_free_text" => mask_free_text(&mut tx).await?,
                other => {
                    return Err(DbError::Corrupt {
                        what: "data_migrations".into(),
                        message: format!("unknown data migration {other:?}"),
                    })
                }
            }
            sqlx::query("UPDATE data_migrations SET done_at = $1 WHERE name = $2")
                .bind(now())
                .bind(&name)
                .execute(&mut *tx)
                .await
                .map_err(ctx("recording a data migration"))?;
            tx.commit()
                .await
                .map_err(ctx("committing a data migration"))?;
            tracing::debug!(migration = %name, "data migration done");
        }
        Ok(())
    }
}

/// The tables and columns of free text: `(table, column)`.
const FREE_TEXT: [(&str, &str); 4] = [
    ("order_events", "detail"),
    ("receipts", "detail"),
    ("orders", "reason_detail"),
    ("input_errors", "message"),
];

/// Masks every stored free text as [`free_text::clean`] does on the way in now. Rows are paged
/// by SQLite's `rowid` (every table here has one); a database that starts on another engine
/// never held unmasked text.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
async fn mask_free_text(tx: &mut Tx) -> Result<(), DbError> {
    for (table, column) in FREE_TEXT {
        let mut after = 0i64;
        let mut masked = 0u64;
        loop {
            let rows = sqlx::query(&format!(
                "SELECT rowid, {column} FROM {table} WHERE rowid > $1 AND {column} IS NOT NULL \
                 ORDER BY rowid LIMIT $2"
            ))
            .bind(after)
            .bind(PAGE)
            .fetch_all(&mut **tx)
            .await
            .map_err(ctx("reading free text to mask"))?;
            let Some(last) = rows.last() else { break };
            after = last.try_get(0).map_err(ctx("reading free text to mask"))?;
            for r in &rows {
                let rowid: i64 = r.try_get(0).map_err(ctx("reading free text to mask"))?;
                let text: String = r.try_get(1).map_err(ctx("reading free text to mask"))?;
                let clean = free_text::clean(&text);
                if clean != text {
                    sqlx::query(&format!(
                        "UPDATE {table} SET {column} = $1 WHERE rowid = $2"
                    ))
                    .bind(&clean)
                    .bind(rowid)
                    .execute(&mut **tx)
                    .await
                    .map_err(ctx("masking free text"))?;
                    masked += 1;
                }
            }
        }
        if masked > 0 {
            tracing::info!(table, column, rows = masked, "masked stored free text");
        }
    }
    Ok(())
}
