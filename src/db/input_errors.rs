//! Row and line errors of every input file (`input_errors`), for the helpdesk and the reports.

use super::{ctx, now, Db, DbError};
use pinbrev_core::free_text;
use pinbrev_core::input_error::InputError;

impl Db {
    /// Keeps row and line errors of an input file.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn record_input_errors(
        &self,
        input: &str,
        errors: &[InputError],
    ) -> Result<(), DbError> {
        if errors.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let at = now();
        for e in errors {
            sqlx::query("INSERT INTO input_errors (input, file, line, field, code, message, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(input)
                .bind(&e.file)
                .bind(e.line.map(|l| l as i64))
                .bind(e.field.as_deref())
                .bind(&e.code)
                .bind(free_text::clean(&e.message))
                .bind(&at)
                .execute(&mut *tx)
                .await
                .map_err(ctx("storing input errors"))?;
        }
        tx.commit().await.map_err(ctx("committing input errors"))
    }
}
