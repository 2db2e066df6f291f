//! Statements built at run time (multi-row inserts, filters) for either engine.
//!
//! sqlx's own `QueryBuilder` writes the placeholder of its database type, and for the `Any`
//! driver that is `?`, which PostgreSQL does not read (launchbadge/sqlx#3000). This one writes
//! each engine's own: `$1`, `$2`, … for PostgreSQL, `?` for SQLite. SQLite reads `$N` too, but
//! as named parameters, and sqlx then looks each one's name up in a list SQLite scans from the
//! start: a multi-row insert of 5,000 values spent two thirds of its time there.

use std::fmt::{Display, Write};

use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryScalar};
use sqlx::{Any, Arguments, Encode, Type};

use super::{ctx, DbError, Engine, ROWS_PER_STATEMENT};

/// A statement and its bound values, built piece by piece.
pub(crate) struct QueryBuilder<'args> {
    engine: Engine,
    sql: String,
    arguments: AnyArguments<'args>,
    /// The statement's text is the same whatever its number of rows (its rows are one JSON
    /// value, [`QueryBuilder::push_json_rows`]): always kept prepared.
    same_for_any_rows: bool,
}

/// The SQL type of a column of rows sent as JSON ([`QueryBuilder::push_json_rows`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonColumn {
    /// A JSON string (or null).
    Text,
    /// A JSON integer (or null).
    Integer,
}

impl<'args> QueryBuilder<'args> {
    /// Starts a statement with a fragment of SQL.
    pub(crate) fn new(engine: Engine, init: impl Into<String>) -> Self {
        QueryBuilder {
            engine,
            sql: init.into(),
            arguments: AnyArguments::default(),
            same_for_any_rows: false,
        }
    }

    /// Appends SQL as written.
    pub(crate) fn push(&mut self, sql: impl Display) -> &mut Self {
        write!(self.sql, "{sql}").expect("writing to a String cannot fail");
        self
    }

    /// Appends a placeholder and binds `value` to it.
    pub(crate) fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'args + Encode<'args, Any> + Type<Any>,
    {
        // As in sqlx's own builder: the `Any` encoders of what pinbrev binds (integers, text,
        // their options) only copy the value and cannot fail.
        self.arguments
            .add(value)
            .expect("an integer or a text is bound to any statement");
        match self.engine {
            Engine::Sqlite => self.push("?"),
            Engine::Postgres => {
                let n = self.arguments.len();
                self.push(format_args!("${n}"))
            }
        }
    }

    /// A list whose items are separated by `separator`.
    pub(crate) fn separated<'qb>(&'qb mut self, separator: &'static str) -> Separated<'qb, 'args> {
        Separated {
            builder: self,
            separator,
            first: true,
        }
    }

    /// Appends `VALUES (…), (…)`: one parenthesised row per item, its values pushed by `row`.
    pub(crate) fn push_values<I, F>(&mut self, items: I, mut row: F) -> &mut Self
    where
        I: IntoIterator,
        F: FnMut(Separated<'_, 'args>, I::Item),
    {
        self.push("VALUES ");
        for (i, item) in items.into_iter().enumerate() {
            self.push(if i == 0 { "(" } else { ", (" });
            row(self.separated(", "), item);
            self.push(")");
        }
        self
    }

    /// Appends a `SELECT` of the rows of `rows`, a JSON array with an array of `columns.len()`
    /// values per row, bound as one value: each row's value `i` is column `columns[i]`, named
    /// and read as it says; the rows come in the array's order.
    ///
    /// Tens of thousands of rows then go into one `INSERT … SELECT`. On SQLite, inside a
    /// transaction, each statement first copies every existing page it is about to change to a
    /// statement journal (to undo just that statement if a constraint stops it), and rows that
    /// land at random in an index change a page each: the fewer the statements, the fewer the
    /// copies. A million letters' rows took 9.7-11.4 s to store as 937 statements and 7.1 s as
    /// 19 (sqlx's statement timings); 100,000 took about 0.4 s either way.
    ///
    /// Where it does not pay: rows that land in order copy few pages whatever the statements;
    /// reading many columns out of JSON costs more than binding them (validation's outcomes,
    /// 13 columns: 0.79-1.01 s against 0.41 s at 100,000); and where temporary data is kept in
    /// memory, a large statement's journal is too (ingest's orders, 50,000 to a statement: peak
    /// RSS 202 MB against 90 MB at a million, for 13.2 s against 14.0 s). `batch create` keeps
    /// its temporary data on disk.
    pub(crate) fn push_json_rows(
        &mut self,
        columns: &[(&str, JsonColumn)],
        rows: String,
    ) -> &mut Self {
        self.same_for_any_rows = true;
        self.push("SELECT ");
        for (i, (name, column)) in columns.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            match (self.engine, column) {
                // `->>` gives SQLite's value of the JSON one: text, integer or NULL.
                (Engine::Sqlite, _) | (Engine::Postgres, JsonColumn::Text) => {
                    self.push(format_args!("value ->> {i} AS {name}"))
                }
                (Engine::Postgres, JsonColumn::Integer) => {
                    self.push(format_args!("CAST(value ->> {i} AS bigint) AS {name}"))
                }
            };
        }
        match self.engine {
            Engine::Sqlite => {
                self.push(" FROM json_each(");
                self.push_bind(rows);
                self.push(")")
            }
            Engine::Postgres => {
                self.push(" FROM json_array_elements(CAST(");
                self.push_bind(rows);
                self.push(" AS json))")
            }
        }
    }

    /// The statement's text so far.
    #[cfg(test)]
    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }

    /// The statement, ready to run; its bound values are moved into it.
    pub(crate) fn build(&mut self) -> Query<'_, Any, AnyArguments<'_>> {
        sqlx::query_with(&self.sql, std::mem::take(&mut self.arguments))
    }

    /// Runs the statement, of `rows` rows, on `conn`: kept prepared when it has a full
    /// [`ROWS_PER_STATEMENT`] rows, the shape that comes again, or its rows are one JSON value,
    /// and not otherwise. Returns how many rows it changed.
    pub(crate) async fn execute_rows(
        &mut self,
        conn: &mut sqlx::AnyConnection,
        rows: usize,
        context: &'static str,
    ) -> Result<u64, DbError> {
        let persistent = self.same_for_any_rows || rows == ROWS_PER_STATEMENT;
        Ok(self
            .build()
            .persistent(persistent)
            .execute(conn)
            .await
            .map_err(ctx(context))?
            .rows_affected())
    }

    /// The statement as a query of one value per row.
    pub(crate) fn build_query_scalar<O>(&mut self) -> QueryScalar<'_, Any, O, AnyArguments<'_>>
    where
        (O,): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        sqlx::query_scalar_with(&self.sql, std::mem::take(&mut self.arguments))
    }
}

