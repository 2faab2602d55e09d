//! Purchases and refunds: one read transaction to see, one write transaction to commit.

use async_trait::async_trait;
use chrono::Utc;
use rusqlite::params;

use boomerang_core::domain::ids::{CustomerId, ReceiptId};
use boomerang_core::ports::{
    encode_json, Expected, Guard, LedgerWriter, PurchaseCommit, PurchaseView, RefundCommit, RefundKeys, RefundView, StoreError,
};

use crate::rows::{
    exists, read_customer, read_receipt, read_refund, refuse_unless, timestamp, CustomerRow, EntryRows, ReceiptRow,
};
use crate::referrals::RewardRow;
use crate::{write_tx, SqliteStore};

#[async_trait]
impl LedgerWriter for SqliteStore {
    async fn purchase_view(&self, customer: &CustomerId, receipt: &ReceiptId) -> Result<PurchaseView, StoreError> {
        let (customer, receipt) = (customer.as_str().to_owned(), receipt.as_str().to_owned());
        self.run(move |conn| {
            // One read transaction: both reads see the same snapshot.
            let tx = conn.transaction()?;
            Ok(PurchaseView { customer: read_customer(&tx, &customer)?, receipt: read_receipt(&tx, &receipt)? })
        })
        .await
    }

    async fn commit_purchase(&self, commit: &PurchaseCommit) -> Result<(), StoreError> {
        let expected = commit.expected;
        let customer = CustomerRow::encode(&commit.record, expected.next_version())?;
        let receipt = ReceiptRow::encode(&commit.receipt)?;
        let entries = EntryRows::encode(&commit.receipt.customer_id, commit.receipt.recorded_at, &commit.entries)
            .with_book(commit.book());
        let reward = commit.referral_reward.as_ref().map(RewardRow::encode).transpose()?;
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            refuse_unless([
                (exists(&tx, "SELECT 1 FROM receipts WHERE receipt_id = ?1", &receipt.receipt_id)?, Guard::NewId),
                (customer.moved(&tx, expected)?, Guard::Unchanged),
            ])?;
            if let Some(reward) = &reward {
                reward.insert(&tx)?;
            }
            // The customer first: the receipt and entries refer to it.
            customer.write(&tx, expected)?;
            tx.prepare_cached(
                "INSERT INTO receipts (receipt_id, customer_id, occurred_at_utc, local_date, refunds, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                receipt.receipt_id,
                receipt.customer_id,
                receipt.occurred_at_utc,
                receipt.local_date,
                receipt.refunds,
                receipt.body
            ])?;
            entries.insert(&tx)?;
            Ok(tx.commit()?)
        })
        .await
    }

    async fn refund_view(&self, keys: RefundKeys<'_>) -> Result<RefundView, StoreError> {
        // One transaction reads all three anyway: the guess saves nothing here.
        let (refund, receipt) = (keys.refund.as_str().to_owned(), keys.receipt.as_str().to_owned());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let refund = read_refund(&tx, &refund)?;
            let receipt = read_receipt(&tx, &receipt)?;
            let customer = match &receipt {
                Some(r) => read_customer(&tx, r.customer_id.as_str())?,
                None => None,
            };
            Ok(RefundView { refund, receipt, customer })
        })
        .await
    }

    async fn commit_refund(&self, commit: &RefundCommit) -> Result<(), StoreError> {
        let expected = Expected::Version(commit.expected_version);
        let expected_refunds = commit.expected_refunds;
        let customer = CustomerRow::encode(&commit.record, expected.next_version())?;
        let receipt = ReceiptRow::encode(&commit.receipt)?;
        let refund = &commit.refund;
        let refund_row = (
            refund.refund_id.as_str().to_owned(),
            timestamp(refund.occurred_at.with_timezone(&Utc)),
            encode_json(refund, "refund")?,
        );
        let entries = EntryRows::encode(&refund.customer_id, refund.recorded_at, &commit.entries)
            .with_book(commit.book());
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            let (refund_id, occurred_at_utc, refund_body) = refund_row;
            // The receipt must still have the refunds the decision was made on, and its customer.
            let receipt_moved = !tx
                .prepare_cached("SELECT 1 FROM receipts WHERE receipt_id = ?1 AND customer_id = ?2 AND refunds = ?3")?
                .exists(params![receipt.receipt_id, receipt.customer_id, expected_refunds])?;
            refuse_unless([
                (exists(&tx, "SELECT 1 FROM refunds WHERE refund_id = ?1", &refund_id)?, Guard::NewId),
                (receipt_moved, Guard::Unchanged),
                (customer.moved(&tx, expected)?, Guard::Unchanged),
            ])?;
            let moved = tx
                .prepare_cached(
                    "UPDATE receipts SET refunds = ?3, body = ?4 \
                     WHERE receipt_id = ?1 AND customer_id = ?2 AND refunds = ?5",
                )?
                .execute(params![
                    receipt.receipt_id,
                    receipt.customer_id,
                    receipt.refunds,
                    receipt.body,
                    expected_refunds
                ])?;
            if moved == 0 {
                return Err(StoreError::Conflict.into());
            }
            customer.write(&tx, expected)?;
            tx.prepare_cached(
                "INSERT INTO refunds (refund_id, receipt_id, customer_id, occurred_at_utc, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                refund_id,
                receipt.receipt_id,
                receipt.customer_id,
                occurred_at_utc,
                refund_body
            ])?;
            entries.insert(&tx)?;
            Ok(tx.commit()?)
        })
        .await
    }
}

