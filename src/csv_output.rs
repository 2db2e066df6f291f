//! CSV that pinbrev writes (`orders list`, `report`, the drop's `manifest.csv` and
//! `postcodes.csv`), safe to open in a spreadsheet: a cell that a spreadsheet would read as a
//! formula — one starting with `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP's
//! CSV-injection rule) — gets a leading `'`, which spreadsheets show as text. The columns stay
//! as the contract names them; only such a cell's text changes.

use std::borrow::Cow;
use std::io::Write;

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as written: neutralised when it would start a formula.
pub fn safe_cell(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_START) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A CSV writer whose every cell goes through [`safe_cell`].
pub struct SafeWriter<W: Write> {
    inner: csv::Writer<W>,
}

impl<W: Write> SafeWriter<W> {
    /// A writer over `out`, `,`-separated, quoting as needed.
    pub fn new(out: W) -> Self {
        SafeWriter {
            inner: csv::Writer::from_writer(out),
        }
    }

    /// Writes one row.
    pub fn write_row<I, S>(&mut self, cells: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.inner.write_record(
            cells
                .into_iter()
                .map(|c| safe_cell(c.as_ref()).into_owned()),
        )
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(self) -> std::io::Result<W> {
        self.inner.into_inner().map_err(|e| e.into_error())
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn written(cells: &[&str]) -> String {
        let mut w = SafeWriter::new(Vec::new());
        w.write_row(cells).unwrap();
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn formulas_become_text() {
        assert_eq!(
            written(&[r#"=HYPERLINK("http://evil.example/","Se her")"#, "ok", "-1", "@SUM(A1)", "+47", "\tx", "\ry", ""]),
            "\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"Se her\"\")\",ok,'-1,'@SUM(A1),'+47,'\tx,\"'\ry\",\n"
        );
        assert_eq!(
            written(&["B20261124-001", "0150", "NO"]),
            "B20261124-001,0150,NO\n"
        );
    }

    proptest! {
        #[test]
        fn no_cell_starts_a_formula(cells in proptest::collection::vec("\\PC{0,12}|[=+@\t\r-].{0,8}", 1..6)) {
            let text = {
                let mut w = SafeWriter::new(Vec::new());
                w.write_row(&cells).unwrap();
                w.into_inner().unwrap()
            };
            let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_slice());
            let row = r.records().next().unwrap().unwrap();
            prop_assert_eq!(row.len(), cells.len());
            for (cell, original) in row.iter().zip(&cells) {
                prop_assert!(!cell.starts_with(FORMULA_START), "{cell:?}");
                let quoted = format!("'{original}");
                prop_assert!(cell == original || cell == quoted);
            }
        }
    }
}
