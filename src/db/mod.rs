//! The database layer: every SQL statement of pinbrev lives here.
//!
//! SQLite now (WAL, `synchronous=FULL`, a busy timeout, `BEGIN IMMEDIATE` for writes that read
//! first); the statements keep to SQL that PostgreSQL also speaks (`$n` parameters,
//! `ON CONFLICT`, `RETURNING`), so that another backend can be added here without touching callers.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Row, Sqlite, SqlitePool, Transaction};

use pinbrev_core::free_text;
use pinbrev_core::freg::ImportedPerson;
use pinbrev_core::input_error::InputError;
use pinbrev_core::order::{timestamp, NewOrder, OrderStatus};
use pinbrev_core::postcodes::PostcodeEntry;

mod data_migrations;
mod letters;
mod operations;
mod report;
mod validation;

pub use letters::{BatchRow, LetterJob, LetterRef, PartRecord, ReceiptOutcome};
pub use operations::{PartFile, FINISHED};
pub use validation::{OrderCounts, PeopleFound};

/// Rows per multi-row statement: few statements, well under SQLite's limit of bound parameters
/// (32,766). The statement of a full chunk is prepared once and kept; a shorter last chunk's is not.
const ROWS_PER_STATEMENT: usize = 1000;

/// A write transaction.
pub type Tx = Transaction<'static, Sqlite>;

/// A database failure, with what pinbrev was doing.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open database {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("database URL {0:?} is not supported: use sqlite://PATH")]
    Unsupported(String),
    #[error("cannot migrate database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the database folder {folder} does not exist; create it, or give --db (PINBREV_DB) a path in an existing folder")]
    NoFolder { folder: PathBuf },
    #[error(
        "this database was migrated by a newer pinbrev (migration {version}); upgrade pinbrev"
    )]
    NewerSchema { version: i64 },
    #[error("database error while {context}: {source}")]
    Query {
        context: &'static str,
        source: sqlx::Error,
    },
    #[error("stored data is unreadable ({what}): {message}")]
    Corrupt { what: String, message: String },
    /// A change of status that the transition table does not allow: a bug, refused before
    /// anything is written.
    #[error("order {order_id}: status {from} may not become {to}")]
    Transition {
        order_id: String,
        from: OrderStatus,
        to: OrderStatus,
    },
}

/// Reads a column of a row; a value of another type than expected is an error naming the
/// column, never a panic.
fn col<'r, T, I>(r: &'r sqlx::sqlite::SqliteRow, index: I) -> Result<T, DbError>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
    I: sqlx::ColumnIndex<sqlx::sqlite::SqliteRow>,
{
    r.try_get(index).map_err(ctx("reading a row"))
}

/// A column holding one of a type's text codes (a state, a status), read into the type.
fn code_col<T>(r: &sqlx::sqlite::SqliteRow, index: usize, what: &str) -> Result<T, DbError>
where
    T: std::str::FromStr<Err = String>,
{
    let code: String = col(r, index)?;
    code.parse().map_err(|message| DbError::Corrupt {
        what: what.to_string(),
        message,
    })
}

fn ctx(context: &'static str) -> impl FnOnce(sqlx::Error) -> DbError {
    move |source| DbError::Query { context, source }
}

/// The current time in the stored form.
pub fn now() -> String {
    timestamp(Utc::now())
}

/// Result of storing an order row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted,
    /// The same order_id with identical content: a re-delivered file, skipped silently.
    SameContent,
    /// The same order_id with different content.
    Conflict,
}

/// An order as stored.
#[derive(Debug, Clone, Serialize)]
pub struct OrderRow {
    pub order_id: String,
    #[serde(skip)]
    pub national_id: String,
    pub ordered_at: String,
    pub channel: String,
    pub language: Option<String>,
    pub status: OrderStatus,
    pub reason: Option<String>,
    pub reason_detail: Option<String>,
    pub letter_language: Option<String>,
    pub postal_zone: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    pub source_file: String,
    pub source_line: i64,
    pub received_at: String,
    pub updated_at: String,
}

/// One event of an order's life.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub at: String,
    pub actor: String,
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub detail: Option<String>,
}

/// Filter of `orders list`.
#[derive(Debug, Default, Clone)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub reason: Option<String>,
}

