//! The points ledger: lots merged per (expiry date, source), spent soonest-expiring first.
//! Everything here is pure: "today" is a local date the caller passes in.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::domain::kinds::TriggerKind;

/// Where a lot's points came from. Gifts sort first so that, on the same expiry date,
/// gifted points are spent before earned ones (they were given to be used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LotSource {
    Gift(TriggerKind),
    /// A referral's points: the friend's first purchase, or the referrer's reward.
    Referral,
    Earned,
}

/// How a referral lot's source is spelled in its key and in stores.
pub const REFERRAL_SOURCE: &str = "referral";

/// One lot: all points of one source that expire on one date.
/// `expires_on` is the first local date on which the points are no longer usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LotKey {
    pub expires_on: NaiveDate,
    pub source: LotSource,
}

impl LotKey {
    pub fn earned(expires_on: NaiveDate) -> Self {
        Self { expires_on, source: LotSource::Earned }
    }
    pub fn gift(expires_on: NaiveDate, trigger: TriggerKind) -> Self {
        Self { expires_on, source: LotSource::Gift(trigger) }
    }
}

impl fmt::Display for LotKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source {
            LotSource::Earned => write!(f, "{}", self.expires_on),
            LotSource::Gift(t) => write!(f, "{}/{}", self.expires_on, t.as_str()),
            LotSource::Referral => write!(f, "{}/{REFERRAL_SOURCE}", self.expires_on),
        }
    }
}

impl FromStr for LotKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (date, source) = match s.split_once('/') {
            Some((d, REFERRAL_SOURCE)) => (d, LotSource::Referral),
            Some((d, t)) => {
                let t = TriggerKind::parse(t).ok_or_else(|| format!("unknown lot source {t:?}"))?;
                (d, LotSource::Gift(t))
            }
            None => (s, LotSource::Earned),
        };
        let expires_on = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|e| format!("bad lot date {date:?}: {e}"))?;
        Ok(Self { expires_on, source })
    }
}
impl TryFrom<String> for LotKey {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}
impl From<LotKey> for String {
    fn from(value: LotKey) -> String {
        value.to_string()
    }
}

/// Running totals that prove every point is accounted for:
/// `earned + gifted + restored = spent + clawed_back + expired + points still in lots`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub earned: u64,
    pub gifted: u64,
    pub restored: u64,
    pub spent: u64,
    pub clawed_back: u64,
    pub expired: u64,
}

impl Totals {
    pub fn credited(&self) -> u64 {
        self.earned + self.gifted + self.restored
    }
    pub fn debited(&self) -> u64 {
        self.spent + self.clawed_back + self.expired
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Earn,
    Gift,
    Restore,
    Redeem,
    Clawback,
    Expire,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Earn => "earn",
            EntryKind::Gift => "gift",
            EntryKind::Restore => "restore",
            EntryKind::Redeem => "redeem",
            EntryKind::Clawback => "clawback",
            EntryKind::Expire => "expire",
        }
    }
}

/// One movement of points in or out of one lot. `reference` is the business id that caused it
/// (receipt, refund, gift episode or burn date). Entries are not unique on their own (one
/// operation may burn twice under the same reference): a store keys them by the operation
/// that wrote them (its receipt or refund id), never by random ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub kind: EntryKind,
    pub points: u64,
    pub lot: LotKey,
    pub reference: String,
}

/// A customer's points: lots and totals. Item size is bounded by the number of distinct
/// live (expiry date, source) pairs, never by the length of the history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub lots: BTreeMap<LotKey, u64>,
    pub last_purchase_on: Option<NaiveDate>,
    pub totals: Totals,
}

/// The balance does not cover a debit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insufficient {
    pub balance: u64,
}

/// Crediting the points would overflow a count of the account (u64): refused, never wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the points would overflow the account's counts")]
pub struct PointsOverflow;

/// Why a credit cannot overflow: its decision called [`Account::check_credit`] first.
const CREDIT_CHECKED: &str = "a credit is checked with Account::check_credit before it is made";

pub fn add_days(date: NaiveDate, days: u32) -> NaiveDate {
    date.checked_add_days(Days::new(days.into())).unwrap_or(NaiveDate::MAX)
}

impl Account {
    fn live(&self, today: NaiveDate) -> impl Iterator<Item = (&LotKey, &u64)> {
        self.lots.iter().filter(move |(k, _)| k.expires_on > today)
    }

    /// Points usable on `today`: lots past their date never count, burned or not.
    pub fn balance(&self, today: NaiveDate) -> u64 {
        self.live(today).map(|(_, p)| p).sum()
    }

