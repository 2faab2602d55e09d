//! The report's arithmetic: outcomes joined with the receipts of their attribution windows
//! (see the module documentation of `report` for every definition).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::domain::ids::CustomerId;
use crate::domain::kinds::{Channel, TriggerKind};
use crate::domain::ledger::{add_days, LotKey};
use crate::domain::purchase::Receipt;
use crate::domain::triggers::OutcomeStatus;
use super::{Report, ReportInput, TriggerRow};
use super::stats::{newcombe, verdict};

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

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use crate::domain::config::ProgramConfig;
    use crate::domain::triggers::Unreachable;
    use crate::report::fixtures::*;
    use crate::report::Verdict;
    use super::*;

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
    fn holdouts_that_could_not_have_been_reached_are_not_in_the_control_group() {
        let cfg = ProgramConfig::defaults();
        let t = TriggerKind::Lapsed60;
        let mut unreachable = outcome("h-none", t, "2026-11-01", OutcomeStatus::Holdout);
        unreachable.unreachable = Some(Unreachable::NoChannel);
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
