//! The use cases: read through the ports, decide with the pure domain, commit conditionally.
//! `Boomerang` holds what they share (the store, the tenant's program, the backoff); each
//! family of use cases lives in its own file as an `impl Boomerang` block.

mod access;
mod customers;
pub mod digest;
mod error;
pub mod import;
mod owner_mail;
mod purchases;
mod referrals;
mod reports;
mod retry;
mod surveys;
mod word_of_mouth;
pub mod suppression;
pub mod sweep;
#[cfg(test)]
pub(crate) mod testing;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

pub use customers::Enrolled;
pub use error::Error;
pub use purchases::{BalanceView, PurchaseOutcome, RefundOutcome};
pub use reports::MAX_REPORT_DAYS;
pub use retry::{Backoff, JitteredBackoff, MAX_ATTEMPTS};
pub use surveys::{Answered, SurveyPage};
pub use word_of_mouth::WordOfMouth;

use crate::domain::config::ProgramConfig;
use crate::ports::Store;

/// The application: the store behind the port and the tenant's program.
#[derive(Clone)]
pub struct Boomerang {
    store: Arc<dyn Store>,
    config: Arc<ProgramConfig>,
    backoff: Arc<dyn Backoff>,
    /// The unsubscribe secret never changes once made: read once, not on every send.
    secret: Arc<tokio::sync::OnceCell<Vec<u8>>>,
    /// This process, as the sender a `sending` claim names (random per process).
    owner: Arc<str>,
}

impl Boomerang {
    pub fn new(store: Arc<dyn Store>, config: Arc<ProgramConfig>) -> Self {
        let owner = format!("p-{:016x}", fastrand::u64(..));
        Self { store, config, backoff: Arc::new(JitteredBackoff), secret: Arc::default(), owner: owner.into() }
    }

    /// The same application naming itself `owner` in its claims (tests of two processes).
    pub fn with_owner(self, owner: &str) -> Self {
        Self { owner: owner.into(), ..self }
    }

    pub(crate) fn owner(&self) -> &str {
        &self.owner
    }

    /// The same application with another wait between lost races (tests: none).
    pub fn with_backoff(self, backoff: Arc<dyn Backoff>) -> Self {
        Self { backoff, ..self }
    }

    /// The tenant's unsubscribe signing secret (made by the store on first use).
    pub(crate) async fn secret(&self) -> Result<&[u8], Error> {
        let secret = self.secret.get_or_try_init(|| self.store.unsubscribe_secret()).await?;
        Ok(secret.as_slice())
    }

    /// The secret once `secret()` has read it (renderers that cannot wait).
    pub(crate) fn loaded_secret(&self) -> Option<&[u8]> {
        self.secret.get().map(Vec::as_slice)
    }

    pub fn config(&self) -> &ProgramConfig {
        &self.config
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub(crate) fn backoff(&self) -> &dyn Backoff {
        &*self.backoff
    }

    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        self.config.local_date(now)
    }
}