    /// Live points per expiry date, soonest first (sources merged).
    pub fn expiring(&self, today: NaiveDate) -> Vec<(NaiveDate, u64)> {
        let mut by_date: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        for (k, p) in self.live(today) {
            *by_date.entry(k.expires_on).or_default() += p;
        }
        by_date.into_iter().collect()
    }

    /// Points held in lots, live or not yet burned.
    pub fn held(&self) -> u64 {
        self.lots.values().sum()
    }

    /// Removes lots whose date has come and records them as expired.
    pub fn burn_expired(&mut self, today: NaiveDate, reference: &str) -> Vec<LedgerEntry> {
        let dead: Vec<LotKey> = self.lots.keys().filter(|k| k.expires_on <= today).copied().collect();
        dead.into_iter()
            .map(|lot| {
                let points = self.lots.remove(&lot).unwrap_or(0);
                self.totals.expired += points;
                LedgerEntry { kind: EntryKind::Expire, points, lot, reference: reference.to_owned() }
            })
            .collect()
    }

    /// Fails when `points` more cannot be credited without overflowing a count. Every count of
    /// the account (a lot, the balance, the points held, each total) is at most the points
    /// ever credited (`credited = debited + held`), so that one sum is the one to check.
    /// Decisions check before they credit, so an overflow is their error, never a wrap (the
    /// crediting methods check again and stop rather than wrap).
    pub fn check_credit(&self, points: u64) -> Result<(), PointsOverflow> {
        let t = &self.totals;
        [t.gifted, t.restored, points]
            .into_iter()
            .try_fold(t.earned, u64::checked_add)
            .map(|_| ())
            .ok_or(PointsOverflow)
    }

    /// Adds points to a lot and to the total `total` picks (the caller knows why the points
    /// came). Stops, rather than wrap, on a credit its decision did not check: with the sum
    /// of credits in range, no lot, total or sum of them can overflow.
    fn credit(&mut self, lot: LotKey, points: u64, total: fn(&mut Totals) -> &mut u64) {
        self.check_credit(points).expect(CREDIT_CHECKED);
        if points > 0 {
            *self.lots.entry(lot).or_default() += points;
        }
        *total(&mut self.totals) += points;
    }

    /// Takes up to `points` from live lots: `first` (if live) then soonest-expiring first.
    fn take(&mut self, points: u64, today: NaiveDate, first: Option<LotKey>) -> BTreeMap<LotKey, u64> {
        let mut order: Vec<LotKey> = Vec::new();
        if let Some(first) = first.filter(|k| k.expires_on > today && self.lots.contains_key(k)) {
            order.push(first);
        }
        order.extend(self.live(today).map(|(k, _)| *k).filter(|k| Some(*k) != first));
        let mut taken = BTreeMap::new();
        let mut left = points;
        for lot in order {
            if left == 0 {
                break;
            }
            let held = self.lots.get_mut(&lot).expect("listed from the map");
            let n = left.min(*held);
            *held -= n;
            left -= n;
            if *held == 0 {
                self.lots.remove(&lot);
            }
            taken.insert(lot, n);
        }
        taken
    }

    /// Spends exactly `points`, soonest-expiring lots first, or nothing at all.
    pub fn redeem(
        &mut self,
        points: u64,
        today: NaiveDate,
        reference: &str,
    ) -> Result<(BTreeMap<LotKey, u64>, Vec<LedgerEntry>), Insufficient> {
        let balance = self.balance(today);
        if points > balance {
            return Err(Insufficient { balance });
        }
        let taken = self.take(points, today, None);
        self.totals.spent += points;
        let entries = entries(EntryKind::Redeem, &taken, reference);
        Ok((taken, entries))
    }

    /// Takes back up to `points` (from `first`, then soonest-expiring); returns what it got.
    /// The balance never goes below zero: what cannot be taken is the caller's to write off.
    pub fn claw_back(
        &mut self,
        points: u64,
        today: NaiveDate,
        first: LotKey,
        reference: &str,
    ) -> (u64, Vec<LedgerEntry>) {
        let taken = self.take(points, today, Some(first));
        let got: u64 = taken.values().sum();
        self.totals.clawed_back += got;
        (got, entries(EntryKind::Clawback, &taken, reference))
    }

    pub fn earn(&mut self, lot: LotKey, points: u64, reference: &str) -> Vec<LedgerEntry> {
        self.credit(lot, points, |t| &mut t.earned);
        single(EntryKind::Earn, lot, points, reference)
    }

    pub fn gift(&mut self, lot: LotKey, points: u64, reference: &str) -> Vec<LedgerEntry> {
        self.credit(lot, points, |t| &mut t.gifted);
        single(EntryKind::Gift, lot, points, reference)
    }

