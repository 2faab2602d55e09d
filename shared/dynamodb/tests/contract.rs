//! The store contract, the same suite the embedded SQLite store passes, on a fresh table each.
//! The daily-shopper case runs over a hundred days (the emulator serves one request at a time).
//! Racing on moto proves the store's conditions, not moto's atomicity: scripts/moto.sh serves
//! one request at a time, as DynamoDB's transactions are serializable.

mod common;

use boomerang_store_contract::contact_cases::THREE_COOLDOWNS;
use boomerang_store_contract::contract_tests;
use common::fixture as fresh_store;

contract_tests!(fresh_store, THREE_COOLDOWNS);
