//! Property tests of the points ledger and the purchase/refund rules.
//!
//! Arbitrary histories of one customer (purchases, refunds, gifts, burns, time passing) are
//! run through the pure rules; after every step the account and every receipt must still
//! satisfy the accounting invariants, and every accept/reject decision must match a small
//! independent oracle written here from the rules' plain-language definition.

use chrono::{DateTime, Days, Duration, FixedOffset, NaiveDate, Utc};
use proptest::prelude::*;
use proptest::sample::Index;

use boomerang_core::config::{ProgramConfig, TriggerKind};
use boomerang_core::ids::{Currency, CustomerId, ReceiptId, RefundId, StoreId};
use boomerang_core::ledger::{Account, LotKey};
use boomerang_core::purchase::{
    decide_purchase, decide_refund, Backdating, PurchaseRequest, PurchaseRuleError, Receipt, RefundRequest,
    RefundRuleError,
};

// ---------------------------------------------------------------------------------------------
// Setup

fn start() -> DateTime<Utc> {
    "2026-01-01T09:00:00Z".parse().expect("valid instant")
}

/// The knobs of the program that change arithmetic or expiry; the rest stays at the defaults.
#[derive(Debug, Clone, Copy)]
struct Knobs {
    earn_percent: u32,
    redeem_max_percent: u32,
    point_value_minor: u64,
    points_valid_days: u32,
    restored_points_valid_days: u32,
}

impl Knobs {
    /// Built through the TOML loader, as a tenant would, so validation runs too.
    fn config(self) -> ProgramConfig {
        ProgramConfig::from_toml_str(&format!(
            "earn_percent = {}\nredeem_max_percent = {}\npoint_value_minor = {}\n\
             points_valid_days = {}\nrestored_points_valid_days = {}\n",
            self.earn_percent,
            self.redeem_max_percent,
            self.point_value_minor,
            self.points_valid_days,
            self.restored_points_valid_days
        ))
        .expect("knobs are within the validated ranges")
    }
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (0u32..=100, 0u32..=100, 1u64..=1000, 1u32..=400, 1u32..=60).prop_map(|(e, r, p, v, rv)| Knobs {
        earn_percent: e,
        redeem_max_percent: r,
        point_value_minor: p,
        points_valid_days: v,
        restored_points_valid_days: rv,
    })
}

/// Offsets a POS might stamp on `occurred_at`; the rules must only care about the instant
/// (and the tenant's local date of it).
fn offset() -> impl Strategy<Value = FixedOffset> {
    prop::sample::select(vec![-5 * 3600, 0, 3 * 3600, 5 * 3600 + 1800, 14 * 3600])
        .prop_map(|s| FixedOffset::east_opt(s).expect("valid offset"))
}

fn rub() -> Currency {
    Currency::parse("RUB").expect("valid")
}

// ---------------------------------------------------------------------------------------------
// Operations

/// How many points a purchase tries to spend, relative to what the state allows.
#[derive(Debug, Clone)]
enum Redeem {
    Zero,
    /// Somewhere in 0..=min(balance, cap): should pass.
    Within(Index),
    /// Anything at all, usually far above balance and cap (and sometimes overflowing the value).
    Raw(u64),
    /// Just above the balance (cap permitting, an insufficient_points rejection).
    OverBalance(u64),
    /// Just above the cap.
    OverCap(u64),
}

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

fn mul_div(a: u64, b: u64, c: u64) -> u64 {
    u64::try_from(u128::from(a) * u128::from(b) / u128::from(c)).expect("fits: b <= c")
}

/// The cap as the rule states it: a receipt's points may pay at most
/// floor(amount * redeem_max_percent / 100) minor units.
fn cap_minor(cfg: &ProgramConfig, amount: u64) -> u128 {
    u128::from(amount) * u128::from(cfg.redeem_max_percent) / 100
}

/// The earn rule as stated: whole points for earn_percent % of the money part, rounded down.
/// Computed in two floor steps (money -> minor units earned -> points) on purpose: a different
/// route to the same number than the code's single division.
fn expected_earn(cfg: &ProgramConfig, amount: u64, redeem: u64) -> u64 {
    let money = u128::from(amount) - u128::from(redeem) * u128::from(cfg.point_value_minor);
    let earned_minor = money * u128::from(cfg.earn_percent) / 100;
    u64::try_from(earned_minor / u128::from(cfg.point_value_minor)).expect("fits")
}

fn local_date(cfg: &ProgramConfig, t: DateTime<FixedOffset>) -> NaiveDate {
    t.with_timezone(&cfg.timezone).date_naive()
}

