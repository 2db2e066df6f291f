//! A problem with one row or line of an input file: where it is and what is wrong. These never
//! stop the rest of the file; they are reported and kept in the database for the helpdesk.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::free_text;

/// One row or line error, naming file, line and field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputError {
    pub file: String,
    /// Physical line number (the header is line 1), when the problem has one.
    pub line: Option<u64>,
    /// (This and `order_id` are boxed: a row error is returned by value from every row's
    /// parse, and this keeps it small.)
    pub field: Option<Box<str>>,
    pub code: String,
    pub message: String,
    /// The order the row is about, when the row names one that is well-formed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Box<str>>,
}

impl InputError {
    /// An error of a file's line (or of the whole file, without a line). The message quotes
    /// input at most as a short excerpt: it is cleaned ([`free_text::clean`]) here, before it
    /// is shown or stored.
    pub fn new(
        file: &str,
        line: Option<u64>,
        field: Option<&str>,
        code: &str,
        message: &str,
    ) -> InputError {
        InputError {
            file: file.to_string(),
            line,
            field: field.map(|f| free_text::clean_to(f, free_text::MAX_QUOTED).into()),
            code: code.to_string(),
            message: free_text::clean(message),
            order_id: None,
        }
    }

    /// The error, about this order (ignored unless `order_id` is a well-formed order id).
    pub fn with_order(mut self, order_id: &str) -> InputError {
        if crate::order::OrderId::parse(order_id).is_ok() {
            self.order_id = Some(order_id.into());
        }
        self
    }

    /// A row error at `line`, naming the field when there is one.
    pub fn row(
        file: &str,
        line: u64,
        field: Option<&str>,
        code: &str,
        message: String,
    ) -> InputError {
        InputError::new(file, Some(line), field, code, &message)
    }
}

impl InputError {
    /// The error without its file: `line N: field: message (code)`.
    pub fn in_file(&self) -> String {
        let mut out = String::new();
        if let Some(line) = self.line {
            out.push_str(&format!("line {line}: "));
        }
        if let Some(field) = &self.field {
            out.push_str(&format!("{field}: "));
        }
        out.push_str(&format!("{} ({})", self.message, self.code));
        out
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
        write!(f, ": {} ({})", self.message, self.code)
    }
}
