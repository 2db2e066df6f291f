//! Output formats shared by the listing commands: aligned tables, JSON and CSV on stdout.

use std::io::Write;

use clap::ValueEnum;
use serde::Serialize;

/// `--format` of listing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
    Csv,
}

/// `--format` of single-item commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ItemFormat {
    Text,
    Json,
}

/// Writes rows as an aligned table with a header line, laid out as [`fitted_table`] lays out a
/// table for a pipe: each column as wide as its widest cell (a cell's lines one under another),
/// two spaces between columns, no spaces at the ends of lines. `rows` is called twice, for the
/// widths and then for the lines, so that a table of a million rows is never held whole (as
/// comfy-table holds it, at about 2.5 KB a row).
pub fn stream_table<I>(
    out: &mut dyn Write,
    headers: &[&str],
    rows: impl Fn() -> I,
) -> std::io::Result<()>
where
    I: Iterator<Item = Vec<String>>,
{
    let mut layout = TableLayout::new(headers);
    for row in rows() {
        layout.fit(&row);
    }
    layout.write_row(out, headers)?;
    for row in rows() {
        layout.write_row(out, &row)?;
    }
    Ok(())
}

/// The columns' widths of an aligned table written a row at a time ([`stream_table`]): every
/// row is fitted first, then the header and the rows are written.
#[derive(Debug)]
pub struct TableLayout {
    widths: Vec<usize>,
    line: String,
}

impl TableLayout {
    /// A table whose columns are at least as wide as their headers.
    pub fn new(headers: &[&str]) -> TableLayout {
        TableLayout {
            widths: headers.iter().map(|h| cell_width(h)).collect(),
            line: String::new(),
        }
    }

    /// Widens the columns to hold `row`.
    pub fn fit<S: AsRef<str>>(&mut self, row: &[S]) {
        for (width, cell) in self.widths.iter_mut().zip(row) {
            *width = (*width).max(cell_width(cell.as_ref()));
        }
    }

    /// Writes one row (or the header): as many lines as its tallest cell has.
    pub fn write_row<S: AsRef<str>>(
        &mut self,
        out: &mut dyn Write,
        cells: &[S],
    ) -> std::io::Result<()> {
        use unicode_width::UnicodeWidthStr;
        let height = cells
            .iter()
            .map(|c| c.as_ref().split('\n').count())
            .max()
            .unwrap_or(1);
        let last = self.widths.len().saturating_sub(1);
        for n in 0..height {
            self.line.clear();
            for (i, (cell, width)) in cells.iter().zip(&self.widths).enumerate() {
                let text = cell.as_ref().split('\n').nth(n).unwrap_or("");
                self.line.push_str(text);
                let gap = if i == last { 0 } else { 2 };
                let pad = width.saturating_sub(text.width()) + gap;
                self.line.extend(std::iter::repeat_n(' ', pad));
            }
            out.write_all(self.line.trim_end().as_bytes())?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// The columns a cell takes on a terminal: its widest line's.
fn cell_width(cell: &str) -> usize {
    use unicode_width::UnicodeWidthStr;
    cell.split('\n')
        .map(UnicodeWidthStr::width)
        .max()
        .unwrap_or(0)
}

/// How a table may be fitted to a narrow terminal.
#[derive(Debug, Default)]
pub struct Fit<'a> {
    /// Columns left out below 100 columns.
    pub droppable: &'a [&'a str],
    /// Columns whose cells may wrap (every other column keeps its cells whole, as ids must).
    pub wrappable: &'a [&'a str],
}

/// Below this width, the columns a listing names as droppable are left out.
const NARROW: u16 = 100;

/// The width to fit tables to: `COLUMNS` if set, else the terminal's; none (full width) when
/// stdout is not a terminal.
pub fn terminal_width() -> Option<u16> {
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|c| *c > 0)
    {
        return Some(c);
    }
    let probe = comfy_table::Table::new();
    if probe.is_tty() {
        // A pseudo-terminal nobody sized says 0: no width to fit to.
        probe.width().filter(|w| *w > 0)
    } else {
        None
    }
}

/// Rows as an aligned table with a header line, fitted to the terminal: below 100 columns the
/// droppable columns are left out, and wrappable cells wrap to fit. Piped (and without
/// `COLUMNS`), every column at full width, one line per row.
pub fn fitted_table(headers: &[&str], rows: &[Vec<String>], fit: &Fit<'_>) -> String {
    fitted_table_in(headers, rows, fit, terminal_width())
}

