//! The contact rules' contract, run through the use cases over any store: one message at a
//! time per customer, in waking hours, still true when sent; catch-up that never sends late;
//! two senders that never send twice; a sweep that never needs an index to show its own
//! writes; and a sweep date typed wrong that burns nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use boomerang_core::app::sweep::{Delivery, SendMode, SweepOptions, SweepReport, TriggerCounts};
use boomerang_core::domain::customer::ProfilePatch;
use boomerang_core::domain::ids::{CustomerId, Phone};
use boomerang_core::domain::kinds::{Channel, MessageKind, TriggerKind};
use boomerang_core::domain::purchase::Backdating;
use boomerang_core::domain::triggers::{expiring_soon, Episode, OutcomeKey, OutcomeStatus};
use boomerang_core::ports::{Messenger, OutgoingMessage, SendError};
use boomerang_core::Boomerang;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use tokio::sync::Notify;

use crate::lag::LaggingIndexes;
use crate::support::outcome_key;
use crate::sweep_cases::{date, noon, program, purchase_on, Shop};
use crate::StoreFactory;

fn counts(report: &SweepReport, trigger: TriggerKind) -> TriggerCounts {
    report.triggers.get(&trigger).copied().unwrap_or_default()
}

fn handoff() -> SweepOptions {
    SweepOptions { send: SendMode::Handoff, ..SweepOptions::default() }
}

/// `hh:mm` local time in Moscow (UTC+3, the default program's zone) on `day`.
fn moscow(day: NaiveDate, hh: u32, mm: u32) -> DateTime<Utc> {
    day.and_hms_opt(hh, mm, 0).expect("a time").and_utc() - Duration::hours(3)
}

/// A program with only the points_expiring trigger (the others would add nothing but time)
/// and no holdout, plus `extra` top-level keys.
fn only_expiry_warnings(extra: &str) -> boomerang_core::domain::config::ProgramConfig {
    let text = format!(
        "{extra}\n[survey]\nenabled = false\n[triggers.lapsed_30]\nenabled = false\n[triggers.lapsed_60]\nenabled = false\n\
         [triggers.lapsed_90]\nenabled = false\n[triggers.birthday]\nenabled = false\n\
         [triggers.points_expiring]\nholdout_percent = 0\n"
    );
    boomerang_core::domain::config::ProgramConfig::from_toml_str(&text).expect("a valid program")
}

impl Shop {
    /// A purchase of `amount_minor` spending `redeem` points on `day`, at noon.
    pub async fn buy_amount(&self, id: &str, receipt: &str, day: NaiveDate, amount_minor: u64, redeem: u64) {
        let req = purchase_on(id, receipt, day, amount_minor, redeem);
        self.app.purchase(&req, noon(day), Backdating::AnyAge).await.expect("purchase");
    }

    /// The dates each message to `id` was sent on (local), in order.
    fn sent_dates(&self, id: &str) -> Vec<NaiveDate> {
        let cfg = self.app.config();
        self.messenger.sent_to(id).iter().map(|m| cfg.local_date(m.created_at)).collect()
    }
}

/// The most messages within any `days` consecutive dates.
fn most_in_any(dates: &[NaiveDate], days: i64) -> usize {
    dates.iter().map(|start| dates.iter().filter(|d| **d >= *start && **d < *start + Duration::days(days)).count()).max().unwrap_or(0)
}

/// How long the daily-shopper case runs: the whole two years with the default year-long
/// points on a store that answers at once, or a hundred days with points valid for ten (three
/// cooldowns' worth of burns) on the emulator, which serves one request at a time.
#[derive(Debug, Clone, Copy)]
pub struct Horizon {
    pub days: i64,
    pub points_valid_days: u32,
}

pub const TWO_YEARS: Horizon = Horizon { days: 730, points_valid_days: 365 };
pub const THREE_COOLDOWNS: Horizon = Horizon { days: 100, points_valid_days: 10 };

