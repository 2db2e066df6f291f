//! The Folkeregister extract: Skatteetaten's Freg person documents as JSON Lines.
//!
//! A document is read once, at the edge, into a [`Person`]: the person's identifiers and the
//! current record of every element pinbrev uses. A line that is not a person document is a
//! [`LineProblem`], saying where in the document and what, without quoting its values.

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// One record of a Freg element: the register's metadata (flat beside the element's own
/// fields, as Freg sends it) and the element's own fields.
#[derive(Debug, Deserialize)]
struct Rec<T> {
    #[serde(rename = "erGjeldende", default, deserialize_with = "flag")]
    current: Option<bool>,
    /// When the record stopped being valid, if it has.
    #[serde(rename = "opphoerstidspunkt", default, deserialize_with = "text")]
    ended_at: Option<String>,
    #[serde(flatten)]
    body: T,
}

impl<T> Rec<T> {
    /// Whether the record has ended by `now`: its `opphoerstidspunkt` is past (or unreadable,
    /// which is taken as past: an ended address must never get a letter).
    fn ended(&self, now: DateTime<Utc>) -> bool {
        self.ended_at.as_deref().is_some_and(|at| {
            DateTime::parse_from_rfc3339(at)
                .map(|t| t.with_timezone(&Utc) <= now)
                .unwrap_or(true)
        })
    }
}

/// Picks the current record: the first that says `erGjeldende: true` (Freg lists the newest
/// first); if none does, the last one that does not say `false`. A record that explicitly says
/// it is not current, or whose `opphoerstidspunkt` has passed, is never used.
fn current<T>(records: Vec<Rec<T>>, now: DateTime<Utc>) -> Option<T> {
    let mut flagged = None;
    let mut unflagged = None;
    for r in records {
        if r.ended(now) {
            continue;
        }
        match r.current {
            Some(true) if flagged.is_none() => flagged = Some(r.body),
            None => unflagged = Some(r.body),
            _ => {}
        }
    }
    flagged.or(unflagged)
}

/// Accepts a JSON string or number (the register is not consistent about e.g. `husnummer`);
/// anything else reads as absent. (A visitor: this is read dozens of times per person, and a
/// `serde_json::Value` in between cost an allocation each time.)
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct TextOrNumber;

    impl<'de> Visitor<'de> for TextOrNumber {
        type Value = Option<String>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string or a number")
        }

        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(non_empty(s))
        }

        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Self::Value, E> {
            Ok(Some(n.to_string()))
        }

        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Self::Value, E> {
            Ok(Some(n.to_string()))
        }

        fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Self::Value, E> {
            Ok(serde_json::Number::from_f64(n).map(|n| n.to_string()))
        }

        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {}
            Ok(None)
        }
    }

    d.deserialize_option(TextOrNumber)
}

/// A string trimmed, `None` when nothing is left.
fn non_empty(s: &str) -> Option<String> {
    Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Address lines: an array of strings, or one string as a one-line array. (Visitors rather than
/// untagged enums here and below: these are read for every person, and an untagged enum buffers
/// each value before it tries the shapes.)
fn text_lines<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct Lines;

    impl<'de> Visitor<'de> for Lines {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("address lines: an array of strings or one string")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut lines = Vec::new();
            while let Some(line) = seq.next_element::<Option<String>>()? {
                lines.extend(line.as_deref().and_then(non_empty));
            }
            Ok(lines)
        }

        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(non_empty(s).into_iter().collect())
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }

    d.deserialize_any(Lines)
}

/// A `poststed`: the object `{postnummer, poststedsnavn}`, or (as in some of Skatteetaten's own
/// examples) the place name alone as a string. A postal code sent as a number gets back its
/// leading zeros.
fn poststed<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Poststed>, D::Error> {
    struct Place;

    impl<'de> Visitor<'de> for Place {
        type Value = Option<Poststed>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a poststed object or a place name")
        }

        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(Some(Poststed {
                postnummer: None,
                poststedsnavn: non_empty(s),
            }))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut p = Poststed::default();
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match key.as_ref() {
                    "postnummer" => p.postnummer = map.next_value::<Postnummer>()?.0,
                    "poststedsnavn" => p.poststedsnavn = map.next_value::<Text>()?.0,
                    _ => {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
            }
            Ok(Some(p))
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }

    d.deserialize_any(Place)
}

/// A value read as [`text`].
#[derive(Deserialize)]
struct Text(#[serde(deserialize_with = "text")] Option<String>);

/// A Norwegian postal code as text: one sent as a number gets back its leading zeros
/// (`150` → `0150`).
#[derive(Default)]
struct Postnummer(Option<String>);

impl<'de> Deserialize<'de> for Postnummer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Postnummer(
            match Option::<serde_json::Value>::deserialize(d)? {
                Some(serde_json::Value::String(s)) => {
                    Some(s.trim().to_string()).filter(|s| !s.is_empty())
                }
                Some(serde_json::Value::Number(n)) => n.as_u64().map(|n| format!("{n:04}")),
                _ => None,
            },
        ))
    }
}

