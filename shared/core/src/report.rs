//! The trigger report: does each trigger pay for itself? Pure: it joins the sweep's outcomes
//! with the receipts the caller loaded and renders the result as a terminal table, CSV and
//! JSON (the HTML page is in [`crate::report_html`]). No I/O, no clock: `today` comes in.
//!
//! # Definitions
//!
//! * **Period.** An outcome belongs to the report when its `sweep_date` (the send date; for
//!   the held-out, the date the message would have been sent) lies in `[from, to]`, both
//!   days included. Every outcome is one row entry: a customer treated on two send dates of
//!   the same trigger counts twice (once per outcome), in every column.
//! * **Eligible**: all outcomes of the trigger in the period. They split into `holdout`,
//!   `sent_email` + `sent_sms` (status `sent`, by channel), `unreachable`, `failed`,
//!   `unknown` (cut off mid-send: maybe sent, never retried) and `pending` (`pending` or
//!   `sending`: not finished when the report ran).
//! * **Treated group** (`treated`): outcomes with status `sent`. **Holdout group**
//!   (`holdout_reachable`): status `holdout` (same eligibility, no gift, no message) and
//!   reachable on some channel when held out, so both groups are customers who could hear
//!   of the trigger. Failed, unknown, unreachable and pending outcomes are in neither group.
//! * **Purchase.** A receipt counts as a purchase unless it was refunded in full; its
//!   revenue is `amount_minor - refund.refunded_minor` (refunds subtracted). A purchase is
//!   dated by `local_date`, the shop's local date of `occurred_at`, so a receipt uploaded
//!   late (backdated) counts on the day it happened.
//! * **Attribution window** of an outcome: the local dates `d` with
//!   `sweep_date <= d < sweep_date + attribution_days` (`attribution_days` of the trigger's
//!   config, 14 by default): a purchase on the send date counts, one on
//!   `sweep_date + attribution_days` does not. The held-out use the same window from their
//!   sweep date.
//! * **Responder**: an outcome (treated or held out) with at least one purchase in its
//!   window, counted once however many purchases it has. `response_rate` =
//!   responders / treated, `holdout_response_rate` = holdout responders / holdout_reachable; `null`
//!   when the group is empty.
//! * **Lift** = response_rate − holdout_response_rate, in percentage points, with a 95 %
//!   confidence interval by Newcombe's hybrid score method (Newcombe 1998, method 10: built
//!   from the two groups' Wilson score intervals, no continuity correction).
//! * **Verdict** in plain words: `not enough data` when either group has fewer than
//!   [`MIN_GROUP_SIZE`] (30) outcomes, or fewer than [`MIN_CELL_COUNT`] (5) responders or
//!   non-responders (see [`verdict`] for why); else `works` (the whole interval is above 0),
//!   `hurts` (the whole interval is below 0) or `no measurable effect` (it contains 0).
//! * **Responder revenue**: the revenue of the treated responders' purchases in their
//!   windows; `responder_avg_check_minor` = that revenue / the number of those purchases.
//!   It is compared with `all_avg_check_minor`, the average check of every purchase dated in
//!   `[from, to]` (all customers, messaged or not).
//! * **Incremental revenue** (an estimate): lift × treated × revenue per treated responder,
//!   i.e. the extra responders the message brought times what a responder spent. Computed
//!   exactly in integers as `revenue × (x_t·n_h − x_h·n_t) / (n_h·x_t)` and rounded to the
//!   nearest minor unit, halves away from zero; `null` when a group is empty or there is no
//!   treated responder to price a response (0 when the lift is exactly 0). It inherits the
//!   uncertainty of the lift: read it with the verdict.
//! * **Gift points**: `gift_points_credited` sums `gift_points` of the non-holdout outcomes
//!   with a gift (gifts are credited when decided, even if the message then failed).
//!   `gift_points_redeemed` sums, over those gift lots (`LotKey::gift(gift_expires_on,
//!   trigger)` of the outcome's customer), the points receipts took from them
//!   (`redeemed_from`), net of points a refund gave back (`refund.restored`, assigned to
//!   the receipt's lots in lot order, as `decide_refund` restores them), capped at what
//!   was credited to the lot. Redemptions count whenever they happened, also after `to`.
//!   `gift_points_expired`: for gift lots whose date is on or before `today`,
//!   credited − redeemed (never below 0); lots still live count in neither. Approximations:
//!   points clawed back from a gift lot by a refund count as expired, and restored points
//!   that a refund moved to a fresh lot (the old one had expired) are not followed.
//! * **Gift cost** = redeemed × `point_value_minor`; **net** = incremental revenue − gift
//!   cost (`null` when the incremental revenue is).
//! * **Total row**: the pooled counts of all triggers (the sum of each column), its rates
//!   and lift computed on those pooled counts. A purchase in the windows of two outcomes
//!   (say, a birthday and a points-expiring message) counts in each of them, so pooled
//!   revenue may count a receipt more than once; and pooling triggers with different
//!   holdout shares can bias the pooled lift: read the per-trigger rows first.
//! * **Messages per day**: `sent` outcomes per sweep date in `[from, to]`, by channel.
//!
//! Money is integer minor units (`i64` where it can be negative). Rates, lift and intervals
//! are `f64`: statistics, not money.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

use crate::config::{ProgramConfig, TriggerKind};
use crate::customer::Channel;
use crate::ids::CustomerId;
use crate::ledger::{add_days, LotKey};
use crate::purchase::Receipt;
use crate::sweep::{Outcome, OutcomeStatus};

/// The 97.5 % quantile of the standard normal distribution (two-sided 95 %).
pub const Z_95: f64 = 1.959_963_984_540_054;

/// Below this many outcomes in either group the verdict is "not enough data".
pub const MIN_GROUP_SIZE: u64 = 30;

/// Below this many responders, or non-responders, in either group: "not enough data".
pub const MIN_CELL_COUNT: u64 = 5;

/// What a report is computed from. `receipts` must hold every receipt of the customers
/// concerned with `local_date` in `[from, to + max(attribution_days, gift_valid_days)]`
/// (the caller loads them); extra receipts are harmless.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    pub config: &'a ProgramConfig,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The date gift lots are judged against: a lot dated on or before it has expired.
    pub today: NaiveDate,
    pub outcomes: &'a [Outcome],
    pub receipts: &'a [Receipt],
}

/// A two-sided 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// The Wilson score interval (no continuity correction) of `successes` out of `n`;
/// `None` when `n` is 0.
pub fn wilson(successes: u64, n: u64) -> Option<Interval> {
    if n == 0 || successes > n {
        return None;
    }
    let (x, n) = (successes as f64, n as f64);
    let z2 = Z_95 * Z_95;
    let centre = (x + z2 / 2.0) / (n + z2);
    let half = Z_95 / (n + z2) * (x * (n - x) / n + z2 / 4.0).sqrt();
    Some(Interval { low: (centre - half).max(0.0), high: (centre + half).min(1.0) })
}

/// Newcombe's hybrid score interval (1998, method 10) for `x1/n1 − x2/n2`: from the Wilson
/// intervals `[l1, u1]`, `[l2, u2]`, `d − √((p1−l1)² + (u2−p2)²)` to
/// `d + √((u1−p1)² + (p2−l2)²)`. `None` when a group is empty.
pub fn newcombe(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<Interval> {
    let (w1, w2) = (wilson(x1, n1)?, wilson(x2, n2)?);
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let d = p1 - p2;
    let low = d - ((p1 - w1.low).powi(2) + (w2.high - p2).powi(2)).sqrt();
    let high = d + ((w1.high - p1).powi(2) + (p2 - w2.low).powi(2)).sqrt();
    Some(Interval { low: low.max(-1.0), high: high.min(1.0) })
}

/// Whether a trigger works, in plain words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    NotEnoughData,
    Works,
    NoMeasurableEffect,
    Hurts,
}

