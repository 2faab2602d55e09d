//! The DynamoDB store: every port of `boomerang_core::ports` on one table per tenant.
//!
//! Each port call is a fixed, small number of requests, whatever the customer's history:
//! a purchase view is one `BatchGetItem`, a purchase one `TransactWriteItems` whose conditions
//! (record version, receipt id not taken) make it atomic and idempotent; the store never reads
//! to decide whether it may write. Reads of items are strongly consistent; the sweep's audience
//! and outcome listings and the reports' receipts of a day query global indexes (one `Query`
//! per shard), which are eventually consistent; the sweep re-reads each item before it acts,
//! and a report may lag a write by a moment. Nothing ever scans.
//! docs/dynamodb.md has the item layout, the indexes and the request count of each operation.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use chrono::{DateTime, NaiveDate, Utc};

use boomerang_core::domain::book::BookDelta;
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::ledger::LedgerEntry;
use boomerang_core::ports::StoreError;

pub mod book;
mod customers;
mod digest;
mod errors;
pub mod items;
pub mod layout;
mod ledger;
pub mod markers;
mod metrics;
mod program;
mod referrals;
mod reports;
mod surveys;
mod sweep;
mod table;
mod transaction;

use errors::{transaction_error, unavailable};
use items::{s, Item};
use layout::{Index, PK, SK};
use transaction::{Condition, Transaction};

/// What to do on a machine without AWS credentials (the SDK's chain: environment, profile,
/// web identity, container, instance metadata).
pub const NO_CREDENTIALS: &str = "no AWS credentials were found: set AWS_ACCESS_KEY_ID and \
     AWS_SECRET_ACCESS_KEY, or AWS_PROFILE to use a profile of ~/.aws/credentials (for an emulator \
     such as moto, set AWS_ENDPOINT_URL too; any key works there)";
pub const NO_REGION: &str = "no AWS region is configured: set AWS_REGION (e.g. eu-central-1)";

pub use layout::INDEX_SHARDS;
pub use metrics::{RequestMetrics, WRITE_OPERATIONS};

/// Attempts at a `BatchGetItem` whose keys come back unprocessed (throttling).
const BATCH_ATTEMPTS: u32 = 5;
/// The most requests one `BatchWriteItem` may hold.
const BATCH_WRITE_ITEMS: usize = 25;

/// The store over one tenant's table. Cheap to clone; clones share the client and the metrics.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Only in a store made to be measured (tests, `scripts/bench`): counting parses every
    /// transaction's body and remembers the items read, work production has no use for.
    counter: Option<metrics::RequestCounter>,
}

impl DynamoStore {
    /// A store over `table` with the given client configuration (endpoint, region,
    /// credentials, retries).
    pub fn new(config: aws_sdk_dynamodb::Config, table: impl Into<String>) -> Self {
        Self { client: Client::from_conf(config), table: table.into(), counter: None }
    }

    /// Like [`DynamoStore::new`], plus the request counter behind [`DynamoStore::metrics`].
    pub fn measured(config: aws_sdk_dynamodb::Config, table: impl Into<String>) -> Self {
        let counter = metrics::RequestCounter::default();
        let config = config.to_builder().interceptor(counter.clone()).build();
        Self { client: Client::from_conf(config), table: table.into(), counter: Some(counter) }
    }

    /// A store configured from the environment, like every AWS tool (see `sdk_config_from_env`).
    pub async fn from_env(table: &str) -> Result<Self, StoreError> {
        Ok(Self::new(sdk_config_from_env().await?, table))
    }

    /// [`DynamoStore::from_env`], measured (see [`DynamoStore::measured`]).
    pub async fn measured_from_env(table: &str) -> Result<Self, StoreError> {
        Ok(Self::measured(sdk_config_from_env().await?, table))
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The underlying client, for tools and tests that work on the table directly.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// What this store (and its clones) sent since it was made or last reset; nothing for a
    /// store that is not [`measured`](DynamoStore::measured).
    pub fn metrics(&self) -> RequestMetrics {
        self.counter.as_ref().map(metrics::RequestCounter::snapshot).unwrap_or_default()
    }

    pub fn reset_metrics(&self) {
        if let Some(counter) = &self.counter {
            counter.reset();
        }
    }

    /// Tells the counter, if any, what was read (write units depend on the items replaced).
    fn remember_read<'a>(&self, items: impl IntoIterator<Item = &'a Item>) {
        if let Some(counter) = &self.counter {
            counter.remember(items);
        }
    }