    pub fn restore(&mut self, lot: LotKey, points: u64, reference: &str) -> Vec<LedgerEntry> {
        self.credit(lot, points, |t| &mut t.restored);
        single(EntryKind::Restore, lot, points, reference)
    }

    /// The accounting identity; true for every account this module produces.
    pub fn is_balanced(&self) -> bool {
        self.totals.credited() == self.totals.debited() + self.held()
    }
}

fn single(kind: EntryKind, lot: LotKey, points: u64, reference: &str) -> Vec<LedgerEntry> {
    if points == 0 {
        return Vec::new();
    }
    vec![LedgerEntry { kind, points, lot, reference: reference.to_owned() }]
}

fn entries(kind: EntryKind, taken: &BTreeMap<LotKey, u64>, reference: &str) -> Vec<LedgerEntry> {
    taken
        .iter()
        .filter(|(_, p)| **p > 0)
        .map(|(lot, points)| LedgerEntry { kind, points: *points, lot: *lot, reference: reference.to_owned() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn lot_keys_round_trip_through_strings() {
        for key in [LotKey::earned(d("2027-01-02")), LotKey::gift(d("2027-01-02"), TriggerKind::Birthday)] {
            assert_eq!(key.to_string().parse::<LotKey>().unwrap(), key);
        }
        assert_eq!(LotKey::gift(d("2027-01-02"), TriggerKind::Lapsed60).to_string(), "2027-01-02/lapsed_60");
    }

    #[test]
    fn spending_takes_the_soonest_expiring_lot_first_and_gifts_before_earned() {
        let mut a = Account::default();
        a.earn(LotKey::earned(d("2027-03-01")), 100, "r1");
        a.earn(LotKey::earned(d("2027-01-01")), 50, "r2");
        a.gift(LotKey::gift(d("2027-01-01"), TriggerKind::Lapsed60), 30, "g");
        let (taken, _) = a.redeem(90, d("2026-12-01"), "r3").unwrap();
        assert_eq!(taken[&LotKey::gift(d("2027-01-01"), TriggerKind::Lapsed60)], 30);
        assert_eq!(taken[&LotKey::earned(d("2027-01-01"))], 50);
        assert_eq!(taken[&LotKey::earned(d("2027-03-01"))], 10);
        assert_eq!(a.balance(d("2026-12-01")), 90);
        assert!(a.is_balanced());
    }

    #[test]
    fn a_lot_stops_counting_on_its_expiry_date() {
        let mut a = Account::default();
        a.earn(LotKey::earned(d("2027-01-10")), 40, "r1");
        assert_eq!(a.balance(d("2027-01-09")), 40);
        assert_eq!(a.balance(d("2027-01-10")), 0);
        assert_eq!(a.redeem(1, d("2027-01-10"), "r2"), Err(Insufficient { balance: 0 }));
        let burned = a.burn_expired(d("2027-01-10"), "burn");
        assert_eq!(burned.len(), 1);
        assert_eq!((a.totals.expired, a.held()), (40, 0));
        assert!(a.is_balanced());
    }

    #[test]
    fn a_credit_that_would_overflow_a_count_is_refused_before_it_is_made() {
        let mut a = Account::default();
        a.earn(LotKey::earned(d("2027-01-10")), u64::MAX - 100, "r1");
        a.redeem(1000, d("2026-12-01"), "r2").unwrap();
        assert_eq!(a.check_credit(100), Ok(()), "up to the limit of what was ever credited");
        assert_eq!(a.check_credit(101), Err(PointsOverflow), "even though only MAX - 1100 are held");
        a.gift(LotKey::gift(d("2027-01-10"), TriggerKind::Birthday), 100, "g");
        assert_eq!(a.check_credit(1), Err(PointsOverflow));
        assert!(a.is_balanced());
    }

    #[test]
    #[should_panic(expected = "checked with Account::check_credit")]
    fn an_unchecked_credit_stops_rather_than_wraps() {
        let mut a = Account::default();
        a.earn(LotKey::earned(d("2027-01-10")), u64::MAX, "r1");
        a.gift(LotKey::gift(d("2027-01-10"), TriggerKind::Birthday), 1, "g");
    }

    #[test]
    fn claw_back_never_overdraws() {
        let mut a = Account::default();
        let lot = LotKey::earned(d("2027-01-10"));
        a.earn(lot, 40, "r1");
        a.redeem(30, d("2026-12-01"), "r2").unwrap();
        let (got, _) = a.claw_back(40, d("2026-12-01"), lot, "f1");
        assert_eq!(got, 10);
        assert_eq!(a.balance(d("2026-12-01")), 0);
        assert!(a.is_balanced());
    }
}
