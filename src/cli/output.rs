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

/// Prints rows as an aligned table with a header line (see [`fitted_table`]), without a pager:
/// for tables that are one part of a longer text.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    std::io::stdout()
        .lock()
        .write_all(fitted_table(headers, rows, &Fit::default()).as_bytes())
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
fn terminal_width() -> Option<u16> {
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
    use comfy_table::{presets::NOTHING, ColumnConstraint, ContentArrangement, Table};
    let mut t = Table::new();
    t.load_preset(NOTHING);
    t.set_header(headers.to_vec());
    for row in rows {
        t.add_row(row.clone());
    }
    let width = terminal_width();
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
    use std::io::{IsTerminal, Write};
    use std::process::{Command, Stdio};

    /// Writes `text` to stdout, through the pager when stdout is a terminal.
    pub fn show(text: &str) -> std::io::Result<()> {
        let stdout = std::io::stdout();
        if !stdout.is_terminal() {
            return stdout.lock().write_all(text.as_bytes());
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
            Ok(mut child) => {
                if let Some(mut stdin) = child.stdin.take() {
                    // A pager quit early (q in less) closes the pipe: not an error.
                    match stdin.write_all(text.as_bytes()) {
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                        other => other?,
                    }
                }
                child.wait()?;
                Ok(())
            }
            Err(_) => stdout.lock().write_all(text.as_bytes()),
        }
    }
}

/// Prints rows as CSV with a header line, every cell safe to open in a spreadsheet.
pub fn csv(headers: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let mut w = crate::csv_output::SafeWriter::new(std::io::stdout().lock());
    w.write_row(headers)?;
    for row in rows {
        w.write_row(row)?;
    }
    w.flush()?;
    Ok(())
}

/// Prints one JSON document.
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}
