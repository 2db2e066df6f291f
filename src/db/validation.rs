//! SQL of `orders validate`: the facts the rules need about a page of orders, read with a few
//! set-based queries, and the outcomes the rules decided, written with multi-row statements.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;

use super::builder::{execute_all, QueryBuilder, Statement};
use super::orders::{in_queue, resolved_to, status_page_sql};
use super::Engine;
use super::{
    all_changed, ctx, json_list, json_rows, now, rows_unreadable, Db, DbError, OrderRow, Tx,
    ROWS_PER_STATEMENT,
};
use pinbrev_core::free_text;
use pinbrev_core::freg::Person;
use pinbrev_core::letter::LetterState;
use pinbrev_core::order::{timestamp, OrderStatus};
use pinbrev_core::validation::ValidationOutcome;

/// The people behind a page's identity numbers, as read: who has or had each identifier, and
/// the people's stored register records as one JSON text, an array of `[person_id, record]`
/// rows with each record inside as stored (itself JSON), not as a string. Read with
/// [`PeopleRows::read`], off the connection's thread: the database neither escapes the records
/// nor the reader unescapes them.
#[derive(Debug, Default)]
pub struct PeopleRows {
    person_of: HashMap<String, i64>,
    records: String,
}

/// The people behind a page's identity numbers, read.
#[derive(Debug, Default)]
pub struct PeopleFound {
    /// Identifier (as ordered) → the person who has or had it.
    pub person_of: HashMap<String, i64>,
    /// The people found, by person_id.
    pub persons: HashMap<i64, Person>,
}

impl PeopleRows {
    /// Reads the records on `threads` threads: a record that is not a register person as
    /// pinbrev stores it is an error naming the person_id.
    pub fn read(self, threads: usize) -> Result<PeopleFound, DbError> {
        let records: Vec<(i64, &RawValue)> = serde_json::from_str(&self.records)
            .map_err(|e| rows_unreadable("looking up people", &e))?;
        // Reading the records is much of the work, and each person's alone: done on every core.
        let read = crate::parallel::map(&records, threads, |(person_id, record)| {
            serde_json::from_str::<Person>(record.get())
                .map(|person| (*person_id, person))
                // serde's message may quote the value it could not read (a name, a number).
                .map_err(|e| DbError::Corrupt {
                    what: format!("person {person_id}"),
                    message: format!(
                        "the stored record is not a register person ({:?} error at character {})",
                        e.classify(),
                        e.column()
                    ),
                })
        });
        // Sized at once: a person is large, and a map that grows moves every person read so far
        // into new memory each time (0.1 s of page faults and copies at 100,000 people).
        let mut persons = HashMap::with_capacity(read.len());
        for person in read {
            let (person_id, person) = person?;
            persons.insert(person_id, person);
        }
        Ok(PeopleFound {
            person_of: self.person_of,
            persons,
        })
    }
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
    /// SQLite's rowid of the order, read in the write transaction that records its outcome: the
    /// outcome is written to that row (checked to be the order's) without a lookup through the
    /// index on order_id. `None` on PostgreSQL, and for an order read otherwise.
    #[serde(default)]
    pub row_id: Option<i64>,
}

