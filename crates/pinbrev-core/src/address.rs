//! Where the letter goes: choosing the person's address from the register, building the
//! envelope's address block, and checking it (postal code, place, category, country rules, and
//! that it fits the window).
//!
//! The address comes ONLY from the register; an order never carries one.

use serde::{Deserialize, Serialize};

use crate::code_enum;
use crate::countries::{self, Country};
use crate::freg::{
    Bosted, Matrikkeladresse, Navn, Person, Postadresse, Poststed, Utenlandsk, UtenlandskAdresse,
    Vegadresse,
};
use crate::letters::{self, Window};
use crate::order::RejectReason;
use crate::postcodes::{AddressKind, Postcodes};

/// Lines the window's address zone holds (DIN 5008 form B: 27.3 mm below the return-address
/// zone), name and country line included. Whether the lines fit the window's width is measured
/// with the letter's font (`letters::address_fits`).
pub const MAX_LINES: usize = 6;

code_enum! {
    /// Domestic or abroad, for presorting and the manifest.
    pub enum PostalZone {
        Domestic => "domestic",
        Abroad => "abroad",
    }
}

/// The address block printed in the envelope window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressBlock {
    /// The lines, name first; abroad, the last is the country's Norwegian name in capitals.
    pub lines: Vec<String>,
    pub zone: PostalZone,
    /// Norwegian postal code, or the foreign one as written.
    pub postcode: Option<String>,
    /// ISO 3166-1 alpha-2 (`NO` for domestic letters).
    pub country: String,
}

/// Why an address cannot be used, with the failing field in the detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressProblem {
    pub reason: RejectReason,
    pub detail: String,
}

fn problem(reason: RejectReason, detail: impl Into<String>) -> AddressProblem {
    AddressProblem {
        reason,
        detail: detail.into(),
    }
}

