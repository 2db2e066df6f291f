//! Free text from outside — an operator's cancel reason, a vendor's receipt detail, a value an
//! input file got wrong — made safe before pinbrev keeps or shows it: every full national id
//! masked ([`crate::national_id::redact`]), control characters (terminal escapes, tabs, line
//! breaks) replaced by spaces, and the length capped, so that a 50 MB field is never echoed
//! whole. Text is cleaned when it comes in, not only when it is shown: what is stored is
//! already clean.

use std::borrow::Cow;

/// At most this many characters of free text are kept (a cancel reason, a receipt detail, an
/// event's detail, an error message).
pub const MAX_STORED: usize = 500;

/// At most this many characters of an input value are quoted in an error message.
pub const MAX_QUOTED: usize = 40;

/// Cleans free text for storage and output: masked, without control characters, at most
/// [`MAX_STORED`] characters (an ellipsis marks a cut).
pub fn clean(text: &str) -> String {
    clean_to(text, MAX_STORED)
}

/// Like [`clean`], capped at `max` characters.
pub fn clean_to(text: &str, max: usize) -> String {
    // Cut first, so that masking never runs over a huge field; a number cut in two is no
    // longer a full national id.
    let cut = truncate(text, max);
    let printable: Cow<str> = if cut.chars().any(char::is_control) {
        Cow::Owned(
            cut.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(cut.as_ref())
    };
    crate::national_id::redact(&printable)
}

/// Quotes an input value for an error message: cleaned, at most [`MAX_QUOTED`] characters, in
/// double quotes.
pub fn quote(value: &str) -> String {
    format!("\"{}\"", clean_to(value, MAX_QUOTED))
}

/// The first `max` characters, with `…` when there were more.
fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
    }
}

/// A JSON parser's message without the input it quotes: every double-quoted string in it (a
/// name, an address line) becomes `"…"`, numbers are masked as national ids would be, and the
/// length is capped. Field names in backticks (the schema's own words) stay.
pub fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_STORED));
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '"' {
            let mut escaped = false;
            for inner in chars.by_ref() {
                if escaped {
                    escaped = false;
                } else if inner == '\\' {
                    escaped = true;
                } else if inner == '"' {
                    break;
                }
            }
            out.push_str("…\"");
        }
    }
    clean(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn masks_national_ids_and_control_characters() {
        assert_eq!(clean("fnr 05057522244"), "fnr 050575*****");
        assert_eq!(clean("ukjent\t12038512345\r\n"), "ukjent 120385*****  ");
        assert_eq!(clean("\u{1b}[2Jhei"), " [2Jhei");
        assert_eq!(clean("Ikke hjemme"), "Ikke hjemme");
    }

    #[test]
    fn caps_the_length() {
        let long = "x".repeat(50 * 1024 * 1024);
        let c = clean(&long);
        assert_eq!(c.chars().count(), MAX_STORED + 1);
        assert!(c.ends_with('…'));
        assert_eq!(quote(&long).chars().count(), MAX_QUOTED + 3);
        assert_eq!(quote("fax"), "\"fax\"");
    }

    #[test]
    fn json_messages_lose_their_quoted_values() {
        assert_eq!(
            without_quoted_values(
                r#"invalid type: string "Ola \"Nordmann\" 05057522244", expected a sequence at line 1 column 40"#
            ),
            r#"invalid type: string "…", expected a sequence at line 1 column 40"#
        );
        assert_eq!(
            without_quoted_values("invalid type: integer `5057522244`, expected `x`"),
            "invalid type: integer `5057522244`, expected `x`"
        );
        assert_eq!(
            without_quoted_values("invalid type: integer `05057522244`"),
            "invalid type: integer `050575*****`"
        );
    }

    proptest! {
        #[test]
        fn cleaned_text_holds_no_full_national_id_or_control(s in "\\PC{0,80}|[0-9 .\\-\t]{0,40}") {
            let c = clean(&s);
            prop_assert!(!c.chars().any(char::is_control));
            prop_assert!(c.chars().count() <= MAX_STORED + 1);
            let digits: Vec<&str> = c.split(|ch: char| !ch.is_ascii_digit()).collect();
            prop_assert!(digits.iter().all(|run| run.len() != 11), "{c}");
        }

        #[test]
        fn cleaning_is_stable(s in "\\PC{0,600}") {
            let once = clean(&s);
            prop_assert_eq!(clean(&once), once.clone());
        }
    }
}
