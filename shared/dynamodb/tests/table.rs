//! What the contract does not see: the table, its indexes, expiry markers and error mapping.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::get_item::GetItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

use boomerang_core::config::ProgramConfig;
use boomerang_core::customer::ProfilePatch;
use boomerang_core::ids::{Currency, CustomerId, ReceiptId, StoreId};
use boomerang_core::ports::{CustomerReader, StoreError};
use boomerang_core::purchase::{Backdating, PurchaseRequest};
use boomerang_core::Boomerang;
use boomerang_dynamodb::layout::{self, Index, BY_BIRTHDAY, BY_EXPIRY, BY_LAST_PURCHASE, BY_PURCHASE_DATE};
use boomerang_dynamodb::DynamoStore;

fn now() -> DateTime<Utc> {
    "2026-03-10T09:00:00Z".parse().expect("a valid instant")
}

fn date(s: &str) -> NaiveDate {
    s.parse().expect("a valid date")
}

fn purchase(customer: &str, receipt: &str, at: &str) -> PurchaseRequest {
    PurchaseRequest {
        receipt_id: ReceiptId::parse(receipt).expect("a receipt id"),
        customer_id: CustomerId::parse(customer).expect("a customer id"),
        amount_minor: 100_000,
        currency: Currency::parse("RUB").expect("a currency"),
        occurred_at: DateTime::<FixedOffset>::parse_from_rfc3339(at).expect("an instant"),
        store_id: StoreId::parse("shop-1").expect("a store id"),
        redeem_points: 0,
    }
}

