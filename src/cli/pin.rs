//! `pinbrev pin verify --letter LETTER_ID --index N --pin CODE`: exit 0 only if the code is the
//! letter's code number N and the letter is current. The code is never printed or logged.

use clap::{Args, Subcommand};

use super::{Context, Exit};
use crate::pin::{parse_code, CODES_PER_LETTER};

#[derive(Debug, Subcommand)]
pub enum PinCommand {
    /// Check one PIN code of a letter.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  pinbrev pin verify --letter B20261124-001-000001 --index 3 --pin 48213"
)]
pub struct VerifyArgs {
    /// The letter id printed on the letter (its reference, B…).
    #[arg(long)]
    letter: String,
    /// The code's number on the letter, 1-20.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=CODES_PER_LETTER as i64))]
    index: u8,
    /// The five-digit code.
    #[arg(long)]
    pin: String,
}

pub async fn run(ctx: &Context, cmd: PinCommand) -> anyhow::Result<Exit> {
    let PinCommand::Verify(args) = cmd;
    let key = crate::pin::load_key(&ctx.settings)?;
    let db = ctx.existing_db().await?;
    let letter = db.letter(&args.letter).await?;
    db.close().await;
    let Some(letter) = letter else {
        println!("no: no letter {}", crate::free_text::quote(&args.letter));
        return Ok(Exit::Failed);
    };
    if letter.state != pinbrev_core::letter::LetterState::Issued {
        println!(
            "no: letter {} is {}; its codes are not valid",
            letter.letter_id, letter.state
        );
        return Ok(Exit::Failed);
    }
    let index = usize::from(args.index);
    let right = parse_code(&args.pin).is_some_and(|code| {
        letter
            .pin_digests
            .as_deref()
            .and_then(|d| d.split(',').nth(index - 1))
            .is_some_and(|stored| key.matches(&letter.letter_id, index, code, stored))
    });
    if right {
        println!(
            "yes: code {index} of letter {} is right and current",
            letter.letter_id
        );
        Ok(Exit::Done)
    } else {
        println!(
            "no: that is not code {index} of letter {}",
            letter.letter_id
        );
        Ok(Exit::Failed)
    }
}
