//! The database: one connection type for both backends, the pool, and the URL that picks the backend.
//!
//! Lookups of one row use `get_result`, not `first`: `first` adds `LIMIT ?`, and SQLite re-prepares a cached
//! statement with a bound LIMIT every time it runs (a full SQL parse per request on the sync path).

pub mod migrations;
pub mod schema;
pub mod text_enum;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};

use crate::error::AppError;
use crate::files;
use crate::sync::live::{self, notes, Hub};

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type Pool = r2d2::Pool<DbManager>;
pub type PooledConnection = r2d2::PooledConnection<DbManager>;

/// Which backend a `DATABASE_URL` names, parsed explicitly so that errors name the real cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbUrl {
    Postgres(String),
    Sqlite(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum DbUrlError {
    #[error("DATABASE_URL {0} has an unsupported scheme: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedScheme(String),
    #[error("DATABASE_URL {0} names no SQLite file: use sqlite://PATH")]
    EmptySqlitePath(String),
}

impl DbUrl {
    pub fn parse(url: &str) -> Result<Self, DbUrlError> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(DbUrlError::EmptySqlitePath(url.to_owned()));
            }
            return Ok(DbUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_owned()));
        }
        Err(DbUrlError::UnsupportedScheme(mask_password(url)))
    }

    /// The URL as it may be shown to a person or written to a log: no password.
    pub fn display(&self) -> String {
        match self {
            DbUrl::Postgres(url) => mask_password(url),
            DbUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DbUrl::Postgres(_) => "postgres",
            DbUrl::Sqlite(_) => "sqlite",
        }
    }
}

/// Replaces the password of `scheme://user:password@host/...` with `***`.
pub fn mask_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        // Unparseable: keep what stands before any '@' out of the message altogether.
        Err(_) => match url.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => url.to_owned(),
        },
    }
}

/// How long a PostgreSQL connection attempt may take before we give up with the real error.
const PG_CONNECT_TIMEOUT_SECS: u64 = 5;
/// How long an SQLite writer waits for another writer before failing.
const SQLITE_BUSY_TIMEOUT_MS: u64 = 5_000;

/// Opens connections of the backend its URL names; the r2d2 manager of our pool.
#[derive(Clone, Debug)]
pub struct DbManager {
    url: DbUrl,
}

impl DbManager {
    pub fn new(url: DbUrl) -> Self {
        DbManager { url }
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    pub fn establish(&self) -> Result<DbConnection, diesel::ConnectionError> {
        match &self.url {
            DbUrl::Postgres(url) => {
                let url = with_connect_timeout(url);
                Ok(DbConnection::Postgresql(diesel::PgConnection::establish(&url)?))
            }
            DbUrl::Sqlite(path) => {
                let path = path.to_str().ok_or_else(|| {
                    diesel::ConnectionError::BadConnection("the SQLite path is not valid UTF-8".into())
                })?;
                let mut conn = diesel::SqliteConnection::establish(path)?;
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;"
                ))
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connect_timeout={PG_CONNECT_TIMEOUT_SECS}")
}

thread_local! {
    /// Set when a query on this thread found its connection gone. diesel marks most such connections broken itself,
    /// but not one whose query could not even be sent; the pool discards the connection when it is handed back (on
    /// the same thread), which replaces a `SELECT 1` round trip on every checkout.
    static CONNECTION_LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a query error means the database connection itself is gone (PostgreSQL restarted, a proxy cut it);
/// if so, the connection in use on this thread is dropped from the pool when it is returned.
pub fn connection_lost(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    let lost = matches!(
        error,
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _)
    );
    if lost {
        CONNECTION_LOST.set(true);
    }
    lost
}

impl ManageConnection for DbManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        self.establish().map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken() || CONNECTION_LOST.take()
    }
}

/// Why the service could not open its database; printed as one line by the CLI.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Url(#[from] DbUrlError),
    #[error("cannot create the folder {folder} for {url}: {cause}")]
    Folder { url: String, folder: String, cause: std::io::Error },
    #[error("cannot make {file} readable by the service's user only: {cause}")]
    Private { file: String, cause: std::io::Error },
    #[error("cannot connect to {url}: {cause}")]
    Connect { url: String, cause: String },
    #[error("cannot migrate {url}: {cause}")]
    Migrate { url: String, cause: String },
}

