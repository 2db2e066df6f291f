//! The postal-code list (`postcodes`) and where it came from (`postcode_source`).

use super::{col, ctx, now, Db, DbError};
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
        for e in entries {
            sqlx::query("INSERT INTO postcodes (postcode, place, municipality_code, municipality, category) VALUES ($1, $2, $3, $4, $5)")
                .bind(&e.postcode)
                .bind(&e.place)
                .bind(&e.municipality_code)
                .bind(&e.municipality)
                .bind(e.category.map(String::from))
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