impl Verdict {
    /// The machine form (JSON, CSV).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::NotEnoughData => "not_enough_data",
            Verdict::Works => "works",
            Verdict::NoMeasurableEffect => "no_measurable_effect",
            Verdict::Hurts => "hurts",
        }
    }
    /// The words a shop owner reads.
    pub fn words(self) -> &'static str {
        match self {
            Verdict::NotEnoughData => "not enough data",
            Verdict::Works => "works",
            Verdict::NoMeasurableEffect => "no measurable effect",
            Verdict::Hurts => "hurts",
        }
    }
}

/// The verdict for `x_t` responders out of `n_t` treated against `x_h` out of `n_h` held out.
///
/// "Not enough data" below 30 outcomes in either group or below 5 responders or 5
/// non-responders in either group: the Wilson and Newcombe intervals rest on the normal
/// approximation of a binomial count, which the usual rule of thumb (n·p ≥ 5 and
/// n·(1−p) ≥ 5, with n ≥ 30) deems unreliable below those counts; a verdict from 20
/// customers would flip with the next few purchases. With the default 10 % holdout the
/// holdout needs 30 outcomes, i.e. about 300 eligible customers per trigger and period.
/// Above the thresholds: "works" when the lift's 95 % interval lies wholly above 0,
/// "hurts" when wholly below 0, else "no measurable effect".
pub fn verdict(x_t: u64, n_t: u64, x_h: u64, n_h: u64) -> Verdict {
    let enough = |x: u64, n: u64| n >= MIN_GROUP_SIZE && x >= MIN_CELL_COUNT && n.saturating_sub(x) >= MIN_CELL_COUNT;
    if !(enough(x_t, n_t) && enough(x_h, n_h)) {
        return Verdict::NotEnoughData;
    }
    match newcombe(x_t, n_t, x_h, n_h) {
        Some(ci) if ci.low > 0.0 => Verdict::Works,
        Some(ci) if ci.high < 0.0 => Verdict::Hurts,
        Some(_) => Verdict::NoMeasurableEffect,
        None => Verdict::NotEnoughData,
    }
}

/// One line of the report: a trigger, or `"total"`. Field names are the public JSON and CSV
/// names. Money in minor units; rates are fractions (0..1), lift in percentage points;
/// `null` where a group is empty (see the module documentation for every definition).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerRow {
    /// `lapsed_30`, `lapsed_60`, `lapsed_90`, `birthday`, `points_expiring` or `total`.
    pub trigger: String,
    /// The trigger's attribution window in days; for the total, `null` unless all agree.
    pub attribution_days: Option<u32>,
    pub eligible: u64,
    pub holdout: u64,
    /// Held-out outcomes that would have been reachable: the control group the treated are
    /// compared with (an unreachable customer could not have been treated either).
    pub holdout_reachable: u64,
    /// Outcomes with status `sent`: the treated group.
    pub treated: u64,
    pub sent_email: u64,
    pub sent_sms: u64,
    pub unreachable: u64,
    pub failed: u64,
    pub unknown: u64,
    /// Still `pending` or `sending` when the report ran.
    pub pending: u64,
    pub responders: u64,
    pub response_rate: Option<f64>,
    pub holdout_responders: u64,
    pub holdout_response_rate: Option<f64>,
    pub lift_pp: Option<f64>,
    pub lift_ci_low_pp: Option<f64>,
    pub lift_ci_high_pp: Option<f64>,
    pub verdict: Verdict,
    /// Purchases of the treated responders in their windows.
    pub responder_purchases: u64,
    pub responder_revenue_minor: u64,
    pub responder_avg_check_minor: Option<u64>,
    pub all_avg_check_minor: Option<u64>,
    pub incremental_revenue_minor: Option<i64>,
    pub gift_points_credited: u64,
    pub gift_points_redeemed: u64,
    pub gift_points_expired: u64,
    pub gift_cost_minor: u64,
    pub net_minor: Option<i64>,
}

/// The CSV columns, in order: the JSON field names of [`TriggerRow`].
pub const CSV_COLUMNS: [&str; 30] = [
    "trigger",
    "attribution_days",
    "eligible",
    "holdout",
    "holdout_reachable",
    "treated",
    "sent_email",
    "sent_sms",
    "unreachable",
    "failed",
    "unknown",
    "pending",
    "responders",
    "response_rate",
    "holdout_responders",
    "holdout_response_rate",
    "lift_pp",
    "lift_ci_low_pp",
    "lift_ci_high_pp",
    "verdict",
    "responder_purchases",
    "responder_revenue_minor",
    "responder_avg_check_minor",
    "all_avg_check_minor",
    "incremental_revenue_minor",
    "gift_points_credited",
    "gift_points_redeemed",
    "gift_points_expired",
    "gift_cost_minor",
    "net_minor",
];

impl TriggerRow {
    /// The trigger this row is about; `None` for the total.
    pub fn trigger_kind(&self) -> Option<TriggerKind> {
        TriggerKind::parse(&self.trigger)
    }

    fn csv_fields(&self) -> Vec<String> {
        fn opt<T: ToString>(v: Option<T>) -> String {
            v.map(|v| v.to_string()).unwrap_or_default()
        }
        vec![
            self.trigger.clone(),
            opt(self.attribution_days),
            self.eligible.to_string(),
            self.holdout.to_string(),
            self.holdout_reachable.to_string(),
            self.treated.to_string(),
            self.sent_email.to_string(),
            self.sent_sms.to_string(),
            self.unreachable.to_string(),
            self.failed.to_string(),
            self.unknown.to_string(),
            self.pending.to_string(),
            self.responders.to_string(),
            opt(self.response_rate),
            self.holdout_responders.to_string(),
            opt(self.holdout_response_rate),
            opt(self.lift_pp),
            opt(self.lift_ci_low_pp),
            opt(self.lift_ci_high_pp),
            self.verdict.as_str().to_owned(),
            self.responder_purchases.to_string(),
            self.responder_revenue_minor.to_string(),
            opt(self.responder_avg_check_minor),
            opt(self.all_avg_check_minor),
            opt(self.incremental_revenue_minor),
            self.gift_points_credited.to_string(),
            self.gift_points_redeemed.to_string(),
            self.gift_points_expired.to_string(),
            self.gift_cost_minor.to_string(),
            opt(self.net_minor),
        ]
    }
}

/// The report: one row per trigger in [`TriggerKind::ALL`] order, then `total`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub today: NaiveDate,
    pub rows: Vec<TriggerRow>,
    /// Purchases (receipts not refunded in full) dated in `[from, to]`, by anyone.
    pub all_purchases: u64,
    /// Their revenue, refunds subtracted.
    pub all_revenue_minor: u64,
    pub all_avg_check_minor: Option<u64>,
    /// Every date in `[from, to]` with the `sent` outcomes of that sweep date by channel:
    /// `(date, email, sms)`; in JSON `{"date", "email", "sms"}` objects.
    #[serde(serialize_with = "days_as_objects")]
    pub messages_per_day: Vec<(NaiveDate, u64, u64)>,
}

fn days_as_objects<S: Serializer>(days: &[(NaiveDate, u64, u64)], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Day {
        date: NaiveDate,
        email: u64,
        sms: u64,
    }
    let mut seq = s.serialize_seq(Some(days.len()))?;
    for &(date, email, sms) in days {
        seq.serialize_element(&Day { date, email, sms })?;
    }
    seq.end()
}

