//! Property tests of the points ledger and the purchase/refund rules.
//!
//! Arbitrary histories of one customer (purchases, refunds, gifts, burns, time passing) are
//! run through the pure rules; after every step the account and every receipt must still
//! satisfy the accounting invariants, and every accept/reject decision must match a small
//! independent oracle written here from the rules' plain-language definition.

mod common;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use proptest::prelude::*;
use proptest::sample::Index;

use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::ids::{Currency, CustomerId, ReceiptId, RefundId, StoreId};
use boomerang_core::domain::kinds::TriggerKind;
use boomerang_core::domain::ledger::{Account, LotKey};
use boomerang_core::domain::purchase::{decide_purchase, decide_refund, Backdating, PurchaseRequest, PurchaseRuleError, Receipt, RefundRequest, RefundRuleError};

use common::*;

// ---------------------------------------------------------------------------------------------
// Operations

/// When an operation says it happened, relative to `now`.
#[derive(Debug, Clone)]
enum When {
    Now,
    MinutesAgo(i64),
    /// Far back: past `max_backdate_days` and often past the points' validity.
    DaysAgo(i64),
    /// Ahead of the clock; more than 5 minutes is refused.
    SecondsAhead(i64),
}

#[derive(Debug, Clone)]
enum RefundAmount {
    Rest,
    Part(Index),
    Zero,
    Raw(u64),
    /// More than what remains: refused.
    OverRest(u64),
}

#[derive(Debug, Clone)]
enum Op {
    Advance { days: u32, hours: u32 },
    Purchase { amount: u64, redeem: Redeem, when: When, tz: FixedOffset, backdating: Backdating, foreign: bool },
    Refund { receipt: Index, amount: RefundAmount, when: When, tz: FixedOffset },
    Gift { points: u64, valid_days: u32, trigger: TriggerKind },
    Burn,
}

fn redeem() -> impl Strategy<Value = Redeem> {
    prop_oneof![
        2 => Just(Redeem::Zero),
        4 => any::<Index>().prop_map(Redeem::Within),
        2 => any::<u64>().prop_map(Redeem::Raw),
        2 => (1u64..=50).prop_map(Redeem::OverBalance),
        2 => (1u64..=50).prop_map(Redeem::OverCap),
    ]
}

fn when() -> impl Strategy<Value = When> {
    prop_oneof![
        4 => Just(When::Now),
        3 => (0i64..=30 * 24 * 60).prop_map(When::MinutesAgo),
        1 => (30i64..=1000).prop_map(When::DaysAgo),
        1 => (0i64..=600).prop_map(When::SecondsAhead),
    ]
}

fn refund_amount() -> impl Strategy<Value = RefundAmount> {
    prop_oneof![
        3 => Just(RefundAmount::Rest),
        4 => any::<Index>().prop_map(RefundAmount::Part),
        1 => Just(RefundAmount::Zero),
        1 => (0u64..=20_000_000).prop_map(RefundAmount::Raw),
        2 => (1u64..=1000).prop_map(RefundAmount::OverRest),
    ]
}

fn trigger() -> impl Strategy<Value = TriggerKind> {
    prop::sample::select(TriggerKind::ALL.to_vec())
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0u32..=40, 0u32..24).prop_map(|(days, hours)| Op::Advance { days, hours }),
        5 => (
            1u64..10_000_000,
            redeem(),
            when(),
            offset(),
            prop::bool::ANY,
            prop::bool::weighted(0.05)
        )
            .prop_map(|(amount, redeem, when, tz, any_age, foreign)| Op::Purchase {
                amount,
                redeem,
                when,
                tz,
                backdating: if any_age { Backdating::AnyAge } else { Backdating::Limited },
                foreign,
            }),
        4 => (any::<Index>(), refund_amount(), when(), offset())
            .prop_map(|(receipt, amount, when, tz)| Op::Refund { receipt, amount, when, tz }),
        1 => (0u64..=1_000_000, 0u32..=60, trigger())
            .prop_map(|(points, valid_days, trigger)| Op::Gift { points, valid_days, trigger }),
        1 => Just(Op::Burn),
    ]
}

// ---------------------------------------------------------------------------------------------
// The history under test and its oracle

