//! The store port, shaped for DynamoDB: every write is one atomic, conditional operation
//! on records whose size does not grow with history; idempotency ids are enforced by the
//! store's own conditions, never by a read-then-write race in the caller.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::ApiKeyRecord;
use crate::customer::{Channel, CustomerRecord};
use crate::ids::{CustomerId, Phone, ReceiptId, RefundId, TerminalName};
use crate::ledger::LedgerEntry;
use crate::purchase::{Receipt, Refund};
use crate::sweep::{Outcome, OutcomeKey, OutcomeStatus};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record's version is not the expected one: someone else wrote first. Retry.
    #[error("the record was changed by a concurrent writer")]
    Conflict,
    /// The idempotency id (receipt, refund, key) is already taken. Read it and replay.
    #[error("the id is already recorded")]
    Duplicate,
    /// The store could not be reached or refused the request; safe to retry later.
    #[error("the store is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Stored data failed to decode: a bug or a manual edit, never the caller's fault.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// The condition a write puts on the customer record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// The record must not exist yet.
    Absent,
    /// The record must still be at this version.
    Version(u64),
}

impl Expected {
    pub fn of(record: &Option<CustomerRecord>) -> Self {
        match record {
            Some(r) => Expected::Version(r.version),
            None => Expected::Absent,
        }
    }
    pub fn next_version(self) -> u64 {
        match self {
            Expected::Absent => 1,
            Expected::Version(v) => v + 1,
        }
    }
}

/// Everything a purchase needs to decide, read in one round trip.
#[derive(Debug, Clone, Default)]
pub struct PurchaseView {
    pub customer: Option<CustomerRecord>,
    pub receipt: Option<Receipt>,
}

/// One purchase, committed atomically: the customer record (at `expected`), the receipt (only
/// if its id is new in the whole tenant, whatever the customer) and its entries.
/// The store writes `record` as given; the use case has set `record.version` to
/// `expected.next_version()`.
#[derive(Debug, Clone)]
pub struct PurchaseCommit {
    pub record: CustomerRecord,
    pub expected: Expected,
    pub receipt: Receipt,
    pub entries: Vec<LedgerEntry>,
}

#[derive(Debug, Clone, Default)]
pub struct RefundView {
    pub refund: Option<Refund>,
    pub receipt: Option<Receipt>,
    /// The receipt's customer, when the receipt exists.
    pub customer: Option<CustomerRecord>,
}

/// One refund, committed atomically: the refund (only if its id is new), the receipt (only if
/// it still has `expected_refunds` refunds) and the customer record (at `expected_version`).
#[derive(Debug, Clone)]
pub struct RefundCommit {
    pub record: CustomerRecord,
    pub expected_version: u64,
    pub receipt: Receipt,
    pub expected_refunds: u32,
    pub refund: Refund,
    pub entries: Vec<LedgerEntry>,
}

/// Reads a customer: all the balance function may do.
#[async_trait]
pub trait CustomerReader: Send + Sync {
    async fn customer(&self, id: &CustomerId) -> Result<Option<CustomerRecord>, StoreError>;
}

/// Writes a customer record under a version condition (enroll, erase, unsubscribe).
#[async_trait]
pub trait CustomerWriter: Send + Sync {
    /// Writes `record` (whose version the caller set to `expected.next_version()`);
    /// `Conflict` if the condition fails.
    async fn put_customer(&self, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError>;
}

/// Purchases and refunds.
#[async_trait]
pub trait LedgerWriter: Send + Sync {
    /// The customer's record and the receipt with this id, whoever's it is (receipt ids are
    /// tenant-wide), read in one round trip.
    async fn purchase_view(&self, customer: &CustomerId, receipt: &ReceiptId) -> Result<PurchaseView, StoreError>;
    /// `Conflict` if the record moved, `Duplicate` if the receipt id is taken; nothing written then.
    async fn commit_purchase(&self, commit: &PurchaseCommit) -> Result<(), StoreError>;
    /// The refund with this id, the receipt and the receipt's customer. `customer` is the
    /// request's guess of that customer: a store may read it with the receipt, in the same
    /// round trip, and must read the receipt's own customer when the guess is wrong or absent.
    async fn refund_view(
        &self,
        refund: &RefundId,
        receipt: &ReceiptId,
        customer: Option<&CustomerId>,
    ) -> Result<RefundView, StoreError>;
    /// `Conflict` if the record or receipt moved, `Duplicate` if the refund id is taken.
    async fn commit_refund(&self, commit: &RefundCommit) -> Result<(), StoreError>;
}

/// POS keys, kept as hashes.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// `Duplicate` if the terminal already has a key that is not revoked, or the hash is stored.
    async fn insert_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    async fn key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Revokes the terminal's live key; returns how many keys it revoked (0 or 1).
    async fn revoke_key(&self, terminal: &TerminalName, at: DateTime<Utc>) -> Result<u32, StoreError>;
}

