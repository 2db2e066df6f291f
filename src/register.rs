//! `register import`: a Folkeregister extract (Freg person documents as JSON Lines, read by
//! [`pinbrev_core::freg`]) streamed into the store line by line, so a file of any size loads in
//! bounded memory; a malformed line is reported with its number and the other lines still load.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::Serialize;

use crate::db::{Db, DbError, Table};
use crate::files::{read_line, Line};
use crate::freg::{parse_line, ImportedPerson, LineProblem};
use crate::input_error::InputError;
use crate::row_errors::{RowErrors, Tell};

/// What an import of one file did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ImportReport {
    pub file: PathBuf,
    pub loaded: u64,
    pub replaced: u64,
    /// Line errors, each passed on and stored as it was found ([`RowErrors`]).
    pub line_errors: u64,
}

/// A file that cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    /// Not one line of the file is a person document (or it has no line at all): it is not a
    /// register extract, so nothing of it counts as read.
    #[error("{file}: no usable line ({lines} lines, none a Freg person document{first}); nothing was loaded")]
    NoUsableLine {
        file: PathBuf,
        lines: u64,
        /// The first line's problem, as `: line N: …`, or empty.
        first: String,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// People are written in batches of this many, one transaction each. Each commit writes every
/// database page its transaction changed, and a batch's identifiers land all over the index
/// on identifiers: importing 1,000,000 people wrote 3.4 GB in batches of 25,000 against 6.1 GB
/// in batches of 5,000, and took 17.2 s against 21.3 s (one run each), at 128 MB of peak RSS
/// against 69 MB.
const BATCH: usize = 25_000;

/// The longest line read as a person document, in bytes. A Freg document is a few kilobytes;
/// a longer line (a file that is not JSON Lines, a broken transfer) is a line error, skipped
/// without being read into memory whole. (A document of 50 MB is still read, to say which of
/// its elements is wrong.) A file of one line of 500 MB took 515 MB of memory before this.
pub const MAX_LINE: usize = 64 << 20;

/// Streams a JSON Lines extract into the database. Line errors are passed on to `tell` and
/// stored as they are found, not fatal.
pub async fn import_file(
    db: &Db,
    file: &Path,
    tell: Tell<'_>,
) -> Result<ImportReport, ImportError> {
    let read_err = |source| ImportError::Read {
        file: file.to_path_buf(),
        source,
    };
    let handle = crate::files::open_input(file).map_err(read_err)?;
    let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = crate::progress::bar(size, "register", crate::progress::Unit::Bytes);
    let mut reader = BufReader::with_capacity(1 << 20, handle);
    let mut report = ImportReport {
        file: file.to_path_buf(),
        ..Default::default()
    };
    let source = file.display().to_string();
    // An error printed while the bar is drawn would be drawn over: the bar steps aside.
    let over_bar = bar.clone();
    let mut tell_over_bar = |e: &InputError| over_bar.suspend(|| tell(e));
    let mut errors = RowErrors::new("register", &mut tell_over_bar);
    let mut batch = Vec::with_capacity(BATCH);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    // One instant for the whole file: whether a record has ended is judged as of the import.
    let now = Utc::now();
    loop {
        let read = read_line(&mut reader, &mut buf, MAX_LINE).map_err(read_err)?;
        let bytes = match read {
            Line::End => break,
            Line::Text(bytes) | Line::TooLong(bytes) => bytes,
        };
        bar.inc(bytes);
        line_no += 1;
        let parsed = match (read, std::str::from_utf8(&buf)) {
            (Line::TooLong(_), _) => Err(LineProblem::TooLong {
                bytes,
                max: MAX_LINE,
            }),
            (_, Err(_)) => Err(LineProblem::NotUtf8),
            (_, Ok(text)) => {
                let text = text.trim_start_matches('\u{feff}').trim();
                if text.is_empty() {
                    continue;
                }
                parse_line(text, now)
            }
        };
        match parsed {
            Ok(people) => batch.extend(people.into_iter().map(|person| ImportedPerson {
                person,
                line: line_no,
            })),
            Err(problem) => errors.push(InputError::new(
                &source,
                Some(line_no),
                problem.field(),
                problem.code(),
                &problem.message(),
            )),
        }
        if batch.len() >= BATCH {
            report.replaced += db.store_persons(&source, &batch).await?;
            report.loaded += batch.len() as u64;
            batch.clear();
        }
        if errors.full() {
            errors.pass_on(db).await?;
        }
    }
    if !batch.is_empty() {
        report.replaced += db.store_persons(&source, &batch).await?;
        report.loaded += batch.len() as u64;
    }
    errors.pass_on(db).await?;
    bar.finish_and_clear();
    if report.loaded == 0 {
        // No person was stored: a file of no person documents (an order file given the wrong
        // name, an empty transfer) is unusable as a whole, and says why. Its line errors are
        // stored, as for any file.
        return Err(ImportError::NoUsableLine {
            file: file.to_path_buf(),
            lines: errors.count(),
            first: errors.first().map(|e| format!("; {e}")).unwrap_or_default(),
        });
    }
    report.line_errors = errors.count();
    db.refresh_statistics(&[Table::Persons, Table::PersonIds])
        .await?;
    Ok(report)
}
