//! `pinbrev config show`, `pinbrev completions SHELL`, `pinbrev man`.

use clap::{CommandFactory, Subcommand};

use super::{Cli, Context, Exit};
use crate::pin::KEY_ENV;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective settings (file and environment), secrets hidden.
    Show,
}

pub fn show(ctx: &Context, cmd: ConfigCommand) -> anyhow::Result<Exit> {
    let ConfigCommand::Show = cmd;
    println!("# database: {}", ctx.db_url);
    println!("# settings file: {}", ctx.settings_source);
    let key = match std::env::var(KEY_ENV) {
        Ok(v) if !v.trim().is_empty() => format!("set in {KEY_ENV} (hidden)"),
        _ if ctx.settings.pin_key_file.is_some() => "read from pin_key_file (hidden)".into(),
        _ => format!("NOT SET: batch create and pin verify need {KEY_ENV} or pin_key_file"),
    };
    println!("# PIN key: {key}");
    print!("{}", toml::to_string_pretty(&ctx.settings)?);
    Ok(Exit::Done)
}

/// Shell completions on stdout.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<Exit> {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "pinbrev",
        &mut std::io::stdout(),
    );
    Ok(Exit::Done)
}

/// The man page (roff) on stdout.
pub fn man() -> anyhow::Result<Exit> {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(Exit::Done)
}
