//! The store port's contract: one suite of cases that every implementation of
//! [`boomerang_core::ports::Store`] must pass, the embedded SQLite store and any later one alike.
//!
//! An adapter crate runs the whole suite with one line in a test file:
//!
//! ```ignore
//! use boomerang_store_contract::{store_contract_tests, Fixture};
//!
//! async fn fresh_store() -> Fixture {
//!     let dir = tempfile::tempdir().expect("a temp dir");
//!     let store = my_adapter::Store::open(dir.path()).expect("the store opens");
//!     Fixture::new(std::sync::Arc::new(store), dir)
//! }
//!
//! store_contract_tests!(fresh_store);
//! ```
//!
//! The macro expands to one test per case (in a module `store_contract`), so each rule is
//! reported on its own. Every case asks the factory for a fresh, empty store and uses fixed
//! instants, never the wall clock. The generated tests use the tokio this crate re-exports,
//! so the adapter needs no tokio setup, but must depend on this crate under its own name.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;

use boomerang_core::ports::Store;

use audit::LedgerRows;

/// A store wrapper's `DigestStore`, passed straight to its `inner` store.
macro_rules! pass_digest_store_through {
    ($wrapper:ty) => {
        #[async_trait::async_trait]
        impl boomerang_core::ports::DigestStore for $wrapper {
            async fn owner_digest(
                &self,
                date: chrono::NaiveDate,
            ) -> Result<Option<boomerang_core::ports::DigestRecord>, boomerang_core::ports::StoreError> {
                self.inner.owner_digest(date).await
            }
            async fn record_owner_digest(
                &self,
                record: &boomerang_core::ports::DigestRecord,
            ) -> Result<(), boomerang_core::ports::StoreError> {
                self.inner.record_owner_digest(record).await
            }
            async fn update_owner_digest(
                &self,
                record: &boomerang_core::ports::DigestRecord,
                from: boomerang_core::domain::kinds::SendStatus,
            ) -> Result<(), boomerang_core::ports::StoreError> {
                self.inner.update_owner_digest(record, from).await
            }
        }
    };
}

pub mod audit;
pub mod cases;
pub mod contact_cases;
pub mod faults;
pub mod lag;
pub mod legacy;
pub mod racing;
pub mod sim;
pub mod referral_cases;
pub mod survey_cases;
pub mod sweep_cases;
/// Builders of records and commits the cases share (the stores' own tests use them too).
pub mod support;

/// A fresh, empty store for one test, and whatever must outlive it (a temp dir, a table).
pub struct Fixture {
    pub store: Arc<dyn Store>,
    /// The store's ledger rows read back, for the cases that judge records against them
    /// (the racing cases, the simulation); `None` for the cases that need no such reader.
    pub ledger: Option<Arc<dyn LedgerRows>>,
    /// Dropped with the fixture at the end of the test, never read.
    pub _guard: Box<dyn Any + Send>,
}

impl Fixture {
    pub fn new(store: Arc<dyn Store>, guard: impl Any + Send) -> Self {
        Self { store, ledger: None, _guard: Box::new(guard) }
    }

    /// The same fixture with a reader of its store's ledger rows.
    pub fn with_ledger(self, ledger: Arc<dyn LedgerRows>) -> Self {
        Self { ledger: Some(ledger), ..self }
    }

    /// The ledger reader; the cases that need one say so when the factory gave none.
    pub fn ledger_rows(&self) -> Arc<dyn LedgerRows> {
        self.ledger.clone().expect("this case reads the ledger rows back: the factory must call Fixture::with_ledger")
    }
}

/// Makes a fresh, empty store per case. Async so that a factory can create a remote table.
/// Any `Fn() -> impl Future<Output = Fixture>` is one, so an `async fn` serves.
pub trait StoreFactory {
    fn fresh(&self) -> impl Future<Output = Fixture>;
}

impl<F, Fut> StoreFactory for F
where
    F: Fn() -> Fut,
    Fut: Future<Output = Fixture>,
{
    fn fresh(&self) -> impl Future<Output = Fixture> {
        self()
    }
}

#[doc(hidden)]
pub mod __private {
    pub use tokio;
}

/// Every case of this crate, each given `$factory`: what a store must pass. `$horizon` is how
/// long the contact rules' daily-shopper case runs (a [`contact_cases::Horizon`]).
#[macro_export]
macro_rules! contract_tests {
    ($factory:expr, $horizon:expr $(,)?) => {
        $crate::store_contract_tests!($factory);
        $crate::sweep_contract_tests!($factory);
        $crate::referral_contract_tests!($factory);
        $crate::survey_contract_tests!($factory);
        $crate::contact_contract_tests!($factory, $horizon);
        $crate::racing_contract_tests!($factory);
    };
}

