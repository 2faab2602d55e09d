//! The pure domain: what a loyalty programme is, with no I/O, no clock, no randomness and no
//! ports. Time, dates and seeds come in as values. `kinds` and `ids` import nothing of ours;
//! every other module builds on them (and on each other) without cycles.

pub mod auth;
pub mod book;
pub mod config;
pub mod contact;
pub mod customer;
pub mod date;
pub mod ids;
pub mod import;
pub mod kinds;
pub mod ledger;
pub mod messages;
pub mod purchase;
pub mod referral;
pub mod report_link;
pub mod survey;
pub mod template;
pub mod triggers;
pub mod wording;
pub mod words;
