//! The `pinbrev` binary: parse the command line, set up logging, run, map the outcome to an exit
//! code (0 done, 1 failed, 2 usage, 3 input file unusable, 4 locked).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use pinbrev::cli::{self, Cli, Exit, LogFormat};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::EnvFilter;

// Rendering and validation allocate many small, short-lived buffers per letter and per order;
// mimalloc serves them from per-thread pages, measurably faster than the system allocator here.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of stdout goes away (`| head`).
    // SAFETY: setting a signal's disposition to the default before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return Exit::Failed.into();
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("error: {}", pinbrev::national_id::redact(&format!("{e:#}")));
            Exit::Failed.into()
        }
    }
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
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
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
