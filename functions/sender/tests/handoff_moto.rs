//! The sweep's hand-off through a real (moto) SQS queue, drained by the sender at a low cap,
//! with emails going to moto's SES. Needs `eval "$(bash scripts/moto.sh start)"`; fails
//! loudly without it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use boomerang_aws_messaging::{load_sdk_config, AwsMessenger, SendQueue};
use boomerang_core::domain::ids::Phone;
use boomerang_core::domain::triggers::OutcomeStatus;
use boomerang_core::ports::{Messenger, OutgoingMessage, SendError};
use boomerang_lambda::ScheduledEvent;
use boomerang_store_contract::Fixture;
use boomerang_store_contract::sweep_cases::{date, noon, program, Shop};
use sender::Sender;
use sweep::{HandOff, Sweep};

fn require_moto() {
    let url = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        url.starts_with("http://127.0.0.1:") || url.starts_with("http://localhost:"),
        "AWS_ENDPOINT_URL must point at the local moto server (eval \"$(bash scripts/moto.sh start)\"); it is {url:?}"
    );
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = boomerang_sqlite::SqliteStore::open(dir.path()).expect("the store opens");
    Fixture::new(Arc::new(store), dir)
}

/// The AWS messenger, counting what it sent (by customer).
struct Counting {
    aws: AwsMessenger,
    sent: Mutex<BTreeMap<String, usize>>,
}

#[async_trait]
impl Messenger for Counting {
    async fn sms_opted_out(&self, phone: &Phone) -> Result<bool, SendError> {
        self.aws.sms_opted_out(phone).await
    }
    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendError> {
        self.aws.send(message).await?;
        *self.sent.lock().unwrap().entry(message.key.customer_id.to_string()).or_default() += 1;
        Ok(())
    }
}

fn event_of(messages: &[aws_sdk_sqs::types::Message]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id.clone();
            record.receipt_handle = m.receipt_handle.clone();
            record.body = m.body.clone();
            record
        })
        .collect();
    event
}

#[tokio::test]
async fn seven_messages_handed_to_sqs_are_each_sent_once_at_two_a_second() {
    require_moto();
    let sdk = load_sdk_config().await.expect("the SDK config (AWS_REGION is set by scripts/moto.sh)");
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("boomerang-send-{nanos}"))
        .send()
        .await
        .expect("CreateQueue on moto")
        .queue_url
        .expect("a queue URL");

    let shop = Shop::open(sqlite, program("[messaging]\nmax_sends_per_second = 2")).await;
    let from = shop.app.config().messaging.email_from.clone();
    aws_sdk_sesv2::Client::new(&sdk)
        .create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .expect("CreateEmailIdentity on moto");
    let messenger = Counting { aws: AwsMessenger::new(&sdk, &from, "Boomerang", None), sent: Mutex::default() };
    let last = date("2026-10-24");
    for i in 1..=7 {
        let id = format!("h{i}-{nanos}");
        shop.enroll(&id, None, None, noon(last)).await;
        shop.buy(&id, &format!("r{i}"), last).await;
    }

    // The sweep of 2026-11-24 (the 31st day) hands the 7 decisions to the queue.
    let queue = SendQueue::new(&sdk, &queue_url);
    let event = ScheduledEvent { time: "2026-11-24T08:00:00Z".parse().unwrap(), id: None };
    let sweep =
        Sweep { app: &shop.app, messenger: &messenger, queue: Some(&queue as &dyn HandOff), tenant: "test".into() };
    let summary = sweep.handle(&event, event.time).await.expect("the sweep");
    assert_eq!(summary.handed_off, 7, "{summary:?}");
    assert!(messenger.sent.lock().unwrap().is_empty(), "the sweep itself sends nothing");

    // The sender drains it in batches of up to 4, as an SQS event source would, the same
    // morning (the decisions make sense until their window closes, not forever).
    let sent_at = || "2026-11-24T08:30:00Z".parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let sender = Sender::new(&shop.app, &messenger, &queue);
    let started = Instant::now();
    let mut batches = Vec::new();
    for _ in 0..20 {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(4)
            .visibility_timeout(120)
            .send()
            .await
            .expect("ReceiveMessage on moto")
            .messages
            .unwrap_or_default();
        if received.is_empty() {
            break;
        }
        let event = event_of(&received);
        let response = sender.handle_at(event.clone(), sent_at).await.expect("the batch");
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
        let entries: Vec<DeleteMessageBatchRequestEntry> = received
            .iter()
            .enumerate()
            .map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle.clone().unwrap())
                    .build()
                    .unwrap()
            })
            .collect();
        sqs.delete_message_batch().queue_url(&queue_url).set_entries(Some(entries)).send().await.expect("delete");
        batches.push(event);
    }
    let elapsed = started.elapsed();
    assert!(batches.len() >= 2, "drained in batches: {}", batches.len());
    assert_eq!(batches.iter().map(|b| b.records.len()).sum::<usize>(), 7);
    let sent = messenger.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 7, "{sent:?}");
    assert!(sent.values().all(|n| *n == 1), "each exactly once: {sent:?}");
    assert!(elapsed >= Duration::from_millis(2900), "7 sends at 2/s take 3 s at least: {elapsed:?}");
    for outcome in shop.store.outcomes_on(date("2026-11-24")).await.unwrap() {
        assert_eq!(outcome.status, OutcomeStatus::Sent, "{outcome:?}");
    }

    // SQS redelivers a batch (at least once): nothing more is sent.
    for event in &batches {
        let response = sender.handle_at(event.clone(), sent_at).await.expect("the redelivered batch");
        assert!(response.batch_item_failures.is_empty());
    }
    assert_eq!(messenger.sent.lock().unwrap().values().sum::<usize>(), 7);
    // And the queue is empty.
    let left = sqs.receive_message().queue_url(&queue_url).send().await.unwrap().messages.unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    sqs.delete_queue().queue_url(&queue_url).send().await.expect("DeleteQueue");
}
