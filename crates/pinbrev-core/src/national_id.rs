//! Norwegian identity numbers: fødselsnummer, d-number, H-number and synthetic test numbers.
//!
//! A number is parsed once at the edge into a [`NationalId`]; everything past that point trusts
//! the type. Check digits follow Skatteetaten's rule, including the one that takes effect for
//! numbers issued from 2032: the first check digit may leave a remainder of 0, 1, 2 or 3, and
//! such numbers are valid side by side with the classic (remainder 0) ones.

use std::fmt;

use chrono::NaiveDate;
use serde::{Serialize, Serializer};

const WEIGHTS_K1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const WEIGHTS_K2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
/// Remainders of the first check-digit sum that Skatteetaten accepts (the 2032 rule).
const VALID_K1_REMAINDERS: [u32; 4] = [0, 1, 2, 3];

/// What kind of number a valid identity number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdKind {
    /// Fødselsnummer: a person registered as resident.
    Fnr,
    /// D-number: first digit + 4.
    Dnr,
    /// H-number (month + 40): an auxiliary number, never a person's register identity.
    Hnr,
}

impl IdKind {
    /// The code used on the command line and in reports.
    pub fn code(self) -> &'static str {
        match self {
            IdKind::Fnr => "fnr",
            IdKind::Dnr => "dnr",
            IdKind::Hnr => "hnr",
        }
    }
}

/// Why a string is not a valid identity number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error(
        "must be 11 digits (spaces and one '.' or '-' between the 6 + 5 digit groups are allowed)"
    )]
    Format,
    #[error("the date part is not a calendar date")]
    Date,
    #[error("the check digits do not match")]
    CheckDigits,
    #[error(
        "synthetic test numbers (month + 80) are not allowed by the settings (allow_synthetic)"
    )]
    SyntheticNotAllowed,
}

/// A checked identity number. Holds the 11 digits; its `Display` and `Serialize` are masked
/// (`010190*****`) so that the full number never reaches a log line or a report by accident.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NationalId {
    digits: [u8; 11],
}

/// The parts of a number that [`NationalId::parse`] worked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdInfo {
    pub kind: IdKind,
    pub synthetic: bool,
}

impl NationalId {
    /// Parses and checks a number as written by a person: spaces anywhere and a single `.` or `-`
    /// between the date group and the personal-number group are removed.
    pub fn parse(input: &str, allow_synthetic: bool) -> Result<NationalId, IdError> {
        let id = Self::parse_unchecked_synthetic(input)?;
        if id.info().synthetic && !allow_synthetic {
            return Err(IdError::SyntheticNotAllowed);
        }
        Ok(id)
    }

    /// Parses and checks everything except whether synthetic numbers are allowed. Used where the
    /// caller reports the kind of a number regardless of the setting (`id check`).
    pub fn parse_unchecked_synthetic(input: &str) -> Result<NationalId, IdError> {
        let digits = normalize(input).ok_or(IdError::Format)?;
        let id = NationalId { digits };
        id.date_parts().ok_or(IdError::Date)?;
        if !check_digits_ok(&digits) {
            return Err(IdError::CheckDigits);
        }
        Ok(id)
    }

    /// Kind and synthetic flag, read off the digits.
    pub fn info(&self) -> IdInfo {
        let d = &self.digits;
        let kind = if (4..=7).contains(&d[0]) {
            IdKind::Dnr
        } else if (4..=5).contains(&d[2]) {
            IdKind::Hnr
        } else {
            IdKind::Fnr
        };
        IdInfo {
            kind,
            synthetic: d[2] >= 8,
        }
    }

    /// The 11 digits. Only for storage and register look-ups; never for output.
    pub fn as_digits(&self) -> String {
        self.digits.iter().map(|d| char::from(b'0' + d)).collect()
    }

    /// The masked form used in every output: the six date digits and five stars.
    pub fn masked(&self) -> String {
        mask(&self.as_digits())
    }

