//! The command line: the clap tree of the contract and the dispatch to each command's module.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::db::Db;
use crate::settings::Settings;

mod batch;
mod config;
mod id;
mod letter;
mod nightly;
mod orders;
mod output;
mod pin;
mod postcodes;
mod purge;
mod receipts;
mod register;
mod report;
mod status;
mod worker;

/// How a command ended, as the process exit code of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done (row-level rejections are normal business).
    Done = 0,
    /// Something failed.
    Failed = 1,
    /// An input file was unusable as a whole (the others were processed).
    InputUnusable = 3,
    /// Another run holds the lock.
    Locked = 4,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// pinbrev: MinID PIN-code letters, from orders to the print vendor's drop.
#[derive(Debug, Parser)]
#[command(
    name = "pinbrev",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("PINBREV_COMMIT"), ")"),
    about,
    max_term_width = 100
)]
pub struct Cli {
    /// Database URL.
    #[arg(
        long,
        global = true,
        env = "PINBREV_DB",
        default_value = "sqlite://pinbrev.db"
    )]
    pub db: String,
    /// Settings file (default: pinbrev.toml in the working directory, if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Folkeregister extracts.
    #[command(subcommand)]
    Register(register::RegisterCommand),
    /// The postal-code list.
    #[command(subcommand)]
    Postcodes(postcodes::PostcodesCommand),
    /// Orders: ingest, validate, list, cancel, reissue.
    #[command(subcommand)]
    Orders(orders::OrdersCommand),
    /// Batches: PIN codes, letters and the vendor drop.
    #[command(subcommand)]
    Batch(batch::BatchCommand),
    /// The print vendor's receipts.
    #[command(subcommand)]
    Receipts(receipts::ReceiptsCommand),
    /// One order's life, by order id or by national id.
    Status(status::StatusArgs),
    /// Counts by status and reason, SLA breaches, orders waiting for a person, vendor batches:
    /// as text, JSON, CSV, or an HTML page with charts.
    Report(report::ReportArgs),
    /// PIN codes.
    #[command(subcommand)]
    Pin(pin::PinCommand),
    /// Identity numbers.
    #[command(subcommand)]
    Id(id::IdCommand),
    /// The letter: a proof for the vendor's approval.
    #[command(subcommand)]
    Letter(letter::LetterCommand),
    /// Delete letter PDFs no longer needed and personal data past retention.
    Purge(purge::PurgeArgs),
    /// The whole night's run, under a lock: register, orders, validate, batch, receipts, purge.
    Nightly(nightly::NightlyArgs),
    /// (PostgreSQL) Render parts of the night's batch, claimed under a lease, beside the
    /// nightly run: on this machine or another sharing the outbox.
    Worker(worker::WorkerArgs),
    /// Settings.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// A consistent copy of the database into a new file (never copy the live file).
    #[command(
        after_help = "Examples:\n  pinbrev backup /var/backups/pinbrev-2026-11-24.db\n  pinbrev --db postgres://pinbrev@db/pinbrev backup pinbrev.dump"
    )]
    Backup {
        /// The backup file to create; it must not exist.
        file: PathBuf,
    },
    /// Shell completions on stdout (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  pinbrev completions bash > /etc/bash_completion.d/pinbrev\n  pinbrev completions zsh > ~/.zfunc/_pinbrev"
    )]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// The man page (roff) on stdout, or with --dir one page per command written there.
    #[command(
        after_help = "Examples:\n  pinbrev man | man -l -\n  pinbrev man --dir /usr/local/share/man/man1"
    )]
    Man {
        /// Write pinbrev.1 and a page per subcommand (pinbrev-batch-create.1 …) into DIR.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// A parser for one of the contract's codes (a status, a reason, a language): parses the code
/// into its type and offers every code to `--help`, the man pages and shell completions.
pub(crate) fn code_values<T>(
    all: &'static [T],
    code: fn(T) -> &'static str,
) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: Copy + std::str::FromStr<Err = String> + Send + Sync + 'static,
{
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(all.iter().map(|v| code(*v)))
        .try_map(|s| s.parse::<T>())
}

/// Who is running an operator command, for the event log.
pub fn operator() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("operator:{user}")
}

/// Everything a command may need.
pub struct Context {
    pub db_url: String,
    pub settings: Settings,
    /// Where the settings came from, for `config show`.
    pub settings_source: String,
    /// Where each top-level setting came from, for `config show`.
    pub origins: crate::settings::Origins,
}

impl Context {
    /// Opens (creating and migrating on first use) the database.
    pub async fn db(&self) -> anyhow::Result<Db> {
        Ok(Db::open(&self.db_url).await?)
    }

    /// The database, for a command that only reads it: never created here.
    pub async fn existing_db(&self) -> anyhow::Result<Db> {
        Ok(Db::open_existing(&self.db_url).await?)
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let (settings, origins) = Settings::load_with_origins(cli.config.as_deref())?;
    let settings_source = match &cli.config {
        Some(p) => p.display().to_string(),
        None if std::path::Path::new(crate::settings::DEFAULT_FILE).is_file() => {
            crate::settings::DEFAULT_FILE.to_string()
        }
        None => "none (defaults)".to_string(),
    };
    let ctx = Context {
        db_url: cli.db,
        settings,
        origins,
        settings_source,
    };
    match cli.command {
        Command::Register(c) => register::run(&ctx, c).await,
        Command::Postcodes(c) => postcodes::run(&ctx, c).await,
        Command::Orders(c) => orders::run(&ctx, c).await,
        Command::Batch(c) => batch::run(&ctx, c).await,
        Command::Receipts(c) => receipts::run(&ctx, c).await,
        Command::Status(a) => status::run(&ctx, a).await,
        Command::Report(a) => report::run(&ctx, a).await,
        Command::Pin(c) => pin::run(&ctx, c).await,
        Command::Id(c) => id::run(&ctx, c),
        Command::Letter(c) => letter::run(&ctx, c),
        Command::Purge(a) => purge::run(&ctx, a).await,
        Command::Nightly(a) => nightly::run(&ctx, a, cli.quiet).await,
        Command::Worker(a) => worker::run(&ctx, a).await,
        Command::Config(c) => config::show(&ctx, c),
        Command::Completions { shell } => config::completions(&ctx, shell),
        Command::Man { dir } => config::man(dir.as_deref()),
        Command::Backup { file } => {
            if file.exists() {
                anyhow::bail!("{} exists; name a new file for the backup", file.display());
            }
            let db = ctx.existing_db().await?;
            db.backup_into(&file).await?;
            db.close().await;
            std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
            println!("backup written to {}", file.display());
            Ok(Exit::Done)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command and every argument a person can type has a description in `--help` (and
    /// so in the man pages).
    #[test]
    fn every_command_and_argument_is_described() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", cmd.get_name());
            if cmd.get_about().is_none() && path != " pinbrev" {
                missing.push(format!("{path}: the command"));
            }
            for arg in cmd.get_arguments() {
                let name = arg.get_id().as_str();
                if name == "help" || name == "version" || arg.is_hide_set() {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path}: {name}"));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_name() != "help" {
                    walk(sub, &path, missing);
                }
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        let mut missing = Vec::new();
        walk(&cmd, "", &mut missing);
        assert!(missing.is_empty(), "no description: {missing:#?}");
    }
}
