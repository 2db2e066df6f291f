//! The store: every SQL statement of pinbrev lives here, one module per table or aggregate. It
//! records what the core's rules decide and holds no rule of its own.
//!
//! Two engines through sqlx's `Any` driver: SQLite (embedded, the default: WAL,
//! `synchronous=FULL`, a busy timeout, `BEGIN IMMEDIATE` for writes that read first) and
//! PostgreSQL (a shared server). The statements keep to SQL both speak (`$n` parameters,
//! `ON CONFLICT`, `RETURNING`, `UPDATE … FROM`, `CASE` rather than two-argument `MAX`); what
//! differs is here in this module, chosen by [`Engine`]: the key lists bound as JSON
//! ([`Engine::in_list`]), how a write transaction takes the write lock ([`Db::begin_write`]),
//! the connection set-up, the migrations, and the backup (in `operations`).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::Utc;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyPool, ConnectOptions, Executor, Row, Transaction};

use pinbrev_core::order::{timestamp, OrderStatus};

mod batches;
mod builder;
mod bulk_load;
mod data_migrations;
mod events;
mod input_errors;
mod letters;
mod operations;
mod orders;
mod parts;
mod persons;
mod postcodes;
mod receipts;
mod report;
mod validation;

pub use batches::{BatchRow, NewBatch};
pub use bulk_load::{BulkLoad, IndexesSetAside};
use events::insert_event;
pub use events::EventRow;
pub use letters::{BatchOrder, LetterJob, LetterRef, PartRecord, ReceiptLetter};
pub use operations::PartFile;
pub use orders::{move_order, InsertOutcome, OrderFilter, OrderRow};
pub use parts::{attempt_file_name, PartClaim, PartStatus};
pub use receipts::{NewReceipt, ReceiptEventRow, ReceiptOutcome, ReceiptWrites};
pub use validation::{OrderCounts, PeopleFound, PeopleRows, ReceivedOrder, ValidationEvents};

/// Rows per multi-row statement: few statements, well under SQLite's limit of bound parameters
/// (32,766). The statement of a full chunk is prepared once and kept; a shorter last chunk's is not.
const ROWS_PER_STATEMENT: usize = 1000;

/// Rows per statement when they go as one JSON value ([`builder::QueryBuilder::push_json_rows`]):
/// a few megabytes of JSON.
const ROWS_PER_JSON_STATEMENT: usize = 50_000;

/// Where SQLite keeps temporary data ([`Db::keep_temporary_data`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TempStore {
    Memory,
    Disk,
}

/// The database engine behind a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// An embedded SQLite file (`sqlite://PATH` or a plain path).
    Sqlite,
    /// A PostgreSQL server (`postgres://USER@HOST/DB`).
    Postgres,
}

impl Engine {
    /// The engine of a `--db` URL.
    pub fn of(url: &str) -> Engine {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Engine::Postgres
        } else {
            Engine::Sqlite
        }
    }

    /// The right side of `x IN …` for a list of texts bound with [`json_list`] as parameter
    /// `$1`.
    pub(crate) fn in_list(self) -> &'static str {
        match self {
            Engine::Sqlite => "(SELECT value FROM json_each($1))",
            Engine::Postgres => "(SELECT value FROM json_array_elements_text(CAST($1 AS json)))",
        }
    }

    /// As [`Engine::in_list`], for a list of integers.
    pub(crate) fn integer_list(self) -> &'static str {
        match self {
            Engine::Sqlite => "(SELECT value FROM json_each($1))",
            Engine::Postgres => {
                "(SELECT CAST(value AS bigint) FROM json_array_elements_text(CAST($1 AS json)))"
            }
        }
    }

    /// An aggregate that makes a query's rows one JSON text, an array with an array of `columns`
    /// per row (`[]` for no rows), for [`json_rows`] to read. A page of thousands of rows then
    /// crosses from the database as one value: through sqlx's `Any` driver each row costs a few
    /// microseconds of its own, more than SQLite takes to find it. The array's order is not
    /// the query's; sort what is read where order matters.
    pub(crate) fn rows_as_json(self, columns: &str) -> String {
        match self {
            Engine::Sqlite => format!("json_group_array(json_array({columns}))"),
            Engine::Postgres => {
                format!("COALESCE(CAST(json_agg(json_build_array({columns})) AS text), '[]')")
            }
        }
    }

    /// An aggregate that joins a query's `text` values into one, `separator` between them (NULL
    /// for no rows), in no particular order.
    pub(crate) fn concatenated(self, text: &str, separator: &str) -> String {
        match self {
            Engine::Sqlite => format!("group_concat({text}, {separator})"),
            Engine::Postgres => format!("string_agg({text}, {separator})"),
        }
    }
}

