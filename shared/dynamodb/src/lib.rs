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

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, KeysAndAttributes, Put, TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use chrono::{DateTime, NaiveDate, Utc};

use boomerang_core::auth::ApiKeyRecord;
use boomerang_core::customer::CustomerRecord;
use boomerang_core::ids::{CustomerId, ReceiptId, RefundId, TerminalName};
use boomerang_core::ledger::LedgerEntry;
use boomerang_core::ports::{
    BurnCommit, CustomerReader, CustomerWriter, Expected, GiftCommit, KeyStore, LedgerWriter, PurchaseCommit,
    PurchaseView, RefundCommit, RefundView, ReportStore, SecretStore, StoreError, SweepStore,
};
use boomerang_core::purchase::Receipt;
use boomerang_core::sweep::{Outcome, OutcomeKey, OutcomeStatus};

mod errors;
pub mod items;
pub mod layout;
mod metrics;
mod program;
mod table;

use errors::{transaction_error, unavailable, OnFailure};
use items::{key, n, s, Item};
use layout::{customer_pk, key_pk, receipt_pk, refund_pk, terminal_pk, Index, SOLE};

/// What to do on a machine without AWS credentials (the SDK's chain: environment, profile,
/// web identity, container, instance metadata).
pub const NO_CREDENTIALS: &str = "no AWS credentials were found: set AWS_ACCESS_KEY_ID and \
     AWS_SECRET_ACCESS_KEY, or AWS_PROFILE to use a profile of ~/.aws/credentials (for an emulator \
     such as moto, set AWS_ENDPOINT_URL too; any key works there)";
pub const NO_REGION: &str = "no AWS region is configured: set AWS_REGION (e.g. eu-central-1)";

pub use layout::INDEX_SHARDS;
pub use metrics::{RequestMetrics, WRITE_OPERATIONS};

const SECRET_LEN: usize = 32;
/// Attempts at a `BatchGetItem` whose keys come back unprocessed (throttling).
const BATCH_ATTEMPTS: u32 = 5;
/// Attempts at revoking when another revoke or insert moves the terminal's lock meanwhile.
const REVOKE_ATTEMPTS: u32 = 5;
/// The most items one `TransactWriteItems` may hold.
const TRANSACTION_ITEMS: usize = 100;
/// The most requests one `BatchWriteItem` may hold.
const BATCH_WRITE_ITEMS: usize = 25;

/// A condition on one written item: the expression and its `:values`.
struct Condition {
    expression: &'static str,
    values: Vec<(&'static str, AttributeValue)>,
}

impl Condition {
    fn absent() -> Self {
        Self { expression: "attribute_not_exists(pk)", values: Vec::new() }
    }
    fn present() -> Self {
        Self { expression: "attribute_exists(pk)", values: Vec::new() }
    }
    /// The customer record is as the writer read it (missing when it expects so).
    fn customer(expected: Expected) -> Self {
        match expected {
            Expected::Absent => Self::absent(),
            Expected::Version(v) => Self { expression: "v = :v", values: vec![(":v", n(v))] },
        }
    }
    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
    }
}

/// The writes of one transaction, each with what its failed condition means.
#[derive(Default)]
struct Transaction {
    writes: Vec<TransactWriteItem>,
    roles: Vec<Option<OnFailure>>,
}

/// A write's condition as the SDK builders take it, and what its failure means.
type ConditionParts = (Option<String>, Option<HashMap<String, AttributeValue>>, Option<OnFailure>);

fn condition_parts(condition: Option<(Condition, OnFailure)>) -> ConditionParts {
    match condition {
        Some((c, role)) => (Some(c.expression.to_owned()), c.values(), Some(role)),
        None => (None, None, None),
    }
}

impl Transaction {
    fn put(&mut self, table: &str, item: Item, condition: Option<(Condition, OnFailure)>) -> Result<(), StoreError> {
        let (expression, values, role) = condition_parts(condition);
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .set_condition_expression(expression)
            .set_expression_attribute_values(values)
            .build()
            .map_err(unavailable)?;
        self.writes.push(TransactWriteItem::builder().put(put).build());
        self.roles.push(role);
        Ok(())
    }

