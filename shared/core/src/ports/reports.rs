//! What the reports read besides the sweep's outcomes.

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::domain::purchase::Receipt;
use super::StoreError;

/// What the trigger reports read besides the sweep's outcomes (`SweepStore::outcomes_on`).
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Every receipt whose purchase's local date is `date` (by `occurred_at`, so backdated
    /// receipts count on the day they happened), with its refunds so far.
    async fn receipts_on(&self, date: NaiveDate) -> Result<Vec<Receipt>, StoreError>;
}
