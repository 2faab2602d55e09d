//! A store whose date indexes lag its writes, as DynamoDB's global secondary indexes may:
//! an index query (who last bought on a date, who has a birthday or lots on a date, the
//! outcomes or receipts of a date) sees the table as it was `lag` writes ago, while reads of
//! items by key see every write at once. moto and SQLite update their indexes with the
//! write, so without this wrapper no test would notice code that reads its own writes back
//! through an index.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, Utc};

use boomerang_core::domain::kinds::SendStatus;
use boomerang_core::domain::book::DayRow;
use boomerang_core::domain::auth::ApiKeyRecord;
use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::domain::ids::{CustomerId, ReceiptId, TerminalName};
use boomerang_core::domain::purchase::Receipt;
use boomerang_core::domain::survey::alert::OwnerAlert;
use boomerang_core::domain::survey::{Survey, SurveyKey};
use boomerang_core::domain::triggers::{Outcome, OutcomeKey, OutcomeStatus};
use boomerang_core::ports::{
    BurnCommit, CustomerReader, CustomerWriter, Expected, KeyStore, LedgerWriter, PurchaseCommit, PurchaseView,
    RecordCommit, RefundCommit, RefundKeys, RefundView, ReportStore, SecretStore, Store, StoreError, SweepStore,
};

/// One item a recent write changed, with its value before that write.
enum Change {
    Customer(CustomerId, Option<CustomerRecord>),
    Outcome(OutcomeKey, Option<Outcome>),
    Receipt(ReceiptId, Option<Receipt>),
}

/// Finds the writes of one kind among the recent ones: the item's key and what it was before.
type Pick<K, V> = for<'c> fn(&'c Change) -> Option<(&'c K, &'c Option<V>)>;

pub struct LaggingIndexes {
    inner: Arc<dyn Store>,
    lag: usize,
    recent: Mutex<VecDeque<Change>>,
}

impl LaggingIndexes {
    /// Index queries miss the last `lag` writes (they see what those items were before).
    pub fn new(inner: Arc<dyn Store>, lag: usize) -> Self {
        Self { inner, lag, recent: Mutex::new(VecDeque::new()) }
    }

    fn remember(&self, changes: Vec<Change>) {
        let mut recent = self.recent.lock().expect("lag lock");
        recent.extend(changes);
        while recent.len() > self.lag {
            recent.pop_front();
        }
    }

    async fn before_customer(&self, id: &CustomerId) -> Result<Change, StoreError> {
        Ok(Change::Customer(id.clone(), self.inner.customer(id).await?))
    }

    async fn before_outcome(&self, key: &OutcomeKey) -> Result<Change, StoreError> {
        Ok(Change::Outcome(key.clone(), self.inner.outcome(key).await?))
    }

    /// A customer's record and one of their receipts as they are before a write of both.
    async fn before_sale(&self, record: &CustomerRecord, receipt: &Receipt) -> Result<Vec<Change>, StoreError> {
        let (customer, id) = (&record.customer.customer_id, &receipt.receipt_id);
        let before_receipt = Change::Receipt(id.clone(), self.inner.purchase_view(customer, id).await?.receipt);
        Ok(vec![self.before_customer(customer).await?, before_receipt])
    }

    /// Runs `write`, then remembers what it changed as it was `before`.
    async fn remembering(&self, before: Vec<Change>, write: impl Future<Output = Result<(), StoreError>>) -> Result<(), StoreError> {
        write.await?;
        self.remember(before);
        Ok(())
    }

    /// What each item `pick` finds among the recent writes was before the earliest of them.
    fn before_recent<K: Ord + Clone, V: Clone>(&self, pick: Pick<K, V>) -> BTreeMap<K, Option<V>> {
        let mut earliest = BTreeMap::new();
        // Oldest first, so the value before the earliest of several recent writes wins.
        for (key, before) in self.recent.lock().expect("lag lock").iter().filter_map(pick) {
            earliest.entry(key.clone()).or_insert_with(|| before.clone());
        }
        earliest
    }

    /// The customers an index lists now, as it listed them `lag` writes ago: a recently
    /// written customer is listed if its earlier record was (`filed` says whether a record is).
    fn lagged_customers(&self, now: Vec<CustomerId>, filed: impl Fn(&CustomerRecord) -> bool) -> Vec<CustomerId> {
        let mut ids: BTreeSet<CustomerId> = now.into_iter().collect();
        for (id, before) in self.before_recent(|c| match c { Change::Customer(id, before) => Some((id, before)), _ => None }) {
            ids.remove(&id);
            if before.as_ref().is_some_and(&filed) {
                ids.insert(id);
            }
        }
        ids.into_iter().collect()
    }

    /// A date's listing as the index showed it `lag` writes ago: recently written items as
    /// they were, if they were listed under that date (`listed`).
    fn lagged_listing<K: Ord + Clone, V: Clone>(
        &self,
        mut now: Vec<V>,
        pick: Pick<K, V>,
        key: impl Fn(&V) -> &K,
        listed: impl Fn(&V) -> bool,
    ) -> Vec<V> {
        let before = self.before_recent(pick);
        now.retain(|v| !before.contains_key(key(v)));
        now.extend(before.into_values().flatten().filter(|v| listed(v)));
        now.sort_by(|a, b| key(a).cmp(key(b)));
        now
    }
}

