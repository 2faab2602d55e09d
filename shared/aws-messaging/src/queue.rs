//! The send queue: the sweep hands each message left to send (its `SendJob`, as JSON) to SQS,
//! and the sender drains it at the tenant's capped rate. A day with more messages than one
//! invocation could send still finishes, and whatever cannot be sent lands in the queue's DLQ.
//!
//! Handing a job over twice is harmless: `Boomerang::deliver_job` sends a message at most
//! once and answers `Skipped` for one that is no longer pending. So SQS requests may be retried
//! freely here, by the SDK and by this module.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use boomerang_core::app::sweep::SendJob;

/// The send queue's URL, for the sweep (which fills it) and the sender (which drains it).
pub const QUEUE_URL_ENV: &str = "BOOMERANG_SEND_QUEUE_URL";

/// Entries in one `SendMessageBatch` (the SQS maximum).
pub const SEND_BATCH: usize = 10;
/// Rounds of re-sending the entries SQS failed for reasons of its own.
const ATTEMPTS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("SQS SendMessageBatch failed")]
    Sqs(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Some entries were still refused after the retries; `handed_off` made it.
    #[error("SQS refused {failed} of the keys ({code}); {handed_off} were handed off")]
    Refused { failed: usize, handed_off: usize, code: String },
}

pub struct SendQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SendQueue {
    pub fn new(sdk: &SdkConfig, url: impl Into<String>) -> Self {
        Self { client: aws_sdk_sqs::Client::new(sdk), url: url.into() }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Hides a received message for `seconds` (SQS's `ChangeMessageVisibility`): it comes
    /// back then, unless it is deleted first.
    pub async fn change_visibility(&self, receipt_handle: &str, seconds: u32) -> Result<(), QueueError> {
        let seconds = i32::try_from(seconds).unwrap_or(i32::MAX);
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map_err(|e| QueueError::Sqs(Box::new(e)))?;
        Ok(())
    }

    /// Sends every job, `SEND_BATCH` to a request; returns how many were handed off.
    pub async fn hand_off(&self, keys: &[SendJob]) -> Result<usize, QueueError> {
        let mut handed_off = 0;
        for chunk in keys.chunks(SEND_BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, key) in chunk.iter().enumerate() {
                let body = serde_json::to_string(key).map_err(|e| QueueError::Sqs(Box::new(e)))?;
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| QueueError::Sqs(Box::new(e)))?;
                entries.push(entry);
            }
            handed_off += self.send_batch(entries, handed_off).await?;
        }
        Ok(handed_off)
    }

    /// One batch, re-sending the entries SQS failed on its side (never those it blames on us).
    async fn send_batch(
        &self,
        mut entries: Vec<SendMessageBatchRequestEntry>,
        before: usize,
    ) -> Result<usize, QueueError> {
        let mut sent = 0;
        for attempt in 0..ATTEMPTS {
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries.clone()))
                .send()
                .await
                .map_err(|e| QueueError::Sqs(Box::new(e)))?;
            sent += out.successful.len();
            if out.failed.is_empty() {
                return Ok(sent);
            }
            let permanent = out.failed.iter().find(|f| f.sender_fault);
            if permanent.is_some() || attempt + 1 == ATTEMPTS {
                let code = permanent.unwrap_or(&out.failed[0]).code.clone();
                return Err(QueueError::Refused { failed: out.failed.len(), handed_off: before + sent, code });
            }
            let failed: Vec<&str> = out.failed.iter().map(|f| f.id.as_str()).collect();
            entries.retain(|e| failed.contains(&e.id()));
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        }
        unreachable!("the last attempt returns")
    }
}
