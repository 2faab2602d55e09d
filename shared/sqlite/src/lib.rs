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

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior};
use serde::de::DeserializeOwned;
use serde::Serialize;

use boomerang_core::auth::ApiKeyRecord;
use boomerang_core::customer::CustomerRecord;
use boomerang_core::ids::{CustomerId, ReceiptId, RefundId, TerminalName};
use boomerang_core::ledger::{LedgerEntry, LotKey, LotSource};
use boomerang_core::ports::{
    BurnCommit, CustomerReader, CustomerWriter, Expected, GiftCommit, KeyStore, LedgerWriter, PurchaseCommit,
    PurchaseView, RefundCommit, RefundView, ReportStore, SecretStore, StoreError, SweepStore,
};
use boomerang_core::purchase::{Receipt, Refund};
use boomerang_core::sweep::{Outcome, OutcomeKey, OutcomeStatus};

mod schema;

pub use schema::SCHEMA_VERSION;

/// The database file inside the data dir.
pub const DB_FILE: &str = "boomerang.db";

/// How long a write waits for another process's transaction before giving up as unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const UNSUBSCRIBE_SECRET: &str = "unsubscribe_secret";
const SECRET_LEN: usize = 32;

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

fn is_constraint_violation(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

/// Fixed-width RFC 3339 in UTC, so text order is time order in indexes.
fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn parse_timestamp(text: &str, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("{what}: bad timestamp {text:?}: {e}")))
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn parse_date(text: &str, what: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| StoreError::Corrupt(format!("{what}: bad date {text:?}: {e}")))
}

fn to_json<T: Serialize>(value: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("cannot encode {what}: {e}")))
}

fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn source(lot: &LotKey) -> &'static str {
    match lot.source {
        LotSource::Earned => "earned",
        LotSource::Gift(trigger) => trigger.as_str(),
    }
}

/// A customer record as its row and lot mirror, encoded before the blocking work starts.
struct CustomerRow {
    customer_id: String,
    version: u64,
    record: String,
    last_purchase_on: Option<String>,
    birthday_md: Option<String>,
    erased: bool,
    lots: Vec<(String, &'static str, u64)>,
}

impl CustomerRow {
    /// The row of `record` at `version`. The version comes from the write's condition (the
    /// port's rule), so a record and its row never disagree about it.
    fn encode(record: &CustomerRecord, version: u64) -> Result<Self, StoreError> {
        let json = if record.version == version {
            to_json(record, "customer record")?
        } else {
            to_json(&CustomerRecord { version, ..record.clone() }, "customer record")?
        };
        let customer = &record.customer;
        Ok(Self {
            customer_id: customer.customer_id.as_str().to_owned(),
            version,
            record: json,
            last_purchase_on: record.account.last_purchase_on.map(date),
            birthday_md: customer.birthday.map(|d| d.format("%m-%d").to_string()),
            erased: customer.is_erased(),
            lots: record
                .account
                .lots
                .iter()
                .map(|(lot, points)| (date(lot.expires_on), source(lot), *points))
                .collect(),
        })
    }