/// `poststed` of a Norwegian address.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Poststed {
    #[serde(default, deserialize_with = "text")]
    pub postnummer: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub poststedsnavn: Option<String>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Adressenummer {
    #[serde(default, deserialize_with = "text")]
    pub husnummer: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub husbokstav: Option<String>,
}

/// A street address (`vegadresse`, also the postal kind `VegadresseForPost`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vegadresse {
    #[serde(default, deserialize_with = "text")]
    pub co_adressenavn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub adressetilleggsnavn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub adressenavn: Option<String>,
    #[serde(default)]
    pub adressenummer: Option<Adressenummer>,
    #[serde(default, deserialize_with = "text")]
    pub bruksenhetsnummer: Option<String>,
    #[serde(default, deserialize_with = "poststed")]
    pub poststed: Option<Poststed>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Matrikkelnummer {
    #[serde(default, deserialize_with = "text")]
    pub gaardsnummer: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub bruksnummer: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub festenummer: Option<String>,
}

/// A cadastral address (`matrikkeladresse`): no street name, often a farm name.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Matrikkeladresse {
    #[serde(default, deserialize_with = "text")]
    pub co_adressenavn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub adressetilleggsnavn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub bruksenhetsnummer: Option<String>,
    #[serde(default)]
    pub matrikkelnummer: Option<Matrikkelnummer>,
    #[serde(default, deserialize_with = "poststed")]
    pub poststed: Option<Poststed>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Postboksadresse {
    #[serde(default, deserialize_with = "text")]
    pub postbokseier: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub postboks: Option<String>,
    #[serde(default, deserialize_with = "poststed")]
    pub poststed: Option<Poststed>,
}

/// A free-form Norwegian postal address (`postadresseIFrittFormat`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "FrittFormatAsSent")]
pub struct PostadresseIFrittFormat {
    pub adresselinje: Vec<String>,
    pub poststed: Option<Poststed>,
}

/// `postadresseIFrittFormat` as it may arrive: the postal code inside `poststed`, or (as in some
/// of Skatteetaten's own examples) beside it, with `poststed` the place name.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FrittFormatAsSent {
    #[serde(default, deserialize_with = "text_lines")]
    adresselinje: Vec<String>,
    #[serde(default, deserialize_with = "poststed")]
    poststed: Option<Poststed>,
    #[serde(default)]
    postnummer: Postnummer,
}

impl From<FrittFormatAsSent> for PostadresseIFrittFormat {
    fn from(f: FrittFormatAsSent) -> Self {
        let mut poststed = f.poststed;
        if let Some(code) = f.postnummer.0 {
            let p = poststed.get_or_insert_with(Poststed::default);
            p.postnummer.get_or_insert(code);
        }
        PostadresseIFrittFormat {
            adresselinje: f.adresselinje,
            poststed,
        }
    }
}

/// A structured address abroad (`utenlandskAdresse`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UtenlandskAdresse {
    #[serde(default, deserialize_with = "text")]
    pub co_adressenavn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub adressenavn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub bygning: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub etasjenummer: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub boenhet: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub postboks: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub postkode: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub by_eller_stedsnavn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub distriktsnavn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub region: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub landkode: Option<String>,
}

/// A free-form address abroad (`utenlandskAdresseIFrittFormat`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UtenlandskAdresseIFrittFormat {
    #[serde(default, deserialize_with = "text_lines")]
    pub adresselinje: Vec<String>,
    #[serde(default, deserialize_with = "text")]
    pub postkode: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub by_eller_stedsnavn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub landkode: Option<String>,
}

/// A Norwegian residential address (`bostedsadresse`); `ukjentBosted` does not count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Bosted {
    Vegadresse(Vegadresse),
    Matrikkeladresse(Matrikkeladresse),
}

/// A Norwegian postal address (`postadresse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Postadresse {
    Vegadresse(Vegadresse),
    Postboksadresse(Postboksadresse),
    PostadresseIFrittFormat(PostadresseIFrittFormat),
}

/// An address abroad (`postadresseIUtlandet` or a foreign `oppholdsadresse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Utenlandsk {
    UtenlandskAdresse(UtenlandskAdresse),
    UtenlandskAdresseIFrittFormat(UtenlandskAdresseIFrittFormat),
}

/// The type of a register identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum IdentifierType {
    Foedselsnummer,
    DNummer,
    #[serde(other)]
    Other,
}

/// One of the person's identifiers, current or not.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identifier {
    pub number: String,
    pub id_type: IdentifierType,
    pub in_use: bool,
}

/// The person's name (`navn`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Navn {
    #[serde(default, deserialize_with = "text")]
    pub fornavn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub mellomnavn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub etternavn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub forkortet_navn: Option<String>,
}

