//! The `pinbrev` binary: parse the command line, set up logging, run, map the outcome to an exit
//! code (0 done, 1 failed, 2 usage, 3 input file unusable, 4 locked).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use pinbrev::cli::{self, Cli, Exit, LogFormat};
use pinbrev::diagnostics;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of stdout goes away (`| head`).
    // SAFETY: setting a signal's disposition to the default before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            diagnostics::error(&format!("cannot start: {e}"));
            return Exit::Failed.into();
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(exit) => exit.into(),
        Err(e) => {
            diagnostics::error(&diagnostics::chain_text(e.chain()));
            Exit::Failed.into()
        }
    }
}

/// A command line clap cannot parse (exit 2), or `--help`/`--version` (exit 0, on stdout). With
/// `--log-format json` on the line, the error is one JSON line like every other on stderr.
fn usage_error(e: clap::Error) -> ExitCode {
    let json = {
        let args: Vec<String> = std::env::args().collect();
        args.iter().any(|a| a == "--log-format=json")
            || args
                .windows(2)
                .any(|w| w[0] == "--log-format" && w[1] == "json")
    };
    if !e.use_stderr() || !json {
        e.exit();
    }
    diagnostics::set_json(true);
    let message = e.render().to_string();
    let message = message
        .trim_end()
        .strip_prefix("error: ")
        .unwrap_or(message.trim_end());
    diagnostics::error_with(
        message,
        &diagnostics::Fields {
            code: Some("usage".into()),
            ..Default::default()
        },
    );
    ExitCode::from(2)
}

fn init_logging(cli: &Cli) {
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("pinbrev={default},warn")));
    // At -vv each step's span reports, when it closes, how long it was busy and how long it waited.
    let spans = if cli.verbose >= 2 {
        FmtSpan::CLOSE
    } else {
        FmtSpan::NONE
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(spans)
        .with_writer(std::io::stderr);
    diagnostics::set_json(cli.log_format == LogFormat::Json);
    match cli.log_format {
        // Fields beside the message at the top of each object, as the lines of
        // `diagnostics` have them.
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder
            .with_timer(OsloTime)
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .init(),
    }
}

/// Text log lines carry the time in Oslo, as the operators read every other time.
struct OsloTime;

impl tracing_subscriber::fmt::time::FormatTime for OsloTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        write!(w, "{}", pinbrev::local_time::seconds(chrono::Utc::now()))
    }
}
