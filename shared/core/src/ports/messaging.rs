//! Email and SMS: what a sender is handed and how a send can fail.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::ids::{CustomerId, Phone};
use crate::domain::kinds::{Channel, MessageKind};
use crate::domain::triggers::OutcomeKey;

/// What a message is about, for the provider's tags, the outbox and logs: its kind, its
/// recipient, and the occasion within the kind (a trigger's episode, the friend whose first
/// purchase a reward is for). Never an address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MessageKey {
    pub kind: MessageKind,
    pub customer_id: CustomerId,
    pub episode: String,
}

impl From<&OutcomeKey> for MessageKey {
    fn from(key: &OutcomeKey) -> Self {
        Self { kind: key.trigger.into(), customer_id: key.customer_id.clone(), episode: key.episode.to_string() }
    }
}

/// A message ready to go: rendered from the templates, with the recipient's address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    pub key: MessageKey,
    pub channel: Channel,
    pub to: String,
    /// The shop's name, shown as the sender.
    pub from_name: String,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    /// Email only: the signed one-click unsubscribe link (RFC 8058 headers).
    pub unsubscribe_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A file attached to an email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: String,
    /// Its MIME type, e.g. `text/html`.
    pub content_type: String,
    pub content: String,
}

/// An email to the shop's owner (the weekly digest), not to a customer: no unsubscribe link
/// (it is not marketing), no contact rules, a file attached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerEmail {
    /// What it is, unique per email and stable across retries (`owner_digest.2026-11-30`):
    /// the provider's tag, the outbox file name and the Message-ID derive from it.
    pub id: String,
    pub to: String,
    /// The shop's name, shown as the sender.
    pub from_name: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachment: Attachment,
    pub created_at: DateTime<Utc>,
}

/// How a send failed. SES and SNS take no idempotency key, so the difference between
/// "certainly not sent" and "maybe sent" decides whether a retry is safe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The provider refused this message for good (bad address, opted out): never retried.
    #[error("rejected: {0}")]
    Rejected(String),
    /// Certainly not sent (throttled, refused before acceptance): safe to retry later.
    #[error("not sent, retry later: {0}")]
    Retryable(String),
    /// The request may or may not have been sent (cut off mid-flight): never re-sent.
    #[error("outcome unknown: {0}")]
    Unknown(String),
}

/// Email and SMS: SES v2 and SNS in AWS, the outbox locally.
#[async_trait]
pub trait Messenger: Send + Sync {
    /// True when the number opted out of SMS (replied STOP).
    async fn sms_opted_out(&self, phone: &Phone) -> Result<bool, SendError>;
    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendError>;
    /// Sends an email to the owner. Messengers that only ever talk to customers (test
    /// doubles) keep this refusal.
    async fn send_owner_email(&self, _email: &OwnerEmail) -> Result<(), SendError> {
        Err(SendError::Rejected("this messenger sends no email to the owner".into()))
    }
}

