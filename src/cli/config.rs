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
    print!(
        "{}",
        with_origins(&toml::to_string_pretty(&ctx.settings)?, &ctx.origins)
    );
    Ok(Exit::Done)
}

/// The settings' TOML with each top-level value's origin as a comment at the end of its line,
/// and each table's (`[vendors.NAME]`) on its header.
fn with_origins(toml: &str, origins: &crate::settings::Origins) -> String {
    let mut out = String::new();
    let mut in_table = false;
    for line in toml.lines() {
        out.push_str(line);
        if let Some(header) = line.strip_prefix('[') {
            in_table = true;
            let key = header.trim_end_matches(']').split('.').next().unwrap_or("");
            if let Some(origin) = origins.get(key) {
                out.push_str(&format!("  # {origin}"));
            }
        } else if !in_table {
            let key = line.split(" = ").next().unwrap_or("");
            if let Some(origin) = origins.get(key) {
                out.push_str(&format!("  # {origin}"));
            }
        }
        out.push('\n');
    }
    out
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