/// A multi-row statement for [`execute_all`]: the statement, how many rows it has, and what it
/// is for (named in an error).
pub(crate) struct Statement<'args> {
    pub(crate) builder: QueryBuilder<'args>,
    pub(crate) rows: usize,
    pub(crate) context: &'static str,
}

/// Runs `statements` one after another on `conn`, each as [`QueryBuilder::execute_rows`] does,
/// building each while the one before runs on the database's side (SQLite's own thread, or the
/// server): the bound values of thousands of rows are much of a statement's time. Returns the
/// rows each statement changed, in order; stops at the first that fails.
pub(crate) async fn execute_all<'args>(
    conn: &mut sqlx::AnyConnection,
    mut statements: impl Iterator<Item = Statement<'args>>,
) -> Result<Vec<u64>, DbError> {
    let mut changed = Vec::new();
    let mut current = statements.next();
    while let Some(mut statement) = current {
        // `join` polls the statement first, which hands it to the database, then builds the
        // next one while it runs.
        let (result, next) = futures_util::future::join(
            statement
                .builder
                .execute_rows(conn, statement.rows, statement.context),
            async { statements.next() },
        )
        .await;
        changed.push(result?);
        current = next;
    }
    Ok(changed)
}

/// Items of a list in a [`QueryBuilder`], the separator written between them.
pub(crate) struct Separated<'qb, 'args> {
    builder: &'qb mut QueryBuilder<'args>,
    separator: &'static str,
    first: bool,
}

