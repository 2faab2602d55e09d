//! What the contract does not see: the table, its indexes, expiry markers and error mapping.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::get_item::GetItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, PutRequest, ScalarAttributeType, WriteRequest,
};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

use boomerang_core::Boomerang;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::{CustomerRecord, ProfilePatch};
use boomerang_core::domain::ids::{Currency, CustomerId, ReceiptId, StoreId};
use boomerang_core::domain::kinds::TriggerKind;
use boomerang_core::domain::ledger::LedgerEntry;
use boomerang_core::domain::purchase::{Backdating, PurchaseRequest};
use boomerang_core::domain::triggers::{Episode, Outcome};
use boomerang_core::ports::{BurnCommit, CustomerReader, CustomerWriter, Expected, StoreError, SweepStore};
use boomerang_dynamodb::{items, markers};
use boomerang_dynamodb::layout::{
    self, Index, BY_BIRTHDAY, BY_EXPIRY, BY_LAST_PURCHASE, BY_CUSTOMER_PURCHASE, BY_SWEEP_DATE, INDEXES,
};
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

/// The items (as the index holds them) filed under one index partition key.
async fn index_items(store: &DynamoStore, index: Index, pk: &str) -> Vec<HashMap<String, AttributeValue>> {
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
    out.items.unwrap_or_default()
}

/// The index sort keys (customer or receipt ids) filed under one index partition key.
async fn indexed(store: &DynamoStore, index: Index, pk: &str) -> BTreeSet<String> {
    index_items(store, index, pk)
        .await
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
    let cp = layout::customer_purchase_pk("anna");
    assert_eq!(indexed(&store, BY_CUSTOMER_PURCHASE, &cp).await, BTreeSet::from(["2026-03-10#r-1".to_owned()]));
    assert!(lp.starts_with("LP#2026-03-10#"), "{lp}");

    // Reports read receipts from the index itself: the record is projected into it.
    let items = index_items(&store, BY_CUSTOMER_PURCHASE, &cp).await;
    let projected = items.first().and_then(|item| item.get("rec")).is_some();
    assert!(projected, "the receipt record is in the by_customer_purchase index");
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
    assert!(customer_items(&store, "anna", "E#").await.is_empty(), "a purchase writes no ledger item of its own");
}