/// The index sort keys (customer or receipt ids) filed under one index partition key.
async fn indexed(store: &DynamoStore, index: Index, pk: &str) -> BTreeSet<String> {
    let out = store
        .client()
        .query()
        .table_name(store.table())
        .index_name(index.name)
        .key_condition_expression("#pk = :pk")
        .expression_attribute_names("#pk", index.pk)
        .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
        .send()
        .await
        .expect("an index query");
    out.items()
        .iter()
        .filter_map(|item| match item.get(index.sk) {
            Some(AttributeValue::S(id)) => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// The sort keys of a customer's items that start with `prefix` (`X#` markers, `E#` ledger).
async fn customer_items(store: &DynamoStore, customer: &str, prefix: &str) -> Vec<String> {
    let out = store
        .client()
        .query()
        .table_name(store.table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", AttributeValue::S(layout::customer_pk(customer)))
        .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("a query");
    out.items()
        .iter()
        .filter_map(|item| match item.get("sk") {
            Some(AttributeValue::S(sk)) => Some(sk.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn creating_the_table_again_is_fine_and_a_foreign_table_is_refused() {
    let store = common::fresh_store().await;
    store.create_table().await.expect("creating an existing Boomerang table is a no-op");

    let name = common::unique_table("foreign");
    let element = |kind| KeySchemaElement::builder().attribute_name("id").key_type(kind).build().expect("a key");
    store
        .client()
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("an attribute"),
        )
        .key_schema(element(KeyType::Hash))
        .send()
        .await
        .expect("a foreign table");
    let foreign = DynamoStore::from_env(&name).await.expect("a client");
    let result = foreign.create_table().await;
    assert!(matches!(result, Err(StoreError::Corrupt(ref m)) if m.contains("not a Boomerang table")), "{result:?}");
}

#[tokio::test]
async fn a_purchase_files_customer_and_receipt_under_sharded_index_keys() {
    let store = Arc::new(common::fresh_store().await);
    let app = Boomerang::new(store.clone(), Arc::new(ProgramConfig::defaults()));
    let receipt = app
        .purchase(&purchase("anna", "r-1", "2026-03-10T11:30:00+03:00"), now(), Backdating::Limited)
        .await
        .expect("a purchase")
        .receipt;

    let lp = layout::last_purchase_pk(date("2026-03-10"), "anna");
    assert_eq!(indexed(&store, BY_LAST_PURCHASE, &lp).await, BTreeSet::from(["anna".to_owned()]));
    let xp = layout::expiry_pk(receipt.earned_lot.expires_on, "anna");
    assert_eq!(indexed(&store, BY_EXPIRY, &xp).await, BTreeSet::from(["anna".to_owned()]));
    let pd = layout::purchase_date_pk(date("2026-03-10"), "r-1");
    assert_eq!(indexed(&store, BY_PURCHASE_DATE, &pd).await, BTreeSet::from(["r-1".to_owned()]));
    assert!(lp.starts_with("LP#2026-03-10#") && pd.starts_with("PD#2026-03-10#"), "{lp} {pd}");

    // Reports read receipts from the index itself: the record is projected into it.
    let out = store
        .client()
        .query()
        .table_name(store.table())
        .index_name(BY_PURCHASE_DATE.name)
        .key_condition_expression("pd_pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(pd))
        .send()
        .await
        .expect("an index query");
    let projected = out.items().first().and_then(|item| item.get("rec")).is_some();
    assert!(projected, "the receipt record is in the by_purchase_date index");
}

#[tokio::test]
async fn an_expiry_marker_is_written_once_per_new_date() {
    let store = Arc::new(common::fresh_store().await);
    let app = Boomerang::new(store.clone(), Arc::new(ProgramConfig::defaults()));
    for (receipt, at) in [
        ("r-1", "2026-03-10T11:30:00+03:00"),
        ("r-2", "2026-03-10T11:40:00+03:00"),
        ("r-3", "2026-03-05T10:00:00+03:00"),
    ] {
        app.purchase(&purchase("anna", receipt, at), now(), Backdating::Limited).await.expect("a purchase");
    }
    // r-1 and r-2 earn into the same lot: one marker; r-3 a lot five days earlier: another.
    assert_eq!(customer_items(&store, "anna", "X#").await, vec!["X#2027-03-05", "X#2027-03-10"]);
    assert_eq!(customer_items(&store, "anna", "E#").await.len(), 3, "one ledger item per purchase");
}

#[tokio::test]
async fn a_birthday_is_indexed_until_the_customer_is_erased() {
    let store = Arc::new(common::fresh_store().await);
    let app = Boomerang::new(store.clone(), Arc::new(ProgramConfig::defaults()));
    let anna = CustomerId::parse("anna").expect("an id");
    let patch = ProfilePatch { birthday: Some(Some(date("1990-05-17"))), ..ProfilePatch::default() };
    app.enroll(&anna, &patch, now()).await.expect("enrolled");
    let bd = layout::birthday_pk(date("1990-05-17"), "anna");
    assert!(bd.starts_with("BD#05-17#"), "{bd}");
    assert_eq!(indexed(&store, BY_BIRTHDAY, &bd).await, BTreeSet::from(["anna".to_owned()]));

    app.erase(&anna, now()).await.expect("erased");
    assert_eq!(indexed(&store, BY_BIRTHDAY, &bd).await, BTreeSet::new(), "an erased customer gets no birthday gift");
}

#[tokio::test]
async fn a_missing_table_is_unavailable_with_the_sdk_error_as_its_source() {
    common::endpoint();
    let store = DynamoStore::from_env(&common::unique_table("never-created")).await.expect("a client");
    let result = store.customer(&CustomerId::parse("anna").expect("an id")).await;
    let Err(StoreError::Unavailable(source)) = result else {
        panic!("expected Unavailable, got {result:?}");
    };
    let sdk = source.downcast_ref::<SdkError<GetItemError>>().expect("the SDK error itself, not a string");
    assert!(sdk.as_service_error().is_some_and(GetItemError::is_resource_not_found_exception), "{sdk:?}");
}

#[tokio::test]
async fn an_undecodable_record_is_corrupt() {
    let store = common::fresh_store().await;
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S(layout::customer_pk("anna")))
        .item("sk", AttributeValue::S("#".into()))
        .item("v", AttributeValue::N("1".into()))
        .item("rec", AttributeValue::S("{\"customer\":".into()))
        .send()
        .await
        .expect("a hand-made item");
    let result = store.customer(&CustomerId::parse("anna").expect("an id")).await;
    assert!(matches!(result, Err(StoreError::Corrupt(_))), "{result:?}");
}
