//! The store port's contract, run against a fresh SQLite file per case; the daily-shopper
//! case runs over two years.

mod common;

use boomerang_store_contract::contact_cases::TWO_YEARS;
use boomerang_store_contract::contract_tests;
use common::fresh_store;

contract_tests!(fresh_store, TWO_YEARS);
