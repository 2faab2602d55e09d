//! The day book (`boomerang_core::domain::book`): counters per (local date, store) and points
//! per lot expiry date, added to in the same transaction as the receipt, refund, gift or burn
//! that moves them, so reports read them instead of every receipt.

use chrono::NaiveDate;
use rusqlite::{params, params_from_iter, Connection, ToSql, Transaction};

use boomerang_core::domain::book::{BookDelta, DayFigures, DayRow};
use boomerang_core::ports::{decode_date, encode_date};

use crate::Fail;

/// Movements of no store are filed under the empty store id (a real one is never empty).
const NO_STORE: &str = "";

/// The referred customers' share of each day's revenue (migration V7; a file migrated from
/// an earlier version counts it from the upgrade on, like the book itself).
pub(crate) const REFERRED_REVENUE: &str = "
ALTER TABLE book_days ADD COLUMN referred_revenue_minor INTEGER NOT NULL DEFAULT 0;
";

/// Referral points spent each day (migration V8; counted from the upgrade on).
pub(crate) const REFERRAL_REDEEMED: &str = "
ALTER TABLE book_days ADD COLUMN referral_redeemed INTEGER NOT NULL DEFAULT 0;
";

/// The book's tables (migration V4).
pub(crate) const SCHEMA: &str = "
CREATE TABLE book_days (
    date          TEXT NOT NULL,
    store         TEXT NOT NULL,
    receipts      INTEGER NOT NULL,
    revenue_minor INTEGER NOT NULL,
    earned        INTEGER NOT NULL,
    gifted        INTEGER NOT NULL,
    restored      INTEGER NOT NULL,
    redeemed      INTEGER NOT NULL,
    clawed_back   INTEGER NOT NULL,
    written_off   INTEGER NOT NULL,
    expired       INTEGER NOT NULL,
    PRIMARY KEY (date, store)
) STRICT;

CREATE TABLE book_expiring (
    expires_on TEXT PRIMARY KEY NOT NULL,
    points     INTEGER NOT NULL
) STRICT;

-- Reports read a customer's receipts of a window (per trigger outcome), never a whole day's.
CREATE INDEX receipts_by_customer_date ON receipts (customer_id, local_date);
DROP INDEX receipts_by_local_date;
";

/// Adds a commit's delta to the book, inside the commit's transaction.
pub(crate) fn apply(tx: &Transaction<'_>, delta: &BookDelta) -> Result<(), Fail> {
    let columns = DayFigures::NAMES.join(", ");
    let placeholders = (3..3 + DayFigures::NAMES.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    let sums = DayFigures::NAMES.iter().map(|c| format!("{c} = {c} + excluded.{c}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "INSERT INTO book_days (date, store, {columns}) VALUES (?1, ?2, {placeholders}) \
         ON CONFLICT (date, store) DO UPDATE SET {sums}"
    );
    let mut upsert = tx.prepare_cached(&sql)?;
    for ((date, store), figures) in &delta.days {
        let date = encode_date(*date);
        let store: &dyn ToSql = &store.as_deref().unwrap_or(NO_STORE);
        let values = figures.values();
        let counters = values.iter().map(|v| v as &dyn ToSql);
        upsert.execute(params_from_iter([&date as &dyn ToSql, store].into_iter().chain(counters)))?;
    }
    let mut expiring = tx.prepare_cached(
        "INSERT INTO book_expiring (expires_on, points) VALUES (?1, ?2) \
         ON CONFLICT (expires_on) DO UPDATE SET points = points + excluded.points",
    )?;
    for (date, points) in &delta.expiring {
        expiring.execute(params![encode_date(*date), points])?;
    }
    Ok(())
}

pub(crate) fn day_figures(conn: &Connection, from: NaiveDate, to: NaiveDate) -> Result<Vec<DayRow>, Fail> {
    let sql = format!(
        "SELECT date, store, {} FROM book_days WHERE date >= ?1 AND date <= ?2 ORDER BY date, store",
        DayFigures::NAMES.join(", ")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map([encode_date(from), encode_date(to)], |row| {
            let mut v = [0i64; DayFigures::NAMES.len()];
            for (i, slot) in v.iter_mut().enumerate() {
                *slot = row.get(i + 2)?;
            }
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, v))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(date, store, v)| {
            Ok(DayRow {
                date: decode_date(&date, "book day")?,
                store: (store != NO_STORE).then_some(store),
                figures: DayFigures::from_values(v),
            })
        })
        .collect()
}

pub(crate) fn points_expiring(conn: &Connection, from: NaiveDate, to: NaiveDate) -> Result<Vec<(NaiveDate, i64)>, Fail> {
    let mut stmt = conn.prepare_cached(
        "SELECT expires_on, points FROM book_expiring \
         WHERE expires_on >= ?1 AND expires_on <= ?2 AND points != 0 ORDER BY expires_on",
    )?;
    let rows = stmt
        .query_map([encode_date(from), encode_date(to)], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(|(d, p)| Ok((decode_date(&d, "book expiry date")?, p))).collect()
}