const ORDER_COLUMNS: &str =
    "order_id, national_id, ordered_at, channel, language, status, reason, \
     reason_detail, letter_language, postal_zone, postcode, country, source_file, source_line, \
     received_at, updated_at";

fn order_row(r: &sqlx::sqlite::SqliteRow) -> Result<OrderRow, DbError> {
    let status: String = col(r, "status")?;
    Ok(OrderRow {
        order_id: col(r, "order_id")?,
        national_id: col(r, "national_id")?,
        ordered_at: col(r, "ordered_at")?,
        channel: col(r, "channel")?,
        language: col(r, "language")?,
        status: status.parse().map_err(|message| DbError::Corrupt {
            what: "orders.status".into(),
            message,
        })?,
        reason: col(r, "reason")?,
        reason_detail: col(r, "reason_detail")?,
        letter_language: col(r, "letter_language")?,
        postal_zone: col(r, "postal_zone")?,
        postcode: col(r, "postcode")?,
        country: col(r, "country")?,
        source_file: col(r, "source_file")?,
        source_line: col(r, "source_line")?,
        received_at: col(r, "received_at")?,
        updated_at: col(r, "updated_at")?,
    })
}

/// The pinbrev database.
#[derive(Clone)]
pub struct Db {
    pool: SqlitePool,
}

