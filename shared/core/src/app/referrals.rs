//! Referrals as use cases: enrollment with a code (and every customer's own code, reserved
//! in the store with the record that holds it), the till's check of a code, and the daily
//! settling of referrers' rewards.
//!
//! Customers enrolled before referrals, and customers a purchase created, have no code yet:
//! they get one at their next PUT (an empty `{}` will do), and keep it from then on. Reads
//! never write: `GET /v1/customers/{id}` is served by the read-only balance function, so it
//! shows `referral_code: null` until then.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::app::customers::Enrolled;
use crate::app::retry::{committed, read_decide_commit, Attempt};
use crate::app::{Boomerang, Error};
use crate::domain::customer::{CustomerRecord, ProfileEditor, ProfilePatch};
use crate::domain::ids::CustomerId;
use crate::domain::referral::{
    check_referral, credit_reward, settle, ReferralCode, ReferralReward, RewardStatus, RewardStep,
};
use crate::ports::{Expected, RecordCommit, RewardCommit, StoreError};

/// What the sweep did with the referrers' rewards due on its dates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RewardCounts {
    pub credited: u64,
    pub points_credited: u64,
    pub capped: u64,
    pub cancelled: u64,
}

impl RewardCounts {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn add(&mut self, other: RewardCounts) {
        self.credited += other.credited;
        self.points_credited += other.points_credited;
        self.capped += other.capped;
        self.cancelled += other.cancelled;
    }
}

impl Boomerang {
    /// PUT with an optional `referred_by`: enroll or update as [`Boomerang::enroll_by`], check
    /// the code's rules against the customer as the PUT leaves them (nothing written when
    /// refused), and give the customer their own code when they have none. The code is
    /// reserved in the same conditional write as the record; a taken candidate moves on to
    /// the customer's next one.
    pub async fn enroll_referred(
        &self,
        id: &CustomerId,
        patch: &ProfilePatch,
        editor: &ProfileEditor,
        referred_by: Option<&ReferralCode>,
        now: DateTime<Utc>,
    ) -> Result<Enrolled, Error> {
        let store = self.store();
        let secret = self.secret().await?;
        let attempt = AtomicU32::new(0);
        let attempt = &attempt;
        read_decide_commit(self.backoff(), || async move {
            let current = store.customer(id).await?;
            let expected = Expected::of(&current);
            let mut record = current.clone().unwrap_or_else(|| CustomerRecord::new(id.clone(), now));
            if record.customer.is_erased() && patch.sets_personal_data() {
                return Err(Error::CustomerErased);
            }
            let kept_withdrawn = record.customer.apply(patch, now, editor)?;
            if let Some(code) = referred_by {
                let referrer = match store.code_owner(code).await? {
                    Some(owner) if owner == *id => Some(record.clone()),
                    Some(owner) => store.customer(&owner).await?,
                    None => None,
                };
                if let Some(by) = check_referral(&self.config().referral, &record, code, referrer.as_ref(), now)? {
                    record.referral.referred_by = Some(by);
                }
            }
            let new_code = (record.referral.code.is_none() && !record.customer.is_erased())
                .then(|| ReferralCode::derive(secret, id, attempt.load(Ordering::Relaxed)));
            if let Some(code) = &new_code {
                record.referral.code = Some(code.clone());
            }
            if current.as_ref() == Some(&record) {
                return Ok(Attempt::Done(Enrolled { record, created: false, kept_withdrawn }));
            }
            record.version = expected.next_version();
            let result = match &new_code {
                Some(code) => store.put_customer_with_code(&record, expected, code).await,
                None => store.put_customer(&record, expected).await,
            };
            if new_code.is_some() && matches!(result, Err(StoreError::Duplicate)) {
                // The candidate is another customer's: the next read tries the next one.
                attempt.fetch_add(1, Ordering::Relaxed);
            }
            let created = expected == Expected::Absent;
            committed(result, || Enrolled { record, created, kept_withdrawn })
        })
        .await
    }

    /// The till's check of a code: true when a customer who is still in the programme has it.
    /// Says nothing else about them.
    pub async fn referral_code_valid(&self, code: &ReferralCode) -> Result<bool, Error> {
        if !self.config().referral.enabled {
            return Ok(false);
        }
        let Some(owner) = self.store().code_owner(code).await? else { return Ok(false) };
        Ok(self.store().customer(&owner).await?.is_some_and(|r| !r.customer.is_erased()))
    }

    /// Settles the rewards due on `day` (the sweep's date): each pending one is credited,
    /// capped or cancelled once, whatever reruns follow.
    pub async fn settle_referral_rewards(&self, day: NaiveDate, now: DateTime<Utc>) -> Result<RewardCounts, Error> {
        let mut counts = RewardCounts::default();
        for due in self.store().rewards_due_on(day).await? {
            if due.status != RewardStatus::Pending {
                continue;
            }
            match self.settle_reward(&due.friend, day, now).await? {
                Some((RewardStep::Credit, points)) => {
                    counts.credited += 1;
                    counts.points_credited += points;
                }
                Some((RewardStep::Cap, _)) => counts.capped += 1,
                Some((RewardStep::Cancel(_), _)) => counts.cancelled += 1,
                Some((RewardStep::Wait, _)) | None => {}
            }
        }
        Ok(counts)
    }

    /// One reward, read again (the index may be behind) and settled under conditions: the
    /// reward still `pending`, the referrer's record as read.
    async fn settle_reward(
        &self,
        friend: &CustomerId,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Option<(RewardStep, u64)>, Error> {
        let store = self.store();
        let cfg = &self.config().referral;
        read_decide_commit(self.backoff(), || async move {
            let Some(reward) = store.referral_reward(friend).await? else { return Ok(Attempt::Done(None)) };
            let friend_record = store.customer(friend).await?;
            let referrer = store.customer(&reward.referrer).await?;
            let step = settle(cfg, &reward, friend_record.as_ref(), referrer.as_ref(), day);
            let settled = |status: RewardStatus| ReferralReward { status, settled_at: Some(now), ..reward.clone() };
            let commit = match (step, referrer) {
                (RewardStep::Wait, _) | (RewardStep::Credit, None) => return Ok(Attempt::Done(None)),
                (RewardStep::Cancel(reason), _) => {
                    RewardCommit { reward: ReferralReward { reason: Some(reason), ..settled(RewardStatus::Cancelled) }, referrer: None }
                }
                (RewardStep::Cap, _) => RewardCommit { reward: settled(RewardStatus::Capped), referrer: None },
                (RewardStep::Credit, Some(mut record)) => {
                    let expected_version = record.version;
                    let (entries, expires_on) = credit_reward(cfg, &mut record, &reward, day)?;
                    record.version = expected_version + 1;
                    let reward = ReferralReward { expires_on: Some(expires_on), ..settled(RewardStatus::Credited) };
                    RewardCommit { reward, referrer: Some(RecordCommit { record, expected_version, entries, recorded_at: now }) }
                }
            };
            let points = if step == RewardStep::Credit { reward.points } else { 0 };
            committed(store.commit_reward(&commit, RewardStatus::Pending).await, || Some((step, points)))
        })
        .await
    }
}
