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

/// Bytes of a field kept as its text. A longer field (only ever a wrong value: no column of an
/// order or receipt file holds more than a few hundred characters) is read to its end, but only
/// its first `FIELD_CAP` bytes are kept, with the count of all its characters: an error quotes
/// at most 40 characters and stored text at most 500, so what is printed and stored is the same,
/// and a line of any length is read in bounded memory.
pub const FIELD_CAP: usize = 16 * 1024;

/// Fields kept of a row (and columns of a header); fields after them are read and dropped.
pub const MAX_FIELDS: usize = 1024;

/// Bytes of the first line kept to describe a header that is not usable.
const HEADER_LINE_CAP: usize = 64 * 1024;

/// What the check of a whole input found.
struct Checked {
    /// The header line (BOM removed, at most [`HEADER_LINE_CAP`] bytes of it).
    header: String,
    /// The number of the input's last physical line.
    last_line: u64,
}

/// Checks that the whole input is UTF-8, and returns its header line and how many lines it has.
/// Reads in blocks, never a whole line, so that any size of file and of line is checked in
/// bounded memory.
fn check_text<R: Read>(file: &Path, mut input: R) -> Result<Checked, FileError> {
    let read_err = |source| FileError::Read {
        file: file.to_path_buf(),
        source,
    };
    let mut header: Vec<u8> = Vec::new();
    let mut in_header = true;
    let mut seen_any = false;
    let mut line = 1u64;
    // Characters of the current line before the block being looked at.
    let mut column = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    // The first bytes of a character cut by the end of the block before.
    let mut carried = 0usize;
    loop {
        let n = match input.read(&mut buf[carried..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_err(e)),
        };
        let end = carried + n;
        if n > 0 {
            seen_any = true;
        }
        let (valid, bad) = match std::str::from_utf8(&buf[..end]) {
            Ok(_) => (end, false),
            // A character cut by the end of the block: complete it with the next one.
            Err(e) if e.error_len().is_none() && n > 0 => (e.valid_up_to(), false),
            Err(e) => (e.valid_up_to(), true),
        };
        let text = &buf[..valid];
        if in_header {
            let first = text.iter().position(|b| *b == b'\n');
            let upto = first.unwrap_or(text.len());
            let room = HEADER_LINE_CAP.saturating_sub(header.len());
            header.extend_from_slice(&text[..upto.min(room)]);
            in_header = first.is_none();
        }
        let after_last_line = match text.iter().rposition(|b| *b == b'\n') {
            Some(i) => {
                line += text.iter().filter(|b| **b == b'\n').count() as u64;
                column = 0;
                &text[i + 1..]
            }
            None => text,
        };
        column += after_last_line
            .iter()
            .filter(|b| (**b & 0xc0) != 0x80)
            .count();
        if bad {
            return Err(FileError::NotUtf8 {
                file: file.to_path_buf(),
                line,
                column: column + 1,
            });
        }
        if n == 0 {
            break;
        }
        buf.copy_within(valid..end, 0);
        carried = end - valid;
    }
    if !seen_any {
        return Err(FileError::Empty {
            file: file.to_path_buf(),
        });
    }
    // The kept part of a long first line may end inside a character.
    let header = match std::str::from_utf8(&header) {
        Ok(h) => h,
        Err(e) => std::str::from_utf8(&header[..e.valid_up_to()]).unwrap_or_default(),
    };
    let header = header.trim_start_matches('\u{feff}').trim_end();
    if header.trim().is_empty() {
        return Err(FileError::Empty {
            file: file.to_path_buf(),
        });
    }
    Ok(Checked {
        header: header.to_string(),
        last_line: line,
    })
}

/// What a first line that is not a usable header holds, said without quoting its content (it
/// may be a data row or a register document, with a national id, a name, an address): the
/// cells that look like column names, and how many others there are.
fn describe_header<'a>(line: &str, headers: impl Iterator<Item = &'a str>) -> String {
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
    let mut names: Vec<&str> = Vec::new();
    let mut cells = 0usize;
    for h in headers.map(str::trim) {
        cells += 1;
        if names.len() < 12 && looks_like_name(h) {
            names.push(h);
        }
    }
    let others = cells - names.len();
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
    record: Record,
    columns: std::rc::Rc<HashMap<String, usize>>,
}

