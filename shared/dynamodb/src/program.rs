//! The tenant's program (boomerang.toml), kept in the table so every function reads the one
//! the deploy pushed, once per cold start.

use aws_sdk_dynamodb::types::AttributeValue;

use boomerang_core::ports::StoreError;

use crate::errors::unavailable;
use crate::items::{key, s};
use crate::layout::TENANT_PK;
use crate::DynamoStore;

pub const PROGRAM_SK: &str = "PROGRAM";
const PROGRAM_TOML: &str = "toml";

impl DynamoStore {
    /// The program TOML the deploy stored, if any (one consistent GetItem).
    pub async fn program_toml(&self) -> Result<Option<String>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(key(TENANT_PK, PROGRAM_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        match out.item.as_ref().and_then(|item| item.get(PROGRAM_TOML)) {
            None => Ok(None),
            Some(AttributeValue::S(text)) => Ok(Some(text.clone())),
            Some(_) => Err(StoreError::Corrupt("the program item's toml is not a string".into())),
        }
    }

    /// Stores the program TOML (the caller has validated it). Functions pick it up on their
    /// next cold start.
    pub async fn put_program_toml(&self, text: &str) -> Result<(), StoreError> {
        let mut item = key(TENANT_PK, PROGRAM_SK);
        item.insert(PROGRAM_TOML.into(), s(text));
        self.client().put_item().table_name(self.table()).set_item(Some(item)).send().await.map_err(unavailable)?;
        Ok(())
    }
}
