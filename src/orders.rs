//! Orders: the reading of order CSV files and their storing; the domain types of an order are
//! the core's ([`pinbrev_core::order`]), re-exported here.
//!
//! Parsing happens here, at the edge: a row becomes a [`NewOrder`] or an [`InputError`] naming
//! file, line and field. Storing and re-delivery detection happen in [`ingest_file`].

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use serde::Serialize;

pub use crate::csv_input::FileError;
use crate::csv_input::{self, CsvRow, CsvRows};
use crate::db::{BulkLoad, Db, DbError, GroupedTx, InsertOutcome, Table, TempStore};
use crate::free_text::quote;
use crate::input_error::InputError;
use crate::row_errors::{RowErrors, Tell};
pub use pinbrev_core::order::*;

/// Removes spaces and one `.`/`-` between the groups when what remains is 11 digits; else keeps
/// the value as given (trimmed) so that validation can reject it with the helpdesk seeing why.
fn normalize_national_id(raw: &str) -> String {
    crate::national_id::compact(raw).unwrap_or_else(|| {
        // Wrong either way; keep enough to explain it, not a whole oversized field.
        raw.trim().chars().take(MAX_RAW_NATIONAL_ID).collect()
    })
}

/// Characters of a malformed national_id kept with its order (a well-formed one is 11 digits
/// plus a few separators).
const MAX_RAW_NATIONAL_ID: usize = 32;

/// A parsed order file: the good rows and the row errors, in file order.
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub orders: Vec<NewOrder>,
    pub errors: Vec<InputError>,
}

const REQUIRED: [&str; 3] = ["order_id", "national_id", "ordered_at"];
/// Columns read when the file has them.
const OPTIONAL: [&str; 2] = ["channel", "language"];

/// Turns a CSV row into an order or a row error.
fn order_of(name: &str, row: Result<CsvRow, InputError>) -> Result<NewOrder, InputError> {
    let row = row?;
    parse_row(&row).map_err(|(field, code, message)| {
        InputError::row(name, row.line, Some(field), code, message).with_order(row.get("order_id"))
    })
}

/// Opens an order file for streaming: checks it is UTF-8 with a usable header first, so that a
/// file unusable as a whole is refused before any of its rows is stored.
pub fn open_file(file: &Path) -> Result<OrderRows, FileError> {
    Ok(OrderRows {
        name: file.display().to_string(),
        rows: csv_input::open(file, &REQUIRED, &OPTIONAL)?,
    })
}

/// The rows of an order file, each an order or a row error, in file order.
pub struct OrderRows {
    name: String,
    rows: CsvRows<BufReader<File>>,
}

impl OrderRows {
    /// The number of the file's last line (see [`CsvRows::last_line`]).
    pub fn last_line(&self) -> u64 {
        self.rows.last_line()
    }
}

impl Iterator for OrderRows {
    type Item = Result<NewOrder, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = self.rows.next()?;
        Some(order_of(&self.name, row))
    }
}

/// Reads a whole order file held in memory (tests and small inputs).
pub fn parse_file(file: &Path, bytes: &[u8]) -> Result<ParsedFile, FileError> {
    let name = file.display().to_string();
    let mut parsed = ParsedFile::default();
    for row in csv_input::from_bytes(file, bytes, &REQUIRED, &OPTIONAL)? {
        match order_of(&name, row) {
            Ok(o) => parsed.orders.push(o),
            Err(e) => parsed.errors.push(e),
        }
    }
    Ok(parsed)
}

type RowProblem = (&'static str, &'static str, String);

fn parse_row(row: &CsvRow) -> Result<NewOrder, RowProblem> {
    let get = |column: &str| row.get(column);
    let required = |field: &'static str| {
        let v = get(field);
        if v.is_empty() {
            Err((field, "missing_field", format!("{field} is empty")))
        } else {
            Ok(v)
        }
    };
    let order_id = match row.length("order_id") {
        // Counted to its end: an oversized field is kept only in part.
        n if n > 64 => Err(OrderId::length_error(n)),
        _ => OrderId::parse(required("order_id")?),
    }
    .map_err(|m| ("order_id", "invalid_order_id", m))?;
    let ordered_at = parse_ordered_at(required("ordered_at")?)
        .map_err(|m| ("ordered_at", "invalid_ordered_at", m))?;
    let national_id = normalize_national_id(required("national_id")?);
    let channel = match get("channel") {
        "" => Channel::Web,
        c => c.to_ascii_lowercase().parse().map_err(|_| {
            (
                "channel",
                "invalid_channel",
                format!("{} is not one of web, sms, phone, support", quote(c)),
            )
        })?,
    };
    let language = match get("language") {
        "" => None,
        l => Some(l.to_ascii_lowercase().parse().map_err(|_| {
            (
                "language",
                "invalid_language",
                format!("{} is not one of nb, nn, en", quote(l)),
            )
        })?),
    };
    Ok(NewOrder {
        order_id,
        national_id,
        ordered_at,
        channel,
        language,
        line: row.line,
    })
}

