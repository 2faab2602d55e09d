//! The sender's batch handling on the embedded store: paced sends, partial batch failures,
//! and at most one send per key however often SQS delivers it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use boomerang_core::app::sweep::{SendMode, SweepOptions};
use boomerang_core::Boomerang;
use boomerang_core::domain::ids::Phone;
use boomerang_core::domain::triggers::{OutcomeKey, OutcomeStatus};
use boomerang_core::ports::*;
use boomerang_store_contract::faults::{Call, Fault, FaultyStore};
use boomerang_store_contract::Fixture;
use boomerang_store_contract::sweep_cases::{date, noon, program, Shop};
use chrono::{DateTime, NaiveDate, Utc};
use boomerang_aws_messaging::QueueError;
use boomerang_core::domain::customer::ProfilePatch;
use boomerang_core::domain::kinds::Channel;
use sender::{Hide, Sender, MAX_HIDE_SECONDS};

const SAMPLE: &str = include_str!("../../../events/sender/sqs-batch.json");

/// The sweep date of the sample batch's decisions.
fn day() -> NaiveDate {
    date("2026-11-24")
}

fn now() -> DateTime<Utc> {
    noon(day())
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = boomerang_sqlite::SqliteStore::open(dir.path()).expect("the store opens");
    Fixture::new(Arc::new(store), dir)
}

/// A shop sending at most `rate` a second, with `n` customers whose 30-day lapse falls on
/// `day()`: `c-1001`, `c-1002`, …
async fn shop(rate: u32, n: usize) -> Shop {
    let shop = Shop::open(sqlite, program(&format!("[messaging]\nmax_sends_per_second = {rate}"))).await;
    let last = date("2026-10-24");
    for i in 1..=n {
        let id = format!("c-{}", 1000 + i);
        shop.enroll(&id, None, None, noon(last)).await;
        shop.buy(&id, &format!("r-{id}"), last).await;
    }
    shop
}

/// The sweep, handing its decisions off instead of sending them.
async fn decide(app: &Boomerang, messenger: &dyn Messenger) -> Vec<OutcomeKey> {
    let options = SweepOptions { send: SendMode::Handoff, ..SweepOptions::default() };
    let report = app.sweep(messenger, day(), now(), options).await.expect("the sweep");
    assert!(!report.to_send.is_empty());
    report.to_send
}

fn record(id: &str, body: String) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_string());
    m.body = Some(body);
    m
}

fn batch(keys: &[OutcomeKey]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records =
        keys.iter().map(|k| record(&format!("m-{}", k.customer_id), serde_json::to_string(k).unwrap())).collect();
    event
}