struct History {
    cfg: ProgramConfig,
    now: DateTime<Utc>,
    account: Account,
    receipts: Vec<Receipt>,
    gifted: u64,
    next_id: u32,
}

fn at(now: DateTime<Utc>, when: &When, tz: FixedOffset) -> DateTime<FixedOffset> {
    let instant = match when {
        When::Now => now,
        When::MinutesAgo(m) => now - Duration::minutes(*m),
        When::DaysAgo(d) => now - Duration::days(*d),
        When::SecondsAhead(s) => now + Duration::seconds(*s),
    };
    instant.with_timezone(&tz)
}

/// What decide_purchase must answer, from the rules in their documented order.
fn purchase_oracle(
    cfg: &ProgramConfig,
    account: &Account,
    req: &PurchaseRequest,
    now: DateTime<Utc>,
    backdating: Backdating,
) -> Result<(), PurchaseRuleError> {
    if req.currency != cfg.currency {
        return Err(PurchaseRuleError::CurrencyMismatch {
            expected: cfg.currency.as_str().into(),
            got: req.currency.as_str().into(),
        });
    }
    let occurred = req.occurred_at.with_timezone(&Utc);
    if occurred > now + Duration::minutes(5) {
        return Err(PurchaseRuleError::InFuture);
    }
    if backdating == Backdating::Limited && occurred < now - Duration::days(cfg.max_backdate_days.into()) {
        return Err(PurchaseRuleError::TooOld { max_days: cfg.max_backdate_days });
    }
    let cap = cap_minor(cfg, req.amount_minor);
    if u128::from(req.redeem_points) * u128::from(cfg.point_value_minor) > cap {
        let max_points = u64::try_from(cap / u128::from(cfg.point_value_minor)).expect("fits");
        return Err(PurchaseRuleError::RedeemCapExceeded { max_points });
    }
    let balance = account.balance(cfg.local_date(now));
    if req.redeem_points > balance {
        return Err(PurchaseRuleError::InsufficientPoints { balance });
    }
    Ok(())
}

fn refund_oracle(receipt: &Receipt, req: &RefundRequest, now: DateTime<Utc>) -> Result<(), RefundRuleError> {
    let occurred = req.occurred_at.with_timezone(&Utc);
    if occurred > now + Duration::minutes(5) {
        return Err(RefundRuleError::InFuture);
    }
    if occurred < receipt.occurred_at.with_timezone(&Utc) {
        return Err(RefundRuleError::BeforePurchase);
    }
    let remaining = receipt.amount_minor - receipt.refund.refunded_minor;
    if req.amount_minor > remaining {
        return Err(RefundRuleError::ExceedsRemaining { remaining_minor: remaining });
    }
    Ok(())
}

impl History {
    fn new(cfg: ProgramConfig) -> Self {
        Self { cfg, now: start(), account: Account::default(), receipts: Vec::new(), gifted: 0, next_id: 0 }
    }