    async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        self.remember_read(out.item.iter());
        Ok(out.item)
    }

    /// Reads several items in one request (more only when DynamoDB leaves keys unprocessed).
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut pending = keys;
        let mut found = Vec::new();
        for attempt in 0..BATCH_ATTEMPTS {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(true)
                .build()
                .map_err(unavailable)?;
            let out =
                self.client.batch_get_item().request_items(&self.table, request).send().await.map_err(unavailable)?;
            found.extend(out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default());
            match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(rest) if !rest.keys.is_empty() => {
                    pending = rest.keys;
                    tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
                }
                _ => {
                    self.remember_read(found.iter());
                    return Ok(found);
                }
            }
        }
        Err(StoreError::Unavailable(
            format!("BatchGetItem still had unprocessed keys after {BATCH_ATTEMPTS} attempts").into(),
        ))
    }

    /// One `PutItem` under a condition; false when the condition failed (nothing written).
    async fn put_if(&self, item: Item, condition: Condition) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition.expression)
            .set_expression_attribute_values(condition.values())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Every item `query` matches, page after page.
    async fn query_all(&self, query: QueryFluentBuilder) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = query.clone().set_exclusive_start_key(start).send().await.map_err(unavailable)?;
            found.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(last) if !last.is_empty() => start = Some(last),
                _ => return Ok(found),
            }
        }
    }

    /// A `Query` of one partition: of the table (strongly consistent) or, with `index`, of a
    /// global index (eventually consistent, the only kind DynamoDB offers there: an entry may
    /// lag its item's write a little); with `between`, only sort keys in that range.
    fn partition_query(&self, index: Option<&Index>, pk: String, between: Option<(String, String)>) -> QueryFluentBuilder {
        let (pk_name, sk_name) = index.map_or((PK, SK), |i| (i.pk, i.sk));
        let condition = if between.is_some() { "#pk = :pk AND #sk BETWEEN :from AND :to" } else { "#pk = :pk" };
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(|i| i.name.to_owned()))
            .consistent_read(index.is_none())
            .key_condition_expression(condition)
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_values(":pk", s(pk));
        match between {
            Some((from, to)) => query
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":from", s(from))
                .expression_attribute_values(":to", s(to)),
            None => query,
        }
    }

    /// Every entry of `index` under each of the partition keys `pks` (a value's shards): one
    /// `Query` per key and page.
    async fn query_index(&self, index: &Index, pks: Vec<String>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        for pk in pks {
            found.extend(self.query_all(self.partition_query(Some(index), pk, None)).await?);
        }
        Ok(found)
    }

    /// The customers filed under a value's shards of a customer index, sorted, each once.
    async fn indexed_customers(&self, index: &Index, pks: Vec<String>) -> Result<Vec<CustomerId>, StoreError> {
        let found = self.query_index(index, pks).await?;
        let ids: BTreeSet<CustomerId> =
            found.iter().map(|item| items::indexed_customer(item, index)).collect::<Result<_, _>>()?;
        Ok(ids.into_iter().collect())
    }

    /// Deletes items unconditionally (markers a burn could not fit in its transaction).
    async fn batch_delete(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        let requests = keys.into_iter().map(delete_request).collect::<Result<_, StoreError>>()?;
        self.batch_write(requests).await
    }

    /// Puts items unconditionally, for bulk loads by tools and tests (seeding a base, history)
    /// that must not count as what they measure. Never used by the ports: every business write
    /// is conditional.
    pub async fn bulk_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let requests = items.into_iter().map(put_request).collect::<Result<_, StoreError>>()?;
        self.batch_write(requests).await
    }

    /// Writes 25 requests to a `BatchWriteItem`, asking again for what DynamoDB leaves
    /// unprocessed (throttling).
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in requests.chunks(BATCH_WRITE_ITEMS) {
            let mut pending = chunk.to_vec();
            for attempt in 0..BATCH_ATTEMPTS {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(unavailable)?;
                pending = out.unprocessed_items.and_then(|mut u| u.remove(&self.table)).unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable(
                    format!("BatchWriteItem still had unprocessed items after {BATCH_ATTEMPTS} attempts").into(),
                ));
            }
        }
        Ok(())
    }

    async fn transact(&self, tx: Transaction) -> Result<(), StoreError> {
        match self.client.transact_write_items().set_transact_items(Some(tx.writes)).send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(transaction_error(e, &tx.roles)),
        }
    }

    /// Adds the operation's ledger item, the expiry markers of the dates it brings in, and
    /// what it adds to the day book.
    fn add_ledger(
        &self,
        tx: &mut Transaction,
        customer: &CustomerId,
        recorded_at: DateTime<Utc>,
        reference: &str,
        entries: &[LedgerEntry],
        new_dates: BTreeSet<NaiveDate>,
        book: &BookDelta,
    ) -> Result<(), StoreError> {
        if !entries.is_empty() {
            tx.put(&self.table, items::ledger_item(customer.as_str(), recorded_at, reference, entries)?, None)?;
        }
        self.add_book_and_markers(tx, customer, new_dates, book)
    }

    /// Adds what the operation adds to the day book and the expiry markers of the dates it
    /// brings in (a purchase's entries are on its receipt item instead of a ledger item).
    fn add_book_and_markers(
        &self,
        tx: &mut Transaction,
        customer: &CustomerId,
        new_dates: BTreeSet<NaiveDate>,
        book: &BookDelta,
    ) -> Result<(), StoreError> {
        let customer = customer.as_str();
        book::add_book(tx, &self.table, customer, book)?;
        // Only the dates the commit brings in (see `markers`), to keep transactions small.
        for date in new_dates {
            tx.put(&self.table, markers::expiry_item(customer, date), None)?;
        }
        Ok(())
    }
}

