//! What the reports read besides the sweep's outcomes.

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::domain::book::DayRow;
use crate::domain::ids::CustomerId;
use crate::domain::purchase::Receipt;
use super::StoreError;

/// What the reports read besides the sweep's outcomes (`SweepStore::outcomes_on`): the
/// receipts of the customers concerned, and the day book.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// The customer's receipts whose purchase's local date is in `[from, to]` (by
    /// `occurred_at`, so backdated receipts count on the day they happened), with their refunds
    /// so far, in (local date, receipt id) order: what a report reads per trigger outcome.
    async fn receipts_of(&self, customer: &CustomerId, from: NaiveDate, to: NaiveDate) -> Result<Vec<Receipt>, StoreError>;
    /// The day book's counters (`domain::book`) of the local dates in `[from, to]`, every
    /// store, summed over the store's shards; days with nothing recorded are left out.
    async fn day_figures(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DayRow>, StoreError>;
    /// The book's points per lot expiry date, for expiry dates in `[from, to]`, non-zero only,
    /// in date order. Every movement of those points is dated in `moved` (first, last day): a
    /// store that keeps them on the day of the movement reads those days.
    async fn points_expiring(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        moved: (NaiveDate, NaiveDate),
    ) -> Result<Vec<(NaiveDate, i64)>, StoreError>;
}