/// A daily shopper's points burn every day once their first lots expire: they are warned at
/// most once in any 30 days, and about every 30 days of burns; a shopper whose burning points
/// stay under `min_points` is never warned.
pub async fn a_daily_shopper_is_warned_of_burning_points_at_most_once_in_30_days_and_never_below_min_points(
    factory: impl StoreFactory,
    horizon: Horizon,
) {
    let program = only_expiry_warnings(&format!("points_valid_days = {}", horizon.points_valid_days));
    let shop = Shop::open(factory, program).await;
    let first = date("2026-01-01");
    shop.enroll("daily", None, None, noon(first)).await;
    shop.enroll("small", None, None, noon(first)).await;
    for k in 0..horizon.days {
        let day = first + Duration::days(k);
        // 50 points a day for one, 1 point a day for the other (30 burn in any 30 days).
        shop.buy_amount("daily", &format!("d{k}"), day, 100_000, 0).await;
        shop.buy_amount("small", &format!("s{k}"), day, 2_000, 0).await;
        shop.sweep(day).await;
    }
    let warned = shop.sent_dates("daily");
    let burning_days = horizon.days - i64::from(horizon.points_valid_days);
    assert!(warned.len() as i64 >= burning_days / 31, "every 30 days of burns is warned about: {warned:?}");
    assert_eq!(most_in_any(&warned, 30), 1, "{warned:?}");
    assert!(shop.messenger.sent_to("small").is_empty(), "30 points burning in 30 days is below min_points");
}

/// Birthday, lapsed_60 and points_expiring all due on one date: the birthday goes, lapsed_60
/// goes two days later (the governor allows one message in any two dates), points_expiring's
/// window closes meanwhile and it is capped.
pub async fn three_triggers_due_on_one_date_send_one_message_and_wait_or_are_capped(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("points_valid_days = 71")).await;
    let day = date("2026-11-01");
    let last = day - Duration::days(61);
    shop.enroll("c1", None, Some("1990-11-04"), noon(last)).await;
    shop.buy("c1", "r1", last).await; // its 50 points burn on 2026-11-11, ten days after `day`
    let first = shop.sweep(day).await;
    assert_eq!(counts(&first, TriggerKind::Birthday).sent_email, 1);
    assert_eq!((counts(&first, TriggerKind::Lapsed60).deferred, counts(&first, TriggerKind::PointsExpiring).deferred), (1, 1));
    let second = shop.sweep(day + Duration::days(1)).await;
    assert_eq!((counts(&second, TriggerKind::Lapsed60).deferred, counts(&second, TriggerKind::PointsExpiring).deferred), (1, 1));
    let third = shop.sweep(day + Duration::days(2)).await;
    assert_eq!(counts(&third, TriggerKind::Lapsed60).sent_email, 1, "sent on the last date of its window");
    assert_eq!(counts(&third, TriggerKind::PointsExpiring).capped, 1);
    let sent: Vec<MessageKind> = shop.messenger.sent_to("c1").iter().map(|m| m.key.kind).collect();
    assert_eq!(sent, [TriggerKind::Birthday.into(), TriggerKind::Lapsed60.into()]);
    assert_eq!(shop.sent_dates("c1"), [day, day + Duration::days(2)]);
    let capped = shop.outcome("c1", TriggerKind::PointsExpiring, Episode::Expiry(date("2026-11-11"))).await.unwrap();
    assert_eq!((capped.status, capped.gift_points, capped.gift_expires_on), (OutcomeStatus::Capped, 0, None));
}

/// Seven days without a sweep, then one run catches up: each customer gets one message at
/// most, and nothing whose date has passed.
pub async fn a_week_long_outage_sends_at_most_one_message_per_customer_and_nothing_stale(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    shop.sweep(date("2026-11-01")).await;
    // "late": lapsed_30 from 11-03 to 11-05, over before the run of 11-09.
    // "birthday": the greeting's window is 11-07 to 11-09 (the birthday is on 11-10).
    // "both": lapsed_60 and a birthday, both from 11-08.
    for (id, last, birthday) in
        [("late", "2026-10-03", None), ("birthday", "2026-10-20", Some("1990-11-10")), ("both", "2026-09-08", Some("1985-11-11"))]
    {
        shop.enroll(id, None, birthday, noon(date(last))).await;
        shop.buy(id, &format!("r-{id}"), date(last)).await;
    }
    let run = date("2026-11-09");
    let r = shop.sweep(run).await;
    assert_eq!(r.dates.len(), 7);
    let mut per_customer: BTreeMap<String, usize> = BTreeMap::new();
    for message in shop.messenger.sent() {
        *per_customer.entry(message.key.customer_id.to_string()).or_default() += 1;
        let outcome = shop.store.outcome(&outcome_key(&message.key)).await.unwrap().unwrap();
        assert!(outcome.valid_until.is_some_and(|until| until >= run), "nothing stale: {outcome:?}");
    }
    assert_eq!(per_customer, BTreeMap::from([("both".to_string(), 1), ("birthday".to_string(), 1)]));
    let late = shop.outcome("late", TriggerKind::Lapsed30, Episode::Lapse(date("2026-10-03"))).await.unwrap();
    assert_eq!(late.status, OutcomeStatus::Expired);
    assert_eq!(counts(&r, TriggerKind::Lapsed30).expired, 1);
}