/// Write transactions that each take several chunks of work: begun when a chunk needs one,
/// committed once they hold `rows` rows or more, and at the end. Each commit writes every page
/// its rows changed, and rows that land at random in large indexes change pages all over them:
/// fewer, larger transactions write each such page fewer times. Made with
/// [`GroupedTx::loading`], a transaction that adds enough rows to its table sets those indexes
/// aside and builds them again before it commits (see [`BulkLoad`]).
pub struct GroupedTx {
    open: Option<(Tx, usize)>,
    rows: usize,
    context: &'static str,
    load: Option<BulkLoad>,
    aside: Option<IndexesSetAside>,
}

impl GroupedTx {
    /// Transactions of at least `rows` rows; a failed commit is reported as `context`.
    pub fn new(rows: usize, context: &'static str) -> Self {
        GroupedTx {
            open: None,
            rows,
            context,
            load: None,
            aside: None,
        }
    }

    /// The same, for a bulk load of `load`'s table.
    pub fn loading(rows: usize, context: &'static str, load: BulkLoad) -> Self {
        GroupedTx {
            load: Some(load),
            ..GroupedTx::new(rows, context)
        }
    }

    /// The open transaction, begun if there is none.
    pub async fn tx(&mut self, db: &Db) -> Result<&mut Tx, DbError> {
        self.tx_for(db, 0).await
    }

    /// The open transaction, begun if there is none. A transaction begun for a bulk load, which
    /// will store at most `coming` rows, sets the load's indexes aside if they are enough
    /// against the rows its table holds ([`BulkLoad`]).
    pub async fn tx_for(&mut self, db: &Db, coming: u64) -> Result<&mut Tx, DbError> {
        let open = match self.open.take() {
            Some(open) => open,
            None => {
                let mut tx = db.begin_write().await?;
                if let Some(load) = self.load {
                    self.aside = db.set_aside_indexes(&mut tx, load, coming).await?;
                }
                (tx, 0)
            }
        };
        Ok(&mut self.open.insert(open).0)
    }

    /// Counts `rows` more rows written in the open transaction, and commits it if it now holds
    /// enough. Whether it committed.
    pub async fn stored(&mut self, rows: usize) -> Result<bool, DbError> {
        let Some((tx, held)) = self.open.take() else {
            return Ok(false);
        };
        let held = held + rows;
        if held >= self.rows {
            self.commit(tx).await?;
            Ok(true)
        } else {
            self.open = Some((tx, held));
            Ok(false)
        }
    }

    /// Commits the open transaction, if any.
    pub async fn finish(mut self) -> Result<(), DbError> {
        match self.open.take() {
            Some((tx, _)) => self.commit(tx).await,
            None => Ok(()),
        }
    }

    async fn commit(&mut self, mut tx: Tx) -> Result<(), DbError> {
        if let Some(aside) = self.aside.take() {
            aside.rebuild(&mut tx).await?;
        }
        tx.commit_as(self.context).await
    }
}

/// A write transaction (holding the write lock until it ends).
pub struct Tx {
    tx: Transaction<'static, Any>,
    engine: Engine,
}