/// Opens the database a URL names: creates the SQLite folder and makes its files private, connects once to
/// surface the real error, applies pending migrations, and builds the pool.
pub fn open(database_url: &str, pool_size: u32) -> Result<Db, OpenError> {
    let url = DbUrl::parse(database_url)?;
    if let DbUrl::Sqlite(path) = &url {
        create_parent_folder(path).map_err(|cause| OpenError::Folder {
            url: url.display(),
            folder: path.parent().map(|p| p.display().to_string()).unwrap_or_default(),
            cause,
        })?;
        make_sqlite_files_private(path)
            .map_err(|(file, cause)| OpenError::Private { file: file.display().to_string(), cause })?;
    }
    let manager = DbManager::new(url.clone());
    let mut first =
        manager.establish().map_err(|e| OpenError::Connect { url: url.display(), cause: one_line(&e.to_string()) })?;
    migrations::run_pending(&mut first)
        .map_err(|e| OpenError::Migrate { url: url.display(), cause: one_line(&e.to_string()) })?;
    drop(first);
    let pool = r2d2::Pool::builder()
        .max_size(pool_size.max(1))
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(10))
        // No `SELECT 1` before every checkout, a round trip per request on PostgreSQL: a connection that a query
        // finds dead is discarded when it is returned instead (`connection_lost`).
        .test_on_check_out(false)
        .build_unchecked(manager);
    Ok(Db { pool, url, live: Arc::new(Hub::new()) })
}

/// The folder of the SQLite file; a folder it creates is private (0700).
fn create_parent_folder(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => files::create_private_folder(parent),
        _ => Ok(()),
    }
}

/// The database file, its WAL and its shared memory, 0600: a new database starts as an empty private file,
/// whose mode SQLite gives the WAL and shared-memory files it creates; existing ones are tightened.
fn make_sqlite_files_private(path: &Path) -> Result<(), (PathBuf, std::io::Error)> {
    if path.as_os_str() == ":memory:" {
        return Ok(());
    }
    match files::create_private_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => return Err((path.to_owned(), error)),
        _ => {}
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let file = PathBuf::from(file);
        files::make_private(&file).map_err(|error| (file, error))?;
    }
    Ok(())
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The pool and what it points at, and the instance's memory of what polls need (`live`, which every write
/// transaction committed through `run` keeps up to date); cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    url: DbUrl,
    live: Arc<Hub>,
}

impl Db {
    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// This instance's memory of the feed and the polling devices (`crate::sync::live`).
    pub fn live(&self) -> &Arc<Hub> {
        &self.live
    }

    /// Runs blocking database work on the blocking thread pool, never on an actix worker.
    /// The connection is taken inside the closure, so a busy pool never stalls a worker either.
    pub async fn run<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let live = self.live.clone();
        actix_web::web::block(move || {
            let _scope = notes::Scope::enter(live);
            let mut conn = pool.get()?;
            work(&mut conn)
        })
        .await?
    }

    /// A short read by key, run where it costs least. On SQLite with an idle pooled connection at hand, that is here
    /// on the calling worker: a lookup in SQLite's page cache takes microseconds, less than the two thread switches
    /// of `run`, and a WAL reader never waits for a writer. Otherwise (PostgreSQL, whose round trip would stall the
    /// worker, or no idle connection) it is `run`. Never for writes, scans or anything that could wait on a lock.
    pub async fn read_quick<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        if matches!(self.url, DbUrl::Sqlite(_)) {
            if let Some(mut conn) = self.pool.try_get() {
                let _scope = notes::Scope::enter(self.live.clone());
                return work(&mut conn);
            }
        }
        self.run(work).await
    }

    /// Answers whether the database responds within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> bool {
        let pool = self.pool.clone();
        let answered = actix_web::web::block(move || {
            let mut conn = pool.get_timeout(timeout).ok()?;
            conn.ping().map_err(|error| connection_lost(&error)).ok()
        })
        .await;
        matches!(answered, Ok(Some(())))
    }
}

impl DbConnection {
    /// A read-write transaction. On SQLite it begins `IMMEDIATE`, so concurrent writers queue on
    /// `busy_timeout` instead of failing with "database is locked" when they upgrade a read lock.
    pub fn write_transaction<T, E, F>(&mut self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        let nested = match self {
            DbConnection::Sqlite(conn) => in_transaction(conn)?,
            DbConnection::Postgresql(conn) => in_transaction(conn)?,
        };
        if !nested {
            notes::began();
        }
        match self {
            // Nested: a savepoint inside the transaction already open.
            DbConnection::Sqlite(conn) if nested => AnsiTransactionManager::begin_transaction(conn)?,
            DbConnection::Sqlite(conn) => AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN IMMEDIATE")?,
            DbConnection::Postgresql(conn) => AnsiTransactionManager::begin_transaction(conn)?,
        }
        match work(self) {
            Ok(value) if nested => {
                <DbConnection as Connection>::TransactionManager::commit_transaction(self)?;
                Ok(value)
            }
            Ok(value) => {
                // What polls must learn of this transaction (`crate::sync::live`): sent to every instance's listener
                // by PostgreSQL at COMMIT, and applied to this instance's memory around the COMMIT.
                let changes = notes::take();
                if changes.is_empty() {
                    <DbConnection as Connection>::TransactionManager::commit_transaction(self)?;
                    return Ok(value);
                }
                if let Err(error) = self.notify(&changes) {
                    <DbConnection as Connection>::TransactionManager::rollback_transaction(self)?;
                    return Err(error.into());
                }
                let _commit = notes::Commit::begin(changes);
                <DbConnection as Connection>::TransactionManager::commit_transaction(self)?;
                Ok(value)
            }
            Err(error) => {
                if !nested {
                    notes::take();
                }
                <DbConnection as Connection>::TransactionManager::rollback_transaction(self)?;
                Err(error)
            }
        }
    }