/// Counts of one trigger (or pooled).
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    eligible: u64,
    holdout: u64,
    holdout_reachable: u64,
    treated: u64,
    sent_email: u64,
    sent_sms: u64,
    unreachable: u64,
    failed: u64,
    unknown: u64,
    pending: u64,
    responders: u64,
    holdout_responders: u64,
    responder_purchases: u64,
    responder_revenue: u64,
    gift_credited: u64,
    gift_redeemed: u64,
    gift_expired: u64,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.eligible += o.eligible;
        self.holdout += o.holdout;
        self.holdout_reachable += o.holdout_reachable;
        self.treated += o.treated;
        self.sent_email += o.sent_email;
        self.sent_sms += o.sent_sms;
        self.unreachable += o.unreachable;
        self.failed += o.failed;
        self.unknown += o.unknown;
        self.pending += o.pending;
        self.responders += o.responders;
        self.holdout_responders += o.holdout_responders;
        self.responder_purchases += o.responder_purchases;
        self.responder_revenue = self.responder_revenue.saturating_add(o.responder_revenue);
        self.gift_credited += o.gift_credited;
        self.gift_redeemed += o.gift_redeemed;
        self.gift_expired += o.gift_expired;
    }
}

/// A receipt counts as a purchase unless it was refunded in full.
fn is_purchase(r: &Receipt) -> bool {
    !(r.amount_minor > 0 && r.refund.refunded_minor >= r.amount_minor)
}

/// Revenue of a receipt: refunds subtracted.
fn net_revenue(r: &Receipt) -> u64 {
    r.amount_minor.saturating_sub(r.refund.refunded_minor)
}

/// Points a receipt took from `lot` and kept: refunds restore spent points to the
/// receipt's lots in lot order (as `decide_refund` does), so the first `restored` points
/// in that order came back.
fn kept_from_lot(r: &Receipt, lot: &LotKey) -> u64 {
    let mut restored = r.refund.restored;
    for (key, taken) in &r.redeemed_from {
        let back = restored.min(*taken);
        restored -= back;
        if key == lot {
            return taken - back;
        }
    }
    0
}

/// `n / d` rounded to the nearest integer, halves up (`d > 0`, `n >= 0`).
fn div_round(n: u128, d: u128) -> u128 {
    (2 * n + d) / (2 * d)
}

/// `n / d` rounded to the nearest integer, halves away from zero (`d > 0`).
fn div_round_signed(n: i128, d: i128) -> i128 {
    let q = div_round(n.unsigned_abs(), d.unsigned_abs()) as i128;
    if n < 0 {
        -q
    } else {
        q
    }
}

fn to_i64(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

fn avg(total: u64, count: u64) -> Option<u64> {
    (count > 0).then(|| div_round(total.into(), count.into()) as u64)
}

fn rate(x: u64, n: u64) -> Option<f64> {
    (n > 0).then(|| x as f64 / n as f64)
}

/// Incremental revenue: `revenue × (x_t·n_h − x_h·n_t) / (n_h·x_t)`, which is
/// lift × n_t × revenue / x_t, exactly, rounded halves away from zero.
fn incremental(revenue: u64, x_t: u64, n_t: u64, x_h: u64, n_h: u64) -> Option<i64> {
    if n_t == 0 || n_h == 0 {
        return None;
    }
    let extra = i128::from(x_t) * i128::from(n_h) - i128::from(x_h) * i128::from(n_t);
    if extra == 0 {
        return Some(0);
    }
    if x_t == 0 {
        return None;
    }
    let n = i128::from(revenue).checked_mul(extra)?;
    Some(to_i64(div_round_signed(n, i128::from(n_h) * i128::from(x_t))))
}

fn make_row(trigger: &str, attribution_days: Option<u32>, t: &Tally, all_avg: Option<u64>, point_value: u64) -> TriggerRow {
    let ci = newcombe(t.responders, t.treated, t.holdout_responders, t.holdout_reachable);
    let lift = match (rate(t.responders, t.treated), rate(t.holdout_responders, t.holdout_reachable)) {
        (Some(a), Some(b)) => Some((a - b) * 100.0),
        _ => None,
    };
    let incremental =
        incremental(t.responder_revenue, t.responders, t.treated, t.holdout_responders, t.holdout_reachable);
    let gift_cost = t.gift_redeemed.saturating_mul(point_value);
    TriggerRow {
        trigger: trigger.to_owned(),
        attribution_days,
        eligible: t.eligible,
        holdout: t.holdout,
        holdout_reachable: t.holdout_reachable,
        treated: t.treated,
        sent_email: t.sent_email,
        sent_sms: t.sent_sms,
        unreachable: t.unreachable,
        failed: t.failed,
        unknown: t.unknown,
        pending: t.pending,
        responders: t.responders,
        response_rate: rate(t.responders, t.treated),
        holdout_responders: t.holdout_responders,
        holdout_response_rate: rate(t.holdout_responders, t.holdout_reachable),
        lift_pp: lift,
        lift_ci_low_pp: ci.map(|c| c.low * 100.0),
        lift_ci_high_pp: ci.map(|c| c.high * 100.0),
        verdict: verdict(t.responders, t.treated, t.holdout_responders, t.holdout_reachable),
        responder_purchases: t.responder_purchases,
        responder_revenue_minor: t.responder_revenue,
        responder_avg_check_minor: avg(t.responder_revenue, t.responder_purchases),
        all_avg_check_minor: all_avg,
        incremental_revenue_minor: incremental,
        gift_points_credited: t.gift_credited,
        gift_points_redeemed: t.gift_redeemed,
        gift_points_expired: t.gift_expired,
        gift_cost_minor: gift_cost,
        net_minor: incremental.map(|i| to_i64(i128::from(i) - i128::from(gift_cost))),
    }
}

/// Computes the report (see the module documentation for the definitions).
pub fn compute(input: ReportInput<'_>) -> Report {
    let ReportInput { config, from, to, today, outcomes, receipts } = input;

    // Every receipt by customer, in date order.
    let mut by_customer: HashMap<&CustomerId, Vec<&Receipt>> = HashMap::new();
    for r in receipts {
        by_customer.entry(&r.customer_id).or_default().push(r);
    }
    for list in by_customer.values_mut() {
        list.sort_by_key(|r| r.local_date);
    }
    let no_receipts: Vec<&Receipt> = Vec::new();

    let index = |kind: TriggerKind| TriggerKind::ALL.iter().position(|k| *k == kind).expect("in ALL");
    let mut tallies = [Tally::default(); TriggerKind::ALL.len()];
    // Gift lots per trigger: (customer, lot) → points credited by outcomes of the period.
    let mut gift_lots: [BTreeMap<(&CustomerId, LotKey), u64>; TriggerKind::ALL.len()] = Default::default();
    let mut days: BTreeMap<NaiveDate, (u64, u64)> = BTreeMap::new();

    for o in outcomes.iter().filter(|o| from <= o.sweep_date && o.sweep_date <= to) {
        let trigger = o.key.trigger;
        let t = &mut tallies[index(trigger)];
        t.eligible += 1;
        match o.status {
            OutcomeStatus::Holdout => {
                t.holdout += 1;
                if o.unreachable.is_none() {
                    t.holdout_reachable += 1;
                }
            }
            OutcomeStatus::Sent => {
                t.treated += 1;
                let day = days.entry(o.sweep_date).or_default();
                match o.channel {
                    Some(Channel::Email) => {
                        t.sent_email += 1;
                        day.0 += 1;
                    }
                    Some(Channel::Sms) => {
                        t.sent_sms += 1;
                        day.1 += 1;
                    }
                    None => {}
                }
            }
            OutcomeStatus::Unreachable => t.unreachable += 1,
            OutcomeStatus::Failed => t.failed += 1,
            OutcomeStatus::Unknown => t.unknown += 1,
            OutcomeStatus::Pending | OutcomeStatus::Sending => t.pending += 1,
        }
        let list = by_customer.get(&o.key.customer_id).unwrap_or(&no_receipts);
        let in_control = o.status == OutcomeStatus::Holdout && o.unreachable.is_none();
        if o.status == OutcomeStatus::Sent || in_control {
            let end = add_days(o.sweep_date, config.trigger(trigger).attribution_days);
            let start = list.partition_point(|r| r.local_date < o.sweep_date);
            let in_window = list[start..].iter().take_while(|r| r.local_date < end).filter(|r| is_purchase(r));
            let (mut purchases, mut revenue) = (0u64, 0u64);
            for r in in_window {
                purchases += 1;
                revenue = revenue.saturating_add(net_revenue(r));
            }
            if purchases > 0 {
                if o.status == OutcomeStatus::Holdout {
                    t.holdout_responders += 1;
                } else {
                    t.responders += 1;
                    t.responder_purchases += purchases;
                    t.responder_revenue = t.responder_revenue.saturating_add(revenue);
                }
            }
        }
        if o.status != OutcomeStatus::Holdout && o.gift_points > 0 {
            if let Some(expires_on) = o.gift_expires_on {
                let lot = LotKey::gift(expires_on, trigger);
                *gift_lots[index(trigger)].entry((&o.key.customer_id, lot)).or_default() += o.gift_points;
            }
        }
    }

    for (i, lots) in gift_lots.iter().enumerate() {
        let t = &mut tallies[i];
        for ((customer, lot), credited) in lots {
            let list = by_customer.get(customer).unwrap_or(&no_receipts);
            let redeemed: u64 = list.iter().map(|r| kept_from_lot(r, lot)).sum::<u64>().min(*credited);
            t.gift_credited += credited;
            t.gift_redeemed += redeemed;
            if lot.expires_on <= today {
                t.gift_expired += credited - redeemed;
            }
        }
    }

    let (mut all_purchases, mut all_revenue) = (0u64, 0u64);
    for r in receipts.iter().filter(|r| from <= r.local_date && r.local_date <= to && is_purchase(r)) {
        all_purchases += 1;
        all_revenue = all_revenue.saturating_add(net_revenue(r));
    }
    let all_avg = avg(all_revenue, all_purchases);

    let point_value = config.point_value_minor;
    let mut rows = Vec::with_capacity(TriggerKind::ALL.len() + 1);
    let mut total = Tally::default();
    for (kind, t) in TriggerKind::ALL.into_iter().zip(&tallies) {
        rows.push(make_row(kind.as_str(), Some(config.trigger(kind).attribution_days), t, all_avg, point_value));
        total.add(t);
    }
    let windows: Vec<u32> = TriggerKind::ALL.iter().map(|k| config.trigger(*k).attribution_days).collect();
    let common_window = windows.iter().all(|w| *w == windows[0]).then_some(windows[0]);
    rows.push(make_row("total", common_window, &total, all_avg, point_value));

    let messages_per_day = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| {
            let (email, sms) = days.get(&d).copied().unwrap_or_default();
            (d, email, sms)
        })
        .collect();

    Report {
        from,
        to,
        today,
        rows,
        all_purchases,
        all_revenue_minor: all_revenue,
        all_avg_check_minor: all_avg,
        messages_per_day,
    }
}

