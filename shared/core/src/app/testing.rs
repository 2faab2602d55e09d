//! An in-memory store for the use cases' unit tests, with the faults they need: a concurrent
//! writer that wins the next races, an outage after some writes, a store that is down.
//! The stores themselves are proven by the contract suite (`boomerang-store-contract`); this
//! one keeps only customers and receipts, and refuses what the core tests never do.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::app::Boomerang;
use crate::app::retry::Backoff;
use crate::domain::kinds::SendStatus;
use crate::domain::auth::ApiKeyRecord;
use crate::domain::config::ProgramConfig;
use crate::domain::customer::CustomerRecord;
use crate::domain::ids::{CustomerId, ReceiptId, TerminalName};
use crate::domain::purchase::Receipt;
use crate::domain::referral::{ReferralCode, ReferralReward};
use crate::domain::survey::alert::OwnerAlert;
use crate::domain::survey::{Survey, SurveyKey};
use crate::domain::triggers::{Outcome, OutcomeKey, OutcomeStatus};
use crate::ports::*;

#[derive(Default)]
struct State {
    customers: BTreeMap<CustomerId, CustomerRecord>,
    receipts: BTreeMap<ReceiptId, Receipt>,
    writes: usize,
    /// Refuse every write once this many have been made (an outage mid-way).
    fail_after: Option<usize>,
    /// Before each of the next this many customer writes, a concurrent writer renames the
    /// customer (and so moves the version).
    races: u32,
    unavailable: bool,
    secret: Option<Vec<u8>>,
    codes: BTreeMap<ReferralCode, CustomerId>,
}

/// Cloning shares the state.
#[derive(Default, Clone)]
pub struct MemoryStore(Arc<Mutex<State>>);

/// Waits for nothing: tests of lost races run without sleeping.
pub struct NoBackoff;

#[async_trait]
impl Backoff for NoBackoff {
    async fn wait(&self, _: u32) {}
}

impl MemoryStore {
    /// The application over a fresh store, with the default program.
    pub fn app() -> (Boomerang, MemoryStore) {
        let store = MemoryStore::default();
        let app = Boomerang::new(Arc::new(store.clone()), Arc::new(ProgramConfig::defaults()))
            .with_backoff(Arc::new(NoBackoff));
        (app, store)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().expect("not poisoned")
    }

    pub fn insert(&self, record: CustomerRecord) {
        self.state().customers.insert(record.customer.customer_id.clone(), record);
    }

    pub fn get(&self, id: &str) -> CustomerRecord {
        self.state().customers[&CustomerId::parse(id).expect("a valid id")].clone()
    }

    pub fn writes(&self) -> usize {
        self.state().writes
    }

    pub fn receipt_count(&self) -> usize {
        self.state().receipts.len()
    }

    pub fn fail_writes_after(&self, writes: Option<usize>) {
        self.state().fail_after = writes;
    }

    pub fn lose_next_races(&self, races: u32) {
        self.state().races = races;
    }

    pub fn set_unavailable(&self, down: bool) {
        self.state().unavailable = down;
    }
}

impl State {
    /// The checks of a customer write, in the order a real store makes them.
    fn write_customer(&mut self, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError> {
        if self.unavailable || self.fail_after.is_some_and(|n| self.writes >= n) {
            return Err(StoreError::Unavailable("the test store is down".into()));
        }
        let id = &record.customer.customer_id;
        if self.races > 0 {
            self.races -= 1;
            let other = self.customers.get_mut(id).expect("a race on an existing record");
            other.version += 1;
            other.customer.name = Some(format!("renamed {}", other.version));
        }
        if Expected::of(&self.customers.get(id).cloned()) != expected {
            return Err(StoreError::Conflict);
        }
        self.customers.insert(id.clone(), record.clone());
        self.writes += 1;
        Ok(())
    }
}

#[async_trait]
impl CustomerReader for MemoryStore {
    async fn customer(&self, id: &CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
        Ok(self.state().customers.get(id).cloned())
    }
}

#[async_trait]
impl CustomerWriter for MemoryStore {
    async fn put_customer(&self, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError> {
        self.state().write_customer(record, expected)
    }
}

#[async_trait]
impl LedgerWriter for MemoryStore {
    async fn purchase_view(&self, customer: &CustomerId, receipt: &ReceiptId) -> Result<PurchaseView, StoreError> {
        let s = self.state();
        Ok(PurchaseView { customer: s.customers.get(customer).cloned(), receipt: s.receipts.get(receipt).cloned() })
    }

    async fn commit_purchase(&self, commit: &PurchaseCommit) -> Result<(), StoreError> {
        let mut s = self.state();
        if s.receipts.contains_key(&commit.receipt.receipt_id) {
            return Err(StoreError::Duplicate);
        }
        s.write_customer(&commit.record, commit.expected)?;
        s.receipts.insert(commit.receipt.receipt_id.clone(), commit.receipt.clone());
        Ok(())
    }

    async fn refund_view(&self, _: RefundKeys<'_>) -> Result<RefundView, StoreError> {
        unimplemented!("{UNUSED}")
    }

