//! A store that fails on purpose: it wraps a real store and, as its plan says, makes a call
//! fail before it reaches the store (nothing happens) or after it took effect (the answer is
//! lost, as a timeout would lose it). Crashes are plans that fail every call from some point
//! on; the test then carries on with a new application over the inner store, as a restarted
//! process would. Test code only: production types carry no hooks.

use std::future::Future;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use boomerang_core::domain::kinds::SendStatus;
use boomerang_core::domain::book::DayRow;
use boomerang_core::domain::auth::ApiKeyRecord;
use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::domain::ids::{CustomerId, ReceiptId, TerminalName};
use boomerang_core::domain::purchase::Receipt;
use boomerang_core::domain::survey::alert::OwnerAlert;
use boomerang_core::domain::survey::{Survey, SurveyKey};
use boomerang_core::ports::SurveyStore;
use boomerang_core::domain::triggers::{Outcome, OutcomeKey, OutcomeStatus};
use boomerang_core::ports::{
    BurnCommit, CustomerReader, CustomerWriter, Expected, KeyStore, LedgerWriter, PurchaseCommit,
    PurchaseView, RecordCommit, RefundCommit, RefundKeys, RefundView, ReportStore, SecretStore, Store, StoreError, SweepStore,
};
use boomerang_core::domain::referral::{ReferralCode, ReferralReward};
use boomerang_core::ports::{ReferralStore, RewardCommit};

/// A call of the store port, by method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    Customer,
    PutCustomer,
    PurchaseView,
    CommitPurchase,
    RefundView,
    CommitRefund,
    InsertKey,
    KeyByHash,
    ListKeys,
    RevokeKey,
    StoredSecret,
    InsertSecret,
    CustomersLastBoughtOn,
    CustomersBornOn,
    CustomersWithLotsExpiringOn,
    Outcome,
    RecordOutcome,
    ClaimOutcome,
    UpdateOutcome,
    OutcomesOn,
    CommitBurn,
    LastCompletedSweep,
    CompleteSweep,
    ReceiptsOf,
    DayFigures,
    PointsExpiring,
    CodeOwner,
    PutCustomerReservingCode,
    ReferralReward,
    RewardsDueOn,
    CommitReward,
    CustomersReferredOn,
    Survey,
    SurveysOf,
    RecordSurvey,
    UpdateSurvey,
    SurveysAskedOn,
    SurveysAnsweredOn,
    OwnerAlert,
    PutOwnerAlert,
}

/// What happens to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// It fails before reaching the store: nothing happens.
    Before,
    /// It takes effect, but the caller hears that it failed.
    After,
    /// The store refuses it as it refuses a lost race (DynamoDB's `TransactionConflict`):
    /// nothing happens, the caller hears `Conflict`.
    Conflict,
}

/// Decides the fault of each call, given the call and the customer it concerns (if one).
type Plan = Box<dyn FnMut(Call, Option<&CustomerId>) -> Option<Fault> + Send>;

pub struct FaultyStore {
    inner: Arc<dyn Store>,
    plan: Mutex<Plan>,
}

impl FaultyStore {
    /// A store whose calls meet the faults `plan` names (`None`: the call goes through).
    pub fn new(
        inner: Arc<dyn Store>,
        plan: impl FnMut(Call, Option<&CustomerId>) -> Option<Fault> + Send + 'static,
    ) -> Self {
        Self { inner, plan: Mutex::new(Box::new(plan)) }
    }

    /// A process that crashes right after `call` succeeded `times` times: from then on every
    /// call fails before reaching the store.
    pub fn crash_after(inner: Arc<dyn Store>, call: Call, times: usize) -> Self {
        let mut seen = 0;
        Self::new(inner, move |c, _| {
            if seen >= times {
                return Some(Fault::Before);
            }
            if c == call {
                seen += 1;
            }
            None
        })
    }

    async fn around<T>(
        &self,
        call: Call,
        customer: Option<&CustomerId>,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let fault = (self.plan.lock().expect("plan lock"))(call, customer);
        match fault {
            Some(Fault::Before) => {
                return Err(StoreError::Unavailable(format!("injected: {call:?} failed before the store").into()))
            }
            Some(Fault::Conflict) => return Err(StoreError::Conflict),
            _ => {}
        }
        let result = op.await;
        match fault {
            Some(Fault::After) => {
                result?;
                Err(StoreError::Unavailable(format!("injected: {call:?} took effect, its answer was lost").into()))
            }
            _ => result,
        }
    }
}