impl Navn {
    /// First, middle and last name, as the register writes them.
    pub fn full(&self) -> String {
        [&self.fornavn, &self.mellomnavn, &self.etternavn]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What pinbrev keeps of a person: identifiers and the current record of each element it uses.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub identifiers: Vec<Identifier>,
    pub status: Option<String>,
    pub name: Option<Navn>,
    pub birth_date: Option<NaiveDate>,
    /// `foedselsaar`, for a person whose register record has no full birth date.
    #[serde(default)]
    pub birth_year: Option<i32>,
    pub deceased: bool,
    /// `falskIdentitet` with `erFalsk: true`: the identity is a false one.
    #[serde(default)]
    pub false_identity: bool,
    pub protection: Option<String>,
    pub bosted: Option<Bosted>,
    pub postadresse: Option<Postadresse>,
    pub postadresse_i_utlandet: Option<Utenlandsk>,
    pub oppholdsadresse_utland: Option<Utenlandsk>,
}

impl Person {
    /// The identifier in use (`iBruk`), if any; a current one of several is preferred by order
    /// in the document (the register lists the one in use).
    pub fn identifier_in_use(&self) -> Option<&Identifier> {
        self.identifiers.iter().find(|i| i.in_use)
    }
}

// --- The Freg document as it arrives ---------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FregIdent {
    #[serde(default, deserialize_with = "text")]
    foedsels_eller_d_nummer: Option<String>,
    #[serde(default, deserialize_with = "text")]
    identifikatortype: Option<String>,
    #[serde(default, deserialize_with = "text")]
    status: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FregStatus {
    #[serde(default, deserialize_with = "text")]
    status: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FregFoedsel {
    #[serde(default, deserialize_with = "text")]
    foedselsdato: Option<String>,
    #[serde(default, deserialize_with = "text")]
    foedselsaar: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FregDoedsfall {}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FregFalskIdentitet {
    #[serde(default, deserialize_with = "flag")]
    er_falsk: Option<bool>,
}

/// Accepts a JSON boolean or the strings `"true"`/`"false"`.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Bool(b)) => Some(b),
        Some(serde_json::Value::String(s)) => match s.trim() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FregBeskyttelse {
    #[serde(default, deserialize_with = "grading")]
    graderingsnivaa: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FregBosted {
    vegadresse: Option<Vegadresse>,
    matrikkeladresse: Option<Matrikkeladresse>,
    #[serde(default, deserialize_with = "grading")]
    adressegradering: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FregPost {
    vegadresse: Option<Vegadresse>,
    postboksadresse: Option<Postboksadresse>,
    postadresse_i_fritt_format: Option<PostadresseIFrittFormat>,
    #[serde(default, deserialize_with = "grading")]
    adressegradering: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FregUtland {
    utenlandsk_adresse: Option<UtenlandskAdresse>,
    utenlandsk_adresse_i_fritt_format: Option<UtenlandskAdresseIFrittFormat>,
    #[serde(default, deserialize_with = "grading")]
    adressegradering: Option<String>,
}

/// An element's records: the Freg API sends most elements as an array of records, and some
/// (`doedsfall`, `falskIdentitet`, of which a person has at most one) as a single record; `null`
/// or an absent element is no record.
fn recs<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<Rec<T>>, D::Error> {
    struct OneOrMany<T>(std::marker::PhantomData<T>);

    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for OneOrMany<T> {
        type Value = Vec<Rec<T>>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of records or a single record")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(16));
            // A `null` inside the array is no record, like an absent element.
            while let Some(r) = seq.next_element::<Option<Rec<T>>>()? {
                records.extend(r);
            }
            Ok(records)
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Rec::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(|r| vec![r])
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }

    d.deserialize_any(OneOrMany(std::marker::PhantomData))
}

/// The elements of a Freg person document that pinbrev reads; the rest is ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FregDocument {
    #[serde(default, deserialize_with = "recs")]
    identifikasjonsnummer: Vec<Rec<FregIdent>>,
    #[serde(default, deserialize_with = "recs")]
    status: Vec<Rec<FregStatus>>,
    #[serde(default, deserialize_with = "recs")]
    navn: Vec<Rec<Navn>>,
    #[serde(default, deserialize_with = "recs")]
    foedsel: Vec<Rec<FregFoedsel>>,
    #[serde(default, deserialize_with = "recs")]
    foedselsdato: Vec<Rec<FregFoedsel>>,
    #[serde(default, deserialize_with = "recs")]
    doedsfall: Vec<Rec<FregDoedsfall>>,
    #[serde(default, deserialize_with = "recs")]
    falsk_identitet: Vec<Rec<FregFalskIdentitet>>,
    #[serde(default, deserialize_with = "recs")]
    adressebeskyttelse: Vec<Rec<FregBeskyttelse>>,
    #[serde(default, deserialize_with = "recs")]
    bostedsadresse: Vec<Rec<FregBosted>>,
    #[serde(default, deserialize_with = "recs")]
    postadresse: Vec<Rec<FregPost>>,
    #[serde(default, deserialize_with = "recs")]
    postadresse_i_utlandet: Vec<Rec<FregUtland>>,
    #[serde(default, deserialize_with = "recs")]
    oppholdsadresse: Vec<Rec<FregUtland>>,
    /// A lookup's wrapper of one person: `{"foedselsEllerDNummer", "folkeregisterperson"}`.
    #[serde(default)]
    folkeregisterperson: Option<Box<FregDocument>>,
    /// A bulk lookup's answer: `{"oppslag": [{"folkeregisterperson": …}, …]}`.
    #[serde(default)]
    oppslag: Option<Vec<FregOppslag>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FregOppslag {
    #[serde(default)]
    folkeregisterperson: Option<FregDocument>,
}

impl FregDocument {
    /// The person documents a line holds: itself, or what a lookup's wrapper holds.
    fn documents(mut self) -> Vec<FregDocument> {
        if let Some(inner) = self.folkeregisterperson.take() {
            return inner.documents();
        }
        if let Some(oppslag) = self.oppslag.take() {
            return oppslag
                .into_iter()
                .filter_map(|o| o.folkeregisterperson)
                .flat_map(FregDocument::documents)
                .collect();
        }
        vec![self]
    }
}

const STRICTLY_CONFIDENTIAL: [&str; 2] = ["strengtFortrolig", "strengtFortroligUtland"];

/// A grading (`graderingsnivaa`, `adressegradering`) in the register's own spelling, whatever
/// the case or separators it came with (`STRENGT_FORTROLIG`, `strengt fortrolig`): a protected
/// person must be recognised however the value is written.
fn grading<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(text(d)?.map(|raw| {
        let key: String = raw
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        match key.as_str() {
            "strengtfortrolig" => "strengtFortrolig".to_string(),
            "strengtfortroligutland" => "strengtFortroligUtland".to_string(),
            "fortrolig" => "fortrolig".to_string(),
            "ugradert" => "ugradert".to_string(),
            "klientadresse" => "klientadresse".to_string(),
            _ => raw,
        }
    }))
}

/// A person read from a line of an extract, ready to store.
#[derive(Debug, Clone)]
pub struct ImportedPerson {
    pub person: Person,
    pub line: u64,
}

/// Why a line of an extract was not loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineProblem {
    /// Not JSON, or not a person document: where in the document (`doedsfall`,
    /// `bostedsadresse[0].vegadresse`; empty for the whole line) and what, without quoting the
    /// document's values.
    MalformedJson { path: String, message: String },
    /// The document has no `foedselsEllerDNummer` at all.
    NoIdentifier,
    /// The line is not UTF-8.
    NotUtf8,
    /// The line is longer than any person document: `bytes` long, over `max`. It is skipped
    /// without being held in memory.
    TooLong { bytes: u64, max: usize },
}

impl LineProblem {
    /// The code stored and reported for the line.
    pub fn code(&self) -> &'static str {
        match self {
            LineProblem::MalformedJson { .. } => "malformed_json",
            LineProblem::NoIdentifier => "no_identifier",
            LineProblem::NotUtf8 => "not_utf8",
            LineProblem::TooLong { .. } => "line_too_long",
        }
    }

    /// The element the problem is in, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            LineProblem::MalformedJson { path, .. } if !path.is_empty() && path != "." => {
                Some(path)
            }
            _ => None,
        }
    }