/// Money in minor units as major units with 2 decimals: `-1234.50`.
pub fn format_money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

pub(crate) fn format_money_u(minor: u64) -> String {
    format_money(i64::try_from(minor).unwrap_or(i64::MAX))
}

/// A fraction as a percentage with one decimal: `12.3%`; `n/a` for none.
pub fn format_rate(rate: Option<f64>) -> String {
    rate.map_or_else(|| "n/a".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// Percentage points, signed, one decimal: `+3.4`.
pub(crate) fn format_pp(pp: f64) -> String {
    // -0.0 and tiny negatives print as 0.0, not -0.0.
    let pp = if pp.abs() < 0.05 { 0.0 } else { pp };
    format!("{pp:+.1}")
}

/// The title a shop owner reads for a row's `trigger`.
pub fn row_title(trigger: &str) -> &str {
    match trigger {
        "lapsed_30" => "Lapsed 30 days",
        "lapsed_60" => "Lapsed 60 days",
        "lapsed_90" => "Lapsed 90 days",
        "birthday" => "Birthday",
        "points_expiring" => "Points expiring",
        "total" => "All triggers",
        other => other,
    }
}

/// Which line of the shared table a [`TableLine`] is (the HTML styles some).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineKind {
    Count,
    Detail,
    Verdict,
    Money,
}

/// One line of the report table: a label and one cell per row (trigger columns).
pub(crate) struct TableLine {
    pub label: String,
    pub kind: LineKind,
    pub cells: Vec<String>,
}

impl Report {
    /// The table both the terminal and the HTML page show: metrics down, triggers across.
    pub(crate) fn table_lines(&self, currency: &str) -> Vec<TableLine> {
        let na = || "n/a".to_owned();
        let money = |v: Option<i64>| v.map_or_else(na, format_money);
        let money_u = |v: Option<u64>| v.map_or_else(na, format_money_u);
        let line = |label: String, kind: LineKind, f: &dyn Fn(&TriggerRow) -> String| TableLine {
            label,
            kind,
            cells: self.rows.iter().map(f).collect(),
        };
        let c = currency;
        vec![
            line("Eligible customers".into(), LineKind::Count, &|r| r.eligible.to_string()),
            line("  held out".into(), LineKind::Detail, &|r| r.holdout.to_string()),
            line("    of them reachable (control group)".into(), LineKind::Detail, &|r| r.holdout_reachable.to_string()),
            line("  sent by email".into(), LineKind::Detail, &|r| r.sent_email.to_string()),
            line("  sent by SMS".into(), LineKind::Detail, &|r| r.sent_sms.to_string()),
            line("  unreachable".into(), LineKind::Detail, &|r| r.unreachable.to_string()),
            line("  failed".into(), LineKind::Detail, &|r| r.failed.to_string()),
            line("  unknown (cut off mid-send)".into(), LineKind::Detail, &|r| r.unknown.to_string()),
            line("  still pending".into(), LineKind::Detail, &|r| r.pending.to_string()),
            line("Window, days after sending".into(), LineKind::Detail, &|r| {
                r.attribution_days.map_or_else(|| "mixed".to_owned(), |d| d.to_string())
            }),
            line("Bought (messaged)".into(), LineKind::Count, &|r| format!("{} of {}", r.responders, r.treated)),
            line("  response rate".into(), LineKind::Detail, &|r| format_rate(r.response_rate)),
            line("Bought (held out)".into(), LineKind::Count, &|r| {
                format!("{} of {}", r.holdout_responders, r.holdout_reachable)
            }),
            line("  response rate".into(), LineKind::Detail, &|r| format_rate(r.holdout_response_rate)),
            line("Lift, percentage points".into(), LineKind::Count, &|r| r.lift_pp.map_or_else(na, format_pp)),
            line("  95% confidence interval".into(), LineKind::Detail, &|r| {
                match (r.lift_ci_low_pp, r.lift_ci_high_pp) {
                    (Some(l), Some(h)) => format!("{} to {}", format_pp(l), format_pp(h)),
                    _ => na(),
                }
            }),
            line("Verdict".into(), LineKind::Verdict, &|r| r.verdict.words().to_owned()),
            line(format!("Revenue of responders, {c}"), LineKind::Money, &|r| format_money_u(r.responder_revenue_minor)),
            line(format!("  their average check, {c}"), LineKind::Detail, &|r| money_u(r.responder_avg_check_minor)),
            line(format!("  average check, all purchases, {c}"), LineKind::Detail, &|r| {
                money_u(r.all_avg_check_minor)
            }),
            line(format!("Extra revenue (estimate), {c}"), LineKind::Money, &|r| money(r.incremental_revenue_minor)),
            line("Gift points credited".into(), LineKind::Count, &|r| r.gift_points_credited.to_string()),
            line("  redeemed".into(), LineKind::Detail, &|r| r.gift_points_redeemed.to_string()),
            line("  expired".into(), LineKind::Detail, &|r| r.gift_points_expired.to_string()),
            line(format!("Cost of redeemed gifts, {c}"), LineKind::Money, &|r| format_money_u(r.gift_cost_minor)),
            line(format!("Net (extra revenue - gift cost), {c}"), LineKind::Money, &|r| money(r.net_minor)),
        ]
    }

    /// A terminal table: metrics down, triggers across, money in major units with 2
    /// decimals (`currency` names them), the verdict in words, then how to read it.
    pub fn to_table(&self, currency: &str) -> String {
        let lines = self.table_lines(currency);
        let headers: Vec<&str> = self.rows.iter().map(|r| row_title(&r.trigger)).collect();
        let width = |s: &str| s.chars().count();
        let label_w = lines.iter().map(|l| width(&l.label)).max().unwrap_or(0);
        let col_w: Vec<usize> = (0..headers.len())
            .map(|i| lines.iter().map(|l| width(&l.cells[i])).chain([width(headers[i])]).max().unwrap_or(0))
            .collect();
        let pad_left = |s: &str, w: usize| format!("{}{s}", " ".repeat(w.saturating_sub(width(s))));
        let pad_right = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(width(s))));

        let mut out = String::new();
        out.push_str(&format!("Trigger report, messages sent {} to {}\n", self.from, self.to));
        out.push_str(&format!(
            "All purchases in the period: {}, average check {} {currency}\n\n",
            self.all_purchases,
            self.all_avg_check_minor.map_or_else(|| "n/a".to_owned(), format_money_u)
        ));
        let mut header = pad_right("", label_w);
        for (h, w) in headers.iter().zip(&col_w) {
            header.push_str("  ");
            header.push_str(&pad_left(h, *w));
        }
        out.push_str(header.trim_end());
        out.push('\n');
        out.push_str(&"-".repeat(label_w + col_w.iter().map(|w| w + 2).sum::<usize>()));
        out.push('\n');
        for line in &lines {
            let mut text = pad_right(&line.label, label_w);
            for (cell, w) in line.cells.iter().zip(&col_w) {
                text.push_str("  ");
                text.push_str(&pad_left(cell, *w));
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out.push('\n');
        for note in NOTES {
            out.push_str(note);
            out.push('\n');
        }
        out
    }

    /// CSV (RFC 4180): a header of [`CSV_COLUMNS`] and one line per row, CRLF line ends,
    /// empty fields for `null`, rates as fractions, money in minor units.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let line = |fields: Vec<String>| {
            fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",") + "\r\n"
        };
        out.push_str(&line(CSV_COLUMNS.iter().map(|c| c.to_string()).collect()));
        for row in &self.rows {
            out.push_str(&line(row.csv_fields()));
        }
        out
    }

    /// The whole report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }
}

