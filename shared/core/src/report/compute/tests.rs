//! Tests of the report arithmetic: responders, holdouts, revenue and gift cost per trigger.

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
    // 100 emails at 0.01 each (the default email_cost_minor).
    assert_eq!(l30.message_cost_minor, 100);
    assert_eq!(l30.net_minor, Some(100_000 - 100));
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
    assert_eq!(r.message_cost_minor, 3, "three emails at 0.01");
    assert_eq!(r.net_minor, Some(3_001 - 30_000 - 3));
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
        book: &book_of(&[]),
    });
    let row = &report.rows[TriggerKind::ALL.iter().position(|k| *k == t).unwrap()];
    assert_eq!((row.holdout, row.holdout_reachable, row.treated), (2, 1, 1));
    assert_eq!(row.holdout_response_rate, Some(0.0));
}

#[test]
fn every_message_sent_is_a_cost_priced_per_channel() {
    let cfg = ProgramConfig::from_toml_str("[messaging]\nemail_cost_minor = 2\nsms_cost_minor = 350").unwrap();
    let t = TriggerKind::Lapsed30;
    let (mut outcomes, receipts) = group("a", t, "2026-11-02", OutcomeStatus::Sent, 4, 2, 10_000);
    outcomes[0].channel = Some(Channel::Sms);
    let (holdout, _) = group("b", t, "2026-11-02", OutcomeStatus::Holdout, 4, 0, 0);
    outcomes.extend(holdout);
    // Failed and unknown sends are not counted: only what the provider accepted.
    outcomes.push(outcome("c0", t, "2026-11-02", OutcomeStatus::Failed));
    let report = run(&cfg, "2026-11-01", "2026-11-30", "2026-11-30", &outcomes, &receipts);
    let r = row(&report, "lapsed_30");
    assert_eq!((r.sent_email, r.sent_sms), (3, 1));
    assert_eq!(r.message_cost_minor, 3 * 2 + 350);
    // lift 2/4 × 4 × 20 000 / 2 = 20 000, less the messages.
    assert_eq!(r.net_minor, Some(20_000 - 356));
    assert_eq!(row(&report, "total").message_cost_minor, 356);
}

#[test]
fn a_points_expiring_warning_costs_the_expiring_points_it_got_spent() {
    let cfg = ProgramConfig::defaults(); // point_value_minor = 100
    let t = TriggerKind::PointsExpiring;
    let cooldown = cfg.trigger(t).cooldown_days.expect("points_expiring has a cooldown");
    let sent = "2026-11-02";
    let burning = add_days(d(sent), cooldown); // the last date the warning covers
    let mut warned = outcome("c1", t, sent, OutcomeStatus::Sent);
    warned.expiring_points = 120;
    let mut capped = outcome("c2", t, sent, OutcomeStatus::Sent);
    capped.expiring_points = 50;
    let mut held = outcome("c3", t, sent, OutcomeStatus::Holdout);
    held.expiring_points = 80;
    let mut r1 = receipt("r1", "c1", "2026-11-04", 10_000);
    // 70 from the lot the warning was about, 40 from a lot burning later, 30 from a gift.
    r1.redeemed_from = BTreeMap::from([
        (LotKey::earned(burning), 70),
        (LotKey::earned(add_days(burning, 1)), 40),
        (LotKey::gift(burning, TriggerKind::Lapsed60), 30),
    ]);
    let mut r2 = receipt("r2", "c2", "2026-11-05", 10_000);
    r2.redeemed_from = BTreeMap::from([(LotKey::earned(burning), 90)]);
    // The held-out customer spends too: no message, no cost of the trigger.
    let mut r3 = receipt("r3", "c3", "2026-11-05", 10_000);
    r3.redeemed_from = BTreeMap::from([(LotKey::earned(burning), 80)]);
    let report = run(&cfg, "2026-11-01", "2026-11-30", "2026-12-31", &[warned, capped, held], &[r1, r2, r3]);
    let r = row(&report, "points_expiring");
    assert_eq!(r.reminded_points_spent, 70 + 50, "c2's 90 is capped at the 50 the warning named");
    assert_eq!(r.reminded_points_cost_minor, 120 * 100);
    assert_eq!(row(&report, "lapsed_60").reminded_points_spent, 0);
}