    /// What is wrong, for the line's error.
    pub fn message(&self) -> String {
        match self {
            // The path, when there is one, is the error's field.
            LineProblem::MalformedJson { message, .. } => {
                format!("not a Freg person document: {message}")
            }
            LineProblem::NoIdentifier => {
                "no identifikasjonsnummer/foedselsEllerDNummer in the document".into()
            }
            LineProblem::NotUtf8 => "the line is not UTF-8".into(),
            LineProblem::TooLong { bytes, max } => format!(
                "the line is {bytes} bytes long, longer than any person document (at most {max}); skipped"
            ),
        }
    }
}

/// Why `line` is not a person document: read again, this time keeping track of where the
/// parser was (only for lines that fail, so the common case pays nothing for it).
fn malformed(line: &str) -> LineProblem {
    let mut de = serde_json::Deserializer::from_str(line);
    match serde_path_to_error::deserialize::<_, FregDocument>(&mut de) {
        Ok(_) => LineProblem::MalformedJson {
            path: String::new(),
            message: "trailing characters after the document".into(),
        },
        Err(e) => LineProblem::MalformedJson {
            path: crate::free_text::clean_to(&e.path().to_string(), crate::free_text::MAX_QUOTED),
            message: crate::free_text::without_quoted_values(&e.inner().to_string()),
        },
    }
}

