//! Rows: records encoded for their tables (before the blocking work starts), read back and
//! decoded, and the checks every write makes.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, params_from_iter, Connection, ErrorCode, OptionalExtension, ToSql, Transaction};
use serde::de::DeserializeOwned;

use boomerang_core::domain::book::BookDelta;
use boomerang_core::domain::auth::ApiKeyRecord;
use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::domain::ids::{CustomerId, TerminalName};
use boomerang_core::domain::ledger::{LedgerEntry, LotKey, LotSource, REFERRAL_SOURCE};
use boomerang_core::domain::purchase::{Receipt, Refund};
use boomerang_core::domain::triggers::{Outcome, OutcomeKey};
use boomerang_core::ports::{decode_json, encode_date, encode_json, Expected, Guard, StoreError};

use crate::Fail;

pub(crate) fn is_constraint_violation(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

/// Fixed-width RFC 3339 in UTC, so text order is time order in indexes.
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub(crate) fn parse_timestamp(text: &str, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("{what}: bad timestamp {text:?}: {e}")))
}

fn source(lot: &LotKey) -> &'static str {
    match lot.source {
        LotSource::Earned => "earned",
        LotSource::Gift(trigger) => trigger.as_str(),
        LotSource::Referral => REFERRAL_SOURCE,
    }
}

/// Fails the write with the error of the conditions that do not hold (`StoreError::refused`
/// decides which wins), or lets it go ahead.
pub(crate) fn refuse_unless<const N: usize>(checks: [(bool, Guard); N]) -> Result<(), Fail> {
    match StoreError::refused(checks.into_iter().filter(|(failed, _)| *failed).map(|(_, guard)| guard)) {
        Some(refused) => Err(refused.into()),
        None => Ok(()),
    }
}

/// A customer record as its row and lot mirror, encoded before the blocking work starts.
pub(crate) struct CustomerRow {
    customer_id: String,
    version: u64,
    record: String,
    last_purchase_on: Option<String>,
    birthday_md: Option<String>,
    erased: bool,
    referred_on: Option<String>,
    lots: Vec<(String, &'static str, u64)>,
}

impl CustomerRow {
    /// The row of `record` at `version`. The version comes from the write's condition (the
    /// port's rule), so a record and its row never disagree about it.
    pub fn encode(record: &CustomerRecord, version: u64) -> Result<Self, StoreError> {
        let json = if record.version == version {
            encode_json(record, "customer record")?
        } else {
            encode_json(&CustomerRecord { version, ..record.clone() }, "customer record")?
        };
        let customer = &record.customer;
        Ok(Self {
            customer_id: customer.customer_id.as_str().to_owned(),
            version,
            record: json,
            last_purchase_on: record.account.last_purchase_on.map(encode_date),
            birthday_md: customer.birthday.map(|d| d.format("%m-%d").to_string()),
            erased: customer.is_erased(),
            referred_on: record.referral.referred_by.as_ref().map(|r| encode_date(r.at.date_naive())),
            lots: record
                .account
                .lots
                .iter()
                .map(|(lot, points)| (encode_date(lot.expires_on), source(lot), *points))
                .collect(),
        })
    }

    /// True when the stored record is not as `expected`: the write's condition would fail.
    pub fn moved(&self, tx: &Transaction<'_>, expected: Expected) -> Result<bool, Fail> {
        let version: Option<u64> = tx
            .prepare_cached("SELECT version FROM customers WHERE customer_id = ?1")?
            .query_row([&self.customer_id], |row| row.get(0))
            .optional()?;
        Ok(match expected {
            Expected::Absent => version.is_some(),
            Expected::Version(v) => version != Some(v),
        })
    }