fn plus_days(d: NaiveDate, days: u32) -> NaiveDate {
    d.checked_add_days(Days::new(days.into())).expect("in range")
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

/// The account on its own: balance, lots and the accounting identity.
fn check_account(a: &Account, today: NaiveDate) -> Result<(), TestCaseError> {
    let live: u64 = a.lots.iter().filter(|(k, _)| k.expires_on > today).map(|(_, p)| *p).sum();
    let held: u64 = a.lots.values().sum();
    prop_assert_eq!(a.balance(today), live, "balance is the live lots");
    prop_assert!(a.lots.values().all(|p| *p > 0), "no empty lot is kept: {:?}", a.lots);
    let t = a.totals;
    prop_assert_eq!(t.earned + t.gifted + t.restored, t.spent + t.clawed_back + t.expired + held);
    prop_assert!(a.is_balanced());
    Ok(())
}

fn check_receipt(r: &Receipt) -> Result<(), TestCaseError> {
    let p = &r.refund;
    prop_assert!(p.refunded_minor <= r.amount_minor);
    prop_assert_eq!(p.clawed_back + p.written_off, p.clawback_due, "{:?}", r);
    prop_assert!(p.clawback_due <= r.points_earned);
    prop_assert!(p.restored <= r.redeem_points);
    // Rounded on the running total, so partial refunds never drift from the whole.
    prop_assert_eq!(p.clawback_due, mul_div(r.points_earned, p.refunded_minor, r.amount_minor));
    prop_assert_eq!(p.restored, mul_div(r.redeem_points, p.refunded_minor, r.amount_minor));
    if p.refunded_minor == r.amount_minor {
        prop_assert_eq!(p.clawback_due, r.points_earned, "a full refund reverses exactly");
        prop_assert_eq!(p.restored, r.redeem_points, "a full refund reverses exactly");
    }
    Ok(())
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

    /// Partial refunds that add up to the whole receipt reverse it exactly, whatever happens
    /// in between (time passing, lots expiring, the balance being spent down to nothing).
    #[test]
    fn partial_refunds_adding_up_to_the_receipt_reverse_it_exactly(
        k in knobs(),
        amount in 1u64..10_000_000,
        redeem_share in any::<Index>(),
        spare in 0u64..1_000,
        cuts in prop::collection::vec(any::<Index>(), 0..8),
        between in prop::collection::vec((0u32..=40, 0u32..24, prop::bool::ANY), 8),
    ) {
        let cfg = k.config();
        let now0 = start();
        let today0 = cfg.local_date(now0);
        let max_by_cap = u64::try_from(cap_minor(&cfg, amount) / u128::from(cfg.point_value_minor)).expect("fits");
        let redeem_points = redeem_share.index(usize::try_from(max_by_cap).expect("small") + 1) as u64;
        // A balance that covers the redemption with little to spare, so clawbacks run short;
        // it expires soon, so restored points often come back to a dead lot.
        let mut acc = Account::default();
        acc.gift(LotKey::gift(plus_days(today0, 20), TriggerKind::Lapsed60), redeem_points + spare, "seed");
        let req = PurchaseRequest {
            receipt_id: ReceiptId::parse("whole").expect("valid"),
            customer_id: CustomerId::parse("c1").expect("valid"),
            amount_minor: amount,
            currency: rub(),
            occurred_at: now0.fixed_offset(),
            store_id: StoreId::parse("s1").expect("valid"),
            redeem_points,
        };
        let d = decide_purchase(&cfg, &acc, &req, now0, Backdating::Limited)
            .map_err(|e| TestCaseError::fail(format!("purchase refused: {e}")))?;
        let (mut acc, mut rcpt) = (d.account, d.receipt);
        check_account(&acc, today0)?;

        let amount_ix = usize::try_from(amount).expect("small") + 1;
        let mut points: Vec<u64> = cuts.iter().map(|c| c.index(amount_ix) as u64).collect();
        points.push(0);
        points.push(amount);
        points.sort_unstable();
        let mut now = now0;
        let (mut clawed, mut written_off, mut restored) = (0u64, 0u64, 0u64);
        for (n, pair) in points.windows(2).enumerate() {
            let (days, hours, spend) = between[n % between.len()];
            now = now + Duration::days(days.into()) + Duration::hours(hours.into());
            let today = cfg.local_date(now);
            if spend {
                // Spend the whole live balance elsewhere, so the next clawback runs short.
                let balance = acc.balance(today);
                acc.redeem(balance, today, "elsewhere").expect("the balance covers itself");
            }
            let req = RefundRequest {
                customer_id: None,
                refund_id: RefundId::parse(&format!("f{n}")).expect("valid"),
                receipt_id: rcpt.receipt_id.clone(),
                amount_minor: pair[1] - pair[0],
                occurred_at: now.fixed_offset(),
            };
            let d = decide_refund(&cfg, &acc, &rcpt, &req, now)
                .map_err(|e| TestCaseError::fail(format!("refund refused: {e}")))?;
            clawed += d.refund.points_clawed_back;
            written_off += d.refund.points_written_off;
            restored += d.refund.points_restored;
            acc = d.account;
            rcpt = d.receipt;
            check_account(&acc, today)?;
            check_receipt(&rcpt)?;
        }
        prop_assert_eq!(rcpt.refund.refunded_minor, amount);
        prop_assert_eq!(clawed + written_off, rcpt.points_earned);
        prop_assert_eq!(restored, redeem_points);
        let p = rcpt.refund;
        prop_assert_eq!((clawed, written_off, restored), (p.clawed_back, p.written_off, p.restored));
    }

    /// The earn and cap rules against their plain statement, for any program.
    #[test]
    fn earn_and_cap_follow_the_program(
        earn_percent in 0u32..=100,
        redeem_max_percent in 0u32..=100,
        point_value_minor in 1u64..=1000,
        amount in 1u64..10_000_000,
        pick in prop_oneof![
            3 => any::<Index>().prop_map(Redeem::Within),
            1 => Just(Redeem::Zero),
            1 => (1u64..=3).prop_map(Redeem::OverCap),
            1 => any::<u64>().prop_map(Redeem::Raw),
        ],
    ) {
        let knobs = Knobs {
            earn_percent,
            redeem_max_percent,
            point_value_minor,
            points_valid_days: 365,
            restored_points_valid_days: 30,
        };
        let cfg = knobs.config();
        let cap = cap_minor(&cfg, amount);
        let max_points = u64::try_from(cap / u128::from(point_value_minor)).expect("fits");
        let redeem_points = match pick {
            Redeem::Within(i) => i.index(usize::try_from(max_points).expect("small") + 1) as u64,
            Redeem::Zero => 0,
            Redeem::OverCap(n) => max_points + n,
            Redeem::Raw(n) => n,
            Redeem::OverBalance(_) => unreachable!("not generated"),
        };
        // Enough points that only the cap can refuse.
        let mut account = Account::default();
        account.earn(LotKey::earned(plus_days(cfg.local_date(start()), 100)), u64::MAX / 2, "seed");
        let req = PurchaseRequest {
            receipt_id: ReceiptId::parse("r1").expect("valid"),
            customer_id: CustomerId::parse("c1").expect("valid"),
            amount_minor: amount,
            currency: rub(),
            occurred_at: start().fixed_offset(),
            store_id: StoreId::parse("s1").expect("valid"),
            redeem_points,
        };
        let got = decide_purchase(&cfg, &account, &req, start(), Backdating::Limited);
        if u128::from(redeem_points) * u128::from(point_value_minor) <= cap {
            let d = got.map_err(|e| TestCaseError::fail(format!("refused within the cap: {e}")))?;
            prop_assert_eq!(d.receipt.points_earned, expected_earn(&cfg, amount, redeem_points));
            prop_assert!(d.account.is_balanced());
        } else {
            prop_assert_eq!(got.map(|d| d.receipt), Err(PurchaseRuleError::RedeemCapExceeded { max_points }));
        }
        // The boundary itself: exactly the cap passes, one point more does not.
        let mut at_cap = req.clone();
        at_cap.redeem_points = max_points;
        prop_assert!(decide_purchase(&cfg, &account, &at_cap, start(), Backdating::Limited).is_ok());
        at_cap.redeem_points = max_points + 1;
        prop_assert_eq!(
            decide_purchase(&cfg, &account, &at_cap, start(), Backdating::Limited).map(|d| d.receipt),
            Err(PurchaseRuleError::RedeemCapExceeded { max_points })
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions: minimal cases the properties found

fn request(id: &str, amount_minor: u64, redeem_points: u64) -> PurchaseRequest {
    PurchaseRequest {
        receipt_id: ReceiptId::parse(id).expect("valid"),
        customer_id: CustomerId::parse("c1").expect("valid"),
        amount_minor,
        currency: rub(),
        occurred_at: start().fixed_offset(),
        store_id: StoreId::parse("s1").expect("valid"),
        redeem_points,
    }
}

/// redeem_points * point_value_minor overflowing u64 used to report a cap of 0 points.
#[test]
fn an_overflowing_redemption_reports_the_real_cap() {
    let cfg = ProgramConfig::defaults(); // 30% cap, 1 point = 100 minor units
    let got = decide_purchase(
        &cfg,
        &Account::default(),
        &request("r1", 100_000, u64::MAX / 50),
        start(),
        Backdating::Limited,
    );
    assert_eq!(got.map(|d| d.receipt), Err(PurchaseRuleError::RedeemCapExceeded { max_points: 300 }));
}

/// A receipt of amount 0 is accepted; refunding it used to divide by zero.
#[test]
fn a_zero_amount_receipt_can_be_refunded() {
    let cfg = ProgramConfig::defaults();
    let d = decide_purchase(&cfg, &Account::default(), &request("zero", 0, 0), start(), Backdating::Limited)
        .expect("accepted");
    let req = RefundRequest {
        customer_id: None,
        refund_id: RefundId::parse("f1").expect("valid"),
        receipt_id: d.receipt.receipt_id.clone(),
        amount_minor: 0,
        occurred_at: start().fixed_offset(),
    };
    let r = decide_refund(&cfg, &d.account, &d.receipt, &req, start()).expect("refund of nothing");
    assert_eq!((r.refund.points_clawed_back, r.refund.points_restored, r.refund.points_written_off), (0, 0, 0));
    assert!(r.account.is_balanced());
}