/// A purchase's ledger entries are on its receipt item, outside `by_customer_purchase`; a
/// refund sets the receipt again in place and leaves them.
#[tokio::test]
async fn a_purchase_keeps_its_ledger_entries_on_its_receipt_item_through_a_refund() {
    use boomerang_core::domain::ids::RefundId;
    use boomerang_core::domain::ledger::EntryKind;
    use boomerang_core::domain::purchase::RefundRequest;
    let store = Arc::new(common::fresh_store().await);
    let app = Boomerang::new(store.clone(), Arc::new(ProgramConfig::defaults()));
    app.purchase(&purchase("anna", "r-1", "2026-03-10T11:30:00+03:00"), now(), Backdating::Limited).await.expect("a purchase");
    let receipt_entries = || async {
        let key = items::key(layout::receipt_pk("r-1"), layout::SOLE);
        let found = store.client().get_item().table_name(store.table()).set_key(Some(key)).consistent_read(true).send().await;
        let item = found.expect("a read").item.expect("the receipt item");
        (items::entries_of(&item).expect("entries"), items::decode_receipt(&item).expect("a receipt"))
    };
    let (entries, _) = receipt_entries().await;
    assert_eq!(entries.iter().map(|e| (e.kind, e.points)).collect::<Vec<_>>(), vec![(EntryKind::Earn, 50)]);
    let cp = layout::customer_purchase_pk("anna");
    let listed = index_items(&store, BY_CUSTOMER_PURCHASE, &cp).await;
    assert!(listed.len() == 1 && !listed[0].contains_key(layout::ENTRIES), "the entries are not copied to the index");

    let refund = RefundRequest {
        customer_id: Some(CustomerId::parse("anna").expect("an id")),
        refund_id: RefundId::parse("f-1").expect("a refund id"),
        receipt_id: ReceiptId::parse("r-1").expect("a receipt id"),
        amount_minor: 40_000,
        occurred_at: DateTime::<FixedOffset>::parse_from_rfc3339("2026-03-10T12:00:00+03:00").expect("an instant"),
    };
    app.refund(&refund, now()).await.expect("a refund");
    let (after, receipt) = receipt_entries().await;
    // The write-unit model sizes the refund's update by what it sets; DynamoDB bills the whole
    // item, the same unit while the receipt with its entries stays under 1 KB.
    let key = items::key(layout::receipt_pk("r-1"), layout::SOLE);
    let stored = store.client().get_item().table_name(store.table()).set_key(Some(key)).send().await;
    let stored = stored.expect("a read").item.expect("the receipt item");
    let size: usize = stored
        .iter()
        .map(|(name, v)| name.len() + v.as_s().map(String::len).unwrap_or_else(|_| v.as_n().map_or(0, String::len)))
        .sum();
    assert!(size < 1024, "a refunded receipt with its entries is {size} bytes");
    assert_eq!(after, entries, "the purchase's entries stay on the receipt");
    assert_eq!((receipt.refund.refunds, receipt.refund.refunded_minor), (1, 40_000), "the receipt is the refunded one");
    let listed = index_items(&store, BY_CUSTOMER_PURCHASE, &cp).await;
    assert_eq!(listed.len(), 1, "one place in the index");
    assert_eq!(items::decode_receipt(&listed[0]).expect("a receipt"), receipt, "the index holds the refunded receipt");
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

fn customer_id(s: &str) -> CustomerId {
    CustomerId::parse(s).expect("a customer id")
}

fn birthday_gift(customer: &str, expires_on: &str) -> Outcome {
    common::birthday_gift(customer, expires_on, now())
}

/// The attributes of one item, read consistently from the table.
async fn raw_item(store: &DynamoStore, pk: &str, sk: &str) -> Option<items::Item> {
    store
        .client()
        .get_item()
        .table_name(store.table())
        .set_key(Some(items::key(pk, sk)))
        .consistent_read(true)
        .send()
        .await
        .expect("a read")
        .item
}

/// A table where anna bought once, as read after the purchase, and her birthday gift
/// (valid until 2026-03-24) decided but not yet recorded.
async fn anna_bought_and_her_gift_is_decided() -> (Arc<DynamoStore>, CustomerRecord, Outcome) {
    let store = Arc::new(common::fresh_store().await);
    let app = Boomerang::new(store.clone(), Arc::new(ProgramConfig::defaults()));
    app.purchase(&purchase("anna", "r-1", "2026-03-10T11:30:00+03:00"), now(), Backdating::Limited)
        .await
        .expect("a purchase");
    let anna = store.customer(&customer_id("anna")).await.expect("read").expect("the customer");
    (store, anna, birthday_gift("anna", "2026-03-24"))
}

#[tokio::test]
async fn a_gift_writes_its_expiry_marker_and_a_ledger_item_named_after_its_decision() {
    let (store, anna, decision) = anna_bought_and_her_gift_is_decided().await;
    store.record_outcome(&decision, Some(&boomerang_store_contract::support::gift_commit(&anna, &decision))).await.expect("the gift");

    assert_eq!(customer_items(&store, "anna", "X#").await, vec!["X#2026-03-24", "X#2027-03-10"]);
    let ledger = customer_items(&store, "anna", "E#").await;
    let gift_sk = layout::ledger_sk(now(), "gift:birthday:2026:anna");
    assert!(ledger.contains(&gift_sk), "the gift's ledger item is keyed by its decision: {ledger:?}");
    let xp = layout::expiry_pk(date("2026-03-24"), "anna");
    assert_eq!(indexed(&store, BY_EXPIRY, &xp).await, BTreeSet::from(["anna".to_owned()]));

    // A second gift on a date already marked writes no second marker.
    let anna = store.customer(&customer_id("anna")).await.expect("read").expect("the customer");
    let mut lapse = birthday_gift("anna", "2026-03-24");
    (lapse.key.trigger, lapse.key.episode) = (TriggerKind::Lapsed60, Episode::Lapse(date("2026-01-09")));
    let gift = boomerang_store_contract::support::gift_commit(&anna, &lapse);
    assert!(markers::record_marker_dates(&gift).is_empty(), "the date is held already");
    store.record_outcome(&lapse, Some(&gift)).await.expect("the second gift");
    assert_eq!(customer_items(&store, "anna", "X#").await.len(), 2);
}

#[tokio::test]
async fn an_outcome_is_filed_whole_under_its_sweep_date() {
    let store = common::fresh_store().await;
    let mut decision = birthday_gift("anna", "2026-03-24");
    (decision.gift_points, decision.gift_expires_on) = (0, None);
    store.record_outcome(&decision, None).await.expect("recorded");

    let item = raw_item(&store, "O#anna", "birthday#2026").await.expect("the outcome item");
    assert_eq!(item.get("st"), Some(&AttributeValue::S("pending".into())), "the status the update condition tests");
    let od = layout::sweep_date_pk(date("2026-03-10"), "anna");
    assert!(od.starts_with("OD#2026-03-10#"), "{od}");
    assert_eq!(indexed(&store, BY_SWEEP_DATE, &od).await, BTreeSet::from(["anna#birthday#2026".to_owned()]));
    let items = index_items(&store, BY_SWEEP_DATE, &od).await;
    let projected = items.first().expect("the outcome");
    assert!(projected.contains_key("rec") && projected.contains_key("st"), "the whole outcome is in the index");
}

#[tokio::test]
async fn a_burn_deletes_the_markers_of_its_dates_but_never_of_a_date_still_held() {
    let (store, anna, decision) = anna_bought_and_her_gift_is_decided().await;
    let gift = boomerang_store_contract::support::gift_commit(&anna, &decision);
    store.record_outcome(&decision, Some(&gift)).await.expect("the gift");
    assert_eq!(customer_items(&store, "anna", "X#").await, vec!["X#2026-03-24", "X#2027-03-10"]);

    let mut burned = gift.record.clone();
    let entries = burned.account.burn_expired(date("2026-03-24"), "burn:2026-03-24");
    burned.version += 1;
    // A careless sweep also names 2027-03-10, on which the record still holds points.
    let burn = BurnCommit {
        record: burned,
        expected_version: gift.record.version,
        entries,
        burned_dates: vec![date("2026-03-24"), date("2027-03-10")],
        recorded_at: "2026-03-24T09:00:00Z".parse().expect("an instant"),
    };
    store.commit_burn(&burn).await.expect("the burn");
    assert_eq!(customer_items(&store, "anna", "X#").await, vec!["X#2027-03-10"], "only the burned date is forgotten");
    let ledger = customer_items(&store, "anna", "E#").await;
    assert!(ledger.iter().any(|sk| sk.ends_with("#burn:2026-03-24")), "the burn's ledger item: {ledger:?}");
}

#[tokio::test]
async fn a_burn_of_more_dates_than_a_transaction_holds_forgets_them_all() {
    let store = common::fresh_store().await;
    let mut record = CustomerRecord::new(customer_id("anna"), now());
    record.version = 1;
    store.put_customer(&record, Expected::Absent).await.expect("the customer");
    // 150 stale markers: say the sweep did not run for months.
    let dates: Vec<NaiveDate> = (0..150).map(|i| date("2026-01-01") + chrono::Duration::days(i)).collect();
    for chunk in dates.chunks(25) {
        let requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|d| {
                let put = PutRequest::builder().set_item(Some(markers::expiry_item("anna", *d))).build().expect("a put");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        store.client().batch_write_item().request_items(store.table(), requests).send().await.expect("markers written");
    }
    assert_eq!(customer_items(&store, "anna", "X#").await.len(), 150);

    let mut next = record.clone();
    next.version = 2;
    let entries: Vec<LedgerEntry> = Vec::new();
    let burn = BurnCommit {
        record: next.clone(),
        expected_version: 1,
        entries,
        burned_dates: dates.clone(),
        recorded_at: "2026-03-24T09:00:00Z".parse().expect("an instant"),
    };
    store.reset_metrics();
    store.commit_burn(&burn).await.expect("the burn");
    let m = store.metrics();
    // 99 markers go with the record in the transaction, the other 51 in batches of 25.
    assert_eq!((m.requests("TransactWriteItems"), m.requests("BatchWriteItem")), (1, 3), "{m:?}");
    assert!(customer_items(&store, "anna", "X#").await.is_empty(), "every marker is gone");
    assert_eq!(store.customer(&customer_id("anna")).await.expect("read"), Some(next));
    assert!(store.customers_with_lots_expiring_on(dates[149]).await.expect("query").is_empty());
}

fn old_index(index: &Index) -> GlobalSecondaryIndex {
    let element =
        |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("a key");
    let projection = match index.projected {
        layout::Projected::KeysOnly => Projection::builder().projection_type(ProjectionType::KeysOnly).build(),
        layout::Projected::All => Projection::builder().projection_type(ProjectionType::All).build(),
        layout::Projected::Include(names) => Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(names.iter().map(|n| (*n).to_owned()).collect()))
            .build(),
    };
    GlobalSecondaryIndex::builder()
        .index_name(index.name)
        .key_schema(element(index.pk, KeyType::Hash))
        .key_schema(element(index.sk, KeyType::Range))
        .projection(projection)
        .build()
        .expect("an index")
}

/// Makes a table keyed like ours with only `indexes`, as an older build (or someone else) would.
async fn table_with(store: &DynamoStore, indexes: &[Index]) {
    let string = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("an attribute")
    };
    let element =
        |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("a key");
    let mut attributes = vec![string("pk"), string("sk")];
    for index in indexes {
        attributes.push(string(index.pk));
        attributes.push(string(index.sk));
    }
    store
        .client()
        .create_table()
        .table_name(store.table())
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .key_schema(element("pk", KeyType::Hash))
        .key_schema(element("sk", KeyType::Range))
        .set_global_secondary_indexes((!indexes.is_empty()).then(|| indexes.iter().map(old_index).collect()))
        .send()
        .await
        .expect("a table");
}

