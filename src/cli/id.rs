//! `pinbrev id check NUMBER...`: the kind and validity of identity numbers.

use clap::{Args, Subcommand};
use serde::Serialize;

use super::output::{self, ItemFormat};
use super::{Context, Exit};
use crate::national_id::{mask, IdError, NationalId};

#[derive(Debug, Subcommand)]
pub enum IdCommand {
    /// Kind (fnr, dnr, hnr, synthetic) and validity of each number; exit 0 only if all are valid.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  pinbrev id check \"$NATIONAL_ID\"\n  pinbrev id check --format json < numbers.txt"
)]
pub struct CheckArgs {
    /// Numbers to check (spaces and one '.'/'-' between the groups are allowed).
    #[arg(required = true)]
    numbers: Vec<String>,
    /// text: a line per number; json: one document for tools.
    #[arg(long, value_enum, default_value_t = ItemFormat::Text)]
    format: ItemFormat,
}

#[derive(Debug, Serialize)]
struct Checked {
    /// Masked: no output holds a full national id.
    number: String,
    kind: Option<&'static str>,
    /// For synthetic numbers, the kind they stand in for (fnr, dnr).
    base_kind: Option<&'static str>,
    synthetic: bool,
    valid: bool,
    problem: Option<String>,
}

fn check(raw: &str, allow_synthetic: bool) -> Checked {
    match NationalId::parse_unchecked_synthetic(raw) {
        Ok(id) => {
            let info = id.info();
            let problem = (info.synthetic && !allow_synthetic)
                .then(|| IdError::SyntheticNotAllowed.to_string());
            Checked {
                number: id.masked(),
                kind: Some(if info.synthetic {
                    "synthetic"
                } else {
                    info.kind.code()
                }),
                base_kind: Some(info.kind.code()),
                synthetic: info.synthetic,
                valid: problem.is_none(),
                problem,
            }
        }
        Err(e) => Checked {
            number: mask(raw),
            kind: None,
            base_kind: None,
            synthetic: false,
            valid: false,
            problem: Some(e.to_string()),
        },
    }
}

pub fn run(ctx: &Context, cmd: IdCommand) -> anyhow::Result<Exit> {
    let IdCommand::Check(args) = cmd;
    let results: Vec<Checked> = args
        .numbers
        .iter()
        .map(|n| check(n, ctx.settings.allow_synthetic))
        .collect();
    match args.format {
        ItemFormat::Json => output::json(&results)?,
        ItemFormat::Text => {
            for r in &results {
                let verdict = if r.valid {
                    "valid".to_string()
                } else {
                    format!("invalid: {}", r.problem.as_deref().unwrap_or(""))
                };
                println!("{}\t{}\t{}", r.number, r.kind.unwrap_or("-"), verdict);
            }
        }
    }
    Ok(if results.iter().all(|r| r.valid) {
        Exit::Done
    } else {
        Exit::Failed
    })
}
