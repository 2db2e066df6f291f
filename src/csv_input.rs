//! Reading CSV input files (orders, receipts): UTF-8 checked and the header read before any
//! row is used, `,` or `;` detected from the header, BOM and CRLF tolerated, columns by name,
//! and exact physical line numbers for every row, all streamed in bounded memory.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::input_error::InputError;

/// A CSV file that cannot be used as a whole.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: line {line}: not UTF-8 (at character {column} of the line); the file must be UTF-8")]
    NotUtf8 {
        file: PathBuf,
        line: u64,
        column: usize,
    },
    #[error("{file}: line 1: no header row")]
    Empty { file: PathBuf },
    #[error("{file}: line 1: header lacks the required column(s) {missing}; {found}")]
    MissingColumns {
        file: PathBuf,
        missing: String,
        /// What the first line holds instead, described without quoting its content.
        found: String,
    },
    #[error("{file}: line 1: the header names the column {column} twice; which one holds the data is not clear")]
    DuplicateColumn { file: PathBuf, column: String },
    #[error("{file}: line {line}: {message}")]
    Csv {
        file: PathBuf,
        line: u64,
        message: String,
    },
}

const BOM: &[u8] = b"\xef\xbb\xbf";

/// Checks that the whole input is UTF-8 and returns its header line (BOM removed). Reads line
/// by line, so any size of file is checked in bounded memory.
fn check_text<R: BufRead>(file: &Path, mut input: R) -> Result<String, FileError> {
    let read_err = |source| FileError::Read {
        file: file.to_path_buf(),
        source,
    };
    let mut header = None;
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        let n = input.read_until(b'\n', &mut buf).map_err(read_err)?;
        if n == 0 {
            break;
        }
        line += 1;
        let text = std::str::from_utf8(&buf).map_err(|e| FileError::NotUtf8 {
            file: file.to_path_buf(),
            line,
            column: String::from_utf8_lossy(&buf[..e.valid_up_to()])
                .chars()
                .count()
                + 1,
        })?;
        if header.is_none() {
            header = Some(text.trim_start_matches('\u{feff}').trim_end().to_string());
        }
    }
    header
        .filter(|h| !h.trim().is_empty())
        .ok_or(FileError::Empty {
            file: file.to_path_buf(),
        })
}

/// What a first line that is not a usable header holds, said without quoting its content (it
/// may be a data row or a register document, with a national id, a name, an address): the
/// cells that look like column names, and how many others there are.
fn describe_header(line: &str, headers: &csv::StringRecord) -> String {
    let first = line.trim_start().chars().next();
    if matches!(first, Some('{') | Some('[')) {
        return "the first line looks like JSON (a register extract?), not a CSV header".into();
    }
    let looks_like_name = |h: &str| {
        !h.is_empty()
            && h.len() <= 32
            && h.starts_with(|c: char| c.is_ascii_alphabetic())
            // No spaces or digits: a name ("Ola Nordmann") or a number is data, not a column.
            && h.chars()
                .all(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '-' | '.'))
    };
    let names: Vec<&str> = headers
        .iter()
        .map(str::trim)
        .filter(|h| looks_like_name(h))
        .take(12)
        .collect();
    let others = headers.len() - names.len();
    let mut out = if names.is_empty() {
        "it names no column".to_string()
    } else {
        format!("it has: {}", names.join(", "))
    };
    if others > 0 {
        out.push_str(&format!(
            " ({others} other cell{} not shown: the first line may be a data row)",
            if others == 1 { "" } else { "s" }
        ));
    }
    out
}

/// A data row: its physical line and its fields by column name.
#[derive(Debug)]
pub struct CsvRow {
    pub line: u64,
    record: csv::StringRecord,
    columns: std::rc::Rc<HashMap<String, usize>>,
}

impl CsvRow {
    /// The field of a column (trimmed), or "" when the column or field is absent.
    pub fn get(&self, column: &str) -> &str {
        self.columns
            .get(column)
            .and_then(|i| self.record.get(*i))
            .unwrap_or("")
    }
}

/// The data rows of a CSV file, one at a time; blank rows are skipped, a row the CSV reader
/// cannot read is an [`InputError`] with code `malformed_row`.
pub struct CsvRows<R: Read, L: BufRead> {
    name: String,
    records: csv::StringRecordsIntoIter<R>,
    columns: std::rc::Rc<HashMap<String, usize>>,
    lines: LineCounter<L>,
}

