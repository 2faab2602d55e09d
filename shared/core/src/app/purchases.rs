//! Points: purchases (earn and spend), refunds and the balance.

use chrono::{DateTime, NaiveDate, Utc};

use crate::app::{Boomerang, Error};
use crate::app::retry::{committed, read_decide_commit, Attempt};
use crate::domain::customer::CustomerRecord;
use crate::domain::ids::CustomerId;
use crate::domain::referral;
use crate::domain::purchase::{
    decide_purchase, decide_refund, Backdating, PurchaseRequest, Receipt, Refund, RefundRequest,
};
use crate::ports::{Expected, PurchaseCommit, RefundCommit, RefundKeys, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseOutcome {
    pub receipt: Receipt,
    /// True when this was a retry of an already recorded receipt.
    pub replayed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOutcome {
    pub refund: Refund,
    pub replayed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceView {
    pub customer_id: CustomerId,
    pub balance: u64,
    pub expiring: Vec<(NaiveDate, u64)>,
}

impl Boomerang {
    pub async fn balance(&self, id: &CustomerId, now: DateTime<Utc>) -> Result<BalanceView, Error> {
        let record = self.customer(id).await?;
        let today = self.today(now);
        Ok(BalanceView {
            customer_id: id.clone(),
            balance: record.account.balance(today),
            expiring: record.account.expiring(today),
        })
    }

    /// POST /v1/purchases: idempotent on receipt_id; one conditional commit.
    pub async fn purchase(
        &self,
        req: &PurchaseRequest,
        now: DateTime<Utc>,
        backdating: Backdating,
    ) -> Result<PurchaseOutcome, Error> {
        read_decide_commit(self.backoff(), || async move {
            let view = self.store().purchase_view(&req.customer_id, &req.receipt_id).await?;
            if let Some(receipt) = view.receipt {
                return if receipt.is_same_request(req) {
                    Ok(Attempt::Done(PurchaseOutcome { receipt, replayed: true }))
                } else {
                    Err(Error::ReceiptConflict)
                };
            }
            let expected = Expected::of(&view.customer);
            let mut record = view.customer.unwrap_or_else(|| CustomerRecord::new(req.customer_id.clone(), now));
            let decision = decide_purchase(self.config(), &record.account, req, now, backdating)?;
            record.account = decision.account;
            let (mut receipt, mut entries) = (decision.receipt, decision.entries);
            let today = self.today(now);
            let bonus = referral::friend_bonus(&self.config().referral, &mut record, &receipt, today);
            if let Some(bonus) = &bonus {
                receipt.referral_points = bonus.points;
                receipt.balance_after = record.account.balance(today);
                entries.extend(bonus.entries.iter().cloned());
            }
            record.version = expected.next_version();
            let referral_reward = bonus.map(|b| b.reward);
            let commit = PurchaseCommit { record, expected, receipt, entries, referral_reward };
            // A concurrent writer won; a duplicate is replayed by the next read.
            let result = self.store().commit_purchase(&commit).await;
            committed(result, || PurchaseOutcome { receipt: commit.receipt, replayed: false })
        })
        .await
    }

    /// POST /v1/refunds: idempotent on refund_id.
    pub async fn refund(&self, req: &RefundRequest, now: DateTime<Utc>) -> Result<RefundOutcome, Error> {
        read_decide_commit(self.backoff(), || async move {
            let view = self.store().refund_view(RefundKeys::of(req)).await?;
            if let Some(refund) = view.refund {
                return if refund.is_same_request(req) {
                    Ok(Attempt::Done(RefundOutcome { refund, replayed: true }))
                } else {
                    Err(Error::RefundConflict)
                };
            }
            let receipt = view.receipt.ok_or(Error::ReceiptNotFound)?;
            let mut record = view.customer.ok_or_else(|| {
                StoreError::Corrupt(format!("receipt {} has no customer record", receipt.receipt_id))
            })?;
            let decision = decide_refund(self.config(), &record.account, &receipt, req, now)?;
            let expected_version = record.version;
            record.account = decision.account;
            referral::note_refund(&mut record, &decision.receipt, self.today(now));
            record.version += 1;
            let commit = RefundCommit {
                record,
                expected_version,
                expected_refunds: receipt.refund.refunds,
                receipt: decision.receipt,
                refund: decision.refund,
                entries: decision.entries,
            };
            let result = self.store().commit_refund(&commit).await;
            committed(result, || RefundOutcome { refund: commit.refund, replayed: false })
        })
        .await
    }
}