impl From<&OrderRow> for ReceivedOrder {
    fn from(o: &OrderRow) -> Self {
        ReceivedOrder {
            order_id: o.order_id.clone(),
            national_id: o.national_id.clone(),
            language: o.language.clone(),
            ordered_at: o.ordered_at.clone(),
            row_id: None,
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
                OrderStatus::Received,
                "order_id, national_id, language, ordered_at",
                true,
            ))
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
    ) -> Result<PeopleRows, DbError> {
        let in_list = self.engine.in_list();
        let rows = self.engine.rows_as_json("national_id, person_id");
        let found: Vec<(String, i64)> = json_rows(
            &mut **tx,
            sqlx::query(&format!(
                "SELECT {rows} FROM person_ids WHERE national_id IN {in_list}"
            ))
            .bind(json_list(national_ids)),
            "looking up people",
        )
        .await?;
        let mut person_ids: Vec<i64> = found.iter().map(|(_, person_id)| *person_id).collect();
        person_ids.sort_unstable();
        person_ids.dedup();
        // The records are read by a second query, in person_id order, the order they are stored
        // in: read through the identifiers, a page's people came in an order as random as their
        // numbers (0.79 s for 100,000 in sqlite3, against 0.17 + 0.36 s). Each record is written
        // into the array as stored: pinbrev stored it as JSON (import serialises each person),
        // and making it a JSON string cost SQLite a third of the lookup, and the reader as much
        // to undo.
        let records = self.engine.concatenated(
            "'[' || CAST(person_id AS TEXT) || ',' || record || ']'",
            "','",
        );
        let integer_list = self.engine.integer_list();
        let records: String = sqlx::query_scalar(&format!(
            "SELECT '[' || COALESCE({records}, '') || ']' FROM persons \
             WHERE person_id IN {integer_list}"
        ))
        .bind(json_list(&person_ids))
        .fetch_one(&mut **tx)
        .await
        .map_err(ctx("reading people's records"))?;
        Ok(PeopleRows {
            person_of: found.into_iter().collect(),
            records,
        })
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
        // In order, as their index holds them: at a million orders, the searches then walk it
        // from end to end rather than all over it.
        let mut numbers = numbers.to_vec();
        numbers.sort_unstable();
        numbers.dedup();
        let numbers = json_list(&numbers);
        let [validated, batched, printed] = OrderStatus::ACTIVE.map(|s| s.code());
        // Each identifier's orders are found through the index on the number they were placed
        // with, or, placed with another number, through the person index (which holds only
        // those): a plan that stays right however many orders the night has validated so
        // far, where a join on the status follows the table statistics, stale within minutes
        // on a busy night (PostgreSQL then scanned every validated order once per page). Each
        // order found is read once for both counts: at 100,000 orders, a count of its own for
        // each (four in all) took 0.25 s, these 0.13 s (sqlx's statement timings, one run each).
        // Only identifiers with something to count come back, as one JSON text.
        let in_list = self.engine.in_list();
        let rows = self.engine.rows_as_json("number, active, recent");
        let found = |resolved_to: &str| {
            format!(
                "SELECT ids.value AS number, \
                 CASE WHEN o.status IN ($2, $3, $4) THEN 1 ELSE 0 END AS active, \
                 (SELECT COUNT(*) FROM letters l WHERE l.order_id = o.order_id \
                  AND l.state <> $5 AND l.created_at >= $6) AS recent \
                 FROM {in_list} AS ids JOIN orders o ON {resolved_to}"
            )
        };
        let [placed, moved] = resolved_to("o", "= ids.value");
        let counted: Vec<(String, i64, i64)> = json_rows(
            &mut **tx,
            sqlx::query(&format!(
                "SELECT {rows} FROM (SELECT number, SUM(active) AS active, SUM(recent) AS recent \
                 FROM ({} UNION ALL {}) AS found GROUP BY number) AS counted \
                 WHERE active > 0 OR recent > 0",
                found(&placed),
                found(&moved)
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

    /// Records the outcomes of validating orders that are `received` (read in this transaction)
    /// in a few multi-row statements; their events are added to `events`, to be stored in the
    /// same transaction by [`Db::store_validation_events`].
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn record_validations(
        &self,
        tx: &mut Tx,
        outcomes: &[(&ReceivedOrder, ValidationOutcome)],
        events: &mut ValidationEvents,
    ) -> Result<(), DbError> {
        let at = now();
        if let Some((order, o)) = outcomes
            .iter()
            .find(|(_, o)| !OrderStatus::Received.may_become(o.status))
        {
            return Err(DbError::Transition {
                order_id: order.order_id.clone(),
                from: OrderStatus::Received,
                to: o.status,
            });
        }
        tx.prefer_index_lookups().await?;
        // In the order of what finds their rows (rowid on SQLite, else order_id): each
        // statement's rows are then neighbours. The events go in order_id order, the order of
        // their index, when the transaction's are stored together.
        let by_row =
            self.engine == Engine::Sqlite && outcomes.iter().all(|(o, _)| o.row_id.is_some());
        let mut rows: Vec<&(&ReceivedOrder, ValidationOutcome)> = outcomes.iter().collect();
        if by_row {
            rows.sort_unstable_by_key(|(o, _)| o.row_id);
        } else {
            rows.sort_unstable_by_key(|(o, _)| o.order_id.as_str());
        }
        let engine = self.engine;
        let statements = rows
            .chunks(ROWS_PER_STATEMENT)
            .map(|chunk| outcomes_statement(engine, chunk, by_row, &at));
        let changed = execute_all(tx, statements).await?;
        for (changed, chunk) in changed.iter().zip(rows.chunks(ROWS_PER_STATEMENT)) {
            all_changed(
                *changed,
                chunk.len(),
                "orders.status",
                "orders being validated were no longer received",
            )?;
        }
        events
            .0
            .extend(outcomes.iter().map(|(order, o)| ValidationEvent {
                order_id: order.order_id.clone(),
                status: o.status,
                detail: match (&o.reason, &o.detail) {
                    (Some(r), Some(d)) => Some(free_text::clean(&format!("{r}: {d}"))),
                    (Some(r), None) => Some(free_text::clean(r)),
                    _ => None,
                },
                at: at.clone(),
            }));
        Ok(())
    }

    /// Stores the events of the outcomes recorded in this transaction, in order_id order (the
    /// order of the events' index), in a few multi-row statements.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn store_validation_events(
        &self,
        tx: &mut Tx,
        mut events: ValidationEvents,
    ) -> Result<(), DbError> {
        events.0.sort_by(|a, b| a.order_id.cmp(&b.order_id));
        let engine = self.engine;
        let statements = events
            .0
            .chunks(ROWS_PER_STATEMENT)
            .map(|chunk| events_statement(engine, chunk));
        execute_all(tx, statements).await?;
        Ok(())
    }
}

/// The events of validation outcomes recorded in a transaction and not stored yet. They are
/// stored together before it commits: at a million orders a page's events landed all over the
/// index of the events' order, which is larger than SQLite's page cache, so that each page read
/// and wrote most of it again.
#[derive(Debug, Default)]
pub struct ValidationEvents(Vec<ValidationEvent>);

/// One order's `received` → outcome event, as it will be stored.
#[derive(Debug)]
struct ValidationEvent {
    order_id: String,
    status: OrderStatus,
    detail: Option<String>,
    at: String,
}

/// The statement that records a chunk of outcomes on their orders, each still `received`; with
/// `by_row`, each found by its rowid (read on SQLite) and checked to be the order by its id.
fn outcomes_statement<'a>(
    engine: Engine,
    chunk: &[&'a (&'a ReceivedOrder, ValidationOutcome)],
    by_row: bool,
    at: &'a str,
) -> Statement<'a> {
    let mut qb = QueryBuilder::new(engine, "WITH v (");
    if by_row {
        qb.push("row_id, ");
    }
    qb.push(
        "order_id, status, reason, reason_detail, person_national_id, person_id, \
         letter_language, address, postal_zone, postcode, country, validated_at) AS (",
    );
    qb.push_values(chunk, |mut row, (order, o)| {
        if by_row {
            row.push_bind(order.row_id);
        }
        let validated_at = (o.status == OrderStatus::Validated).then_some(at);
        row.push_bind(order.order_id.as_str())
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
    qb.push_bind(at);
    // Found by rowid, SQLite reads the row at once; by order_id, through its index first (in
    // sqlite3, 0.57 against 0.84 s for 100,000 orders). The status is a literal, not a bound
    // value: to see whether a partial index on status applies, SQLite reads a value bound in
    // the condition, and then prepares the statement again, all 13,000 values of it, every
    // time new values are bound (100,000 outcomes took 0.94-0.96 s so, against 0.64-0.66 s).
    qb.push(if by_row {
        " FROM v WHERE orders.rowid = v.row_id AND orders.order_id = v.order_id AND orders."
    } else {
        " FROM v WHERE orders.order_id = v.order_id AND orders."
    });
    qb.push(in_queue(OrderStatus::Received));
    Statement {
        builder: qb,
        rows: chunk.len(),
        context: "storing validation outcomes",
    }
}

/// The statement that stores a chunk of validation events.
fn events_statement(engine: Engine, chunk: &[ValidationEvent]) -> Statement<'_> {
    // What every event of the statement shares is bound once, not once a row.
    let mut qb = QueryBuilder::new(engine, "WITH e (order_id, at, status, detail) AS (");
    qb.push_values(chunk, |mut row, e| {
        row.push_bind(e.order_id.as_str())
            .push_bind(e.at.as_str())
            .push_bind(e.status.code())
            .push_bind(e.detail.as_deref());
    });
    qb.push(
        ") INSERT INTO order_events (order_id, at, actor, event, from_status, to_status, detail) \
         SELECT e.order_id, e.at, ",
    );
    qb.push_bind("validate");
    qb.push(", e.status, ");
    qb.push_bind(OrderStatus::Received.code());
    qb.push(", e.status, e.detail FROM e");
    Statement {
        builder: qb,
        rows: chunk.len(),
        context: "storing validation events",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinbrev_core::freg::{Identifier, IdentifierType, ImportedPerson, Navn};

    fn person(numbers: &[&str], first_name: &str) -> ImportedPerson {
        ImportedPerson {
            person: Person {
                identifiers: numbers
                    .iter()
                    .enumerate()
                    .map(|(i, n)| Identifier {
                        number: n.to_string(),
                        id_type: IdentifierType::Foedselsnummer,
                        in_use: i == 0,
                    })
                    .collect(),
                name: Some(Navn {
                    fornavn: Some(first_name.to_string()),
                    etternavn: Some("Nordmann".to_string()),
                    ..Navn::default()
                }),
                ..Person::default()
            },
            line: 1,
        }
    }

    #[test]
    fn people_are_found_by_every_number_they_have_had_with_their_records_as_stored() {
        super::super::tests::runtime().block_on(async {
            let (_dir, db) = super::super::tests::temp_db().await;
            let people = [
                person(&["01010112345", "41010112345"], "Åse \"Quote\" \\ O'Hara"),
                person(&["02020212345"], "Per"),
                person(&["03030312345"], "Not asked for"),
            ];
            db.store_persons("register.jsonl", &people).await.unwrap();
            let asked: Vec<String> = ["41010112345", "01010112345", "02020212345", "09090912345"]
                .map(String::from)
                .to_vec();
            let mut tx = db.begin_write().await.unwrap();
            let found = db
                .people_named(&mut tx, &asked)
                .await
                .unwrap()
                .read(2)
                .unwrap();
            assert_eq!(found.person_of.len(), 3, "the unknown number finds no one");
            let first = found.person_of["01010112345"];
            assert_eq!(
                found.person_of["41010112345"], first,
                "an old number finds the person"
            );
            assert_ne!(found.person_of["02020212345"], first);
            assert_eq!(found.persons.len(), 2, "each person is read once");
            assert_eq!(found.persons[&first], people[0].person);
            assert_eq!(
                found.persons[&found.person_of["02020212345"]],
                people[1].person
            );
            let none = db
                .people_named(&mut tx, &[])
                .await
                .unwrap()
                .read(2)
                .unwrap();
            assert!(none.person_of.is_empty() && none.persons.is_empty());
        });
    }

    #[test]
    fn a_stored_record_that_is_not_a_person_is_named_by_its_person_id_without_its_content() {
        let valid = serde_json::to_string(&Person::default()).unwrap();
        let rows = PeopleRows {
            person_of: HashMap::new(),
            records: format!(r#"[[7,{valid}],[8,{{"identifiers":"01010112345"}}]]"#),
        };
        let err = rows.read(2).unwrap_err().to_string();
        assert!(err.contains("person 8"), "{err}");
        assert!(!err.contains("01010112345"), "{err}");
        let rows = PeopleRows {
            person_of: HashMap::new(),
            records: "[[7,{]]".into(),
        };
        let err = rows.read(1).unwrap_err().to_string();
        assert!(err.contains("looking up people"), "{err}");
    }

    #[test]
    fn orders_and_letters_are_counted_under_the_number_their_person_had_whatever_they_were_placed_with(
    ) {
        super::super::tests::runtime().block_on(async {
            let (_dir, db) = super::super::tests::temp_db().await;
            let mut tx = db.begin_write().await.unwrap();
            let (fnr, dnr, other, moved) = ("01010112345", "41010112345", "02020212345", "03030312345");
            // (order, placed with, validated for, status, letter state)
            let orders = [
                ("O-1", dnr, Some(fnr), "validated", Some("pending")),
                ("O-2", fnr, Some(fnr), "batched", Some("failed")),
                ("O-3", fnr, None, "received", None),
                ("O-4", dnr, Some(dnr), "posted", Some("issued")),
                ("O-5", other, Some(fnr), "printed", Some("issued")),
                ("O-6", fnr, Some(moved), "validated", None),
                ("O-7", fnr, Some(fnr), "rejected", None),
            ];
            sqlx::query(
                "INSERT INTO batches (batch_id, vendor, outbox, state, created_at, letter_count) \
                 VALUES ('B-1', 'v', 'out', 'published', '2026-12-01T10:00:00.000000Z', 4)",
            )
            .execute(&mut *tx)
            .await
            .unwrap();
            for (i, (order, placed, person, status, letter)) in orders.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO orders (order_id, national_id, ordered_at, channel, source_file, \
                     source_line, received_at, status, person_national_id, updated_at) \
                     VALUES ($1, $2, '2026-12-01T10:00:00.000000Z', 'web', 'o.csv', 2, 'now', $3, $4, 'now')",
                )
                .bind(order)
                .bind(placed)
                .bind(status)
                .bind(person)
                .execute(&mut *tx)
                .await
                .unwrap();
                if let Some(state) = letter {
                    sqlx::query(
                        "INSERT INTO letters (letter_id, order_id, batch_id, sequence, state, created_at) \
                         VALUES ($1, $2, 'B-1', $3, $4, '2026-12-01T10:00:00.000000Z')",
                    )
                    .bind(format!("L-{order}"))
                    .bind(order)
                    .bind(i as i64)
                    .bind(state)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                }
            }
            let since = DateTime::parse_from_rfc3339("2026-11-15T00:00:00Z")
                .unwrap()
                .with_timezone(&Utc);
            let numbers = [fnr, dnr, other, moved, "09090912345"];
            let counts = db
                .count_orders_and_letters(&mut tx, &numbers, since)
                .await
                .unwrap();
            let expected = |pairs: &[(&str, i64)]| -> HashMap<String, i64> {
                pairs.iter().map(|(n, c)| (n.to_string(), *c)).collect()
            };
            assert_eq!(
                counts.active_orders,
                expected(&[(fnr, 3), (moved, 1)]),
                "O-1 and O-5 placed with other numbers, O-2 with the number; O-6 under its person's"
            );
            assert_eq!(
                counts.recent_letters,
                expected(&[(fnr, 2), (dnr, 1)]),
                "the letters of O-1 and O-5 under the person's number, a failed one not at all"
            );
            // The same counts by the plain definition, which reads every order.
            for number in numbers {
                let (active, recent): (i64, i64) = sqlx::query_as(
                    "SELECT (SELECT COUNT(*) FROM orders NOT INDEXED WHERE person_national_id = $1 \
                     AND status IN ('validated', 'batched', 'printed')), \
                     (SELECT COUNT(*) FROM orders o NOT INDEXED JOIN letters l ON l.order_id = o.order_id \
                     WHERE o.person_national_id = $1 AND l.state <> 'failed')",
                )
                .bind(number)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
                let counted = |counts: &HashMap<String, i64>| counts.get(number).copied().unwrap_or(0);
                assert_eq!(counted(&counts.active_orders), active, "{number}");
                assert_eq!(counted(&counts.recent_letters), recent, "{number}");
            }
        });
    }

    #[test]
    fn the_outcomes_statement_binds_no_value_in_its_condition() {
        let order = ReceivedOrder {
            order_id: "A-1".into(),
            national_id: "01010112345".into(),
            language: None,
            ordered_at: "2026-12-01T10:00:00.000000Z".into(),
            row_id: Some(1),
        };
        let outcome = (&order, rejected());
        for by_row in [true, false] {
            let statement =
                outcomes_statement(Engine::Sqlite, &[&outcome], by_row, "2026-12-01T11:00:00Z");
            let sql = statement.builder.sql();
            let (_, condition) = sql.rsplit_once(" WHERE ").expect("a condition");
            assert!(
                !condition.contains('?') && !condition.contains('$'),
                "a value bound in the condition has SQLite prepare the statement again each time \
                 it runs: {condition}"
            );
            assert!(condition.contains("'received'"), "{condition}");
        }
    }

    fn rejected() -> ValidationOutcome {
        ValidationOutcome::rejected(pinbrev_core::order::RejectReason::UnknownPerson, None, None)
    }

    #[test]
    fn an_outcome_is_written_to_the_row_read_only_if_that_row_is_still_the_order() {
        super::super::tests::runtime().block_on(async {
            let (_dir, db) = super::super::tests::temp_db().await;
            let mut tx = db.begin_write().await.unwrap();
            for id in ["A-1", "A-2"] {
                sqlx::query(
                    "INSERT INTO orders (order_id, national_id, ordered_at, channel, source_file, \
                     source_line, received_at, status, updated_at) \
                     VALUES ($1, '01010112345', '2026-12-01T10:00:00.000000Z', 'web', 'o.csv', 2, \
                     'now', 'received', 'now')",
                )
                .bind(id)
                .execute(&mut *tx)
                .await
                .unwrap();
            }
            let page = db.received_orders_in(&mut tx, None, 10).await.unwrap();
            assert_eq!(page.len(), 2);
            assert!(page.iter().all(|o| o.row_id.is_some()), "{page:?}");
            // The second order's id with the first order's row: no row is both.
            let forged = ReceivedOrder {
                row_id: page[0].row_id,
                ..page[1].clone()
            };
            let err = db
                .record_validations(
                    &mut tx,
                    &[(&forged, rejected())],
                    &mut ValidationEvents::default(),
                )
                .await
                .unwrap_err();
            assert!(
                err.to_string().contains("1 of 1 orders being validated"),
                "{err}"
            );
            db.record_validations(
                &mut tx,
                &[(&page[0], rejected()), (&page[1], rejected())],
                &mut ValidationEvents::default(),
            )
            .await
            .unwrap();
            let statuses: Vec<(String, String)> =
                sqlx::query_as("SELECT order_id, status FROM orders ORDER BY order_id")
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
            assert_eq!(
                statuses,
                [
                    ("A-1".into(), "rejected".into()),
                    ("A-2".into(), "rejected".into())
                ]
            );
        });
    }
}