/// The tenant's signing secret for unsubscribe links, created on first use.
#[async_trait]
pub trait SecretStore: Send + Sync {
    async fn unsubscribe_secret(&self) -> Result<Vec<u8>, StoreError>;
}

/// Everything the API and the sweep need; each adapter implements all of it.
pub trait Store:
    CustomerReader + CustomerWriter + LedgerWriter + KeyStore + SecretStore + SweepStore + ReportStore
{
}
impl<T> Store for T where
    T: CustomerReader + CustomerWriter + LedgerWriter + KeyStore + SecretStore + SweepStore + ReportStore
{
}

/// A gift credited with a decision: the record with the gift lot added, at `expected_version`
/// (written with `record.version`), and the gift's ledger entries.
#[derive(Debug, Clone)]
pub struct GiftCommit {
    pub record: CustomerRecord,
    pub expected_version: u64,
    pub entries: Vec<LedgerEntry>,
}

/// A burn: the record with its expired lots removed, at `expected_version`, the `expire`
/// entries, and the expiry dates whose index entries (markers) this customer no longer needs.
#[derive(Debug, Clone)]
pub struct BurnCommit {
    pub record: CustomerRecord,
    pub expected_version: u64,
    pub entries: Vec<LedgerEntry>,
    pub burned_dates: Vec<NaiveDate>,
    /// When the sweep burned (the entries' time; part of their key in some stores).
    pub recorded_at: DateTime<Utc>,
}

/// What the daily sweep reads and writes. The audience queries go through indexes, so a
/// sweep costs in proportion to the customers due, never to the size of the base; they may
/// lag a write a little (the sweep re-reads each record before it decides).
#[async_trait]
pub trait SweepStore: Send + Sync {
    /// Customers whose last purchase was on this local date.
    async fn customers_last_bought_on(&self, date: NaiveDate) -> Result<Vec<CustomerId>, StoreError>;
    /// Customers (not erased) with a birthday on this month and day.
    async fn customers_born_on(&self, month: u32, day: u32) -> Result<Vec<CustomerId>, StoreError>;
    /// Customers who had a lot expiring on this date (it may since have been spent or burned).
    async fn customers_with_lots_expiring_on(&self, date: NaiveDate) -> Result<Vec<CustomerId>, StoreError>;
    async fn outcome(&self, key: &OutcomeKey) -> Result<Option<Outcome>, StoreError>;
    /// Records a decision: the outcome only if its key is new (`Duplicate` otherwise) and, in
    /// the same atomic write, the gift (`Conflict` if the record moved). Nothing is written
    /// on either error.
    async fn record_outcome(&self, outcome: &Outcome, gift: Option<&GiftCommit>) -> Result<(), StoreError>;
    /// Stores `outcome` (same key) only if the stored status is still `from` (`Conflict` otherwise).
    async fn update_outcome(&self, outcome: &Outcome, from: OutcomeStatus) -> Result<(), StoreError>;
    /// Every outcome decided on this sweep date.
    async fn outcomes_on(&self, date: NaiveDate) -> Result<Vec<Outcome>, StoreError>;
    /// `Conflict` if the record moved; nothing written then.
    async fn commit_burn(&self, burn: &BurnCommit) -> Result<(), StoreError>;
    /// The last local date a sweep completed, if any.
    async fn last_completed_sweep(&self) -> Result<Option<NaiveDate>, StoreError>;
    /// Remembers that the sweep of `date` completed (never moves backwards).
    async fn complete_sweep(&self, date: NaiveDate) -> Result<(), StoreError>;
}

/// A message ready to go: rendered from the templates, with the recipient's address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    pub key: OutcomeKey,
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
}

/// What the trigger reports read besides the sweep's outcomes (`SweepStore::outcomes_on`).
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Every receipt whose purchase's local date is `date` (by `occurred_at`, so backdated
    /// receipts count on the day they happened), with its refunds so far.
    async fn receipts_on(&self, date: NaiveDate) -> Result<Vec<Receipt>, StoreError>;
}
