//! `orders validate`: every `received` order, oldest first, a page per write transaction: the
//! facts about the page's people read from the store, the rules of
//! [`pinbrev_core::validation`] applied, the outcomes recorded.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Europe::Oslo;
use serde::Serialize;

use crate::db::{Db, DbError, PeopleFound, ReceivedOrder, Table, Tx, ValidationEvents};
use crate::letters::Window;
use crate::orders::OrderStatus;
use crate::settings::Settings;
use pinbrev_core::validation::{
    numbers_to_look_up, parse_ids, Assessment, Facts, OrderFacts, RuleSettings, Rules,
    ValidationOutcome,
};

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

/// The rules, with the store they read and record through.
pub struct Validator<'a> {
    db: &'a Db,
    rules: Arc<Rules>,
    now: DateTime<Utc>,
}

/// Orders validated per write transaction: the facts of a page are read with a few queries, and
/// a page's rows are written once (fewer pages, fewer rewrites of the same database pages).
/// Validating 100,000 orders took 4.1 s at 10,000 a page against 4.4 s at 5,000 (peak RSS 138
/// against 104 MB); 20,000 gained nothing more and took 210 MB.
const PAGE: i64 = 10_000;

/// Pages per write transaction. Each commit writes every database page its transaction changed,
/// and a page's orders change index pages all over the indexes on the person and on the
/// events' order: at 1,000,000 orders, committing every page wrote 8.6 GB, every ten pages
/// 2.5 GB, and took 56.0 s against 58.3 s (one run each); at 100,000 it made no difference.
const PAGES_PER_TRANSACTION: usize = 10;

