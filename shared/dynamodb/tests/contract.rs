//! The store contract, the same suite the embedded SQLite store passes, on a fresh table each.

mod common;

use boomerang_store_contract::{
    contact_contract_tests, racing_contract_tests, referral_contract_tests, store_contract_tests, survey_contract_tests, sweep_contract_tests,
};
use common::fixture as fresh_store;

store_contract_tests!(fresh_store);
sweep_contract_tests!(fresh_store);
referral_contract_tests!(fresh_store);
survey_contract_tests!(fresh_store);
// The daily-shopper case over a hundred days (the emulator serves one request at a time).
contact_contract_tests!(fresh_store, boomerang_store_contract::contact_cases::THREE_COOLDOWNS);
// Racing on moto proves the store's conditions, not moto's atomicity: scripts/moto.sh serves
// one request at a time, as DynamoDB's transactions are serializable.
racing_contract_tests!(fresh_store);