    /// Writes the row under `expected` and mirrors its lots; `Conflict` if the condition fails.
    fn write(&self, tx: &Transaction<'_>, expected: Expected) -> Result<(), Fail> {
        let written = match expected {
            Expected::Absent => tx
                .prepare_cached(
                    "INSERT INTO customers (customer_id, version, record, last_purchase_on, birthday_md, erased) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (customer_id) DO NOTHING",
                )?
                .execute(params![
                    self.customer_id,
                    self.version,
                    self.record,
                    self.last_purchase_on,
                    self.birthday_md,
                    self.erased
                ])?,
            Expected::Version(current) => tx
                .prepare_cached(
                    "UPDATE customers \
                     SET version = ?2, record = ?3, last_purchase_on = ?4, birthday_md = ?5, erased = ?6 \
                     WHERE customer_id = ?1 AND version = ?7",
                )?
                .execute(params![
                    self.customer_id,
                    self.version,
                    self.record,
                    self.last_purchase_on,
                    self.birthday_md,
                    self.erased,
                    current
                ])?,
        };
        if written == 0 {
            return Err(StoreError::Conflict.into());
        }
        tx.prepare_cached("DELETE FROM lots WHERE customer_id = ?1")?.execute([&self.customer_id])?;
        let mut insert =
            tx.prepare_cached("INSERT INTO lots (customer_id, expires_on, source, points) VALUES (?1, ?2, ?3, ?4)")?;
        for (expires_on, source, points) in &self.lots {
            insert.execute(params![self.customer_id, expires_on, source, points])?;
        }
        Ok(())
    }
}

/// A receipt's row, encoded before the blocking work starts.
struct ReceiptRow {
    receipt_id: String,
    customer_id: String,
    occurred_at_utc: String,
    local_date: String,
    refunds: u32,
    body: String,
}

impl ReceiptRow {
    fn encode(receipt: &Receipt) -> Result<Self, StoreError> {
        Ok(Self {
            receipt_id: receipt.receipt_id.as_str().to_owned(),
            customer_id: receipt.customer_id.as_str().to_owned(),
            occurred_at_utc: timestamp(receipt.occurred_at.with_timezone(&Utc)),
            local_date: date(receipt.local_date),
            refunds: receipt.refund.refunds,
            body: to_json(receipt, "receipt")?,
        })
    }
}

/// Ledger entries of one commit, encoded up front.
struct EntryRows {
    customer_id: String,
    recorded_at: String,
    rows: Vec<(&'static str, u64, String, &'static str, String)>,
}

impl EntryRows {
    fn encode(customer: &CustomerId, recorded_at: DateTime<Utc>, entries: &[LedgerEntry]) -> Self {
        Self {
            customer_id: customer.as_str().to_owned(),
            recorded_at: timestamp(recorded_at),
            rows: entries
                .iter()
                .map(|e| (e.kind.as_str(), e.points, date(e.lot.expires_on), source(&e.lot), e.reference.clone()))
                .collect(),
        }
    }

    fn insert(&self, tx: &Transaction<'_>) -> Result<(), Fail> {
        let mut insert = tx.prepare_cached(
            "INSERT INTO ledger_entries (customer_id, recorded_at, kind, points, expires_on, source, reference) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (kind, points, expires_on, source, reference) in &self.rows {
            insert.execute(params![self.customer_id, self.recorded_at, kind, points, expires_on, source, reference])?;
        }
        Ok(())
    }
}

/// One JSON column of one row, by key, decoded; `what` names it in a corruption error.
fn read_json<T: DeserializeOwned>(conn: &Connection, sql: &str, id: &str, what: &str) -> Result<Option<T>, Fail> {
    let json: Option<String> = conn.prepare_cached(sql)?.query_row([id], |row| row.get(0)).optional()?;
    Ok(json.map(|j| from_json(&j, &format!("{what} {id}"))).transpose()?)
}

fn read_customer(conn: &Connection, id: &str) -> Result<Option<CustomerRecord>, Fail> {
    read_json(conn, "SELECT record FROM customers WHERE customer_id = ?1", id, "customer")
}

fn read_receipt(conn: &Connection, id: &str) -> Result<Option<Receipt>, Fail> {
    read_json(conn, "SELECT body FROM receipts WHERE receipt_id = ?1", id, "receipt")
}

fn read_refund(conn: &Connection, id: &str) -> Result<Option<Refund>, Fail> {
    read_json(conn, "SELECT body FROM refunds WHERE refund_id = ?1", id, "refund")
}

fn exists(conn: &Connection, sql: &str, id: &str) -> Result<bool, Fail> {
    Ok(conn.prepare_cached(sql)?.exists([id])?)
}

type KeyRow = (String, String, bool, String, Option<String>);

const KEY_COLUMNS: &str = "key_hash, terminal, admin, created_at, revoked_at";

fn key_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
}

fn decode_key((key_hash, terminal, admin, created_at, revoked_at): KeyRow) -> Result<ApiKeyRecord, StoreError> {
    let what = format!("api key {key_hash}");
    Ok(ApiKeyRecord {
        terminal: TerminalName::parse(&terminal).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))?,
        admin,
        created_at: parse_timestamp(&created_at, &what)?,
        revoked_at: revoked_at.map(|t| parse_timestamp(&t, &what)).transpose()?,
        key_hash,
    })
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

