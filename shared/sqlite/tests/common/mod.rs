//! A fresh SQLite file per test, with its ledger rows read back by SQL.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::ledger::{EntryKind, LedgerEntry, LotKey};
use boomerang_sqlite::{SqliteStore, DB_FILE};
use boomerang_store_contract::audit::LedgerRows;
use boomerang_store_contract::Fixture;

/// The `ledger_entries` table of one database file, read on its own connection.
pub struct SqlLedger(PathBuf);

#[async_trait]
impl LedgerRows for SqlLedger {
    async fn entries(&self, customer: &CustomerId) -> Result<Vec<LedgerEntry>, String> {
        let conn = rusqlite::Connection::open(&self.0).map_err(|e| e.to_string())?;
        let mut select = conn
            .prepare("SELECT kind, points, expires_on, source, reference FROM ledger_entries WHERE customer_id = ?1 ORDER BY seq")
            .map_err(|e| e.to_string())?;
        let rows = select
            .query_map([customer.as_str()], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?, row.get::<_, String>(2)?, row.get::<_, String>(3)?, row.get::<_, String>(4)?))
            })
            .map_err(|e| e.to_string())?;
        let mut entries = Vec::new();
        for row in rows {
            let (kind, points, expires_on, source, reference) = row.map_err(|e| e.to_string())?;
            let kind: EntryKind = serde_json::from_value(serde_json::Value::String(kind)).map_err(|e| e.to_string())?;
            let lot: LotKey = if source == "earned" { expires_on.parse() } else { format!("{expires_on}/{source}").parse() }?;
            let points = u64::try_from(points).map_err(|e| e.to_string())?;
            entries.push(LedgerEntry { kind, points, lot, reference });
        }
        Ok(entries)
    }
}

pub async fn fresh_store() -> Fixture {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = SqliteStore::open(dir.path()).expect("the store opens");
    let ledger = Arc::new(SqlLedger(dir.path().join(DB_FILE)));
    // The temp dir lives as long as the test's fixture.
    Fixture::new(Arc::new(store), dir).with_ledger(ledger)
}
