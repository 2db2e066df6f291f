//! `pinbrev letter proof --vendor NAME [--lang L] [--out FILE]`: the vendor's proof letter.

use std::path::PathBuf;

use chrono::Utc;
use chrono_tz::Europe::Oslo;
use clap::{Args, Subcommand};

use super::{code_values, Context, Exit};
use crate::letters::{self, proof};
use pinbrev_core::order::Language;

#[derive(Debug, Subcommand)]
pub enum LetterCommand {
    /// A proof letter for the vendor's approval and the helpdesk: XXXXX in place of the codes,
    /// sample addresses (the widest the window takes, a Sámi name, abroad), then the same pages
    /// with the window and return-address zone outlined.
    Proof(ProofArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  pinbrev letter proof --vendor printco\n  pinbrev letter proof --vendor printco --lang en --out proof-en.pdf"
)]
pub struct ProofArgs {
    /// The print vendor: its envelope window comes from the settings' [vendors.NAME].
    #[arg(long)]
    vendor: String,
    /// The letter's language.
    #[arg(long, default_value = "nb", value_parser = code_values(Language::ALL, Language::code))]
    lang: Language,
    /// The PDF to write (owner-only) [default: proof-VENDOR-LANG.pdf]
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(ctx: &Context, cmd: LetterCommand) -> anyhow::Result<Exit> {
    let LetterCommand::Proof(args) = cmd;
    let settings = &ctx.settings;
    settings
        .check_vendor(&args.vendor)
        .map_err(anyhow::Error::msg)?;
    let window = settings.window(&args.vendor);
    let today = Utc::now().with_timezone(&Oslo).date_naive();
    let proof = letters::render_proof(
        &window,
        &settings.return_address,
        &settings.helpdesk(),
        args.lang,
        today,
    )
    .map_err(|e| anyhow::anyhow!("vendor {}: {e}", args.vendor))?;
    let out = args.out.unwrap_or_else(|| {
        let vendor: String = args
            .vendor
            .chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' => c,
                _ => '_',
            })
            .collect();
        PathBuf::from(format!("proof-{vendor}-{}.pdf", args.lang.code()))
    });
    crate::files::write_private_atomic(&out, &proof.pdf)?;
    let samples = proof::sample_addresses(&window).len();
    println!(
        "proof for {} ({}): {} sample letters with XXXXX for the codes, then the same with the \
         window ({} × {} mm, {} mm from the left, {} mm from the top; return-address zone {} mm) \
         outlined: {} pages in {}",
        args.vendor,
        args.lang.code(),
        samples,
        window.width_mm,
        window.height_mm,
        window.left_mm,
        window.top_mm,
        window.return_zone_mm,
        proof.pages,
        out.display()
    );
    Ok(Exit::Done)
}
