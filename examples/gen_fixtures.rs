//! Generator of large synthetic data sets for benchmarks: a Folkeregister extract
//! (`register.jsonl`, Freg person documents as JSON Lines) and an order file (`orders.csv`).
//!
//! ```text
//! cargo run --release --locked --example gen_fixtures -- \
//!     --persons 100000 --orders 100000 --out bench-data [--seed 1]
//! ```
//! (`make fixtures N=100000` runs exactly that.) Then, with `allow_synthetic` on:
//! `pinbrev register import bench-data/register.jsonl`, `pinbrev orders ingest
//! bench-data/orders.csv`, `pinbrev orders validate`.
//!
//! Every identity number is a synthetic test number (month + 80) made with
//! [`pinbrev::national_id::build`], unique across the file. The mix of persons (per thousand,
//! approximately): 850 residents (`bosatt`) with a `vegadresse` bostedsadresse (some also with a
//! postadresse `postboksadresse` or a c/o `vegadresse`, some with history records
//! `erGjeldende: false`, a few `fortrolig`), 30 with a `matrikkeladresse`, 80 d-number holders
//! with an address abroad (SE, DK, DE, PL, LT, GB, US; mostly `postadresseIUtlandet`, some only a
//! foreign `oppholdsadresse`, some in free format), 10 deceased, 10 emigrated (`utflyttet`),
//! 5 strictly confidential (held) and 15 too young. Postal codes and place names come from the
//! shipped list `data/postnummerregister.txt` (which has no categories, so every code fits every
//! kind of address). Names mix Norwegian, Sámi, Swedish, Danish, Polish, Lithuanian, German,
//! English and a few other Latin-script names with their diacritics. Documents carry elements
//! pinbrev does not read (`kjoenn`, `sivilstand`, `statsborgerskap`, `utflytting`) so that
//! parsing costs what it does on a real extract.
//!
//! Orders (`order_id,national_id,ordered_at,channel,language`, ids `BENCH-00000001` …): each
//! person at most once while orders ≤ persons (more orders than persons wrap around and repeat
//! people), about 2 % second orders for a person ordered before (`duplicate`), 1 % valid numbers
//! of nobody (`unknown_person`) and 0.5 % numbers with a wrong check digit
//! (`invalid_national_id`). `ordered_at` is spread over 2026-11-20..2026-11-23 (Europe/Oslo),
//! written as RFC 3339 with `+01:00` or `Z`, a few as naive Oslo time.
//!
//! Output is streamed; memory holds the list of numbers (for the order phase) and one document
//! at a time. The same `--seed` gives the same bytes. A one-line summary goes to stderr.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, Utc};
use clap::Parser;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use pinbrev::national_id;

/// The shipped postal-code list: `postnummer<TAB>poststed<TAB>…`.
const POSTCODES: &str = include_str!("../data/postnummerregister.txt");

#[derive(Debug, Parser)]
#[command(about = "Writes a large synthetic Folkeregister extract and order file for benchmarks")]
struct Args {
    /// Number of person documents in register.jsonl.
    #[arg(long)]
    persons: u64,
    /// Number of orders in orders.csv.
    #[arg(long)]
    orders: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Seed of the pseudo-random generator; the same seed gives the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

// --- A small deterministic PRNG (splitmix64) ---------------------------------------------------

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }

    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

// --- An ordered JSON value (Freg's field order, compact output) ----------------------------------

