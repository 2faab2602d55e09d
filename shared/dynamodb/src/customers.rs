//! Customer records, POS keys and the tenant secret.

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use boomerang_core::domain::auth::ApiKeyRecord;
use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::domain::ids::{CustomerId, TerminalName};
use boomerang_core::ports::{CustomerReader, CustomerWriter, Expected, Guard, KeyStore, SecretStore, StoreError};

use crate::DynamoStore;
use crate::items::{self, key, s};
use crate::layout::{self, customer_pk, key_pk, terminal_pk, SOLE};
use crate::transaction::{Condition, Transaction};

/// Attempts at revoking when another revoke or insert moves the terminal's lock meanwhile.
const REVOKE_ATTEMPTS: u32 = 5;

#[async_trait]
impl CustomerReader for DynamoStore {
    async fn customer(&self, id: &CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
        let item = self.get(key(customer_pk(id.as_str()), SOLE)).await?;
        item.as_ref().map(items::decode_customer).transpose()
    }
}

#[async_trait]
impl CustomerWriter for DynamoStore {
    async fn put_customer(&self, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError> {
        let item = items::customer_item(record, expected.next_version())?;
        match self.put_if(item, Condition::customer(expected)).await? {
            true => Ok(()),
            false => Err(StoreError::Conflict),
        }
    }
}

#[async_trait]
impl KeyStore for DynamoStore {
    async fn insert_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        let mut tx = Transaction::default();
        // The terminal's lock: a second live key for it fails here.
        if record.revoked_at.is_none() {
            tx.put(&self.table, items::terminal_item(record)?, Some((Condition::absent(), Guard::NewId)))?;
        }
        tx.put(&self.table, items::key_item(record)?, Some((Condition::absent(), Guard::NewId)))?;
        tx.put(&self.table, items::listing_item(record)?, None)?;
        self.transact(tx).await
    }

    async fn key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let item = self.get(key(key_pk(key_hash), SOLE)).await?;
        item.as_ref().map(items::decode_key).transpose()
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let query = self.partition_query(None, layout::KEYS_PK.to_owned(), None);
        self.query_all(query).await?.iter().map(items::decode_key).collect()
    }

    async fn revoke_key(&self, terminal: &TerminalName, at: DateTime<Utc>) -> Result<u32, StoreError> {
        let lock_key = key(terminal_pk(terminal.as_str()), SOLE);
        for _ in 0..REVOKE_ATTEMPTS {
            let Some(lock) = self.get(lock_key.clone()).await? else {
                return Ok(0);
            };
            let hash = items::live_hash(&lock)?.to_owned();
            let mut revoked = items::decode_key(&lock)?;
            revoked.revoked_at = Some(at);
            let mut tx = Transaction::default();
            // Still the lock we read: a concurrent revoke (and a new key) must not be undone.
            let same_lock = Condition { expression: "h = :h", values: vec![(":h", s(hash.as_str()))] };
            tx.delete(&self.table, lock_key.clone(), Some((same_lock, Guard::Unchanged)))?;
            tx.put(&self.table, items::key_item(&revoked)?, Some((Condition::present(), Guard::Unchanged)))?;
            tx.put(&self.table, items::listing_item(&revoked)?, None)?;
            match self.transact(tx).await {
                Ok(()) => return Ok(1),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }
}

#[async_trait]
impl SecretStore for DynamoStore {
    async fn stored_secret(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let item = self.get(key(layout::TENANT_PK, layout::SECRET_SK)).await?;
        item.as_ref().map(items::secret_bytes).transpose()
    }

    async fn insert_secret(&self, secret: &[u8]) -> Result<(), StoreError> {
        let mut item = key(layout::TENANT_PK, layout::SECRET_SK);
        item.insert(layout::SECRET_BYTES.to_owned(), AttributeValue::B(Blob::new(secret.to_vec())));
        match self.put_if(item, Condition::absent()).await? {
            true => Ok(()),
            false => Err(StoreError::Duplicate),
        }
    }
}