impl CsvRow {
    /// The field of a column (trimmed), or "" when the column or field is absent. Of a field
    /// longer than [`FIELD_CAP`] bytes, its first bytes (see [`CsvRow::length`]).
    pub fn get(&self, column: &str) -> &str {
        self.columns
            .get(column)
            .and_then(|i| self.record.get(*i))
            .unwrap_or("")
    }

    /// The characters of a column's field (trimmed), counted to its end even when only its
    /// first [`FIELD_CAP`] bytes were kept.
    pub fn length(&self, column: &str) -> u64 {
        match self.columns.get(column) {
            Some(i) => self.record.length(*i),
            None => 0,
        }
    }
}

/// The data rows of a CSV file, one at a time; blank rows are skipped, a row that cannot be
/// read (the file changed since it was checked) is an [`InputError`] with code `malformed_row`.
pub struct CsvRows<R: BufRead> {
    name: String,
    records: Records<R>,
    columns: std::rc::Rc<HashMap<String, usize>>,
    failed: bool,
    last_line: u64,
}

impl<R: BufRead> CsvRows<R> {
    /// Reads the header of `data` (positioned after any BOM). Of each row, the fields of the
    /// `required` and `optional` columns are kept; the others are read and dropped.
    fn new(
        file: &Path,
        checked: Checked,
        required: &[&str],
        optional: &[&str],
        data: R,
    ) -> Result<Self, FileError> {
        let header_line = checked.header.as_str();
        let delimiter = if header_line.matches(';').count() > header_line.matches(',').count() {
            b';'
        } else {
            b','
        };
        let mut records = Records::new(data, delimiter);
        let csv_error = |message: String| FileError::Csv {
            file: file.to_path_buf(),
            line: 1,
            message,
        };
        let headers = match records.next_record() {
            Ok(Some(h)) => h,
            Ok(None) => {
                return Err(FileError::Empty {
                    file: file.to_path_buf(),
                })
            }
            Err(RecordError::Io(source)) => {
                return Err(FileError::Read {
                    file: file.to_path_buf(),
                    source,
                })
            }
            Err(RecordError::NotUtf8 { .. }) => return Err(csv_error("not UTF-8".into())),
        };
        let mut columns: HashMap<String, usize> = HashMap::with_capacity(headers.len());
        let mut twice = None;
        for (i, h) in headers.iter().enumerate() {
            let name = h.to_ascii_lowercase();
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
                found: describe_header(header_line, headers.iter()),
            });
        }
        if let Some(name) = twice {
            return Err(FileError::DuplicateColumn {
                file: file.to_path_buf(),
                column: crate::free_text::quote(&name),
            });
        }
        // A column not read is not kept: a row is then at most a few fields of FIELD_CAP bytes
        // however wide the file, and receipts are kept a page of rows at a time.
        columns.retain(|name, _| {
            required.contains(&name.as_str()) || optional.contains(&name.as_str())
        });
        let mut wanted = vec![false; columns.values().max().map_or(0, |i| i + 1)];
        for &i in columns.values() {
            wanted[i] = true;
        }
        records.wanted = Some(wanted);
        Ok(CsvRows {
            name: file.display().to_string(),
            records,
            columns: std::rc::Rc::new(columns),
            failed: false,
            last_line: checked.last_line,
        })
    }

    /// The number of the file's last physical line, as counted when it was checked: no row
    /// starts after it, so that the rows still to come are at most this less the line of the
    /// last row read.
    pub fn last_line(&self) -> u64 {
        self.last_line
    }
}

impl<R: BufRead> Iterator for CsvRows<R> {
    type Item = Result<CsvRow, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            let record = match self.records.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => return None,
                Err(e) => {
                    let (line, message) = match e {
                        RecordError::NotUtf8 { line } => (line, "not UTF-8".to_string()),
                        RecordError::Io(e) => {
                            // Nothing after a failed read can be trusted to follow on.
                            self.failed = true;
                            (self.records.line, format!("cannot read: {e}"))
                        }
                    };
                    return Some(Err(InputError::row(
                        &self.name,
                        line,
                        None,
                        "malformed_row",
                        message,
                    )));
                }
            };
            if record.is_blank() {
                continue;
            }
            return Some(Ok(CsvRow {
                line: record.line,
                record,
                columns: self.columns.clone(),
            }));
        }
    }
}