/// An SMS decided at 21:30 local is not sent then; the next morning's run sends it at 10:00,
/// not at 09:59.
pub async fn an_sms_due_at_half_past_nine_in_the_evening_waits_until_ten(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    let last = date("2026-10-01");
    shop.enroll("c1", Some("+79160000001"), None, noon(last)).await;
    let sms = ProfilePatch { preferred_channel: Some(Some(Channel::Sms)), ..ProfilePatch::default() };
    shop.patch("c1", sms, noon(last)).await;
    shop.buy("c1", "r1", last).await;
    let day = date("2026-11-01");
    let evening = shop.app.sweep(&shop.messenger, day, moscow(day, 21, 30), SweepOptions::default()).await.unwrap();
    assert_eq!(counts(&evening, TriggerKind::Lapsed30).eligible, 1);
    assert!(shop.messenger.sent().is_empty(), "not at night");
    let next = day + Duration::days(1);
    shop.app.sweep(&shop.messenger, next, moscow(next, 9, 59), SweepOptions::default()).await.unwrap();
    assert!(shop.messenger.sent().is_empty(), "the SMS window opens at 10:00");
    let ten = moscow(next, 10, 0);
    let r = shop.app.sweep(&shop.messenger, next, ten, SweepOptions::default()).await.unwrap();
    assert_eq!(counts(&r, TriggerKind::Lapsed30).sent_sms, 1);
    let outcome = shop.outcome("c1", TriggerKind::Lapsed30, Episode::Lapse(last)).await.unwrap();
    assert_eq!((outcome.status, outcome.sent_at), (OutcomeStatus::Sent, Some(ten)));
}

/// A lapsed customer who buys between the decision and the send gets no "we miss you" and no
/// gift; a warning is rendered when sent, with the points burning then.
pub async fn the_second_look_cancels_a_lapse_message_after_a_purchase_and_renders_current_points(
    factory: impl StoreFactory,
) {
    let shop = Shop::open(factory, program("points_valid_days = 30")).await;
    let day = date("2026-11-01");
    shop.enroll("back", None, None, noon(day - Duration::days(61))).await;
    shop.buy("back", "r-back", day - Duration::days(61)).await;
    shop.enroll("warn", None, None, noon(day - Duration::days(20))).await;
    shop.buy_amount("warn", "r-warn", day - Duration::days(20), 120_000, 0).await; // 60 points, burning 11-11
    let r = shop.app.sweep(&shop.messenger, day, noon(day), handoff()).await.unwrap();
    assert_eq!(r.to_send.len(), 2, "{:?}", r.to_send);
    // Both customers come in before the sender gets to them.
    shop.buy("back", "r-back-2", day).await;
    shop.buy_amount("warn", "r-warn-2", day, 10_000, 10).await; // spends 10 of the burning points
    let mut deliveries = BTreeMap::new();
    for key in &r.to_send {
        deliveries.insert(key.customer_id.to_string(), shop.app.deliver(&shop.messenger, key, noon(day)).await.unwrap());
    }
    assert_eq!(deliveries["back"], Delivery::Cancelled);
    let back = shop.outcome("back", TriggerKind::Lapsed60, Episode::Lapse(day - Duration::days(61))).await.unwrap();
    assert_eq!((back.status, back.gift_expires_on, back.treated), (OutcomeStatus::Cancelled, None, true));
    let back = shop.store.customer(&CustomerId::parse("back").unwrap()).await.unwrap().unwrap();
    assert_eq!(back.account.totals.gifted, 0, "no gift");
    assert!(shop.messenger.sent_to("back").is_empty());
    assert!(matches!(deliveries["warn"], Delivery::Sent(Channel::Email, 0)));
    let record = shop.store.customer(&CustomerId::parse("warn").unwrap()).await.unwrap().unwrap();
    let (now_burning, _) = expiring_soon(shop.app.config(), &record.account, day).unwrap();
    let decided = shop.outcome("warn", TriggerKind::PointsExpiring, Episode::Expiry(date("2026-11-11"))).await.unwrap();
    assert_eq!(decided.expiring_points, 60);
    assert_ne!(now_burning, 60);
    let text = &shop.messenger.sent_to("warn")[0].text;
    assert!(text.contains(&format!("{now_burning} ")) && !text.contains("60 "), "today's points: {text}");
}