#[async_trait]
impl CustomerReader for FaultyStore {
    async fn customer(&self, id: &CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
        self.around(Call::Customer, Some(id), self.inner.customer(id)).await
    }
}

#[async_trait]
impl CustomerWriter for FaultyStore {
    async fn put_customer(&self, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError> {
        self.around(Call::PutCustomer, Some(&record.customer.customer_id), self.inner.put_customer(record, expected)).await
    }
}

#[async_trait]
impl LedgerWriter for FaultyStore {
    async fn purchase_view(&self, customer: &CustomerId, receipt: &ReceiptId) -> Result<PurchaseView, StoreError> {
        self.around(Call::PurchaseView, Some(customer), self.inner.purchase_view(customer, receipt)).await
    }
    async fn commit_purchase(&self, commit: &PurchaseCommit) -> Result<(), StoreError> {
        self.around(Call::CommitPurchase, Some(&commit.record.customer.customer_id), self.inner.commit_purchase(commit)).await
    }
    async fn refund_view(&self, keys: RefundKeys<'_>) -> Result<RefundView, StoreError> {
        self.around(Call::RefundView, keys.customer, self.inner.refund_view(keys)).await
    }
    async fn commit_refund(&self, commit: &RefundCommit) -> Result<(), StoreError> {
        self.around(Call::CommitRefund, Some(&commit.record.customer.customer_id), self.inner.commit_refund(commit)).await
    }
}

#[async_trait]
impl KeyStore for FaultyStore {
    async fn insert_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.around(Call::InsertKey, None, self.inner.insert_key(key)).await
    }
    async fn key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.around(Call::KeyByHash, None, self.inner.key_by_hash(key_hash)).await
    }
    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.around(Call::ListKeys, None, self.inner.list_keys()).await
    }
    async fn revoke_key(&self, terminal: &TerminalName, at: DateTime<Utc>) -> Result<u32, StoreError> {
        self.around(Call::RevokeKey, None, self.inner.revoke_key(terminal, at)).await
    }
}

#[async_trait]
impl SecretStore for FaultyStore {
    async fn stored_secret(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.around(Call::StoredSecret, None, self.inner.stored_secret()).await
    }
    async fn insert_secret(&self, secret: &[u8]) -> Result<(), StoreError> {
        self.around(Call::InsertSecret, None, self.inner.insert_secret(secret)).await
    }
}

#[async_trait]
impl SweepStore for FaultyStore {
    async fn customers_last_bought_on(&self, date: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        self.around(Call::CustomersLastBoughtOn, None, self.inner.customers_last_bought_on(date)).await
    }
    async fn customers_born_on(&self, month: u32, day: u32) -> Result<Vec<CustomerId>, StoreError> {
        self.around(Call::CustomersBornOn, None, self.inner.customers_born_on(month, day)).await
    }
    async fn customers_with_lots_expiring_on(&self, date: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        self.around(Call::CustomersWithLotsExpiringOn, None, self.inner.customers_with_lots_expiring_on(date)).await
    }
    async fn outcome(&self, key: &OutcomeKey) -> Result<Option<Outcome>, StoreError> {
        self.around(Call::Outcome, Some(&key.customer_id), self.inner.outcome(key)).await
    }
    async fn record_outcome(&self, outcome: &Outcome, record: Option<&RecordCommit>) -> Result<(), StoreError> {
        self.around(Call::RecordOutcome, Some(&outcome.key.customer_id), self.inner.record_outcome(outcome, record)).await
    }
    async fn claim_outcome(&self, outcome: &Outcome, record: &RecordCommit) -> Result<(), StoreError> {
        self.around(Call::ClaimOutcome, Some(&outcome.key.customer_id), self.inner.claim_outcome(outcome, record)).await
    }
    async fn update_outcome(&self, outcome: &Outcome, from: OutcomeStatus) -> Result<(), StoreError> {
        self.around(Call::UpdateOutcome, Some(&outcome.key.customer_id), self.inner.update_outcome(outcome, from)).await
    }
    async fn outcomes_on(&self, date: NaiveDate) -> Result<Vec<Outcome>, StoreError> {
        self.around(Call::OutcomesOn, None, self.inner.outcomes_on(date)).await
    }
    async fn commit_burn(&self, burn: &BurnCommit) -> Result<(), StoreError> {
        self.around(Call::CommitBurn, Some(&burn.record.customer.customer_id), self.inner.commit_burn(burn)).await
    }
    async fn last_completed_sweep(&self) -> Result<Option<NaiveDate>, StoreError> {
        self.around(Call::LastCompletedSweep, None, self.inner.last_completed_sweep()).await
    }
    async fn complete_sweep(&self, date: NaiveDate) -> Result<(), StoreError> {
        self.around(Call::CompleteSweep, None, self.inner.complete_sweep(date)).await
    }
}

