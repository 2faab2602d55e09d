//! The seeded fault-injection simulation on the embedded store (see
//! `boomerang_store_contract::sim`): `cargo test -p boomerang-sqlite --test simulation --
//! --seed N` replays seed N; `--seeds N` runs more (scripts/soak).

mod common;

use boomerang_store_contract::sim::{main as simulate, Bounds};

fn main() {
    simulate(common::fresh_store, Bounds { seeds: 250, ops: 60, shrink_runs: 400 });
}