enum J {
    S(String),
    B(bool),
    N(i64),
    A(Vec<J>),
    O(Vec<(&'static str, J)>),
}

impl Serialize for J {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::S(v) => s.serialize_str(v),
            J::B(v) => s.serialize_bool(*v),
            J::N(v) => s.serialize_i64(*v),
            J::A(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            J::O(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

fn s(v: impl Into<String>) -> J {
    J::S(v.into())
}

type Fields = Vec<(&'static str, J)>;

/// One record of a Freg element: the register's metadata, then the element's own fields.
fn rec(rng: &mut Rng, current: bool, kilde: &str, body: Fields) -> J {
    let mut fields: Fields = vec![
        ("ajourholdstidspunkt", s(register_time(rng))),
        ("erGjeldende", J::B(current)),
        ("kilde", s(kilde)),
    ];
    fields.extend(body);
    J::O(fields)
}

/// A time of update between 2017 and mid-November 2026, as Freg writes it (milliseconds, `Z`).
fn register_time(rng: &mut Rng) -> String {
    let start = DateTime::<Utc>::from_timestamp(1_483_228_800, 0).expect("2017-01-01");
    let span = 311_000_000; // about 9.9 years
    let millis = rng.below(span * 1000) as i64;
    (start + Duration::milliseconds(millis)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn random_date(rng: &mut Rng, from_year: i32, to_year: i32) -> NaiveDate {
    let start = NaiveDate::from_ymd_opt(from_year, 1, 1).expect("valid");
    let end = NaiveDate::from_ymd_opt(to_year, 12, 31).expect("valid");
    let days = (end - start).num_days() as u64 + 1;
    start + Duration::days(rng.below(days) as i64)
}

// --- Reference lists ---------------------------------------------------------------------------

struct NameGroup {
    first: &'static [&'static str],
    last: &'static [&'static str],
}

#[rustfmt::skip]
const NORWEGIAN: NameGroup = NameGroup {
    first: &["Ola", "Kari", "Ørjan", "Åse", "Bjørn", "Sølvi", "Kåre", "Håkon", "Øystein", "Ingrid",
        "Solveig", "Tor", "Marit", "Jørgen", "Sigrun", "Eirik", "Nils", "Ragnhild", "Åsmund", "Gro",
        "Trond", "Hege", "Bård", "Line", "Sindre", "Ida", "Even", "Tiril", "Ådne", "Frøydis"],
    last: &["Nordmann", "Ødegård", "Bråten", "Sørbø", "Kvåle", "Solbakken", "Bjørnstad", "Ås", "Lie",
        "Hætta", "Berg", "Haugen", "Hansen", "Johansen", "Olsen", "Larsen", "Kjærnes", "Åsheim",
        "Ødegaard", "Strand", "Nygård", "Sæther", "Løvås", "Brøndbo", "Dæhli", "Fjell", "Vik", "Mo",
        "Bø", "Grønli"],
};

#[rustfmt::skip]
const SAMI: NameGroup = NameGroup {
    first: &["Áslat", "Máret", "Ánde", "Biret", "Niillas", "Sunná", "Ristin", "Ovllá", "Elle", "Ánne",
        "Mihkkal", "Ŧorbmá", "Áŋŋá", "Piera", "Issát", "Káre"],
    last: &["Somby", "Hætta", "Eira", "Gaup", "Sara", "Bongo", "Turi", "Buljo", "Utsi", "Čuđe",
        "Oskal", "Guttorm", "Máttá", "Ŋuolja", "Skum", "Bær"],
};

#[rustfmt::skip]
const SWEDISH: NameGroup = NameGroup {
    first: &["Sven-Åke", "Björn", "Åsa", "Märta", "Göran", "Linnéa", "Örjan", "Karl", "Elsa"],
    last: &["Ågren", "Lindqvist", "Söderström", "Åkesson", "Öberg", "Nyström", "Bäckström"],
};

#[rustfmt::skip]
const DANISH: NameGroup = NameGroup {
    first: &["Mette", "Søren", "Jørgen", "Bodil", "Kirsten", "Mads", "Ærø"],
    last: &["Kjærsgaard", "Jørgensen", "Nørgaard", "Østergaard", "Sørensen", "Mikkelsen"],
};

#[rustfmt::skip]
const POLISH: NameGroup = NameGroup {
    first: &["Małgorzata", "Łukasz", "Jędrzej", "Paweł", "Zofia", "Wojciech", "Bożena", "Grzegorz",
        "Agnieszka", "Kamil", "Józef", "Michał", "Żaneta"],
    last: &["Wróbel", "Świątek", "Żmuda-Mróz", "Kowalczyk", "Wójcik", "Nowak", "Łukasik",
        "Dąbrowski", "Sęk", "Jóźwiak", "Bończyk", "Częstochowski"],
};

#[rustfmt::skip]
const LITHUANIAN: NameGroup = NameGroup {
    first: &["Eglė", "Rūta", "Jonas", "Žydrūnas", "Gintarė", "Aušra", "Vytautas", "Dovilė",
        "Šarūnas"],
    last: &["Šimkūnienė", "Kazlauskas", "Žemaitė", "Petrauskas", "Jankauskienė", "Stankevičius",
        "Vaitkūnas", "Kairys"],
};

#[rustfmt::skip]
const GERMAN: NameGroup = NameGroup {
    first: &["Günter", "Jürgen", "Jörg", "Käthe", "Uwe", "Grete", "Björn", "Hans-Jürgen", "Sören",
        "Lübbe"],
    last: &["Weiß", "Groß", "Müller", "Schröder", "Fußmann", "Bäcker", "Köhler", "Strauß", "Müßig",
        "Schäfer"],
};

#[rustfmt::skip]
const ENGLISH: NameGroup = NameGroup {
    first: &["Oliver", "Mary-Ellen", "Siobhán", "James", "Chloë", "Zoë", "William"],
    last: &["O'Connor", "Bennett", "Smith", "Brontë", "Ó Súilleabháin", "Taylor"],
};

#[rustfmt::skip]
const OTHER: NameGroup = NameGroup {
    first: &["Þórður", "Þórdís", "Győző", "Zsófia", "Věra", "Ahmad", "Ana", "Iñaki", "François"],
    last: &["Guðmundsson", "Jónsdóttir", "Szűcs", "Kővári", "Dvořáková", "Karimi", "Silva", "Núñez",
        "Lefèvre"],
};

const MIDDLE: &[&str] = &[
    "Nordmann",
    "Bø",
    "Ødegård",
    "Marie",
    "Åsheim",
    "Johan",
    "Elin",
];

#[rustfmt::skip]
const STREETS: &[&str] = &["Storgata", "Kirkeveien", "Skolegata", "Fjellveien", "Strandveien",
    "Sjøgata", "Åsveien", "Bjørkeveien", "Tollbugata", "Thorvald Meyers gate", "Kongens gate",
    "Nedre Slottsgate", "Løkkeveien", "Gamle Drammensvei", "Ringveien", "Øvre Sandvikvei",
    "Hølaløkka", "Bæreia", "Gåsevikveien", "Ærfuglveien", "Čuoppogeaidnu", "Bievlavárri",
    "Ŋuvttosgeaidnu", "Áidejohgeaidnu", "Márkanbálggis", "Dronning Eufemias gate", "Jernbanegata",
    "Prestegårdsveien"];

#[rustfmt::skip]
const FARMS: &[&str] = &["Nordre Øvergård", "Šuolggaluokta", "Haugen", "Bakken", "Sørbø",
    "Øvre Ås", "Søndre Lien", "Gávnnanjárga", "Bråtan", "Nystuen"];

#[rustfmt::skip]
const KOMMUNER: &[&str] = &["0301", "1103", "4601", "5001", "5501", "3205", "1108", "4204", "3107",
    "5610", "5430"];

/// A country abroad: ISO codes, typical names, streets, and (city, valid postal code, region).
struct Country {
    alpha2: &'static str,
    alpha3: &'static str,
    names: &'static NameGroup,
    streets: &'static [&'static str],
    cities: &'static [(&'static str, &'static str, &'static str)],
}

#[rustfmt::skip]
const ABROAD: &[Country] = &[
    Country { alpha2: "SE", alpha3: "SWE", names: &SWEDISH,
        streets: &["Storgatan 12", "Drottninggatan 5", "Kungsgatan 44", "Sveavägen 9",
            "Östra Hamngatan 3"],
        cities: &[("Stockholm", "113 51", ""), ("Göteborg", "411 14", ""), ("Malmö", "211 22", ""),
            ("Uppsala", "75320", ""), ("Örebro", "702 10", "")] },
    Country { alpha2: "DK", alpha3: "DNK", names: &DANISH,
        streets: &["Nørrebrogade 45, 3. th.", "Østerbrogade 12", "Vesterbrogade 101",
            "Søndergade 8"],
        cities: &[("København N", "2200", ""), ("Aarhus C", "8000", ""), ("Odense C", "5000", ""),
            ("Aalborg", "9000", "")] },
    Country { alpha2: "DE", alpha3: "DEU", names: &GERMAN,
        streets: &["Schloßstraße 4", "Hauptstraße 17", "Müllerstraße 33", "Königsallee 2",
            "Große Bäckerstraße 9"],
        cities: &[("München", "80331", ""), ("Berlin", "10115", ""), ("Hamburg", "20095", ""),
            ("Köln", "50667", ""), ("Nürnberg", "90402", "")] },
    Country { alpha2: "PL", alpha3: "POL", names: &POLISH,
        streets: &["ul. Marszałkowska 10 m. 4", "ul. Świętokrzyska 21", "ul. Długa 5",
            "ul. Żeromskiego 14", "al. Jerozolimskie 65"],
        cities: &[("Warszawa", "00-950", ""), ("Kraków", "31-042", ""), ("Gdańsk", "80-830", ""),
            ("Łódź", "90-001", ""), ("Wrocław", "50-001", ""), ("Poznań", "61-001", "")] },
    Country { alpha2: "LT", alpha3: "LTU", names: &LITHUANIAN,
        streets: &["Gedimino pr. 9", "Laisvės al. 53", "Žalgirio g. 88", "Šv. Ignoto g. 1"],
        cities: &[("Vilnius", "01103", ""), ("Kaunas", "44280", ""), ("Klaipėda", "91247", ""),
            ("Šiauliai", "76285", "")] },
    Country { alpha2: "GB", alpha3: "GBR", names: &ENGLISH,
        streets: &["221B Baker Street", "10 Trumpington Street", "5 Princes Street",
            "42 Deansgate"],
        cities: &[("London", "EC1Y 8SY", ""), ("Cambridge", "CB2 3PQ", ""),
            ("Manchester", "M2 5BQ", ""), ("Oxford", "OX14 4PG", ""), ("Edinburgh", "EH1 1YZ", "")] },
    Country { alpha2: "US", alpha3: "USA", names: &ENGLISH,
        streets: &["350 Fifth Avenue", "1600 Pennsylvania Ave NW", "742 Evergreen Terrace",
            "55 Nicollet Mall"],
        cities: &[("New York", "10118", "NY"), ("Seattle", "98101", "WA"),
            ("Minneapolis", "55401", "MN"), ("Chicago", "60601-1234", "IL"),
            ("San Francisco", "94103", "CA")] },
];

struct Postcode {
    code: &'static str,
    place: &'static str,
}

fn load_postcodes() -> Result<Vec<Postcode>> {
    let list: Vec<Postcode> = POSTCODES
        .lines()
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let code = cols.next()?.trim();
            let place = cols.next()?.trim();
            (code.len() == 4 && !place.is_empty()).then_some(Postcode { code, place })
        })
        .collect();
    if list.is_empty() {
        bail!("data/postnummerregister.txt has no postal codes");
    }
    Ok(list)
}

// --- Persons -----------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Resident,
    Cadastral,
    DNumber,
    Deceased,
    Emigrated,
    Protected,
    TooYoung,
}