#[async_trait]
impl CustomerReader for SqliteStore {
    async fn customer(&self, id: &CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
        let id = id.as_str().to_owned();
        self.run(move |conn| read_customer(conn, &id)).await
    }
}

#[async_trait]
impl CustomerWriter for SqliteStore {
    async fn put_customer(&self, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError> {
        let row = CustomerRow::encode(record, expected.next_version())?;
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            row.write(&tx, expected)?;
            Ok(tx.commit()?)
        })
        .await
    }
}

#[async_trait]
impl LedgerWriter for SqliteStore {
    async fn purchase_view(&self, customer: &CustomerId, receipt: &ReceiptId) -> Result<PurchaseView, StoreError> {
        let (customer, receipt) = (customer.as_str().to_owned(), receipt.as_str().to_owned());
        self.run(move |conn| {
            // One read transaction: both reads see the same snapshot.
            let tx = conn.transaction()?;
            Ok(PurchaseView { customer: read_customer(&tx, &customer)?, receipt: read_receipt(&tx, &receipt)? })
        })
        .await
    }

    async fn commit_purchase(&self, commit: &PurchaseCommit) -> Result<(), StoreError> {
        let expected = commit.expected;
        let customer = CustomerRow::encode(&commit.record, expected.next_version())?;
        let receipt = ReceiptRow::encode(&commit.receipt)?;
        let entries = EntryRows::encode(&commit.receipt.customer_id, commit.receipt.recorded_at, &commit.entries);
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            if exists(&tx, "SELECT 1 FROM receipts WHERE receipt_id = ?1", &receipt.receipt_id)? {
                return Err(StoreError::Duplicate.into());
            }
            // The customer first: the receipt and entries refer to it.
            customer.write(&tx, expected)?;
            tx.prepare_cached(
                "INSERT INTO receipts (receipt_id, customer_id, occurred_at_utc, local_date, refunds, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                receipt.receipt_id,
                receipt.customer_id,
                receipt.occurred_at_utc,
                receipt.local_date,
                receipt.refunds,
                receipt.body
            ])?;
            entries.insert(&tx)?;
            Ok(tx.commit()?)
        })
        .await
    }

    async fn refund_view(
        &self,
        refund: &RefundId,
        receipt: &ReceiptId,
        _customer: Option<&CustomerId>,
    ) -> Result<RefundView, StoreError> {
        // One transaction reads all three anyway: the guess saves nothing here.
        let (refund, receipt) = (refund.as_str().to_owned(), receipt.as_str().to_owned());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let refund = read_refund(&tx, &refund)?;
            let receipt = read_receipt(&tx, &receipt)?;
            let customer = match &receipt {
                Some(r) => read_customer(&tx, r.customer_id.as_str())?,
                None => None,
            };
            Ok(RefundView { refund, receipt, customer })
        })
        .await
    }

    async fn commit_refund(&self, commit: &RefundCommit) -> Result<(), StoreError> {
        let expected = Expected::Version(commit.expected_version);
        let expected_refunds = commit.expected_refunds;
        let customer = CustomerRow::encode(&commit.record, expected.next_version())?;
        let receipt = ReceiptRow::encode(&commit.receipt)?;
        let refund = &commit.refund;
        let refund_row = (
            refund.refund_id.as_str().to_owned(),
            timestamp(refund.occurred_at.with_timezone(&Utc)),
            to_json(refund, "refund")?,
        );
        let entries = EntryRows::encode(&refund.customer_id, refund.recorded_at, &commit.entries);
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            let (refund_id, occurred_at_utc, refund_body) = refund_row;
            if exists(&tx, "SELECT 1 FROM refunds WHERE refund_id = ?1", &refund_id)? {
                return Err(StoreError::Duplicate.into());
            }
            // The receipt must still have the refunds the decision was made on.
            let moved = tx
                .prepare_cached(
                    "UPDATE receipts SET refunds = ?3, body = ?4 \
                     WHERE receipt_id = ?1 AND customer_id = ?2 AND refunds = ?5",
                )?
                .execute(params![
                    receipt.receipt_id,
                    receipt.customer_id,
                    receipt.refunds,
                    receipt.body,
                    expected_refunds
                ])?;
            if moved == 0 {
                return Err(StoreError::Conflict.into());
            }
            customer.write(&tx, expected)?;
            tx.prepare_cached(
                "INSERT INTO refunds (refund_id, receipt_id, customer_id, occurred_at_utc, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                refund_id,
                receipt.receipt_id,
                receipt.customer_id,
                occurred_at_utc,
                refund_body
            ])?;
            entries.insert(&tx)?;
            Ok(tx.commit()?)
        })
        .await
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn insert_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let row = (
            key.key_hash.clone(),
            key.terminal.as_str().to_owned(),
            key.admin,
            timestamp(key.created_at),
            key.revoked_at.map(timestamp),
        );
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            let (key_hash, terminal, admin, created_at, revoked_at) = row;
            let inserted = tx
                .prepare_cached(&format!("INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"))?
                .execute(params![key_hash, terminal, admin, created_at, revoked_at]);
            match inserted {
                // The hash is taken, or the terminal has a live key (the partial unique index).
                Err(e) if is_constraint_violation(&e) => return Err(StoreError::Duplicate.into()),
                other => other?,
            };
            Ok(tx.commit()?)
        })
        .await
    }

    async fn key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let key_hash = key_hash.to_owned();
        self.run(move |conn| {
            let row = conn
                .prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = ?1"))?
                .query_row([key_hash], key_row)
                .optional()?;
            Ok(row.map(decode_key).transpose()?)
        })
        .await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.run(|conn| {
            let mut stmt =
                conn.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, key_hash"))?;
            let rows = stmt.query_map([], key_row)?.collect::<Result<Vec<_>, _>>()?;
            Ok(rows.into_iter().map(decode_key).collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn revoke_key(&self, terminal: &TerminalName, at: DateTime<Utc>) -> Result<u32, StoreError> {
        let (terminal, at) = (terminal.as_str().to_owned(), timestamp(at));
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            let revoked = tx
                .prepare_cached("UPDATE api_keys SET revoked_at = ?2 WHERE terminal = ?1 AND revoked_at IS NULL")?
                .execute(params![terminal, at])?;
            tx.commit()?;
            // The partial unique index allows one live key per terminal, so this is 0 or 1.
            Ok(u32::try_from(revoked).unwrap_or(u32::MAX))
        })
        .await
    }
}

