//! The store port's contract, run against a fresh SQLite file per case.

mod common;

use boomerang_store_contract::{
    contact_contract_tests, racing_contract_tests, referral_contract_tests, store_contract_tests, survey_contract_tests, sweep_contract_tests,
};
use common::fresh_store;

store_contract_tests!(fresh_store);
sweep_contract_tests!(fresh_store);
referral_contract_tests!(fresh_store);
survey_contract_tests!(fresh_store);
// The daily-shopper case over two years.
contact_contract_tests!(fresh_store, boomerang_store_contract::contact_cases::TWO_YEARS);
racing_contract_tests!(fresh_store);