impl<R: Read, L: BufRead> CsvRows<R, L> {
    /// Reads the header of `data` (positioned after any BOM, whose length is `skipped`);
    /// `lines` is a second reader over the same bytes, used to number the rows.
    fn new(
        file: &Path,
        header_line: &str,
        required: &[&str],
        data: R,
        lines: L,
        skipped: u64,
    ) -> Result<Self, FileError> {
        let delimiter = if header_line.matches(';').count() > header_line.matches(',').count() {
            b';'
        } else {
            b','
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(data);
        let headers = reader
            .headers()
            .map_err(|e| FileError::Csv {
                file: file.to_path_buf(),
                line: 1,
                message: e.to_string(),
            })?
            .clone();
        let mut columns: HashMap<String, usize> = HashMap::with_capacity(headers.len());
        let mut twice = None;
        for (i, h) in headers.iter().enumerate() {
            let name = h.trim().to_ascii_lowercase();
            // An unnamed column (a trailing delimiter) names nothing, so it cannot clash.
            if !name.is_empty() && columns.insert(name.clone(), i).is_some() {
                twice.get_or_insert(name);
            }
        }
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|c| !columns.contains_key(*c))
            .collect();
        // A first line without the required columns is no header at all: say that first.
        if !missing.is_empty() {
            return Err(FileError::MissingColumns {
                file: file.to_path_buf(),
                missing: missing.join(", "),
                found: describe_header(header_line, &headers),
            });
        }
        if let Some(name) = twice {
            return Err(FileError::DuplicateColumn {
                file: file.to_path_buf(),
                column: crate::free_text::quote(&name),
            });
        }
        Ok(CsvRows {
            name: file.display().to_string(),
            records: reader.into_records(),
            columns: std::rc::Rc::new(columns),
            lines: LineCounter::new(lines, skipped),
        })
    }
}

impl<R: Read, L: BufRead> Iterator for CsvRows<R, L> {
    type Item = Result<CsvRow, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let record = match self.records.next()? {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| self.lines.at(p.byte()));
                    return Some(Err(InputError::row(
                        &self.name,
                        line,
                        None,
                        "malformed_row",
                        e.to_string(),
                    )));
                }
            };
            let line = record.position().map_or(0, |p| self.lines.at(p.byte()));
            if record.iter().all(|f| f.is_empty()) {
                continue;
            }
            return Some(Ok(CsvRow {
                line,
                record,
                columns: self.columns.clone(),
            }));
        }
    }
}

/// Opens a CSV file for streaming: checks that it is UTF-8 and has the required columns first,
/// so that a file unusable as a whole is refused before any row is used.
pub fn open(
    file: &Path,
    required: &[&str],
) -> Result<CsvRows<BufReader<File>, BufReader<File>>, FileError> {
    let open = || {
        crate::files::open_input(file)
            .map(BufReader::new)
            .map_err(|source| FileError::Read {
                file: file.to_path_buf(),
                source,
            })
    };
    let header = check_text(file, open()?)?;
    let mut data = open()?;
    let starts_with_bom = data
        .fill_buf()
        .map_err(|source| FileError::Read {
            file: file.to_path_buf(),
            source,
        })?
        .starts_with(BOM);
    let skipped = if starts_with_bom {
        data.consume(BOM.len());
        BOM.len() as u64
    } else {
        0
    };
    CsvRows::new(file, &header, required, data, open()?, skipped)
}

/// The same over bytes in memory.
pub fn from_bytes<'a>(
    file: &Path,
    bytes: &'a [u8],
    required: &[&str],
) -> Result<CsvRows<&'a [u8], &'a [u8]>, FileError> {
    let header = check_text(file, bytes)?;
    let skipped = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    CsvRows::new(
        file,
        &header,
        required,
        &bytes[skipped..],
        bytes,
        skipped as u64,
    )
}

/// Physical line numbers from byte offsets, read from a second pass over the same bytes. The csv
/// crate's own line count is off by one after CRLF line ends. Offsets only grow, so each byte is
/// looked at once and memory stays flat.
struct LineCounter<L: BufRead> {
    input: L,
    offset: u64,
    line: u64,
    /// Bytes before the csv reader's offset 0 (a BOM).
    skipped: u64,
}

impl<L: BufRead> LineCounter<L> {
    fn new(input: L, skipped: u64) -> Self {
        LineCounter {
            input,
            offset: 0,
            line: 1,
            skipped,
        }
    }

    /// The line of the record the csv reader says starts at `byte`.
    fn at(&mut self, byte: u64) -> u64 {
        let target = byte + self.skipped;
        while self.offset < target {
            let Ok(buf) = self.input.fill_buf() else {
                break;
            };
            if buf.is_empty() {
                break;
            }
            let take = buf.len().min((target - self.offset) as usize);
            self.line += buf[..take].iter().filter(|b| **b == b'\n').count() as u64;
            self.input.consume(take);
            self.offset += take as u64;
        }
        // After a CRLF the crate reports the record as starting at the LF.
        if let Ok(buf) = self.input.fill_buf() {
            if buf.first() == Some(&b'\n') {
                self.input.consume(1);
                self.offset += 1;
                self.line += 1;
            }
        }
        self.line
    }
}