impl Db {
    /// Opens (creating and migrating on first use) the database at `url`: `sqlite://PATH`,
    /// `sqlite:PATH` or a plain path.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn open(url: &str) -> Result<Db, DbError> {
        let normalized = if url.starts_with("sqlite:") {
            url.to_string()
        } else if url.contains("://") {
            return Err(DbError::Unsupported(url.to_string()));
        } else {
            format!("sqlite://{url}")
        };
        let open_err = |source| DbError::Open {
            url: url.to_string(),
            source,
        };
        let options = SqliteConnectOptions::from_str(&normalized).map_err(open_err)?;
        check_folder(options.get_filename())?;
        create_private(options.get_filename()).map_err(|e| DbError::Open {
            url: url.to_string(),
            source: sqlx::Error::Io(e),
        })?;
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
            // Rows cross from SQLite's thread to this one in a channel; a deep one lets a large
            // result stream without a thread switch per few rows.
            .row_buffer_size(4096)
            // A night of a million orders works on a database of gigabytes: SQLite's default
            // page cache (2 MB) would send most B-tree steps to the file.
            .pragma("cache_size", "-32768")
            // A night's transactions rewrite the same pages again and again; copying them back
            // into the database every 40 MB of log instead of every 4 MB copies each far fewer
            // times.
            .pragma("wal_autocheckpoint", "10000")
            // Statement timings are the tracing spans' business; sqlx's own warnings about slow
            // statements would print SQL on a quiet night's stderr.
            .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1));
        let pool = SqlitePoolOptions::new()
            // One connection: pinbrev's work is sequential, and SQLite keeps a page cache per
            // connection, dropped whenever another connection has written. Connections taken in
            // turn would each hold a cold copy of the same pages.
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        let migrator = sqlx::migrate!("./sql");
        let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        if let Some(applied) = newest_applied_migration(&pool).await? {
            if applied > known {
                pool.close().await;
                return Err(DbError::NewerSchema { version: applied });
            }
        }
        migrator.run(&pool).await?;
        let db = Db { pool };
        db.run_data_migrations().await?;
        Ok(db)
    }

    /// Starts a write transaction that takes the write lock at once (`BEGIN IMMEDIATE`).
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn begin_write(&self) -> Result<Tx, DbError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(ctx("starting a write transaction"))
    }

    // --- register ------------------------------------------------------------------------

    /// Stores a batch of people in one transaction. A person already known by any of their
    /// identifiers is replaced (keeping its person_id). Returns how many were replacements.
    ///
    /// New people (none of whose identifiers is stored) are written with multi-row statements;
    /// a person who replaces or merges stored ones, one statement at a time.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn store_persons(
        &self,
        source: &str,
        batch: &[ImportedPerson],
    ) -> Result<u64, DbError> {
        let mut tx = self.begin_write().await?;
        let at = now();
        let mut stored: HashSet<String> = HashSet::new();
        let numbers: Vec<&str> = batch
            .iter()
            .flat_map(|p| p.person.identifiers.iter().map(|i| i.number.as_str()))
            .collect();
        let rows = sqlx::query(&format!(
            "SELECT national_id FROM person_ids WHERE national_id IN {IN_LIST}"
        ))
        .bind(json_list(&numbers))
        .fetch_all(&mut *tx)
        .await
        .map_err(ctx("looking up people"))?;
        for r in rows {
            stored.insert(r.try_get(0).map_err(ctx("looking up people"))?);
        }
        let mut next_id: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(person_id), 0) + 1 FROM persons")
                .fetch_one(&mut *tx)
                .await
                .map_err(ctx("numbering people"))?;
        let mut pending: Vec<NewPerson<'_>> = Vec::new();
        let mut pending_numbers: HashSet<&str> = HashSet::new();
        let mut replaced = 0;
        for imported in batch {
            let record = serde_json::to_string(&imported.person).expect("person serializes");
            let ids = &imported.person.identifiers;
            let touches_pending = ids
                .iter()
                .any(|i| pending_numbers.contains(i.number.as_str()));
            if touches_pending {
                insert_new_persons(&mut tx, source, &at, &pending).await?;
                stored.extend(pending_numbers.drain().map(str::to_string));
                pending.clear();
            }
            if ids.iter().any(|i| stored.contains(&i.number)) {
                if replace_person(&mut tx, source, &at, imported, &record).await? {
                    replaced += 1;
                }
                stored.extend(ids.iter().map(|i| i.number.clone()));
                continue;
            }
            pending_numbers.extend(ids.iter().map(|i| i.number.as_str()));
            pending.push(NewPerson {
                person_id: next_id,
                imported,
                record,
            });
            next_id += 1;
        }
        insert_new_persons(&mut tx, source, &at, &pending).await?;
        tx.commit().await.map_err(ctx("committing people"))?;
        Ok(replaced)
    }

    // --- postal codes ----------------------------------------------------------------------

    /// The stored postal-code list, empty if none is loaded yet.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn postcodes(&self) -> Result<Vec<PostcodeEntry>, DbError> {
        let rows = sqlx::query("SELECT postcode, place, municipality_code, municipality, category FROM postcodes ORDER BY postcode")
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("reading postal codes"))?;
        rows.iter()
            .map(|r| {
                Ok(PostcodeEntry {
                    postcode: col(r, 0)?,
                    place: col(r, 1)?,
                    municipality_code: col(r, 2)?,
                    municipality: col(r, 3)?,
                    category: col::<Option<String>, _>(r, 4)?.and_then(|c| c.chars().next()),
                })
            })
            .collect()
    }

    /// Replaces the whole postal-code list in one transaction.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn replace_postcodes(
        &self,
        source: &str,
        entries: &[PostcodeEntry],
    ) -> Result<(), DbError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM postcodes")
            .execute(&mut *tx)
            .await
            .map_err(ctx("clearing postal codes"))?;
        for e in entries {
            sqlx::query("INSERT INTO postcodes (postcode, place, municipality_code, municipality, category) VALUES ($1, $2, $3, $4, $5)")
                .bind(&e.postcode)
                .bind(&e.place)
                .bind(&e.municipality_code)
                .bind(&e.municipality)
                .bind(e.category.map(String::from))
                .execute(&mut *tx)
                .await
                .map_err(ctx("storing postal codes"))?;
        }
        sqlx::query("DELETE FROM postcode_source")
            .execute(&mut *tx)
            .await
            .map_err(ctx("storing postal-code source"))?;
        sqlx::query("INSERT INTO postcode_source (id, source, loaded_at) VALUES (1, $1, $2)")
            .bind(source)
            .bind(now())
            .execute(&mut *tx)
            .await
            .map_err(ctx("storing postal-code source"))?;
        tx.commit().await.map_err(ctx("committing postal codes"))
    }

    // --- orders ----------------------------------------------------------------------------

    /// Stores a batch of parsed orders in one transaction, with a `received` event each: one
    /// query for the orders already known, then multi-row inserts.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn insert_orders(
        &self,
        source: &str,
        orders: &[NewOrder],
    ) -> Result<Vec<InsertOutcome>, DbError> {
        let mut tx = self.begin_write().await?;
        let at = now();
        // What is stored of an order: national_id, ordered_at, channel, language.
        type Content = (String, String, String, Option<String>);
        let mut known: HashMap<String, Content> = HashMap::new();
        let order_ids: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
        let rows = sqlx::query(&format!(
            "SELECT order_id, national_id, ordered_at, channel, language FROM orders WHERE order_id IN {IN_LIST}"
        ))
        .bind(json_list(&order_ids))
        .fetch_all(&mut *tx)
        .await
        .map_err(ctx("looking up orders"))?;
        for r in rows {
            let read = || ctx("looking up orders");
            known.insert(
                r.try_get(0).map_err(read())?,
                (
                    r.try_get(1).map_err(read())?,
                    r.try_get(2).map_err(read())?,
                    r.try_get(3).map_err(read())?,
                    r.try_get(4).map_err(read())?,
                ),
            );
        }
        let mut outcomes = Vec::with_capacity(orders.len());
        let mut new: Vec<&NewOrder> = Vec::with_capacity(orders.len());
        for o in orders {
            let content: Content = (
                o.national_id.clone(),
                o.ordered_at_text(),
                o.channel.code().to_string(),
                o.language.map(|l| l.code().to_string()),
            );
            // An order stored earlier, or earlier in this very file, is known.
            match known.get(o.order_id.as_str()) {
                Some(stored) if *stored == content => outcomes.push(InsertOutcome::SameContent),
                Some(_) => outcomes.push(InsertOutcome::Conflict),
                None => {
                    known.insert(o.order_id.as_str().to_string(), content);
                    new.push(o);
                    outcomes.push(InsertOutcome::Inserted);
                }
            }
        }
        // Stored oldest first, the order validation takes them in: each of its pages then
        // rewrites a few runs of neighbouring rows instead of rows scattered over the table.
        new.sort_by_cached_key(|o| (o.ordered_at, o.order_id.as_str()));
        for chunk in new.chunks(ROWS_PER_STATEMENT) {
            let mut qb = sqlx::QueryBuilder::<Sqlite>::new(
                "INSERT INTO orders (order_id, national_id, ordered_at, channel, language, source_file, source_line, \
                 received_at, status, updated_at) ",
            );
            qb.push_values(chunk, |mut row, o| {
                row.push_bind(o.order_id.as_str())
                    .push_bind(o.national_id.as_str())
                    .push_bind(o.ordered_at_text())
                    .push_bind(o.channel.code())
                    .push_bind(o.language.map(|l| l.code()))
                    .push_bind(source)
                    .push_bind(o.line as i64)
                    .push_bind(at.as_str())
                    .push_bind(OrderStatus::Received.code())
                    .push_bind(at.as_str());
            });
            qb.build()
                .persistent(chunk.len() == ROWS_PER_STATEMENT)
                .execute(&mut *tx)
                .await
                .map_err(ctx("storing orders"))?;
            let mut qb = sqlx::QueryBuilder::<Sqlite>::new(
                "INSERT INTO order_events (order_id, at, actor, event, from_status, to_status, detail) ",
            );
            qb.push_values(chunk, |mut row, o| {
                row.push_bind(o.order_id.as_str())
                    .push_bind(at.as_str())
                    .push_bind("ingest")
                    .push_bind("received")
                    .push_bind(None::<&str>)
                    .push_bind(OrderStatus::Received.code())
                    .push_bind(free_text::clean(&format!("{source}:{}", o.line)));
            });
            qb.build()
                .persistent(chunk.len() == ROWS_PER_STATEMENT)
                .execute(&mut *tx)
                .await
                .map_err(ctx("storing order events"))?;
        }
        tx.commit().await.map_err(ctx("committing orders"))?;
        Ok(outcomes)
    }

    /// Orders in a status, counted.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn count_status(&self, status: OrderStatus) -> Result<i64, DbError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE status = $1")
            .bind(status.code())
            .fetch_one(&self.pool)
            .await
            .map_err(ctx("counting orders"))
    }

    /// Orders matching the filter, oldest first.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<OrderRow>, DbError> {
        let mut qb = sqlx::QueryBuilder::<Sqlite>::new(format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE 1 = 1"
        ));
        if let Some(s) = filter.status {
            qb.push(" AND status = ").push_bind(s.code());
        }
        if let Some(r) = &filter.reason {
            qb.push(" AND reason = ").push_bind(r.clone());
        }
        qb.push(" ORDER BY ordered_at, order_id");
        let rows = qb
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("listing orders"))?;
        rows.iter().map(order_row).collect()
    }

    /// One order.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn order(&self, order_id: &str) -> Result<Option<OrderRow>, DbError> {
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = $1"
        ))
        .bind(order_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(ctx("reading an order"))?;
        row.as_ref().map(order_row).transpose()
    }

    /// One order, read inside a transaction.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn order_in(&self, tx: &mut Tx, order_id: &str) -> Result<Option<OrderRow>, DbError> {
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = $1"
        ))
        .bind(order_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(ctx("reading an order"))?;
        row.as_ref().map(order_row).transpose()
    }

    /// Orders placed with this number or resolved to any identifier of its person.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn orders_of_national_id(&self, national_id: &str) -> Result<Vec<OrderRow>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE national_id = $1 OR person_national_id = $1 \
             OR person_national_id IN (SELECT b.national_id FROM person_ids a JOIN person_ids b ON a.person_id = b.person_id WHERE a.national_id = $1) \
             OR national_id IN (SELECT b.national_id FROM person_ids a JOIN person_ids b ON a.person_id = b.person_id WHERE a.national_id = $1) \
             ORDER BY ordered_at, order_id"
        ))
        .bind(national_id)
        .fetch_all(&self.pool)
        .await
        .map_err(ctx("reading a person's orders"))?;
        rows.iter().map(order_row).collect()
    }

    /// The events of an order, oldest first.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn events(&self, order_id: &str) -> Result<Vec<EventRow>, DbError> {
        let rows = sqlx::query("SELECT at, actor, event, from_status, to_status, detail FROM order_events WHERE order_id = $1 ORDER BY event_id")
            .bind(order_id)
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("reading an order's events"))?;
        rows.iter()
            .map(|r| {
                Ok(EventRow {
                    at: col(r, 0)?,
                    actor: col(r, 1)?,
                    event: col(r, 2)?,
                    from_status: col(r, 3)?,
                    to_status: col(r, 4)?,
                    detail: col(r, 5)?,
                })
            })
            .collect()
    }

    /// Keeps row and line errors of an input file.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn record_input_errors(
        &self,
        input: &str,
        errors: &[InputError],
    ) -> Result<(), DbError> {
        if errors.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let at = now();
        for e in errors {
            sqlx::query("INSERT INTO input_errors (input, file, line, field, code, message, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(input)
                .bind(&e.file)
                .bind(e.line.map(|l| l as i64))
                .bind(&e.field)
                .bind(&e.code)
                .bind(free_text::clean(&e.message))
                .bind(&at)
                .execute(&mut *tx)
                .await
                .map_err(ctx("storing input errors"))?;
        }
        tx.commit().await.map_err(ctx("committing input errors"))
    }

    /// Closes the pool, checkpointing the WAL.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// The database file of a `sqlite://` URL, for messages.
    pub fn describe(url: &str) -> &Path {
        Path::new(
            url.trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:"),
        )
    }
}

