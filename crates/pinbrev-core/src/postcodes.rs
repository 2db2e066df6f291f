//! Norway's postal codes: the list shipped with the binary and Posten's register file, read into
//! entries with each code's place name and category, and the list in memory for validation.

use std::collections::HashMap;

use serde::Serialize;

use crate::free_text::quote;
use crate::input_error::InputError;

/// The list shipped with pinbrev, in Posten's register-file layout (see data/README.md).
const SHIPPED: &str = include_str!("../../../data/postnummerregister.txt");
/// Where the shipped list comes from, recorded when it is loaded.
pub const SHIPPED_SOURCE: &str =
    "shipped: npm norway-postal-codes 3.3.0 (Posten's register of 2021-05-31)";

/// One postal code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostcodeEntry {
    pub postcode: String,
    pub place: String,
    pub municipality_code: Option<String>,
    pub municipality: Option<String>,
    /// Posten's category: `G` street addresses, `P` post boxes, `B` both, `F` several uses,
    /// `S` service codes. `None` when the source has no categories (the shipped list).
    pub category: Option<char>,
}

/// The shipped list, read.
pub fn shipped() -> Vec<PostcodeEntry> {
    let (entries, errors) = parse_register("data/postnummerregister.txt", SHIPPED.as_bytes());
    debug_assert!(errors.is_empty(), "shipped list has errors: {errors:?}");
    entries
}

/// The kind of Norwegian address a postal code is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    Street,
    PostBox,
}

impl PostcodeEntry {
    /// Whether the code's category allows this kind of address. Unknown categories allow all.
    pub fn fits(&self, kind: AddressKind) -> bool {
        matches!(
            (self.category, kind),
            (None, _)
                | (Some('B' | 'F'), _)
                | (Some('G'), AddressKind::Street)
                | (Some('P'), AddressKind::PostBox)
        )
    }
}

/// The postal-code list in memory, for validation.
#[derive(Debug, Default)]
pub struct Postcodes {
    by_code: HashMap<String, PostcodeEntry>,
}

impl Postcodes {
    /// A list from entries already read.
    pub fn from_entries(entries: Vec<PostcodeEntry>) -> Postcodes {
        Postcodes {
            by_code: entries
                .into_iter()
                .map(|e| (e.postcode.clone(), e))
                .collect(),
        }
    }

    /// Looks a code up.
    pub fn get(&self, postcode: &str) -> Option<&PostcodeEntry> {
        self.by_code.get(postcode)
    }
}

/// Reads Posten's register file: tab-separated `postnummer, poststed, kommunenummer,
/// kommunenavn, kategori`, Windows-1252 or UTF-8 (with or without BOM), LF or CRLF.
/// Returns the good rows and an error per bad line (a postal code listed again is an error of
/// its later line; the first is kept).
pub fn parse_register(file: &str, bytes: &[u8]) -> (Vec<PostcodeEntry>, Vec<InputError>) {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => std::borrow::Cow::Borrowed(t.strip_prefix('\u{feff}').unwrap_or(t)),
        Err(_) => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    };
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    // Each postal code's first line: a code listed twice is an error of the second line, and
    // the first is kept.
    let mut first_line: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = (i + 1) as u64;
        let raw = raw.trim_end_matches('\r');
        if raw.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = raw.split('\t').map(str::trim).collect();
        let error = |field: &str, message: String| {
            InputError::row(file, line, Some(field), "invalid_postcode_row", message)
        };
        let postcode = cols[0];
        if line == 1 && !postcode.chars().all(|c| c.is_ascii_digit()) {
            continue; // a header row
        }
        if postcode.len() != 4 || !postcode.chars().all(|c| c.is_ascii_digit()) {
            errors.push(error(
                "postnummer",
                format!("{} is not four digits", quote(postcode)),
            ));
            continue;
        }
        let place = cols.get(1).copied().unwrap_or("");
        if place.is_empty() {
            errors.push(error("poststed", "is empty".into()));
            continue;
        }
        let category = match cols.get(4).copied().unwrap_or("") {
            "" => None,
            c @ ("G" | "P" | "B" | "F" | "S") => c.chars().next(),
            other => {
                errors.push(error(
                    "kategori",
                    format!("{} is not one of G, P, B, F, S", quote(other)),
                ));
                continue;
            }
        };
        if let Some(first) = first_line.get(postcode) {
            errors.push(InputError::row(
                file,
                line,
                Some("postnummer"),
                "duplicate_postcode",
                format!("{postcode} is listed on line {first} already; that line is kept"),
            ));
            continue;
        }
        first_line.insert(postcode.to_string(), line);
        let opt = |i: usize| cols.get(i).filter(|s| !s.is_empty()).map(|s| s.to_string());
        entries.push(PostcodeEntry {
            postcode: postcode.to_string(),
            place: place.to_string(),
            municipality_code: opt(2),
            municipality: opt(3),
            category,
        });
    }
    (entries, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_list_parses_cleanly() {
        let (entries, errors) = parse_register("shipped", SHIPPED.as_bytes());
        assert!(errors.is_empty(), "{errors:?}");
        assert!(entries.len() > 5000);
        let tromso = entries.iter().find(|e| e.postcode == "9008").unwrap();
        assert_eq!(tromso.place, "TROMSØ");
    }

    #[test]
    fn windows_1252_and_categories() {
        let bytes = b"9008\tTROMS\xd8\t5501\tTROMS\xd8\tG\r\n0101\tOSLO\t0301\tOSLO\tP\r\nabc\tX\t\t\tG\r\n0024\tOSLO\t0301\tOSLO\tQ\r\n";
        let (entries, errors) = parse_register("f", bytes);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].place, "TROMSØ");
        assert_eq!(entries[0].municipality.as_deref(), Some("TROMSØ"));
        assert!(entries[0].fits(AddressKind::Street) && !entries[0].fits(AddressKind::PostBox));
        assert!(entries[1].fits(AddressKind::PostBox) && !entries[1].fits(AddressKind::Street));
        assert_eq!(
            errors.iter().map(|e| e.line.unwrap()).collect::<Vec<_>>(),
            vec![3, 4]
        );
    }

    #[test]
    fn a_postal_code_listed_twice_is_an_error_of_its_second_line_and_the_first_is_kept() {
        let bytes = b"0101\tOSLO\t0301\tOSLO\tP\n9008\tTROMS\xd8\t5501\tTROMS\xd8\tG\n0101\tBERGEN\t4601\tBERGEN\tG\n";
        let (entries, errors) = parse_register("f", bytes);
        let kept: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.postcode.as_str(), e.place.as_str()))
            .collect();
        assert_eq!(kept, [("0101", "OSLO"), ("9008", "TROMSØ")]);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            (errors[0].line, errors[0].code.as_str()),
            (Some(3), "duplicate_postcode")
        );
        assert!(
            errors[0]
                .message
                .contains("0101 is listed on line 1 already"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn service_codes_fit_nothing() {
        let e = PostcodeEntry {
            postcode: "0024".into(),
            place: "OSLO".into(),
            municipality_code: None,
            municipality: None,
            category: Some('S'),
        };
        assert!(!e.fits(AddressKind::Street) && !e.fits(AddressKind::PostBox));
    }
}