impl Tx {
    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Commits the transaction; a failure is reported as `context` (what was being committed).
    pub async fn commit_as(self, context: &'static str) -> Result<(), DbError> {
        self.tx.commit().await.map_err(ctx(context))
    }

    /// The engine the transaction runs on.
    pub(crate) fn engine(&self) -> Engine {
        self.engine
    }

    /// For the rest of the transaction, has PostgreSQL join a statement's thousand rows to a
    /// table by its index, one lookup each: it would otherwise hash the whole table (a scan of
    /// a hundred thousand orders) for every thousand-row update, more than twice as slow.
    /// SQLite always looks up by the key here; there, nothing is done.
    pub(crate) async fn prefer_index_lookups(&mut self) -> Result<(), DbError> {
        if self.engine == Engine::Postgres {
            for setting in [
                "SET LOCAL enable_hashjoin = off",
                "SET LOCAL enable_mergejoin = off",
            ] {
                sqlx::query(setting)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(ctx("setting up a write"))?;
            }
        }
        Ok(())
    }
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// A database failure, with what pinbrev was doing.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open database {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("database URL {0:?} is not supported: use sqlite://PATH or postgres://USER@HOST/DB")]
    Unsupported(String),
    #[error("no database at {0} — pass --db or set PINBREV_DB")]
    Missing(String),
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
    #[error("cannot write the backup {file}: {message}")]
    Backup { file: PathBuf, message: String },
    #[error("stored data is unreadable ({what}): {message}")]
    Corrupt { what: String, message: String },
    /// A new batch's letters could not be put in their order on disk (see
    /// [`crate::external_sort`]); nothing of the batch is stored.
    #[error("sorting a batch's letters: {0}")]
    Sort(#[from] crate::external_sort::SortError),
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
fn col<'r, T, I>(r: &'r AnyRow, index: I) -> Result<T, DbError>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
    I: sqlx::ColumnIndex<AnyRow>,
{
    r.try_get(index).map_err(ctx("reading a row"))
}

/// A column holding one of a type's text codes (a state, a status), read into the type.
fn code_col<T>(r: &AnyRow, index: usize, what: &str) -> Result<T, DbError>
where
    T: std::str::FromStr<Err = String>,
{
    let code: String = col(r, index)?;
    parse_code(&code, what)
}

/// One of a type's text codes (a state, a status) as read from the store, into the type.
pub(crate) fn parse_code<T>(code: &str, what: &str) -> Result<T, DbError>
where
    T: std::str::FromStr<Err = String>,
{
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

/// The pinbrev database.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    engine: Engine,
    /// The URL it was opened with (a PostgreSQL one may hold a password: never print it).
    url: String,
}

/// The tables whose statistics a step may refresh ([`Db::refresh_statistics`]).
#[derive(Debug, Clone, Copy)]
pub enum Table {
    Persons,
    PersonIds,
    Orders,
    Letters,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Persons => "persons",
            Table::PersonIds => "person_ids",
            Table::Orders => "orders",
            Table::Letters => "letters",
        }
    }
}

/// The advisory lock key every PostgreSQL write transaction takes ("pinbrev" in ASCII): writes
/// that read first then see everything committed before them, as under SQLite's write lock.
const WRITE_LOCK_KEY: i64 = 0x0070_696e_6272_6576;

/// The advisory lock key of the nightly run on PostgreSQL ("pbnight" in ASCII).
const NIGHT_LOCK_KEY: i64 = 0x0070_626e_6967_6874;

/// The nightly run's lock on a PostgreSQL server: a session advisory lock, held by a connection
/// of its own for as long as this value lives. The server releases it when the session ends,
/// also when the process is killed, so a crashed night leaves no stale lock.
pub struct ServerLock {
    _conn: sqlx::AnyConnection,
}