/// The register address chosen for the letter.
#[derive(Debug, Clone, Copy)]
pub enum Chosen<'a> {
    Post(&'a Postadresse),
    Bosted(&'a Bosted),
    Abroad(&'a Utenlandsk),
}

/// Picks the address by the contract's order: Norwegian `postadresse`, else Norwegian
/// `bostedsadresse`; then, only for d-number holders and emigrated persons, `postadresseIUtlandet`,
/// else (d-number holders only) a foreign `oppholdsadresse`.
pub fn choose(person: &Person, holds_d_number: bool) -> Option<Chosen<'_>> {
    if let Some(p) = &person.postadresse {
        return Some(Chosen::Post(p));
    }
    if let Some(b) = &person.bosted {
        return Some(Chosen::Bosted(b));
    }
    let emigrated = person.status.as_deref() == Some("utflyttet");
    if holds_d_number || emigrated {
        if let Some(u) = &person.postadresse_i_utlandet {
            return Some(Chosen::Abroad(u));
        }
    }
    if holds_d_number {
        if let Some(u) = &person.oppholdsadresse_utland {
            return Some(Chosen::Abroad(u));
        }
    }
    None
}

/// Builds and checks the address block for the chosen address. `windows` are the envelope
/// windows the letter may be printed for; the block must fit each.
pub fn build(
    name: &Navn,
    chosen: Chosen<'_>,
    postcodes: &Postcodes,
    windows: &[Window],
) -> Result<AddressBlock, AddressProblem> {
    let name_line = name_line(name, windows)?;
    let block = match chosen {
        Chosen::Post(Postadresse::Vegadresse(v)) | Chosen::Bosted(Bosted::Vegadresse(v)) => {
            domestic(
                name_line,
                street_lines(v),
                v.poststed.as_ref(),
                AddressKind::Street,
                postcodes,
            )?
        }
        Chosen::Bosted(Bosted::Matrikkeladresse(m)) => domestic(
            name_line,
            cadastral_lines(m),
            m.poststed.as_ref(),
            AddressKind::Street,
            postcodes,
        )?,
        Chosen::Post(Postadresse::Postboksadresse(b)) => {
            let mut lines = Vec::new();
            if let Some(owner) = b.postbokseier.as_deref().filter(|o| *o != name_line) {
                lines.push(format!("c/o {owner}"));
            }
            let boks = b.postboks.as_deref().unwrap_or("");
            if boks.is_empty() {
                return Err(problem(
                    RejectReason::NoPostalAddress,
                    "postboksadresse.postboks: missing",
                ));
            }
            lines.push(if starts_with_box(boks) {
                boks.to_string()
            } else {
                format!("Postboks {boks}")
            });
            domestic(
                name_line,
                lines,
                b.poststed.as_ref(),
                AddressKind::PostBox,
                postcodes,
            )?
        }
        Chosen::Post(Postadresse::PostadresseIFrittFormat(f)) => {
            let kind = if f.adresselinje.first().is_some_and(|l| starts_with_box(l)) {
                AddressKind::PostBox
            } else {
                AddressKind::Street
            };
            domestic(
                name_line,
                f.adresselinje.clone(),
                f.poststed.as_ref(),
                kind,
                postcodes,
            )?
        }
        Chosen::Abroad(u) => abroad(name_line, u)?,
    };
    check_fits(&block, windows)?;
    Ok(block)
}

/// Whether one line fits every window on its own.
fn line_fits(line: &str, windows: &[Window]) -> bool {
    let lines = [line.to_string()];
    windows.iter().all(|w| letters::address_fits(&lines, w))
}

/// The name line: the full name, or `forkortetNavn` when the full name is too wide for a line.
fn name_line(name: &Navn, windows: &[Window]) -> Result<String, AddressProblem> {
    let full = collapse(&name.full());
    if full.is_empty() {
        return Err(problem(
            RejectReason::NoPostalAddress,
            "navn: the register has no name for the person",
        ));
    }
    if line_fits(&full, windows) {
        return Ok(full);
    }
    match name.forkortet_navn.as_deref().map(collapse) {
        Some(short) if line_fits(&short, windows) => Ok(short),
        _ => Err(problem(
            RejectReason::AddressTooLong,
            "navn: the full name is too wide for the envelope window and there is no forkortetNavn that fits",
        )),
    }
}

fn starts_with_box(line: &str) -> bool {
    let l = line.trim_start().to_lowercase();
    l.starts_with("postboks")
        || l.starts_with("boks ")
        || l.starts_with("pb ")
        || l.starts_with("pb.")
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn push_co(lines: &mut Vec<String>, co: &Option<String>) {
    if let Some(co) = co {
        let lower = co.to_lowercase();
        lines.push(if lower.starts_with("c/o") {
            co.clone()
        } else {
            format!("c/o {co}")
        });
    }
}

fn street_lines(v: &Vegadresse) -> Vec<String> {
    let mut lines = Vec::new();
    push_co(&mut lines, &v.co_adressenavn);
    if let Some(extra) = &v.adressetilleggsnavn {
        lines.push(extra.clone());
    }
    // Posten writes the house letter right after the number ("Storgata 12B") and the dwelling
    // number after the street address ("Storgata 12B H0101").
    let number = v.adressenummer.as_ref().map(|n| {
        format!(
            "{}{}",
            n.husnummer.as_deref().unwrap_or(""),
            n.husbokstav.as_deref().unwrap_or("")
        )
    });
    if let Some(street) = &v.adressenavn {
        let parts = [
            Some(street.as_str()),
            number.as_deref(),
            v.bruksenhetsnummer.as_deref(),
        ];
        lines.push(collapse(
            &parts.into_iter().flatten().collect::<Vec<_>>().join(" "),
        ));
    }
    lines
}

fn cadastral_lines(m: &Matrikkeladresse) -> Vec<String> {
    let mut lines = Vec::new();
    push_co(&mut lines, &m.co_adressenavn);
    if let Some(extra) = &m.adressetilleggsnavn {
        lines.push(extra.clone());
    }
    lines
}

fn domestic(
    name: String,
    address_lines: Vec<String>,
    poststed: Option<&Poststed>,
    kind: AddressKind,
    postcodes: &Postcodes,
) -> Result<AddressBlock, AddressProblem> {
    let postcode = poststed.and_then(|p| p.postnummer.as_deref()).unwrap_or("");
    if postcode.is_empty() {
        return Err(problem(
            RejectReason::UnknownPostcode,
            "postnummer: missing",
        ));
    }
    let Some(entry) = postcodes.get(postcode) else {
        return Err(problem(
            RejectReason::UnknownPostcode,
            format!("postnummer: {postcode} does not exist"),
        ));
    };
    if let Some(given) = poststed.and_then(|p| p.poststedsnavn.as_deref()) {
        if collapse(given).to_uppercase() != entry.place.to_uppercase() {
            return Err(problem(
                RejectReason::PostcodePlaceMismatch,
                format!("poststedsnavn: {postcode} is {}, not {given}", entry.place),
            ));
        }
    }
    if !entry.fits(kind) {
        let what = match kind {
            AddressKind::Street => "a street address",
            AddressKind::PostBox => "a post box",
        };
        return Err(problem(
            RejectReason::PostcodeCategory,
            format!(
                "postnummer: {postcode} has category {} and cannot take {what}",
                entry.category.map(String::from).unwrap_or_default()
            ),
        ));
    }
    let mut lines = vec![name];
    lines.extend(
        address_lines
            .into_iter()
            .map(|l| collapse(&l))
            .filter(|l| !l.is_empty()),
    );
    lines.push(format!("{postcode} {}", entry.place));
    Ok(AddressBlock {
        lines,
        zone: PostalZone::Domestic,
        postcode: Some(postcode.to_string()),
        country: "NO".into(),
    })
}

/// The fields of an address abroad, whichever form the register used.
struct Foreign {
    street: Vec<String>,
    postkode: Option<String>,
    city: Option<String>,
    district: Option<String>,
    region: Option<String>,
    landkode: Option<String>,
    free_format: bool,
}

impl Foreign {
    fn from(u: &Utenlandsk) -> Foreign {
        match u {
            Utenlandsk::UtenlandskAdresse(a) => Foreign {
                street: structured_street(a),
                postkode: a.postkode.clone(),
                city: a.by_eller_stedsnavn.clone(),
                district: a.distriktsnavn.clone(),
                region: a.region.clone(),
                landkode: a.landkode.clone(),
                free_format: false,
            },
            Utenlandsk::UtenlandskAdresseIFrittFormat(f) => Foreign {
                street: f.adresselinje.clone(),
                postkode: f.postkode.clone(),
                city: f.by_eller_stedsnavn.clone(),
                district: None,
                region: None,
                landkode: f.landkode.clone(),
                free_format: true,
            },
        }
    }
}

fn structured_street(a: &UtenlandskAdresse) -> Vec<String> {
    let mut lines = Vec::new();
    push_co(&mut lines, &a.co_adressenavn);
    if let Some(b) = &a.bygning {
        lines.push(b.clone());
    }
    if let Some(street) = &a.adressenavn {
        let unit = [a.etasjenummer.as_deref(), a.boenhet.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        lines.push(if unit.is_empty() {
            street.clone()
        } else {
            format!("{street}, {unit}")
        });
    }
    if let Some(p) = &a.postboks {
        lines.push(p.clone());
    }
    lines
}

fn invalid(detail: String) -> AddressProblem {
    problem(RejectReason::InvalidForeignAddress, detail)
}

/// Removes a country prefix written before a postal code (`SE-114 55`, `D-10115` is left alone).
fn strip_country_prefix(code: &str, country: &Country) -> String {
    let code = code.trim();
    for sep in ['-', ' '] {
        if let Some(rest) = code
            .get(..3)
            .filter(|p| p.eq_ignore_ascii_case(&format!("{}{sep}", country.alpha2)))
            .map(|_| code[3..].trim())
        {
            if country.postcode_ok(rest) {
                return rest.to_string();
            }
        }
    }
    code.to_string()
}

fn abroad(name: String, u: &Utenlandsk) -> Result<AddressBlock, AddressProblem> {
    let f = Foreign::from(u);
    let code = f.landkode.as_deref().unwrap_or("").trim();
    if code.is_empty() {
        return Err(invalid("landkode: missing".into()));
    }
    let country = countries::lookup(code).ok_or_else(|| {
        invalid(format!(
            "landkode: {} is not a known country",
            crate::free_text::quote(code)
        ))
    })?;
    if country.alpha2 == "NO" {
        return Err(invalid(format!(
            "landkode: {code} is Norway, not a country abroad"
        )));
    }
    let cc = &country.alpha2;
    if f.street.is_empty() && country.requires('A') {
        let field = if f.free_format {
            "adresselinje"
        } else {
            "adressenavn"
        };
        return Err(invalid(format!(
            "{field}: missing; {cc} addresses need a street line"
        )));
    }
    let postkode = f
        .postkode
        .as_deref()
        .map(|p| strip_country_prefix(p, country));
    match &postkode {
        Some(p) if !country.postcode_ok(p) => {
            return Err(invalid(format!(
                "postkode: {} is not a postal code of {cc} (e.g. {})",
                crate::free_text::quote(p),
                country.zip_examples.split(',').next().unwrap_or("")
            )))
        }
        None if country.requires('Z') && country.has_postcodes() => {
            // A free-form address often carries the code inside its lines.
            let in_lines = f.free_format
                && f.street
                    .iter()
                    .flat_map(|l| l.split(|c: char| c == ',' || c.is_whitespace()))
                    .any(|t| !t.is_empty() && country.postcode_ok(t))
                || f.street.iter().any(|l| country.postcode_ok(l.trim()));
            if !in_lines {
                return Err(invalid(format!(
                    "postkode: missing; {cc} addresses need a postal code"
                )));
            }
        }
        _ => {}
    }
    if f.city.is_none() && country.requires('C') && !(f.free_format && f.street.len() >= 2) {
        return Err(invalid(format!(
            "byEllerStedsnavn: missing; {cc} addresses need a city"
        )));
    }
    if f.region.is_none() && country.requires('S') && !f.free_format {
        return Err(invalid(format!(
            "region: missing; {cc} addresses need a state or region"
        )));
    }

    let fmt = &country.fmt;
    let field = |letter: char, value: Option<&str>| -> String {
        let v = value.unwrap_or("").trim();
        if country.upper.contains(letter) {
            v.to_uppercase()
        } else {
            v.to_string()
        }
    };
    let mut lines = Vec::new();
    for template in fmt.split("%n") {
        if template.trim() == "%A" {
            lines.extend(f.street.iter().map(|l| collapse(l)));
            continue;
        }
        let line = template
            .replace("%N", &name)
            .replace("%O", "")
            .replace("%A", &f.street.join(", "))
            .replace("%D", &field('D', f.district.as_deref()))
            .replace("%C", &field('C', f.city.as_deref()))
            .replace("%S", &field('S', f.region.as_deref()))
            .replace("%Z", &field('Z', postkode.as_deref()))
            .replace("%X", "");
        let line = collapse(&line);
        let line = line
            .trim_matches(|c: char| c == ',' || c.is_whitespace())
            .to_string();
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines.push(country.envelope_name());
    Ok(AddressBlock {
        lines,
        zone: PostalZone::Abroad,
        postcode: postkode,
        country: cc.clone(),
    })
}

fn check_fits(block: &AddressBlock, windows: &[Window]) -> Result<(), AddressProblem> {
    for (i, line) in block.lines.iter().enumerate() {
        let missing = letters::missing_glyphs(line);
        if !missing.is_empty() {
            let chars: Vec<String> = missing
                .iter()
                .map(|c| format!("U+{:04X}", u32::from(*c)))
                .collect();
            return Err(problem(
                RejectReason::UnprintableCharacters,
                format!(
                    "line {} has characters the letter's font lacks: {}",
                    i + 1,
                    chars.join(" ")
                ),
            ));
        }
    }
    if block.lines.len() > MAX_LINES {
        return Err(problem(
            RejectReason::AddressTooLong,
            format!(
                "the address block has {} lines; the window holds {MAX_LINES}",
                block.lines.len()
            ),
        ));
    }
    // Measuring the whole block is the common, passing case; only a block that does not fit is
    // measured line by line, to say which line is at fault.
    if !windows
        .iter()
        .all(|w| letters::address_fits(&block.lines, w))
    {
        let detail = match block.lines.iter().position(|l| !line_fits(l, windows)) {
            Some(i) => format!(
                "line {} is too wide for the envelope window even at the smallest font size",
                i + 1
            ),
            None => "the address block is too tall for the envelope window".to_string(),
        };
        return Err(problem(RejectReason::AddressTooLong, detail));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::freg::{parse_document, UtenlandskAdresseIFrittFormat};
    use crate::postcodes::parse_register;

    fn postcodes() -> Postcodes {
        let (entries, _) = parse_register(
            "t",
            "9008\tTROMSØ\t\t\tG\n0101\tOSLO\t\t\tP\n0150\tOSLO\t\t\tB\n0024\tOSLO\t\t\tS\n"
                .as_bytes(),
        );
        Postcodes::from_entries(entries)
    }

    fn navn(f: &str, e: &str) -> Navn {
        Navn {
            fornavn: Some(f.into()),
            etternavn: Some(e.into()),
            ..Default::default()
        }
    }

    fn block(doc: &str) -> Result<AddressBlock, AddressProblem> {
        let p = parse_document(doc).unwrap();
        let dnr = p
            .identifier_in_use()
            .is_some_and(|i| i.number.starts_with('4'));
        build(
            p.name.as_ref().unwrap(),
            choose(&p, dnr).expect("an address"),
            &postcodes(),
            &[Window::default()],
        )
    }

    const ID: &str = r#""identifikasjonsnummer":[{"foedselsEllerDNummer":"01018012345","status":"iBruk"}],"navn":[{"fornavn":"Áŋŋá","etternavn":"Čuđe"}]"#;

    #[test]
    fn street_address() {
        let b = block(&format!(r#"{{{ID},"bostedsadresse":[{{"vegadresse":{{"adressenavn":"Storgata","adressenummer":{{"husnummer":"12","husbokstav":"B"}},"bruksenhetsnummer":"H0101","poststed":{{"postnummer":"9008","poststedsnavn":"Tromsø"}}}}}}]}}"#)).unwrap();
        assert_eq!(
            b.lines,
            vec!["Áŋŋá Čuđe", "Storgata 12B H0101", "9008 TROMSØ"]
        );
        assert_eq!(b.zone, PostalZone::Domestic);
    }

    #[test]
    fn postadresse_wins_and_category_is_checked() {
        let doc = format!(
            r#"{{{ID},"bostedsadresse":[{{"vegadresse":{{"adressenavn":"Storgata","poststed":{{"postnummer":"9008"}}}}}}],"postadresse":[{{"postboksadresse":{{"postboks":"221","poststed":{{"postnummer":"0101"}}}}}}]}}"#
        );
        assert_eq!(
            block(&doc).unwrap().lines,
            vec!["Áŋŋá Čuđe", "Postboks 221", "0101 OSLO"]
        );
        let street_on_p = format!(
            r#"{{{ID},"bostedsadresse":[{{"vegadresse":{{"adressenavn":"Storgata","poststed":{{"postnummer":"0101"}}}}}}]}}"#
        );
        assert_eq!(
            block(&street_on_p).unwrap_err().reason,
            RejectReason::PostcodeCategory
        );
        let service = street_on_p.replace("0101", "0024");
        assert_eq!(
            block(&service).unwrap_err().reason,
            RejectReason::PostcodeCategory
        );
        let unknown = street_on_p.replace("0101", "0999");
        assert_eq!(
            block(&unknown).unwrap_err().reason,
            RejectReason::UnknownPostcode
        );
        let mismatch = street_on_p.replace(
            r#""postnummer":"0101""#,
            r#""postnummer":"9008","poststedsnavn":"OSLO""#,
        );
        let e = block(&mismatch).unwrap_err();
        assert_eq!(e.reason, RejectReason::PostcodePlaceMismatch);
        assert!(e.detail.contains("TROMSØ"), "{}", e.detail);
    }

    #[test]
    fn abroad_follows_the_country_and_ends_with_its_norwegian_name() {
        let u = Utenlandsk::UtenlandskAdresse(UtenlandskAdresse {
            adressenavn: Some("Storgatan 5".into()),
            postkode: Some("SE-114 55".into()),
            by_eller_stedsnavn: Some("Stockholm".into()),
            landkode: Some("SWE".into()),
            ..Default::default()
        });
        let b = build(
            &navn("Åsa", "Öberg"),
            Chosen::Abroad(&u),
            &postcodes(),
            &[Window::default()],
        )
        .unwrap();
        // Google's format for Sweden writes the SE- prefix; a prefix already in the register's
        // postkode is not doubled.
        assert_eq!(
            b.lines,
            vec!["Åsa Öberg", "Storgatan 5", "SE-114 55 STOCKHOLM", "SVERIGE"]
        );
        assert_eq!(b.postcode.as_deref(), Some("114 55"));
        assert_eq!(b.country, "SE");
        let us = Utenlandsk::UtenlandskAdresse(UtenlandskAdresse {
            adressenavn: Some("1600 Amphitheatre Pkwy".into()),
            postkode: Some("94043".into()),
            by_eller_stedsnavn: Some("Mountain View".into()),
            region: Some("CA".into()),
            landkode: Some("US".into()),
            ..Default::default()
        });
        let b = build(
            &navn("Jane", "Doe"),
            Chosen::Abroad(&us),
            &postcodes(),
            &[Window::default()],
        )
        .unwrap();
        assert_eq!(
            b.lines,
            vec![
                "Jane Doe",
                "1600 Amphitheatre Pkwy",
                "MOUNTAIN VIEW, CA 94043",
                "USA"
            ]
        );
    }

    #[test]
    fn foreign_problems_name_the_field() {
        let mk = |code: &str, land: &str, city: Option<&str>| {
            Utenlandsk::UtenlandskAdresse(UtenlandskAdresse {
                adressenavn: Some("Hauptstraße 1".into()),
                postkode: Some(code.into()),
                by_eller_stedsnavn: city.map(String::from),
                landkode: Some(land.into()),
                ..Default::default()
            })
        };
        let n = navn("Jürgen", "Groß");
        let err = |u: &Utenlandsk| {
            build(&n, Chosen::Abroad(u), &postcodes(), &[Window::default()]).unwrap_err()
        };
        assert!(err(&mk("ABC12", "SE", Some("X")))
            .detail
            .starts_with("postkode:"));
        assert!(err(&mk("10115", "DE", None))
            .detail
            .starts_with("byEllerStedsnavn:"));
        assert!(err(&mk("0150", "NO", Some("Oslo")))
            .detail
            .starts_with("landkode:"));
        assert!(err(&mk("1", "XX", Some("X")))
            .detail
            .starts_with("landkode:"));
        assert_eq!(
            err(&mk("1", "XX", Some("X"))).reason,
            RejectReason::InvalidForeignAddress
        );
    }

    #[test]
    fn free_format_abroad_and_too_long() {
        let f = Utenlandsk::UtenlandskAdresseIFrittFormat(UtenlandskAdresseIFrittFormat {
            adresselinje: vec!["Nørregade 1, 2. th.".into()],
            postkode: Some("1165".into()),
            by_eller_stedsnavn: Some("København K".into()),
            landkode: Some("DK".into()),
        });
        let b = build(
            &navn("Søren", "Kierkegaard"),
            Chosen::Abroad(&f),
            &postcodes(),
            &[Window::default()],
        )
        .unwrap();
        assert_eq!(
            b.lines,
            vec![
                "Søren Kierkegaard",
                "Nørregade 1, 2. th.",
                "1165 KØBENHAVN K",
                "DANMARK"
            ]
        );
        let long = Utenlandsk::UtenlandskAdresseIFrittFormat(UtenlandskAdresseIFrittFormat {
            adresselinje: vec!["1".into(), "2".into(), "3".into(), "4".into()],
            postkode: Some("1165".into()),
            by_eller_stedsnavn: Some("København".into()),
            landkode: Some("DK".into()),
        });
        let e = build(
            &navn("A", "B"),
            Chosen::Abroad(&long),
            &postcodes(),
            &[Window::default()],
        )
        .unwrap_err();
        assert_eq!(e.reason, RejectReason::AddressTooLong);
    }

    #[test]
    fn width_is_measured_not_counted_and_unprintable_characters_are_caught() {
        let w = [Window::default()];
        // 34 capitals: fewer than 40 characters, yet wider than the window at 8 pt.
        let wide = navn("MARGRETHE WØWM-MØLLER", "HÅKONSDOTTERMMMMMM");
        assert_eq!(
            name_line(&wide, &w).unwrap_err().reason,
            RejectReason::AddressTooLong
        );
        let narrow = navn("ilii lili", "iiilllilliiilllilliiilllil");
        assert!(name_line(&narrow, &w).is_ok());
        let u = Utenlandsk::UtenlandskAdresse(UtenlandskAdresse {
            adressenavn: Some("王府井大街 1".into()),
            postkode: Some("100006".into()),
            by_eller_stedsnavn: Some("Beijing".into()),
            region: Some("Beijing Shi".into()),
            landkode: Some("CN".into()),
            ..Default::default()
        });
        let e = build(&navn("Li", "Wei"), Chosen::Abroad(&u), &postcodes(), &w).unwrap_err();
        assert_eq!(e.reason, RejectReason::UnprintableCharacters);
        assert!(e.detail.contains("U+738B"), "{}", e.detail);
    }

    #[test]
    fn long_names_use_forkortet_navn() {
        let mut n = navn(
            "Marie Kristine Alexandra Henriette",
            "Løvenskiold-Wedel-Jarlsberg",
        );
        assert_eq!(
            name_line(&n, &[Window::default()]).unwrap_err().reason,
            RejectReason::AddressTooLong
        );
        n.forkortet_navn = Some("Løvenskiold-Wedel-Jarlsberg Marie K A H".into());
        assert_eq!(
            name_line(&n, &[Window::default()]).unwrap(),
            "Løvenskiold-Wedel-Jarlsberg Marie K A H"
        );
    }
}
