//! API tests through the real router: every rule, error code, replay and conflict.

mod auth;
mod bad_input;
mod customers;
mod purchases;
mod referrals;
mod refunds;
mod report_view;
mod survey;
mod reports;
mod unsubscribe;
