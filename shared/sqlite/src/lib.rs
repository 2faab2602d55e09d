//! The embedded, file-backed store of local mode: every port of `boomerang_core::ports` over
//! one SQLite file, `<data_dir>/boomerang.db`.
//!
//! Several processes may open the same file at once (the server and a CLI command), so every
//! operation is its own transaction, writes take the write lock up front (`BEGIN IMMEDIATE`)
//! and nothing but the connection is kept in memory: what one process writes, the next call
//! of any other sees.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};

use boomerang_core::ports::StoreError;

mod book;
mod customers;
mod digest;
mod ledger;
mod referrals;
mod rows;
mod schema;
mod surveys;
mod sweep;

pub use schema::SCHEMA_VERSION;

/// The database file inside the data dir.
pub const DB_FILE: &str = "boomerang.db";

/// How long a write waits for another process's transaction before giving up as unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What the blocking side can fail with; becomes a [`StoreError`] at the edge, so `?` works on
/// both rusqlite results and the port's own errors.
#[derive(Debug)]
enum Fail {
    Store(StoreError),
    Sql(rusqlite::Error),
    /// The file's schema is newer than this build.
    Newer(i64),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl From<Fail> for StoreError {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Store(e) => e,
            Fail::Sql(e) => StoreError::Unavailable(Box::new(e)),
            Fail::Newer(v) => StoreError::Unavailable(
                format!("the database has schema version {v}, newer than this program's {SCHEMA_VERSION}; upgrade it")
                    .into(),
            ),
        }
    }
}

/// The SQLite store. Cloning shares the connection.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) `<data_dir>/boomerang.db` and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        let path = data_dir.join(DB_FILE);
        let conn = Self::connect(&path)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)), path })
    }

    fn connect(path: &Path) -> Result<Connection, Fail> {
        let mut conn = Connection::open(path)?;
        // Wait for another process's write rather than failing at once.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode = Self::use_wal(&conn)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Fail::Store(StoreError::Unavailable(
                format!("{} cannot use WAL journaling (got {mode}); is it on a network drive?", path.display()).into(),
            )));
        }
        conn.pragma_update(None, "foreign_keys", true)?;
        schema::migrate(&mut conn)?;
        Ok(conn)
    }

    /// Switches a new file to WAL, so readers never block the writer nor each other, across
    /// processes too. The switch needs the file to itself and SQLite does not wait for that
    /// (no busy handler), so concurrent first opens retry here. Returns the mode in force.
    fn use_wal(conn: &Connection) -> Result<String, Fail> {
        let deadline = Instant::now() + BUSY_TIMEOUT;
        loop {
            match conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)) {
                Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                other => return Ok(other?),
            }
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs blocking SQLite work off the async threads, holding the connection meanwhile.
    async fn run<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Fail> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let result = tokio::task::spawn_blocking(move || {
            // A panic inside a transaction rolled it back while unwinding: the connection is sound.
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            op(&mut conn)
        })
        .await;
        match result {
            Ok(done) => done.map_err(StoreError::from),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(StoreError::Unavailable(Box::new(e))),
        }
    }

    /// Like [`SqliteStore::open`], but commits are not flushed to disk (`PRAGMA synchronous =
    /// OFF`): a crash or power loss may lose recent writes or corrupt the file. For
    /// simulations only (`boomerang simulate`, a throwaway store), never for a shop's data.
    pub fn open_unsynced(data_dir: &Path) -> Result<Self, StoreError> {
        let store = Self::open(data_dir)?;
        let conn = store.conn.lock().unwrap_or_else(PoisonError::into_inner);
        conn.pragma_update(None, "synchronous", "OFF").map_err(|e| StoreError::from(Fail::from(e)))?;
        drop(conn);
        Ok(store)
    }
}

/// A write transaction: takes the write lock before reading, so its reads cannot go stale.
fn write_tx(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