impl<'a> Validator<'a> {
    /// Prepares a run at the current time.
    pub async fn new(db: &'a Db, settings: &'a Settings) -> Result<Validator<'a>, DbError> {
        let now = Utc::now();
        let rules = Rules::new(
            RuleSettings {
                allow_synthetic: settings.allow_synthetic,
                min_age: settings.min_age,
                max_letters_per_30_days: settings.max_letters_per_30_days,
            },
            crate::postcodes::load(db).await?,
            // Every envelope window a letter may be printed for: the default and each vendor's.
            std::iter::once(Window::default())
                .chain(settings.vendors.values().map(|v| v.window))
                .collect(),
            now.with_timezone(&Oslo).date_naive(),
        );
        Ok(Validator {
            db,
            rules: Arc::new(rules),
            now,
        })
    }

    /// Validates every `received` order, oldest first, [`PAGES_PER_TRANSACTION`] pages per
    /// write transaction. On SQLite the next page is read before each page's outcomes are
    /// written, and the rules that look at each of its orders alone run on other threads while
    /// they are; a page read ahead at the end of a transaction is used in the next only if no
    /// other connection wrote in between (else it is read again).
    pub async fn run(&self) -> Result<ValidationReport, DbError> {
        let report = self.validate_all().await?;
        self.db
            .refresh_statistics(&[Table::Orders, Table::Letters])
            .await?;
        Ok(report)
    }

    async fn validate_all(&self) -> Result<ValidationReport, DbError> {
        let mut report = ValidationReport::default();
        let waiting = self.db.count_queue(OrderStatus::Received).await?;
        let bar = crate::progress::bar(waiting as u64, "validate", crate::progress::Unit::Items);
        let mut after: Option<(String, String)> = None;
        // A page read ahead, with the database's data version when it was read.
        let mut ahead: Option<(i64, PageRead)> = None;
        let mut open: Option<(Tx, usize, ValidationEvents)> = None;
        loop {
            let (mut tx, pages, mut events) = match open.take() {
                Some(open) => open,
                None => {
                    let mut tx = self.db.begin_write().await?;
                    let version = self.db.data_version(&mut tx).await?;
                    ahead = ahead.filter(|(read_at, _)| Some(*read_at) == version);
                    (tx, 0, ValidationEvents::default())
                }
            };
            let current = match ahead.take() {
                Some((_, page)) => Some(page),
                None => self.read_page(&mut tx, after.as_ref()).await?,
            };
            let Some(PageRead { orders, assessing }) = current else {
                self.commit(tx, events).await?;
                break;
            };
            if let Some(last) = orders.last() {
                after = Some((last.ordered_at.clone(), last.order_id.clone()));
            }
            let finishing = self.finish(&mut tx, orders, assessing).await?;
            // The next page is read while the order rules run on another thread.
            if let Some(version) = self.db.data_version(&mut tx).await? {
                ahead = self
                    .read_page(&mut tx, after.as_ref())
                    .await?
                    .map(|page| (version, page));
            }
            let (orders, outcomes) = joined(finishing).await;
            let outcomes: Vec<(&ReceivedOrder, ValidationOutcome)> =
                orders.iter().zip(outcomes).collect();
            self.db
                .record_validations(&mut tx, &outcomes, &mut events)
                .await?;
            if pages + 1 == PAGES_PER_TRANSACTION {
                self.commit(tx, events).await?;
            } else {
                open = Some((tx, pages + 1, events));
            }
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
        let order = ReceivedOrder::from(
            &self
                .db
                .order_in(&mut tx, order_id)
                .await?
                .expect("the order was just moved"),
        );
        let page = self.assess(&mut tx, vec![order]).await?;
        let (orders, outcomes) =
            joined(self.finish(&mut tx, page.orders, page.assessing).await?).await;
        let outcomes: Vec<(&ReceivedOrder, ValidationOutcome)> =
            orders.iter().zip(outcomes).collect();
        let mut events = ValidationEvents::default();
        self.db
            .record_validations(&mut tx, &outcomes, &mut events)
            .await?;
        self.commit(tx, events).await?;
        let (_, outcome) = outcomes
            .into_iter()
            .next()
            .expect("one order was validated");
        Ok(Reissue::Done(outcome.status, outcome.reason))
    }

    /// The next page of `received` orders after `after`, with its people read and its orders
    /// being assessed; `None` when no order is waiting.
    async fn read_page(
        &self,
        tx: &mut Tx,
        after: Option<&(String, String)>,
    ) -> Result<Option<PageRead>, DbError> {
        let orders = self
            .db
            .received_orders_in(tx, after.map(|(a, b)| (a.as_str(), b.as_str())), PAGE)
            .await?;
        if orders.is_empty() {
            return Ok(None);
        }
        self.assess(tx, orders).await.map(Some)
    }

    /// Reads who the orders' people are, then applies the rules that look at each order alone
    /// on other threads ([`Rules::assess_page`]).
    async fn assess(&self, tx: &mut Tx, orders: Vec<ReceivedOrder>) -> Result<PageRead, DbError> {
        let ids = parse_ids(&order_facts(&orders), self.rules.settings().allow_synthetic);
        let found = self.db.people_named(tx, &numbers_to_look_up(&ids)).await?;
        let rules = Arc::clone(&self.rules);
        let assessing = tokio::task::spawn_blocking(move || {
            let threads = crate::parallel::cores();
            let PeopleFound { person_of, persons } = found.read(threads)?;
            let facts = Facts {
                person_of,
                persons,
                ..Facts::default()
            };
            let assessment = rules.assess_page(&ids, &facts, threads);
            Ok((facts, assessment))
        });
        Ok(PageRead { orders, assessing })
    }

    /// Finishes a page of orders: its people's orders and letters counted in this transaction
    /// (after every earlier page's outcomes), then the order rules on another thread, which
    /// hands back the orders with their outcomes, in order.
    async fn finish(
        &self,
        tx: &mut Tx,
        orders: Vec<ReceivedOrder>,
        assessing: Assessing,
    ) -> Result<Finishing, DbError> {
        let (mut facts, assessment) = joined(assessing).await?;
        let counts = self
            .db
            .count_orders_and_letters(tx, &facts.numbers(), self.now - Duration::days(30))
            .await?;
        facts.active_orders = counts.active_orders;
        facts.recent_letters = counts.recent_letters;
        let rules = Arc::clone(&self.rules);
        Ok(tokio::task::spawn_blocking(move || {
            let outcomes = rules.finish(&order_facts(&orders), assessment, &facts);
            // The page's facts (every record read) are freed here too, not on the thread that
            // drives the store.
            drop(facts);
            (orders, outcomes)
        }))
    }

    /// Stores the events of a transaction's outcomes, then commits it.
    async fn commit(&self, mut tx: Tx, events: ValidationEvents) -> Result<(), DbError> {
        self.db.store_validation_events(&mut tx, events).await?;
        tx.commit_as("committing validation outcomes").await
    }
}

/// What a task on another thread returned; its panic, if it panicked, goes on here.
async fn joined<T>(task: tokio::task::JoinHandle<T>) -> T {
    match task.await {
        Ok(done) => done,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// The rules' view of orders.
fn order_facts(orders: &[ReceivedOrder]) -> Vec<OrderFacts<'_>> {
    orders
        .iter()
        .map(|o| OrderFacts {
            national_id: &o.national_id,
            language: o.language.as_deref(),
        })
        .collect()
}

/// The facts of a page without their counts, and the page assessed, from another thread.
type Assessing = tokio::task::JoinHandle<Result<(Facts, Assessment), DbError>>;

/// The order rules of a page under way on another thread: the page's orders, then their
/// outcomes in the same order.
type Finishing = tokio::task::JoinHandle<(Vec<ReceivedOrder>, Vec<ValidationOutcome>)>;

/// A page of orders read inside a write transaction, with its assessment under way.
struct PageRead {
    orders: Vec<ReceivedOrder>,
    assessing: Assessing,
}
