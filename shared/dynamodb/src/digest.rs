//! The owner's weekly digest: one item per sweep date under the tenant's partition
//! (`TENANT`, `DIGEST#<date>`), its status in `st` so that a claim is one conditional put.

use async_trait::async_trait;
use chrono::NaiveDate;

use boomerang_core::domain::kinds::SendStatus;
use boomerang_core::ports::{encode_date, encode_json, DigestRecord, DigestStore, StoreError};

use crate::DynamoStore;
use crate::items::{item, key, record, s, Item};
use crate::layout::{OUTCOME_STATUS, RECORD, TENANT_PK};
use crate::transaction::Condition;

fn digest_sk(sweep_date: NaiveDate) -> String {
    format!("DIGEST#{}", encode_date(sweep_date))
}

fn digest_item(digest: &DigestRecord) -> Result<Item, StoreError> {
    Ok(item(
        TENANT_PK,
        digest_sk(digest.sweep_date),
        [(RECORD, s(encode_json(digest, "owner digest")?)), (OUTCOME_STATUS, s(digest.status.as_str()))],
    ))
}

#[async_trait]
impl DigestStore for DynamoStore {
    async fn owner_digest(&self, sweep_date: NaiveDate) -> Result<Option<DigestRecord>, StoreError> {
        let found = self.get(key(TENANT_PK, digest_sk(sweep_date))).await?;
        found.as_ref().map(record).transpose()
    }

    async fn record_owner_digest(&self, digest: &DigestRecord) -> Result<(), StoreError> {
        match self.put_if(digest_item(digest)?, Condition::absent()).await? {
            true => Ok(()),
            false => Err(StoreError::Duplicate),
        }
    }

    async fn update_owner_digest(&self, digest: &DigestRecord, from: SendStatus) -> Result<(), StoreError> {
        let still = Condition { expression: "st = :from", values: vec![(":from", s(from.as_str()))] };
        match self.put_if(digest_item(digest)?, still).await? {
            true => Ok(()),
            false => Err(StoreError::Conflict),
        }
    }
}