    fn delete(&mut self, table: &str, key: Item, condition: Option<(Condition, OnFailure)>) -> Result<(), StoreError> {
        let (expression, values, role) = condition_parts(condition);
        let delete = Delete::builder()
            .table_name(table)
            .set_key(Some(key))
            .set_condition_expression(expression)
            .set_expression_attribute_values(values)
            .build()
            .map_err(unavailable)?;
        self.writes.push(TransactWriteItem::builder().delete(delete).build());
        self.roles.push(role);
        Ok(())
    }

    fn len(&self) -> usize {
        self.writes.len()
    }
}

/// The store over one tenant's table. Cheap to clone; clones share the client and the metrics.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    counter: metrics::RequestCounter,
}

impl DynamoStore {
    /// A store over `table` with the given client configuration (endpoint, region,
    /// credentials, retries), plus the request counter behind [`DynamoStore::metrics`].
    pub fn new(config: aws_sdk_dynamodb::Config, table: impl Into<String>) -> Self {
        let counter = metrics::RequestCounter::default();
        let config = config.to_builder().interceptor(counter.clone()).build();
        Self { client: Client::from_conf(config), table: table.into(), counter }
    }

    /// A store configured like every AWS tool: region, credentials and `AWS_ENDPOINT_URL`
    /// from the environment (on Lambda, the function's role). TLS is rustls.
    pub async fn from_env(table: &str) -> Result<Self, StoreError> {
        let http =
            aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
        let sdk = aws_config::defaults(BehaviorVersion::latest()).http_client(http).load().await;
        // Credentials are looked up now, once, so that a machine without any says so in one
        // line instead of failing every request later.
        let credentials = match sdk.credentials_provider() {
            Some(provider) => provider.provide_credentials().await.map(|_| ()),
            None => Err(CredentialsError::not_loaded_no_source()),
        };
        let region = sdk.region().is_some();
        match credentials {
            Ok(()) if region => Ok(Self::new(aws_sdk_dynamodb::Config::from(&sdk), table)),
            Ok(()) => Err(StoreError::Unavailable(NO_REGION.into())),
            Err(e @ CredentialsError::InvalidConfiguration(_)) => {
                let why = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default();
                Err(StoreError::Unavailable(format!("the AWS profile configuration is not valid: {why}").into()))
            }
            Err(_) if region => Err(StoreError::Unavailable(NO_CREDENTIALS.into())),
            Err(_) => Err(StoreError::Unavailable(format!("{NO_CREDENTIALS}; {NO_REGION}").into())),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The underlying client, for tools and tests that work on the table directly.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// What this store (and its clones) sent since it was made or last reset.
    pub fn metrics(&self) -> RequestMetrics {
        self.counter.snapshot()
    }

    pub fn reset_metrics(&self) {
        self.counter.reset();
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
                _ => return Ok(found),
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

    /// Every entry of `index` under each of the partition keys `pks` (a value's shards): one
    /// `Query` per key and page. Index reads are eventually consistent (DynamoDB offers no
    /// other kind on a global index): an entry may lag its item's write a little.
    async fn query_index(&self, index: &Index, pks: Vec<String>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        for pk in pks {
            let mut start = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(index.name)
                    .key_condition_expression("#pk = :pk")
                    .expression_attribute_names("#pk", index.pk)
                    .expression_attribute_values(":pk", s(pk.as_str()))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(unavailable)?;
                found.extend(out.items.unwrap_or_default());
                match out.last_evaluated_key {
                    Some(last) if !last.is_empty() => start = Some(last),
                    _ => break,
                }
            }
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

    /// Deletes items unconditionally, 25 to a `BatchWriteItem`, asking again for what
    /// DynamoDB leaves unprocessed (throttling).
    async fn batch_delete(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        for chunk in keys.chunks(BATCH_WRITE_ITEMS) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|key| {
                    let delete = DeleteRequest::builder().set_key(Some(key.clone())).build().map_err(unavailable)?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<_, StoreError>>()?;
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

    /// Adds the operation's ledger item and the expiry markers of the dates it brings in.
    fn add_ledger(
        &self,
        tx: &mut Transaction,
        customer: &CustomerId,
        recorded_at: DateTime<Utc>,
        reference: &str,
        entries: &[LedgerEntry],
        new_dates: BTreeSet<NaiveDate>,
    ) -> Result<(), StoreError> {
        let customer = customer.as_str();
        if !entries.is_empty() {
            tx.put(&self.table, items::ledger_item(customer, recorded_at, reference, entries)?, None)?;
        }
        // Markers are never deleted here (the sweep does, after burning), so a re-put of an
        // existing one is harmless; only new dates are written to keep transactions small.
        for date in new_dates {
            tx.put(&self.table, items::expiry_item(customer, date), None)?;
        }
        Ok(())
    }
}

/// Picks the item with partition key `pk` out of a batch.
fn take(found: &mut Vec<Item>, pk: &str) -> Option<Item> {
    let at = found.iter().position(|item| items::pk_of(item) == Some(pk))?;
    Some(found.swap_remove(at))
}

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
impl LedgerWriter for DynamoStore {
    async fn purchase_view(&self, customer: &CustomerId, receipt: &ReceiptId) -> Result<PurchaseView, StoreError> {
        let (customer_pk, receipt_pk) = (customer_pk(customer.as_str()), receipt_pk(receipt.as_str()));
        let mut found = self.batch_get(vec![key(customer_pk.as_str(), SOLE), key(receipt_pk.as_str(), SOLE)]).await?;
        Ok(PurchaseView {
            customer: take(&mut found, &customer_pk).as_ref().map(items::decode_customer).transpose()?,
            receipt: take(&mut found, &receipt_pk).as_ref().map(items::decode_receipt).transpose()?,
        })
    }

    async fn commit_purchase(&self, commit: &PurchaseCommit) -> Result<(), StoreError> {
        let receipt = &commit.receipt;
        let mut tx = Transaction::default();
        tx.put(
            &self.table,
            items::customer_item(&commit.record, commit.expected.next_version())?,
            Some((Condition::customer(commit.expected), OnFailure::Conflict)),
        )?;
        tx.put(&self.table, items::receipt_item(receipt)?, Some((Condition::absent(), OnFailure::Duplicate)))?;
        let (customer, id) = (&commit.record.customer.customer_id, receipt.receipt_id.as_str());
        let new_dates = items::purchase_marker_dates(commit);
        self.add_ledger(&mut tx, customer, receipt.recorded_at, id, &commit.entries, new_dates)?;
        self.transact(tx).await
    }

    async fn refund_view(
        &self,
        refund: &RefundId,
        receipt: &ReceiptId,
        customer: Option<&CustomerId>,
    ) -> Result<RefundView, StoreError> {
        let (refund_pk, receipt_pk) = (refund_pk(refund.as_str()), receipt_pk(receipt.as_str()));
        let guessed_pk = customer.map(|c| customer_pk(c.as_str()));
        let mut keys = vec![key(refund_pk.as_str(), SOLE), key(receipt_pk.as_str(), SOLE)];
        keys.extend(guessed_pk.as_deref().map(|pk| key(pk, SOLE)));
        let mut found = self.batch_get(keys).await?;
        let refund = take(&mut found, &refund_pk).as_ref().map(items::decode_refund).transpose()?;
        let receipt = take(&mut found, &receipt_pk).as_ref().map(items::decode_receipt).transpose()?;
        let guessed = guessed_pk.and_then(|pk| take(&mut found, &pk));
        // Only the receipt tells whose record it is: a right guess saves the second read.
        let customer = match &receipt {
            Some(r) if customer == Some(&r.customer_id) => guessed.as_ref().map(items::decode_customer).transpose()?,
            Some(r) => self.customer(&r.customer_id).await?,
            None => None,
        };
        Ok(RefundView { refund, receipt, customer })
    }

    async fn commit_refund(&self, commit: &RefundCommit) -> Result<(), StoreError> {
        let (refund, receipt) = (&commit.refund, &commit.receipt);
        let expected = Expected::Version(commit.expected_version);
        let mut tx = Transaction::default();
        tx.put(&self.table, items::refund_item(refund)?, Some((Condition::absent(), OnFailure::Duplicate)))?;
        // The receipt must still have the refunds the decision was made on, and its customer.
        let receipt_moved = Condition {
            expression: "n = :n AND c = :c",
            values: vec![(":n", n(commit.expected_refunds)), (":c", s(receipt.customer_id.as_str()))],
        };
        tx.put(&self.table, items::receipt_item(receipt)?, Some((receipt_moved, OnFailure::Conflict)))?;
        tx.put(
            &self.table,
            items::customer_item(&commit.record, expected.next_version())?,
            Some((Condition::customer(expected), OnFailure::Conflict)),
        )?;
        let (customer, id) = (&commit.record.customer.customer_id, refund.refund_id.as_str());
        let new_dates = items::refund_marker_dates(commit);
        self.add_ledger(&mut tx, customer, refund.recorded_at, id, &commit.entries, new_dates)?;
        self.transact(tx).await
    }
}

#[async_trait]
impl KeyStore for DynamoStore {
    async fn insert_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        let mut tx = Transaction::default();
        // The terminal's lock: a second live key for it fails here.
        if record.revoked_at.is_none() {
            tx.put(&self.table, items::terminal_item(record)?, Some((Condition::absent(), OnFailure::Duplicate)))?;
        }
        tx.put(&self.table, items::key_item(record)?, Some((Condition::absent(), OnFailure::Duplicate)))?;
        tx.put(&self.table, items::listing_item(record)?, None)?;
        self.transact(tx).await
    }

    async fn key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let item = self.get(key(key_pk(key_hash), SOLE)).await?;
        item.as_ref().map(items::decode_key).transpose()
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(layout::KEYS_PK))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items.unwrap_or_default() {
                keys.push(items::decode_key(&item)?);
            }
            match out.last_evaluated_key {
                Some(last) if !last.is_empty() => start = Some(last),
                _ => return Ok(keys),
            }
        }
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
            tx.delete(&self.table, lock_key.clone(), Some((same_lock, OnFailure::Conflict)))?;
            tx.put(&self.table, items::key_item(&revoked)?, Some((Condition::present(), OnFailure::Conflict)))?;
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
    async fn unsubscribe_secret(&self) -> Result<Vec<u8>, StoreError> {
        let secret_key = || key(layout::TENANT_PK, layout::SECRET_SK);
        let secret = match self.get(secret_key()).await? {
            Some(item) => items::secret_bytes(&item)?,
            None => {
                let mut fresh = [0u8; SECRET_LEN];
                getrandom::getrandom(&mut fresh)
                    .map_err(|e| StoreError::Unavailable(format!("no randomness for the secret: {e}").into()))?;
                let mut item = secret_key();
                item.insert(layout::SECRET_BYTES.to_owned(), AttributeValue::B(Blob::new(fresh.to_vec())));
                // Concurrent first uses race here: the first put wins, everyone reads it back.
                let put = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression(Condition::absent().expression)
                    .send()
                    .await;
                match put {
                    Ok(_) => {}
                    Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                    Err(e) => return Err(unavailable(e)),
                }
                let item = self
                    .get(secret_key())
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("the unsubscribe secret vanished".into()))?;
                items::secret_bytes(&item)?
            }
        };
        if secret.len() < SECRET_LEN {
            return Err(StoreError::Corrupt(format!("the unsubscribe secret has only {} bytes", secret.len())));
        }
        Ok(secret)
    }
}

#[async_trait]
impl SweepStore for DynamoStore {
    async fn customers_last_bought_on(&self, date: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        self.indexed_customers(&layout::BY_LAST_PURCHASE, layout::last_purchase_pks(date)).await
    }

    async fn customers_born_on(&self, month: u32, day: u32) -> Result<Vec<CustomerId>, StoreError> {
        // Erased customers have no birthday key: the index holds only those who may be told.
        self.indexed_customers(&layout::BY_BIRTHDAY, layout::birthday_pks(month, day)).await
    }

    async fn customers_with_lots_expiring_on(&self, date: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        // Markers outlive a lot spent to nothing until the sweep burns the date: such a
        // customer is listed too, as the port allows.
        self.indexed_customers(&layout::BY_EXPIRY, layout::expiry_pks(date)).await
    }

    async fn outcome(&self, key: &OutcomeKey) -> Result<Option<Outcome>, StoreError> {
        let item = self.get(items::outcome_key(key)).await?;
        item.as_ref().map(items::decode_outcome).transpose()
    }

    async fn record_outcome(&self, outcome: &Outcome, gift: Option<&GiftCommit>) -> Result<(), StoreError> {
        let item = items::outcome_item(outcome)?;
        let Some(gift) = gift else {
            return match self.put_if(item, Condition::absent()).await? {
                true => Ok(()),
                false => Err(StoreError::Duplicate),
            };
        };
        let expected = Expected::Version(gift.expected_version);
        let mut tx = Transaction::default();
        tx.put(&self.table, item, Some((Condition::absent(), OnFailure::Duplicate)))?;
        tx.put(
            &self.table,
            items::customer_item(&gift.record, expected.next_version())?,
            Some((Condition::customer(expected), OnFailure::Conflict)),
        )?;
        // The ledger item is keyed by the decision's own reference: a gift can never be
        // written twice, and the key says which decision it came from.
        let reference = outcome.key.reference();
        let customer = &gift.record.customer.customer_id;
        let new_dates = items::gift_marker_dates(gift);
        self.add_ledger(&mut tx, customer, outcome.decided_at, &reference, &gift.entries, new_dates)?;
        self.transact(tx).await
    }

    async fn update_outcome(&self, outcome: &Outcome, from: OutcomeStatus) -> Result<(), StoreError> {
        let still = Condition { expression: "st = :from", values: vec![(":from", s(from.as_str()))] };
        match self.put_if(items::outcome_item(outcome)?, still).await? {
            true => Ok(()),
            false => Err(StoreError::Conflict),
        }
    }

    async fn outcomes_on(&self, date: NaiveDate) -> Result<Vec<Outcome>, StoreError> {
        let found = self.query_index(&layout::BY_SWEEP_DATE, layout::sweep_date_pks(date)).await?;
        let mut outcomes = found.iter().map(items::decode_outcome).collect::<Result<Vec<_>, _>>()?;
        outcomes.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(outcomes)
    }

    async fn commit_burn(&self, burn: &BurnCommit) -> Result<(), StoreError> {
        let expected = Expected::Version(burn.expected_version);
        let customer = &burn.record.customer.customer_id;
        let mut tx = Transaction::default();
        tx.put(
            &self.table,
            items::customer_item(&burn.record, expected.next_version())?,
            Some((Condition::customer(expected), OnFailure::Conflict)),
        )?;
        // The port gives a burn no instant of its own: it is recorded when the store writes it.
        // The ledger item is still keyed by the burn's reference (`burn:<date>`).
        let reference = burn.entries.first().map_or("burn", |e| e.reference.as_str());
        let new_dates = items::new_expiry_dates(&burn.record.account, &burn.entries);
        self.add_ledger(&mut tx, customer, burn.recorded_at, reference, &burn.entries, new_dates)?;
        let markers: Vec<Item> = items::burn_forgotten_dates(burn)
            .into_iter()
            .map(|d| key(customer_pk(customer.as_str()), layout::expiry_sk(d)))
            .collect();
        // Markers go in the same transaction, as many as it can hold (one date, in practice).
        // Any beyond are deleted once the burn has landed: a marker left behind by a failure
        // there is harmless, and the next burn of the date deletes it.
        let room = TRANSACTION_ITEMS.saturating_sub(tx.len());
        let mut markers = markers.into_iter();
        for marker in markers.by_ref().take(room) {
            tx.delete(&self.table, marker, None)?;
        }
        self.transact(tx).await?;
        let rest: Vec<Item> = markers.collect();
        if !rest.is_empty() {
            self.batch_delete(rest).await?;
        }
        Ok(())
    }

    async fn last_completed_sweep(&self) -> Result<Option<NaiveDate>, StoreError> {
        let item = self.get(key(layout::TENANT_PK, layout::SWEEP_SK)).await?;
        item.as_ref().map(items::decode_sweep).transpose()
    }

    async fn complete_sweep(&self, date: NaiveDate) -> Result<(), StoreError> {
        // Dates as `YYYY-MM-DD` compare as strings in date order. A failed condition means a
        // later (or the same) date is already recorded: nothing to do.
        let later =
            Condition { expression: "attribute_not_exists(pk) OR d < :d", values: vec![(":d", s(layout::date(date)))] };
        self.put_if(items::sweep_item(date), later).await?;
        Ok(())
    }
}

#[async_trait]
impl ReportStore for DynamoStore {
    async fn receipts_on(&self, date: NaiveDate) -> Result<Vec<Receipt>, StoreError> {
        // `by_purchase_date` projects the receipt itself (`rec`), and a refund puts the whole
        // receipt item again with the same index keys, so the index holds each receipt once,
        // with its refunds so far (as of the index's lag), and no item needs reading.
        let found = self.query_index(&layout::BY_PURCHASE_DATE, layout::purchase_date_pks(date)).await?;
        let mut receipts = found.iter().map(items::decode_receipt).collect::<Result<Vec<_>, _>>()?;
        receipts.sort_by(|a, b| a.receipt_id.cmp(&b.receipt_id));
        Ok(receipts)
    }
}
