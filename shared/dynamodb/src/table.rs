//! Creating a tenant's table: on-demand capacity, the `pk`/`sk` key and the indexes; a table
//! made by an older build gets the indexes it lacks.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TableDescription, TableStatus,
};

use boomerang_core::ports::StoreError;

use crate::errors::unavailable;
use crate::layout::{Index, Projected, INDEXES, PK, SK};
use crate::DynamoStore;

/// How long `create_table` waits for a new table (and its indexes) to become active.
const ACTIVE_WITHIN: Duration = Duration::from_secs(300);
const POLL_EVERY: Duration = Duration::from_secs(2);

fn key_element(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(unavailable)
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(unavailable)
}

fn projection(index: &Index) -> Projection {
    match index.projected {
        Projected::KeysOnly => Projection::builder().projection_type(ProjectionType::KeysOnly).build(),
        Projected::All => Projection::builder().projection_type(ProjectionType::All).build(),
        Projected::Include(names) => {
            let mut p = Projection::builder().projection_type(ProjectionType::Include);
            for name in names {
                p = p.non_key_attributes(*name);
            }
            p.build()
        }
    }
}

fn global_index(index: &Index) -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(index.name)
        .key_schema(key_element(index.pk, KeyType::Hash)?)
        .key_schema(key_element(index.sk, KeyType::Range)?)
        .projection(projection(index))
        .build()
        .map_err(unavailable)
}

fn create_index(index: &Index) -> Result<GlobalSecondaryIndexUpdate, StoreError> {
    let create = CreateGlobalSecondaryIndexAction::builder()
        .index_name(index.name)
        .key_schema(key_element(index.pk, KeyType::Hash)?)
        .key_schema(key_element(index.sk, KeyType::Range)?)
        .projection(projection(index))
        .build()
        .map_err(unavailable)?;
    Ok(GlobalSecondaryIndexUpdate::builder().create(create).build())
}

/// True once the table and all its indexes take traffic.
fn is_active(table: &TableDescription) -> bool {
    table.table_status() == Some(&TableStatus::Active)
        && table.global_secondary_indexes().iter().all(|i| i.index_status() == Some(&IndexStatus::Active))
}

/// Refuses a table that exists under the name but is not keyed like ours.
fn check_keys(name: &str, table: &TableDescription) -> Result<(), StoreError> {
    let keys: Vec<(&str, &KeyType)> = table.key_schema().iter().map(|k| (k.attribute_name(), k.key_type())).collect();
    if keys != [(PK, &KeyType::Hash), (SK, &KeyType::Range)] {
        return Err(StoreError::Corrupt(format!(
            "table {name} exists but is not a Boomerang table (key schema {keys:?})"
        )));
    }
    Ok(())
}

/// Our indexes the table lacks (a table made by an older build).
fn missing_indexes(table: &TableDescription) -> Vec<&'static Index> {
    INDEXES
        .iter()
        .filter(|want| !table.global_secondary_indexes().iter().any(|i| i.index_name() == Some(want.name)))
        .collect()
}

impl DynamoStore {
    /// Creates the tenant's table, or accepts it when it already exists with our layout, and
    /// waits until it is active. On-demand capacity: no throughput to plan or to outgrow.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let mut attributes = vec![string_attribute(PK)?, string_attribute(SK)?];
        let mut indexes = Vec::new();
        for index in &INDEXES {
            attributes.push(string_attribute(index.pk)?);
            attributes.push(string_attribute(index.sk)?);
            indexes.push(global_index(index)?);
        }
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(attributes))
            .key_schema(key_element(PK, KeyType::Hash)?)
            .key_schema(key_element(SK, KeyType::Range)?)
            .set_global_secondary_indexes(Some(indexes))
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(e) => return Err(unavailable(e)),
        }
        // An existing table from an older build lacks the newer indexes: add them, one per
        // UpdateTable (DynamoDB's limit), each once the table is active again. DynamoDB
        // backfills a new index from the items already there.
        loop {
            let table = self.wait_until_active().await?;
            let missing = missing_indexes(&table);
            let Some(index) = missing.first().copied() else {
                return Ok(());
            };
            if missing.len() == INDEXES.len() {
                // None of ours: someone else's table that happens to be keyed pk/sk.
                return Err(StoreError::Corrupt(format!(
                    "table {} exists but is not a Boomerang table (it has none of the indexes {:?})",
                    self.table,
                    INDEXES.map(|i| i.name)
                )));
            }
            self.client
                .update_table()
                .table_name(&self.table)
                .attribute_definitions(string_attribute(index.pk)?)
                .attribute_definitions(string_attribute(index.sk)?)
                .global_secondary_index_updates(create_index(index)?)
                .send()
                .await
                .map_err(unavailable)?;
        }
    }

    /// Waits until the table and the indexes it has are active; returns its description.
    async fn wait_until_active(&self) -> Result<TableDescription, StoreError> {
        let deadline = tokio::time::Instant::now() + ACTIVE_WITHIN;
        loop {
            let described = self.client.describe_table().table_name(&self.table).send().await.map_err(unavailable)?;
            let table = described
                .table
                .ok_or_else(|| StoreError::Corrupt(format!("DescribeTable of {} returned no table", self.table)))?;
            check_keys(&self.table, &table)?;
            if is_active(&table) {
                return Ok(table);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::Unavailable(
                    format!("table {} is not active after {} s", self.table, ACTIVE_WITHIN.as_secs()).into(),
                ));
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
}
