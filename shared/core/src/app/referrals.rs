//! Referrals as use cases: enrollment with a code (and every customer's own code, reserved
//! in the store with the record that holds it) and the till's check of a code. The
//! referrers' rewards are settled and told by the sweep (app/sweep/rewards.rs).
//!
//! Customers enrolled before referrals, and customers a purchase created, have no code yet:
//! they get one at their next PUT (an empty `{}` will do), and keep it from then on. Reads
//! never write: `GET /v1/customers/{id}` is served by the read-only balance function, so it
//! shows `referral_code: null` until then.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};

use crate::app::customers::Enrolled;
use crate::app::retry::{committed, read_decide_commit, Attempt};
use crate::app::{Boomerang, Error};
use crate::domain::customer::{CustomerRecord, ProfileEditor, ProfilePatch};
use crate::domain::ids::CustomerId;
use crate::domain::referral::{check_referral, ReferralCode};
use crate::ports::{Expected, StoreError};

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
                Some(_) => store.put_customer_reserving_code(&record, expected).await,
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
}
