//! What the daily sweep reads and writes.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::customer::CustomerRecord;
use crate::domain::ids::CustomerId;
use crate::domain::ledger::LedgerEntry;
use crate::domain::triggers::{Outcome, OutcomeKey, OutcomeStatus};
use super::StoreError;

/// The customer record written with an outcome, at `expected_version` (written with
/// `record.version`): a decision reserves the customer's next message date in it (the
/// contact rules), a claim to send credits the gift in it. `entries` are the gift's ledger
/// entries (none for a decision, or a message without a gift), recorded at `recorded_at`.
#[derive(Debug, Clone)]
pub struct RecordCommit {
    pub record: CustomerRecord,
    pub expected_version: u64,
    pub entries: Vec<LedgerEntry>,
    pub recorded_at: DateTime<Utc>,
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
    /// the same atomic write, the customer record (`Conflict` if it moved). Nothing is
    /// written on either error.
    async fn record_outcome(&self, outcome: &Outcome, record: Option<&RecordCommit>) -> Result<(), StoreError>;
    /// A claim to send: stores `outcome` (same key, status `sending`) only if the stored one is
    /// still `pending`, and in the same atomic write the customer record, only if it is still
    /// at `record.expected_version` (so a purchase since the second look stops the send).
    /// `Conflict` if either moved; nothing is written then.
    async fn claim_outcome(&self, outcome: &Outcome, record: &RecordCommit) -> Result<(), StoreError>;
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

