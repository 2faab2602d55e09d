//! The seeded fault-injection simulation on the DynamoDB store, against the emulator (see
//! `boomerang_store_contract::sim`): fewer seeds than on SQLite, since moto serves one
//! request at a time. `cargo test -p boomerang-dynamodb --test simulation -- --seed N`
//! replays seed N.

mod common;

use boomerang_store_contract::sim::{main as simulate, Bounds};

fn main() {
    simulate(common::fixture, Bounds { seeds: 10, ops: 30, shrink_runs: 30 });
}