/// [`fitted_table`] for a terminal `width` columns wide, or a pipe (`None`).
fn fitted_table_in(
    headers: &[&str],
    rows: &[Vec<String>],
    fit: &Fit<'_>,
    width: Option<u16>,
) -> String {
    use comfy_table::{presets::NOTHING, ColumnConstraint, ContentArrangement, Table};
    let mut t = Table::new();
    t.load_preset(NOTHING);
    t.set_header(headers.to_vec());
    for row in rows {
        t.add_row(row.clone());
    }
    match width {
        Some(w) => {
            t.set_width(w)
                .set_content_arrangement(ContentArrangement::Dynamic);
        }
        None => {
            t.force_no_tty()
                .set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    let last = headers.len().saturating_sub(1);
    for (i, column) in t.column_iter_mut().enumerate() {
        // Two spaces between columns, none at the edges: the look of `ls -l` and `ps`.
        column.set_padding((0, if i == last { 0 } else { 2 }));
        if width.is_some_and(|w| w < NARROW) && fit.droppable.contains(&headers[i]) {
            column.set_constraint(ColumnConstraint::Hidden);
        } else if !fit.wrappable.contains(&headers[i]) {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    let mut text = String::new();
    for line in t.lines() {
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// Long output on a terminal through `$PAGER` (default `less -FRX`, which quits at once when
/// the text fits the screen); `PAGER=cat` turns it off.
pub mod pager {
    use std::io::{BufWriter, IsTerminal, Write};
    use std::process::{Child, Command, Stdio};

    /// Where long output goes: the pager's input when stdout is a terminal and the pager
    /// starts, else stdout; buffered either way. A pager quit before the end (q in less) ends
    /// pinbrev by SIGPIPE at its next write, as `| head` does (`main` restores the signal's
    /// default).
    pub struct Pager {
        child: Option<Child>,
        out: BufWriter<Box<dyn Write>>,
    }

    /// Opens the pager, or stdout.
    pub fn open() -> Pager {
        let plain = || Pager {
            child: None,
            out: BufWriter::new(Box::new(std::io::stdout())),
        };
        if !std::io::stdout().is_terminal() {
            return plain();
        }
        let pager = std::env::var("PAGER")
            .ok()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "less -FRX".to_string());
        let child = Command::new("sh")
            .args(["-c", &pager])
            .stdin(Stdio::piped())
            .spawn();
        match child {
            Ok(mut child) => match child.stdin.take() {
                Some(stdin) => Pager {
                    child: Some(child),
                    out: BufWriter::new(Box::new(stdin)),
                },
                None => plain(),
            },
            Err(_) => plain(),
        }
    }

    impl Pager {
        /// Writes out what is buffered, then waits for the pager to quit.
        pub fn finish(mut self) -> std::io::Result<()> {
            self.out.flush()?;
            // Closing its input tells the pager the text is complete.
            drop(self.out);
            if let Some(mut child) = self.child.take() {
                child.wait()?;
            }
            Ok(())
        }
    }

    impl Write for Pager {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.out.write(buf)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            self.out.flush()
        }
    }
}

/// Prints one JSON document.
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn streamed(headers: &[&str], rows: &[Vec<String>]) -> String {
        let mut out = Vec::new();
        stream_table(&mut out, headers, || rows.iter().cloned()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_streamed_table_aligns_wide_letters_and_lines_of_a_cell() {
        let rows = vec![
            vec!["WEB-1".to_string(), "Å東x".into(), "1".into()],
            vec!["W".into(), "two\nlines".into(), "".into()],
        ];
        assert_eq!(
            streamed(&["id", "name", "n"], &rows),
            "id     name   n\nWEB-1  Å東x   1\nW      two\n       lines\n"
        );
    }

    proptest! {
        /// The same text as comfy-table makes of the same rows for a pipe.
        #[test]
        fn a_streamed_table_is_the_table_comfy_table_makes_for_a_pipe(
            columns in 1usize..5,
            cells in proptest::collection::vec("[a-zÅø東 \\n-]{0,7}", 0..30),
        ) {
            let headers: Vec<String> = (0..columns).map(|i| format!("h{i}")).collect();
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            let rows: Vec<Vec<String>> = cells.chunks(columns).map(|c| {
                let mut row = c.to_vec();
                row.resize(columns, String::new());
                row
            }).collect();
            prop_assert_eq!(
                streamed(&headers, &rows),
                fitted_table_in(&headers, &rows, &Fit::default(), None)
            );
        }
    }
}