    /// Writes the row under `expected` and mirrors its lots; `Conflict` if the condition fails.
    pub fn write(&self, tx: &Transaction<'_>, expected: Expected) -> Result<(), Fail> {
        let columns: [&dyn ToSql; 7] = [
            &self.customer_id,
            &self.version,
            &self.record,
            &self.last_purchase_on,
            &self.birthday_md,
            &self.erased,
            &self.referred_on,
        ];
        let written = match expected {
            Expected::Absent => tx
                .prepare_cached(
                    "INSERT INTO customers (customer_id, version, record, last_purchase_on, birthday_md, erased, referred_on) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (customer_id) DO NOTHING",
                )?
                .execute(&columns)?,
            Expected::Version(current) => tx
                .prepare_cached(
                    "UPDATE customers \
                     SET version = ?2, record = ?3, last_purchase_on = ?4, birthday_md = ?5, erased = ?6, \
                     referred_on = ?7 WHERE customer_id = ?1 AND version = ?8",
                )?
                .execute(params_from_iter(columns.into_iter().chain([&current as &dyn ToSql])))?,
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
pub(crate) struct ReceiptRow {
    pub receipt_id: String,
    pub customer_id: String,
    pub occurred_at_utc: String,
    pub local_date: String,
    pub refunds: u32,
    pub body: String,
}

impl ReceiptRow {
    pub fn encode(receipt: &Receipt) -> Result<Self, StoreError> {
        Ok(Self {
            receipt_id: receipt.receipt_id.as_str().to_owned(),
            customer_id: receipt.customer_id.as_str().to_owned(),
            occurred_at_utc: timestamp(receipt.occurred_at.with_timezone(&Utc)),
            local_date: encode_date(receipt.local_date),
            refunds: receipt.refund.refunds,
            body: encode_json(receipt, "receipt")?,
        })
    }
}

/// Ledger entries of one commit, encoded up front.
pub(crate) struct EntryRows {
    customer_id: String,
    recorded_at: String,
    rows: Vec<(&'static str, u64, String, &'static str, String)>,
    /// What the commit adds to the day book, written with the entries.
    book: BookDelta,
}

impl EntryRows {
    pub fn encode(customer: &CustomerId, recorded_at: DateTime<Utc>, entries: &[LedgerEntry]) -> Self {
        Self {
            customer_id: customer.as_str().to_owned(),
            recorded_at: timestamp(recorded_at),
            rows: entries
                .iter()
                .map(|e| (e.kind.as_str(), e.points, encode_date(e.lot.expires_on), source(&e.lot), e.reference.clone()))
                .collect(),
            book: BookDelta::default(),
        }
    }

    /// The same entries with what their commit adds to the day book.
    pub fn with_book(self, book: BookDelta) -> Self {
        Self { book, ..self }
    }

    pub fn insert(&self, tx: &Transaction<'_>) -> Result<(), Fail> {
        let mut insert = tx.prepare_cached(
            "INSERT INTO ledger_entries (customer_id, recorded_at, kind, points, expires_on, source, reference) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (kind, points, expires_on, source, reference) in &self.rows {
            insert.execute(params![self.customer_id, self.recorded_at, kind, points, expires_on, source, reference])?;
        }
        crate::book::apply(tx, &self.book)
    }
}

/// One JSON column of one row, by key, decoded; `what` names its kind in a corruption error
/// (never the key: a customer id may be a phone number, and the error is logged).
pub(crate) fn read_json<T: DeserializeOwned>(conn: &Connection, sql: &str, id: &str, what: &str) -> Result<Option<T>, Fail> {
    let json: Option<String> = conn.prepare_cached(sql)?.query_row([id], |row| row.get(0)).optional()?;
    Ok(json.map(|j| decode_json(&j, what)).transpose()?)
}

pub(crate) fn read_customer(conn: &Connection, id: &str) -> Result<Option<CustomerRecord>, Fail> {
    read_json(conn, "SELECT record FROM customers WHERE customer_id = ?1", id, "customer record")
}

pub(crate) fn read_receipt(conn: &Connection, id: &str) -> Result<Option<Receipt>, Fail> {
    read_json(conn, "SELECT body FROM receipts WHERE receipt_id = ?1", id, "receipt")
}

pub(crate) fn read_refund(conn: &Connection, id: &str) -> Result<Option<Refund>, Fail> {
    read_json(conn, "SELECT body FROM refunds WHERE refund_id = ?1", id, "refund")
}

pub(crate) fn exists(conn: &Connection, sql: &str, id: &str) -> Result<bool, Fail> {
    Ok(conn.prepare_cached(sql)?.exists([id])?)
}

pub(crate) type KeyRow = (String, String, bool, String, Option<String>);

pub(crate) const KEY_COLUMNS: &str = "key_hash, terminal, admin, created_at, revoked_at";

pub(crate) fn key_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
}

pub(crate) fn decode_key((key_hash, terminal, admin, created_at, revoked_at): KeyRow) -> Result<ApiKeyRecord, StoreError> {
    let what = format!("api key {key_hash}");
    Ok(ApiKeyRecord {
        terminal: TerminalName::parse(&terminal).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))?,
        admin,
        created_at: parse_timestamp(&created_at, &what)?,
        revoked_at: revoked_at.map(|t| parse_timestamp(&t, &what)).transpose()?,
        key_hash,
    })
}

/// An outcome's row, encoded before the blocking work starts.
pub(crate) struct OutcomeRow {
    pub customer_id: String,
    pub trigger: &'static str,
    pub episode: String,
    pub sweep_date: String,
    pub status: &'static str,
    pub body: String,
}

impl OutcomeRow {
    /// The row's values in column order: `?1` to `?6` of its statements.
    pub fn columns(&self) -> [&dyn ToSql; 6] {
        [&self.customer_id, &self.trigger, &self.episode, &self.sweep_date, &self.status, &self.body]
    }

    pub fn encode(outcome: &Outcome) -> Result<Self, StoreError> {
        let (customer_id, trigger, episode) = outcome_key(&outcome.key);
        Ok(Self {
            customer_id,
            trigger,
            episode,
            sweep_date: encode_date(outcome.sweep_date),
            status: outcome.status.as_str(),
            body: encode_json(outcome, "outcome")?,
        })
    }
}

/// The primary key of an outcome's row: the episode as its `Display` (the trigger tells a
/// lapse's date from an expiry's).
pub(crate) fn outcome_key(key: &OutcomeKey) -> (String, &'static str, String) {
    (key.customer_id.as_str().to_owned(), key.trigger.as_str(), key.episode.to_string())
}

pub(crate) fn decode_outcome(body: &str) -> Result<Outcome, StoreError> {
    decode_json(body, "outcome")
}

/// Customer ids out of a one-column query, sorted and without repeats.
pub(crate) fn customer_ids(conn: &Connection, sql: &str, param: &str) -> Result<Vec<CustomerId>, Fail> {
    let mut stmt = conn.prepare_cached(sql)?;
    let ids = stmt.query_map([param], |row| row.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    let mut ids = ids
        .into_iter()
        .map(|id| CustomerId::parse(&id).map_err(|e| StoreError::Corrupt(format!("a listed customer id: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

