//! The row and line errors of one input file, as they are found. Each is passed on (a command
//! prints it, the night logs it) and kept in the store a page at a time, so that a hostile file
//! of a million bad rows is read in the same memory as a good one: only their number and the
//! first stay until the file is done. A million receipts that were all row errors, held until
//! the end of the file, took 409 MB.

use crate::db::{Db, DbError, Tx};
use crate::input_error::InputError;

/// Where each error goes as it is passed on: a command prints it, the night logs it.
pub type Tell<'a> = &'a mut (dyn FnMut(&InputError) + Send);

/// Each error on stderr as a `kind` (`row error`, `line error`) naming file, line and field
/// ([`crate::diagnostics::input_error`]): what the commands and the night do with them.
pub fn on_stderr(kind: &'static str) -> impl FnMut(&InputError) + Send {
    move |e| crate::diagnostics::input_error(kind, e)
}

/// Errors held at most before they are passed on: a reader passes them on at its next page, or
/// as soon as this many are held.
pub const HELD: usize = 10_000;

/// The errors of one input file found so far.
pub struct RowErrors<'a> {
    /// The input they are stored as (`orders`, `receipts`, `register`).
    input: &'static str,
    tell: Tell<'a>,
    held: Vec<InputError>,
    count: u64,
    first: Option<String>,
}

impl<'a> RowErrors<'a> {
    /// None yet, of `input`, each passed on to `tell`.
    pub fn new(input: &'static str, tell: Tell<'a>) -> Self {
        RowErrors {
            input,
            tell,
            held: Vec::new(),
            count: 0,
            first: None,
        }
    }

    /// Notes an error; it is held until [`RowErrors::pass_on_in`] or [`RowErrors::pass_on`].
    pub fn push(&mut self, e: InputError) {
        if self.first.is_none() {
            self.first = Some(e.in_file());
        }
        self.count += 1;
        self.held.push(e);
    }

    /// True when [`HELD`] or more errors wait to be passed on.
    pub fn full(&self) -> bool {
        self.held.len() >= HELD
    }

    /// Passes the held errors on, in line order (errors of a line keep the order they were
    /// found in), and stores them in `tx`. How many there were.
    pub async fn pass_on_in(&mut self, db: &Db, tx: &mut Tx) -> Result<usize, DbError> {
        let passed = self.held.len();
        if passed == 0 {
            return Ok(0);
        }
        self.held.sort_by_key(|e| e.line);
        for e in &self.held {
            (self.tell)(e);
        }
        db.record_input_errors_in(tx, self.input, &self.held)
            .await?;
        self.held.clear();
        Ok(passed)
    }

    /// [`RowErrors::pass_on_in`], stored in a transaction of their own.
    pub async fn pass_on(&mut self, db: &Db) -> Result<(), DbError> {
        if self.held.is_empty() {
            return Ok(());
        }
        let mut tx = db.begin_write().await?;
        self.pass_on_in(db, &mut tx).await?;
        tx.commit_as("committing input errors").await
    }

    /// How many were found in all.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The first found, as [`InputError::in_file`] gives it.
    pub fn first(&self) -> Option<&str> {
        self.first.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(line: u64, code: &str) -> InputError {
        InputError::row("f.csv", line, Some("order_id"), code, "bad".into())
    }

    #[test]
    fn errors_are_passed_on_in_line_order_stored_and_no_longer_held() {
        crate::db::tests::runtime().block_on(async {
            let (_dir, db) = crate::db::tests::temp_db().await;
            let mut told = Vec::new();
            let mut tell = |e: &InputError| told.push((e.line, e.code.clone()));
            let mut errors = RowErrors::new("orders", &mut tell);
            errors.push(error(7, "b"));
            errors.push(error(3, "a"));
            errors.push(error(7, "c"));
            assert!(!errors.full());
            errors.pass_on(&db).await.unwrap();
            errors.push(error(9, "d"));
            errors.pass_on(&db).await.unwrap();
            errors.pass_on(&db).await.unwrap();
            assert_eq!(errors.count(), 4);
            assert_eq!(errors.first(), Some("line 7: order_id: bad (b)"));
            drop(errors);
            let told: Vec<(Option<u64>, &str)> =
                told.iter().map(|(l, c)| (*l, c.as_str())).collect();
            assert_eq!(
                told,
                [
                    (Some(3), "a"),
                    (Some(7), "b"),
                    (Some(7), "c"),
                    (Some(9), "d")
                ]
            );
            let stored = db.input_errors_stored().await;
            let stored: Vec<(&str, Option<i64>, &str)> = stored
                .iter()
                .map(|(i, l, c)| (i.as_str(), *l, c.as_str()))
                .collect();
            assert_eq!(
                stored,
                [
                    ("orders", Some(3), "a"),
                    ("orders", Some(7), "b"),
                    ("orders", Some(7), "c"),
                    ("orders", Some(9), "d")
                ]
            );
        });
    }

    #[test]
    fn a_reader_is_told_to_pass_on_once_a_page_is_held() {
        let mut tell = |_: &InputError| {};
        let mut errors = RowErrors::new("register", &mut tell);
        for line in 0..HELD as u64 - 1 {
            errors.push(error(line, "a"));
        }
        assert!(!errors.full());
        errors.push(error(HELD as u64, "a"));
        assert!(errors.full());
    }
}
