//! Row and line errors of every input file (`input_errors`), for the helpdesk and the reports.

use super::builder::{execute_all, QueryBuilder, Statement};
use super::{now, Db, DbError, Tx, ROWS_PER_STATEMENT};
use pinbrev_core::free_text;
use pinbrev_core::input_error::InputError;

impl Db {
    /// Keeps row and line errors of an input file, in a transaction of their own.
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
        self.record_input_errors_in(&mut tx, input, errors).await?;
        tx.commit_as("committing input errors").await
    }

    /// Keeps row and line errors of an input file in `tx`, [`ROWS_PER_STATEMENT`] to a
    /// statement.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn record_input_errors_in(
        &self,
        tx: &mut Tx,
        input: &str,
        errors: &[InputError],
    ) -> Result<(), DbError> {
        let at = now();
        let engine = self.engine;
        let statements = errors.chunks(ROWS_PER_STATEMENT).map(|chunk| {
            let mut qb = QueryBuilder::new(
                engine,
                "INSERT INTO input_errors (input, file, line, field, code, message, at) ",
            );
            qb.push_values(chunk, |mut row, e| {
                row.push_bind(input)
                    .push_bind(e.file.as_str())
                    .push_bind(e.line.map(|l| l as i64))
                    .push_bind(e.field.as_deref())
                    .push_bind(e.code.as_str())
                    .push_bind(free_text::clean(&e.message))
                    .push_bind(at.as_str());
            });
            Statement {
                builder: qb,
                rows: chunk.len(),
                context: "storing input errors",
            }
        });
        execute_all(tx, statements).await?;
        Ok(())
    }
}

#[cfg(test)]
impl Db {
    /// Every stored error as (input, line, code), in line and code order.
    pub(crate) async fn input_errors_stored(&self) -> Vec<(String, Option<i64>, String)> {
        sqlx::query_as("SELECT input, line, code FROM input_errors ORDER BY line, code, error_id")
            .fetch_all(&self.pool)
            .await
            .expect("input errors read")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_of_more_than_one_statement_are_all_stored_with_their_fields() {
        crate::db::tests::runtime().block_on(async {
            let (_dir, db) = crate::db::tests::temp_db().await;
            let errors: Vec<InputError> = (1..=ROWS_PER_STATEMENT as u64 * 2 + 1)
                .map(|line| {
                    InputError::row("f.csv", line, Some("event"), "invalid_event", "bad".into())
                })
                .chain([InputError::new(
                    "f.csv",
                    None,
                    None,
                    "not_csv",
                    "whole file",
                )])
                .collect();
            db.record_input_errors("receipts", &errors).await.unwrap();
            let stored = db.input_errors_stored().await;
            assert_eq!(stored.len(), errors.len());
            assert_eq!(stored[0], ("receipts".into(), None, "not_csv".into()));
            for (line, (input, stored_line, code)) in stored[1..].iter().enumerate() {
                assert_eq!(
                    (input.as_str(), *stored_line, code.as_str()),
                    ("receipts", Some(line as i64 + 1), "invalid_event")
                );
            }
        });
    }
}
