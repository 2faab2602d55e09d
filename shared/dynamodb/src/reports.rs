//! What the reports read: a day's receipts from the `by_purchase_date` index.

use async_trait::async_trait;
use chrono::NaiveDate;

use boomerang_core::domain::book::DayRow;
use boomerang_core::domain::purchase::Receipt;
use boomerang_core::ports::{ReportStore, StoreError};

use crate::DynamoStore;
use crate::items;
use crate::layout;

#[async_trait]
impl ReportStore for DynamoStore {
    async fn receipts_on(&self, date: NaiveDate) -> Result<Vec<Receipt>, StoreError> {
        // `by_purchase_date` projects the receipt itself (`rec`), and a refund puts the whole
        // receipt item again with the same index keys, so the index holds each receipt once,
        // with its refunds so far (as of the index's lag), and no item needs reading.
        let found = self.query_index(&layout::BY_PURCHASE_DATE, layout::purchase_date_pks(date)).await?;
        let mut receipts = found.iter().map(items::decode_receipt).collect::<Result<Vec<_>, _>>()?;
        receipts.sort_by(|a, b| a.receipt_id.cmp(&b.receipt_id));
        Ok(receipts)
    }

    async fn day_figures(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DayRow>, StoreError> {
        self.book_days(from, to).await
    }

    async fn points_expiring(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<(NaiveDate, i64)>, StoreError> {
        self.book_expiring(from, to).await
    }
}
