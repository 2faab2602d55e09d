//! The daily sweep: audience queries through the sharded indexes, outcomes recorded once
//! with their gifts, burns that forget their markers, the sweep's progress.

use async_trait::async_trait;
use chrono::NaiveDate;

use boomerang_core::domain::book::BookDelta;
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::triggers::{Outcome, OutcomeKey, OutcomeStatus};
use boomerang_core::ports::{encode_date, BurnCommit, Expected, Guard, RecordCommit, StoreError, SweepStore};

use crate::DynamoStore;
use crate::items::{self, key, s, Item};
use crate::layout::{self, customer_pk};
use crate::markers;
use crate::transaction::{Condition, Transaction};

/// The most items one `TransactWriteItems` may hold.
const TRANSACTION_ITEMS: usize = 100;

impl DynamoStore {
    /// Adds the customer record written with an outcome (under its version) and, with a gift,
    /// its ledger item and the marker of the gift's expiry date.
    fn add_record(&self, tx: &mut Transaction, outcome: &Outcome, record: &RecordCommit) -> Result<(), StoreError> {
        tx.put_customer(&self.table, &record.record, Expected::Version(record.expected_version))?;
        // The ledger item is keyed by the decision's own reference: a gift can never be
        // written twice, and the key says which decision it came from.
        let reference = outcome.key.reference();
        let customer = &record.record.customer.customer_id;
        let new_dates = markers::record_marker_dates(record);
        let book = BookDelta::credit(outcome.sweep_date, &record.entries);
        self.add_ledger(tx, customer, record.recorded_at, &reference, &record.entries, new_dates, &book)
    }
}

#[async_trait]
impl SweepStore for DynamoStore {
    async fn customers_last_bought_on(&self, date: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        self.indexed_customers(&layout::BY_LAST_PURCHASE, layout::last_purchase_pks(date)).await
    }

    async fn customers_born_on(&self, month: u32, day: u32) -> Result<Vec<CustomerId>, StoreError> {
        // Erased customers have no birthday key: the index holds only those who may be told.
        self.indexed_customers(&layout::BY_BIRTHDAY, layout::birthday_pks(month, day)).await
    }

    async fn customers_with_lots_expiring_on(&self, date: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        // Markers outlive a lot spent to nothing until the sweep burns the date: such a
        // customer is listed too, as the port allows.
        self.indexed_customers(&layout::BY_EXPIRY, layout::expiry_pks(date)).await
    }

    async fn outcome(&self, key: &OutcomeKey) -> Result<Option<Outcome>, StoreError> {
        let item = self.get(items::outcome_key(key)).await?;
        item.as_ref().map(items::decode_outcome).transpose()
    }

    async fn record_outcome(&self, outcome: &Outcome, record: Option<&RecordCommit>) -> Result<(), StoreError> {
        let item = items::outcome_item(outcome)?;
        let Some(record) = record else {
            return match self.put_if(item, Condition::absent()).await? {
                true => Ok(()),
                false => Err(StoreError::Duplicate),
            };
        };
        let mut tx = Transaction::default();
        tx.put(&self.table, item, Some((Condition::absent(), Guard::NewId)))?;
        self.add_record(&mut tx, outcome, record)?;
        self.transact(tx).await
    }

    async fn claim_outcome(&self, outcome: &Outcome, record: &RecordCommit) -> Result<(), StoreError> {
        let pending = OutcomeStatus::Pending.as_str();
        let still = Condition { expression: "st = :from", values: vec![(":from", s(pending))] };
        let mut tx = Transaction::default();
        tx.put(&self.table, items::outcome_item(outcome)?, Some((still, Guard::Unchanged)))?;
        self.add_record(&mut tx, outcome, record)?;
        self.transact(tx).await
    }

    async fn update_outcome(&self, outcome: &Outcome, from: OutcomeStatus) -> Result<(), StoreError> {
        let still = Condition { expression: "st = :from", values: vec![(":from", s(from.as_str()))] };
        match self.put_if(items::outcome_item(outcome)?, still).await? {
            true => Ok(()),
            false => Err(StoreError::Conflict),
        }
    }

    async fn outcomes_on(&self, date: NaiveDate) -> Result<Vec<Outcome>, StoreError> {
        let found = self.query_index(&layout::BY_SWEEP_DATE, layout::sweep_date_pks(date)).await?;
        let mut outcomes = found.iter().map(items::decode_outcome).collect::<Result<Vec<_>, _>>()?;
        outcomes.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(outcomes)
    }

    async fn commit_burn(&self, burn: &BurnCommit) -> Result<(), StoreError> {
        let customer = &burn.record.customer.customer_id;
        let mut tx = Transaction::default();
        tx.put_customer(&self.table, &burn.record, Expected::Version(burn.expected_version))?;
        // The port gives a burn no instant of its own: it is recorded when the store writes it.
        // The ledger item is still keyed by the burn's reference (`burn:<date>`).
        let reference = burn.entries.first().map_or("burn", |e| e.reference.as_str());
        let new_dates = markers::new_expiry_dates(&burn.record.account, &burn.entries);
        let book = BookDelta::burn(&burn.entries);
        self.add_ledger(&mut tx, customer, burn.recorded_at, reference, &burn.entries, new_dates, &book)?;
        let markers: Vec<Item> = markers::burn_forgotten_dates(burn)
            .into_iter()
            .map(|d| key(customer_pk(customer.as_str()), layout::expiry_sk(d)))
            .collect();
        // Markers go in the same transaction, as many as it can hold (one date, in practice).
        // Any beyond are deleted once the burn has landed: a marker left behind by a failure
        // there is harmless, and the next burn of the date deletes it.
        let room = TRANSACTION_ITEMS.saturating_sub(tx.len());
        let mut markers = markers.into_iter();
        for marker in markers.by_ref().take(room) {
            tx.delete(&self.table, marker, None)?;
        }
        self.transact(tx).await?;
        let rest: Vec<Item> = markers.collect();
        if !rest.is_empty() {
            self.batch_delete(rest).await?;
        }
        Ok(())
    }

    async fn last_completed_sweep(&self) -> Result<Option<NaiveDate>, StoreError> {
        let item = self.get(key(layout::TENANT_PK, layout::SWEEP_SK)).await?;
        item.as_ref().map(items::decode_sweep).transpose()
    }

    async fn complete_sweep(&self, date: NaiveDate) -> Result<(), StoreError> {
        // Dates as `YYYY-MM-DD` compare as strings in date order. A failed condition means a
        // later (or the same) date is already recorded: nothing to do.
        let later =
            Condition { expression: "attribute_not_exists(pk) OR d < :d", values: vec![(":d", s(encode_date(date)))] };
        self.put_if(items::sweep_item(date), later).await?;
        Ok(())
    }
}