impl Db {
    /// Opens (creating and migrating on first use) the database at `url`: `sqlite://PATH`,
    /// `sqlite:PATH`, a plain path, or `postgres://USER@HOST/DB`.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn open(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let engine = Engine::of(url);
        let pool = match engine {
            Engine::Sqlite => open_sqlite(url).await?,
            Engine::Postgres => open_postgres(url).await?,
        };
        let migrator = match engine {
            Engine::Sqlite => sqlx::migrate!("./sql"),
            Engine::Postgres => sqlx::migrate!("./sql/postgres"),
        };
        let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        if let Some(applied) = newest_applied_migration(&pool, engine).await? {
            if applied > known {
                pool.close().await;
                return Err(DbError::NewerSchema { version: applied });
            }
        }
        migrator.run(&pool).await?;
        let db = Db {
            pool,
            engine,
            url: url.to_string(),
        };
        db.run_data_migrations().await?;
        Ok(db)
    }

    /// The database, for messages (a PostgreSQL URL without its password).
    pub fn describe_self(&self) -> String {
        Db::describe(&self.url).display().to_string()
    }

    /// Opens the database at `url` only if it exists ([`DbError::Missing`] otherwise): the
    /// commands that only read never create one.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn open_existing(url: &str) -> Result<Db, DbError> {
        let exists = match Engine::of(url) {
            Engine::Sqlite => {
                let normalized = if url.starts_with("sqlite:") {
                    url.to_string()
                } else {
                    format!("sqlite://{url}")
                };
                match SqliteConnectOptions::from_str(&normalized) {
                    Ok(options) => {
                        let file = options.get_filename();
                        check_folder(file)?;
                        file.as_os_str() == ":memory:" || file.exists()
                    }
                    // Db::open names what is wrong with the URL.
                    Err(_) => true,
                }
            }
            Engine::Postgres => {
                use sqlx::migrate::MigrateDatabase;
                sqlx::any::install_default_drivers();
                sqlx::Postgres::database_exists(url)
                    .await
                    .map_err(|source| DbError::Open {
                        url: without_password(url),
                        source,
                    })?
            }
        };
        if !exists {
            return Err(DbError::Missing(Db::describe(url).display().to_string()));
        }
        Db::open(url).await
    }

    /// The engine this database runs on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Starts a write transaction that holds the write lock from its start: SQLite's
    /// `BEGIN IMMEDIATE`, or on PostgreSQL a transaction-scoped advisory lock that every
    /// pinbrev write takes, so that what it reads stays as read until it commits.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn begin_write(&self) -> Result<Tx, DbError> {
        let tx = match self.engine {
            Engine::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Engine::Postgres => self.pool.begin().await,
        }
        .map_err(ctx("starting a write transaction"))?;
        let mut tx = Tx {
            tx,
            engine: self.engine,
        };
        if self.engine == Engine::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(WRITE_LOCK_KEY)
                .execute(&mut *tx)
                .await
                .map_err(ctx("taking the write lock"))?;
        }
        Ok(tx)
    }

    /// Takes the nightly run's lock on a PostgreSQL server at once: `None` when another session
    /// (on any machine) holds it. Never waits.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn try_night_lock(&self) -> Result<Option<ServerLock>, DbError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(ctx("connecting for the night's lock"))?
            .detach();
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(NIGHT_LOCK_KEY)
            .fetch_one(&mut conn)
            .await
            .map_err(ctx("taking the night's lock"))?;
        Ok(taken.then_some(ServerLock { _conn: conn }))
    }

    /// A number that, read twice on this connection, differs when another connection committed
    /// in between (SQLite's `PRAGMA data_version`): what was read in one transaction still holds
    /// in the next if it is the same. `None` on PostgreSQL, which has no such number.
    pub async fn data_version(&self, tx: &mut Tx) -> Result<Option<i64>, DbError> {
        match self.engine {
            Engine::Sqlite => sqlx::query_scalar("PRAGMA data_version")
                .fetch_one(&mut **tx)
                .await
                .map(Some)
                .map_err(ctx("reading the database's data version")),
            Engine::Postgres => Ok(None),
        }
    }

    /// Brings the server's statistics of `tables` up to date after a step that changed many of
    /// their rows (an import, an ingest, a validation, a new batch), so that the next step is
    /// planned for the rows there are: with stale statistics PostgreSQL took a hundred thousand
    /// new orders for a handful and joined every thousand-row statement against a scan of
    /// them all, and a publication against letters it took for none ran for minutes. SQLite
    /// plans these statements well without; there, nothing is done.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn refresh_statistics(&self, tables: &[Table]) -> Result<(), DbError> {
        if self.engine == Engine::Postgres && !tables.is_empty() {
            let names: Vec<&str> = tables.iter().map(|t| t.name()).collect();
            sqlx::query(&format!("ANALYZE {}", names.join(", ")))
                .execute(&self.pool)
                .await
                .map_err(ctx("updating the table statistics"))?;
        }
        Ok(())
    }

    /// Where SQLite keeps its temporary data (statement journals, sorts) from now on. In memory
    /// is the connection's default: import and validation write in statements of a thousand
    /// rows, whose journals it speeds up. Ingest keeps it on disk while it runs: a transaction
    /// that sets indexes aside sorts every key of the table to build them again. A batch's statements each change up to every
    /// letter of the night, and their journal in memory took a 1,000,000-letter batch from
    /// 210 MB to 650 MB: a batch keeps it on disk. PostgreSQL has no such setting; there,
    /// nothing is done.
    #[tracing::instrument(level = "debug", skip(self), err(level = "debug"))]
    pub async fn keep_temporary_data(&self, place: TempStore) -> Result<(), DbError> {
        if self.engine == Engine::Sqlite {
            let pragma = match place {
                TempStore::Memory => "PRAGMA temp_store = MEMORY",
                TempStore::Disk => "PRAGMA temp_store = FILE",
            };
            sqlx::query(pragma)
                .execute(&self.pool)
                .await
                .map_err(ctx("choosing where temporary data goes"))?;
        }
        Ok(())
    }

    /// Turns SQLite's foreign key checks on or off for this process's connection (outside a
    /// transaction only: inside one SQLite ignores it). On PostgreSQL nothing changes.
    pub(crate) async fn check_foreign_keys(&self, on: bool) -> Result<(), DbError> {
        if self.engine == Engine::Sqlite {
            let pragma = match on {
                true => "PRAGMA foreign_keys = ON",
                false => "PRAGMA foreign_keys = OFF",
            };
            sqlx::query(pragma)
                .execute(&self.pool)
                .await
                .map_err(ctx("setting the foreign key checks"))?;
        }
        Ok(())
    }

    /// Closes the pool (on SQLite, checkpointing the WAL).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// The database of a URL, for messages and the lock file beside an SQLite file: the file's
    /// path, or a PostgreSQL URL without its password.
    pub fn describe(url: &str) -> std::borrow::Cow<'_, Path> {
        match Engine::of(url) {
            Engine::Sqlite => std::borrow::Cow::Borrowed(Path::new(
                url.trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:"),
            )),
            Engine::Postgres => std::borrow::Cow::Owned(PathBuf::from(without_password(url))),
        }
    }
}