    async fn commit_refund(&self, _: &RefundCommit) -> Result<(), StoreError> {
        unimplemented!("{UNUSED}")
    }
}

/// What the core's unit tests never touch: keys, the sweep and the reports run
/// on the real stores (the contract suite and the API tests).
const UNUSED: &str = "the core's unit tests do not use this port; the contract suite covers it";

#[async_trait]
impl KeyStore for MemoryStore {
    async fn insert_key(&self, _: &ApiKeyRecord) -> Result<(), StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn key_by_hash(&self, _: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn revoke_key(&self, _: &TerminalName, _: DateTime<Utc>) -> Result<u32, StoreError> {
        unimplemented!("{UNUSED}")
    }
}

/// The unsubscribe secret, for the tests of the unsubscribe link.
#[async_trait]
impl SecretStore for MemoryStore {
    async fn stored_secret(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.state().secret.clone())
    }
    async fn insert_secret(&self, secret: &[u8]) -> Result<(), StoreError> {
        let mut state = self.state();
        match state.secret {
            Some(_) => Err(StoreError::Duplicate),
            None => {
                state.secret = Some(secret.to_vec());
                Ok(())
            }
        }
    }
}

#[async_trait]
impl ReportStore for MemoryStore {
    async fn receipts_of(&self, _: &CustomerId, _: NaiveDate, _: NaiveDate) -> Result<Vec<Receipt>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn day_figures(&self, _: NaiveDate, _: NaiveDate) -> Result<Vec<crate::domain::book::DayRow>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn points_expiring(&self, _: NaiveDate, _: NaiveDate, _: (NaiveDate, NaiveDate)) -> Result<Vec<(NaiveDate, i64)>, StoreError> {
        unimplemented!("{UNUSED}")
    }
}

#[async_trait]
impl SweepStore for MemoryStore {
    async fn customers_last_bought_on(&self, _: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn customers_born_on(&self, _: u32, _: u32) -> Result<Vec<CustomerId>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn customers_with_lots_expiring_on(&self, _: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn outcome(&self, _: &OutcomeKey) -> Result<Option<Outcome>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn record_outcome(&self, _: &Outcome, _: Option<&RecordCommit>) -> Result<(), StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn claim_outcome(&self, _: &Outcome, _: &RecordCommit) -> Result<(), StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn update_outcome(&self, _: &Outcome, _: OutcomeStatus) -> Result<(), StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn outcomes_on(&self, _: NaiveDate) -> Result<Vec<Outcome>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn commit_burn(&self, _: &BurnCommit) -> Result<(), StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn last_completed_sweep(&self) -> Result<Option<NaiveDate>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn complete_sweep(&self, _: NaiveDate) -> Result<(), StoreError> {
        unimplemented!("{UNUSED}")
    }
}

/// Referral codes, for the enrollment tests; rewards are the contract suite's.
#[async_trait]
impl ReferralStore for MemoryStore {
    async fn code_owner(&self, code: &ReferralCode) -> Result<Option<CustomerId>, StoreError> {
        Ok(self.state().codes.get(code).cloned())
    }
    async fn put_customer_reserving_code(&self, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError> {
        let code = code_to_reserve(record)?;
        let mut state = self.state();
        if state.codes.contains_key(code) {
            return Err(StoreError::Duplicate);
        }
        state.write_customer(record, expected)?;
        state.codes.insert(code.clone(), record.customer.customer_id.clone());
        Ok(())
    }
    async fn referral_reward(&self, _: &CustomerId) -> Result<Option<ReferralReward>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn rewards_due_on(&self, _: NaiveDate) -> Result<Vec<ReferralReward>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn commit_reward(&self, _: &RewardCommit, _: SendStatus) -> Result<(), StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn customers_referred_on(&self, _: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        unimplemented!("{UNUSED}")
    }
}

/// Surveys are the contract suite's; this store keeps none (an erasure finds none to clean).
#[async_trait]
impl SurveyStore for MemoryStore {
    async fn survey(&self, _: &SurveyKey) -> Result<Option<Survey>, StoreError> {
        Ok(None)
    }
    async fn surveys_of(&self, _: &CustomerId) -> Result<Vec<Survey>, StoreError> {
        Ok(Vec::new())
    }
    async fn record_survey(&self, _: &Survey, _: &RecordCommit) -> Result<(), StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn update_survey(&self, _: &Survey, _: Option<&RecordCommit>) -> Result<(), StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn surveys_asked_on(&self, _: NaiveDate) -> Result<Vec<Survey>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn surveys_answered_on(&self, _: NaiveDate) -> Result<Vec<Survey>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn owner_alert(&self, _: NaiveDate) -> Result<Option<OwnerAlert>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn put_owner_alert(&self, _: &OwnerAlert, _: Option<SendStatus>) -> Result<(), StoreError> {
        unimplemented!("{UNUSED}")
    }
}

/// The owner's digest: the contract suite's.
#[async_trait]
impl DigestStore for MemoryStore {
    async fn owner_digest(&self, _: NaiveDate) -> Result<Option<DigestRecord>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn record_owner_digest(&self, _: &DigestRecord) -> Result<(), StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn update_owner_digest(&self, _: &DigestRecord, _: SendStatus) -> Result<(), StoreError> {
        unimplemented!("{UNUSED}")
    }
}