/// What an ingest of one file did.
#[derive(Debug, Default, Serialize)]
pub struct IngestReport {
    pub file: String,
    pub new: u64,
    pub already_known: u64,
    /// Row errors, each passed on and stored as it was found ([`RowErrors`]).
    pub row_errors: u64,
}

/// Ingest failure of a whole file.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    File(#[from] FileError),
    /// Rows, but not one usable: no order was stored, the file is unusable as a whole.
    #[error("{file}: no usable row ({rows} rows, every one an error; first: {first}); nothing was stored")]
    NoUsableRow {
        file: String,
        rows: u64,
        first: String,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Rows read, checked and stored at a time: what ingest holds in memory.
const CHUNK: usize = 50_000;

/// Rows stored per write transaction, in chunks of [`CHUNK`]. A commit writes every index page
/// its rows landed on (order time and identity number are in no particular order in a file), so
/// once the indexes outgrow SQLite's cache few large transactions write far less than many
/// small ones: a file of a million orders wrote 1.8 GB in transactions of 50,000, 0.9 GB in
/// transactions of 500,000 and 0.8 GB in one. Bounded, so that another command (an operator's
/// `orders cancel`) waits a few seconds at most for the write lock, however large the file.
const ROWS_PER_TRANSACTION: usize = 500_000;

/// Reads, checks and stores one order file, streamed in chunks. Row errors are passed on to
/// `tell` in line order and stored as they are found, never fatal; the orders and their row
/// errors are stored in the same transactions.
pub async fn ingest_file(
    db: &Db,
    file: &Path,
    tell: Tell<'_>,
) -> Result<IngestReport, IngestError> {
    // A transaction that sets indexes aside builds them again by sorting every key of the
    // table: the sort goes to disk (files without a name), not into this process's memory. A
    // million orders into an empty database peaked at 122-124 MB so, against 160-162 MB.
    db.keep_temporary_data(TempStore::Disk).await?;
    let ingested = ingest_in_chunks(db, file, CHUNK, ROWS_PER_TRANSACTION, tell).await;
    let restored = db.keep_temporary_data(TempStore::Memory).await;
    let report = ingested?;
    restored?;
    Ok(report)
}

/// [`ingest_file`] with `chunk_rows` rows at a time, committed once `per_transaction` rows or
/// more are stored, and at the end. A chunk is also stored early once its row errors fill a
/// page ([`RowErrors::full`]), so that they are passed on in line order.
async fn ingest_in_chunks(
    db: &Db,
    file: &Path,
    chunk_rows: usize,
    per_transaction: usize,
    tell: Tell<'_>,
) -> Result<IngestReport, IngestError> {
    let rows = open_file(file)?;
    let name = file.display().to_string();
    let mut report = IngestReport {
        file: name.clone(),
        ..Default::default()
    };
    let mut errors = RowErrors::new("orders", tell);
    let mut chunk = Vec::with_capacity(chunk_rows);
    let mut writes = GroupedTx::loading(per_transaction, "committing orders", BulkLoad::Orders);
    let last_line = rows.last_line();
    // The line of the chunk's first row.
    let mut chunk_from = None;
    let mut rows = rows.peekable();
    while let Some(row) = rows.next() {
        let line = match &row {
            Ok(order) => Some(order.line),
            Err(e) => e.line,
        };
        chunk_from = chunk_from.or(line);
        match row {
            Ok(order) => chunk.push(order),
            Err(e) => errors.push(e),
        }
        if chunk.len() < chunk_rows && !errors.full() && rows.peek().is_some() {
            continue;
        }
        // A transaction begun here stores at most the rows of the file from this chunk on.
        let coming = (last_line + 1)
            .saturating_sub(chunk_from.take().unwrap_or(last_line))
            .min(per_transaction as u64);
        let tx = writes.tx_for(db, coming).await?;
        let outcomes = db.insert_orders(tx, &name, &chunk).await?;
        for (order, outcome) in chunk.iter().zip(outcomes) {
            match outcome {
                InsertOutcome::Inserted => report.new += 1,
                InsertOutcome::SameContent => report.already_known += 1,
                InsertOutcome::Conflict => errors.push(
                    InputError::row(
                        &name,
                        order.line,
                        Some("order_id"),
                        "order_id_conflict",
                        format!(
                            "order {} was ingested before with different content",
                            order.order_id
                        ),
                    )
                    .with_order(&order.order_id.to_string()),
                ),
            }
        }
        let passed = errors.pass_on_in(db, tx).await?;
        writes.stored(chunk.len() + passed).await?;
        chunk.clear();
    }
    writes.finish().await?;
    if report.new + report.already_known == 0 {
        if let Some(first) = errors.first() {
            // Not one order: the errors found are stored, as for any file, and the file is
            // unusable as a whole.
            return Err(IngestError::NoUsableRow {
                file: name,
                rows: errors.count(),
                first: first.to_string(),
            });
        }
    }
    report.row_errors = errors.count();
    db.refresh_statistics(&[Table::Orders]).await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> ParsedFile {
        parse_file(Path::new("t.csv"), text.as_bytes()).unwrap()
    }

    #[test]
    fn a_file_in_many_chunks_and_transactions_is_stored_whole_with_repeats_found_across_chunks() {
        crate::db::tests::runtime().block_on(async {
            let (dir, db) = crate::db::tests::temp_db().await;
            let file = dir.path().join("orders.csv");
            let mut text = String::from("order_id,national_id,ordered_at,channel\n");
            for i in 1..=7 {
                text.push_str(&format!("A-{i},0101801234{i},2026-11-2{i}T10:00:00Z,web\n"));
            }
            // Line 9: no order id. Line 10: A-6 again with another number, in the chunk after
            // A-6's, in the same transaction. Line 11: A-2 again, as stored, a commit later.
            text.push_str(",01018012340,2026-11-21T10:00:00Z,web\n");
            text.push_str("A-6,01018012349,2026-11-26T10:00:00Z,web\n");
            text.push_str("A-2,01018012342,2026-11-22T10:00:00Z,web\n");
            text.push_str("A-8,01018012348,2026-11-28T10:00:00Z,web\n");
            std::fs::write(&file, text).unwrap();
            // Chunks of 2 rows: [A-1 A-2] [A-3 A-4] commit [A-5 A-6] [A-7 A-6] commit [A-2 A-8]
            // and the last commit, of a transaction short of 3 rows.
            let mut told = Vec::new();
            let mut tell = |e: &InputError| told.push((e.line, e.code.clone()));
            let report = ingest_in_chunks(&db, &file, 2, 3, &mut tell).await.unwrap();
            assert_eq!(
                (report.new, report.already_known, report.row_errors),
                (8, 1, 2)
            );
            let expected = [
                (Some(9), "missing_field".to_string()),
                (Some(10), "order_id_conflict".to_string()),
            ];
            assert_eq!(told, expected);
            let stored: Vec<(Option<u64>, String)> = db
                .input_errors_stored()
                .await
                .into_iter()
                .map(|(input, line, code)| {
                    assert_eq!(input, "orders");
                    (line.map(|l| l as u64), code)
                })
                .collect();
            assert_eq!(stored, expected);
            drop(db);
            // Everything was committed: another connection sees the eight orders.
            let again = Db::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
                .await
                .unwrap();
            assert_eq!(again.count_queue(OrderStatus::Received).await.unwrap(), 8);
            let listed = again
                .list_orders(&crate::db::OrderFilter::default())
                .await
                .unwrap();
            let numbers: Vec<(&str, &str)> = listed
                .iter()
                .map(|o| (o.order_id.as_str(), o.national_id.as_str()))
                .collect();
            assert!(numbers.contains(&("A-6", "01018012346")), "{numbers:?}");
            // The first transaction set the indexes aside (it stored 4 orders into none); they
            // were built again, as the migrations define them, before it committed.
            let (_fresh_dir, fresh) = crate::db::tests::temp_db().await;
            let defined = crate::db::tests::index_definitions(&fresh, "orders").await;
            assert!(defined.iter().any(|(name, _)| name == "orders_national_id"));
            assert_eq!(
                crate::db::tests::index_definitions(&again, "orders").await,
                defined
            );
        });
    }

    #[test]
    fn a_page_of_row_errors_stores_its_chunk_early_and_every_error_comes_in_line_order() {
        crate::db::tests::runtime().block_on(async {
            let (dir, db) = crate::db::tests::temp_db().await;
            let file = dir.path().join("orders.csv");
            // Line 3's conflict is found only when its chunk is stored, after the page of bad
            // rows from line 4 on is held: it must still come before them.
            let mut text = String::from("order_id,national_id,ordered_at\n");
            text.push_str("A-1,01018012345,2026-11-21T10:00:00Z\n");
            text.push_str("A-1,01018012346,2026-11-21T10:00:00Z\n");
            for i in 0..crate::row_errors::HELD + 5 {
                text.push_str(&format!("B-{i},01018012345,yesterday\n"));
            }
            text.push_str("A-2,01018012345,2026-11-22T10:00:00Z\n");
            text.push_str("A-2,01018012347,2026-11-22T10:00:00Z\n");
            std::fs::write(&file, text).unwrap();
            let mut lines = Vec::new();
            let mut tell = |e: &InputError| lines.push(e.line.unwrap());
            let report = ingest_in_chunks(&db, &file, CHUNK, ROWS_PER_TRANSACTION, &mut tell)
                .await
                .unwrap();
            let bad = crate::row_errors::HELD as u64 + 5;
            assert_eq!((report.new, report.row_errors), (2, bad + 2));
            let last = 3 + bad + 2;
            let expected: Vec<u64> = (3..=last).filter(|l| *l != last - 1).collect();
            assert_eq!(lines, expected);
            assert_eq!(db.input_errors_stored().await.len() as u64, bad + 2);
        });
    }

    #[test]
    fn semicolons_bom_crlf_and_column_order() {
        let p = parse("\u{feff}language;ordered_at;national_id;order_id;extra\r\nnn;2026-11-23 14:02:11;010180 12345;A-1;x\r\n");
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let o = &p.orders[0];
        assert_eq!(o.order_id.as_str(), "A-1");
        assert_eq!(o.language, Some(Language::Nn));
        assert_eq!(o.channel, Channel::Web);
        assert_eq!(o.national_id, "01018012345");
        assert_eq!(o.ordered_at_text(), "2026-11-23T13:02:11.000000Z");
        assert_eq!(o.line, 2);
    }

    #[test]
    fn row_errors_name_line_and_field() {
        let p = parse("order_id,national_id,ordered_at,channel\n,1,2026-01-01T00:00:00Z,\nB/1,1,2026-01-01T00:00:00Z,\nC,1,yesterday,\nD,1,2026-01-01T00:00:00Z,fax\nE,,2026-01-01T00:00:00Z,\nF,1,2026-01-01T00:00:00+01:00,SMS\n");
        let got: Vec<(u64, &str, &str)> = p
            .errors
            .iter()
            .map(|e| {
                (
                    e.line.unwrap(),
                    e.field.as_deref().unwrap(),
                    e.code.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "order_id", "missing_field"),
                (3, "order_id", "invalid_order_id"),
                (4, "ordered_at", "invalid_ordered_at"),
                (5, "channel", "invalid_channel"),
                (6, "national_id", "missing_field"),
            ]
        );
        assert_eq!(p.orders.len(), 1);
        assert_eq!(p.orders[0].channel, Channel::Sms);
        assert_eq!(p.orders[0].national_id, "1");
    }

    #[test]
    fn line_numbers_survive_quoted_newlines_and_crlf() {
        let p = parse("order_id,national_id,ordered_at,channel\r\nA,1,2026-01-01T00:00:00Z,\"w\r\neb\"\r\nB,1,bad,\r\nC,1,2026-01-01T00:00:00Z,\r\n");
        let lines: Vec<(u64, &str)> = p
            .errors
            .iter()
            .map(|e| (e.line.unwrap(), e.code.as_str()))
            .collect();
        assert_eq!(
            lines,
            vec![(2, "invalid_channel"), (4, "invalid_ordered_at")]
        );
        assert_eq!(p.orders[0].line, 5);
    }

    #[test]
    fn whole_file_problems() {
        assert!(matches!(
            parse_file(Path::new("x"), b""),
            Err(FileError::Empty { .. })
        ));
        assert!(matches!(
            parse_file(Path::new("x"), b"id,nr\n1,2\n"),
            Err(FileError::MissingColumns { .. })
        ));
        assert!(matches!(
            parse_file(
                Path::new("x"),
                b"order_id,national_id,ordered_at\nA,\xe6,x\n"
            ),
            Err(FileError::NotUtf8 { .. })
        ));
    }

    #[test]
    fn a_data_row_as_header_is_described_not_quoted() {
        let e = parse_file(
            Path::new("x.csv"),
            "A-1,Ola Nordmann,01018012345,web\n".as_bytes(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.ends_with("it has: web (3 other cells not shown: the first line may be a data row)"),
            "{e}"
        );
        assert!(!e.contains("Ola") && !e.contains("010180"), "{e}");
    }

    proptest! {
        #[test]
        fn parse_file_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut input = b"order_id,national_id,ordered_at\n".to_vec();
            input.extend(bytes);
            let _ = parse_file(Path::new("p"), &input);
        }
    }
}
