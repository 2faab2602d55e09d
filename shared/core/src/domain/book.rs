//! The day book: running counters the stores keep up to date inside the same atomic commit
//! that writes a receipt, a refund, a gift or a burn, so that a report reads a few small
//! records per day instead of every receipt. Pure: what a commit adds to the book is
//! computed here, from the commit's own receipt, refund and ledger entries; a store only
//! adds the numbers.
//!
//! Two kinds of counters:
//! * [`DayFigures`] per (local date, store): receipts, revenue and points movements dated on
//!   that day. A receipt's purchase counts on its `local_date` (a backdated receipt on the day
//!   it happened) at its `store_id`; a refund takes its revenue (and, when it refunds the
//!   receipt in full, the receipt itself) off that same day and store, and its points
//!   movements (clawed back, restored, written off) count on the refund's own local date at
//!   the receipt's store. Gifts count on their sweep date, a referrer's reward on the date it
//!   came due, burns on the lot's expiry date (the first day its points were unusable); these
//!   have no store (`None`).
//! * Points per lot expiry date ([`BookDelta::expiring`]): every credit to a lot expiring on
//!   `E` adds to `E`, every redemption or claw-back from it subtracts; burns do not (so for a
//!   date passed, it is what burned; for a date to come, what will burn unless spent).
//!
//! Every movement dated `d` is in a lot live on `d` (expiring after `d`), which is what lets
//! a report compute the points outstanding at the end of any day from these two records (see
//! `report::points`).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::ledger::{EntryKind, LedgerEntry, LotSource};
use crate::domain::purchase::{Receipt, Refund};

/// Counters of one local date at one store (or of no store). Signed: a refund subtracts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFigures {
    /// Purchases: receipts not refunded in full.
    pub receipts: i64,
    /// Their amounts, refunds subtracted, in minor units.
    pub revenue_minor: i64,
    pub earned: i64,
    /// Trigger gifts and referral points.
    pub gifted: i64,
    pub restored: i64,
    pub redeemed: i64,
    pub clawed_back: i64,
    /// Points a refund owed back that had already been spent (never taken).
    pub written_off: i64,
    pub expired: i64,
    /// The part of `revenue_minor` bought by customers who enrolled with a referral code
    /// (`referred_by`, set before their first purchase and never changed, so a refund
    /// subtracts from it exactly what the purchase added).
    pub referred_revenue_minor: i64,
    /// Referral points (a friend's first-purchase points, a referrer's reward) spent on the
    /// day's receipts: the part of `redeemed` taken from referral lots.
    pub referral_redeemed: i64,
}

impl DayFigures {
    /// The counters' names, in the order [`DayFigures::values`] gives them: the stores'
    /// column and attribute names.
    pub const NAMES: [&'static str; 11] = [
        "receipts",
        "revenue_minor",
        "earned",
        "gifted",
        "restored",
        "redeemed",
        "clawed_back",
        "written_off",
        "expired",
        "referred_revenue_minor",
        "referral_redeemed",
    ];

    pub fn values(&self) -> [i64; 11] {
        [
            self.receipts,
            self.revenue_minor,
            self.earned,
            self.gifted,
            self.restored,
            self.redeemed,
            self.clawed_back,
            self.written_off,
            self.expired,
            self.referred_revenue_minor,
            self.referral_redeemed,
        ]
    }

    pub fn from_values(v: [i64; 11]) -> Self {
        let [receipts, revenue_minor, earned, gifted, restored, redeemed, clawed_back, written_off, expired, referred_revenue_minor, referral_redeemed] =
            v;
        Self {
            receipts,
            revenue_minor,
            earned,
            gifted,
            restored,
            redeemed,
            clawed_back,
            written_off,
            expired,
            referred_revenue_minor,
            referral_redeemed,
        }
    }

    pub fn add(&mut self, other: &DayFigures) {
        let mut sum = self.values();
        for (s, o) in sum.iter_mut().zip(other.values()) {
            *s = s.saturating_add(o);
        }
        *self = Self::from_values(sum);
    }

    pub fn is_zero(&self) -> bool {
        self.values().iter().all(|v| *v == 0)
    }

    /// Points credited minus points taken out by spending or claw-back (burns left out).
    pub fn net_credited(&self) -> i64 {
        self.earned + self.gifted + self.restored - self.redeemed - self.clawed_back
    }

    fn count(&mut self, kind: EntryKind, points: i64) {
        let field = match kind {
            EntryKind::Earn => &mut self.earned,
            EntryKind::Gift => &mut self.gifted,
            EntryKind::Restore => &mut self.restored,
            EntryKind::Redeem => &mut self.redeemed,
            EntryKind::Clawback => &mut self.clawed_back,
            EntryKind::Expire => &mut self.expired,
        };
        *field = field.saturating_add(points);
    }
}