const KINDS: [Kind; 7] = [
    Kind::Resident,
    Kind::Cadastral,
    Kind::DNumber,
    Kind::Deceased,
    Kind::Emigrated,
    Kind::Protected,
    Kind::TooYoung,
];

fn pick_kind(rng: &mut Rng) -> Kind {
    match rng.below(1000) {
        0..=849 => Kind::Resident,
        850..=879 => Kind::Cadastral,
        880..=959 => Kind::DNumber,
        960..=969 => Kind::Deceased,
        970..=979 => Kind::Emigrated,
        980..=984 => Kind::Protected,
        _ => Kind::TooYoung,
    }
}

/// Finds an unused synthetic number for the birth date: starts at a random individual number
/// in the century's range and tries the next ones. `None` if every one is taken or unissuable.
fn allocate(rng: &mut Rng, used: &mut HashSet<u64>, born: NaiveDate, dnr: bool) -> Option<u64> {
    let day = born.day() + if dnr { 40 } else { 0 };
    let month = born.month() + 80;
    let year2 = born.year().rem_euclid(100) as u32;
    let (lo, hi) = match (dnr, born.year() >= 2000) {
        (true, _) => (0, 999),
        (false, false) => (0, 499),
        (false, true) => (500, 999),
    };
    let width = hi - lo + 1;
    let start = rng.range(0, width - 1);
    for k in 0..width {
        let individual = lo + (start + k) % width;
        if let Some(id) = national_id::build(day, month, year2, individual) {
            let n: u64 = id.as_digits().parse().expect("11 digits");
            if used.insert(n) {
                return Some(n);
            }
        }
    }
    None
}

