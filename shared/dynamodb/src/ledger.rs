//! Purchases and refunds: one `BatchGetItem` to read, one `TransactWriteItems` to commit.

use async_trait::async_trait;

use boomerang_core::domain::ids::{CustomerId, ReceiptId};
use boomerang_core::ports::{
    CustomerReader, Expected, Guard, LedgerWriter, PurchaseCommit, PurchaseView, RefundCommit, RefundKeys, RefundView, StoreError,
};

use crate::items::{self, key, n, s};
use crate::layout::{customer_pk, receipt_pk, refund_pk, SOLE};
use crate::markers;
use crate::{take, DynamoStore};
use crate::transaction::{Condition, Transaction};

#[async_trait]
impl LedgerWriter for DynamoStore {
    async fn purchase_view(&self, customer: &CustomerId, receipt: &ReceiptId) -> Result<PurchaseView, StoreError> {
        let (customer_pk, receipt_pk) = (customer_pk(customer.as_str()), receipt_pk(receipt.as_str()));
        let mut found = self.batch_get(vec![key(customer_pk.as_str(), SOLE), key(receipt_pk.as_str(), SOLE)]).await?;
        Ok(PurchaseView {
            customer: take(&mut found, &customer_pk).as_ref().map(items::decode_customer).transpose()?,
            receipt: take(&mut found, &receipt_pk).as_ref().map(items::decode_receipt).transpose()?,
        })
    }

    async fn commit_purchase(&self, commit: &PurchaseCommit) -> Result<(), StoreError> {
        let receipt = &commit.receipt;
        let mut tx = Transaction::default();
        tx.put_customer(&self.table, &commit.record, commit.expected)?;
        // The receipt item carries the purchase's ledger entries: no ledger item of its own.
        let receipt_item = items::purchase_item(receipt, &commit.entries)?;
        tx.put(&self.table, receipt_item, Some((Condition::absent(), Guard::NewId)))?;
        let customer = &commit.record.customer.customer_id;
        let new_dates = markers::purchase_marker_dates(commit);
        let book = commit.book();
        self.add_book_and_markers(&mut tx, customer, new_dates, &book)?;
        if let Some(reward) = &commit.referral_reward {
            crate::referrals::add_new_reward(self, &mut tx, reward)?;
        }
        self.transact(tx).await
    }

    async fn refund_view(&self, keys: RefundKeys<'_>) -> Result<RefundView, StoreError> {
        let (refund_pk, receipt_pk) = (refund_pk(keys.refund.as_str()), receipt_pk(keys.receipt.as_str()));
        let guessed_pk = keys.customer.map(|c| customer_pk(c.as_str()));
        let mut items = vec![key(refund_pk.as_str(), SOLE), key(receipt_pk.as_str(), SOLE)];
        items.extend(guessed_pk.as_deref().map(|pk| key(pk, SOLE)));
        let mut found = self.batch_get(items).await?;
        let refund = take(&mut found, &refund_pk).as_ref().map(items::decode_refund).transpose()?;
        let receipt = take(&mut found, &receipt_pk).as_ref().map(items::decode_receipt).transpose()?;
        let guessed = guessed_pk.and_then(|pk| take(&mut found, &pk));
        // Only the receipt tells whose record it is: a right guess saves the second read.
        let customer = match &receipt {
            Some(r) if keys.customer == Some(&r.customer_id) => guessed.as_ref().map(items::decode_customer).transpose()?,
            Some(r) => self.customer(&r.customer_id).await?,
            None => None,
        };
        Ok(RefundView { refund, receipt, customer })
    }

    async fn commit_refund(&self, commit: &RefundCommit) -> Result<(), StoreError> {
        let (refund, receipt) = (&commit.refund, &commit.receipt);
        let expected = Expected::Version(commit.expected_version);
        let mut tx = Transaction::default();
        tx.put(&self.table, items::refund_item(refund)?, Some((Condition::absent(), Guard::NewId)))?;
        // The receipt must still have the refunds the decision was made on, and its customer.
        let receipt_moved = Condition {
            expression: "n = :n AND c = :c",
            values: vec![(":n", n(commit.expected_refunds)), (":c", s(receipt.customer_id.as_str()))],
        };
        // Set in place: the receipt item keeps its purchase's ledger entries.
        let receipt_key = key(receipt_pk(receipt.receipt_id.as_str()), SOLE);
        tx.set(&self.table, receipt_key, items::receipt_attributes(receipt)?, (receipt_moved, Guard::Unchanged))?;
        tx.put_customer(&self.table, &commit.record, expected)?;
        let (customer, id) = (&commit.record.customer.customer_id, refund.refund_id.as_str());
        let new_dates = markers::refund_marker_dates(commit);
        let book = commit.book();
        self.add_ledger(&mut tx, customer, refund.recorded_at, id, &commit.entries, new_dates, &book)?;
        self.transact(tx).await
    }
}

