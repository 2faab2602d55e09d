//! What both property suites share: the program knobs, the rules restated independently
//! (the oracles' arithmetic), and the invariants every account and receipt must keep.

#![allow(dead_code)] // each test binary uses its own part of this module

use chrono::{DateTime, Days, FixedOffset, NaiveDate, Utc};
use proptest::prelude::*;
use proptest::sample::Index;

use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::ids::Currency;
use boomerang_core::domain::ledger::Account;
use boomerang_core::domain::purchase::Receipt;

// ---------------------------------------------------------------------------------------------
// Setup

pub fn start() -> DateTime<Utc> {
    "2026-01-01T09:00:00Z".parse().expect("valid instant")
}

/// The knobs of the program that change arithmetic or expiry; the rest stays at the defaults.
#[derive(Debug, Clone, Copy)]
pub struct Knobs {
    pub earn_percent: u32,
    pub redeem_max_percent: u32,
    pub point_value_minor: u64,
    pub points_valid_days: u32,
    pub restored_points_valid_days: u32,
}

impl Knobs {
    /// Built through the TOML loader, as a tenant would, so validation runs too.
    pub fn config(self) -> ProgramConfig {
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

pub fn knobs() -> impl Strategy<Value = Knobs> {
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
pub fn offset() -> impl Strategy<Value = FixedOffset> {
    prop::sample::select(vec![-5 * 3600, 0, 3 * 3600, 5 * 3600 + 1800, 14 * 3600])
        .prop_map(|s| FixedOffset::east_opt(s).expect("valid offset"))
}

pub fn rub() -> Currency {
    Currency::parse("RUB").expect("valid")
}


/// How many points a purchase tries to spend, relative to what the state allows.
#[derive(Debug, Clone)]
pub enum Redeem {
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

pub fn mul_div(a: u64, b: u64, c: u64) -> u64 {
    u64::try_from(u128::from(a) * u128::from(b) / u128::from(c)).expect("fits: b <= c")
}

/// The cap as the rule states it: a receipt's points may pay at most
/// floor(amount * redeem_max_percent / 100) minor units.
pub fn cap_minor(cfg: &ProgramConfig, amount: u64) -> u128 {
    u128::from(amount) * u128::from(cfg.redeem_max_percent) / 100
}

/// The earn rule as stated: whole points for earn_percent % of the money part, rounded down.
/// Computed in two floor steps (money -> minor units earned -> points) on purpose: a different
/// route to the same number than the code's single division.
pub fn expected_earn(cfg: &ProgramConfig, amount: u64, redeem: u64) -> u64 {
    let money = u128::from(amount) - u128::from(redeem) * u128::from(cfg.point_value_minor);
    let earned_minor = money * u128::from(cfg.earn_percent) / 100;
    u64::try_from(earned_minor / u128::from(cfg.point_value_minor)).expect("fits")
}

pub fn local_date(cfg: &ProgramConfig, t: DateTime<FixedOffset>) -> NaiveDate {
    t.with_timezone(&cfg.timezone).date_naive()
}

pub fn plus_days(d: NaiveDate, days: u32) -> NaiveDate {
    d.checked_add_days(Days::new(days.into())).expect("in range")
}

/// The account on its own: balance, lots and the accounting identity.
pub fn check_account(a: &Account, today: NaiveDate) -> Result<(), TestCaseError> {
    let live: u64 = a.lots.iter().filter(|(k, _)| k.expires_on > today).map(|(_, p)| *p).sum();
    let held: u64 = a.lots.values().sum();
    prop_assert_eq!(a.balance(today), live, "balance is the live lots");
    prop_assert!(a.lots.values().all(|p| *p > 0), "no empty lot is kept: {:?}", a.lots);
    let t = a.totals;
    prop_assert_eq!(t.earned + t.gifted + t.restored, t.spent + t.clawed_back + t.expired + held);
    prop_assert!(a.is_balanced());
    Ok(())
}

pub fn check_receipt(r: &Receipt) -> Result<(), TestCaseError> {
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

