//! SQL of `orders validate`: the facts the rules need about a page of orders, read with a few
//! set-based queries, and the outcomes the rules decided, written with multi-row statements.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::builder::QueryBuilder;
use super::orders::status_page_sql;
use super::{
    all_changed, json_list, json_rows, now, Db, DbError, OrderRow, Tx, ROWS_PER_STATEMENT,
};
use pinbrev_core::free_text;
use pinbrev_core::letter::LetterState;
use pinbrev_core::order::{timestamp, OrderStatus};
use pinbrev_core::validation::ValidationOutcome;

/// The people behind a page's identity numbers, as stored.
#[derive(Debug, Default)]
pub struct PeopleFound {
    /// Identifier (as ordered) → the person who has or had it.
    pub person_of: HashMap<String, i64>,
    /// The people found: person_id and the stored register record (JSON), for the rules to read.
    pub records: Vec<(i64, String)>,
}

/// An order waiting for validation, as the rules read it (read from an array of its columns).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ReceivedOrder {
    pub order_id: String,
    /// The identity number as ordered.
    pub national_id: String,
    /// The language asked for, if any.
    pub language: Option<String>,
    /// When it was ordered (the page's position).
    pub ordered_at: String,
}

impl From<&OrderRow> for ReceivedOrder {
    fn from(o: &OrderRow) -> Self {
        ReceivedOrder {
            order_id: o.order_id.clone(),
            national_id: o.national_id.clone(),
            language: o.language.clone(),
            ordered_at: o.ordered_at.clone(),
        }
    }
}

/// A page's people's orders and letters, counted per identifier.
#[derive(Debug, Default)]
pub struct OrderCounts {
    /// Orders in progress (validated, batched or printed) per identifier they resolved to.
    pub active_orders: HashMap<String, i64>,
    /// Letters (other than failed ones) made since the given time, per identifier.
    pub recent_letters: HashMap<String, i64>,
}

impl Db {
    /// The next `limit` orders still `received`, oldest first (`ordered_at`, then order_id),
    /// after the given position, read inside the write transaction that will record them: only
    /// what the rules read, as one JSON text.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn received_orders_in(
        &self,
        tx: &mut Tx,
        after: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<ReceivedOrder>, DbError> {
        let (at, id) = after.unwrap_or(("", ""));
        let mut page: Vec<ReceivedOrder> = json_rows(
            &mut **tx,
            sqlx::query(&status_page_sql(
                self.engine,
                "order_id, national_id, language, ordered_at",
            ))
            .bind(OrderStatus::Received.code())
            .bind(at)
            .bind(id)
            .bind(limit),
            "reading received orders",
        )
        .await?;
        page.sort_unstable_by(|a, b| {
            (&a.ordered_at, &a.order_id).cmp(&(&b.ordered_at, &b.order_id))
        });
        Ok(page)
    }