/// Lets each send through only when told to, to hold a send in flight.
#[derive(Default)]
struct Gate {
    arrived: Notify,
    open: Notify,
    sent: std::sync::Mutex<Vec<OutgoingMessage>>,
}

#[async_trait]
impl Messenger for Gate {
    async fn sms_opted_out(&self, _: &Phone) -> Result<bool, SendError> {
        Ok(false)
    }
    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendError> {
        self.arrived.notify_one();
        self.open.notified().await;
        self.sent.lock().unwrap().push(message.clone());
        Ok(())
    }
}

/// Two sender processes draining the same queue: every key sent once, and a send in flight
/// in one is neither sent again nor called `unknown` by the other.
pub async fn two_senders_never_send_twice_nor_call_a_send_in_flight_unknown(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    let last = date("2026-10-01");
    shop.regulars("c", "r", 6, last).await;
    let day = date("2026-11-01");
    let keys = shop.app.sweep(&shop.messenger, day, noon(day), handoff()).await.unwrap().to_send;
    assert_eq!(keys.len(), 6);
    let config = Arc::new(shop.app.config().clone());
    let a = Boomerang::new(shop.store.clone(), config.clone()).with_owner("sender-a");
    let b = Boomerang::new(shop.store.clone(), config).with_owner("sender-b");
    // The first key, held in flight by A while B is handed the same key.
    let gate = Gate::default();
    let in_flight = a.deliver(&gate, &keys[0], noon(day));
    let meanwhile = async {
        gate.arrived.notified().await;
        let seen = b.deliver(&shop.messenger, &keys[0], noon(day) + Duration::minutes(1)).await.unwrap();
        let status = shop.store.outcome(&keys[0]).await.unwrap().unwrap().status;
        gate.open.notify_one();
        (seen, status)
    };
    let (a_did, (b_did, status_meanwhile)) = tokio::join!(in_flight, meanwhile);
    assert!(matches!(a_did.unwrap(), Delivery::Sent(..)));
    assert_eq!((b_did, status_meanwhile), (Delivery::Skipped, OutcomeStatus::Sending));
    // The other five, both processes racing on each.
    for key in &keys[1..] {
        let (x, y) = tokio::join!(a.deliver(&shop.messenger, key, noon(day)), b.deliver(&shop.messenger, key, noon(day)));
        let (x, y) = (x.unwrap(), y.unwrap());
        let sent = [x, y].iter().filter(|d| matches!(d, Delivery::Sent(..))).count();
        assert_eq!(sent, 1, "{x:?} {y:?}");
    }
    assert_eq!(gate.sent.lock().unwrap().len() + shop.messenger.sent().len(), 6);
    for key in &keys {
        assert_eq!(shop.store.outcome(key).await.unwrap().unwrap().status, OutcomeStatus::Sent);
    }
}

/// The sweep never needs an index to show a write of the same run: with the indexes lagging
/// a hundred writes behind, every decision of the day is still sent (inline) or handed over.
pub async fn every_decision_is_sent_the_same_day_when_the_indexes_lag(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    let last = date("2026-10-01");
    shop.regulars("c", "r", 8, last).await;
    let lagging = Arc::new(LaggingIndexes::new(shop.store.clone(), 100));
    let app = Boomerang::new(lagging, Arc::new(shop.app.config().clone()));
    let day = date("2026-11-01");
    let r = app.sweep(&shop.messenger, day, noon(day), SweepOptions::default()).await.unwrap();
    assert_eq!(counts(&r, TriggerKind::Lapsed30).eligible, 8);
    assert_eq!(shop.messenger.sent().len(), 8, "all sent the same day");
    for i in 0..8 {
        let outcome = shop.outcome(&format!("c{i}"), TriggerKind::Lapsed30, Episode::Lapse(last)).await.unwrap();
        assert_eq!(outcome.status, OutcomeStatus::Sent);
    }
    // Handed over instead: every decision is in the hand-off.
    for i in 0..5 {
        let id = format!("h{i}");
        shop.enroll(&id, None, None, noon(date("2026-10-02"))).await;
        shop.buy(&id, &format!("rh{i}"), date("2026-10-02")).await;
    }
    let next = day + Duration::days(1);
    let r = app.sweep(&shop.messenger, next, noon(next), handoff()).await.unwrap();
    let mut handed: Vec<String> = r.to_send.iter().map(|k| k.customer_id.to_string()).collect();
    handed.sort();
    assert_eq!(handed, ["h0", "h1", "h2", "h3", "h4"]);
}

