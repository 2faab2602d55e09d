//! The store port's contract, run against a fresh SQLite file per case.

use std::sync::Arc;

use boomerang_sqlite::SqliteStore;
use boomerang_store_contract::{
    contact_contract_tests, referral_contract_tests, store_contract_tests, sweep_contract_tests, Fixture,
};

async fn fresh_store() -> Fixture {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = SqliteStore::open(dir.path()).expect("the store opens");
    // The temp dir lives as long as the test's fixture.
    Fixture::new(Arc::new(store), dir)
}

store_contract_tests!(fresh_store);
sweep_contract_tests!(fresh_store);
referral_contract_tests!(fresh_store);
// The daily-shopper case over two years.
contact_contract_tests!(fresh_store, boomerang_store_contract::contact_cases::TWO_YEARS);