    fn today(&self) -> NaiveDate {
        self.cfg.local_date(self.now)
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Advance { days, hours } => {
                self.now = self.now + Duration::days((*days).into()) + Duration::hours((*hours).into());
            }
            Op::Burn => {
                let before = self.account.clone();
                let today = self.today();
                let entries = self.account.burn_expired(today, "burn");
                let burned: u64 = entries.iter().map(|e| e.points).sum();
                prop_assert_eq!(burned, before.held() - before.balance(today), "burns exactly the dead lots");
                prop_assert_eq!(
                    self.account.balance(today),
                    before.balance(today),
                    "burning never changes the balance"
                );
                prop_assert!(self.account.lots.keys().all(|k| k.expires_on > today));
            }
            Op::Gift { points, valid_days, trigger } => {
                let before = self.account.balance(self.today());
                let lot = LotKey::gift(plus_days(self.today(), *valid_days), *trigger);
                self.account.gift(lot, *points, "gift");
                self.gifted += points;
                let live = if *valid_days > 0 { *points } else { 0 };
                prop_assert_eq!(self.account.balance(self.today()), before + live);
            }
            Op::Purchase { amount, redeem, when, tz, backdating, foreign } => {
                self.purchase(*amount, redeem, when, *tz, *backdating, *foreign)?;
            }
            Op::Refund { receipt, amount, when, tz } => {
                if !self.receipts.is_empty() {
                    let i = receipt.index(self.receipts.len());
                    self.refund(i, amount, when, *tz)?;
                }
            }
        }
        Ok(())
    }

    fn purchase(
        &mut self,
        amount: u64,
        redeem: &Redeem,
        when: &When,
        tz: FixedOffset,
        backdating: Backdating,
        foreign: bool,
    ) -> Result<(), TestCaseError> {
        let receipt_id = ReceiptId::parse(&self.id("r")).expect("valid");
        let cfg = &self.cfg;
        let today = cfg.local_date(self.now);
        let balance = self.account.balance(today);
        let max_by_cap = u64::try_from(cap_minor(cfg, amount) / u128::from(cfg.point_value_minor)).expect("fits");
        let redeem_points = match redeem {
            Redeem::Zero => 0,
            Redeem::Within(i) => i.index(usize::try_from(balance.min(max_by_cap)).expect("small") + 1) as u64,
            Redeem::Raw(n) => *n,
            Redeem::OverBalance(n) => balance + n,
            Redeem::OverCap(n) => max_by_cap + n,
        };
        let req = PurchaseRequest {
            receipt_id,
            customer_id: CustomerId::parse("c1").expect("valid"),
            amount_minor: amount,
            currency: if foreign { Currency::parse("EUR").expect("valid") } else { rub() },
            occurred_at: at(self.now, when, tz),
            store_id: StoreId::parse("s1").expect("valid"),
            redeem_points,
        };
        let before = self.account.clone();
        let expected = purchase_oracle(cfg, &before, &req, self.now, backdating);
        let got = decide_purchase(cfg, &before, &req, self.now, backdating);
        prop_assert_eq!(&before, &self.account, "a decision never touches its input");
        let d = match (expected, got) {
            (Err(e), Err(g)) => {
                prop_assert_eq!(e, g);
                return Ok(()); // rejected: we keep the old account, as a caller must
            }
            (Ok(()), Ok(d)) => d,
            (e, g) => {
                return Err(TestCaseError::fail(format!("{req:?}: oracle {e:?}, rule {:?}", g.map(|d| d.receipt))))
            }
        };

        let earned = expected_earn(cfg, amount, redeem_points);
        let lot_expires = plus_days(local_date(cfg, req.occurred_at), cfg.points_valid_days);
        prop_assert_eq!(d.receipt.points_earned, earned);
        prop_assert_eq!(d.receipt.earned_lot, LotKey::earned(lot_expires));
        let live_earned = if lot_expires > today { earned } else { 0 };
        let after = d.account.balance(today);
        prop_assert_eq!(after, balance - redeem_points + live_earned);
        prop_assert_eq!(d.receipt.balance_after, after);
        prop_assert_eq!(
            d.account.last_purchase_on,
            before.last_purchase_on.max(Some(local_date(cfg, req.occurred_at)))
        );

        // Spent soonest-expiring first: the lots taken are a prefix of the live lots in key
        // order, all emptied except possibly the last.
        prop_assert_eq!(d.receipt.redeemed_from.values().sum::<u64>(), redeem_points);
        let live: Vec<(LotKey, u64)> =
            before.lots.iter().filter(|(k, _)| k.expires_on > today).map(|(k, p)| (*k, *p)).collect();
        let taken: Vec<(LotKey, u64)> = d.receipt.redeemed_from.iter().map(|(k, p)| (*k, *p)).collect();
        prop_assert!(taken.len() <= live.len());
        for (n, ((tk, tp), (lk, lp))) in taken.iter().zip(&live).enumerate() {
            prop_assert_eq!(tk, lk, "spends in lot order");
            prop_assert!(*tp > 0 && *tp <= *lp);
            if n + 1 < taken.len() {
                prop_assert_eq!(tp, lp, "only the last lot taken may be left partly full");
            }
        }

        self.account = d.account;
        self.receipts.push(d.receipt);
        Ok(())
    }

    fn refund(&mut self, i: usize, amount: &RefundAmount, when: &When, tz: FixedOffset) -> Result<(), TestCaseError> {
        let refund_id = RefundId::parse(&self.id("f")).expect("valid");
        let cfg = &self.cfg;
        let today = cfg.local_date(self.now);
        let receipt = self.receipts[i].clone();
        let rest = receipt.amount_minor - receipt.refund.refunded_minor;
        let amount_minor = match amount {
            RefundAmount::Rest => rest,
            RefundAmount::Part(ix) => ix.index(usize::try_from(rest).expect("small") + 1) as u64,
            RefundAmount::Zero => 0,
            RefundAmount::Raw(n) => *n,
            RefundAmount::OverRest(n) => rest + n,
        };
        let req = RefundRequest {
            customer_id: None,
            refund_id,
            receipt_id: receipt.receipt_id.clone(),
            amount_minor,
            occurred_at: at(self.now, when, tz),
        };
        let before = self.account.clone();
        let expected = refund_oracle(&receipt, &req, self.now);
        let got = decide_refund(cfg, &before, &receipt, &req, self.now);
        prop_assert_eq!(&before, &self.account, "a decision never touches its input");
        prop_assert_eq!(&receipt, &self.receipts[i]);
        let d = match (expected, got) {
            (Err(e), Err(g)) => {
                prop_assert_eq!(e, g);
                return Ok(());
            }
            (Ok(()), Ok(d)) => d,
            (e, g) => {
                return Err(TestCaseError::fail(format!("{req:?}: oracle {e:?}, rule {:?}", g.map(|d| d.refund))))
            }
        };

        let refunded = receipt.refund.refunded_minor + amount_minor;
        let restore_now = mul_div(receipt.redeem_points, refunded, receipt.amount_minor) - receipt.refund.restored;
        let due_now = mul_div(receipt.points_earned, refunded, receipt.amount_minor) - receipt.refund.clawback_due;
        let balance = before.balance(today);
        // Points come back first, then the owed ones are taken from whatever is live; what
        // the balance cannot cover is written off, never owed.
        let clawed = due_now.min(balance + restore_now);
        prop_assert_eq!(d.refund.points_restored, restore_now);
        prop_assert_eq!(d.refund.points_clawed_back, clawed);
        prop_assert_eq!(d.refund.points_written_off, due_now - clawed);
        prop_assert_eq!(d.account.balance(today), balance + restore_now - clawed);
        prop_assert_eq!(d.refund.balance_after, d.account.balance(today));
        prop_assert_eq!(d.receipt.refund.refunded_minor, refunded);
        prop_assert_eq!(d.receipt.refund.refunds, receipt.refund.refunds + 1);
        // The refund changes nothing else of the receipt.
        let mut unchanged = d.receipt.clone();
        unchanged.refund = receipt.refund;
        prop_assert_eq!(&unchanged, &receipt);

        self.account = d.account;
        self.receipts[i] = d.receipt;
        Ok(())
    }

    /// The invariants that must hold after any step, accepted or rejected.
    fn check(&self) -> Result<(), TestCaseError> {
        check_account(&self.account, self.today())?;
        let t = self.account.totals;

        // Every total is explained by the history that produced it.
        let rs = &self.receipts;
        prop_assert_eq!(t.earned, rs.iter().map(|r| r.points_earned).sum::<u64>());
        prop_assert_eq!(t.spent, rs.iter().map(|r| r.redeem_points).sum::<u64>());
        prop_assert_eq!(t.restored, rs.iter().map(|r| r.refund.restored).sum::<u64>());
        prop_assert_eq!(t.clawed_back, rs.iter().map(|r| r.refund.clawed_back).sum::<u64>());
        prop_assert_eq!(t.gifted, self.gifted);

        for r in rs {
            check_receipt(r)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    // No regression files: an integration test has no src/ for proptest to put them next to;
    // a failure prints its minimal input, which belongs in a named test instead.
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any history keeps the account balanced and every receipt's refund progress consistent,
    /// and every rule accepts or refuses exactly as the oracle says.
    #[test]
    fn any_history_keeps_the_ledger_consistent(k in knobs(), ops in prop::collection::vec(op(), 1..=60)) {
        let mut h = History::new(k.config());
        h.check()?;
        for op in &ops {
            h.apply(op)?;
            h.check()?;
        }
    }

    /// The same under the default program, where most refunds and redemptions succeed.
    #[test]
    fn any_history_under_the_default_program_keeps_the_ledger_consistent(ops in prop::collection::vec(op(), 1..=60)) {
        let mut h = History::new(ProgramConfig::defaults());
        for op in &ops {
            h.apply(op)?;
            h.check()?;
        }
    }
}
