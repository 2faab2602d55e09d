//! The owner's weekly digest: one row per sweep date that sends it (the primary key refuses a
//! second intent), its status beside the JSON so a claim is one conditional update.

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::params;

use boomerang_core::domain::kinds::SendStatus;
use boomerang_core::ports::{encode_date, encode_json, DigestRecord, DigestStore, Guard, StoreError};

use crate::rows::{exists, read_json, refuse_unless};
use crate::{write_tx, SqliteStore};

pub(crate) const SCHEMA: &str = "
CREATE TABLE owner_digests (
    sweep_date TEXT PRIMARY KEY NOT NULL,
    status     TEXT NOT NULL,
    body       TEXT NOT NULL
) STRICT;
";

#[async_trait]
impl DigestStore for SqliteStore {
    async fn owner_digest(&self, sweep_date: NaiveDate) -> Result<Option<DigestRecord>, StoreError> {
        let on = encode_date(sweep_date);
        self.run(move |conn| Ok(read_json(conn, "SELECT body FROM owner_digests WHERE sweep_date = ?1", &on, "owner digest")?))
            .await
    }

    async fn record_owner_digest(&self, record: &DigestRecord) -> Result<(), StoreError> {
        let (on, status, body) = (encode_date(record.sweep_date), record.status.as_str(), encode_json(record, "owner digest")?);
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            let taken = exists(&tx, "SELECT 1 FROM owner_digests WHERE sweep_date = ?1", &on)?;
            refuse_unless([(taken, Guard::NewId)])?;
            tx.prepare_cached("INSERT INTO owner_digests (sweep_date, status, body) VALUES (?1, ?2, ?3)")?
                .execute(params![on, status, body])?;
            Ok(tx.commit()?)
        })
        .await
    }

    async fn update_owner_digest(&self, record: &DigestRecord, from: SendStatus) -> Result<(), StoreError> {
        let (on, status, body) = (encode_date(record.sweep_date), record.status.as_str(), encode_json(record, "owner digest")?);
        self.run(move |conn| {
            let updated = conn
                .prepare_cached("UPDATE owner_digests SET status = ?2, body = ?3 WHERE sweep_date = ?1 AND status = ?4")?
                .execute(params![on, status, body, from.as_str()])?;
            refuse_unless([(updated == 0, Guard::Unchanged)])
        })
        .await
    }
}
