//! Records written by earlier builds still load: a customer row whose JSON has no
//! `consent_details` (see `boomerang_store_contract::legacy`).

use std::sync::Arc;

use boomerang_sqlite::{SqliteStore, DB_FILE};
use boomerang_store_contract::legacy::{self, a_record_stored_before_consent_details_still_loads};
use rusqlite::params;

#[tokio::test]
async fn a_customer_row_without_consent_details_still_loads() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = Arc::new(SqliteStore::open(dir.path()).expect("the store opens"));
    let raw = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("the file opens");
    raw.execute(
        "INSERT INTO customers (customer_id, version, record, last_purchase_on, birthday_md, erased) \
         VALUES (?1, ?2, ?3, ?4, ?5, 0)",
        params![legacy::CUSTOMER_ID, legacy::VERSION, legacy::RECORD_JSON, legacy::LAST_PURCHASE_ON, legacy::BIRTHDAY_MM_DD],
    )
    .expect("the old row is written");
    a_record_stored_before_consent_details_still_loads(store).await;
}