#[async_trait]
impl ReportStore for FaultyStore {
    async fn receipts_of(&self, customer: &CustomerId, from: NaiveDate, to: NaiveDate) -> Result<Vec<Receipt>, StoreError> {
        self.around(Call::ReceiptsOf, None, self.inner.receipts_of(customer, from, to)).await
    }
    async fn day_figures(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DayRow>, StoreError> {
        self.around(Call::DayFigures, None, self.inner.day_figures(from, to)).await
    }
    async fn points_expiring(&self, from: NaiveDate, to: NaiveDate, moved: (NaiveDate, NaiveDate)) -> Result<Vec<(NaiveDate, i64)>, StoreError> {
        self.around(Call::PointsExpiring, None, self.inner.points_expiring(from, to, moved)).await
    }
}

#[async_trait]
impl ReferralStore for FaultyStore {
    async fn code_owner(&self, code: &ReferralCode) -> Result<Option<CustomerId>, StoreError> {
        self.around(Call::CodeOwner, None, self.inner.code_owner(code)).await
    }
    async fn put_customer_reserving_code(&self, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError> {
        let customer = &record.customer.customer_id;
        self.around(Call::PutCustomerReservingCode, Some(customer), self.inner.put_customer_reserving_code(record, expected)).await
    }
    async fn referral_reward(&self, friend: &CustomerId) -> Result<Option<ReferralReward>, StoreError> {
        self.around(Call::ReferralReward, Some(friend), self.inner.referral_reward(friend)).await
    }
    async fn rewards_due_on(&self, date: NaiveDate) -> Result<Vec<ReferralReward>, StoreError> {
        self.around(Call::RewardsDueOn, None, self.inner.rewards_due_on(date)).await
    }
    async fn commit_reward(&self, commit: &RewardCommit, from: SendStatus) -> Result<(), StoreError> {
        self.around(Call::CommitReward, Some(&commit.reward.referrer), self.inner.commit_reward(commit, from)).await
    }
    async fn customers_referred_on(&self, date: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        self.around(Call::CustomersReferredOn, None, self.inner.customers_referred_on(date)).await
    }
}

#[async_trait]
impl SurveyStore for FaultyStore {
    async fn survey(&self, key: &SurveyKey) -> Result<Option<Survey>, StoreError> {
        self.around(Call::Survey, Some(&key.customer_id), self.inner.survey(key)).await
    }
    async fn surveys_of(&self, customer: &CustomerId) -> Result<Vec<Survey>, StoreError> {
        self.around(Call::SurveysOf, Some(customer), self.inner.surveys_of(customer)).await
    }
    async fn record_survey(&self, survey: &Survey, record: &RecordCommit) -> Result<(), StoreError> {
        self.around(Call::RecordSurvey, Some(&survey.key.customer_id), self.inner.record_survey(survey, record)).await
    }
    async fn update_survey(&self, survey: &Survey, record: Option<&RecordCommit>) -> Result<(), StoreError> {
        self.around(Call::UpdateSurvey, Some(&survey.key.customer_id), self.inner.update_survey(survey, record)).await
    }
    async fn surveys_asked_on(&self, date: NaiveDate) -> Result<Vec<Survey>, StoreError> {
        self.around(Call::SurveysAskedOn, None, self.inner.surveys_asked_on(date)).await
    }
    async fn surveys_answered_on(&self, date: NaiveDate) -> Result<Vec<Survey>, StoreError> {
        self.around(Call::SurveysAnsweredOn, None, self.inner.surveys_answered_on(date)).await
    }
    async fn owner_alert(&self, date: NaiveDate) -> Result<Option<OwnerAlert>, StoreError> {
        self.around(Call::OwnerAlert, None, self.inner.owner_alert(date)).await
    }
    async fn put_owner_alert(&self, alert: &OwnerAlert, from: Option<SendStatus>) -> Result<(), StoreError> {
        self.around(Call::PutOwnerAlert, None, self.inner.put_owner_alert(alert, from)).await
    }
}

// The simulated programs name no owner, so no run reaches the digest (its own case covers it).
pass_digest_store_through!(FaultyStore);
