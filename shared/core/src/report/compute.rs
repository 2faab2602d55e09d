//! The report's arithmetic: outcomes joined with the receipts of their attribution windows
//! (see the module documentation of `report` for every definition).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::domain::config::ProgramConfig;
use crate::domain::ids::CustomerId;
use crate::domain::kinds::{Channel, TriggerKind};
use crate::domain::ledger::{add_days, LotKey, LotSource};
use crate::domain::purchase::Receipt;
use crate::domain::triggers::{Outcome, OutcomeStatus};
use super::{Report, ReportInput, TriggerRow};
use super::points::points_summary;
use super::stats::{newcombe, verdict};
use super::stores::store_rows;

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
    capped: u64,
    expired: u64,
    cancelled: u64,
    suppressed: u64,
    responders: u64,
    holdout_responders: u64,
    responder_purchases: u64,
    responder_revenue: u64,
    gift_credited: u64,
    gift_redeemed: u64,
    gift_expired: u64,
    reminded_spent: u64,
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
        self.capped += o.capped;
        self.expired += o.expired;
        self.cancelled += o.cancelled;
        self.suppressed += o.suppressed;
        self.responders += o.responders;
        self.holdout_responders += o.holdout_responders;
        self.responder_purchases += o.responder_purchases;
        self.responder_revenue = self.responder_revenue.saturating_add(o.responder_revenue);
        self.gift_credited += o.gift_credited;
        self.gift_redeemed += o.gift_redeemed;
        self.gift_expired += o.gift_expired;
        self.reminded_spent += o.reminded_spent;
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

/// The ordinary points a points_expiring warning was about (lots burning after its send date
/// and within the trigger's cooldown) that the customer spent in the warning's window, net of
/// refunds, at most the points the warning named. Not lift-adjusted: some of them would have
/// been spent anyway, so this errs on the side of cost.
fn reminded_points_spent<'r>(
    config: &ProgramConfig,
    o: &Outcome,
    window: impl Iterator<Item = &'r &'r Receipt>,
) -> u64 {
    let cooldown = config.trigger(TriggerKind::PointsExpiring).cooldown_days.unwrap_or(0);
    let last_burn = add_days(o.sweep_date, cooldown);
    let spent: u64 = window
        .flat_map(|r| {
            r.redeemed_from
                .keys()
                .filter(|lot| lot.source == LotSource::Earned && o.sweep_date < lot.expires_on && lot.expires_on <= last_burn)
                .map(move |lot| kept_from_lot(r, lot))
        })
        .fold(0u64, u64::saturating_add);
    spent.min(o.expiring_points)
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

/// What a row's costs are priced at.
#[derive(Clone, Copy)]
struct Prices {
    point_value: u64,
    email: u64,
    sms: u64,
}

fn make_row(trigger: &str, attribution_days: Option<u32>, t: &Tally, all_avg: Option<u64>, prices: Prices) -> TriggerRow {
    let ci = newcombe(t.responders, t.treated, t.holdout_responders, t.holdout_reachable);
    let lift = match (rate(t.responders, t.treated), rate(t.holdout_responders, t.holdout_reachable)) {
        (Some(a), Some(b)) => Some((a - b) * 100.0),
        _ => None,
    };
    let incremental =
        incremental(t.responder_revenue, t.responders, t.treated, t.holdout_responders, t.holdout_reachable);
    let gift_cost = t.gift_redeemed.saturating_mul(prices.point_value);
    let reminded_cost = t.reminded_spent.saturating_mul(prices.point_value);
    let message_cost = t.sent_email.saturating_mul(prices.email).saturating_add(t.sent_sms.saturating_mul(prices.sms));
    let costs = i128::from(gift_cost) + i128::from(reminded_cost) + i128::from(message_cost);
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
        capped: t.capped,
        expired: t.expired,
        cancelled: t.cancelled,
        suppressed: t.suppressed,
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
        reminded_points_spent: t.reminded_spent,
        reminded_points_cost_minor: reminded_cost,
        message_cost_minor: message_cost,
        net_minor: incremental.map(|i| to_i64(i128::from(i) - costs)),
    }
}