#[async_trait]
impl CustomerReader for LaggingIndexes {
    async fn customer(&self, id: &CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
        self.inner.customer(id).await
    }
}

#[async_trait]
impl CustomerWriter for LaggingIndexes {
    async fn put_customer(&self, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError> {
        let before = vec![self.before_customer(&record.customer.customer_id).await?];
        self.remembering(before, self.inner.put_customer(record, expected)).await
    }
}

#[async_trait]
impl LedgerWriter for LaggingIndexes {
    async fn purchase_view(&self, customer: &CustomerId, receipt: &ReceiptId) -> Result<PurchaseView, StoreError> {
        self.inner.purchase_view(customer, receipt).await
    }
    async fn commit_purchase(&self, commit: &PurchaseCommit) -> Result<(), StoreError> {
        let before = self.before_sale(&commit.record, &commit.receipt).await?;
        self.remembering(before, self.inner.commit_purchase(commit)).await
    }
    async fn refund_view(&self, keys: RefundKeys<'_>) -> Result<RefundView, StoreError> {
        self.inner.refund_view(keys).await
    }
    async fn commit_refund(&self, commit: &RefundCommit) -> Result<(), StoreError> {
        let before = self.before_sale(&commit.record, &commit.receipt).await?;
        self.remembering(before, self.inner.commit_refund(commit)).await
    }
}

#[async_trait]
impl KeyStore for LaggingIndexes {
    async fn insert_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.inner.insert_key(key).await
    }
    async fn key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.inner.key_by_hash(key_hash).await
    }
    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.inner.list_keys().await
    }
    async fn revoke_key(&self, terminal: &TerminalName, at: DateTime<Utc>) -> Result<u32, StoreError> {
        self.inner.revoke_key(terminal, at).await
    }
}

#[async_trait]
impl SecretStore for LaggingIndexes {
    async fn stored_secret(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.stored_secret().await
    }
    async fn insert_secret(&self, secret: &[u8]) -> Result<(), StoreError> {
        self.inner.insert_secret(secret).await
    }
}

#[async_trait]
impl SweepStore for LaggingIndexes {
    async fn customers_last_bought_on(&self, date: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        let now = self.inner.customers_last_bought_on(date).await?;
        Ok(self.lagged_customers(now, |r| r.account.last_purchase_on == Some(date)))
    }
    async fn customers_born_on(&self, month: u32, day: u32) -> Result<Vec<CustomerId>, StoreError> {
        let now = self.inner.customers_born_on(month, day).await?;
        Ok(self.lagged_customers(now, |r| {
            !r.customer.is_erased() && r.customer.birthday.is_some_and(|b| (b.month(), b.day()) == (month, day))
        }))
    }
    async fn customers_with_lots_expiring_on(&self, date: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        let now = self.inner.customers_with_lots_expiring_on(date).await?;
        Ok(self.lagged_customers(now, |r| r.account.lots.keys().any(|lot| lot.expires_on == date)))
    }
    async fn outcome(&self, key: &OutcomeKey) -> Result<Option<Outcome>, StoreError> {
        self.inner.outcome(key).await
    }
    async fn record_outcome(&self, outcome: &Outcome, record: Option<&RecordCommit>) -> Result<(), StoreError> {
        let mut before = vec![self.before_outcome(&outcome.key).await?];
        if record.is_some() {
            before.push(self.before_customer(&outcome.key.customer_id).await?);
        }
        self.inner.record_outcome(outcome, record).await?;
        self.remember(before);
        Ok(())
    }
    async fn claim_outcome(&self, outcome: &Outcome, record: &RecordCommit) -> Result<(), StoreError> {
        let before =
            vec![self.before_outcome(&outcome.key).await?, self.before_customer(&outcome.key.customer_id).await?];
        self.inner.claim_outcome(outcome, record).await?;
        self.remember(before);
        Ok(())
    }
    async fn update_outcome(&self, outcome: &Outcome, from: OutcomeStatus) -> Result<(), StoreError> {
        let before = vec![self.before_outcome(&outcome.key).await?];
        self.remembering(before, self.inner.update_outcome(outcome, from)).await
    }
    async fn outcomes_on(&self, date: NaiveDate) -> Result<Vec<Outcome>, StoreError> {
        let now = self.inner.outcomes_on(date).await?;
        let pick: Pick<_, _> = |c| match c { Change::Outcome(key, before) => Some((key, before)), _ => None };
        Ok(self.lagged_listing(now, pick, |o| &o.key, |o| o.sweep_date == date))
    }
    async fn commit_burn(&self, burn: &BurnCommit) -> Result<(), StoreError> {
        let before = vec![self.before_customer(&burn.record.customer.customer_id).await?];
        self.remembering(before, self.inner.commit_burn(burn)).await
    }
    async fn last_completed_sweep(&self) -> Result<Option<NaiveDate>, StoreError> {
        self.inner.last_completed_sweep().await
    }
    async fn complete_sweep(&self, date: NaiveDate) -> Result<(), StoreError> {
        self.inner.complete_sweep(date).await
    }
}