/// A new unique number: draws birth dates until one has a free individual number.
fn new_number(
    rng: &mut Rng,
    used: &mut HashSet<u64>,
    from_year: i32,
    to_year: i32,
    dnr: bool,
) -> (u64, NaiveDate) {
    loop {
        let born = random_date(rng, from_year, to_year);
        if let Some(n) = allocate(rng, used, born, dnr) {
            return (n, born);
        }
    }
}

fn title_case(upper: &str) -> String {
    upper
        .split(' ')
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(first) => first.to_string() + &cs.as_str().to_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn poststed(rng: &mut Rng, postcodes: &[Postcode]) -> J {
    let pc = rng.pick(postcodes);
    let mut fields: Fields = Vec::with_capacity(2);
    match rng.below(100) {
        // The place name left out: pinbrev fills it in from the list.
        0 => {}
        // Written in mixed case, as some sources do.
        1..=4 => fields.push(("poststedsnavn", s(title_case(pc.place)))),
        _ => fields.push(("poststedsnavn", s(pc.place))),
    }
    fields.push(("postnummer", s(pc.code)));
    J::O(fields)
}

fn vegadresse(rng: &mut Rng, postcodes: &[Postcode], co: Option<String>) -> J {
    let mut v: Fields = Vec::with_capacity(9);
    if let Some(co) = co {
        v.push(("coAdressenavn", s(co)));
    }
    v.push(("kommunenummer", s(*rng.pick(KOMMUNER))));
    if rng.chance(600) {
        v.push((
            "bruksenhetsnummer",
            s(format!("H0{}0{}", rng.range(1, 5), rng.range(1, 4))),
        ));
        v.push(("bruksenhetstype", s("bolig")));
    }
    v.push(("adressenavn", s(*rng.pick(STREETS))));
    let mut number: Fields = vec![("husnummer", s(rng.range(1, 180).to_string()))];
    if rng.chance(200) {
        number.push(("husbokstav", s(["A", "B", "C", "D"][rng.below(4) as usize])));
    }
    v.push(("adressenummer", J::O(number)));
    v.push(("adressekode", s(format!("{:05}", rng.range(1000, 99999)))));
    v.push(("poststed", poststed(rng, postcodes)));
    J::O(v)
}

fn matrikkeladresse(rng: &mut Rng, postcodes: &[Postcode]) -> J {
    let kommune = *rng.pick(KOMMUNER);
    J::O(vec![
        ("bruksenhetsnummer", s("H0101")),
        (
            "matrikkelnummer",
            J::O(vec![
                ("kommunenummer", s(kommune)),
                ("gaardsnummer", J::N(i64::from(rng.range(1, 300)))),
                ("bruksnummer", J::N(i64::from(rng.range(1, 60)))),
                ("festenummer", J::N(0)),
            ]),
        ),
        ("undernummer", J::N(0)),
        ("adressetilleggsnavn", s(*rng.pick(FARMS))),
        ("poststed", poststed(rng, postcodes)),
    ])
}

fn bosted_record(rng: &mut Rng, current: bool, grading: &str, address: (&'static str, J)) -> J {
    let moved = random_date(rng, 1990, 2026).min(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
    let tract = i64::from(rng.range(100, 999));
    rec(
        rng,
        current,
        "Synutopia",
        vec![
            address,
            ("adressegradering", s(grading)),
            ("flyttedato", s(moved.to_string())),
            ("grunnkrets", J::N(tract)),
        ],
    )
}

/// An address abroad in `country`, structured or (sometimes) free format.
fn foreign_address(rng: &mut Rng, country: &Country, grading: &str) -> Fields {
    let street = *rng.pick(country.streets);
    let (city, postkode, region) = *rng.pick(country.cities);
    let landkode = if rng.chance(100) {
        country.alpha3
    } else {
        country.alpha2
    };
    let address = if rng.chance(150) {
        let mut lines = vec![s(street)];
        if rng.chance(300) {
            lines.insert(0, s("c/o Familien Berg"));
        }
        (
            "utenlandskAdresseIFrittFormat",
            J::O(vec![
                ("adresselinje", J::A(lines)),
                ("postkode", s(postkode)),
                ("byEllerStedsnavn", s(city)),
                ("landkode", s(landkode)),
            ]),
        )
    } else {
        let mut a: Fields = vec![("adressenavn", s(street))];
        if rng.chance(150) {
            a.push(("boenhet", s(format!("Apt {}", rng.range(1, 40)))));
        }
        a.push(("postkode", s(postkode)));
        a.push(("byEllerStedsnavn", s(city)));
        if !region.is_empty() {
            a.push(("region", s(region)));
        }
        a.push(("landkode", s(landkode)));
        ("utenlandskAdresse", J::O(a))
    };
    vec![("adressegradering", s(grading)), address]
}

fn name_group(rng: &mut Rng) -> &'static NameGroup {
    match rng.below(100) {
        0..=69 => &NORWEGIAN,
        70..=77 => &SAMI,
        78..=85 => &POLISH,
        86..=90 => &LITHUANIAN,
        91..=94 => &GERMAN,
        95..=96 => &SWEDISH,
        _ => &OTHER,
    }
}

fn navn(rng: &mut Rng, group: &NameGroup) -> Fields {
    let mut first = (*rng.pick(group.first)).to_string();
    let mut middle = rng.chance(150).then(|| (*rng.pick(MIDDLE)).to_string());
    let mut last = (*rng.pick(group.last)).to_string();
    // Tenor's synthetic persons are written in capitals.
    if rng.chance(50) {
        first = first.to_uppercase();
        middle = middle.map(|m| m.to_uppercase());
        last = last.to_uppercase();
    }
    let short: String = format!("{} {}", last, first)
        .to_uppercase()
        .chars()
        .take(25)
        .collect();
    let mut fields: Fields = vec![("fornavn", s(first))];
    if let Some(m) = middle {
        fields.push(("mellomnavn", s(m)));
    }
    fields.push(("etternavn", s(last)));
    fields.push(("forkortetNavn", s(short.trim_end())));
    fields
}

fn number_text(n: u64) -> String {
    format!("{n:011}")
}

/// One Freg person document.
fn person_document(
    rng: &mut Rng,
    used: &mut HashSet<u64>,
    postcodes: &[Postcode],
    kind: Kind,
) -> (u64, J) {
    let dnr = kind == Kind::DNumber;
    let (number, born) = match kind {
        Kind::TooYoung => new_number(rng, used, 2015, 2024, false),
        Kind::Deceased => new_number(rng, used, 1925, 1960, false),
        _ => new_number(rng, used, 1935, 2010, dnr),
    };
    let country = dnr
        .then(|| rng.pick(ABROAD))
        .or_else(|| (kind == Kind::Emigrated).then(|| rng.pick(ABROAD)));
    let group = match country {
        Some(c) if dnr && rng.chance(800) => c.names,
        _ => name_group(rng),
    };

    let mut doc: Fields = Vec::with_capacity(14);

    // identifikasjonsnummer: the number in use, sometimes after a ceased d-number.
    let mut idents = vec![rec(
        rng,
        true,
        "KILDE_DSF",
        vec![
            ("status", s("iBruk")),
            ("foedselsEllerDNummer", s(number_text(number))),
            (
                "identifikatortype",
                s(if dnr { "dNummer" } else { "foedselsnummer" }),
            ),
        ],
    )];
    if !dnr && kind == Kind::Resident && rng.chance(10) {
        let (old, _) = new_number(rng, used, 1935, 2010, true);
        idents.push(rec(
            rng,
            false,
            "KILDE_DSF",
            vec![
                ("status", s("opphoert")),
                ("foedselsEllerDNummer", s(number_text(old))),
                ("identifikatortype", s("dNummer")),
            ],
        ));
    }
    doc.push(("identifikasjonsnummer", J::A(idents)));

    // status
    let status = match kind {
        Kind::DNumber => {
            if rng.chance(800) {
                "ikkeBosatt"
            } else {
                "midlertidig"
            }
        }
        Kind::Emigrated => "utflyttet",
        Kind::Deceased if rng.chance(500) => "doed",
        Kind::Protected if rng.chance(200) => "utflyttet",
        _ => "bosatt",
    };
    let status_rec = |rng: &mut Rng, current: bool, status: &str| {
        let at = register_time(rng);
        rec(
            rng,
            current,
            "KILDE_DSF",
            vec![("gyldighetstidspunkt", s(at)), ("status", s(status))],
        )
    };
    let mut statuses = vec![status_rec(rng, true, status)];
    let history = rng.chance(150);
    if history && status == "bosatt" {
        statuses.push(status_rec(rng, false, "utflyttet"));
    }
    doc.push(("status", J::A(statuses)));

    // foedsel
    let mut foedsel: Fields = vec![
        ("foedselsdato", s(born.to_string())),
        ("foedselsaar", s(born.year().to_string())),
    ];
    if !dnr {
        foedsel.push(("foedekommuneINorge", s(*rng.pick(KOMMUNER))));
        foedsel.push(("foedeland", s("NOR")));
    } else {
        foedsel.push(("foedeland", s(country.map_or("NOR", |c| c.alpha3))));
    }
    let r = rec(rng, true, "Synutopia", foedsel);
    doc.push(("foedsel", J::A(vec![r])));

    // navn
    let n = navn(rng, group);
    let r = rec(rng, true, "Synutopia", n);
    doc.push(("navn", J::A(vec![r])));

    // Elements pinbrev does not read.
    let sex = if rng.chance(500) { "kvinne" } else { "mann" };
    let r = rec(rng, true, "Synutopia", vec![("kjoenn", s(sex))]);
    doc.push(("kjoenn", J::A(vec![r])));
    if kind != Kind::TooYoung {
        let civil = *rng.pick(&["ugift", "gift", "skilt", "separert", "enkeEllerEnkemann"]);
        let since = random_date(rng, 1990, 2025).to_string();
        let r = rec(
            rng,
            true,
            "KILDE_DSF",
            vec![("sivilstand", s(civil)), ("sivilstandsdato", s(since))],
        );
        doc.push(("sivilstand", J::A(vec![r])));
    }
    let land = match country {
        Some(c) if dnr => c.alpha3,
        _ => "NOR",
    };
    let since = random_date(rng, 1990, 2025).to_string();
    let r = rec(
        rng,
        true,
        "KILDE_DSF",
        vec![("land", s(land)), ("bekreftelsesdato", s(since))],
    );
    doc.push(("statsborgerskap", J::A(vec![r])));

    // Deaths and protection.
    if kind == Kind::Deceased && status != "doed" {
        let died = random_date(rng, 2024, 2025).to_string();
        let r = rec(rng, true, "KILDE_DSF", vec![("doedsdato", s(died))]);
        doc.push(("doedsfall", J::A(vec![r])));
    }
    let mut grading = "ugradert";
    if kind == Kind::Protected {
        grading = if status == "utflyttet" {
            "strengtFortroligUtland"
        } else {
            "strengtFortrolig"
        };
    } else if kind == Kind::Resident && rng.chance(10) {
        grading = "fortrolig";
    }
    if grading != "ugradert" {
        let r = rec(
            rng,
            true,
            "KILDE_DSF",
            vec![("graderingsnivaa", s(grading))],
        );
        doc.push(("adressebeskyttelse", J::A(vec![r])));
    }

    // Addresses.
    match kind {
        Kind::Resident | Kind::Cadastral | Kind::Deceased | Kind::TooYoung | Kind::Protected
            if status != "utflyttet" =>
        {
            let address = if kind == Kind::Cadastral {
                ("matrikkeladresse", matrikkeladresse(rng, postcodes))
            } else {
                ("vegadresse", vegadresse(rng, postcodes, None))
            };
            let mut bosted = vec![bosted_record(rng, true, grading, address)];
            if history {
                let old = ("vegadresse", vegadresse(rng, postcodes, None));
                bosted.push(bosted_record(rng, false, grading, old));
            }
            doc.push(("bostedsadresse", J::A(bosted)));
            if kind == Kind::Resident {
                let post = match rng.below(1000) {
                    0..=99 => {
                        let mut b: Fields = Vec::new();
                        let boks = rng.range(1, 9999);
                        b.push((
                            "postboks",
                            s(if rng.chance(300) {
                                format!("Postboks {boks} Sentrum")
                            } else {
                                format!("Postboks {boks}")
                            }),
                        ));
                        b.push(("poststed", poststed(rng, postcodes)));
                        Some(("postboksadresse", J::O(b)))
                    }
                    100..=119 => {
                        let co = format!("c/o {}", rng.pick(NORWEGIAN.last));
                        Some(("vegadresse", vegadresse(rng, postcodes, Some(co))))
                    }
                    _ => None,
                };
                if let Some(address) = post {
                    let r = rec(
                        rng,
                        true,
                        "Synutopia",
                        vec![("adressegradering", s(grading)), address],
                    );
                    doc.push(("postadresse", J::A(vec![r])));
                }
            }
        }
        _ => {
            let country = country.unwrap_or_else(|| rng.pick(ABROAD));
            if status == "utflyttet" {
                let moved = random_date(rng, 2010, 2025).to_string();
                let r = rec(
                    rng,
                    true,
                    "KILDE_DSF",
                    vec![
                        ("tilflyttingsland", s(country.alpha3)),
                        ("utflyttingsdato", s(moved)),
                    ],
                );
                doc.push(("utflytting", J::A(vec![r])));
                // The old Norwegian address, explicitly no longer current.
                let old = ("vegadresse", vegadresse(rng, postcodes, None));
                let r = bosted_record(rng, false, "ugradert", old);
                doc.push(("bostedsadresse", J::A(vec![r])));
            }
            let element = if dnr && rng.chance(100) {
                "oppholdsadresse"
            } else {
                "postadresseIUtlandet"
            };
            let fields = foreign_address(rng, country, grading);
            let r = rec(rng, true, "KILDE_DSF", fields);
            doc.push((element, J::A(vec![r])));
        }
    }
    (number, J::O(doc))
}

// --- Orders ------------------------------------------------------------------------------------

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A stride coprime with `n`, so that `i * stride + offset (mod n)` visits every person once.
fn coprime_stride(n: u64) -> u64 {
    let mut stride = (n as f64 * 0.618_033_988_7) as u64 | 1;
    while gcd(stride, n) != 1 {
        stride += 1;
    }
    stride.max(1)
}

fn ordered_at(rng: &mut Rng) -> String {
    // 2026-11-20T00:00 to 2026-11-24T00:00 in Oslo (UTC+1 in November).
    let start = NaiveDate::from_ymd_opt(2026, 11, 19)
        .and_then(|d| d.and_hms_opt(23, 0, 0))
        .expect("valid")
        .and_utc();
    let t = start + Duration::seconds(rng.below(4 * 86_400) as i64);
    let local = t + Duration::hours(1);
    match rng.below(100) {
        0..=69 => format!("{}+01:00", local.format("%Y-%m-%dT%H:%M:%S")),
        70..=94 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        _ => local.format("%Y-%m-%d %H:%M:%S").to_string(),
    }
}

#[derive(Debug, Default)]
struct OrderCounts {
    first: u64,
    second: u64,
    unknown: u64,
    bad_check: u64,
}

fn write_orders(
    rng: &mut Rng,
    out: &Path,
    numbers: &[u64],
    used: &mut HashSet<u64>,
    count: u64,
) -> Result<OrderCounts> {
    let file = File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    writeln!(w, "order_id,national_id,ordered_at,channel,language")?;
    let n = numbers.len() as u64;
    let stride = coprime_stride(n.max(1));
    let offset = rng.below(n.max(1));
    let person = |i: u64| {
        let k = (u128::from(i % n) * u128::from(stride) + u128::from(offset)) % u128::from(n);
        numbers[k as usize]
    };
    let mut counts = OrderCounts::default();
    for i in 0..count {
        let roll = rng.below(1000);
        let number = if n == 0 || roll < 10 {
            counts.unknown += 1;
            new_number(rng, used, 1940, 2005, false).0
        } else if roll < 15 {
            counts.bad_check += 1;
            let valid = person(rng.below(n));
            // A changed last digit always breaks the second check digit.
            valid - valid % 10 + (valid % 10 + 1 + rng.below(9)) % 10
        } else if roll < 35 && i > 0 {
            counts.second += 1;
            person(rng.below(i))
        } else {
            counts.first += 1;
            person(i)
        };
        let channel = match rng.below(100) {
            0..=69 => "web",
            70..=79 => "sms",
            80..=89 => "phone",
            _ => "support",
        };
        let language = match rng.below(100) {
            0..=49 => "",
            50..=79 => "nb",
            80..=89 => "nn",
            _ => "en",
        };
        writeln!(
            w,
            "BENCH-{:08},{},{},{channel},{language}",
            i + 1,
            number_text(number),
            ordered_at(rng)
        )?;
    }
    w.flush()?;
    Ok(counts)
}

// --- Main --------------------------------------------------------------------------------------

fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let postcodes = load_postcodes()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut rng = Rng::new(args.seed);

    let register_path = args.out.join("register.jsonl");
    let file = File::create(&register_path)
        .with_context(|| format!("creating {}", register_path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut used: HashSet<u64> = HashSet::with_capacity(args.persons as usize * 11 / 10);
    let mut numbers: Vec<u64> = Vec::with_capacity(args.persons as usize);
    let mut by_kind = [0u64; KINDS.len()];
    for _ in 0..args.persons {
        let kind = pick_kind(&mut rng);
        by_kind[KINDS.iter().position(|k| *k == kind).expect("listed")] += 1;
        let (number, doc) = person_document(&mut rng, &mut used, &postcodes, kind);
        serde_json::to_writer(&mut w, &doc)?;
        w.write_all(b"\n")?;
        numbers.push(number);
    }
    w.flush()?;
    drop(w);

    let orders_path = args.out.join("orders.csv");
    let counts = write_orders(&mut rng, &orders_path, &numbers, &mut used, args.orders)?;

    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let kinds: Vec<String> = KINDS
        .iter()
        .zip(by_kind)
        .map(|(k, c)| format!("{k:?}={c}"))
        .collect();
    eprintln!(
        "gen_fixtures: seed {}: {} persons ({}) -> {} ({} bytes); {} orders (first {}, second {}, unknown {}, bad check digit {}) -> {} ({} bytes); {:.2} s",
        args.seed,
        args.persons,
        kinds.join(" "),
        register_path.display(),
        size(&register_path),
        args.orders,
        counts.first,
        counts.second,
        counts.unknown,
        counts.bad_check,
        orders_path.display(),
        size(&orders_path),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
