//! The sweep function's handler on the embedded store, driven by the sample scheduled event.

use std::sync::{Arc, Mutex};
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use boomerang_aws_messaging::QueueError;
use boomerang_core::app::sweep::SendJob;
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::kinds::TriggerKind;
use boomerang_core::domain::triggers::{OutcomeKey, OutcomeStatus};
use boomerang_lambda::ScheduledEvent;
use boomerang_store_contract::Fixture;
use boomerang_store_contract::sweep_cases::{date, noon, program, Shop};
use chrono::{DateTime, Utc};
use sweep::{completed_metric, HandOff, Sweep, SweepError};

const SCHEDULED: &str = include_str!("../../../events/sweep/scheduled.json");

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = boomerang_sqlite::SqliteStore::open(dir.path()).expect("the store opens");
    Fixture::new(Arc::new(store), dir)
}

/// The sample event: 2026-11-24 08:00 UTC, the 24th in Moscow too.
fn event() -> (ScheduledEvent, DateTime<Utc>) {
    let event: ScheduledEvent = serde_json::from_str(SCHEDULED).expect("the sample scheduled event");
    let now = event.time;
    (event, now)
}

/// Three customers whose 30-day lapse falls on the sample event's date.
async fn shop() -> Shop {
    let shop = Shop::open(sqlite, program("")).await;
    let last = date("2026-10-24");
    for id in ["c1", "c2", "c3"] {
        shop.enroll(id, None, None, noon(last)).await;
        shop.buy(id, &format!("r-{id}"), last).await;
    }
    shop
}

#[derive(Default)]
struct FakeQueue {
    keys: Mutex<Vec<OutcomeKey>>,
    rewards: Mutex<Vec<CustomerId>>,
    surveys: Mutex<Vec<boomerang_core::app::sweep::SurveyMessageKey>>,
    fail_next: AtomicBool,
}

#[async_trait]
impl HandOff for FakeQueue {
    async fn hand_off(&self, jobs: &[SendJob]) -> Result<usize, QueueError> {
        if self.fail_next.swap(false, Ordering::SeqCst) {
            return Err(QueueError::Sqs("SQS is down".into()));
        }
        for job in jobs {
            match job {
                SendJob::Decision(key) => self.keys.lock().unwrap().push(key.clone()),
                SendJob::ReferralReward { referral_reward } => self.rewards.lock().unwrap().push(referral_reward.clone()),
                SendJob::SurveyMessage { survey_message } => self.surveys.lock().unwrap().push(survey_message.clone()),
                SendJob::OwnerAlert { .. } => {}
                SendJob::OwnerDigest { .. } => panic!("no program of these tests names an owner"),
            }
        }
        Ok(jobs.len())
    }
}

fn sweep<'a>(shop: &'a Shop, queue: Option<&'a dyn HandOff>) -> Sweep<'a> {
    Sweep { app: &shop.app, messenger: &shop.messenger, queue, tenant: "demo".into() }
}

#[tokio::test]
async fn the_scheduled_event_sweeps_its_local_date_and_hands_every_decision_to_the_queue() {
    let shop = shop().await;
    let queue = FakeQueue::default();
    let (event, now) = event();
    let summary = sweep(&shop, Some(&queue)).handle(&event, now).await.expect("the sweep");
    assert_eq!(summary.date, date("2026-11-24"));
    assert_eq!(summary.dates, [date("2026-11-24")]);
    assert_eq!(summary.handed_off, 3);
    assert_eq!(summary.triggers["lapsed_30"].eligible, 3);
    assert!(shop.messenger.sent().is_empty(), "nothing is sent by the sweep itself");
    let keys = queue.keys.lock().unwrap().clone();
    let mut customers: Vec<&str> = keys.iter().map(|k| k.customer_id.as_str()).collect();
    customers.sort();
    assert_eq!(customers, ["c1", "c2", "c3"]);
    assert!(keys.iter().all(|k| k.trigger == TriggerKind::Lapsed30));
    for key in &keys {
        let outcome = shop.store.outcome(key).await.unwrap().expect("recorded");
        assert_eq!(outcome.status, OutcomeStatus::Pending, "left for the sender");
    }

    let json = serde_json::to_value(&summary).unwrap();
    let mut fields: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort();
    assert_eq!(fields, ["date", "dates", "handed_off", "points_burned", "triggers"]);
    assert_eq!(json["date"], "2026-11-24");
    assert_eq!(json["triggers"]["lapsed_30"]["eligible"], 3);
    assert!(!json.to_string().contains("c1"), "no customer ids in the summary: {json}");

    // The same event again (a retry): nothing new is decided; the three decisions still
    // pending are handed over once more (harmless: a second delivery finds them sent).
    let again = sweep(&shop, Some(&queue)).handle(&event, now).await.unwrap();
    assert!(again.dates.is_empty());
    assert_eq!(again.triggers["lapsed_30"].eligible, 0);
    let queued: Vec<String> = queue.keys.lock().unwrap().iter().map(|k| k.customer_id.to_string()).collect();
    assert_eq!(queued, ["c1", "c2", "c3", "c1", "c2", "c3"]);
}