/// A person none of whose identifiers is stored yet, with the person_id it gets.
struct NewPerson<'a> {
    person_id: i64,
    imported: &'a ImportedPerson,
    record: String,
}

/// Inserts new people and their identifiers with multi-row statements.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
async fn insert_new_persons(
    tx: &mut Tx,
    source: &str,
    at: &str,
    people: &[NewPerson<'_>],
) -> Result<(), DbError> {
    for chunk in people.chunks(ROWS_PER_STATEMENT) {
        let mut qb = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO persons (person_id, record, source_file, source_line, imported_at) ",
        );
        qb.push_values(chunk, |mut row, p| {
            row.push_bind(p.person_id)
                .push_bind(p.record.as_str())
                .push_bind(source)
                .push_bind(p.imported.line as i64)
                .push_bind(at);
        });
        qb.build()
            .persistent(chunk.len() == ROWS_PER_STATEMENT)
            .execute(&mut **tx)
            .await
            .map_err(ctx("storing people"))?;
        // A number listed twice by one person is stored once: the last type, in use if either is.
        let mut ids: Vec<(&str, i64, &'static str, bool)> = Vec::new();
        for p in chunk {
            for id in &p.imported.person.identifiers {
                let id_type = id_type_code(id.id_type);
                match ids
                    .iter_mut()
                    .rev()
                    .take_while(|(_, owner, _, _)| *owner == p.person_id)
                    .find(|(n, _, _, _)| *n == id.number)
                {
                    Some(seen) => {
                        seen.2 = id_type;
                        seen.3 |= id.in_use;
                    }
                    None => ids.push((id.number.as_str(), p.person_id, id_type, id.in_use)),
                }
            }
        }
        for rows in ids.chunks(ROWS_PER_STATEMENT) {
            let mut qb = sqlx::QueryBuilder::<Sqlite>::new(
                "INSERT INTO person_ids (national_id, person_id, id_type, in_use) ",
            );
            qb.push_values(rows, |mut row, (number, person_id, id_type, in_use)| {
                row.push_bind(*number)
                    .push_bind(*person_id)
                    .push_bind(*id_type)
                    .push_bind(i64::from(*in_use));
            });
            qb.build()
                .persistent(rows.len() == ROWS_PER_STATEMENT)
                .execute(&mut **tx)
                .await
                .map_err(ctx("storing people's identifiers"))?;
        }
    }
    Ok(())
}

/// The stored name of an identifier type (its name in the register's JSON).
fn id_type_code(id_type: pinbrev_core::freg::IdentifierType) -> &'static str {
    use pinbrev_core::freg::IdentifierType;
    match id_type {
        IdentifierType::Foedselsnummer => "foedselsnummer",
        IdentifierType::DNummer => "dNummer",
        IdentifierType::Other => "other",
    }
}

