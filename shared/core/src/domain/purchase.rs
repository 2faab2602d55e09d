//! Receipts and refunds: the rules that turn a POS request into ledger movements.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::config::ProgramConfig;
use crate::domain::ids::{Currency, CustomerId, ReceiptId, RefundId, StoreId};
use crate::domain::ledger::{add_days, Account, LedgerEntry, LotKey, PointsOverflow};

/// The largest amount a receipt or refund may carry, in minor units (1 billion in major
/// units), and the most points one receipt may spend: the API and imports refuse more.
pub const MAX_AMOUNT_MINOR: u64 = 100_000_000_000;

/// How far ahead of the server's clock a POS may date a receipt (clock skew).
pub const MAX_FUTURE_SKEW: Duration = Duration::minutes(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseRequest {
    pub receipt_id: ReceiptId,
    pub customer_id: CustomerId,
    pub amount_minor: u64,
    pub currency: Currency,
    pub occurred_at: DateTime<FixedOffset>,
    pub store_id: StoreId,
    pub redeem_points: u64,
}

/// Whether `occurred_at` may lie further back than `max_backdate_days` (history imports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backdating {
    Limited,
    AnyAge,
}

/// What a refund has done to its receipt so far. Points follow the running refunded amount,
/// rounded down on the total (not per refund), so a full refund reverses the receipt exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundProgress {
    pub refunded_minor: u64,
    /// Points owed back so far: floor(points_earned * refunded / amount).
    pub clawback_due: u64,
    pub clawed_back: u64,
    /// Owed points that were already spent; written off, never taken later.
    pub written_off: u64,
    pub restored: u64,
    pub refunds: u32,
}