    /// The people behind `national_ids` (identifiers as ordered, already valid): who has or had
    /// each identifier, and each person's stored register record, for the rules to read.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn people_named(
        &self,
        tx: &mut Tx,
        national_ids: &[String],
    ) -> Result<PeopleFound, DbError> {
        let mut facts = PeopleFound::default();
        let mut records: HashMap<i64, String> = HashMap::new();
        let in_list = self.engine.in_list();
        let rows = self
            .engine
            .rows_as_json("i.national_id, p.person_id, p.record");
        let found: Vec<(String, i64, String)> = json_rows(
            &mut **tx,
            sqlx::query(&format!(
                "SELECT {rows} FROM person_ids i \
                 JOIN persons p ON p.person_id = i.person_id WHERE i.national_id IN {in_list}"
            ))
            .bind(json_list(national_ids)),
            "looking up people",
        )
        .await?;
        for (national_id, person_id, record) in found {
            records.entry(person_id).or_insert(record);
            facts.person_of.insert(national_id, person_id);
        }
        facts.records = records.into_iter().collect();
        Ok(facts)
    }

    /// Counts the orders in progress and the letters made since `letters_since` of the people
    /// with these identifiers (every identifier of each person, as the register lists them), per
    /// identifier.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn count_orders_and_letters(
        &self,
        tx: &mut Tx,
        numbers: &[&str],
        letters_since: DateTime<Utc>,
    ) -> Result<OrderCounts, DbError> {
        let mut facts = OrderCounts::default();
        let numbers = json_list(numbers);
        let [validated, batched, printed] = OrderStatus::ACTIVE.map(|s| s.code());
        // One count per identifier, each found through the index on the person's identifier:
        // a plan that stays right however many orders the night has validated so far, where a
        // join over the whole list follows the table statistics, stale within minutes on a
        // busy night (PostgreSQL then scanned every validated order once per page).
        // Only identifiers with something to count come back, as one JSON text.
        let in_list = self.engine.in_list();
        let rows = self.engine.rows_as_json("number, active, recent");
        let counted: Vec<(String, i64, i64)> = json_rows(
            &mut **tx,
            sqlx::query(&format!(
                "SELECT {rows} FROM (SELECT ids.value AS number, \
                 (SELECT COUNT(*) FROM orders o \
                  WHERE o.person_national_id = ids.value AND o.status IN ($2, $3, $4)) AS active, \
                 (SELECT COUNT(*) FROM orders o JOIN letters l ON l.order_id = o.order_id \
                  WHERE o.person_national_id = ids.value AND l.state <> $5 AND l.created_at >= $6) \
                 AS recent FROM {in_list} AS ids) AS counted WHERE active > 0 OR recent > 0"
            ))
            .bind(&numbers)
            .bind(validated)
            .bind(batched)
            .bind(printed)
            .bind(LetterState::Failed.code())
            .bind(timestamp(letters_since)),
            "counting people's orders and letters",
        )
        .await?;
        for (number, active, recent) in counted {
            for (into, count) in [
                (&mut facts.active_orders, active),
                (&mut facts.recent_letters, recent),
            ] {
                if count > 0 {
                    *into.entry(number.clone()).or_default() += count;
                }
            }
        }
        Ok(facts)
    }

    /// Records the outcomes of validating orders that are `received` (read in this transaction),
    /// each with its event, in a few multi-row statements.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn record_validations(
        &self,
        tx: &mut Tx,
        outcomes: &[(&str, ValidationOutcome)],
    ) -> Result<(), DbError> {
        let at = now();
        if let Some((order_id, o)) = outcomes
            .iter()
            .find(|(_, o)| !OrderStatus::Received.may_become(o.status))
        {
            return Err(DbError::Transition {
                order_id: order_id.to_string(),
                from: OrderStatus::Received,
                to: o.status,
            });
        }
        tx.prefer_index_lookups().await?;
        // In order_id order, the order of the index each row is found by and of the events'
        // index: each statement's rows are then neighbours in both.
        let mut outcomes: Vec<&(&str, ValidationOutcome)> = outcomes.iter().collect();
        outcomes.sort_unstable_by_key(|(order_id, _)| *order_id);
        for chunk in outcomes.chunks(ROWS_PER_STATEMENT) {
            let mut qb = QueryBuilder::new(
                self.engine,
                "WITH v (order_id, status, reason, reason_detail, person_national_id, person_id, \
                 letter_language, address, postal_zone, postcode, country, validated_at) AS (",
            );
            qb.push_values(chunk, |mut row, (order_id, o)| {
                let validated_at = (o.status == OrderStatus::Validated).then_some(at.as_str());
                row.push_bind(*order_id)
                    .push_bind(o.status.code())
                    .push_bind(o.reason.as_deref())
                    .push_bind(o.detail.as_deref().map(free_text::clean))
                    .push_bind(o.person_national_id.as_deref())
                    .push_bind(o.person_id)
                    .push_bind(o.letter_language.as_deref())
                    .push_bind(o.address.as_deref())
                    .push_bind(o.postal_zone.as_deref())
                    .push_bind(o.postcode.as_deref())
                    .push_bind(o.country.as_deref())
                    .push_bind(validated_at);
            });
            qb.push(
                ") UPDATE orders SET status = v.status, reason = v.reason, reason_detail = v.reason_detail, \
                 person_national_id = v.person_national_id, person_id = v.person_id, \
                 letter_language = v.letter_language, \
                 address = v.address, postal_zone = v.postal_zone, postcode = v.postcode, \
                 country = v.country, validated_at = v.validated_at, updated_at = ",
            );
            qb.push_bind(at.as_str());
            qb.push(" FROM v WHERE orders.order_id = v.order_id AND orders.status = ");
            qb.push_bind(OrderStatus::Received.code());
            let changed = qb
                .execute_rows(tx, chunk.len(), "storing validation outcomes")
                .await?;
            all_changed(
                changed,
                chunk.len(),
                "orders.status",
                "orders being validated were no longer received",
            )?;
            // What every event of the statement shares is bound once, not once a row.
            let mut qb = QueryBuilder::new(self.engine, "WITH e (order_id, status, detail) AS (");
            qb.push_values(chunk, |mut row, (order_id, o)| {
                let detail = match (&o.reason, &o.detail) {
                    (Some(r), Some(d)) => Some(free_text::clean(&format!("{r}: {d}"))),
                    (Some(r), None) => Some(free_text::clean(r)),
                    _ => None,
                };
                row.push_bind(*order_id)
                    .push_bind(o.status.code())
                    .push_bind(detail);
            });
            qb.push(
                ") INSERT INTO order_events (order_id, at, actor, event, from_status, to_status, detail) \
                 SELECT e.order_id, ",
            );
            qb.push_bind(at.as_str());
            qb.push(", ");
            qb.push_bind("validate");
            qb.push(", e.status, ");
            qb.push_bind(OrderStatus::Received.code());
            qb.push(", e.status, e.detail FROM e");
            qb.execute_rows(tx, chunk.len(), "storing validation events")
                .await?;
        }
        Ok(())
    }
}