/// Stores a person one or more of whose identifiers is stored already: the first such person
/// is replaced (keeping its person_id), any other merged into it. True when one was replaced.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
async fn replace_person(
    tx: &mut Tx,
    source: &str,
    at: &str,
    imported: &ImportedPerson,
    record: &str,
) -> Result<bool, DbError> {
    let mut replaced = false;
    let mut known: Vec<i64> = Vec::new();
    for id in &imported.person.identifiers {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT person_id FROM person_ids WHERE national_id = $1")
                .bind(&id.number)
                .fetch_optional(&mut **tx)
                .await
                .map_err(ctx("looking up a person"))?;
        known.extend(found);
    }
    known.sort_unstable();
    known.dedup();
    let person_id = match known.first() {
        Some(&keep) => {
            replaced = true;
            sqlx::query("UPDATE persons SET record = $1, source_file = $2, source_line = $3, imported_at = $4 WHERE person_id = $5")
                .bind(record)
                .bind(source)
                .bind(imported.line as i64)
                .bind(at)
                .bind(keep)
                .execute(&mut **tx)
                .await
                .map_err(ctx("replacing a person"))?;
            for &old in &known {
                sqlx::query("DELETE FROM person_ids WHERE person_id = $1")
                    .bind(old)
                    .execute(&mut **tx)
                    .await
                    .map_err(ctx("replacing a person's identifiers"))?;
                if old != keep {
                    sqlx::query("DELETE FROM persons WHERE person_id = $1")
                        .bind(old)
                        .execute(&mut **tx)
                        .await
                        .map_err(ctx("merging a person"))?;
                }
            }
            keep
        }
        None => sqlx::query_scalar(
            "INSERT INTO persons (record, source_file, source_line, imported_at) VALUES ($1, $2, $3, $4) RETURNING person_id",
        )
        .bind(record)
        .bind(source)
        .bind(imported.line as i64)
        .bind(at)
        .fetch_one(&mut **tx)
        .await
        .map_err(ctx("storing a person"))?,
    };
    for id in &imported.person.identifiers {
        sqlx::query(
            "INSERT INTO person_ids (national_id, person_id, id_type, in_use) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (national_id) DO UPDATE SET person_id = excluded.person_id, \
             id_type = excluded.id_type, in_use = MAX(person_ids.in_use, excluded.in_use)",
        )
        .bind(&id.number)
        .bind(person_id)
        .bind(id_type_code(id.id_type))
        .bind(i64::from(id.in_use))
        .execute(&mut **tx)
        .await
        .map_err(ctx("storing a person's identifiers"))?;
    }
    Ok(replaced)
}

