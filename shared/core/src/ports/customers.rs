//! Customer records, POS keys and the tenant secret.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::auth::ApiKeyRecord;
use crate::domain::customer::CustomerRecord;
use crate::domain::ids::{CustomerId, TerminalName};
use super::{Expected, StoreError};

/// Bytes of the tenant's unsubscribe-signing secret.
pub const SECRET_LEN: usize = 32;

/// Reads a customer: all the balance function may do.
#[async_trait]
pub trait CustomerReader: Send + Sync {
    async fn customer(&self, id: &CustomerId) -> Result<Option<CustomerRecord>, StoreError>;
}

/// Writes a customer record under a version condition (enroll, erase, unsubscribe).
#[async_trait]
pub trait CustomerWriter: Send + Sync {
    /// Writes `record` (whose version the caller set to `expected.next_version()`);
    /// `Conflict` if the condition fails.
    async fn put_customer(&self, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError>;
}

/// POS keys, kept as hashes.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// `Duplicate` if the terminal already has a key that is not revoked, or the hash is stored.
    async fn insert_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    async fn key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Revokes the terminal's live key; returns how many keys it revoked (0 or 1).
    async fn revoke_key(&self, terminal: &TerminalName, at: DateTime<Utc>) -> Result<u32, StoreError>;
}

/// The tenant's signing secret for unsubscribe links, created on first use. A store keeps it;
/// making it is the same for every store.
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// The secret, if one was stored.
    async fn stored_secret(&self) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `secret` only if none is stored yet; `Duplicate` otherwise (nothing written).
    async fn insert_secret(&self, secret: &[u8]) -> Result<(), StoreError>;

    /// The secret, made from fresh OS randomness on first use. Concurrent first uses (other
    /// processes too) race on the insert: the first wins and everyone reads back the winner.
    async fn unsubscribe_secret(&self) -> Result<Vec<u8>, StoreError> {
        let secret = match self.stored_secret().await? {
            Some(secret) => secret,
            None => {
                let mut fresh = [0u8; SECRET_LEN];
                getrandom::getrandom(&mut fresh)
                    .map_err(|e| StoreError::Unavailable(format!("no randomness for the secret: {e}").into()))?;
                match self.insert_secret(&fresh).await {
                    Ok(()) | Err(StoreError::Duplicate) => {}
                    Err(e) => return Err(e),
                }
                self.stored_secret()
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("the unsubscribe secret vanished".into()))?
            }
        };
        if secret.len() < SECRET_LEN {
            return Err(StoreError::Corrupt(format!("the unsubscribe secret has only {} bytes", secret.len())));
        }
        Ok(secret)
    }
}