/// Reads one line of an extract — a Freg person document, or a lookup's answer wrapping one or
/// more (`folkeregisterperson`, `oppslag`) — into its people, as of `now` (records whose
/// `opphoerstidspunkt` has passed are not current).
pub fn parse_line(line: &str, now: DateTime<Utc>) -> Result<Vec<Person>, LineProblem> {
    let doc: FregDocument = serde_json::from_str(line).map_err(|_| malformed(line))?;
    let docs = doc.documents();
    if docs.is_empty() {
        return Err(LineProblem::NoIdentifier);
    }
    docs.into_iter().map(|d| person_of(d, now)).collect()
}

/// Reads a line that holds one person document, as of now; a line with several people gives
/// the first.
pub fn parse_document(line: &str) -> Result<Person, LineProblem> {
    parse_line(line, Utc::now()).map(|people| {
        people
            .into_iter()
            .next()
            .expect("parse_line gives at least one person")
    })
}

/// What pinbrev keeps of one person document.
fn person_of(doc: FregDocument, now: DateTime<Utc>) -> Result<Person, LineProblem> {
    let identifiers: Vec<Identifier> = doc
        .identifikasjonsnummer
        .into_iter()
        .filter_map(|r| {
            // A record that explicitly is no longer current (or has ended) is not in use,
            // whatever its status.
            let in_use = r.body.status.as_deref() == Some("iBruk")
                && r.current != Some(false)
                && !r.ended(now);
            let number = r.body.foedsels_eller_d_nummer?;
            let id_type = match r.body.identifikatortype.as_deref() {
                Some("foedselsnummer") => IdentifierType::Foedselsnummer,
                Some("dNummer") => IdentifierType::DNummer,
                _ => IdentifierType::Other,
            };
            Some(Identifier {
                number,
                id_type,
                in_use,
            })
        })
        .collect();
    if identifiers.is_empty() {
        return Err(LineProblem::NoIdentifier);
    }

    let mut protection = current(doc.adressebeskyttelse, now).and_then(|b| b.graderingsnivaa);
    let mut note_grading = |g: &Option<String>| {
        // An address record graded strictly confidential protects the person as much as the
        // adressebeskyttelse element does; never let such an address out.
        if let Some(g) = g.as_deref().filter(|g| STRICTLY_CONFIDENTIAL.contains(g)) {
            if !protection
                .as_deref()
                .is_some_and(|p| STRICTLY_CONFIDENTIAL.contains(&p))
            {
                protection = Some(g.to_string());
            }
        }
    };

    let bosted = current(doc.bostedsadresse, now).and_then(|b| {
        note_grading(&b.adressegradering);
        b.vegadresse
            .map(Bosted::Vegadresse)
            .or(b.matrikkeladresse.map(Bosted::Matrikkeladresse))
    });
    let postadresse = current(doc.postadresse, now).and_then(|p| {
        note_grading(&p.adressegradering);
        p.postboksadresse
            .map(Postadresse::Postboksadresse)
            .or(p.vegadresse.map(Postadresse::Vegadresse))
            .or(p
                .postadresse_i_fritt_format
                .map(Postadresse::PostadresseIFrittFormat))
    });
    let mut utland = |recs: Vec<Rec<FregUtland>>| {
        current(recs, now).and_then(|u| {
            note_grading(&u.adressegradering);
            u.utenlandsk_adresse.map(Utenlandsk::UtenlandskAdresse).or(u
                .utenlandsk_adresse_i_fritt_format
                .map(Utenlandsk::UtenlandskAdresseIFrittFormat))
        })
    };
    let postadresse_i_utlandet = utland(doc.postadresse_i_utlandet);
    let oppholdsadresse_utland = utland(doc.oppholdsadresse);

    let foedsel = current(doc.foedsel, now).or_else(|| current(doc.foedselsdato, now));
    let birth_date = foedsel
        .as_ref()
        .and_then(|f| f.foedselsdato.as_deref())
        .and_then(|d| NaiveDate::parse_from_str(d.get(..10).unwrap_or(d), "%Y-%m-%d").ok());
    let birth_year = foedsel
        .as_ref()
        .and_then(|f| f.foedselsaar.as_deref())
        .and_then(|y| y.trim().parse().ok());

    Ok(Person {
        identifiers,
        status: current(doc.status, now).and_then(|s| s.status),
        name: current(doc.navn, now),
        birth_date,
        birth_year,
        deceased: current(doc.doedsfall, now).is_some(),
        false_identity: current(doc.falsk_identitet, now).is_some_and(|f| f.er_falsk == Some(true)),
        protection,
        bosted,
        postadresse,
        postadresse_i_utlandet,
        oppholdsadresse_utland,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"identifikasjonsnummer":[{"erGjeldende":false,"status":"opphoert","foedselsEllerDNummer":"41018012345","identifikatortype":"dNummer"},{"erGjeldende":true,"status":"iBruk","foedselsEllerDNummer":"01018012345","identifikatortype":"foedselsnummer"}],
      "status":[{"erGjeldende":false,"status":"utflyttet"},{"erGjeldende":true,"status":"bosatt"}],
      "navn":[{"fornavn":"Áŋŋá","etternavn":"Čuđe"}],
      "foedsel":[{"erGjeldende":true,"foedselsdato":"1980-01-01","foedselsaar":"1980"}],
      "bostedsadresse":[{"erGjeldende":false,"vegadresse":{"adressenavn":"Gammelveien","poststed":{"postnummer":"0150"}}},{"erGjeldende":true,"vegadresse":{"kommunenummer":"5601","adressenavn":"Storgata","adressenummer":{"husnummer":12,"husbokstav":"B"},"poststed":{"poststedsnavn":"TROMSØ","postnummer":"9008"}},"adressegradering":"ugradert","grunnkrets":806}],
      "kjoenn":[{"kjoenn":"kvinne"}], "ukjentFelt": {"x": 1}}"#;

    #[test]
    fn reads_current_records_and_every_identifier() {
        let p = parse_document(&DOC.replace('\n', " ")).unwrap();
        assert_eq!(p.identifiers.len(), 2);
        assert_eq!(p.identifier_in_use().unwrap().number, "01018012345");
        assert_eq!(p.status.as_deref(), Some("bosatt"));
        assert_eq!(p.name.as_ref().unwrap().full(), "Áŋŋá Čuđe");
        assert_eq!(p.birth_date, NaiveDate::from_ymd_opt(1980, 1, 1));
        let Some(Bosted::Vegadresse(v)) = &p.bosted else {
            panic!("{:?}", p.bosted)
        };
        assert_eq!(v.adressenavn.as_deref(), Some("Storgata"));
        assert_eq!(
            v.adressenummer.as_ref().unwrap().husnummer.as_deref(),
            Some("12")
        );
        assert!(!p.deceased);
        assert_eq!(p.protection, None);
    }

    #[test]
    fn last_record_is_current_without_flags_and_explicit_false_never_is() {
        let p = parse_document(r#"{"identifikasjonsnummer":[{"foedselsEllerDNummer":"01018012345","status":"iBruk"}],"status":[{"status":"utflyttet"},{"status":"bosatt"}],"doedsfall":[{"erGjeldende":false,"doedsdato":"2020-01-01"}]}"#).unwrap();
        assert_eq!(p.status.as_deref(), Some("bosatt"));
        assert!(!p.deceased);
    }

    #[test]
    fn single_object_elements_are_one_record() {
        // As the Freg API sends them: doedsfall and falskIdentitet as one object each.
        let p = parse_document(r#"{"identifikasjonsnummer":{"foedselsEllerDNummer":"01018012345","status":"iBruk","identifikatortype":"foedselsnummer"},"status":{"status":"bosatt"},"doedsfall":{"doedsdato":"2024-03-01","erGjeldende":true},"falskIdentitet":{"erFalsk":true,"erGjeldende":true},"navn":{"fornavn":"Kari","etternavn":"Nordmann"},"bostedsadresse":{"vegadresse":{"adressenavn":"Gata","poststed":{"postnummer":"0150","poststedsnavn":"OSLO"}}}}"#).unwrap();
        assert!(p.deceased);
        assert!(p.false_identity);
        assert_eq!(p.identifier_in_use().unwrap().number, "01018012345");
        assert_eq!(p.status.as_deref(), Some("bosatt"));
        assert_eq!(p.name.unwrap().full(), "Kari Nordmann");
        assert!(p.bosted.is_some());
    }

    #[test]
    fn null_elements_and_null_records_are_no_records() {
        let p = parse_document(r#"{"identifikasjonsnummer":[null,{"foedselsEllerDNummer":"01018012345","status":"iBruk"}],"doedsfall":null,"falskIdentitet":{"erFalsk":false},"status":[]}"#).unwrap();
        assert!(!p.deceased);
        assert!(!p.false_identity);
        assert_eq!(p.status, None);
    }

    #[test]
    fn false_identity_reads_its_flag() {
        let doc = |f: &str| {
            format!(
                r#"{{"identifikasjonsnummer":[{{"foedselsEllerDNummer":"01018012345","status":"iBruk"}}],"falskIdentitet":{f}}}"#
            )
        };
        for (f, expected) in [
            (r#"{"erFalsk":true}"#, true),
            (r#"{"erFalsk":"true"}"#, true),
            (r#"[{"erFalsk":true}]"#, true),
            (r#"{"erFalsk":false}"#, false),
            (r#"{}"#, false),
            (r#"{"erFalsk":true,"erGjeldende":false}"#, false),
        ] {
            assert_eq!(
                parse_document(&doc(f)).unwrap().false_identity,
                expected,
                "{f}"
            );
        }
    }

    #[test]
    fn a_wrong_element_shape_is_a_line_problem() {
        assert!(matches!(
            parse_document(
                r#"{"identifikasjonsnummer":[{"foedselsEllerDNummer":"01018012345"}],"doedsfall":"yes"}"#
            ),
            Err(LineProblem::MalformedJson { .. })
        ));
    }

    const ID: &str =
        r#""identifikasjonsnummer":[{"foedselsEllerDNummer":"01018012345","status":"iBruk"}]"#;

    #[test]
    fn lenient_where_the_register_is_inconsistent() {
        // erGjeldende as a string, address lines as one string, poststed as the place name with
        // the postal code beside it (Skatteetaten's own example), a postal code as a number.
        let p = parse_document(&format!(
            r#"{{{ID},"navn":[{{"erGjeldende":"true","fornavn":"Ola"}},{{"erGjeldende":"false","fornavn":"Gammel"}}],"postadresse":[{{"postadresseIFrittFormat":{{"adresselinje":"GATE 22255","postnummer":"9170","poststed":"LONGYEARBYEN"}},"adressegradering":"UGRADERT"}}],"bostedsadresse":[{{"vegadresse":{{"adressenavn":"Gata","poststed":{{"postnummer":150,"poststedsnavn":"OSLO"}}}}}}]}}"#
        ))
        .unwrap();
        assert_eq!(p.name.as_ref().unwrap().fornavn.as_deref(), Some("Ola"));
        let Some(Postadresse::PostadresseIFrittFormat(f)) = &p.postadresse else {
            panic!("{:?}", p.postadresse)
        };
        assert_eq!(f.adresselinje, vec!["GATE 22255".to_string()]);
        assert_eq!(
            f.poststed,
            Some(Poststed {
                postnummer: Some("9170".into()),
                poststedsnavn: Some("LONGYEARBYEN".into())
            })
        );
        let Some(Bosted::Vegadresse(v)) = &p.bosted else {
            panic!("{:?}", p.bosted)
        };
        assert_eq!(
            v.poststed.as_ref().unwrap().postnummer.as_deref(),
            Some("0150")
        );
        // What was read is stored and read back the same.
        let stored = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Person>(&stored).unwrap(), p);
    }

    #[test]
    fn a_lookup_answer_wrapping_people_gives_each() {
        let doc = |n: &str| {
            format!(
                r#"{{"identifikasjonsnummer":[{{"foedselsEllerDNummer":"{n}","status":"iBruk"}}]}}"#
            )
        };
        let one = format!(
            r#"{{"foedselsEllerDNummer":"01018012345","folkeregisterperson":{}}}"#,
            doc("01018012345")
        );
        assert_eq!(
            parse_document(&one).unwrap().identifiers[0].number,
            "01018012345"
        );
        let many = format!(
            r#"{{"oppslag":[{{"folkeregisterperson":{}}},{{"folkeregisterperson":{}}}]}}"#,
            doc("01018012345"),
            doc("02018012345")
        );
        let people = parse_line(&many, Utc::now()).unwrap();
        let numbers: Vec<&str> = people
            .iter()
            .map(|p| p.identifiers[0].number.as_str())
            .collect();
        assert_eq!(numbers, ["01018012345", "02018012345"]);
        assert_eq!(
            parse_line(r#"{"oppslag":[]}"#, Utc::now()),
            Err(LineProblem::NoIdentifier)
        );
    }

    #[test]
    fn the_first_current_record_wins_and_ended_records_never_do() {
        let p = parse_document(&format!(
            r#"{{{ID},"status":[{{"erGjeldende":true,"status":"bosatt"}},{{"erGjeldende":true,"status":"utflyttet"}}],
              "postadresse":[{{"erGjeldende":true,"opphoerstidspunkt":"2024-03-21T10:00:00+01:00","postboksadresse":{{"postboks":"1"}}}}],
              "postadresseIUtlandet":[{{"erGjeldende":true,"opphoerstidspunkt":"2999-01-01T00:00:00Z","utenlandskAdresse":{{"landkode":"SE"}}}}],
              "foedsel":[{{"foedselsaar":"1990"}}]}}"#
        ).replace('\n', " "))
        .unwrap();
        assert_eq!(p.status.as_deref(), Some("bosatt"));
        assert_eq!(p.postadresse, None, "an ended address is never used");
        assert!(p.postadresse_i_utlandet.is_some(), "it ends only in 2999");
        assert_eq!(p.birth_date, None);
        assert_eq!(p.birth_year, Some(1990));
        // An identifier whose record has ended is not in use.
        let p = parse_document(
            r#"{"identifikasjonsnummer":[{"foedselsEllerDNummer":"01018012345","status":"iBruk","opphoerstidspunkt":"2020-01-01T00:00:00Z"}]}"#,
        )
        .unwrap();
        assert!(p.identifier_in_use().is_none());
    }

    #[test]
    fn a_grading_is_recognised_however_it_is_written() {
        for written in ["strengtFortrolig", "STRENGT_FORTROLIG", "strengt fortrolig"] {
            let p = parse_document(&format!(
                r#"{{{ID},"adressebeskyttelse":[{{"graderingsnivaa":"{written}"}}]}}"#
            ))
            .unwrap();
            assert_eq!(
                p.protection.as_deref(),
                Some("strengtFortrolig"),
                "{written}"
            );
            let p = parse_document(&format!(
                r#"{{{ID},"bostedsadresse":[{{"vegadresse":{{"adressenavn":"X"}},"adressegradering":"{written}"}}]}}"#
            ))
            .unwrap();
            assert_eq!(
                p.protection.as_deref(),
                Some("strengtFortrolig"),
                "{written}"
            );
        }
        let p = parse_document(&format!(
            r#"{{{ID},"adressebeskyttelse":[{{"graderingsnivaa":"STRENGT_FORTROLIG_UTLAND"}}]}}"#
        ))
        .unwrap();
        assert_eq!(p.protection.as_deref(), Some("strengtFortroligUtland"));
    }

    #[test]
    fn graded_address_record_protects_the_person() {
        let p = parse_document(r#"{"identifikasjonsnummer":[{"foedselsEllerDNummer":"01018012345","status":"iBruk"}],"bostedsadresse":[{"vegadresse":{"adressenavn":"Hemmelig"},"adressegradering":"strengtFortrolig"}]}"#).unwrap();
        assert_eq!(p.protection.as_deref(), Some("strengtFortrolig"));
    }

    #[test]
    fn a_stored_record_leaves_out_what_is_absent_and_older_records_with_nulls_still_read() {
        let p = parse_document(&DOC.replace('\n', " ")).unwrap();
        let stored = serde_json::to_string(&p).unwrap();
        assert!(!stored.contains("null"), "{stored}");
        assert_eq!(serde_json::from_str::<Person>(&stored).unwrap(), p);
        // As databases written before 2026-12 hold them: every absent field as `null`.
        let older = r#"{"identifiers":[{"number":"23819617287","id_type":"foedselsnummer","in_use":true}],"status":"bosatt","name":{"fornavn":"Sunná","mellomnavn":null,"etternavn":"Čuđe","forkortetNavn":"ČUĐE SUNNÁ"},"birth_date":"1996-01-23","birth_year":1996,"deceased":false,"false_identity":false,"protection":null,"bosted":{"vegadresse":{"coAdressenavn":null,"adressetilleggsnavn":null,"adressenavn":"Thorvald Meyers gate","adressenummer":{"husnummer":"115","husbokstav":null},"bruksenhetsnummer":"H0304","poststed":{"postnummer":"7181","poststedsnavn":"ROAN"}}},"postadresse":null,"postadresse_i_utlandet":null,"oppholdsadresse_utland":null}"#;
        let read: Person = serde_json::from_str(older).unwrap();
        let again = serde_json::to_string(&read).unwrap();
        assert!(!again.contains("null"), "{again}");
        assert_eq!(serde_json::from_str::<Person>(&again).unwrap(), read);
        assert!(
            again.len() * 4 < older.len() * 3,
            "{} of {}",
            again.len(),
            older.len()
        );
    }

    #[test]
    fn a_text_field_reads_strings_and_numbers_and_skips_any_other_value() {
        for (value, read) in [
            (r#""  12 ""#, Some("12")),
            (r#""   ""#, None),
            ("12", Some("12")),
            ("-3", Some("-3")),
            ("1.5", Some("1.5")),
            ("null", None),
            ("true", None),
            (r#"[1, {"a": [2]}]"#, None),
            (r#"{"a": {"b": [3]}}"#, None),
        ] {
            let json = format!(r#"{{"husnummer": {value}, "husbokstav": "B"}}"#);
            let n: Adressenummer = serde_json::from_str(&json).unwrap();
            assert_eq!(n.husnummer.as_deref(), read, "{value}");
            // What follows a skipped value is still read.
            assert_eq!(n.husbokstav.as_deref(), Some("B"), "{value}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,200}") {
            let _ = parse_line(&s, Utc::now());
        }

        #[test]
        fn any_number_or_string_house_number_is_read(n in 0u32..100_000, as_text: bool) {
            let v = if as_text { format!("\"{n}\"") } else { n.to_string() };
            let doc = format!(r#"{{"identifikasjonsnummer":[{{"foedselsEllerDNummer":"01018012345","status":"iBruk"}}],"bostedsadresse":[{{"vegadresse":{{"adressenavn":"Gata","adressenummer":{{"husnummer":{v}}}}}}}]}}"#);
            let p = parse_document(&doc).unwrap();
            let Some(Bosted::Vegadresse(g)) = p.bosted else { panic!("no address") };
            proptest::prop_assert_eq!(g.adressenummer.unwrap().husnummer, Some(n.to_string()));
        }
    }

    #[test]
    fn problems() {
        assert!(matches!(
            parse_document("{\"identifikasjonsnummer\": ["),
            Err(LineProblem::MalformedJson { .. })
        ));
        assert_eq!(
            parse_document("{\"navn\": []}"),
            Err(LineProblem::NoIdentifier)
        );
        assert!(matches!(
            parse_document("[1,2]"),
            Err(LineProblem::MalformedJson { .. })
        ));
    }
}
