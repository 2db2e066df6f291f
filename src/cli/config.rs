//! `pinbrev config show`, `pinbrev completions SHELL`, `pinbrev man`.

use clap::{CommandFactory, Subcommand};

use super::{Cli, Context, Exit};
use crate::pin::KEY_ENV;
use crate::settings::Settings;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective settings (file and environment), secrets hidden.
    #[command(
        after_help = "Examples:\n  pinbrev config show\n  pinbrev --config /etc/pinbrev/pinbrev.toml config show"
    )]
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
/// Shell completions on stdout. Codes (statuses, reasons, formats, languages) are offered by
/// their parsers; `--vendor` offers the vendors in the settings the script is made with.
pub fn completions(ctx: &Context, shell: clap_complete::Shell) -> anyhow::Result<Exit> {
    let mut cli = with_vendors(Cli::command(), &ctx.settings);
    clap_complete::generate(shell, &mut cli, "pinbrev", &mut std::io::stdout());
    Ok(Exit::Done)
}

/// The command tree with the configured vendors as the values `--vendor` offers (only offered:
/// `allow_unknown_vendors` may let others through).
fn with_vendors(cli: clap::Command, settings: &Settings) -> clap::Command {
    if settings.vendors.is_empty() {
        return cli;
    }
    let vendors: Vec<clap::builder::PossibleValue> = settings
        .vendors
        .keys()
        .map(|v| clap::builder::PossibleValue::new(v.clone()))
        .collect();
    let offer = |arg: clap::Arg| {
        let values = vendors.clone();
        arg.value_parser(clap::builder::PossibleValuesParser::new(values))
    };
    cli.mut_subcommand("batch", |c| {
        c.mut_subcommand("create", |c| c.mut_arg("vendor", offer))
    })
    .mut_subcommand("nightly", |c| c.mut_arg("vendor", offer))
    .mut_subcommand("letter", |c| {
        c.mut_subcommand("proof", |c| c.mut_arg("vendor", offer))
    })
}

/// The man page (roff) on stdout, or every command's page written into `dir`.
pub fn man(dir: Option<&std::path::Path>) -> anyhow::Result<Exit> {
    let mut top = Cli::command();
    top.build();
    let Some(dir) = dir else {
        write_page(&top, "pinbrev", &mut std::io::stdout())?;
        return Ok(Exit::Done);
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let mut pages = Vec::new();
    collect_pages(&top, "pinbrev", &mut pages);
    for (name, cmd) in &pages {
        let path = dir.join(format!("{name}.1"));
        let mut file = std::fs::File::create(&path)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        write_page(cmd, name, &mut file)?;
    }
    println!("{} man pages written to {}", pages.len(), dir.display());
    Ok(Exit::Done)
}

/// Every command that does something, with its page's name (`pinbrev-batch-create`).
fn collect_pages(cmd: &clap::Command, name: &str, pages: &mut Vec<(String, clap::Command)>) {
    pages.push((name.to_string(), cmd.clone()));
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        collect_pages(sub, &format!("{name}-{}", sub.get_name()), pages);
    }
}

/// One man page: clap's sections, then what an operator needs beside them.
fn write_page(
    cmd: &clap::Command,
    name: &str,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let examples: Vec<String> = cmd
        .get_after_help()
        .map(|h| h.to_string())
        .unwrap_or_default()
        .lines()
        .skip_while(|l| !l.starts_with("Examples:"))
        .skip(1)
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let has_version = cmd.get_version().is_some();
    let cmd = cmd
        .clone()
        .name(name.to_string())
        .bin_name(name.replace('-', " "));
    let man = clap_mangen::Man::new(cmd);
    // clap's sections but its "EXTRA" (the --help examples), which get their own section.
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    out.write_all(MAN_SECTIONS.as_bytes())?;
    if !examples.is_empty() {
        out.write_all(b".SH EXAMPLES\n")?;
        for e in examples {
            // roff: a leading dot or a backslash would be read as a request or an escape.
            writeln!(out, ".nf\n\\&{}\n.fi", e.replace('\\', "\\e"))?;
        }
    }
    if has_version {
        man.render_version_section(out)?;
    }
    Ok(())
}

/// EXIT STATUS, ENVIRONMENT and FILES, the same on every page (roff).
const MAN_SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Done. Rows refused with a reason are normal business.
.TP
\fB1\fR
Something failed; the error on stderr says what, and what to do next.
.TP
\fB2\fR
The command line was wrong.
.TP
\fB3\fR
An input file was unusable as a whole; the other files were processed.
.TP
\fB4\fR
Another run holds the lock of the night.
.SH ENVIRONMENT
.TP
\fBPINBREV_DB\fR
The database URL (sqlite://FILE or postgres://USER@HOST/DB), as \fB--db\fR.
.TP
\fBPINBREV_PIN_KEY\fR
The PIN HMAC key (hex); or \fBpin_key_file\fR in the settings.
.TP
\fBPINBREV_\fISETTING\fR
Any setting of the settings file, by its name in capitals: PINBREV_MIN_AGE, PINBREV_RETENTION_DAYS, ...
.TP
\fBPAGER\fR
Long lists on a terminal go through it (default \fBless -FRX\fR; \fBcat\fR turns it off).
.TP
\fBCOLUMNS\fR
The width tables are fitted to (default: the terminal's; full width when piped).
.SH FILES
.TP
\fIpinbrev.toml\fR
The settings file in the working directory, if there is one (\fB--config\fR names another).
.TP
\fIpinbrev.db\fR
The default SQLite database; \fIpinbrev.db.lock\fR beside it is the lock of the night.
.TP
\fIOUTBOX/BATCH_ID/\fR
A batch's drop for the vendor: letters-NNNN.pdf, manifest.csv, batch.json.
"#;