/// Expands to one `#[tokio::test]` per contract case, each given `$factory` (a
/// [`StoreFactory`], e.g. the path of an `async fn() -> Fixture`).
#[macro_export]
macro_rules! store_contract_tests {
    ($factory:expr $(,)?) => {
        mod store_contract {
            // The factory expression is written in the caller's module.
            #[allow(unused_imports)]
            use super::*;
            $crate::__contract_cases! {
                cases;
                ($factory);
                a_customer_record_reads_back_exactly_as_written,
                each_customer_write_moves_the_version_by_one,
                creating_a_customer_that_exists_is_a_conflict_and_changes_nothing,
                a_customer_write_on_a_stale_version_is_a_conflict_and_changes_nothing,
                a_committed_purchase_shows_its_customer_and_receipt,
                a_purchase_view_of_unknown_ids_is_empty_and_receipt_ids_are_tenant_wide,
                a_reused_receipt_id_is_a_duplicate_and_writes_nothing,
                a_purchase_on_a_stale_version_is_a_conflict_and_writes_no_receipt,
                a_refund_view_shows_the_refund_its_receipt_and_its_customer,
                a_refund_view_reads_the_receipts_own_customer_whatever_the_guess,
                a_reused_refund_id_is_a_duplicate_and_writes_nothing,
                a_refund_on_a_stale_customer_version_is_a_conflict_and_writes_nothing,
                a_refund_of_a_receipt_refunded_meanwhile_is_a_conflict_and_writes_nothing,
                a_key_is_found_by_its_hash_and_listed,
                a_terminal_has_at_most_one_live_key,
                revoking_a_key_marks_it_and_frees_its_terminal,
                the_unsubscribe_secret_is_made_once_and_never_changes,
                a_replayed_purchase_returns_the_recorded_receipt,
                a_receipt_id_reused_for_a_different_purchase_is_refused,
                a_replayed_refund_returns_the_recorded_refund,
                a_refund_naming_another_customer_is_refused_and_changes_nothing,
                a_revoked_key_is_refused_at_once,
                concurrent_spends_never_overdraw_the_balance,
                concurrent_purchases_on_one_customer_all_land,
                concurrent_refunds_never_refund_more_than_the_receipt,
                two_thousand_purchases_over_five_years_keep_the_record_bounded,
                customers_are_found_by_the_local_date_of_their_last_purchase,
                customers_are_found_by_birthday_month_and_day_unless_erased,
                customers_are_found_by_the_expiry_date_of_their_lots_gifts_included,
                a_recorded_outcome_and_its_gift_land_together,
                an_outcome_key_is_recorded_once_and_its_gift_credited_once,
                a_gift_on_a_stale_version_is_a_conflict_and_writes_neither_outcome_nor_gift,
                an_outcome_moves_from_pending_to_sending_at_most_once,
                outcomes_are_listed_by_their_sweep_date_only,
                a_burn_removes_expired_lots_and_the_customer_from_that_dates_expiry_list,
                a_burn_on_a_stale_version_is_a_conflict_and_changes_nothing,
                a_burn_of_lots_already_spent_only_forgets_their_date,
                the_last_completed_sweep_never_moves_backwards,
                a_customers_receipts_are_listed_by_the_local_date_of_their_purchase,
                a_digest_link_opens_the_weeks_report_for_seven_days_and_no_altered_link_opens,
                the_sweep_of_the_digest_day_sends_the_owner_one_digest_however_often_it_runs,
                a_sweep_catching_up_after_a_missed_digest_day_sends_that_digest_once,
                points_and_store_figures_follow_earn_spend_refunds_burns_and_gifts,
                reports_from_the_book_equal_reports_from_every_raw_row,
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __contract_cases {
    // One test per case of `$module` (a case module of this crate), each called with the
    // arguments `$args` (the factory, and whatever else the cases take), in parentheses.
    ($module:ident; $args:tt; $case:ident $(, $rest:ident)* $(,)?) => {
        #[$crate::__private::tokio::test(
            flavor = "multi_thread",
            worker_threads = 4,
            crate = "::boomerang_store_contract::__private::tokio"
        )]
        async fn $case() {
            $crate::$module::$case $args.await;
        }
        $crate::__contract_cases! { $module; $args; $($rest),* }
    };
    ($module:ident; $args:tt;) => {};
}