/// One day's counters at one store, as a store reads them back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRow {
    pub date: NaiveDate,
    /// The receipts' `store_id`; `None` for movements of no store (gifts, burns).
    pub store: Option<String>,
    pub figures: DayFigures,
}

/// What one commit adds to the book: counters per (date, store) and points per lot expiry
/// date. Empty parts are left out, so a commit writes only the records it changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookDelta {
    pub days: BTreeMap<(NaiveDate, Option<String>), DayFigures>,
    pub expiring: BTreeMap<NaiveDate, i64>,
    /// The (date, store) every change of `expiring` is dated on (one per commit): a store may
    /// keep the expiry-date points on that day's record (DynamoDB does, to write one item).
    pub expiring_dated: Option<(NaiveDate, Option<String>)>,
}

/// A count or an amount as a signed delta (never above `i64::MAX`).
fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl BookDelta {
    fn day(&mut self, date: NaiveDate, store: Option<&str>) -> &mut DayFigures {
        self.days.entry((date, store.map(str::to_owned))).or_default()
    }

    /// Ledger entries dated `date` (at `store`); an expiry's are dated by their lot instead.
    fn entries(&mut self, date: NaiveDate, store: Option<&str>, entries: &[LedgerEntry]) {
        for e in entries {
            let p = signed(e.points);
            let on = if e.kind == EntryKind::Expire { e.lot.expires_on } else { date };
            let day = self.day(on, store);
            day.count(e.kind, p);
            if e.kind == EntryKind::Redeem && e.lot.source == LotSource::Referral {
                day.referral_redeemed = day.referral_redeemed.saturating_add(p);
            }
            let sign = match e.kind {
                EntryKind::Earn | EntryKind::Gift | EntryKind::Restore => 1,
                EntryKind::Redeem | EntryKind::Clawback => -1,
                EntryKind::Expire => 0,
            };
            if sign != 0 {
                *self.expiring.entry(e.lot.expires_on).or_default() += sign * p;
            }
        }
        self.prune();
        if !self.expiring.is_empty() {
            self.expiring_dated = Some((date, store.map(str::to_owned)));
        }
    }

    /// Drops records the commit leaves unchanged.
    fn prune(&mut self) {
        self.days.retain(|_, f| !f.is_zero());
        self.expiring.retain(|_, p| *p != 0);
    }

    /// A purchase: the receipt and its entries (earned, redeemed, a friend's referral points);
    /// `referred` when the buyer enrolled with a referral code.
    pub fn purchase(receipt: &Receipt, entries: &[LedgerEntry], referred: bool) -> Self {
        let mut book = Self::default();
        let store = Some(receipt.store_id.as_str());
        let day = book.day(receipt.local_date, store);
        day.receipts = 1;
        day.revenue_minor = signed(receipt.amount_minor);
        if referred {
            day.referred_revenue_minor = day.revenue_minor;
        }
        book.entries(receipt.local_date, store, entries);
        book
    }

    /// A refund dated `on` (its local date); `after` is the receipt as the refund leaves it;
    /// `referred` when its buyer enrolled with a referral code.
    pub fn refund(on: NaiveDate, after: &Receipt, refund: &Refund, entries: &[LedgerEntry], referred: bool) -> Self {
        let mut book = Self::default();
        let store = Some(after.store_id.as_str());
        let in_full = |refunded: u64| after.amount_minor > 0 && refunded >= after.amount_minor;
        let before = after.refund.refunded_minor.saturating_sub(refund.amount_minor);
        let day = book.day(after.local_date, store);
        day.revenue_minor = -signed(refund.amount_minor);
        if referred {
            day.referred_revenue_minor = day.revenue_minor;
        }
        if in_full(after.refund.refunded_minor) && !in_full(before) {
            day.receipts = -1;
        }
        book.day(on, store).written_off = signed(refund.points_written_off);
        book.entries(on, store, entries);
        book
    }

    /// Points credited by the sweep (a trigger's gift, a referrer's reward), dated `on`.
    pub fn credit(on: NaiveDate, entries: &[LedgerEntry]) -> Self {
        let mut book = Self::default();
        book.entries(on, None, entries);
        book
    }

    /// A burn: each lot's points expired on its date (expiry entries are dated by their lot,
    /// whatever date is passed).
    pub fn burn(entries: &[LedgerEntry]) -> Self {
        let mut book = Self::default();
        if let Some(first) = entries.first() {
            book.entries(first.lot.expires_on, None, entries);
        }
        book
    }
}

