//! A problem with one row or line of an input file: where it is and what is wrong. These never
//! stop the rest of the file; they are reported and kept in the database for the helpdesk.

use std::fmt;

use serde::Serialize;

/// One row or line error, naming file, line and field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputError {
    pub file: String,
    /// Physical line number (the header is line 1), when the problem has one.
    pub line: Option<u64>,
    pub field: Option<String>,
    pub code: String,
    pub message: String,
}

impl InputError {
    /// A row error at `line`, naming the field when there is one.
    pub fn row(
        file: &str,
        line: u64,
        field: Option<&str>,
        code: &str,
        message: String,
    ) -> InputError {
        InputError {
            file: file.to_string(),
            line: Some(line),
            field: field.map(str::to_string),
            code: code.to_string(),
            message,
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(
            f,
            ": {} ({})",
            crate::national_id::redact(&self.message),
            self.code
        )
    }
}
