//! What pinbrev says on stderr outside its log: row and line errors of input files, a command's
//! final `error:`, the night's summary for a person. As text lines by default; with
//! `--log-format json` as one JSON object per line, shaped like the log's own lines
//! (`timestamp`, `level`, `message`, `target`) with `file`, `line`, `field`, `code` and
//! `order_id` as fields of their own, so that every line on stderr is JSON.
//!
//! Every text is passed through [`national_id::redact`]: no full national id reaches stderr.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{json, Map, Value};

use crate::input_error::InputError;
use crate::national_id;

static JSON: AtomicBool = AtomicBool::new(false);

/// Chooses JSON lines (`--log-format json`) or text for the rest of the process.
pub fn set_json(json: bool) {
    JSON.store(json, Ordering::Relaxed);
}

/// True when stderr carries JSON lines.
pub fn is_json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// The level of a line, as the log names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warn,
    Info,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
        }
    }
}

/// A line's fields besides its message.
#[derive(Debug, Default, Clone)]
pub struct Fields {
    pub file: Option<String>,
    pub line: Option<u64>,
    pub field: Option<String>,
    pub code: Option<String>,
    pub order_id: Option<String>,
    /// Anything else, as JSON values (the night's summary).
    pub other: Vec<(&'static str, Value)>,
}

impl Fields {
    /// About a file.
    pub fn file(path: &std::path::Path) -> Fields {
        Fields {
            file: Some(path.display().to_string()),
            ..Fields::default()
        }
    }

    /// About an order.
    pub fn order(order_id: &str) -> Fields {
        Fields {
            order_id: Some(order_id.to_string()),
            ..Fields::default()
        }
    }
}

impl From<&InputError> for Fields {
    fn from(e: &InputError) -> Fields {
        Fields {
            file: Some(e.file.clone()),
            line: e.line,
            field: e.field.as_deref().map(str::to_string),
            code: Some(e.code.clone()),
            order_id: e.order_id.as_deref().map(str::to_string),
            other: Vec::new(),
        }
    }
}

/// The JSON object of a line.
fn json_line(level: Level, message: &str, fields: &Fields) -> Value {
    let mut line = Map::new();
    line.insert(
        "timestamp".into(),
        json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
    );
    line.insert("level".into(), json!(level.name()));
    line.insert("message".into(), json!(national_id::redact(message)));
    let text = |v: &Option<String>| v.as_deref().map(|s| json!(national_id::redact(s)));
    for (key, value) in [
        ("file", text(&fields.file)),
        ("line", fields.line.map(|l| json!(l))),
        ("field", text(&fields.field)),
        ("code", text(&fields.code)),
        ("order_id", text(&fields.order_id)),
    ] {
        if let Some(value) = value {
            line.insert(key.into(), value);
        }
    }
    for (key, value) in &fields.other {
        line.insert((*key).into(), value.clone());
    }
    line.insert("target".into(), json!("pinbrev"));
    Value::Object(line)
}

/// Writes one line: `text` as it is, or with JSON on, the message and fields as an object.
pub fn emit(level: Level, text: &str, message: &str, fields: &Fields) {
    let line = if is_json() {
        json_line(level, message, fields).to_string()
    } else {
        national_id::redact(text)
    };
    // stderr gone (a closed pipe): nothing more can be said anywhere.
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// A row or line error of an input file (`kind`: "row error", "line error").
pub fn input_error(kind: &str, e: &InputError) {
    let text = format!("{kind}: {e}");
    emit(Level::Warn, &text, &text, &Fields::from(e));
}

/// An error and its causes in one line, each cause after `: ` unless the text before already
/// says it: an error that shows its cause in its own message (`cannot read FILE: {source}`) has
/// it printed once, not once for the message and once more as a cause.
pub fn chain_text<'a>(
    chain: impl IntoIterator<Item = &'a (dyn std::error::Error + 'static)>,
) -> String {
    let mut text = String::new();
    for cause in chain {
        let said = cause.to_string();
        if text.is_empty() {
            text = said;
        } else if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
    }
    text
}

/// A command's error: `error: MESSAGE`.
pub fn error(message: &str) {
    error_with(message, &Fields::default());
}

/// A command's error about something the fields name (an order, a file).
pub fn error_with(message: &str, fields: &Fields) {
    let text = format!("error: {message}");
    emit(Level::Error, &text, &text, fields);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot keep it under /tmp/x: {source}")]
    struct Says {
        source: std::io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("sorting the rows: {0}")]
    struct Wraps(#[from] Says);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open the database")]
    struct Quiet(#[source] std::io::Error);

    #[test]
    fn each_cause_is_said_once() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let e = anyhow::Error::new(Wraps(Says { source: io() }));
        assert_eq!(
            chain_text(e.chain()),
            "sorting the rows: cannot keep it under /tmp/x: No such file"
        );
        // A cause the message does not show is added after it.
        let e = anyhow::Error::new(Quiet(io())).context("opening pinbrev.db");
        assert_eq!(
            chain_text(e.chain()),
            "opening pinbrev.db: cannot open the database: No such file"
        );
    }

    #[test]
    fn a_row_error_as_json_has_its_place_as_fields() {
        let e = InputError::row(
            "orders.csv",
            7,
            Some("national_id"),
            "invalid_national_id",
            "not a valid number".into(),
        )
        .with_order("WEB-1");
        let v = json_line(Level::Warn, "row error: x", &Fields::from(&e));
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["file"], "orders.csv");
        assert_eq!(v["line"], 7);
        assert_eq!(v["field"], "national_id");
        assert_eq!(v["code"], "invalid_national_id");
        assert_eq!(v["order_id"], "WEB-1");
        assert_eq!(v["message"], "row error: x");
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn no_full_national_id_gets_through() {
        let fields = Fields {
            order_id: Some("01017012345".into()),
            ..Fields::default()
        };
        let v = json_line(Level::Error, "error: 01017012345 failed", &fields).to_string();
        assert!(!v.contains("01017012345"), "{v}");
        let e = InputError::row("f.csv", 2, None, "c", "m".into()).with_order("not an id!");
        assert_eq!(e.order_id, None);
    }
}