/// Opens a CSV file for streaming: checks that it is UTF-8 and has the required columns first,
/// so that a file unusable as a whole is refused before any row is used. A row gives the fields
/// of the `required` and `optional` columns; any other column reads as absent.
pub fn open(
    file: &Path,
    required: &[&str],
    optional: &[&str],
) -> Result<CsvRows<BufReader<File>>, FileError> {
    let open = || {
        crate::files::open_input(file)
            .map(BufReader::new)
            .map_err(|source| FileError::Read {
                file: file.to_path_buf(),
                source,
            })
    };
    let checked = check_text(file, open()?)?;
    let mut data = open()?;
    let starts_with_bom = data
        .fill_buf()
        .map_err(|source| FileError::Read {
            file: file.to_path_buf(),
            source,
        })?
        .starts_with(BOM);
    if starts_with_bom {
        data.consume(BOM.len());
    }
    CsvRows::new(file, checked, required, optional, data)
}

/// The same over bytes in memory.
pub fn from_bytes<'a>(
    file: &Path,
    bytes: &'a [u8],
    required: &[&str],
    optional: &[&str],
) -> Result<CsvRows<&'a [u8]>, FileError> {
    let checked = check_text(file, bytes)?;
    let skipped = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    CsvRows::new(file, checked, required, optional, &bytes[skipped..])
}

/// A record as read: its fields' kept text, one after another, and where each ends.
#[derive(Debug)]
struct Record {
    /// The physical line the record starts on.
    line: u64,
    text: String,
    fields: Vec<FieldEnd>,
    /// Whether a field whose text was not kept held more than whitespace.
    dropped_content: bool,
}

#[derive(Debug, Clone, Copy)]
struct FieldEnd {
    /// Where the field's kept text ends in `text`.
    end: usize,
    /// The characters of a field cut at [`FIELD_CAP`] (trimmed), counted to its end.
    cut_length: Option<u64>,
}

impl Record {
    fn len(&self) -> usize {
        self.fields.len()
    }

    fn get(&self, i: usize) -> Option<&str> {
        let end = self.fields.get(i)?.end;
        let start = if i == 0 { 0 } else { self.fields[i - 1].end };
        Some(&self.text[start..end])
    }

    fn length(&self, i: usize) -> u64 {
        match self.fields.get(i).and_then(|f| f.cut_length) {
            Some(n) => n,
            None => self.get(i).map_or(0, |f| f.chars().count() as u64),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Nothing but whitespace in any field, kept or not.
    fn is_blank(&self) -> bool {
        !self.dropped_content && self.iter().all(str::is_empty)
    }
}

#[derive(Debug)]
enum RecordError {
    Io(std::io::Error),
    NotUtf8 { line: u64 },
}

/// CSV records read with `csv-core`, every field trimmed (Unicode whitespace, as `str::trim`)
/// and kept up to [`FIELD_CAP`] bytes, at most [`MAX_FIELDS`] of them, each record numbered with
/// the physical line it starts on (blank lines and line breaks inside quotes counted). The
/// memory used does not depend on the length of a line.
struct Records<R: BufRead> {
    input: R,
    core: csv_core::Reader,
    /// The physical line of the next byte of input.
    line: u64,
    /// Where `csv-core` writes a field's bytes, a block at a time.
    spill: Vec<u8>,
    done: bool,
    /// The bytes and fields of the record before: the next one is made as large at once.
    last_size: (usize, usize),
    /// The fields whose text is kept, by position (the columns read); the others are read and
    /// only looked at for whether they hold anything. `None`: every field up to [`MAX_FIELDS`].
    wanted: Option<Vec<bool>>,
}

/// What is known of a field's part past [`FIELD_CAP`]: its characters and its trailing
/// whitespace, read in blocks that may cut a character.
#[derive(Default)]
struct Rest {
    chars: u64,
    trailing_whitespace: u64,
    partial: Vec<u8>,
}

impl Rest {
    fn add(&mut self, bytes: &[u8]) -> Result<(), ()> {
        self.partial.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.partial) {
            Ok(s) => s.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => return Err(()),
        };
        let text = std::str::from_utf8(&self.partial[..valid]).map_err(|_| ())?;
        for c in text.chars() {
            self.chars += 1;
            if c.is_whitespace() {
                self.trailing_whitespace += 1;
            } else {
                self.trailing_whitespace = 0;
            }
        }
        self.partial.drain(..valid);
        Ok(())
    }
}

impl<R: BufRead> Records<R> {
    fn new(input: R, delimiter: u8) -> Self {
        Records {
            input,
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            line: 1,
            spill: vec![0; 8 * 1024],
            done: false,
            last_size: (64, 8),
            wanted: None,
        }
    }

