//! `orders validate`: every `received` order, oldest first, through the contract's rules:
//! identity number, register person, address protection, person status and age, the address
//! and its checks, then the order rules (duplicate, reorder limit).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Europe::Oslo;
use serde::Serialize;

use crate::address::{self, AddressBlock, PostalZone};
use crate::db::{Db, DbError, OrderRow, Tx, ValidationFacts, ValidationOutcome};
use crate::freg::{IdentifierType, Person};
use crate::letters::Window;
use crate::national_id::{IdKind, NationalId};
use crate::orders::{Language, OrderStatus, RejectReason};
use crate::settings::Settings;
use pinbrev_core::postcodes::Postcodes;

/// Counts of a validation run.
#[derive(Debug, Default, Serialize)]
pub struct ValidationReport {
    pub orders: u64,
    pub by_status: BTreeMap<String, u64>,
    pub by_reason: BTreeMap<String, u64>,
}

/// What `orders reissue` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reissue {
    /// Validated again (or rejected, with the reason, if the register says so now).
    Done(OrderStatus, Option<String>),
    /// The order is not posted or returned.
    NotAllowed,
}

/// The rules, with what they need.
pub struct Validator<'a> {
    db: &'a Db,
    settings: &'a Settings,
    postcodes: Postcodes,
    /// Every envelope window a letter may be printed for: the default and each vendor's.
    windows: Vec<Window>,
    now: DateTime<Utc>,
    today: NaiveDate,
}

/// Orders validated per write transaction: the facts of a page are read with a few queries, and
/// a page's rows are written once (fewer pages, fewer rewrites of the same database pages).
const PAGE: i64 = 5_000;

/// What the rules need besides the order: the facts read for its page, the people they name
/// (parsed), and the people whose order was validated earlier in the same page (the database
/// does not count those yet).
struct PageFacts {
    facts: ValidationFacts,
    persons: HashMap<i64, Person>,
    validated_now: HashMap<i64, i64>,
}

/// What the rules say of an order on its own: an outcome already, or the person and the address
/// block, for the order rules (which count the person's other orders) to finish.
enum Assessed {
    Decided(ValidationOutcome),
    Deliverable {
        person_id: i64,
        person_number: Option<String>,
        block: AddressBlock,
    },
}

