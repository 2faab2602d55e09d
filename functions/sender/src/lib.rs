//! The sender: drains the SQS send queue the sweep fills, one `SendJob` (JSON) per message,
//! and sends each message at most once through `Boomerang::deliver_job` (a trigger's decision
//! or a referrer's reward), paced to the tenant's `messaging.max_sends_per_second`.
//!
//! The cap holds across invocations because the infra gives this function a reserved
//! concurrency of 1: a single execution environment drains the queue, and the pacer lives in
//! it from one invocation to the next (a cold start begins a fresh pacer, but then no other
//! environment is running). The function's timeout must cover a whole batch at the cap (10
//! records at 1/s is 10 s) plus one send's timeout.
//!
//! SQS delivers at least once; `deliver_job` is idempotent (a job that was already sent, or is
//! no longer pending, is `Skipped`), so a redelivered message never sends twice.
//!
//! Waking hours: a record whose channel may not start a send now (an SMS at 21:30) is hidden
//! from the queue until its window opens: the sender sets the record's visibility timeout to
//! the time left (at most SQS's 12 hours; a longer wait just comes back once more and is
//! hidden again) and reports it as a batch item failure, so SQS keeps it. Each such return
//! counts as a receive, well within the queue's `maxReceiveCount`. A retry, a redrive or a
//! late delivery takes the same path, and `deliver` records a decision past its date as
//! `expired` instead of sending it. Records whose
//! delivery failed with an error (the store was unavailable) are reported as partial batch
//! failures (the event source mapping needs `FunctionResponseTypes: ReportBatchItemFailures`):
//! only they come back, and after the queue's `maxReceiveCount` they land in its DLQ. A body
//! that is not a `SendJob` is reported the same way, so that it ends in the DLQ where it
//! can be looked at, rather than being dropped.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use boomerang_aws_messaging::{QueueError, SendQueue};
use boomerang_core::app::sweep::{Delivery, SendJob};
use boomerang_core::Boomerang;
use boomerang_core::ports::Messenger;
use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// Spaces sends `1 / per_second` apart, from one invocation to the next.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Option<Instant>,
}

impl Pacer {
    pub fn new(per_second: u32) -> Self {
        Self { interval: Duration::from_secs(1) / per_second.max(1), next: None }
    }

    /// The earliest instant the next send may start.
    fn slot(&self) -> Instant {
        let now = Instant::now();
        self.next.map_or(now, |next| next.max(now))
    }

    /// A send started at `at`: the next one waits an interval.
    fn used(&mut self, at: Instant) {
        self.next = Some(at + self.interval);
    }
}

/// The longest SQS hides a message (its visibility timeout's maximum, 12 hours).
pub const MAX_HIDE_SECONDS: i64 = 12 * 60 * 60;

/// Hides a received record from the queue for a while: how a send waits for its channel's
/// waking hours.
#[async_trait]
pub trait Hide: Send + Sync {
    async fn hide(&self, receipt_handle: &str, seconds: u32) -> Result<(), QueueError>;
}

#[async_trait]
impl Hide for SendQueue {
    async fn hide(&self, receipt_handle: &str, seconds: u32) -> Result<(), QueueError> {
        self.change_visibility(receipt_handle, seconds).await
    }
}

/// A batch that cannot be answered item by item: Lambda retries it whole.
#[derive(Debug, thiserror::Error)]
#[error("{failed} record(s) failed and {unnamed} of them carry no message id")]
pub struct BatchError {
    pub failed: usize,
    pub unnamed: usize,
}

pub struct Sender<'a> {
    app: &'a Boomerang,
    messenger: &'a dyn Messenger,
    queue: &'a dyn Hide,
    pacer: Mutex<Pacer>,
}

impl<'a> Sender<'a> {
    pub fn new(app: &'a Boomerang, messenger: &'a dyn Messenger, queue: &'a dyn Hide) -> Self {
        let pacer = Pacer::new(app.config().messaging.max_sends_per_second);
        Self { app, messenger, queue, pacer: Mutex::new(pacer) }
    }

    pub async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, BatchError> {
        self.handle_at(event, Utc::now).await
    }

    /// The same, with the clock given (tests).
    pub async fn handle_at(
        &self,
        event: SqsEvent,
        now: impl Fn() -> DateTime<Utc>,
    ) -> Result<SqsBatchResponse, BatchError> {
        let mut response = SqsBatchResponse::default();
        let (mut failed, mut unnamed) = (0, 0);
        for record in event.records {
            if !self.process(&record, &now).await {
                failed += 1;
                match &record.message_id {
                    Some(id) => response.add_failure(id.clone()),
                    None => unnamed += 1,
                }
            }
        }
        if unnamed > 0 {
            return Err(BatchError { failed, unnamed });
        }
        tracing::info!(failed, "batch done");
        Ok(response)
    }

    /// Delivers one record; false when it must come back.
    async fn process(&self, record: &SqsMessage, now: &impl Fn() -> DateTime<Utc>) -> bool {
        let message_id = record.message_id.as_deref().unwrap_or("");
        let job: SendJob = match serde_json::from_str(record.body.as_deref().unwrap_or("")) {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(message_id, error = %e, "the body is not a send job");
                return false;
            }
        };
        let at = self.pacer.lock().expect("the pacer lock").slot();
        tokio::time::sleep_until(at).await;
        let now = now();
        let result = self.app.deliver_job(self.messenger, &job, now).await;
        // Only a send uses a slot: a skipped or waiting key goes to the next record.
        if matches!(result, Ok(Delivery::Sent(..) | Delivery::Failed(_) | Delivery::Unknown)) {
            self.pacer.lock().expect("the pacer lock").used(at);
        }
        if let Ok(Delivery::Deferred(until)) = result {
            let seconds = (until - now).num_seconds().clamp(1, MAX_HIDE_SECONDS) as u32;
            let hidden = match record.receipt_handle.as_deref() {
                Some(handle) => self.queue.hide(handle, seconds).await,
                None => Err(QueueError::Sqs("the record carries no receipt handle".into())),
            };
            match hidden {
                Ok(()) => tracing::info!(message_id, kind = job.kind(), seconds, "waits for waking hours"),
                // It comes back after the queue's visibility timeout and is looked at again.
                Err(e) => tracing::warn!(message_id, error = %e, "could not hide the record until its window opens"),
            }
            return false;
        }
        match result {
            Ok(delivery) => {
                tracing::info!(message_id, kind = job.kind(), delivery = ?delivery, "delivered");
                true
            }
            Err(e) => {
                tracing::error!(message_id, kind = job.kind(), error = %e, "delivery failed; the record comes back");
                false
            }
        }
    }
}
