//! Boomerang's core, in layers whose dependencies only point down (`scripts/check-layers`
//! proves it in the test command):
//!
//! - `domain/`: the pure rules (ids, program config, ledger, purchases and refunds, customers,
//!   trigger rules, templates and wording, CSV rows). No async, no clock, no randomness, no
//!   ports: time and dates come in as values. `domain::kinds` holds the leaf types.
//! - `report/`: the trigger report, pure too: statistics, the arithmetic, three renderers.
//! - `ports/`: what the use cases need of a store and a messenger, in the domain's terms.
//! - `app/`: the use cases (purchases, customers, sweep, suppression, import, reports), each
//!   a read-decide-commit through the ports with one retry loop.
//!
//! Adapters (SQLite, DynamoDB, SES/SNS, the outbox) and entry points (API, CLI, Lambda
//! functions) live in their own crates and depend on this one.

pub mod app;
pub mod domain;
pub mod ports;
pub mod report;

pub use app::{Answered, Boomerang, Error, SurveyPage};
