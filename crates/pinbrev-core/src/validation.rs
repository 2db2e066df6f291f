//! The validation rules of the contract ("Where the letter goes", "Order rules"), as a pure
//! function of the orders, the facts read about their people, the settings and the day: identity
//! number, register person, address protection, person status and age, the address and its
//! checks, then the order rules (duplicate, reorder limit) and the letter's language.
//!
//! The store reads the facts and records the outcomes; nothing here knows a database.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

use crate::address::{self, AddressBlock, PostalZone};
use crate::freg::{IdentifierType, Person};
use crate::letters::Window;
use crate::national_id::{IdKind, NationalId};
use crate::order::{Language, OrderStatus, RejectReason};
use crate::postcodes::Postcodes;

/// The outcome of validating one order, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationOutcome {
    pub status: OrderStatus,
    pub reason: Option<String>,
    pub detail: Option<String>,
    pub person_national_id: Option<String>,
    /// The person a validated order's letter goes to, by the store's key (`Facts::persons`):
    /// the letter keeps it, so that publishing finds the person's earlier letters by one key.
    pub person_id: Option<i64>,
    pub letter_language: Option<String>,
    /// The address block as JSON; never set for held orders.
    pub address: Option<String>,
    pub postal_zone: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
}

impl ValidationOutcome {
    /// An order rejected for `reason`, with what it may say of it and the identifier the order
    /// resolved to, if any.
    pub fn rejected(
        reason: RejectReason,
        detail: Option<String>,
        person_national_id: Option<String>,
    ) -> ValidationOutcome {
        ValidationOutcome {
            status: OrderStatus::Rejected,
            reason: Some(reason.code().to_string()),
            detail,
            person_national_id,
            person_id: None,
            letter_language: None,
            address: None,
            postal_zone: None,
            postcode: None,
            country: None,
        }
    }
}

/// The settings the rules read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleSettings {
    /// Whether synthetic (test) identity numbers are accepted.
    pub allow_synthetic: bool,
    /// The youngest a person may be to get a letter, in whole years.
    pub min_age: u32,
    /// Letters (other than failed ones) a person may have had in the last 30 days.
    pub max_letters_per_30_days: u32,
}

/// One order, as the rules see it.
#[derive(Debug, Clone, Copy)]
pub struct OrderFacts<'a> {
    /// The identity number as ordered.
    pub national_id: &'a str,
    /// The language asked for, if any (as stored).
    pub language: Option<&'a str>,
}

/// What the register and the store say about the people of a page of orders.
#[derive(Debug, Default)]
pub struct Facts {
    /// Identifier (as ordered) → the person who has or had it.
    pub person_of: HashMap<String, i64>,
    /// The people found, by person_id.
    pub persons: HashMap<i64, Person>,
    /// Orders in progress (validated, batched or printed) per identifier they resolved to.
    pub active_orders: HashMap<String, i64>,
    /// Letters (other than failed ones) made in the last 30 days, per identifier.
    pub recent_letters: HashMap<String, i64>,
}

impl Facts {
    /// Every identifier of the people found: the numbers their orders and letters may be
    /// counted under (a person's stored identifiers are those of their record).
    pub fn numbers(&self) -> Vec<&str> {
        self.persons
            .values()
            .flat_map(|p| p.identifiers.iter().map(|i| i.number.as_str()))
            .collect()
    }
}

