//! Who may call: POS and admin keys, stored only as hashes.

use chrono::{DateTime, Utc};

use crate::app::{Boomerang, Error};
use crate::domain::auth::{self, ApiKeyRecord, Principal};
use crate::domain::ids::TerminalName;
use crate::ports::StoreError;

impl Boomerang {
    /// Checks an `Authorization` header value. Nothing else is read before this passes.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, Error> {
        // The auth scheme is case-insensitive (RFC 7235).
        let key = authorization
            .and_then(|h| h.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key.trim())
            .filter(|k| k.starts_with(auth::KEY_PREFIX))
            .ok_or(Error::Unauthorized)?;
        match self.store().key_by_hash(&auth::key_hash(key)).await? {
            Some(record) if record.revoked_at.is_none() => {
                Ok(Principal { terminal: record.terminal, admin: record.admin })
            }
            _ => Err(Error::Unauthorized),
        }
    }

    /// Creates a key for a terminal; returns the key, which is never stored or shown again.
    pub async fn issue_key(
        &self,
        terminal: TerminalName,
        admin: bool,
        random: [u8; 32],
        now: DateTime<Utc>,
    ) -> Result<String, Error> {
        let key = auth::key_from_random(random);
        let record = ApiKeyRecord { key_hash: auth::key_hash(&key), terminal, admin, created_at: now, revoked_at: None };
        match self.store().insert_key(&record).await {
            Ok(()) => Ok(key),
            Err(StoreError::Duplicate) => Err(Error::invalid(
                "terminal",
                format!("terminal {} already has a live key; revoke it first or pick another name", record.terminal),
            )),
            Err(e) => Err(e.into()),
        }
    }
}