/// How to read the table, in plain words (terminal and HTML).
pub(crate) const NOTES: [&str; 6] = [
    "Bought: the customer made a purchase from the send date until the window closes (window days after sending, send day included). The control group was held out: same conditions, no message, no gift.",
    "Lift: how many more customers out of 100 bought because of the message (messaged minus held out). The 95% interval is the range the true lift is likely in (Newcombe hybrid score method).",
    "Verdict: 'works' if the whole interval is above 0, 'hurts' if below 0, 'no measurable effect' if it contains 0, 'not enough data' with fewer than 30 customers or fewer than 5 buyers or non-buyers in either group.",
    "Extra revenue is an estimate: lift x customers messaged x revenue per buyer. It is only as sure as the lift.",
    "Gift cost counts gift points actually spent, at the value of a point; expired gift points cost nothing.",
    "Refunded amounts are subtracted; a purchase refunded in full does not count. A customer messaged twice counts twice.",
];

/// One CSV field, quoted per RFC 4180 when it holds a comma, a quote or a line break.
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::Channel;
    use crate::ids::{Currency, ReceiptId, StoreId};
    use crate::purchase::RefundProgress;
    use crate::sweep::{Episode, OutcomeKey};
    use chrono::{DateTime, FixedOffset};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.00005
    }

    fn outcome(customer: &str, trigger: TriggerKind, sweep: &str, status: OutcomeStatus) -> Outcome {
        let sweep_date = d(sweep);
        let sent = status == OutcomeStatus::Sent;
        Outcome {
            key: OutcomeKey {
                customer_id: CustomerId::parse(customer).unwrap(),
                trigger,
                episode: Episode::Lapse(sweep_date),
            },
            sweep_date,
            status,
            channel: sent.then_some(Channel::Email),
            unreachable: None,
            gift_points: 0,
            gift_expires_on: None,
            expiring_points: 0,
            decided_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            sent_at: None,
            error: None,
        }
    }

    fn gifted(mut o: Outcome, points: u64, expires: &str) -> Outcome {
        o.gift_points = points;
        o.gift_expires_on = Some(d(expires));
        o
    }

    fn receipt(id: &str, customer: &str, date: &str, amount: u64) -> Receipt {
        let occurred_at: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(&format!("{date}T12:00:00+03:00")).unwrap();
        Receipt {
            receipt_id: ReceiptId::parse(id).unwrap(),
            customer_id: CustomerId::parse(customer).unwrap(),
            amount_minor: amount,
            currency: Currency::parse("RUB").unwrap(),
            occurred_at,
            local_date: d(date),
            store_id: StoreId::parse("s1").unwrap(),
            redeem_points: 0,
            points_earned: 0,
            earned_lot: LotKey::earned(d("2030-01-01")),
            redeemed_from: BTreeMap::new(),
            balance_after: 0,
            recorded_at: "2026-12-31T00:00:00Z".parse().unwrap(),
            refund: RefundProgress::default(),
        }
    }

    fn run(cfg: &ProgramConfig, from: &str, to: &str, today: &str, outcomes: &[Outcome], receipts: &[Receipt]) -> Report {
        compute(ReportInput { config: cfg, from: d(from), to: d(to), today: d(today), outcomes, receipts })
    }

    fn row<'a>(r: &'a Report, trigger: &str) -> &'a TriggerRow {
        r.rows.iter().find(|x| x.trigger == trigger).unwrap()
    }

    #[test]
    fn wilson_matches_newcombe_1998_single_proportion_examples() {
        // Newcombe (1998), "Two-sided confidence intervals for the single proportion",
        // Stat Med 17:857-872, score method without continuity correction.
        for (x, n, low, high) in [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
        ] {
            let w = wilson(x, n).unwrap();
            assert!(close(w.low, low) && close(w.high, high), "{x}/{n}: {w:?}");
        }
        assert_eq!(wilson(0, 0), None);
    }

    #[test]
    fn newcombe_matches_the_published_method_10_intervals() {
        // Newcombe (1998), "Interval estimation for the difference between independent
        // proportions", Stat Med 17:873-890, Table II, method 10.
        for (a, m, b, n, low, high) in [
            (56, 70, 48, 80, 0.0524, 0.3339),
            (9, 10, 3, 10, 0.1705, 0.8090),
            (6, 7, 2, 7, 0.0582, 0.8062),
            (5, 56, 0, 29, -0.0381, 0.1926),
            (0, 10, 0, 20, -0.1611, 0.2775),
            (0, 10, 0, 10, -0.2775, 0.2775),
            (10, 10, 0, 20, 0.6791, 1.0),
            (10, 10, 0, 10, 0.6075, 1.0),
        ] {
            let ci = newcombe(a, m, b, n).unwrap();
            assert!(close(ci.low, low) && close(ci.high, high), "{a}/{m} - {b}/{n}: {ci:?}");
        }
        assert_eq!(newcombe(1, 10, 0, 0), None);
    }

    #[test]
    fn verdict_thresholds() {
        // Too few in a group, or too few responders / non-responders.
        assert_eq!(verdict(20, 29, 5, 100), Verdict::NotEnoughData);
        assert_eq!(verdict(20, 100, 5, 29), Verdict::NotEnoughData);
        assert_eq!(verdict(4, 100, 5, 100), Verdict::NotEnoughData);
        assert_eq!(verdict(96, 100, 50, 100), Verdict::NotEnoughData, "4 non-responders");
        assert_eq!(verdict(50, 100, 4, 100), Verdict::NotEnoughData);
        assert_eq!(verdict(0, 0, 0, 0), Verdict::NotEnoughData);
        // At the thresholds a verdict is given.
        assert_eq!(verdict(25, 30, 5, 30), Verdict::Works);
        assert_eq!(verdict(5, 30, 25, 30), Verdict::Hurts);
        assert_eq!(verdict(12, 100, 10, 100), Verdict::NoMeasurableEffect);
        // 56/70 vs 48/80: interval 5.2 to 33.4 pp.
        assert_eq!(verdict(56, 70, 48, 80), Verdict::Works);
        assert_eq!(verdict(48, 80, 56, 70), Verdict::Hurts);
        assert_eq!(Verdict::NoMeasurableEffect.words(), "no measurable effect");
        assert_eq!(serde_json::to_value(Verdict::NotEnoughData).unwrap(), "not_enough_data");
    }

    #[test]
    fn the_attribution_window_is_send_date_inclusive_to_send_date_plus_days_exclusive() {
        let cfg = ProgramConfig::defaults(); // attribution_days = 14
        let t = TriggerKind::Lapsed30;
        let outcomes = [
            outcome("on-day", t, "2026-11-01", OutcomeStatus::Sent),
            outcome("last-day", t, "2026-11-01", OutcomeStatus::Sent),
            outcome("too-late", t, "2026-11-01", OutcomeStatus::Sent),
            outcome("too-early", t, "2026-11-01", OutcomeStatus::Sent),
            outcome("backdated", t, "2026-11-01", OutcomeStatus::Sent),
            outcome("h-on-day", t, "2026-11-01", OutcomeStatus::Holdout),
            outcome("h-too-late", t, "2026-11-01", OutcomeStatus::Holdout),
        ];
        let mut backdated = receipt("r5", "backdated", "2026-11-05", 500);
        // Uploaded weeks later, after the window closed: it counts by when it happened.
        backdated.recorded_at = "2026-12-20T00:00:00Z".parse().unwrap();
        // 22:30 UTC on 14 Nov is 01:30 on 15 Nov in Moscow: outside the window.
        let mut late_local = receipt("r6", "too-late", "2026-11-15", 700);
        late_local.occurred_at = DateTime::parse_from_rfc3339("2026-11-15T01:30:00+03:00").unwrap();
        let receipts = [
            receipt("r1", "on-day", "2026-11-01", 100),
            receipt("r2", "last-day", "2026-11-14", 200),
            late_local,
            receipt("r4", "too-early", "2026-10-31", 400),
            backdated,
            receipt("r7", "h-on-day", "2026-11-01", 100),
            receipt("r8", "h-too-late", "2026-11-15", 100),
        ];
        let report = run(&cfg, "2026-11-01", "2026-11-01", "2026-12-31", &outcomes, &receipts);
        let r = row(&report, "lapsed_30");
        assert_eq!((r.treated, r.responders), (5, 3));
        assert_eq!(r.responder_revenue_minor, 100 + 200 + 500);
        assert_eq!((r.holdout, r.holdout_responders), (2, 1));
        assert_eq!(r.attribution_days, Some(14));

        // The window follows the trigger's attribution_days.
        let cfg7 = ProgramConfig::from_toml_str("[triggers.lapsed_30]\nattribution_days = 7").unwrap();
        let r = run(&cfg7, "2026-11-01", "2026-11-01", "2026-12-31", &outcomes, &receipts);
        assert_eq!(row(&r, "lapsed_30").responders, 2, "on-day and backdated (5 Nov); 14 Nov is out");
        assert_eq!(row(&r, "total").attribution_days, None, "windows differ");
    }

    #[test]
    fn a_responder_counts_once_and_every_outcome_counts() {
        let cfg = ProgramConfig::defaults();
        let t = TriggerKind::PointsExpiring;
        let outcomes = [
            outcome("c1", t, "2026-11-01", OutcomeStatus::Sent),
            outcome("c1", t, "2026-11-05", OutcomeStatus::Sent),
        ];
        let receipts = [receipt("r1", "c1", "2026-11-06", 1000), receipt("r2", "c1", "2026-11-07", 3000)];
        let report = run(&cfg, "2026-11-01", "2026-11-30", "2026-12-31", &outcomes, &receipts);
        let r = row(&report, "points_expiring");
        assert_eq!((r.eligible, r.treated, r.responders), (2, 2, 2), "one per outcome");
        assert_eq!(r.responder_purchases, 4, "both purchases in both windows");
        assert_eq!(r.responder_revenue_minor, 8000);
        assert_eq!(r.responder_avg_check_minor, Some(2000));
    }

    #[test]
    fn refunds_are_subtracted_and_a_full_refund_is_no_purchase() {
        let cfg = ProgramConfig::defaults();
        let t = TriggerKind::Birthday;
        let outcomes = [
            outcome("c1", t, "2026-11-01", OutcomeStatus::Sent),
            outcome("c2", t, "2026-11-01", OutcomeStatus::Sent),
        ];
        let mut partly = receipt("r1", "c1", "2026-11-02", 10_000);
        partly.refund.refunded_minor = 2_500;
        let mut fully = receipt("r2", "c2", "2026-11-02", 5_000);
        fully.refund.refunded_minor = 5_000;
        let report = run(&cfg, "2026-11-01", "2026-11-30", "2026-12-31", &outcomes, &[partly, fully]);
        let r = row(&report, "birthday");
        assert_eq!(r.responders, 1);
        assert_eq!(r.responder_revenue_minor, 7_500);
        assert_eq!((report.all_purchases, report.all_revenue_minor, report.all_avg_check_minor), (1, 7_500, Some(7_500)));
    }

    #[test]
    fn gift_points_redeemed_and_expired_come_from_the_receipts_gift_lots() {
        let cfg = ProgramConfig::defaults(); // point_value_minor = 100
        let t = TriggerKind::Lapsed60;
        let lot1 = LotKey::gift(d("2026-12-01"), t);
        let lot2 = LotKey::gift(d("2026-12-20"), t);
        let outcomes = [
            gifted(outcome("c1", t, "2026-11-01", OutcomeStatus::Sent), 300, "2026-12-01"),
            gifted(outcome("c2", t, "2026-11-20", OutcomeStatus::Sent), 300, "2026-12-20"),
            gifted(outcome("c3", t, "2026-11-01", OutcomeStatus::Failed), 300, "2026-12-01"),
            // Not credited: held out (and a holdout never has a gift anyway).
            outcome("c4", t, "2026-11-01", OutcomeStatus::Holdout),
        ];
        let mut r1 = receipt("r1", "c1", "2026-11-03", 50_000);
        r1.redeemed_from = BTreeMap::from([(lot1, 100), (LotKey::earned(d("2027-01-01")), 40)]);
        let mut r2 = receipt("r2", "c1", "2026-11-10", 50_000);
        // 150 taken from the gift lot, then a refund gave 50 back (restores go in lot order).
        r2.redeemed_from = BTreeMap::from([(lot1, 150), (LotKey::earned(d("2027-01-01")), 10)]);
        r2.refund.restored = 50;
        r2.refund.refunded_minor = 10_000;
        // Same customer, another trigger's gift lot of the same date: not this trigger's.
        let mut r3 = receipt("r3", "c1", "2026-11-12", 50_000);
        r3.redeemed_from = BTreeMap::from([(LotKey::gift(d("2026-12-01"), TriggerKind::Lapsed90), 70)]);
        // Another customer spending "lot1": not c1's gift, c2's lot is lot2.
        let mut r4 = receipt("r4", "c2", "2026-11-25", 50_000);
        r4.redeemed_from = BTreeMap::from([(lot1, 999), (lot2, 120)]);
        // c3's message failed but the gift was credited; spent after `to`.
        let mut r5 = receipt("r5", "c3", "2026-11-30", 50_000);
        r5.redeemed_from = BTreeMap::from([(lot1, 300)]);
        let receipts = [r1, r2, r3, r4, r5];
        let report = run(&cfg, "2026-11-01", "2026-11-20", "2026-12-10", &outcomes, &receipts);
        let r = row(&report, "lapsed_60");
        assert_eq!(r.gift_points_credited, 900);
        // c1: 100 + (150 - 50) = 200; c2: 120 (lot2); c3: 300.
        assert_eq!(r.gift_points_redeemed, 620);
        // Only lot1 (1 Dec) has expired by 10 Dec: c1 100 left, c3 0 left; c2's lot is live.
        assert_eq!(r.gift_points_expired, 100);
        assert_eq!(r.gift_cost_minor, 620 * 100);
        assert_eq!(row(&report, "lapsed_90").gift_points_redeemed, 0);
        // Redeemed never exceeds what was credited to the lot.
        let mut greedy = receipt("r9", "c2", "2026-11-26", 50_000);
        greedy.redeemed_from = BTreeMap::from([(lot2, 500)]);
        let mut receipts = receipts.to_vec();
        receipts.push(greedy);
        let report = run(&cfg, "2026-11-01", "2026-11-20", "2026-12-31", &outcomes, &receipts);
        let r = row(&report, "lapsed_60");
        assert_eq!(r.gift_points_redeemed, 200 + 300 + 300);
        assert_eq!(r.gift_points_expired, 100, "lot2 fully spent; lot1 as before");
    }

    /// `n` outcomes of `status`, `responding` of them buying `amount` on the sweep date.
    fn group(prefix: &str, t: TriggerKind, date: &str, status: OutcomeStatus, n: usize, responding: usize, amount: u64) -> (Vec<Outcome>, Vec<Receipt>) {
        let outcomes = (0..n).map(|i| outcome(&format!("{prefix}{i}"), t, date, status)).collect();
        let receipts = (0..responding).map(|i| receipt(&format!("r-{prefix}{i}"), &format!("{prefix}{i}"), date, amount)).collect();
        (outcomes, receipts)
    }

    #[test]
    fn incremental_revenue_net_and_the_total_row_pool_the_counts() {
        let cfg = ProgramConfig::defaults();
        let mut outcomes = Vec::new();
        let mut receipts = Vec::new();
        for (prefix, t, status, n, x, amount) in [
            ("a", TriggerKind::Lapsed30, OutcomeStatus::Sent, 100, 20, 10_000),
            ("b", TriggerKind::Lapsed30, OutcomeStatus::Holdout, 100, 10, 10_000),
            ("c", TriggerKind::Birthday, OutcomeStatus::Sent, 50, 25, 3_000),
            ("d", TriggerKind::Birthday, OutcomeStatus::Holdout, 40, 8, 3_000),
            ("e", TriggerKind::Birthday, OutcomeStatus::Unreachable, 7, 0, 0),
            ("f", TriggerKind::Lapsed90, OutcomeStatus::Failed, 3, 0, 0),
        ] {
            let (o, r) = group(prefix, t, "2026-11-02", status, n, x, amount);
            outcomes.extend(o);
            receipts.extend(r);
        }
        let mut sms = outcome("g0", TriggerKind::Lapsed90, "2026-11-03", OutcomeStatus::Sent);
        sms.channel = Some(Channel::Sms);
        outcomes.push(sms);
        outcomes.push(outcome("h0", TriggerKind::Lapsed90, "2026-11-03", OutcomeStatus::Unknown));
        outcomes.push(outcome("h1", TriggerKind::Lapsed90, "2026-11-03", OutcomeStatus::Sending));
        let report = run(&cfg, "2026-11-01", "2026-11-03", "2026-12-31", &outcomes, &receipts);

        let l30 = row(&report, "lapsed_30");
        assert_eq!((l30.response_rate, l30.holdout_response_rate), (Some(0.2), Some(0.1)));
        assert!(close(l30.lift_pp.unwrap(), 10.0));
        // 10 pp × 100 treated × (200 000 / 20) = 100 000.
        assert_eq!(l30.incremental_revenue_minor, Some(100_000));
        assert_eq!(l30.net_minor, Some(100_000));
        // Birthday: 25/50 vs 8/40 → 30 pp × 50 × 3 000 = 45 000.
        let b = row(&report, "birthday");
        assert_eq!(b.incremental_revenue_minor, Some(45_000));
        assert_eq!(b.verdict, Verdict::Works);
        let l90 = row(&report, "lapsed_90");
        assert_eq!((l90.eligible, l90.failed, l90.sent_sms, l90.unknown, l90.pending), (6, 3, 1, 1, 1));
        assert_eq!((l90.response_rate, l90.holdout_response_rate, l90.lift_pp, l90.incremental_revenue_minor), (Some(0.0), None, None, None));
        assert_eq!(l90.verdict, Verdict::NotEnoughData);

        let total = row(&report, "total");
        assert_eq!(report.rows.len(), 6);
        assert_eq!(report.rows.last().unwrap().trigger, "total");
        let sum = |f: fn(&TriggerRow) -> u64| report.rows[..5].iter().map(f).sum::<u64>();
        assert_eq!(total.eligible, sum(|r| r.eligible));
        assert_eq!(total.eligible, 100 + 100 + 50 + 40 + 7 + 3 + 3);
        assert_eq!(total.holdout, sum(|r| r.holdout));
        assert_eq!(total.treated, sum(|r| r.treated));
        assert_eq!(total.sent_email, sum(|r| r.sent_email));
        assert_eq!(total.sent_sms, sum(|r| r.sent_sms));
        assert_eq!(total.unreachable, sum(|r| r.unreachable));
        assert_eq!(total.failed, sum(|r| r.failed));
        assert_eq!(total.unknown, sum(|r| r.unknown));
        assert_eq!(total.pending, sum(|r| r.pending));
        assert_eq!(total.responders, sum(|r| r.responders));
        assert_eq!(total.holdout_responders, sum(|r| r.holdout_responders));
        assert_eq!(total.responder_revenue_minor, sum(|r| r.responder_revenue_minor));
        assert_eq!(total.gift_points_credited, sum(|r| r.gift_points_credited));
        assert_eq!(total.gift_cost_minor, sum(|r| r.gift_cost_minor));
        // Rates and lift on the pooled counts: 45/151 vs 18/140.
        assert_eq!(total.response_rate, Some(45.0 / 151.0));
        let ci = newcombe(45, 151, 18, 140).unwrap();
        assert_eq!((total.lift_ci_low_pp, total.lift_ci_high_pp), (Some(ci.low * 100.0), Some(ci.high * 100.0)));
        assert_eq!(total.verdict, verdict(45, 151, 18, 140));

        assert_eq!(
            report.messages_per_day,
            vec![(d("2026-11-01"), 0, 0), (d("2026-11-02"), 150, 0), (d("2026-11-03"), 0, 1)]
        );
    }

    #[test]
    fn gift_cost_makes_net_and_rounding_is_explicit() {
        let cfg = ProgramConfig::defaults();
        let t = TriggerKind::Lapsed60;
        let lot = LotKey::gift(d("2026-12-02"), t);
        let (mut outcomes, mut receipts) = group("a", t, "2026-11-02", OutcomeStatus::Sent, 3, 2, 1_000);
        outcomes = outcomes.into_iter().map(|o| gifted(o, 300, "2026-12-02")).collect();
        receipts[0].redeemed_from = BTreeMap::from([(lot, 300)]);
        receipts.push(receipt("extra", "a1", "2026-11-03", 1_001));
        let (h, _) = group("b", t, "2026-11-02", OutcomeStatus::Holdout, 3, 0, 0);
        outcomes.extend(h);
        let report = run(&cfg, "2026-11-01", "2026-11-30", "2026-11-30", &outcomes, &receipts);
        let r = row(&report, "lapsed_60");
        // 3 001 revenue over 3 purchases: 1 000.33 → 1 000.
        assert_eq!(r.responder_avg_check_minor, Some(1_000));
        // lift 2/3 × 3 × 3 001 / 2 = 3 001 exactly.
        assert_eq!(r.incremental_revenue_minor, Some(3_001));
        assert_eq!(r.gift_cost_minor, 30_000);
        assert_eq!(r.net_minor, Some(3_001 - 30_000));
        assert_eq!(div_round_signed(-5, 2), -3, "halves away from zero");
        assert_eq!(div_round_signed(5, 2), 3);
        assert_eq!(incremental(10, 1, 3, 1, 2), Some(-5), "10 × (2 − 3) / 2 = −5");
        assert_eq!(incremental(0, 0, 10, 0, 10), Some(0), "no lift: no extra revenue");
        assert_eq!(incremental(0, 0, 10, 1, 10), None, "no responder to price a response");
    }

    #[test]
    fn outcomes_and_purchases_outside_the_period_are_left_out() {
        let cfg = ProgramConfig::defaults();
        let t = TriggerKind::Lapsed30;
        let outcomes = [
            outcome("c1", t, "2026-10-31", OutcomeStatus::Sent),
            outcome("c2", t, "2026-11-01", OutcomeStatus::Sent),
            outcome("c3", t, "2026-11-30", OutcomeStatus::Sent),
            outcome("c4", t, "2026-12-01", OutcomeStatus::Sent),
        ];
        let receipts = [
            receipt("r1", "c1", "2026-10-31", 1_000),
            receipt("r2", "c3", "2026-12-05", 2_000),
            receipt("r3", "c9", "2026-11-15", 4_000),
        ];
        let report = run(&cfg, "2026-11-01", "2026-11-30", "2026-12-31", &outcomes, &receipts);
        assert_eq!(row(&report, "lapsed_30").eligible, 2);
        assert_eq!(row(&report, "lapsed_30").responders, 1, "c3 bought after `to`, inside its window");
        assert_eq!((report.all_purchases, report.all_avg_check_minor), (1, Some(4_000)));
        assert_eq!(report.messages_per_day.len(), 30);
        assert_eq!(row(&report, "total").all_avg_check_minor, Some(4_000));
    }

    #[test]
    fn json_uses_the_public_names_and_nulls_for_empty_groups() {
        let report = run(&ProgramConfig::defaults(), "2026-11-01", "2026-11-02", "2026-11-02", &[], &[]);
        let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        let names: Vec<&str> = v["rows"].as_array().unwrap().iter().map(|r| r["trigger"].as_str().unwrap()).collect();
        assert_eq!(names, ["lapsed_30", "lapsed_60", "lapsed_90", "birthday", "points_expiring", "total"]);
        let first = &v["rows"][0];
        assert!(first["response_rate"].is_null() && first["lift_pp"].is_null() && first["net_minor"].is_null());
        assert_eq!(first["verdict"], "not_enough_data");
        assert_eq!(v["messages_per_day"][1], serde_json::json!({"date": "2026-11-02", "email": 0, "sms": 0}));
        // The CSV columns are exactly the JSON fields, in declaration order.
        let keys: std::collections::BTreeSet<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, CSV_COLUMNS.iter().copied().collect());
        let back: TriggerRow = serde_json::from_value(first.clone()).unwrap();
        assert_eq!(&back, &report.rows[0]);
    }

    #[test]
    fn csv_has_a_header_and_one_line_per_row_quoted_per_rfc_4180() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field(""), "");
        let mut report = run(&ProgramConfig::defaults(), "2026-11-01", "2026-11-01", "2026-11-01", &[], &[]);
        report.rows[0].trigger = "odd, \"name\"".into();
        let csv = report.to_csv();
        let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 7);
        assert_eq!(lines[0], CSV_COLUMNS.join(","));
        assert!(lines[1].starts_with("\"odd, \"\"name\"\"\",14,0,"), "{}", lines[1]);
        assert!(lines[6].starts_with("total,14,0,"));
        assert_eq!(lines[6].split(',').count(), CSV_COLUMNS.len());
        assert!(csv.ends_with("\r\n"));
    }

    #[test]
    fn the_table_shows_money_in_major_units_and_the_verdict_in_words() {
        let cfg = ProgramConfig::defaults();
        let mut outcomes = Vec::new();
        let mut receipts = Vec::new();
        for (prefix, status, x) in [("a", OutcomeStatus::Sent, 60), ("b", OutcomeStatus::Holdout, 10)] {
            let (o, r) = group(prefix, TriggerKind::Birthday, "2026-11-02", status, 100, x, 123_456);
            outcomes.extend(o);
            receipts.extend(r);
        }
        let table = run(&cfg, "2026-11-01", "2026-11-30", "2026-12-31", &outcomes, &receipts).to_table("RUB");
        assert!(table.contains("Birthday") && table.contains("All triggers"), "{table}");
        assert!(table.contains("1234.56"), "{table}");
        assert!(table.contains("works") && table.contains("not enough data"), "{table}");
        assert!(table.contains("60 of 100") && table.contains("60.0%") && table.contains("+50.0"), "{table}");
        assert!(table.contains(", RUB"));
        assert_eq!(format_money(-5), "-0.05");
        assert_eq!(format_money(123_456), "1234.56");
        assert_eq!(format_pp(-0.0001), "+0.0");
    }
    #[test]
    fn holdouts_that_could_not_have_been_reached_are_not_in_the_control_group() {
        let cfg = ProgramConfig::defaults();
        let t = TriggerKind::Lapsed60;
        let mut unreachable = outcome("h-none", t, "2026-11-01", OutcomeStatus::Holdout);
        unreachable.unreachable = Some(crate::sweep::Unreachable::NoChannel);
        let outcomes = vec![
            outcome("s1", t, "2026-11-01", OutcomeStatus::Sent),
            outcome("h1", t, "2026-11-01", OutcomeStatus::Holdout),
            unreachable,
        ];
        let report = compute(ReportInput {
            config: &cfg,
            from: d("2026-11-01"),
            to: d("2026-11-30"),
            today: d("2026-12-31"),
            outcomes: &outcomes,
            receipts: &[],
        });
        let row = &report.rows[TriggerKind::ALL.iter().position(|k| *k == t).unwrap()];
        assert_eq!((row.holdout, row.holdout_reachable, row.treated), (2, 1, 1));
        assert_eq!(row.holdout_response_rate, Some(0.0));
    }

}
