//! What the reports read besides the sweep's outcomes.

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::domain::book::DayRow;
use crate::domain::purchase::Receipt;
use super::StoreError;

/// What the trigger reports read besides the sweep's outcomes (`SweepStore::outcomes_on`).
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Every receipt whose purchase's local date is `date` (by `occurred_at`, so backdated
    /// receipts count on the day they happened), with its refunds so far.
    async fn receipts_on(&self, date: NaiveDate) -> Result<Vec<Receipt>, StoreError>;
    /// The day book's counters (`domain::book`) of the local dates in `[from, to]`, every
    /// store, summed over the store's shards; days with nothing recorded are left out.
    async fn day_figures(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DayRow>, StoreError>;
    /// The book's points per lot expiry date, for expiry dates in `[from, to]`, non-zero only,
    /// in date order.
    async fn points_expiring(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<(NaiveDate, i64)>, StoreError>;
}