/// The identity numbers of orders, read: each valid one, or why it is not.
pub fn parse_ids(
    orders: &[OrderFacts<'_>],
    allow_synthetic: bool,
) -> Vec<Result<NationalId, String>> {
    orders
        .iter()
        .map(|o| NationalId::parse(o.national_id, allow_synthetic).map_err(|e| e.to_string()))
        .collect()
}

/// The numbers to look people up by: every valid identity number that may be a person's
/// (not an H-number), sorted, once each.
pub fn numbers_to_look_up(ids: &[Result<NationalId, String>]) -> Vec<String> {
    let mut wanted: Vec<String> = ids
        .iter()
        .filter_map(|id| id.as_ref().ok())
        .filter(|id| id.info().kind != IdKind::Hnr)
        .map(|id| id.as_digits())
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    wanted
}

/// What the rules say of each order of a page on its own ([`Rules::assess_page`]), for
/// [`Rules::finish`].
#[derive(Debug)]
pub struct Assessment(Vec<Assessed>);

/// What the rules say of an order on its own: an outcome already, or the person and the address
/// block, for the order rules (which count the person's other orders) to finish.
#[derive(Debug)]
enum Assessed {
    Decided(ValidationOutcome),
    Deliverable {
        person_id: i64,
        person_number: Option<String>,
        block: AddressBlock,
    },
}

/// The rules, with what they need besides the orders and their facts.
#[derive(Debug)]
pub struct Rules {
    settings: RuleSettings,
    postcodes: Postcodes,
    /// Every envelope window a letter may be printed for: the address must fit each.
    windows: Vec<Window>,
    /// The day (Europe/Oslo) ages are judged on.
    today: NaiveDate,
}

impl Rules {
    pub fn new(
        settings: RuleSettings,
        postcodes: Postcodes,
        windows: Vec<Window>,
        today: NaiveDate,
    ) -> Rules {
        Rules {
            settings,
            postcodes,
            windows,
            today,
        }
    }

    /// The settings the rules were made with.
    pub fn settings(&self) -> &RuleSettings {
        &self.settings
    }

    /// The outcomes of a page of orders, in order (oldest first). `ids` are the orders' identity
    /// numbers as [`parse_ids`] read them. The rules that look at an order alone run on
    /// `threads` threads; the order rules then run in the orders' order, counting the orders
    /// validated earlier in the page.
    pub fn decide(
        &self,
        orders: &[OrderFacts<'_>],
        ids: &[Result<NationalId, String>],
        facts: &Facts,
        threads: usize,
    ) -> Vec<ValidationOutcome> {
        self.finish(orders, self.assess_page(ids, facts, threads), facts)
    }

    /// The first half of [`Rules::decide`]: the rules that look at each order alone, on
    /// `threads` threads. They read only who the people are (`person_of`, `persons`), not the
    /// counts, so they may run before the counts are known.
    pub fn assess_page(
        &self,
        ids: &[Result<NationalId, String>],
        facts: &Facts,
        threads: usize,
    ) -> Assessment {
        Assessment(crate::parallel::map(ids, threads, |id| {
            self.assess(id, facts)
        }))
    }

    /// The second half of [`Rules::decide`]: the order rules, in the orders' order, on the
    /// page's [`Rules::assess_page`] and the facts with their counts.
    pub fn finish(
        &self,
        orders: &[OrderFacts<'_>],
        assessment: Assessment,
        facts: &Facts,
    ) -> Vec<ValidationOutcome> {
        let mut validated_now: HashMap<i64, i64> = HashMap::new();
        orders
            .iter()
            .zip(assessment.0)
            .map(|(order, assessed)| self.order_rules(order, assessed, facts, &mut validated_now))
            .collect()
    }

    /// The rules that look at the order alone, first matching rule wins: identity number,
    /// register person, address protection, person status and age, the address and its checks.
    fn assess(&self, id: &Result<NationalId, String>, facts: &Facts) -> Assessed {
        let id = match id {
            Ok(id) => id,
            Err(e) => {
                return Assessed::Decided(ValidationOutcome::rejected(
                    RejectReason::InvalidNationalId,
                    Some(e.clone()),
                    None,
                ))
            }
        };
        if id.info().kind == IdKind::Hnr {
            return Assessed::Decided(ValidationOutcome::rejected(
                RejectReason::HNumber,
                None,
                None,
            ));
        }
        let Some((person_id, person)) = facts
            .person_of
            .get(&id.as_digits())
            .and_then(|p| facts.persons.get(p).map(|person| (*p, person)))
        else {
            return Assessed::Decided(ValidationOutcome::rejected(
                RejectReason::UnknownPerson,
                None,
                None,
            ));
        };
        let in_use = person.identifier_in_use();
        let person_number = Some(in_use.map_or_else(|| id.as_digits(), |i| i.number.clone()));

        if person
            .protection
            .as_deref()
            .is_some_and(|p| p == "strengtFortrolig" || p == "strengtFortroligUtland")
        {
            return Assessed::Decided(ValidationOutcome {
                status: OrderStatus::Held,
                ..ValidationOutcome::rejected(RejectReason::AddressProtected, None, person_number)
            });
        }
        if let Some(reason) = self.person_rule(person) {
            return Assessed::Decided(ValidationOutcome::rejected(reason, None, person_number));
        }
        let holds_d_number = in_use.is_some_and(|i| {
            i.id_type == IdentifierType::DNummer
                || (i.id_type == IdentifierType::Other
                    && i.number.starts_with(['4', '5', '6', '7']))
        });
        let name = person.name.clone().unwrap_or_default();
        let Some(chosen) = address::choose(person, holds_d_number) else {
            return Assessed::Decided(ValidationOutcome::rejected(
                RejectReason::NoPostalAddress,
                None,
                person_number,
            ));
        };
        match address::build(&name, chosen, &self.postcodes, &self.windows) {
            Ok(block) => Assessed::Deliverable {
                person_id,
                person_number,
                block,
            },
            Err(p) => Assessed::Decided(ValidationOutcome::rejected(
                p.reason,
                Some(p.detail),
                person_number,
            )),
        }
    }

    /// The order rules, in the orders' order: duplicate (the person has an order in progress,
    /// counting those validated earlier in this page) and the reorder limit; then the language.
    fn order_rules(
        &self,
        order: &OrderFacts<'_>,
        assessed: Assessed,
        facts: &Facts,
        validated_now: &mut HashMap<i64, i64>,
    ) -> ValidationOutcome {
        let (person_id, person_number, block) = match assessed {
            Assessed::Decided(outcome) => return outcome,
            Assessed::Deliverable {
                person_id,
                person_number,
                block,
            } => (person_id, person_number, block),
        };
        let mut numbers: Vec<&str> = facts.persons.get(&person_id).map_or_else(Vec::new, |p| {
            p.identifiers.iter().map(|i| i.number.as_str()).collect()
        });
        numbers.sort_unstable();
        numbers.dedup();
        let count = |counts: &HashMap<String, i64>| -> i64 {
            numbers.iter().filter_map(|n| counts.get(*n)).sum()
        };
        let active =
            count(&facts.active_orders) + validated_now.get(&person_id).copied().unwrap_or(0);
        if active > 0 {
            return ValidationOutcome {
                status: OrderStatus::Duplicate,
                ..ValidationOutcome::rejected(
                    RejectReason::Duplicate,
                    Some("the person has an order in progress".into()),
                    person_number,
                )
            };
        }
        let recent = count(&facts.recent_letters);
        if recent >= i64::from(self.settings.max_letters_per_30_days) {
            return ValidationOutcome::rejected(
                RejectReason::ReorderLimit,
                Some(format!(
                    "{recent} letters in the last 30 days (limit {})",
                    self.settings.max_letters_per_30_days
                )),
                person_number,
            );
        }

        let language = order
            .language
            .and_then(|l| l.parse::<Language>().ok())
            .unwrap_or(match block.zone {
                PostalZone::Domestic => Language::Nb,
                PostalZone::Abroad => Language::En,
            });
        *validated_now.entry(person_id).or_default() += 1;
        ValidationOutcome {
            status: OrderStatus::Validated,
            reason: None,
            detail: None,
            person_national_id: person_number,
            person_id: Some(person_id),
            letter_language: Some(language.code().to_string()),
            postal_zone: Some(block.zone.code().to_string()),
            postcode: block.postcode.clone(),
            country: Some(block.country.clone()),
            address: Some(serde_json::to_string(&block).expect("address serializes")),
        }
    }

    /// Rule 2 of "Where the letter goes": the person's status and age.
    fn person_rule(&self, person: &Person) -> Option<RejectReason> {
        let status = person.status.as_deref();
        if status == Some("doed") || person.deceased {
            return Some(RejectReason::Deceased);
        }
        if person.false_identity {
            return Some(RejectReason::FalseIdentity);
        }
        if person.identifier_in_use().is_none() || status == Some("opphoert") {
            return Some(RejectReason::IdentityCeased);
        }
        match status {
            Some("inaktiv") => return Some(RejectReason::IdentityInactive),
            Some("forsvunnet") => return Some(RejectReason::PersonMissing),
            _ => {}
        }
        // With only the year of birth, judge by its last day: the youngest the person can be.
        let born = person.birth_date.or_else(|| {
            person
                .birth_year
                .and_then(|y| NaiveDate::from_ymd_opt(y, 12, 31))
        })?;
        (age_on(born, self.today) < self.settings.min_age).then_some(RejectReason::TooYoung)
    }
}

/// Whole years between birth and the given day.
pub fn age_on(born: NaiveDate, day: NaiveDate) -> u32 {
    let mut years = day.year() - born.year();
    if (day.month(), day.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::freg::parse_document;
    use crate::national_id;

    const TODAY: (i32, u32, u32) = (2026, 11, 24);

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(TODAY.0, TODAY.1, TODAY.2).unwrap()
    }

    fn rules() -> Rules {
        Rules::new(
            RuleSettings {
                allow_synthetic: false,
                min_age: 13,
                max_letters_per_30_days: 3,
            },
            Postcodes::from_entries(crate::postcodes::shipped()),
            vec![Window::default()],
            today(),
        )
    }

    /// A valid number of these parts, with the first individual number from `individual` on
    /// that has check digits.
    fn number(day: u32, month: u32, year2: u32, individual: u32) -> String {
        (individual..individual + 20)
            .find_map(|i| national_id::build(day, month, year2, i))
            .expect("a valid number")
            .as_digits()
    }

    /// A valid fødselsnummer born on 1 January of `year2` (19xx below individual 500).
    fn fnr(year2: u32, individual: u32) -> String {
        number(1, 1, year2, individual)
    }

    /// A person document: `number` in use, born `born`, living in Storgata 1, 0150 OSLO, with
    /// `extra` elements.
    fn person(number: &str, born: &str, extra: &str) -> Person {
        parse_document(&format!(
            r#"{{"identifikasjonsnummer":[{{"foedselsEllerDNummer":"{number}","status":"iBruk","identifikatortype":"foedselsnummer"}}],
               "status":[{{"status":"bosatt"}}],
               "navn":[{{"fornavn":"Kari","etternavn":"Nordmann"}}],
               "foedsel":[{{"foedselsdato":"{born}"}}],
               "bostedsadresse":[{{"vegadresse":{{"adressenavn":"Storgata","adressenummer":{{"husnummer":1}},"poststed":{{"postnummer":"0150"}}}}}}]
               {extra}}}"#
        ))
        .expect("a person document")
    }

    /// Facts of the given people (person_id = position + 1).
    fn facts(people: Vec<Person>) -> Facts {
        let mut facts = Facts::default();
        for (i, p) in people.into_iter().enumerate() {
            let id = i as i64 + 1;
            for n in &p.identifiers {
                facts.person_of.insert(n.number.clone(), id);
            }
            facts.persons.insert(id, p);
        }
        facts
    }

    fn decide(orders: &[(&str, Option<&str>)], facts: &Facts) -> Vec<ValidationOutcome> {
        let rules = rules();
        let orders: Vec<OrderFacts<'_>> = orders
            .iter()
            .map(|(national_id, language)| OrderFacts {
                national_id,
                language: *language,
            })
            .collect();
        let ids = parse_ids(&orders, rules.settings().allow_synthetic);
        // One thread and two give the same outcomes.
        let one = rules.decide(&orders, &ids, facts, 1);
        assert_eq!(one, rules.decide(&orders, &ids, facts, 2));
        one
    }

    fn status_and_reason(o: &ValidationOutcome) -> (OrderStatus, Option<RejectReason>) {
        (
            o.status,
            o.reason
                .as_deref()
                .map(|r| r.parse().expect("a reason code")),
        )
    }

    #[test]
    fn each_rule_decides_its_case() {
        let adult = fnr(80, 123);
        let young = number(1, 1, 20, 500);
        let dead = fnr(50, 123);
        let protected = fnr(60, 123);
        let unknown = fnr(70, 123);
        let h_number = number(1, 41, 80, 123);
        let people = vec![
            person(&adult, "1980-01-01", ""),
            person(&young, "2020-01-01", ""),
            person(
                &dead,
                "1950-01-01",
                r#","doedsfall":[{"doedsdato":"2025-01-01"}]"#,
            ),
            person(
                &protected,
                "1960-01-01",
                r#","adressebeskyttelse":[{"graderingsnivaa":"strengtFortrolig"}]"#,
            ),
        ];
        let facts = facts(people);
        use OrderStatus::*;
        use RejectReason::*;
        // (identity number as ordered, language asked, status, reason)
        let table: Vec<(&str, Option<&str>, OrderStatus, Option<RejectReason>)> = vec![
            ("12345678901", None, Rejected, Some(InvalidNationalId)),
            (&h_number, None, Rejected, Some(HNumber)),
            (&unknown, None, Rejected, Some(UnknownPerson)),
            (&protected, None, Held, Some(AddressProtected)),
            (&dead, None, Rejected, Some(Deceased)),
            (&young, None, Rejected, Some(TooYoung)),
            (&adult, Some("en"), Validated, None),
            // The same person again in the same page: the first order is in progress now.
            (
                &adult,
                None,
                OrderStatus::Duplicate,
                Some(RejectReason::Duplicate),
            ),
        ];
        let orders: Vec<(&str, Option<&str>)> = table.iter().map(|(n, l, _, _)| (*n, *l)).collect();
        let outcomes = decide(&orders, &facts);
        for ((number, _, status, reason), outcome) in table.iter().zip(&outcomes) {
            assert_eq!(
                status_and_reason(outcome),
                (*status, *reason),
                "order for {}",
                national_id::mask(number)
            );
        }
        let validated = &outcomes[6];
        assert_eq!(validated.letter_language.as_deref(), Some("en"));
        assert_eq!(validated.postal_zone.as_deref(), Some("domestic"));
        assert_eq!(validated.postcode.as_deref(), Some("0150"));
        assert_eq!(
            validated.person_national_id.as_deref(),
            Some(adult.as_str())
        );
        // The adult is the first person of the facts; only a validated order names the person.
        assert_eq!(validated.person_id, Some(1));
        assert!(outcomes
            .iter()
            .filter(|o| o.status != Validated)
            .all(|o| o.person_id.is_none()));
        assert!(validated.address.as_deref().unwrap().contains("Storgata 1"));
        // A held order never carries an address.
        assert!(outcomes[3].address.is_none());
    }

    #[test]
    fn orders_in_progress_and_recent_letters_count_under_every_number() {
        let number = fnr(80, 123);
        let mut facts = facts(vec![person(&number, "1980-01-01", "")]);
        let order = [(number.as_str(), None)];
        let first = decide(&order, &facts);
        assert_eq!(status_and_reason(&first[0]), (OrderStatus::Validated, None));
        assert_eq!(first[0].letter_language.as_deref(), Some("nb"));

        facts.recent_letters.insert(number.clone(), 2);
        assert_eq!(decide(&order, &facts)[0].status, OrderStatus::Validated);
        facts.recent_letters.insert(number.clone(), 3);
        assert_eq!(
            status_and_reason(&decide(&order, &facts)[0]),
            (OrderStatus::Rejected, Some(RejectReason::ReorderLimit))
        );
        facts.active_orders.insert(number.clone(), 1);
        assert_eq!(
            status_and_reason(&decide(&order, &facts)[0]),
            (OrderStatus::Duplicate, Some(RejectReason::Duplicate))
        );
    }

    #[test]
    fn ages() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(age_on(d(2013, 11, 24), d(2026, 11, 24)), 13);
        assert_eq!(age_on(d(2013, 11, 25), d(2026, 11, 24)), 12);
        assert_eq!(age_on(d(2012, 2, 29), d(2025, 2, 28)), 12);
        assert_eq!(age_on(d(2030, 1, 1), d(2026, 11, 24)), 0);
    }
}
