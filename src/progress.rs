//! Progress bars for long steps, drawn on stderr only when it is a terminal and info logging is
//! on (not with `-q`, not with JSON log lines, not under cron or in a pipe).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` units labelled `what`; hidden when nobody is watching.
pub fn bar(len: u64, what: &str, unit: Unit) -> ProgressBar {
    if !std::io::stderr().is_terminal()
        || !tracing::enabled!(tracing::Level::INFO)
        || crate::diagnostics::is_json()
    {
        return ProgressBar::hidden();
    }
    let template = match unit {
        Unit::Bytes => "{msg:>10} [{bar:40}] {bytes}/{total_bytes} ({eta})",
        Unit::Items => "{msg:>10} [{bar:40}] {pos}/{len} ({eta})",
    };
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// What a bar counts.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    Bytes,
    Items,
}