    /// Passes over the line breaks before a record, counting them, so that the record's line
    /// is where its first byte is.
    fn skip_blank_lines(&mut self) -> std::io::Result<()> {
        loop {
            let buf = self.input.fill_buf()?;
            let blank = buf
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
            if blank == 0 {
                return Ok(());
            }
            self.line += buf[..blank].iter().filter(|b| **b == b'\n').count() as u64;
            self.input.consume(blank);
        }
    }

    fn next_record(&mut self) -> Result<Option<Record>, RecordError> {
        if self.done {
            return Ok(None);
        }
        self.skip_blank_lines().map_err(RecordError::Io)?;
        let line = self.line;
        let mut raw: Vec<u8> = Vec::with_capacity(self.last_size.0);
        let mut fields: Vec<FieldEnd> = Vec::with_capacity(self.last_size.1);
        let mut dropped_content = false;
        // Fields after the last wanted one are not given a place.
        let placed = self.wanted.as_ref().map_or(MAX_FIELDS, Vec::len);
        loop {
            let start = raw.len();
            // What is past the kept part of a field cut at FIELD_CAP.
            let mut rest: Option<Rest> = None;
            let at = fields.len();
            let keep = at < placed
                && self
                    .wanted
                    .as_ref()
                    .is_none_or(|w| w.get(at).copied().unwrap_or(false));
            // A field not kept is only looked at for whether it holds anything.
            let mut dropped = (!keep).then(Rest::default);
            let record_end = loop {
                let input = self.input.fill_buf().map_err(RecordError::Io)?;
                let (result, read, written) = self.core.read_field(input, &mut self.spill);
                let out = &self.spill[..written];
                match (rest.as_mut(), dropped.as_mut()) {
                    // Past the kept part: counted, dropped.
                    (Some(rest), _) | (None, Some(rest)) => {
                        rest.add(out).map_err(|_| RecordError::NotUtf8 { line })?
                    }
                    (None, None) => raw.extend_from_slice(out),
                }
                self.line += input[..read].iter().filter(|b| **b == b'\n').count() as u64;
                self.input.consume(read);
                if keep && rest.is_none() && raw.len() - start > FIELD_CAP {
                    rest = cut_field(&mut raw, start).map_err(|_| RecordError::NotUtf8 { line })?;
                }
                match result {
                    csv_core::ReadFieldResult::InputEmpty
                    | csv_core::ReadFieldResult::OutputFull => continue,
                    csv_core::ReadFieldResult::Field { record_end } => break record_end,
                    // Only ever at the start of a record: the input is used up.
                    csv_core::ReadFieldResult::End => {
                        self.done = true;
                        if fields.is_empty() {
                            return Ok(None);
                        }
                        let text =
                            String::from_utf8(raw).map_err(|_| RecordError::NotUtf8 { line })?;
                        return Ok(Some(Record {
                            line,
                            text,
                            fields,
                            dropped_content,
                        }));
                    }
                }
            };
            if let Some(d) = dropped {
                dropped_content |= d.trailing_whitespace != d.chars;
                if !d.partial.is_empty() {
                    return Err(RecordError::NotUtf8 { line });
                }
                if at < placed {
                    fields.push(FieldEnd {
                        end: raw.len(),
                        cut_length: None,
                    });
                }
            }
            if rest.as_ref().is_some_and(|r| !r.partial.is_empty()) {
                // The field ends inside a character: the file changed since it was checked.
                return Err(RecordError::NotUtf8 { line });
            }
            if keep {
                let cut_length = match rest {
                    None => {
                        trim_field(&mut raw, start).map_err(|_| RecordError::NotUtf8 { line })?;
                        None
                    }
                    Some(rest) if rest.trailing_whitespace == rest.chars => {
                        // Only whitespace past the kept part: the field ends inside it.
                        trim_field(&mut raw, start).map_err(|_| RecordError::NotUtf8 { line })?;
                        None
                    }
                    Some(rest) => {
                        let kept = std::str::from_utf8(&raw[start..])
                            .map_err(|_| RecordError::NotUtf8 { line })?
                            .chars()
                            .count() as u64;
                        Some(kept + rest.chars - rest.trailing_whitespace)
                    }
                };
                fields.push(FieldEnd {
                    end: raw.len(),
                    cut_length,
                });
            }
            if record_end {
                break;
            }
        }
        let text = String::from_utf8(raw).map_err(|_| RecordError::NotUtf8 { line })?;
        // A long record's size is not handed on: rows are kept a page at a time.
        self.last_size = (text.len().min(4096), fields.len().min(64));
        Ok(Some(Record {
            line,
            text,
            fields,
            dropped_content,
        }))
    }
}

/// A field grown past [`FIELD_CAP`] bytes: its leading whitespace is dropped (as trimming
/// would), and if it is still too long it is cut at a character boundary at most
/// [`FIELD_CAP`] bytes in, what follows counted in the returned [`Rest`].
fn cut_field(raw: &mut Vec<u8>, start: usize) -> Result<Option<Rest>, ()> {
    let field = &raw[start..];
    let valid = match std::str::from_utf8(field) {
        Ok(s) => s.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => return Err(()),
    };
    let text = std::str::from_utf8(&field[..valid]).map_err(|_| ())?;
    let lead = text.len() - text.trim_start().len();
    if lead > 0 {
        raw.drain(start..start + lead);
        if raw.len() - start <= FIELD_CAP {
            return Ok(None);
        }
    }
    let field = &raw[start..];
    let end = floor_char_boundary(field, FIELD_CAP);
    let mut rest = Rest::default();
    rest.add(&field[end..])?;
    raw.truncate(start + end);
    Ok(Some(rest))
}

/// The largest index at most `at` that is not inside a UTF-8 character of `bytes`.
fn floor_char_boundary(bytes: &[u8], at: usize) -> usize {
    let mut end = at.min(bytes.len());
    while end > 0 && end < bytes.len() && bytes[end] & 0xc0 == 0x80 {
        end -= 1;
    }
    end
}

/// Trims the field that starts at `start` in place (Unicode whitespace, as `str::trim`).
fn trim_field(raw: &mut Vec<u8>, start: usize) -> Result<(), ()> {
    let text = std::str::from_utf8(&raw[start..]).map_err(|_| ())?;
    let trimmed = text.trim();
    if trimmed.len() == text.len() {
        return Ok(());
    }
    let from = start + (text.len() - text.trim_start().len());
    let len = trimmed.len();
    raw.copy_within(from..from + len, start);
    raw.truncate(start + len);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FILE: &str = "in.csv";
    /// The columns read besides `a`.
    const OTHERS: [&str; 5] = ["b", "c", "d", "e", "f"];

    /// Every data row's (line, fields), read from `bytes` with the columns a, b, c.
    fn rows(bytes: &[u8]) -> Vec<(u64, Vec<String>)> {
        from_bytes(Path::new(FILE), bytes, &["a"], &OTHERS)
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                let fields = r.record.iter().map(str::to_string).collect();
                (r.line, fields)
            })
            .collect()
    }

    /// The first `FIELD_CAP` bytes of a trimmed text, cut back to a character boundary.
    fn kept(text: &str) -> &str {
        let t = text.trim();
        let mut end = t.len().min(FIELD_CAP);
        while !t.is_char_boundary(end) {
            end -= 1;
        }
        &t[..end]
    }

    #[test]
    fn rows_are_numbered_by_the_physical_line_they_start_on() {
        let text = "\u{feff}a,b,c\r\n\r\n\r\nx1, y ,z\r\n\n\"x\n2\",\"y\"\"\",z\n,,\n  \n\nx3\n";
        assert_eq!(
            rows(text.as_bytes()),
            vec![
                (4, vec!["x1".into(), "y".into(), "z".into()]),
                (6, vec!["x\n2".into(), "y\"".into(), "z".into()]),
                (11, vec!["x3".into()]),
            ]
        );
    }

    #[test]
    fn the_last_line_is_counted_before_any_row_is_read() {
        let last = |text: &str| {
            from_bytes(Path::new(FILE), text.as_bytes(), &["a"], &[])
                .unwrap()
                .last_line()
        };
        // The line after a final line break counts: no row starts there.
        assert_eq!(last("a\nx\n"), 3);
        assert_eq!(last("a\nx"), 2);
        assert_eq!(last("a\r\n\r\nx\r\n\"y\nz\"\n"), 6);
        // Past the first block the check reads.
        let many = format!("a\n{}", "x\n".repeat(100_000));
        assert_eq!(last(&many), 100_002);
    }

    #[test]
    fn a_field_longer_than_the_cap_is_kept_in_part_and_counted_whole() {
        // The cap falls inside a two-byte character.
        let wide = format!("x{}", "Å".repeat(FIELD_CAP));
        let spaced_before = format!("{}abc", " ".repeat(3 * FIELD_CAP));
        let spaced_after = format!("abc{}", " ".repeat(3 * FIELD_CAP));
        let lines = format!("\"{}\"", "\n".repeat(2 * FIELD_CAP));
        let text = format!("a,b,c\n{wide},{spaced_before},{spaced_after}\n{lines},q\nlast\n");
        let read: Vec<CsvRow> = from_bytes(Path::new(FILE), text.as_bytes(), &["a"], &OTHERS)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(read.len(), 3);
        let first = &read[0];
        assert_eq!(first.line, 2);
        assert_eq!(first.get("a"), kept(&wide));
        assert!(first.get("a").len() <= FIELD_CAP && first.get("a").len() > FIELD_CAP - 2);
        assert_eq!(first.length("a"), FIELD_CAP as u64 + 1);
        assert_eq!((first.get("b"), first.length("b")), ("abc", 3));
        assert_eq!((first.get("c"), first.length("c")), ("abc", 3));
        // A field of nothing but line breaks is empty once trimmed; the row is not blank.
        assert_eq!(
            (read[1].line, read[1].get("a"), read[1].get("b")),
            (3, "", "q")
        );
        assert_eq!(
            (read[2].line, read[2].get("a")),
            (2 * FIELD_CAP as u64 + 4, "last")
        );
    }

    #[test]
    fn columns_not_read_are_dropped_but_not_taken_for_blank() {
        let unused = "u".repeat(3 * FIELD_CAP);
        let text = format!("a,x,b,y\n1,{unused},2,{unused}\n,\u{a0}z, ,\n, \t,,\u{a0}\n3,,4\n");
        let read: Vec<CsvRow> = from_bytes(Path::new(FILE), text.as_bytes(), &["a"], &["b"])
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let got: Vec<(u64, &str, &str, &str)> = read
            .iter()
            .map(|r| (r.line, r.get("a"), r.get("b"), r.get("x")))
            .collect();
        // Line 3 holds only a column not read: not blank. Line 4 is whitespace only: blank.
        assert_eq!(
            got,
            vec![(2, "1", "2", ""), (3, "", "", ""), (5, "3", "4", "")]
        );
        // Nothing of the columns not read is kept, and nothing after the last one read.
        assert_eq!(read[0].record.text, "12");
        assert_eq!(read[0].record.len(), 3);
    }

    #[test]
    fn a_header_wider_than_the_limit_is_read() {
        let names: Vec<String> = (0..MAX_FIELDS + 10).map(|i| format!("c{i}")).collect();
        let values: Vec<String> = (0..MAX_FIELDS + 10).map(|i| format!("v{i}")).collect();
        let text = format!("{}\n{}\nnext\n", names.join(","), values.join(","));
        let read: Vec<CsvRow> = from_bytes(Path::new(FILE), text.as_bytes(), &["c0"], &["c7"])
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            (read[0].line, read[0].get("c0"), read[0].get("c7")),
            (2, "v0", "v7")
        );
        assert_eq!((read[1].line, read[1].get("c0")), (3, "next"));
        // A column past the header's limit is not known.
        assert!(from_bytes(Path::new(FILE), text.as_bytes(), &["c1030"], &[]).is_err());
    }

    #[test]
    fn a_file_that_changed_to_bytes_that_are_not_utf8_is_a_row_error() {
        // Checked as text first; a row read later that is not is malformed, with its line.
        let mut rows = from_bytes(Path::new(FILE), b"a,b\nok,1\n", &["a"], &OTHERS).unwrap();
        rows.records = Records::new(&b"ok,1\n\xff\xfe,2\n"[..], b',');
        assert!(rows.next().unwrap().is_ok());
        let e = rows.next().unwrap().unwrap_err();
        assert_eq!((e.line, e.code.as_str()), (Some(2), "malformed_row"));
        // A long field whose last character is cut.
        let mut long = b"ok,1\n".to_vec();
        long.extend(std::iter::repeat_n(b'x', 2 * FIELD_CAP));
        long.extend(b"\xc3\n");
        let mut records = Records::new(&long[..], b',');
        assert!(records.next_record().unwrap().is_some());
        assert!(matches!(
            records.next_record(),
            Err(RecordError::NotUtf8 { line: 2 })
        ));
    }

    #[test]
    fn an_invalid_byte_is_placed_on_its_line_and_character() {
        let mut text = b"a,b\nx,y\n".to_vec();
        // Past a block of the check's reads, after two-byte characters.
        text.extend("Å".repeat(40_000).as_bytes());
        text.extend(b"\xff\n");
        match from_bytes(Path::new(FILE), &text, &["a"], &OTHERS) {
            Err(FileError::NotUtf8 { line, column, .. }) => assert_eq!((line, column), (3, 40_001)),
            other => panic!("{:?}", other.map(|_| ())),
        }
        // A character cut by the end of the file.
        match from_bytes(Path::new(FILE), b"a,b\nx,\xc3", &["a"], &OTHERS) {
            Err(FileError::NotUtf8 { line, column, .. }) => assert_eq!((line, column), (2, 3)),
            other => panic!("{:?}", other.map(|_| ())),
        }
    }

    fn field() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => "[a-cÅ ,\"\n\r\t\u{a0}]{0,12}",
            1 => ("[aÅ ]{1,3}", 0..3 * FIELD_CAP).prop_map(|(unit, n)| unit.repeat(n / unit.len().max(1))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Rows written by the csv crate, with blank lines and CRLF between them, read back
        /// field by field (trimmed, kept up to the cap, counted whole) on the lines they start on.
        #[test]
        fn rows_read_back_as_written(
            table in prop::collection::vec(
                (prop::collection::vec(field(), 1..5), 0usize..3, any::<bool>()),
                1..12,
            )
        ) {
            let mut text = String::from("a,b,c,d,e,f\n");
            let mut expected = Vec::new();
            for (i, (fields, blank_lines, crlf)) in table.iter().enumerate() {
                let end = if *crlf { "\r\n" } else { "\n" };
                for _ in 0..*blank_lines {
                    text.push_str(end);
                }
                let line = 1 + text.matches('\n').count() as u64;
                // The first field says which row it is: never a blank row.
                let mut row = vec![format!("r{i}")];
                row.extend(fields.iter().cloned());
                let mut w = csv::WriterBuilder::new()
                    .terminator(if *crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
                    .from_writer(Vec::new());
                w.write_record(&row).unwrap();
                text.push_str(&String::from_utf8(w.into_inner().unwrap()).unwrap());
                expected.push((line, row));
            }
            let read: Vec<CsvRow> = from_bytes(Path::new(FILE), text.as_bytes(), &["a"], &OTHERS)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            prop_assert_eq!(read.len(), expected.len());
            for (got, (line, row)) in read.iter().zip(&expected) {
                prop_assert_eq!(got.line, *line);
                prop_assert_eq!(got.record.len(), row.len());
                for (i, f) in row.iter().enumerate() {
                    prop_assert_eq!(got.record.get(i).unwrap(), kept(f));
                    prop_assert_eq!(got.record.length(i), f.trim().chars().count() as u64);
                }
            }
        }
    }
}