#[async_trait]
impl ReportStore for LaggingIndexes {
    async fn receipts_of(&self, customer: &CustomerId, from: NaiveDate, to: NaiveDate) -> Result<Vec<Receipt>, StoreError> {
        let now = self.inner.receipts_of(customer, from, to).await?;
        let pick: Pick<_, _> = |c| match c { Change::Receipt(id, before) => Some((id, before)), _ => None };
        let in_window = |r: &Receipt| &r.customer_id == customer && from <= r.local_date && r.local_date <= to;
        let mut receipts = self.lagged_listing(now, pick, |r| &r.receipt_id, in_window);
        receipts.sort_by(|a, b| (a.local_date, &a.receipt_id).cmp(&(b.local_date, &b.receipt_id)));
        Ok(receipts)
    }
    /// The day book is read from its own items (no index): nothing lags.
    async fn day_figures(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DayRow>, StoreError> {
        self.inner.day_figures(from, to).await
    }
    async fn points_expiring(&self, from: NaiveDate, to: NaiveDate, moved: (NaiveDate, NaiveDate)) -> Result<Vec<(NaiveDate, i64)>, StoreError> {
        self.inner.points_expiring(from, to, moved).await
    }
}

/// Codes and rewards go straight through: rewards come due a hold after they are written, so
/// no sweep can depend on the index showing a write of its own run.
#[async_trait]
impl boomerang_core::ports::ReferralStore for LaggingIndexes {
    async fn code_owner(
        &self,
        code: &boomerang_core::domain::referral::ReferralCode,
    ) -> Result<Option<CustomerId>, StoreError> {
        self.inner.code_owner(code).await
    }
    async fn put_customer_reserving_code(&self, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError> {
        let before = vec![self.before_customer(&record.customer.customer_id).await?];
        self.remembering(before, self.inner.put_customer_reserving_code(record, expected)).await
    }
    async fn referral_reward(
        &self,
        friend: &CustomerId,
    ) -> Result<Option<boomerang_core::domain::referral::ReferralReward>, StoreError> {
        self.inner.referral_reward(friend).await
    }
    async fn customers_referred_on(&self, date: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        self.inner.customers_referred_on(date).await
    }
    async fn rewards_due_on(
        &self,
        date: NaiveDate,
    ) -> Result<Vec<boomerang_core::domain::referral::ReferralReward>, StoreError> {
        self.inner.rewards_due_on(date).await
    }
    async fn commit_reward(
        &self,
        commit: &boomerang_core::ports::RewardCommit,
        from: boomerang_core::domain::kinds::SendStatus,
    ) -> Result<(), StoreError> {
        let before = vec![self.before_customer(&commit.reward.referrer).await?];
        self.remembering(before, self.inner.commit_reward(commit, from)).await
    }
}

// The simulated programs name no owner, so no run reaches the digest (its own case covers it).
pass_digest_store_through!(LaggingIndexes);
/// Surveys go straight through: the sweep carries the surveys it decides in memory and reads
/// the indexes only for earlier days' (see docs/dynamodb.md).
#[async_trait]
impl boomerang_core::ports::SurveyStore for LaggingIndexes {
    async fn survey(&self, key: &SurveyKey) -> Result<Option<Survey>, StoreError> {
        self.inner.survey(key).await
    }
    async fn surveys_of(&self, customer: &CustomerId) -> Result<Vec<Survey>, StoreError> {
        self.inner.surveys_of(customer).await
    }
    async fn record_survey(&self, survey: &Survey, record: &boomerang_core::ports::RecordCommit) -> Result<(), StoreError> {
        let before = self.before_customer(&survey.key.customer_id).await?;
        self.inner.record_survey(survey, record).await?;
        self.remember(vec![before]);
        Ok(())
    }
    async fn update_survey(
        &self,
        survey: &Survey,
        record: Option<&boomerang_core::ports::RecordCommit>,
    ) -> Result<(), StoreError> {
        let before = match record {
            Some(_) => Some(self.before_customer(&survey.key.customer_id).await?),
            None => None,
        };
        self.inner.update_survey(survey, record).await?;
        self.remember(before.into_iter().collect());
        Ok(())
    }
    async fn surveys_asked_on(&self, date: NaiveDate) -> Result<Vec<Survey>, StoreError> {
        self.inner.surveys_asked_on(date).await
    }
    async fn surveys_answered_on(&self, date: NaiveDate) -> Result<Vec<Survey>, StoreError> {
        self.inner.surveys_answered_on(date).await
    }
    async fn owner_alert(&self, date: NaiveDate) -> Result<Option<OwnerAlert>, StoreError> {
        self.inner.owner_alert(date).await
    }
    async fn put_owner_alert(&self, alert: &OwnerAlert, from: Option<SendStatus>) -> Result<(), StoreError> {
        self.inner.put_owner_alert(alert, from).await
    }
}