    /// Day and month after removing the d-number, H-number and synthetic offsets, and the
    /// two-digit year. `None` when they do not form a calendar date.
    fn date_parts(&self) -> Option<(u32, u32, u32)> {
        let d = &self.digits;
        let mut day = u32::from(d[0]) * 10 + u32::from(d[1]);
        let mut month = u32::from(d[2]) * 10 + u32::from(d[3]);
        let year = u32::from(d[4]) * 10 + u32::from(d[5]);
        let d_number = day > 40;
        if d_number {
            day -= 40;
        }
        if month > 80 {
            month -= 80;
        } else if month > 40 {
            // An H-number's offset. No scheme gives a d-number one as well, and Skatteetaten's
            // validator refuses such a number: its date is not a date.
            if d_number {
                return None;
            }
            month -= 40;
        }
        // The century cannot be read off a 2032-type number, so 29 February is judged as
        // Skatteetaten does: a two-digit year divisible by four (00 included) is a leap year.
        let probe_year = 2000 + year as i32;
        NaiveDate::from_ymd_opt(probe_year, month, day)?;
        Some((day, month, year))
    }
}

impl fmt::Display for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NationalId({})", self.masked())
    }
}

impl Serialize for NationalId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked())
    }
}

/// Masks whatever was given as a national id for output: the first six characters, then five
/// stars. Used for raw order input too, which may not be a valid number at all.
pub fn mask(raw: &str) -> String {
    let head: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .take(6)
        .collect();
    format!("{head}*****")
}

/// Masks every run of exactly 11 digits (optionally written `6+5` with a space, `.` or `-`)
/// in free text: the last line of defence that keeps full national ids out of messages that
/// quote input, such as a CSV header that turned out to be a data row.
pub fn redact(text: &str) -> String {
    static PATTERN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(^|[^0-9])([0-9]{6})[ .-]?[0-9]{5}($|[^0-9])").expect("valid pattern")
    });
    // Most text (every event detail pinbrev writes itself) has too few digits to hold a
    // national id: skip the pattern for it.
    if text.bytes().filter(u8::is_ascii_digit).count() < 11 {
        return text.to_string();
    }
    // Replace until stable: adjacent numbers share a delimiter, which one pass would skip.
    let mut out = text.to_string();
    loop {
        let next = PATTERN.replace_all(&out, "${1}${2}*****${3}").into_owned();
        if next == out {
            return out;
        }
        out = next;
    }
}

/// Strips the tolerated separators (spaces, one `.` or `-` between the 6 + 5 digit groups) and
/// returns the 11 digits, if that is what remains. Check digits are not looked at.
pub fn compact(input: &str) -> Option<String> {
    normalize(input).map(|d| d.iter().map(|x| char::from(b'0' + x)).collect())
}

fn normalize(input: &str) -> Option<[u8; 11]> {
    let compact: Vec<char> = input.chars().filter(|c| !c.is_whitespace()).collect();
    let compact: Vec<char> = match compact.iter().position(|c| *c == '.' || *c == '-') {
        Some(6) if compact.len() == 12 => compact
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 6)
            .map(|(_, c)| *c)
            .collect(),
        Some(_) => return None,
        None => compact,
    };
    if compact.len() != 11 {
        return None;
    }
    let mut digits = [0u8; 11];
    for (slot, c) in digits.iter_mut().zip(&compact) {
        *slot = c.to_digit(10)? as u8;
    }
    Some(digits)
}

fn weighted(digits: &[u8], weights: &[u32]) -> u32 {
    digits
        .iter()
        .zip(weights)
        .map(|(d, w)| u32::from(*d) * w)
        .sum()
}

fn check_digits_ok(d: &[u8; 11]) -> bool {
    let r1 = (weighted(&d[..9], &WEIGHTS_K1) + u32::from(d[9])) % 11;
    let r2 = (weighted(&d[..10], &WEIGHTS_K2) + u32::from(d[10])) % 11;
    VALID_K1_REMAINDERS.contains(&r1) && r2 == 0
}

/// Computes the two classic check digits for the first nine digits, if the number can have them
/// (a first check digit of 10 means that individual number is not issued).
pub fn classic_check_digits(first_nine: &[u8; 9]) -> Option<(u8, u8)> {
    let k1 = (11 - weighted(first_nine, &WEIGHTS_K1) % 11) % 11;
    if k1 == 10 {
        return None;
    }
    let mut ten = [0u8; 10];
    ten[..9].copy_from_slice(first_nine);
    ten[9] = k1 as u8;
    let k2 = (11 - weighted(&ten, &WEIGHTS_K2) % 11) % 11;
    if k2 == 10 {
        return None;
    }
    Some((k1 as u8, k2 as u8))
}