/// `sweep --date` a year ahead is refused before anything is burned, decided or completed.
pub async fn a_sweep_date_in_the_future_is_refused_and_changes_nothing(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    let today = date("2026-11-24");
    shop.enroll("c1", None, Some("1990-11-26"), noon(today)).await;
    shop.buy("c1", "r1", today).await;
    let refused = shop.app.sweep(&shop.messenger, date("2027-11-24"), noon(today), SweepOptions::default()).await;
    let error = refused.unwrap_err();
    assert_eq!((error.code(), error.field()), ("invalid_field", Some("date")));
    assert!(error.to_string().contains("2027-11-24 is in the future"), "{error}");
    assert_eq!(shop.store.last_completed_sweep().await.unwrap(), None);
    assert_eq!(shop.balance("c1", today).await, 50);
    assert!(shop.outcome("c1", TriggerKind::Birthday, Episode::Birthday(2027)).await.is_none());
    assert!(shop.messenger.sent().is_empty());
}

/// A month without a sweep: the run burns every missed date's lots (triggers only catch up a
/// week).
pub async fn a_gap_longer_than_the_catch_up_still_burns_every_missed_date(factory: impl StoreFactory) {
    let shop = Shop::open(factory, only_expiry_warnings("points_valid_days = 10")).await;
    let first = date("2026-10-01");
    shop.sweep(first).await;
    shop.enroll("c1", None, None, noon(first)).await;
    shop.buy("c1", "r1", first).await; // 50 points burning on 10-11
    let r = shop.sweep(date("2026-11-01")).await;
    assert_eq!(r.points_burned, 50);
    let record = shop.store.customer(&CustomerId::parse("c1").unwrap()).await.unwrap().unwrap();
    assert!(record.account.lots.is_empty());
    assert_eq!(record.account.totals.expired, 50);
}

/// `--dry-run` counts as "would be sent" only the treated: a held-out customer is not sent.
pub async fn a_dry_run_counts_held_out_customers_as_held_out_not_sent(factory: impl StoreFactory) {
    // The 2026 draw of a 10 % lapsed_30 holdout among d0..d9 holds out d5 only (worked out
    // once from the hash, sha256 of "holdout:lapsed_30:2026:<id>").
    let config = boomerang_core::domain::config::ProgramConfig::from_toml_str("[triggers.lapsed_30]\nholdout_percent = 10").unwrap();
    let shop = Shop::open(factory, config).await;
    let last = date("2026-10-01");
    shop.regulars("d", "r", 10, last).await;
    let day = date("2026-11-01");
    let r = shop.sweep_with(day, SweepOptions { dry_run: true, ..SweepOptions::default() }).await.unwrap();
    let c = counts(&r, TriggerKind::Lapsed30);
    assert_eq!((c.eligible, c.holdout, c.sent_email), (10, 1, 9));
    let held: Vec<&str> =
        r.audience.iter().filter(|l| l.status == OutcomeStatus::Holdout).map(|l| l.customer_id.as_str()).collect();
    assert_eq!(held, ["d5"]);
    assert!(shop.messenger.sent().is_empty());
    let key = OutcomeKey { customer_id: CustomerId::parse("d0").unwrap(), trigger: TriggerKind::Lapsed30, episode: Episode::Lapse(last) };
    assert!(shop.store.outcome(&key).await.unwrap().is_none(), "a dry run writes nothing");
}

/// Expands to one test per contact-rules case, each given `$factory`.
/// `$horizon` is how long the daily-shopper case runs (a [`Horizon`]).
#[macro_export]
macro_rules! contact_contract_tests {
    ($factory:expr, $horizon:expr $(,)?) => {
        mod contact_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__contract_cases! {
                contact_cases;
                ($factory, $horizon);
                a_daily_shopper_is_warned_of_burning_points_at_most_once_in_30_days_and_never_below_min_points,
            }
            $crate::__contract_cases! {
                contact_cases;
                ($factory);
                three_triggers_due_on_one_date_send_one_message_and_wait_or_are_capped,
                a_week_long_outage_sends_at_most_one_message_per_customer_and_nothing_stale,
                an_sms_due_at_half_past_nine_in_the_evening_waits_until_ten,
                the_second_look_cancels_a_lapse_message_after_a_purchase_and_renders_current_points,
                two_senders_never_send_twice_nor_call_a_send_in_flight_unknown,
                every_decision_is_sent_the_same_day_when_the_indexes_lag,
                a_sweep_date_in_the_future_is_refused_and_changes_nothing,
                a_gap_longer_than_the_catch_up_still_burns_every_missed_date,
                a_dry_run_counts_held_out_customers_as_held_out_not_sent,
            }
        }
    };
}