    /// On PostgreSQL, `pg_notify` of the changes on the live-sync channel, delivered when the transaction commits.
    fn notify(&mut self, changes: &live::Changes) -> QueryResult<()> {
        if let DbConnection::Postgresql(pg) = self {
            for payload in changes.payloads() {
                diesel::sql_query("SELECT pg_notify($1, $2)")
                    .bind::<diesel::sql_types::Text, _>(live::listen::CHANNEL)
                    .bind::<diesel::sql_types::Text, _>(payload)
                    .execute(pg)?;
            }
        }
        Ok(())
    }

    /// Makes `job` exclusive until the end of the current write transaction, across every instance: on PostgreSQL a
    /// transaction-scoped advisory lock; SQLite's `BEGIN IMMEDIATE` already runs one writer at a time.
    pub fn lock_job(&mut self, job: Job) -> QueryResult<()> {
        if let DbConnection::Postgresql(pg) = self {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(job as i64)
                .execute(pg)?;
        }
        Ok(())
    }

    /// Serialises, across every instance, the write transactions that name the same `key` (an account, an
    /// installation id), until the end of the current one: on PostgreSQL a transaction-scoped advisory lock on the
    /// key's hash (two keys sharing a hash merely wait for each other); SQLite runs one writer at a time anyway.
    pub fn lock_key(&mut self, key: &str) -> QueryResult<()> {
        if let DbConnection::Postgresql(pg) = self {
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind::<diesel::sql_types::Text, _>(key)
                .execute(pg)?;
        }
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DbConnection::Postgresql(_) => "postgres",
            DbConnection::Sqlite(_) => "sqlite",
        }
    }
}

/// Background jobs that several instances run and that must not overlap (`DbConnection::lock_job`); the value is
/// the advisory lock's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// The coverage counters' periodic refresh and the daily snapshot.
    Coverage = 0x4842_0001,
}

/// An online, consistent copy of an SQLite database (`VACUUM INTO`), into a new private (0600) file;
/// PostgreSQL is backed up with pg_dump.
pub fn backup_into(conn: &mut DbConnection, file: &str) -> Result<(), AppError> {
    match conn {
        DbConnection::Sqlite(sqlite) => {
            // An empty file is a valid target of VACUUM INTO; made here, it is private and surely new.
            files::create_private_file(Path::new(file))
                .map_err(|e| anyhow::anyhow!("cannot create the backup file {file}: {e}"))?;
            let copied = diesel::sql_query("VACUUM INTO ?").bind::<diesel::sql_types::Text, _>(file).execute(sqlite);
            if copied.is_err() {
                let _ = std::fs::remove_file(file);
            }
            copied?;
            Ok(())
        }
        DbConnection::Postgresql(_) => Err(AppError::BadRequest(
            "on PostgreSQL, back up with `pg_dump --format=custom --file=FILE DATABASE_URL` and restore with pg_restore"
                .into(),
        )),
    }
}

fn in_transaction<C>(conn: &mut C) -> diesel::QueryResult<bool>
where
    C: Connection<TransactionManager = AnsiTransactionManager>,
{
    let status = <AnsiTransactionManager as TransactionManager<C>>::transaction_manager_status_mut(conn);
    Ok(status.transaction_depth()?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_schemes_and_rejects_others() {
        assert_eq!(
            DbUrl::parse("sqlite://data/handbook.db").unwrap(),
            DbUrl::Sqlite(PathBuf::from("data/handbook.db"))
        );
        assert_eq!(
            DbUrl::parse("sqlite:///var/lib/handbook.db").unwrap(),
            DbUrl::Sqlite(PathBuf::from("/var/lib/handbook.db"))
        );
        assert!(matches!(DbUrl::parse("postgresql://u@h/db"), Ok(DbUrl::Postgres(_))));
        assert!(matches!(DbUrl::parse("sqlite://"), Err(DbUrlError::EmptySqlitePath(_))));
        let err = DbUrl::parse("mysql://root:hunter2@localhost/db").unwrap_err().to_string();
        assert!(err.contains("unsupported scheme"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn masks_passwords() {
        assert_eq!(
            mask_password("postgres://app:s3cret@db.example:5432/handbook"),
            "postgres://app:***@db.example:5432/handbook"
        );
        assert_eq!(mask_password("postgres://app@db/handbook"), "postgres://app@db/handbook");
    }

    #[test]
    fn adds_a_connect_timeout_once() {
        assert_eq!(with_connect_timeout("postgres://h/db"), "postgres://h/db?connect_timeout=5");
        assert_eq!(
            with_connect_timeout("postgres://h/db?sslmode=disable"),
            "postgres://h/db?sslmode=disable&connect_timeout=5"
        );
        assert_eq!(with_connect_timeout("postgres://h/db?connect_timeout=2"), "postgres://h/db?connect_timeout=2");
    }
}