/// A PostgreSQL URL with its password (if any) replaced by `***`.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{scheme}://{name}:***@{host}{path}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Opens an SQLite file, creating it (readable by its owner only) on first use.
async fn open_sqlite(url: &str) -> Result<AnyPool, DbError> {
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
    let options = AnyConnectOptions::from_str(&normalized)
        .map_err(open_err)?
        // Statement timings are the tracing spans' business; sqlx's own warnings about slow
        // statements would print SQL on a quiet night's stderr.
        .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1));
    AnyPoolOptions::new()
        // One connection: pinbrev's work is sequential, and SQLite keeps a page cache per
        // connection, dropped whenever another connection has written. Connections taken in
        // turn would each hold a cold copy of the same pages.
        .max_connections(1)
        // The one connection lives as long as the process: its page cache stays warm, and
        // what a step set on it (where temporary data goes) stays set.
        .max_lifetime(None)
        .idle_timeout(None)
        // The WAL is copied back into the database file every 100,000 pages (400 MB), not at
        // SQLite's 1,000: a night's steps rewrite the same index pages commit after commit, and
        // each copy writes a page once however often it changed. Validating 1,000,000 orders
        // took 29-32 s against 37 s at 10,000 pages (three runs each, taking turns).
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute(
                    "PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = FULL; \
                     PRAGMA busy_timeout = 30000; \
                     PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -32768; \
                     PRAGMA wal_autocheckpoint = 100000; \
                     PRAGMA temp_store = MEMORY;",
                )
                .await
                .map(|_| ())
            })
        })
        .connect_with(options)
        .await
        .map_err(open_err)
}