/// Computes the report (see the module documentation for the definitions).
pub fn compute(input: ReportInput<'_>) -> Report {
    let ReportInput { config, from, to, today, outcomes, receipts, book } = input;

    // Every receipt by customer, in date order.
    let mut by_customer: HashMap<&CustomerId, Vec<&Receipt>> = HashMap::new();
    for r in receipts {
        by_customer.entry(&r.customer_id).or_default().push(r);
    }
    for list in by_customer.values_mut() {
        // Ties in a stable order: the first purchase of a window names the responder's store.
        list.sort_by(|a, b| (a.local_date, a.occurred_at, &a.receipt_id).cmp(&(b.local_date, b.occurred_at, &b.receipt_id)));
    }
    let no_receipts: Vec<&Receipt> = Vec::new();

    let index = |kind: TriggerKind| TriggerKind::ALL.iter().position(|k| *k == kind).expect("in ALL");
    let mut tallies = [Tally::default(); TriggerKind::ALL.len()];
    // Gift lots per trigger: (customer, lot) → points credited by outcomes of the period.
    let mut gift_lots: [BTreeMap<(&CustomerId, LotKey), u64>; TriggerKind::ALL.len()] = Default::default();
    let mut days: BTreeMap<NaiveDate, (u64, u64)> = BTreeMap::new();
    let mut days_by_trigger: BTreeMap<NaiveDate, [u64; TriggerKind::ALL.len()]> = BTreeMap::new();
    // Treated responders by the store of their first purchase in the window.
    let mut responders_by_store: BTreeMap<String, u64> = BTreeMap::new();

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
                if o.channel.is_some() {
                    days_by_trigger.entry(o.sweep_date).or_default()[index(trigger)] += 1;
                }
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
            OutcomeStatus::Capped => t.capped += 1,
            OutcomeStatus::Expired => t.expired += 1,
            OutcomeStatus::Cancelled => t.cancelled += 1,
            OutcomeStatus::Suppressed => t.suppressed += 1,
        }
        // Intent to treat: a decision meant for a message stays treated when the second look
        // then stopped it, or the treated group would lose exactly the customers who came
        // back on their own (and the lift would be biased).
        let stopped_after_the_split = o.treated
            && matches!(o.status, OutcomeStatus::Cancelled | OutcomeStatus::Expired | OutcomeStatus::Suppressed);
        if stopped_after_the_split {
            t.treated += 1;
        }
        let list = by_customer.get(&o.key.customer_id).unwrap_or(&no_receipts);
        let in_control = o.status == OutcomeStatus::Holdout && o.unreachable.is_none();
        if o.status == OutcomeStatus::Sent || stopped_after_the_split || in_control {
            let end = add_days(o.sweep_date, config.trigger(trigger).attribution_days);
            let start = list.partition_point(|r| r.local_date < o.sweep_date);
            let in_window = list[start..].iter().take_while(|r| r.local_date < end).filter(|r| is_purchase(r));
            let (mut purchases, mut revenue) = (0u64, 0u64);
            for r in in_window {
                if purchases == 0 && o.status != OutcomeStatus::Holdout {
                    *responders_by_store.entry(r.store_id.as_str().to_owned()).or_default() += 1;
                }
                purchases += 1;
                revenue = revenue.saturating_add(net_revenue(r));
            }
            if o.status == OutcomeStatus::Sent && trigger == TriggerKind::PointsExpiring {
                let window = &list[start..];
                let spent = reminded_points_spent(config, o, window.iter().take_while(|r| r.local_date < end));
                t.reminded_spent = t.reminded_spent.saturating_add(spent);
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

    // Every purchase of the period, by anyone: the day book's, store by store.
    let stores = store_rows(config, book, from, to, &responders_by_store);
    let all_purchases: u64 = stores.iter().map(|s| s.receipts).sum();
    let all_revenue = stores.iter().fold(0u64, |sum, s| sum.saturating_add(s.revenue_minor));
    let all_avg = avg(all_revenue, all_purchases);

    let messaging = &config.messaging;
    let prices =
        Prices { point_value: config.point_value_minor, email: messaging.email_cost_minor, sms: messaging.sms_cost_minor };
    let mut rows = Vec::with_capacity(TriggerKind::ALL.len() + 1);
    let mut total = Tally::default();
    for (kind, t) in TriggerKind::ALL.into_iter().zip(&tallies) {
        rows.push(make_row(kind.as_str(), Some(config.trigger(kind).attribution_days), t, all_avg, prices));
        total.add(t);
    }
    let windows: Vec<u32> = TriggerKind::ALL.iter().map(|k| config.trigger(*k).attribution_days).collect();
    let common_window = windows.iter().all(|w| *w == windows[0]).then_some(windows[0]);
    rows.push(make_row("total", common_window, &total, all_avg, prices));

    let messages_per_day = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| {
            let (email, sms) = days.get(&d).copied().unwrap_or_default();
            (d, email, sms)
        })
        .collect();
    let messages_by_trigger =
        from.iter_days().take_while(|d| *d <= to).map(|d| (d, days_by_trigger.get(&d).copied().unwrap_or_default())).collect();

    Report {
        from,
        to,
        today,
        rows,
        all_purchases,
        all_revenue_minor: all_revenue,
        all_avg_check_minor: all_avg,
        messages_per_day,
        messages_by_trigger,
        points: points_summary(book, from, to, config.point_value_minor),
        stores,
    }
}

#[cfg(test)]
mod tests;
