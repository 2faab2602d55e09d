//! The day book (`boomerang_core::domain::book`) on DynamoDB: counters added (`ADD`) to small
//! items inside the same `TransactWriteItems` as the receipt, refund, gift or burn.
//!
//! * A day's counters: `pk = BK#<date>`, `sk = <shard>#<store>` (the store id empty for
//!   gifts and burns), one numeric attribute per counter. A report reads a day with one Query.
//! * Points per lot expiry date, on the day item of the movements' date: one attribute
//!   `x<expires_on>` per lot date a commit credits or spends (a purchase's earned lot, the lots
//!   it spends from), so a commit adds to one book item, not two. A report reads the days a
//!   lot expiring after the period may have moved on (the longest validity back).
//! * Points per lot expiry date as tables of an earlier build kept them, still read (never
//!   written): `pk = BX#<YYYY-MM>` (the month of the expiry date), `sk = <date>#<shard>`,
//!   attribute `points`, one Query per month.
//!
//! The shard is the customer's (`layout::shard`): all of one customer's commits touch the
//! same items, while different customers' purchases of the same day and store spread over
//! `INDEX_SHARDS` items, so concurrent transactions rarely touch one item (DynamoDB cancels
//! a transaction that meets another on an item: `TransactionConflict`).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Datelike, NaiveDate};

use boomerang_core::domain::book::{BookDelta, DayFigures, DayRow};
use boomerang_core::domain::date::dates;
use boomerang_core::ports::{decode_date, encode_date, StoreError};

use crate::items::{key, string, Item};
use crate::layout::{shard, SK};
use crate::transaction::Transaction;
use crate::DynamoStore;

/// The attribute of an expiry date's points on an item of an earlier build (`BX#`).
const POINTS: &str = "points";
/// The prefix of a day item's points per lot expiry date: `x<YYYY-MM-DD>`.
const EXPIRING: &str = "x";

pub fn expiring_attribute(date: NaiveDate) -> String {
    format!("{EXPIRING}{}", encode_date(date))
}

pub fn day_pk(date: NaiveDate) -> String {
    format!("BK#{}", encode_date(date))
}
pub fn day_sk(shard: u32, store: Option<&str>) -> String {
    format!("{shard}#{}", store.unwrap_or(""))
}
pub fn expiring_pk(date: NaiveDate) -> String {
    format!("BX#{:04}-{:02}", date.year(), date.month())
}
pub fn expiring_sk(date: NaiveDate, shard: u32) -> String {
    format!("{}#{shard}", encode_date(date))
}

/// Adds a commit's delta to the transaction: one `ADD` update per day item it changes, the
/// points per lot expiry date on the item of the day they moved on (`delta.expiring_dated`).
/// Another counter of a day joins its `ADD` as one more attribute.
pub(crate) fn add_book(tx: &mut Transaction, table: &str, customer: &str, delta: &BookDelta) -> Result<(), StoreError> {
    debug_assert!(delta.expiring.is_empty() || delta.expiring_dated.is_some(), "expiry points without their day");
    let shard = shard(customer);
    let mut days: BTreeMap<&(NaiveDate, Option<String>), Vec<(String, i64)>> = BTreeMap::new();
    for (day, figures) in &delta.days {
        let counters = DayFigures::NAMES.iter().zip(figures.values()).filter(|(_, v)| *v != 0);
        days.entry(day).or_default().extend(counters.map(|(name, v)| ((*name).to_owned(), v)));
    }
    if let Some(day) = &delta.expiring_dated {
        let points = delta.expiring.iter().map(|(date, points)| (expiring_attribute(*date), *points));
        days.entry(day).or_default().extend(points);
    }
    for ((date, store), amounts) in days {
        let amounts: Vec<(&str, i64)> = amounts.iter().map(|(name, v)| (name.as_str(), *v)).collect();
        tx.add(table, key(day_pk(*date), day_sk(shard, store.as_deref())), &amounts)?;
    }
    Ok(())
}

fn number(item: &Item, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        None => Ok(0),
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| StoreError::Corrupt(format!("book item: bad number {name}"))),
        Some(_) => Err(StoreError::Corrupt(format!("book item: {name} is not a number"))),
    }
}

impl DynamoStore {
    /// A day's items: every store and shard, one Query (+ pages).
    async fn day_items(&self, date: NaiveDate) -> Result<Vec<Item>, StoreError> {
        self.query_all(self.partition_query(None, day_pk(date), None)).await
    }

    /// One Query per day; shards of a store summed.
    pub(crate) async fn book_days(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DayRow>, StoreError> {
        let mut rows = Vec::new();
        for date in dates(from, to) {
            let mut stores: BTreeMap<Option<String>, DayFigures> = BTreeMap::new();
            for item in self.day_items(date).await? {
                let sk = string(&item, SK)?;
                let store = sk.split_once('#').map(|(_, s)| s).unwrap_or("");
                let mut values = [0i64; DayFigures::NAMES.len()];
                for (slot, name) in values.iter_mut().zip(DayFigures::NAMES) {
                    *slot = number(&item, name)?;
                }
                let store = (!store.is_empty()).then(|| store.to_owned());
                stores.entry(store).or_default().add(&DayFigures::from_values(values));
            }
            rows.extend(
                stores.into_iter().filter(|(_, f)| !f.is_zero()).map(|(store, figures)| DayRow { date, store, figures }),
            );
        }
        Ok(rows)
    }

    /// The points per lot expiry date in `[from, to]`: from the day items of the days `moved`
    /// (one Query each), plus what tables of an earlier build hold in `BX#` items (one Query
    /// per month of expiry dates); shards and stores summed.
    pub(crate) async fn book_expiring(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        (first_moved, last_moved): (NaiveDate, NaiveDate),
    ) -> Result<Vec<(NaiveDate, i64)>, StoreError> {
        let mut by_date: BTreeMap<NaiveDate, i64> = BTreeMap::new();
        for day in dates(first_moved, last_moved) {
            for item in self.day_items(day).await? {
                for (name, _) in item.iter().filter(|(name, _)| name.starts_with(EXPIRING)) {
                    let date = decode_date(&name[EXPIRING.len()..], "book expiry date")?;
                    if from <= date && date <= to {
                        *by_date.entry(date).or_default() += number(&item, name)?;
                    }
                }
            }
        }
        let mut month = NaiveDate::from_ymd_opt(from.year(), from.month(), 1).expect("a first of month");
        while month <= to {
            // `~` sorts after every shard suffix of the last date.
            let between = (encode_date(from), format!("{}~", encode_date(to)));
            let query = self.partition_query(None, expiring_pk(month), Some(between));
            for item in self.query_all(query).await? {
                let sk = string(&item, SK)?;
                let date = decode_date(sk.split_once('#').map_or(sk, |(d, _)| d), "book expiry date")?;
                *by_date.entry(date).or_default() += number(&item, POINTS)?;
            }
            month = month.checked_add_months(chrono::Months::new(1)).unwrap_or(NaiveDate::MAX);
        }
        Ok(by_date.into_iter().filter(|(_, p)| *p != 0).collect())
    }
}
