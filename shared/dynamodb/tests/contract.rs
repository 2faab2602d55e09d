//! The store contract, the same suite the embedded SQLite store passes, on a fresh table each.

mod common;

use std::sync::Arc;

use boomerang_store_contract::{
    contact_contract_tests, referral_contract_tests, store_contract_tests, sweep_contract_tests, Fixture,
};

async fn fresh_store() -> Fixture {
    let store = common::fresh_store().await;
    // Tables are left to the emulator, which forgets them when it stops.
    let table = store.table().to_owned();
    Fixture::new(Arc::new(store), table)
}

store_contract_tests!(fresh_store);
sweep_contract_tests!(fresh_store);
referral_contract_tests!(fresh_store);
// The daily-shopper case over a hundred days (the emulator serves one request at a time).
contact_contract_tests!(fresh_store, boomerang_store_contract::contact_cases::THREE_COOLDOWNS);
