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

/// Prints rows as an aligned table with a header line.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    writeln!(out, "{}", line(headers.to_vec()))?;
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
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
