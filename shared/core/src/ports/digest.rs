//! The owner's weekly digest as a record: one per sweep date that sends it, holding the
//! email itself, so that it is sent at most once (intent, claim, send, outcome) by whoever
//! runs the send: the sweep inline, or the sender it hands the job to.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{OwnerEmail, StoreError};
use crate::domain::kinds::SendStatus;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestRecord {
    /// The sweep date that sends it (the digest covers the 7 days before).
    pub sweep_date: NaiveDate,
    /// Pending, then sending (claimed: never claimed again), then sent, failed (refused for
    /// good) or unknown (cut off mid-send: maybe sent, never re-sent).
    pub status: SendStatus,
    /// The email as it was made when the intent was recorded.
    pub email: OwnerEmail,
    /// The process that claimed the send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// The provider's words when the send failed (never an address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[async_trait]
pub trait DigestStore: Send + Sync {
    /// The digest of this sweep date, if one was recorded.
    async fn owner_digest(&self, sweep_date: NaiveDate) -> Result<Option<DigestRecord>, StoreError>;
    /// Records the intent: only if none is recorded for its sweep date (`Duplicate` otherwise;
    /// nothing written then).
    async fn record_owner_digest(&self, record: &DigestRecord) -> Result<(), StoreError>;
    /// Stores `record` (same sweep date) only if the stored status is still `from`
    /// (`Conflict` otherwise).
    async fn update_owner_digest(&self, record: &DigestRecord, from: SendStatus) -> Result<(), StoreError>;
}