/// Connects to a PostgreSQL server, creating the database on first use if the role may.
async fn open_postgres(url: &str) -> Result<AnyPool, DbError> {
    use sqlx::migrate::MigrateDatabase;
    let open_err = |source| DbError::Open {
        url: without_password(url),
        source,
    };
    let options = AnyConnectOptions::from_str(url)
        .map_err(open_err)?
        .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1));
    if !sqlx::Postgres::database_exists(url)
        .await
        .map_err(open_err)?
    {
        sqlx::Postgres::create_database(url)
            .await
            .map_err(open_err)?;
    }
    AnyPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(open_err)
}

/// Checks that a write that reads first changed every row it was given: rows that no longer
/// were as read mean that something else changed them, and the transaction must not commit.
fn all_changed(changed: u64, given: usize, what: &str, not_changed: &str) -> Result<(), DbError> {
    if changed == given as u64 {
        return Ok(());
    }
    Err(DbError::Corrupt {
        what: what.into(),
        message: format!(
            "{} of {given} {not_changed}",
            (given as u64).abs_diff(changed)
        ),
    })
}

/// A list bound as one parameter: a JSON array, read in SQL with [`Engine::in_list`]. One statement then
/// serves any number of values, prepared once and kept, where a list of bound values would be a
/// new statement (parsed anew) for every length.
pub(crate) fn json_list<T: serde::Serialize>(values: &[T]) -> String {
    serde_json::to_string(values).expect("a list of strings or numbers is JSON")
}

/// The rows of a query whose one column is [`Engine::rows_as_json`], each read as a `T` from its
/// array of columns (a tuple, or a struct whose fields are the columns in order).
pub(crate) async fn json_rows<'q, T, E>(
    executor: E,
    query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    context: &'static str,
) -> Result<Vec<T>, DbError>
where
    T: serde::de::DeserializeOwned,
    E: Executor<'q, Database = Any>,
{
    let text: String = query
        .fetch_one(executor)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(ctx(context))?;
    serde_json::from_str(&text).map_err(|e| rows_unreadable(context, &e))
}

/// The error of rows read as one JSON text that are not what was expected. serde's message may
/// quote the value it could not read (an identity number, a name): the error names only where
/// in the text it is.
pub(crate) fn rows_unreadable(what: &str, e: &serde_json::Error) -> DbError {
    DbError::Corrupt {
        what: what.into(),
        message: format!(
            "the rows read are not the columns expected ({:?} error at character {})",
            e.classify(),
            e.column()
        ),
    }
}