/// Checks that a write that reads first changed every row it was given: rows that no longer
/// were as read mean that something else changed them, and the transaction must not commit.
fn all_changed(changed: u64, given: usize, what: &str, not_changed: &str) -> Result<(), DbError> {
    if changed == given as u64 {
        return Ok(());
    }
    Err(DbError::Corrupt {
        what: what.into(),
        message: format!("{} of {given} {not_changed}", given as u64 - changed),
    })
}

/// A list bound as one parameter: a JSON array, read in SQL with [`IN_LIST`]. One statement then
/// serves any number of values, prepared once and kept, where a list of bound values would be a
/// new statement (parsed anew) for every length.
pub(crate) fn json_list<T: serde::Serialize>(values: &[T]) -> String {
    serde_json::to_string(values).expect("a list of strings or numbers is JSON")
}

/// The right side of `x IN …` for a list bound with [`json_list`] as parameter `$1`.
pub(crate) const IN_LIST: &str = "(SELECT value FROM json_each($1))";

/// The newest schema migration applied to the database, if it has any.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
async fn newest_applied_migration(pool: &SqlitePool) -> Result<Option<i64>, DbError> {
    let has_table: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
    .await
    .map_err(ctx("reading the database's migrations"))?;
    if has_table.is_none() {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .map_err(ctx("reading the database's migrations"))
}

/// A database file must be in a folder that exists: say so plainly rather than let SQLite fail
/// with "unable to open database file".
pub fn check_folder(path: &Path) -> Result<(), DbError> {
    let name = path.as_os_str();
    if name.is_empty() || name == ":memory:" {
        return Ok(());
    }
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() && !folder.is_dir() => {
            Err(DbError::NoFolder {
                folder: folder.to_path_buf(),
            })
        }
        _ => Ok(()),
    }
}

