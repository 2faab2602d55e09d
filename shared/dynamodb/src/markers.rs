//! Expiry markers: how the sweep finds who has points expiring on a date without reading
//! every customer.
//!
//! A customer's lots live inside the customer item (as JSON), which no index can look into.
//! So for every expiry date on which a customer holds points, the table also holds a small
//! marker item `C#<customer>` / `X#<date>`, filed in the `by_expiry` index under that date.
//! The sweep reads the index for the date it burns and for the date its `points_expiring`
//! warning looks at, then re-reads each customer item before it acts.
//!
//! The bookkeeping keeps one rule: **a marker may outlive its lot, but a live lot never lacks
//! its marker.** A missing marker would hide a date from the sweep: those points would never
//! burn and never be warned about. An extra one only costs the sweep one read of a customer
//! who turns out to have nothing due. Hence:
//!
//! - A commit writes markers, in its own transaction, only for the dates it brings into the
//!   account: dates holding points after it and none before ([`new_expiry_dates`], which
//!   undoes the commit's entries to see "before"). Writing every date of the account would
//!   not fit: a transaction holds at most 100 items and a daily shopper has a year of dates.
//!   When the arithmetic does not add up, a date counts as new: the safe side of the rule.
//! - Spending never deletes a marker: a lot spent to nothing keeps its marker until the sweep
//!   burns its date. That is why a refund that gives points back to the lots its purchase
//!   spent from needs no marker for them ([`refund_marker_dates`]); only a lot it re-dates
//!   (its old date has passed, and the burn of that date deleted the marker) is new.
//! - The burn of a date deletes that date's markers in its own transaction
//!   ([`burn_forgotten_dates`]), unless the record still holds a lot on it; a marker left
//!   behind by a failed clean-up is deleted by the next burn of the date.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use boomerang_core::domain::ledger::{Account, EntryKind, LedgerEntry, LotKey};
use boomerang_core::ports::{BurnCommit, PurchaseCommit, RecordCommit, RefundCommit};

use crate::items::{item, s, Item};
use crate::layout::{customer_pk, expiry_pk, expiry_sk, BY_EXPIRY};

pub fn expiry_item(customer: &str, expires_on: NaiveDate) -> Item {
    item(
        customer_pk(customer),
        expiry_sk(expires_on),
        [(BY_EXPIRY.pk, s(expiry_pk(expires_on, customer))), (BY_EXPIRY.sk, s(customer))],
    )
}

/// The expiry dates a commit brings into the account: dates of `after`'s lots on which no lot
/// held points before. "Before" is `after` with the commit's entries undone, since every change
/// to a lot is an entry. When the arithmetic does not add up, the date counts as new: an extra
/// marker is harmless, a missing one would hide a date from the sweep.
pub fn new_expiry_dates(after: &Account, entries: &[LedgerEntry]) -> BTreeSet<NaiveDate> {
    let mut before: BTreeMap<LotKey, i128> = after.lots.iter().map(|(lot, p)| (*lot, i128::from(*p))).collect();
    for e in entries {
        let held = before.entry(e.lot).or_default();
        match e.kind {
            EntryKind::Earn | EntryKind::Gift | EntryKind::Restore => *held -= i128::from(e.points),
            EntryKind::Redeem | EntryKind::Clawback | EntryKind::Expire => *held += i128::from(e.points),
        }
    }
    let held_before: BTreeSet<NaiveDate> =
        before.into_iter().filter(|(_, p)| *p > 0).map(|(lot, _)| lot.expires_on).collect();
    after.lots.keys().map(|lot| lot.expires_on).filter(|d| !held_before.contains(d)).collect()
}

/// The expiry markers a purchase writes: at most one, for the date of the lot it earns into.
pub fn purchase_marker_dates(commit: &PurchaseCommit) -> BTreeSet<NaiveDate> {
    new_expiry_dates(&commit.record.account, &commit.entries)
}

/// The expiry markers a refund writes. Points restored to a lot the purchase spent from go
/// back to a date that was in the account then, whose marker stays until the sweep burns that
/// date; only a lot re-dated because its date has passed is new. Without this, refunding a
/// purchase that spent from hundreds of small lots would need hundreds of markers, over the
/// 100 items a transaction may hold.
pub fn refund_marker_dates(commit: &RefundCommit) -> BTreeSet<NaiveDate> {
    let mut dates = new_expiry_dates(&commit.record.account, &commit.entries);
    for lot in commit.receipt.redeemed_from.keys() {
        dates.remove(&lot.expires_on);
    }
    dates
}

/// The expiry markers a record written with an outcome brings: with a gift, the gift lot's
/// date, unless the account already held points on it (then the date is marked already).
pub fn record_marker_dates(commit: &RecordCommit) -> BTreeSet<NaiveDate> {
    new_expiry_dates(&commit.record.account, &commit.entries)
}

/// The expiry markers a burn deletes: its `burned_dates`, except a date on which the record
/// still holds a lot (a marker kept too long is harmless, one deleted too early hides a date).
pub fn burn_forgotten_dates(burn: &BurnCommit) -> BTreeSet<NaiveDate> {
    let held: BTreeSet<NaiveDate> = burn.record.account.lots.keys().map(|lot| lot.expires_on).collect();
    burn.burned_dates.iter().copied().filter(|d| !held.contains(d)).collect()
}
