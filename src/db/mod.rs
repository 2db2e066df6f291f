//! The store: every SQL statement of pinbrev lives here, one module per table or aggregate. It
//! records what the core's rules decide and holds no rule of its own.
//!
//! SQLite now (WAL, `synchronous=FULL`, a busy timeout, `BEGIN IMMEDIATE` for writes that read
//! first). The statements keep to SQL that PostgreSQL also speaks (`$n` parameters,
//! `ON CONFLICT`, `RETURNING`, `UPDATE … FROM`, `CASE` rather than two-argument `MAX`); what is
//! SQLite's own is here in this module: the key lists bound as JSON ([`IN_LIST`]), the write
//! transaction's `BEGIN IMMEDIATE`, the pragmas, the look at `sqlite_master`, and the backup's
//! `VACUUM INTO` (in `operations`).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::Utc;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Row, Sqlite, SqlitePool, Transaction};

use pinbrev_core::order::{timestamp, OrderStatus};

mod batches;
mod data_migrations;
mod events;
mod input_errors;
mod letters;
mod operations;
mod orders;
mod persons;
mod postcodes;
mod receipts;
mod report;
mod validation;

pub use batches::BatchRow;
use events::insert_event;
pub use events::EventRow;
pub use letters::{LetterJob, LetterRef, PartRecord};
pub use operations::PartFile;
pub use orders::{move_order, InsertOutcome, OrderFilter, OrderRow};
use orders::{order_row, ORDER_COLUMNS};
pub use receipts::ReceiptOutcome;
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