/// Builds a valid number from its parts: `day`/`month` already carry any offsets (d-number +40
/// on the day, synthetic +80 on the month). Returns `None` if this individual number cannot be
/// issued. Used by the fixture generator and by tests.
pub fn build(day: u32, month: u32, year2: u32, individual: u32) -> Option<NationalId> {
    let s = format!("{day:02}{month:02}{year2:02}{individual:03}");
    let mut nine = [0u8; 9];
    for (slot, c) in nine.iter_mut().zip(s.chars()) {
        *slot = c.to_digit(10)? as u8;
    }
    let (k1, k2) = classic_check_digits(&nine)?;
    let mut digits = [0u8; 11];
    digits[..9].copy_from_slice(&nine);
    digits[9] = k1;
    digits[10] = k2;
    let id = NationalId { digits };
    id.date_parts()?;
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with_k2(ten: &str) -> String {
        let d: Vec<u8> = ten.bytes().map(|b| b - b'0').collect();
        let k2 = (11 - weighted(&d, &WEIGHTS_K2) % 11) % 11;
        assert!(k2 < 10, "no valid k2 for {ten}");
        format!("{ten}{k2}")
    }

    #[test]
    fn classic_fnr_is_valid() {
        let id = build(1, 1, 90, 123)
            .or_else(|| build(1, 1, 90, 124))
            .unwrap();
        let parsed = NationalId::parse(&id.as_digits(), false).unwrap();
        assert_eq!(
            parsed.info(),
            IdInfo {
                kind: IdKind::Fnr,
                synthetic: false
            }
        );
    }

    #[test]
    fn k1_remainders_one_to_three_are_valid_2032_numbers() {
        // For a fixed first nine digits, every k1 whose remainder is 0..=3 is accepted and the
        // others are refused, provided k2 is computed over the resulting ten digits.
        let nine = "301082999";
        let base = weighted(
            &nine.bytes().map(|b| b - b'0').collect::<Vec<_>>(),
            &WEIGHTS_K1,
        );
        let mut accepted = 0;
        for k1 in 0..=9u32 {
            let ten = format!("{nine}{k1}");
            let d: Vec<u8> = ten.bytes().map(|b| b - b'0').collect();
            if (11 - weighted(&d, &WEIGHTS_K2) % 11) % 11 == 10 {
                continue;
            }
            let full = with_k2(&ten);
            let remainder = (base + k1) % 11;
            let ok = NationalId::parse(&full, false).is_ok();
            assert_eq!(ok, remainder <= 3, "{full}: remainder {remainder}");
            accepted += usize::from(ok);
        }
        assert!(accepted >= 2, "expected at least two accepted k1 values");
    }

    #[test]
    fn kinds() {
        let d = build(41, 1, 90, 123)
            .or_else(|| build(41, 1, 90, 124))
            .unwrap();
        assert_eq!(d.info().kind, IdKind::Dnr);
        let h = build(1, 41, 90, 123)
            .or_else(|| build(1, 41, 90, 124))
            .unwrap();
        assert_eq!(h.info().kind, IdKind::Hnr);
        let s = build(1, 81, 90, 123)
            .or_else(|| build(1, 81, 90, 124))
            .unwrap();
        assert_eq!(
            s.info(),
            IdInfo {
                kind: IdKind::Fnr,
                synthetic: true
            }
        );
        let sd = build(41, 81, 90, 123)
            .or_else(|| build(41, 81, 90, 124))
            .unwrap();
        assert_eq!(
            sd.info(),
            IdInfo {
                kind: IdKind::Dnr,
                synthetic: true
            }
        );
        assert_eq!(
            NationalId::parse(&s.as_digits(), false),
            Err(IdError::SyntheticNotAllowed)
        );
    }

    #[test]
    fn a_d_number_never_has_the_h_number_month() {
        // Day + 40 and month + 40 together: no scheme issues such a number.
        let n = (0..1000).find_map(|i| build(41, 41, 90, i));
        assert!(n.is_none(), "{n:?}");
        let digits = "4141901234";
        let d: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
        let k2 = (11 - weighted(&d, &WEIGHTS_K2) % 11) % 11;
        if k2 < 10 {
            let full = format!("{digits}{k2}");
            assert_eq!(NationalId::parse(&full, true), Err(IdError::Date));
        }
        // A synthetic d-number (month + 80) is still one.
        assert!((0..1000).any(|i| build(41, 81, 90, i).is_some()));
    }

    #[test]
    fn leap_day_follows_two_digit_year() {
        let leap = (0..1000).find_map(|i| build(29, 2, 0, i)).unwrap();
        assert!(NationalId::parse(&leap.as_digits(), false).is_ok());
        assert!((0..1000).all(|i| build(29, 2, 1, i).is_none()));
        assert!((0..1000).all(|i| build(30, 2, 0, i).is_none()));
    }

    #[test]
    fn separators() {
        let id = (0..1000)
            .find_map(|i| build(1, 1, 90, i))
            .unwrap()
            .as_digits();
        let (a, b) = id.split_at(6);
        for written in [
            format!("{a} {b}"),
            format!("{a}-{b}"),
            format!("{a}.{b}"),
            format!(" {a} - {b} "),
        ] {
            assert_eq!(
                NationalId::parse(&written, false).unwrap().as_digits(),
                id,
                "{written}"
            );
        }
        for bad in [
            format!("{a}--{b}"),
            format!("{}-{}", &id[..4], &id[4..]),
            format!("{a}-{b}-"),
            format!("{id}0"),
            "abc".into(),
        ] {
            assert_eq!(
                NationalId::parse(&bad, false),
                Err(IdError::Format),
                "{bad}"
            );
        }
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact("a 01019012345,01019054321 b"),
            "a 010190*****,010190***** b"
        );
        assert_eq!(redact("010190-12345"), "010190*****");
        assert_eq!(
            redact("order 123456789012 and 1234"),
            "order 123456789012 and 1234"
        );
    }

    #[test]
    fn masking_never_shows_personal_number() {
        let id = (0..1000).find_map(|i| build(1, 1, 90, i)).unwrap();
        assert_eq!(id.to_string(), "010190*****");
        assert_eq!(format!("{id:?}"), "NationalId(010190*****)");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"010190*****\"");
        assert_eq!(mask("12345"), "12345*****");
    }

    proptest! {
        #[test]
        fn built_numbers_parse_back(day in 1u32..=28, month in 1u32..=12, year in 0u32..=99,
                                    ind in 0u32..=999, dnr: bool, synth: bool) {
            let day = if dnr { day + 40 } else { day };
            let month = if synth { month + 80 } else { month };
            if let Some(id) = build(day, month, year, ind) {
                let back = NationalId::parse(&id.as_digits(), true).unwrap();
                prop_assert_eq!(back.info().kind, if dnr { IdKind::Dnr } else { IdKind::Fnr });
                prop_assert_eq!(back.info().synthetic, synth);
            }
        }

        #[test]
        fn a_changed_digit_is_caught(day in 1u32..=28, month in 1u32..=12, year in 0u32..=99,
                                     ind in 0u32..=999, pos in 0usize..11, delta in 1u8..=9) {
            if let Some(id) = build(day, month, year, ind) {
                let mut d = id.digits;
                d[pos] = (d[pos] + delta) % 10;
                let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
                // A single changed digit always breaks the second check digit: every k2 weight,
                // and the coefficient 1 of k2 itself, is coprime with 11.
                prop_assert!(NationalId::parse(&s, true).is_err());
            }
        }

        #[test]
        fn d_numbers_with_the_h_month_are_refused(day in 41u32..=71, month in 41u32..=52,
                                                   year in 0u32..=99, ind in 0u32..=999) {
            let s = format!("{day:02}{month:02}{year:02}{ind:03}");
            let nine: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
            let nine: [u8; 9] = nine.try_into().unwrap();
            if let Some((k1, k2)) = classic_check_digits(&nine) {
                let full = format!("{s}{k1}{k2}");
                prop_assert_eq!(NationalId::parse(&full, true), Err(IdError::Date));
            }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,20}") {
            let _ = NationalId::parse(&s, true);
        }
    }
}