impl<'args> Separated<'_, 'args> {
    fn separate(&mut self) {
        if !self.first {
            self.builder.push(self.separator);
        }
        self.first = false;
    }

    /// Appends the separator (if an item came before) and a bound value.
    pub(crate) fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'args + Encode<'args, Any> + Type<Any>,
    {
        self.separate();
        self.builder.push_bind(value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::json_list;

    fn example(engine: Engine) -> QueryBuilder<'static> {
        let mut qb = QueryBuilder::new(engine, "INSERT INTO t (a, b) ");
        qb.push_values([(1i64, "x"), (2, "y")], |mut row, (a, b)| {
            row.push_bind(a).push_bind(b);
        });
        qb.push(" WHERE c IN (");
        qb.separated(", ").push_bind(3i64).push_bind(4i64);
        qb.push(")");
        qb
    }

    fn insert(values: &'static [i64], context: &'static str) -> Statement<'static> {
        let mut builder = QueryBuilder::new(Engine::Sqlite, "INSERT INTO t (a) ");
        builder.push_values(values, |mut row, v| {
            row.push_bind(*v);
        });
        Statement {
            builder,
            rows: values.len(),
            context,
        }
    }

    #[test]
    fn statements_run_in_order_each_counted_and_the_first_failure_stops_the_rest() {
        super::super::tests::runtime().block_on(async {
            let (_dir, db) = super::super::tests::temp_db().await;
            let mut tx = db.begin_write().await.unwrap();
            sqlx::query("CREATE TABLE t (a INTEGER PRIMARY KEY)")
                .execute(&mut *tx)
                .await
                .unwrap();
            let changed = execute_all(
                &mut tx,
                [insert(&[1, 2, 3], "first"), insert(&[4], "second")].into_iter(),
            )
            .await
            .unwrap();
            assert_eq!(changed, [3, 1]);
            let built = std::cell::Cell::new(0);
            let statements = [
                insert(&[5], "third"),
                insert(&[6, 1], "the duplicate"),
                insert(&[7], "never"),
            ]
            .into_iter()
            .inspect(|_| built.set(built.get() + 1));
            let err = execute_all(&mut tx, statements).await.unwrap_err();
            assert!(err.to_string().contains("the duplicate"), "{err}");
            assert_eq!(built.get(), 3, "the next statement is built while one runs");
            let stored: Vec<i64> = sqlx::query_scalar("SELECT a FROM t ORDER BY a")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
            assert_eq!(stored, [1, 2, 3, 4, 5], "nothing after the failure ran");
        });
    }

    /// `INSERT INTO t (k, a, b, c) SELECT $1, r.a, r.b, r.c FROM (json rows) AS r`.
    fn json_insert(engine: Engine, rows: String) -> QueryBuilder<'static> {
        let mut qb = QueryBuilder::new(engine, "INSERT INTO t (k, a, b, c) SELECT ");
        qb.push_bind("k").push(", r.a, r.b, r.c FROM (");
        qb.push_json_rows(
            &[
                ("a", JsonColumn::Text),
                ("b", JsonColumn::Integer),
                ("c", JsonColumn::Text),
            ],
            rows,
        );
        qb.push(") AS r");
        qb
    }

    #[test]
    fn rows_sent_as_json_are_stored_as_written_in_their_order() {
        super::super::tests::runtime().block_on(async {
            let (_dir, db) = super::super::tests::temp_db().await;
            let mut tx = db.begin_write().await.unwrap();
            sqlx::query(
                "CREATE TABLE t (n INTEGER PRIMARY KEY, k TEXT, a TEXT, b INTEGER, c TEXT)",
            )
            .execute(&mut *tx)
            .await
            .unwrap();
            type Row = (Option<String>, Option<i64>, Option<String>);
            type Stored = (String, Option<String>, Option<i64>, Option<String>);
            let rows: Vec<Row> = vec![
                (Some("zeta \"quoted\" \\ 'x'".into()), Some(i64::MAX), None),
                (
                    Some("Ærlig Øst Åse 🙂\nline".into()),
                    Some(-1),
                    Some("0".into()),
                ),
                (None, None, Some("".into())),
                (Some("alpha".into()), Some(0), Some("12".into())),
            ];
            let mut statement = Statement {
                builder: json_insert(Engine::Sqlite, json_list(&rows)),
                rows: rows.len(),
                context: "json rows",
            };
            assert!(statement.builder.same_for_any_rows);
            let changed = statement
                .builder
                .execute_rows(&mut tx, statement.rows, statement.context)
                .await
                .unwrap();
            assert_eq!(changed, 4);
            let stored: Vec<Stored> = sqlx::query_as("SELECT k, a, b, c FROM t ORDER BY n")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
            let stored: Vec<(String, Row)> = stored
                .into_iter()
                .map(|(k, a, b, c)| (k, (a, b, c)))
                .collect();
            let expected: Vec<(String, Row)> =
                rows.into_iter().map(|row| ("k".into(), row)).collect();
            assert_eq!(stored, expected);
            let types: Vec<String> =
                sqlx::query_scalar("SELECT typeof(b) || typeof(c) FROM t ORDER BY n")
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
            assert_eq!(
                types,
                ["integernull", "integertext", "nulltext", "integertext"]
            );
        });
    }

    #[test]
    fn json_rows_are_read_with_each_engines_functions() {
        let sqlite = json_insert(Engine::Sqlite, "[]".into());
        assert_eq!(
            sqlite.sql,
            "INSERT INTO t (k, a, b, c) SELECT ?, r.a, r.b, r.c FROM (SELECT value ->> 0 AS a, \
             value ->> 1 AS b, value ->> 2 AS c FROM json_each(?)) AS r"
        );
        let pg = json_insert(Engine::Postgres, "[]".into());
        assert_eq!(
            pg.sql,
            "INSERT INTO t (k, a, b, c) SELECT $1, r.a, r.b, r.c FROM (SELECT value ->> 0 AS a, \
             CAST(value ->> 1 AS bigint) AS b, value ->> 2 AS c FROM \
             json_array_elements(CAST($2 AS json))) AS r"
        );
        assert_eq!(pg.arguments.len(), 2);
    }

    #[test]
    fn placeholders_are_each_engines_own() {
        let pg = example(Engine::Postgres);
        assert_eq!(
            pg.sql,
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) WHERE c IN ($5, $6)"
        );
        assert_eq!(pg.arguments.len(), 6);
        let sqlite = example(Engine::Sqlite);
        assert_eq!(
            sqlite.sql,
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) WHERE c IN (?, ?)"
        );
        assert_eq!(sqlite.arguments.len(), 6);
    }
}
