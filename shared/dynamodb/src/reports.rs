//! What the reports read: a customer's receipts of a window from the `by_customer_purchase`
//! index, and the day book (`book`).

use async_trait::async_trait;
use chrono::NaiveDate;

use boomerang_core::domain::book::DayRow;
use boomerang_core::domain::purchase::Receipt;
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::ports::{encode_date, ReportStore, StoreError};

use crate::DynamoStore;
use crate::items::{self, s};
use crate::layout;

#[async_trait]
impl ReportStore for DynamoStore {
    async fn receipts_of(&self, customer: &CustomerId, from: NaiveDate, to: NaiveDate) -> Result<Vec<Receipt>, StoreError> {
        // `by_customer_purchase` projects the receipt itself (`rec`), and a refund puts the
        // whole receipt item again with the same index keys, so the index holds each receipt
        // once, with its refunds so far (as of the index's lag), and no item needs reading.
        let index = &layout::BY_CUSTOMER_PURCHASE;
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index.name)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .expression_attribute_names("#pk", index.pk)
            .expression_attribute_names("#sk", index.sk)
            .expression_attribute_values(":pk", s(layout::customer_purchase_pk(customer.as_str())))
            .expression_attribute_values(":from", s(encode_date(from)))
            // `~` sorts after every receipt id of the last date.
            .expression_attribute_values(":to", s(format!("{}#~", encode_date(to))));
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