impl<'a> Validator<'a> {
    /// Prepares a run at the current time.
    pub async fn new(db: &'a Db, settings: &'a Settings) -> Result<Validator<'a>, DbError> {
        let now = Utc::now();
        Ok(Validator {
            db,
            settings,
            postcodes: crate::postcodes::load(db).await?,
            windows: std::iter::once(Window::default())
                .chain(settings.vendors.values().map(|v| v.window))
                .collect(),
            now,
            today: now.with_timezone(&Oslo).date_naive(),
        })
    }

    /// Validates every `received` order, oldest first, a page per write transaction.
    pub async fn run(&self) -> Result<ValidationReport, DbError> {
        let mut report = ValidationReport::default();
        let waiting = self.db.count_status(OrderStatus::Received).await?;
        let bar = crate::progress::bar(waiting as u64, "validate", crate::progress::Unit::Items);
        let mut after: Option<(String, String)> = None;
        loop {
            let mut tx = self.db.begin_write().await?;
            let page = self
                .db
                .received_orders_in(
                    &mut tx,
                    after.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
                    PAGE,
                )
                .await?;
            let Some(last) = page.last() else { break };
            after = Some((last.ordered_at.clone(), last.order_id.clone()));
            let outcomes = self.decide_page(&mut tx, &page).await?;
            self.db.record_validations(&mut tx, &outcomes).await?;
            tx.commit().await.map_err(|source| DbError::Query {
                context: "committing validation outcomes",
                source,
            })?;
            for (_, outcome) in &outcomes {
                report.orders += 1;
                *report
                    .by_status
                    .entry(outcome.status.code().to_string())
                    .or_default() += 1;
                if let Some(r) = &outcome.reason {
                    *report.by_reason.entry(r.clone()).or_default() += 1;
                }
            }
            bar.set_position(report.orders);
            tracing::debug!(done = report.orders, "validated a page of orders");
        }
        bar.finish_and_clear();
        Ok(report)
    }

    /// `orders reissue`: a posted or returned order goes through validation again (the register
    /// may have a new address), so that the next batch makes it a new letter with new codes;
    /// publishing that letter supersedes the old one.
    pub async fn reissue(&self, order_id: &str, actor: &str) -> Result<Reissue, DbError> {
        let mut tx = self.db.begin_write().await?;
        let reopened = crate::db::move_order(
            &mut tx,
            order_id,
            &[OrderStatus::Posted, OrderStatus::Returned],
            OrderStatus::Received,
            actor,
            "reissue",
            Some("a new letter with new codes was asked for"),
        )
        .await?;
        if !reopened {
            return Ok(Reissue::NotAllowed);
        }
        let order = self
            .db
            .order_in(&mut tx, order_id)
            .await?
            .expect("the order was just moved");
        let mut outcomes = self
            .decide_page(&mut tx, std::slice::from_ref(&order))
            .await?;
        self.db.record_validations(&mut tx, &outcomes).await?;
        tx.commit().await.map_err(|source| DbError::Query {
            context: "committing a reissue",
            source,
        })?;
        let (_, outcome) = outcomes.remove(0);
        Ok(Reissue::Done(outcome.status, outcome.reason))
    }

    /// The outcomes of a page of orders, in order: the facts read at once, then the rules.
    async fn decide_page<'o>(
        &self,
        tx: &mut Tx,
        page: &'o [OrderRow],
    ) -> Result<Vec<(&'o str, ValidationOutcome)>, DbError> {
        let ids: Vec<Result<NationalId, String>> = page
            .iter()
            .map(|o| {
                NationalId::parse(&o.national_id, self.settings.allow_synthetic)
                    .map_err(|e| e.to_string())
            })
            .collect();
        let mut wanted: Vec<String> = ids
            .iter()
            .filter_map(|id| id.as_ref().ok())
            .filter(|id| id.info().kind != IdKind::Hnr)
            .map(|id| id.as_digits())
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut facts = self.db.people_named(tx, &wanted).await?;
        // Reading records and addresses is most of the rules' work, and each order's alone:
        // done on every core. The order rules then run in order, on this thread.
        let threads = crate::parallel::cores();
        let persons = crate::parallel::map(&facts.records, threads, |(person_id, record)| {
            serde_json::from_str::<Person>(record)
                .map(|person| (*person_id, person))
                .map_err(|e| DbError::Corrupt {
                    what: format!("person {person_id}"),
                    message: e.to_string(),
                })
        })
        .into_iter()
        .collect::<Result<HashMap<i64, Person>, DbError>>()?;
        // A person's identifiers in the database are those of their stored record (an import
        // replaces them all), so the record lists every number an order may have counted under.
        let numbers: Vec<&str> = persons
            .values()
            .flat_map(|p| p.identifiers.iter().map(|i| i.number.as_str()))
            .collect();
        self.db
            .count_orders_and_letters(tx, &numbers, self.now - Duration::days(30), &mut facts)
            .await?;
        let mut page_facts = PageFacts {
            facts,
            persons,
            validated_now: HashMap::new(),
        };
        let assessed = crate::parallel::map(&ids, threads, |id| self.assess(id, &page_facts));
        Ok(page
            .iter()
            .zip(assessed)
            .map(|(order, assessed)| {
                (
                    order.order_id.as_str(),
                    self.order_rules(order, assessed, &mut page_facts),
                )
            })
            .collect())
    }

    /// The rules that look at the order alone, first matching rule wins: identity number,
    /// register person, address protection, person status and age, the address and its checks.
    fn assess(&self, id: &Result<NationalId, String>, page: &PageFacts) -> Assessed {
        let id = match id {
            Ok(id) => id,
            Err(e) => {
                return Assessed::Decided(rejected(
                    RejectReason::InvalidNationalId,
                    Some(e.clone()),
                    None,
                ))
            }
        };
        if id.info().kind == IdKind::Hnr {
            return Assessed::Decided(rejected(RejectReason::HNumber, None, None));
        }
        let Some((person_id, person)) = page
            .facts
            .person_of
            .get(&id.as_digits())
            .and_then(|p| page.persons.get(p).map(|person| (*p, person)))
        else {
            return Assessed::Decided(rejected(RejectReason::UnknownPerson, None, None));
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
                ..rejected(RejectReason::AddressProtected, None, person_number)
            });
        }
        if let Some(reason) = self.person_rule(person) {
            return Assessed::Decided(rejected(reason, None, person_number));
        }
        let holds_d_number = in_use.is_some_and(|i| {
            i.id_type == IdentifierType::DNummer
                || (i.id_type == IdentifierType::Other
                    && i.number.starts_with(['4', '5', '6', '7']))
        });
        let name = person.name.clone().unwrap_or_default();
        let Some(chosen) = address::choose(person, holds_d_number) else {
            return Assessed::Decided(rejected(RejectReason::NoPostalAddress, None, person_number));
        };
        match address::build(&name, chosen, &self.postcodes, &self.windows) {
            Ok(block) => Assessed::Deliverable {
                person_id,
                person_number,
                block,
            },
            Err(p) => Assessed::Decided(rejected(p.reason, Some(p.detail), person_number)),
        }
    }

    /// The order rules, in the orders' order: duplicate (the person has an order in progress,
    /// counting those validated earlier in this run) and the reorder limit; then the language.
    fn order_rules(
        &self,
        order: &OrderRow,
        assessed: Assessed,
        page: &mut PageFacts,
    ) -> ValidationOutcome {
        let (person_id, person_number, block) = match assessed {
            Assessed::Decided(outcome) => return outcome,
            Assessed::Deliverable {
                person_id,
                person_number,
                block,
            } => (person_id, person_number, block),
        };
        let facts = &page.facts;
        let mut numbers: Vec<&str> = page.persons.get(&person_id).map_or_else(Vec::new, |p| {
            p.identifiers.iter().map(|i| i.number.as_str()).collect()
        });
        numbers.sort_unstable();
        numbers.dedup();
        let count = |counts: &HashMap<String, i64>| -> i64 {
            numbers.iter().filter_map(|n| counts.get(*n)).sum()
        };
        let active =
            count(&facts.active_orders) + page.validated_now.get(&person_id).copied().unwrap_or(0);
        if active > 0 {
            return ValidationOutcome {
                status: OrderStatus::Duplicate,
                ..rejected(
                    RejectReason::Duplicate,
                    Some("the person has an order in progress".into()),
                    person_number,
                )
            };
        }
        let recent = count(&facts.recent_letters);
        if recent >= i64::from(self.settings.max_letters_per_30_days) {
            return rejected(
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
            .as_deref()
            .and_then(|l| l.parse::<Language>().ok())
            .unwrap_or(match block.zone {
                PostalZone::Domestic => Language::Nb,
                PostalZone::Abroad => Language::En,
            });
        *page.validated_now.entry(person_id).or_default() += 1;
        ValidationOutcome {
            status: OrderStatus::Validated,
            reason: None,
            detail: None,
            person_national_id: person_number,
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

fn rejected(
    reason: RejectReason,
    detail: Option<String>,
    person_national_id: Option<String>,
) -> ValidationOutcome {
    ValidationOutcome {
        status: OrderStatus::Rejected,
        reason: Some(reason.code().to_string()),
        detail,
        person_national_id,
        letter_language: None,
        address: None,
        postal_zone: None,
        postcode: None,
        country: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(age_on(d(2013, 11, 24), d(2026, 11, 24)), 13);
        assert_eq!(age_on(d(2013, 11, 25), d(2026, 11, 24)), 12);
        assert_eq!(age_on(d(2012, 2, 29), d(2025, 2, 28)), 12);
        assert_eq!(age_on(d(2030, 1, 1), d(2026, 11, 24)), 0);
    }
}