/// The newest schema migration applied to the database, if it has any.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
async fn newest_applied_migration(pool: &AnyPool, engine: Engine) -> Result<Option<i64>, DbError> {
    let has_table = match engine {
        Engine::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Engine::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
        }
    };
    let tables: i64 = sqlx::query_scalar(has_table)
        .fetch_one(pool)
        .await
        .map_err(ctx("reading the database's migrations"))?;
    if tables == 0 {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn urls_name_their_engine_and_hide_passwords() {
        assert_eq!(Engine::of("postgres://u@h/db"), Engine::Postgres);
        assert_eq!(Engine::of("postgresql://u@h/db"), Engine::Postgres);
        assert_eq!(Engine::of("sqlite://x.db"), Engine::Sqlite);
        assert_eq!(Engine::of("x.db"), Engine::Sqlite);
        assert_eq!(
            without_password("postgres://u:pw@h:5432/db?sslmode=require"),
            "postgres://u:***@h:5432/db?sslmode=require"
        );
        assert_eq!(without_password("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(without_password("postgres://h/db"), "postgres://h/db");
        assert_eq!(
            Db::describe("postgres://u:pw@h/db"),
            Path::new("postgres://u:***@h/db")
        );
    }

    /// The indexes of `table` made by a statement (not a key's), each with that statement.
    pub(crate) async fn index_definitions(db: &Db, table: &str) -> Vec<(String, String)> {
        sqlx::query_as(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 \
             AND sql IS NOT NULL ORDER BY name",
        )
        .bind(table)
        .fetch_all(&db.pool)
        .await
        .unwrap()
    }

    pub(crate) fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    }

    #[test]
    fn rows_read_as_one_json_text_keep_nulls_quotes_and_letters_and_an_empty_query_is_no_rows() {
        runtime().block_on(async {
            let (_dir, db) = temp_db().await;
            let rows = db.engine.rows_as_json("a, b, c");
            let sql = format!(
                "SELECT {rows} FROM (SELECT 'Ærlig \"Øst\"\\n' AS a, 7 AS b, NULL AS c \
                 UNION ALL SELECT 'x', -1, 'å') AS t WHERE b <> $1"
            );
            let mut read: Vec<(String, i64, Option<String>)> =
                json_rows(&db.pool, sqlx::query(&sql).bind(0), "test")
                    .await
                    .unwrap();
            read.sort();
            assert_eq!(
                read,
                vec![
                    ("x".to_string(), -1, Some("å".to_string())),
                    ("Ærlig \"Øst\"\\n".to_string(), 7, None),
                ]
            );
            let none: Vec<(String, i64, Option<String>)> = json_rows(
                &db.pool,
                sqlx::query(&format!(
                    "SELECT {rows} FROM (SELECT 'a' AS a, 1 AS b, NULL AS c) AS t WHERE b = $1"
                ))
                .bind(2),
                "test",
            )
            .await
            .unwrap();
            assert!(none.is_empty());
        });
    }

    async fn version(db: &Db) -> i64 {
        let mut tx = db.begin_write().await.unwrap();
        let v = db.data_version(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        v.expect("SQLite has a data version")
    }

    /// A new SQLite database in a folder that lives as long as the returned guard.
    pub(crate) async fn temp_db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        (dir, db)
    }

    async fn write_something(db: &Db) {
        let mut tx = db.begin_write().await.unwrap();
        sqlx::query("INSERT INTO postcode_source (source, loaded_at) VALUES ('test', 'now')")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    #[test]
    fn rows_that_are_not_the_columns_expected_are_an_error_that_quotes_no_value() {
        runtime().block_on(async {
            let (_dir, db) = temp_db().await;
            let rows = db.engine.rows_as_json("a");
            let sql = format!("SELECT {rows} FROM (SELECT '01017012345' AS a) AS t WHERE 1 = $1");
            let err =
                json_rows::<(i64,), _>(&db.pool, sqlx::query(&sql).bind(1), "reading test rows")
                    .await
                    .unwrap_err();
            let message = err.to_string();
            assert!(message.contains("reading test rows"), "{message}");
            assert!(message.contains("not the columns expected"), "{message}");
            assert!(!message.contains("01017012345"), "{message}");
        });
    }

    #[test]
    fn the_data_version_changes_when_another_connection_commits_and_only_then() {
        runtime().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("t.db").display());
            let db = Db::open(&url).await.unwrap();
            let other = Db::open(&url).await.unwrap();
            let first = version(&db).await;
            // Its own commits leave it as it was.
            write_something(&db).await;
            assert_eq!(version(&db).await, first);
            write_something(&other).await;
            assert_ne!(version(&db).await, first);
        });
    }
}