/// A recorded purchase: the request, what it did, and the response it gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub receipt_id: ReceiptId,
    pub customer_id: CustomerId,
    pub amount_minor: u64,
    pub currency: Currency,
    pub occurred_at: DateTime<FixedOffset>,
    pub local_date: NaiveDate,
    pub store_id: StoreId,
    pub redeem_points: u64,
    pub points_earned: u64,
    /// A referred friend's points credited with this purchase (their first qualifying one):
    /// a refund claws them back in the same share as the points earned.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub referral_points: u64,
    pub earned_lot: LotKey,
    pub redeemed_from: BTreeMap<LotKey, u64>,
    pub balance_after: u64,
    pub recorded_at: DateTime<Utc>,
    pub refund: RefundProgress,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Receipt {
    /// True when `req` is a retry of the request that made this receipt.
    pub fn is_same_request(&self, req: &PurchaseRequest) -> bool {
        self.customer_id == req.customer_id
            && self.amount_minor == req.amount_minor
            && self.currency == req.currency
            && self.occurred_at == req.occurred_at
            && self.store_id == req.store_id
            && self.redeem_points == req.redeem_points
    }
    pub fn refundable_minor(&self) -> u64 {
        self.amount_minor - self.refund.refunded_minor
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub refund_id: RefundId,
    pub receipt_id: ReceiptId,
    /// The receipt's customer, when the POS sends it: optional, it lets a store read the
    /// customer together with the receipt (one round trip less) and is checked against it.
    pub customer_id: Option<CustomerId>,
    pub amount_minor: u64,
    pub occurred_at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: RefundId,
    pub receipt_id: ReceiptId,
    pub customer_id: CustomerId,
    pub amount_minor: u64,
    pub occurred_at: DateTime<FixedOffset>,
    pub points_clawed_back: u64,
    pub points_restored: u64,
    pub points_written_off: u64,
    pub balance_after: u64,
    pub recorded_at: DateTime<Utc>,
}

impl Refund {
    pub fn is_same_request(&self, req: &RefundRequest) -> bool {
        self.receipt_id == req.receipt_id
            && req.customer_id.as_ref().is_none_or(|c| *c == self.customer_id)
            && self.amount_minor == req.amount_minor
            && self.occurred_at == req.occurred_at
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PurchaseRuleError {
    #[error("the receipt is in {got}, the program in {expected}")]
    CurrencyMismatch { expected: String, got: String },
    #[error("store_id {store} is not one of the program's stores ({known})")]
    UnknownStore { store: String, known: String },
    #[error("occurred_at is more than 5 minutes in the future")]
    InFuture,
    #[error("occurred_at is more than {max_days} days in the past")]
    TooOld { max_days: u32 },
    #[error("at most {max_points} points may be spent on this receipt")]
    RedeemCapExceeded { max_points: u64 },
    #[error("the balance is {balance} points")]
    InsufficientPoints { balance: u64 },
    #[error("amount is too large")]
    AmountTooLarge,
    /// The points earned would overflow the account's counts (never wrapped).
    #[error(transparent)]
    PointsOverflow(#[from] PointsOverflow),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundRuleError {
    #[error("the receipt belongs to another customer")]
    CustomerMismatch,
    #[error("occurred_at is more than 5 minutes in the future")]
    InFuture,
    #[error("the refund is dated before the purchase")]
    BeforePurchase,
    #[error("only {remaining_minor} (minor units) of the receipt remain to refund")]
    ExceedsRemaining { remaining_minor: u64 },
    /// The points given back would overflow the account's counts (never wrapped).
    #[error(transparent)]
    PointsOverflow(#[from] PointsOverflow),
}

/// The result of a rule: the account and records to commit atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseDecision {
    pub account: Account,
    pub receipt: Receipt,
    pub entries: Vec<LedgerEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundDecision {
    pub account: Account,
    pub receipt: Receipt,
    pub refund: Refund,
    pub entries: Vec<LedgerEntry>,
}

fn mul_div(a: u64, b: u64, c: u64) -> u64 {
    (u128::from(a) * u128::from(b) / u128::from(c)) as u64
}

/// The share of `total` owed once `part` of `whole` is refunded, rounded down; all of it once
/// everything is refunded. Spelled out so a receipt of amount 0 (which decide_purchase accepts)
/// does not divide by zero on its refund: `whole == 0` means it is all refunded.
fn refunded_share(total: u64, part: u64, whole: u64) -> u64 {
    if part >= whole {
        total
    } else {
        mul_div(total, part, whole)
    }
}

/// Applies a purchase to an account. Nothing changes unless every rule passes.
pub fn decide_purchase(
    cfg: &ProgramConfig,
    account: &Account,
    req: &PurchaseRequest,
    now: DateTime<Utc>,
    backdating: Backdating,
) -> Result<PurchaseDecision, PurchaseRuleError> {
    if req.currency != cfg.currency {
        return Err(PurchaseRuleError::CurrencyMismatch {
            expected: cfg.currency.as_str().into(),
            got: req.currency.as_str().into(),
        });
    }
    if !cfg.knows_store(&req.store_id) {
        const SHOWN: usize = 5;
        let mut known: Vec<&str> = cfg.stores.keys().map(String::as_str).take(SHOWN).collect();
        if cfg.stores.len() > SHOWN {
            known.push("…");
        }
        return Err(PurchaseRuleError::UnknownStore { store: format!("{:?}", req.store_id.as_str()), known: known.join(", ") });
    }
    let occurred = req.occurred_at.with_timezone(&Utc);
    if occurred > now + MAX_FUTURE_SKEW {
        return Err(PurchaseRuleError::InFuture);
    }
    if backdating == Backdating::Limited
        && occurred < now - Duration::days(cfg.max_backdate_days.into())
    {
        return Err(PurchaseRuleError::TooOld { max_days: cfg.max_backdate_days });
    }
    let cap_minor = mul_div(req.amount_minor, cfg.redeem_max_percent.into(), 100);
    let cap_exceeded = PurchaseRuleError::RedeemCapExceeded { max_points: cap_minor / cfg.point_value_minor };
    // An overflowing value is over the cap too; the error must still name the real cap
    // (it used to say 0 here).
    let redeem_value = req.redeem_points.checked_mul(cfg.point_value_minor).ok_or(cap_exceeded.clone())?;
    if redeem_value > cap_minor {
        return Err(cap_exceeded);
    }

    let today = cfg.local_date(now);
    let purchase_date = cfg.local_date(occurred);
    let reference = req.receipt_id.as_str();
    let mut account = account.clone();
    let mut entries = account.burn_expired(today, &format!("burn:{today}"));
    let (redeemed_from, redeem_entries) = account
        .redeem(req.redeem_points, today, reference)
        .map_err(|e| PurchaseRuleError::InsufficientPoints { balance: e.balance })?;
    entries.extend(redeem_entries);

    let money_minor = req.amount_minor - redeem_value;
    // In u128: 100 × point_value_minor overflows u64 for a point worth more than 1.8e17.
    let points_earned = u128::from(money_minor) * u128::from(cfg.earn_percent)
        / (100 * u128::from(cfg.point_value_minor));
    // At most `money_minor` (earn_percent ≤ 100, point_value_minor ≥ 1); checked all the same.
    let points_earned = u64::try_from(points_earned).map_err(|_| PointsOverflow)?;
    let earned_lot = LotKey::earned(add_days(purchase_date, cfg.points_valid_days));
    account.check_credit(points_earned)?;
    entries.extend(account.earn(earned_lot, points_earned, reference));
    // Old history: a lot born past its date is earned and burned at once, so totals stay true.
    entries.extend(account.burn_expired(today, &format!("burn:{today}")));
    account.last_purchase_on = account.last_purchase_on.max(Some(purchase_date));

    let receipt = Receipt {
        receipt_id: req.receipt_id.clone(),
        customer_id: req.customer_id.clone(),
        amount_minor: req.amount_minor,
        currency: req.currency.clone(),
        occurred_at: req.occurred_at,
        local_date: purchase_date,
        store_id: req.store_id.clone(),
        redeem_points: req.redeem_points,
        points_earned,
        referral_points: 0,
        earned_lot,
        redeemed_from,
        balance_after: account.balance(today),
        recorded_at: now,
        refund: RefundProgress::default(),
    };
    Ok(PurchaseDecision { account, receipt, entries })
}

/// Applies a (partial) refund: restores spent points, then claws back earned ones.
pub fn decide_refund(
    cfg: &ProgramConfig,
    account: &Account,
    receipt: &Receipt,
    req: &RefundRequest,
    now: DateTime<Utc>,
) -> Result<RefundDecision, RefundRuleError> {
    if req.customer_id.as_ref().is_some_and(|c| *c != receipt.customer_id) {
        return Err(RefundRuleError::CustomerMismatch);
    }
    let occurred = req.occurred_at.with_timezone(&Utc);
    if occurred > now + MAX_FUTURE_SKEW {
        return Err(RefundRuleError::InFuture);
    }
    if occurred < receipt.occurred_at.with_timezone(&Utc) {
        return Err(RefundRuleError::BeforePurchase);
    }
    let remaining = receipt.refundable_minor();
    if req.amount_minor > remaining {
        return Err(RefundRuleError::ExceedsRemaining { remaining_minor: remaining });
    }

    let today = cfg.local_date(now);
    let reference = req.refund_id.as_str();
    let mut account = account.clone();
    let mut receipt = receipt.clone();
    let mut entries = account.burn_expired(today, &format!("burn:{today}"));
    let progress = receipt.refund;
    let refunded = progress.refunded_minor + req.amount_minor;

    // Spent points come back to the lots they were taken from, in lot order; a lot whose
    // date has passed comes back with a fresh, short validity instead of dying at once.
    let restore_total = refunded_share(receipt.redeem_points, refunded, receipt.amount_minor);
    let mut to_restore = restore_total - progress.restored;
    account.check_credit(to_restore)?;
    let mut skip = progress.restored;
    for (lot, taken) in &receipt.redeemed_from {
        let already = skip.min(*taken);
        skip -= already;
        let n = (taken - already).min(to_restore);
        if n == 0 {
            continue;
        }
        to_restore -= n;
        let target = if lot.expires_on > today {
            *lot
        } else {
            LotKey { expires_on: add_days(today, cfg.restored_points_valid_days), source: lot.source }
        };
        entries.extend(account.restore(target, n, reference));
    }
    let restored_now = restore_total - progress.restored;

    let due_total = refunded_share(receipt.points_earned.saturating_add(receipt.referral_points), refunded, receipt.amount_minor);
    let due_now = due_total - progress.clawback_due;
    let (clawed, claw_entries) = account.claw_back(due_now, today, receipt.earned_lot, reference);
    entries.extend(claw_entries);

    receipt.refund = RefundProgress {
        refunded_minor: refunded,
        clawback_due: due_total,
        clawed_back: progress.clawed_back + clawed,
        written_off: progress.written_off + (due_now - clawed),
        restored: restore_total,
        refunds: progress.refunds + 1,
    };
    let refund = Refund {
        refund_id: req.refund_id.clone(),
        receipt_id: req.receipt_id.clone(),
        customer_id: receipt.customer_id.clone(),
        amount_minor: req.amount_minor,
        occurred_at: req.occurred_at,
        points_clawed_back: clawed,
        points_restored: restored_now,
        points_written_off: due_now - clawed,
        balance_after: account.balance(today),
        recorded_at: now,
    };
    Ok(RefundDecision { account, receipt, refund, entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ProgramConfig {
        ProgramConfig::defaults()
    }
    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }
    fn now() -> DateTime<Utc> {
        at("2026-11-24T10:00:00+03:00").with_timezone(&Utc)
    }
    fn purchase(id: &str, amount: u64, redeem: u64, when: &str) -> PurchaseRequest {
        PurchaseRequest {
            receipt_id: ReceiptId::parse(id).unwrap(),
            customer_id: CustomerId::parse("c1").unwrap(),
            amount_minor: amount,
            currency: Currency::parse("RUB").unwrap(),
            occurred_at: at(when),
            store_id: StoreId::parse("s1").unwrap(),
            redeem_points: redeem,
        }
    }

    #[test]
    fn earns_five_percent_of_the_money_part_rounded_down() {
        let d = decide_purchase(&cfg(), &Account::default(), &purchase("r1", 123_456, 0, "2026-11-24T09:00:00+03:00"), now(), Backdating::Limited).unwrap();
        assert_eq!(d.receipt.points_earned, 61); // 1234.56 * 5% = 61.728
        assert_eq!(d.receipt.earned_lot.expires_on, "2027-11-24".parse().unwrap());
        let spend = decide_purchase(&cfg(), &d.account, &purchase("r2", 100_000, 30, "2026-11-24T09:30:00+03:00"), now(), Backdating::Limited).unwrap();
        assert_eq!(spend.receipt.points_earned, 48); // (1000 - 30) * 5% = 48.5
        assert_eq!(spend.receipt.balance_after, 61 - 30 + 48);
    }

    #[test]
    fn the_lot_date_is_the_local_date_of_the_purchase() {
        // 22:30 UTC on the 23rd is already the 24th in Moscow.
        let d = decide_purchase(&cfg(), &Account::default(), &purchase("r1", 10_000, 0, "2026-11-23T22:30:00Z"), now(), Backdating::Limited).unwrap();
        assert_eq!(d.receipt.local_date, "2026-11-24".parse().unwrap());
        assert_eq!(d.account.last_purchase_on, Some("2026-11-24".parse().unwrap()));
    }

    #[test]
    fn spending_is_capped_at_thirty_percent() {
        let mut account = Account::default();
        account.earn(LotKey::earned("2027-06-01".parse().unwrap()), 1000, "seed");
        let ok = decide_purchase(&cfg(), &account, &purchase("r1", 100_000, 300, "2026-11-24T09:00:00+03:00"), now(), Backdating::Limited);
        assert!(ok.is_ok());
        let too_much = decide_purchase(&cfg(), &account, &purchase("r1", 100_000, 301, "2026-11-24T09:00:00+03:00"), now(), Backdating::Limited);
        assert_eq!(too_much.unwrap_err(), PurchaseRuleError::RedeemCapExceeded { max_points: 300 });
    }

    #[test]
    fn points_that_would_overflow_the_account_are_an_error_never_a_wrap() {
        let mut account = Account::default();
        account.earn(LotKey::earned("2027-06-01".parse().unwrap()), u64::MAX - 60, "seed");
        let buy = |id: &str, amount, redeem| purchase(id, amount, redeem, "2026-11-24T09:00:00+03:00");
        // 2,000.00 would earn 100 points: they do not fit.
        let refused = decide_purchase(&cfg(), &account, &buy("r1", 200_000, 0), now(), Backdating::Limited);
        assert_eq!(refused.unwrap_err(), PurchaseRuleError::PointsOverflow(PointsOverflow));
        // 1,000.00 paying 50 points earns 47 (fits); refunding it gives the 50 back: they do not.
        let p = decide_purchase(&cfg(), &account, &buy("r2", 100_000, 50), now(), Backdating::Limited).unwrap();
        let back = RefundRequest {
            refund_id: RefundId::parse("f1").unwrap(),
            receipt_id: ReceiptId::parse("r2").unwrap(),
            customer_id: None,
            amount_minor: 100_000,
            occurred_at: at("2026-11-24T09:30:00+03:00"),
        };
        let refused = decide_refund(&cfg(), &p.account, &p.receipt, &back, now());
        assert_eq!(refused.unwrap_err(), RefundRuleError::PointsOverflow(PointsOverflow));
    }

    #[test]
    fn a_point_worth_more_than_u64_over_100_earns_without_overflowing() {
        let mut cfg = cfg();
        cfg.point_value_minor = i64::MAX as u64; // the largest a TOML integer holds
        let d = decide_purchase(&cfg, &Account::default(), &purchase("r1", 100_000_000_000, 0, "2026-11-24T09:00:00+03:00"), now(), Backdating::Limited);
        assert_eq!(d.unwrap().receipt.points_earned, 0);
    }

    #[test]
    fn backdating_is_limited_unless_importing() {
        let old = purchase("r1", 10_000, 0, "2026-10-01T09:00:00+03:00");
        assert_eq!(
            decide_purchase(&cfg(), &Account::default(), &old, now(), Backdating::Limited).unwrap_err(),
            PurchaseRuleError::TooOld { max_days: 30 }
        );
        let very_old = purchase("r1", 10_000, 0, "2024-01-01T09:00:00+03:00");
        let d = decide_purchase(&cfg(), &Account::default(), &very_old, now(), Backdating::AnyAge).unwrap();
        assert_eq!(d.receipt.balance_after, 0);
        assert_eq!(d.account.totals.expired, 5);
        assert!(d.account.is_balanced());
        let future = purchase("r1", 10_000, 0, "2026-11-24T10:06:00+03:00");
        assert_eq!(decide_purchase(&cfg(), &Account::default(), &future, now(), Backdating::Limited).unwrap_err(), PurchaseRuleError::InFuture);
    }

    #[test]
    fn a_backdated_purchase_never_moves_the_last_purchase_date_back() {
        let d1 = decide_purchase(&cfg(), &Account::default(), &purchase("r1", 10_000, 0, "2026-11-24T09:00:00+03:00"), now(), Backdating::Limited).unwrap();
        let d2 = decide_purchase(&cfg(), &d1.account, &purchase("r2", 10_000, 0, "2026-11-10T09:00:00+03:00"), now(), Backdating::Limited).unwrap();
        assert_eq!(d2.account.last_purchase_on, Some("2026-11-24".parse().unwrap()));
    }

    #[test]
    fn partial_refunds_round_on_the_running_total_and_a_full_refund_is_exact() {
        let mut account = Account::default();
        account.earn(LotKey::earned("2027-06-01".parse().unwrap()), 100, "seed");
        let p = decide_purchase(&cfg(), &account, &purchase("r1", 99_900, 99, "2026-11-24T09:00:00+03:00"), now(), Backdating::Limited).unwrap();
        assert_eq!(p.receipt.points_earned, 45); // (999 - 99) * 5%
        let mut acc = p.account.clone();
        let mut receipt = p.receipt.clone();
        let mut clawed = 0;
        let mut restored = 0;
        for (i, amount) in [33_300u64, 33_300, 33_300].into_iter().enumerate() {
            let req = RefundRequest {
                customer_id: None,
                refund_id: RefundId::parse(&format!("f{i}")).unwrap(),
                receipt_id: receipt.receipt_id.clone(),
                amount_minor: amount,
                occurred_at: at("2026-11-24T09:30:00+03:00"),
            };
            let r = decide_refund(&cfg(), &acc, &receipt, &req, now()).unwrap();
            clawed += r.refund.points_clawed_back;
            restored += r.refund.points_restored;
            acc = r.account;
            receipt = r.receipt;
            assert!(acc.is_balanced());
        }
        assert_eq!((clawed, restored), (45, 99));
        assert_eq!(acc.balance(cfg().local_date(now())), 100);
        let more = RefundRequest {
            customer_id: None,
            refund_id: RefundId::parse("f9").unwrap(),
            receipt_id: receipt.receipt_id.clone(),
            amount_minor: 1,
            occurred_at: at("2026-11-24T09:30:00+03:00"),
        };
        assert_eq!(decide_refund(&cfg(), &acc, &receipt, &more, now()).unwrap_err(), RefundRuleError::ExceedsRemaining { remaining_minor: 0 });
    }

    #[test]
    fn clawing_back_points_already_spent_writes_the_rest_off() {
        let p = decide_purchase(&cfg(), &Account::default(), &purchase("r1", 100_000, 0, "2026-11-24T09:00:00+03:00"), now(), Backdating::Limited).unwrap();
        assert_eq!(p.receipt.points_earned, 50);
        let spend = decide_purchase(&cfg(), &p.account, &purchase("r2", 20_000, 40, "2026-11-24T09:10:00+03:00"), now(), Backdating::Limited).unwrap();
        // r2 earned (200 - 40) * 5% = 8; balance 50 - 40 + 8 = 18.
        assert_eq!(spend.receipt.balance_after, 18);
        let req = RefundRequest {
            customer_id: None,
            refund_id: RefundId::parse("f1").unwrap(),
            receipt_id: p.receipt.receipt_id.clone(),
            amount_minor: 100_000,
            occurred_at: at("2026-11-24T09:30:00+03:00"),
        };
        let r = decide_refund(&cfg(), &spend.account, &p.receipt, &req, now()).unwrap();
        assert_eq!((r.refund.points_clawed_back, r.refund.points_written_off), (18, 32));
        assert_eq!(r.refund.balance_after, 0);
        assert!(r.account.is_balanced());
    }

    #[test]
    fn a_refund_naming_another_customer_is_refused_and_the_right_one_is_checked() {
        let p = decide_purchase(&cfg(), &Account::default(), &purchase("r1", 100_000, 0, "2026-11-24T09:00:00+03:00"), now(), Backdating::Limited).unwrap();
        let mut req = RefundRequest {
            customer_id: Some(CustomerId::parse("someone-else").unwrap()),
            refund_id: RefundId::parse("f1").unwrap(),
            receipt_id: p.receipt.receipt_id.clone(),
            amount_minor: 100_000,
            occurred_at: at("2026-11-24T09:30:00+03:00"),
        };
        assert_eq!(decide_refund(&cfg(), &p.account, &p.receipt, &req, now()).unwrap_err(), RefundRuleError::CustomerMismatch);
        req.customer_id = Some(p.receipt.customer_id.clone());
        let r = decide_refund(&cfg(), &p.account, &p.receipt, &req, now()).unwrap();
        assert!(r.refund.is_same_request(&req), "named by its customer");
        req.customer_id = None;
        assert!(r.refund.is_same_request(&req), "a retry may leave the customer out");
        req.customer_id = Some(CustomerId::parse("someone-else").unwrap());
        assert!(!r.refund.is_same_request(&req), "but not name another one");
    }
}
