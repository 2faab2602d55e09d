//! What the reports read: a customer's receipts of a window from the `by_customer_purchase`
//! index, and the day book (`book`).

use async_trait::async_trait;
use chrono::NaiveDate;

use boomerang_core::domain::book::DayRow;
use boomerang_core::domain::purchase::Receipt;
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::ports::{encode_date, ReportStore, StoreError};

use crate::DynamoStore;
use crate::items;
use crate::layout;

#[async_trait]
impl ReportStore for DynamoStore {
    async fn receipts_of(&self, customer: &CustomerId, from: NaiveDate, to: NaiveDate) -> Result<Vec<Receipt>, StoreError> {
        // `by_customer_purchase` projects the receipt itself (`rec`), and a refund sets `rec`
        // in place under the same index keys, so the index holds each receipt once, with its
        // refunds so far (as of the index's lag), and no item needs reading.
        let pk = layout::customer_purchase_pk(customer.as_str());
        // `~` sorts after every receipt id of the last date.
        let between = (encode_date(from), format!("{}#~", encode_date(to)));
        let query = self.partition_query(Some(&layout::BY_CUSTOMER_PURCHASE), pk, Some(between));
        let found = self.query_all(query).await?;
        found.iter().map(items::decode_receipt).collect()
    }

    async fn day_figures(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DayRow>, StoreError> {
        self.book_days(from, to).await
    }

    async fn points_expiring(&self, from: NaiveDate, to: NaiveDate, moved: (NaiveDate, NaiveDate)) -> Result<Vec<(NaiveDate, i64)>, StoreError> {
        self.book_expiring(from, to, moved).await
    }
}
