//! Referral codes and referrers' rewards.

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::domain::kinds::SendStatus;
use crate::domain::customer::CustomerRecord;
use crate::domain::ids::CustomerId;
use crate::domain::referral::{ReferralCode, ReferralReward};
use super::{Expected, RecordCommit, StoreError};

/// A reward settled by the sweep: the reward (its new status) only if the stored one is still
/// `pending`, and, when it is credited, the referrer's record at `referrer.expected_version`
/// with the reward's ledger entries, in the same atomic write.
#[derive(Debug, Clone)]
pub struct RewardCommit {
    pub reward: ReferralReward,
    pub referrer: Option<RecordCommit>,
}

#[async_trait]
pub trait ReferralStore: Send + Sync {
    /// The customer a code is reserved for.
    async fn code_owner(&self, code: &ReferralCode) -> Result<Option<CustomerId>, StoreError>;
    /// Writes `record` like `put_customer` and, in the same atomic write, reserves its code
    /// (`record.referral.code`, see [`code_to_reserve`]) for it: `Duplicate` if the code is
    /// reserved already (for anyone), `Conflict` if the record moved; nothing written then.
    async fn put_customer_reserving_code(&self, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError>;
    /// The reward for this friend's first purchase, if any.
    async fn referral_reward(&self, friend: &CustomerId) -> Result<Option<ReferralReward>, StoreError>;
    /// The rewards due on this date, whatever their status (an index: it may lag a write of
    /// the last moments, never one of the hold before).
    async fn rewards_due_on(&self, date: NaiveDate) -> Result<Vec<ReferralReward>, StoreError>;
    /// Customers who enrolled with a referral code on this date (UTC date of
    /// `referred_by.at`; an index, for the report: it may lag a write of the last moments).
    async fn customers_referred_on(&self, date: NaiveDate) -> Result<Vec<CustomerId>, StoreError>;
    /// `Conflict` if the reward is no longer `from` or the referrer's record moved.
    async fn commit_reward(&self, commit: &RewardCommit, from: SendStatus) -> Result<(), StoreError>;
}

/// The code a `put_customer_reserving_code` reserves: the record's own.
pub fn code_to_reserve(record: &CustomerRecord) -> Result<&ReferralCode, StoreError> {
    record.referral.code.as_ref().ok_or_else(|| StoreError::Corrupt("a code reservation for a record without a code".into()))
}