fn read_secret(conn: &Connection) -> Result<Option<Vec<u8>>, Fail> {
    Ok(conn
        .prepare_cached("SELECT value FROM settings WHERE name = ?1")?
        .query_row([UNSUBSCRIBE_SECRET], |row| row.get(0))
        .optional()?)
}

#[async_trait]
impl SecretStore for SqliteStore {
    async fn unsubscribe_secret(&self) -> Result<Vec<u8>, StoreError> {
        self.run(|conn| {
            let secret = match read_secret(conn)? {
                Some(secret) => secret,
                None => {
                    let mut fresh = [0u8; SECRET_LEN];
                    getrandom::getrandom(&mut fresh)
                        .map_err(|e| StoreError::Unavailable(format!("no randomness for the secret: {e}").into()))?;
                    // Concurrent first uses (other processes too) race here: the first insert
                    // wins and everyone reads back the winner.
                    conn.prepare_cached("INSERT OR IGNORE INTO settings (name, value) VALUES (?1, ?2)")?
                        .execute(params![UNSUBSCRIBE_SECRET, fresh.as_slice()])?;
                    read_secret(conn)?.ok_or_else(|| StoreError::Corrupt("the unsubscribe secret vanished".into()))?
                }
            };
            if secret.len() < SECRET_LEN {
                return Err(
                    StoreError::Corrupt(format!("the unsubscribe secret has only {} bytes", secret.len())).into()
                );
            }
            Ok(secret)
        })
        .await
    }
}

