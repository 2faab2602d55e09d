//! Referral codes (`REF#<code>`) and referrers' rewards (`RW#<friend>`, in `by_reward_due`).

use async_trait::async_trait;
use chrono::NaiveDate;

use boomerang_core::domain::kinds::SendStatus;
use boomerang_core::domain::book::BookDelta;
use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::referral::{ReferralCode, ReferralReward};
use boomerang_core::ports::{code_to_reserve, encode_json, Expected, Guard, ReferralStore, RewardCommit, StoreError};

use crate::items::{self, item, key, s, Item};
use crate::layout::{
    referral_code_pk, reward_due_pk, reward_due_pks, reward_pk, BY_REWARD_DUE, CODE_OWNER, RECORD, REWARD_STATUS, SOLE,
};
use crate::transaction::{Condition, Transaction};
use crate::DynamoStore;

/// A reward: the record, its status (for `commit_reward`'s condition) and its place in
/// `by_reward_due`.
pub(crate) fn reward_item(reward: &ReferralReward) -> Result<Item, StoreError> {
    let friend = reward.friend.as_str();
    Ok(item(
        reward_pk(friend),
        SOLE,
        [
            (RECORD, s(encode_json(reward, "referral reward")?)),
            (REWARD_STATUS, s(reward.status.as_str())),
            (BY_REWARD_DUE.pk, s(reward_due_pk(reward.due_on, friend))),
            (BY_REWARD_DUE.sk, s(friend)),
        ],
    ))
}

/// The reward's put in a purchase's transaction: only if the friend has none yet.
pub(crate) fn add_new_reward(store: &DynamoStore, tx: &mut Transaction, reward: &ReferralReward) -> Result<(), StoreError> {
    tx.put(&store.table, reward_item(reward)?, Some((Condition::absent(), Guard::NewId)))
}

#[async_trait]
impl ReferralStore for DynamoStore {
    async fn code_owner(&self, code: &ReferralCode) -> Result<Option<CustomerId>, StoreError> {
        let Some(found) = self.get(key(referral_code_pk(code.as_str()), SOLE)).await? else { return Ok(None) };
        let owner = items::string(&found, CODE_OWNER)?;
        CustomerId::parse(owner).map(Some).map_err(|e| StoreError::Corrupt(format!("a referral code item: {e}")))
    }

    async fn put_customer_reserving_code(&self, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError> {
        let code = code_to_reserve(record)?;
        let mut tx = Transaction::default();
        tx.put_customer(&self.table, record, expected)?;
        let reservation =
            item(referral_code_pk(code.as_str()), SOLE, [(CODE_OWNER, s(record.customer.customer_id.as_str()))]);
        tx.put(&self.table, reservation, Some((Condition::absent(), Guard::NewId)))?;
        self.transact(tx).await
    }

    async fn referral_reward(&self, friend: &CustomerId) -> Result<Option<ReferralReward>, StoreError> {
        let found = self.get(key(reward_pk(friend.as_str()), SOLE)).await?;
        found.as_ref().map(items::record).transpose()
    }

    async fn rewards_due_on(&self, date: NaiveDate) -> Result<Vec<ReferralReward>, StoreError> {
        let found = self.query_index(&BY_REWARD_DUE, reward_due_pks(date)).await?;
        let mut rewards = found.iter().map(items::record).collect::<Result<Vec<ReferralReward>, _>>()?;
        rewards.sort_by(|a, b| a.friend.cmp(&b.friend));
        Ok(rewards)
    }

    async fn customers_referred_on(&self, date: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        self.indexed_customers(&crate::layout::BY_REFERRED, crate::layout::referred_pks(date)).await
    }

    async fn commit_reward(&self, commit: &RewardCommit, from: SendStatus) -> Result<(), StoreError> {
        let still = Condition { expression: "st = :from", values: vec![(":from", s(from.as_str()))] };
        let Some(referrer) = &commit.referrer else {
            return match self.put_if(reward_item(&commit.reward)?, still).await? {
                true => Ok(()),
                false => Err(StoreError::Conflict),
            };
        };
        let mut tx = Transaction::default();
        tx.put(&self.table, reward_item(&commit.reward)?, Some((still, Guard::Unchanged)))?;
        tx.put_customer(&self.table, &referrer.record, Expected::Version(referrer.expected_version))?;
        let new_dates = crate::markers::record_marker_dates(referrer);
        let customer = &referrer.record.customer.customer_id;
        // Keyed by the reward's reference (one per friend): never written twice.
        // The reward counts in the day book on the date it came due.
        let book = BookDelta::credit(commit.reward.due_on, &referrer.entries);
        let reference = commit.reward.reference();
        self.add_ledger(&mut tx, customer, referrer.recorded_at, &reference, &referrer.entries, new_dates, &book)?;
        self.transact(tx).await
    }
}
