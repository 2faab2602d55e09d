//! Boomerang's core: the pure domain (program config, ledger, purchases, customers,
//! messages), the store port and the use cases. No AWS types, no I/O, no clock reads:
//! time comes in as a value.

pub mod auth;
pub mod config;
pub mod customer;
pub mod error;
pub mod ids;
pub mod import;
pub mod ledger;
pub mod messages;
pub mod ports;
pub mod purchase;
pub mod report;
pub mod report_html;
pub mod reporting;
pub mod service;
pub mod suppression;
pub mod sweep;
pub mod sweeper;
pub mod template;

pub use error::Error;
pub use service::Boomerang;
