//! Records written by earlier builds still load: a customer item whose JSON has no
//! `consent_details` (see `boomerang_store_contract::legacy`).

mod common;

use std::sync::Arc;

use boomerang_dynamodb::items::{key, n, s};
use boomerang_dynamodb::layout::{birthday_pk, customer_pk, last_purchase_pk, BY_BIRTHDAY, BY_LAST_PURCHASE, RECORD, SOLE, VERSION};
use boomerang_store_contract::legacy::{self, a_record_stored_before_consent_details_still_loads};

#[tokio::test]
async fn a_customer_item_without_consent_details_still_loads() {
    let store = Arc::new(common::fresh_store().await);
    let id = legacy::CUSTOMER_ID;
    let mut item = key(customer_pk(id), SOLE);
    item.insert(VERSION.into(), n(legacy::VERSION));
    item.insert(RECORD.into(), s(legacy::RECORD_JSON));
    let last = legacy::LAST_PURCHASE_ON.parse().expect("a date");
    item.insert(BY_LAST_PURCHASE.pk.into(), s(last_purchase_pk(last, id)));
    item.insert(BY_LAST_PURCHASE.sk.into(), s(id));
    item.insert(BY_BIRTHDAY.pk.into(), s(birthday_pk("1990-05-17".parse().expect("a date"), id)));
    item.insert(BY_BIRTHDAY.sk.into(), s(id));
    store
        .client()
        .put_item()
        .table_name(store.table())
        .set_item(Some(item))
        .send()
        .await
        .expect("the old item is written");
    a_record_stored_before_consent_details_still_loads(store).await;
}

/// Points per lot expiry date kept by an earlier build in `BX#` items are still read, and
/// added to what day items now hold (`x<date>`) for the days a lot may have moved on.
#[tokio::test]
async fn the_books_expiry_points_of_an_earlier_build_add_to_the_day_items() {
    use boomerang_core::domain::config::ProgramConfig;
    use boomerang_core::domain::ids::{Currency, CustomerId, ReceiptId, StoreId};
    use boomerang_core::domain::purchase::{Backdating, PurchaseRequest};
    use boomerang_core::ports::ReportStore;
    use boomerang_dynamodb::book::{expiring_pk, expiring_sk};

    let store = Arc::new(common::fresh_store().await);
    let d = |s: &str| s.parse::<chrono::NaiveDate>().expect("a date");
    let old_lot = d("2027-03-09");
    let mut item = key(expiring_pk(old_lot), expiring_sk(old_lot, 5));
    item.insert("points".into(), n(100));
    store.client().put_item().table_name(store.table()).set_item(Some(item)).send().await.expect("the old item");

    let app = boomerang_core::Boomerang::new(store.clone(), Arc::new(ProgramConfig::defaults()));
    let request = PurchaseRequest {
        receipt_id: ReceiptId::parse("r-1").expect("an id"),
        customer_id: CustomerId::parse("anna").expect("an id"),
        amount_minor: 100_000,
        currency: Currency::parse("RUB").expect("a currency"),
        occurred_at: "2026-03-10T11:30:00+03:00".parse().expect("an instant"),
        store_id: StoreId::parse("shop-1").expect("an id"),
        redeem_points: 0,
    };
    let now = "2026-03-10T09:00:00Z".parse().expect("an instant");
    app.purchase(&request, now, Backdating::Limited).await.expect("a purchase");

    let (from, to) = (d("2027-03-01"), d("2027-03-31"));
    let both = store.points_expiring(from, to, (d("2026-03-01"), d("2026-03-11"))).await.expect("read");
    assert_eq!(both, vec![(old_lot, 100), (d("2027-03-10"), 50)], "the old item and the purchase's day");
    let before = store.points_expiring(from, to, (d("2026-03-01"), d("2026-03-09"))).await.expect("read");
    assert_eq!(before, vec![(old_lot, 100)], "only the days of `moved` are read");
}