#[tokio::test]
async fn a_table_of_an_older_build_gets_the_sweep_date_index() {
    common::endpoint();
    let store = DynamoStore::from_env(&common::unique_table("older")).await.expect("a client");
    let before: Vec<Index> = INDEXES.into_iter().filter(|i| *i != BY_SWEEP_DATE).collect();
    table_with(&store, &before).await;
    store.create_table().await.expect("the missing index is added");

    let described = store.client().describe_table().table_name(store.table()).send().await.expect("described");
    let names: BTreeSet<String> = described
        .table()
        .expect("a table")
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name().map(str::to_owned))
        .collect();
    assert_eq!(names, INDEXES.iter().map(|i| i.name.to_owned()).collect(), "every index is there");
    let mut decision = birthday_gift("anna", "2026-03-24");
    (decision.gift_points, decision.gift_expires_on) = (0, None);
    store.record_outcome(&decision, None).await.expect("recorded");
    assert_eq!(store.outcomes_on(date("2026-03-10")).await.expect("query"), vec![decision]);
}

#[tokio::test]
async fn a_table_keyed_like_ours_without_any_of_our_indexes_is_refused() {
    common::endpoint();
    let store = DynamoStore::from_env(&common::unique_table("pk-sk-foreign")).await.expect("a client");
    table_with(&store, &[]).await;
    let result = store.create_table().await;
    assert!(matches!(result, Err(StoreError::Corrupt(ref m)) if m.contains("not a Boomerang table")), "{result:?}");
}