/// What a report reads of the book: the day counters of every store for the local dates
/// from the period's first day through the last day anything may be dated (today, or the
/// period's end if later, plus one for a POS clock ahead), and the points per lot expiry
/// date after the period's end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookRead {
    pub days: Vec<DayRow>,
    pub expiring: Vec<(NaiveDate, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::kinds::TriggerKind;
    use crate::domain::ledger::LotKey;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn entry(kind: EntryKind, points: u64, lot: LotKey) -> LedgerEntry {
        LedgerEntry { kind, points, lot, reference: "x".into() }
    }

    #[test]
    fn a_credit_adds_to_its_lots_date_a_spend_takes_from_it_and_a_burn_counts_on_the_lots_date() {
        let (earned, gift) = (LotKey::earned(d("2027-03-01")), LotKey::gift(d("2026-12-15"), TriggerKind::Birthday));
        let book = BookDelta::credit(d("2026-12-01"), &[entry(EntryKind::Gift, 300, gift), entry(EntryKind::Earn, 0, earned)]);
        assert_eq!(book.days[&(d("2026-12-01"), None)].gifted, 300);
        assert_eq!(book.expiring, BTreeMap::from([(d("2026-12-15"), 300)]), "zero changes are left out");
        let burn = BookDelta::burn(&[entry(EntryKind::Expire, 120, gift)]);
        assert_eq!(burn.days[&(d("2026-12-15"), None)].expired, 120, "dated by the lot");
        assert!(burn.expiring.is_empty(), "a burn leaves what the date held: it is what burned");
        assert_eq!(book.expiring_dated, Some((d("2026-12-01"), None)), "the gift's points moved on its date");
        assert_eq!(burn.expiring_dated, None);
    }

    #[test]
    fn a_referred_customers_purchase_and_refund_move_the_referred_revenue_with_the_revenue() {
        use crate::report::fixtures::receipt;
        let bought = receipt("r-1", "c-1", "2026-04-03", 50_000);
        let key = (d("2026-04-03"), Some(bought.store_id.as_str().to_owned()));
        let referred = BookDelta::purchase(&bought, &[], true);
        assert_eq!((referred.days[&key].revenue_minor, referred.days[&key].referred_revenue_minor), (50_000, 50_000));
        assert_eq!(BookDelta::purchase(&bought, &[], false).days[&key].referred_revenue_minor, 0, "not referred");
        let mut after = bought.clone();
        after.refund.refunded_minor = 20_000;
        let refund = crate::domain::purchase::Refund {
            refund_id: crate::domain::ids::RefundId::parse("f-1").unwrap(),
            receipt_id: bought.receipt_id.clone(),
            customer_id: bought.customer_id.clone(),
            amount_minor: 20_000,
            occurred_at: bought.occurred_at,
            points_clawed_back: 0,
            points_restored: 0,
            points_written_off: 0,
            balance_after: 0,
            recorded_at: bought.recorded_at,
        };
        // Refunded weeks later: off the purchase's day, like the revenue.
        let refunded = BookDelta::refund(d("2026-05-20"), &after, &refund, &[], true);
        assert_eq!((refunded.days[&key].revenue_minor, refunded.days[&key].referred_revenue_minor), (-20_000, -20_000));
        assert_eq!(BookDelta::refund(d("2026-05-20"), &after, &refund, &[], false).days[&key].referred_revenue_minor, 0);
    }

    #[test]
    fn points_spent_from_a_referral_lot_count_as_referral_points_redeemed() {
        use crate::report::fixtures::receipt;
        let bought = receipt("r-1", "c-1", "2026-04-03", 50_000);
        let key = (d("2026-04-03"), Some(bought.store_id.as_str().to_owned()));
        let referral = LotKey { expires_on: d("2026-06-01"), source: crate::domain::ledger::LotSource::Referral };
        let spent = [
            entry(EntryKind::Redeem, 150, referral),
            entry(EntryKind::Redeem, 40, LotKey::earned(d("2027-04-03"))),
            entry(EntryKind::Earn, 25, LotKey::earned(d("2027-04-03"))),
        ];
        let day = &BookDelta::purchase(&bought, &spent, false).days[&key];
        assert_eq!((day.redeemed, day.referral_redeemed), (190, 150));
        let credited = BookDelta::credit(d("2026-04-03"), &[entry(EntryKind::Gift, 200, referral)]);
        assert_eq!(credited.days[&(d("2026-04-03"), None)].referral_redeemed, 0, "a credit is not a spend");
    }

    #[test]
    fn net_credits_leave_burns_out_and_figures_round_trip_through_their_values() {
        let f = DayFigures { earned: 10, gifted: 5, restored: 1, redeemed: 3, clawed_back: 2, expired: 100, ..Default::default() };
        assert_eq!(f.net_credited(), 11);
        assert_eq!(DayFigures::from_values(f.values()), f);
        let mut sum = f;
        sum.add(&DayFigures { expired: -100, ..Default::default() });
        assert_eq!(sum.expired, 0);
        assert!(!sum.is_zero() && DayFigures::default().is_zero());
    }
}
