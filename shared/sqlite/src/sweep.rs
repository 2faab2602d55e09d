//! The daily sweep and the reports: audience queries on the mirrored columns, outcomes,
//! burns and the sweep's progress; a day's receipts.

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{params, params_from_iter, OptionalExtension, ToSql, Transaction};

use boomerang_core::domain::book::{BookDelta, DayRow};
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::purchase::Receipt;
use boomerang_core::domain::triggers::{Outcome, OutcomeKey, OutcomeStatus};
use boomerang_core::ports::{
    decode_date, decode_json, encode_date, BurnCommit, Expected, Guard, RecordCommit, ReportStore, StoreError, SweepStore,
};

use crate::rows::{customer_ids, decode_outcome, outcome_key, refuse_unless, CustomerRow, EntryRows, OutcomeRow};
use crate::{write_tx, Fail, SqliteStore};

#[async_trait]
impl SweepStore for SqliteStore {
    async fn customers_last_bought_on(&self, on: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        let on = encode_date(on);
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
        let on = encode_date(on);
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

    async fn record_outcome(&self, outcome: &Outcome, record: Option<&RecordCommit>) -> Result<(), StoreError> {
        let row = OutcomeRow::encode(outcome)?;
        let gift = record.map(|r| RecordRows::encode(r, outcome.sweep_date)).transpose()?;
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            let taken = tx
                .prepare_cached(
                    "SELECT 1 FROM sweep_outcomes WHERE customer_id = ?1 AND \"trigger\" = ?2 AND episode = ?3",
                )?
                .exists(params![row.customer_id, row.trigger, row.episode])?;
            refuse_unless([(taken, Guard::NewId), (RecordRows::moved(gift.as_ref(), &tx)?, Guard::Unchanged)])?;
            RecordRows::write(gift.as_ref(), &tx)?;
            tx.prepare_cached(
                "INSERT INTO sweep_outcomes (customer_id, \"trigger\", episode, sweep_date, status, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(&row.columns())?;
            Ok(tx.commit()?)
        })
        .await
    }

    async fn claim_outcome(&self, outcome: &Outcome, record: &RecordCommit) -> Result<(), StoreError> {
        let row = OutcomeRow::encode(outcome)?;
        let record = RecordRows::encode(record, outcome.sweep_date)?;
        let pending = OutcomeStatus::Pending.as_str();
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            let still_pending = tx
                .prepare_cached(
                    "SELECT 1 FROM sweep_outcomes \
                     WHERE customer_id = ?1 AND \"trigger\" = ?2 AND episode = ?3 AND status = ?4",
                )?
                .exists(params![row.customer_id, row.trigger, row.episode, pending])?;
            refuse_unless([(!still_pending, Guard::Unchanged), (RecordRows::moved(Some(&record), &tx)?, Guard::Unchanged)])?;
            RecordRows::write(Some(&record), &tx)?;
            update_row(&tx, &row, pending)?;
            Ok(tx.commit()?)
        })
        .await
    }

    async fn update_outcome(&self, outcome: &Outcome, from: OutcomeStatus) -> Result<(), StoreError> {
        let row = OutcomeRow::encode(outcome)?;
        let from = from.as_str();
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            update_row(&tx, &row, from)?;
            Ok(tx.commit()?)
        })
        .await
    }

    async fn outcomes_on(&self, on: NaiveDate) -> Result<Vec<Outcome>, StoreError> {
        let on = encode_date(on);
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
        let entries = EntryRows::encode(&burn.record.customer.customer_id, burn.recorded_at, &burn.entries)
            .with_book(BookDelta::burn(&burn.entries));
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
            Ok(text.map(|t| decode_date(&t, "the last completed sweep")).transpose()?)
        })
        .await
    }

    async fn complete_sweep(&self, on: NaiveDate) -> Result<(), StoreError> {
        let on = encode_date(on);
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
    async fn receipts_of(&self, customer: &CustomerId, from: NaiveDate, to: NaiveDate) -> Result<Vec<Receipt>, StoreError> {
        // `local_date` is the receipt's own (the local date of `occurred_at`), written once with
        // it; a refund rewrites the body in place, so the body read here has every refund so far.
        // Ids compare bytewise (BINARY collation), as `ReceiptId` orders them.
        let (customer, from, to) = (customer.as_str().to_owned(), encode_date(from), encode_date(to));
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT receipt_id, body FROM receipts WHERE customer_id = ?1 AND local_date >= ?2 AND local_date <= ?3 \
                 ORDER BY local_date, receipt_id",
            )?;
            let rows = stmt
                .query_map([customer, from, to], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            let receipts = rows
                .iter()
                .map(|(id, body)| decode_json::<Receipt>(body, &format!("receipt {id}")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(receipts)
        })
        .await
    }

    async fn day_figures(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DayRow>, StoreError> {
        self.run(move |conn| crate::book::day_figures(conn, from, to)).await
    }

    async fn points_expiring(&self, from: NaiveDate, to: NaiveDate, _: (NaiveDate, NaiveDate)) -> Result<Vec<(NaiveDate, i64)>, StoreError> {
        self.run(move |conn| crate::book::points_expiring(conn, from, to)).await
    }
}

/// The customer record written with an outcome, a reward or a survey's claim, and its ledger
/// entries, as rows.
pub(crate) struct RecordRows {
    expected: Expected,
    customer: CustomerRow,
    entries: EntryRows,
}

impl RecordRows {
    /// `on`: the date the credit counts on in the day book.
    pub(crate) fn encode(commit: &RecordCommit, on: NaiveDate) -> Result<Self, StoreError> {
        let expected = Expected::Version(commit.expected_version);
        let customer = CustomerRow::encode(&commit.record, expected.next_version())?;
        let entries = EntryRows::encode(&commit.record.customer.customer_id, commit.recorded_at, &commit.entries)
            .with_book(BookDelta::credit(on, &commit.entries));
        Ok(Self { expected, customer, entries })
    }

    /// True when the stored record is no longer the one the commit was made from; `false`
    /// when the commit carries no record.
    pub(crate) fn moved(rows: Option<&Self>, tx: &Transaction<'_>) -> Result<bool, Fail> {
        rows.map_or(Ok(false), |r| r.customer.moved(tx, r.expected))
    }

    /// Writes the record and its entries, if the commit carries one.
    pub(crate) fn write(rows: Option<&Self>, tx: &Transaction<'_>) -> Result<(), Fail> {
        if let Some(r) = rows {
            r.customer.write(tx, r.expected)?;
            r.entries.insert(tx)?;
        }
        Ok(())
    }
}

/// Stores an outcome's row over the one with the same key, if its status is still `from`.
fn update_row(tx: &Transaction<'_>, row: &OutcomeRow, from: &str) -> Result<(), Fail> {
    let updated = tx
        .prepare_cached(
            "UPDATE sweep_outcomes SET sweep_date = ?4, status = ?5, body = ?6 \
             WHERE customer_id = ?1 AND \"trigger\" = ?2 AND episode = ?3 AND status = ?7",
        )?
        .execute(params_from_iter(row.columns().into_iter().chain([&from as &dyn ToSql])))?;
    if updated == 0 {
        return Err(StoreError::Conflict.into());
    }
    Ok(())
}