/// Creates a new database file readable by its owner only (it holds national ids and
/// addresses); SQLite gives its `-wal` and `-shm` files the same permissions.
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = path.as_os_str();
    if name.is_empty() || name == ":memory:" || path.exists() {
        return Ok(());
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Moves an order from one of `from` to `to`, with its event. Returns false (and changes
/// nothing) when the order is not in one of `from`.
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn move_order(
    tx: &mut Tx,
    order_id: &str,
    from: &[OrderStatus],
    to: OrderStatus,
    actor: &str,
    event: &str,
    detail: Option<&str>,
) -> Result<bool, DbError> {
    let current: Option<String> =
        sqlx::query_scalar("SELECT status FROM orders WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(ctx("reading an order's status"))?;
    let Some(current) = current.and_then(|s| s.parse::<OrderStatus>().ok()) else {
        return Ok(false);
    };
    if !from.contains(&current) {
        return Ok(false);
    }
    if !current.may_become(to) {
        return Err(DbError::Transition {
            order_id: order_id.to_string(),
            from: current,
            to,
        });
    }
    let at = now();
    sqlx::query("UPDATE orders SET status = $1, updated_at = $2 WHERE order_id = $3")
        .bind(to.code())
        .bind(&at)
        .bind(order_id)
        .execute(&mut **tx)
        .await
        .map_err(ctx("changing an order's status"))?;
    insert_event(
        tx,
        order_id,
        &at,
        actor,
        event,
        Some(current),
        Some(to),
        detail,
    )
    .await?;
    Ok(true)
}

#[allow(clippy::too_many_arguments)]
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
async fn insert_event(
    tx: &mut Tx,
    order_id: &str,
    at: &str,
    actor: &str,
    event: &str,
    from: Option<OrderStatus>,
    to: Option<OrderStatus>,
    detail: Option<&str>,
) -> Result<(), DbError> {
    sqlx::query("INSERT INTO order_events (order_id, at, actor, event, from_status, to_status, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(order_id)
        .bind(at)
        .bind(actor)
        .bind(event)
        .bind(from.map(|s| s.code()))
        .bind(to.map(|s| s.code()))
        // Details may carry an operator's or a vendor's words: kept only masked and capped.
        .bind(detail.map(free_text::clean))
        .execute(&mut **tx)
        .await
        .map_err(ctx("storing an order event"))?;
    Ok(())
}
