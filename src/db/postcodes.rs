//! The postal-code list (`postcodes`) and where it came from (`postcode_source`).

use super::builder::QueryBuilder;
use super::{col, ctx, now, Db, DbError, ROWS_PER_STATEMENT};
use pinbrev_core::postcodes::PostcodeEntry;

impl Db {
    /// The stored postal-code list, empty if none is loaded yet.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn postcodes(&self) -> Result<Vec<PostcodeEntry>, DbError> {
        let rows = sqlx::query("SELECT postcode, place, municipality_code, municipality, category FROM postcodes ORDER BY postcode")
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("reading postal codes"))?;
        rows.iter()
            .map(|r| {
                Ok(PostcodeEntry {
                    postcode: col(r, 0)?,
                    place: col(r, 1)?,
                    municipality_code: col(r, 2)?,
                    municipality: col(r, 3)?,
                    category: col::<Option<String>, _>(r, 4)?.and_then(|c| c.chars().next()),
                })
            })
            .collect()
    }

    /// Replaces the whole postal-code list in one transaction.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn replace_postcodes(
        &self,
        source: &str,
        entries: &[PostcodeEntry],
    ) -> Result<(), DbError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM postcodes")
            .execute(&mut *tx)
            .await
            .map_err(ctx("clearing postal codes"))?;
        // A few multi-row statements: the shipped list is stored on a database's first
        // validation, and a row per statement made that 0.2 s of it.
        for chunk in entries.chunks(ROWS_PER_STATEMENT) {
            let mut qb = QueryBuilder::new(
                self.engine,
                "INSERT INTO postcodes (postcode, place, municipality_code, municipality, category) ",
            );
            qb.push_values(chunk, |mut row, e| {
                row.push_bind(e.postcode.as_str())
                    .push_bind(e.place.as_str())
                    .push_bind(e.municipality_code.as_deref())
                    .push_bind(e.municipality.as_deref())
                    .push_bind(e.category.map(String::from));
            });
            qb.build()
                .execute(&mut *tx)
                .await
                .map_err(ctx("storing postal codes"))?;
        }
        sqlx::query("DELETE FROM postcode_source")
            .execute(&mut *tx)
            .await
            .map_err(ctx("storing postal-code source"))?;
        sqlx::query("INSERT INTO postcode_source (id, source, loaded_at) VALUES (1, $1, $2)")
            .bind(source)
            .bind(now())
            .execute(&mut *tx)
            .await
            .map_err(ctx("storing postal-code source"))?;
        tx.commit().await.map_err(ctx("committing postal codes"))
    }
}