/// An outcome's row, encoded before the blocking work starts.
struct OutcomeRow {
    customer_id: String,
    trigger: &'static str,
    episode: String,
    sweep_date: String,
    status: &'static str,
    body: String,
}

impl OutcomeRow {
    fn encode(outcome: &Outcome) -> Result<Self, StoreError> {
        let (customer_id, trigger, episode) = outcome_key(&outcome.key);
        Ok(Self {
            customer_id,
            trigger,
            episode,
            sweep_date: date(outcome.sweep_date),
            status: outcome.status.as_str(),
            body: to_json(outcome, "outcome")?,
        })
    }
}

/// The primary key of an outcome's row: the episode as its `Display` (the trigger tells a
/// lapse's date from an expiry's).
fn outcome_key(key: &OutcomeKey) -> (String, &'static str, String) {
    (key.customer_id.as_str().to_owned(), key.trigger.as_str(), key.episode.to_string())
}

fn decode_outcome(body: &str) -> Result<Outcome, StoreError> {
    from_json(body, "outcome")
}

/// Customer ids out of a one-column query, sorted and without repeats.
fn customer_ids(conn: &Connection, sql: &str, param: &str) -> Result<Vec<CustomerId>, Fail> {
    let mut stmt = conn.prepare_cached(sql)?;
    let ids = stmt.query_map([param], |row| row.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    let mut ids = ids
        .into_iter()
        .map(|id| CustomerId::parse(&id).map_err(|e| StoreError::Corrupt(format!("customer id {id:?}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

#[async_trait]
impl SweepStore for SqliteStore {
    async fn customers_last_bought_on(&self, on: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        let on = date(on);
        self.run(move |conn| customer_ids(conn, "SELECT customer_id FROM customers WHERE last_purchase_on = ?1", &on))
            .await
    }

    async fn customers_born_on(&self, month: u32, day: u32) -> Result<Vec<CustomerId>, StoreError> {
        let md = format!("{month:02}-{day:02}");
        self.run(move |conn| {
            customer_ids(conn, "SELECT customer_id FROM customers WHERE birthday_md = ?1 AND erased = 0", &md)
        })
        .await
    }

    async fn customers_with_lots_expiring_on(&self, on: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        // The lots mirror holds live lots only: a lot spent to nothing or burned is gone, and
        // so is its customer from this list, which the port allows.
        let on = date(on);
        self.run(move |conn| customer_ids(conn, "SELECT DISTINCT customer_id FROM lots WHERE expires_on = ?1", &on))
            .await
    }

    async fn outcome(&self, key: &OutcomeKey) -> Result<Option<Outcome>, StoreError> {
        let (customer_id, trigger, episode) = outcome_key(key);
        self.run(move |conn| {
            let body: Option<String> = conn
                .prepare_cached(
                    "SELECT body FROM sweep_outcomes WHERE customer_id = ?1 AND \"trigger\" = ?2 AND episode = ?3",
                )?
                .query_row(params![customer_id, trigger, episode], |row| row.get(0))
                .optional()?;
            Ok(body.map(|b| decode_outcome(&b)).transpose()?)
        })
        .await
    }

    async fn record_outcome(&self, outcome: &Outcome, gift: Option<&GiftCommit>) -> Result<(), StoreError> {
        let row = OutcomeRow::encode(outcome)?;
        let gift = match gift {
            Some(g) => {
                let expected = Expected::Version(g.expected_version);
                let customer = CustomerRow::encode(&g.record, expected.next_version())?;
                let entries = EntryRows::encode(&g.record.customer.customer_id, outcome.decided_at, &g.entries);
                Some((expected, customer, entries))
            }
            None => None,
        };
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            // A taken key wins over a moved record, as in every commit.
            let taken = tx
                .prepare_cached(
                    "SELECT 1 FROM sweep_outcomes WHERE customer_id = ?1 AND \"trigger\" = ?2 AND episode = ?3",
                )?
                .exists(params![row.customer_id, row.trigger, row.episode])?;
            if taken {
                return Err(StoreError::Duplicate.into());
            }
            if let Some((expected, customer, entries)) = &gift {
                customer.write(&tx, *expected)?;
                entries.insert(&tx)?;
            }
            tx.prepare_cached(
                "INSERT INTO sweep_outcomes (customer_id, \"trigger\", episode, sweep_date, status, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                row.customer_id,
                row.trigger,
                row.episode,
                row.sweep_date,
                row.status,
                row.body
            ])?;
            Ok(tx.commit()?)
        })
        .await
    }

    async fn update_outcome(&self, outcome: &Outcome, from: OutcomeStatus) -> Result<(), StoreError> {
        let row = OutcomeRow::encode(outcome)?;
        let from = from.as_str();
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            let updated = tx
                .prepare_cached(
                    "UPDATE sweep_outcomes SET sweep_date = ?4, status = ?5, body = ?6 \
                     WHERE customer_id = ?1 AND \"trigger\" = ?2 AND episode = ?3 AND status = ?7",
                )?
                .execute(params![
                    row.customer_id,
                    row.trigger,
                    row.episode,
                    row.sweep_date,
                    row.status,
                    row.body,
                    from
                ])?;
            if updated == 0 {
                return Err(StoreError::Conflict.into());
            }
            Ok(tx.commit()?)
        })
        .await
    }

    async fn outcomes_on(&self, on: NaiveDate) -> Result<Vec<Outcome>, StoreError> {
        let on = date(on);
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT body FROM sweep_outcomes WHERE sweep_date = ?1")?;
            let bodies = stmt.query_map([on], |row| row.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            let mut outcomes = bodies.iter().map(|b| decode_outcome(b)).collect::<Result<Vec<_>, _>>()?;
            outcomes.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(outcomes)
        })
        .await
    }

    async fn commit_burn(&self, burn: &BurnCommit) -> Result<(), StoreError> {
        let expected = Expected::Version(burn.expected_version);
        let customer = CustomerRow::encode(&burn.record, expected.next_version())?;
        // The port gives a burn no instant of its own: it is recorded when the store writes it.
        let entries = EntryRows::encode(&burn.record.customer.customer_id, burn.recorded_at, &burn.entries);
        // `burned_dates` needs nothing here: the lots mirror follows the record, so a burned
        // lot leaves `lots` with this very write.
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            customer.write(&tx, expected)?;
            entries.insert(&tx)?;
            Ok(tx.commit()?)
        })
        .await
    }

    async fn last_completed_sweep(&self) -> Result<Option<NaiveDate>, StoreError> {
        self.run(|conn| {
            let text: Option<String> = conn
                .prepare_cached("SELECT last_completed FROM sweep_progress WHERE id = 1")?
                .query_row([], |row| row.get(0))
                .optional()?;
            Ok(text.map(|t| parse_date(&t, "the last completed sweep")).transpose()?)
        })
        .await
    }

    async fn complete_sweep(&self, on: NaiveDate) -> Result<(), StoreError> {
        let on = date(on);
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            // Fixed-width dates: text order is date order, so max() never moves it backwards.
            tx.prepare_cached(
                "INSERT INTO sweep_progress (id, last_completed) VALUES (1, ?1) \
                 ON CONFLICT (id) DO UPDATE SET last_completed = max(last_completed, excluded.last_completed)",
            )?
            .execute([on])?;
            Ok(tx.commit()?)
        })
        .await
    }
}

#[async_trait]
impl ReportStore for SqliteStore {
    async fn receipts_on(&self, on: NaiveDate) -> Result<Vec<Receipt>, StoreError> {
        // `local_date` is the receipt's own (the local date of `occurred_at`), written once with
        // it; a refund rewrites the body in place, so the body read here has every refund so far.
        // Ids compare bytewise (BINARY collation), as `ReceiptId` orders them.
        let on = date(on);
        self.run(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT receipt_id, body FROM receipts WHERE local_date = ?1 ORDER BY receipt_id")?;
            let rows = stmt
                .query_map([on], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            let receipts = rows
                .iter()
                .map(|(id, body)| from_json::<Receipt>(body, &format!("receipt {id}")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(receipts)
        })
        .await
    }
}