/// One delete of a `BatchWriteItem` (unconditional, as batches are).
fn delete_request(key: Item) -> Result<WriteRequest, StoreError> {
    let delete = DeleteRequest::builder().set_key(Some(key)).build().map_err(unavailable)?;
    Ok(WriteRequest::builder().delete_request(delete).build())
}

/// One put of a `BatchWriteItem` (unconditional, as batches are).
fn put_request(item: Item) -> Result<WriteRequest, StoreError> {
    let put = PutRequest::builder().set_item(Some(item)).build().map_err(unavailable)?;
    Ok(WriteRequest::builder().put_request(put).build())
}

/// Picks the item with partition key `pk` out of a batch.
fn take(found: &mut Vec<Item>, pk: &str) -> Option<Item> {
    let at = found.iter().position(|item| items::pk_of(item) == Some(pk))?;
    Some(found.swap_remove(at))
}

/// The client configuration every AWS tool would use: region, credentials and
/// `AWS_ENDPOINT_URL` from the environment (on Lambda, the function's role); TLS is rustls.
async fn sdk_config_from_env() -> Result<aws_sdk_dynamodb::Config, StoreError> {
    let http = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
    let sdk = aws_config::defaults(BehaviorVersion::latest()).http_client(http).load().await;
    // Credentials are looked up now, once, so that a machine without any says so in one
    // line instead of failing every request later.
    let credentials = match sdk.credentials_provider() {
        Some(provider) => provider.provide_credentials().await.map(|_| ()),
        None => Err(CredentialsError::not_loaded_no_source()),
    };
    let region = sdk.region().is_some();
    match credentials {
        Ok(()) if region => Ok(aws_sdk_dynamodb::Config::from(&sdk)),
        Ok(()) => Err(StoreError::Unavailable(NO_REGION.into())),
        Err(e @ CredentialsError::InvalidConfiguration(_)) => {
            let why = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default();
            Err(StoreError::Unavailable(format!("the AWS profile configuration is not valid: {why}").into()))
        }
        Err(_) if region => Err(StoreError::Unavailable(NO_CREDENTIALS.into())),
        Err(_) => Err(StoreError::Unavailable(format!("{NO_CREDENTIALS}; {NO_REGION}").into())),
    }
}
