//! Customer records, POS keys and the tenant secret.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use boomerang_core::domain::auth::ApiKeyRecord;
use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::domain::ids::{CustomerId, TerminalName};
use boomerang_core::ports::{CustomerReader, CustomerWriter, Expected, KeyStore, SecretStore, StoreError};

use crate::rows::{decode_key, is_constraint_violation, key_row, read_customer, timestamp, CustomerRow, KEY_COLUMNS};
use crate::{write_tx, Fail, SqliteStore};

const UNSUBSCRIBE_SECRET: &str = "unsubscribe_secret";

#[async_trait]
impl CustomerReader for SqliteStore {
    async fn customer(&self, id: &CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
        let id = id.as_str().to_owned();
        self.run(move |conn| read_customer(conn, &id)).await
    }
}

#[async_trait]
impl CustomerWriter for SqliteStore {
    async fn put_customer(&self, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError> {
        let row = CustomerRow::encode(record, expected.next_version())?;
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            row.write(&tx, expected)?;
            Ok(tx.commit()?)
        })
        .await
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn insert_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let row = (
            key.key_hash.clone(),
            key.terminal.as_str().to_owned(),
            key.admin,
            timestamp(key.created_at),
            key.revoked_at.map(timestamp),
        );
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            let (key_hash, terminal, admin, created_at, revoked_at) = row;
            let inserted = tx
                .prepare_cached(&format!("INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"))?
                .execute(params![key_hash, terminal, admin, created_at, revoked_at]);
            match inserted {
                // The hash is taken, or the terminal has a live key (the partial unique index).
                Err(e) if is_constraint_violation(&e) => return Err(StoreError::Duplicate.into()),
                other => other?,
            };
            Ok(tx.commit()?)
        })
        .await
    }

    async fn key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let key_hash = key_hash.to_owned();
        self.run(move |conn| {
            let row = conn
                .prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = ?1"))?
                .query_row([key_hash], key_row)
                .optional()?;
            Ok(row.map(decode_key).transpose()?)
        })
        .await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.run(|conn| {
            let mut stmt =
                conn.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, key_hash"))?;
            let rows = stmt.query_map([], key_row)?.collect::<Result<Vec<_>, _>>()?;
            Ok(rows.into_iter().map(decode_key).collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn revoke_key(&self, terminal: &TerminalName, at: DateTime<Utc>) -> Result<u32, StoreError> {
        let (terminal, at) = (terminal.as_str().to_owned(), timestamp(at));
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            let revoked = tx
                .prepare_cached("UPDATE api_keys SET revoked_at = ?2 WHERE terminal = ?1 AND revoked_at IS NULL")?
                .execute(params![terminal, at])?;
            tx.commit()?;
            // The partial unique index allows one live key per terminal, so this is 0 or 1.
            Ok(u32::try_from(revoked).unwrap_or(u32::MAX))
        })
        .await
    }
}

fn read_secret(conn: &Connection) -> Result<Option<Vec<u8>>, Fail> {
    Ok(conn
        .prepare_cached("SELECT value FROM settings WHERE name = ?1")?
        .query_row([UNSUBSCRIBE_SECRET], |row| row.get(0))
        .optional()?)
}

#[async_trait]
impl SecretStore for SqliteStore {
    async fn stored_secret(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(|conn| read_secret(conn)).await
    }

    async fn insert_secret(&self, secret: &[u8]) -> Result<(), StoreError> {
        let secret = secret.to_vec();
        self.run(move |conn| {
            let inserted = conn
                .prepare_cached("INSERT OR IGNORE INTO settings (name, value) VALUES (?1, ?2)")?
                .execute(params![UNSUBSCRIBE_SECRET, secret])?;
            match inserted {
                0 => Err(StoreError::Duplicate.into()),
                _ => Ok(()),
            }
        })
        .await
    }
}
