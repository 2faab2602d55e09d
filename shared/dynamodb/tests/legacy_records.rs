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