fn failures(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<&str> {
    response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect()
}

/// A queue that never needs to hide anything: the tests that use it send at noon.
struct NoHiding;

#[async_trait]
impl Hide for NoHiding {
    async fn hide(&self, _: &str, seconds: u32) -> Result<(), QueueError> {
        panic!("nothing should wait at noon, yet a record was hidden for {seconds} s")
    }
}

/// Records how long each record was hidden.
#[derive(Default)]
struct Hidden(Mutex<Vec<(String, u32)>>);

#[async_trait]
impl Hide for Hidden {
    async fn hide(&self, receipt_handle: &str, seconds: u32) -> Result<(), QueueError> {
        self.0.lock().unwrap().push((receipt_handle.to_string(), seconds));
        Ok(())
    }
}

/// Records each send with the instant it was made.
#[derive(Default)]
struct Timed {
    sent: Mutex<Vec<(Instant, OutgoingMessage)>>,
}

impl Timed {
    fn customers(&self) -> Vec<String> {
        self.sent.lock().unwrap().iter().map(|(_, m)| m.key.customer_id.to_string()).collect()
    }
    fn instants(&self) -> Vec<Instant> {
        self.sent.lock().unwrap().iter().map(|(t, _)| *t).collect()
    }
}

#[async_trait]
impl Messenger for Timed {
    async fn sms_opted_out(&self, _: &Phone) -> Result<bool, SendError> {
        Ok(false)
    }
    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendError> {
        self.sent.lock().unwrap().push((Instant::now(), message.clone()));
        Ok(())
    }
}

#[tokio::test]
async fn the_sample_batch_is_sent_once_however_often_it_is_delivered() {
    let shop = shop(10, 1).await;
    let at = noon(date("2026-11-20"));
    // c-1002: birthday on 27 November, three days after the sweep date.
    shop.enroll("c-1002", None, Some("1990-11-27"), at).await;
    shop.buy("c-1002", "r-c-1002", date("2026-11-20")).await;
    let keys = decide(&shop.app, &shop.messenger).await;
    let event: SqsEvent = serde_json::from_str(SAMPLE).expect("the sample SQS event");
    let sample: Vec<OutcomeKey> =
        event.records.iter().map(|r| serde_json::from_str(r.body.as_deref().unwrap()).unwrap()).collect();
    assert_eq!(sample.len(), 2);
    for key in &sample {
        assert!(keys.contains(key), "the sample's key {key:?} is one the sweep decides: {keys:?}");
    }
    let sender = Sender::new(&shop.app, &shop.messenger, &NoHiding);
    let response = sender.handle_at(event.clone(), now).await.expect("the batch");
    assert!(failures(&response).is_empty(), "{response:?}");
    let mut sent: Vec<String> = shop.messenger.sent().iter().map(|m| m.key.customer_id.to_string()).collect();
    sent.sort();
    assert_eq!(sent, ["c-1001", "c-1002"]);
    for key in &sample {
        assert_eq!(shop.store.outcome(key).await.unwrap().unwrap().status, OutcomeStatus::Sent);
    }
    // SQS delivers at least once: the same batch again sends nothing.
    let again = sender.handle_at(event, now).await.expect("the batch again");
    assert!(failures(&again).is_empty());
    assert_eq!(shop.messenger.sent().len(), 2);
}

#[tokio::test]
async fn sends_are_paced_to_the_cap_within_and_across_batches() {
    let shop = shop(5, 6).await;
    let messenger = Timed::default();
    let keys = decide(&shop.app, &messenger).await;
    assert_eq!(keys.len(), 6);
    let sender = Sender::new(&shop.app, &messenger, &NoHiding);
    let started = Instant::now();
    for chunk in keys.chunks(4) {
        let response = sender.handle_at(batch(chunk), now).await.unwrap();
        assert!(failures(&response).is_empty());
    }
    let instants = messenger.instants();
    assert_eq!(instants.len(), 6);
    // 5 a second: the k-th send (from 0) starts 200 ms × k after the first batch arrived at
    // the earliest, across the two batches too; the pacer guarantees it exactly.
    for (k, at) in instants.iter().enumerate() {
        assert!(*at - started >= Duration::from_millis(200) * k as u32, "send {k} too early: {instants:?}");
    }
    let mut customers = messenger.customers();
    customers.sort();
    customers.dedup();
    assert_eq!(customers.len(), 6, "each once");
}

#[tokio::test]
async fn a_redelivered_batch_uses_no_send_slots() {
    let shop = shop(1, 4).await;
    let messenger = Timed::default();
    let keys = decide(&shop.app, &messenger).await;
    let sender = Sender::new(&shop.app, &messenger, &NoHiding);
    // Sent once already (by another sender, as far as this one knows).
    for key in &keys {
        shop.app.deliver(&messenger, key, now()).await.unwrap();
    }
    let started = Instant::now();
    let response = sender.handle_at(batch(&keys), now).await.unwrap();
    assert!(failures(&response).is_empty());
    assert!(started.elapsed() < Duration::from_millis(900), "skipped keys wait for no slot: {:?}", started.elapsed());
    assert_eq!(messenger.instants().len(), 4);
}

#[tokio::test]
async fn only_the_records_whose_delivery_failed_come_back() {
    let shop = shop(50, 3).await;
    // Once the sweep has decided, the store is down for one customer's outcome.
    let down_for: Arc<Mutex<HashSet<String>>> = Arc::default();
    let down = down_for.clone();
    let flaky = FaultyStore::new(shop.store.clone(), move |call, customer| {
        let down = down.lock().unwrap().contains(customer.map_or("", |c| c.as_str()));
        (call == Call::Outcome && down).then_some(Fault::Before)
    });
    let app = Boomerang::new(Arc::new(flaky), Arc::new(shop.app.config().clone()));
    let messenger = Timed::default();
    let keys = decide(&app, &messenger).await;
    down_for.lock().unwrap().insert("c-1002".to_string());
    let sender = Sender::new(&app, &messenger, &NoHiding);
    let response = sender.handle_at(batch(&keys), now).await.expect("answered item by item");
    assert_eq!(failures(&response), ["m-c-1002"]);
    let mut sent = messenger.customers();
    sent.sort();
    assert_eq!(sent, ["c-1001", "c-1003"]);
    // The store is back; SQS redelivers the failed record only, and the whole batch once more
    // for good measure: each customer still gets one message.
    down_for.lock().unwrap().clear();
    let failed: Vec<OutcomeKey> = keys.iter().filter(|k| k.customer_id.as_str() == "c-1002").cloned().collect();
    let retry = sender.handle_at(batch(&failed), now).await.unwrap();
    assert!(failures(&retry).is_empty());
    let all = sender.handle_at(batch(&keys), now).await.unwrap();
    assert!(failures(&all).is_empty());
    let mut sent = messenger.customers();
    sent.sort();
    assert_eq!(sent, ["c-1001", "c-1002", "c-1003"]);
}

#[tokio::test]
async fn a_body_that_is_not_an_outcome_key_comes_back_towards_the_dlq() {
    let shop = shop(50, 1).await;
    let keys = decide(&shop.app, &shop.messenger).await;
    let mut event = batch(&keys);
    event.records.push(record("m-bad", "{\"customer\":\"x\"}".into()));
    let sender = Sender::new(&shop.app, &shop.messenger, &NoHiding);
    let response = sender.handle_at(event, now).await.unwrap();
    assert_eq!(failures(&response), ["m-bad"]);
    assert_eq!(shop.messenger.sent().len(), 1, "the good record is sent all the same");
}

#[tokio::test]
async fn a_failure_without_a_message_id_fails_the_whole_batch() {
    let shop = shop(50, 1).await;
    let keys = decide(&shop.app, &shop.messenger).await;
    let mut event = batch(&keys);
    let mut nameless = SqsMessage::default();
    nameless.body = Some("not json".into());
    event.records.push(nameless);
    let sender = Sender::new(&shop.app, &shop.messenger, &NoHiding);
    let result = sender.handle_at(event.clone(), now).await;
    assert!(result.is_err(), "{result:?}");
    // Lambda retries the whole batch: the good record is not sent twice.
    let _ = sender.handle_at(event, now).await;
    assert_eq!(shop.messenger.sent().len(), 1);
}

/// An SMS decided by a sweep run late in the evening is not sent at 21:30: the record is
/// hidden until the SMS window opens at 10:00 (12 hours at most each time, so it comes back
/// at 09:30 and is hidden for the last half hour), then sent.
#[tokio::test]
async fn an_sms_due_at_half_past_nine_in_the_evening_waits_until_ten_in_the_morning() {
    let shop = shop(10, 1).await;
    let patch = ProfilePatch {
        phone: Some(Some(Phone::parse("+79160000001").unwrap())),
        consent_sms: Some(true),
        preferred_channel: Some(Some(Channel::Sms)),
        ..ProfilePatch::default()
    };
    shop.patch("c-1001", patch, now()).await;
    let evening: DateTime<Utc> = "2026-11-24T18:30:00Z".parse().unwrap(); // 21:30 in Moscow
    let options = SweepOptions { send: SendMode::Handoff, ..SweepOptions::default() };
    let keys = shop.app.sweep(&shop.messenger, day(), evening, options).await.expect("the sweep").to_send;
    assert_eq!(keys.len(), 1);
    let hidden = Hidden::default();
    let sender = Sender::new(&shop.app, &shop.messenger, &hidden);
    let mut event = batch(&keys);
    event.records[0].receipt_handle = Some("handle-1".into());

    let response = sender.handle_at(event.clone(), || evening).await.unwrap();
    assert_eq!(failures(&response), ["m-c-1001"], "kept in the queue");
    assert_eq!(hidden.0.lock().unwrap().clone(), [("handle-1".to_string(), MAX_HIDE_SECONDS as u32)]);
    assert!(shop.messenger.sent().is_empty(), "nothing at night");

    let half_past_nine: DateTime<Utc> = "2026-11-25T06:30:00Z".parse().unwrap();
    sender.handle_at(event.clone(), || half_past_nine).await.unwrap();
    assert_eq!(hidden.0.lock().unwrap()[1], ("handle-1".to_string(), 30 * 60), "the last half hour");
    assert!(shop.messenger.sent().is_empty());

    let ten: DateTime<Utc> = "2026-11-25T07:00:00Z".parse().unwrap();
    let response = sender.handle_at(event, || ten).await.unwrap();
    assert!(failures(&response).is_empty());
    let sent = shop.messenger.sent();
    assert_eq!((sent.len(), sent[0].channel), (1, Channel::Sms));
    let outcome = shop.store.outcome(&keys[0]).await.unwrap().unwrap();
    assert_eq!((outcome.status, outcome.sent_at), (OutcomeStatus::Sent, Some(ten)));
}