#[tokio::test]
async fn without_a_queue_the_sweep_sends_inline() {
    let shop = shop().await;
    let (event, now) = event();
    let summary = sweep(&shop, None).handle(&event, now).await.expect("the sweep");
    assert_eq!(summary.handed_off, 0);
    assert_eq!(summary.triggers["lapsed_30"].sent_email, 3);
    assert_eq!(shop.messenger.sent().len(), 3);
}

#[tokio::test]
async fn a_failed_hand_off_fails_the_run_and_its_retry_hands_the_messages_over() {
    let shop = shop().await;
    let queue = FakeQueue::default();
    queue.fail_next.store(true, Ordering::SeqCst);
    let (event, now) = event();
    let failed = sweep(&shop, Some(&queue)).handle(&event, now).await;
    assert!(matches!(failed, Err(SweepError::HandOff(_))), "{failed:?}");
    assert!(queue.keys.lock().unwrap().is_empty());
    // The scheduler's retry finds the date complete, but the decisions still pending.
    let retry = sweep(&shop, Some(&queue)).handle(&event, now).await.expect("the retry");
    assert!(retry.dates.is_empty(), "the date itself was completed by the failed run");
    assert_eq!(retry.handed_off, 3);
    assert_eq!(queue.keys.lock().unwrap().len(), 3);
    assert!(shop.messenger.sent().is_empty());
}

#[tokio::test]
async fn only_pending_decisions_of_earlier_days_are_handed_over_again() {
    let shop = shop().await;
    let queue = FakeQueue::default();
    let (event, now) = event();
    sweep(&shop, Some(&queue)).handle(&event, now).await.unwrap();
    // The sender delivered one of the three.
    let first = queue.keys.lock().unwrap()[0].clone();
    shop.app.deliver(&shop.messenger, &first, now).await.unwrap();
    let next_day = ScheduledEvent { time: event.time + chrono::Duration::days(1), id: None };
    let summary = sweep(&shop, Some(&queue)).handle(&next_day, next_day.time).await.unwrap();
    assert_eq!(summary.dates, [date("2026-11-25")]);
    assert_eq!(summary.handed_off, 2, "the two still pending, not the sent one");
    assert!(!queue.keys.lock().unwrap()[3..].contains(&first));
}

#[test]
fn the_completed_metric_is_an_embedded_metric_format_line() {
    let now: DateTime<Utc> = "2026-11-24T08:00:05Z".parse().unwrap();
    let line = completed_metric("demo", now);
    assert_eq!(
        line,
        serde_json::json!({
            "_aws": {
                "Timestamp": 1795507205000i64,
                "CloudWatchMetrics": [{
                    "Namespace": "Boomerang",
                    "Dimensions": [["Tenant"]],
                    "Metrics": [{"Name": "SweepCompleted", "Unit": "Count"}]
                }]
            },
            "Tenant": "demo",
            "SweepCompleted": 1
        })
    );
    assert!(!line.to_string().contains('\n'), "one log line");
}

#[tokio::test]
async fn an_event_dated_after_today_fails_the_run_and_changes_nothing() {
    let shop = shop().await;
    let queue = FakeQueue::default();
    let (event, now) = event();
    // The scheduler's envelope says 2026-11-24, but the clock says a day earlier (a payload
    // typed by hand for a redrive, say): the date is refused, so the error alarm fires.
    let failed = sweep(&shop, Some(&queue)).handle(&event, now - chrono::Duration::days(1)).await;
    let Err(SweepError::Sweep(error)) = failed else { panic!("{failed:?}") };
    assert!(error.to_string().contains("2026-11-24 is in the future"), "{error}");
    assert!(queue.keys.lock().unwrap().is_empty());
    assert_eq!(shop.store.last_completed_sweep().await.unwrap(), None);
}
